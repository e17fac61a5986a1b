/*
 * test_power_loss.c: simulated power loss (the fault env over the
 * in-memory env) at random points of a random workload, during database
 * creation, and inside a reopen.
 *
 * The workload is sync and non-sync puts, deletes, multi-entry batches and
 * empty sync batches on NKEYS keys. Every value is unique ("v<id>|" and
 * padding derived from id, where id names the operation and the entry),
 * so a stale, mixed or garbage value cannot pass for a written one.
 *
 * The prefix rule. After a power cut and a reopen, the database must hold
 * exactly the state after some prefix P of the acknowledged history, where
 * P includes every operation up to the last sync-acknowledged one (a sync
 * write, or an empty sync batch, makes all earlier writes durable). It
 * follows that no value appears that was never written and that a batch
 * is all-or-nothing. With cut modes that lose no file data (none, or only
 * unsynced directory entries) P must be the whole history, as after a
 * process kill. The database must open after every cut.
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

#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS       32
#define MAX_ENTRIES 6
#define MAX_HIST    128
#define VAL_MAX     (48 * 1024)
#define MAX_WALK    2000

/* The test's seed, named in every failure so it can be replayed. */
static uint64_t g_seed;

/* The watchdog, disarmed by each test's teardown too, so that a failing
 * test (whose assert longjmps past its own disarm) leaves no thread. */
static int watchdog_on;

static void watch(unsigned seconds, const char *what)
{
    tu_watchdog_arm(seconds, what);
    watchdog_on = 1;
}

static int unwatch(void **state)
{
    (void)state;
    if (watchdog_on)
        tu_watchdog_disarm();
    watchdog_on = 0;
    return 0;
}

#define DROP    CAIRN__FAULT_DROP_UNSYNCED
#define GARBLE  CAIRN__FAULT_GARBLE_UNSYNCED
#define KEEP    CAIRN__FAULT_KEEP_RANDOM_PREFIX
#define ENTRIES CAIRN__FAULT_DELETE_UNSYNCED_ENTRIES

static const unsigned cut_modes[] = {
    DROP,
    GARBLE,
    KEEP,
    KEEP | GARBLE,
    ENTRIES,
    DROP | ENTRIES,
    KEEP | ENTRIES,
    GARBLE | ENTRIES,
    KEEP | GARBLE | ENTRIES,
    0,
};
#define NMODES (sizeof cut_modes / sizeof cut_modes[0])

typedef struct op {
    int kind; /* 0 put, 1 delete, 2 batch, 3 empty sync batch */
    int sync;
    int n;
    uint32_t opno;
    int key[MAX_ENTRIES];
    int del[MAX_ENTRIES];
} op;

/* Key k holds 0 (absent) or the id opno * 8 + j + 1. */
typedef struct state {
    uint32_t v[NKEYS];
} state;

/* One database on one fault env, with its acknowledged history since the
 * last verified recovery. */
typedef struct run {
    uint64_t seed;
    tu_rng rng;
    cairn_env *mem, *fault;
    cairn_db *db;
    cairn_writeoptions *sync;
    char *val;
    uint32_t next_opno;
    state base; /* verified state at the start of the history */
    op hist[MAX_HIST];
    int nhist;
    int must;        /* ops of hist that are durable (up to the last sync) */
    char where[160]; /* for messages */
} run;

static size_t make_key(char *buf, int k)
{
    return (size_t)snprintf(buf, 16, "k%02d", k);
}

static size_t make_value(char *buf, uint32_t id)
{
    int n = snprintf(buf, 32, "v%" PRIu32 "|", id);
    uint32_t h = id * 2654435761u;
    size_t pad = h % 80;
    if ((h >> 8) % 16 == 0)
        pad = 2000 + (h >> 12) % 40000; /* spans log blocks */
    for (size_t p = 0; p < pad; p++)
        buf[(size_t)n + p] = (char)('a' + (h + p * 7) % 26);
    return (size_t)n + pad;
}

static void apply(state *s, const op *o)
{
    for (int j = 0; j < o->n; j++)
        s->v[o->key[j]] = o->del[j] ? 0 : o->opno * 8 + (uint32_t)j + 1;
}

static void gen_op(run *r, op *o)
{
    unsigned p = (unsigned)tu_rng_uniform(&r->rng, 100);
    o->opno = r->next_opno++;
    o->sync = tu_rng_uniform(&r->rng, 5) == 0;
    o->kind = p < 45 ? 0 : p < 58 ? 1 : p < 95 ? 2 : 3;
    o->n = o->kind == 2   ? 2 + (int)tu_rng_uniform(&r->rng, MAX_ENTRIES - 1)
           : o->kind == 3 ? 0
                          : 1;
    if (o->kind == 3)
        o->sync = 1;
    for (int j = 0; j < o->n; j++) {
        o->key[j] = (int)tu_rng_uniform(&r->rng, NKEYS);
        o->del[j] =
            o->kind == 1 || (o->kind == 2 && tu_rng_uniform(&r->rng, 4) == 0);
    }
}

static int do_op(run *r, const op *o)
{
    const cairn_writeoptions *wo = o->sync ? r->sync : NULL;
    char key[16];
    if (o->kind == 0)
        return cairn_db_put(r->db, wo, key, make_key(key, o->key[0]), r->val,
                            make_value(r->val, o->opno * 8 + 1));
    if (o->kind == 1)
        return cairn_db_delete(r->db, wo, key, make_key(key, o->key[0]));
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    for (int j = 0; j < o->n; j++) {
        size_t kl = make_key(key, o->key[j]);
        int rc = o->del[j]
                     ? cairn_batch_delete(b, key, kl)
                     : cairn_batch_put(
                           b, key, kl, r->val,
                           make_value(r->val, o->opno * 8 + (uint32_t)j + 1));
        assert_int_equal(rc, 0);
    }
    int rc = cairn_db_write(r->db, wo, b);
    cairn_batch_destroy(b);
    return rc;
}

/* Runs n random operations; each must succeed and joins the history. */
static void run_ops(run *r, int n)
{
    for (int i = 0; i < n && r->nhist < MAX_HIST; i++) {
        op *o = &r->hist[r->nhist];
        gen_op(r, o);
        int rc = do_op(r, o);
        if (rc != 0)
            fail_msg("%s: op %" PRIu32 " failed: %s (%s)", r->where, o->opno,
                     cairn_errname(rc), cairn_errmsg());
        r->nhist++;
        if (o->sync)
            r->must = r->nhist;
    }
}

static int open_db(run *r, int create, int paranoid)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, r->fault), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_paranoid_checks(o, paranoid), 0);
    /* Half the runs log, so LOG's unsynced writes are cut too. */
    assert_int_equal(cairn_options_set_info_log(o, (int)(r->seed & 1)), 0);
    int rc = cairn_db_open(o, "/db", &r->db);
    cairn_options_destroy(o);
    return rc;
}

static void run_init(run *r, uint64_t seed, const char *what)
{
    memset(r, 0, sizeof *r);
    r->seed = seed;
    tu_rng_init(&r->rng, seed);
    r->mem = cairn_env_mem_create();
    assert_non_null(r->mem);
    assert_int_equal(cairn__env_fault_create(r->mem, &r->fault), 0);
    r->sync = cairn_writeoptions_create();
    assert_non_null(r->sync);
    assert_int_equal(cairn_writeoptions_set_sync(r->sync, 1), 0);
    r->val = malloc(VAL_MAX);
    assert_non_null(r->val);
    snprintf(r->where, sizeof r->where, "%s (CAIRN_TEST_SEED=%" PRIu64 ")",
             what, g_seed);
}

static void run_fini(run *r)
{
    if (r->db != NULL)
        assert_int_equal(cairn_db_close(r->db), 0);
    cairn_writeoptions_destroy(r->sync);
    cairn_env_destroy(r->fault);
    cairn_env_destroy(r->mem);
    free(r->val);
}

/* Reads every key. A value that is not exactly one the workload wrote
 * fails at once; the ids go to obs. */
static void observe(run *r, state *obs)
{
    char key[16];
    for (int k = 0; k < NKEYS; k++) {
        void *got = NULL;
        size_t len = 0;
        int rc = cairn_db_get(r->db, NULL, key, make_key(key, k), &got, &len);
        obs->v[k] = 0;
        if (rc == CAIRN_NOTFOUND)
            continue;
        if (rc != 0)
            fail_msg("%s: get %s: %s (%s)", r->where, key, cairn_errname(rc),
                     cairn_errmsg());
        uint32_t id = 0;
        char head[24];
        size_t hl = len < sizeof head - 1 ? len : sizeof head - 1;
        memcpy(head, got, hl);
        head[hl] = '\0';
        if (sscanf(head, "v%" SCNu32 "|", &id) != 1 || id == 0 ||
            make_value(r->val, id) != len || memcmp(got, r->val, len) != 0)
            fail_msg("%s: key %s holds a value never written ('%.*s', %zu "
                     "bytes)",
                     r->where, key, (int)hl, head, len);
        obs->v[k] = id;
        cairn_free(got);
    }
}

/* Checks the prefix rule against the history and makes the observed state
 * the new base. all = 1: the cut lost no file data, so every op must be
 * there. */
static void check_prefix(run *r, int all, const char *when)
{
    state obs, s = r->base;
    observe(r, &obs);
    int lo = all ? r->nhist : r->must, found = -1;
    for (int p = 0; p <= r->nhist; p++) {
        if (p >= lo && memcmp(&s, &obs, sizeof s) == 0) {
            found = p;
            break;
        }
        if (p < r->nhist)
            apply(&s, &r->hist[p]);
    }
    if (found < 0) {
        /* Name the first key that differs from the smallest allowed
         * prefix, to start the diagnosis. */
        state m = r->base;
        for (int p = 0; p < lo; p++)
            apply(&m, &r->hist[p]);
        int k = 0;
        while (k < NKEYS - 1 && m.v[k] == obs.v[k])
            k++;
        fail_msg("%s: %s: recovered state is not the state after any prefix "
                 "of %d..%d of the %d acknowledged ops; e.g. key k%02d holds "
                 "id %" PRIu32 ", prefix %d gives %" PRIu32,
                 r->where, when, lo, r->nhist, r->nhist, k, obs.v[k], lo,
                 m.v[k]);
    }
    r->base = obs;
    r->nhist = 0;
    r->must = 0;
}

/* Cuts the power, closes the dead handle, revives the env. */
static void cut(run *r, unsigned modes)
{
    int rc = cairn__env_fault_power_cut(r->fault, modes, tu_rng_next(&r->rng));
    if (rc != 0)
        fail_msg("%s: power cut: %s (%s)", r->where, cairn_errname(rc),
                 cairn_errmsg());
    (void)cairn_db_close(r->db); /* errors expected: the env is dead */
    r->db = NULL;
    cairn__env_fault_reset(r->fault);
}

static void reopen(run *r, int paranoid, const char *when)
{
    int rc = open_db(r, 0, paranoid);
    if (rc != 0)
        fail_msg("%s: %s: reopen (paranoid %d) failed: %s (%s)", r->where, when,
                 paranoid, cairn_errname(rc), cairn_errmsg());
}

/* ---------------------------------------------------------------------- */
/* Random cuts in a random workload                                        */

static void test_random_cuts(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_random_cuts");
    watch(300, "test_random_cuts");
    int iters = tu_scale() < 0.125 ? 20 : (int)(160 * tu_scale());
    unsigned mode_i = 0;
    for (int it = 0; it < iters; it++) {
        run r;
        char what[64];
        snprintf(what, sizeof what, "iteration %d", it);
        run_init(&r, seed + (uint64_t)it * 7919u, what);
        assert_int_equal(open_db(&r, 1, 0), 0);
        int rounds = 1 + (int)tu_rng_uniform(&r.rng, 3), garbled = 0;
        for (int round = 0; round < rounds; round++) {
            unsigned modes = cut_modes[mode_i++ % NMODES];
            run_ops(&r, 1 + (int)tu_rng_uniform(&r.rng, 60));
            char when[96];
            snprintf(when, sizeof when, "round %d, cut modes %#x", round,
                     modes);
            cut(&r, modes);
            garbled |= (modes & GARBLE) != 0;
            int paranoid = !garbled && tu_rng_uniform(&r.rng, 2) == 0;
            reopen(&r, paranoid, when);
            check_prefix(&r, (modes & (DROP | GARBLE | KEEP)) == 0, when);
        }
        run_fini(&r);
    }
    fprintf(stderr, "test_random_cuts: %d iterations, %u cuts\n", iters,
            mode_i);
    (void)unwatch(NULL);
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
    watch(120, "test_garbled_unacked_tail_paranoid");
    static const unsigned modes[] = {GARBLE, GARBLE | KEEP, 0};
    int iters = tu_scale() < 0.2 ? 12 : (int)(60 * tu_scale());
    for (int it = 0; it < iters; it++) {
        run r;
        char what[64];
        snprintf(what, sizeof what, "iteration %d", it);
        run_init(&r, seed + (uint64_t)it * 104729u, what);
        assert_int_equal(open_db(&r, 1, 0), 0);
        run_ops(&r, 1 + (int)tu_rng_uniform(&r.rng, 30));
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
        uint64_t nth = 1;
        size_t partial = 0;
        if (torn) {
            /* Append 1 is the record header, append 2 the payload. */
            nth = 1 + tu_rng_uniform(&r.rng, 2);
            partial = nth == 1 ? 1 + tu_rng_uniform(&r.rng, 6)
                               : 1 + tu_rng_uniform(&r.rng, 60);
            cairn__env_fault_set_partial(r.fault, partial);
        }
        assert_int_equal(
            cairn__env_fault_arm(r.fault,
                                 torn ? CAIRN__FAULT_WRITE : CAIRN__FAULT_SYNC,
                                 nth, CAIRN_IO, 0),
            0);
        op *o = &r.hist[r.nhist];
        while (big && make_value(r.val, r.next_opno * 8 + 1) < 33000)
            r.next_opno++;
        *o = (op){.kind = 0, .sync = !torn, .n = 1, .opno = r.next_opno++};
        o->key[0] = (int)tu_rng_uniform(&r.rng, NKEYS);
        assert_int_equal(do_op(&r, o), CAIRN_IO);
        /* Not acknowledged, so it may be present, but only as a whole
         * (a "torn" append whose partial length covered the whole payload
         * leaves a complete record). */
        r.nhist++;
        cairn__env_fault_disarm_all(r.fault);
        cairn__env_fault_set_partial(r.fault, 0);

        unsigned m = big ? GARBLE : modes[(it / 4) % 3];
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
        cut(&r, m);
        reopen(&r, 1, when);
        check_prefix(&r, 0, when);
        run_fini(&r);
    }
    (void)unwatch(NULL);
}

/* A non-paranoid open recovers past garbled records (dropping them); once
 * it has, the database is healthy: a later paranoid open must succeed and
 * show the same state. */
static void test_paranoid_after_recovery(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_paranoid_after_recovery");
    watch(120, "test_paranoid_after_recovery");
    for (int it = 0; it < 16; it++) {
        run r;
        char what[64];
        snprintf(what, sizeof what, "iteration %d", it);
        run_init(&r, seed + (uint64_t)it * 15485863u, what);
        assert_int_equal(open_db(&r, 1, 0), 0);
        run_ops(&r, 10 + (int)tu_rng_uniform(&r.rng, 40));
        cut(&r, it & 1 ? GARBLE : GARBLE | KEEP);
        reopen(&r, 0, "non-paranoid recovery");
        check_prefix(&r, 0, "non-paranoid recovery");
        run_ops(&r, 1 + (int)tu_rng_uniform(&r.rng, 10));
        assert_int_equal(cairn_db_close(r.db), 0);
        r.db = NULL;
        reopen(&r, 1, "paranoid open after recovery");
        check_prefix(&r, 1, "paranoid open after recovery");
        run_fini(&r);
    }
    (void)unwatch(NULL);
}

/* ---------------------------------------------------------------------- */
/* Cuts inside open                                                        */

/* One point of the walk: open with the Nth op of kind failing for good,
 * cut, reopen. Returns 1 if the fault fired (the walk goes on). */
static int cut_in_open_once(uint64_t seed, int existing,
                            enum cairn__fault_kind kind, uint64_t n,
                            int variant)
{
    run r;
    char what[96];
    static const char *const kind_names[] = {"write",  "sync",   "rename",
                                             "create", "remove", "read"};
    snprintf(what, sizeof what, "%s, %s op %" PRIu64 " failing",
             existing ? "cut inside reopen" : "cut inside create",
             kind_names[kind], n);
    run_init(&r, seed + n * 31u + (uint64_t)kind * 7u + (uint64_t)variant,
             what);
    if (existing) {
        /* A database whose whole history is durable. */
        assert_int_equal(open_db(&r, 1, 0), 0);
        run_ops(&r, 5 + (int)tu_rng_uniform(&r.rng, 40));
        assert_int_equal(cairn_db_close(r.db), 0);
        r.db = NULL;
        cairn__env_fault_reset(r.fault);
    }
    assert_int_equal(cairn__env_fault_arm(r.fault, kind, n, CAIRN_IO, 1), 0);
    int rc = open_db(&r, 1, 0);
    int fired = cairn__env_fault_injected(r.fault) != 0;
    if (rc == 0 && !fired) {
        /* Past the end of open: the walk is done. */
        run_fini(&r);
        return 0;
    }
    /* The two variants of a point pair a mode that reverts unsynced
     * directory entries with one that keeps them. */
    unsigned modes = cut_modes[(n + (uint64_t)variant * (NMODES / 2)) % NMODES];
    cut(&r, modes);
    cairn__env_fault_disarm_all(r.fault);
    int paranoid = (modes & GARBLE) == 0 && (n & 1);
    rc = open_db(&r, 0, paranoid);
    if (!existing && rc == CAIRN_INVALID) {
        /* The cut came before CURRENT was durable: no database yet, and
         * it can be created. */
        rc = open_db(&r, 1, paranoid);
    }
    if (rc != 0)
        fail_msg("%s: open after the cut (modes %#x): %s (%s)", r.where, modes,
                 cairn_errname(rc), cairn_errmsg());
    check_prefix(&r, 1, "after the cut inside open");
    /* The database works: a sync write survives another cut. */
    char key[16];
    size_t kl = make_key(key, 1);
    assert_int_equal(cairn_db_put(r.db, r.sync, key, kl, "x", 1), 0);
    cut(&r, DROP | ENTRIES);
    reopen(&r, 0, "second reopen");
    void *got = NULL;
    size_t len = 0;
    assert_int_equal(cairn_db_get(r.db, NULL, key, kl, &got, &len), 0);
    assert_int_equal(len, 1);
    cairn_free(got);
    run_fini(&r);
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
    watch(120, "test_cut_inside_create");
    walk_cuts_in_open(0);
    (void)unwatch(NULL);
}

static void test_cut_inside_reopen(void **state_)
{
    (void)state_;
    watch(120, "test_cut_inside_reopen");
    walk_cuts_in_open(1);
    (void)unwatch(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_random_cuts, unwatch),
        cmocka_unit_test_teardown(test_garbled_unacked_tail_paranoid, unwatch),
        cmocka_unit_test_teardown(test_paranoid_after_recovery, unwatch),
        cmocka_unit_test_teardown(test_cut_inside_create, unwatch),
        cmocka_unit_test_teardown(test_cut_inside_reopen, unwatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
