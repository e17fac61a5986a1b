/*
 * test_block.c: block builder and block iterator (src/table/block*.c)
 * against a sorted array, with LevelDB's restart intervals 1, 16 and 1024
 * and both the bytewise and a reversed-bytes comparator (as LevelDB's
 * table_test harness does), plus the exact bytes of an empty block and
 * the handling of damaged blocks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "table/block.h"
#include "table/block_builder.h"
#include "util/coding.h"

#include <stdlib.h>
#include <string.h>

/* Orders keys by their bytes read back to front. */
static int reverse_cmp(cairn__slice a, cairn__slice b)
{
    size_t n = a.size < b.size ? a.size : b.size;
    for (size_t i = 1; i <= n; i++) {
        unsigned char x = (unsigned char)a.data[a.size - i];
        unsigned char y = (unsigned char)b.data[b.size - i];
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a.size < b.size ? -1 : a.size > b.size;
}

typedef struct ent {
    char k[24];
    size_t klen;
    char v[40];
    size_t vlen;
} ent;

static cairn__cmp_fn sort_cmp;

static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    return sort_cmp(cairn__slice_make(x->k, x->klen),
                    cairn__slice_make(y->k, y->klen));
}

static int cleanups;

static void count_cleanup(void *a, void *b)
{
    assert_ptr_equal(a, &cleanups);
    assert_null(b);
    cleanups++;
}

/* Copies a finished block into a malloc'd buffer and parses it. */
static cairn__block *parse(cairn__slice contents)
{
    char *copy = malloc(contents.size ? contents.size : 1);
    assert_non_null(copy);
    memcpy(copy, contents.data, contents.size);
    cairn__block *b;
    assert_int_equal(cairn__block_create(copy, contents.size, 77, "t", &b), 0);
    return b;
}

static cairn__iter *open_iter(cairn__block *b, cairn__cmp_fn cmp)
{
    cairn__iter *it;
    cairn__cleanup c = {count_cleanup, &cleanups, NULL};
    assert_int_equal(cairn__block_iter_create(b, cmp, 0, "t", c, &it), 0);
    return it;
}

static int is(cairn__slice s, const char *p, size_t n)
{
    return cairn__slice_equal(s, cairn__slice_make(p, n));
}

static size_t lower_bound(const ent *e, size_t n, cairn__slice t,
                          cairn__cmp_fn cmp)
{
    size_t i = 0;
    while (i < n && cmp(cairn__slice_make(e[i].k, e[i].klen), t) < 0)
        i++;
    return i;
}

static void round_trip(tu_rng *r, size_t n, int interval, cairn__cmp_fn cmp)
{
    ent *e = calloc(n ? n : 1, sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < n; i++) {
        /* Few distinct first bytes, so keys share long prefixes. */
        e[i].klen = tu_rng_uniform(r, sizeof e[i].k);
        for (size_t j = 0; j < e[i].klen; j++)
            e[i].k[j] = (char)("ab\0\xff"[tu_rng_uniform(r, 4)]);
        e[i].vlen = tu_rng_uniform(r, sizeof e[i].v);
        tu_rng_bytes(r, e[i].v, e[i].vlen);
    }
    sort_cmp = cmp;
    qsort(e, n, sizeof *e, ent_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || ent_cmp(&e[w - 1], &e[i]) != 0)
            e[w++] = e[i];
    n = w;

    cairn__block_builder bb;
    assert_int_equal(cairn__block_builder_init(&bb, interval), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            cairn__block_builder_add(&bb, cairn__slice_make(e[i].k, e[i].klen),
                                     cairn__slice_make(e[i].v, e[i].vlen)),
            0);
    size_t estimate = cairn__block_builder_size_estimate(&bb);
    cairn__slice contents;
    assert_int_equal(cairn__block_builder_finish(&bb, &contents), 0);
    assert_int_equal(contents.size, estimate);
    cairn__block *b = parse(contents);
    cairn__block_builder_fini(&bb);

    int before = cleanups;
    cairn__iter *it = open_iter(b, cmp);
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it), i++) {
        assert_true(is(cairn__iter_key(it), e[i].k, e[i].klen));
        assert_true(is(cairn__iter_value(it), e[i].v, e[i].vlen));
    }
    assert_int_equal(i, n);
    for (cairn__iter_seek_last(it); cairn__iter_valid(it);
         cairn__iter_prev(it)) {
        assert_true(i > 0);
        i--;
        assert_true(is(cairn__iter_key(it), e[i].k, e[i].klen));
        assert_true(is(cairn__iter_value(it), e[i].v, e[i].vlen));
    }
    assert_int_equal(i, 0);
    for (int s = 0; s < 100; s++) {
        char t[24];
        size_t tlen;
        if (n > 0 && tu_rng_uniform(r, 2)) {
            const ent *x = &e[tu_rng_uniform(r, n)];
            tlen = x->klen;
            memcpy(t, x->k, tlen);
        } else {
            tlen = tu_rng_uniform(r, 5);
            for (size_t j = 0; j < tlen; j++)
                t[j] = (char)("ab\0\xff"[tu_rng_uniform(r, 4)]);
        }
        cairn__slice ts = cairn__slice_make(t, tlen);
        size_t pos = lower_bound(e, n, ts, cmp);
        cairn__iter_seek(it, ts);
        /* Wander from the seek point, switching direction at random. */
        for (int step = 0; step < 6; step++) {
            assert_int_equal(cairn__iter_valid(it), pos < n);
            if (pos >= n)
                break;
            assert_true(is(cairn__iter_key(it), e[pos].k, e[pos].klen));
            if (tu_rng_uniform(r, 2)) {
                cairn__iter_next(it);
                pos++;
            } else {
                cairn__iter_prev(it);
                pos = pos == 0 ? n : pos - 1;
            }
        }
    }
    assert_int_equal(cairn__iter_status(it), 0);
    assert_int_equal(cleanups, before);
    cairn__iter_destroy(it);
    assert_int_equal(cleanups, before + 1);
    cairn__block_destroy(b);
    free(e);
}

static void test_round_trips(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("block_round_trips"));
    static const int intervals[] = {1, 16, 1024};
    static const size_t sizes[] = {0, 1, 2, 17, 200, 3000};
    for (int c = 0; c < 2; c++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (int i = 0; i < 3; i++)
                round_trip(&r, sizes[s], intervals[i],
                           c ? reverse_cmp : cairn__slice_compare);
}

static void test_empty_block_bytes(void **state)
{
    (void)state;
    cairn__block_builder bb;
    assert_int_equal(cairn__block_builder_init(&bb, 16), 0);
    for (int round = 0; round < 2; round++) {
        assert_true(cairn__block_builder_empty(&bb));
        cairn__slice c;
        assert_int_equal(cairn__block_builder_finish(&bb, &c), 0);
        assert_int_equal(c.size, 8);
        assert_memory_equal(c.data, "\0\0\0\0\1\0\0\0", 8);
        cairn__block *b = parse(c);
        cairn__iter *it = open_iter(b, cairn__slice_compare);
        cairn__iter_seek_first(it);
        assert_false(cairn__iter_valid(it));
        cairn__iter_seek(it, cairn__slice_str("x"));
        assert_false(cairn__iter_valid(it));
        assert_int_equal(cairn__iter_status(it), 0);
        cairn__iter_destroy(it);
        cairn__block_destroy(b);
        /* Reset makes an empty block again after a used one. */
        cairn__block_builder_reset(&bb);
        assert_int_equal(cairn__block_builder_add(&bb, cairn__slice_str("a"),
                                                  cairn__slice_str("1")),
                         0);
        cairn__block_builder_reset(&bb);
    }
    cairn__block_builder_fini(&bb);
}

/* Prefix compression and restarts, checked on exact bytes. */
static void test_entry_bytes(void **state)
{
    (void)state;
    cairn__block_builder bb;
    assert_int_equal(cairn__block_builder_init(&bb, 2), 0);
    assert_int_equal(cairn__block_builder_add(&bb, cairn__slice_str("abc"),
                                              cairn__slice_str("1")),
                     0);
    assert_int_equal(cairn__block_builder_add(&bb, cairn__slice_str("abd"),
                                              cairn__slice_str("")),
                     0);
    assert_int_equal(cairn__block_builder_add(&bb, cairn__slice_str("abe"),
                                              cairn__slice_str("2")),
                     0);
    cairn__slice c;
    assert_int_equal(cairn__block_builder_finish(&bb, &c), 0);
    static const char want[] = "\0\3\1abc1" /* restart: whole key */
                               "\2\1\0d"    /* shares "ab" */
                               "\0\3\1abe2" /* restart after 2 entries */
                               "\0\0\0\0\x0b\0\0\0\2\0\0\0";
    assert_int_equal(c.size, sizeof want - 1);
    assert_memory_equal(c.data, want, sizeof want - 1);
    cairn__block_builder_fini(&bb);
}

/* Parses hand-made bytes; returns the iterator's status after a full scan
 * both ways and a seek (or the create error). */
static int scan_raw(const char *bytes, size_t n, size_t *count)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, n);
    cairn__block *b;
    int rc = cairn__block_create(copy, n, 4096, "raw.ldb", &b);
    if (rc != 0)
        return rc;
    cairn__iter *it;
    cairn__cleanup none = {NULL, NULL, NULL};
    assert_int_equal(cairn__block_iter_create(b, cairn__slice_compare, 0,
                                              "raw.ldb", none, &it),
                     0);
    *count = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it))
        ++*count;
    rc = cairn__iter_status(it);
    for (cairn__iter_seek_last(it); cairn__iter_valid(it);
         cairn__iter_prev(it)) {
    }
    cairn__iter_seek(it, cairn__slice_str("b"));
    if (rc == 0)
        rc = cairn__iter_status(it);
    cairn__iter_destroy(it);
    cairn__block_destroy(b);
    return rc;
}

static void test_damaged_blocks(void **state)
{
    (void)state;
    size_t count = 99;
    /* LevelDB's ZeroRestartPointsInBlock: read as empty, no error. */
    assert_int_equal(scan_raw("\0\0\0\0", 4, &count), 0);
    assert_int_equal(count, 0);
    /* Too short, or more restarts than fit. */
    assert_int_equal(scan_raw("\1\0\0", 3, &count), CAIRN_CORRUPTION);
    assert_int_equal(scan_raw("\0\0\0\0\2\0\0\0", 8, &count), CAIRN_CORRUPTION);
    assert_non_null(strstr(cairn__errmsg_get(), "raw.ldb"));
    assert_non_null(strstr(cairn__errmsg_get(), "offset 4096"));
    /* First restart not at 0. */
    assert_int_equal(scan_raw("\0\1\0a\1\0\0\0\1\0\0\0", 12, &count),
                     CAIRN_CORRUPTION);
    /* A key length running past the entries. */
    assert_int_equal(scan_raw("\0\5\0a\0\0\0\0\1\0\0\0", 12, &count),
                     CAIRN_CORRUPTION);
    /* shared > 0 at the start. */
    assert_int_equal(scan_raw("\1\1\0a\0\0\0\0\1\0\0\0", 12, &count),
                     CAIRN_CORRUPTION);
    /* An over-long varint. */
    assert_int_equal(
        scan_raw("\x80\x80\x80\x80\x80\x80\0\0\0\0\1\0\0\0", 14, &count),
        CAIRN_CORRUPTION);
    /* A restart offset past the entries. */
    assert_int_equal(
        scan_raw("\0\1\0a\0\1\0b\0\0\0\0\x09\0\0\0\2\0\0\0", 20, &count),
        CAIRN_CORRUPTION);
    /* Good: two entries, two restarts. */
    assert_int_equal(
        scan_raw("\0\1\0a\0\1\0b\0\0\0\0\4\0\0\0\2\0\0\0", 20, &count), 0);
    assert_int_equal(count, 2);
    /* Every truncation and every single-byte change of a real block must
     * give entries or corruption, and never read outside (ASan). */
    cairn__block_builder bb;
    assert_int_equal(cairn__block_builder_init(&bb, 3), 0);
    const char *keys[] = {"apple",   "apricot", "banana", "band",
                          "bandana", "cherry",  "date"};
    for (int i = 0; i < 7; i++)
        assert_int_equal(
            cairn__block_builder_add(&bb, cairn__slice_str(keys[i]),
                                     cairn__slice_str(keys[6 - i])),
            0);
    cairn__slice c;
    assert_int_equal(cairn__block_builder_finish(&bb, &c), 0);
    char buf[256];
    assert_true(c.size <= sizeof buf);
    for (size_t n = 0; n < c.size; n++) {
        int rc = scan_raw(c.data, n, &count);
        assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, c.data, c.size);
            buf[n] ^= (char)(1 << bit);
            rc = scan_raw(buf, c.size, &count);
            assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
        }
    }
    cairn__block_builder_fini(&bb);
}

/* Keys shorter than min_key are corruption (internal keys need 8). */
static void test_min_key(void **state)
{
    (void)state;
    cairn__block_builder bb;
    assert_int_equal(cairn__block_builder_init(&bb, 16), 0);
    assert_int_equal(cairn__block_builder_add(&bb, cairn__slice_str("12345678"),
                                              cairn__slice_str("")),
                     0);
    assert_int_equal(cairn__block_builder_add(&bb, cairn__slice_str("1234567"),
                                              cairn__slice_str("")),
                     0);
    cairn__slice c;
    assert_int_equal(cairn__block_builder_finish(&bb, &c), 0);
    cairn__block *b = parse(c);
    cairn__iter *it;
    cairn__cleanup none = {NULL, NULL, NULL};
    assert_int_equal(
        cairn__block_iter_create(b, cairn__slice_compare, 8, "t", none, &it),
        0);
    cairn__iter_seek_first(it);
    assert_true(cairn__iter_valid(it));
    cairn__iter_next(it);
    assert_false(cairn__iter_valid(it));
    assert_int_equal(cairn__iter_status(it), CAIRN_CORRUPTION);
    cairn__iter_seek_first(it); /* errors are sticky */
    assert_false(cairn__iter_valid(it));
    cairn__iter_destroy(it);
    cairn__block_destroy(b);
    cairn__block_builder_fini(&bb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_empty_block_bytes),
        cmocka_unit_test(test_entry_bytes),
        cmocka_unit_test(test_damaged_blocks),
        cmocka_unit_test(test_min_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
