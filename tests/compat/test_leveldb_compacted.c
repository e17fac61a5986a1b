/*
 * test_leveldb_compacted.c: LevelDB 1.23 (Debian's libleveldb, through its
 * C API) reads a database that cairn wrote AND compacted: tables written
 * by cairn's compactions on several levels, the MANIFEST edits that moved
 * them there (compact pointers, deleted files, trivial moves), level-0
 * tables from flushes, and a log tail.
 *
 * One run, repeated for {Snappy, no compression} x {Bloom filter of 10
 * bits per key, no filter}. The first configuration writes through the
 * POSIX env into a temp directory; the others write into the in-memory env
 * and copy the files, byte for byte, into the temp directory when cairn
 * has closed (the POSIX env's fsyncs would otherwise dominate the run
 * time). Each run:
 *   1. cairn (256 KiB write buffer) writes 200,000 keys (times
 *      CAIRN_TEST_SCALE): the first 40% in ascending order, in batches
 *      (their flushes overlap nothing, so LevelDB's placement rule sends
 *      them to level 2), then the rest in random order mixed with
 *      overwrites and deletes of random keys (these land at levels 0 and
 *      1, and automatic compaction merges them down);
 *   2. cairn_db_compact_range compacts the middle third of the key range
 *      down to the deepest level it occupies;
 *   3. with compaction paused, three rounds of random overwrites and
 *      deletes are flushed, so level 0 holds tables too; a last few writes
 *      stay in the log only;
 *   4. the "cairn.num-files-at-level<N>" properties must show files on at
 *      least three levels; cairn's full scan and its gets of a sample of
 *      keys (live, deleted, never written, and absent keys between
 *      neighbours) must equal the model; cairn closes;
 *   5. LevelDB opens the directory (paranoid checks, same compression, the
 *      same filter policy via leveldb_filterpolicy_create_bloom(10)) and,
 *      reading with checksum verification, its full scan must equal the
 *      model and cairn's scan (same count and the same hash over every
 *      key and value), and its gets of the same sample must equal the
 *      model.
 *
 * Model: key id i is 'c', i as 4 bytes big endian, then 0..6 bytes hashed
 * from (seed, i), so keys sort by id and vary in length. Per id the model
 * keeps the state (never written, live, deleted) and the generation of the
 * last value; values (8..135 bytes, half compressible) are rebuilt from
 * (seed, id, generation). Failures name the configuration, the seed
 * (CAIRN_TEST_SEED replays it) and the key id.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env.h"

#include <leveldb/c.h>

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

#define NLEVELS 7
#define KEY_CAP 12
#define VAL_CAP 136
#define WBUF    (256u * 1024u)
#define SAMPLE  6000

enum { NEVER = 0, LIVE = 1, DEAD = 2 };

typedef struct config {
    const char *name;
    int snappy, bloom;
    int posix; /* cairn writes through the POSIX env, else the mem env */
} config;

typedef struct run {
    const config *cfg;
    uint64_t seed;
    tu_rng rng;
    size_t n;       /* key ids are 0 .. n-1 */
    uint8_t *state; /* per id */
    uint32_t *gen;  /* per id: generation of the live value */
    uint32_t next_gen;
    unsigned char val[VAL_CAP];
    cairn_db *db;
    cairn_batch *batch;
} run;

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static size_t make_key(const run *r, size_t id, unsigned char *k)
{
    k[0] = 'c';
    for (int i = 0; i < 4; i++)
        k[1 + i] = (unsigned char)(id >> (24 - 8 * i));
    uint64_t h = mix64(r->seed ^ ((uint64_t)id << 16));
    size_t n = 5 + (size_t)(h % 7);
    for (size_t i = 5; i < n; i++) {
        h = mix64(h + i);
        k[i] = (unsigned char)h;
    }
    return n;
}

static size_t make_value(const run *r, size_t id, uint32_t gen,
                         unsigned char *out)
{
    uint64_t h = mix64(r->seed ^ mix64(((uint64_t)id << 32) | gen));
    size_t len = 8 + (size_t)(h % (VAL_CAP - 8));
    tu_rng g;
    tu_rng_init(&g, h);
    if (gen & 1) {
        tu_rng_bytes(&g, out, len);
    } else {
        unsigned char phrase[8];
        tu_rng_bytes(&g, phrase, sizeof phrase);
        for (size_t j = 0; j < len; j++)
            out[j] = phrase[j % 8];
    }
    return len;
}

static void ok(const run *r, int rc, const char *what)
{
    if (rc != 0)
        fail_msg("[%s] %s: %s: %s", r->cfg->name, what, cairn_errname(rc),
                 cairn_errmsg());
}

/* ---------------------------------------------------------------------- */
/* cairn's writes                                                          */

/* Adds a put (live != 0) or delete of id to the open batch. */
static void w_op(run *r, size_t id, int live)
{
    unsigned char k[KEY_CAP];
    size_t kl = make_key(r, id, k);
    if (live) {
        r->gen[id] = ++r->next_gen;
        r->state[id] = LIVE;
        size_t vl = make_value(r, id, r->gen[id], r->val);
        ok(r, cairn_batch_put(r->batch, k, kl, r->val, vl), "batch put");
    } else {
        r->state[id] = DEAD;
        ok(r, cairn_batch_delete(r->batch, k, kl), "batch delete");
    }
}

static void w_commit(run *r)
{
    ok(r, cairn_db_write(r->db, NULL, r->batch), "write");
    ok(r, cairn_batch_clear(r->batch), "batch clear");
}

/* n random overwrites (70%) and deletes of ids that were ever written. */
static void w_churn(run *r, size_t n, size_t limit)
{
    for (size_t i = 0; i < n; i++) {
        w_op(r, (size_t)tu_rng_uniform(&r->rng, limit),
             tu_rng_uniform(&r->rng, 10) < 7);
        if (i % 50 == 49)
            w_commit(r);
    }
    w_commit(r);
}

/* A watchdog per phase of the writes, so a hang names its phase; when it
 * fires it prints the database's statistics (the write path's stalls and
 * waits, the files per level). */
static void print_stats(void *arg)
{
    run *r = arg;
    if (r->db == NULL)
        return;
    static const char *const props[] = {"cairn.stats", "cairn.write-stats"};
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        char *v = cairn_db_property(r->db, props[i]);
        fprintf(stderr, "%s:\n%s\n", props[i], v ? v : "(none)");
        cairn_free(v);
    }
}

static void phase(run *r, const char *what)
{
    char msg[128];
    snprintf(msg, sizeof msg, "[%s] %s", r->cfg->name, what);
    tu_watchdog_disarm();
    tu_watchdog_arm(300, msg);
}

static void cairn_writes(run *r, cairn_env *env, const char *dir)
{
    tu_watchdog_on_fire(print_stats, r);
    tu_watchdog_arm(300, "open");
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    ok(r, cairn_options_set_create_if_missing(o, 1), "options");
    ok(r, cairn_options_set_env(o, env), "options");
    ok(r, cairn_options_set_write_buffer_size(o, WBUF), "options");
    ok(r,
       cairn_options_set_compression(o, r->cfg->snappy
                                            ? CAIRN_COMPRESSION_SNAPPY
                                            : CAIRN_COMPRESSION_NONE),
       "options");
    ok(r, cairn_options_set_bloom_bits_per_key(o, r->cfg->bloom ? 10 : 0),
       "options");
    ok(r, cairn_db_open(o, dir, &r->db), "open");
    cairn_options_destroy(o);
    r->batch = cairn_batch_create();
    assert_non_null(r->batch);

    size_t asc = r->n * 2 / 5;
    phase(r, "ascending puts");
    for (size_t id = 0; id < asc; id++) {
        w_op(r, id, 1);
        if (id % 100 == 99)
            w_commit(r);
    }
    w_commit(r);

    /* The remaining ids in random order, each new put followed on average
     * by half an overwrite or delete of an id written before. */
    size_t rest = r->n - asc;
    uint32_t *perm = malloc(rest * sizeof *perm);
    assert_non_null(perm);
    for (size_t i = 0; i < rest; i++)
        perm[i] = (uint32_t)(asc + i);
    for (size_t i = rest; i > 1; i--) {
        size_t j = (size_t)tu_rng_uniform(&r->rng, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    phase(r, "random puts");
    for (size_t i = 0; i < rest; i++) {
        w_op(r, perm[i], 1);
        if (tu_rng_uniform(&r->rng, 2) == 0) {
            size_t old = (size_t)tu_rng_uniform(&r->rng, asc + i + 1);
            w_op(r, old < asc ? old : perm[old - asc],
                 tu_rng_uniform(&r->rng, 10) < 6);
        }
        if (i % 40 == 39)
            w_commit(r);
    }
    w_commit(r);
    free(perm);

    unsigned char a[KEY_CAP], b[KEY_CAP];
    size_t al = make_key(r, r->n / 3, a), bl = make_key(r, 2 * r->n / 3, b);
    phase(r, "compact_range");
    ok(r, cairn_db_compact_range(r->db, a, al, b, bl), "compact_range");

    phase(r, "churn with compaction paused");
    ok(r, cairn_db_pause_compaction(r->db), "pause");
    for (int round = 0; round < 3; round++) {
        w_churn(r, r->n / 100 + 200, r->n);
        ok(r, cairn_db_flush(r->db), "flush");
    }
    w_churn(r, 300, r->n); /* left in the log */
    tu_watchdog_disarm();
    tu_watchdog_on_fire(NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* Reading through either engine                                           */

typedef struct reader {
    run *r;
    const char *who;
    cairn_db *cdb;
    leveldb_t *ldb;
    leveldb_readoptions_t *lro;
} reader;

/* Compares a get of key (id, plus a trailing 0 byte if between) with the
 * model; a key with the extra byte is never present. */
static void check_get(reader *rd, size_t id, int between)
{
    run *r = rd->r;
    unsigned char k[KEY_CAP + 1];
    size_t kl = make_key(r, id, k);
    if (between)
        k[kl++] = 0;
    int state = id < r->n ? r->state[id] : NEVER;
    int live = !between && state == LIVE;
    char *v = NULL, *err = NULL;
    size_t vl = 0;
    if (rd->cdb != NULL) {
        int rc = cairn_db_get(rd->cdb, NULL, k, kl, (void **)&v, &vl);
        if (rc != 0 && rc != CAIRN_NOTFOUND)
            ok(r, rc, "get");
    } else {
        v = leveldb_get(rd->ldb, rd->lro, (const char *)k, kl, &vl, &err);
        if (err != NULL)
            fail_msg("[%s] leveldb get: %s", r->cfg->name, err);
    }
    if (!live && v != NULL)
        fail_msg("[%s] %s get of id %zu%s (state %d): found %zu bytes, "
                 "expected absent",
                 r->cfg->name, rd->who, id, between ? "+\\0" : "", state, vl);
    if (live) {
        size_t el = make_value(r, id, r->gen[id], r->val);
        if (v == NULL || vl != el || memcmp(v, r->val, el) != 0)
            fail_msg("[%s] %s get of id %zu: expected generation %" PRIu32
                     " (%zu bytes), got %s (%zu bytes)",
                     r->cfg->name, rd->who, id, r->gen[id], el,
                     v ? "other bytes" : "nothing", vl);
    }
    if (rd->cdb != NULL)
        cairn_free(v);
    else
        leveldb_free(v);
}

static void check_sample(reader *rd)
{
    tu_rng g;
    tu_rng_init(&g, rd->r->seed ^ 0x5a5a5a5aULL); /* same sample for both */
    /* Every fifth key is absent between two keys, every tenth was never
     * written (ids past the last). */
    for (int i = 0; i < SAMPLE; i++) {
        size_t id = (size_t)tu_rng_uniform(&g, rd->r->n);
        check_get(rd, i % 10 == 7 ? rd->r->n + id : id, i % 5 == 4);
    }
}

typedef struct scan_sum {
    size_t count;
    uint64_t hash;
} scan_sum;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    h ^= n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* A full forward scan compared entry by entry with the model. */
static scan_sum check_scan(reader *rd)
{
    run *r = rd->r;
    scan_sum s = {0, 0xcbf29ce484222325ULL};
    cairn_iter *ci = NULL;
    leveldb_iterator_t *li = NULL;
    if (rd->cdb != NULL) {
        ci = cairn_db_iter_create(rd->cdb, NULL);
        assert_non_null(ci);
        cairn_iter_seek_first(ci);
    } else {
        li = leveldb_create_iterator(rd->ldb, rd->lro);
        assert_non_null(li);
        leveldb_iter_seek_to_first(li);
    }
    size_t id = 0;
    for (;;) {
        while (id < r->n && r->state[id] != LIVE)
            id++;
        int valid = ci ? cairn_iter_valid(ci) : leveldb_iter_valid(li);
        if (id == r->n || !valid) {
            if (id != r->n || valid)
                fail_msg("[%s] %s scan: %s after %zu entries", r->cfg->name,
                         rd->who, valid ? "extra keys" : "ended early",
                         s.count);
            break;
        }
        size_t gl, vl;
        const char *g, *v;
        if (ci) {
            g = cairn_iter_key(ci, &gl);
            v = cairn_iter_value(ci, &vl);
        } else {
            g = leveldb_iter_key(li, &gl);
            v = leveldb_iter_value(li, &vl);
        }
        unsigned char k[KEY_CAP];
        size_t kl = make_key(r, id, k);
        size_t el = make_value(r, id, r->gen[id], r->val);
        if (gl != kl || memcmp(g, k, kl) != 0 || vl != el ||
            memcmp(v, r->val, el) != 0)
            fail_msg(
                "[%s] %s scan entry %zu: expected id %zu (generation %" PRIu32
                "), got a %s",
                r->cfg->name, rd->who, s.count, id, r->gen[id],
                gl != kl || memcmp(g, k, kl) ? "different key"
                                             : "different value");
        s.hash = fnv(fnv(s.hash, g, gl), v, vl);
        s.count++;
        id++;
        ci ? cairn_iter_next(ci) : leveldb_iter_next(li);
    }
    if (ci) {
        ok(r, cairn_iter_status(ci), "scan");
        cairn_iter_destroy(ci);
    } else {
        char *err = NULL;
        leveldb_iter_get_error(li, &err);
        if (err != NULL)
            fail_msg("[%s] leveldb scan: %s", r->cfg->name, err);
        leveldb_iter_destroy(li);
    }
    return s;
}

/* Files per level through a property of either engine. */
static int levels_used(run *r, cairn_db *cdb, leveldb_t *ldb, char *desc,
                       size_t cap)
{
    int used = 0;
    size_t off = 0;
    for (int l = 0; l < NLEVELS; l++) {
        char name[48];
        snprintf(name, sizeof name, "%s.num-files-at-level%d",
                 cdb ? "cairn" : "leveldb", l);
        char *v = cdb ? cairn_db_property(cdb, name)
                      : leveldb_property_value(ldb, name);
        if (v == NULL)
            fail_msg("[%s] property %s missing", r->cfg->name, name);
        long n = strtol(v, NULL, 10);
        cdb ? cairn_free(v) : leveldb_free(v);
        used += n > 0;
        off +=
            (size_t)snprintf(desc + off, cap - off, "%s%ld", l ? " " : "", n);
    }
    return used;
}

/* ---------------------------------------------------------------------- */
/* The run                                                                 */

/* Copies every file of the mem env's /db into dir, byte for byte, so that
 * LevelDB can open what cairn wrote without the cost of the POSIX env's
 * fsyncs (the env only moves bytes; one configuration does use it). */
static void copy_out(run *r, cairn_env *env, const char *dir)
{
    cairn__strlist names = {NULL, 0};
    ok(r, env->ops->list(env, "/db", &names), "list");
    char src[300], dst[600], buf[65536];
    for (size_t i = 0; i < names.n; i++) {
        snprintf(src, sizeof src, "/db/%s", names.names[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, names.names[i]);
        cairn__file *f;
        ok(r, env->ops->open_read(env, src, &f), src);
        FILE *out = fopen(dst, "wb");
        assert_non_null(out);
        size_t got;
        do {
            ok(r, cairn__file_read(f, sizeof buf, buf, &got), src);
            assert_int_equal(fwrite(buf, 1, got, out), got);
        } while (got == sizeof buf);
        assert_int_equal(fclose(out), 0);
        ok(r, cairn__file_close(f), src);
    }
    cairn__strlist_fini(&names);
}

static void run_config(const config *cfg)
{
    run r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    char seedname[64];
    snprintf(seedname, sizeof seedname, "leveldb_compacted/%s", cfg->name);
    r.seed = tu_seed(seedname);
    tu_rng_init(&r.rng, r.seed);
    r.n = (size_t)(200000 * tu_scale());
    if (r.n < 5000)
        r.n = 5000;
    r.state = calloc(r.n, 1);
    r.gen = calloc(r.n, sizeof *r.gen);
    assert_non_null(r.state);
    assert_non_null(r.gen);
    char *dir = tu_tempdir("ldbcompacted");
    cairn_env *env = cfg->posix ? cairn_env_default() : cairn_env_mem_create();
    assert_non_null(env);

    cairn_writes(&r, env, cfg->posix ? dir : "/db");
    char desc[64];
    int used = levels_used(&r, r.db, NULL, desc, sizeof desc);
    fprintf(stderr, "[%s] %zu keys; cairn's files per level: %s\n", cfg->name,
            r.n, desc);
    if (used < 3)
        fail_msg("[%s] files on %d levels (%s), expected at least 3", cfg->name,
                 used, desc);
    reader crd = {&r, "cairn", r.db, NULL, NULL};
    scan_sum cs = check_scan(&crd);
    check_sample(&crd);
    cairn_batch_destroy(r.batch);
    ok(&r, cairn_db_close(r.db), "close");
    if (!cfg->posix) {
        copy_out(&r, env, dir);
        cairn_env_destroy(env);
    }

    leveldb_options_t *lo = leveldb_options_create();
    leveldb_options_set_paranoid_checks(lo, 1);
    leveldb_options_set_compression(lo, cfg->snappy ? leveldb_snappy_compression
                                                    : leveldb_no_compression);
    leveldb_filterpolicy_t *fp =
        cfg->bloom ? leveldb_filterpolicy_create_bloom(10) : NULL;
    if (fp != NULL)
        leveldb_options_set_filter_policy(lo, fp);
    char *err = NULL;
    leveldb_t *ldb = leveldb_open(lo, dir, &err);
    if (err != NULL)
        fail_msg("[%s] leveldb open: %s", cfg->name, err);
    leveldb_readoptions_t *lro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(lro, 1);
    reader lrd = {&r, "leveldb", NULL, ldb, lro};
    scan_sum ls = check_scan(&lrd);
    if (ls.count != cs.count || ls.hash != cs.hash)
        fail_msg("[%s] scans differ: cairn %zu entries (hash %016" PRIx64
                 "), leveldb %zu (hash %016" PRIx64 ")",
                 cfg->name, cs.count, cs.hash, ls.count, ls.hash);
    check_sample(&lrd);
    levels_used(&r, NULL, ldb, desc, sizeof desc);
    fprintf(stderr, "[%s] %zu live keys equal; leveldb's files per level: %s\n",
            cfg->name, ls.count, desc);
    leveldb_close(ldb);
    leveldb_readoptions_destroy(lro);
    leveldb_options_destroy(lo);
    if (fp != NULL)
        leveldb_filterpolicy_destroy(fp);

    tu_rmtree(dir);
    free(dir);
    free(r.state);
    free(r.gen);
}

static const config configs[] = {
    {"snappy+bloom", 1, 1, 1},
    {"snappy", 1, 0, 0},
    {"none+bloom", 0, 1, 0},
    {"none", 0, 0, 0},
};

static void test_snappy_bloom(void **state)
{
    (void)state;
    run_config(&configs[0]);
}

static void test_snappy(void **state)
{
    (void)state;
    run_config(&configs[1]);
}

static void test_none_bloom(void **state)
{
    (void)state;
    run_config(&configs[2]);
}

static void test_none(void **state)
{
    (void)state;
    run_config(&configs[3]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snappy_bloom),
        cmocka_unit_test(test_snappy),
        cmocka_unit_test(test_none_bloom),
        cmocka_unit_test(test_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
