/*
 * test_power_loss_switch.c: a power cut while a memtable switch's old log
 * is still being synced (src/db/write.c, switch_memtable, sync_old_log).
 *
 * The switching writer syncs the old log after handing leadership on, so
 * writers go on into the new log meanwhile. A power cut in that window
 * may keep records of the new log (the kernel writes pages back in any
 * order) and lose the old log's unsynced tail. Recovery must then open the
 * database at one point of its history: it stops where the sequence
 * breaks between the logs (src/db/db.c, recover), with or without
 * paranoid_checks, instead of keeping later writes around lost ones.
 *
 * The window is reached by construction: a gate env over a fault env over
 * a memory env holds the old log's sync at GATE_LOGSYNC (before it reaches
 * the fault env, so the cut is not blocked) and table syncs at GATE_TABLE
 * (no flush can make the old log obsolete). The cut keeps a random prefix
 * of each file's unsynced bytes, per seed, in four variants (below). Every
 * write is of a distinct key, in one known order, so "a point of its history"
 * is "the keys present are exactly the first k written". The test also counts
 * the cuts that left the hole (the old log cut short, the new log holding
 * records): without them it could not fail, so it requires some.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env_fault.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate_env.h"
#include "testutil.h"
#include "write_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WBS    (64 * 1024)
#define NOLD   20 /* small writes in the old log before the big one */
#define NNEW   30 /* writes into the new log while the old one syncs */
#define VLEN   100
#define NSEEDS 40

/* The history, in write order: o00..o19, "big", then (new log) "a",
 * n00..n29. */
#define NHIST (NOLD + 1 + 1 + NNEW)

static void hist_key(int i, char *buf, size_t cap)
{
    if (i < NOLD)
        snprintf(buf, cap, "o%02d", i);
    else if (i == NOLD)
        snprintf(buf, cap, "big");
    else if (i == NOLD + 1)
        snprintf(buf, cap, "a");
    else
        snprintf(buf, cap, "n%02d", i - NOLD - 2);
}

static void put(cairn_db *db, const char *key, size_t vlen)
{
    static char val[WBS];
    memset(val, 'v', sizeof val);
    int rc = cairn_db_put(db, NULL, key, strlen(key), val, vlen);
    if (rc != 0)
        fail_msg("put %s: %s (%s)", key, cairn_errname(rc), cairn_errmsg());
}

/* The two logs with records, by number: the old and the new. */
typedef struct log_sizes {
    unsigned long old_num, new_num;
    uint64_t old_size, new_size;
} log_sizes;

static uint64_t size_of_log(cairn_env *env, unsigned long num)
{
    char path[64];
    snprintf(path, sizeof path, "%s/%06lu.log", DBNAME, num);
    uint64_t size = 0;
    if (env->ops->exists(env, path))
        assert_int_equal(env->ops->file_size(env, path, &size), 0);
    return size;
}

static log_sizes sizes_of_logs(cairn_env *env)
{
    cairn__strlist names = {NULL, 0};
    assert_int_equal(env->ops->list(env, DBNAME, &names), 0);
    /* The lowest two numbered logs that are not empty. */
    unsigned long num[2] = {0, 0};
    uint64_t sz[2] = {0, 0};
    for (size_t i = 0; i < names.n; i++) {
        unsigned long n;
        char tail[8];
        if (sscanf(names.names[i], "%lu.%7s", &n, tail) != 2 ||
            strcmp(tail, "log") != 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "%s/%s", DBNAME, names.names[i]);
        uint64_t size = 0;
        assert_int_equal(env->ops->file_size(env, path, &size), 0);
        if (size == 0)
            continue;
        if (sz[0] == 0 || n < num[0]) {
            num[1] = num[0];
            sz[1] = sz[0];
            num[0] = n;
            sz[0] = size;
        } else if (sz[1] == 0 || n < num[1]) {
            num[1] = n;
            sz[1] = size;
        }
    }
    cairn__strlist_fini(&names);
    log_sizes s = {num[0], num[1], sz[0], sz[1]};
    return s;
}

/* One run; 1 if the cut left the hole (old log short, new log kept). */
static int one_run(uint64_t seed, unsigned modes, int paranoid)
{
    cairn_env *mem = cairn_env_mem_create();
    assert_non_null(mem);
    cairn_env *fe = NULL;
    assert_int_equal(cairn__env_fault_create(mem, &fe), 0);
    gate_env *g = gate_env_over(fe, 1);
    cairn_options *opt = cairn_options_create();
    assert_non_null(opt);
    assert_int_equal(cairn_options_set_write_buffer_size(opt, WBS), 0);
    assert_int_equal(cairn_options_set_max_immutable_memtables(opt, 4), 0);
    cairn_db *db = open_db(g, opt);

    char key[16];
    for (int i = 0; i < NOLD; i++) {
        hist_key(i, key, sizeof key);
        put(db, key, VLEN);
    }
    put(db, "big", WBS); /* the memtable is full: the next write switches */
    gate_close(g, GATE_TABLE);
    gate_close(g, GATE_LOGSYNC);
    cairn_batch *b = make_batch("a", VLEN);
    job sw;
    start_job(&sw, db, b, 0, 0);
    /* The switching writer has appended "a" to the new log and waits to
     * sync the old one. */
    gate_wait_blocked(g, GATE_LOGSYNC, 1);
    for (int i = 0; i < NNEW; i++) {
        hist_key(NOLD + 2 + i, key, sizeof key);
        put(db, key, VLEN);
    }
    log_sizes before = sizes_of_logs(mem);
    assert_true(before.new_size > 0 && before.new_num > before.old_num);

    int rc = cairn__env_fault_power_cut(fe, modes, seed);
    if (rc != 0)
        fail_msg("seed %llu: power cut: %s", (unsigned long long)seed,
                 cairn_errname(rc));
    uint64_t old_after = size_of_log(mem, before.old_num);
    uint64_t new_after = size_of_log(mem, before.new_num);
    gate_open(g, GATE_LOGSYNC);
    gate_open(g, GATE_TABLE);
    /* The old log's sync fails on the dead env: that write gets the
     * error (it was never acknowledged). */
    assert_int_not_equal(join_job(&sw), 0);
    (void)cairn_db_close(db); /* errors expected: the env is dead */
    cairn__env_fault_reset(fe);

    assert_int_equal(cairn_options_set_paranoid_checks(opt, paranoid), 0);
    assert_int_equal(cairn_options_set_create_if_missing(opt, 0), 0);
    assert_int_equal(cairn_options_set_env(opt, fe), 0);
    db = NULL;
    rc = cairn_db_open(opt, DBNAME, &db);
    if (rc != 0)
        fail_msg("seed %llu modes %#x paranoid %d: reopen: %s (%s)",
                 (unsigned long long)seed, modes, paranoid, cairn_errname(rc),
                 cairn_errmsg());
    /* The keys present must be the first k of the history. */
    int k = -1;
    for (int i = 0; i < NHIST; i++) {
        hist_key(i, key, sizeof key);
        void *v = NULL;
        size_t n = 0;
        rc = cairn_db_get(db, NULL, key, strlen(key), &v, &n);
        if (rc == 0) {
            size_t want = i == NOLD ? WBS : VLEN;
            if (n != want)
                fail_msg("seed %llu: %s has %zu bytes, not %zu",
                         (unsigned long long)seed, key, n, want);
            cairn_free(v);
            if (k >= 0)
                fail_msg("seed %llu modes %#x paranoid %d: %s (write %d) "
                         "recovered, "
                         "but write %d before it was lost: not a point of "
                         "the history",
                         (unsigned long long)seed, modes, paranoid, key, i, k);
        } else {
            assert_int_equal(rc, CAIRN_NOTFOUND);
            if (k < 0)
                k = i;
        }
    }
    /* And the database takes writes again. */
    put(db, "after", VLEN);
    assert_int_equal(cairn_db_close(db), 0);

    cairn_batch_destroy(b);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    cairn_env_destroy(fe);
    cairn_env_destroy(mem);
    /* The hole: the old log lost bytes while the new one kept at least
     * its first record ("a" takes more than VLEN bytes), not garbled. */
    return (modes & CAIRN__FAULT_GARBLE_UNSYNCED) == 0 &&
           old_after < before.old_size && new_after > VLEN;
}

static void test_cut_while_old_log_syncs(void **state)
{
    (void)state;
    tu_watchdog_arm(120, "power cut while the old log syncs");
    /* A random prefix of each file's unsynced bytes is kept: with and
     * without paranoid_checks, with unsynced directory entries reverted
     * too, and with the kept bytes garbled (not under paranoid_checks,
     * which may refuse garbage as damage, as in test_power_loss.c). */
    static const struct {
        unsigned modes;
        int paranoid;
    } cuts[] = {
        {CAIRN__FAULT_KEEP_RANDOM_PREFIX, 0},
        {CAIRN__FAULT_KEEP_RANDOM_PREFIX, 1},
        {CAIRN__FAULT_KEEP_RANDOM_PREFIX | CAIRN__FAULT_DELETE_UNSYNCED_ENTRIES,
         1},
        {CAIRN__FAULT_KEEP_RANDOM_PREFIX | CAIRN__FAULT_GARBLE_UNSYNCED, 0},
    };
    int holes = 0;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++)
        holes += one_run(seed, cuts[seed % 4].modes, cuts[seed % 4].paranoid);
    tu_watchdog_disarm();
    print_message("%d of %d cuts left the hole\n", holes, NSEEDS);
    /* Without such cuts this test proves nothing. */
    if (holes < 3)
        fail_msg("only %d of %d cuts left the old log short and the new one "
                 "with records",
                 holes, NSEEDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_while_old_log_syncs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
