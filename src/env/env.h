/*
 * env.h: the file, clock and thread layer. Engine code makes no direct
 * file, clock or thread system calls; it calls through a cairn_env, so that
 * tests can swap in an in-memory file system (env_mem.c) or one that fails
 * and loses data on purpose (env_fault.c). Mutexes and condition variables
 * are in util/port.h.
 *
 * Three envs ship:
 *   cairn_env_default()      POSIX (env_posix.c), process-wide, static;
 *   cairn_env_mem_create()   private in-memory file system;
 *   cairn__env_fault_create  wraps another env and injects failures and
 *                            power loss (env_fault.h).
 *
 * Files. One handle type serves reading and writing; which operations work
 * depends on how it was opened. Every operation returns 0 or a CAIRN_* code
 * with a thread message naming the path (cairn__err_errno).
 *   - open_read: pread and read (sequential, from offset 0) and skip.
 *   - open_write: creates or truncates; append, flush, sync.
 *   - open_append: as open_write but keeps existing contents.
 * Writable files may buffer appends in user space; flush() hands everything
 * appended so far to the operating system (so it survives the process being
 * killed) and sync() additionally makes it durable (fdatasync), flushing
 * first. Durability of the directory entry of a new or renamed file needs
 * sync_dir() on its directory.
 * close() flushes (not syncs) pending appends, frees the handle whatever
 * happens, and returns the first error.
 *
 * Threads: an env and distinct file handles may be used from any thread.
 * One file handle is used by one thread at a time, except pread, which may
 * be called concurrently on one handle opened for reading.
 */
#ifndef CAIRN_ENV_ENV_H
#define CAIRN_ENV_ENV_H

#include "cairn.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cairn__file cairn__file;
typedef struct cairn__filelock cairn__filelock;
typedef struct cairn__thread cairn__thread;

typedef struct cairn__file_ops {
    /* Reads up to n bytes at off into buf; *got < n only at end of file. */
    int (*pread)(cairn__file *f, uint64_t off, size_t n, char *buf,
                 size_t *got);
    /* Reads up to n bytes from the current position; *got < n only at end
     * of file. */
    int (*read)(cairn__file *f, size_t n, char *buf, size_t *got);
    /* Moves the current position forward by n bytes (may pass the end). */
    int (*skip)(cairn__file *f, uint64_t n);
    int (*append)(cairn__file *f, const char *data, size_t n);
    int (*flush)(cairn__file *f);
    int (*sync)(cairn__file *f);
    /* Current size, including appends not yet flushed. */
    int (*size)(cairn__file *f, uint64_t *size);
    int (*close)(cairn__file *f);
    /* Optional (may be NULL): makes durable what earlier flush() calls
     * handed to the OS, without touching any user-space buffer, so it may
     * run on one thread while another appends and flushes. The write path
     * uses it to sync the log while the next group is being appended. */
    int (*sync_flushed)(cairn__file *f);
    /* Optional (may be NULL): points *data at up to n bytes at off, in
     * memory the handle owns, valid until it is closed; *got < n only at
     * end of file. Read handles that map their file offer it, so readers
     * can decode without a copy. */
    int (*view)(cairn__file *f, uint64_t off, size_t n, const char **data,
                size_t *got);
    /* Optional (may be NULL): no more appends will come; the handle may
     * let go of what appending needs. The POSIX log unmaps the chunk it
     * was writing, so that a later sync does not write-protect mapped
     * pages (a TLB shootdown of every core running the process for each
     * one). Only a hint: it never fails, and data and size are unchanged. */
    void (*seal)(cairn__file *f);
} cairn__file_ops;

struct cairn__file {
    const cairn__file_ops *ops;
};

/* A list of names returned by list(); free with cairn__strlist_fini. */
typedef struct cairn__strlist {
    char **names;
    size_t n;
} cairn__strlist;

void cairn__strlist_fini(cairn__strlist *l);
/* Appends a copy of name; CAIRN_NOMEM on failure. For env implementers. */
int cairn__strlist_add(cairn__strlist *l, const char *name) CAIRN_WUR;

typedef struct cairn__env_ops {
    const char *name; /* "posix", "mem", "fault" */
    int (*open_read)(cairn_env *env, const char *path, cairn__file **out);
    int (*open_write)(cairn_env *env, const char *path, cairn__file **out);
    int (*open_append)(cairn_env *env, const char *path, cairn__file **out);
    /* 1 if path exists, 0 if not. */
    int (*exists)(cairn_env *env, const char *path);
    /* Names (not paths) in dir, without "." and "..". */
    int (*list)(cairn_env *env, const char *dir, cairn__strlist *out);
    int (*remove)(cairn_env *env, const char *path);
    /* Creates dir; an existing directory is success. */
    int (*mkdir)(cairn_env *env, const char *path);
    int (*rmdir)(cairn_env *env, const char *path);
    int (*file_size)(cairn_env *env, const char *path, uint64_t *size);
    /* Atomically replaces `to` with `from`. */
    int (*rename)(cairn_env *env, const char *from, const char *to);
    /* Makes the directory's entries (creates, renames, removes) durable. */
    int (*sync_dir)(cairn_env *env, const char *dir);
    /* Takes an exclusive lock on path (creating the file). CAIRN_LOCKED if
     * any holder, in this process or another, has it. A lock dies with its
     * process, so a killed holder never blocks a later open. */
    int (*lock)(cairn_env *env, const char *path, cairn__filelock **out);
    int (*unlock)(cairn_env *env, cairn__filelock *lock);
    /* Wall-clock microseconds since the epoch (for logs). */
    uint64_t (*now_micros)(cairn_env *env);
    /* Monotonic nanoseconds (for intervals and timeouts). */
    uint64_t (*now_nanos)(cairn_env *env);
    void (*sleep_micros)(cairn_env *env, uint64_t us);
    int (*thread_start)(cairn_env *env, void *(*fn)(void *), void *arg,
                        cairn__thread **out);
    int (*thread_join)(cairn_env *env, cairn__thread *t);
    /* Frees a non-static env (NULL for static ones). */
    void (*destroy)(cairn_env *env);
    /* Optional (may be NULL): opens a new write-ahead log file, write-only
     * and append-only, as the env writes logs best. Its flush() must still
     * leave appended bytes where a killed process cannot lose them. NULL
     * means open_write. With zero_fill > 0 the caller expects the log to
     * be synced often: the env may then prepare the file for that, and
     * the POSIX env writes zeros over its first zero_fill bytes and syncs
     * them before returning it (env_posix_log.c, "Logs that are synced").
     * Either way the file is returned empty (size 0). */
    int (*open_log)(cairn_env *env, const char *path, uint64_t zero_fill,
                    cairn__file **out);
    /* Optional (may be NULL): opens a file that will not change for
     * random reads (pread, and view where offered), as the env reads such
     * files best; CAIRN_NOTSUP sends the caller to open_read. */
    int (*open_random)(cairn_env *env, const char *path, cairn__file **out);
} cairn__env_ops;

struct cairn_env {
    const cairn__env_ops *ops;
};

/* Wrappers, so call sites read as verbs. */
static inline int cairn__file_pread(cairn__file *f, uint64_t off, size_t n,
                                    char *buf, size_t *got)
{
    return f->ops->pread(f, off, n, buf, got);
}
static inline int cairn__file_read(cairn__file *f, size_t n, char *buf,
                                   size_t *got)
{
    return f->ops->read(f, n, buf, got);
}
static inline int cairn__file_skip(cairn__file *f, uint64_t n)
{
    return (f->ops->skip)(f, n);
}
static inline int cairn__file_append(cairn__file *f, const void *data, size_t n)
{
    return f->ops->append(f, (const char *)data, n);
}
static inline int cairn__file_flush(cairn__file *f)
{
    return f->ops->flush(f);
}
static inline int cairn__file_sync(cairn__file *f)
{
    return f->ops->sync(f);
}
static inline void cairn__file_seal(cairn__file *f)
{
    if (f->ops->seal != NULL)
        f->ops->seal(f);
}
static inline int cairn__file_size(cairn__file *f, uint64_t *size)
{
    return f->ops->size(f, size);
}
/* NULL is accepted and returns 0. */
static inline int cairn__file_close(cairn__file *f)
{
    return f ? f->ops->close(f) : 0;
}

/* Reads a whole (small) file into a malloc'd buffer; *data is NUL-terminated
 * for convenience. Refuses files over max_size with CAIRN_CORRUPTION. */
int cairn__env_read_file(cairn_env *env, const char *path, size_t max_size,
                         char **data, size_t *len) CAIRN_WUR;
/* Writes data to path (create/truncate), optionally syncing it. */
int cairn__env_write_file(cairn_env *env, const char *path, const void *data,
                          size_t len, int sync) CAIRN_WUR;

/* Opens a new log file through open_log, or open_write without it
 * (zero_fill: see open_log). */
static inline int cairn__env_open_log(cairn_env *env, const char *path,
                                      uint64_t zero_fill, cairn__file **out)
{
    if (env->ops->open_log != NULL)
        return env->ops->open_log(env, path, zero_fill, out);
    return env->ops->open_write(env, path, out);
}

/* open_random where the env offers it (and can serve this file),
 * otherwise open_read. */
static inline int cairn__env_open_random(cairn_env *env, const char *path,
                                         cairn__file **out)
{
    if (env->ops->open_random != NULL) {
        int rc = env->ops->open_random(env, path, out);
        if (rc != CAIRN_NOTSUP)
            return rc;
        cairn__errmsg_clear();
    }
    return env->ops->open_read(env, path, out);
}

/* Removes path on an error path: a failure is ignored and the thread's
 * error message (the first error's) is kept. */
void cairn__env_remove_quietly(cairn_env *env, const char *path);

/* The in-memory env's constructor lives in cairn.h
 * (cairn_env_mem_create); POSIX's is cairn_env_default(). */

#endif
