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
#define CAIRN_MAX_KEY_SIZE   (64u * 1024u * 1024u)
#define CAIRN_MAX_VALUE_SIZE (1024u * 1024u * 1024u)

/*
 * The error table. X(name, value, message). 0 is success; everything else is
 * negative and stable across releases.
 */
#define CAIRN_ERROR_MAP(X)                                                     \
    X(NOTFOUND, -1, "key not found")                                           \
    X(CORRUPTION, -2, "data corruption detected")                              \
    X(INVALID, -3, "invalid argument")                                         \
    X(IO, -4, "I/O error")                                                     \
    X(NOSPC, -5, "no space left on device")                                    \
    X(NOMEM, -6, "out of memory")                                              \
    X(BUSY, -7, "busy: the operation would stall")                             \
    X(LOCKED, -8, "database is locked by another user")                        \
    X(EXISTS, -9, "database already exists")                                   \
    X(NOTSUP, -10, "operation not supported")                                  \
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
/* Table files: uncompressed bytes per data block, 1 KiB .. 4 MiB (default
 * 4 KiB); keys between restart points, 1 .. 65536 (default 16); target size
 * of a table written by compaction, 1 MiB .. 1 GiB (default 2 MiB). */
CAIRN_EXPORT int cairn_options_set_block_size(cairn_options *opt, size_t bytes);
CAIRN_EXPORT int cairn_options_set_block_restart_interval(cairn_options *opt,
                                                          int n);
CAIRN_EXPORT int cairn_options_set_max_file_size(cairn_options *opt,
                                                 size_t bytes);
/* CAIRN_COMPRESSION_SNAPPY (default) or CAIRN_COMPRESSION_NONE. */
#define CAIRN_COMPRESSION_NONE   0
#define CAIRN_COMPRESSION_SNAPPY 1
CAIRN_EXPORT int cairn_options_set_compression(cairn_options *opt, int type);
/* Bloom filter with bits_per_key bits per key (LevelDB's built-in policy,
 * "leveldb.BuiltinBloomFilter2"; 10 is a good choice), or 0 for none (the
 * default). 0 .. 64. */
CAIRN_EXPORT int cairn_options_set_bloom_bits_per_key(cairn_options *opt,
                                                      int bits);
/* Table files kept open at once, 74 .. 50000 (default 1000). */
CAIRN_EXPORT int cairn_options_set_max_open_files(cairn_options *opt, int n);
/* Read table files through a memory mapping where the env offers one (the
 * default env does, for up to 1000 files in the process, as LevelDB does):
 * 1 (default) or 0 (pread). A point lookup then costs no system call.
 * The price of mapping: a device read error, or a table file truncated by
 * another program while the database has it open, raises SIGBUS instead
 * of returning an error; choose 0 where that matters more than speed.
 * Damaged bytes are detected either way. */
CAIRN_EXPORT int cairn_options_set_mmap_reads(cairn_options *opt, int v);
/* The block cache to use (shared between databases is allowed), or NULL
 * for a private 8 MiB cache (the default). The cache must outlive every
 * database using it. */
typedef struct cairn_cache cairn_cache;
CAIRN_EXPORT int cairn_options_set_cache(cairn_options *opt,
                                         cairn_cache *cache);

/* The write path. Concurrent writers queue; the writer at the head leads
 * a group: it merges the compatible batches behind it into one log append,
 * one sync and one memtable insert, and wakes the others with the result.
 *
 * Commit policy: CAIRN_COMMIT_LEADER (default) commits each group at once
 * (lowest latency). CAIRN_COMMIT_BATCH_WAIT lets the leader hold its group
 * open until wait_bytes of writes have queued or wait_us have passed,
 * whichever comes first (or until every active writer has queued), to
 * share one fsync among more writers (highest throughput under many sync
 * writers). A writer with no other writer active never waits. The wait
 * applies to sync groups; nonsync = 1 extends it to non-sync groups.
 * wait_us 1 .. 1,000,000 (default 100), wait_bytes 1 .. 64 MiB (default
 * 64 KiB). */
#define CAIRN_COMMIT_LEADER     0
#define CAIRN_COMMIT_BATCH_WAIT 1
CAIRN_EXPORT int cairn_options_set_commit_policy(cairn_options *opt,
                                                 int policy);
CAIRN_EXPORT int cairn_options_set_commit_wait(cairn_options *opt,
                                               uint64_t wait_us,
                                               size_t wait_bytes, int nonsync);
/* How a queued writer waits for its leader: CAIRN_WAIT_BLOCK sleeps at
 * once on its own futex word; CAIRN_WAIT_SPIN spins (yielding now and
 * then; for experiments); CAIRN_WAIT_ADAPTIVE spins for at most spin_ns
 * nanoseconds, and only while a core is free for the thread it waits on,
 * then sleeps; CAIRN_WAIT_AUTO (default) is adaptive for non-sync writes
 * with a write buffer of 32 MiB or more, and block otherwise. On the
 * 2-core machines measured so far, block was as fast or faster at 4, 16
 * and 64 threads with 4 MiB (docs/write-path.md); with large write
 * buffers, where inserting into the big memtable is most of a write,
 * adaptive won (with 64 MiB its median rate was 1.08-1.31x block's at 2,
 * 4, 16 and 64 threads; docs/design.md, "Which waits sleep"), though
 * with 64 threads on 2 cores it also raised p99 latency from about 4.5
 * to 8 ms: choose block where that tail matters more. spin_ns 0 ..
 * 10,000,000 (default 20,000). */
#define CAIRN_WAIT_BLOCK    0
#define CAIRN_WAIT_SPIN     1
#define CAIRN_WAIT_ADAPTIVE 2
#define CAIRN_WAIT_AUTO     3
CAIRN_EXPORT int cairn_options_set_wait_strategy(cairn_options *opt,
                                                 int strategy,
                                                 uint64_t spin_ns);
/* Group size limits: at most max_bytes per group (default 1 MiB), or the
 * leader's size + small_leader when the leader is at most small_leader
 * bytes (default 128 KiB). max_bytes 4 KiB .. 64 MiB, small_leader <=
 * max_bytes. */
CAIRN_EXPORT int cairn_options_set_group_limits(cairn_options *opt,
                                                size_t max_bytes,
                                                size_t small_leader);
/* Memtables that may wait to be flushed while writes go on (default 2,
 * 1 .. 8; 1 is LevelDB's behaviour). */
CAIRN_EXPORT int cairn_options_set_max_immutable_memtables(cairn_options *opt,
                                                           int n);
/* Skiplists per memtable: 1 .. 16, or 0 (the default) for one per CPU
 * online when the database opens, at most 4. With more than one, each
 * write group goes into the list of the CPU its leader runs on, so
 * leaders on different cores do not pass the memtable's cache lines
 * between them; a lookup checks every list's filter (below) and searches
 * the lists that may hold the key, an iterator merges them. The on-disk
 * formats do not change. Measured on 2 cores: docs/design.md, "Memtable
 * shards and filters". */
CAIRN_EXPORT int cairn_options_set_memtable_shards(cairn_options *opt, int n);
/* Key filters in memtables (1, the default, or 0): each list keeps a
 * filter of its user keys, one bit per 16 bytes of write buffer, so a
 * lookup of a key that lives in the tables skips the memtables' searches.
 * Its memory is not counted in the memtable's usage. */
CAIRN_EXPORT int cairn_options_set_memtable_filter(cairn_options *opt, int on);
/* Background threads: 1 (default) flushes and compacts, flushes first
 * (a running compaction pauses between keys to flush); 2 gives flushes a
 * thread of their own beside the compaction thread. Leveled compaction
 * here runs one compaction at a time, so more threads would only wait:
 * values above 2 are refused. */
CAIRN_EXPORT int cairn_options_set_background_threads(cairn_options *opt,
                                                      int n);
/* Parts one compaction may be split into, each merging its own range of
 * keys on its own thread (RocksDB's max_subcompactions): 1 runs every
 * compaction on the background thread alone; 0 (the default) allows one
 * part per CPU online at open, at most 4; at most 16. A compaction is
 * split only where each part gets at least max_file_size of input, into
 * ranges of about equal input bytes. Writers stall less for level-0 files while
 * compaction can use a core they leave idle: docs/design.md,
 * "Subcompactions". */
CAIRN_EXPORT int cairn_options_set_max_subcompactions(cairn_options *opt,
                                                      int n);
/* The next log made ahead (1, the default, or 0): after each memtable
 * switch the flushing thread creates the log the next switch will use and
 * syncs its directory entry, and closes the old log, so a switch only
 * syncs the old log, with writers waiting. A crash may leave the spare
 * behind, an empty log that the next open deletes. docs/design.md, "The
 * write path". */
CAIRN_EXPORT int cairn_options_set_spare_log(cairn_options *opt, int on);
/* Level-0 file counts at which writes are delayed once by slowdown_us
 * (default 8 files, 1000 us) and stopped until compaction catches up
 * (default 12). 1 <= slowdown <= stop <= 1000; slowdown_us <= 1 s. */
CAIRN_EXPORT int cairn_options_set_l0_triggers(cairn_options *opt, int slowdown,
                                               int stop, uint64_t slowdown_us);

/* A sharded LRU cache of uncompressed blocks holding up to capacity bytes.
 * Thread-safe. NULL on out-of-memory. */
CAIRN_EXPORT cairn_cache *cairn_cache_create_lru(size_t capacity);
/* Destroys a cache; every database using it must be closed first. */
CAIRN_EXPORT void cairn_cache_destroy(cairn_cache *cache);

/* Read options. Defaults: verify_checksums 0, fill_cache 1. */
CAIRN_EXPORT cairn_readoptions *cairn_readoptions_create(void);
CAIRN_EXPORT void cairn_readoptions_destroy(cairn_readoptions *ro);
CAIRN_EXPORT int cairn_readoptions_set_verify_checksums(cairn_readoptions *ro,
                                                        int v);
CAIRN_EXPORT int cairn_readoptions_set_fill_cache(cairn_readoptions *ro, int v);
/* Reads through these options see the database as of the snapshot (NULL:
 * the latest state when each read starts). The snapshot must belong to the
 * database read and stay unreleased while these options are used. */
typedef struct cairn_snapshot cairn_snapshot;
CAIRN_EXPORT int cairn_readoptions_set_snapshot(cairn_readoptions *ro,
                                                const cairn_snapshot *snap);

/* Write options. Default: sync 0. With sync 1 a write returns only after the
 * log has been fdatasync'ed, so it survives power loss. Without it the write
 * has reached the operating system (it survives the process being killed,
 * not the machine losing power). */
CAIRN_EXPORT cairn_writeoptions *cairn_writeoptions_create(void);
CAIRN_EXPORT void cairn_writeoptions_destroy(cairn_writeoptions *wo);
CAIRN_EXPORT int cairn_writeoptions_set_sync(cairn_writeoptions *wo, int v);
/* With no_slowdown 1, a write that would stall (level-0 slowdown, a full
 * memtable queue, the level-0 stop) returns CAIRN_BUSY at once instead. */
CAIRN_EXPORT int cairn_writeoptions_set_no_slowdown(cairn_writeoptions *wo,
                                                    int v);

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
CAIRN_EXPORT int cairn_batch_put(cairn_batch *b, const void *key, size_t keylen,
                                 const void *val, size_t vallen);
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
typedef int (*cairn_batch_delete_fn)(void *ctx, const void *key, size_t keylen);
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
 * stops background work, syncs nothing beyond what writes promised,
 * releases the lock and frees the handle. Returns the first error met
 * while closing (the handle is freed regardless), except CAIRN_BUSY: if
 * iterators or snapshots of this database are still live, nothing is
 * closed and the handle stays usable. A later call on a closed handle
 * gives CAIRN_CLOSED while the handle's memory is still recognisable. NULL
 * is ignored. */
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

/* ---------------------------------------------------------------------- */
/* Snapshots                                                               */

/* A consistent view of the database as of now: reads through read options
 * carrying it see exactly the writes that completed before it was taken.
 * NULL on out-of-memory or a bad handle (see cairn_errmsg()). Release it
 * with cairn_db_release_snapshot before closing the database. */
CAIRN_EXPORT const cairn_snapshot *cairn_db_create_snapshot(cairn_db *db);
/* Releases a snapshot (NULL is ignored). */
CAIRN_EXPORT void cairn_db_release_snapshot(cairn_db *db,
                                            const cairn_snapshot *snap);

/* ---------------------------------------------------------------------- */
/* Iterators                                                               */

/* An iterator over the database in key order (bytewise), seeing the state
 * as of its creation (or ro's snapshot): later writes, flushes and
 * compactions do not change what it yields. It pins the files it reads,
 * so destroy it promptly. A new iterator is not positioned: call one of
 * the seek functions first. NULL on out-of-memory or a bad handle.
 * Destroy every iterator before closing its database. One thread at a time
 * per iterator. */
typedef struct cairn_iter cairn_iter;
CAIRN_EXPORT cairn_iter *cairn_db_iter_create(cairn_db *db,
                                              const cairn_readoptions *ro);
CAIRN_EXPORT void cairn_iter_destroy(cairn_iter *it);
/* 1 when positioned at an entry, 0 at either end or after an error. */
CAIRN_EXPORT int cairn_iter_valid(const cairn_iter *it);
CAIRN_EXPORT void cairn_iter_seek_first(cairn_iter *it);
CAIRN_EXPORT void cairn_iter_seek_last(cairn_iter *it);
/* Positions at the first key >= key. */
CAIRN_EXPORT void cairn_iter_seek(cairn_iter *it, const void *key,
                                  size_t keylen);
CAIRN_EXPORT void cairn_iter_next(cairn_iter *it);
CAIRN_EXPORT void cairn_iter_prev(cairn_iter *it);
/* The current key or value; valid until the iterator moves or is
 * destroyed. NULL (and *len 0) when not valid. */
CAIRN_EXPORT const void *cairn_iter_key(const cairn_iter *it, size_t *len);
CAIRN_EXPORT const void *cairn_iter_value(const cairn_iter *it, size_t *len);
/* 0, or the error that stopped the iterator (CAIRN_CORRUPTION, CAIRN_IO,
 * CAIRN_NOMEM); the thread message has the detail. */
CAIRN_EXPORT int cairn_iter_status(const cairn_iter *it);

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */

/* The value of a property as a malloc'd NUL-terminated string (free with
 * cairn_free), or NULL for an unknown name. Names (the "leveldb." spelling
 * of each is accepted too):
 *   cairn.num-files-at-level<N>   files at level N (0..6)
 *   cairn.stats                   a table of files, sizes and work per level
 *   cairn.sstables                every table file per level
 *   cairn.approximate-memory-usage  bytes of memtables and block cache
 *   cairn.write-stats             the write path: groups, writers per group,
 *                                 bytes, syncs, commit latency percentiles,
 *                                 stalls per cause, wait outcomes,
 *                                 memtable switches, spare logs
 */
CAIRN_EXPORT char *cairn_db_property(cairn_db *db, const char *name);

/* For each of n ranges [start[i], limit[i]), the approximate bytes on disk
 * of the keys in it (tables only; memtables are not counted), in sizes[i].
 */
CAIRN_EXPORT int
cairn_db_approximate_sizes(cairn_db *db, int n, const void *const *start,
                           const size_t *start_len, const void *const *limit,
                           const size_t *limit_len, uint64_t *sizes);

/* ---------------------------------------------------------------------- */
/* Compaction                                                              */

/* Compacts every level overlapping the user-key range [start, limit]
 * down as far as it goes: first the memtable is written out, then each
 * level's overlapping files are merged into the next, dropping overwritten
 * values and tombstones nothing needs. A NULL start (or limit) means the
 * range is open at that end; a non-NULL pointer with length 0 is the empty
 * key. Blocks until done. Errors: the sticky background error, CAIRN_IO,
 * CAIRN_NOSPC, CAIRN_CORRUPTION. */
CAIRN_EXPORT int cairn_db_compact_range(cairn_db *db, const void *start,
                                        size_t start_len, const void *limit,
                                        size_t limit_len);

/* Writes the memtable (and any queued immutable memtables) to table files
 * and waits until they are recorded. */
CAIRN_EXPORT int cairn_db_flush(cairn_db *db);

/* Pauses automatic background compaction (flushes go on, and a
 * compaction already running finishes), or resumes it. Writers may stall
 * at the level-0 stop trigger while compaction is paused. */
CAIRN_EXPORT int cairn_db_pause_compaction(cairn_db *db);
CAIRN_EXPORT int cairn_db_resume_compaction(cairn_db *db);

/* Copies the handle's most recent error detail (from any thread) into buf,
 * NUL-terminated and truncated to cap bytes. Returns the full length of the
 * message. An empty message means no call on this handle has failed. */
CAIRN_EXPORT size_t cairn_db_errmsg(cairn_db *db, char *buf, size_t cap);

/* Deletes the database in `name`: every file cairn or LevelDB may have
 * created there, then the directory if it is empty. Fails with CAIRN_LOCKED
 * if the database is open. A missing directory is not an error. opt may be
 * NULL (default env). */
CAIRN_EXPORT int cairn_db_destroy(const cairn_options *opt, const char *name);

/* ---------------------------------------------------------------------- */
/* Diagnostics                                                             */

/* Decodes one database file and calls print(ctx, line) for each line of a
 * human-readable dump (no trailing newline in line). The file's kind comes
 * from its name: NNNNNN.log (each record's offset, sequence, count and
 * entries), MANIFEST-NNNNNN (each VersionEdit), NNNNNN.ldb / .sst (each
 * entry with its sequence and type, read with checksums verified). Keys and
 * values are printed with non-printable bytes escaped as \xNN. Damage is
 * printed as it is met. Returns 0 (a log or MANIFEST whose damage could be
 * skipped still returns 0), the error that stopped the dump (a damaged
 * table block gives CAIRN_CORRUPTION; CAIRN_IO, CAIRN_NOTFOUND),
 * CAIRN_NOTSUP for a file of unknown kind, or the first non-zero value
 * print returned. env may be NULL (default). */
typedef int (*cairn_print_fn)(void *ctx, const char *line);
CAIRN_EXPORT int cairn_dump_file(cairn_env *env, const char *path,
                                 cairn_print_fn print, void *ctx);

/* Frees memory returned by cairn (values from cairn_db_get). NULL is
 * ignored. */
CAIRN_EXPORT void cairn_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_H */
