/*
 * test_spare_zero_fill.c: which spare logs are zero-filled
 * (src/db/log_files.c, make_spare; src/env/env_posix_log.c).
 *
 * The flushing thread zero-fills the next log it makes ahead only when
 * writes have synced the log since the spare before it was begun: a
 * database written without syncs never pays for it, one written with
 * syncs gets zero-filled logs from the next spare on. And a database
 * whose writer is killed while writing synced puts into such a log
 * reopens under paranoid checks with every acknowledged write (the log
 * ends in zeros there, which the reader skips as preallocated space).
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "write_stats_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WBS (64 * 1024)

static char big[WBS];

static cairn_db *open_db(const char *path, int paranoid)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, WBS), 0);
    assert_int_equal(cairn_options_set_paranoid_checks(o, paranoid), 0);
    cairn_db *db = NULL;
    assert_int_equal(cairn_db_open(o, path, &db), 0);
    cairn_options_destroy(o);
    return db;
}

/* Puts key i (value "v<i>"), synced or not. */
static int put_key(cairn_db *db, int i, int sync)
{
    char k[32], v[32];
    int kl = snprintf(k, sizeof k, "k%08d", i);
    int vl = snprintf(v, sizeof v, "v%d", i);
    cairn_writeoptions *wo = cairn_writeoptions_create();
    cairn_writeoptions_set_sync(wo, sync);
    int rc = cairn_db_put(db, wo, k, (size_t)kl, v, (size_t)vl);
    cairn_writeoptions_destroy(wo);
    return rc;
}

/* Fills the memtable past its limit, so the next write switches. */
static void overfill(cairn_db *db, int sync)
{
    memset(big, 'x', sizeof big);
    cairn_writeoptions *wo = cairn_writeoptions_create();
    cairn_writeoptions_set_sync(wo, sync);
    assert_int_equal(cairn_db_put(db, wo, "big", 3, big, sizeof big), 0);
    cairn_writeoptions_destroy(wo);
}

static void expect_keys(cairn_db *db, int from, int to)
{
    for (int i = from; i < to; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof k, "k%08d", i);
        int vl = snprintf(v, sizeof v, "v%d", i);
        void *got = NULL;
        size_t n = 0;
        assert_int_equal(cairn_db_get(db, NULL, k, (size_t)kl, &got, &n), 0);
        assert_int_equal(n, (size_t)vl);
        assert_memory_equal(got, v, n);
        cairn_free(got);
    }
}

/* Makes switches with puts of the given kind until n spares have been
 * made in all; each switch's spare is made by the flushing thread. */
static void switch_until_spares(cairn_db *db, uint64_t n, int sync, int *key)
{
    for (int round = 0;; round++) {
        uint64_t made, taken, failed;
        ws_spare_counts(db, &made, &taken, &failed);
        if (made >= n)
            return;
        if (round > 2000)
            fail_msg("only %llu of %llu spares made", (unsigned long long)made,
                     (unsigned long long)n);
        /* A switch takes the spare, and the next one is made after it. */
        if (made > taken) {
            overfill(db, sync);
            assert_int_equal(put_key(db, (*key)++, sync), 0);
        }
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void test_zero_fill_after_syncs_only(void **state)
{
    (void)state;
    tu_watchdog_arm(120, "test_zero_fill_after_syncs_only");
    char *dir = tu_tempdir("sparezf");
    char path[4200];
    snprintf(path, sizeof path, "%s/db", dir);
    cairn_db *db = open_db(path, 0);
    int key = 0;
    /* Without syncs: spares are made, none zero-filled. */
    assert_true(ws_wait_spares_made(db, 1, 20000));
    switch_until_spares(db, 4, 0, &key);
    assert_int_equal(ws_spares_zeroed(db), 0);
    /* With syncs: the spares made from now on are. */
    for (int i = 0; i < 20; i++)
        assert_int_equal(put_key(db, key++, 1), 0);
    switch_until_spares(db, 7, 1, &key);
    uint64_t zeroed = ws_spares_zeroed(db);
    assert_true(zeroed >= 2);
    /* Back to no syncs: the first spare begun after them is not. */
    uint64_t made, taken, failed;
    ws_spare_counts(db, &made, &taken, &failed);
    switch_until_spares(db, made + 3, 0, &key);
    assert_true(ws_spares_zeroed(db) <= zeroed + 1);
    expect_keys(db, 0, key);
    assert_int_equal(cairn_db_close(db), 0);
    /* Everything was written through zero-filled logs and reads back
     * after a reopen. */
    db = open_db(path, 1);
    expect_keys(db, 0, key);
    assert_int_equal(cairn_db_close(db), 0);
    tu_rmtree(dir);
    free(dir);
    tu_watchdog_disarm();
}

/* The killed writer of test_killed_in_zero_filled_log: synced puts, each
 * reported once acknowledged (as the count of keys acknowledged), the
 * last of them into a zero-filled log. */
static void zero_filled_writer(int ack_fd, void *arg)
{
    cairn_db *db = open_db(arg, 0);
    int key = 0;
    for (int i = 0; i < 20; i++)
        if (put_key(db, key++, 1) != 0)
            _exit(4);
    /* Two zero-filled spares made: the first was taken before the second
     * was begun, so the log written now is a zero-filled one (or a later
     * one). */
    for (int round = 0; ws_spares_zeroed(db) < 2; round++) {
        if (round > 5000)
            _exit(6); /* none zero-filled: nothing is reported */
        overfill(db, 1);
        if (put_key(db, key++, 1) != 0)
            _exit(4);
        struct timespec ts = {0, 2000000L};
        nanosleep(&ts, NULL);
    }
    if (write(ack_fd, &key, sizeof key) != (ssize_t)sizeof key)
        _exit(5);
    for (;; key++) {
        if (put_key(db, key, 1) != 0)
            _exit(4);
        int acked = key + 1;
        if (write(ack_fd, &acked, sizeof acked) != (ssize_t)sizeof acked)
            _exit(5);
    }
}

/* A killed writer, last writing synced puts into a zero-filled log: every
 * acknowledged write is there after a reopen with paranoid checks. */
static void test_killed_in_zero_filled_log(void **state)
{
    (void)state;
    char *dir = tu_tempdir("sparezfkill");
    char path[4200];
    snprintf(path, sizeof path, "%s/db", dir);
    /* The child must start with one thread (tu_kill_writer): the
     * watchdog is armed only for the reopen. */
    int killed;
    int acked = tu_kill_writer(zero_filled_writer, path, 300, &killed);
    tu_watchdog_arm(120, "test_killed_in_zero_filled_log");
    assert_true(killed);
    assert_true(acked > 20);
    cairn_db *db = open_db(path, 1);
    expect_keys(db, 0, acked);
    assert_int_equal(cairn_db_close(db), 0);
    tu_rmtree(dir);
    free(dir);
    tu_watchdog_disarm();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_fill_after_syncs_only),
        cmocka_unit_test(test_killed_in_zero_filled_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
