/*
 * test_batch.c: write batches (src/db/batch.c).
 *
 * The first group mirrors LevelDB 1.23's write_batch_test (Empty, Multiple,
 * Corruption, Append, ApproximateSize), reading the memtable back the way
 * that test prints it, so sequence assignment is checked end to end. Then
 * the exact bytes of the shared facts' Appendix A and the engine's rep
 * helpers. Bad arguments, the randomised model check and the damage sweep
 * are test_batch_errors.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "batch_util.h"
#include "testutil.h"

#include "util/coding.h"

#include "db/batch.h"
#include "util/crc32c.h"
#include "mem/memtable.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inserts rep with its header sequence into a fresh memtable and prints the
 * memtable in key order, "Put(k, v)@seq" / "Delete(k)@seq", plus
 * "ParseError()" if the insert failed: LevelDB's PrintContents. */
static char *memtable_contents(cairn__slice rep)
{
    cairn__memtable *m = NULL;
    assert_int_equal(cairn__memtable_create(&m), 0);
    int rc = cairn__batch_rep_insert(rep, cairn__batch_rep_seq(rep), m);
    cairn__buf s = CAIRN__BUF_INIT;
    bt_sappends(&s, "");
    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    int n = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it), n++) {
        cairn__pikey pk = {{NULL, 0}, 0, 0};
        assert_true(cairn__ikey_parse(cairn__iter_key(it), &pk));
        cairn__slice k = pk.user_key, v = cairn__iter_value(it);
        if (pk.type == CAIRN__TYPE_VALUE)
            bt_rec_put(&s, k.data, k.size, v.data, v.size);
        else
            bt_rec_del(&s, k.data, k.size);
        char seq[32];
        snprintf(seq, sizeof seq, "@%llu", (unsigned long long)pk.seq);
        bt_sappends(&s, seq);
    }
    assert_int_equal(cairn__iter_status(it), 0);
    cairn__iter_destroy(it);
    if (rc != 0)
        bt_sappends(&s, "ParseError()");
    else
        assert_int_equal(n, cairn__batch_rep_count(rep));
    cairn__memtable_unref(m);
    return s.data;
}

static cairn__slice rep_of(const cairn_batch *b)
{
    size_t len;
    const void *p = cairn_batch_data(b, &len);
    return cairn__slice_make(p, len);
}

static void set_seq(cairn_batch *b, uint64_t seq)
{
    cairn__batch_rep_set_seq(&b->rep, seq);
}

static void expect_memtable(const cairn_batch *b, const char *want)
{
    char *got = memtable_contents(rep_of(b));
    assert_string_equal(got, want);
    free(got);
}

/* ---------------------------------------------------------------------- */
/* LevelDB's write_batch_test                                               */

static void test_empty(void **state)
{
    (void)state;
    cairn_batch *b = bt_new_batch();
    assert_int_equal(cairn_batch_count(b), 0);
    assert_int_equal(cairn_batch_approximate_size(b), 12);
    size_t len;
    const char *p = cairn_batch_data(b, &len);
    assert_int_equal(len, 12);
    assert_memory_equal(p, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
    bt_expect_batch(b, "");
    expect_memtable(b, "");
    assert_int_equal(bt_validate(p, len), 0);
    cairn_batch_destroy(b);
    cairn_batch_destroy(NULL);
}

static void test_multiple(void **state)
{
    (void)state;
    cairn_batch *b = bt_new_batch();
    bt_put(b, "foo", "bar");
    bt_del(b, "box");
    bt_put(b, "baz", "boo");
    set_seq(b, 100);
    assert_int_equal(cairn__batch_rep_seq(rep_of(b)), 100);
    assert_int_equal(cairn_batch_count(b), 3);
    bt_expect_batch(b, "Put(foo, bar)Delete(box)Put(baz, boo)");
    expect_memtable(b, "Put(baz, boo)@102Delete(box)@101Put(foo, bar)@100");
    cairn_batch_destroy(b);
}

static void expect_get(cairn__memtable *m, uint64_t snap, const char *want)
{
    cairn__buf v = CAIRN__BUF_INIT;
    int found = -1;
    assert_int_equal(
        cairn__memtable_get(m, cairn__slice_str("k"), snap, &v, &found), 0);
    assert_int_equal(found, want ? 1 : 0);
    if (want)
        assert_true(
            cairn__slice_equal(cairn__buf_slice(&v), cairn__slice_str(want)));
    cairn__buf_fini(&v);
}

static void test_insert_uses_given_sequence(void **state)
{
    (void)state;
    /* The engine passes the group's sequence explicitly; the header's own
     * sequence (here 5) is ignored, and a later duplicate key wins. */
    cairn_batch *b = bt_new_batch();
    bt_put(b, "k", "old");
    bt_put(b, "k", "new");
    set_seq(b, 5);
    cairn__memtable *m = NULL;
    assert_int_equal(cairn__memtable_create(&m), 0);
    assert_int_equal(cairn__batch_rep_insert(rep_of(b), 1000, m), 0);
    assert_int_equal(cairn__memtable_count(m), 2);
    expect_get(m, 1001, "new");
    expect_get(m, 1000, "old");
    expect_get(m, 999, NULL);
    /* Sequences past 2^56 - 1 are refused before anything is inserted. */
    bt_expect_rc(cairn__batch_rep_insert(rep_of(b), CAIRN__MAX_SEQ, m),
                 CAIRN_CORRUPTION, "56-bit");
    bt_expect_rc(cairn__batch_rep_insert(rep_of(b), CAIRN__MAX_SEQ + 1, m),
                 CAIRN_CORRUPTION, "56-bit");
    assert_int_equal(cairn__memtable_count(m), 2);
    /* A damaged rep holding more entries than it counts is stopped at the
     * limit too: the first entry goes in at 2^56 - 1, the second is refused. */
    cairn__batch_rep_set_count(&b->rep, 1);
    bt_expect_rc(cairn__batch_rep_insert(rep_of(b), CAIRN__MAX_SEQ, m),
                 CAIRN_CORRUPTION, "56-bit");
    assert_int_equal(cairn__memtable_count(m), 3);
    cairn__memtable_unref(m);
    cairn_batch_destroy(b);
}

static void test_corruption(void **state)
{
    (void)state;
    cairn_batch *b = bt_new_batch();
    bt_put(b, "foo", "bar");
    bt_del(b, "box");
    set_seq(b, 200);
    cairn__slice rep = rep_of(b);
    cairn__slice cut = cairn__slice_make(rep.data, rep.size - 1);
    /* The entry before the break has been handed over when the error is
     * reported. */
    char *got = memtable_contents(cut);
    assert_string_equal(got, "Put(foo, bar)@200ParseError()");
    free(got);
    bt_expect_rc(bt_validate(cut.data, cut.size), CAIRN_CORRUPTION,
                 "bad WriteBatch Delete");
    /* set_data refuses the truncated bytes and keeps the batch. */
    cairn_batch *c = bt_new_batch();
    bt_put(c, "x", "y");
    uint64_t s = bt_snap(c);
    bt_expect_rc(cairn_batch_set_data(c, cut.data, cut.size), CAIRN_CORRUPTION,
                 "cairn_batch_set_data");
    bt_expect_rc(CAIRN_CORRUPTION, CAIRN_CORRUPTION, "bad WriteBatch Delete");
    assert_true(bt_snap(c) == s);
    cairn_batch_destroy(c);
    cairn_batch_destroy(b);
}

static void test_corruption_messages(void **state)
{
    (void)state;
    char rep[64];
    memset(rep, 0, sizeof rep);
    bt_expect_rc(bt_validate(rep, 11), CAIRN_CORRUPTION,
                 "malformed WriteBatch (too small)");
    /* Header says one entry, none follows. */
    cairn__encode_fixed32(rep + 8, 1);
    bt_expect_rc(bt_validate(rep, 12), CAIRN_CORRUPTION,
                 "WriteBatch has wrong count");
    rep[12] = 2;
    bt_expect_rc(bt_validate(rep, 13), CAIRN_CORRUPTION,
                 "unknown WriteBatch tag");
    /* A put whose value length runs past the end. */
    memcpy(rep + 12, "\x01\x01k\x05v", 5);
    bt_expect_rc(bt_validate(rep, 17), CAIRN_CORRUPTION, "bad WriteBatch Put");
    /* A delete whose key length is an over-long varint. */
    memcpy(rep + 12, "\x00\xff\xff\xff\xff\xff\x01", 7);
    bt_expect_rc(bt_validate(rep, 19), CAIRN_CORRUPTION,
                 "bad WriteBatch Delete");
    /* The location of the check is recorded. */
    bt_expect_rc(bt_validate(rep, 19), CAIRN_CORRUPTION, "batch.c:");
    /* More entries than the header counts is also a wrong count. */
    memcpy(rep + 12, "\x00\x01k\x00\x01j", 6);
    bt_expect_rc(bt_validate(rep, 18), CAIRN_CORRUPTION,
                 "WriteBatch has wrong count");
    cairn__encode_fixed32(rep + 8, 2);
    assert_int_equal(bt_validate(rep, 18), 0);
}

static void test_append(void **state)
{
    (void)state;
    cairn_batch *b1 = bt_new_batch(), *b2 = bt_new_batch();
    set_seq(b1, 200);
    set_seq(b2, 300);
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "");
    assert_int_equal(cairn__batch_rep_seq(rep_of(b1)), 200);
    bt_put(b2, "a", "va");
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "Put(a, va)@200");
    assert_int_equal(cairn_batch_clear(b2), 0);
    bt_put(b2, "b", "vb");
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "Put(a, va)@200Put(b, vb)@201");
    bt_del(b2, "foo");
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "Put(a, va)@200Put(b, vb)@202Put(b, vb)@201"
                        "Delete(foo)@203");
    assert_int_equal(cairn_batch_count(b1), 4);
    /* The source is untouched by all this. */
    bt_expect_batch(b2, "Put(b, vb)Delete(foo)");
    assert_int_equal(cairn__batch_rep_seq(rep_of(b2)), 0);
    cairn_batch_destroy(b1);
    cairn_batch_destroy(b2);
}

static void test_self_append(void **state)
{
    (void)state;
    cairn_batch *b = bt_new_batch();
    /* Large enough that doubling must move the buffer. */
    char val[3000];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    bt_put(b, "a", "1");
    bt_del(b, "b");
    bt_put(b, "c", val);
    set_seq(b, 7);
    size_t before = cairn_batch_approximate_size(b);
    char *once = bt_batch_contents(b);
    assert_int_equal(cairn_batch_append(b, b), 0);
    assert_int_equal(cairn_batch_count(b), 6);
    assert_int_equal(cairn_batch_approximate_size(b), 2 * before - 12);
    assert_int_equal(cairn__batch_rep_seq(rep_of(b)), 7);
    char *twice = bt_batch_contents(b);
    size_t n = strlen(once);
    assert_int_equal(strlen(twice), 2 * n);
    assert_memory_equal(twice, once, n);
    assert_memory_equal(twice + n, once, n);
    free(once);
    free(twice);
    /* An empty batch appended to itself stays empty. */
    cairn_batch *e = bt_new_batch();
    assert_int_equal(cairn_batch_append(e, e), 0);
    assert_int_equal(cairn_batch_count(e), 0);
    assert_int_equal(cairn_batch_approximate_size(e), 12);
    cairn_batch_destroy(e);
    cairn_batch_destroy(b);
}

static void test_approximate_size(void **state)
{
    (void)state;
    cairn_batch *b = bt_new_batch();
    size_t empty = cairn_batch_approximate_size(b);
    bt_put(b, "foo", "bar");
    size_t one = cairn_batch_approximate_size(b);
    assert_true(empty < one);
    bt_put(b, "baz", "boo");
    size_t two = cairn_batch_approximate_size(b);
    assert_true(one < two);
    bt_del(b, "box");
    size_t post_delete = cairn_batch_approximate_size(b);
    assert_true(two < post_delete);
    /* The size is the encoding's length, header included. */
    assert_int_equal(post_delete, 12 + 2 * (1 + 4 + 4) + (1 + 4));
    assert_int_equal(cairn_batch_clear(b), 0);
    assert_int_equal(cairn_batch_approximate_size(b), 12);
    assert_int_equal(cairn_batch_count(b), 0);
    cairn_batch_destroy(b);
}

/* ---------------------------------------------------------------------- */
/* Exact bytes (facts Appendix A) and the engine's rep helpers              */

static void test_appendix_a_bytes(void **state)
{
    (void)state;
    static const char want[17] = "\x01\0\0\0\0\0\0\0\x01\0\0\0\x01\x01k\x01v";
    cairn_batch *b = bt_new_batch();
    bt_put(b, "k", "v");
    size_t len;
    const char *p = cairn_batch_data(b, &len);
    assert_int_equal(len, 17);
    /* A fresh batch's header carries sequence 0; the rest is the
     * appendix's bytes. */
    assert_memory_equal(p, "\0\0\0\0\0\0\0\0", 8);
    assert_memory_equal(p + 8, want + 8, 9);
    set_seq(b, 1);
    p = cairn_batch_data(b, &len);
    assert_memory_equal(p, want, 17);
    /* Those bytes load back through set_data into an equal batch. */
    cairn_batch *c = bt_new_batch();
    assert_int_equal(cairn_batch_set_data(c, want, sizeof want), 0);
    bt_expect_batch(c, "Put(k, v)");
    assert_int_equal(cairn__batch_rep_seq(rep_of(c)), 1);
    /* A delete is tag 0 and a key. */
    assert_int_equal(cairn_batch_clear(c), 0);
    bt_del(c, "k");
    p = cairn_batch_data(c, &len);
    assert_int_equal(len, 15);
    assert_memory_equal(p + 8, "\x01\0\0\0\x00\x01k", 7);
    cairn_batch_destroy(c);
    cairn_batch_destroy(b);
}

static void test_rep_helpers(void **state)
{
    (void)state;
    cairn__buf g = CAIRN__BUF_INIT;
    assert_int_equal(cairn__batch_rep_reset(&g, 42), 0);
    assert_int_equal(g.len, 12);
    assert_int_equal(cairn__batch_rep_seq(cairn__buf_slice(&g)), 42);
    assert_int_equal(cairn__batch_rep_count(cairn__buf_slice(&g)), 0);
    cairn_batch *b = bt_new_batch();
    bt_put(b, "a", "b");
    assert_int_equal(cairn__batch_rep_append(&g, rep_of(b)), 0);
    assert_int_equal(cairn__batch_rep_append(&g, rep_of(b)), 0);
    assert_int_equal(cairn__batch_rep_count(cairn__buf_slice(&g)), 2);
    assert_int_equal(cairn__batch_rep_seq(cairn__buf_slice(&g)), 42);
    assert_int_equal(bt_validate(g.data, g.len), 0);
    /* A source shorter than a header, or a destination without one. */
    bt_expect_rc(cairn__batch_rep_append(&g, cairn__slice_make("abc", 3)),
                 CAIRN_CORRUPTION, "too small");
    cairn__buf empty = CAIRN__BUF_INIT;
    bt_expect_rc(cairn__batch_rep_append(&empty, rep_of(b)), CAIRN_INVALID,
                 "header");
    cairn__batch_rep_set_count(&g, 9);
    assert_int_equal(cairn__batch_rep_count(cairn__buf_slice(&g)), 9);
    assert_int_equal(bt_validate(g.data, g.len), CAIRN_CORRUPTION);
    cairn__buf_fini(&g);
    cairn_batch_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_multiple),
        cmocka_unit_test(test_insert_uses_given_sequence),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_corruption_messages),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_self_append),
        cmocka_unit_test(test_approximate_size),
        cmocka_unit_test(test_appendix_a_bytes),
        cmocka_unit_test(test_rep_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
