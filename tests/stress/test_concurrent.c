/*
 * test_concurrent.c: many writers and readers on one database handle.
 *
 * Writers (16, and a 64-writer variant) run a random mix of sync and
 * non-sync puts, deletes and batches for about a second (scaled by
 * tu_scale), while 4 readers do gets. Each writer owns a private key
 * range, mirrored in a local model; all writers also share two kinds of
 * keys:
 *
 *  1. Shared single keys "s/NN", whose values carry (thread, counter). A
 *     writer's counter only grows, so a reader that has seen thread t's
 *     counter c on a key must never later see a smaller counter of t on
 *     that key: t's later write has the higher sequence number, and a
 *     reader's snapshots never go back in time. Shared keys are never
 *     deleted, so once found a key must stay found.
 *
 *  2. Groups "g/GG/K" of GROUP_KEYS keys, only ever written by a batch
 *     that puts one stamp (version, thread, counter) on every key of the
 *     group, in key order. A per-group test mutex is held across the
 *     cairn_db_write, so version order is commit order. A reader reads a
 *     group's keys in order with separate gets; each get's snapshot is at
 *     least the previous one's, so along the pass the versions may rise
 *     (a newer batch committed between two gets) but must never fall. A
 *     half-applied batch (the first keys of a batch visible, later ones
 *     not, as when the last sequence is published before the memtable
 *     insert of the whole group is done) shows up as such a fall, and a
 *     key of a group missing after an earlier one was found does too.
 *     Across passes a reader's version of a group never falls either.
 *
 * Writers also check read-your-writes on their own keys. At the end the
 * main thread checks every writer's own keys against its model, that each
 * shared key holds the last value some writer wrote to it, and that every
 * group holds its last committed version on all keys; then it reopens the
 * database and checks the same again, so group-committed log records
 * replay correctly.
 *
 * Threads never call cmocka asserts (those longjmp to the main thread's
 * stack); they record the first failure in the shared state and stop
 * everyone, and the main thread asserts after joining them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WRITERS 64
#define NREADERS    4
#define OWN_KEYS    64
#define SHARED_KEYS 32
#define GROUPS      8
#define GROUP_KEYS  6
#define MIN_OPS     40 /* every writer does this many, however slow */
#define VAL_MAX     128

struct test_state;

typedef struct writer {
    struct test_state *st;
    int id;
    uint64_t seed;
    pthread_t thread;
    /* Written by the writer thread only; read by main after the join. */
    int64_t own[OWN_KEYS];            /* counter of the value, -1 absent */
    int64_t last_shared[SHARED_KEYS]; /* last counter written, -1 none */
    uint64_t ops;
} writer;

typedef struct reader {
    struct test_state *st;
    int id;
    pthread_t thread;
    /* Private to the reader thread until joined. */
    int64_t seen[SHARED_KEYS][MAX_WRITERS]; /* highest counter seen */
    int found[SHARED_KEYS];
    uint64_t group_ver[GROUPS]; /* version at the end of the last pass */
    uint64_t passes;
    uint64_t group_hits; /* group keys found, so a vacuous run shows */
} reader;

typedef struct test_state {
    cairn_db *db;
    int nwriters;
    atomic_int stop;         /* Atomic: writers finish after MIN_OPS */
    atomic_int writers_done; /* Atomic: writers that have returned */
    atomic_int failed;       /* Atomic: set after failmsg is written */
    pthread_mutex_t fail_mu;
    char failmsg[512]; /* Locked: fail_mu */
    pthread_mutex_t group_mu[GROUPS];
    uint64_t group_ver[GROUPS]; /* Locked: group_mu[g] */
    writer writers[MAX_WRITERS];
    reader readers[NREADERS];
} test_state;

static void record_failure(test_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void record_failure(test_state *st, const char *fmt, ...)
{
    pthread_mutex_lock(&st->fail_mu);
    if (!atomic_load(&st->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->failmsg, sizeof st->failmsg, fmt, ap);
        va_end(ap);
        atomic_store(&st->failed, 1);
    }
    pthread_mutex_unlock(&st->fail_mu);
    atomic_store(&st->stop, 1);
}

/* ---------------------------------------------------------------------- */
/* Keys and values. A value is a parseable stamp "<kind> V<version>       */
/* T<thread> C<counter>", '|', and padding derived from the stamp, so a   */
/* value that is garbage or a mix of two values is caught.                 */

static size_t make_key(char *buf, char kind, int a, int b)
{
    return (size_t)snprintf(buf, 32, "%c/%02d/%02d", kind, a, b);
}

static size_t make_value(char *buf, char kind, uint64_t ver, int t, uint64_t c)
{
    int n = snprintf(buf, VAL_MAX, "%c V%" PRIu64 " T%02d C%" PRIu64, kind, ver,
                     t, c);
    uint32_t h = 2166136261u; /* FNV-1a of the stamp */
    for (int i = 0; i < n; i++)
        h = (h ^ (unsigned char)buf[i]) * 16777619u;
    size_t len = (size_t)n, pad = h % 48;
    buf[len++] = '|';
    for (size_t i = 0; i < pad; i++)
        buf[len++] = (char)('a' + (h >> 8) % 26);
    return len;
}

/* Gets key and parses its stamp, which must be exactly what a writer of
 * this kind would have written. Returns 0 (found), CAIRN_NOTFOUND, or BAD
 * after recording a failure. */
#define BAD 1
static int get_stamp(test_state *st, const char *who, const char *key,
                     size_t kl, char kind, uint64_t *ver, int *t, uint64_t *c)
{
    void *val = NULL;
    size_t len = 0;
    char tmp[VAL_MAX], want[VAL_MAX], k = 0;
    int rc = cairn_db_get(st->db, NULL, key, kl, &val, &len);
    *ver = *c = 0;
    *t = -1;
    if (rc == 0 && len > 0 && len < sizeof tmp) {
        memcpy(tmp, val, len);
        tmp[len] = '\0';
        if (sscanf(tmp, "%c V%" SCNu64 " T%d C%" SCNu64 "|", &k, ver, t, c) !=
                4 ||
            k != kind || *t < 0 || *t >= st->nwriters ||
            make_value(want, kind, *ver, *t, *c) != len ||
            memcmp(want, val, len) != 0)
            rc = BAD;
    } else if (rc == 0) {
        rc = BAD;
    }
    if (rc == BAD)
        record_failure(st, "%s: key %s: malformed value '%.*s' (%zu bytes)",
                       who, key, (int)(len < 60 ? len : 60), (char *)val, len);
    else if (rc != 0 && rc != CAIRN_NOTFOUND)
        record_failure(st, "%s: get %s: %s (%s)", who, key, cairn_errname(rc),
                       cairn_errmsg());
    cairn_free(val);
    return rc == 0 || rc == CAIRN_NOTFOUND ? rc : BAD;
}

/* ---------------------------------------------------------------------- */
/* Writers                                                                 */

static int check_own(test_state *st, int t, int k, int64_t want,
                     const char *when)
{
    char key[32];
    uint64_t ver, c;
    int wt;
    int rc =
        get_stamp(st, when, key, make_key(key, 'o', t, k), 'o', &ver, &wt, &c);
    if (rc == BAD)
        return 0;
    int ok = want < 0 ? rc == CAIRN_NOTFOUND
                      : rc == 0 && wt == t && c == (uint64_t)want;
    if (!ok)
        record_failure(st,
                       "%s: own key %s: expected counter %" PRId64
                       " (-1: absent), got %s counter %" PRIu64,
                       when, key, want, cairn_errname(rc), c);
    return ok;
}

static int check_rc(test_state *st, writer *w, int rc, const char *what)
{
    if (rc != 0)
        record_failure(st, "writer %d: %s failed: %s (%s)", w->id, what,
                       cairn_errname(rc), cairn_errmsg());
    return rc == 0;
}

/* A batch of own puts and deletes, and perhaps a shared key, applied to
 * the model on success. */
static void own_batch(test_state *st, writer *w, tu_rng *rng,
                      const cairn_writeoptions *wo, cairn_batch *b, uint64_t c,
                      int n, int with_shared)
{
    int keys[8], del[8], rc = 0;
    char key[32], val[VAL_MAX];
    (void)cairn_batch_clear(b);
    for (int i = 0; i < n && rc == 0; i++) {
        keys[i] = (int)tu_rng_uniform(rng, OWN_KEYS);
        del[i] = tu_rng_uniform(rng, 4) == 0;
        size_t kl = make_key(key, 'o', w->id, keys[i]);
        rc = del[i] ? cairn_batch_delete(b, key, kl)
                    : cairn_batch_put(b, key, kl, val,
                                      make_value(val, 'o', 0, w->id, c));
    }
    int sk = (int)tu_rng_uniform(rng, SHARED_KEYS);
    if (with_shared && rc == 0)
        rc = cairn_batch_put(b, key, make_key(key, 's', 0, sk), val,
                             make_value(val, 's', 0, w->id, c));
    if (!check_rc(st, w, rc, "batch append") ||
        !check_rc(st, w, cairn_db_write(st->db, wo, b), "batch"))
        return;
    for (int i = 0; i < n; i++)
        w->own[keys[i]] = del[i] ? -1 : (int64_t)c;
    if (with_shared)
        w->last_shared[sk] = (int64_t)c;
}

static void group_batch(test_state *st, writer *w, tu_rng *rng,
                        const cairn_writeoptions *wo, cairn_batch *b,
                        uint64_t c)
{
    int g = (int)tu_rng_uniform(rng, GROUPS), rc = 0;
    char key[32], val[VAL_MAX];
    pthread_mutex_lock(&st->group_mu[g]);
    uint64_t ver = st->group_ver[g] + 1;
    (void)cairn_batch_clear(b);
    size_t vl = make_value(val, 'g', ver, w->id, c);
    for (int k = 0; k < GROUP_KEYS && rc == 0; k++)
        rc = cairn_batch_put(b, key, make_key(key, 'g', g, k), val, vl);
    if (check_rc(st, w, rc, "batch append") &&
        check_rc(st, w, cairn_db_write(st->db, wo, b), "group batch"))
        st->group_ver[g] = ver;
    pthread_mutex_unlock(&st->group_mu[g]);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    test_state *st = w->st;
    tu_rng rng;
    tu_rng_init(&rng, w->seed);
    cairn_writeoptions *sync = cairn_writeoptions_create();
    cairn_batch *b = cairn_batch_create();
    if (sync == NULL || b == NULL ||
        cairn_writeoptions_set_sync(sync, 1) != 0) {
        record_failure(st, "writer %d: out of memory", w->id);
        goto out;
    }
    char key[32], val[VAL_MAX];
    for (uint64_t c = 1; !atomic_load(&st->failed) &&
                         (w->ops < MIN_OPS || !atomic_load(&st->stop));
         c++) {
        w->ops++;
        const cairn_writeoptions *wo =
            tu_rng_uniform(&rng, 8) == 0 ? sync : NULL;
        unsigned r = (unsigned)tu_rng_uniform(&rng, 100);
        int k = (int)tu_rng_uniform(&rng, OWN_KEYS);
        size_t kl = make_key(key, 'o', w->id, k);
        if (r < 30) {
            if (check_rc(st, w,
                         cairn_db_put(st->db, wo, key, kl, val,
                                      make_value(val, 'o', 0, w->id, c)),
                         "put"))
                w->own[k] = (int64_t)c;
        } else if (r < 38) {
            if (check_rc(st, w, cairn_db_delete(st->db, wo, key, kl), "delete"))
                w->own[k] = -1;
        } else if (r < 50) {
            own_batch(st, w, &rng, wo, b, c, 2 + (int)tu_rng_uniform(&rng, 4),
                      0);
        } else if (r < 66) {
            int sk = k % SHARED_KEYS;
            if (check_rc(st, w,
                         cairn_db_put(st->db, wo, key,
                                      make_key(key, 's', 0, sk), val,
                                      make_value(val, 's', 0, w->id, c)),
                         "shared put"))
                w->last_shared[sk] = (int64_t)c;
        } else if (r < 82) {
            group_batch(st, w, &rng, wo, b, c);
        } else if (r < 90) {
            own_batch(st, w, &rng, wo, b, c, 1, 1);
        } else if (r < 92) {
            /* An empty sync write: durability only, no entries. */
            (void)cairn_batch_clear(b);
            (void)check_rc(st, w, cairn_db_write(st->db, sync, b),
                           "empty sync batch");
        } else {
            (void)check_own(st, w->id, k, w->own[k], "read-your-writes");
        }
    }
out:
    cairn_batch_destroy(b);
    cairn_writeoptions_destroy(sync);
    atomic_fetch_add(&st->writers_done, 1);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Readers                                                                 */

static void read_shared(test_state *st, reader *rd)
{
    char key[32], who[32];
    snprintf(who, sizeof who, "reader %d", rd->id);
    for (int k = 0; k < SHARED_KEYS && !atomic_load(&st->failed); k++) {
        uint64_t ver, c;
        int t;
        int rc = get_stamp(st, who, key, make_key(key, 's', 0, k), 's', &ver,
                           &t, &c);
        if (rc == CAIRN_NOTFOUND && rd->found[k]) {
            record_failure(st, "%s: shared key %s vanished", who, key);
        } else if (rc == 0 && (int64_t)c < rd->seen[k][t]) {
            record_failure(st,
                           "%s: shared key %s went back in time: writer %d "
                           "counter %" PRIu64 " after %" PRId64,
                           who, key, t, c, rd->seen[k][t]);
        } else if (rc == 0) {
            rd->seen[k][t] = (int64_t)c;
            rd->found[k] = 1;
        }
    }
}

static void read_group(test_state *st, reader *rd, int g)
{
    char key[32], who[32];
    snprintf(who, sizeof who, "reader %d", rd->id);
    uint64_t prev_ver = rd->group_ver[g], prev_c = 0;
    int prev_t = -1, prev_k = -1;
    for (int k = 0; k < GROUP_KEYS && !atomic_load(&st->failed); k++) {
        uint64_t ver, c;
        int t;
        /* NOTFOUND counts as version 0. */
        int rc = get_stamp(st, who, key, make_key(key, 'g', g, k), 'g', &ver,
                           &t, &c);
        if (rc == BAD)
            break;
        if (ver < prev_ver) {
            record_failure(st,
                           "%s: group %d: key %d shows version %" PRIu64
                           " after %s showed %" PRIu64
                           " (batch seen half-applied or snapshot went back)",
                           who, g, k, ver,
                           prev_k < 0 ? "the previous pass" : "an earlier key",
                           prev_ver);
        } else if (ver == prev_ver && prev_t >= 0 &&
                   (t != prev_t || c != prev_c)) {
            record_failure(st,
                           "%s: group %d: version %" PRIu64
                           " carries two stamps (writer %d/%" PRIu64
                           " and %d/%" PRIu64 ")",
                           who, g, ver, prev_t, prev_c, t, c);
        } else {
            rd->group_hits += rc == 0;
            prev_ver = ver;
            prev_t = t;
            prev_c = c;
            prev_k = k;
        }
    }
    rd->group_ver[g] = prev_ver;
}

static void *reader_main(void *arg)
{
    reader *rd = arg;
    test_state *st = rd->st;
    for (;;) {
        /* Loaded before the pass, so the last pass starts after every
         * writer has finished and sees the final state. */
        int done = atomic_load(&st->writers_done) == st->nwriters;
        read_shared(st, rd);
        for (int g = 0; g < GROUPS; g++)
            read_group(st, rd, g);
        rd->passes++;
        if (done || atomic_load(&st->failed))
            break;
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Final checks and the driver                                             */

static void check_final(test_state *st, const char *when)
{
    char key[32];
    uint64_t ver, c;
    int t;
    for (int w = 0; w < st->nwriters; w++)
        for (int k = 0; k < OWN_KEYS; k++)
            if (!check_own(st, w, k, st->writers[w].own[k], when))
                return;
    for (int k = 0; k < SHARED_KEYS; k++) {
        int written = 0;
        for (int w = 0; w < st->nwriters; w++)
            written |= st->writers[w].last_shared[k] >= 0;
        int rc = get_stamp(st, when, key, make_key(key, 's', 0, k), 's', &ver,
                           &t, &c);
        if (rc != BAD &&
            (written ? rc != 0 || (int64_t)c != st->writers[t].last_shared[k]
                     : rc != CAIRN_NOTFOUND))
            record_failure(st,
                           "%s: shared key %s: %s, not the last value any "
                           "writer wrote to it",
                           when, key, cairn_errname(rc));
    }
    for (int g = 0; g < GROUPS; g++) {
        for (int k = 0; k < GROUP_KEYS; k++) {
            int rc = get_stamp(st, when, key, make_key(key, 'g', g, k), 'g',
                               &ver, &t, &c);
            if (rc != BAD && ver != st->group_ver[g])
                record_failure(st,
                               "%s: group key %s: expected version %" PRIu64
                               ", got %s version %" PRIu64,
                               when, key, st->group_ver[g], cairn_errname(rc),
                               ver);
        }
    }
}

static cairn_db *open_db(cairn_env *env, const char *path, size_t wbuf,
                         int shards)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_env(o, env), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, wbuf), 0);
    assert_int_equal(cairn_options_set_memtable_shards(o, shards), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(o, path, &db);
    if (rc != 0)
        fail_msg("open %s: %s (%s)", path, cairn_errname(rc), cairn_errmsg());
    cairn_options_destroy(o);
    return db;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void run(const char *name, int nwriters, cairn_env *env,
                const char *path, size_t wbuf, int shards, double seconds)
{
    uint64_t seed = tu_seed(name);
    test_state *st = calloc(1, sizeof *st);
    assert_non_null(st);
    st->nwriters = nwriters;
    pthread_mutex_init(&st->fail_mu, NULL);
    for (int g = 0; g < GROUPS; g++)
        pthread_mutex_init(&st->group_mu[g], NULL);
    st->db = open_db(env, path, wbuf, shards);
    tu_watch(120 + (unsigned)(seconds * 10), name);

    for (int t = 0; t < nwriters; t++) {
        writer *w = &st->writers[t];
        w->st = st;
        w->id = t;
        w->seed = seed * 1000003u + (uint64_t)t + 1;
        for (int k = 0; k < OWN_KEYS; k++)
            w->own[k] = -1;
        for (int k = 0; k < SHARED_KEYS; k++)
            w->last_shared[k] = -1;
        assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
    }
    for (int r = 0; r < NREADERS; r++) {
        reader *rd = &st->readers[r];
        rd->st = st;
        rd->id = r;
        for (int k = 0; k < SHARED_KEYS; k++)
            for (int t = 0; t < MAX_WRITERS; t++)
                rd->seen[k][t] = -1;
        assert_int_equal(pthread_create(&rd->thread, NULL, reader_main, rd), 0);
    }
    for (long ms = 0; ms < (long)(seconds * 1000) && !atomic_load(&st->failed);
         ms += 10)
        sleep_ms(10);
    atomic_store(&st->stop, 1);
    uint64_t ops = 0, passes = 0, hits = 0;
    for (int t = 0; t < nwriters; t++) {
        pthread_join(st->writers[t].thread, NULL);
        ops += st->writers[t].ops;
    }
    for (int r = 0; r < NREADERS; r++) {
        pthread_join(st->readers[r].thread, NULL);
        passes += st->readers[r].passes;
        hits += st->readers[r].group_hits;
    }
    fprintf(stderr,
            "%s: %d writers, %" PRIu64 " ops, %" PRIu64 " reader passes\n",
            name, nwriters, ops, passes);

    if (!atomic_load(&st->failed)) {
        check_final(st, "final");
        /* Every reader's last pass ran after the writers finished, and
         * some batch wrote a group, so readers must have found keys. */
        if (!atomic_load(&st->failed) && hits == 0)
            record_failure(st,
                           "readers never found a group key: the checks were "
                           "vacuous");
    }
    if (!atomic_load(&st->failed)) {
        assert_int_equal(cairn_db_close(st->db), 0);
        st->db = open_db(env, path, wbuf, shards);
        check_final(st, "after reopen");
    }
    int rc = cairn_db_close(st->db);
    (void)tu_unwatch(NULL);
    char msg[sizeof st->failmsg];
    int failed = atomic_load(&st->failed);
    snprintf(msg, sizeof msg, "%s", st->failmsg);
    for (int g = 0; g < GROUPS; g++)
        pthread_mutex_destroy(&st->group_mu[g]);
    pthread_mutex_destroy(&st->fail_mu);
    free(st);
    if (failed)
        fail_msg("%s (seed %" PRIu64 ")", msg, seed);
    assert_int_equal(rc, 0);
}

/* 16 writers on the POSIX env, so sync writes really fdatasync and group
 * commit has something to merge. */
static void test_16_writers_posix(void **state)
{
    (void)state;
    char *dir = tu_tempdir("concurrent");
    char path[4200];
    snprintf(path, sizeof path, "%s/db", dir);
    run("test_16_writers_posix", 16, NULL, path, 4u << 20, 0, 1.2 * tu_scale());
    tu_rmtree(dir);
    free(dir);
}

/* 64 writers on the in-memory env with the smallest write buffer, so the
 * memtable fills, is switched and is written out while under load. */
static void test_64_writers_mem(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    run("test_64_writers_mem", 64, env, "/db", 64u << 10, 0, 1.0 * tu_scale());
    cairn_env_destroy(env);
}

/* The same with memtables of one list (LevelDB's layout) instead of the
 * default list per CPU (memtable.h M5). */
static void test_64_writers_mem_one_list(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    run("test_64_writers_mem_one_list", 64, env, "/db", 64u << 10, 1,
        0.6 * tu_scale());
    cairn_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_16_writers_posix, tu_unwatch),
        cmocka_unit_test_teardown(test_64_writers_mem, tu_unwatch),
        cmocka_unit_test_teardown(test_64_writers_mem_one_list, tu_unwatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
