/*
 * env_mem.c: the in-memory env, cairn_env_mem_create(). It is a private
 * file system for fast tests, and the base that the fault env usually
 * wraps. It behaves like the POSIX env wherever a test could tell the two
 * apart: the same codes, and messages built by cairn__err_errno from the
 * errno POSIX would give ("open /db/000005.log: No such file or directory").
 *
 * Namespace. Paths are plain strings; trailing slashes are ignored, and
 * nothing else is normalised ("a//b" and "./a" name other entries than
 * "a/b" and "a"). "" (the current directory) and "/" always exist. Every
 * other directory must be made with mkdir, whose parent must exist, and a
 * file can be created only in an existing directory (else CAIRN_NOTFOUND,
 * as ENOENT would give). The namespace is one array of entries sorted by
 * path, so lookups are binary searches; list() and rmdir() scan it, which
 * is fine for the directories a database keeps.
 *
 * Contents. A file's bytes live in a mem_data that is reference counted by
 * its directory entry and by every open handle, so a handle keeps working
 * after the file is removed or renamed over, as on POSIX. open_write on an
 * existing file truncates the same mem_data, as O_TRUNC truncates the same
 * inode. Appends go straight into the contents: there is no user-space
 * buffer, so flush() and sync() have nothing to do.
 *
 * Threads. env->mu guards the namespace and every mem_data's reference
 * count and lock flag; data->mu guards one file's bytes. Lock order:
 * env->mu before data->mu (open_write truncates under both); file reads and
 * appends take only data->mu, so concurrent preads never wait on the
 * namespace.
 *
 * Clocks, sleep and threads are the real ones, taken from the default
 * (POSIX) env's ops table when the env is created.
 */
#include "env/env.h"
#include "util/buf.h"
#include "util/port.h"
#include "util/slice.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_data {
    int refs;         /* Locked: env->mu; the entry, open handles and a lock */
    int locked;       /* Locked: env->mu; held by a lock() handle */
    cairn__mutex mu;  /* guards bytes */
    cairn__buf bytes; /* Locked: mu */
} mem_data;

typedef struct mem_entry {
    char *path;     /* normalised: no trailing slash */
    size_t pathlen; /* strlen(path) */
    mem_data *data; /* NULL for a directory */
} mem_entry;

typedef struct mem_env {
    cairn_env base;
    cairn__env_ops ops; /* Immutable after create */
    cairn__mutex mu;
    mem_entry *ents; /* Locked: mu; sorted by (bytes, length) */
    size_t n;        /* Locked: mu */
    size_t cap;      /* Locked: mu */
} mem_env;

typedef struct mem_file {
    cairn__file base;
    mem_env *env;
    mem_data *data; /* one reference held by this handle */
    int writable;
    uint64_t pos; /* read handles: next sequential read offset */
    char *path;   /* for error messages */
} mem_file;

/* Length of path without trailing slashes ("/" keeps its one). */
static size_t norm_len(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    return n;
}

/* The parent directory of path[0..n) as a prefix of the same string:
 * "name" gives "", "/name" gives "/", "a/b" gives "a". */
static size_t parent_len(const char *path, size_t n)
{
    size_t i = n;
    while (i > 0 && path[i - 1] != '/')
        i--;
    while (i > 1 && path[i - 1] == '/')
        i--;
    return i;
}

enum kind { K_NONE, K_ROOT, K_DIR, K_FILE };

/* What path[0..n) names. *idx gets its entry, or for K_NONE the index at
 * which it would be inserted (a binary search). Caller holds env->mu. */
static enum kind lookup(mem_env *e, const char *path, size_t n, size_t *idx)
{
    cairn__slice key = cairn__slice_make(path, n);
    size_t lo = 0, hi = e->n;
    *idx = 0;
    if (n == 0 || (n == 1 && path[0] == '/'))
        return K_ROOT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        mem_entry *m = &e->ents[mid];
        int c =
            cairn__slice_compare(cairn__slice_make(m->path, m->pathlen), key);
        if (c == 0) {
            *idx = mid;
            return m->data == NULL ? K_DIR : K_FILE;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *idx = lo;
    return K_NONE;
}

/* 0 if the parent directory of path[0..n) exists, else the errno POSIX
 * would give for creating path. */
static int parent_errno(mem_env *e, const char *path, size_t n)
{
    size_t idx;
    switch (lookup(e, path, parent_len(path, n), &idx)) {
    case K_NONE:
        return ENOENT;
    case K_FILE:
        return ENOTDIR;
    default:
        return 0;
    }
}

/* Inserts an entry at idx (from lookup); the entry takes over one
 * reference to data (NULL for a directory). */
static int insert_at(mem_env *e, size_t idx, const char *path, size_t n,
                     mem_data *data)
{
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        mem_entry *ents = realloc(e->ents, ncap * sizeof *ents);
        if (ents == NULL)
            return cairn__err(CAIRN_NOMEM, "mem env: cannot grow namespace");
        e->ents = ents;
        e->cap = ncap;
    }
    char *copy = strndup(path, n);
    if (copy == NULL)
        return cairn__err(CAIRN_NOMEM, "mem env: cannot copy a path");
    memmove(&e->ents[idx + 1], &e->ents[idx], (e->n - idx) * sizeof *e->ents);
    e->ents[idx].path = copy;
    e->ents[idx].pathlen = n;
    e->ents[idx].data = data;
    e->n++;
    return 0;
}

static void data_unref(mem_env *e, mem_data *d)
{
    (void)e; /* only for the debug-build assertion */
    cairn__mutex_assert_held(&e->mu);
    if (d == NULL || --d->refs > 0)
        return;
    cairn__mutex_fini(&d->mu);
    cairn__buf_fini(&d->bytes);
    free(d);
}

/* Drops the entry at idx and its reference to the contents. */
static void remove_at(mem_env *e, size_t idx)
{
    free(e->ents[idx].path);
    data_unref(e, e->ents[idx].data);
    memmove(&e->ents[idx], &e->ents[idx + 1],
            (e->n - idx - 1) * sizeof *e->ents);
    e->n--;
}

/* Finds or creates the file at path (normalised length n), truncating it if
 * asked, and returns its contents with a new reference for the caller.
 * Caller holds env->mu. */
static int get_file(mem_env *e, const char *what, const char *path, size_t n,
                    int create, int truncate, mem_data **out)
{
    size_t idx;
    mem_data *d = NULL;
    *out = NULL;
    switch (lookup(e, path, n, &idx)) {
    case K_ROOT:
    case K_DIR:
        return cairn__err_errno(EISDIR, what, path);
    case K_FILE:
        d = e->ents[idx].data;
        if (truncate) {
            cairn__mutex_lock(&d->mu);
            cairn__buf_clear(&d->bytes);
            cairn__mutex_unlock(&d->mu);
        }
        break;
    case K_NONE:
        if (!create)
            return cairn__err_errno(ENOENT, what, path);
        int pe = parent_errno(e, path, n);
        if (pe != 0)
            return cairn__err_errno(pe, what, path);
        d = calloc(1, sizeof *d);
        if (d == NULL)
            return cairn__err(CAIRN_NOMEM, "%s %s: out of memory", what, path);
        int rc = cairn__mutex_init(&d->mu);
        if (rc == 0 && (rc = insert_at(e, idx, path, n, d)) != 0)
            cairn__mutex_fini(&d->mu);
        if (rc != 0) {
            free(d);
            return rc;
        }
        d->refs = 1; /* the entry's */
        break;
    }
    d->refs++;
    *out = d;
    return 0;
}

/* Reading a write handle, or writing a read handle, is a caller's bug. */
static int wrong_mode(mem_file *mf)
{
    return cairn__err(CAIRN_INVALID, "%s: handle is not open for %s", mf->path,
                      mf->writable ? "reading" : "writing");
}

static int file_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                      size_t *got)
{
    mem_file *mf = (mem_file *)f;
    mem_data *d = mf->data;
    *got = 0;
    if (mf->writable)
        return wrong_mode(mf);
    cairn__mutex_lock(&d->mu);
    if (off < d->bytes.len) {
        size_t avail = d->bytes.len - (size_t)off;
        *got = n < avail ? n : avail;
        memcpy(buf, d->bytes.data + off, *got);
    }
    cairn__mutex_unlock(&d->mu);
    return 0;
}

static int file_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    mem_file *mf = (mem_file *)f;
    CAIRN_TRY(file_pread(f, mf->pos, n, buf, got));
    mf->pos += *got;
    return 0;
}

static int file_skip(cairn__file *f, uint64_t n)
{
    mem_file *mf = (mem_file *)f;
    if (mf->writable)
        return wrong_mode(mf);
    mf->pos = n > UINT64_MAX - mf->pos ? UINT64_MAX : mf->pos + n;
    return 0;
}

static int file_append(cairn__file *f, const char *data, size_t n)
{
    mem_file *mf = (mem_file *)f;
    mem_data *d = mf->data;
    if (!mf->writable)
        return wrong_mode(mf);
    cairn__mutex_lock(&d->mu);
    int rc = cairn__buf_append(&d->bytes, data, n);
    cairn__mutex_unlock(&d->mu);
    return rc ? cairn__err_wrap(rc, "append %s", mf->path) : 0;
}

static int file_flush(cairn__file *f)
{
    mem_file *mf = (mem_file *)f;
    return mf->writable ? 0 : wrong_mode(mf);
}

static int file_size(cairn__file *f, uint64_t *size)
{
    mem_file *mf = (mem_file *)f;
    cairn__mutex_lock(&mf->data->mu);
    *size = mf->data->bytes.len;
    cairn__mutex_unlock(&mf->data->mu);
    return 0;
}

static int file_close(cairn__file *f)
{
    mem_file *mf = (mem_file *)f;
    cairn__mutex_lock(&mf->env->mu);
    data_unref(mf->env, mf->data);
    cairn__mutex_unlock(&mf->env->mu);
    free(mf->path);
    free(mf);
    return 0;
}

/* Sync has nothing to make durable: the same check as flush. */
static const cairn__file_ops mem_file_ops = {
    file_pread, file_read,  file_skip,  file_append, file_flush, file_flush,
    file_size,  file_close, file_flush, NULL,        NULL,
};

static int open_file(cairn_env *env, const char *path, int writable,
                     int truncate, cairn__file **out)
{
    mem_env *e = (mem_env *)env;
    *out = NULL;
    mem_file *mf = calloc(1, sizeof *mf);
    if (mf != NULL)
        mf->path = strdup(path);
    if (mf == NULL || mf->path == NULL) {
        free(mf);
        return cairn__err(CAIRN_NOMEM, "open %s: out of memory", path);
    }
    cairn__mutex_lock(&e->mu);
    int rc = get_file(e, "open", path, norm_len(path), writable, truncate,
                      &mf->data);
    cairn__mutex_unlock(&e->mu);
    if (rc != 0) {
        free(mf->path);
        free(mf);
        return rc;
    }
    mf->base.ops = &mem_file_ops;
    mf->env = e;
    mf->writable = writable;
    *out = &mf->base;
    return 0;
}

static int env_open_read(cairn_env *env, const char *path, cairn__file **out)
{
    return open_file(env, path, 0, 0, out);
}

static int env_open_write(cairn_env *env, const char *path, cairn__file **out)
{
    return open_file(env, path, 1, 1, out);
}

static int env_open_append(cairn_env *env, const char *path, cairn__file **out)
{
    return open_file(env, path, 1, 0, out);
}

static int env_exists(cairn_env *env, const char *path)
{
    mem_env *e = (mem_env *)env;
    size_t idx;
    cairn__mutex_lock(&e->mu);
    enum kind k = lookup(e, path, norm_len(path), &idx);
    cairn__mutex_unlock(&e->mu);
    return k != K_NONE;
}

static int env_list(cairn_env *env, const char *dir, cairn__strlist *out)
{
    mem_env *e = (mem_env *)env;
    size_t n = norm_len(dir), idx;
    int rc = 0;
    out->names = NULL;
    out->n = 0;
    cairn__mutex_lock(&e->mu);
    enum kind k = lookup(e, dir, n, &idx);
    if (k == K_NONE || k == K_FILE)
        rc = cairn__err_errno(k == K_NONE ? ENOENT : ENOTDIR, "opendir", dir);
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        const mem_entry *m = &e->ents[i];
        size_t pl = parent_len(m->path, m->pathlen);
        if (pl != n || memcmp(m->path, dir, n) != 0)
            continue;
        const char *name = m->path + pl;
        while (*name == '/')
            name++;
        rc = cairn__strlist_add(out, name);
    }
    cairn__mutex_unlock(&e->mu);
    if (rc != 0)
        cairn__strlist_fini(out);
    return rc;
}

static int env_remove(cairn_env *env, const char *path)
{
    mem_env *e = (mem_env *)env;
    size_t idx;
    int rc = 0;
    cairn__mutex_lock(&e->mu);
    enum kind k = lookup(e, path, norm_len(path), &idx);
    if (k == K_FILE)
        remove_at(e, idx);
    else
        rc = cairn__err_errno(k == K_NONE ? ENOENT : EISDIR, "remove", path);
    cairn__mutex_unlock(&e->mu);
    return rc;
}

static int env_mkdir(cairn_env *env, const char *path)
{
    mem_env *e = (mem_env *)env;
    size_t n = norm_len(path), idx;
    int rc = 0;
    cairn__mutex_lock(&e->mu);
    enum kind k = lookup(e, path, n, &idx);
    if (k == K_FILE) {
        rc = cairn__err_errno(EEXIST, "mkdir", path);
    } else if (k == K_NONE) {
        int pe = parent_errno(e, path, n);
        rc = pe ? cairn__err_errno(pe, "mkdir", path)
                : insert_at(e, idx, path, n, NULL);
    }
    cairn__mutex_unlock(&e->mu);
    return rc;
}

static int env_rmdir(cairn_env *env, const char *path)
{
    mem_env *e = (mem_env *)env;
    size_t n = norm_len(path), idx;
    int err = 0;
    cairn__mutex_lock(&e->mu);
    enum kind k = lookup(e, path, n, &idx);
    if (k != K_DIR) {
        err = k == K_NONE ? ENOENT : k == K_FILE ? ENOTDIR : EBUSY;
    } else {
        /* Only entries with the prefix "path/" can be inside it. */
        for (size_t i = 0; i < e->n && err == 0; i++) {
            const mem_entry *m = &e->ents[i];
            if (m->pathlen > n && m->path[n] == '/' &&
                memcmp(m->path, path, n) == 0)
                err = ENOTEMPTY;
        }
    }
    if (err == 0)
        remove_at(e, idx);
    cairn__mutex_unlock(&e->mu);
    return err ? cairn__err_errno(err, "rmdir", path) : 0;
}

static int env_file_size(cairn_env *env, const char *path, uint64_t *size)
{
    mem_env *e = (mem_env *)env;
    size_t idx;
    int rc = 0;
    *size = 0;
    cairn__mutex_lock(&e->mu);
    enum kind k = lookup(e, path, norm_len(path), &idx);
    if (k == K_NONE) {
        rc = cairn__err_errno(ENOENT, "stat", path);
    } else if (k == K_FILE) {
        mem_data *d = e->ents[idx].data;
        cairn__mutex_lock(&d->mu);
        *size = d->bytes.len;
        cairn__mutex_unlock(&d->mu);
    }
    cairn__mutex_unlock(&e->mu);
    return rc;
}

static int rename_err(int errnum, const char *from, const char *to)
{
    char what[CAIRN__ERRMSG_MAX / 2];
    snprintf(what, sizeof what, "rename %s to", from);
    return cairn__err_errno(errnum, what, to);
}

static int env_rename(cairn_env *env, const char *from, const char *to)
{
    mem_env *e = (mem_env *)env;
    size_t fn = norm_len(from), tn = norm_len(to), fi, ti;
    int rc = 0;
    cairn__mutex_lock(&e->mu);
    enum kind fk = lookup(e, from, fn, &fi);
    enum kind tk = lookup(e, to, tn, &ti);
    mem_data *d = fk == K_FILE ? e->ents[fi].data : NULL;
    if (fk != K_FILE) {
        rc =
            fk == K_NONE
                ? rename_err(ENOENT, from, to)
                : cairn__err(CAIRN_NOTSUP,
                             "rename %s: the mem env renames only files", from);
    } else if (tk == K_ROOT || tk == K_DIR) {
        rc = rename_err(EISDIR, from, to);
    } else if (fi == ti && tk == K_FILE) {
        /* Renaming a file to itself changes nothing. */
    } else if (tk == K_FILE) {
        /* Replace the target's contents in place: one atomic step. */
        d->refs++;
        data_unref(e, e->ents[ti].data);
        e->ents[ti].data = d;
        remove_at(e, fi);
    } else {
        int pe = parent_errno(e, to, tn);
        if (pe == 0 && (rc = insert_at(e, ti, to, tn, d)) == 0) {
            d->refs++;
            /* The insert may have shifted the source entry. */
            remove_at(e, ti <= fi ? fi + 1 : fi);
        } else if (pe != 0) {
            rc = rename_err(pe, from, to);
        }
    }
    cairn__mutex_unlock(&e->mu);
    return rc;
}

static int env_sync_dir(cairn_env *env, const char *dir)
{
    mem_env *e = (mem_env *)env;
    size_t idx;
    cairn__mutex_lock(&e->mu);
    enum kind k = lookup(e, dir, norm_len(dir), &idx);
    cairn__mutex_unlock(&e->mu);
    if (k == K_NONE || k == K_FILE)
        return cairn__err_errno(k == K_NONE ? ENOENT : ENOTDIR,
                                "open directory", dir);
    return 0;
}

/* A lock belongs to the file's contents, as an fcntl lock belongs to the
 * inode: removing or replacing the LOCK file while it is held leaves the
 * lock on the old contents, and the new file can be locked again. */
static int env_lock(cairn_env *env, const char *path, cairn__filelock **out)
{
    mem_env *e = (mem_env *)env;
    mem_data *d;
    *out = NULL;
    cairn__mutex_lock(&e->mu);
    /* Like the POSIX env, locking creates the file. */
    int rc = get_file(e, "open lock file", path, norm_len(path), 1, 0, &d);
    if (rc == 0 && d->locked) {
        data_unref(e, d);
        rc = cairn__err(CAIRN_LOCKED,
                        "lock %s: the database is in use (already locked in "
                        "this env)",
                        path);
    } else if (rc == 0) {
        d->locked = 1; /* the lock keeps the reference get_file took */
        *out = (cairn__filelock *)d;
    }
    cairn__mutex_unlock(&e->mu);
    return rc;
}

static int env_unlock(cairn_env *env, cairn__filelock *lock)
{
    mem_env *e = (mem_env *)env;
    mem_data *d = (mem_data *)lock;
    int rc = 0;
    if (d == NULL)
        return 0;
    cairn__mutex_lock(&e->mu);
    if (!d->locked) {
        rc = cairn__err(CAIRN_INVALID, "unlock: not a held lock");
    } else {
        d->locked = 0;
        data_unref(e, d);
    }
    cairn__mutex_unlock(&e->mu);
    return rc;
}

/* Frees the namespace and every file's contents. Handles and locks must all
 * be closed first (cairn.h: databases on the env are closed before it is
 * destroyed); contents they still hold are not freed. */
static void env_destroy(cairn_env *env)
{
    mem_env *e = (mem_env *)env;
    cairn__mutex_lock(&e->mu);
    while (e->n > 0)
        remove_at(e, e->n - 1);
    cairn__mutex_unlock(&e->mu);
    cairn__mutex_fini(&e->mu);
    free(e->ents);
    free(e);
}

/* The clock, sleep and thread entries are filled in from the default env by
 * cairn_env_mem_create. */
static const cairn__env_ops mem_env_ops = {
    .name = "mem",
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
    .destroy = env_destroy,
};

cairn_env *cairn_env_mem_create(void)
{
    mem_env *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    if (cairn__mutex_init(&e->mu) != 0) {
        free(e);
        return NULL;
    }
    /* Time, sleep and threads are real ones: the POSIX env's functions,
     * which ignore their env argument, so a thread started here is also
     * joined by POSIX code. */
    const cairn__env_ops *posix = cairn_env_default()->ops;
    e->ops = mem_env_ops;
    e->ops.now_micros = posix->now_micros;
    e->ops.now_nanos = posix->now_nanos;
    e->ops.sleep_micros = posix->sleep_micros;
    e->ops.thread_start = posix->thread_start;
    e->ops.thread_join = posix->thread_join;
    e->base.ops = &e->ops;
    return &e->base;
}
