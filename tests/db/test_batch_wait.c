/*
 * test_batch_wait.c: the batch-wait commit policy (CAIRN_COMMIT_BATCH_WAIT,
 * src/db/write.c "Batch-wait"), made deterministic.
 *
 * The policy holds a group open until commit_wait_bytes have gathered, or
 * commit_wait_us have passed, or every writer active in the database is
 * already waiting, so more writers share one sync. It runs in one of two
 * places, and these tests reach both:
 *   - the syncer (gather_for_sync): when the log file offers sync_flushed,
 *     a sync group is synced after leadership has passed on, and the
 *     thread that runs the sync holds it while bytes appended past the
 *     durable point gather;
 *   - the leader (batch_wait): before building its group; for sync groups
 *     only on files without sync_flushed, and for non-sync groups when
 *     commit_wait_nonsync is set.
 *
 * The database runs on a gate env over a memory env. Its gates make log
 * flushes (one per record) and log sync_flushed calls block until the test
 * lets them through, and an env built without sync_flushed selects the
 * leader path for sync groups. With the gates, "a writer active but not
 * yet waiting" is a thread stopped at a gate, so each case below is
 * reached by construction, not by timing. The test reads the queue length,
 * the syncer's gathering flag and the leader's holding flag from the
 * database's internals, under their locks, to know when a state has been
 * reached.
 *
 * Times: the assertions are about the policy (a hold ends at its byte
 * limit long before its time limit; a hold with nothing else to end it
 * lasts its time limit), with wide margins, never about speed.
 *
 * The leader path for sync groups (a file without sync_flushed) cannot be
 * driven into a hold deterministically: a writer is active but not queued
 * there only between its leader unlinking it and its return, which no gate
 * can stop. It is covered for the lone writer (it must not wait), and the
 * leader's hold itself through the non-sync path (commit_wait_nonsync),
 * where the other active writer is a syncer stopped at the sync gate.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "db/db_impl.h"
#include "env/env.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------- */
/* The gate env                                                            */

typedef struct gate_env {
    cairn_env env;    /* first: what the database is given */
    cairn_env *inner; /* the memory env, owned */
    const cairn__file_ops *log_ops;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on every change below */
    /* Locked: mu. Two gates: FLUSH for log flushes (one per record),
     * SYNC for sync_flushed of a log. Calls are numbered from 0 in the
     * order they reach a gate; number n waits while n >= limit. */
    uint64_t tickets[2], limit[2];
    int blocked[2];   /* Locked: mu; threads waiting at each gate */
    atomic_int syncs; /* Atomic: sync and sync_flushed calls on logs */
} gate_env;

typedef struct gate_file {
    cairn__file base;
    gate_env *g;
    cairn__file *inner;
} gate_file;

#define FLUSH 0
#define SYNC  1

static void gate_pass(gate_env *g, int k)
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
}

/* Makes the next call at gate k and every later one block. */
static void gate_close(gate_env *g, int k)
{
    pthread_mutex_lock(&g->mu);
    g->limit[k] = g->tickets[k];
    pthread_mutex_unlock(&g->mu);
}

/* Lets n more calls through gate k. */
static void gate_let(gate_env *g, int k, uint64_t n)
{
    pthread_mutex_lock(&g->mu);
    g->limit[k] += n;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate_env *g, int k)
{
    pthread_mutex_lock(&g->mu);
    g->limit[k] = UINT64_MAX;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until n threads wait at gate k. */
static void gate_wait_blocked(gate_env *g, int k, int n)
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
static int log_flush(cairn__file *f)
{
    gate_pass(((gate_file *)f)->g, FLUSH);
    return cairn__file_flush(GF(f));
}
static int log_sync(cairn__file *f)
{
    atomic_fetch_add(&((gate_file *)f)->g->syncs, 1);
    return cairn__file_sync(GF(f));
}
/* The memory env keeps no user-space buffer, so everything flushed is
 * already as durable as it gets: nothing to do but wait at the gate and
 * count. */
static int log_sync_flushed(cairn__file *f)
{
    gate_pass(((gate_file *)f)->g, SYNC);
    atomic_fetch_add(&((gate_file *)f)->g->syncs, 1);
    return 0;
}

static const cairn__file_ops plain_ops = {
    f_pread, f_read, f_skip, f_append, f_flush, f_sync, f_size, f_close, NULL,
};
/* Log files without sync_flushed: the leader syncs inside its group. */
static const cairn__file_ops log_ops_nopipe = {
    f_pread,  f_read, f_skip,  f_append, log_flush,
    log_sync, f_size, f_close, NULL,
};
/* Log files with sync_flushed: the sync is pipelined (wait_durable). */
static const cairn__file_ops log_ops_pipe = {
    f_pread,  f_read, f_skip,  f_append,         log_flush,
    log_sync, f_size, f_close, log_sync_flushed,
};

static int is_log(const char *path)
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
    gf->base.ops = written && is_log(path) ? g->log_ops : &plain_ops;
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

static gate_env *gate_env_create(int pipelined)
{
    gate_env *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->env.ops = &gate_env_ops;
    g->inner = cairn_env_mem_create();
    assert_non_null(g->inner);
    g->log_ops = pipelined ? &log_ops_pipe : &log_ops_nopipe;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->limit[FLUSH] = g->limit[SYNC] = UINT64_MAX;
    return g;
}

static void gate_env_destroy(gate_env *g)
{
    cairn_env_destroy(g->inner);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

/* ---------------------------------------------------------------------- */
/* Databases and writers                                                  */

#define DBNAME "/db"

static cairn_db *open_db(gate_env *g, cairn_options *opt)
{
    assert_int_equal(cairn_options_set_create_if_missing(opt, 1), 0);
    assert_int_equal(cairn_options_set_info_log(opt, 0), 0);
    assert_int_equal(cairn_options_set_env(opt, &g->env), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(opt, DBNAME, &db);
    if (rc != 0)
        fail_msg("open: %s", cairn_errmsg());
    return db;
}

static size_t queued(cairn_db *db)
{
    cairn__mutex_lock(&db->wq_mu);
    size_t n = db->wq_count;
    cairn__mutex_unlock(&db->wq_mu);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until n writers are linked into the queue (leader included). */
static void wait_queued(cairn_db *db, size_t n)
{
    while (queued(db) < n)
        sleep_ms(1);
}

typedef struct job {
    cairn_db *db;
    cairn_batch *b;
    int sync, no_slowdown;
    pthread_t th;
    int rc;
    atomic_int done; /* Atomic: rc and msg are published with it */
    char msg[256];
} job;

static void *job_main(void *p)
{
    job *j = p;
    cairn_writeoptions *wo = cairn_writeoptions_create();
    if (wo == NULL) {
        j->rc = CAIRN_NOMEM;
    } else {
        (void)cairn_writeoptions_set_sync(wo, j->sync);
        (void)cairn_writeoptions_set_no_slowdown(wo, j->no_slowdown);
        j->rc = cairn_db_write(j->db, wo, j->b);
        snprintf(j->msg, sizeof j->msg, "%s", cairn_errmsg());
        cairn_writeoptions_destroy(wo);
    }
    atomic_store_explicit(&j->done, 1, memory_order_release);
    return NULL;
}

/* A batch of puts "key=value" for each key in the comma-separated list,
 * with values of vlen bytes. */
static cairn_batch *make_batch(const char *keys, size_t vlen)
{
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    char *val = malloc(vlen + 1);
    assert_non_null(val);
    memset(val, 'v', vlen);
    const char *p = keys;
    while (*p) {
        size_t n = strcspn(p, ",");
        assert_int_equal(cairn_batch_put(b, p, n, val, vlen), 0);
        p += n + (p[n] == ',');
    }
    free(val);
    return b;
}

static void start_job(job *j, cairn_db *db, cairn_batch *b, int sync,
                      int no_slowdown)
{
    memset(j, 0, sizeof *j);
    j->db = db;
    j->b = b;
    j->sync = sync;
    j->no_slowdown = no_slowdown;
    atomic_init(&j->done, 0);
    assert_int_equal(pthread_create(&j->th, NULL, job_main, j), 0);
}

static int join_job(job *j)
{
    pthread_join(j->th, NULL);
    return j->rc;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

static cairn_db *open_bw(gate_env *g, cairn_options *opt, uint64_t wait_us,
                         size_t wait_bytes, int nonsync)
{
    assert_int_equal(
        cairn_options_set_commit_policy(opt, CAIRN_COMMIT_BATCH_WAIT), 0);
    assert_int_equal(
        cairn_options_set_commit_wait(opt, wait_us, wait_bytes, nonsync), 0);
    return open_db(g, opt);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "batch-wait holds N (S s)" from cairn.write-stats. */
static uint64_t holds(cairn_db *db, double *seconds)
{
    char *s = cairn_db_property(db, "cairn.write-stats");
    assert_non_null(s);
    const char *p = strstr(s, "batch-wait holds");
    if (p == NULL)
        fail_msg("no batch-wait line in write-stats:\n%s", s);
    unsigned long long n = 0;
    double secs = 0;
    assert_int_equal(sscanf(p, "batch-wait holds %llu (%lf s)", &n, &secs), 2);
    cairn_free(s);
    if (seconds != NULL)
        *seconds = secs;
    return n;
}

/* Waits until the syncer holds its sync open (gather_for_sync). */
static void wait_sync_gathering(cairn_db *db)
{
    for (;;) {
        cairn__mutex_lock(&db->sync_mu);
        int on = db->sync_gathering;
        cairn__mutex_unlock(&db->sync_mu);
        if (on)
            return;
        sleep_ms(1);
    }
}

/* Waits until a leader holds its group open (batch_wait). */
static void wait_leader_holding(cairn_db *db)
{
    for (;;) {
        cairn__mutex_lock(&db->wq_mu);
        int on = db->bw_waiting;
        cairn__mutex_unlock(&db->wq_mu);
        if (on)
            return;
        sleep_ms(1);
    }
}

/* Waits until n calls have reached gate k (passed or blocked). */
static void gate_wait_tickets(gate_env *g, int k, uint64_t n)
{
    pthread_mutex_lock(&g->mu);
    while (g->tickets[k] < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void teardown(gate_env *g, cairn_db *db, cairn_options *opt,
                     cairn_batch **b, int n)
{
    assert_int_equal(cairn_db_close(db), 0);
    for (int i = 0; i < n; i++)
        cairn_batch_destroy(b[i]);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
}

/* ---------------------------------------------------------------------- */
/* A lone writer never waits                                               */

static void lone_writer(int pipelined)
{
    gate_env *g = gate_env_create(pipelined);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_bw(g, opt, 200000, 64 * 1024, 0);
    cairn_writeoptions *wo = cairn_writeoptions_create();
    assert_non_null(wo);
    assert_int_equal(cairn_writeoptions_set_sync(wo, 1), 0);
    int syncs0 = atomic_load(&g->syncs);
    uint64_t t0 = now_ns();
    for (int i = 0; i < 20; i++) {
        char key[16];
        int n = snprintf(key, sizeof key, "k%02d", i);
        assert_int_equal(cairn_db_put(db, wo, key, (size_t)n, "v", 1), 0);
    }
    uint64_t elapsed = now_ns() - t0;
    /* 20 holds of 200 ms would take 4 s; none may happen at all. */
    if (elapsed >= 2000000000u)
        fail_msg("20 lone sync writes took %.3f s", (double)elapsed / 1e9);
    assert_int_equal(holds(db, NULL), 0);
    /* And each of them was synced. */
    assert_int_equal(atomic_load(&g->syncs) - syncs0, 20);
    cairn_writeoptions_destroy(wo);
    teardown(g, db, opt, NULL, 0);
}

static void test_lone_writer(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "lone_writer");
    lone_writer(0); /* leader path: batch_wait */
    lone_writer(1); /* syncer path: gather_for_sync */
    tu_watchdog_disarm();
}

/* ---------------------------------------------------------------------- */
/* The syncer path (log with sync_flushed)                                 */

/* a, b and c are sync writes of about 1 KiB each. a blocks at the flush
 * gate with b and c queued; a is let through and becomes the syncer while
 * b leads {b, c} and blocks at the flush gate in turn. a now holds its
 * sync (1 KiB appended, and b and c are active but not yet waiting). */
static void syncer_setup(gate_env *g, cairn_db *db, job *jobs, cairn_batch **b)
{
    gate_close(g, FLUSH);
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, FLUSH, 1);
    start_job(&jobs[1], db, b[1], 1, 0);
    wait_queued(db, 2);
    start_job(&jobs[2], db, b[2], 1, 0);
    wait_queued(db, 3);
    gate_let(g, FLUSH, 1);
    gate_wait_tickets(g, FLUSH, 2);
    wait_sync_gathering(db);
}

static void test_syncer_byte_limit(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "syncer_byte_limit");
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    /* Hold up to 1 s, or until 1500 bytes are past the durable point: a's
     * record alone is under that, a's and {b, c}'s together are over. */
    cairn_db *db = open_bw(g, opt, 1000000, 1500, 0);
    cairn_batch *b[3] = {make_batch("a", 1000), make_batch("b", 1000),
                         make_batch("c", 1000)};
    job jobs[3];
    int syncs0 = atomic_load(&g->syncs);
    syncer_setup(g, db, jobs, b);
    uint64_t t0 = now_ns();
    gate_open(g, FLUSH);
    for (int i = 0; i < 3; i++)
        if (join_job(&jobs[i]) != 0)
            fail_msg("writer %d: %s", i, jobs[i].msg);
    uint64_t elapsed = now_ns() - t0;
    /* b's record brings the bytes over the limit, which ends the hold at
     * once: far sooner than the 1 s time limit. */
    if (elapsed >= 500000000u)
        fail_msg("the byte limit did not end the hold: %.3f s",
                 (double)elapsed / 1e9);
    assert_int_equal(holds(db, NULL), 1);
    /* One sync covered all three writers. */
    assert_int_equal(atomic_load(&g->syncs) - syncs0, 1);
    teardown(g, db, opt, b, 3);
    tu_watchdog_disarm();
}

static void test_syncer_time_limit(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "syncer_time_limit");
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_bw(g, opt, 100000, 1024 * 1024, 0);
    /* a (sync) blocks at the flush gate with n (non-sync) queued. a is let
     * through and becomes the syncer; n leads and stays at the flush
     * gate, active but never a sync waiter, and the byte limit is out of
     * reach: only the 100 ms time limit can end a's hold. */
    cairn_batch *b[2] = {make_batch("a", 100), make_batch("n", 100)};
    job jobs[2];
    gate_close(g, FLUSH);
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, FLUSH, 1);
    start_job(&jobs[1], db, b[1], 0, 0);
    wait_queued(db, 2);
    uint64_t t0 = now_ns();
    gate_let(g, FLUSH, 1);
    assert_int_equal(join_job(&jobs[0]), 0);
    uint64_t elapsed = now_ns() - t0;
    assert_false(atomic_load(&jobs[1].done));
    if (elapsed < 100000000u || elapsed >= 1000000000u)
        fail_msg("the hold lasted %.3f s for a 0.1 s limit",
                 (double)elapsed / 1e9);
    double secs = 0;
    assert_int_equal(holds(db, &secs), 1);
    if (secs < 0.099 || secs > 0.6)
        fail_msg("write-stats hold time %.3f s for a 0.1 s limit", secs);
    gate_open(g, FLUSH);
    assert_int_equal(join_job(&jobs[1]), 0);
    teardown(g, db, opt, b, 2);
    tu_watchdog_disarm();
}

static void test_syncer_all_waiting(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "syncer_all_waiting");
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    /* As in the byte-limit case, but the byte limit is out of reach. Once
     * b has appended {b, c} and waits for the sync, every active writer
     * waits on it (c as b's follower), nobody can add to it, and the hold
     * must end: the policy's "every active writer is waiting" rule. */
    cairn_db *db = open_bw(g, opt, 1000000, 1024 * 1024, 0);
    cairn_batch *b[3] = {make_batch("a", 100), make_batch("b", 100),
                         make_batch("c", 100)};
    job jobs[3];
    syncer_setup(g, db, jobs, b);
    uint64_t t0 = now_ns();
    gate_open(g, FLUSH);
    for (int i = 0; i < 3; i++)
        if (join_job(&jobs[i]) != 0)
            fail_msg("writer %d: %s", i, jobs[i].msg);
    uint64_t elapsed = now_ns() - t0;
    /* Clean up first, so a failure here reports only itself. */
    teardown(g, db, opt, b, 3);
    tu_watchdog_disarm();
    if (elapsed >= 500000000u)
        fail_msg("the syncer held %.3f s with every active writer waiting "
                 "for its sync (followers are not counted as waiting)",
                 (double)elapsed / 1e9);
}

/* ---------------------------------------------------------------------- */
/* The leader path (commit_wait_nonsync)                                   */

/* s (sync) appends and stops in sync_flushed at the sync gate: active,
 * not queued. Then n1 (non-sync) leads and, with s active, holds. */
static void leader_setup(gate_env *g, cairn_db *db, job *jobs, cairn_batch **b)
{
    gate_close(g, SYNC);
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, SYNC, 1);
    assert_int_equal(holds(db, NULL), 0); /* s was alone: no hold */
    start_job(&jobs[1], db, b[1], 0, 0);
    wait_leader_holding(db);
}

static void test_leader_byte_limit(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "leader_byte_limit");
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_bw(g, opt, 1000000, 1500, 1);
    cairn_batch *b[3] = {make_batch("s", 10), make_batch("n1", 1000),
                         make_batch("n2", 1000)};
    job jobs[3];
    leader_setup(g, db, jobs, b);
    /* n2's enqueue brings the queue over 1500 bytes and wakes n1. */
    uint64_t t0 = now_ns();
    start_job(&jobs[2], db, b[2], 0, 0);
    assert_int_equal(join_job(&jobs[1]), 0);
    assert_int_equal(join_job(&jobs[2]), 0);
    uint64_t elapsed = now_ns() - t0;
    if (elapsed >= 500000000u)
        fail_msg("the byte limit did not end the leader's hold: %.3f s",
                 (double)elapsed / 1e9);
    assert_int_equal(holds(db, NULL), 1);
    assert_false(atomic_load(&jobs[0].done));
    gate_open(g, SYNC);
    assert_int_equal(join_job(&jobs[0]), 0);
    teardown(g, db, opt, b, 3);
    tu_watchdog_disarm();
}

static void test_leader_time_limit(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "leader_time_limit");
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_bw(g, opt, 100000, 1024 * 1024, 1);
    cairn_batch *b[2] = {make_batch("s", 10), make_batch("n1", 10)};
    job jobs[2];
    uint64_t t0 = now_ns();
    leader_setup(g, db, jobs, b);
    /* Nothing else arrives and s stays at the sync gate: only the 100 ms
     * time limit can end n1's hold. */
    assert_int_equal(join_job(&jobs[1]), 0);
    uint64_t elapsed = now_ns() - t0;
    if (elapsed < 100000000u || elapsed >= 1000000000u)
        fail_msg("the leader's hold lasted %.3f s for a 0.1 s limit",
                 (double)elapsed / 1e9);
    double secs = 0;
    assert_int_equal(holds(db, &secs), 1);
    if (secs < 0.099 || secs > 0.6)
        fail_msg("write-stats hold time %.3f s for a 0.1 s limit", secs);
    gate_open(g, SYNC);
    assert_int_equal(join_job(&jobs[0]), 0);
    teardown(g, db, opt, b, 2);
    tu_watchdog_disarm();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lone_writer),
        cmocka_unit_test(test_syncer_byte_limit),
        cmocka_unit_test(test_syncer_time_limit),
        cmocka_unit_test(test_syncer_all_waiting),
        cmocka_unit_test(test_leader_byte_limit),
        cmocka_unit_test(test_leader_time_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
