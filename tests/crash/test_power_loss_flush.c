/*
 * test_power_loss_flush.c: simulated power loss at random points of a
 * workload that flushes memtables to tables all the time, including in
 * the middle of a flush.
 *
 * The stack is: database -> trip env (this file) -> fault env -> memory
 * env. The trip env passes everything through and counts the mutating
 * operations (append, flush, sync, close of a written file, create,
 * remove, mkdir, rmdir, rename, sync_dir), separately those made by the
 * database's background thread (it wraps thread_start to know which
 * thread that is). Armed with an operation number, it cuts the power
 * (cairn__env_fault_power_cut) just before that operation, in whatever
 * thread makes it, so the cut lands exactly there: between a log append
 * and its sync, between a table's data and its sync, between the table's
 * directory sync and the MANIFEST record, between the MANIFEST append and
 * its sync, before the old logs are removed, and so on. Half of the
 * rounds choose the cut uniformly among the operations the round is
 * expected to make (estimated from the rounds before), three in eight
 * among the background thread's, so many cuts land inside flushes and
 * compactions, and the rest cut after the workload, while a flush may
 * still be running. The message of a failure names the operation the cut
 * came before and the thread that made it.
 *
 * The workload, history and prefix rule are tests/support/power_loss.h's,
 * tuned here (64 KiB write buffer, values up to 42 KiB, so a flush every
 * few dozen operations). The workload is sync and non-sync puts, deletes,
 * multi-entry batches and empty sync batches on 48 keys. Every value is
 * unique ("v<id>|" and padding derived from id), so a stale, mixed or
 * garbage value cannot pass for a written one. The write in progress when
 * the power goes fails; it is kept in the history as not acknowledged: it
 * may be present, entirely, or not at all.
 *
 * After the cut the database is closed, the env revived and the database
 * reopened, which must always succeed. Then the prefix rule is checked:
 * the recovered state equals the state after some prefix of the history,
 * and that prefix holds every operation up to the last sync-acknowledged
 * one (a sync write or empty sync batch makes all earlier writes durable).
 * With cut modes that lose no file data (a process crash, or only
 * reverting unsynced directory entries) the prefix must hold every
 * acknowledged operation. Gets and a full scan must agree, and no key or
 * value may appear that was never written. Power-loss modes cycle through
 * dropping, keeping a random prefix of, or garbling the unsynced tails,
 * with and without reverting unsynced directory entries, and none.
 *
 * Each iteration runs several rounds (writes, cut, reopen, check) on one
 * database, so later rounds recover on top of many tables. Replay: every
 * choice comes from the printed seed (CAIRN_TEST_SEED); which operation a
 * cut lands on may still vary a little, because the background thread's
 * timing decides how its operations interleave with the writer's.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
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

#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned cut_modes[] = {
    PL_DROP | PL_ENTRIES,
    PL_GARBLE,
    PL_KEEP,
    PL_KEEP | PL_GARBLE | PL_ENTRIES,
    PL_ENTRIES,
    PL_DROP,
    PL_KEEP | PL_ENTRIES,
    PL_GARBLE | PL_ENTRIES,
    PL_KEEP | PL_GARBLE,
    0,
};
#define NMODES (sizeof cut_modes / sizeof cut_modes[0])

/* ---------------------------------------------------------------------- */
/* The trip env                                                            */

/* 1 in threads started through a trip env (the background thread). */
static _Thread_local int in_bg;

typedef struct trip_env {
    cairn_env env;     /* first: what the database is given */
    cairn_env *inner;  /* the fault env, not owned */
    atomic_ullong ops; /* Atomic: mutating operations so far */
    atomic_ullong bg_ops;
    /* Atomic: cut before operation number trip_at (of all) or trip_bg_at
     * (of the background thread's); 0 is disarmed. Set by the test thread
     * while the database is idle or running; read by every thread. */
    atomic_ullong trip_at, trip_bg_at;
    atomic_int tripped; /* Atomic: the first to set it cuts */
    /* Written by the test thread before it clears tripped (seq_cst); the
     * cutting thread reads them only after its compare-exchange has seen
     * that clear, so they are published by it. */
    unsigned modes;
    uint64_t cut_seed;
    /* Written by the cutting thread before it stores cut_done (release);
     * the test thread reads them after an acquire load of cut_done. */
    int cut_rc, cut_by_bg;
    uint64_t cut_op;
    char cut_what[96]; /* the operation the cut came before */
    atomic_int cut_done;
} trip_env;

typedef struct trip_file {
    cairn__file base;
    trip_env *te;
    cairn__file *inner;
    int written;   /* opened for writing */
    char name[32]; /* the path's last component, for messages */
} trip_file;

static void do_cut(trip_env *te, uint64_t op, const char *what,
                   const char *path)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&te->tripped, &expected, 1))
        return;
    te->cut_rc = cairn__env_fault_power_cut(te->inner, te->modes, te->cut_seed);
    te->cut_by_bg = in_bg;
    te->cut_op = op;
    snprintf(te->cut_what, sizeof te->cut_what, "%s %s", what, path);
    /* Release: publishes cut_rc, cut_by_bg, cut_op and cut_what to the
     * test thread. */
    atomic_store_explicit(&te->cut_done, 1, memory_order_release);
}

/* Counts one mutating operation, cutting the power first if it is the
 * armed one. */
static void tick(trip_env *te, const char *what, const char *path)
{
    uint64_t n = atomic_fetch_add(&te->ops, 1) + 1;
    uint64_t at = atomic_load(&te->trip_at);
    /* ">=": an arm that comes late (the background thread was busy while
     * the test thread armed) still cuts at once. */
    int hit = at != 0 && n >= at;
    if (in_bg) {
        uint64_t b = atomic_fetch_add(&te->bg_ops, 1) + 1;
        uint64_t bat = atomic_load(&te->trip_bg_at);
        hit |= bat != 0 && b >= bat;
    }
    if (hit)
        do_cut(te, n, what, path);
}

static int f_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                   size_t *got)
{
    trip_file *tf = (trip_file *)f;
    return cairn__file_pread(tf->inner, off, n, buf, got);
}

static int f_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    return cairn__file_read(((trip_file *)f)->inner, n, buf, got);
}

static int f_skip(cairn__file *f, uint64_t n)
{
    return cairn__file_skip(((trip_file *)f)->inner, n);
}

static int f_append(cairn__file *f, const char *data, size_t n)
{
    trip_file *tf = (trip_file *)f;
    tick(tf->te, "append", tf->name);
    return cairn__file_append(tf->inner, data, n);
}

static int f_flush(cairn__file *f)
{
    trip_file *tf = (trip_file *)f;
    tick(tf->te, "flush", tf->name);
    return cairn__file_flush(tf->inner);
}

static int f_sync(cairn__file *f)
{
    trip_file *tf = (trip_file *)f;
    tick(tf->te, "sync", tf->name);
    return cairn__file_sync(tf->inner);
}

static int f_size(cairn__file *f, uint64_t *size)
{
    return cairn__file_size(((trip_file *)f)->inner, size);
}

static int f_close(cairn__file *f)
{
    trip_file *tf = (trip_file *)f;
    if (tf->written)
        tick(tf->te, "close", tf->name);
    int rc = cairn__file_close(tf->inner);
    free(tf);
    return rc;
}

static const cairn__file_ops trip_file_ops = {
    .pread = f_pread,
    .read = f_read,
    .skip = f_skip,
    .append = f_append,
    .flush = f_flush,
    .sync = f_sync,
    .size = f_size,
    .close = f_close,
};

static int wrap_file(trip_env *te, int rc, cairn__file *inner, int written,
                     const char *path, cairn__file **out)
{
    *out = NULL;
    if (rc != 0)
        return rc;
    trip_file *tf = malloc(sizeof *tf);
    if (tf == NULL) {
        (void)cairn__file_close(inner);
        return CAIRN_NOMEM;
    }
    *tf = (trip_file){{&trip_file_ops}, te, inner, written, ""};
    const char *slash = strrchr(path, '/');
    snprintf(tf->name, sizeof tf->name, "%s", slash ? slash + 1 : path);
    *out = &tf->base;
    return 0;
}

static trip_env *te_of(cairn_env *env)
{
    return (trip_env *)env;
}

static int e_open_read(cairn_env *env, const char *path, cairn__file **out)
{
    cairn_env *in = te_of(env)->inner;
    cairn__file *f = NULL;
    int rc = in->ops->open_read(in, path, &f);
    return wrap_file(te_of(env), rc, f, 0, path, out);
}

static int e_open_write(cairn_env *env, const char *path, cairn__file **out)
{
    cairn_env *in = te_of(env)->inner;
    cairn__file *f = NULL;
    tick(te_of(env), "create", path);
    int rc = in->ops->open_write(in, path, &f);
    return wrap_file(te_of(env), rc, f, 1, path, out);
}

static int e_open_append(cairn_env *env, const char *path, cairn__file **out)
{
    cairn_env *in = te_of(env)->inner;
    cairn__file *f = NULL;
    tick(te_of(env), "open_append", path);
    int rc = in->ops->open_append(in, path, &f);
    return wrap_file(te_of(env), rc, f, 1, path, out);
}

static int e_exists(cairn_env *env, const char *path)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->exists(in, path);
}

static int e_list(cairn_env *env, const char *dir, cairn__strlist *out)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->list(in, dir, out);
}

static int e_remove(cairn_env *env, const char *path)
{
    cairn_env *in = te_of(env)->inner;
    tick(te_of(env), "remove", path);
    return in->ops->remove(in, path);
}

static int e_mkdir(cairn_env *env, const char *path)
{
    cairn_env *in = te_of(env)->inner;
    tick(te_of(env), "mkdir", path);
    return in->ops->mkdir(in, path);
}

static int e_rmdir(cairn_env *env, const char *path)
{
    cairn_env *in = te_of(env)->inner;
    tick(te_of(env), "rmdir", path);
    return in->ops->rmdir(in, path);
}

static int e_file_size(cairn_env *env, const char *path, uint64_t *size)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->file_size(in, path, size);
}

static int e_rename(cairn_env *env, const char *from, const char *to)
{
    cairn_env *in = te_of(env)->inner;
    tick(te_of(env), "rename to", to);
    return in->ops->rename(in, from, to);
}

static int e_sync_dir(cairn_env *env, const char *dir)
{
    cairn_env *in = te_of(env)->inner;
    tick(te_of(env), "sync_dir", dir);
    return in->ops->sync_dir(in, dir);
}

static int e_lock(cairn_env *env, const char *path, cairn__filelock **out)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->lock(in, path, out);
}

static int e_unlock(cairn_env *env, cairn__filelock *lock)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->unlock(in, lock);
}

static uint64_t e_now_micros(cairn_env *env)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->now_micros(in);
}

static uint64_t e_now_nanos(cairn_env *env)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->now_nanos(in);
}

static void e_sleep_micros(cairn_env *env, uint64_t us)
{
    cairn_env *in = te_of(env)->inner;
    in->ops->sleep_micros(in, us);
}

typedef struct tramp {
    void *(*fn)(void *);
    void *arg;
} tramp;

static void *tramp_main(void *p)
{
    tramp t = *(tramp *)p;
    free(p);
    in_bg = 1;
    return t.fn(t.arg);
}

static int e_thread_start(cairn_env *env, void *(*fn)(void *), void *arg,
                          cairn__thread **out)
{
    cairn_env *in = te_of(env)->inner;
    tramp *t = malloc(sizeof *t);
    if (t == NULL)
        return CAIRN_NOMEM;
    *t = (tramp){fn, arg};
    int rc = in->ops->thread_start(in, tramp_main, t, out);
    if (rc != 0)
        free(t);
    return rc;
}

static int e_thread_join(cairn_env *env, cairn__thread *t)
{
    cairn_env *in = te_of(env)->inner;
    return in->ops->thread_join(in, t);
}

static void e_destroy(cairn_env *env)
{
    free(env);
}

static const cairn__env_ops trip_env_ops = {
    .name = "trip",
    .open_read = e_open_read,
    .open_write = e_open_write,
    .open_append = e_open_append,
    .exists = e_exists,
    .list = e_list,
    .remove = e_remove,
    .mkdir = e_mkdir,
    .rmdir = e_rmdir,
    .file_size = e_file_size,
    .rename = e_rename,
    .sync_dir = e_sync_dir,
    .lock = e_lock,
    .unlock = e_unlock,
    .now_micros = e_now_micros,
    .now_nanos = e_now_nanos,
    .sleep_micros = e_sleep_micros,
    .thread_start = e_thread_start,
    .thread_join = e_thread_join,
    .destroy = e_destroy,
};

/* ---------------------------------------------------------------------- */
/* Rounds                                                                  */

/* The workload's tuning: a 64 KiB write buffer and values up to 42 KiB
 * (one in six ids), so a flush every few dozen operations; the check
 * scans too. */
static const pl_tuning tuning = {
    .nkeys = 48,
    .key_prefix = "key",
    .pad_mod = 120,
    .big_one_in = 6, /* fills the write buffer fast */
    .sync_one_in = 6,
    .put_below = 50,
    .delete_below = 62,
    .batch_below = 97,
    .write_buffer_size = 64 * 1024,
    .vary_compression = 1,
    .scan = 1,
};

/* Test-wide tallies, to estimate where cuts can land and to show that
 * cuts did land in the background thread. */
static uint64_t g_seed;
static uint64_t t_ops = 0, t_bg = 0, t_writes = 0;
static long t_cuts, t_cuts_bg, t_cuts_late;

/* A run whose database sits on a trip env over the run's fault env. */
static void run_init(pl_run *r, uint64_t seed, int it)
{
    char what[32];
    snprintf(what, sizeof what, "iteration %d", it);
    pl_run_init(r, &tuning, seed, g_seed, what);
    trip_env *te = calloc(1, sizeof *te);
    assert_non_null(te);
    te->env.ops = &trip_env_ops;
    te->inner = r->fault;
    r->env = &te->env; /* the run owns it now */
}

static trip_env *trip_of(pl_run *r)
{
    return (trip_env *)r->env;
}

/* One round: arm the trip, write until the power goes (or the workload
 * ends, then cut), reopen, check. */
static void round_once(pl_run *r, unsigned modes, int paranoid, int round)
{
    trip_env *te = trip_of(r);
    int nops = 40 + (int)tu_rng_uniform(&r->rng, 300);
    if (nops > PL_MAX_HIST - 1)
        nops = PL_MAX_HIST - 1;
    /* Estimated operations of this round, from the test so far. */
    double per = t_writes ? (double)t_ops / (double)t_writes : 6.0;
    double per_bg = t_writes ? (double)t_bg / (double)t_writes : 1.0;
    uint64_t ops0 = atomic_load(&te->ops), bg0 = atomic_load(&te->bg_ops);
    unsigned how = (unsigned)tu_rng_uniform(&r->rng, 8);
    te->modes = modes;
    te->cut_seed = tu_rng_next(&r->rng);
    atomic_store(&te->tripped, 0);
    atomic_store(&te->cut_done, 0);
    if (how < 4)
        atomic_store(&te->trip_at,
                     ops0 + 1 +
                         tu_rng_uniform(&r->rng, (uint64_t)(per * nops) + 1));
    else if (how < 7)
        atomic_store(
            &te->trip_bg_at,
            bg0 + 1 + tu_rng_uniform(&r->rng, (uint64_t)(per_bg * nops) + 1));

    int done = 0;
    for (; done < nops; done++) {
        int rc = pl_step(r);
        if (rc != 0) {
            if (!atomic_load(&te->tripped))
                fail_msg("%s: round %d: op %" PRIu32 " failed before any "
                         "cut: %s (%s)",
                         r->where, round, r->hist[r->nhist - 1].opno,
                         cairn_errname(rc), cairn_errmsg());
            break;
        }
    }
    t_writes += (uint64_t)done;
    t_ops += atomic_load(&te->ops) - ops0;
    t_bg += atomic_load(&te->bg_ops) - bg0;
    if (!atomic_load(&te->tripped))
        t_cuts_late++;
    /* No-op if the trip fired. */
    do_cut(te, atomic_load(&te->ops) + 1, "the end of", "the workload");
    atomic_store(&te->trip_at, 0);
    atomic_store(&te->trip_bg_at, 0);
    /* Acquire: pairs with do_cut's release of the cut's details. */
    while (!atomic_load_explicit(&te->cut_done, memory_order_acquire))
        sched_yield();
    t_cuts++;
    t_cuts_bg += te->cut_by_bg;
    char when[160];
    snprintf(when, sizeof when,
             "round %d, cut modes %#x before op %" PRIu64 " (%s, %s thread), "
             "%d of %d writes done",
             round, modes, te->cut_op, te->cut_what,
             te->cut_by_bg ? "background" : "writer", done, nops);
    if (te->cut_rc != 0)
        fail_msg("%s: %s: power cut: %s", r->where, when,
                 cairn_errname(te->cut_rc));
    pl_revive(r);
    pl_reopen(r, paranoid, when);
    pl_check_prefix(r, !pl_loses_data(modes), when);
}

static void test_power_loss_across_flushes(void **state_)
{
    (void)state_;
    uint64_t seed = g_seed = tu_seed("test_power_loss_across_flushes");
    tu_watchdog_arm(300, "test_power_loss_across_flushes");
    int iters = (int)(30 * tu_scale());
    if (iters < 8)
        iters = 8;
    unsigned mode_i = (unsigned)(seed % NMODES);
    for (int it = 0; it < iters; it++) {
        pl_run r;
        run_init(&r, seed + (uint64_t)it * 7919u, it);
        if (pl_open(&r, 1, 0) != 0)
            fail_msg("%s: create: %s", r.where, cairn_errmsg());
        int rounds = 2 + (int)tu_rng_uniform(&r.rng, 3), garbled = 0;
        for (int round = 0; round < rounds; round++) {
            unsigned modes = cut_modes[mode_i++ % NMODES];
            garbled |= (modes & PL_GARBLE) != 0;
            /* paranoid_checks fails the open on garbled acknowledged
             * records, as documented, so not after a garbling cut. */
            int paranoid = !garbled && tu_rng_uniform(&r.rng, 2) == 0;
            round_once(&r, modes, paranoid, round);
        }
        pl_run_fini(&r);
    }
    fprintf(stderr,
            "test_power_loss_across_flushes: %d iterations, %ld cuts (%ld in "
            "the background thread, %ld after the workload), %" PRIu64
            " writes\n",
            iters, t_cuts, t_cuts_bg, t_cuts_late, t_writes);
    /* The point of this test: some cuts hit flushes. */
    assert_true(t_cuts_bg > 0);
    tu_watchdog_disarm();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_loss_across_flushes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
