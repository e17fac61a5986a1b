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

/* ---- an in-memory file: appends grow `data`; preads read `rd` ---- */

typedef struct memfile {
    cairn__file base;
    cairn__buf data;
    const char *rd; /* what pread reads (data's bytes unless overridden) */
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
    *got = 0;
    if (off < len) {
        *got = len - off < n ? len - off : n;
        memcpy(buf, src + off, *got);
    }
    return 0;
}
static int mf_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    (void)f, (void)n, (void)buf, (void)got;
    return CAIRN_NOTSUP;
}
static int mf_skip(cairn__file *f, uint64_t n)
{
    (void)f, (void)n;
    return CAIRN_NOTSUP;
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
static const cairn__file_ops mf_ops = {mf_pread, mf_read, mf_skip, mf_append,
                                       mf_nop,   mf_nop,  mf_size, mf_nop};

static void mf_init(memfile *m)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mf_ops;
}

/* ---- the model: sorted, distinct internal keys ---- */

typedef struct kv {
    cairn__buf k;
    cairn__buf v;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    return cairn__ikey_compare(cairn__buf_slice(&((const kv *)a)->k),
                               cairn__buf_slice(&((const kv *)b)->k));
}

static void model_free(kv *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cairn__buf_fini(&m[i].k);
        cairn__buf_fini(&m[i].v);
    }
    free(m);
}

/* n random entries of the given key shape (0 numbered, 1 short binary
 * including empty, 2 long with a common prefix) with values of up to
 * 3 * vmax bytes; sorts and dedups. */
static kv *model_make(tu_rng *r, size_t *n, int shape, size_t vmax)
{
    kv *m = calloc(*n, sizeof *m);
    assert_non_null(m);
    char ukey[3000];
    for (size_t i = 0; i < *n; i++) {
        size_t klen;
        if (shape == 0) {
            klen = (size_t)snprintf(
                ukey, sizeof ukey, "key%08llu",
                (unsigned long long)tu_rng_uniform(r, 1u << 30));
        } else if (shape == 1) {
            klen = tu_rng_uniform(r, 6);
            tu_rng_bytes(r, ukey, klen);
        } else {
            klen = 100 + tu_rng_uniform(r, 2000);
            memset(ukey, 'p', klen);
            tu_rng_bytes(r, ukey + 90, 10);
        }
        int type = (int)tu_rng_uniform(r, 2);
        uint64_t seq = tu_rng_next(r) & CAIRN__MAX_SEQ;
        assert_int_equal(cairn__ikey_append(
                             &m[i].k, cairn__slice_make(ukey, klen), seq, type),
                         0);
        size_t vlen =
            type == 0 ? 0
                      : (size_t)tu_rng_uniform(r, 4) * tu_rng_uniform(r, vmax);
        assert_int_equal(cairn__buf_resize(&m[i].v, vlen), 0);
        if (tu_rng_uniform(r, 2))
            tu_rng_bytes(r, m[i].v.data, vlen); /* else zeros: compressible */
    }
    qsort(m, *n, sizeof *m, kv_cmp);
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        if (w > 0 && kv_cmp(&m[w - 1], &m[i]) == 0) {
            cairn__buf_fini(&m[i].k);
            cairn__buf_fini(&m[i].v);
            continue;
        }
        m[w++] = m[i];
    }
    *n = w;
    return m;
}

static void build(const cairn__table_options *o, memfile *f, const kv *m,
                  size_t n)
{
    cairn__table_builder *tb;
    uint64_t size;
    mf_init(f);
    assert_int_equal(cairn__table_builder_create(o, &f->base, &tb), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cairn__table_builder_add(tb, cairn__buf_slice(&m[i].k),
                                                  cairn__buf_slice(&m[i].v)),
                         0);
    assert_int_equal(cairn__table_builder_num_entries(tb), n);
    assert_int_equal(cairn__table_builder_finish(tb, &size), 0);
    assert_int_equal(size, f->data.len);
    assert_int_equal(cairn__table_builder_file_size(tb), size);
    cairn__table_builder_destroy(tb);
}

static int slice_is(cairn__slice s, const cairn__buf *b)
{
    return cairn__slice_equal(s, cairn__buf_slice(b));
}

/* Index of the first model entry >= target (n if none). */
static size_t lower_bound(const kv *m, size_t n, cairn__slice target)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cairn__ikey_compare(cairn__buf_slice(&m[mid].k), target) < 0)
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

/* Every entry in both directions, seeks to random targets with direction
 * changes around them, and gets. */
static void check_table(cairn__table *t, const kv *m, size_t n, tu_rng *r)
{
    cairn__table_read_options ro = {1, 1};
    cairn__iter *it;
    assert_int_equal(cairn__table_iter(t, &ro, &it), 0);
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it), i++) {
        assert_true(i < n);
        assert_true(slice_is(cairn__iter_key(it), &m[i].k));
        assert_true(slice_is(cairn__iter_value(it), &m[i].v));
    }
    assert_int_equal(i, n);
    for (cairn__iter_seek_last(it); cairn__iter_valid(it);
         cairn__iter_prev(it)) {
        assert_true(i > 0);
        i--;
        assert_true(slice_is(cairn__iter_key(it), &m[i].k));
    }
    assert_int_equal(i, 0);
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    cairn__buf target = CAIRN__BUF_INIT;
    for (int s = 0; s < 200; s++) {
        cairn__buf_clear(&target);
        if (n > 0 && tu_rng_uniform(r, 2)) {
            const cairn__buf *k = &m[tu_rng_uniform(r, n)].k;
            assert_int_equal(cairn__buf_append(&target, k->data, k->len), 0);
            target.data[tu_rng_uniform(r, target.len)] ^=
                (char)tu_rng_uniform(r, 3);
        } else {
            char u[4];
            tu_rng_bytes(r, u, sizeof u);
            assert_int_equal(cairn__ikey_append(
                                 &target,
                                 cairn__slice_make(u, 1 + tu_rng_uniform(r, 3)),
                                 tu_rng_next(r) & CAIRN__MAX_SEQ, 1),
                             0);
        }
        cairn__slice ts = cairn__buf_slice(&target);
        size_t lb = lower_bound(m, n, ts);
        cairn__iter_seek(it, ts);
        assert_int_equal(cairn__iter_valid(it), lb < n);
        size_t pos = lb;
        for (int step = 0; step < 4 && pos < n && cairn__iter_valid(it);
             step++) {
            assert_true(slice_is(cairn__iter_key(it), &m[pos].k));
            if (tu_rng_uniform(r, 2)) {
                cairn__iter_next(it);
                pos++;
            } else {
                cairn__iter_prev(it);
                if (pos-- == 0)
                    break;
            }
            assert_int_equal(cairn__iter_valid(it), pos < n);
        }
        g.calls = 0;
        assert_int_equal(cairn__table_get(t, &ro, ts, save_entry, &g), 0);
        if (g.calls > 0) {
            assert_true(lb < n);
            assert_true(cairn__slice_equal(cairn__buf_slice(&g.k),
                                           cairn__buf_slice(&m[lb].k)));
        } else if (lb < n) {
            /* Not found is right only if no entry of this user key follows. */
            assert_false(
                cairn__slice_equal(cairn__ikey_user(cairn__buf_slice(&m[lb].k)),
                                   cairn__ikey_user(ts)));
        }
    }
    /* Every entry of small tables, a sample of big ones. */
    for (size_t s = 0; s < n && s < 5000; s++) {
        i = n <= 5000 ? s : (size_t)tu_rng_uniform(r, n);
        g.calls = 0;
        assert_int_equal(
            cairn__table_get(t, &ro, cairn__buf_slice(&m[i].k), save_entry, &g),
            0);
        assert_int_equal(g.calls, 1);
        assert_true(slice_is(cairn__buf_slice(&g.v), &m[i].v));
    }
    assert_int_equal(cairn__iter_status(it), 0);
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
    assert_int_equal(cairn__cache_create(64 * 1024, &cache), 0);
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
                assert_int_equal(
                    cairn__table_open(&o, &f.base, f.data.len, "rt.ldb", &t),
                    0);
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

/* 100,000 small entries in one table (scaled). */
static void test_many_entries(void **state)
{
    (void)state;
    size_t n = (size_t)(100000 * tu_scale());
    kv *m = calloc(n, sizeof *m);
    assert_non_null(m);
    char u[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(u, sizeof u, "%010zu", i * 7);
        assert_int_equal(cairn__ikey_append(
                             &m[i].k, cairn__slice_make(u, (size_t)len), i, 1),
                         0);
        assert_int_equal(cairn__buf_append(&m[i].v, u, (size_t)len - 3), 0);
    }
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.bloom_bits_per_key = 10;
    memfile f;
    build(&o, &f, m, n);
    assert_int_equal(cairn__cache_create(1 << 20, &o.block_cache), 0);
    cairn__table *t;
    assert_int_equal(cairn__table_open(&o, &f.base, f.data.len, "big.ldb", &t),
                     0);
    tu_rng r;
    tu_rng_init(&r, 5);
    check_table(t, m, n, &r);
    /* Absent user keys: the filter must spare nearly all data reads. */
    cairn__table_read_options ro = {0, 0};
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    cairn__buf k = CAIRN__BUF_INIT;
    f.preads = 0;
    for (int i = 0; i < 1000; i++) {
        int len = snprintf(u, sizeof u, "%010d", i * 7 + 3);
        cairn__buf_clear(&k);
        assert_int_equal(
            cairn__ikey_append(&k, cairn__slice_make(u, (size_t)len), 1, 1), 0);
        assert_int_equal(
            cairn__table_get(t, &ro, cairn__buf_slice(&k), save_entry, &g), 0);
    }
    assert_true(f.preads <= 40);
    cairn__buf_fini(&k);
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
    cairn__table_close(t);
    cairn__cache_destroy(o.block_cache);
    cairn__buf_fini(&f.data);
    model_free(m, n);
}

static void hex_to_bytes(const char *hex, cairn__buf *out)
{
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        char c = (char)v;
        assert_int_equal(cairn__buf_append(out, &c, 1), 0);
    }
}

/* Facts Appendix A: the minimal table, byte for byte. */
static void test_minimal_table_bytes(void **state)
{
    (void)state;
    kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    assert_int_equal(cairn__ikey_append(&e.k, cairn__slice_str("k"), 1, 1), 0);
    assert_int_equal(cairn__buf_append(&e.v, "v", 1), 0);
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.compression = CAIRN__NO_COMPRESSION;
    memfile f;
    build(&o, &f, &e, 1);
    cairn__buf want = CAIRN__BUF_INIT;
    hex_to_bytes("0009016b01010000000000007600000000010000000050328848000000000"
                 "100000000c0f2a1"
                 "b00009026b010100000000000000150000000001000000008ee7e8f61a082"
                 "716000000000000"
                 "0000000000000000000000000000000000000000000000000000000000005"
                 "7fb808b247547db",
                 &want);
    assert_int_equal(want.len, 114);
    assert_int_equal(f.data.len, 114);
    assert_memory_equal(f.data.data, want.data, 114);
    cairn__table *t;
    assert_int_equal(cairn__table_open(&o, &f.base, 114, "000001.ldb", &t), 0);
    tu_rng r;
    tu_rng_init(&r, 1);
    check_table(t, &e, 1, &r);
    cairn__table_close(t);
    cairn__buf_fini(&want);
    cairn__buf_fini(&f.data);
    cairn__buf_fini(&e.k);
    cairn__buf_fini(&e.v);
}

static void sep_case(const char *a, uint64_t sa, const char *b, uint64_t sb,
                     const char *want, uint64_t swant)
{
    cairn__buf s = CAIRN__BUF_INIT, l = CAIRN__BUF_INIT, w = CAIRN__BUF_INIT;
    assert_int_equal(cairn__ikey_append(&s, cairn__slice_str(a), sa, 1), 0);
    assert_int_equal(cairn__ikey_append(&w, cairn__slice_str(want), swant, 1),
                     0);
    if (b != NULL) {
        assert_int_equal(cairn__ikey_append(&l, cairn__slice_str(b), sb, 1), 0);
        cairn__table_shortest_separator(&s, cairn__buf_slice(&l));
    } else {
        cairn__table_short_successor(&s);
    }
    assert_true(cairn__slice_equal(cairn__buf_slice(&s), cairn__buf_slice(&w)));
    cairn__buf_fini(&s);
    cairn__buf_fini(&l);
    cairn__buf_fini(&w);
}

/* LevelDB's dbformat_test expectations. */
static void test_key_shortening(void **state)
{
    (void)state;
    const uint64_t max = CAIRN__MAX_SEQ;
    sep_case("foo", 100, "foo", 99, "foo", 100);
    sep_case("foo", 100, "foo", 101, "foo", 100);
    sep_case("foo", 100, "bar", 99, "foo", 100);
    sep_case("foo", 100, "hello", 200, "g", max);
    sep_case("foo", 100, "foobar", 200, "foo", 100);
    sep_case("foobar", 100, "foo", 200, "foobar", 100);
    sep_case("abc1", 5, "abc3", 5, "abc1", 5); /* not shorter */
    sep_case("foo", 100, NULL, 0, "g", max);
    sep_case("\xff\xff", 100, NULL, 0, "\xff\xff", 100);
    sep_case("k", 1, NULL, 0, "k", 1); /* "l" is not shorter */
}

static void expect_open_error(const char *bytes, size_t len, int code,
                              const char *msg)
{
    memfile f;
    mf_init(&f);
    f.rd = bytes;
    f.rd_len = len;
    cairn__table_options o;
    cairn__table_options_default(&o);
    cairn__table *t = NULL;
    assert_int_equal(cairn__table_open(&o, &f.base, len, "bad.ldb", &t), code);
    assert_null(t);
    assert_non_null(strstr(cairn__errmsg_get(), msg));
}

static void test_open_errors(void **state)
{
    (void)state;
    char junk[100] = {0};
    expect_open_error(junk, 47, CAIRN_CORRUPTION,
                      "file is too short to be an sstable");
    expect_open_error(junk, 100, CAIRN_CORRUPTION,
                      "not an sstable (bad magic number)");

    /* A data block whose type byte says 2 (Zstd, post-1.23), CRC fixed up. */
    kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    assert_int_equal(cairn__ikey_append(&e.k, cairn__slice_str("k"), 1, 1), 0);
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.compression = CAIRN__NO_COMPRESSION;
    memfile f;
    build(&o, &f, &e, 1);
    size_t n = 20; /* data block: 3 + 9 + 0 + 8 */
    f.data.data[n] = 2;
    cairn__encode_fixed32(f.data.data + n + 1,
                          cairn__block_crc(f.data.data, n, 2));
    cairn__table *t;
    assert_int_equal(cairn__table_open(&o, &f.base, f.data.len, "t.ldb", &t),
                     0);
    cairn__table_read_options ro = {1, 1};
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    assert_int_equal(
        cairn__table_get(t, &ro, cairn__buf_slice(&e.k), save_entry, &g),
        CAIRN_CORRUPTION);
    assert_non_null(strstr(cairn__errmsg_get(), "bad block type"));
    assert_non_null(strstr(cairn__errmsg_get(), "offset 0"));
    assert_int_equal(g.calls, 0);
    assert_int_equal(
        cairn__table_get(t, &ro, cairn__slice_str("short"), save_entry, &g),
        CAIRN_INVALID);
    cairn__table_close(t);

    /* Builder misuse. */
    cairn__table_builder *tb;
    assert_int_equal(cairn__table_builder_create(&o, &f.base, &tb), 0);
    assert_int_equal(cairn__table_builder_add(tb, cairn__buf_slice(&e.k),
                                              cairn__slice_str("")),
                     0);
    assert_int_equal(cairn__table_builder_add(tb, cairn__buf_slice(&e.k),
                                              cairn__slice_str("")),
                     CAIRN_INVALID); /* not strictly increasing */
    assert_int_equal(cairn__table_builder_add(tb, cairn__slice_str("z"),
                                              cairn__slice_str("")),
                     CAIRN_INVALID); /* sticky */
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

/* The type byte of the only data block of a table holding one entry with
 * value v: Snappy is kept only when it saves at least 1/8. */
static int single_block_type(const char *v, size_t vlen)
{
    kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    assert_int_equal(cairn__ikey_append(&e.k, cairn__slice_str("key"), 7, 1),
                     0);
    assert_int_equal(cairn__buf_append(&e.v, v, vlen), 0);
    cairn__table_options o;
    cairn__table_options_default(&o);
    memfile f;
    build(&o, &f, &e, 1);
    cairn__footer ft;
    assert_int_equal(cairn__footer_decode(f.data.data + f.data.len - 48,
                                          f.data.len, "c", &ft),
                     0);
    /* The data block ends where the metaindex block starts, minus its
     * trailer. */
    int type = (unsigned char)f.data.data[ft.metaindex.offset - 5];
    cairn__table *t;
    assert_int_equal(cairn__table_open(&o, &f.base, f.data.len, "c.ldb", &t),
                     0);
    tu_rng r;
    tu_rng_init(&r, 2);
    check_table(t, &e, 1, &r);
    cairn__table_close(t);
    cairn__buf_fini(&f.data);
    cairn__buf_fini(&e.k);
    cairn__buf_fini(&e.v);
    return type;
}

static void test_compression_choice(void **state)
{
    (void)state;
    char v[2000];
    tu_rng r;
    tu_rng_init(&r, 3);
    memset(v, 'a', sizeof v);
    assert_int_equal(single_block_type(v, sizeof v), CAIRN__SNAPPY_COMPRESSION);
    tu_rng_bytes(&r, v, sizeof v);
    assert_int_equal(single_block_type(v, sizeof v), CAIRN__NO_COMPRESSION);
    /* About 8% compressible: Snappy shrinks it, but not by 1/8. */
    memset(v + 1840, 0, 160);
    assert_int_equal(single_block_type(v, sizeof v), CAIRN__NO_COMPRESSION);
    /* About 20% compressible: kept compressed. */
    memset(v + 1600, 0, 400);
    assert_int_equal(single_block_type(v, sizeof v), CAIRN__SNAPPY_COMPRESSION);
}

/* LevelDB's ApproximateOffsetOf test, with internal keys. */
static void test_approximate_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *k;
        size_t vlen;
    } in[] = {{"k01", 5},      {"k02", 6}, {"k03", 10000}, {"k04", 200000},
              {"k05", 300000}, {"k06", 6}, {"k07", 100000}};
    kv m[7];
    for (int i = 0; i < 7; i++) {
        cairn__buf_init(&m[i].k);
        cairn__buf_init(&m[i].v);
        assert_int_equal(
            cairn__ikey_append(&m[i].k, cairn__slice_str(in[i].k), 1, 1), 0);
        assert_int_equal(cairn__buf_resize(&m[i].v, in[i].vlen), 0);
        memset(m[i].v.data, 'x' + i, in[i].vlen);
    }
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.block_size = 1024;
    o.compression = CAIRN__NO_COMPRESSION;
    memfile f;
    build(&o, &f, m, 7);
    cairn__table *t;
    assert_int_equal(cairn__table_open(&o, &f.base, f.data.len, "ap.ldb", &t),
                     0);
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
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        cairn__buf k = CAIRN__BUF_INIT;
        assert_int_equal(cairn__ikey_append(&k, cairn__slice_str(want[i].k),
                                            CAIRN__MAX_SEQ, 1),
                         0);
        uint64_t off =
            cairn__table_approximate_offset_of(t, cairn__buf_slice(&k));
        assert_in_range(off, want[i].lo, want[i].hi);
        cairn__buf_fini(&k);
    }
    cairn__table_close(t);
    cairn__buf_fini(&f.data);
    for (int i = 0; i < 7; i++) {
        cairn__buf_fini(&m[i].k);
        cairn__buf_fini(&m[i].v);
    }
}

/* Reads the damaged table; with exact set, every answer must be the model's
 * or CAIRN_CORRUPTION (a partial scan must be an exact prefix/suffix). */
static void probe(const char *bytes, size_t len, uint64_t claimed, const kv *m,
                  size_t n, int exact, cairn__cache *cache)
{
    memfile f;
    mf_init(&f);
    f.rd = bytes;
    f.rd_len = len;
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.bloom_bits_per_key = 10;
    o.paranoid_checks = exact;
    o.block_cache = cache;
    cairn__table_read_options ro = {exact, 1};
    cairn__table *t;
    int rc = cairn__table_open(&o, &f.base, claimed, "dmg.ldb", &t);
    if (rc != 0) {
        assert_int_equal(rc, CAIRN_CORRUPTION);
        return;
    }
    got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    for (size_t i = 0; i < n; i++) {
        g.calls = 0;
        rc =
            cairn__table_get(t, &ro, cairn__buf_slice(&m[i].k), save_entry, &g);
        if (rc != 0) {
            assert_int_equal(rc, CAIRN_CORRUPTION);
        } else if (exact) {
            assert_int_equal(g.calls, 1);
            assert_true(slice_is(cairn__buf_slice(&g.k), &m[i].k));
            assert_true(slice_is(cairn__buf_slice(&g.v), &m[i].v));
        }
    }
    cairn__iter *it;
    assert_int_equal(cairn__table_iter(t, &ro, &it), 0);
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it), i++) {
        assert_true(i < 100000);
        if (exact) {
            assert_true(i < n);
            assert_true(slice_is(cairn__iter_key(it), &m[i].k));
            assert_true(slice_is(cairn__iter_value(it), &m[i].v));
        }
    }
    rc = cairn__iter_status(it);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    if (exact && rc == 0)
        assert_int_equal(i, n);
    i = n;
    for (cairn__iter_seek_last(it); cairn__iter_valid(it);
         cairn__iter_prev(it)) {
        if (exact) {
            assert_true(i > 0);
            assert_true(slice_is(cairn__iter_key(it), &m[--i].k));
        }
    }
    rc = cairn__iter_status(it);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    if (exact && rc == 0)
        assert_int_equal(i, 0);
    cairn__iter_seek(it, cairn__buf_slice(&m[n / 2].k));
    if (exact && cairn__iter_valid(it))
        assert_true(slice_is(cairn__iter_key(it), &m[n / 2].k));
    cairn__iter_destroy(it);
    (void)cairn__table_approximate_offset_of(t, cairn__buf_slice(&m[0].k));
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
    assert_int_equal(cairn__cache_create(8192, &cache), 0);
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
        probe(f.data.data, len, len, m, n, 1, cache); /* undamaged */
        for (size_t pos = 0; pos < len; pos++) {
            for (int flip = 0; flip < 2; flip++) {
                memcpy(copy, f.data.data, len);
                copy[pos] ^= (char)(flip ? 0x80 : 0x01);
                probe(copy, len, len, m, n, 1, cache);
                probe(copy, len, len, m, n, 0, NULL);
            }
            probe(f.data.data, pos, pos, m, n, 1, NULL);
            probe(f.data.data, pos, len, m, n, 1, cache); /* short reads */
            probe(f.data.data, pos, len, m, n, 0, NULL);
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
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_compression_choice),
        cmocka_unit_test(test_approximate_offsets),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
