/*
 * test_switch_sync.c: the sync of the old log at a memtable switch
 * (src/db/write.c, switch_memtable and sync_old_log).
 *
 * When the log can be synced beside appends (a "pipelined" gate env, as
 * the POSIX env's logs), the switch only swaps the logs, and the writer
 * that made it syncs the old log after it has handed leadership on. These
 * tests hold that sync at the gate env's GATE_LOGSYNC gate and check, by
 * construction rather than timing, what must hold meanwhile:
 *  - writers behind the switch go on into the new log (the point of it);
 *  - no sync of the new log starts, and so no sync write of it is
 *    acknowledged, before the old log is durable (LevelDB #193: a synced
 *    write must not stand on unsynced ones before it);
 *  - a second switch waits until the first one's old log is synced;
 *  - a failed sync of the old log is sticky: the switching writer's group
 *    and waiting sync writers get the error, later writes too, reads go
 *    on, and a reopen finds every write acknowledged before the failure.
 * "Not acknowledged" is checked by a job still running some time after
 * everything it could wait for is in place; a wrong implementation can
 * only make that check fail, never hang (the watchdog is armed anyway).
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate_env.h"
#include "group_log.h"
#include "testutil.h"
#include "write_jobs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define WBS (64 * 1024)

static char big[WBS];

/* One test's database: small memtables on a gate env. */
typedef struct fixture {
    gate_env *g;
    cairn_options *opt;
    cairn_db *db;
} fixture;

static fixture fx_open(int pipelined, const char *what)
{
    tu_watchdog_arm(60, what);
    fixture fx;
    fx.g = gate_env_create(pipelined);
    fx.opt = cairn_options_create();
    assert_non_null(fx.opt);
    assert_int_equal(cairn_options_set_write_buffer_size(fx.opt, WBS), 0);
    assert_int_equal(cairn_options_set_max_immutable_memtables(fx.opt, 4), 0);
    fx.db = open_db(fx.g, fx.opt);
    return fx;
}

/* Closes the database and frees the fixture and the test's n batches. */
static void fx_close(fixture *fx, cairn_batch **b, int n)
{
    assert_int_equal(cairn_db_close(fx->db), 0);
    gl_destroy_batches(b, n);
    cairn_options_destroy(fx->opt);
    gate_env_destroy(fx->g);
    tu_watchdog_disarm();
}

/* Puts the memtable past its limit: the next leader switches. */
static void overfill(cairn_db *db, const char *key)
{
    memset(big, 'x', sizeof big);
    assert_int_equal(cairn_db_put(db, NULL, key, strlen(key), big, WBS), 0);
}

/* Starts a small non-sync write of key that switches the memtable, and
 * waits until its writer holds at the sync of the old log (so it has
 * switched, committed its group to the new log and handed leadership on).
 * GATE_LOGSYNC must be closed. */
static void start_switching_write(gate_env *g, cairn_db *db, job *j,
                                  cairn_batch *b, int blocked_before)
{
    uint64_t s0 = gl_write_stat(db, "memtable switch");
    start_job(j, db, b, 0, 0);
    gate_wait_blocked(g, GATE_LOGSYNC, blocked_before + 1);
    assert_int_equal(gl_write_stat(db, "memtable switch"), s0 + 1);
}

static void have_value(cairn_db *db, const char *key, size_t len)
{
    void *v = NULL;
    size_t n = 0;
    int rc = cairn_db_get(db, NULL, key, strlen(key), &v, &n);
    if (rc != 0)
        fail_msg("get %s: %s", key, cairn_errname(rc));
    assert_int_equal(n, len);
    cairn_free(v);
}

/* Writers go on while the old log is synced; a sync write of the new log
 * waits for that sync; both end once it is done. */
static void test_writes_go_on_sync_writes_wait(void **state)
{
    (void)state;
    fixture fx = fx_open(1, "switch: writes go on, sync writes wait");
    gate_env *g = fx.g;
    cairn_db *db = fx.db;
    overfill(db, "big");
    gate_close(g, GATE_LOGSYNC);

    cairn_batch *b[3] = {make_batch("a", 10), make_batch("n", 10),
                         make_batch("s", 10)};
    job jobs[3];
    start_switching_write(g, db, &jobs[0], b[0], 0);

    /* A non-sync write is not held up by the old log's sync... */
    start_job(&jobs[1], db, b[1], 0, 0);
    int n_done = job_done_within(&jobs[1], 5000);
    /* ...but a sync write is not acknowledged before it, and does not
     * even start its own sync (GATE_SYNC is open): a sync of the new log
     * before the old log's could leave, after a power cut, new writes
     * durable behind lost old ones. */
    uint64_t syncs0 = gate_tickets(g, GATE_SYNC);
    start_job(&jobs[2], db, b[2], 1, 0);
    int s_early = job_done_within(&jobs[2], 300);
    uint64_t early_syncs = gate_tickets(g, GATE_SYNC) - syncs0;
    int a_early = atomic_load(&jobs[0].done);
    /* Reads go on meanwhile, and see the committed writes. */
    have_value(db, "big", WBS);
    have_value(db, "a", 10);

    gate_open(g, GATE_LOGSYNC);
    int rc[3];
    for (int i = 0; i < 3; i++)
        rc[i] = join_job(&jobs[i]);
    have_value(db, "n", 10);
    have_value(db, "s", 10);
    fx.db = db;
    fx_close(&fx, b, 3);
    if (!n_done)
        fail_msg("a non-sync write waited for the old log's sync after a "
                 "memtable switch");
    if (s_early)
        fail_msg("a sync write of the new log was acknowledged before the "
                 "old log was synced");
    if (early_syncs != 0)
        fail_msg("%llu syncs of the new log started before the old log's "
                 "sync ended",
                 (unsigned long long)early_syncs);
    assert_false(a_early);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rc[i], 0);
}

/* A second switch waits until the first one's old log is synced: the
 * durable point passes one old log at a time. */
static void test_second_switch_waits(void **state)
{
    (void)state;
    fixture fx = fx_open(1, "switch: a second switch waits");
    gate_env *g = fx.g;
    cairn_db *db = fx.db;
    overfill(db, "big1");
    gate_close(g, GATE_LOGSYNC);

    cairn_batch *b[2] = {make_batch("a", 10), make_batch("c", 10)};
    job jobs[2];
    start_switching_write(g, db, &jobs[0], b[0], 0);
    /* The new memtable past its limit too (no switch for this one: the
     * check comes before a write); the next leader must switch again. */
    overfill(db, "big2");
    uint64_t s1 = gl_write_stat(db, "memtable switch");
    start_job(&jobs[1], db, b[1], 0, 0);
    int c_early = job_done_within(&jobs[1], 300);
    uint64_t s_early = gl_write_stat(db, "memtable switch");

    gate_open(g, GATE_LOGSYNC);
    int rc0 = join_job(&jobs[0]);
    int rc1 = join_job(&jobs[1]);
    uint64_t s_end = gl_write_stat(db, "memtable switch");
    have_value(db, "big1", WBS);
    have_value(db, "big2", WBS);
    have_value(db, "a", 10);
    have_value(db, "c", 10);
    fx.db = db;
    fx_close(&fx, b, 2);
    if (c_early || s_early != s1)
        fail_msg("a second memtable switch went ahead while the first "
                 "one's old log was not yet synced");
    assert_int_equal(rc0, 0);
    assert_int_equal(rc1, 0);
    assert_int_equal(s_end, s1 + 1);
}

/* The old log's sync fails: sticky, and nothing acknowledged is lost. */
static void test_old_log_sync_fails(void **state)
{
    (void)state;
    fixture fx = fx_open(1, "switch: the old log's sync fails");
    gate_env *g = fx.g;
    cairn_db *db = fx.db;
    assert_int_equal(cairn_db_put(db, NULL, "before", 6, "v", 1), 0);
    overfill(db, "big");
    gate_fail(g, GATE_LOGSYNC, gate_tickets(g, GATE_LOGSYNC));
    gate_close(g, GATE_LOGSYNC);

    cairn_batch *b[3] = {make_batch("a", 10), make_batch("n", 10),
                         make_batch("s", 10)};
    job jobs[3];
    start_switching_write(g, db, &jobs[0], b[0], 0);
    /* Acknowledged before the failure: it must survive. */
    start_job(&jobs[1], db, b[1], 0, 0);
    int n_rc = join_job(&jobs[1]);
    start_job(&jobs[2], db, b[2], 1, 0);
    int s_early = job_done_within(&jobs[2], 300);

    gate_open(g, GATE_LOGSYNC);
    int a_rc = join_job(&jobs[0]);
    int s_rc = join_job(&jobs[2]);
    int later = cairn_db_put(db, NULL, "later", 5, "v", 1);
    /* Reads go on. */
    have_value(db, "before", 1);
    have_value(db, "n", 10);
    assert_int_equal(cairn_db_close(db), 0);

    /* A reopen finds every write acknowledged before the failure. */
    db = open_db(g, fx.opt);
    have_value(db, "before", 1);
    have_value(db, "big", WBS);
    have_value(db, "n", 10);
    fx.db = db;
    fx_close(&fx, b, 3);
    assert_int_equal(n_rc, 0);
    if (s_early)
        fail_msg("a sync write of the new log was acknowledged before the "
                 "old log's (failing) sync");
    /* The switching writer's group and the waiting sync writer get the
     * failure; every later write gets it (sticky). */
    assert_int_equal(a_rc, CAIRN_IO);
    assert_int_equal(s_rc, CAIRN_IO);
    assert_int_equal(later, CAIRN_IO);
}

/* Without pipelined syncs the switch syncs the old log itself, holding
 * leadership, as before: writers behind it wait. */
static void test_not_pipelined_syncs_at_switch(void **state)
{
    (void)state;
    fixture fx = fx_open(0, "switch: not pipelined");
    gate_env *g = fx.g;
    cairn_db *db = fx.db;
    overfill(db, "big");
    gate_close(g, GATE_LOGSYNC);
    cairn_batch *b[2] = {make_batch("a", 10), make_batch("n", 10)};
    job jobs[2];
    start_job(&jobs[0], db, b[0], 0, 0);
    gate_wait_blocked(g, GATE_LOGSYNC, 1);
    start_job(&jobs[1], db, b[1], 0, 0);
    int n_early = job_done_within(&jobs[1], 300);
    gate_open(g, GATE_LOGSYNC);
    int rc0 = join_job(&jobs[0]);
    int rc1 = join_job(&jobs[1]);
    have_value(db, "a", 10);
    have_value(db, "n", 10);
    fx.db = db;
    fx_close(&fx, b, 2);
    assert_false(n_early);
    assert_int_equal(rc0, 0);
    assert_int_equal(rc1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_go_on_sync_writes_wait),
        cmocka_unit_test(test_second_switch_waits),
        cmocka_unit_test(test_old_log_sync_fails),
        cmocka_unit_test(test_not_pipelined_syncs_at_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
