/*
 * cairn.h: the public API of cairn, an embedded, persistent, ordered
 * key-value store (an LSM tree) whose files are LevelDB 1.23's formats.
 *
 * This is the only installed header. Everything else is private.
 *
 * Conventions, which hold for every function below unless it says otherwise:
 *
 *  - Handles are opaque. Each *_create / *_open has a matching *_destroy /
 *    *_close, and every destroy/close accepts NULL and does nothing.
 *  - Fallible functions return int: 0 (CAIRN_OK) on success, or a negative
 *    code from the table CAIRN_ERROR_MAP below. cairn_strerror() names a code.
 *  - Detail about a failure (file, offset, key length, the call that failed)
 *    is kept in two places: per thread, for the calling thread's last failed
 *    call (cairn_errmsg()), and per database handle, for the last failure of
 *    any call on that handle (cairn_db_errmsg()). No error path allocates a
 *    string the caller must free.
 *  - Keys and values are (pointer, length) pairs of arbitrary bytes. A NULL
 *    pointer is allowed only with length 0. Keys may be at most
 *    CAIRN_MAX_KEY_SIZE bytes and values at most CAIRN_MAX_VALUE_SIZE bytes;
 *    longer ones are refused with CAIRN_INVALID.
 *  - Every function validates its arguments and returns CAIRN_INVALID (with a
 *    message) rather than crash on NULL handles, NULL out-parameters, lengths
 *    that overflow, or a database used after close where that is detectable.
 *  - Thread safety: a cairn_db may be used by any number of threads at once;
 *    all functions taking a cairn_db are safe to call concurrently. Options,
 *    batches and read/write option objects are plain values: one thread at a
 *    time may modify one, any number may read it.
 *  - The library never aborts on input a caller can give it, including the
 *    bytes of files on disk, and never on out-of-memory (CAIRN_NOMEM).
 */
#ifndef CAIRN_H
#define CAIRN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CAIRN_EXPORT __attribute__((visibility("default")))
#else
#define CAIRN_EXPORT
#endif

#define CAIRN_VERSION_MAJOR 0
#define CAIRN_VERSION_MINOR 1
#define CAIRN_VERSION_PATCH 0

/* Largest key and value accepted by put/delete/batch. Keys are bounded so
 * that an internal key (key + 8 bytes) and its varint prefix always fit the
 * 32-bit lengths of the formats; values so that a WriteBatch stays below the
 * 4 GiB a fixed32 count and varint32 lengths can describe. */
#define CAIRN_MAX_KEY_SIZE (64u * 1024u * 1024u)
#define CAIRN_MAX_VALUE_SIZE (1024u * 1024u * 1024u)

/*
 * The error table. X(name, value, message). 0 is success; everything else is
 * negative and stable across releases.
 */
#define CAIRN_ERROR_MAP(X)                                                    \
    X(NOTFOUND, -1, "key not found")                                          \
    X(CORRUPTION, -2, "data corruption detected")                             \
    X(INVALID, -3, "invalid argument")                                        \
    X(IO, -4, "I/O error")                                                    \
    X(NOSPC, -5, "no space left on device")                                   \
    X(NOMEM, -6, "out of memory")                                             \
    X(BUSY, -7, "busy: the operation would stall")                            \
    X(LOCKED, -8, "database is locked by another user")                       \
    X(EXISTS, -9, "database already exists")                                  \
    X(NOTSUP, -10, "operation not supported")                                 \
    X(CLOSED, -11, "database handle is closed")

enum cairn_error {
    CAIRN_OK = 0,
#define CAIRN_ERROR_ENUM_(name, value, msg) CAIRN_##name = (value),
    CAIRN_ERROR_MAP(CAIRN_ERROR_ENUM_)
#undef CAIRN_ERROR_ENUM_
};

/* A short, static description of a code ("key not found"). Never NULL; an
 * unknown code gives "unknown error". */
CAIRN_EXPORT const char *cairn_strerror(int code);

/* The code's name ("CAIRN_NOTFOUND"); "CAIRN_OK" for 0, "CAIRN_UNKNOWN"
 * otherwise. Static, never NULL. */
CAIRN_EXPORT const char *cairn_errname(int code);

/* Detail about the calling thread's most recent failed cairn call, e.g.
 * "corruption: 000005.log offset 32768: checksum mismatch". Thread-local;
 * valid until the same thread's next cairn call. Never NULL (empty string
 * when no call has failed). */
CAIRN_EXPORT const char *cairn_errmsg(void);

/* Version numbers of the library actually linked. */
CAIRN_EXPORT int cairn_version_major(void);
CAIRN_EXPORT int cairn_version_minor(void);

/* ---------------------------------------------------------------------- */
/* Opaque handles                                                          */

typedef struct cairn_db cairn_db;
typedef struct cairn_options cairn_options;
typedef struct cairn_readoptions cairn_readoptions;
typedef struct cairn_writeoptions cairn_writeoptions;
typedef struct cairn_batch cairn_batch;
typedef struct cairn_env cairn_env;

/* ---------------------------------------------------------------------- */
/* Environments: the file, clock and thread layer the engine goes through. */

/* The process-wide POSIX environment. Static: never destroy it (destroying
 * it is a harmless no-op). */
CAIRN_EXPORT cairn_env *cairn_env_default(void);

/* A new in-memory environment: a private file system that lives until
 * cairn_env_destroy. Databases opened on it must be closed first. Returns
 * NULL on out-of-memory. */
CAIRN_EXPORT cairn_env *cairn_env_mem_create(void);

/* Destroys an environment from cairn_env_mem_create (or the test-only fault
 * env). NULL and the default env are ignored. */
CAIRN_EXPORT void cairn_env_destroy(cairn_env *env);

/* ---------------------------------------------------------------------- */
/* Options                                                                 */

/* A new set of options with LevelDB 1.23's defaults: create_if_missing 0,
 * error_if_exists 0, paranoid_checks 0, write_buffer_size 4 MiB, the default
 * env, info log at <db>/LOG. Returns NULL on out-of-memory. The caller owns
 * it; cairn_db_open copies what it needs, so it may be destroyed after open. */
CAIRN_EXPORT cairn_options *cairn_options_create(void);
CAIRN_EXPORT void cairn_options_destroy(cairn_options *opt);

/* Setters return CAIRN_INVALID for a NULL handle or an out-of-range value
 * (the range is given with each), CAIRN_OK otherwise. */
CAIRN_EXPORT int cairn_options_set_create_if_missing(cairn_options *opt, int v);
CAIRN_EXPORT int cairn_options_set_error_if_exists(cairn_options *opt, int v);
/* Paranoid checks: any log corruption found at open fails the open (instead
 * of being skipped and reported in the info log). */
CAIRN_EXPORT int cairn_options_set_paranoid_checks(cairn_options *opt, int v);
/* Bytes the memtable may hold before it is written out; 64 KiB .. 1 GiB. */
CAIRN_EXPORT int cairn_options_set_write_buffer_size(cairn_options *opt,
                                                     size_t bytes);
/* The environment to use; NULL restores the default. The env must outlive
 * every database opened with it. */
CAIRN_EXPORT int cairn_options_set_env(cairn_options *opt, cairn_env *env);
/* Info log: 1 (default) writes <db>/LOG, rotating an old one to LOG.old at
 * open; 0 disables it. */
CAIRN_EXPORT int cairn_options_set_info_log(cairn_options *opt, int enabled);

/* Read options. Defaults: verify_checksums 0, fill_cache 1. */
CAIRN_EXPORT cairn_readoptions *cairn_readoptions_create(void);
CAIRN_EXPORT void cairn_readoptions_destroy(cairn_readoptions *ro);
CAIRN_EXPORT int cairn_readoptions_set_verify_checksums(cairn_readoptions *ro,
                                                        int v);
CAIRN_EXPORT int cairn_readoptions_set_fill_cache(cairn_readoptions *ro, int v);

/* Write options. Default: sync 0. With sync 1 a write returns only after the
 * log has been fdatasync'ed, so it survives power loss. Without it the write
 * has reached the operating system (it survives the process being killed,
 * not the machine losing power). */
CAIRN_EXPORT cairn_writeoptions *cairn_writeoptions_create(void);
CAIRN_EXPORT void cairn_writeoptions_destroy(cairn_writeoptions *wo);
CAIRN_EXPORT int cairn_writeoptions_set_sync(cairn_writeoptions *wo, int v);

/* ---------------------------------------------------------------------- */
/* Write batches: an ordered list of puts and deletes applied atomically.   */
/* The encoding is LevelDB's WriteBatch (docs/format.md).                   */

/* A new, empty batch, or NULL on out-of-memory. */
CAIRN_EXPORT cairn_batch *cairn_batch_create(void);
CAIRN_EXPORT void cairn_batch_destroy(cairn_batch *b);
/* Removes every entry. */
CAIRN_EXPORT int cairn_batch_clear(cairn_batch *b);
/* Appends a put or delete. The bytes are copied. CAIRN_INVALID for bad
 * arguments or sizes, CAIRN_NOMEM when the batch cannot grow; the batch is
 * unchanged on failure. */
CAIRN_EXPORT int cairn_batch_put(cairn_batch *b, const void *key,
                                 size_t keylen, const void *val, size_t vallen);
CAIRN_EXPORT int cairn_batch_delete(cairn_batch *b, const void *key,
                                    size_t keylen);
/* Appends every entry of src to dst (dst keeps its own header). src is not
 * changed; dst == src is allowed. */
CAIRN_EXPORT int cairn_batch_append(cairn_batch *dst, const cairn_batch *src);
/* Number of entries, and the encoded size in bytes (header included). Both
 * return 0 for a NULL batch. */
CAIRN_EXPORT uint32_t cairn_batch_count(const cairn_batch *b);
CAIRN_EXPORT size_t cairn_batch_approximate_size(const cairn_batch *b);

/* Calls put(ctx, ...) or del(ctx, ...) for each entry in order. Either
 * callback may be NULL to skip that kind. A callback returning non-zero
 * stops the walk and that value is returned. The pointers passed to the
 * callbacks are valid only during the call. */
typedef int (*cairn_batch_put_fn)(void *ctx, const void *key, size_t keylen,
                                  const void *val, size_t vallen);
typedef int (*cairn_batch_delete_fn)(void *ctx, const void *key,
                                     size_t keylen);
CAIRN_EXPORT int cairn_batch_iterate(const cairn_batch *b, void *ctx,
                                     cairn_batch_put_fn put,
                                     cairn_batch_delete_fn del);

/* The batch's encoded bytes (LevelDB's WriteBatch rep), valid until the batch
 * is next modified or destroyed. *len gets the length. */
CAIRN_EXPORT const void *cairn_batch_data(const cairn_batch *b, size_t *len);
/* Replaces the batch's contents with encoded bytes after validating them:
 * a malformed encoding gives CAIRN_CORRUPTION and leaves the batch as it
 * was. */
CAIRN_EXPORT int cairn_batch_set_data(cairn_batch *b, const void *data,
                                      size_t len);

/* ---------------------------------------------------------------------- */
/* Databases                                                               */

/* Opens (and with create_if_missing, creates) the database in directory
 * `name`. On success *dbp is a new handle the caller must cairn_db_close.
 * On failure *dbp is NULL and the code is one of:
 *   CAIRN_INVALID     bad arguments; the database does not exist and
 *                     create_if_missing is 0; a comparator mismatch;
 *   CAIRN_EXISTS      it exists and error_if_exists is 1;
 *   CAIRN_LOCKED      another handle, in this process or another, has it;
 *   CAIRN_CORRUPTION  CURRENT, the MANIFEST or (with paranoid_checks) a log
 *                     is damaged; cairn_errmsg() names the file and offset;
 *   CAIRN_IO, CAIRN_NOSPC, CAIRN_NOMEM.
 * Opening replays the write-ahead log, so every write acknowledged before a
 * crash (every sync write before a power loss) is visible. */
CAIRN_EXPORT int cairn_db_open(const cairn_options *opt, const char *name,
                               cairn_db **dbp);

/* Closes the handle: waits for in-flight calls on other threads to finish,
 * syncs nothing beyond what writes promised, releases the lock and frees
 * the handle. Returns the first error met while closing (the handle is freed
 * regardless). NULL is ignored. */
CAIRN_EXPORT int cairn_db_close(cairn_db *db);

/* Sets key to value. wo may be NULL (defaults). */
CAIRN_EXPORT int cairn_db_put(cairn_db *db, const cairn_writeoptions *wo,
                              const void *key, size_t keylen, const void *val,
                              size_t vallen);
/* Deletes key; deleting a missing key is not an error. */
CAIRN_EXPORT int cairn_db_delete(cairn_db *db, const cairn_writeoptions *wo,
                                 const void *key, size_t keylen);
/* Applies the batch atomically: readers see all of it or none of it, and
 * after a crash it is present entirely or not at all. The batch is not
 * modified. */
CAIRN_EXPORT int cairn_db_write(cairn_db *db, const cairn_writeoptions *wo,
                                const cairn_batch *batch);

/* Looks key up. On success *valp is a malloc'd copy of the value (the
 * caller frees it with cairn_free) and *vallen its length; a zero-length
 * value still gives a non-NULL pointer. CAIRN_NOTFOUND when absent, with
 * *valp NULL. ro may be NULL (defaults). */
CAIRN_EXPORT int cairn_db_get(cairn_db *db, const cairn_readoptions *ro,
                              const void *key, size_t keylen, void **valp,
                              size_t *vallen);

/* Copies the handle's most recent error detail (from any thread) into buf,
 * NUL-terminated and truncated to cap bytes. Returns the full length of the
 * message. An empty message means no call on this handle has failed. */
CAIRN_EXPORT size_t cairn_db_errmsg(cairn_db *db, char *buf, size_t cap);

/* Deletes the database in `name`: every file cairn or LevelDB may have
 * created there, then the directory if it is empty. Fails with CAIRN_LOCKED
 * if the database is open. A missing directory is not an error. opt may be
 * NULL (default env). */
CAIRN_EXPORT int cairn_db_destroy(const cairn_options *opt, const char *name);

/* Frees memory returned by cairn (values from cairn_db_get). NULL is
 * ignored. */
CAIRN_EXPORT void cairn_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_H */
