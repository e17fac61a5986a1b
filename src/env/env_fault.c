/*
 * env_fault.c: the fault-injecting env. What it promises is in env_fault.h;
 * this comment says how it keeps those promises.
 *
 * Model. A file the fault env writes gets an fnode, its stand-in for an
 * inode: the synced and flushed lengths. A name the fault env must remember
 * gets an fpath: which fnode the name holds now (NULL when the name is
 * absent), and, while the name is "pending" (created or renamed since its
 * directory's last sync_dir), what it held when it was last durable. Handles
 * point at their fnode, not at a name, so a file renamed while open keeps
 * its durability state. A name whose last durable state is a file's content
 * keeps a copy of that content (read from the base env when the rename
 * happens): LevelDB renames only small files (CURRENT), so copying is cheap,
 * and it is what lets a power cut undo the rename.
 *
 * Invariants:
 *   1. An fpath with node == NULL is pending (else it carries nothing and
 *      is freed).
 *   2. node->refs counts the fpath holding it plus every open handle.
 *   3. While dead, no file in the base env changes through this env: open
 *      handles were closed in the base at the cut, and every mutating call
 *      fails before reaching the base.
 *
 * Locking: fe->mu guards everything here and is held across each call into
 * the base env, so a power cut (which closes base handles and rewrites
 * files) can never run in the middle of another thread's write. The base
 * env never calls back into this one, so holding it cannot deadlock.
 */
#include "env/env_fault.h"
#include "util/buf.h"
#include "util/port.h"

#include <stdlib.h>
#include <string.h>

typedef struct fnode {
    int refs;         /* Locked: fe->mu; invariant 2 */
    uint64_t synced;  /* Locked: fe->mu; length at the last good sync */
    uint64_t flushed; /* Locked: fe->mu; length the base env has been given */
} fnode;

typedef struct fpath {
    struct fpath *next;
    char *path;     /* without trailing slashes */
    size_t dirlen;  /* its directory is path[0..dirlen) */
    fnode *node;    /* the file written through us at this name, or NULL */
    int pending;    /* not yet made durable by sync_dir */
    int old_exists; /* when pending: the durable state was a file... */
    cairn__buf old; /* ...with this content */
} fpath;

typedef struct fault_env fault_env;

typedef struct ffile {
    cairn__file base;
    fault_env *fe;
    cairn__file *inner; /* NULL once a power cut has killed the handle */
    fnode *node;        /* NULL for read handles */
    char *path;
    struct ffile *prev, *next; /* Locked: fe->mu; open handles */
} ffile;

struct fault_env {
    cairn_env base;
    cairn_env *inner; /* not owned */
    cairn__mutex mu;
    /* Everything below is Locked: mu. */
    struct {
        int armed, persistent, code;
        uint64_t nth, seen;
    } arm[CAIRN__FAULT_NKINDS];
    uint64_t count[CAIRN__FAULT_NKINDS];
    uint64_t injected;
    size_t partial;
    int dead;
    fpath *paths;
    ffile *files;
};

static size_t norm_len(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    return n;
}

/* "name" -> "", "/name" -> "/", "a/b" -> "a" (as a prefix length). */
static size_t parent_len(const char *path, size_t n)
{
    size_t i = n;
    while (i > 0 && path[i - 1] != '/')
        i--;
    while (i > 1 && path[i - 1] == '/')
        i--;
    return i;
}

static int dead_err(const char *op, const char *path)
{
    return cairn__err(CAIRN_IO, "simulated power loss: %s %s", op, path);
}

/* Counts one operation of kind and decides whether it fails. Caller holds
 * fe->mu. Returns 0 or the injected code. */
static int inject(fault_env *fe, enum cairn__fault_kind k, const char *op,
                  const char *path)
{
    cairn__mutex_assert_held(&fe->mu);
    fe->count[k]++;
    if (!fe->arm[k].armed || ++fe->arm[k].seen < fe->arm[k].nth)
        return 0;
    if (!fe->arm[k].persistent)
        fe->arm[k].armed = 0;
    fe->injected++;
    return cairn__err(fe->arm[k].code, "injected fault: %s %s", op, path);
}

static void node_unref(fnode *n)
{
    if (n != NULL && --n->refs == 0)
        free(n);
}

static fnode *node_new(uint64_t len)
{
    fnode *n = calloc(1, sizeof *n);
    if (n != NULL) {
        n->refs = 1;
        n->synced = n->flushed = len;
    }
    return n;
}

static void fpath_free(fpath *p)
{
    node_unref(p->node);
    cairn__buf_fini(&p->old);
    free(p->path);
    free(p);
}

/* The record for path, created (not pending, no node) if create is set.
 * NULL if absent, or on out-of-memory with create set. */
static fpath *fpath_get(fault_env *fe, const char *path, int create)
{
    size_t n = norm_len(path);
    for (fpath *p = fe->paths; p != NULL; p = p->next)
        if (strlen(p->path) == n && memcmp(p->path, path, n) == 0)
            return p;
    if (!create)
        return NULL;
    fpath *p = calloc(1, sizeof *p);
    if (p == NULL || (p->path = strndup(path, n)) == NULL) {
        free(p);
        cairn__err(CAIRN_NOMEM, "fault env: out of memory");
        return NULL;
    }
    p->dirlen = parent_len(p->path, n);
    p->next = fe->paths;
    fe->paths = p;
    return p;
}

/* Frees records that carry nothing (invariant 1), or, with all set, every
 * record. */
static void fpath_prune(fault_env *fe, int all)
{
    fpath **pp = &fe->paths;
    while (*pp != NULL) {
        fpath *p = *pp;
        if (all || (p->node == NULL && !p->pending)) {
            *pp = p->next;
            fpath_free(p);
        } else {
            pp = &p->next;
        }
    }
}

/* Marks p pending, remembering its current durable state if it was not
 * pending already: absent, or the content in *snap (which is taken). */
static void mark_pending(fpath *p, int exists, cairn__buf *snap)
{
    if (p->pending)
        return;
    p->pending = 1;
    p->old_exists = exists;
    cairn__buf_swap(&p->old, snap);
}

/* ---- File handles ------------------------------------------------------ */

/* pread (seq = 0) or read (seq = 1). */
static int read_any(cairn__file *f, int seq, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    ffile *ff = (ffile *)f;
    const char *op = seq ? "read" : "pread";
    int rc;
    *got = 0;
    cairn__mutex_lock(&ff->fe->mu);
    if (ff->inner == NULL)
        rc = dead_err(op, ff->path);
    else if ((rc = inject(ff->fe, CAIRN__FAULT_READ, op, ff->path)) == 0)
        rc = seq ? cairn__file_read(ff->inner, n, buf, got)
                 : cairn__file_pread(ff->inner, off, n, buf, got);
    cairn__mutex_unlock(&ff->fe->mu);
    return rc;
}

static int file_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                      size_t *got)
{
    return read_any(f, 0, off, n, buf, got);
}

static int file_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    return read_any(f, 1, 0, n, buf, got);
}

static int file_skip(cairn__file *f, uint64_t n)
{
    ffile *ff = (ffile *)f;
    int rc;
    cairn__mutex_lock(&ff->fe->mu);
    rc =
        ff->inner ? cairn__file_skip(ff->inner, n) : dead_err("skip", ff->path);
    cairn__mutex_unlock(&ff->fe->mu);
    return rc;
}

static int file_append(cairn__file *f, const char *data, size_t n)
{
    ffile *ff = (ffile *)f;
    fault_env *fe = ff->fe;
    int rc;
    cairn__mutex_lock(&fe->mu);
    if (ff->inner == NULL) {
        rc = dead_err("append", ff->path);
    } else if ((rc = inject(fe, CAIRN__FAULT_WRITE, "append", ff->path))) {
        /* The torn write, if asked for; its own result does not matter. */
        size_t part = fe->partial < n ? fe->partial : n;
        if (part > 0)
            (void)cairn__file_append(ff->inner, data, part);
    } else {
        rc = cairn__file_append(ff->inner, data, n);
    }
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

/* Flush (sync = 0) or sync (sync = 1), then record how far it got. */
static int flush_or_sync(cairn__file *f, int sync)
{
    ffile *ff = (ffile *)f;
    fault_env *fe = ff->fe;
    const char *op = sync ? "sync" : "flush";
    uint64_t size = 0;
    int rc;
    cairn__mutex_lock(&fe->mu);
    if (ff->inner == NULL) {
        rc = dead_err(op, ff->path);
        goto out;
    }
    rc =
        inject(fe, sync ? CAIRN__FAULT_SYNC : CAIRN__FAULT_WRITE, op, ff->path);
    if (rc == 0)
        rc = sync ? cairn__file_sync(ff->inner) : cairn__file_flush(ff->inner);
    if (rc == 0 && ff->node != NULL &&
        (rc = cairn__file_size(ff->inner, &size)) == 0) {
        ff->node->flushed = size;
        if (sync)
            ff->node->synced = size;
    }
out:
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

static int file_flush(cairn__file *f)
{
    return flush_or_sync(f, 0);
}

static int file_sync(cairn__file *f)
{
    return flush_or_sync(f, 1);
}

static int file_size(cairn__file *f, uint64_t *size)
{
    ffile *ff = (ffile *)f;
    int rc;
    *size = 0;
    cairn__mutex_lock(&ff->fe->mu);
    rc = ff->inner ? cairn__file_size(ff->inner, size)
                   : dead_err("size", ff->path);
    cairn__mutex_unlock(&ff->fe->mu);
    return rc;
}

static int file_close(cairn__file *f)
{
    ffile *ff = (ffile *)f;
    fault_env *fe = ff->fe;
    uint64_t size = 0;
    int rc = 0;
    cairn__mutex_lock(&fe->mu);
    if (ff->inner != NULL) {
        /* Close flushes, so on success the node's flushed length moves. */
        int have_size = ff->node && cairn__file_size(ff->inner, &size) == 0;
        rc = cairn__file_close(ff->inner);
        if (rc == 0 && have_size)
            ff->node->flushed = size;
    }
    if (ff->prev != NULL)
        ff->prev->next = ff->next;
    else
        fe->files = ff->next;
    if (ff->next != NULL)
        ff->next->prev = ff->prev;
    node_unref(ff->node);
    cairn__mutex_unlock(&fe->mu);
    free(ff->path);
    free(ff);
    return rc;
}

/* Every fault-file operation runs under fe->mu, so a sync may be called
 * while another thread appends: the two never overlap inside, and the
 * size recorded as synced is the size the sync saw. */
static int file_sync_flushed(cairn__file *f)
{
    return flush_or_sync(f, 1);
}

/* A hint, passed on while the handle lives. */
static void file_seal(cairn__file *f)
{
    ffile *ff = (ffile *)f;
    cairn__mutex_lock(&ff->fe->mu);
    if (ff->inner != NULL)
        cairn__file_seal(ff->inner);
    cairn__mutex_unlock(&ff->fe->mu);
}

static const cairn__file_ops fault_file_ops = {
    file_pread,        file_read, file_skip, file_append,
    file_flush,        file_sync, file_size, file_close,
    file_sync_flushed, NULL,      file_seal,
};

/* ---- Env operations ---------------------------------------------------- */

/* Wraps an inner handle (consumed) and links it into the open list. Caller
 * holds fe->mu. */
static int wrap(fault_env *fe, const char *path, cairn__file *inner,
                fnode *node, cairn__file **out)
{
    ffile *ff = calloc(1, sizeof *ff);
    if (ff == NULL || (ff->path = strdup(path)) == NULL) {
        free(ff);
        (void)cairn__file_close(inner);
        return cairn__err(CAIRN_NOMEM, "open %s: out of memory", path);
    }
    ff->base.ops = &fault_file_ops;
    ff->fe = fe;
    ff->inner = inner;
    ff->node = node;
    if (node != NULL)
        node->refs++;
    ff->next = fe->files;
    if (fe->files != NULL)
        fe->files->prev = ff;
    fe->files = ff;
    *out = &ff->base;
    return 0;
}

static int env_open_read(cairn_env *env, const char *path, cairn__file **out)
{
    fault_env *fe = (fault_env *)env;
    cairn__file *inner;
    *out = NULL;
    cairn__mutex_lock(&fe->mu);
    int rc = fe->inner->ops->open_read(fe->inner, path, &inner);
    if (rc == 0)
        rc = wrap(fe, path, inner, NULL, out);
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

static int open_writable(cairn_env *env, const char *path, int append,
                         cairn__file **out)
{
    fault_env *fe = (fault_env *)env;
    cairn_env *in = fe->inner;
    cairn__file *inner = NULL;
    cairn__buf none = CAIRN__BUF_INIT;
    uint64_t size = 0;
    int rc;
    *out = NULL;
    cairn__mutex_lock(&fe->mu);
    if (fe->dead) {
        rc = dead_err("open", path);
        goto out;
    }
    CAIRN_TRY_GOTO(rc, inject(fe, CAIRN__FAULT_CREATE, "open", path), out);
    int existed = in->ops->exists(in, path);
    rc = append ? in->ops->open_append(in, path, &inner)
                : in->ops->open_write(in, path, &inner);
    if (rc != 0)
        goto out;
    if (append && (rc = cairn__file_size(inner, &size)) != 0)
        goto out;
    fpath *p = fpath_get(fe, path, 1);
    if (p == NULL) {
        rc = CAIRN_NOMEM;
        goto out;
    }
    if (!existed)
        mark_pending(p, 0, &none);
    if (p->node == NULL && (p->node = node_new(size)) == NULL) {
        fpath_prune(fe, 0);
        rc = cairn__err(CAIRN_NOMEM, "open %s: out of memory", path);
        goto out;
    }
    /* open_write truncates: nothing of the file is durable any more. An
     * append keeps what was durable, but no more than the file now holds. */
    if (p->node->synced > size)
        p->node->synced = size;
    if (p->node->flushed > size || !append)
        p->node->flushed = size;
    rc = wrap(fe, path, inner, p->node, out);
    inner = NULL;
out:
    (void)cairn__file_close(inner);
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

static int env_open_write(cairn_env *env, const char *path, cairn__file **out)
{
    return open_writable(env, path, 0, out);
}

static int env_open_append(cairn_env *env, const char *path, cairn__file **out)
{
    return open_writable(env, path, 1, out);
}

static int env_exists(cairn_env *env, const char *path)
{
    fault_env *fe = (fault_env *)env;
    return fe->inner->ops->exists(fe->inner, path);
}

static int env_list(cairn_env *env, const char *dir, cairn__strlist *out)
{
    fault_env *fe = (fault_env *)env;
    return fe->inner->ops->list(fe->inner, dir, out);
}

static int env_file_size(cairn_env *env, const char *path, uint64_t *size)
{
    fault_env *fe = (fault_env *)env;
    return fe->inner->ops->file_size(fe->inner, path, size);
}

/* remove (dir = 0) and rmdir (dir = 1). */
static int remove_any(cairn_env *env, const char *path, int dir)
{
    fault_env *fe = (fault_env *)env;
    const char *op = dir ? "rmdir" : "remove";
    int rc;
    cairn__mutex_lock(&fe->mu);
    if (fe->dead)
        rc = dead_err(op, path);
    else if ((rc = inject(fe, CAIRN__FAULT_REMOVE, op, path)) == 0)
        rc = dir ? fe->inner->ops->rmdir(fe->inner, path)
                 : fe->inner->ops->remove(fe->inner, path);
    fpath *p = rc == 0 && !dir ? fpath_get(fe, path, 0) : NULL;
    if (p != NULL) {
        /* Removes are durable at once (env_fault.h); a pending name keeps
         * its earlier durable state. */
        node_unref(p->node);
        p->node = NULL;
        fpath_prune(fe, 0);
    }
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

static int env_remove(cairn_env *env, const char *path)
{
    return remove_any(env, path, 0);
}

static int env_rmdir(cairn_env *env, const char *path)
{
    return remove_any(env, path, 1);
}

static int env_mkdir(cairn_env *env, const char *path)
{
    fault_env *fe = (fault_env *)env;
    int rc;
    cairn__mutex_lock(&fe->mu);
    rc = fe->dead ? dead_err("mkdir", path)
                  : fe->inner->ops->mkdir(fe->inner, path);
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

/* Copies what path would hold after a power cut now, if its name is not
 * pending: the whole file, or up to its synced length if we wrote it.
 * *exists = 0 if there is no such file. Caller holds fe->mu. */
static int snapshot(fault_env *fe, const char *path, int *exists,
                    cairn__buf *out)
{
    fpath *p = fpath_get(fe, path, 0);
    char *data;
    size_t len;
    *exists = 0;
    if (p != NULL && p->pending)
        return 0; /* its durable state is already remembered */
    if (!fe->inner->ops->exists(fe->inner, path))
        return 0;
    CAIRN_TRY(cairn__env_read_file(fe->inner, path, SIZE_MAX, &data, &len));
    if (p != NULL && p->node != NULL && p->node->synced < len)
        len = (size_t)p->node->synced;
    cairn__buf_clear(out);
    int rc = cairn__buf_append(out, data, len);
    free(data);
    *exists = rc == 0;
    return rc;
}

static int env_rename(cairn_env *env, const char *from, const char *to)
{
    fault_env *fe = (fault_env *)env;
    cairn__buf fsnap = CAIRN__BUF_INIT, tsnap = CAIRN__BUF_INIT;
    int fexists, texists, rc;
    cairn__mutex_lock(&fe->mu);
    if (fe->dead) {
        rc = dead_err("rename", from);
        goto out;
    }
    CAIRN_TRY_GOTO(rc, inject(fe, CAIRN__FAULT_RENAME, "rename", from), out);
    if (norm_len(from) == norm_len(to) && memcmp(from, to, norm_len(to)) == 0) {
        rc = fe->inner->ops->rename(fe->inner, from, to);
        goto out;
    }
    CAIRN_TRY_GOTO(rc, snapshot(fe, from, &fexists, &fsnap), out);
    CAIRN_TRY_GOTO(rc, snapshot(fe, to, &texists, &tsnap), out);
    fpath *fp = fpath_get(fe, from, 1);
    fpath *tp = fp ? fpath_get(fe, to, 1) : NULL;
    if (tp == NULL) {
        fpath_prune(fe, 0);
        rc = CAIRN_NOMEM;
        goto out;
    }
    /* A source we never wrote is durable as it is: track it from here. */
    fnode *moving = fp->node ? fp->node : node_new(fsnap.len);
    if (moving == NULL) {
        fpath_prune(fe, 0);
        rc = cairn__err(CAIRN_NOMEM, "rename %s: out of memory", from);
        goto out;
    }
    rc = fe->inner->ops->rename(fe->inner, from, to);
    if (rc != 0) {
        if (moving != fp->node)
            node_unref(moving);
        fpath_prune(fe, 0);
        goto out;
    }
    mark_pending(fp, fexists, &fsnap);
    mark_pending(tp, texists, &tsnap);
    node_unref(tp->node);
    tp->node = moving;
    fp->node = NULL;
out:
    cairn__buf_fini(&fsnap);
    cairn__buf_fini(&tsnap);
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

static int env_sync_dir(cairn_env *env, const char *dir)
{
    fault_env *fe = (fault_env *)env;
    size_t n = norm_len(dir);
    int rc;
    cairn__mutex_lock(&fe->mu);
    if (fe->dead)
        rc = dead_err("sync_dir", dir);
    else if ((rc = inject(fe, CAIRN__FAULT_SYNC, "sync_dir", dir)) == 0)
        rc = fe->inner->ops->sync_dir(fe->inner, dir);
    for (fpath *p = fe->paths; rc == 0 && p != NULL; p = p->next) {
        if (p->dirlen == n && memcmp(p->path, dir, n) == 0) {
            p->pending = 0;
            cairn__buf_fini(&p->old);
        }
    }
    if (rc == 0)
        fpath_prune(fe, 0);
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

static int env_lock(cairn_env *env, const char *path, cairn__filelock **out)
{
    fault_env *fe = (fault_env *)env;
    int rc;
    *out = NULL;
    cairn__mutex_lock(&fe->mu);
    rc = fe->dead ? dead_err("lock", path)
                  : fe->inner->ops->lock(fe->inner, path, out);
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

/* Unlock works even when dead, so a crashed database can release its lock
 * (a dead process's lock vanishes too). */
static int env_unlock(cairn_env *env, cairn__filelock *lock)
{
    fault_env *fe = (fault_env *)env;
    return fe->inner->ops->unlock(fe->inner, lock);
}

static uint64_t env_now_micros(cairn_env *env)
{
    cairn_env *in = ((fault_env *)env)->inner;
    return in->ops->now_micros(in);
}

static uint64_t env_now_nanos(cairn_env *env)
{
    cairn_env *in = ((fault_env *)env)->inner;
    return in->ops->now_nanos(in);
}

static void env_sleep_micros(cairn_env *env, uint64_t us)
{
    cairn_env *in = ((fault_env *)env)->inner;
    in->ops->sleep_micros(in, us);
}

static int env_thread_start(cairn_env *env, void *(*fn)(void *), void *arg,
                            cairn__thread **out)
{
    cairn_env *in = ((fault_env *)env)->inner;
    return in->ops->thread_start(in, fn, arg, out);
}

static int env_thread_join(cairn_env *env, cairn__thread *t)
{
    cairn_env *in = ((fault_env *)env)->inner;
    return in->ops->thread_join(in, t);
}

static void env_destroy(cairn_env *env)
{
    fault_env *fe = (fault_env *)env;
    fpath_prune(fe, 1);
    cairn__mutex_fini(&fe->mu);
    free(fe);
}

static const cairn__env_ops fault_env_ops = {
    .name = "fault",
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
    .destroy = env_destroy,
};

/* ---- Control (env_fault.h) --------------------------------------------- */

int cairn__env_fault_create(cairn_env *base, cairn_env **out)
{
    *out = NULL;
    if (base == NULL)
        return cairn__err(CAIRN_INVALID, "fault env: no base env");
    fault_env *fe = calloc(1, sizeof *fe);
    if (fe == NULL)
        return cairn__err(CAIRN_NOMEM, "fault env: out of memory");
    int rc = cairn__mutex_init(&fe->mu);
    if (rc != 0) {
        free(fe);
        return rc;
    }
    fe->base.ops = &fault_env_ops;
    fe->inner = base;
    *out = &fe->base;
    return 0;
}

int cairn__env_fault_arm(cairn_env *env, enum cairn__fault_kind kind,
                         uint64_t nth, int code, int persistent)
{
    fault_env *fe = (fault_env *)env;
    if ((unsigned)kind >= CAIRN__FAULT_NKINDS || nth == 0 ||
        (code != CAIRN_IO && code != CAIRN_NOSPC))
        return cairn__err(CAIRN_INVALID, "fault env: bad arm(%d, %llu, %d)",
                          (int)kind, (unsigned long long)nth, code);
    cairn__mutex_lock(&fe->mu);
    fe->arm[kind].armed = 1;
    fe->arm[kind].persistent = persistent != 0;
    fe->arm[kind].code = code;
    fe->arm[kind].nth = nth;
    fe->arm[kind].seen = 0;
    cairn__mutex_unlock(&fe->mu);
    return 0;
}

void cairn__env_fault_disarm(cairn_env *env, enum cairn__fault_kind kind)
{
    fault_env *fe = (fault_env *)env;
    if ((unsigned)kind >= CAIRN__FAULT_NKINDS)
        return;
    cairn__mutex_lock(&fe->mu);
    fe->arm[kind].armed = 0;
    cairn__mutex_unlock(&fe->mu);
}

void cairn__env_fault_disarm_all(cairn_env *env)
{
    for (int k = 0; k < CAIRN__FAULT_NKINDS; k++)
        cairn__env_fault_disarm(env, (enum cairn__fault_kind)k);
}

void cairn__env_fault_set_partial(cairn_env *env, size_t partial)
{
    fault_env *fe = (fault_env *)env;
    cairn__mutex_lock(&fe->mu);
    fe->partial = partial;
    cairn__mutex_unlock(&fe->mu);
}

uint64_t cairn__env_fault_count(cairn_env *env, enum cairn__fault_kind kind)
{
    fault_env *fe = (fault_env *)env;
    if ((unsigned)kind >= CAIRN__FAULT_NKINDS)
        return 0;
    cairn__mutex_lock(&fe->mu);
    uint64_t n = fe->count[kind];
    cairn__mutex_unlock(&fe->mu);
    return n;
}

uint64_t cairn__env_fault_injected(cairn_env *env)
{
    fault_env *fe = (fault_env *)env;
    cairn__mutex_lock(&fe->mu);
    uint64_t n = fe->injected;
    cairn__mutex_unlock(&fe->mu);
    return n;
}

int cairn__env_fault_is_dead(cairn_env *env)
{
    fault_env *fe = (fault_env *)env;
    cairn__mutex_lock(&fe->mu);
    int dead = fe->dead;
    cairn__mutex_unlock(&fe->mu);
    return dead;
}

/* xorshift64*: the power cut's only source of randomness, so a seed
 * replays a cut exactly. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* Cuts one written file back as the modes say (env_fault.h, point 3). */
static int cut_file(fault_env *fe, const char *path, const fnode *node,
                    unsigned modes, uint64_t *rng)
{
    cairn_env *in = fe->inner;
    char *data;
    size_t len;
    if (!in->ops->exists(in, path))
        return 0;
    CAIRN_TRY(cairn__env_read_file(in, path, SIZE_MAX, &data, &len));
    size_t keep = node->flushed < len ? (size_t)node->flushed : len;
    size_t start = node->synced < keep ? (size_t)node->synced : keep;
    size_t tail = keep - start;
    if (modes & CAIRN__FAULT_KEEP_RANDOM_PREFIX)
        tail = (size_t)(rng_next(rng) % ((uint64_t)tail + 1));
    else if (modes & CAIRN__FAULT_DROP_UNSYNCED)
        tail = 0;
    int garble = (modes & CAIRN__FAULT_GARBLE_UNSYNCED) && tail > 0;
    if (garble) {
        int zeros = rng_next(rng) & 1;
        for (size_t i = start; i < start + tail; i++)
            data[i] = zeros ? 0 : (char)(rng_next(rng) >> 56);
    }
    int rc = 0;
    if (garble || start + tail != len)
        rc = cairn__env_write_file(in, path, data, start + tail, 0);
    free(data);
    return rc;
}

int cairn__env_fault_power_cut(cairn_env *env, unsigned modes, uint64_t seed)
{
    fault_env *fe = (fault_env *)env;
    cairn_env *in = fe->inner;
    uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    int rc = 0, r;

    cairn__mutex_lock(&fe->mu);
    fe->dead = 1;
    /* Handles die first, so that whatever their close still writes (the
     * base's user-space buffers) lands before the files are cut back. */
    for (ffile *ff = fe->files; ff != NULL; ff = ff->next) {
        (void)cairn__file_close(ff->inner);
        ff->inner = NULL;
    }
    for (fpath *p = fe->paths; p != NULL; p = p->next) {
        if (p->pending && (modes & CAIRN__FAULT_DELETE_UNSYNCED_ENTRIES)) {
            if (p->old_exists)
                r = cairn__env_write_file(in, p->path, p->old.data, p->old.len,
                                          0);
            else if (in->ops->exists(in, p->path))
                r = in->ops->remove(in, p->path);
            else
                r = 0;
        } else {
            r = p->node ? cut_file(fe, p->path, p->node, modes, &rng) : 0;
        }
        if (rc == 0)
            rc = r;
    }
    /* The files are now what a reboot would find; nothing is pending. */
    fpath_prune(fe, 1);
    cairn__mutex_unlock(&fe->mu);
    return rc;
}

void cairn__env_fault_reset(cairn_env *env)
{
    fault_env *fe = (fault_env *)env;
    cairn__mutex_lock(&fe->mu);
    fe->dead = 0;
    /* Whatever is in the base env now is durable. Handles still open for
     * writing (only possible without a cut) count their file as synced up
     * to here and stay tracked; every other name is forgotten. */
    for (ffile *ff = fe->files; ff != NULL; ff = ff->next) {
        uint64_t size;
        if (ff->inner && ff->node && cairn__file_size(ff->inner, &size) == 0)
            ff->node->synced = ff->node->flushed = size;
    }
    for (fpath *p = fe->paths; p != NULL; p = p->next) {
        p->pending = 0;
        cairn__buf_fini(&p->old);
        if (p->node != NULL && p->node->refs == 1) {
            node_unref(p->node);
            p->node = NULL;
        }
    }
    fpath_prune(fe, 0);
    cairn__mutex_unlock(&fe->mu);
}
