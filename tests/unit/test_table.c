/*
 * test_table.c: table builder and reader (src/table/table*.c), against a
 * sorted array of entries as the model: round trips under every option,
 * a big table through a cache and read-ahead, exact bytes, index-key
 * shortening, the compression choice and approximate offsets. Errors and
 * damaged tables are test_table_damage.c's.
 *
 * Tables live in the tiny in-memory cairn__file of
 * tests/support/table_util.h, which lets the tests count reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "table_util.h"
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
            tb_kv *m = tb_model_make(&r, &n, shape, 300);
            for (int v = 0; v < 3; v++) {
                cairn__table_options o;
                cairn__table_options_default(&o);
                o.restart_interval = intervals[v];
                o.block_size = v == 0 ? 256 : 4096;
                o.compression = (int)tu_rng_uniform(&r, 2);
                o.bloom_bits_per_key = v == 1 ? 0 : 10;
                o.block_cache = v == 2 ? cache : NULL;
                tb_memfile f;
                tb_build(&o, &f, m, n);
                cairn__table *t;
                OK(cairn__table_open(&o, &f.base, f.data.len, "rt.ldb", &t));
                assert_int_equal(cairn__table_has_filter(t),
                                 o.bloom_bits_per_key > 0);
                tb_check_table(t, m, n, &r);
                cairn__table_close(t);
                cairn__buf_fini(&f.data);
            }
            tb_model_free(m, n);
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
    tb_kv *m = tb_model_make(&r, &n, 0, 4);
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.bloom_bits_per_key = 10;
    tb_memfile f;
    tb_build(&o, &f, m, n);
    OK(cairn__cache_create(1 << 20, &o.block_cache));
    cairn__table *t;
    OK(cairn__table_open(&o, &f.base, f.data.len, "big.ldb", &t));
    tb_check_table(t, m, n, &r);
    /* Absent user keys: the filter must spare nearly all data reads. */
    cairn__table_read_options ro = {0, 0, 0};
    tb_got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    cairn__buf k = CAIRN__BUF_INIT;
    int absent = 0;
    f.preads = 0;
    for (int i = 0; i < 1000; i++) {
        char u[16]; /* within the table's key range, as model_make's */
        snprintf(u, sizeof u, "key%08d", (int)tu_rng_uniform(&r, 1u << 30));
        tb_set_ikey(&k, STR(u), CAIRN__MAX_SEQ, 1);
        size_t lb = tb_lower_bound(m, n, BS(&k));
        if (lb < n &&
            cairn__slice_equal(cairn__ikey_user(BS(&m[lb].k)), STR(u)))
            continue;
        absent++;
        OK(cairn__table_get(t, &ro, BS(&k), tb_save_entry, &g));
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
        assert_true(i < n && tb_slice_is(cairn__iter_key(it), &m[i].k) &&
                    tb_slice_is(cairn__iter_value(it), &m[i].v));
    OK(cairn__iter_status(it));
    assert_int_equal(i, n);
    assert_true((size_t)f.preads <= f.data.len / (64 * 1024) + 2);
    /* Backwards it still answers right (each step moves the window). */
    for (cairn__iter_seek_last(it); cairn__iter_valid(it); cairn__iter_prev(it))
        assert_true(i > 0 && tb_slice_is(cairn__iter_key(it), &m[--i].k));
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
    tb_model_free(m, n);
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
    tb_kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    tb_set_ikey(&e.k, STR("k"), 1, 1);
    OK(cairn__buf_append(&e.v, "v", 1));
    tb_memfile f;
    assert_int_equal(tb_build_checked(&f, &e, 1, CAIRN__NO_COMPRESSION), 0);
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
        tb_set_ikey(&s, STR(c[i].a), c[i].sa, 1);
        tb_set_ikey(&w, STR(c[i].want), c[i].swant, 1);
        tb_set_ikey(&l, STR(c[i].b ? c[i].b : ""), c[i].sb, 1);
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
        tb_kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
        tb_set_ikey(&e.k, STR("key"), 7, 1);
        OK(cairn__buf_resize(&e.v, 2000));
        memset(e.v.data, 'a', 2000);
        if (c > 0)
            tu_rng_bytes(&r, e.v.data, 2000 - zeros[c]);
        memset(e.v.data + 2000 - zeros[c], 0, zeros[c]);
        tb_memfile f;
        assert_int_equal(tb_build_checked(&f, &e, 1, CAIRN__SNAPPY_COMPRESSION),
                         want[c]);
        cairn__buf_fini(&f.data);
        cairn__buf_fini(&e.k);
        cairn__buf_fini(&e.v);
    }
}

typedef struct sample_keys {
    cairn__buf keys[8];
    size_t n;
} sample_keys;

static void collect_sample(void *arg, cairn__slice ikey)
{
    sample_keys *s = arg;
    assert_true(s->n < 8);
    cairn__buf_init(&s->keys[s->n]);
    OK(cairn__buf_append(&s->keys[s->n], ikey.data, ikey.size));
    s->n++;
}

/* LevelDB's ApproximateOffsetOf test, with internal keys. */
static void test_approximate_offsets(void **state)
{
    (void)state;
    static const size_t vlens[] = {5, 6, 10000, 200000, 300000, 6, 100000};
    tb_kv m[7];
    for (int i = 0; i < 7; i++) {
        char u[4] = {'k', '0', (char)('1' + i), 0};
        cairn__buf_init(&m[i].k);
        cairn__buf_init(&m[i].v);
        tb_set_ikey(&m[i].k, STR(u), 1, 1);
        OK(cairn__buf_resize(&m[i].v, vlens[i]));
        memset(m[i].v.data, 'x' + i, vlens[i]);
    }
    tb_memfile f;
    tb_build_checked(&f, m, 7, CAIRN__NO_COMPRESSION);
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
        tb_set_ikey(&k, STR(want[i].k), CAIRN__MAX_SEQ, 1);
        assert_in_range(cairn__table_approximate_offset_of(t, BS(&k)),
                        want[i].lo, want[i].hi);
    }
    cairn__buf_fini(&k);

    /* Index samples (subcompaction split points): evenly spaced over the
     * four index entries, in order, ending at the last. */
    static const struct {
        size_t max, want;
    } samples[] = {{0, 0}, {1, 1}, {2, 2}, {3, 2}, {4, 4}, {10, 4}};
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        sample_keys got = {0};
        cairn__table_index_sample(t, samples[i].max, collect_sample, &got);
        assert_int_equal(got.n, samples[i].want);
        for (size_t j = 1; j < got.n; j++)
            assert_true(cairn__ikey_compare(BS(&got.keys[j - 1]),
                                            BS(&got.keys[j])) < 0);
        if (got.n > 0) {
            /* The last pick is the last index entry: at or after k07 (a
             * short successor of it). */
            assert_true(
                cairn__slice_compare(cairn__ikey_user(BS(&got.keys[got.n - 1])),
                                     STR("k07")) >= 0);
        }
        for (size_t j = 0; j < got.n; j++)
            cairn__buf_fini(&got.keys[j]);
    }
    cairn__table_close(t);
    cairn__buf_fini(&f.data);
    for (int i = 0; i < 7; i++) {
        cairn__buf_fini(&m[i].k);
        cairn__buf_fini(&m[i].v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_table_bytes),
        cmocka_unit_test(test_key_shortening),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_compression_choice),
        cmocka_unit_test(test_approximate_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
