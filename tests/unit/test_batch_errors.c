/*
 * test_batch_errors.c: write batches (src/db/batch.c) used wrongly: every
 * bad argument of every public function (each must fail with its code,
 * explain itself in the thread message and leave the batch unchanged),
 * callbacks that stop an iteration, a randomised model check, and a damage
 * sweep: every truncation and every single-bit or whole-byte flip of a
 * valid encoding must either validate or give CAIRN_CORRUPTION, never
 * crash (run under ASan to mean it). The well-formed cases are
 * test_batch.c's.
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

/* ---------------------------------------------------------------------- */
/* Bad arguments: each fails with its code and a message, changing nothing */

static void test_null_batch(void **state)
{
    (void)state;
    bt_expect_rc(cairn_batch_clear(NULL), CAIRN_INVALID, "cairn_batch_clear");
    bt_expect_rc(cairn_batch_put(NULL, "k", 1, "v", 1), CAIRN_INVALID,
                 "cairn_batch_put: batch is NULL");
    bt_expect_rc(cairn_batch_delete(NULL, "k", 1), CAIRN_INVALID,
                 "cairn_batch_delete: batch is NULL");
    cairn_batch *b = bt_new_batch();
    bt_put(b, "k", "v");
    uint64_t s = bt_snap(b);
    bt_expect_rc(cairn_batch_append(NULL, b), CAIRN_INVALID, "destination");
    bt_expect_rc(cairn_batch_append(b, NULL), CAIRN_INVALID, "source");
    bt_expect_rc(cairn_batch_append(NULL, NULL), CAIRN_INVALID, "NULL");
    assert_int_equal(cairn_batch_count(NULL), 0);
    assert_int_equal(cairn_batch_approximate_size(NULL), 0);
    bt_expect_rc(cairn_batch_iterate(NULL, NULL, bt_rec_put, bt_rec_del),
                 CAIRN_INVALID, "cairn_batch_iterate");
    size_t len = 99;
    assert_null(cairn_batch_data(NULL, &len));
    assert_int_equal(len, 0);
    bt_expect_rc(CAIRN_INVALID, CAIRN_INVALID, "cairn_batch_data");
    assert_null(cairn_batch_data(NULL, NULL));
    bt_expect_rc(cairn_batch_set_data(NULL, "x", 1), CAIRN_INVALID,
                 "cairn_batch_set_data: batch is NULL");
    assert_true(bt_snap(b) == s);
    /* data() with a NULL length pointer still answers. */
    assert_non_null(cairn_batch_data(b, NULL));
    cairn_batch_destroy(b);
}

static void test_bad_keys_and_values(void **state)
{
    (void)state;
    char small[4] = "abc", klen_s[32], vlen_s[32];
    cairn_batch *b = bt_new_batch();
    bt_put(b, "k", "v");
    uint64_t s = bt_snap(b);
    bt_expect_rc(cairn_batch_put(b, NULL, 3, "v", 1), CAIRN_INVALID,
                 "key is NULL");
    bt_expect_rc(cairn_batch_put(b, "k", 1, NULL, 2), CAIRN_INVALID,
                 "value is NULL");
    bt_expect_rc(cairn_batch_delete(b, NULL, 1), CAIRN_INVALID, "key is NULL");
    /* Lengths over the limits are refused before any byte is read, so a
     * small buffer stands in for the huge one. The length is reported. */
    size_t klen = (size_t)CAIRN_MAX_KEY_SIZE + 1;
    size_t vlen = (size_t)CAIRN_MAX_VALUE_SIZE + 1;
    snprintf(klen_s, sizeof klen_s, "key of %zu bytes", klen);
    snprintf(vlen_s, sizeof vlen_s, "value of %zu bytes", vlen);
    bt_expect_rc(cairn_batch_put(b, small, klen, "v", 1), CAIRN_INVALID,
                 klen_s);
    bt_expect_rc(cairn_batch_delete(b, small, klen), CAIRN_INVALID, klen_s);
    bt_expect_rc(cairn_batch_put(b, "k", 1, small, vlen), CAIRN_INVALID,
                 vlen_s);
    bt_expect_rc(cairn_batch_put(b, small, SIZE_MAX, small, SIZE_MAX),
                 CAIRN_INVALID, "key");
    assert_true(bt_snap(b) == s);
    /* NULL with length 0 is an empty key or value, which is allowed; so
     * are the largest sizes (checked without allocating them). */
    assert_int_equal(cairn_batch_put(b, NULL, 0, NULL, 0), 0);
    assert_int_equal(cairn_batch_delete(b, NULL, 0), 0);
    bt_expect_batch(b, "Put(k, v)Put(, )Delete()");
    cairn_batch_destroy(b);
}

static void test_count_and_size_limits(void **state)
{
    (void)state;
    cairn_batch *b = bt_new_batch(), *c = bt_new_batch();
    bt_put(b, "k", "v");
    bt_put(c, "k", "v");
    bt_put(c, "k", "v");
    /* White box: pretend the batch already counts 2^32 - 1 entries. The
     * count is checked before anything else is touched. */
    cairn__batch_rep_set_count(&b->rep, UINT32_MAX);
    uint64_t s = bt_snap(b);
    bt_expect_rc(cairn_batch_put(b, "k", 1, "v", 1), CAIRN_INVALID, "entries");
    bt_expect_rc(cairn_batch_delete(b, "k", 1), CAIRN_INVALID, "entries");
    assert_true(bt_snap(b) == s);
    cairn__batch_rep_set_count(&b->rep, UINT32_MAX - 1);
    s = bt_snap(b);
    bt_expect_rc(cairn_batch_append(b, c), CAIRN_INVALID, "overflow the count");
    assert_true(bt_snap(b) == s);
    cairn__batch_rep_set_count(&b->rep, 1);
    /* White box: pretend the batch is 4 bytes short of 4 GiB. The length
     * is checked before any memory is reserved or written. */
    size_t real = b->rep.len;
    b->rep.len = (size_t)UINT32_MAX - 4;
    bt_expect_rc(cairn_batch_put(b, "k", 1, "v", 1), CAIRN_INVALID, "4 GiB");
    bt_expect_rc(cairn_batch_append(b, c), CAIRN_INVALID, "4 GiB");
    b->rep.len = real;
    bt_expect_batch(b, "Put(k, v)");
    if (sizeof(size_t) > 4) {
        s = bt_snap(b);
        bt_expect_rc(cairn_batch_set_data(b, "x", (size_t)UINT32_MAX + 1),
                     CAIRN_INVALID, "4 GiB");
        assert_true(bt_snap(b) == s);
    }
    cairn_batch_destroy(b);
    cairn_batch_destroy(c);
}

static void test_set_data(void **state)
{
    (void)state;
    cairn_batch *b = bt_new_batch(), *c = bt_new_batch();
    bt_put(b, "one", "1");
    bt_del(b, "two");
    uint64_t s = bt_snap(c);
    bt_expect_rc(cairn_batch_set_data(c, NULL, 5), CAIRN_INVALID,
                 "data is NULL");
    bt_expect_rc(cairn_batch_set_data(c, NULL, 0), CAIRN_CORRUPTION,
                 "too small");
    bt_expect_rc(cairn_batch_set_data(c, "short", 5), CAIRN_CORRUPTION, NULL);
    assert_true(bt_snap(c) == s);
    size_t len;
    const void *p = cairn_batch_data(b, &len);
    assert_int_equal(cairn_batch_set_data(c, p, len), 0);
    bt_expect_batch(c, "Put(one, 1)Delete(two)");
    assert_int_equal(cairn_batch_count(c), 2);
    /* The copy is independent of its source. */
    bt_put(b, "three", "3");
    bt_expect_batch(c, "Put(one, 1)Delete(two)");
    /* Setting a batch from its own bytes works. */
    p = cairn_batch_data(c, &len);
    assert_int_equal(cairn_batch_set_data(c, p, len), 0);
    bt_expect_batch(c, "Put(one, 1)Delete(two)");
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
    cairn_batch *b = bt_new_batch();
    bt_put(b, "a", "1");
    bt_del(b, "b");
    bt_put(b, "c", "3");
    /* A non-zero return stops the walk and is passed through. */
    stopper st = {0, 2};
    assert_int_equal(cairn_batch_iterate(b, &st, stop_put, stop_del), -77);
    assert_int_equal(st.calls, 2);
    st = (stopper){0, 3};
    assert_int_equal(cairn_batch_iterate(b, &st, stop_put, stop_del), 77);
    assert_int_equal(st.calls, 3);
    /* A NULL callback skips that kind of entry. */
    cairn__buf out = CAIRN__BUF_INIT;
    bt_sappends(&out, "");
    assert_int_equal(cairn_batch_iterate(b, &out, bt_rec_put, NULL), 0);
    assert_string_equal(out.data, "Put(a, 1)Put(c, 3)");
    cairn__buf_clear(&out);
    bt_sappends(&out, "");
    assert_int_equal(cairn_batch_iterate(b, &out, NULL, bt_rec_del), 0);
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
    cairn_batch *b = bt_new_batch();
    bt_sappends(expect, "");
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
            assert_int_equal(bt_rec_del(expect, key, kl), 0);
        } else {
            assert_int_equal(cairn_batch_put(b, key, kl, val, vl), 0);
            assert_int_equal(bt_rec_put(expect, key, kl, val, vl), 0);
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
        bt_expect_batch(b, expect.data);
        /* Appending to another batch twice doubles the walk. */
        cairn_batch *c = bt_new_batch();
        assert_int_equal(cairn_batch_append(c, b), 0);
        assert_int_equal(cairn_batch_append(c, b), 0);
        char *got = bt_batch_contents(c);
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
    int rc = bt_validate(copy, len);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    cairn_batch *b = bt_new_batch();
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
