/*
 * test_spare_log.c: the next log made ahead by the flushing thread
 * (src/db/log_files.c), with the fault env over the in-memory env.
 *
 *  - made and taken: after open a spare appears above the current log; a
 *    memtable switch makes it the current log, and a new spare follows; a
 *    clean close removes the spare, and a reopen reads everything.
 *  - torn tail with a spare behind it: the current log's last record is
 *    torn, or its sync fails, while an empty spare exists; after the power
 *    cut a paranoid open must succeed (the damage is the newest log's torn
 *    tail, the spare holds nothing) and hold a prefix with every synced op.
 *  - damage before records: a log ending in damage followed by a log that
 *    holds records is a hole in the history, and a paranoid open must fail
 *    (a plain open drops the damage and reads the records); followed by an
 *    empty log it is a torn tail, and the open succeeds.
 *  - a spare that cannot be made: the flushing thread's creation fails;
 *    no write sees an error, the next switch makes its own log, and spares
 *    come back after it.
 *
 * Replay: every choice comes from the printed seed (CAIRN_TEST_SEED).
 */
/* Engine headers come before cmocka.h, whose skip() macro would otherwise
 * rewrite env.h's skip member. */
#include "cairn.h"
#include "env/env.h"
#include "env/env_fault.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "power_loss.h"
#include "testutil.h"
#include "write_stats_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t g_seed;

#define MAX_LOGS 32

/* The log files in /db, by number, with their sizes. */
typedef struct logs {
    int n;
    uint64_t num[MAX_LOGS], size[MAX_LOGS];
} logs;

static void list_logs(cairn_env *env, logs *out)
{
    cairn__strlist names = {NULL, 0};
    assert_int_equal(env->ops->list(env, "/db", &names), 0);
    out->n = 0;
    for (size_t i = 0; i < names.n; i++) {
        const char *s = names.names[i];
        size_t len = strlen(s);
        if (len < 5 || strcmp(s + len - 4, ".log") != 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/db/%s", s);
        uint64_t size = 0;
        assert_int_equal(env->ops->file_size(env, path, &size), 0);
        uint64_t num = strtoull(s, NULL, 10);
        int j = out->n++;
        assert_true(out->n <= MAX_LOGS);
        while (j > 0 && out->num[j - 1] > num) {
            out->num[j] = out->num[j - 1];
            out->size[j] = out->size[j - 1];
            j--;
        }
        out->num[j] = num;
        out->size[j] = size;
    }
    cairn__strlist_fini(&names);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until a spare is ready (made and not taken, by the counters) and
 * is the newest log, empty, above a log with data (the caller wrote to
 * the current log since the last switch); returns its number. */
static uint64_t wait_spare(pl_run *r)
{
    logs l;
    for (int i = 0; i < 20000; i++) {
        uint64_t made, taken, failed;
        ws_spare_counts(r->db, &made, &taken, &failed);
        list_logs(r->fault, &l);
        if (made > taken && l.n >= 2 && l.size[l.n - 1] == 0 &&
            l.size[l.n - 2] > 0)
            return l.num[l.n - 1];
        sleep_ms(1);
    }
    fail_msg("%s: no spare log appeared (%d logs)", r->where, l.n);
    return 0;
}

/* Runs 1..max random ops, at least one of which appends to the log (an
 * empty sync batch appends nothing). */
static void run_ops_appending(pl_run *r, int max)
{
    int from = r->nhist;
    pl_run_ops(r, 1 + (int)tu_rng_uniform(&r->rng, (uint64_t)max));
    for (;;) {
        for (int i = from; i < r->nhist; i++)
            if (r->hist[i].kind != 3)
                return;
        pl_run_ops(r, 1);
    }
}

/* ---------------------------------------------------------------------- */

static void test_made_and_taken(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_made_and_taken");
    tu_watch(120, "test_made_and_taken");
    for (int it = 0; it < 4; it++) {
        pl_run r;
        pl_run_iter(&r, seed, it, 7919u);
        assert_int_equal(pl_open(&r, 1, 0), 0);
        for (int round = 0; round < 3; round++) {
            run_ops_appending(&r, 20);
            uint64_t spare = wait_spare(&r);
            /* The switch takes the spare: the next writes land in it. */
            assert_int_equal(cairn_db_flush(r.db), 0);
            run_ops_appending(&r, 5);
            logs l;
            list_logs(r.fault, &l);
            int found = 0;
            for (int i = 0; i < l.n; i++)
                if (l.num[i] == spare) {
                    found = 1;
                    if (l.size[i] == 0)
                        fail_msg("%s: log %" PRIu64
                                 " stayed empty after the switch",
                                 r.where, spare);
                }
            if (!found)
                fail_msg("%s: the spare %" PRIu64 " is gone", r.where, spare);
            uint64_t next = wait_spare(&r);
            assert_true(next > spare);
        }
        /* A clean close removes the spare: the current log is the
         * newest. */
        assert_int_equal(cairn_db_close(r.db), 0);
        r.db = NULL;
        logs l;
        list_logs(r.fault, &l);
        assert_true(l.n >= 1);
        if (l.size[l.n - 1] == 0)
            fail_msg("%s: an empty log %" PRIu64 " is left after close",
                     r.where, l.num[l.n - 1]);
        pl_reopen(&r, 1, "reopen after a clean close");
        pl_check_prefix(&r, 1, "reopen after a clean close");
        /* A crash leaves the spare; the next open deletes it. */
        run_ops_appending(&r, 5);
        uint64_t left = wait_spare(&r);
        pl_cut(&r, 0);
        pl_reopen(&r, 1, "reopen after a crash with a spare");
        pl_check_prefix(&r, 1, "reopen after a crash with a spare");
        pl_run_ops(&r, 1);
        list_logs(r.fault, &l);
        for (int i = 0; i < l.n; i++)
            if (l.num[i] == left)
                fail_msg("%s: the old spare %" PRIu64 " outlived the open",
                         r.where, left);
        pl_run_fini(&r);
    }
    (void)tu_unwatch(NULL);
}

/* A record whose checksum is wrong, appended to the log at path (keep),
 * or making up the whole file (!keep). */
static void damage_tail(cairn_env *env, const char *path, int keep)
{
    char *data = NULL;
    size_t len = 0;
    if (keep)
        assert_int_equal(cairn__env_read_file(env, path, 1u << 26, &data, &len),
                         0);
    char *d = malloc(len + 17);
    assert_non_null(d);
    if (len > 0)
        memcpy(d, data, len);
    /* crc (wrong), length 10, type FULL, then 10 bytes */
    static const unsigned char rec[17] = {0xde, 0xad, 0xbe, 0xef, 10,  0,
                                          1,    'g',  'a',  'r',  'b', 'a',
                                          'g',  'e',  '!',  '!',  '!'};
    memcpy(d + len, rec, sizeof rec);
    assert_int_equal(cairn__env_write_file(env, path, d, len + 17, 0), 0);
    free(d);
    free(data);
}

/* test_power_loss.c's garbled-tail test with an empty spare behind the
 * current log: the damage is still the torn tail of the newest log that
 * holds anything. */
static void test_torn_tail_before_spare(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_torn_tail_before_spare");
    tu_watch(120, "test_torn_tail_before_spare");
    static const unsigned modes[] = {PL_GARBLE, PL_GARBLE | PL_KEEP, 0};
    int iters = tu_scale() < 0.2 ? 12 : (int)(40 * tu_scale());
    for (int it = 0; it < iters; it++) {
        pl_run r;
        pl_run_iter(&r, seed, it, 104729u);
        assert_int_equal(pl_open(&r, 1, 0), 0);
        run_ops_appending(&r, 30);
        cairn_batch *empty = cairn_batch_create();
        assert_non_null(empty);
        assert_int_equal(cairn_db_write(r.db, r.sync, empty), 0);
        cairn_batch_destroy(empty);
        r.must = r.nhist;
        (void)wait_spare(&r);

        /* The spare is made and no switch comes: the armed fault is the
         * next write's own. Torn (append 1 the header, 2 the payload) or
         * a sync that fails. */
        size_t partial;
        (void)pl_failing_put(&r, it % 2 == 0, 0, &partial);
        (void)cairn_db_close(r.db);
        r.db = NULL;
        pl_cut(&r, modes[(it / 2) % 3]);
        logs l;
        list_logs(r.fault, &l);
        if (l.n < 2 || l.size[l.n - 1] != 0)
            fail_msg("%s: no empty spare after the cut", r.where);
        /* A torn record is often silent (a header or payload cut short at
         * the end of the file); garbage that parses is what paranoid
         * checks see. Add such a record after whatever the cut left. */
        char cur[64];
        snprintf(cur, sizeof cur, "/db/%06" PRIu64 ".log", l.num[l.n - 2]);
        damage_tail(r.mem, cur, 1);
        pl_reopen(&r, 1, "paranoid open, torn tail before a spare");
        pl_check_prefix(&r, 0, "paranoid open, torn tail before a spare");
        pl_run_fini(&r);
    }
    (void)tu_unwatch(NULL);
}

static void test_damage_before_records(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_damage_before_records");
    tu_watch(120, "test_damage_before_records");
    for (int it = 0; it < 8; it++) {
        int later_has_records = it & 1;
        pl_run r;
        pl_run_iter(&r, seed, it, 31337u);
        r.no_spare = 1; /* the logs are made by hand below */
        assert_int_equal(pl_open(&r, 1, 0), 0);
        run_ops_appending(&r, 20);
        pl_cut(&r, 0); /* a process crash: every acknowledged op is there */
        logs l;
        list_logs(r.mem, &l);
        assert_true(l.n >= 1 && l.size[l.n - 1] > 0);
        char cur[64], next[64];
        snprintf(cur, sizeof cur, "/db/%06" PRIu64 ".log", l.num[l.n - 1]);
        snprintf(next, sizeof next, "/db/%06" PRIu64 ".log",
                 l.num[l.n - 1] + 1000);
        if (later_has_records) {
            /* The records move to a later log; the current one becomes a
             * damaged record alone, so the history has a hole. */
            char *data = NULL;
            size_t len = 0;
            assert_int_equal(
                cairn__env_read_file(r.mem, cur, 1u << 26, &data, &len), 0);
            assert_int_equal(cairn__env_write_file(r.mem, next, data, len, 0),
                             0);
            free(data);
            damage_tail(r.mem, cur, 0);
        } else {
            /* A torn tail, then an empty log (a spare). */
            assert_int_equal(cairn__env_write_file(r.mem, next, "", 0, 0), 0);
            damage_tail(r.mem, cur, 1);
        }
        int rc = pl_open(&r, 0, 1);
        if (later_has_records) {
            if (rc != CAIRN_CORRUPTION)
                fail_msg("%s: damage followed by a log with records: open "
                         "gave %s (%s), not CAIRN_CORRUPTION",
                         r.where, cairn_errname(rc), cairn_errmsg());
            assert_non_null(strstr(cairn_errmsg(), cur));
            r.db = NULL;
            /* Without paranoid checks the damage is dropped. */
            pl_reopen(&r, 0, "non-paranoid open past the hole");
        } else if (rc != 0) {
            fail_msg("%s: torn tail before an empty log: open failed: %s "
                     "(%s)",
                     r.where, cairn_errname(rc), cairn_errmsg());
        }
        pl_check_prefix(&r, 1, "after the damaged log");
        pl_run_fini(&r);
    }
    (void)tu_unwatch(NULL);
}

/* The flushing thread fails to make the spare (the second creation after
 * the switch: the first is the flushed table). */
static void test_spare_creation_fails(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_spare_creation_fails");
    tu_watch(120, "test_spare_creation_fails");
    for (int it = 0; it < 4; it++) {
        pl_run r;
        pl_run_iter(&r, seed, it, 65537u);
        assert_int_equal(pl_open(&r, 1, 0), 0);
        run_ops_appending(&r, 20);
        uint64_t spare = wait_spare(&r);
        assert_int_equal(cairn__env_fault_arm(r.fault, CAIRN__FAULT_CREATE, 2,
                                              it & 1 ? CAIRN_NOSPC : CAIRN_IO,
                                              0),
                         0);
        assert_int_equal(cairn_db_flush(r.db), 0);
        for (int i = 0; cairn__env_fault_injected(r.fault) == 0; i++) {
            if (i == 20000)
                fail_msg("%s: the spare's creation never failed", r.where);
            sleep_ms(1);
        }
        cairn__env_fault_disarm_all(r.fault);
        if (!ws_wait_spare_failed(r.db, 20000))
            fail_msg("%s: the failed spare was not counted", r.where);
        uint64_t made, taken, failed;
        ws_spare_counts(r.db, &made, &taken, &failed);
        assert_int_equal(failed, 1);
        /* No write sees it; no spare is made until the next switch, which
         * makes its own log. */
        run_ops_appending(&r, 10);
        logs l;
        list_logs(r.fault, &l);
        assert_int_equal(l.num[l.n - 1], spare);
        assert_int_equal(cairn_db_flush(r.db), 0);
        run_ops_appending(&r, 10);
        uint64_t again = wait_spare(&r);
        assert_true(again > spare);
        assert_int_equal(cairn_db_close(r.db), 0);
        r.db = NULL;
        pl_reopen(&r, 1, "reopen");
        pl_check_prefix(&r, 1, "reopen");
        pl_run_fini(&r);
    }
    (void)tu_unwatch(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_made_and_taken, tu_unwatch),
        cmocka_unit_test_teardown(test_torn_tail_before_spare, tu_unwatch),
        cmocka_unit_test_teardown(test_damage_before_records, tu_unwatch),
        cmocka_unit_test_teardown(test_spare_creation_fails, tu_unwatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
