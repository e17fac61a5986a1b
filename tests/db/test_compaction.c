/*
 * test_compaction.c: acceptance tests of leveled compaction, through the
 * public API (plus the env's list and file_size to measure the directory).
 *
 *  1. Space comes back. About 100 MiB (times CAIRN_TEST_SCALE) of
 *     incompressible values is written in random key order; the largest
 *     directory size seen while writing is the peak. Every key is then
 *     deleted and the whole range compacted: the directory must shrink to
 *     under 1% of the peak. Then 10,000 keys are overwritten 50 times: the
 *     directory must stay under a bound derived from the live data and the
 *     write buffer (see bounded_overwrite), whatever the number of rounds.
 *  2. Pause and resume: paused, flushes still happen and level 0 fills
 *     past the compaction trigger; resumed, it drains below it.
 *
 * Level 0 under load is test_compaction_load.c's; snapshots across
 * compactions are test_compaction_snapshots.c's. Values come from
 * tests/support/compaction_util.h. Everything runs in the in-memory env.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "compaction_util.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Sum of the sizes of the files in /db (only tables if tables_only). A
 * file removed between list and file_size is simply not counted. */
static uint64_t dir_bytes(cairn_env *env, int tables_only)
{
    cairn__strlist l = {NULL, 0};
    ct_ok(env->ops->list(env, "/db", &l), "list /db");
    uint64_t sum = 0;
    char path[300];
    for (size_t i = 0; i < l.n; i++) {
        if (tables_only && !ends_with(l.names[i], ".ldb"))
            continue;
        snprintf(path, sizeof path, "/db/%s", l.names[i]);
        uint64_t sz;
        if (env->ops->file_size(env, path, &sz) == 0)
            sum += sz;
    }
    cairn__strlist_fini(&l);
    return sum;
}

static uint32_t *identity(size_t n)
{
    uint32_t *a = malloc(n * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = (uint32_t)i;
    return a;
}

/* ---------------------------------------------------------------------- */
/* 1. Space comes back                                                     */

#define BIG_LEN 4000

static void space_reclaimed(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("compaction/space_reclaimed"));
    size_t n = (size_t)(100.0 * MIB * tu_scale()) / (16 + BIG_LEN);
    if (n < 200)
        n = 200;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    cairn_db *db = ct_open_db(env, 4 * MIB, CAIRN_COMPRESSION_NONE);
    unsigned char *buf = malloc(16 + BIG_LEN);
    assert_non_null(buf);
    uint32_t *order = identity(n);
    ct_shuffle(&r, order, n);

    uint64_t peak = 0;
    for (size_t i = 0; i < n; i++) {
        ct_put_version(db, order[i], 1, BIG_LEN, buf);
        if (i % 64 == 63) {
            uint64_t b = dir_bytes(env, 0);
            peak = b > peak ? b : peak;
        }
    }
    for (int i = 0; i < 300; i++)
        ct_expect_version(db, NULL, (uint32_t)tu_rng_uniform(&r, n), 1, BIG_LEN,
                          buf);
    long deep = 0;
    for (int l = 1; l < 7; l++)
        deep += ct_level_files(db, l);
    assert_true(deep > 0); /* compaction really ran */

    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    char k[16];
    for (size_t i = 0; i < n; i++) {
        ct_ok(cairn_batch_delete(b, k, ct_key_of(order[i], k)), "batch delete");
        if (i % 500 == 499 || i == n - 1) {
            ct_ok(cairn_db_write(db, NULL, b), "delete batch");
            ct_ok(cairn_batch_clear(b), "clear");
        }
    }
    uint64_t before = dir_bytes(env, 0);
    peak = before > peak ? before : peak;
    ct_ok(cairn_db_compact_range(db, NULL, 0, NULL, 0), "compact_range all");
    uint64_t after = dir_bytes(env, 0);
    fprintf(stderr,
            "space: %zu keys (%.1f MiB), peak directory %.1f MiB, after "
            "delete + compaction %" PRIu64 " bytes\n",
            n, (double)n * (16 + BIG_LEN) / MIB, (double)peak / MIB, after);
    if (after * 100 >= peak)
        fail_msg("directory is %" PRIu64 " bytes after deleting everything, "
                 "not under 1%% of the peak %" PRIu64,
                 after, peak);
    for (int l = 0; l < 7; l++)
        assert_int_equal(ct_level_files(db, l), 0);
    cairn_iter *it = cairn_db_iter_create(db, NULL);
    assert_non_null(it);
    cairn_iter_seek_first(it);
    assert_false(cairn_iter_valid(it));
    ct_ok(cairn_iter_status(it), "iter status");
    cairn_iter_destroy(it);

    cairn_batch_destroy(b);
    free(order);
    free(buf);
    ct_ok(cairn_db_close(db), "close");
    cairn_env_destroy(env);
}

#define OW_KEYS 10000
#define OW_LEN  100
#define OW_WBUF (256u * KIB)

static void bounded_overwrite(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("compaction/bounded_overwrite"));
    int rounds = (int)(50 * tu_scale());
    if (rounds < 5)
        rounds = 5;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    cairn_db *db = ct_open_db(env, OW_WBUF, CAIRN_COMPRESSION_NONE);
    unsigned char buf[16 + OW_LEN];
    uint32_t *order = identity(OW_KEYS);
    uint64_t peak = 0;
    for (int round = 1; round <= rounds; round++) {
        ct_shuffle(&r, order, OW_KEYS);
        for (size_t i = 0; i < OW_KEYS; i++) {
            ct_put_version(db, order[i], (uint32_t)round, OW_LEN, buf);
            if (i % 256 == 255) {
                uint64_t b = dir_bytes(env, 0);
                peak = b > peak ? b : peak;
            }
        }
    }
    for (uint32_t id = 0; id < OW_KEYS; id += 7)
        ct_expect_version(db, NULL, id, (uint32_t)rounds, OW_LEN, buf);
    /* D: the bytes of one compacted copy of the live data. */
    ct_ok(cairn_db_compact_range(db, NULL, 0, NULL, 0), "compact_range all");
    uint64_t live = dir_bytes(env, 1);
    /*
     * The bound. Let W be the write buffer and D the live data as one
     * compacted copy. At any moment the directory holds at most:
     *   - logs: the current one and up to two queued behind immutable
     *     memtables, each about W: 3W;
     *   - level 0: at most the stop trigger (12) plus the two queued
     *     memtables' tables, each at most about W (a table of uncompressed
     *     entries is smaller than the memtable that held them): 14W;
     *   - levels >= 1: each holds at most one entry per key. Here only L1
     *     (never over its 10 MiB) and the L2 file that the very first
     *     flush was placed in can hold data: 2D;
     *   - a running compaction's outputs, no bigger than its inputs (all
     *     of level 0 and what it overlaps in L1): 14W + D;
     *   - MANIFEST, LOG and CURRENT: well under W.
     * In total 3D + 32W, independent of the number of rounds. Without
     * reclamation the directory would grow by about D every round.
     */
    uint64_t bound = 3 * live + 32 * (uint64_t)OW_WBUF;
    fprintf(stderr,
            "overwrite: %d rounds of %d keys, live data %" PRIu64
            " bytes, peak directory %" PRIu64 " bytes, bound %" PRIu64 "\n",
            rounds, OW_KEYS, live, peak, bound);
    if (peak > bound)
        fail_msg("directory peaked at %" PRIu64
                 " bytes, over the bound %" PRIu64 " (live %" PRIu64 ")",
                 peak, bound, live);
    free(order);
    ct_ok(cairn_db_close(db), "close");
    cairn_env_destroy(env);
}

/* ---------------------------------------------------------------------- */
/* 2. Pause and resume                                                     */

#define PR_ROUNDS 9
#define PR_KEYS   200

static void pause_resume(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    cairn_db *db = ct_open_db(env, 64 * KIB, CAIRN_COMPRESSION_NONE);
    unsigned char buf[16 + 100];
    ct_ok(cairn_db_pause_compaction(db), "pause");
    /* Each round spans the same key range, so its table overlaps the
     * others and (after the first two, which LevelDB's placement may put
     * at L2 and L1) lands at level 0. */
    for (uint32_t round = 1; round <= PR_ROUNDS; round++) {
        for (uint32_t j = 0; j < PR_KEYS; j++)
            ct_put_version(db, j * PR_ROUNDS + round - 1, round, 100, buf);
        ct_ok(cairn_db_flush(db), "flush");
    }
    long l0 = ct_level_files(db, 0), total = 0;
    for (int l = 0; l < 7; l++)
        total += ct_level_files(db, l);
    fprintf(stderr, "paused: %ld files at level 0 of %ld\n", l0, total);
    assert_int_equal(total, PR_ROUNDS); /* flushed, nothing merged */
    assert_true(l0 >= PR_ROUNDS - 2);
    const struct timespec wait = {0, 100 * 1000 * 1000};
    nanosleep(&wait, NULL);
    assert_int_equal(ct_level_files(db, 0), l0);

    ct_ok(cairn_db_resume_compaction(db), "resume");
    tu_watchdog_arm(60, "level 0 draining after resume");
    const struct timespec tick = {0, 5 * 1000 * 1000};
    while ((l0 = ct_level_files(db, 0)) >= 4)
        nanosleep(&tick, NULL);
    tu_watchdog_disarm();
    assert_true(l0 >= 0);
    for (uint32_t id = 0; id < PR_KEYS * PR_ROUNDS; id++)
        ct_expect_version(db, NULL, id, id % PR_ROUNDS + 1, 100, buf);
    ct_ok(cairn_db_close(db), "close");
    cairn_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pause_resume),
        cmocka_unit_test(bounded_overwrite),
        cmocka_unit_test(space_reclaimed),
    };
    return cmocka_run_group_tests(tests, ct_pool_setup, NULL);
}
