/*
 * env_posix.c: the POSIX env, cairn_env_default(). It is the only place in
 * the engine that calls open/write/pread/fdatasync/rename/fcntl, the clocks
 * and pthread_create directly.
 *
 * Files. Every descriptor is opened O_CLOEXEC so that a fork+exec elsewhere
 * in the host process never inherits a database file (or its lock).
 *  - Read handles keep their own position and read with pread(2), so read,
 *    skip and concurrent pread never touch the descriptor's offset; pread
 *    on one handle is therefore safe from many threads (env.h).
 *  - Write handles buffer appends in a 64 KiB user-space buffer, as
 *    LevelDB's PosixWritableFile does, because the log writer appends a
 *    7-byte header and a payload separately. An append larger than the
 *    free space flushes the buffer; one that still does not fit in an empty
 *    buffer goes straight to write(2). flush() writes everything, looping
 *    over short writes and EINTR; sync() is flush then fdatasync. If a
 *    write fails the buffered bytes are dropped (LevelDB does the same):
 *    how much reached the file is unknown, and the engine treats any write
 *    error as sticky, so retrying the same bytes later could only duplicate
 *    them.
 *  - size() of a write handle is the size at open plus every byte appended
 *    since, whether or not it has been flushed.
 *  - Every WRITEBACK_STEP bytes written, a write handle asks the kernel to
 *    start writing them back (sync_file_range(SYNC_FILE_RANGE_WRITE), as
 *    RocksDB's bytes_per_sync does), so the fdatasync that ends a table
 *    finds most of it on its way to the disk instead of issuing it all at
 *    once. It only starts I/O and waits for nothing; errors are left to
 *    that fdatasync, which reports them. Measured on 1-thread fillrandom
 *    (1M puts): time in level-0 slowdowns 0.46-0.63 s without, 0.44-0.49 s
 *    with.
 *
 * Locks. fcntl(F_SETLK) write locks exclude other processes and vanish
 * when the holder dies, so a stale LOCK file never blocks an open. They do
 * not exclude the process that holds them, and closing any descriptor of
 * the locked file drops the lock. So the env also keeps a process-wide
 * table of held locks (path and device/inode), checked under locks_mu
 * BEFORE the file is opened: a second lock from this process fails with
 * CAIRN_LOCKED without ever opening (and then closing) a second descriptor.
 *
 * Threads and clocks: now_micros is CLOCK_REALTIME (log timestamps),
 * now_nanos CLOCK_MONOTONIC (intervals), sleep is nanosleep restarted after
 * signals, threads are joinable pthreads whose handle is freed by join.
 */
#include "env/env.h"
#include "util/port.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WRITE_BUFFER_SIZE (64u * 1024u)
#define WRITEBACK_STEP    ((uint64_t)1 << 20)

typedef struct posix_file {
    cairn__file base;
    int fd;
    int writable;
    char *path;   /* for error messages */
    uint64_t pos; /* read handles: next sequential read offset */
    char *buf;    /* write handles: WRITE_BUFFER_SIZE bytes */
    size_t buflen;
    uint64_t size;    /* write handles: size at open + bytes appended */
    uint64_t written; /* write handles: file offset after the last write */
    uint64_t started; /* write handles: writeback started below this */
    int no_writeback; /* sync_file_range is not available here */
} posix_file;

/* Reading a write handle, or writing a read handle, is a caller's bug. */
static int wrong_mode(posix_file *pf)
{
    return cairn__err(CAIRN_INVALID, "%s: handle is not open for %s", pf->path,
                      pf->writable ? "reading" : "writing");
}

static int file_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                      size_t *got)
{
    posix_file *pf = (posix_file *)f;
    size_t done = 0;

    *got = 0;
    if (pf->writable)
        return wrong_mode(pf);
    while (done < n) {
        if (off + done > (uint64_t)INT64_MAX)
            break; /* beyond any possible end of file */
        ssize_t r = pread(pf->fd, buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return cairn__err_errno(errno, "pread", pf->path);
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

static int file_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    posix_file *pf = (posix_file *)f;
    CAIRN_TRY(file_pread(f, pf->pos, n, buf, got));
    pf->pos += *got;
    return 0;
}

static int file_skip(cairn__file *f, uint64_t n)
{
    posix_file *pf = (posix_file *)f;
    if (pf->writable)
        return wrong_mode(pf);
    pf->pos = n > UINT64_MAX - pf->pos ? UINT64_MAX : pf->pos + n;
    return 0;
}

/* See the file comment. */
static void start_writeback(posix_file *pf)
{
    if (pf->no_writeback || pf->written - pf->started < WRITEBACK_STEP)
        return;
#ifdef SYNC_FILE_RANGE_WRITE
    if (sync_file_range(pf->fd, (off_t)pf->started,
                        (off_t)(pf->written - pf->started),
                        SYNC_FILE_RANGE_WRITE) != 0 &&
        (errno == ENOSYS || errno == EINVAL || errno == ESPIPE))
        pf->no_writeback = 1;
#else
    pf->no_writeback = 1;
#endif
    pf->started = pf->written;
}

/* Writes all of data with write(2), riding out short writes and EINTR. */
static int write_all(posix_file *pf, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t r = write(pf->fd, data, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return cairn__err_errno(errno, "write", pf->path);
        }
        data += r;
        n -= (size_t)r;
        pf->written += (uint64_t)r;
    }
    start_writeback(pf);
    return 0;
}

static int flush_buffer(posix_file *pf)
{
    size_t n = pf->buflen;
    /* Dropped whether or not the write succeeds; see the file comment. */
    pf->buflen = 0;
    return n ? write_all(pf, pf->buf, n) : 0;
}

static int file_append(cairn__file *f, const char *data, size_t n)
{
    posix_file *pf = (posix_file *)f;
    if (!pf->writable)
        return wrong_mode(pf);
    pf->size += n;
    size_t room = WRITE_BUFFER_SIZE - pf->buflen;
    size_t first = n < room ? n : room;
    if (first > 0) {
        memcpy(pf->buf + pf->buflen, data, first);
        pf->buflen += first;
        data += first;
        n -= first;
    }
    if (n == 0)
        return 0;
    CAIRN_TRY(flush_buffer(pf));
    if (n < WRITE_BUFFER_SIZE) {
        memcpy(pf->buf, data, n);
        pf->buflen = n;
        return 0;
    }
    return write_all(pf, data, n);
}

static int file_flush(cairn__file *f)
{
    posix_file *pf = (posix_file *)f;
    return pf->writable ? flush_buffer(pf) : wrong_mode(pf);
}

static int file_sync(cairn__file *f)
{
    posix_file *pf = (posix_file *)f;
    if (!pf->writable)
        return wrong_mode(pf);
    CAIRN_TRY(flush_buffer(pf));
    /* No retry on failure: after a failed fdatasync the kernel may have
     * dropped the dirty pages, and a second call could report success for
     * data that is gone (the "fsyncgate" lesson). */
    if (fdatasync(pf->fd) != 0)
        return cairn__err_errno(errno, "fdatasync", pf->path);
    return 0;
}

static int file_size(cairn__file *f, uint64_t *size)
{
    posix_file *pf = (posix_file *)f;
    if (pf->writable) {
        *size = pf->size;
        return 0;
    }
    struct stat st;
    if (fstat(pf->fd, &st) != 0)
        return cairn__err_errno(errno, "fstat", pf->path);
    *size = (uint64_t)st.st_size;
    return 0;
}

static void free_file(posix_file *pf)
{
    free(pf->buf);
    free(pf->path);
    free(pf);
}

static int file_close(cairn__file *f)
{
    posix_file *pf = (posix_file *)f;
    int rc = pf->writable ? flush_buffer(pf) : 0;
    /* close() is not retried on EINTR: on Linux the descriptor is released
     * either way, and a retry could close someone else's new descriptor. */
    if (close(pf->fd) != 0 && rc == 0 && errno != EINTR)
        rc = cairn__err_errno(errno, "close", pf->path);
    free_file(pf);
    return rc;
}

/* fdatasync alone: the buffer belongs to the appending thread. */
static int file_sync_flushed(cairn__file *f)
{
    posix_file *pf = (posix_file *)f;
    if (fdatasync(pf->fd) != 0)
        return cairn__err_errno(errno, "fdatasync", pf->path);
    return 0;
}

static const cairn__file_ops posix_file_ops = {
    file_pread,        file_read, file_skip, file_append,
    file_flush,        file_sync, file_size, file_close,
    file_sync_flushed, NULL,      NULL,
};

/* Opens path with flags and wraps the descriptor in a handle. */
static int open_file(const char *path, int flags, int writable,
                     cairn__file **out)
{
    posix_file *pf = calloc(1, sizeof *pf);
    int rc;

    *out = NULL;
    if (pf == NULL)
        return cairn__err(CAIRN_NOMEM, "open %s: out of memory", path);
    pf->fd = -1;
    pf->path = strdup(path);
    if (writable)
        pf->buf = malloc(WRITE_BUFFER_SIZE);
    if (pf->path == NULL || (writable && pf->buf == NULL)) {
        rc = cairn__err(CAIRN_NOMEM, "open %s: out of memory", path);
        goto err;
    }
    do {
        pf->fd = open(path, flags | O_CLOEXEC, 0644);
    } while (pf->fd < 0 && errno == EINTR);
    if (pf->fd < 0) {
        rc = cairn__err_errno(errno, "open", path);
        goto err;
    }
    if (writable && (flags & O_APPEND)) {
        struct stat st;
        if (fstat(pf->fd, &st) != 0) {
            rc = cairn__err_errno(errno, "fstat", path);
            goto err;
        }
        pf->size = (uint64_t)st.st_size;
    }
    pf->written = pf->started = pf->size;
    pf->base.ops = &posix_file_ops;
    pf->writable = writable;
    *out = &pf->base;
    return 0;
err:
    if (pf->fd >= 0)
        close(pf->fd);
    free_file(pf);
    return rc;
}

static int env_open_read(cairn_env *env, const char *path, cairn__file **out)
{
    (void)env;
    return open_file(path, O_RDONLY, 0, out);
}

static int env_open_write(cairn_env *env, const char *path, cairn__file **out)
{
    (void)env;
    return open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 1, out);
}

static int env_open_append(cairn_env *env, const char *path, cairn__file **out)
{
    (void)env;
    return open_file(path, O_WRONLY | O_CREAT | O_APPEND, 1, out);
}

int cairn__posix_open_log(const char *path, uint64_t zero_fill,
                          cairn__file **out);

/* Logs are written through a memory mapping (env_posix_log.c), falling
 * back to the buffered file where the file system cannot preallocate. */
static int env_open_log(cairn_env *env, const char *path, uint64_t zero_fill,
                        cairn__file **out)
{
    int rc = cairn__posix_open_log(path, zero_fill, out);
    if (rc == CAIRN_NOTSUP) {
        cairn__errmsg_clear();
        rc = env_open_write(env, path, out);
    }
    return rc;
}

int cairn__posix_open_mapped(const char *path, cairn__file **out);

/* Tables are read through a mapping of the file (env_posix_map.c). */
static int env_open_random(cairn_env *env, const char *path, cairn__file **out)
{
    (void)env;
    return cairn__posix_open_mapped(path, out);
}

static int env_exists(cairn_env *env, const char *path)
{
    (void)env;
    return access(path, F_OK) == 0;
}

static int env_list(cairn_env *env, const char *dir, cairn__strlist *out)
{
    (void)env;
    out->names = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return cairn__err_errno(errno, "opendir", dir);
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                rc = cairn__err_errno(errno, "readdir", dir);
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rc = cairn__strlist_add(out, e->d_name);
        if (rc != 0)
            break;
    }
    closedir(d);
    if (rc != 0)
        cairn__strlist_fini(out);
    return rc;
}

static int env_remove(cairn_env *env, const char *path)
{
    (void)env;
    if (unlink(path) != 0)
        return cairn__err_errno(errno, "remove", path);
    return 0;
}

static int env_mkdir(cairn_env *env, const char *path)
{
    (void)env;
    if (mkdir(path, 0755) == 0)
        return 0;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return cairn__err_errno(e, "mkdir", path);
}

static int env_rmdir(cairn_env *env, const char *path)
{
    (void)env;
    if (rmdir(path) != 0)
        return cairn__err_errno(errno, "rmdir", path);
    return 0;
}

static int env_file_size(cairn_env *env, const char *path, uint64_t *size)
{
    (void)env;
    struct stat st;
    *size = 0;
    if (stat(path, &st) != 0)
        return cairn__err_errno(errno, "stat", path);
    *size = (uint64_t)st.st_size;
    return 0;
}

static int env_rename(cairn_env *env, const char *from, const char *to)
{
    (void)env;
    if (rename(from, to) != 0) {
        int e = errno;
        char what[CAIRN__ERRMSG_MAX / 2];
        snprintf(what, sizeof what, "rename %s to", from);
        return cairn__err_errno(e, what, to);
    }
    return 0;
}

static int env_sync_dir(cairn_env *env, const char *dir)
{
    (void)env;
    int fd;
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return cairn__err_errno(errno, "open directory", dir);
    int rc = 0;
    if (fsync(fd) != 0)
        rc = cairn__err_errno(errno, "fsync directory", dir);
    close(fd);
    return rc;
}

/*
 * The process-wide lock table. Entries are few (one per open database), so
 * a linked list is enough.
 */
typedef struct posix_lock {
    struct posix_lock *next; /* Locked: locks_mu */
    int fd;
    dev_t dev;
    ino_t ino;
    char *path;
} posix_lock;

static cairn__mutex locks_mu = {.mu = PTHREAD_MUTEX_INITIALIZER};
static posix_lock *locks_held; /* Locked: locks_mu */

/* Is path (by name, or by the file it names now) locked by this process?
 * Caller holds locks_mu. */
static int held_here(const char *path)
{
    cairn__mutex_assert_held(&locks_mu);
    struct stat st;
    int have_st = stat(path, &st) == 0;
    for (posix_lock *l = locks_held; l != NULL; l = l->next) {
        if (strcmp(l->path, path) == 0)
            return 1;
        if (have_st && l->dev == st.st_dev && l->ino == st.st_ino)
            return 1;
    }
    return 0;
}

/* Opens l->path and takes the fcntl lock. Caller holds locks_mu and has
 * checked that this process holds no lock on the file, so closing the
 * descriptor on failure cannot drop anyone's lock. */
static int lock_file(posix_lock *l)
{
    struct flock fl;
    struct stat st;
    do {
        l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    } while (l->fd < 0 && errno == EINTR);
    if (l->fd < 0)
        return cairn__err_errno(errno, "open lock file", l->path);
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(l->fd, F_SETLK, &fl) != 0) {
        if (errno == EACCES || errno == EAGAIN)
            return cairn__err(CAIRN_LOCKED,
                              "lock %s: the database is in use by another "
                              "process",
                              l->path);
        return cairn__err_errno(errno, "lock", l->path);
    }
    if (fstat(l->fd, &st) != 0)
        return cairn__err_errno(errno, "fstat", l->path);
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    return 0;
}

static int env_lock(cairn_env *env, const char *path, cairn__filelock **out)
{
    (void)env;
    posix_lock *l = calloc(1, sizeof *l);
    char *copy = strdup(path);
    int rc;

    *out = NULL;
    if (l == NULL || copy == NULL) {
        free(l);
        free(copy);
        return cairn__err(CAIRN_NOMEM, "lock %s: out of memory", path);
    }
    l->path = copy;
    l->fd = -1;
    cairn__mutex_lock(&locks_mu);
    if (held_here(path))
        rc = cairn__err(CAIRN_LOCKED,
                        "lock %s: the database is in use (already locked by "
                        "this process)",
                        path);
    else
        rc = lock_file(l);
    if (rc == 0) {
        l->next = locks_held;
        locks_held = l;
        *out = (cairn__filelock *)l;
    } else if (l->fd >= 0) {
        close(l->fd);
    }
    cairn__mutex_unlock(&locks_mu);
    if (rc != 0) {
        free(l->path);
        free(l);
    }
    return rc;
}

static int env_unlock(cairn_env *env, cairn__filelock *lock)
{
    (void)env;
    posix_lock *l = (posix_lock *)lock;
    struct flock fl;
    int rc = 0;

    if (l == NULL)
        return 0;
    cairn__mutex_lock(&locks_mu);
    posix_lock **pp = &locks_held;
    while (*pp != NULL && *pp != l)
        pp = &(*pp)->next;
    if (*pp == NULL) {
        cairn__mutex_unlock(&locks_mu);
        return cairn__err(CAIRN_INVALID, "unlock: not a held lock");
    }
    *pp = l->next;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(l->fd, F_SETLK, &fl) != 0)
        rc = cairn__err_errno(errno, "unlock", l->path);
    /* Closing drops the fcntl lock even if F_UNLCK failed. It happens under
     * locks_mu, so no thread of this process can open the file for a new
     * lock while this descriptor is still open. */
    close(l->fd);
    cairn__mutex_unlock(&locks_mu);
    free(l->path);
    free(l);
    return rc;
}

static uint64_t env_now_micros(cairn_env *env)
{
    (void)env;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t env_now_nanos(cairn_env *env)
{
    (void)env;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void env_sleep_micros(cairn_env *env, uint64_t us)
{
    (void)env;
    struct timespec req, rem;
    req.tv_sec = (time_t)(us / 1000000u);
    req.tv_nsec = (long)(us % 1000000u) * 1000;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
}

typedef struct posix_thread {
    pthread_t tid;
} posix_thread;

static int env_thread_start(cairn_env *env, void *(*fn)(void *), void *arg,
                            cairn__thread **out)
{
    (void)env;
    *out = NULL;
    posix_thread *t = malloc(sizeof *t);
    if (t == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot allocate a thread handle");
    int e = pthread_create(&t->tid, NULL, fn, arg);
    if (e != 0) {
        free(t);
        return cairn__err_errno(e, "pthread_create", "");
    }
    *out = (cairn__thread *)t;
    return 0;
}

static int env_thread_join(cairn_env *env, cairn__thread *thread)
{
    (void)env;
    posix_thread *t = (posix_thread *)thread;
    if (t == NULL)
        return 0;
    int e = pthread_join(t->tid, NULL);
    free(t);
    if (e != 0)
        return cairn__err_errno(e, "pthread_join", "");
    return 0;
}

static const cairn__env_ops posix_env_ops = {
    .name = "posix",
    .open_read = env_open_read,
    .open_write = env_open_write,
    .open_append = env_open_append,
    .exists = env_exists,
    .list = env_list,
    .remove = env_remove,
    .mkdir = env_mkdir,
    .rmdir = env_rmdir,
    .file_size = env_file_size,
    .rename = env_rename,
    .sync_dir = env_sync_dir,
    .lock = env_lock,
    .unlock = env_unlock,
    .now_micros = env_now_micros,
    .now_nanos = env_now_nanos,
    .sleep_micros = env_sleep_micros,
    .thread_start = env_thread_start,
    .thread_join = env_thread_join,
    .destroy = NULL,
    .open_log = env_open_log,
    .open_random = env_open_random,
};

/* Immutable: the ops table is all it has, so every thread may share it. */
static cairn_env posix_env = {&posix_env_ops};

cairn_env *cairn_env_default(void)
{
    return &posix_env;
}
