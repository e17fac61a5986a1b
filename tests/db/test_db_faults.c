/*
 * test_db_faults.c: injected I/O failures (the fault env over the
 * in-memory env) and the sticky-error contract of the write path.
 *
 * The contract under test (write.c, db_impl.h D3):
 *  1. A write whose log append or sync fails returns the injected code
 *     (an injected ENOSPC is CAIRN_NOSPC, not a generic I/O error).
 *  2. The failure is sticky: every later write fails with the same code,
 *     even once the fault has cleared, and an empty sync write does not
 *     report success either (it would vouch for a log with a torn tail).
 *  3. Reads keep working and show every write acknowledged before the
 *     failure; the failed batch is visible entirely or not at all.
 *  4. Close, reset and reopen recover every acknowledged write; the failed
 *     batch is again all-or-nothing; the reopened handle accepts writes.
 * For open: a failed create, write, sync or rename while creating or
 * reopening a database returns the injected code with a message naming
 * the fault, and a later open (with the fault gone) succeeds and finds
 * the data intact.
 *
 * Each test walks N = 1, 2, ... over the operations of one kind until the
 * workload runs with the fault never reached, so every failure point is
 * tried once. The info log is disabled where the walk must be exact: its
 * writes are best effort and a fault landing there is rightly ignored.
 * The workload comes from the printed seed (replay: CAIRN_TEST_SEED).
 */
/* Engine headers come before cmocka.h, whose skip() macro would otherwise
 * rewrite env.h's skip member. */
#include "cairn.h"
#include "env/env_fault.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "write_stats_util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS       40
#define NOPS        40
#define MAX_ENTRIES 5
#define VAL_MAX     256
#define MAX_N       5000 /* a walk longer than this is a runaway */

static uint64_t g_seed;
static cairn_writeoptions *g_sync; /* sync = 1; made by group_setup */

/* ---------------------------------------------------------------------- */
/* The workload and its model                                             */

typedef struct op {
    int kind; /* 0 put, 1 delete, 2 batch */
    int sync;
    int n;
    int key[MAX_ENTRIES];
    int del[MAX_ENTRIES];
} op;

/* Key k holds 0 (absent) or the id i * 8 + j + 1 of entry j of op i. */
typedef struct model {
    uint32_t v[NKEYS];
} model;

static op g_ops[NOPS];

static void gen_workload(uint64_t seed)
{
    tu_rng r;
    tu_rng_init(&r, seed);
    for (int i = 0; i < NOPS; i++) {
        op *o = &g_ops[i];
        unsigned p = (unsigned)tu_rng_uniform(&r, 100);
        o->kind = p < 45 ? 0 : p < 60 ? 1 : 2;
        o->sync = tu_rng_uniform(&r, 3) == 0;
        o->n = o->kind == 2 ? 2 + (int)tu_rng_uniform(&r, MAX_ENTRIES - 1) : 1;
        for (int j = 0; j < o->n; j++) {
            o->key[j] = (int)tu_rng_uniform(&r, NKEYS);
            o->del[j] =
                o->kind == 1 || (o->kind == 2 && tu_rng_uniform(&r, 4) == 0);
        }
    }
}

static model model_after(int nops)
{
    model m = {{0}};
    for (int i = 0; i < nops && i < NOPS; i++)
        for (int j = 0; j < g_ops[i].n; j++)
            m.v[g_ops[i].key[j]] =
                g_ops[i].del[j] ? 0 : (uint32_t)(i * 8 + j + 1);
    return m;
}

static size_t make_key(char *buf, int k)
{
    return (size_t)snprintf(buf, 16, "key%03d", k);
}

static size_t make_value(char *buf, uint32_t id)
{
    int n = snprintf(buf, VAL_MAX, "v%" PRIu32 "|", id);
    size_t pad = (id * 37u) % 120u;
    for (size_t p = 0; p < pad; p++)
        buf[(size_t)n + p] = (char)('a' + (id + p) % 26);
    return (size_t)n + pad;
}

static int do_op(cairn_db *db, int i)
{
    const op *o = &g_ops[i];
    const cairn_writeoptions *wo = o->sync ? g_sync : NULL;
    char key[16], val[VAL_MAX];
    if (o->kind == 0)
        return cairn_db_put(db, wo, key, make_key(key, o->key[0]), val,
                            make_value(val, (uint32_t)(i * 8 + 1)));
    if (o->kind == 1)
        return cairn_db_delete(db, wo, key, make_key(key, o->key[0]));
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    for (int j = 0; j < o->n; j++) {
        size_t kl = make_key(key, o->key[j]);
        int rc =
            o->del[j]
                ? cairn_batch_delete(b, key, kl)
                : cairn_batch_put(b, key, kl, val,
                                  make_value(val, (uint32_t)(i * 8 + j + 1)));
        assert_int_equal(rc, 0);
    }
    int rc = cairn_db_write(db, wo, b);
    cairn_batch_destroy(b);
    return rc;
}

/* 1 if the database holds exactly m; else 0 with the first difference. */
static int db_equals(cairn_db *db, const model *m, char *why, size_t cap)
{
    char key[16], val[VAL_MAX];
    for (int k = 0; k < NKEYS; k++) {
        size_t kl = make_key(key, k);
        void *got = NULL;
        size_t len = 0;
        int rc = cairn_db_get(db, NULL, key, kl, &got, &len);
        size_t el = m->v[k] ? make_value(val, m->v[k]) : 0;
        int ok = m->v[k] == 0
                     ? rc == CAIRN_NOTFOUND
                     : rc == 0 && len == el && memcmp(got, val, el) == 0;
        if (!ok)
            snprintf(why, cap, "%s: expected %s%" PRIu32 ", got %s '%.*s'", key,
                     m->v[k] ? "value v" : "absent ", m->v[k],
                     cairn_errname(rc),
                     rc == 0 ? (int)(len < 24 ? len : 24) : 0,
                     rc == 0 ? (const char *)got : "");
        cairn_free(got);
        if (!ok)
            return 0;
    }
    return 1;
}

/* The database must show the first `acked` ops and, if failed, op
 * `acked` (the one that failed) entirely or not at all. */
static void check_prefix(cairn_db *db, int acked, int failed, const char *when,
                         const char *label)
{
    char why[300], why2[300] = "not allowed";
    model m0 = model_after(acked), m1 = model_after(acked + 1);
    if (db_equals(db, &m0, why, sizeof why) ||
        (failed && db_equals(db, &m1, why2, sizeof why2)))
        return;
    fail_msg("%s: %s: neither the %d acknowledged ops (%s) nor them plus the "
             "failed op (%s) (seed %" PRIu64 ")",
             label, when, acked, why, why2, g_seed);
}

/* ---------------------------------------------------------------------- */
/* Environments and handles                                                */

typedef struct envs {
    cairn_env *mem;
    cairn_env *fault;
} envs;

static envs envs_create(void)
{
    envs e;
    e.mem = cairn_env_mem_create();
    assert_non_null(e.mem);
    assert_int_equal(cairn__env_fault_create(e.mem, &e.fault), 0);
    return e;
}

static void envs_destroy(envs *e)
{
    cairn_env_destroy(e->fault);
    cairn_env_destroy(e->mem);
}

static int open_db(cairn_env *env, int create, int paranoid, int info_log,
                   cairn_db **db)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_paranoid_checks(o, paranoid), 0);
    assert_int_equal(cairn_options_set_info_log(o, info_log), 0);
    int rc = cairn_db_open(o, "/db", db);
    cairn_options_destroy(o);
    return rc;
}

/* Fails the test unless rc is the expected code. */
static void expect_code(const char *label, const char *what, int rc, int want)
{
    if (rc != want)
        fail_msg("%s: %s returned %s, expected %s (%s) (seed %" PRIu64 ")",
                 label, what, cairn_errname(rc), cairn_errname(want),
                 cairn_errmsg(), g_seed);
}

/* Fails the test unless key holds exactly val. */
static void must_hold(cairn_db *db, const char *key, const char *val)
{
    void *got = NULL;
    size_t len = 0;
    assert_int_equal(cairn_db_get(db, NULL, key, strlen(key), &got, &len), 0);
    assert_int_equal(len, strlen(val));
    assert_memory_equal(got, val, len);
    cairn_free(got);
}

static const char *const kind_names[] = {"write",  "sync",   "rename",
                                         "create", "remove", "read"};

/* ---------------------------------------------------------------------- */
/* Failures in the write path                                              */

/* One point of the walk. Returns 1 if the fault fired (the walk goes on). */
static int write_fault_once(enum cairn__fault_kind kind, uint64_t n, int code,
                            int persistent, size_t partial)
{
    char label[160];
    snprintf(label, sizeof label, "%s fault #%" PRIu64 " %s%s partial %zu",
             kind_names[kind], n, cairn_errname(code),
             persistent ? " persistent" : " once", partial);
    envs e = envs_create();
    cairn_db *db = NULL;
    assert_int_equal(open_db(e.fault, 1, 0, 0, &db), 0);
    assert_int_equal(cairn__env_fault_arm(e.fault, kind, n, code, persistent),
                     0);
    cairn__env_fault_set_partial(e.fault, partial);

    int failed_at = 0, rc = 0;
    while (failed_at < NOPS && (rc = do_op(db, failed_at)) == 0)
        failed_at++;
    if (failed_at == NOPS) {
        /* The fault was never reached, or reached and ignored, which would
         * mean a write was acknowledged past a failed append or sync; or
         * it failed the making of a spare log (src/db/log_files.c), which
         * no write depends on: later points of the walk remain. */
        int fired = cairn__env_fault_injected(e.fault) != 0;
        if (fired && !ws_wait_spare_failed(db, 5000))
            fail_msg("%s: the fault fired but every write succeeded", label);
        check_prefix(db, NOPS, 0, fired ? "a spare log failed" : "no fault",
                     label);
        assert_int_equal(cairn_db_close(db), 0);
        envs_destroy(&e);
        return fired;
    }
    expect_code(label, "the failing write", rc, code);
    check_prefix(db, failed_at, 1, "reads right after the failure", label);

    /* Sticky: while the fault persists, and after it clears. */
    char key[16];
    if (persistent)
        expect_code(label, "a write while the fault persists",
                    cairn_db_put(db, NULL, "later", 5, "x", 1), code);
    cairn__env_fault_disarm_all(e.fault);
    for (int i = 0; i < 3; i++)
        expect_code(label, "a write after the fault cleared",
                    cairn_db_put(db, i == 2 ? g_sync : NULL, key,
                                 make_key(key, i), "x", 1),
                    code);
    cairn_batch *empty = cairn_batch_create();
    assert_non_null(empty);
    expect_code(label, "an empty sync write after the failure",
                cairn_db_write(db, g_sync, empty), code);
    cairn_batch_destroy(empty);
    check_prefix(db, failed_at, 1, "reads after the sticky writes", label);

    /* Reopen recovers every acknowledged write. Close may report the
     * failure again; that is allowed. */
    (void)cairn_db_close(db);
    cairn__env_fault_reset(e.fault);
    int paranoid = (int)(n & 1);
    expect_code(label, paranoid ? "paranoid reopen" : "reopen",
                open_db(e.fault, 0, paranoid, 0, &db), 0);
    check_prefix(db, failed_at, 1, "after reopen", label);
    /* The sticky error is gone, and new writes survive another reopen. */
    assert_int_equal(cairn_db_put(db, g_sync, "after", 5, "ok", 2), 0);
    assert_int_equal(cairn_db_close(db), 0);
    assert_int_equal(open_db(e.fault, 0, paranoid, 0, &db), 0);
    must_hold(db, "after", "ok");
    check_prefix(db, failed_at, 1, "after a second reopen", label);
    assert_int_equal(cairn_db_close(db), 0);
    envs_destroy(&e);
    return 1;
}

static void walk_write_faults(enum cairn__fault_kind kind, int code,
                              int persistent)
{
    uint64_t n = 1;
    for (; n < MAX_N; n++) {
        /* Vary the torn-write length: nothing, inside a record header,
         * and into the payload. */
        size_t partial = kind == CAIRN__FAULT_WRITE ? (n % 3) * 5 : 0;
        if (!write_fault_once(kind, n, code, persistent, partial))
            break;
    }
    fprintf(stderr, "  %s %s%s: %" PRIu64 " failure points\n", kind_names[kind],
            cairn_errname(code), persistent ? " persistent" : " once", n - 1);
    assert_true(n > 1); /* the workload must reach at least one fault */
    assert_true(n < MAX_N);
}

/* Every failure point of the workload's log appends and flushes, then of
 * its syncs; failing once and for good; as I/O error and as ENOSPC. */
static void test_write_path_faults(void **state)
{
    (void)state;
    tu_watch(300, "test_write_path_faults");
    for (int i = 0; i < 8; i++)
        walk_write_faults(i < 4 ? CAIRN__FAULT_WRITE : CAIRN__FAULT_SYNC,
                          i & 2 ? CAIRN_NOSPC : CAIRN_IO, i & 1);
    (void)tu_unwatch(NULL);
}

/* ---------------------------------------------------------------------- */
/* Failures while opening                                                  */

/* A database holding the whole workload, closed cleanly. */
static void build_db(envs *e)
{
    cairn_db *db = NULL;
    assert_int_equal(open_db(e->fault, 1, 0, 0, &db), 0);
    for (int i = 0; i < NOPS; i++)
        assert_int_equal(do_op(db, i), 0);
    assert_int_equal(cairn_db_close(db), 0);
}

/* One point of the walk. Returns 1 if the fault fired. */
static int open_fault_once(enum cairn__fault_kind kind, uint64_t n, int code,
                           int persistent, int existing, int info_log)
{
    char label[160];
    snprintf(
        label, sizeof label, "%s open, %s fault #%" PRIu64 " %s%s, info log %d",
        existing ? "re-" : "creating", kind_names[kind], n, cairn_errname(code),
        persistent ? " persistent" : " once", info_log);
    envs e = envs_create();
    if (existing)
        build_db(&e);
    assert_int_equal(cairn__env_fault_arm(e.fault, kind, n, code, persistent),
                     0);
    cairn_db *db = NULL;
    int rc = open_db(e.fault, 1, 0, info_log, &db);
    int fired = cairn__env_fault_injected(e.fault) != 0;
    if (rc == 0) {
        /* Only the info log may swallow a fault: it is best effort. So is
         * the spare log the flushing thread makes once open is done
         * (src/db/log_files.c): the next switch makes its own. */
        if (fired && !info_log && !ws_wait_spare_failed(db, 5000))
            fail_msg("%s: the fault fired but open succeeded", label);
        check_prefix(db, existing ? NOPS : 0, 0, "open with a fault armed",
                     label);
        assert_int_equal(cairn_db_close(db), 0);
        envs_destroy(&e);
        return fired;
    }
    expect_code(label, fired ? "open" : "open without a fault", rc,
                fired ? code : 0);
    if (strstr(cairn_errmsg(), "injected fault") == NULL)
        fail_msg("%s: the message does not name the failure: '%s'", label,
                 cairn_errmsg());
    assert_null(db);

    /* With the fault gone the database opens (a half-created one may be
     * created again) and holds what it held. */
    cairn__env_fault_disarm_all(e.fault);
    expect_code(label, "the open after the failed open",
                open_db(e.fault, !existing, (int)(n & 1), info_log, &db), 0);
    check_prefix(db, existing ? NOPS : 0, 0, "open after the failed open",
                 label);
    assert_int_equal(cairn_db_put(db, NULL, "new", 3, "v", 1), 0);
    assert_int_equal(cairn_db_close(db), 0);
    expect_code(label, "the second open after the failed open",
                open_db(e.fault, 0, 1, info_log, &db), 0);
    check_prefix(db, existing ? NOPS : 0, 0,
                 "second open after the failed open", label);
    must_hold(db, "new", "v");
    assert_int_equal(cairn_db_close(db), 0);
    envs_destroy(&e);
    return 1;
}

static void walk_open_faults(int existing, int info_log)
{
    /* Write, sync, rename and create, each failing once with CAIRN_IO or
     * CAIRN_NOSPC, and for good. */
    for (int k = CAIRN__FAULT_WRITE; k <= CAIRN__FAULT_CREATE; k++) {
        for (int variant = 0; variant < 3; variant++) {
            int code = variant == 1 ? CAIRN_NOSPC : CAIRN_IO;
            uint64_t n = 1;
            while (n < MAX_N &&
                   open_fault_once((enum cairn__fault_kind)k, n, code,
                                   variant == 2, existing, info_log))
                n++;
            /* Opening creates, writes, syncs and renames at least once. */
            assert_true(n > 1);
            assert_true(n < MAX_N);
        }
    }
}

/* Failures while creating a database, and while reopening one; with the
 * info log off (every fault must fail the open) and on. */
static void test_open_faults(void **state)
{
    (void)state;
    tu_watch(300, "test_open_faults");
    for (int i = 0; i < 4; i++)
        walk_open_faults(i >> 1, i & 1);
    (void)tu_unwatch(NULL);
}

/* ---------------------------------------------------------------------- */
/* A failure under concurrent writers                                      */

#define CW_THREADS 4
#define CW_OPS     150

typedef struct cw_thread {
    pthread_t th;
    cairn_db *db;
    int t;
    int acked;     /* writes acknowledged before the first failure */
    int rc;        /* the first failure */
    int sticky_rc; /* a later write's result */
} cw_thread;

/* Thread t's write i puts this key, with the key as its value. */
static size_t cw_key(char *buf, int t, int i)
{
    return (size_t)snprintf(buf, 32, "cw%d/%04d", t, i);
}

static void *cw_main(void *arg)
{
    cw_thread *w = arg;
    char key[32];
    for (int i = 0; i < CW_OPS; i++) {
        size_t kl = cw_key(key, w->t, i);
        int rc =
            cairn_db_put(w->db, i % 4 == 0 ? g_sync : NULL, key, kl, key, kl);
        if (rc != 0) {
            w->rc = rc;
            w->sticky_rc = cairn_db_put(w->db, NULL, "probe", 5, "p", 1);
            break;
        }
        w->acked = i + 1;
    }
    return NULL;
}

static void cw_round(enum cairn__fault_kind kind, uint64_t n, int code)
{
    envs e = envs_create();
    cairn_db *db = NULL;
    assert_int_equal(open_db(e.fault, 1, 0, 0, &db), 0);
    /* The fault must be the writers': let the spare log the flushing
     * thread makes after open come first. */
    assert_true(ws_wait_spares_made(db, 1, 20000));
    assert_int_equal(cairn__env_fault_arm(e.fault, kind, n, code, 0), 0);
    cw_thread w[CW_THREADS];
    memset(w, 0, sizeof w);
    for (int t = 0; t < CW_THREADS; t++) {
        w[t].db = db;
        w[t].t = t;
        assert_int_equal(pthread_create(&w[t].th, NULL, cw_main, &w[t]), 0);
    }
    for (int t = 0; t < CW_THREADS; t++)
        pthread_join(w[t].th, NULL);
    char label[64];
    snprintf(label, sizeof label, "%d writers, %s fault #%" PRIu64, CW_THREADS,
             kind_names[kind], n);
    int failures = 0;
    for (int t = 0; t < CW_THREADS; t++) {
        if (w[t].rc != 0) {
            failures++;
            expect_code(label, "a writer's failed write", w[t].rc, code);
            expect_code(label, "the writer's next write", w[t].sticky_rc, code);
        }
    }
    assert_true(cairn__env_fault_injected(e.fault) == 1);
    if (failures == 0)
        fail_msg("%s: the fault fired but no writer saw it", label);
    expect_code(label, "a later write", cairn_db_put(db, NULL, "l", 1, "x", 1),
                code);
    (void)cairn_db_close(db);
    cairn__env_fault_reset(e.fault);
    assert_int_equal(open_db(e.fault, 0, 1, 0, &db), 0);
    char key[32];
    for (int t = 0; t < CW_THREADS; t++) {
        for (int i = 0; i < CW_OPS; i++) {
            void *got = NULL;
            size_t len = 0, kl = cw_key(key, t, i);
            int rc = cairn_db_get(db, NULL, key, kl, &got, &len);
            int present = rc == 0 && len == kl && memcmp(got, key, kl) == 0;
            cairn_free(got);
            /* Acknowledged: present. The failed write (only if this thread
             * failed): either. Never attempted: absent. */
            int ok = i < w[t].acked ? present
                     : i == w[t].acked && w[t].rc != 0
                         ? present || rc == CAIRN_NOTFOUND
                         : rc == CAIRN_NOTFOUND;
            if (!ok)
                fail_msg("%s: after reopen, thread %d write %d (%d acked): "
                         "%s (seed %" PRIu64 ")",
                         label, t, i, w[t].acked, cairn_errname(rc), g_seed);
        }
    }
    assert_int_equal(cairn_db_close(db), 0);
    envs_destroy(&e);
}

/* Followers in the failing group and writers queued behind it must all
 * be released with the error; the watchdog catches one left waiting. */
static void test_fault_under_concurrent_writers(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, g_seed ^ 0xC0FFEE);
    tu_watch(120, "test_fault_under_concurrent_writers");
    int rounds = (int)(12 * tu_scale());
    if (rounds < 4)
        rounds = 4;
    for (int i = 0; i < rounds; i++) {
        int code = i & 1 ? CAIRN_NOSPC : CAIRN_IO;
        /* Each put is at least two writes (header and payload) and a
         * flush; a quarter of them sync. */
        if (i % 3 == 2)
            cw_round(CAIRN__FAULT_SYNC, 1 + tu_rng_uniform(&r, 40), code);
        else
            cw_round(CAIRN__FAULT_WRITE, 1 + tu_rng_uniform(&r, 600), code);
    }
    (void)tu_unwatch(NULL);
}

static int group_setup(void **state)
{
    (void)state;
    g_seed = tu_seed("test_db_faults");
    gen_workload(g_seed);
    g_sync = cairn_writeoptions_create();
    return g_sync == NULL || cairn_writeoptions_set_sync(g_sync, 1) != 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cairn_writeoptions_destroy(g_sync);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_write_path_faults, tu_unwatch),
        cmocka_unit_test_teardown(test_open_faults, tu_unwatch),
        cmocka_unit_test_teardown(test_fault_under_concurrent_writers,
                                  tu_unwatch),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
