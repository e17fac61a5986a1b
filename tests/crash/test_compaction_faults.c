/*
 * test_compaction_faults.c: I/O failures during flushes and compactions
 * (the fault env over the in-memory env).
 *
 * The workload (fixed by the printed seed; CAIRN_TEST_SEED replays it) is
 * a script of write batches over 300 keys with, between them, explicit
 * flushes, range compactions, one close-and-reopen and a final compaction
 * of everything; the flushes put enough tables at level 0 that automatic
 * compactions run as well. A dry run counts the env's WRITE (append and
 * flush), SYNC (file sync, sync_dir) and RENAME operations after the
 * first open. Then, for each kind and each chosen N, a fresh database runs
 * the script with the Nth operation of that kind failing persistently
 * (CAIRN_IO, or CAIRN_NOSPC with a short write of 100 bytes on every other
 * N), and the test checks:
 *   1. the first failure a call returns makes writes fail from then on
 *      (a plain put must be refused: the error is sticky);
 *   2. reads keep working and show every acknowledged batch, and the batch
 *      that failed entirely or not at all;
 *   3. no live file was deleted: every table the on-disk MANIFEST (the
 *      one CURRENT names, replayed record by record) lists exists, both at
 *      the failure and after recovery;
 *   4. after close, disarm and reopen the database opens, holds exactly
 *      what 2 allowed, compacts everything cleanly and accepts writes.
 * Which N: every N from 1 to the count when the count is at most SWEEP_MAX;
 * otherwise a stride s = ceil(count / SWEEP_MAX) starting at an offset
 * drawn from the seed, plus SWEEP_EXTRA random N, so each run covers a
 * spread of the range and the whole range is covered over the seeds.
 * Counts vary a little from run to run (background compactions interleave
 * with the script differently), so an N the run never reaches is checked
 * as a clean run (no failure may then be reported).
 *
 * ENOSPC during a compaction is test_compaction_nospc.c's. The keys,
 * values and file checks are tests/support/fault_db.h's.
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
#include "write_stats_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOPS        200
#define MAX_ENTRIES 12
#define SWEEP_MAX   500
#define SWEEP_EXTRA 15

enum { OP_BATCH, OP_FLUSH, OP_COMPACT, OP_REOPEN, OP_COMPACT_ALL };

typedef struct op {
    int kind;
    int n;
    int key[MAX_ENTRIES];
    int del[MAX_ENTRIES];
} op;

static op g_ops[NOPS];
static const char *const kind_names[] = {"write", "sync", "rename"};
static const char *const op_names[] = {"batch", "flush", "compact_range",
                                       "reopen", "compact all"};

/* The script: batches, with a flush every 25 ops, range compactions,
 * one reopen in the middle and a full compaction at the end. */
static void gen_script(uint64_t seed)
{
    tu_rng r;
    tu_rng_init(&r, seed);
    for (int i = 0; i < NOPS; i++) {
        op *o = &g_ops[i];
        memset(o, 0, sizeof *o);
        if (i == NOPS - 1)
            o->kind = OP_COMPACT_ALL;
        else if (i == NOPS / 2)
            o->kind = OP_REOPEN;
        else if (i % 25 == 24)
            o->kind = OP_FLUSH;
        else if (i % 40 == 39)
            o->kind = OP_COMPACT;
        else
            o->kind = OP_BATCH;
        o->n =
            o->kind == OP_BATCH ? 1 + (int)tu_rng_uniform(&r, MAX_ENTRIES) : 0;
        for (int j = 0; j < o->n; j++) {
            o->key[j] = (int)tu_rng_uniform(&r, FDB_NKEYS);
            o->del[j] = tu_rng_uniform(&r, 5) == 0;
        }
        if (o->kind == OP_COMPACT) {
            o->key[0] = (int)tu_rng_uniform(&r, FDB_NKEYS / 2);
            o->key[1] = o->key[0] + (int)tu_rng_uniform(&r, FDB_NKEYS / 2);
        }
    }
}

static fdb_model model_after(int nops)
{
    fdb_model m = {{0}};
    for (int i = 0; i < nops; i++)
        for (int j = 0; j < g_ops[i].n; j++)
            m.v[g_ops[i].key[j]] =
                g_ops[i].del[j] ? 0 : (uint32_t)(i * 16 + j + 1);
    return m;
}

/* Runs op i; a reopen replaces *db (NULL if it failed). */
static int do_op(cairn_env *env, cairn_db **db, int i)
{
    const op *o = &g_ops[i];
    char a[16], b[16], val[FDB_VAL_MAX];
    switch (o->kind) {
    case OP_FLUSH:
        return cairn_db_flush(*db);
    case OP_COMPACT:
        return cairn_db_compact_range(*db, a, fdb_make_key(a, o->key[0]), b,
                                      fdb_make_key(b, o->key[1]));
    case OP_COMPACT_ALL:
        return cairn_db_compact_range(*db, NULL, 0, NULL, 0);
    case OP_REOPEN: {
        int rc = cairn_db_close(*db);
        *db = NULL;
        return rc != 0 ? rc : fdb_open_db(env, db);
    }
    default:
        break;
    }
    cairn_batch *bt = cairn_batch_create();
    assert_non_null(bt);
    for (int j = 0; j < o->n; j++) {
        size_t kl = fdb_make_key(a, o->key[j]);
        int rc = o->del[j]
                     ? cairn_batch_delete(bt, a, kl)
                     : cairn_batch_put(
                           bt, a, kl, val,
                           fdb_make_value(val, (uint32_t)(i * 16 + j + 1)));
        assert_int_equal(rc, 0);
    }
    int rc = cairn_db_write(*db, NULL, bt);
    cairn_batch_destroy(bt);
    return rc;
}

/* The database must show ops [0, acked) and, if op `acked` failed and is
 * a batch, that batch entirely or not at all. */
static void check_model(cairn_db *db, int acked, int failed, const char *when,
                        const char *label)
{
    char why[200], why2[200] = "not allowed";
    fdb_model m0 = model_after(acked);
    if (fdb_db_equals(db, &m0, why, sizeof why))
        return;
    if (failed && acked < NOPS && g_ops[acked].kind == OP_BATCH) {
        fdb_model m1 = model_after(acked + 1);
        if (fdb_db_equals(db, &m1, why2, sizeof why2))
            return;
    }
    fail_msg("%s: %s: not the %d acknowledged ops (%s) nor them plus the "
             "failed op (%s) (seed %" PRIu64 ")",
             label, when, acked, why, why2, fdb_seed);
}

/* ---------------------------------------------------------------------- */
/* The sweep                                                               */

/* Recovery must show ops [0, acked) and, maybe, the failed one (ctx:
 * acked). */
static void check_acked(cairn_db *db, const char *when, const char *label,
                        const void *ctx)
{
    check_model(db, *(const int *)ctx, 1, when, label);
}

/* Runs the script with kind's nth operation failing persistently (nth 0:
 * never) and checks points 1-4. Returns 1 if a failure was injected;
 * counts, if not NULL, gets the operations the script performed. */
static int sweep_point(enum cairn__fault_kind kind, uint64_t nth,
                       uint64_t counts[3])
{
    char label[128];
    int code = nth % 2 ? CAIRN_IO : CAIRN_NOSPC;
    snprintf(label, sizeof label, "%s fault #%" PRIu64 " (%s)",
             kind_names[kind], nth, cairn_errname(code));
    fdb_envs e = fdb_envs_create();
    cairn_db *db = NULL;
    assert_int_equal(fdb_open_db(e.fault, &db), 0);
    uint64_t base[3];
    for (int k = 0; k < 3; k++)
        base[k] = cairn__env_fault_count(e.fault, (enum cairn__fault_kind)k);
    if (nth > 0) {
        assert_int_equal(cairn__env_fault_arm(e.fault, kind, nth, code, 1), 0);
        cairn__env_fault_set_partial(e.fault, code == CAIRN_NOSPC ? 100 : 0);
    }
    int acked = 0, rc = 0;
    while (acked < NOPS && (rc = do_op(e.fault, &db, acked)) == 0)
        acked++;
    for (int k = 0; counts != NULL && k < 3; k++)
        counts[k] = cairn__env_fault_count(e.fault, (enum cairn__fault_kind)k) -
                    base[k];
    int fired = cairn__env_fault_injected(e.fault) != 0;
    if (acked == NOPS) {
        /* Not reached (or reached and ignored, which would mean a call
         * reported success past a failed write); or it failed only the
         * making of a spare log after the last flush, which no call
         * depends on (src/db/log_files.c). */
        if (fired && !ws_wait_spare_failed(db, 5000))
            fail_msg("%s: the fault fired but every call succeeded", label);
        check_model(db, NOPS, 0, "clean run", label);
        assert_int_equal(cairn_db_close(db), 0);
        char list[300];
        if (fdb_check_files(e.mem, NULL, label, "clean run", list, sizeof list))
            fail_msg("%s: obsolete files after a clean run:%s", label, list);
        fdb_envs_destroy(&e);
        return 0;
    }
    char why[200];
    snprintf(why, sizeof why, "%s: %s", cairn_errname(rc), cairn_errmsg());
    if (!fired)
        fail_msg("%s: op %d failed with no fault injected: %s", label, acked,
                 why);
    fdb_manifest live;
    int have_live = db != NULL;
    if (db != NULL) {
        if (cairn_db_put(db, NULL, "probe", 5, "x", 1) == 0)
            fail_msg("%s: op %d (%s) failed (%s), yet a later put was "
                     "acknowledged: the error is not sticky (seed %" PRIu64 ")",
                     label, acked, op_names[g_ops[acked].kind], why, fdb_seed);
        check_model(db, acked, 1, "reads after the failure", label);
        fdb_version_tables(db, &live);
    }
    /* Close may report the failure again. Then nothing the MANIFEST on
     * disk or the last running version names may be missing. */
    (void)cairn_db_close(db);
    char list[300];
    (void)fdb_check_files(e.mem, have_live ? &live : NULL, label,
                          "after the failure", list, sizeof list);
    fdb_recover(&e, check_acked, &acked, label);
    fdb_envs_destroy(&e);
    return 1;
}

static void sweep_kind(enum cairn__fault_kind kind)
{
    char name[64];
    snprintf(name, sizeof name, "compaction_faults/%s", kind_names[kind]);
    fdb_seed = tu_seed(name);
    gen_script(fdb_seed);
    uint64_t counts[3];
    assert_int_equal(sweep_point(kind, 0, counts), 0);
    uint64_t total = counts[kind];
    assert_true(total > 0);
    uint64_t max = (uint64_t)(SWEEP_MAX * tu_scale());
    max = max < 10 ? 10 : max;
    uint64_t stride = (total + max - 1) / max;
    tu_rng r;
    tu_rng_init(&r, fdb_seed ^ (uint64_t)kind);
    uint64_t start = 1 + tu_rng_uniform(&r, stride);
    long points = 0, fired = 0;
    for (uint64_t n = start; n <= total; n += stride, points++)
        fired += sweep_point(kind, n, NULL);
    for (int i = 0; stride > 1 && i < SWEEP_EXTRA; i++, points++)
        fired += sweep_point(kind, 1 + tu_rng_uniform(&r, total), NULL);
    fprintf(stderr,
            "%s: script does %" PRIu64 " writes, %" PRIu64 " syncs, %" PRIu64
            " renames; %ld points (stride %" PRIu64 " from %" PRIu64
            "), %ld fired\n",
            kind_names[kind], counts[0], counts[1], counts[2], points, stride,
            start, fired);
    assert_true(fired > 0);
}

static void sweep_writes(void **state)
{
    (void)state;
    sweep_kind(CAIRN__FAULT_WRITE);
}

static void sweep_syncs(void **state)
{
    (void)state;
    sweep_kind(CAIRN__FAULT_SYNC);
}

static void sweep_renames(void **state)
{
    (void)state;
    sweep_kind(CAIRN__FAULT_RENAME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep_renames),
        cmocka_unit_test(sweep_syncs),
        cmocka_unit_test(sweep_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
