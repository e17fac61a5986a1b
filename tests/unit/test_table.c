/*
 * test_table.c: table builder and reader (src/table/table*.c), against a
 * sorted array of entries as the model.
 *
 * Tables live in a tiny in-memory cairn__file defined here, which lets
 * the tests count reads, hand the reader arbitrary (damaged, truncated)
 * bytes, and claim a file size the bytes do not back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "table/table.h"
#include "table/table_builder.h"
#include "util/coding.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK(expr) assert_int_equal((expr), 0)
#define STR(s)   cairn__slice_str(s)
#define BS(b)    cairn__buf_slice(b)

/* ---- an in-memory file: appends grow `data`; preads read `rd` ---- */

typedef struct memfile {
    cairn__file base;
    cairn__buf data;
    const char *rd; /* what pread reads, if set (else data) */
    size_t rd_len;
    int preads;
} memfile;

static int mf_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    memfile *m = (memfile *)f;
    const char *src = m->rd ? m->rd : m->data.data;
    size_t len = m->rd ? m->rd_len : m->data.len;
    m->preads++;
    *got = off < len ? (len - off < n ? len - off : n) : 0;
    if (*got > 0)
        memcpy(buf, src + off, *got);
    return 0;
}
static int mf_append(cairn__file *f, const char *p, size_t n)
{
    return cairn__buf_append(&((memfile *)f)->data, p, n);
}
static int mf_nop(cairn__file *f)
{
    (void)f;
    return 0;
}
static int mf_size(cairn__file *f, uint64_t *size)
{
    *size = ((memfile *)f)->data.len;
    return 0;
}
/* Tables are only ever pread, so read and skip are left out. */
static const cairn__file_ops mf_ops = {
    mf_pread, NULL, NULL, mf_append, mf_nop, mf_nop, mf_size, mf_nop, NULL};

static void mf_init(memfile *m, const char *rd, size_t rd_len)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mf_ops;
    m->rd = rd;
    m->rd_len = rd_len;
}

/* ---- the model: sorted, distinct internal keys ---- */

typedef struct kv {
    cairn__buf k, v;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    return cairn__ikey_compare(BS(&((const kv *)a)->k),
                               BS(&((const kv *)b)->k));
}

static void model_free(kv *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cairn__buf_fini(&m[i].k);
        cairn__buf_fini(&m[i].v);
    }
    free(m);
}

/* Sets b to the internal key (user, seq, type). */
static void set_ikey(cairn__buf *b, cairn__slice user, uint64_t seq, int type)
{
    cairn__buf_clear(b);
    OK(cairn__ikey_append(b, user, seq, type));
}

/* n random entries of the given key shape (0 numbered, 1 short binary
 * including empty, 2 long with a common prefix) with values of up to
 * 3 * vmax bytes (empty for deletions); sorted, duplicates dropped. */
static kv *model_make(tu_rng *r, size_t *n, int shape, size_t vmax)
{
    kv *m = calloc(*n ? *n : 1, sizeof *m);
    assert_non_null(m);
    char u[3000];
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        size_t klen = 100 + tu_rng_uniform(r, 2000);
        if (shape == 0) {
            klen = (size_t)snprintf(u, sizeof u, "key%08d",
                                    (int)tu_rng_uniform(r, 1u << 30));
        } else if (shape == 1) {
            klen = tu_rng_uniform(r, 6);
            tu_rng_bytes(r, u, klen);
        } else {
            memset(u, 'p', klen);
            tu_rng_bytes(r, u + 90, 10);
        }
        int type = (int)tu_rng_uniform(r, 2);
        set_ikey(&m[i].k, cairn__slice_make(u, klen),
                 tu_rng_next(r) & CAIRN__MAX_SEQ, type);
        size_t vlen = type ? tu_rng_uniform(r, 4) * tu_rng_uniform(r, vmax) : 0;
        OK(cairn__buf_resize(&m[i].v, vlen));
        if (tu_rng_uniform(r, 2))
            tu_rng_bytes(r, m[i].v.data, vlen); /* else zeros: compressible */
    }
    qsort(m, *n, sizeof *m, kv_cmp);
    for (size_t i = 0; i < *n; i++) {
        if (w > 0 && kv_cmp(&m[w - 1], &m[i]) == 0) {
            cairn__buf_fini(&m[i].k);
            cairn__buf_fini(&m[i].v);
        } else {
            m[w++] = m[i];
        }
    }
    *n = w;
    return m;
}

static void build(const cairn__table_options *o, memfile *f, const kv *m,
                  size_t n)
{
    cairn__table_builder *tb;
    uint64_t size;
    mf_init(f, NULL, 0);
    OK(cairn__table_builder_create(o, &f->base, &tb));
    for (size_t i = 0; i < n; i++)
        OK(cairn__table_builder_add(tb, BS(&m[i].k), BS(&m[i].v)));
    assert_int_equal(cairn__table_builder_num_entries(tb), n);
    OK(cairn__table_builder_finish(tb, &size));
    assert_int_equal(size, f->data.len);
    assert_int_equal(cairn__table_builder_file_size(tb), size);
    cairn__table_builder_destroy(tb);
}

static int slice_is(cairn__slice s, const cairn__buf *b)
{
    return cairn__slice_equal(s, BS(b));
}

/* Index of the first model entry >= target (n if none). */
static size_t lower_bound(const kv *m, size_t n, cairn__slice target)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cairn__ikey_compare(BS(&m[mid].k), target) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct got {
    int calls;
    cairn__buf k, v;
} got;

static int save_entry(void *arg, cairn__slice k, cairn__slice v)
{
    got *g = arg;
    g->calls++;
    cairn__buf_clear(&g->k);
    cairn__buf_clear(&g->v);
    if (cairn__buf_append(&g->k, k.data, k.size) != 0 ||
        cairn__buf_append(&g->v, v.data, v.size) != 0)
        return CAIRN_NOMEM;
    return 0;
}

/* A random lookup target: a model key with a byte nudged, or a short one. */
static void random_target(tu_rng *r, const kv *m, size_t n, cairn__buf *t)
{
    char u[4];
    tu_rng_bytes(r, u, sizeof u);
    set_ikey(t, cairn__slice_make(u, 1 + tu_rng_uniform(r, 3)),
             tu_rng_next(r) & CAIRN__MAX_SEQ, 1);
    if (n > 0 && tu_rng_uniform(r, 2)) {
        const cairn__buf *k = &m[tu_rng_uniform(r, n)].k;
        cairn__buf_clear(t);
        OK(cairn__buf_append(t, k->data, k->len));
        t->data[tu_rng_uniform(r, t->len)] ^= (char)tu_rng_uniform(r, 3);
    }
}

/* Every entry in both directions, seeks to random targets with direction
 * changes around them, and gets. */
static void check_table(cairn__table *t, const kv *m, size_t n, tu_rng *r)
{
    cairn__table_read_options ro = {1, 1, 0};
    cairn__iter *it;
    OK(cairn__table_iter(t, &ro, &it));
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it); i++) {
        assert_true(i < n && slice_is(cairn__iter_key(it), &m[i].k));
        assert_true(slice_is(cairn__iter_value(it), &m[i].v));
        cairn__iter_next(it);
    }
    assert_int_equal(i, n);
    for (cairn__iter_seek_last(it); cairn__iter_valid(it);
         cairn__iter_prev(it)) {
        assert_true(i > 0 && slice_is(cairn__iter_key(it), &m[--i].k));
    }
    assert_int_equal(i, 0);
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    cairn__buf target = CAIRN__BUF_INIT;
    for (int s = 0; s < 200; s++) {
        random_target(r, m, n, &target);
        cairn__slice ts = BS(&target);
        size_t pos = lower_bound(m, n, ts), lb = pos;
        cairn__iter_seek(it, ts);
        for (int step = 0; step < 4; step++) {
            assert_int_equal(cairn__iter_valid(it), pos < n);
            if (pos >= n)
                break;
            assert_true(slice_is(cairn__iter_key(it), &m[pos].k));
            if (tu_rng_uniform(r, 2)) {
                cairn__iter_next(it);
                pos++;
            } else {
                cairn__iter_prev(it);
                pos = pos ? pos - 1 : n;
            }
        }
        g.calls = 0;
        OK(cairn__table_get(t, &ro, ts, save_entry, &g));
        if (g.calls > 0)
            assert_true(lb < n && slice_is(BS(&g.k), &m[lb].k));
        else if (lb < n) /* right only if no entry of this user key follows */
            assert_false(cairn__slice_equal(cairn__ikey_user(BS(&m[lb].k)),
                                            cairn__ikey_user(ts)));
    }
    /* Every entry of small tables, a sample of big ones. */
    for (size_t s = 0; s < n && s < 5000; s++) {
        i = n <= 5000 ? s : (size_t)tu_rng_uniform(r, n);
        g.calls = 0;
        OK(cairn__table_get(t, &ro, BS(&m[i].k), save_entry, &g));
        assert_int_equal(g.calls, 1);
        assert_true(slice_is(BS(&g.v), &m[i].v));
    }
    OK(cairn__iter_status(it));
    cairn__iter_destroy(it);
    cairn__buf_fini(&target);
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
}

static void test_round_trips(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("table_round_trips"));
    static const int intervals[] = {1, 16, 1024};
    size_t sizes[] = {0, 1, 10, 500, (size_t)(3000 * tu_scale()) + 1};
    cairn__cache *cache;
    OK(cairn__cache_create(64 * 1024, &cache));
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (int shape = 0; shape < 3; shape++) {
            size_t n = sizes[si];
            kv *m = model_make(&r, &n, shape, 300);
            for (int v = 0; v < 3; v++) {
                cairn__table_options o;
                cairn__table_options_default(&o);
                o.restart_interval = intervals[v];
                o.block_size = v == 0 ? 256 : 4096;
                o.compression = (int)tu_rng_uniform(&r, 2);
                o.bloom_bits_per_key = v == 1 ? 0 : 10;
                o.block_cache = v == 2 ? cache : NULL;
                memfile f;
                build(&o, &f, m, n);
                cairn__table *t;
                OK(cairn__table_open(&o, &f.base, f.data.len, "rt.ldb", &t));
                assert_int_equal(cairn__table_has_filter(t),
                                 o.bloom_bits_per_key > 0);
                check_table(t, m, n, &r);
                cairn__table_close(t);
                cairn__buf_fini(&f.data);
            }
            model_free(m, n);
        }
    }
    assert_true(cairn__cache_total_charge(cache) > 0);
    assert_true(cairn__cache_total_charge(cache) <= 64 * 1024 + 16 * 4096);
    cairn__cache_destroy(cache);
}

/* 100,000 entries in one table (scaled), read through a cache. */
static void test_many_entries(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("table_many_entries"));
    size_t n = (size_t)(100000 * tu_scale());
    kv *m = model_make(&r, &n, 0, 4);
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.bloom_bits_per_key = 10;
    memfile f;
    build(&o, &f, m, n);
    OK(cairn__cache_create(1 << 20, &o.block_cache));
    cairn__table *t;
    OK(cairn__table_open(&o, &f.base, f.data.len, "big.ldb", &t));
    check_table(t, m, n, &r);
    /* Absent user keys: the filter must spare nearly all data reads. */
    cairn__table_read_options ro = {0, 0, 0};
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    cairn__buf k = CAIRN__BUF_INIT;
    int absent = 0;
    f.preads = 0;
    for (int i = 0; i < 1000; i++) {
        char u[16]; /* within the table's key range, as model_make's */
        snprintf(u, sizeof u, "key%08d", (int)tu_rng_uniform(&r, 1u << 30));
        set_ikey(&k, STR(u), CAIRN__MAX_SEQ, 1);
        size_t lb = lower_bound(m, n, BS(&k));
        if (lb < n &&
            cairn__slice_equal(cairn__ikey_user(BS(&m[lb].k)), STR(u)))
            continue;
        absent++;
        OK(cairn__table_get(t, &ro, BS(&k), save_entry, &g));
    }
    assert_true(absent > 900);
    assert_true(f.preads <= absent / 25); /* bloom: about 1% */

    /* A full scan with read-ahead (no cache: every block from the file)
     * sees every entry in order and reads the file in window-sized
     * chunks, not a pread per block. */
    cairn__table_read_options seq = {1, 0, 64 * 1024};
    cairn__table *t2;
    cairn__table_options o2 = o;
    o2.block_cache = NULL;
    OK(cairn__table_open(&o2, &f.base, f.data.len, "big2.ldb", &t2));
    cairn__iter *it;
    OK(cairn__table_iter(t2, &seq, &it));
    f.preads = 0;
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it), i++)
        assert_true(i < n && slice_is(cairn__iter_key(it), &m[i].k) &&
                    slice_is(cairn__iter_value(it), &m[i].v));
    OK(cairn__iter_status(it));
    assert_int_equal(i, n);
    assert_true((size_t)f.preads <= f.data.len / (64 * 1024) + 2);
    /* Backwards it still answers right (each step moves the window). */
    for (cairn__iter_seek_last(it); cairn__iter_valid(it); cairn__iter_prev(it))
        assert_true(i > 0 && slice_is(cairn__iter_key(it), &m[--i].k));
    assert_int_equal(i, 0);
    OK(cairn__iter_status(it));
    cairn__iter_destroy(it);
    cairn__table_close(t2);
    cairn__buf_fini(&k);
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
    cairn__table_close(t);
    cairn__cache_destroy(o.block_cache);
    cairn__buf_fini(&f.data);
    model_free(m, n);
}

/* Builds a table of the n entries (block_size 1024) into f, checks that
 * it reads back, and returns the type byte of the first data block when it
 * is the only one (it then ends 5 bytes before the metaindex block). */
static int build_checked(memfile *f, const kv *m, size_t n, int compression)
{
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.block_size = 1024;
    o.compression = compression;
    build(&o, f, m, n);
    cairn__footer ft;
    OK(cairn__footer_decode(f->data.data + f->data.len - 48, f->data.len, "s",
                            &ft));
    cairn__table *t;
    OK(cairn__table_open(&o, &f->base, f->data.len, "s.ldb", &t));
    tu_rng r;
    tu_rng_init(&r, 4);
    check_table(t, m, n, &r);
    cairn__table_close(t);
    return (unsigned char)f->data.data[ft.metaindex.offset - 5];
}

/* Facts Appendix A: the minimal table, byte for byte. */
static void test_minimal_table_bytes(void **state)
{
    (void)state;
    static const char *hex =
        "0009016b01010000000000007600000000010000000050328848000000000100"
        "000000c0f2a1b00009026b010100000000000000150000000001000000008ee7"
        "e8f61a0827160000000000000000000000000000000000000000000000000000"
        "0000000000000000000057fb808b247547db";
    kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    set_ikey(&e.k, STR("k"), 1, 1);
    OK(cairn__buf_append(&e.v, "v", 1));
    memfile f;
    assert_int_equal(build_checked(&f, &e, 1, CAIRN__NO_COMPRESSION), 0);
    assert_int_equal(f.data.len, 114);
    for (size_t i = 0; i < 114; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        assert_int_equal((unsigned char)f.data.data[i], v);
    }
    cairn__buf_fini(&f.data);
    cairn__buf_fini(&e.k);
    cairn__buf_fini(&e.v);
}

/* LevelDB's dbformat_test expectations for index-key shortening; a NULL
 * limit asks for the short successor. */
static void test_key_shortening(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b, *want;
        uint64_t sa, sb, swant;
    } c[] = {{"foo", "foo", "foo", 100, 99, 100},
             {"foo", "foo", "foo", 100, 101, 100},
             {"foo", "bar", "foo", 100, 99, 100},
             {"foo", "hello", "g", 100, 200, CAIRN__MAX_SEQ},
             {"foo", "foobar", "foo", 100, 200, 100},
             {"foobar", "foo", "foobar", 100, 200, 100},
             {"abc1", "abc3", "abc1", 5, 5, 5}, /* "abc2" is not shorter */
             {"foo", NULL, "g", 100, 0, CAIRN__MAX_SEQ},
             {"\xff\xff", NULL, "\xff\xff", 100, 0, 100},
             {"k", NULL, "k", 1, 0, 1}}; /* "l" is not shorter */
    cairn__buf s = CAIRN__BUF_INIT, l = CAIRN__BUF_INIT, w = CAIRN__BUF_INIT;
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        set_ikey(&s, STR(c[i].a), c[i].sa, 1);
        set_ikey(&w, STR(c[i].want), c[i].swant, 1);
        set_ikey(&l, STR(c[i].b ? c[i].b : ""), c[i].sb, 1);
        if (c[i].b != NULL)
            cairn__table_shortest_separator(&s, BS(&l));
        else
            cairn__table_short_successor(&s);
        assert_true(cairn__slice_equal(BS(&s), BS(&w)));
    }
    cairn__buf_fini(&s);
    cairn__buf_fini(&l);
    cairn__buf_fini(&w);
}

static void expect_open_error(const char *bytes, size_t len, const char *msg)
{
    memfile f;
    mf_init(&f, bytes, len);
    cairn__table_options o;
    cairn__table_options_default(&o);
    cairn__table *t = NULL;
    assert_int_equal(cairn__table_open(&o, &f.base, len, "bad.ldb", &t),
                     CAIRN_CORRUPTION);
    assert_null(t);
    assert_non_null(strstr(cairn__errmsg_get(), msg));
}

static void test_errors(void **state)
{
    (void)state;
    char junk[100] = {0};
    expect_open_error(junk, 47, "file is too short to be an sstable");
    expect_open_error(junk, 100, "not an sstable (bad magic number)");

    /* A data block whose type byte says 2 (Zstd, post-1.23), CRC fixed. */
    kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    set_ikey(&e.k, STR("k"), 1, 1);
    memfile f;
    build_checked(&f, &e, 1, CAIRN__NO_COMPRESSION);
    cairn__table_options o;
    cairn__table_options_default(&o);
    size_t n = 20; /* the data block: 3 + 9 + 0 + 8 bytes */
    f.data.data[n] = 2;
    cairn__encode_fixed32(f.data.data + n + 1,
                          cairn__block_crc(f.data.data, n, 2));
    cairn__table *t;
    OK(cairn__table_open(&o, &f.base, f.data.len, "t.ldb", &t));
    cairn__table_read_options ro = {1, 1, 0};
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    assert_int_equal(cairn__table_get(t, &ro, BS(&e.k), save_entry, &g),
                     CAIRN_CORRUPTION);
    assert_non_null(strstr(cairn__errmsg_get(), "t.ldb: bad block type 2"));
    assert_non_null(strstr(cairn__errmsg_get(), "offset 0"));
    assert_int_equal(g.calls, 0);
    assert_int_equal(cairn__table_get(t, &ro, STR("short"), save_entry, &g),
                     CAIRN_INVALID);
    cairn__table_close(t);

    /* Builder misuse: keys not strictly increasing; errors are sticky. */
    cairn__table_builder *tb;
    OK(cairn__table_builder_create(&o, &f.base, &tb));
    OK(cairn__table_builder_add(tb, BS(&e.k), STR("")));
    assert_int_equal(cairn__table_builder_add(tb, BS(&e.k), STR("")),
                     CAIRN_INVALID);
    assert_int_equal(cairn__table_builder_add(tb, STR("zzzzzzzzz"), STR("")),
                     CAIRN_INVALID);
    cairn__table_builder_abandon(tb);
    cairn__table_builder_destroy(tb);
    o.block_size = 0;
    assert_int_equal(cairn__table_builder_create(&o, &f.base, &tb),
                     CAIRN_INVALID);
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
    cairn__buf_fini(&f.data);
    cairn__buf_fini(&e.k);
}

/* Snappy is kept only when it saves at least 1/8 of a block. */
static void test_compression_choice(void **state)
{
    (void)state;
    /* 2000 bytes: all 'a', or random ending in 0, 160 (8%: too little to
     * keep) or 400 (20%) zero bytes. */
    static const size_t zeros[] = {0, 0, 160, 400};
    static const int want[] = {1, 0, 0, 1};
    tu_rng r;
    tu_rng_init(&r, 3);
    for (int c = 0; c < 4; c++) {
        kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
        set_ikey(&e.k, STR("key"), 7, 1);
        OK(cairn__buf_resize(&e.v, 2000));
        memset(e.v.data, 'a', 2000);
        if (c > 0)
            tu_rng_bytes(&r, e.v.data, 2000 - zeros[c]);
        memset(e.v.data + 2000 - zeros[c], 0, zeros[c]);
        memfile f;
        assert_int_equal(build_checked(&f, &e, 1, CAIRN__SNAPPY_COMPRESSION),
                         want[c]);
        cairn__buf_fini(&f.data);
        cairn__buf_fini(&e.k);
        cairn__buf_fini(&e.v);
    }
}

/* LevelDB's ApproximateOffsetOf test, with internal keys. */
static void test_approximate_offsets(void **state)
{
    (void)state;
    static const size_t vlens[] = {5, 6, 10000, 200000, 300000, 6, 100000};
    kv m[7];
    for (int i = 0; i < 7; i++) {
        char u[4] = {'k', '0', (char)('1' + i), 0};
        cairn__buf_init(&m[i].k);
        cairn__buf_init(&m[i].v);
        set_ikey(&m[i].k, STR(u), 1, 1);
        OK(cairn__buf_resize(&m[i].v, vlens[i]));
        memset(m[i].v.data, 'x' + i, vlens[i]);
    }
    memfile f;
    build_checked(&f, m, 7, CAIRN__NO_COMPRESSION);
    cairn__table_options o;
    cairn__table_options_default(&o);
    cairn__table *t;
    OK(cairn__table_open(&o, &f.base, f.data.len, "ap.ldb", &t));
    /* The index block restarts at every entry (interval 1), as LevelDB's. */
    cairn__footer ft;
    OK(cairn__footer_decode(f.data.data + f.data.len - 48, f.data.len, "a",
                            &ft));
    const char *ib = f.data.data + ft.index.offset;
    size_t entries = 0, at = 0, isz = (size_t)ft.index.size;
    uint32_t nrestarts = cairn__decode_fixed32(ib + isz - 4);
    while (at < isz - 4 - 4 * (size_t)nrestarts) {
        assert_int_equal(
            cairn__decode_fixed32(ib + isz - 4 - 4 * nrestarts + 4 * entries),
            at);
        assert_int_equal(ib[at], 0); /* shared == 0, lengths < 128 */
        at += 3 + (size_t)ib[at + 1] + (size_t)ib[at + 2];
        entries++;
    }
    assert_int_equal(entries, 4); /* k01-k03, k04, k05, k06-k07 */
    assert_int_equal(entries, nrestarts);
    static const struct {
        const char *k;
        uint64_t lo, hi;
    } want[] = {{"abc", 0, 0},
                {"k01", 0, 0},
                {"k01a", 0, 0},
                {"k02", 0, 0},
                {"k03", 0, 0},
                {"k04", 10000, 11000},
                {"k04a", 210000, 211000},
                {"k05", 210000, 211000},
                {"k06", 510000, 511000},
                {"k07", 510000, 511000},
                {"xyz", 610000, 612000}};
    cairn__buf k = CAIRN__BUF_INIT;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        set_ikey(&k, STR(want[i].k), CAIRN__MAX_SEQ, 1);
        assert_in_range(cairn__table_approximate_offset_of(t, BS(&k)),
                        want[i].lo, want[i].hi);
    }
    cairn__buf_fini(&k);
    cairn__table_close(t);
    cairn__buf_fini(&f.data);
    for (int i = 0; i < 7; i++) {
        cairn__buf_fini(&m[i].k);
        cairn__buf_fini(&m[i].v);
    }
}

/* Reads a damaged table. With exact set (checksums on), every answer must
 * be the model's or CAIRN_CORRUPTION: a partial scan must be an exact
 * prefix (suffix, backwards) of the model. */
static void probe(const char *bytes, size_t len, uint64_t claimed, const kv *m,
                  size_t n, int exact, cairn__cache *cache, size_t readahead)
{
    memfile f;
    mf_init(&f, bytes, len);
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.bloom_bits_per_key = 10;
    o.paranoid_checks = exact;
    o.block_cache = cache;
    cairn__table_read_options ro = {exact, 1, readahead};
    cairn__table *t;
    int rc = cairn__table_open(&o, &f.base, claimed, "dmg.ldb", &t);
    if (rc != 0) {
        assert_int_equal(rc, CAIRN_CORRUPTION);
        return;
    }
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    for (size_t i = 0; i < n; i++) {
        g.calls = 0;
        rc = cairn__table_get(t, &ro, BS(&m[i].k), save_entry, &g);
        assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
        if (rc == 0 && exact)
            assert_true(g.calls == 1 && slice_is(BS(&g.k), &m[i].k) &&
                        slice_is(BS(&g.v), &m[i].v));
    }
    cairn__iter *it;
    OK(cairn__table_iter(t, &ro, &it));
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it); i++) {
        assert_true(i < 100000);
        if (exact)
            assert_true(i < n && slice_is(cairn__iter_key(it), &m[i].k) &&
                        slice_is(cairn__iter_value(it), &m[i].v));
        cairn__iter_next(it);
    }
    rc = cairn__iter_status(it);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    assert_true(!exact || rc != 0 || i == n);
    for (cairn__iter_seek_last(it), i = n; cairn__iter_valid(it);
         cairn__iter_prev(it)) {
        if (exact)
            assert_true(i > 0 && slice_is(cairn__iter_key(it), &m[--i].k));
    }
    rc = cairn__iter_status(it);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    assert_true(!exact || rc != 0 || i == 0);
    cairn__iter_seek(it, BS(&m[n / 2].k));
    if (exact && cairn__iter_valid(it))
        assert_true(slice_is(cairn__iter_key(it), &m[n / 2].k));
    cairn__iter_destroy(it);
    (void)cairn__table_approximate_offset_of(t, BS(&m[0].k));
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
    cairn__table_close(t);
}

/* Flip every byte of a small table (and truncate it at every length): the
 * reader must answer right or say CAIRN_CORRUPTION, and never crash. */
static void test_damage(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("table_damage"));
    cairn__cache *cache;
    OK(cairn__cache_create(8192, &cache));
    for (int comp = 0; comp < 2; comp++) {
        size_t n = 24;
        kv *m = model_make(&r, &n, 0, 12);
        cairn__table_options o;
        cairn__table_options_default(&o);
        o.block_size = 200;
        o.restart_interval = 4;
        o.compression = comp;
        o.bloom_bits_per_key = 10;
        memfile f;
        build(&o, &f, m, n);
        size_t len = f.data.len;
        char *copy = malloc(len);
        assert_non_null(copy);
        probe(f.data.data, len, len, m, n, 1, cache, 0); /* undamaged */
        probe(f.data.data, len, len, m, n, 1, NULL, 512);
        for (size_t pos = 0; pos < len; pos++) {
            for (int flip = 0; flip < 2; flip++) {
                memcpy(copy, f.data.data, len);
                copy[pos] ^= (char)(flip ? 0x80 : 0x01);
                probe(copy, len, len, m, n, 1, cache, 0);
                probe(copy, len, len, m, n, 0, NULL, 0);
                /* Through a read-ahead window of about two blocks. */
                probe(copy, len, len, m, n, 1, NULL, 512);
            }
            probe(f.data.data, pos, pos, m, n, 1, NULL, 0);
            probe(f.data.data, pos, len, m, n, 1, cache, 0); /* short reads */
            probe(f.data.data, pos, len, m, n, 0, NULL, 0);
            probe(f.data.data, pos, pos, m, n, 1, NULL, 100);
            probe(f.data.data, pos, len, m, n, 1, NULL, 512);
        }
        free(copy);
        cairn__buf_fini(&f.data);
        model_free(m, n);
    }
    cairn__cache_destroy(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_table_bytes),
        cmocka_unit_test(test_key_shortening),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_compression_choice),
        cmocka_unit_test(test_approximate_offsets),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
