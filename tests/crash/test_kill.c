/*
 * test_kill.c: kill -9 crash loop on the POSIX env.
 *
 * Each cycle forks a child that opens the database in a temporary
 * directory and writes from KTHREADS threads (puts, deletes, batches and
 * empty sync batches; a quarter of them sync in even cycles, none in odd
 * ones), then waits to be killed. The parent SIGKILLs it at a random
 * moment: usually up to 80 ms (20 ms in unsynced cycles) after the child
 * reported its open done, and in one cycle of five within the first ms
 * after the fork, so that some kills land inside open and recovery
 * itself. Then the parent reopens the database and checks it.
 *
 * What is checked. Thread t of cycle c runs a fixed sequence of operations
 * generated from (seed, c, t, i) on its own KKEYS keys, so the parent can
 * recompute every value. After each acknowledged write the thread stores
 * i + 1 in ack[t], in a MAP_SHARED page that survives the child. So when
 * the child dies, operations 0 .. ack[t]-1 were acknowledged and must be
 * present (a non-sync write has reached the OS before it returns, and a
 * process kill loses nothing the OS has); operation ack[t] may have been
 * in flight and may or may not be present, but as a whole (a batch is
 * all-or-nothing); later ones never started. The parent therefore requires
 * the thread's keys to equal exactly the model after ack[t] operations, or
 * after ack[t] + 1. Values carry their operation and padding derived from
 * it, so a stale, mixed or garbage value fails the comparison.
 *
 * Cycles share one directory and each child writes new keys, so every
 * reopen also recovers all earlier cycles' data (from logs or tables);
 * the parent keeps the state each earlier cycle ended in and checks it
 * again every cycle.
 *
 * The child never returns into cmocka: it ends by being killed, or with
 * _exit after writing what went wrong to the shared page. The parent
 * always kills and reaps the child before asserting anything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KTHREADS    4
#define KKEYS       24   /* keys per (cycle, thread) */
#define MAX_OPS     2000 /* per thread and cycle */
#define MAX_CYCLES  64
#define MAX_ENTRIES 6
#define VAL_MAX     (48 * 1024)

/* The page shared with the child. The child's threads store with release
 * after the write returned; the parent reads only after reaping it. */
typedef struct shared_page {
    atomic_uint ack[KTHREADS]; /* operations acknowledged, per thread */
    atomic_int opened;         /* 1 once the child's open returned 0 */
    atomic_int error;          /* first error in the child (a CAIRN code) */
    char errmsg[512];          /* written once, by whoever set error */
} shared_page;

enum op_kind { OP_PUT, OP_DELETE, OP_BATCH, OP_EMPTY_SYNC };

typedef struct op {
    enum op_kind kind;
    int sync;
    int n;
    int key[MAX_ENTRIES];
    int del[MAX_ENTRIES];
} op;

/* The model of one thread's keys: 0 absent, else i * 8 + j + 1 for
 * entry j of operation i. */
typedef struct state {
    uint32_t v[KKEYS];
} state;

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t x = (a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2)));
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 29;
    return x;
}

/* Odd cycles write without any sync, so that nothing but the promise of
 * a non-sync write (it reached the OS) keeps their data across the kill;
 * even cycles sync a quarter of their writes. */
static void gen_op(uint64_t seed, unsigned c, unsigned t, unsigned i, op *o)
{
    tu_rng r;
    tu_rng_init(&r, mix(mix(mix(seed, c), t), i));
    unsigned p = (unsigned)tu_rng_uniform(&r, c % 2 ? 97 : 100);
    o->sync = c % 2 == 0 && tu_rng_uniform(&r, 4) == 0;
    o->n = 1;
    if (p < 45) {
        o->kind = OP_PUT;
    } else if (p < 60) {
        o->kind = OP_DELETE;
    } else if (p < 97) {
        o->kind = OP_BATCH;
        o->n = 2 + (int)tu_rng_uniform(&r, MAX_ENTRIES - 1);
    } else {
        o->kind = OP_EMPTY_SYNC;
        o->sync = 1;
        o->n = 0;
    }
    for (int j = 0; j < o->n; j++) {
        o->key[j] = (int)tu_rng_uniform(&r, KKEYS);
        o->del[j] = o->kind == OP_DELETE ||
                    (o->kind == OP_BATCH && tu_rng_uniform(&r, 4) == 0);
    }
}

static void apply_op(state *s, const op *o, unsigned i)
{
    for (int j = 0; j < o->n; j++)
        s->v[o->key[j]] = o->del[j] ? 0 : i * 8 + (unsigned)j + 1;
}

static size_t make_key(char *buf, unsigned c, unsigned t, int k)
{
    return (size_t)snprintf(buf, 32, "c%03u/t%u/k%02d", c, t, k);
}

/* The value of entry j of operation i: a header naming it, then padding
 * derived from it; one in 64 is long enough to span log blocks. */
static size_t make_value(char *buf, unsigned c, unsigned t, uint32_t id)
{
    unsigned i = (id - 1) / 8, j = (id - 1) % 8;
    int n = snprintf(buf, 64, "c%u t%u i%u j%u|", c, t, i, j);
    uint64_t h = mix(mix(c, t), id);
    size_t pad = h % 96;
    if ((h >> 20) % 64 == 0)
        pad = 1000 + (h >> 32) % 40000;
    for (size_t p = 0; p < pad; p++)
        buf[(size_t)n + p] = (char)('a' + (h + p * 31) % 26);
    return (size_t)n + pad;
}

/* ---------------------------------------------------------------------- */
/* The child                                                               */

typedef struct child_ctx {
    cairn_db *db;
    shared_page *sp;
    uint64_t seed;
    unsigned cycle;
    unsigned t;
} child_ctx;

static void child_error(shared_page *sp, int rc, const char *what)
{
    /* The first failing thread wins and writes the message; the parent
     * reads both only after the child is gone. */
    int zero = 0;
    if (atomic_compare_exchange_strong(&sp->error, &zero, rc ? rc : -999))
        snprintf(sp->errmsg, sizeof sp->errmsg, "%s: %s (%s)", what,
                 cairn_errname(rc), cairn_errmsg());
}

static void *child_writer(void *arg)
{
    child_ctx *cx = arg;
    cairn_writeoptions *sync = cairn_writeoptions_create();
    cairn_batch *b = cairn_batch_create();
    char *val = malloc(VAL_MAX);
    char key[32];
    if (sync == NULL || b == NULL || val == NULL ||
        cairn_writeoptions_set_sync(sync, 1) != 0) {
        child_error(cx->sp, CAIRN_NOMEM, "child setup");
        return NULL;
    }
    for (unsigned i = 0; i < MAX_OPS; i++) {
        op o;
        gen_op(cx->seed, cx->cycle, cx->t, i, &o);
        const cairn_writeoptions *wo = o.sync ? sync : NULL;
        int rc = 0;
        if (o.kind == OP_PUT) {
            rc = cairn_db_put(cx->db, wo, key,
                              make_key(key, cx->cycle, cx->t, o.key[0]), val,
                              make_value(val, cx->cycle, cx->t, i * 8 + 1));
        } else if (o.kind == OP_DELETE) {
            rc = cairn_db_delete(cx->db, wo, key,
                                 make_key(key, cx->cycle, cx->t, o.key[0]));
        } else {
            (void)cairn_batch_clear(b);
            for (int j = 0; j < o.n && rc == 0; j++) {
                size_t kl = make_key(key, cx->cycle, cx->t, o.key[j]);
                rc = o.del[j]
                         ? cairn_batch_delete(b, key, kl)
                         : cairn_batch_put(b, key, kl, val,
                                           make_value(val, cx->cycle, cx->t,
                                                      i * 8 + (unsigned)j + 1));
            }
            if (rc == 0)
                rc = cairn_db_write(cx->db, wo, b);
        }
        if (rc != 0) {
            child_error(cx->sp, rc, "child write");
            break;
        }
        /* Release: the parent reads ack only after reaping the child, but
         * the store must not be reordered before the write returned. */
        atomic_store_explicit(&cx->sp->ack[cx->t], i + 1, memory_order_release);
    }
    free(val);
    cairn_batch_destroy(b);
    cairn_writeoptions_destroy(sync);
    return NULL;
}

static void child_main(const char *path, shared_page *sp, uint64_t seed,
                       unsigned cycle)
{
    /* Never outlive the parent, nor run forever if it forgets us. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);
    cairn_options *o = cairn_options_create();
    cairn_db *db = NULL;
    int rc =
        o == NULL ? CAIRN_NOMEM : cairn_options_set_create_if_missing(o, 1);
    if (rc == 0)
        rc = cairn_db_open(o, path, &db);
    cairn_options_destroy(o);
    if (rc != 0) {
        child_error(sp, rc, "child open");
        _exit(2);
    }
    atomic_store(&sp->opened, 1);
    child_ctx cx[KTHREADS];
    pthread_t th[KTHREADS];
    for (unsigned t = 0; t < KTHREADS; t++) {
        cx[t] = (child_ctx){db, sp, seed, cycle, t};
        if (pthread_create(&th[t], NULL, child_writer, &cx[t]) != 0) {
            child_error(sp, CAIRN_NOMEM, "child pthread_create");
            _exit(2);
        }
    }
    for (unsigned t = 0; t < KTHREADS; t++)
        pthread_join(th[t], NULL);
    /* Crash, do not close: wait for the parent's SIGKILL. */
    for (;;)
        pause();
}

/* ---------------------------------------------------------------------- */
/* The parent                                                              */

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Compares the thread's keys with a model state. On a mismatch, writes a
 * description into why (if not NULL) and returns 0. */
static int state_matches(cairn_db *db, unsigned c, unsigned t, const state *s,
                         char *val, char *why, size_t whycap)
{
    char key[32];
    for (int k = 0; k < KKEYS; k++) {
        size_t kl = make_key(key, c, t, k);
        void *got = NULL;
        size_t len = 0;
        int rc = cairn_db_get(db, NULL, key, kl, &got, &len);
        int ok;
        size_t el = 0;
        if (s->v[k] == 0) {
            ok = rc == CAIRN_NOTFOUND;
        } else {
            el = make_value(val, c, t, s->v[k]);
            ok = rc == 0 && len == el && memcmp(got, val, el) == 0;
        }
        if (!ok && why != NULL)
            snprintf(why, whycap,
                     "key %s: expected %s (op %u entry %u), got %s "
                     "'%.*s' (%zu bytes)",
                     key, s->v[k] ? "value" : "absent",
                     s->v[k] ? (s->v[k] - 1) / 8 : 0,
                     s->v[k] ? (s->v[k] - 1) % 8 : 0, cairn_errname(rc),
                     rc == 0 ? (int)(len < 40 ? len : 40) : 0,
                     rc == 0 ? (const char *)got : "", len);
        cairn_free(got);
        if (!ok)
            return 0;
    }
    return 1;
}

typedef struct kill_run {
    char *dir;
    char path[4200];
    uint64_t seed;
    tu_rng rng;
    shared_page *sp;
    state *final; /* [MAX_CYCLES * KTHREADS]: each cycle's end state */
    char *val;
    uint64_t acked_total;
} kill_run;

/* Runs one child for cycle c and kills it. Returns the child's own error
 * (0 if it died by our SIGKILL with nothing to report). */
static int run_child(kill_run *kr, unsigned c, char *msg, size_t cap)
{
    memset(kr->sp, 0, sizeof *kr->sp);
    int early = tu_rng_uniform(&kr->rng, 5) == 0;
    /* Unsynced cycles write fast: kill them sooner, mid-stream. */
    long span = c % 2 ? 20000 : 78000;
    long delay_us = early ? (long)tu_rng_uniform(&kr->rng, 1000)
                          : 200 + (long)tu_rng_uniform(&kr->rng, span);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0)
        child_main(kr->path, kr->sp, kr->seed, c);

    /* Wait for the open (unless this cycle kills early), then a while. */
    int status = 0;
    for (long waited = 0; !early && !atomic_load(&kr->sp->opened) &&
                          !atomic_load(&kr->sp->error) && waited < 20000000;
         waited += 500)
        sleep_us(500);
    sleep_us(delay_us);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int err = atomic_load(&kr->sp->error);
    if (err != 0) {
        snprintf(msg, cap, "cycle %u: %s", c, kr->sp->errmsg);
        return err;
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        snprintf(msg, cap, "cycle %u: child ended by itself (status %#x)", c,
                 (unsigned)status);
        return -999;
    }
    return 0;
}

static void verify_cycle(kill_run *kr, cairn_db *db, unsigned c)
{
    char why[700], why2[700];
    for (unsigned t = 0; t < KTHREADS; t++) {
        unsigned a = atomic_load(&kr->sp->ack[t]);
        kr->acked_total += a;
        state without, with;
        memset(&without, 0, sizeof without);
        op o;
        for (unsigned i = 0; i < a; i++) {
            gen_op(kr->seed, c, t, i, &o);
            apply_op(&without, &o, i);
        }
        with = without;
        if (a < MAX_OPS) {
            gen_op(kr->seed, c, t, a, &o);
            apply_op(&with, &o, a);
        }
        state *fin = &kr->final[c * KTHREADS + t];
        if (state_matches(db, c, t, &without, kr->val, why, sizeof why)) {
            *fin = without;
        } else if (state_matches(db, c, t, &with, kr->val, why2, sizeof why2)) {
            *fin = with;
        } else {
            fail_msg("cycle %u thread %u (%u ops acknowledged): the keys "
                     "match neither the acknowledged prefix nor it plus the "
                     "in-flight operation; vs prefix: %s; vs prefix+1: %s "
                     "(seed %" PRIu64 ")",
                     c, t, a, why, why2, kr->seed);
        }
    }
}

static void test_kill_loop(void **state_)
{
    (void)state_;
    kill_run kr;
    memset(&kr, 0, sizeof kr);
    kr.seed = tu_seed("test_kill_loop");
    tu_rng_init(&kr.rng, kr.seed);
    kr.dir = tu_tempdir("kill");
    snprintf(kr.path, sizeof kr.path, "%s/db", kr.dir);
    kr.sp = mmap(NULL, sizeof *kr.sp, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(kr.sp != MAP_FAILED);
    kr.final = calloc(MAX_CYCLES * KTHREADS, sizeof *kr.final);
    kr.val = malloc(VAL_MAX);
    assert_non_null(kr.final);
    assert_non_null(kr.val);

    unsigned cycles = (unsigned)(20 * tu_scale());
    if (cycles < 20)
        cycles = 20;
    if (cycles > MAX_CYCLES)
        cycles = MAX_CYCLES;
    char msg[700], why[700];
    for (unsigned c = 0; c < cycles; c++) {
        /* The parent has no other thread while it forks. */
        int err = run_child(&kr, c, msg, sizeof msg);
        if (err != 0)
            fail_msg("%s (seed %" PRIu64 ")", msg, kr.seed);
        tu_watch(120, "test_kill_loop reopen and verify");

        cairn_options *o = cairn_options_create();
        assert_non_null(o);
        /* Only the first cycle may find no database (killed while
         * creating it); afterwards it must always be there. */
        assert_int_equal(cairn_options_set_create_if_missing(o, c == 0), 0);
        cairn_db *db = NULL;
        int rc = cairn_db_open(o, kr.path, &db);
        cairn_options_destroy(o);
        if (rc != 0)
            fail_msg("cycle %u: reopen after kill: %s (%s) (seed %" PRIu64 ")",
                     c, cairn_errname(rc), cairn_errmsg(), kr.seed);
        for (unsigned p = 0; p < c; p++)
            for (unsigned t = 0; t < KTHREADS; t++)
                if (!state_matches(db, p, t, &kr.final[p * KTHREADS + t],
                                   kr.val, why, sizeof why))
                    fail_msg("cycle %u: state of earlier cycle %u thread %u "
                             "changed: %s (seed %" PRIu64 ")",
                             c, p, t, why, kr.seed);
        verify_cycle(&kr, db, c);
        assert_int_equal(cairn_db_close(db), 0);
        (void)tu_unwatch(NULL);
    }
    fprintf(stderr,
            "test_kill_loop: %u cycles, %" PRIu64
            " acknowledged writes checked\n",
            cycles, kr.acked_total);
    /* Guard against a vacuous run (every kill before any write). */
    assert_true(kr.acked_total > 0);
    munmap(kr.sp, sizeof *kr.sp);
    free(kr.final);
    free(kr.val);
    tu_rmtree(kr.dir);
    free(kr.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill_loop, tu_unwatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
