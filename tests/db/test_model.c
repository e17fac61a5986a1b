/*
 * test_model.c: the randomized model test (LevelDB's "Randomized", made
 * stronger). Thousands of random steps run against one database and, in
 * lockstep, against a model; every read is compared with the model.
 *
 * The model. Keys come from a small fixed table of NKEYS distinct keys
 * (the empty key among them, bytes drawn from 0x00, 0x01, 'a', 'b', 0x7f,
 * 0x80, 0xfe and 0xff, and many keys that extend another by one byte, so
 * prefixes and high bytes test the ordering), sorted bytewise once. A
 * state of the database is then an array giving, for each key of the
 * table, the id of the value it holds (0: absent): a sorted array of
 * (key, value) pairs in effect. A snapshot's model is a copy of it. Value
 * ids are unique per put; the bytes of value id are a pure function of
 * (seed, id), so a value is regenerated to compare instead of stored.
 * Values of 5 bytes or more start with 'V' and the id, so a wrong value in
 * a failure message can be named; sizes run from empty through a few bytes
 * and kilobytes to over 32 KiB (a record spanning log blocks), half of
 * them compressible.
 *
 * Steps: put, delete, a batch of puts and deletes (often naming one key
 * twice), get, create and release a snapshot, get at a snapshot, a full
 * scan forward or backward at the current state or a snapshot, a walk
 * (seek to a key of the table or a random one, then random next/prev with
 * direction changes, reseeking after falling off an end), and a stable
 * scan: an iterator is created, writes (and the flushes they cause) go on,
 * then the iterator must still show the state of its creation. Every few
 * hundred steps the database is closed (snapshots released first) and
 * reopened, and checked whole.
 *
 * The database lives in the in-memory env with a 64 KiB write buffer and
 * 1 KiB blocks, so flushes to tables happen every few dozen steps and
 * reads cross memtables, immutable memtables and many level-0 tables. The
 * whole run is repeated with compression on and off and the bloom filter
 * on and off; at the end of each run the test asserts that tables were
 * really written.
 *
 * On a mismatch the message names the configuration, the seed (replay
 * with CAIRN_TEST_SEED), the step, the operation, the key, and the
 * expected and received values.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS     96
#define KEY_MAX   10
#define MAX_SNAPS 6
#define VAL_MAX   (40 * 1024)
#define MAX_BATCH 8

typedef struct mkey {
    unsigned char b[KEY_MAX];
    size_t len;
} mkey;

/* One state of the database: the value id of each key of the table. */
typedef struct mstate {
    uint32_t v[NKEYS];
} mstate;

typedef struct msnap {
    const cairn_snapshot *snap;
    mstate m;
} msnap;

typedef struct run {
    const char *cfg;
    uint64_t seed;
    tu_rng rng;
    cairn_env *env;
    cairn_options *opt;
    cairn_db *db;
    mkey keys[NKEYS]; /* sorted bytewise, distinct */
    mstate cur;
    msnap snaps[MAX_SNAPS];
    int nsnaps;
    uint32_t next_id;
    long step;
    const char *op;
    unsigned char *val; /* scratch for expected values */
    long reopens, checks;
    uint64_t max_table; /* highest table number seen */
    long tables_seen;
} run;

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int mkey_cmp(const void *a, const void *b)
{
    const mkey *x = a, *y = b;
    return key_cmp(x->b, x->len, y->b, y->len);
}

static const unsigned char alphabet[] = {0x00, 0x01, 'a',  'b',
                                         0x7f, 0x80, 0xfe, 0xff};

static void random_key(tu_rng *rng, mkey *k)
{
    k->len = 1 + (size_t)tu_rng_uniform(rng, KEY_MAX);
    for (size_t i = 0; i < k->len; i++)
        k->b[i] = alphabet[tu_rng_uniform(rng, sizeof alphabet)];
}

/* Fills the key table: the empty key, random keys, and one-byte
 * extensions of earlier keys; distinct, then sorted. */
static void make_keys(run *r)
{
    int n = 0;
    r->keys[n++].len = 0;
    while (n < NKEYS) {
        mkey k;
        const mkey *base = &r->keys[tu_rng_uniform(&r->rng, (uint64_t)n)];
        if (tu_rng_uniform(&r->rng, 3) == 0 && base->len < KEY_MAX) {
            k = *base;
            k.b[k.len++] = alphabet[tu_rng_uniform(&r->rng, sizeof alphabet)];
        } else {
            random_key(&r->rng, &k);
        }
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = mkey_cmp(&k, &r->keys[i]) == 0;
        if (!dup)
            r->keys[n++] = k;
    }
    qsort(r->keys, NKEYS, sizeof r->keys[0], mkey_cmp);
}

/* The first table index whose key is >= k (NKEYS if none); *exact says
 * whether k is in the table. */
static int lower_bound(const run *r, const void *k, size_t klen, int *exact)
{
    int lo = 0, hi = NKEYS;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (key_cmp(r->keys[mid].b, r->keys[mid].len, k, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *exact =
        lo < NKEYS && key_cmp(r->keys[lo].b, r->keys[lo].len, k, klen) == 0;
    return lo;
}

/* The length of value id: empty, tiny, small, kilobytes, or over 32 KiB. */
static size_t value_len(const run *r, uint32_t id)
{
    uint64_t h = (r->seed ^ id) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    unsigned p = (unsigned)(h % 100);
    h >>= 8;
    if (p < 5)
        return 0;
    if (p < 10)
        return 1 + h % 4;
    if (p < 70)
        return 5 + h % 60;
    if (p < 94)
        return 65 + h % 2000;
    if (p < 98)
        return 2000 + h % 6000;
    return 32 * 1024 + 1 + h % (VAL_MAX - 32 * 1024);
}

/* Writes value id into buf and returns its length. */
static size_t make_value(const run *r, uint32_t id, unsigned char *buf)
{
    size_t len = value_len(r, id), i = 0;
    tu_rng g;
    tu_rng_init(&g, r->seed * 31u + id);
    if (len >= 5) {
        buf[0] = 'V';
        memcpy(buf + 1, &id, 4);
        i = 5;
    }
    if (id % 2) {
        tu_rng_bytes(&g, buf + i, len - i);
        return len;
    }
    while (i < len) { /* runs of one byte: compressible */
        size_t run_len = 1 + (size_t)tu_rng_uniform(&g, 40);
        unsigned char c = (unsigned char)('a' + tu_rng_uniform(&g, 4));
        for (; run_len > 0 && i < len; run_len--)
            buf[i++] = c;
    }
    return len;
}

/* Fails the test with the configuration, seed, step and operation first. */
static void fail_at(const run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_at(const run *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fail_msg("[%s] CAIRN_TEST_SEED=%" PRIu64 " step %ld op %s: %s", r->cfg,
             r->seed, r->step, r->op, msg);
}

static void fmt_key(char *out, size_t cap, const void *k, size_t n)
{
    const unsigned char *p = k;
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
        out[o] = '\0';
    }
}

static void fmt_got(run *r, char *out, size_t cap, const void *v, size_t n)
{
    uint32_t id = 0;
    if (n >= 5 && ((const unsigned char *)v)[0] == 'V')
        memcpy(&id, (const unsigned char *)v + 1, 4);
    if (id != 0 && id < r->next_id && make_value(r, id, r->val) == n &&
        memcmp(r->val, v, n) == 0) {
        snprintf(out, cap, "value id %" PRIu32 " (%zu bytes)", id, n);
        return;
    }
    char hex[40];
    fmt_key(hex, sizeof hex, v, n < 8 ? n : 8);
    snprintf(out, cap, "%zu bytes not of any value written ('%s...')", n, hex);
}

static void mismatch(run *r, const void *k, size_t klen, uint32_t want,
                     int found, const void *got, size_t gotlen,
                     const char *what)
{
    char ks[80], ws[64], gs[96];
    fmt_key(ks, sizeof ks, k, klen);
    if (want)
        snprintf(ws, sizeof ws, "value id %" PRIu32 " (%zu bytes)", want,
                 value_len(r, want));
    else
        snprintf(ws, sizeof ws, "absent");
    if (found)
        fmt_got(r, gs, sizeof gs, got, gotlen);
    else
        snprintf(gs, sizeof gs, "absent");
    fail_at(r, "%s: key '%s' (%zu bytes): expected %s, got %s", what, ks, klen,
            ws, gs);
}

/* ---------------------------------------------------------------------- */
/* Writes                                                                  */

static const mkey *pick_key(run *r, int *idx)
{
    *idx = (int)tu_rng_uniform(&r->rng, NKEYS);
    return &r->keys[*idx];
}

/* One random write (put, delete or batch), applied to the model. */
static void random_write(run *r, cairn_writeoptions *sync)
{
    unsigned p = (unsigned)tu_rng_uniform(&r->rng, 40);
    const cairn_writeoptions *wo = tu_rng_uniform(&r->rng, 10) ? NULL : sync;
    int idx, rc;
    if (p < 30) {
        const mkey *k = pick_key(r, &idx);
        uint32_t id = p < 22 ? r->next_id++ : 0;
        r->op = id ? "put" : "delete";
        rc = id ? cairn_db_put(r->db, wo, k->b, k->len, r->val,
                               make_value(r, id, r->val))
                : cairn_db_delete(r->db, wo, k->b, k->len);
        if (rc == 0)
            r->cur.v[idx] = id;
    } else {
        r->op = "batch";
        mstate after = r->cur;
        cairn_batch *b = cairn_batch_create();
        assert_non_null(b);
        int n = 2 + (int)tu_rng_uniform(&r->rng, MAX_BATCH - 1), prev = -1;
        for (int j = 0; j < n; j++) {
            /* A quarter of the entries name the previous key again. */
            if (prev >= 0 && tu_rng_uniform(&r->rng, 4) == 0)
                idx = prev;
            else
                (void)pick_key(r, &idx);
            const mkey *k = &r->keys[idx];
            prev = idx;
            if (tu_rng_uniform(&r->rng, 3) == 0) {
                assert_int_equal(cairn_batch_delete(b, k->b, k->len), 0);
                after.v[idx] = 0;
            } else {
                uint32_t id = r->next_id++;
                size_t vl = make_value(r, id, r->val);
                assert_int_equal(cairn_batch_put(b, k->b, k->len, r->val, vl),
                                 0);
                after.v[idx] = id;
            }
        }
        rc = cairn_db_write(r->db, wo, b);
        cairn_batch_destroy(b);
        if (rc == 0)
            r->cur = after;
    }
    if (rc != 0)
        fail_at(r, "failed: %s (%s)", cairn_errname(rc), cairn_errmsg());
}

/* ---------------------------------------------------------------------- */
/* Reads                                                                   */

/* Gets k (table index idx, or -1 for a key outside the table) through ro
 * and compares with model m. */
static void check_get(run *r, const cairn_readoptions *ro, const mstate *m,
                      const void *k, size_t klen, int idx)
{
    void *got = NULL;
    size_t len = 0;
    int rc = cairn_db_get(r->db, ro, k, klen, &got, &len);
    uint32_t want = idx >= 0 ? m->v[idx] : 0;
    if (rc != 0 && rc != CAIRN_NOTFOUND)
        fail_at(r, "get failed: %s (%s)", cairn_errname(rc), cairn_errmsg());
    int ok = rc == CAIRN_NOTFOUND ? want == 0 && got == NULL
                                  : want != 0 && got != NULL &&
                                        make_value(r, want, r->val) == len &&
                                        memcmp(r->val, got, len) == 0;
    if (!ok)
        mismatch(r, k, klen, want, rc == 0, got, len, "get");
    cairn_free(got);
    r->checks++;
}

/* A probe key: from the table (idx set) or random (idx -1 unless it
 * happens to be in the table). */
static void probe_key(run *r, mkey *k, int *idx)
{
    if (tu_rng_uniform(&r->rng, 2) == 0) {
        *k = *pick_key(r, idx);
        return;
    }
    int exact;
    random_key(&r->rng, k);
    if (tu_rng_uniform(&r->rng, 8) == 0)
        k->len = 0;
    int lb = lower_bound(r, k->b, k->len, &exact);
    *idx = exact ? lb : -1;
}

/* Compares the iterator's position with index i of model m (-1: the
 * iterator must be invalid). */
static void check_pos(run *r, cairn_iter *it, const mstate *m, int i,
                      const char *what)
{
    int valid = cairn_iter_valid(it);
    size_t kl = 0, vl = 0;
    const void *k = cairn_iter_key(it, &kl);
    const void *v = cairn_iter_value(it, &vl);
    r->checks++;
    if (cairn_iter_status(it) != 0)
        fail_at(r, "%s: iterator status %s (%s)", what,
                cairn_errname(cairn_iter_status(it)), cairn_errmsg());
    if (i < 0) {
        if (valid)
            mismatch(r, k, kl, 0, 1, v, vl, "iterator should be at the end");
        return;
    }
    const mkey *want = &r->keys[i];
    if (!valid)
        mismatch(r, want->b, want->len, m->v[i], 0, NULL, 0, what);
    if (key_cmp(k, kl, want->b, want->len) != 0) {
        char ks[80], ws[80];
        fmt_key(ks, sizeof ks, k, kl);
        fmt_key(ws, sizeof ws, want->b, want->len);
        fail_at(r,
                "%s: iterator at key '%s' (%zu bytes), expected key '%s' "
                "(%zu bytes)",
                what, ks, kl, ws, want->len);
    }
    if (make_value(r, m->v[i], r->val) != vl || memcmp(r->val, v, vl) != 0)
        mismatch(r, k, kl, m->v[i], 1, v, vl, what);
}

/* Next present index after (dir 1) or before (dir -1) i; -1 if none. */
static int step_pos(const mstate *m, int i, int dir)
{
    for (i += dir; i >= 0 && i < NKEYS; i += dir)
        if (m->v[i] != 0)
            return i;
    return -1;
}

/* A full scan of it, forward or backward, against m. */
static void check_scan(run *r, cairn_iter *it, const mstate *m, int backward)
{
    int dir = backward ? -1 : 1;
    int i = step_pos(m, backward ? NKEYS : -1, dir);
    if (backward)
        cairn_iter_seek_last(it);
    else
        cairn_iter_seek_first(it);
    for (;;) {
        check_pos(r, it, m, i, backward ? "backward scan" : "forward scan");
        if (i < 0)
            break;
        if (backward)
            cairn_iter_prev(it);
        else
            cairn_iter_next(it);
        i = step_pos(m, i, dir);
    }
}

/* Picks the view of a read: the current state, or a live snapshot. */
static const mstate *pick_view(run *r, cairn_readoptions *ro)
{
    if (r->nsnaps == 0 || tu_rng_uniform(&r->rng, 2) == 0) {
        assert_int_equal(cairn_readoptions_set_snapshot(ro, NULL), 0);
        return &r->cur;
    }
    msnap *s = &r->snaps[tu_rng_uniform(&r->rng, (uint64_t)r->nsnaps)];
    assert_int_equal(cairn_readoptions_set_snapshot(ro, s->snap), 0);
    return &s->m;
}

/* Seeks to a random key (or an end), then walks with random next/prev. */
static void walk(run *r, cairn_readoptions *ro)
{
    const mstate *m = pick_view(r, ro);
    cairn_iter *it = cairn_db_iter_create(r->db, ro);
    assert_non_null(it);
    int i = -1, moves = (int)tu_rng_uniform(&r->rng, 40);
    for (int n = 0; n <= moves; n++) {
        if (n == 0 || i < 0) {
            unsigned how = (unsigned)tu_rng_uniform(&r->rng, 8);
            if (how == 0) {
                cairn_iter_seek_first(it);
                i = step_pos(m, -1, 1);
            } else if (how == 1) {
                cairn_iter_seek_last(it);
                i = step_pos(m, NKEYS, -1);
            } else {
                mkey k;
                int idx, exact;
                probe_key(r, &k, &idx);
                cairn_iter_seek(it, k.b, k.len);
                i = lower_bound(r, k.b, k.len, &exact);
                if (i == NKEYS || m->v[i] == 0)
                    i = step_pos(m, i, 1);
            }
            check_pos(r, it, m, i, "seek");
            continue;
        }
        if (tu_rng_uniform(&r->rng, 2)) {
            cairn_iter_next(it);
            i = step_pos(m, i, 1);
            check_pos(r, it, m, i, "next");
        } else {
            cairn_iter_prev(it);
            i = step_pos(m, i, -1);
            check_pos(r, it, m, i, "prev");
        }
    }
    cairn_iter_destroy(it);
}

/* ---------------------------------------------------------------------- */
/* Open, reopen, snapshots                                                 */

static void release_snapshot(run *r, int i)
{
    cairn_db_release_snapshot(r->db, r->snaps[i].snap);
    r->snaps[i] = r->snaps[--r->nsnaps];
}

static void open_db(run *r)
{
    int rc = cairn_db_open(r->opt, "/model", &r->db);
    if (rc != 0)
        fail_at(r, "open failed: %s (%s)", cairn_errname(rc), cairn_errmsg());
}

/* Closes (releasing every snapshot first), reopens and checks it all. */
static void reopen(run *r)
{
    r->op = "reopen";
    while (r->nsnaps > 0)
        release_snapshot(r, r->nsnaps - 1);
    int rc = cairn_db_close(r->db);
    r->db = NULL;
    if (rc != 0)
        fail_at(r, "close failed: %s (%s)", cairn_errname(rc), cairn_errmsg());
    open_db(r);
    r->reopens++;
    cairn_iter *it = cairn_db_iter_create(r->db, NULL);
    assert_non_null(it);
    check_scan(r, it, &r->cur, 0);
    check_scan(r, it, &r->cur, 1);
    cairn_iter_destroy(it);
    for (int i = 0; i < NKEYS; i++)
        check_get(r, NULL, &r->cur, r->keys[i].b, r->keys[i].len, i);
}

/* Counts table files that appeared since the last call (table numbers
 * only grow, so a number above every one seen is new). Tables may be
 * compacted away between two looks, so this undercounts; it only has to
 * show that tables are written at all. */
static void look_for_tables(run *r)
{
    cairn__strlist l = {NULL, 0};
    assert_int_equal(r->env->ops->list(r->env, "/model", &l), 0);
    uint64_t max = r->max_table;
    for (size_t i = 0; i < l.n; i++) {
        unsigned long long n;
        char ext[8];
        if (sscanf(l.names[i], "%llu.%7s", &n, ext) == 2 &&
            strcmp(ext, "ldb") == 0 && n > r->max_table) {
            r->tables_seen++;
            if (n > max)
                max = n;
        }
    }
    r->max_table = max;
    cairn__strlist_fini(&l);
}

/* ---------------------------------------------------------------------- */
/* The random walk of steps                                                */

static void one_step(run *r, cairn_readoptions *ro, cairn_writeoptions *sync)
{
    unsigned p = (unsigned)tu_rng_uniform(&r->rng, 100);
    mkey k;
    int idx;
    if (p < 40) {
        random_write(r, sync);
        look_for_tables(r);
    } else if (p < 58) {
        r->op = "get";
        probe_key(r, &k, &idx);
        check_get(r, NULL, &r->cur, k.b, k.len, idx);
    } else if (p < 61) {
        r->op = "create snapshot";
        if (r->nsnaps < MAX_SNAPS) {
            msnap *s = &r->snaps[r->nsnaps];
            s->snap = cairn_db_create_snapshot(r->db);
            assert_non_null(s->snap);
            s->m = r->cur;
            r->nsnaps++;
        }
    } else if (p < 64) {
        r->op = "release snapshot";
        if (r->nsnaps > 0)
            release_snapshot(r,
                             (int)tu_rng_uniform(&r->rng, (uint64_t)r->nsnaps));
    } else if (p < 74) {
        r->op = "get at a snapshot";
        const mstate *m = pick_view(r, ro);
        probe_key(r, &k, &idx);
        check_get(r, ro, m, k.b, k.len, idx);
    } else if (p < 80) {
        /* A full scan; in a stable scan the iterator must keep its view
         * while writes (and the flushes they cause) go on. */
        const mstate *m = pick_view(r, ro);
        cairn_iter *it = cairn_db_iter_create(r->db, ro);
        assert_non_null(it);
        mstate then = *m;
        int n = p < 77 ? 0 : 1 + (int)tu_rng_uniform(&r->rng, 30);
        for (int j = 0; j < n; j++)
            random_write(r, sync);
        r->op = n ? "stable scan" : "scan";
        check_scan(r, it, &then, (int)tu_rng_uniform(&r->rng, 2));
        cairn_iter_destroy(it);
    } else {
        r->op = "walk";
        walk(r, ro);
    }
}

typedef struct config {
    const char *name;
    int compression, bloom;
} config;

static const config configs[] = {
    {"test_model (snappy, bloom)", CAIRN_COMPRESSION_SNAPPY, 10},
    {"test_model (snappy, no bloom)", CAIRN_COMPRESSION_SNAPPY, 0},
    {"test_model (no compression, bloom)", CAIRN_COMPRESSION_NONE, 10},
    {"test_model (no compression, no bloom)", CAIRN_COMPRESSION_NONE, 0},
};

static void test_model(void **state)
{
    const config *c = *state;
    uint64_t seed = tu_seed(c->name);
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->cfg = c->name;
    r->seed = seed;
    r->next_id = 1;
    r->op = "open";
    tu_rng_init(&r->rng, seed);
    r->val = malloc(VAL_MAX);
    assert_non_null(r->val);
    make_keys(r);
    r->env = cairn_env_mem_create();
    assert_non_null(r->env);
    cairn_options *o = r->opt = cairn_options_create();
    assert_non_null(o);
    /* Each setter returns 0 or a negative code, so any failure shows. */
    int rc = cairn_options_set_env(o, r->env) |
             cairn_options_set_create_if_missing(o, 1) |
             cairn_options_set_write_buffer_size(o, 64 * 1024) |
             cairn_options_set_block_size(o, 1024) |
             cairn_options_set_block_restart_interval(
                 o, 1 + (int)tu_rng_uniform(&r->rng, 16)) |
             cairn_options_set_compression(o, c->compression) |
             cairn_options_set_bloom_bits_per_key(o, c->bloom);
    assert_int_equal(rc, 0);
    cairn_readoptions *ro = cairn_readoptions_create();
    cairn_writeoptions *sync = cairn_writeoptions_create();
    assert_non_null(ro);
    assert_non_null(sync);
    assert_int_equal(cairn_writeoptions_set_sync(sync, 1), 0);
    open_db(r);

    long steps = (long)(4000 * tu_scale());
    if (steps < 600)
        steps = 600;
    long next_reopen = 200 + (long)tu_rng_uniform(&r->rng, 300);
    for (r->step = 1; r->step <= steps; r->step++) {
        if (r->step == next_reopen) {
            reopen(r);
            next_reopen += 200 + (long)tu_rng_uniform(&r->rng, 300);
            continue;
        }
        one_step(r, ro, sync);
    }
    reopen(r);
    /* Without flushes this test would not test what it claims. */
    look_for_tables(r);
    fprintf(stderr,
            "[%s] %ld steps, %" PRIu32 " values, %ld reopens, %ld checks, "
            "%ld tables seen\n",
            c->name, steps, r->next_id - 1, r->reopens, r->checks,
            r->tables_seen);
    assert_true(r->tables_seen >= 3);

    assert_int_equal(cairn_db_close(r->db), 0);
    cairn_readoptions_destroy(ro);
    cairn_writeoptions_destroy(sync);
    cairn_options_destroy(r->opt);
    cairn_env_destroy(r->env);
    free(r->val);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define MODEL_TEST(i)                                                          \
    {.name = configs[i].name,                                                  \
     .test_func = test_model,                                                  \
     .initial_state = (void *)&configs[i]}
        MODEL_TEST(0),
        MODEL_TEST(1),
        MODEL_TEST(2),
        MODEL_TEST(3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
