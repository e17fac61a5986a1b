/*
 * test_bloom.c: LevelDB's built-in bloom filter (src/table/bloom.c), with
 * LevelDB's bloom_test cases and the exact bytes of facts Appendix A.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "table/bloom.h"
#include "util/coding.h"

#include <stdlib.h>
#include <string.h>

static void build(int bits_per_key, const cairn__slice *keys, size_t n,
                  cairn__buf *out)
{
    cairn__buf_clear(out);
    assert_int_equal(cairn__bloom_create(bits_per_key, keys, n, out), 0);
}

static void test_empty_filter(void **state)
{
    (void)state;
    cairn__buf f = CAIRN__BUF_INIT;
    build(10, NULL, 0, &f);
    assert_int_equal(f.len, 9); /* 64 bits + k */
    assert_false(cairn__bloom_may_match(cairn__slice_str("hello"),
                                        cairn__buf_slice(&f)));
    assert_false(cairn__bloom_may_match(cairn__slice_str("world"),
                                        cairn__buf_slice(&f)));
    cairn__buf_fini(&f);
}

static void test_small_exact_bytes(void **state)
{
    (void)state;
    cairn__slice keys[2] = {cairn__slice_str("hello"),
                            cairn__slice_str("world")};
    cairn__buf f = CAIRN__BUF_INIT;
    /* The filter is appended: existing bytes stay in front. */
    assert_int_equal(cairn__buf_append(&f, "AB", 2), 0);
    assert_int_equal(cairn__bloom_create(10, keys, 2, &f), 0);
    static const unsigned char want[] = {0x11, 0x40, 0x00, 0x41, 0x44,
                                         0x10, 0x40, 0x10, 0x06};
    assert_int_equal(f.len, 2 + sizeof want);
    assert_memory_equal(f.data, "AB", 2);
    assert_memory_equal(f.data + 2, want, sizeof want);
    cairn__slice filter = cairn__slice_make(f.data + 2, sizeof want);
    assert_true(cairn__bloom_may_match(keys[0], filter));
    assert_true(cairn__bloom_may_match(keys[1], filter));
    assert_false(cairn__bloom_may_match(cairn__slice_str("x"), filter));
    assert_false(cairn__bloom_may_match(cairn__slice_str("foo"), filter));
    cairn__buf_fini(&f);
}

static void test_probe_count_and_edge_filters(void **state)
{
    (void)state;
    cairn__slice k = cairn__slice_str("key");
    cairn__buf f = CAIRN__BUF_INIT;
    static const struct {
        int bits;
        unsigned k;
    } cases[] = {{1, 1},   {2, 1},   {3, 2},   {10, 6},
                 {20, 13}, {44, 30}, {100, 30}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        build(cases[i].bits, &k, 1, &f);
        assert_int_equal((unsigned char)f.data[f.len - 1], cases[i].k);
        assert_true(cairn__bloom_may_match(k, cairn__buf_slice(&f)));
    }
    /* 1000 keys at 10 bits: 10000 bits = 1250 bytes + k. */
    cairn__slice *many = calloc(1000, sizeof *many);
    assert_non_null(many);
    for (int i = 0; i < 1000; i++)
        many[i] = k;
    build(10, many, 1000, &f);
    assert_int_equal(f.len, 1251);
    free(many);
    /* Shorter than 2 bytes never matches; k > 30 always does. */
    assert_false(cairn__bloom_may_match(k, cairn__slice_make("", 0)));
    assert_false(cairn__bloom_may_match(k, cairn__slice_make("\xff", 1)));
    assert_true(cairn__bloom_may_match(k, cairn__slice_make("\0\0\0\x1f", 4)));
    assert_false(cairn__bloom_may_match(k, cairn__slice_make("\0\0\0\x1e", 4)));
    cairn__buf_fini(&f);
}

static size_t next_length(size_t n)
{
    if (n < 10)
        return n + 1;
    if (n < 100)
        return n + 10;
    if (n < 1000)
        return n + 100;
    return n + 1000;
}

/* LevelDB's VaryingLengths: size bound, no false negatives, and a false-
 * positive rate of at most 2% (mediocre filters above 1.25% are rare). */
static void test_varying_lengths(void **state)
{
    (void)state;
    char(*raw)[4] = malloc(10000 * sizeof *raw);
    cairn__slice *keys = malloc(10000 * sizeof *keys);
    assert_non_null(raw);
    assert_non_null(keys);
    cairn__buf f = CAIRN__BUF_INIT;
    int mediocre = 0, good = 0;
    for (size_t n = 1; n <= 10000; n = next_length(n)) {
        for (size_t i = 0; i < n; i++) {
            cairn__encode_fixed32(raw[i], (uint32_t)i);
            keys[i] = cairn__slice_make(raw[i], 4);
        }
        build(10, keys, n, &f);
        assert_true(f.len <= n * 10 / 8 + 40);
        for (size_t i = 0; i < n; i++)
            assert_true(cairn__bloom_may_match(keys[i], cairn__buf_slice(&f)));
        int hits = 0;
        for (uint32_t i = 0; i < 10000; i++) {
            char probe[4];
            cairn__encode_fixed32(probe, i + 1000000000u);
            hits += cairn__bloom_may_match(cairn__slice_make(probe, 4),
                                           cairn__buf_slice(&f));
        }
        double rate = hits / 10000.0;
        assert_true(rate <= 0.02);
        if (rate > 0.0125)
            mediocre++;
        else
            good++;
    }
    assert_true(mediocre * 5 <= good);
    cairn__buf_fini(&f);
    free(raw);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_filter),
        cmocka_unit_test(test_small_exact_bytes),
        cmocka_unit_test(test_probe_count_and_edge_filters),
        cmocka_unit_test(test_varying_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
