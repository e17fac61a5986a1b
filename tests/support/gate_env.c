/*
 * gate_env.c: see gate_env.h. Test-only code.
 */
#include "gate_env.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

typedef struct gate_file {
    cairn__file base;
    gate_env *g;
    cairn__file *inner;
} gate_file;

/* Passes gate k; returns the call's ticket number. */
static uint64_t gate_pass(gate_env *g, int k)
{
    pthread_mutex_lock(&g->mu);
    uint64_t me = g->tickets[k]++;
    g->blocked[k]++;
    pthread_cond_broadcast(&g->cv);
    while (me >= g->limit[k])
        pthread_cond_wait(&g->cv, &g->mu);
    g->blocked[k]--;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return me;
}

/* Makes the next call at gate k and every later one block. */
void gate_close(gate_env *g, int k)
{
    pthread_mutex_lock(&g->mu);
    g->limit[k] = g->tickets[k];
    pthread_mutex_unlock(&g->mu);
}

/* Lets n more calls through gate k. */
void gate_let(gate_env *g, int k, uint64_t n)
{
    pthread_mutex_lock(&g->mu);
    g->limit[k] += n;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void gate_open(gate_env *g, int k)
{
    pthread_mutex_lock(&g->mu);
    g->limit[k] = UINT64_MAX;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

uint64_t gate_tickets(gate_env *g, int k)
{
    pthread_mutex_lock(&g->mu);
    uint64_t n = g->tickets[k];
    pthread_mutex_unlock(&g->mu);
    return n;
}

int gate_blocked(gate_env *g, int k)
{
    pthread_mutex_lock(&g->mu);
    int n = g->blocked[k];
    pthread_mutex_unlock(&g->mu);
    return n;
}

/* Waits until n threads wait at gate k. */
void gate_wait_blocked(gate_env *g, int k, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->blocked[k] < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

#define GF(f) (((gate_file *)(f))->inner)

static int f_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                   size_t *got)
{
    return cairn__file_pread(GF(f), off, n, buf, got);
}
static int f_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    return cairn__file_read(GF(f), n, buf, got);
}
static int f_skip(cairn__file *f, uint64_t n)
{
    return cairn__file_skip(GF(f), n);
}
static int f_append(cairn__file *f, const char *data, size_t n)
{
    return cairn__file_append(GF(f), data, n);
}
static int f_flush(cairn__file *f)
{
    return cairn__file_flush(GF(f));
}
static int f_sync(cairn__file *f)
{
    return cairn__file_sync(GF(f));
}
static int f_size(cairn__file *f, uint64_t *size)
{
    return cairn__file_size(GF(f), size);
}
static int f_close(cairn__file *f)
{
    int rc = cairn__file_close(GF(f));
    free(f);
    return rc;
}
void gate_fail(gate_env *g, int k, uint64_t n)
{
    pthread_mutex_lock(&g->mu);
    g->fail_at[k] = n;
    pthread_mutex_unlock(&g->mu);
}

/* Passes gate k; 1 if this call is the one to fail. */
static int gate_pass_fails(gate_env *g, int k)
{
    uint64_t me = gate_pass(g, k);
    pthread_mutex_lock(&g->mu);
    int fail = me == g->fail_at[k];
    pthread_mutex_unlock(&g->mu);
    return fail;
}

static int log_flush(cairn__file *f)
{
    if (gate_pass_fails(((gate_file *)f)->g, GATE_FLUSH))
        return cairn__err(CAIRN_IO, "gate env: injected flush failure");
    return cairn__file_flush(GF(f));
}
static int log_sync(cairn__file *f)
{
    gate_env *g = ((gate_file *)f)->g;
    if (gate_pass_fails(g, GATE_LOGSYNC))
        return cairn__err(CAIRN_IO, "gate env: injected log sync failure");
    atomic_fetch_add(&g->syncs, 1);
    return cairn__file_sync(GF(f));
}
/* Passed on to an inner env that offers it (a fault env tracks what is
 * synced). The memory env keeps no user-space buffer, so there everything
 * flushed is already as durable as it gets: nothing to do but wait at the
 * gate and count. */
static int log_sync_flushed(cairn__file *f)
{
    gate_env *g = ((gate_file *)f)->g;
    if (gate_pass_fails(g, GATE_SYNC))
        return cairn__err(CAIRN_IO, "gate env: injected sync failure");
    atomic_fetch_add(&g->syncs, 1);
    cairn__file *in = GF(f);
    return in->ops->sync_flushed != NULL ? in->ops->sync_flushed(in) : 0;
}
static int table_sync(cairn__file *f)
{
    gate_pass(((gate_file *)f)->g, GATE_TABLE);
    return cairn__file_sync(GF(f));
}

static void f_seal(cairn__file *f)
{
    cairn__file_seal(GF(f));
}

static const cairn__file_ops plain_ops = {
    f_pread, f_read,  f_skip, f_append, f_flush, f_sync,
    f_size,  f_close, NULL,   NULL,     f_seal,
};
/* Written table files: their sync waits at GATE_TABLE. */
static const cairn__file_ops table_ops = {
    f_pread, f_read,  f_skip, f_append, f_flush, table_sync,
    f_size,  f_close, NULL,   NULL,     f_seal,
};
/* Log files without sync_flushed: the leader syncs inside its group. */
static const cairn__file_ops log_ops_nopipe = {
    f_pread, f_read,  f_skip, f_append, log_flush, log_sync,
    f_size,  f_close, NULL,   NULL,     f_seal,
};
/* Log files with sync_flushed: the sync is pipelined (wait_durable). */
static const cairn__file_ops log_ops_pipe = {
    f_pread, f_read,  f_skip,           f_append, log_flush, log_sync,
    f_size,  f_close, log_sync_flushed, NULL,     f_seal,
};

int gate_is_log(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".log") == 0;
}

static int wrap(gate_env *g, int rc, cairn__file *inner, const char *path,
                int written, cairn__file **out)
{
    *out = NULL;
    if (rc != 0)
        return rc;
    gate_file *gf = malloc(sizeof *gf);
    if (gf == NULL) {
        (void)cairn__file_close(inner);
        return CAIRN_NOMEM;
    }
    size_t n = strlen(path);
    int table = n > 4 && strcmp(path + n - 4, ".ldb") == 0;
    gf->base.ops = !written            ? &plain_ops
                   : gate_is_log(path) ? g->log_ops
                   : table             ? &table_ops
                                       : &plain_ops;
    gf->g = g;
    gf->inner = inner;
    *out = &gf->base;
    return 0;
}

#define GE(env) ((gate_env *)(env))
#define IN(env) (GE(env)->inner)

static int e_open_read(cairn_env *env, const char *path, cairn__file **out)
{
    cairn__file *f = NULL;
    int rc = IN(env)->ops->open_read(IN(env), path, &f);
    return wrap(GE(env), rc, f, path, 0, out);
}
static int e_open_write(cairn_env *env, const char *path, cairn__file **out)
{
    cairn__file *f = NULL;
    int rc = IN(env)->ops->open_write(IN(env), path, &f);
    return wrap(GE(env), rc, f, path, 1, out);
}
static int e_open_append(cairn_env *env, const char *path, cairn__file **out)
{
    cairn__file *f = NULL;
    int rc = IN(env)->ops->open_append(IN(env), path, &f);
    return wrap(GE(env), rc, f, path, 1, out);
}
static int e_exists(cairn_env *env, const char *path)
{
    return IN(env)->ops->exists(IN(env), path);
}
static int e_list(cairn_env *env, const char *dir, cairn__strlist *out)
{
    return IN(env)->ops->list(IN(env), dir, out);
}
static int e_remove(cairn_env *env, const char *path)
{
    return IN(env)->ops->remove(IN(env), path);
}
static int e_mkdir(cairn_env *env, const char *path)
{
    return IN(env)->ops->mkdir(IN(env), path);
}
static int e_rmdir(cairn_env *env, const char *path)
{
    return IN(env)->ops->rmdir(IN(env), path);
}
static int e_file_size(cairn_env *env, const char *path, uint64_t *size)
{
    return IN(env)->ops->file_size(IN(env), path, size);
}
static int e_rename(cairn_env *env, const char *from, const char *to)
{
    return IN(env)->ops->rename(IN(env), from, to);
}
static int e_sync_dir(cairn_env *env, const char *dir)
{
    return IN(env)->ops->sync_dir(IN(env), dir);
}
static int e_lock(cairn_env *env, const char *path, cairn__filelock **out)
{
    return IN(env)->ops->lock(IN(env), path, out);
}
static int e_unlock(cairn_env *env, cairn__filelock *lock)
{
    return IN(env)->ops->unlock(IN(env), lock);
}
static uint64_t e_now_micros(cairn_env *env)
{
    return IN(env)->ops->now_micros(IN(env));
}
static uint64_t e_now_nanos(cairn_env *env)
{
    return IN(env)->ops->now_nanos(IN(env));
}
static void e_sleep_micros(cairn_env *env, uint64_t us)
{
    IN(env)->ops->sleep_micros(IN(env), us);
}
static int e_thread_start(cairn_env *env, void *(*fn)(void *), void *arg,
                          cairn__thread **out)
{
    return IN(env)->ops->thread_start(IN(env), fn, arg, out);
}
static int e_thread_join(cairn_env *env, cairn__thread *t)
{
    return IN(env)->ops->thread_join(IN(env), t);
}

static const cairn__env_ops gate_env_ops = {
    .name = "gate",
    .open_read = e_open_read,
    .open_write = e_open_write,
    .open_append = e_open_append,
    .exists = e_exists,
    .list = e_list,
    .remove = e_remove,
    .mkdir = e_mkdir,
    .rmdir = e_rmdir,
    .file_size = e_file_size,
    .rename = e_rename,
    .sync_dir = e_sync_dir,
    .lock = e_lock,
    .unlock = e_unlock,
    .now_micros = e_now_micros,
    .now_nanos = e_now_nanos,
    .sleep_micros = e_sleep_micros,
    .thread_start = e_thread_start,
    .thread_join = e_thread_join,
    .destroy = NULL, /* freed by gate_env_destroy */
};

gate_env *gate_env_create(int pipelined)
{
    cairn_env *mem = cairn_env_mem_create();
    assert_non_null(mem);
    gate_env *g = gate_env_over(mem, pipelined);
    g->owns_inner = 1;
    return g;
}

gate_env *gate_env_over(cairn_env *inner, int pipelined)
{
    gate_env *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->env.ops = &gate_env_ops;
    g->inner = inner;
    g->log_ops = pipelined ? &log_ops_pipe : &log_ops_nopipe;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    for (int k = 0; k < GATES; k++)
        g->limit[k] = g->fail_at[k] = UINT64_MAX;
    return g;
}

void gate_env_destroy(gate_env *g)
{
    if (g->owns_inner)
        cairn_env_destroy(g->inner);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

void gate_wait_tickets(gate_env *g, int k, uint64_t n)
{
    pthread_mutex_lock(&g->mu);
    while (g->tickets[k] < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}
