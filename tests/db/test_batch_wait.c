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
#include "util/syncpoint.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate_env.h"
#include "write_jobs.h"
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------- */
/* Helpers (the writers themselves are in tests/support/write_jobs.h)      */

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

/* a, b and c are sync writes; x is a small non-sync write. a blocks at
 * the flush gate with x, b and c queued; a is let through. x is not a
 * sync writer, so a does not combine it (nor what follows) and hands
 * leadership to x, which blocks at the flush gate in turn. a becomes the
 * syncer and holds its sync: a's record alone is below the byte limit,
 * and x, b and c are active but not waiting for a sync. When the gate
 * opens, x appends and hands on to b, which leads {b, c}. */
static void syncer_setup(gate_env *g, cairn_db *db, job *jobs, cairn_batch **b)
{
    gate_close(g, GATE_FLUSH);
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, GATE_FLUSH, 1);
    start_job(&jobs[3], db, b[3], 0, 0);
    wait_queued(db, 2);
    start_job(&jobs[1], db, b[1], 1, 0);
    wait_queued(db, 3);
    start_job(&jobs[2], db, b[2], 1, 0);
    wait_queued(db, 4);
    gate_let(g, GATE_FLUSH, 1);
    gate_wait_tickets(g, GATE_FLUSH, 2);
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
    cairn_batch *b[4] = {make_batch("a", 1000), make_batch("b", 1000),
                         make_batch("c", 1000), make_batch("x", 10)};
    job jobs[4];
    int syncs0 = atomic_load(&g->syncs);
    syncer_setup(g, db, jobs, b);
    uint64_t t0 = now_ns();
    gate_open(g, GATE_FLUSH);
    for (int i = 0; i < 4; i++)
        if (join_job(&jobs[i]) != 0)
            fail_msg("writer %d: %s", i, jobs[i].msg);
    uint64_t elapsed = now_ns() - t0;
    /* b's record brings the bytes over the limit, which ends the hold at
     * once: far sooner than the 1 s time limit. */
    if (elapsed >= 500000000u)
        fail_msg("the byte limit did not end the hold: %.3f s",
                 (double)elapsed / 1e9);
    assert_int_equal(holds(db, NULL), 1);
    /* One sync covered all three sync writers. */
    assert_int_equal(atomic_load(&g->syncs) - syncs0, 1);
    teardown(g, db, opt, b, 4);
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
    gate_close(g, GATE_FLUSH);
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, GATE_FLUSH, 1);
    start_job(&jobs[1], db, b[1], 0, 0);
    wait_queued(db, 2);
    uint64_t t0 = now_ns();
    gate_let(g, GATE_FLUSH, 1);
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
    gate_open(g, GATE_FLUSH);
    assert_int_equal(join_job(&jobs[1]), 0);
    teardown(g, db, opt, b, 2);
    tu_watchdog_disarm();
}

/* The holder of a sync when x leaves (see below); NULL db: no hook. */
typedef struct leaving {
    cairn_db *db;
    atomic_int hits;
} leaving;

/* As in the byte-limit case, but the byte limit is out of reach. Once x
 * has returned and b has appended {b, c} and waits for the sync, every
 * active writer waits on it (c as b's follower), nobody can add to it,
 * and the hold must end: the policy's "every active writer is waiting"
 * rule. With lv, hold_first_leaver runs at the sync point where writers
 * leave. Returns how long the writers took once let go. */
static uint64_t all_waiting_run(leaving *lv, cairn__sync_point_fn hook)
{
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_bw(g, opt, 1000000, 1024 * 1024, 0);
    cairn_batch *b[4] = {make_batch("a", 100), make_batch("b", 100),
                         make_batch("c", 100), make_batch("x", 10)};
    job jobs[4];
    syncer_setup(g, db, jobs, b);
    if (lv != NULL) {
        lv->db = db;
        cairn__sync_point_set(hook, lv);
    }
    uint64_t t0 = now_ns();
    gate_open(g, GATE_FLUSH);
    for (int i = 0; i < 4; i++)
        if (join_job(&jobs[i]) != 0)
            fail_msg("writer %d: %s", i, jobs[i].msg);
    uint64_t elapsed = now_ns() - t0;
    cairn__sync_point_set(NULL, NULL);
    teardown(g, db, opt, b, 4);
    return elapsed;
}

static void test_syncer_all_waiting(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "syncer_all_waiting");
    uint64_t elapsed = all_waiting_run(NULL, NULL);
    tu_watchdog_disarm();
    if (elapsed >= 500000000u)
        fail_msg("the syncer held %.3f s with every active writer waiting "
                 "for its sync (followers are not counted as waiting)",
                 (double)elapsed / 1e9);
}

/* The same rule when the last writer not waiting for the sync leaves
 * only after the others have queued for it: x leaves after b has appended
 * {b, c} and entered its wait (a sync point holds x until then, and a
 * little longer, so the syncer has looked again and gone back to sleep).
 * Its leaving alone makes every active writer a waiter, and must end the
 * hold: no arrival is left to do it. (Seen as test_syncer_all_waiting
 * holding for the full second in 3 of 30 TSan runs under heavy load.) */
static void hold_first_leaver(const char *point, void *arg)
{
    leaving *lv = arg;
    if (strcmp(point, "write:leaving") != 0 ||
        atomic_fetch_add(&lv->hits, 1) != 0)
        return;
    for (int ms = 0; ms < 5000; ms++) {
        cairn__mutex_lock(&lv->db->sync_mu);
        int n = lv->db->durable_waiters;
        cairn__mutex_unlock(&lv->db->sync_mu);
        if (n >= 3)
            break;
        sleep_ms(1);
    }
    sleep_ms(50);
}

static void test_syncer_released_by_leaving_writer(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "syncer_released_by_leaving_writer");
    leaving lv = {NULL, 0};
    uint64_t elapsed = all_waiting_run(&lv, hold_first_leaver);
    tu_watchdog_disarm();
    if (atomic_load(&lv.hits) < 1)
        fail_msg("no writer left through the sync point");
    if (elapsed >= 500000000u)
        fail_msg("the syncer held %.3f s after the last writer not waiting "
                 "for its sync had left",
                 (double)elapsed / 1e9);
}

/* ---------------------------------------------------------------------- */
/* The leader path (commit_wait_nonsync)                                   */

/* s (sync) appends and stops in sync_flushed at the sync gate: active,
 * not queued. Then n1 (non-sync) leads and, with s active, holds. */
static void leader_setup(gate_env *g, cairn_db *db, job *jobs, cairn_batch **b)
{
    gate_close(g, GATE_SYNC);
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, GATE_SYNC, 1);
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
    gate_open(g, GATE_SYNC);
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
    gate_open(g, GATE_SYNC);
    assert_int_equal(join_job(&jobs[0]), 0);
    teardown(g, db, opt, b, 2);
    tu_watchdog_disarm();
}

/* The leader's half of the leaving rule: n1 holds its group because s is
 * active (stopped at the sync gate); when s's sync is let through and s
 * leaves, every remaining active writer (n1 alone) is queued, and the
 * hold must end then, not at its 1 s limit: no arrival is left to end it. */
static void test_leader_released_by_leaving_writer(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "leader_released_by_leaving_writer");
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_bw(g, opt, 1000000, 1024 * 1024, 1);
    cairn_batch *b[2] = {make_batch("s", 10), make_batch("n1", 10)};
    job jobs[2];
    leader_setup(g, db, jobs, b);
    uint64_t t0 = now_ns();
    gate_open(g, GATE_SYNC);
    assert_int_equal(join_job(&jobs[0]), 0);
    assert_int_equal(join_job(&jobs[1]), 0);
    uint64_t elapsed = now_ns() - t0;
    teardown(g, db, opt, b, 2);
    tu_watchdog_disarm();
    if (elapsed >= 500000000u)
        fail_msg("the leader held %.3f s after the only other active "
                 "writer had left",
                 (double)elapsed / 1e9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lone_writer),
        cmocka_unit_test(test_syncer_byte_limit),
        cmocka_unit_test(test_syncer_time_limit),
        cmocka_unit_test(test_syncer_all_waiting),
        cmocka_unit_test(test_syncer_released_by_leaving_writer),
        cmocka_unit_test(test_leader_byte_limit),
        cmocka_unit_test(test_leader_time_limit),
        cmocka_unit_test(test_leader_released_by_leaving_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
