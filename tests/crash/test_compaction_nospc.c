/*
 * test_compaction_nospc.c: ENOSPC during compaction (the fault env over
 * the in-memory env). Level 0 is filled with compaction paused, then a
 * compaction (manual, or automatic after resuming) runs with the Nth
 * write failing persistently with CAIRN_NOSPC (and a short write of 100
 * bytes), for N spread over the compaction's writes: the first, the last,
 * quarters and random ones (the random ones fixed by the printed seed;
 * CAIRN_TEST_SEED replays it). Afterwards the database stays readable,
 * writes are refused with CAIRN_NOSPC, and the directory holds at most
 * EXTRA_MAX (1) files beyond what the MANIFEST names. Extra files are
 * tables neither the MANIFEST nor the running version lists, other
 * MANIFESTs, logs older than the MANIFEST's log number, and temp files.
 * Tables only the running version lists are not extra: when a MANIFEST
 * record is written but its flush fails, the record names the outputs
 * while the running version still reads the inputs, and both must stay
 * until a reopen decides. The one extra file allowed is the output of the
 * failed compaction when its MANIFEST record was torn (each compaction
 * here writes a single table): it is kept because the record might have
 * reached the disk, and the next open deletes it. After a healthy reopen
 * and close no extra file remains.
 *
 * Failures of flushes and compactions at every write, sync and rename of
 * a scripted workload are test_compaction_faults.c's. The keys, values and
 * file checks are tests/support/fault_db.h's.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env_fault.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fault_db.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXTRA_MAX 1

#define FILL_ROUNDS 6

/* A database whose level 0 holds several overlapping tables, with
 * compaction paused; m gets its contents. */
static cairn_db *fill(fdb_envs *e, fdb_model *m)
{
    cairn_db *db = NULL;
    char k[16], val[FDB_VAL_MAX];
    assert_int_equal(fdb_open_db(e->fault, &db), 0);
    assert_int_equal(cairn_db_pause_compaction(db), 0);
    memset(m, 0, sizeof *m);
    for (int round = 0; round < FILL_ROUNDS; round++) {
        for (int key = round % 2; key < FDB_NKEYS; key += 2) {
            uint32_t id = (uint32_t)(round + 1) * 1000u + (uint32_t)key;
            assert_int_equal(cairn_db_put(db, NULL, k, fdb_make_key(k, key),
                                          val, fdb_make_value(val, id)),
                             0);
            m->v[key] = id;
        }
        if (round == 2)
            assert_int_equal(cairn_db_delete(db, NULL, "key0007", 7), 0);
        m->v[7] = round == 2 ? 0 : m->v[7];
        assert_int_equal(cairn_db_flush(db), 0);
    }
    return db;
}

static long level0(cairn_db *db)
{
    char *v = cairn_db_property(db, "cairn.num-files-at-level0");
    assert_non_null(v);
    long n = strtol(v, NULL, 10);
    cairn_free(v);
    return n;
}

/* One compaction with the nth write failing with ENOSPC (nth 0: never);
 * automatic: resume background compaction instead of compacting by hand.
 * Returns the writes the compaction performed (when it did not fail). */
static uint64_t nospc_point(uint64_t nth, int automatic, int *fired,
                            int *max_extra)
{
    char label[96];
    snprintf(label, sizeof label,
             "ENOSPC at compaction write #%" PRIu64 " (%s)", nth,
             automatic ? "automatic" : "manual");
    fdb_envs e = fdb_envs_create();
    fdb_model m;
    cairn_db *db = fill(&e, &m);
    assert_true(level0(db) >= 4);
    uint64_t base = cairn__env_fault_count(e.fault, CAIRN__FAULT_WRITE);
    if (nth > 0) {
        assert_int_equal(cairn__env_fault_arm(e.fault, CAIRN__FAULT_WRITE, nth,
                                              CAIRN_NOSPC, 1),
                         0);
        cairn__env_fault_set_partial(e.fault, 100);
    }
    int rc = 0;
    if (automatic) {
        assert_int_equal(cairn_db_resume_compaction(db), 0);
        tu_watchdog_arm(60, label);
        const struct timespec tick = {0, 2 * 1000 * 1000};
        while (cairn__env_fault_injected(e.fault) == 0 && level0(db) >= 4)
            nanosleep(&tick, NULL);
        tu_watchdog_disarm();
    } else {
        rc = cairn_db_compact_range(db, NULL, 0, NULL, 0);
    }
    uint64_t writes =
        cairn__env_fault_count(e.fault, CAIRN__FAULT_WRITE) - base;
    *fired = cairn__env_fault_injected(e.fault) != 0;
    char why[200];
    if (!*fired) {
        assert_int_equal(rc, 0);
        if (!fdb_db_equals(db, &m, why, sizeof why))
            fail_msg("%s: clean compaction: %s", label, why);
        assert_int_equal(cairn_db_close(db), 0);
        fdb_envs_destroy(&e);
        return writes;
    }
    if (!automatic && rc != CAIRN_NOSPC)
        fail_msg("%s: compact_range returned %s, expected CAIRN_NOSPC (%s)",
                 label, cairn_errname(rc), cairn_errmsg());
    if (!fdb_db_equals(db, &m, why, sizeof why))
        fail_msg("%s: reads after the failure: %s (seed %" PRIu64 ")", label,
                 why, fdb_seed);
    rc = cairn_db_put(db, NULL, "probe", 5, "x", 1);
    if (rc != CAIRN_NOSPC)
        fail_msg("%s: a put after the failure returned %s, expected "
                 "CAIRN_NOSPC",
                 label, cairn_errname(rc));
    /* A background compaction may still be cleaning up until close. */
    fdb_manifest live;
    fdb_version_tables(db, &live);
    char list[300];
    int extra = automatic ? 0
                          : fdb_check_files(e.mem, &live, label, "after ENOSPC",
                                            list, sizeof list);
    (void)cairn_db_close(db);
    if (automatic)
        extra = fdb_check_files(e.mem, &live, label, "after ENOSPC and close",
                                list, sizeof list);
    if (extra > EXTRA_MAX)
        fail_msg("%s: %d files beyond what the MANIFEST names:%s (at most %d "
                 "allowed)",
                 label, extra, list, EXTRA_MAX);
    *max_extra = extra > *max_extra ? extra : *max_extra;
    fdb_recover(&e, fdb_expect_model, &m, label);
    fdb_envs_destroy(&e);
    return writes;
}

static void nospc_during_compaction(void **state)
{
    (void)state;
    fdb_seed = tu_seed("compaction_faults/nospc");
    tu_rng r;
    tu_rng_init(&r, fdb_seed);
    for (int automatic = 0; automatic < 2; automatic++) {
        int fired, max_extra = 0;
        uint64_t total = nospc_point(0, automatic, &fired, &max_extra);
        assert_true(total > 0);
        uint64_t pts[12] = {1,         2,         3,
                            total / 4, total / 2, 3 * total / 4,
                            total - 2, total - 1, total};
        for (int i = 9; i < 12; i++)
            pts[i] = 1 + tu_rng_uniform(&r, total);
        int nfired = 0;
        for (int i = 0; i < 12; i++) {
            if (pts[i] < 1 || pts[i] > total)
                continue;
            (void)nospc_point(pts[i], automatic, &fired, &max_extra);
            nfired += fired;
        }
        fprintf(stderr,
                "ENOSPC (%s compaction): %" PRIu64 " writes, %d of 12 points "
                "fired, at most %d extra files\n",
                automatic ? "automatic" : "manual", total, nfired, max_extra);
        assert_true(nfired > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nospc_during_compaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
