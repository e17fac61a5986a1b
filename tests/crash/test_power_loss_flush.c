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
 * The workload (64 KiB write buffer, values up to 42 KiB, so a flush
 * every few dozen operations) is sync and non-sync puts, deletes,
 * multi-entry batches and empty sync batches on NKEYS keys. Every value is
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

#include "testutil.h"

#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS       48
#define MAX_ENTRIES 6
#define MAX_HIST    512
#define VAL_MAX     (48 * 1024)

#define DROP    CAIRN__FAULT_DROP_UNSYNCED
#define GARBLE  CAIRN__FAULT_GARBLE_UNSYNCED
#define KEEP    CAIRN__FAULT_KEEP_RANDOM_PREFIX
#define ENTRIES CAIRN__FAULT_DELETE_UNSYNCED_ENTRIES

static const unsigned cut_modes[] = {
    DROP | ENTRIES, GARBLE, KEEP,           KEEP | GARBLE | ENTRIES,
    ENTRIES,        DROP,   KEEP | ENTRIES, GARBLE | ENTRIES,
    KEEP | GARBLE,  0,
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
/* Workload, history and the prefix rule                                   */

typedef struct op {
    int kind; /* 0 put, 1 delete, 2 batch, 3 empty sync batch */
    int sync;
    int acked; /* 0: failed at the cut; may be present or not */
    int n;
    uint32_t opno;
    int key[MAX_ENTRIES];
    int del[MAX_ENTRIES];
} op;

/* Key k holds 0 (absent) or the value id opno * 8 + j + 1. */
typedef struct state {
    uint32_t v[NKEYS];
} state;

typedef struct run {
    uint64_t seed;
    tu_rng rng;
    cairn_env *mem, *fault;
    trip_env *te;
    cairn_db *db;
    cairn_writeoptions *sync;
    char *val;
    uint32_t next_opno;
    state base; /* verified state before the history */
    op hist[MAX_HIST];
    int nhist, must, nacked;
    char where[200];
} run;

/* Test-wide tallies, to estimate where cuts can land and to show that
 * cuts did land in the background thread. */
static uint64_t g_seed;
static uint64_t t_ops = 0, t_bg = 0, t_writes = 0;
static long t_cuts, t_cuts_bg, t_cuts_late;

static size_t make_key(char *buf, int k)
{
    return (size_t)snprintf(buf, 16, "key%02d", k);
}

static size_t make_value(char *buf, uint32_t id)
{
    int n = snprintf(buf, 32, "v%" PRIu32 "|", id);
    uint32_t h = id * 2654435761u;
    size_t pad = h % 120;
    if ((h >> 8) % 6 == 0)
        pad = 2000 + (h >> 12) % 40000; /* fills the write buffer fast */
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
    o->sync = tu_rng_uniform(&r->rng, 6) == 0;
    o->kind = p < 50 ? 0 : p < 62 ? 1 : p < 97 ? 2 : 3;
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
        uint32_t id = o->opno * 8 + (uint32_t)j + 1;
        int rc = o->del[j] ? cairn_batch_delete(b, key, kl)
                           : cairn_batch_put(b, key, kl, r->val,
                                             make_value(r->val, id));
        assert_int_equal(rc, 0);
    }
    int rc = cairn_db_write(r->db, wo, b);
    cairn_batch_destroy(b);
    return rc;
}

static int open_db(run *r, int create, int paranoid)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, &r->te->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_paranoid_checks(o, paranoid), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(
        cairn_options_set_compression(o, r->seed & 2 ? CAIRN_COMPRESSION_SNAPPY
                                                     : CAIRN_COMPRESSION_NONE),
        0);
    /* Half the runs log, so LOG's unsynced writes are cut too. */
    assert_int_equal(cairn_options_set_info_log(o, (int)(r->seed & 1)), 0);
    int rc = cairn_db_open(o, "/db", &r->db);
    cairn_options_destroy(o);
    return rc;
}

/* Reads every key with get, then scans: the two must agree, and every
 * value must be exactly one the workload wrote to that key. */
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
    cairn_iter *it = cairn_db_iter_create(r->db, NULL);
    assert_non_null(it);
    int k = 0;
    for (cairn_iter_seek_first(it); cairn_iter_valid(it); cairn_iter_next(it)) {
        size_t kl, vl;
        const char *kp = cairn_iter_key(it, &kl);
        const char *vp = cairn_iter_value(it, &vl);
        while (k < NKEYS && obs->v[k] == 0)
            k++;
        size_t want = k < NKEYS ? make_key(key, k) : 0;
        if (k == NKEYS || kl != want || memcmp(kp, key, kl) != 0)
            fail_msg("%s: scan yields key '%.*s' where gets give %s", r->where,
                     (int)(kl < 16 ? kl : 16), kp,
                     k < NKEYS ? key : "no more keys");
        if (make_value(r->val, obs->v[k]) != vl || memcmp(vp, r->val, vl) != 0)
            fail_msg("%s: scan and get disagree on the value of %s", r->where,
                     key);
        k++;
    }
    assert_int_equal(cairn_iter_status(it), 0);
    while (k < NKEYS && obs->v[k] == 0)
        k++;
    if (k < NKEYS)
        fail_msg("%s: scan misses key%02d, which get finds", r->where, k);
    cairn_iter_destroy(it);
}

/* Checks the prefix rule against the history and makes the observed state
 * the new base. all = 1: the cut lost no file data, so every acknowledged
 * op must be there. */
static void check_prefix(run *r, int all, const char *when)
{
    state obs, s = r->base;
    observe(r, &obs);
    int lo = all ? r->nacked : r->must, found = -1;
    for (int p = 0; p <= r->nhist; p++) {
        if (p >= lo && memcmp(&s, &obs, sizeof s) == 0) {
            found = p;
            break;
        }
        if (p < r->nhist)
            apply(&s, &r->hist[p]);
    }
    if (found < 0) {
        state m = r->base;
        for (int p = 0; p < lo; p++)
            apply(&m, &r->hist[p]);
        int k = 0;
        while (k < NKEYS - 1 && m.v[k] == obs.v[k])
            k++;
        fail_msg("%s: %s: recovered state is not the state after any prefix "
                 "of %d..%d of the %d ops (%d acknowledged, the last sync one "
                 "is #%d); e.g. key%02d holds id %" PRIu32
                 ", prefix %d gives %" PRIu32,
                 r->where, when, lo, r->nhist, r->nhist, r->nacked, r->must, k,
                 obs.v[k], lo, m.v[k]);
    }
    r->base = obs;
    r->nhist = r->must = r->nacked = 0;
}

/* ---------------------------------------------------------------------- */
/* Rounds                                                                  */

static void run_init(run *r, uint64_t seed, int it)
{
    memset(r, 0, sizeof *r);
    r->seed = seed;
    tu_rng_init(&r->rng, seed);
    r->mem = cairn_env_mem_create();
    assert_non_null(r->mem);
    assert_int_equal(cairn__env_fault_create(r->mem, &r->fault), 0);
    r->te = calloc(1, sizeof *r->te);
    assert_non_null(r->te);
    r->te->env.ops = &trip_env_ops;
    r->te->inner = r->fault;
    r->sync = cairn_writeoptions_create();
    assert_non_null(r->sync);
    assert_int_equal(cairn_writeoptions_set_sync(r->sync, 1), 0);
    r->val = malloc(VAL_MAX);
    assert_non_null(r->val);
    snprintf(r->where, sizeof r->where,
             "iteration %d (CAIRN_TEST_SEED=%" PRIu64 ")", it, g_seed);
}

static void run_fini(run *r)
{
    if (r->db != NULL)
        assert_int_equal(cairn_db_close(r->db), 0);
    cairn_writeoptions_destroy(r->sync);
    cairn_env_destroy(&r->te->env);
    cairn_env_destroy(r->fault);
    cairn_env_destroy(r->mem);
    free(r->val);
}

/* One round: arm the trip, write until the power goes (or the workload
 * ends, then cut), reopen, check. */
static void round_once(run *r, unsigned modes, int paranoid, int round)
{
    trip_env *te = r->te;
    int nops = 40 + (int)tu_rng_uniform(&r->rng, 300);
    if (nops > MAX_HIST - 1)
        nops = MAX_HIST - 1;
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
        op *o = &r->hist[r->nhist];
        gen_op(r, o);
        int rc = do_op(r, o);
        o->acked = rc == 0;
        r->nhist++;
        if (rc != 0) {
            if (!atomic_load(&te->tripped))
                fail_msg("%s: round %d: op %" PRIu32 " failed before any "
                         "cut: %s (%s)",
                         r->where, round, o->opno, cairn_errname(rc),
                         cairn_errmsg());
            break;
        }
        r->nacked = r->nhist;
        if (o->sync)
            r->must = r->nhist;
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
    (void)cairn_db_close(r->db); /* errors expected: the env is dead */
    r->db = NULL;
    cairn__env_fault_reset(r->fault);
    int rc = open_db(r, 0, paranoid);
    if (rc != 0)
        fail_msg("%s: %s: reopen (paranoid %d) failed: %s (%s)", r->where, when,
                 paranoid, cairn_errname(rc), cairn_errmsg());
    check_prefix(r, (modes & (DROP | GARBLE | KEEP)) == 0, when);
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
        run r;
        run_init(&r, seed + (uint64_t)it * 7919u, it);
        if (open_db(&r, 1, 0) != 0)
            fail_msg("%s: create: %s", r.where, cairn_errmsg());
        int rounds = 2 + (int)tu_rng_uniform(&r.rng, 3), garbled = 0;
        for (int round = 0; round < rounds; round++) {
            unsigned modes = cut_modes[mode_i++ % NMODES];
            garbled |= (modes & GARBLE) != 0;
            /* paranoid_checks fails the open on garbled acknowledged
             * records, as documented, so not after a garbling cut. */
            int paranoid = !garbled && tu_rng_uniform(&r.rng, 2) == 0;
            round_once(&r, modes, paranoid, round);
        }
        run_fini(&r);
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
