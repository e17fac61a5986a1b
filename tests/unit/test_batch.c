/*
 * test_batch.c: write batches (src/db/batch.c).
 *
 * The first group mirrors LevelDB 1.23's write_batch_test (Empty, Multiple,
 * Corruption, Append, ApproximateSize), reading the memtable back the way
 * that test prints it, so sequence assignment is checked end to end. Then
 * the exact bytes of the shared facts' Appendix A, every bad argument of
 * every public function (each must fail with its code, explain itself in
 * the thread message and leave the batch unchanged), a randomised model
 * check, and a damage sweep: every truncation and every single-bit or
 * whole-byte flip of a valid encoding must either validate or give
 * CAIRN_CORRUPTION, never crash (run under ASan to mean it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "util/coding.h"

#include "db/batch.h"
#include "util/crc32c.h"
#include "mem/memtable.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Helpers                                                                  */

/* Appends text to a NUL-terminated growable string. */
static void sappend(cairn__buf *s, const void *p, size_t n)
{
    assert_int_equal(cairn__buf_reserve(s, n + 1), 0);
    assert_int_equal(cairn__buf_append(s, p, n), 0);
    s->data[s->len] = '\0';
}

static void sappends(cairn__buf *s, const char *text)
{
    sappend(s, text, strlen(text));
}

static int rec_put(void *ctx, const void *key, size_t keylen, const void *val,
                   size_t vallen)
{
    cairn__buf *s = ctx;
    sappends(s, "Put(");
    sappend(s, key, keylen);
    sappends(s, ", ");
    sappend(s, val, vallen);
    sappends(s, ")");
    return 0;
}

static int rec_del(void *ctx, const void *key, size_t keylen)
{
    cairn__buf *s = ctx;
    sappends(s, "Delete(");
    sappend(s, key, keylen);
    sappends(s, ")");
    return 0;
}

/* The batch's entries in batch order, "Put(k, v)Delete(k)...", followed by
 * "ParseError()" if the walk failed (LevelDB's test does the same). The
 * caller frees the result. */
static char *batch_contents(const cairn_batch *b)
{
    cairn__buf s = CAIRN__BUF_INIT;
    sappends(&s, "");
    int rc = cairn_batch_iterate(b, &s, rec_put, rec_del);
    if (rc != 0)
        sappends(&s, "ParseError()");
    return s.data;
}

/* Inserts rep with its header sequence into a fresh memtable and prints the
 * memtable in key order, "Put(k, v)@seq" / "Delete(k)@seq", plus
 * "ParseError()" if the insert failed: LevelDB's PrintContents. */
static char *memtable_contents(cairn__slice rep)
{
    cairn__memtable *m = NULL;
    assert_int_equal(cairn__memtable_create(&m), 0);
    int rc = cairn__batch_rep_insert(rep, cairn__batch_rep_seq(rep), m);
    cairn__buf s = CAIRN__BUF_INIT;
    sappends(&s, "");
    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    int n = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it), n++) {
        cairn__pikey pk = {{NULL, 0}, 0, 0};
        assert_true(cairn__ikey_parse(cairn__iter_key(it), &pk));
        cairn__slice k = pk.user_key, v = cairn__iter_value(it);
        if (pk.type == CAIRN__TYPE_VALUE)
            rec_put(&s, k.data, k.size, v.data, v.size);
        else
            rec_del(&s, k.data, k.size);
        char seq[32];
        snprintf(seq, sizeof seq, "@%llu", (unsigned long long)pk.seq);
        sappends(&s, seq);
    }
    assert_int_equal(cairn__iter_status(it), 0);
    cairn__iter_destroy(it);
    if (rc != 0)
        sappends(&s, "ParseError()");
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

static void expect_batch(const cairn_batch *b, const char *want)
{
    char *got = batch_contents(b);
    assert_string_equal(got, want);
    free(got);
}

/* A fingerprint of a batch's bytes, to prove a failed call changed
 * nothing. */
static uint64_t snap(const cairn_batch *b)
{
    size_t len;
    const void *p = cairn_batch_data(b, &len);
    return ((uint64_t)len << 32) | cairn__crc32c(p, len);
}

/* rc must be want, and the thread message must mention `what`. */
static void expect_rc(int rc, int want, const char *what)
{
    assert_int_equal(rc, want);
    const char *m = cairn__errmsg_get();
    if (what != NULL && strstr(m, what) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", m, what);
}

static cairn_batch *new_batch(void)
{
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    return b;
}

static void put(cairn_batch *b, const char *k, const char *v)
{
    assert_int_equal(cairn_batch_put(b, k, strlen(k), v, strlen(v)), 0);
}

static void del(cairn_batch *b, const char *k)
{
    assert_int_equal(cairn_batch_delete(b, k, strlen(k)), 0);
}

static int validate(const char *p, size_t n)
{
    return cairn__batch_rep_validate(cairn__slice_make(p, n));
}

/* ---------------------------------------------------------------------- */
/* LevelDB's write_batch_test                                               */

static void test_empty(void **state)
{
    (void)state;
    cairn_batch *b = new_batch();
    assert_int_equal(cairn_batch_count(b), 0);
    assert_int_equal(cairn_batch_approximate_size(b), 12);
    size_t len;
    const char *p = cairn_batch_data(b, &len);
    assert_int_equal(len, 12);
    assert_memory_equal(p, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
    expect_batch(b, "");
    expect_memtable(b, "");
    assert_int_equal(validate(p, len), 0);
    cairn_batch_destroy(b);
    cairn_batch_destroy(NULL);
}

static void test_multiple(void **state)
{
    (void)state;
    cairn_batch *b = new_batch();
    put(b, "foo", "bar");
    del(b, "box");
    put(b, "baz", "boo");
    set_seq(b, 100);
    assert_int_equal(cairn__batch_rep_seq(rep_of(b)), 100);
    assert_int_equal(cairn_batch_count(b), 3);
    expect_batch(b, "Put(foo, bar)Delete(box)Put(baz, boo)");
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
    cairn_batch *b = new_batch();
    put(b, "k", "old");
    put(b, "k", "new");
    set_seq(b, 5);
    cairn__memtable *m = NULL;
    assert_int_equal(cairn__memtable_create(&m), 0);
    assert_int_equal(cairn__batch_rep_insert(rep_of(b), 1000, m), 0);
    assert_int_equal(cairn__memtable_count(m), 2);
    expect_get(m, 1001, "new");
    expect_get(m, 1000, "old");
    expect_get(m, 999, NULL);
    /* Sequences past 2^56 - 1 are refused before anything is inserted. */
    expect_rc(cairn__batch_rep_insert(rep_of(b), CAIRN__MAX_SEQ, m),
              CAIRN_CORRUPTION, "56-bit");
    expect_rc(cairn__batch_rep_insert(rep_of(b), CAIRN__MAX_SEQ + 1, m),
              CAIRN_CORRUPTION, "56-bit");
    assert_int_equal(cairn__memtable_count(m), 2);
    /* A damaged rep holding more entries than it counts is stopped at the
     * limit too: the first entry goes in at 2^56 - 1, the second is refused. */
    cairn__batch_rep_set_count(&b->rep, 1);
    expect_rc(cairn__batch_rep_insert(rep_of(b), CAIRN__MAX_SEQ, m),
              CAIRN_CORRUPTION, "56-bit");
    assert_int_equal(cairn__memtable_count(m), 3);
    cairn__memtable_unref(m);
    cairn_batch_destroy(b);
}

static void test_corruption(void **state)
{
    (void)state;
    cairn_batch *b = new_batch();
    put(b, "foo", "bar");
    del(b, "box");
    set_seq(b, 200);
    cairn__slice rep = rep_of(b);
    cairn__slice cut = cairn__slice_make(rep.data, rep.size - 1);
    /* The entry before the break has been handed over when the error is
     * reported. */
    char *got = memtable_contents(cut);
    assert_string_equal(got, "Put(foo, bar)@200ParseError()");
    free(got);
    expect_rc(validate(cut.data, cut.size), CAIRN_CORRUPTION,
              "bad WriteBatch Delete");
    /* set_data refuses the truncated bytes and keeps the batch. */
    cairn_batch *c = new_batch();
    put(c, "x", "y");
    uint64_t s = snap(c);
    expect_rc(cairn_batch_set_data(c, cut.data, cut.size), CAIRN_CORRUPTION,
              "cairn_batch_set_data");
    expect_rc(CAIRN_CORRUPTION, CAIRN_CORRUPTION, "bad WriteBatch Delete");
    assert_true(snap(c) == s);
    cairn_batch_destroy(c);
    cairn_batch_destroy(b);
}

static void test_corruption_messages(void **state)
{
    (void)state;
    char rep[64];
    memset(rep, 0, sizeof rep);
    expect_rc(validate(rep, 11), CAIRN_CORRUPTION,
              "malformed WriteBatch (too small)");
    /* Header says one entry, none follows. */
    cairn__encode_fixed32(rep + 8, 1);
    expect_rc(validate(rep, 12), CAIRN_CORRUPTION,
              "WriteBatch has wrong count");
    rep[12] = 2;
    expect_rc(validate(rep, 13), CAIRN_CORRUPTION, "unknown WriteBatch tag");
    /* A put whose value length runs past the end. */
    memcpy(rep + 12, "\x01\x01k\x05v", 5);
    expect_rc(validate(rep, 17), CAIRN_CORRUPTION, "bad WriteBatch Put");
    /* A delete whose key length is an over-long varint. */
    memcpy(rep + 12, "\x00\xff\xff\xff\xff\xff\x01", 7);
    expect_rc(validate(rep, 19), CAIRN_CORRUPTION, "bad WriteBatch Delete");
    /* The location of the check is recorded. */
    expect_rc(validate(rep, 19), CAIRN_CORRUPTION, "batch.c:");
    /* More entries than the header counts is also a wrong count. */
    memcpy(rep + 12, "\x00\x01k\x00\x01j", 6);
    expect_rc(validate(rep, 18), CAIRN_CORRUPTION,
              "WriteBatch has wrong count");
    cairn__encode_fixed32(rep + 8, 2);
    assert_int_equal(validate(rep, 18), 0);
}

static void test_append(void **state)
{
    (void)state;
    cairn_batch *b1 = new_batch(), *b2 = new_batch();
    set_seq(b1, 200);
    set_seq(b2, 300);
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "");
    assert_int_equal(cairn__batch_rep_seq(rep_of(b1)), 200);
    put(b2, "a", "va");
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "Put(a, va)@200");
    assert_int_equal(cairn_batch_clear(b2), 0);
    put(b2, "b", "vb");
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "Put(a, va)@200Put(b, vb)@201");
    del(b2, "foo");
    assert_int_equal(cairn_batch_append(b1, b2), 0);
    expect_memtable(b1, "Put(a, va)@200Put(b, vb)@202Put(b, vb)@201"
                        "Delete(foo)@203");
    assert_int_equal(cairn_batch_count(b1), 4);
    /* The source is untouched by all this. */
    expect_batch(b2, "Put(b, vb)Delete(foo)");
    assert_int_equal(cairn__batch_rep_seq(rep_of(b2)), 0);
    cairn_batch_destroy(b1);
    cairn_batch_destroy(b2);
}

static void test_self_append(void **state)
{
    (void)state;
    cairn_batch *b = new_batch();
    /* Large enough that doubling must move the buffer. */
    char val[3000];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    put(b, "a", "1");
    del(b, "b");
    put(b, "c", val);
    set_seq(b, 7);
    size_t before = cairn_batch_approximate_size(b);
    char *once = batch_contents(b);
    assert_int_equal(cairn_batch_append(b, b), 0);
    assert_int_equal(cairn_batch_count(b), 6);
    assert_int_equal(cairn_batch_approximate_size(b), 2 * before - 12);
    assert_int_equal(cairn__batch_rep_seq(rep_of(b)), 7);
    char *twice = batch_contents(b);
    size_t n = strlen(once);
    assert_int_equal(strlen(twice), 2 * n);
    assert_memory_equal(twice, once, n);
    assert_memory_equal(twice + n, once, n);
    free(once);
    free(twice);
    /* An empty batch appended to itself stays empty. */
    cairn_batch *e = new_batch();
    assert_int_equal(cairn_batch_append(e, e), 0);
    assert_int_equal(cairn_batch_count(e), 0);
    assert_int_equal(cairn_batch_approximate_size(e), 12);
    cairn_batch_destroy(e);
    cairn_batch_destroy(b);
}

static void test_approximate_size(void **state)
{
    (void)state;
    cairn_batch *b = new_batch();
    size_t empty = cairn_batch_approximate_size(b);
    put(b, "foo", "bar");
    size_t one = cairn_batch_approximate_size(b);
    assert_true(empty < one);
    put(b, "baz", "boo");
    size_t two = cairn_batch_approximate_size(b);
    assert_true(one < two);
    del(b, "box");
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
    cairn_batch *b = new_batch();
    put(b, "k", "v");
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
    cairn_batch *c = new_batch();
    assert_int_equal(cairn_batch_set_data(c, want, sizeof want), 0);
    expect_batch(c, "Put(k, v)");
    assert_int_equal(cairn__batch_rep_seq(rep_of(c)), 1);
    /* A delete is tag 0 and a key. */
    assert_int_equal(cairn_batch_clear(c), 0);
    del(c, "k");
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
    cairn_batch *b = new_batch();
    put(b, "a", "b");
    assert_int_equal(cairn__batch_rep_append(&g, rep_of(b)), 0);
    assert_int_equal(cairn__batch_rep_append(&g, rep_of(b)), 0);
    assert_int_equal(cairn__batch_rep_count(cairn__buf_slice(&g)), 2);
    assert_int_equal(cairn__batch_rep_seq(cairn__buf_slice(&g)), 42);
    assert_int_equal(validate(g.data, g.len), 0);
    /* A source shorter than a header, or a destination without one. */
    expect_rc(cairn__batch_rep_append(&g, cairn__slice_make("abc", 3)),
              CAIRN_CORRUPTION, "too small");
    cairn__buf empty = CAIRN__BUF_INIT;
    expect_rc(cairn__batch_rep_append(&empty, rep_of(b)), CAIRN_INVALID,
              "header");
    cairn__batch_rep_set_count(&g, 9);
    assert_int_equal(cairn__batch_rep_count(cairn__buf_slice(&g)), 9);
    assert_int_equal(validate(g.data, g.len), CAIRN_CORRUPTION);
    cairn__buf_fini(&g);
    cairn_batch_destroy(b);
}

/* ---------------------------------------------------------------------- */
/* Bad arguments: each fails with its code and a message, changing nothing */

static void test_null_batch(void **state)
{
    (void)state;
    expect_rc(cairn_batch_clear(NULL), CAIRN_INVALID, "cairn_batch_clear");
    expect_rc(cairn_batch_put(NULL, "k", 1, "v", 1), CAIRN_INVALID,
              "cairn_batch_put: batch is NULL");
    expect_rc(cairn_batch_delete(NULL, "k", 1), CAIRN_INVALID,
              "cairn_batch_delete: batch is NULL");
    cairn_batch *b = new_batch();
    put(b, "k", "v");
    uint64_t s = snap(b);
    expect_rc(cairn_batch_append(NULL, b), CAIRN_INVALID, "destination");
    expect_rc(cairn_batch_append(b, NULL), CAIRN_INVALID, "source");
    expect_rc(cairn_batch_append(NULL, NULL), CAIRN_INVALID, "NULL");
    assert_int_equal(cairn_batch_count(NULL), 0);
    assert_int_equal(cairn_batch_approximate_size(NULL), 0);
    expect_rc(cairn_batch_iterate(NULL, NULL, rec_put, rec_del), CAIRN_INVALID,
              "cairn_batch_iterate");
    size_t len = 99;
    assert_null(cairn_batch_data(NULL, &len));
    assert_int_equal(len, 0);
    expect_rc(CAIRN_INVALID, CAIRN_INVALID, "cairn_batch_data");
    assert_null(cairn_batch_data(NULL, NULL));
    expect_rc(cairn_batch_set_data(NULL, "x", 1), CAIRN_INVALID,
              "cairn_batch_set_data: batch is NULL");
    assert_true(snap(b) == s);
    /* data() with a NULL length pointer still answers. */
    assert_non_null(cairn_batch_data(b, NULL));
    cairn_batch_destroy(b);
}

static void test_bad_keys_and_values(void **state)
{
    (void)state;
    char small[4] = "abc", klen_s[32], vlen_s[32];
    cairn_batch *b = new_batch();
    put(b, "k", "v");
    uint64_t s = snap(b);
    expect_rc(cairn_batch_put(b, NULL, 3, "v", 1), CAIRN_INVALID,
              "key is NULL");
    expect_rc(cairn_batch_put(b, "k", 1, NULL, 2), CAIRN_INVALID,
              "value is NULL");
    expect_rc(cairn_batch_delete(b, NULL, 1), CAIRN_INVALID, "key is NULL");
    /* Lengths over the limits are refused before any byte is read, so a
     * small buffer stands in for the huge one. The length is reported. */
    size_t klen = (size_t)CAIRN_MAX_KEY_SIZE + 1;
    size_t vlen = (size_t)CAIRN_MAX_VALUE_SIZE + 1;
    snprintf(klen_s, sizeof klen_s, "key of %zu bytes", klen);
    snprintf(vlen_s, sizeof vlen_s, "value of %zu bytes", vlen);
    expect_rc(cairn_batch_put(b, small, klen, "v", 1), CAIRN_INVALID, klen_s);
    expect_rc(cairn_batch_delete(b, small, klen), CAIRN_INVALID, klen_s);
    expect_rc(cairn_batch_put(b, "k", 1, small, vlen), CAIRN_INVALID, vlen_s);
    expect_rc(cairn_batch_put(b, small, SIZE_MAX, small, SIZE_MAX),
              CAIRN_INVALID, "key");
    assert_true(snap(b) == s);
    /* NULL with length 0 is an empty key or value, which is allowed; so
     * are the largest sizes (checked without allocating them). */
    assert_int_equal(cairn_batch_put(b, NULL, 0, NULL, 0), 0);
    assert_int_equal(cairn_batch_delete(b, NULL, 0), 0);
    expect_batch(b, "Put(k, v)Put(, )Delete()");
    cairn_batch_destroy(b);
}

static void test_count_and_size_limits(void **state)
{
    (void)state;
    cairn_batch *b = new_batch(), *c = new_batch();
    put(b, "k", "v");
    put(c, "k", "v");
    put(c, "k", "v");
    /* White box: pretend the batch already counts 2^32 - 1 entries. The
     * count is checked before anything else is touched. */
    cairn__batch_rep_set_count(&b->rep, UINT32_MAX);
    uint64_t s = snap(b);
    expect_rc(cairn_batch_put(b, "k", 1, "v", 1), CAIRN_INVALID, "entries");
    expect_rc(cairn_batch_delete(b, "k", 1), CAIRN_INVALID, "entries");
    assert_true(snap(b) == s);
    cairn__batch_rep_set_count(&b->rep, UINT32_MAX - 1);
    s = snap(b);
    expect_rc(cairn_batch_append(b, c), CAIRN_INVALID, "overflow the count");
    assert_true(snap(b) == s);
    cairn__batch_rep_set_count(&b->rep, 1);
    /* White box: pretend the batch is 4 bytes short of 4 GiB. The length
     * is checked before any memory is reserved or written. */
    size_t real = b->rep.len;
    b->rep.len = (size_t)UINT32_MAX - 4;
    expect_rc(cairn_batch_put(b, "k", 1, "v", 1), CAIRN_INVALID, "4 GiB");
    expect_rc(cairn_batch_append(b, c), CAIRN_INVALID, "4 GiB");
    b->rep.len = real;
    expect_batch(b, "Put(k, v)");
    if (sizeof(size_t) > 4) {
        s = snap(b);
        expect_rc(cairn_batch_set_data(b, "x", (size_t)UINT32_MAX + 1),
                  CAIRN_INVALID, "4 GiB");
        assert_true(snap(b) == s);
    }
    cairn_batch_destroy(b);
    cairn_batch_destroy(c);
}

static void test_set_data(void **state)
{
    (void)state;
    cairn_batch *b = new_batch(), *c = new_batch();
    put(b, "one", "1");
    del(b, "two");
    uint64_t s = snap(c);
    expect_rc(cairn_batch_set_data(c, NULL, 5), CAIRN_INVALID, "data is NULL");
    expect_rc(cairn_batch_set_data(c, NULL, 0), CAIRN_CORRUPTION, "too small");
    expect_rc(cairn_batch_set_data(c, "short", 5), CAIRN_CORRUPTION, NULL);
    assert_true(snap(c) == s);
    size_t len;
    const void *p = cairn_batch_data(b, &len);
    assert_int_equal(cairn_batch_set_data(c, p, len), 0);
    expect_batch(c, "Put(one, 1)Delete(two)");
    assert_int_equal(cairn_batch_count(c), 2);
    /* The copy is independent of its source. */
    put(b, "three", "3");
    expect_batch(c, "Put(one, 1)Delete(two)");
    /* Setting a batch from its own bytes works. */
    p = cairn_batch_data(c, &len);
    assert_int_equal(cairn_batch_set_data(c, p, len), 0);
    expect_batch(c, "Put(one, 1)Delete(two)");
    cairn_batch_destroy(b);
    cairn_batch_destroy(c);
}

/* Counts calls; returns a marker (77 for a put, -77 for a delete) at call
 * number stop_at, and 0 otherwise (always, for stop_at 0). */
typedef struct stopper {
    uint64_t calls;
    uint64_t stop_at;
} stopper;

static int stop_put(void *ctx, const void *key, size_t keylen, const void *val,
                    size_t vallen)
{
    (void)key, (void)keylen, (void)val, (void)vallen;
    stopper *st = ctx;
    return ++st->calls == st->stop_at ? 77 : 0;
}

static int stop_del(void *ctx, const void *key, size_t keylen)
{
    (void)key, (void)keylen;
    stopper *st = ctx;
    return ++st->calls == st->stop_at ? -77 : 0;
}

static void test_iterate_callbacks(void **state)
{
    (void)state;
    cairn_batch *b = new_batch();
    put(b, "a", "1");
    del(b, "b");
    put(b, "c", "3");
    /* A non-zero return stops the walk and is passed through. */
    stopper st = {0, 2};
    assert_int_equal(cairn_batch_iterate(b, &st, stop_put, stop_del), -77);
    assert_int_equal(st.calls, 2);
    st = (stopper){0, 3};
    assert_int_equal(cairn_batch_iterate(b, &st, stop_put, stop_del), 77);
    assert_int_equal(st.calls, 3);
    /* A NULL callback skips that kind of entry. */
    cairn__buf out = CAIRN__BUF_INIT;
    sappends(&out, "");
    assert_int_equal(cairn_batch_iterate(b, &out, rec_put, NULL), 0);
    assert_string_equal(out.data, "Put(a, 1)Put(c, 3)");
    cairn__buf_clear(&out);
    sappends(&out, "");
    assert_int_equal(cairn_batch_iterate(b, &out, NULL, rec_del), 0);
    assert_string_equal(out.data, "Delete(b)");
    assert_int_equal(cairn_batch_iterate(b, NULL, NULL, NULL), 0);
    cairn__buf_fini(&out);
    cairn_batch_destroy(b);
}

/* ---------------------------------------------------------------------- */
/* Randomised model and damage sweep                                        */

/* Builds a batch of random puts and deletes (keys and values of lengths
 * that cross the one-byte varint boundary) and the text its walk must
 * produce. */
static cairn_batch *random_batch(tu_rng *rng, int n, cairn__buf *expect)
{
    cairn_batch *b = new_batch();
    sappends(expect, "");
    char key[300], val[300];
    for (int i = 0; i < n; i++) {
        size_t kl = (size_t)tu_rng_uniform(rng, 200);
        size_t vl = (size_t)tu_rng_uniform(rng, 300);
        for (size_t j = 0; j < kl; j++)
            key[j] = (char)('a' + tu_rng_uniform(rng, 26));
        for (size_t j = 0; j < vl; j++)
            val[j] = (char)('A' + tu_rng_uniform(rng, 26));
        if (tu_rng_uniform(rng, 3) == 0) {
            assert_int_equal(cairn_batch_delete(b, key, kl), 0);
            assert_int_equal(rec_del(expect, key, kl), 0);
        } else {
            assert_int_equal(cairn_batch_put(b, key, kl, val, vl), 0);
            assert_int_equal(rec_put(expect, key, kl, val, vl), 0);
        }
    }
    return b;
}

static void test_random_model(void **state)
{
    (void)state;
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("batch_random_model"));
    int rounds = (int)(50 * tu_scale()) + 1;
    for (int r = 0; r < rounds; r++) {
        cairn__buf expect = CAIRN__BUF_INIT;
        int n = (int)tu_rng_uniform(&rng, 40);
        cairn_batch *b = random_batch(&rng, n, &expect);
        assert_int_equal(cairn_batch_count(b), (uint32_t)n);
        expect_batch(b, expect.data);
        /* Appending to another batch twice doubles the walk. */
        cairn_batch *c = new_batch();
        assert_int_equal(cairn_batch_append(c, b), 0);
        assert_int_equal(cairn_batch_append(c, b), 0);
        char *got = batch_contents(c);
        assert_int_equal(strlen(got), 2 * expect.len);
        assert_memory_equal(got, expect.data, expect.len);
        assert_memory_equal(got + expect.len, expect.data, expect.len);
        free(got);
        cairn_batch_destroy(c);
        cairn_batch_destroy(b);
        cairn__buf_fini(&expect);
    }
}

/* One damaged encoding, from a private copy of exactly len bytes so that
 * ASan catches any read past the end: it validates or is CORRUPTION, the
 * memtable insert agrees, set_data agrees, and a valid one walks exactly
 * its header count. */
static int check_damaged(const char *p, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, p, len);
    int rc = validate(copy, len);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    cairn_batch *b = new_batch();
    assert_int_equal(cairn_batch_set_data(b, copy, len), rc);
    if (rc == 0) {
        stopper st = {0, 0};
        assert_int_equal(cairn_batch_iterate(b, &st, stop_put, stop_del), 0);
        assert_int_equal(st.calls, cairn_batch_count(b));
        if (len >= 12)
            assert_int_equal(st.calls, cairn__decode_fixed32(copy + 8));
    } else {
        assert_int_equal(cairn_batch_approximate_size(b), 12);
    }
    if (len >= 12 && cairn__decode_fixed64(copy) <= 1000000) {
        cairn__memtable *m = NULL;
        assert_int_equal(cairn__memtable_create(&m), 0);
        cairn__slice rep = cairn__slice_make(copy, len);
        assert_int_equal(
            cairn__batch_rep_insert(rep, cairn__batch_rep_seq(rep), m), rc);
        cairn__memtable_unref(m);
    }
    cairn_batch_destroy(b);
    free(copy);
    return rc;
}

static void test_damage(void **state)
{
    (void)state;
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("batch_damage"));
    cairn__buf expect = CAIRN__BUF_INIT;
    /* A few entries with a mix of one- and two-byte varint lengths. */
    cairn_batch *b = random_batch(&rng, 6, &expect);
    size_t len;
    const char *p = cairn_batch_data(b, &len);
    /* Every strict prefix is malformed: too small, cut mid-entry, or
     * missing entries the header counts. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(check_damaged(p, cut), CAIRN_CORRUPTION);
    assert_int_equal(check_damaged(p, len), 0);
    /* Every single-bit flip, and every whole-byte inversion. Flips inside
     * keys and values keep the encoding valid; flips in the count or a
     * length break it. Both kinds must happen. */
    static const unsigned char masks[] = {1, 2, 4, 8, 16, 32, 64, 128, 255};
    char *work = malloc(len);
    assert_non_null(work);
    int accepted = 0, refused = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(work, p, len);
            work[i] = (char)(work[i] ^ masks[m]);
            if (check_damaged(work, len) == 0)
                accepted++;
            else
                refused++;
        }
    }
    assert_true(accepted > 0);
    assert_true(refused > 0);
    free(work);
    cairn__buf_fini(&expect);
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
        cmocka_unit_test(test_null_batch),
        cmocka_unit_test(test_bad_keys_and_values),
        cmocka_unit_test(test_count_and_size_limits),
        cmocka_unit_test(test_set_data),
        cmocka_unit_test(test_iterate_callbacks),
        cmocka_unit_test(test_random_model),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
