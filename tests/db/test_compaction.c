/*
 * test_compaction.c: acceptance tests of leveled compaction, through the
 * public API (plus the env's list and file_size to measure the directory,
 * and the table reader to count what compaction kept).
 *
 *  1. Space comes back. About 100 MiB (times CAIRN_TEST_SCALE) of
 *     incompressible values is written in random key order; the largest
 *     directory size seen while writing is the peak. Every key is then
 *     deleted and the whole range compacted: the directory must shrink to
 *     under 1% of the peak. Then 10,000 keys are overwritten 50 times: the
 *     directory must stay under a bound derived from the live data and the
 *     write buffer (see bounded_overwrite), whatever the number of rounds.
 *  2. Level 0 stays bounded. Two writers put random keys as fast as they
 *     can under a 64 KiB write buffer while a monitor samples
 *     "cairn.num-files-at-level0" (it must never exceed the stop trigger,
 *     12) and a reader checks that every key's version, encoded in its
 *     value, never goes backwards, is never older than the last
 *     acknowledged put and never newer than the last attempted one.
 *  3. Snapshots across compactions. A randomized model test (seeded,
 *     replayable with CAIRN_TEST_SEED) forces flushes and range compactions
 *     between its steps while up to four snapshots are held; reads and
 *     scans at each snapshot must show exactly its state. A deterministic
 *     companion counts table entries: a held snapshot keeps old versions
 *     on disk, and once it is released a compaction that reaches every
 *     file leaves exactly one entry per live key and no tombstones.
 *  4. Pause and resume: paused, flushes still happen and level 0 fills
 *     past the compaction trigger; resumed, it drains below it.
 *
 * Everything runs in the in-memory env.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env.h"
#include "table/table.h"
#include "util/ikey.h"

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

#define KIB        1024u
#define MIB        (1024u * 1024u)
#define POOL_BYTES (256u * KIB)
#define STOP_L0    12 /* LevelDB's kL0_StopWritesTrigger */

/* Random bytes that values are cut from: incompressible and cheap. */
static unsigned char g_pool[POOL_BYTES];

static int group_setup(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, 0x5eedf00dULL);
    tu_rng_bytes(&r, g_pool, sizeof g_pool);
    return 0;
}

static void ok(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %s: %s", what, cairn_errname(rc), cairn_errmsg());
}

static cairn_db *open_db(cairn_env *env, size_t wbuf, int compression)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    ok(cairn_options_set_create_if_missing(o, 1), "create_if_missing");
    ok(cairn_options_set_env(o, env), "env");
    ok(cairn_options_set_write_buffer_size(o, wbuf), "write buffer");
    ok(cairn_options_set_compression(o, compression), "compression");
    cairn_db *db = NULL;
    ok(cairn_db_open(o, "/db", &db), "open");
    cairn_options_destroy(o);
    return db;
}

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
    ok(env->ops->list(env, "/db", &l), "list /db");
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

/* Files at a level from the property, or -1 if it cannot be read. */
static long level_files(cairn_db *db, int level)
{
    char name[48];
    snprintf(name, sizeof name, "cairn.num-files-at-level%d", level);
    char *v = cairn_db_property(db, name);
    if (v == NULL)
        return -1;
    long n = strtol(v, NULL, 10);
    cairn_free(v);
    return n;
}

/* Value of key id at version ver: a 16-byte header naming both, then len
 * bytes of the pool at a place that depends on both. */
static size_t make_value(uint32_t id, uint32_t ver, size_t len,
                         unsigned char *out)
{
    snprintf((char *)out, 17, "%08" PRIx32 "%08" PRIx32, id, ver);
    size_t off =
        ((size_t)id * 7919u + (size_t)ver * 104729u) % (POOL_BYTES - len);
    memcpy(out + 16, g_pool + off, len);
    return 16 + len;
}

static size_t key_of(uint32_t id, char *out)
{
    return (size_t)snprintf(out, 16, "key%08" PRIu32, id);
}

static void put_version(cairn_db *db, uint32_t id, uint32_t ver, size_t len,
                        unsigned char *buf)
{
    char k[16];
    size_t kl = key_of(id, k);
    ok(cairn_db_put(db, NULL, k, kl, buf, make_value(id, ver, len, buf)),
       "put");
}

/* Asserts key id holds version ver (of length len), or is absent (ver 0). */
static void expect_version(cairn_db *db, const cairn_readoptions *ro,
                           uint32_t id, uint32_t ver, size_t len,
                           unsigned char *buf)
{
    char k[16];
    size_t kl = key_of(id, k), vl;
    void *v = NULL;
    int rc = cairn_db_get(db, ro, k, kl, &v, &vl);
    if (ver == 0) {
        if (rc != CAIRN_NOTFOUND)
            fail_msg("key %" PRIu32 ": expected absent, got %s", id,
                     cairn_errname(rc));
        return;
    }
    ok(rc, "get");
    size_t el = make_value(id, ver, len, buf);
    if (vl != el || memcmp(v, buf, el) != 0)
        fail_msg("key %" PRIu32 ": expected version %" PRIu32 " (%zu bytes),"
                 " got %zu bytes starting '%.16s'",
                 id, ver, el, vl, (const char *)v);
    cairn_free(v);
}

static void shuffle(tu_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)tu_rng_uniform(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
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
    cairn_db *db = open_db(env, 4 * MIB, CAIRN_COMPRESSION_NONE);
    unsigned char *buf = malloc(16 + BIG_LEN);
    assert_non_null(buf);
    uint32_t *order = identity(n);
    shuffle(&r, order, n);

    uint64_t peak = 0;
    for (size_t i = 0; i < n; i++) {
        put_version(db, order[i], 1, BIG_LEN, buf);
        if (i % 64 == 63) {
            uint64_t b = dir_bytes(env, 0);
            peak = b > peak ? b : peak;
        }
    }
    for (int i = 0; i < 300; i++)
        expect_version(db, NULL, (uint32_t)tu_rng_uniform(&r, n), 1, BIG_LEN,
                       buf);
    long deep = 0;
    for (int l = 1; l < 7; l++)
        deep += level_files(db, l);
    assert_true(deep > 0); /* compaction really ran */

    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    char k[16];
    for (size_t i = 0; i < n; i++) {
        ok(cairn_batch_delete(b, k, key_of(order[i], k)), "batch delete");
        if (i % 500 == 499 || i == n - 1) {
            ok(cairn_db_write(db, NULL, b), "delete batch");
            ok(cairn_batch_clear(b), "clear");
        }
    }
    uint64_t before = dir_bytes(env, 0);
    peak = before > peak ? before : peak;
    ok(cairn_db_compact_range(db, NULL, 0, NULL, 0), "compact_range all");
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
        assert_int_equal(level_files(db, l), 0);
    cairn_iter *it = cairn_db_iter_create(db, NULL);
    assert_non_null(it);
    cairn_iter_seek_first(it);
    assert_false(cairn_iter_valid(it));
    ok(cairn_iter_status(it), "iter status");
    cairn_iter_destroy(it);

    cairn_batch_destroy(b);
    free(order);
    free(buf);
    ok(cairn_db_close(db), "close");
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
    cairn_db *db = open_db(env, OW_WBUF, CAIRN_COMPRESSION_NONE);
    unsigned char buf[16 + OW_LEN];
    uint32_t *order = identity(OW_KEYS);
    uint64_t peak = 0;
    for (int round = 1; round <= rounds; round++) {
        shuffle(&r, order, OW_KEYS);
        for (size_t i = 0; i < OW_KEYS; i++) {
            put_version(db, order[i], (uint32_t)round, OW_LEN, buf);
            if (i % 256 == 255) {
                uint64_t b = dir_bytes(env, 0);
                peak = b > peak ? b : peak;
            }
        }
    }
    for (uint32_t id = 0; id < OW_KEYS; id += 7)
        expect_version(db, NULL, id, (uint32_t)rounds, OW_LEN, buf);
    /* D: the bytes of one compacted copy of the live data. */
    ok(cairn_db_compact_range(db, NULL, 0, NULL, 0), "compact_range all");
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
    ok(cairn_db_close(db), "close");
    cairn_env_destroy(env);
}

/* ---------------------------------------------------------------------- */
/* 2. Level 0 stays bounded under load                                     */

#define L0_KEYS    20000
#define L0_WRITERS 2

typedef struct load {
    cairn_db *db;
    uint64_t seed;
    long puts_per_writer;
    _Atomic uint32_t attempted[L0_KEYS]; /* version being put, per key */
    _Atomic uint32_t published[L0_KEYS]; /* last acknowledged version */
    atomic_int stop;
    atomic_long max_l0, samples, over, reads;
    pthread_mutex_t mu;
    char err[300]; /* Locked: mu; the first failure seen by a thread */
} load;

static void load_fail(load *ld, const char *fmt, ...) CAIRN_PRINTF(2, 3);
static void load_fail(load *ld, const char *fmt, ...)
{
    pthread_mutex_lock(&ld->mu);
    if (ld->err[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err, sizeof ld->err, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&ld->mu);
    atomic_store(&ld->stop, 1);
}

static size_t load_len(uint32_t id, uint32_t ver)
{
    return 80 + (id * 31u + ver * 17u) % 300u;
}

typedef struct worker {
    load *ld;
    int index;
} worker;

static void *load_writer(void *arg)
{
    worker *wk = arg;
    load *ld = wk->ld;
    tu_rng r;
    tu_rng_init(&r, ld->seed + (uint64_t)wk->index);
    unsigned char buf[16 + 400];
    char k[16];
    for (long i = 0; i < ld->puts_per_writer && !atomic_load(&ld->stop); i++) {
        uint32_t id =
            (uint32_t)(tu_rng_uniform(&r, L0_KEYS / L0_WRITERS) * L0_WRITERS +
                       (uint64_t)wk->index);
        uint32_t ver = atomic_load(&ld->attempted[id]) + 1;
        atomic_store(&ld->attempted[id], ver);
        size_t vl = make_value(id, ver, load_len(id, ver), buf);
        int rc = cairn_db_put(ld->db, NULL, k, key_of(id, k), buf, vl);
        if (rc != 0) {
            load_fail(ld, "put: %s: %s", cairn_errname(rc), cairn_errmsg());
            break;
        }
        atomic_store(&ld->published[id], ver);
    }
    return NULL;
}

/* Checks one value read for key id; last holds what this reader saw
 * before, acked the version acknowledged before the read began. */
static int check_read(load *ld, uint32_t id, const void *v, size_t vl,
                      uint32_t acked, uint32_t *last, unsigned char *buf)
{
    uint32_t ver = 0;
    if (v != NULL) {
        char hdr[17];
        if (vl < 16)
            goto bad;
        memcpy(hdr, v, 16);
        hdr[16] = '\0';
        ver = (uint32_t)strtoul(hdr + 8, NULL, 16);
        if (make_value(id, ver, load_len(id, ver), buf) != vl ||
            memcmp(buf, v, vl) != 0)
            goto bad;
    }
    uint32_t ceiling = atomic_load(&ld->attempted[id]);
    if (ver < acked || ver < *last || ver > ceiling) {
        load_fail(ld,
                  "key %" PRIu32 ": read version %" PRIu32
                  ", acknowledged %" PRIu32 ", seen before %" PRIu32
                  ", attempted %" PRIu32,
                  id, ver, acked, *last, ceiling);
        return -1;
    }
    *last = ver;
    return 0;
bad:
    load_fail(ld, "key %" PRIu32 ": malformed value of %zu bytes", id, vl);
    return -1;
}

static void *load_reader(void *arg)
{
    worker *wk = arg;
    load *ld = wk->ld;
    tu_rng r;
    tu_rng_init(&r, ld->seed ^ 0xabcdefULL);
    uint32_t *last = calloc(L0_KEYS, sizeof *last);
    unsigned char *buf = malloc(16 + 400);
    if (last == NULL || buf == NULL) {
        load_fail(ld, "reader: out of memory");
        goto out;
    }
    char k[16];
    for (long n = 0; !atomic_load(&ld->stop); n++) {
        uint32_t id = (uint32_t)tu_rng_uniform(&r, L0_KEYS);
        uint32_t acked = atomic_load(&ld->published[id]);
        void *v = NULL;
        size_t vl = 0;
        int rc = cairn_db_get(ld->db, NULL, k, key_of(id, k), &v, &vl);
        if (rc != 0 && rc != CAIRN_NOTFOUND) {
            load_fail(ld, "get: %s: %s", cairn_errname(rc), cairn_errmsg());
            break;
        }
        rc = check_read(ld, id, v, vl, acked, &last[id], buf);
        cairn_free(v);
        atomic_fetch_add(&ld->reads, 1);
        if (rc != 0)
            break;
        if (n % 64 != 0)
            continue;
        /* A short scan: versions never go back there either. */
        cairn_iter *it = cairn_db_iter_create(ld->db, NULL);
        if (it == NULL) {
            load_fail(ld, "iter_create: %s", cairn_errmsg());
            break;
        }
        cairn_iter_seek(it, k, key_of(id, k));
        for (int s = 0; s < 20 && cairn_iter_valid(it) && rc == 0; s++) {
            size_t kl;
            const char *key = cairn_iter_key(it, &kl);
            char kb[16] = "";
            if (kl == 11)
                memcpy(kb, key, kl); /* "key" and 8 digits */
            uint32_t kid = (uint32_t)strtoul(kb + 3, NULL, 10);
            const void *iv = cairn_iter_value(it, &vl);
            if (kl != 11 || kid >= L0_KEYS) {
                load_fail(ld, "scan: unexpected key of %zu bytes", kl);
                rc = -1;
                break;
            }
            rc = check_read(ld, kid, iv, vl, 0, &last[kid], buf);
            cairn_iter_next(it);
        }
        if (rc == 0 && cairn_iter_status(it) != 0)
            load_fail(ld, "iter: %s", cairn_errmsg());
        cairn_iter_destroy(it);
    }
out:
    free(last);
    free(buf);
    return NULL;
}

static void *load_monitor(void *arg)
{
    load *ld = ((worker *)arg)->ld;
    const struct timespec pause = {0, 200000};
    while (!atomic_load(&ld->stop)) {
        long l0 = level_files(ld->db, 0);
        if (l0 < 0) {
            load_fail(ld, "property: %s", cairn_errmsg());
            break;
        }
        if (l0 > atomic_load(&ld->max_l0))
            atomic_store(&ld->max_l0, l0);
        if (l0 > STOP_L0)
            atomic_fetch_add(&ld->over, 1);
        atomic_fetch_add(&ld->samples, 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void level0_bounded(void **state)
{
    (void)state;
    /* Static, so that a failing assertion (a longjmp) leaks nothing. */
    static load the_load;
    load *ld = &the_load;
    memset(ld, 0, sizeof *ld);
    ld->seed = tu_seed("compaction/level0_bounded");
    ld->puts_per_writer = (long)(40.0 * MIB * tu_scale() / 250 / L0_WRITERS);
    pthread_mutex_init(&ld->mu, NULL);
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    ld->db = open_db(env, 64 * KIB, CAIRN_COMPRESSION_SNAPPY);
    tu_watchdog_arm(300, "level0_bounded");

    pthread_t th[L0_WRITERS + 2];
    worker wk[L0_WRITERS + 2];
    for (int i = 0; i < L0_WRITERS + 2; i++)
        wk[i] = (worker){ld, i};
    assert_int_equal(pthread_create(&th[0], NULL, load_monitor, &wk[0]), 0);
    assert_int_equal(pthread_create(&th[1], NULL, load_reader, &wk[1]), 0);
    for (int i = 0; i < L0_WRITERS; i++)
        assert_int_equal(pthread_create(&th[2 + i], NULL, load_writer, &wk[i]),
                         0);
    for (int i = 0; i < L0_WRITERS; i++)
        pthread_join(th[2 + i], NULL);
    atomic_store(&ld->stop, 1);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    tu_watchdog_disarm();

    char *stats = cairn_db_property(ld->db, "cairn.stats");
    assert_non_null(stats);
    fprintf(stderr,
            "level0: %ld puts, %ld reads, %ld samples, max level-0 files "
            "%ld\n%s",
            ld->puts_per_writer * L0_WRITERS, atomic_load(&ld->reads),
            atomic_load(&ld->samples), atomic_load(&ld->max_l0), stats);
    cairn_free(stats);
    if (ld->err[0] != '\0')
        fail_msg("%s", ld->err);
    if (atomic_load(&ld->over) > 0)
        fail_msg("level 0 held %ld files (stop trigger %d) in %ld of %ld "
                 "samples",
                 atomic_load(&ld->max_l0), STOP_L0, atomic_load(&ld->over),
                 atomic_load(&ld->samples));
    assert_true(atomic_load(&ld->samples) > 0);
    long deep = 0;
    for (int l = 1; l < 7; l++)
        deep += level_files(ld->db, l);
    assert_true(deep > 0);
    unsigned char buf[16 + 400];
    for (uint32_t id = 0; id < L0_KEYS; id++) {
        uint32_t ver = atomic_load(&ld->published[id]);
        expect_version(ld->db, NULL, id, ver, load_len(id, ver), buf);
    }
    ok(cairn_db_close(ld->db), "close");
    cairn_env_destroy(env);
    pthread_mutex_destroy(&ld->mu);
}

/* ---------------------------------------------------------------------- */
/* 3. Snapshots across compactions                                         */

typedef struct tcount {
    long entries, tombstones;
} tcount;

/* Adds the entries of table number num in /db to c. */
static void count_table(cairn_env *env, uint64_t num, tcount *c)
{
    char path[64];
    snprintf(path, sizeof path, "/db/%06" PRIu64 ".ldb", num);
    uint64_t size;
    ok(env->ops->file_size(env, path, &size), path);
    cairn__file *f;
    ok(env->ops->open_read(env, path, &f), path);
    cairn__table_options topt;
    cairn__table_options_default(&topt);
    cairn__table *t;
    ok(cairn__table_open(&topt, f, size, path, &t), "table open");
    cairn__table_read_options ro = {1, 0, 0};
    cairn__iter *it;
    ok(cairn__table_iter(t, &ro, &it), "table iter");
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it)) {
        cairn__pikey pk;
        memset(&pk, 0, sizeof pk);
        assert_true(cairn__ikey_parse(cairn__iter_key(it), &pk));
        c->entries++;
        c->tombstones += pk.type == CAIRN__TYPE_DELETION;
    }
    ok(cairn__iter_status(it), "table iter status");
    cairn__iter_destroy(it);
    cairn__table_close(t);
    ok(cairn__file_close(f), "close table");
}

/* Entries in every table of the current version ("cairn.sstables" lines
 * read " <number>:<size>[...]"). */
static tcount count_entries(cairn_env *env, cairn_db *db)
{
    tcount c = {0, 0};
    char *s = cairn_db_property(db, "cairn.sstables");
    assert_non_null(s);
    for (char *p = s; (p = strchr(p, '\n')) != NULL;) {
        char *end;
        p++;
        if (*p != ' ')
            continue;
        uint64_t num = strtoull(p + 1, &end, 10);
        if (*end == ':')
            count_table(env, num, &c);
    }
    cairn_free(s);
    return c;
}

#define MK     160
#define MSNAPS 4

typedef struct msnap {
    const cairn_snapshot *s;
    cairn_readoptions *ro;
    uint32_t m[MK];
} msnap;

typedef struct mrun {
    uint64_t seed;
    tu_rng rng;
    cairn_db *db;
    uint32_t cur[MK]; /* value id per key, 0: absent */
    msnap snaps[MSNAPS];
    int nsnaps;
    uint32_t next_id;
    long step;
    const char *op;
    unsigned char val[700];
} mrun;

static size_t mkey(int i, char *out)
{
    return (size_t)snprintf(out, 8, "m%04d", i);
}

/* Value id: "v<id>|" then random bytes; its length is a function of id. */
static size_t mval(const mrun *r, uint32_t id, unsigned char *out)
{
    uint64_t h = (r->seed ^ id) * 0x9E3779B97F4A7C15ULL;
    size_t len = 12 + (size_t)((h >> 20) % 600);
    snprintf((char *)out, 13, "v%010" PRIu32 "|", id);
    tu_rng g;
    tu_rng_init(&g, r->seed * 31u + id);
    tu_rng_bytes(&g, out + 12, len - 12);
    return len;
}

static void mcheck_get(mrun *r, const cairn_readoptions *ro, const uint32_t *m,
                       int i, const char *view)
{
    char k[8];
    void *v = NULL;
    size_t vl = 0;
    int rc = cairn_db_get(r->db, ro, k, mkey(i, k), &v, &vl);
    if (m[i] == 0 && rc == CAIRN_NOTFOUND)
        return;
    if (m[i] == 0 || rc != 0)
        fail_msg("step %ld (%s), %s, key %s: expected id %" PRIu32
                 ", got %s '%.12s'",
                 r->step, r->op, view, k, m[i], cairn_errname(rc),
                 rc == 0 ? (const char *)v : "");
    size_t el = mval(r, m[i], r->val);
    if (vl != el || memcmp(v, r->val, el) != 0)
        fail_msg("step %ld (%s), %s, key %s: expected id %" PRIu32
                 " (%zu bytes), got '%.12s' (%zu bytes)",
                 r->step, r->op, view, k, m[i], el, (const char *)v, vl);
    cairn_free(v);
}

/* A full scan, forward or backward, against model m. */
static void mcheck_scan(mrun *r, const cairn_readoptions *ro, const uint32_t *m,
                        int backward, const char *view)
{
    cairn_iter *it = cairn_db_iter_create(r->db, ro);
    assert_non_null(it);
    int i = backward ? MK - 1 : 0;
    backward ? cairn_iter_seek_last(it) : cairn_iter_seek_first(it);
    for (;; backward ? cairn_iter_prev(it) : cairn_iter_next(it)) {
        while (i >= 0 && i < MK && m[i] == 0)
            i += backward ? -1 : 1;
        int want = i >= 0 && i < MK;
        if (!want || !cairn_iter_valid(it)) {
            ok(cairn_iter_status(it), "scan status");
            if (want || cairn_iter_valid(it))
                fail_msg("step %ld (%s), %s scan %s: %s", r->step, r->op, view,
                         backward ? "backward" : "forward",
                         want ? "ended early" : "yields extra keys");
            break;
        }
        char k[8];
        size_t kl = mkey(i, k), gl, vl;
        const void *g = cairn_iter_key(it, &gl);
        const void *v = cairn_iter_value(it, &vl);
        size_t el = mval(r, m[i], r->val);
        if (gl != kl || memcmp(g, k, kl) != 0 || vl != el ||
            memcmp(v, r->val, el) != 0)
            fail_msg("step %ld (%s), %s scan: expected %s = id %" PRIu32
                     ", got '%.*s' = '%.12s'",
                     r->step, r->op, view, k, m[i], (int)gl, (const char *)g,
                     (const char *)v);
        i += backward ? -1 : 1;
    }
    cairn_iter_destroy(it);
}

static void mcheck_all(mrun *r)
{
    for (int i = 0; i < MK; i++)
        mcheck_get(r, NULL, r->cur, i, "current");
    mcheck_scan(r, NULL, r->cur, 0, "current");
    for (int s = 0; s < r->nsnaps; s++) {
        for (int i = 0; i < MK; i++)
            mcheck_get(r, r->snaps[s].ro, r->snaps[s].m, i, "snapshot");
        mcheck_scan(r, r->snaps[s].ro, r->snaps[s].m, s & 1, "snapshot");
    }
}

static void mput(mrun *r, cairn_batch *b, int i)
{
    char k[8];
    uint32_t id = ++r->next_id;
    size_t vl = mval(r, id, r->val);
    ok(b ? cairn_batch_put(b, k, mkey(i, k), r->val, vl)
         : cairn_db_put(r->db, NULL, k, mkey(i, k), r->val, vl),
       "put");
    r->cur[i] = id;
}

static void mdel(mrun *r, cairn_batch *b, int i)
{
    char k[8];
    ok(b ? cairn_batch_delete(b, k, mkey(i, k))
         : cairn_db_delete(r->db, NULL, k, mkey(i, k)),
       "delete");
    r->cur[i] = 0;
}

static void take_snap(mrun *r)
{
    msnap *s = &r->snaps[r->nsnaps++];
    s->s = cairn_db_create_snapshot(r->db);
    s->ro = cairn_readoptions_create();
    assert_non_null(s->s);
    assert_non_null(s->ro);
    ok(cairn_readoptions_set_snapshot(s->ro, s->s), "set snapshot");
    memcpy(s->m, r->cur, sizeof s->m);
}

static void release_snap(mrun *r, int s)
{
    cairn_db_release_snapshot(r->db, r->snaps[s].s);
    cairn_readoptions_destroy(r->snaps[s].ro);
    r->snaps[s] = r->snaps[--r->nsnaps];
}

/* One random step. */
static void mstep(mrun *r)
{
    tu_rng *g = &r->rng;
    unsigned p = (unsigned)tu_rng_uniform(g, 100);
    int i = (int)tu_rng_uniform(g, MK);
    msnap *sn = r->nsnaps ? &r->snaps[tu_rng_uniform(g, r->nsnaps)] : NULL;
    if (p < 28) {
        r->op = "put";
        mput(r, NULL, i);
    } else if (p < 38) {
        r->op = "delete";
        mdel(r, NULL, i);
    } else if (p < 46) {
        r->op = "batch";
        cairn_batch *b = cairn_batch_create();
        assert_non_null(b);
        for (int n = 2 + (int)tu_rng_uniform(g, 5); n > 0; n--) {
            i = (int)tu_rng_uniform(g, MK);
            tu_rng_uniform(g, 3) ? mput(r, b, i) : mdel(r, b, i);
        }
        ok(cairn_db_write(r->db, NULL, b), "write batch");
        cairn_batch_destroy(b);
    } else if (p < 54) {
        r->op = "get";
        mcheck_get(r, NULL, r->cur, i, "current");
    } else if (p < 59 && r->nsnaps < MSNAPS) {
        r->op = "snapshot";
        take_snap(r);
    } else if (p < 63 && sn != NULL) {
        r->op = "release";
        release_snap(r, (int)(sn - r->snaps));
    } else if (p < 71 && sn != NULL) {
        r->op = "get at snapshot";
        for (int n = 0; n < 8; n++)
            mcheck_get(r, sn->ro, sn->m, (int)tu_rng_uniform(g, MK),
                       "snapshot");
    } else if (p < 74 && sn != NULL) {
        r->op = "scan at snapshot";
        mcheck_scan(r, sn->ro, sn->m, (int)tu_rng_uniform(g, 2), "snapshot");
    } else if (p < 76) {
        r->op = "scan";
        mcheck_scan(r, NULL, r->cur, (int)tu_rng_uniform(g, 2), "current");
    } else if (p < 86) {
        r->op = "compact_range";
        char a[8], b[8];
        int j = (int)tu_rng_uniform(g, MK);
        size_t al = mkey(i < j ? i : j, a), bl = mkey(i < j ? j : i, b);
        int open_lo = tu_rng_uniform(g, 6) == 0;
        int open_hi = tu_rng_uniform(g, 6) == 0;
        ok(cairn_db_compact_range(r->db, open_lo ? NULL : a, open_lo ? 0 : al,
                                  open_hi ? NULL : b, open_hi ? 0 : bl),
           "compact_range");
    } else if (p < 92) {
        r->op = "flush";
        ok(cairn_db_flush(r->db), "flush");
    } else {
        r->op = "compact all";
        ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    }
}

static void model_snapshots(void **state)
{
    (void)state;
    mrun *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->seed = tu_seed("compaction/model_snapshots");
    tu_rng_init(&r->rng, r->seed);
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    r->db = open_db(env, 64 * KIB, CAIRN_COMPRESSION_SNAPPY);
    long nsteps = (long)(4000 * tu_scale());
    for (r->step = 0; r->step < nsteps; r->step++) {
        mstep(r);
        if (r->step % 500 == 499) {
            r->op = "periodic check";
            mcheck_all(r);
        }
    }
    r->op = "final check";
    ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    mcheck_all(r);
    while (r->nsnaps > 0)
        release_snap(r, r->nsnaps - 1);
    /* Touch both ends so the next compaction rewrites every file (a
     * range compaction leaves alone bottom-level files nothing above
     * overlaps, as LevelDB's does), then nothing obsolete may remain. */
    mput(r, NULL, 0);
    mput(r, NULL, MK - 1);
    ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    long live = 0;
    for (int i = 0; i < MK; i++)
        live += r->cur[i] != 0;
    tcount c = count_entries(env, r->db);
    fprintf(stderr, "model: %ld steps, %ld live keys, %ld table entries\n",
            nsteps, live, c.entries);
    assert_int_equal(c.entries, live);
    assert_int_equal(c.tombstones, 0);
    r->op = "after release";
    mcheck_all(r);
    ok(cairn_db_close(r->db), "close");
    cairn_env_destroy(env);
    free(r);
}

/* Touches both ends of the key table and compacts everything, so that
 * every table is rewritten (see model_snapshots). */
static tcount compact_everything(mrun *r, cairn_env *env)
{
    mput(r, NULL, 0);
    mput(r, NULL, MK - 1);
    ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    mcheck_all(r);
    return count_entries(env, r->db);
}

static void snapshot_versions(void **state)
{
    (void)state;
    mrun *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->seed = tu_seed("compaction/snapshot_versions");
    r->op = "snapshot_versions";
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    r->db = open_db(env, 64 * KIB, CAIRN_COMPRESSION_NONE);
    long s1_values = MK, s2_values = 0, cur_values = 0;
    for (int i = 0; i < MK; i++)
        mput(r, NULL, i);
    take_snap(r); /* S1: every key at its first value */
    for (int i = 0; i < MK; i++) {
        if (i % 3 == 0) {
            mdel(r, NULL, i);
        } else {
            mput(r, NULL, i);
            s2_values++;
        }
    }
    ok(cairn_db_flush(r->db), "flush");
    take_snap(r); /* S2: a third deleted, the rest at a second value */
    for (int i = 0; i < MK; i++) {
        if (i % 3 == 1) {
            mdel(r, NULL, i);
        } else if (i % 3 == 2) {
            mput(r, NULL, i);
            cur_values++;
        }
    }
    ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    ok(cairn_db_compact_range(r->db, "m0040", 5, "m0090", 5), "compact");
    tcount held = compact_everything(r, env);
    cur_values += 2;
    /* Every value some view can see must still be on disk. */
    if (held.entries < s1_values + s2_values + cur_values)
        fail_msg("with two snapshots held: %ld table entries, but the views "
                 "see %ld distinct values",
                 held.entries, s1_values + s2_values + cur_values);

    /* S1 released: each key's first value is hidden, below S2, by a newer
     * entry, so the rewrite must drop all MK of them (the two new puts add
     * two entries). */
    release_snap(r, 0);
    tcount mid = compact_everything(r, env);
    if (mid.entries > held.entries - MK + 2)
        fail_msg("after releasing the older snapshot: %ld entries, expected "
                 "at most %ld",
                 mid.entries, held.entries - MK + 2);

    release_snap(r, 0);
    tcount last = compact_everything(r, env);
    long live = 0;
    for (int i = 0; i < MK; i++)
        live += r->cur[i] != 0;
    fprintf(stderr,
            "snapshot versions: %ld entries with two snapshots, %ld with "
            "one, %ld with none (%ld live keys)\n",
            held.entries, mid.entries, last.entries, live);
    assert_int_equal(last.entries, live);
    assert_int_equal(last.tombstones, 0);
    ok(cairn_db_close(r->db), "close");
    cairn_env_destroy(env);
    free(r);
}

/* ---------------------------------------------------------------------- */
/* 4. Pause and resume                                                     */

#define PR_ROUNDS 9
#define PR_KEYS   200

static void pause_resume(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    cairn_db *db = open_db(env, 64 * KIB, CAIRN_COMPRESSION_NONE);
    unsigned char buf[16 + 100];
    ok(cairn_db_pause_compaction(db), "pause");
    /* Each round spans the same key range, so its table overlaps the
     * others and (after the first two, which LevelDB's placement may put
     * at L2 and L1) lands at level 0. */
    for (uint32_t round = 1; round <= PR_ROUNDS; round++) {
        for (uint32_t j = 0; j < PR_KEYS; j++)
            put_version(db, j * PR_ROUNDS + round - 1, round, 100, buf);
        ok(cairn_db_flush(db), "flush");
    }
    long l0 = level_files(db, 0), total = 0;
    for (int l = 0; l < 7; l++)
        total += level_files(db, l);
    fprintf(stderr, "paused: %ld files at level 0 of %ld\n", l0, total);
    assert_int_equal(total, PR_ROUNDS); /* flushed, nothing merged */
    assert_true(l0 >= PR_ROUNDS - 2);
    const struct timespec wait = {0, 100 * 1000 * 1000};
    nanosleep(&wait, NULL);
    assert_int_equal(level_files(db, 0), l0);

    ok(cairn_db_resume_compaction(db), "resume");
    tu_watchdog_arm(60, "level 0 draining after resume");
    const struct timespec tick = {0, 5 * 1000 * 1000};
    while ((l0 = level_files(db, 0)) >= 4)
        nanosleep(&tick, NULL);
    tu_watchdog_disarm();
    assert_true(l0 >= 0);
    for (uint32_t id = 0; id < PR_KEYS * PR_ROUNDS; id++)
        expect_version(db, NULL, id, id % PR_ROUNDS + 1, 100, buf);
    ok(cairn_db_close(db), "close");
    cairn_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pause_resume),
        cmocka_unit_test(snapshot_versions),
        cmocka_unit_test(model_snapshots),
        cmocka_unit_test(level0_bounded),
        cmocka_unit_test(bounded_overwrite),
        cmocka_unit_test(space_reclaimed),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
