/*
 * test_group_combining.c: combining in the write path (src/db/write.c).
 * A pipelined sync leader appends the sync groups queued behind it itself
 * and stops at a non-sync head; a combined group whose append fails gets
 * the error while the groups before it are acknowledged and survive a
 * reopen; a non-sync leader commits the group of a writer asleep at the
 * head, never of one that spins. Groups are observed as log records, as
 * in test_group_commit.c (tests/support/group_log.h); every test arms the
 * watchdog, so a lost wake-up fails instead of hanging.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "db/db_impl.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate_env.h"
#include "group_log.h"
#include "write_jobs.h"
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Combining: a pipelined sync leader appends the sync groups queued       */
/* behind it itself, and stops at a non-sync head                          */

/* Groups appended by a leader for writers queued behind it. */
static unsigned long long combined_groups(cairn_db *db)
{
    return gl_write_stat(db, "combined groups ");
}

static void combining(int pipelined)
{
    gate_env *g = gate_env_create(pipelined);
    cairn_options *opt = cairn_options_create();
    /* A 4096-byte cap: b, c, x and d (2500 bytes each) cannot share a
     * group (a sync leader could otherwise carry non-sync x). */
    assert_int_equal(cairn_options_set_group_limits(opt, 4096, 0), 0);
    cairn_db *db = open_db(g, opt);
    cairn_batch *b[5] = {make_batch("a", 10), gl_sized_batch("b", 2500),
                         gl_sized_batch("c", 2500), gl_sized_batch("x", 2500),
                         gl_sized_batch("d", 2500)};
    /* a (sync) blocks in its append with b, c (sync), x (non-sync) and d
     * (sync) queued. Pipelined, a appends {b} and {c} itself, stops at
     * x and hands on; x leads alone (the scan stops at sync d) and d
     * leads last. Not pipelined, a syncs inside its group and hands on
     * at once, so nothing is combined. The records are the same. */
    static const int sync[5] = {1, 1, 1, 0, 1};
    job jobs[5];
    unsigned long long before = combined_groups(db);
    gl_run_queued(g, db, jobs, 5, b, sync);
    static const char *const want[] = {"a", "b", "c", "x", "d"};
    gl_expect_groups(g, want, 5);
    assert_int_equal(combined_groups(db) - before, pipelined ? 2 : 0);
    /* Every write is there after a reopen. */
    assert_int_equal(cairn_db_close(db), 0);
    db = open_db(g, opt);
    for (int i = 0; i < 5; i++) {
        void *v = NULL;
        size_t vlen = 0;
        assert_int_equal(cairn_db_get(db, NULL, want[i], 1, &v, &vlen), 0);
        cairn_free(v);
    }
    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 5);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
}

/* A combined group whose append fails gets the error, and so does every
 * later write; the groups appended before it are acknowledged once their
 * sync succeeds, and survive a reopen. */
static void test_combining_failure(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "combining_failure");
    gate_env *g = gate_env_create(1);
    cairn_options *opt = cairn_options_create();
    assert_int_equal(cairn_options_set_group_limits(opt, 4096, 0), 0);
    cairn_db *db = open_db(g, opt);
    cairn_batch *b[3] = {make_batch("a", 10), gl_sized_batch("b", 2500),
                         gl_sized_batch("c", 2500)};
    job jobs[3];
    gate_close(g, GATE_FLUSH);
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, GATE_FLUSH, 1);
    /* a holds flush ticket t; b's group is t + 1, c's t + 2. */
    pthread_mutex_lock(&g->mu);
    uint64_t t = g->tickets[GATE_FLUSH] - 1;
    pthread_mutex_unlock(&g->mu);
    gate_fail(g, GATE_FLUSH, t + 2);
    for (int i = 1; i < 3; i++) {
        start_job(&jobs[i], db, b[i], 1, 0);
        wait_queued(db, (size_t)i + 1);
    }
    gate_open(g, GATE_FLUSH);
    assert_int_equal(join_job(&jobs[0]), 0);
    assert_int_equal(join_job(&jobs[1]), 0);
    assert_int_equal(join_job(&jobs[2]), CAIRN_IO);
    assert_non_null(strstr(jobs[2].msg, "flush"));
    assert_int_equal(combined_groups(db), 2);
    /* Sticky: a later write fails too; reads go on. */
    assert_int_equal(cairn_db_put(db, NULL, "e", 1, "v", 1), CAIRN_IO);
    void *v = NULL;
    size_t vlen = 0;
    assert_int_equal(cairn_db_get(db, NULL, "b", 1, &v, &vlen), 0);
    cairn_free(v);
    (void)cairn_db_close(db);
    db = open_db(g, opt);
    const char *acked[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        v = NULL;
        assert_int_equal(cairn_db_get(db, NULL, acked[i], 1, &v, &vlen), 0);
        cairn_free(v);
    }
    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 3);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
}

/* Waiters that went to sleep ("N blocked"). */
static unsigned long long blocked_waits(cairn_db *db)
{
    return gl_write_stat(db, "ended spinning, ");
}

/* A non-sync leader commits the group of a writer asleep at the head of
 * the queue instead of handing leadership to it (no convoy behind a
 * sleeping head); a head that spins is handed leadership as before. */
static void combining_asleep(int strategy)
{
    gate_env *g = gate_env_create(0);
    cairn_options *opt = cairn_options_create();
    assert_int_equal(cairn_options_set_wait_strategy(opt, strategy, 20000), 0);
    cairn_db *db = open_db(g, opt);
    cairn_batch *b[2] = {make_batch("a", 10), make_batch("b", 10)};
    job jobs[2];
    unsigned long long before = combined_groups(db);
    unsigned long long slept = blocked_waits(db);
    gate_close(g, GATE_FLUSH);
    start_job(&jobs[0], db, b[0], 0, 0);
    gate_wait_blocked(g, GATE_FLUSH, 1);
    start_job(&jobs[1], db, b[1], 0, 0);
    wait_queued(db, 2);
    if (strategy == CAIRN_WAIT_BLOCK) {
        /* b counts itself blocked just before it marks its word and
         * sleeps; give it those few instructions. */
        while (blocked_waits(db) == slept)
            sleep_ms(1);
        sleep_ms(20);
    }
    gate_open(g, GATE_FLUSH);
    for (int i = 0; i < 2; i++)
        if (join_job(&jobs[i]) != 0)
            fail_msg("writer %d: %s", i, jobs[i].msg);
    static const char *const want[] = {"a", "b"};
    gl_expect_groups(g, want, 2);
    assert_int_equal(combined_groups(db) - before,
                     strategy == CAIRN_WAIT_BLOCK ? 1 : 0);
    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 2);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
}

static void test_combining(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "combining");
    combining(1);
    combining(0);
    combining_asleep(CAIRN_WAIT_BLOCK);
    combining_asleep(CAIRN_WAIT_SPIN);
    tu_watchdog_disarm();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_combining),
        cmocka_unit_test(test_combining_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
