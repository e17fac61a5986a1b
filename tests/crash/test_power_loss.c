/*
 * test_power_loss.c: simulated power loss (the fault env over the
 * in-memory env) at random points of a random workload, during database
 * creation, and inside a reopen.
 *
 * The workload, its history and the prefix rule checked after every cut
 * are tests/support/power_loss.h's: after a power cut and a reopen, the
 * database must hold exactly the state after some prefix of the
 * acknowledged history that includes every op up to the last
 * sync-acknowledged one. It follows that no value appears that was never
 * written and that a batch is all-or-nothing. With cut modes that lose no
 * file data (none, or only unsynced directory entries) the prefix must be
 * the whole history, as after a process kill. The database must open
 * after every cut.
 *
 * Each iteration runs one to three rounds of (writes, cut, reopen, check)
 * on the same database, cycling through the cut modes: drop, garble or
 * keep a random prefix of unsynced data, revert unsynced directory
 * entries, and their combinations. Reopens use paranoid_checks in some
 * rounds, but not where acknowledged (unsynced) records were garbled:
 * paranoid_checks is documented to fail the open on such damage.
 *
 * Separate tests cover: a garbled torn record that was never acknowledged
 * (must not stop a paranoid open); a paranoid reopen after an earlier
 * non-paranoid recovery dropped damaged records (the damage was already
 * dealt with and must not fail later opens, as in LevelDB, which writes
 * the recovered data to a table); and power cuts landing inside open.
 * A cut inside open is made by failing, persistently, the Nth operation of
 * one kind (create, write, sync, rename, remove), which freezes open's
 * progress at that point, then cutting the power; N walks every point.
 *
 * Replay: every choice comes from the printed seed (CAIRN_TEST_SEED).
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

#include "power_loss.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WALK 2000

/* The test's seed, named in every failure so it can be replayed. */
static uint64_t g_seed;

static const unsigned cut_modes[] = {
    PL_DROP,
    PL_GARBLE,
    PL_KEEP,
    PL_KEEP | PL_GARBLE,
    PL_ENTRIES,
    PL_DROP | PL_ENTRIES,
    PL_KEEP | PL_ENTRIES,
    PL_GARBLE | PL_ENTRIES,
    PL_KEEP | PL_GARBLE | PL_ENTRIES,
    0,
};
#define NMODES (sizeof cut_modes / sizeof cut_modes[0])

/* ---------------------------------------------------------------------- */
/* Random cuts in a random workload                                        */

static void test_random_cuts(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_random_cuts");
    tu_watch(300, "test_random_cuts");
    int iters = tu_scale() < 0.125 ? 20 : (int)(160 * tu_scale());
    unsigned mode_i = 0;
    for (int it = 0; it < iters; it++) {
        pl_run r;
        char what[64];
        snprintf(what, sizeof what, "iteration %d", it);
        pl_run_init(&r, &pl_tuning_small, seed + (uint64_t)it * 7919u, g_seed,
                    what);
        assert_int_equal(pl_open(&r, 1, 0), 0);
        int rounds = 1 + (int)tu_rng_uniform(&r.rng, 3), garbled = 0;
        for (int round = 0; round < rounds; round++) {
            unsigned modes = cut_modes[mode_i++ % NMODES];
            pl_run_ops(&r, 1 + (int)tu_rng_uniform(&r.rng, 60));
            char when[96];
            snprintf(when, sizeof when, "round %d, cut modes %#x", round,
                     modes);
            pl_cut(&r, modes);
            garbled |= (modes & PL_GARBLE) != 0;
            int paranoid = !garbled && tu_rng_uniform(&r.rng, 2) == 0;
            pl_reopen(&r, paranoid, when);
            pl_check_prefix(&r, !pl_loses_data(modes), when);
        }
        pl_run_fini(&r);
    }
    fprintf(stderr, "test_random_cuts: %d iterations, %u cuts\n", iters,
            mode_i);
    (void)tu_unwatch(NULL);
}

/* ---------------------------------------------------------------------- */
/* Damage that must not stop a paranoid open                               */

/* A write that is never acknowledged can leave its record in the log's
 * unsynced tail, after everything acknowledged was synced: (a) an append
 * that fails half-way leaves a torn record, which the log's close then
 * hands to the file; (b) a sync write whose sync fails leaves a whole
 * record. A cut then garbles that tail (or keeps it as it is). The record
 * was never acknowledged, so even paranoid_checks must open the database
 * with every acknowledged write; the failed write may be present, but
 * only entirely. */
static void test_garbled_unacked_tail_paranoid(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_garbled_unacked_tail_paranoid");
    tu_watch(120, "test_garbled_unacked_tail_paranoid");
    static const unsigned modes[] = {PL_GARBLE, PL_GARBLE | PL_KEEP, 0};
    int iters = tu_scale() < 0.2 ? 12 : (int)(60 * tu_scale());
    for (int it = 0; it < iters; it++) {
        pl_run r;
        char what[64];
        snprintf(what, sizeof what, "iteration %d", it);
        pl_run_init(&r, &pl_tuning_small, seed + (uint64_t)it * 104729u, g_seed,
                    what);
        r.no_spare = 1; /* the armed fault is the next write's */
        assert_int_equal(pl_open(&r, 1, 0), 0);
        pl_run_ops(&r, 1 + (int)tu_rng_uniform(&r.rng, 30));
        /* An empty sync batch makes every acknowledged op durable. */
        cairn_batch *empty = cairn_batch_create();
        assert_non_null(empty);
        assert_int_equal(cairn_db_write(r.db, r.sync, empty), 0);
        cairn_batch_destroy(empty);
        r.must = r.nhist;

        /* Variants: torn (twice), a small record whose sync failed, and
         * one of over 32 KiB, always garbled, whose first fragment is then
         * damage that does not reach the end of the file. */
        int torn = it % 4 < 2, big = it % 4 == 3;
        size_t partial;
        uint64_t nth = pl_failing_put(&r, torn, big ? 33000 : 0, &partial);

        unsigned m = big ? PL_GARBLE : modes[(it / 4) % 3];
        char when[120];
        snprintf(when, sizeof when,
                 "%s (append %" PRIu64 ", %zu bytes), modes %#x",
                 torn  ? "torn record"
                 : big ? "record of over 32 KiB whose sync failed"
                       : "record whose sync failed",
                 nth, partial, m);
        /* Close first, so the log's close hands a torn record to the
         * file; then the cut. */
        (void)cairn_db_close(r.db);
        r.db = NULL;
        pl_cut(&r, m);
        pl_reopen(&r, 1, when);
        pl_check_prefix(&r, 0, when);
        pl_run_fini(&r);
    }
    (void)tu_unwatch(NULL);
}

/* A non-paranoid open recovers past garbled records (dropping them); once
 * it has, the database is healthy: a later paranoid open must succeed and
 * show the same state. */
static void test_paranoid_after_recovery(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_paranoid_after_recovery");
    tu_watch(120, "test_paranoid_after_recovery");
    for (int it = 0; it < 16; it++) {
        pl_run r;
        char what[64];
        snprintf(what, sizeof what, "iteration %d", it);
        pl_run_init(&r, &pl_tuning_small, seed + (uint64_t)it * 15485863u,
                    g_seed, what);
        assert_int_equal(pl_open(&r, 1, 0), 0);
        pl_run_ops(&r, 10 + (int)tu_rng_uniform(&r.rng, 40));
        pl_cut(&r, it & 1 ? PL_GARBLE : PL_GARBLE | PL_KEEP);
        pl_reopen(&r, 0, "non-paranoid recovery");
        pl_check_prefix(&r, 0, "non-paranoid recovery");
        pl_run_ops(&r, 1 + (int)tu_rng_uniform(&r.rng, 10));
        assert_int_equal(cairn_db_close(r.db), 0);
        r.db = NULL;
        pl_reopen(&r, 1, "paranoid open after recovery");
        pl_check_prefix(&r, 1, "paranoid open after recovery");
        pl_run_fini(&r);
    }
    (void)tu_unwatch(NULL);
}

/* ---------------------------------------------------------------------- */
/* Cuts inside open                                                        */

/* One point of the walk: open with the Nth op of kind failing for good,
 * cut, reopen. Returns 1 if the fault fired (the walk goes on). */
static int cut_in_open_once(uint64_t seed, int existing,
                            enum cairn__fault_kind kind, uint64_t n,
                            int variant)
{
    pl_run r;
    char what[96];
    static const char *const kind_names[] = {"write",  "sync",   "rename",
                                             "create", "remove", "read"};
    snprintf(what, sizeof what, "%s, %s op %" PRIu64 " failing",
             existing ? "cut inside reopen" : "cut inside create",
             kind_names[kind], n);
    pl_run_init(&r, &pl_tuning_small,
                seed + n * 31u + (uint64_t)kind * 7u + (uint64_t)variant,
                g_seed, what);
    if (existing) {
        /* A database whose whole history is durable. */
        assert_int_equal(pl_open(&r, 1, 0), 0);
        pl_run_ops(&r, 5 + (int)tu_rng_uniform(&r.rng, 40));
        assert_int_equal(cairn_db_close(r.db), 0);
        r.db = NULL;
        cairn__env_fault_reset(r.fault);
    }
    assert_int_equal(cairn__env_fault_arm(r.fault, kind, n, CAIRN_IO, 1), 0);
    int rc = pl_open(&r, 1, 0);
    int fired = cairn__env_fault_injected(r.fault) != 0;
    if (rc == 0 && !fired) {
        /* Past the end of open: the walk is done. */
        pl_run_fini(&r);
        return 0;
    }
    /* The two variants of a point pair a mode that reverts unsynced
     * directory entries with one that keeps them. */
    unsigned modes = cut_modes[(n + (uint64_t)variant * (NMODES / 2)) % NMODES];
    pl_cut(&r, modes);
    cairn__env_fault_disarm_all(r.fault);
    int paranoid = (modes & PL_GARBLE) == 0 && (n & 1);
    rc = pl_open(&r, 0, paranoid);
    if (!existing && rc == CAIRN_INVALID) {
        /* The cut came before CURRENT was durable: no database yet, and
         * it can be created. */
        rc = pl_open(&r, 1, paranoid);
    }
    if (rc != 0)
        fail_msg("%s: open after the cut (modes %#x): %s (%s)", r.where, modes,
                 cairn_errname(rc), cairn_errmsg());
    pl_check_prefix(&r, 1, "after the cut inside open");
    /* The database works: a sync write survives another cut. */
    char key[16];
    size_t kl = pl_make_key(&r, key, 1);
    assert_int_equal(cairn_db_put(r.db, r.sync, key, kl, "x", 1), 0);
    pl_cut(&r, PL_DROP | PL_ENTRIES);
    pl_reopen(&r, 0, "second reopen");
    void *got = NULL;
    size_t len = 0;
    assert_int_equal(cairn_db_get(r.db, NULL, key, kl, &got, &len), 0);
    assert_int_equal(len, 1);
    cairn_free(got);
    pl_run_fini(&r);
    return 1;
}

static void walk_cuts_in_open(int existing)
{
    static const enum cairn__fault_kind kinds[] = {
        CAIRN__FAULT_CREATE, CAIRN__FAULT_WRITE, CAIRN__FAULT_SYNC,
        CAIRN__FAULT_RENAME, CAIRN__FAULT_REMOVE};
    uint64_t seed = g_seed =
        tu_seed(existing ? "test_cut_inside_reopen" : "test_cut_inside_create");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        uint64_t n = 1;
        while (n < MAX_WALK &&
               cut_in_open_once(seed, existing, kinds[k], n, 0) &&
               cut_in_open_once(seed, existing, kinds[k], n, 1))
            n++;
        assert_true(n < MAX_WALK);
    }
}

static void test_cut_inside_create(void **state_)
{
    (void)state_;
    tu_watch(120, "test_cut_inside_create");
    walk_cuts_in_open(0);
    (void)tu_unwatch(NULL);
}

static void test_cut_inside_reopen(void **state_)
{
    (void)state_;
    tu_watch(120, "test_cut_inside_reopen");
    walk_cuts_in_open(1);
    (void)tu_unwatch(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_random_cuts, tu_unwatch),
        cmocka_unit_test_teardown(test_garbled_unacked_tail_paranoid,
                                  tu_unwatch),
        cmocka_unit_test_teardown(test_paranoid_after_recovery, tu_unwatch),
        cmocka_unit_test_teardown(test_cut_inside_create, tu_unwatch),
        cmocka_unit_test_teardown(test_cut_inside_reopen, tu_unwatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
