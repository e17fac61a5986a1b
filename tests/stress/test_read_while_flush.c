/*
 * test_read_while_flush.c: readers racing one writer through many
 * memtable flushes (and the compactions they trigger).
 *
 * One writer thread writes NKEYS keys "k000000".. for about two seconds
 * (scaled by tu_scale) with a 64 KiB write buffer, so the memtable is
 * switched and flushed to a table every few hundred writes. Each write
 * gives a key its next version v (1, 2, ...); whether version v of key k
 * is a put or a delete is a pure function of (k, v) (one in eight is a
 * delete), and a put's value spells out (k, v) followed by padding that is
 * also a function of (k, v), so a reader can check every byte it gets and
 * knows which versions make a key absent. A fifth of the writes are
 * batches of several keys.
 *
 * The writer publishes, per key, two versions in arrays of atomics:
 * started[k], stored before the write that gives k version v is issued,
 * and done[k], stored after that write returned. So for a read of k that
 * loads done[k] (lo) before it starts and started[k] (hi) after it ends,
 * the version it sees must lie in [lo, hi]: lo was complete before the
 * read began, and nothing newer than hi had been issued when it ended. A
 * key that reads as absent must have some version in [lo, hi] that is a
 * delete, or lo must be 0 (never written).
 *
 * Three readers, until the writer stops:
 *  - get a random key and check it as above;
 *  - take a snapshot, get a key at it, do more gets (time for a flush to
 *    move the key from a memtable into a table), get it again at the
 *    snapshot: the two results must be byte-identical;
 *  - a short iteration forward or backward from a random seek: keys come
 *    strictly in order (no duplicates, none out of order), each value
 *    belongs to its key and has a version within the bounds (lo taken for
 *    a window of keys before the iterator is created, hi when the entry is
 *    seen), and every key the iterator passes over within the window could
 *    have been absent at its creation.
 * At the end the main thread checks every key against the writer's final
 * versions, reopens the database and checks again, and asserts that table
 * files were written (otherwise nothing was read while flushing).
 *
 * Threads never call cmocka asserts (they longjmp to the main thread's
 * stack): the first failure is recorded in the shared state and stops
 * everyone; the main thread fails after joining. A watchdog guards against
 * hangs. Runs on the in-memory env and, shorter, on the POSIX env. Must be
 * clean under ThreadSanitizer.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NKEYS     1024
#define NREADERS  3
#define MAX_BATCH 6
#define VAL_MAX   8192
#define WINDOW    48 /* keys an iteration may cover */

typedef struct shared {
    cairn_db *db;
    cairn_env *env;
    const char *dir;
    uint64_t seed;
    uint64_t run_ns; /* how long the writer writes */
    /* Atomic: stored by the writer with release, loaded by readers with
     * acquire (what each publishes is in the file comment). */
    _Atomic uint32_t started[NKEYS];
    _Atomic uint32_t done[NKEYS];
    atomic_int stop; /* Atomic, relaxed: a hint to end the loops */
    pthread_mutex_t fail_mu;
    char fail[768]; /* Locked: fail_mu; the first failure */
    /* Statistics, relaxed. */
    atomic_long writes, gets, snap_checks, iter_entries;
    long tables_seen; /* writer only, read by main after the join */
} shared;

typedef struct reader {
    shared *sh;
    int id;
    pthread_t thread;
} reader;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail_shared(shared *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_shared(shared *sh, const char *fmt, ...)
{
    pthread_mutex_lock(&sh->fail_mu);
    if (sh->fail[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->fail, sizeof sh->fail, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&sh->fail_mu);
    atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
}

static uint32_t mix(uint32_t k, uint32_t v)
{
    uint32_t h = k * 2654435761u ^ (v + 0x9e3779b9u) * 40503u;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

/* Version v of key k deletes it (v 0 is "never written"). */
static int is_delete(uint32_t k, uint32_t v)
{
    return v != 0 && mix(k, v) % 8 == 0;
}

/* Some version in [lo, hi] leaves k absent. */
static int may_be_absent(uint32_t k, uint32_t lo, uint32_t hi)
{
    if (lo == 0)
        return 1;
    for (uint32_t v = lo; v <= hi; v++)
        if (is_delete(k, v))
            return 1;
    return 0;
}

static size_t make_key(char *buf, uint32_t k)
{
    return (size_t)snprintf(buf, 16, "k%06" PRIu32, k);
}

static size_t make_value(char *buf, uint32_t k, uint32_t v)
{
    int n = snprintf(buf, 40, "k%06" PRIu32 " v%010" PRIu32 "|", k, v);
    uint32_t h = mix(v, k);
    size_t pad = h % 300;
    if ((h >> 9) % 32 == 0)
        pad = 1000 + (h >> 14) % 5000;
    for (size_t i = 0; i < pad; i++)
        buf[(size_t)n + i] = (char)('a' + (h + i * 13) % 26);
    return (size_t)n + pad;
}

/* Checks a value read for key k: it must be version v of k, exactly, a
 * put, within [lo, hi]. Returns v, or 0 after recording a failure. */
static uint32_t check_value(shared *sh, const char *who, uint32_t k,
                            const void *val, size_t len, uint32_t lo,
                            uint32_t hi, char *scratch)
{
    char head[32];
    size_t hl = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, val, hl);
    head[hl] = '\0';
    unsigned kk = 0, vv = 0;
    if (sscanf(head, "k%6u v%10u|", &kk, &vv) != 2 || kk != k || vv == 0 ||
        make_value(scratch, k, vv) != len || memcmp(scratch, val, len) != 0) {
        fail_shared(sh,
                    "%s: key k%06" PRIu32 " holds a value not written to "
                    "it ('%s', %zu bytes)",
                    who, k, head, len);
        return 0;
    }
    if (vv < lo || vv > hi || is_delete(k, vv)) {
        fail_shared(sh,
                    "%s: key k%06" PRIu32 " at version %u; expected a "
                    "put version in [%" PRIu32 ", %" PRIu32 "]%s",
                    who, k, vv, lo, hi,
                    is_delete(k, vv) ? " (that version is a delete)" : "");
        return 0;
    }
    return vv;
}

static void check_absent(shared *sh, const char *who, uint32_t k, uint32_t lo,
                         uint32_t hi)
{
    if (!may_be_absent(k, lo, hi))
        fail_shared(sh,
                    "%s: key k%06" PRIu32 " is absent; every version in "
                    "[%" PRIu32 ", %" PRIu32 "] is a put",
                    who, k, lo, hi);
}

/* ---------------------------------------------------------------------- */
/* The writer                                                              */

static void look_for_tables(shared *sh, uint64_t *max_table)
{
    cairn__strlist l = {NULL, 0};
    if (sh->env->ops->list(sh->env, sh->dir, &l) != 0)
        return;
    uint64_t max = *max_table;
    for (size_t i = 0; i < l.n; i++) {
        unsigned long long n;
        char ext[8];
        if (sscanf(l.names[i], "%llu.%7s", &n, ext) == 2 &&
            strcmp(ext, "ldb") == 0 && n > *max_table) {
            sh->tables_seen++;
            if (n > max)
                max = n;
        }
    }
    *max_table = max;
    cairn__strlist_fini(&l);
}

static void *writer_main(void *arg)
{
    shared *sh = arg;
    tu_rng rng;
    tu_rng_init(&rng, sh->seed);
    char *val = malloc(VAL_MAX);
    cairn_batch *b = cairn_batch_create();
    uint64_t end = now_ns() + sh->run_ns, max_table = 0;
    if (val == NULL || b == NULL) {
        fail_shared(sh, "writer: out of memory");
        goto out;
    }
    for (long n = 0; !atomic_load_explicit(&sh->stop, memory_order_relaxed);
         n++) {
        if (n % 64 == 0 && now_ns() >= end)
            break;
        uint32_t keys[MAX_BATCH], vers[MAX_BATCH];
        int nk = tu_rng_uniform(&rng, 5) == 0
                     ? 2 + (int)tu_rng_uniform(&rng, MAX_BATCH - 1)
                     : 1;
        for (int j = 0; j < nk; j++) {
            /* Distinct keys, so each gets exactly one new version. */
            int dup;
            do {
                keys[j] = (uint32_t)tu_rng_uniform(&rng, NKEYS);
                dup = 0;
                for (int i = 0; i < j; i++)
                    dup |= keys[i] == keys[j];
            } while (dup);
            vers[j] = atomic_load_explicit(&sh->started[keys[j]],
                                           memory_order_relaxed) +
                      1;
            /* Release: publishes nothing but the number itself; a reader
             * that sees version v in the database reads started >= v,
             * because this store precedes the write, which precedes the
             * reader's read through the database's mutex. */
            atomic_store_explicit(&sh->started[keys[j]], vers[j],
                                  memory_order_release);
        }
        char key[16];
        int rc;
        if (nk == 1) {
            size_t kl = make_key(key, keys[0]);
            rc = is_delete(keys[0], vers[0])
                     ? cairn_db_delete(sh->db, NULL, key, kl)
                     : cairn_db_put(sh->db, NULL, key, kl, val,
                                    make_value(val, keys[0], vers[0]));
        } else {
            rc = cairn_batch_clear(b);
            for (int j = 0; j < nk && rc == 0; j++) {
                size_t kl = make_key(key, keys[j]);
                rc = is_delete(keys[j], vers[j])
                         ? cairn_batch_delete(b, key, kl)
                         : cairn_batch_put(b, key, kl, val,
                                           make_value(val, keys[j], vers[j]));
            }
            if (rc == 0)
                rc = cairn_db_write(sh->db, NULL, b);
        }
        if (rc != 0) {
            fail_shared(sh, "writer: write %ld failed: %s (%s)", n,
                        cairn_errname(rc), cairn_errmsg());
            break;
        }
        for (int j = 0; j < nk; j++) {
            /* Release, paired with the readers' acquire loads of done[]:
             * publishes that this write (and its sequence number) is
             * complete, so a read that starts after the load sees it. */
            atomic_store_explicit(&sh->done[keys[j]], vers[j],
                                  memory_order_release);
        }
        atomic_fetch_add_explicit(&sh->writes, 1, memory_order_relaxed);
        if (n % 256 == 0)
            look_for_tables(sh, &max_table);
    }
    look_for_tables(sh, &max_table);
out:
    atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
    cairn_batch_destroy(b);
    free(val);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Readers                                                                 */

/* Gets k through ro (NULL: latest). Returns 1 if found, 0 if absent, -1
 * on error (recorded); the value goes to *val. */
static int get_key(shared *sh, const char *who, const cairn_readoptions *ro,
                   uint32_t k, void **val, size_t *len)
{
    char key[16];
    int rc = cairn_db_get(sh->db, ro, key, make_key(key, k), val, len);
    if (rc == 0)
        return 1;
    if (rc == CAIRN_NOTFOUND)
        return 0;
    fail_shared(sh, "%s: get k%06" PRIu32 ": %s (%s)", who, k,
                cairn_errname(rc), cairn_errmsg());
    return -1;
}

static void checked_get(shared *sh, const char *who, uint32_t k, char *scratch)
{
    void *val = NULL;
    size_t len = 0;
    uint32_t lo = atomic_load_explicit(&sh->done[k], memory_order_acquire);
    int found = get_key(sh, who, NULL, k, &val, &len);
    uint32_t hi = atomic_load_explicit(&sh->started[k], memory_order_acquire);
    if (found == 1)
        (void)check_value(sh, who, k, val, len, lo, hi, scratch);
    else if (found == 0)
        check_absent(sh, who, k, lo, hi);
    cairn_free(val);
    atomic_fetch_add_explicit(&sh->gets, 1, memory_order_relaxed);
}

/* Two gets of k at one snapshot, with other reads in between, must agree
 * byte for byte. */
static void snapshot_reread(shared *sh, const char *who, tu_rng *rng,
                            cairn_readoptions *ro, char *scratch)
{
    uint32_t k = (uint32_t)tu_rng_uniform(rng, NKEYS);
    uint32_t lo = atomic_load_explicit(&sh->done[k], memory_order_acquire);
    const cairn_snapshot *snap = cairn_db_create_snapshot(sh->db);
    if (snap == NULL) {
        fail_shared(sh, "%s: create snapshot: %s", who, cairn_errmsg());
        return;
    }
    (void)cairn_readoptions_set_snapshot(ro, snap);
    void *v1 = NULL, *v2 = NULL;
    size_t l1 = 0, l2 = 0;
    int f1 = get_key(sh, who, ro, k, &v1, &l1);
    uint32_t hi = atomic_load_explicit(&sh->started[k], memory_order_acquire);
    if (f1 == 1)
        (void)check_value(sh, who, k, v1, l1, lo, hi, scratch);
    else if (f1 == 0)
        check_absent(sh, who, k, lo, hi);
    for (int i = 0; i < 16; i++)
        checked_get(sh, who, (uint32_t)tu_rng_uniform(rng, NKEYS), scratch);
    int f2 = get_key(sh, who, ro, k, &v2, &l2);
    if (f1 >= 0 && f2 >= 0 &&
        (f1 != f2 || l1 != l2 || (f1 == 1 && memcmp(v1, v2, l1) != 0)))
        fail_shared(sh,
                    "%s: key k%06" PRIu32 " read twice at one snapshot: "
                    "%s (%zu bytes), then %s (%zu bytes)",
                    who, k, f1 ? "found" : "absent", l1,
                    f2 ? "found" : "absent", l2);
    cairn_free(v1);
    cairn_free(v2);
    (void)cairn_readoptions_set_snapshot(ro, NULL);
    cairn_db_release_snapshot(sh->db, snap);
    atomic_fetch_add_explicit(&sh->snap_checks, 1, memory_order_relaxed);
}

/* Parses "k%06u" into *k; 0 if the key is not one of the test's. */
static int parse_key(const void *key, size_t len, uint32_t *k)
{
    char buf[16];
    unsigned u;
    if (len != 7)
        return 0;
    memcpy(buf, key, len);
    buf[len] = '\0';
    if (buf[0] != 'k' || sscanf(buf + 1, "%6u", &u) != 1 || u >= NKEYS)
        return 0;
    *k = u;
    return 1;
}

/* A short iteration from a random seek, forward or backward, within the
 * window [first, last] of keys whose lower bounds were loaded before the
 * iterator was created. */
static void short_iteration(shared *sh, const char *who, tu_rng *rng,
                            char *scratch)
{
    uint32_t lo[2 * WINDOW + 1];
    uint32_t k0 = (uint32_t)tu_rng_uniform(rng, NKEYS);
    int backward = (int)tu_rng_uniform(rng, 2);
    int64_t first = (int64_t)k0 - (backward ? WINDOW : 0);
    int64_t last = (int64_t)k0 + WINDOW;
    if (first < 0)
        first = 0;
    if (last >= NKEYS)
        last = NKEYS - 1;
    for (int64_t k = first; k <= last; k++)
        lo[k - first] =
            atomic_load_explicit(&sh->done[k], memory_order_acquire);
    cairn_iter *it = cairn_db_iter_create(sh->db, NULL);
    if (it == NULL) {
        fail_shared(sh, "%s: iterator: %s", who, cairn_errmsg());
        return;
    }
    char key[16];
    cairn_iter_seek(it, key, make_key(key, k0));
    /* Keys in (prev, next) were passed over: each must be absent-able.
     * The seek passes over [k0, first key found). */
    int64_t prev = (int64_t)k0 - 1, step = 0;
    int dir = 1;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        int64_t cur;
        uint32_t k = 0;
        if (cairn_iter_valid(it)) {
            size_t kl, vl;
            const void *kp = cairn_iter_key(it, &kl);
            const void *vp = cairn_iter_value(it, &vl);
            if (!parse_key(kp, kl, &k)) {
                fail_shared(sh,
                            "%s: iterator yields a key never written "
                            "(%zu bytes)",
                            who, kl);
                break;
            }
            cur = k;
            if ((dir > 0 && cur <= prev) || (dir < 0 && cur >= prev)) {
                fail_shared(sh,
                            "%s: iterator (%s) yields k%06" PRIu32
                            " after k%06" PRId64 "%s",
                            who, dir > 0 ? "next" : "prev", k, prev,
                            cur == prev ? ": a duplicate" : ": out of order");
                break;
            }
            if (cur >= first && cur <= last) {
                uint32_t hi =
                    atomic_load_explicit(&sh->started[k], memory_order_acquire);
                (void)check_value(sh, who, k, vp, vl, lo[cur - first], hi,
                                  scratch);
            }
        } else {
            cur = dir > 0 ? NKEYS : -1; /* ran off the end */
        }
        /* The keys passed over, within the window. */
        for (int64_t j = prev + dir; j != cur; j += dir) {
            if (j < first || j > last)
                break;
            uint32_t hi =
                atomic_load_explicit(&sh->started[j], memory_order_acquire);
            check_absent(sh, who, (uint32_t)j, lo[j - first], hi);
        }
        atomic_fetch_add_explicit(&sh->iter_entries, 1, memory_order_relaxed);
        if (!cairn_iter_valid(it) || cur < first || cur > last || ++step > 24)
            break;
        if (step == 1 && backward) {
            /* Turn around: the first key found was >= k0, so going back
             * the keys passed over are those below it. */
            dir = -1;
        }
        prev = cur;
        if (dir > 0)
            cairn_iter_next(it);
        else
            cairn_iter_prev(it);
    }
    if (cairn_iter_status(it) != 0)
        fail_shared(sh, "%s: iterator status %s (%s)", who,
                    cairn_errname(cairn_iter_status(it)), cairn_errmsg());
    cairn_iter_destroy(it);
}

static void *reader_main(void *arg)
{
    reader *rd = arg;
    shared *sh = rd->sh;
    char who[32];
    snprintf(who, sizeof who, "reader %d", rd->id);
    tu_rng rng;
    tu_rng_init(&rng, sh->seed + 1000003u * (uint64_t)(rd->id + 1));
    char *scratch = malloc(VAL_MAX);
    cairn_readoptions *ro = cairn_readoptions_create();
    if (scratch == NULL || ro == NULL) {
        fail_shared(sh, "%s: out of memory", who);
    }
    while (scratch != NULL && ro != NULL &&
           !atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        unsigned p = (unsigned)tu_rng_uniform(&rng, 10);
        if (p < 6)
            checked_get(sh, who, (uint32_t)tu_rng_uniform(&rng, NKEYS),
                        scratch);
        else if (p < 7)
            snapshot_reread(sh, who, &rng, ro, scratch);
        else
            short_iteration(sh, who, &rng, scratch);
    }
    cairn_readoptions_destroy(ro);
    free(scratch);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* The test                                                                */

static void open_db(shared *sh, int create)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, sh->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_block_size(o, 2048), 0);
    assert_int_equal(cairn_options_set_bloom_bits_per_key(o, 10), 0);
    int rc = cairn_db_open(o, sh->dir, &sh->db);
    cairn_options_destroy(o);
    if (rc != 0)
        fail_msg("open %s: %s (%s)", sh->dir, cairn_errname(rc),
                 cairn_errmsg());
}

/* Every key holds exactly its final version (or is absent if that is a
 * delete). */
static void check_final(shared *sh, const char *when)
{
    char *scratch = malloc(VAL_MAX);
    assert_non_null(scratch);
    for (uint32_t k = 0; k < NKEYS && sh->fail[0] == '\0'; k++) {
        uint32_t v = atomic_load(&sh->done[k]);
        void *val = NULL;
        size_t len = 0;
        int found = get_key(sh, when, NULL, k, &val, &len);
        if (found == 1)
            (void)check_value(sh, when, k, val, len, v, v, scratch);
        else if (found == 0 && v != 0 && !is_delete(k, v))
            fail_shared(sh,
                        "%s: key k%06" PRIu32 " absent, expected version "
                        "%" PRIu32,
                        when, k, v);
        cairn_free(val);
    }
    free(scratch);
    if (sh->fail[0] != '\0')
        fail_msg("%s (CAIRN_TEST_SEED=%" PRIu64 ")", sh->fail, sh->seed);
}

static void run(const char *name, cairn_env *env, const char *dir,
                double seconds)
{
    shared *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    sh->seed = tu_seed(name);
    sh->env = env;
    sh->dir = dir;
    sh->run_ns = (uint64_t)(seconds * tu_scale() * 1e9);
    pthread_mutex_init(&sh->fail_mu, NULL);
    tu_watchdog_arm(120, name);
    open_db(sh, 1);

    reader rd[NREADERS];
    pthread_t writer;
    for (int i = 0; i < NREADERS; i++) {
        rd[i] = (reader){sh, i, 0};
        assert_int_equal(
            pthread_create(&rd[i].thread, NULL, reader_main, &rd[i]), 0);
    }
    assert_int_equal(pthread_create(&writer, NULL, writer_main, sh), 0);
    pthread_join(writer, NULL);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rd[i].thread, NULL);
    if (sh->fail[0] != '\0')
        fail_msg("%s: %s (CAIRN_TEST_SEED=%" PRIu64 ")", name, sh->fail,
                 sh->seed);
    fprintf(stderr,
            "%s: %ld writes, %ld gets, %ld snapshot rereads, %ld iterator "
            "entries, %ld tables seen\n",
            name, atomic_load(&sh->writes), atomic_load(&sh->gets),
            atomic_load(&sh->snap_checks), atomic_load(&sh->iter_entries),
            sh->tables_seen);

    check_final(sh, "after the run");
    assert_int_equal(cairn_db_close(sh->db), 0);
    open_db(sh, 0);
    check_final(sh, "after reopen");
    assert_int_equal(cairn_db_close(sh->db), 0);
    /* Reads raced flushes only if tables were written. */
    assert_true(sh->tables_seen >= 2);
    tu_watchdog_disarm();
    pthread_mutex_destroy(&sh->fail_mu);
    free(sh);
}

static void test_read_while_flush_mem(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    run("test_read_while_flush_mem", env, "/db", 2.0);
    cairn_env_destroy(env);
}

static void test_read_while_flush_posix(void **state)
{
    (void)state;
    char *dir = tu_tempdir("readflush");
    run("test_read_while_flush_posix", cairn_env_default(), dir, 1.0);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_while_flush_mem),
        cmocka_unit_test(test_read_while_flush_posix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
