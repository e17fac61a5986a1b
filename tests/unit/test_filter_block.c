/*
 * test_filter_block.c: the filter meta block (src/table/filter_block.c),
 * with LevelDB's filter_block_test cases. As there, a transparent test
 * policy stands in for the bloom filter: a filter is the list of fixed32
 * hashes of its keys, so the tests see exactly which keys went where.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "table/filter_block.h"
#include "table/bloom.h"
#include "util/coding.h"
#include "util/hash.h"

#include <string.h>

static int hash_create(const cairn__filter_policy *p, const cairn__slice *keys,
                       size_t n, cairn__buf *dst)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        CAIRN_TRY(cairn__put_fixed32(
            dst, cairn__hash(keys[i].data, keys[i].size, 1)));
    return 0;
}

static int hash_may_match(const cairn__filter_policy *p, cairn__slice key,
                          cairn__slice filter)
{
    (void)p;
    uint32_t h = cairn__hash(key.data, key.size, 1);
    for (size_t i = 0; i + 4 <= filter.size; i += 4)
        if (cairn__decode_fixed32(filter.data + i) == h)
            return 1;
    return 0;
}

static const cairn__filter_policy test_policy = {"TestHashFilter", 0,
                                                 hash_create, hash_may_match};

static int match(const cairn__filter_reader *r, uint64_t off, const char *k)
{
    return cairn__filter_reader_may_match(r, off, cairn__slice_str(k));
}

static void test_empty_builder(void **state)
{
    (void)state;
    cairn__filter_builder fb;
    cairn__filter_builder_init(&fb, &test_policy);
    cairn__slice out;
    assert_int_equal(cairn__filter_builder_finish(&fb, &out), 0);
    assert_int_equal(out.size, 5);
    assert_memory_equal(out.data, "\0\0\0\0\x0b", 5);
    cairn__filter_reader r;
    cairn__filter_reader_init(&r, &test_policy, out);
    assert_true(match(&r, 0, "foo"));
    assert_true(match(&r, 100000, "foo"));
    cairn__filter_builder_fini(&fb);
}

static void test_single_chunk(void **state)
{
    (void)state;
    cairn__filter_builder fb;
    cairn__filter_builder_init(&fb, &test_policy);
    assert_int_equal(cairn__filter_builder_start_block(&fb, 100), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("foo")), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("bar")), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("box")), 0);
    assert_int_equal(cairn__filter_builder_start_block(&fb, 200), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("box")), 0);
    assert_int_equal(cairn__filter_builder_start_block(&fb, 300), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("hello")), 0);
    cairn__slice out;
    assert_int_equal(cairn__filter_builder_finish(&fb, &out), 0);
    /* One filter of 5 hashes (duplicates kept), one offset, trailer. */
    assert_int_equal(out.size, 5 * 4 + 4 + 5);
    cairn__filter_reader r;
    cairn__filter_reader_init(&r, &test_policy, out);
    assert_true(match(&r, 100, "foo"));
    assert_true(match(&r, 100, "bar"));
    assert_true(match(&r, 100, "box"));
    assert_true(match(&r, 100, "hello"));
    assert_true(match(&r, 100, "foo"));
    assert_false(match(&r, 100, "missing"));
    assert_false(match(&r, 100, "other"));
    cairn__filter_builder_fini(&fb);
}

static void test_multi_chunk(void **state)
{
    (void)state;
    cairn__filter_builder fb;
    cairn__filter_builder_init(&fb, &test_policy);
    /* First filter. */
    assert_int_equal(cairn__filter_builder_start_block(&fb, 0), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("foo")), 0);
    assert_int_equal(cairn__filter_builder_start_block(&fb, 2000), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("bar")), 0);
    /* Second filter. */
    assert_int_equal(cairn__filter_builder_start_block(&fb, 3100), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("box")), 0);
    /* Third filter is empty. */
    /* Last filter. */
    assert_int_equal(cairn__filter_builder_start_block(&fb, 9000), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("box")), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("hello")), 0);
    cairn__slice out;
    assert_int_equal(cairn__filter_builder_finish(&fb, &out), 0);
    cairn__filter_reader r;
    cairn__filter_reader_init(&r, &test_policy, out);

    assert_true(match(&r, 0, "foo"));
    assert_true(match(&r, 2000, "bar"));
    assert_false(match(&r, 0, "box"));
    assert_false(match(&r, 0, "hello"));

    assert_true(match(&r, 3100, "box"));
    assert_false(match(&r, 3100, "foo"));
    assert_false(match(&r, 3100, "bar"));
    assert_false(match(&r, 3100, "hello"));

    assert_false(match(&r, 4100, "foo"));
    assert_false(match(&r, 4100, "bar"));
    assert_false(match(&r, 4100, "box"));
    assert_false(match(&r, 4100, "hello"));

    assert_true(match(&r, 9000, "box"));
    assert_true(match(&r, 9000, "hello"));
    assert_false(match(&r, 9000, "foo"));
    assert_false(match(&r, 9000, "bar"));
    /* Past the last filter: may match. */
    assert_true(match(&r, 20000, "foo"));
    cairn__filter_builder_fini(&fb);
}

/* Malformed blocks never fail and never read outside: they may match. */
static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
    } bad[] = {
        {"", 0},
        {"\0\0\0\x0b", 4},
        {"\x09\0\0\0\x0b", 5},       /* array offset past the end */
        {"\0\0\0\0\0\0\0\0\x40", 9}, /* base_lg 64 */
        /* filter 0 ends inside the offset array; filter 1 ends first */
        {"AAAA"
         "\0\0\0\0"
         "\x08\0\0\0"
         "\x04\0\0\0"
         "\x0b",
         17},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cairn__filter_reader r;
        cairn__filter_reader_init(&r, &test_policy,
                                  cairn__slice_make(bad[i].bytes, bad[i].n));
        assert_true(match(&r, 0, "foo"));
        assert_true(match(&r, 5000, "foo"));
    }
    /* Offsets out of order with an empty range: no match, as in LevelDB. */
    cairn__filter_reader r;
    cairn__filter_reader_init(&r, &test_policy,
                              cairn__slice_make("\0\0\0\0\0\0\0\0\x0b", 9));
    assert_false(match(&r, 0, "foo"));
}

/* The bloom policy plugs in under LevelDB's name. */
static void test_bloom_policy(void **state)
{
    (void)state;
    cairn__filter_policy p;
    cairn__filter_policy_bloom(&p, 10);
    assert_string_equal(p.name, "leveldb.BuiltinBloomFilter2");
    cairn__filter_builder fb;
    cairn__filter_builder_init(&fb, &p);
    assert_int_equal(cairn__filter_builder_start_block(&fb, 0), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("hello")), 0);
    assert_int_equal(
        cairn__filter_builder_add_key(&fb, cairn__slice_str("world")), 0);
    cairn__slice out;
    assert_int_equal(cairn__filter_builder_finish(&fb, &out), 0);
    static const char want[] = "\x11\x40\x00\x41\x44\x10\x40\x10\x06"
                               "\0\0\0\0"
                               "\x09\0\0\0"
                               "\x0b";
    assert_int_equal(out.size, sizeof want - 1);
    assert_memory_equal(out.data, want, sizeof want - 1);
    cairn__filter_builder_fini(&fb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_builder),
        cmocka_unit_test(test_single_chunk),
        cmocka_unit_test(test_multi_chunk),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bloom_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
