/*
 * test_memtable.c: the memtable (src/mem/memtable.h): lookups at
 * snapshots, the iterator's internal-key order, memory accounting and
 * reference counting. Lock-free readers beside one writer (M1-M3) are
 * test_memtable_threads.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "memtable_util.h"
#include "testutil.h"

#include "mem/memtable.h"
#include "util/ikey.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add(cairn__memtable *m, uint64_t seq, int type, const char *k,
               const char *v)
{
    return cairn__memtable_add(m, seq, type, cairn__slice_str(k),
                               cairn__slice_str(v));
}

static void put(cairn__memtable *m, uint64_t seq, const char *k, const char *v)
{
    assert_int_equal(add(m, seq, CAIRN__TYPE_VALUE, k, v), 0);
}

/* The value passed with a deletion must be ignored (stored empty). */
static void del(cairn__memtable *m, uint64_t seq, const char *k)
{
    assert_int_equal(add(m, seq, CAIRN__TYPE_DELETION, k, "ignored"), 0);
}

static void check_get(cairn__memtable *m, const char *key, uint64_t snapshot,
                      int want_found, const char *want)
{
    mt_check_get(m, cairn__slice_str(key), snapshot, want_found,
                 cairn__slice_str(want != NULL ? want : ""));
}

static void test_add_get_snapshots(void **state)
{
    (void)state;
    cairn__memtable *m = mt_new_mem();
    put(m, 1, "a", "a1");
    put(m, 2, "b", "b2");
    del(m, 3, "a");
    put(m, 5, "a", "a5");
    put(m, 4, "c", "c4");
    assert_int_equal(cairn__memtable_count(m), 5);

    check_get(m, "a", 0, 0, NULL);
    check_get(m, "a", 1, 1, "a1");
    check_get(m, "a", 2, 1, "a1");
    check_get(m, "a", 3, 2, NULL);
    check_get(m, "a", 4, 2, NULL);
    check_get(m, "a", 5, 1, "a5");
    check_get(m, "a", CAIRN__MAX_SEQ, 1, "a5");
    /* Past the largest sequence number the snapshot is clamped. */
    check_get(m, "a", UINT64_MAX, 1, "a5");
    check_get(m, "b", 1, 0, NULL);
    check_get(m, "b", 2, 1, "b2");
    check_get(m, "c", 3, 0, NULL);
    check_get(m, "c", 4, 1, "c4");
    /* Neighbours, prefixes and extensions of present keys are absent. */
    check_get(m, "", 10, 0, NULL);
    check_get(m, "ab", 10, 0, NULL);
    check_get(m, "d", 10, 0, NULL);
    check_get(m, "0", 10, 0, NULL);

    /* Bad types and sequences, and a repeated (key, seq) (the caller
     * promises it is new), are refused and change nothing. */
    assert_int_equal(add(m, 9, 7, "k", "v"), CAIRN_INVALID);
    assert_int_equal(add(m, CAIRN__MAX_SEQ + 1, CAIRN__TYPE_VALUE, "k", "v"),
                     CAIRN_INVALID);
    assert_int_equal(add(m, 5, CAIRN__TYPE_VALUE, "a", "w"), CAIRN_INVALID);
    assert_int_equal(cairn__memtable_count(m), 5);
    check_get(m, "a", 5, 1, "a5");
    check_get(m, "k", CAIRN__MAX_SEQ, 0, NULL);
    cairn__memtable_unref(m);
}

static void test_same_key_many_seqs(void **state)
{
    (void)state;
    enum { N = 300 };
    cairn__memtable *m = mt_new_mem();
    char v[32];
    /* Every 7th version is a deletion. */
    for (uint64_t seq = 1; seq <= N; seq++) {
        snprintf(v, sizeof v, "v%llu", (unsigned long long)seq);
        int type = seq % 7 == 0 ? CAIRN__TYPE_DELETION : CAIRN__TYPE_VALUE;
        assert_int_equal(add(m, seq, type, "k", v), 0);
    }
    for (uint64_t snap = 0; snap <= N + 1; snap++) {
        uint64_t newest = snap > N ? N : snap;
        snprintf(v, sizeof v, "v%llu", (unsigned long long)newest);
        check_get(m, "k", snap, newest == 0 ? 0 : newest % 7 == 0 ? 2 : 1, v);
    }

    /* The iterator yields the versions newest first. */
    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    uint64_t want = N;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it), want--) {
        cairn__pikey pk;
        assert_true(cairn__ikey_parse(cairn__iter_key(it), &pk));
        assert_int_equal(pk.seq, want);
        assert_int_equal(pk.type, want % 7 == 0 ? CAIRN__TYPE_DELETION
                                                : CAIRN__TYPE_VALUE);
        if (pk.type == CAIRN__TYPE_DELETION)
            assert_int_equal(cairn__iter_value(it).size, 0);
    }
    assert_int_equal(want, 0);
    assert_int_equal(cairn__iter_status(it), 0);
    cairn__iter_destroy(it);
    cairn__memtable_unref(m);
}

static void test_empty_key_and_value(void **state)
{
    (void)state;
    cairn__memtable *m = mt_new_mem();
    put(m, 1, "", "");
    check_get(m, "", 1, 1, "");
    put(m, 2, "x", "");
    check_get(m, "x", 2, 1, "");
    del(m, 3, "");
    check_get(m, "", 3, 2, NULL);
    check_get(m, "", 2, 1, "");

    /* The empty user key sorts first: its internal key is only the tag. */
    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    cairn__iter_seek_first(it);
    assert_true(cairn__iter_valid(it));
    cairn__slice k = cairn__iter_key(it);
    assert_int_equal(k.size, 8);
    assert_int_equal(cairn__ikey_tag_of(k),
                     cairn__ikey_tag(3, CAIRN__TYPE_DELETION));
    cairn__iter_destroy(it);
    cairn__memtable_unref(m);
}

static void test_large_value_and_key(void **state)
{
    (void)state;
    const size_t big = 1u << 20;
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("memtable_large_value"));
    char *val = malloc(big);
    char *key = malloc(1000); /* longer than the inline lookup buffer */
    assert_true(val != NULL && key != NULL);
    tu_rng_bytes(&rng, val, big);
    tu_rng_bytes(&rng, key, 1000);

    cairn__memtable *m = mt_new_mem();
    size_t before = cairn__memtable_memory_usage(m);
    assert_int_equal(cairn__memtable_add(m, 7, CAIRN__TYPE_VALUE,
                                         cairn__slice_make(key, 1000),
                                         cairn__slice_make(val, big)),
                     0);
    assert_true(cairn__memtable_memory_usage(m) >= before + big + 1000);

    cairn__slice k = cairn__slice_make(key, 1000),
                 v = cairn__slice_make(val, big);
    mt_check_get(m, k, 7, 1, v);
    /* A key that differs only in its last byte is another key. */
    key[999] ^= 1;
    mt_check_get(m, k, 7, 0, v);
    key[999] ^= 1;

    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    cairn__iter_seek_last(it);
    assert_true(cairn__iter_valid(it));
    cairn__slice ik = cairn__iter_key(it);
    assert_int_equal(ik.size, 1008);
    assert_memory_equal(ik.data, key, 1000);
    mt_assert_slice(cairn__iter_value(it), val, big);
    cairn__iter_destroy(it);

    cairn__memtable_unref(m);
    free(key);
    free(val);
}

/* ---- iterator order against a sorted model ---- */

typedef struct model_entry {
    char key[8];
    uint64_t seq;
    int type;
    char value[24];
} model_entry;

/* Internal-key order: user key ascending, sequence descending. */
static int model_cmp(const void *a, const void *b)
{
    const model_entry *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    if (r != 0)
        return r;
    return x->seq > y->seq ? -1 : x->seq < y->seq ? 1 : 0;
}

static void check_at(cairn__iter *it, const model_entry *e)
{
    assert_true(cairn__iter_valid(it));
    cairn__pikey pk;
    assert_true(cairn__ikey_parse(cairn__iter_key(it), &pk));
    mt_assert_slice(pk.user_key, e->key, strlen(e->key));
    assert_int_equal(pk.seq, e->seq);
    assert_int_equal(pk.type, e->type);
    mt_assert_slice(cairn__iter_value(it), e->value,
                    e->type == CAIRN__TYPE_VALUE ? strlen(e->value) : 0);
}

/* A random (key, snapshot) probe, keys one past the model's range
 * included; returns the index of the first of the n sorted model entries
 * >= it in internal order (n if none). */
static int random_probe(tu_rng *rng, const model_entry *model, int n,
                        model_entry *probe)
{
    memset(probe, 0, sizeof *probe);
    snprintf(probe->key, sizeof probe->key, "k%03u",
             (unsigned)tu_rng_uniform(rng, 201));
    probe->seq = tu_rng_uniform(rng, (uint32_t)n + 2);
    int j = 0;
    while (j < n && model_cmp(&model[j], probe) < 0)
        j++;
    return j;
}

/* nshards 1 and no filter: the usual memtable; more shards: every entry
 * goes into a shard drawn at random (M5), so versions of one key sit in
 * different lists; filter_bytes: each shard has a filter (M6), and a
 * lookup that skipped a shard holding the key would fail the model. */
static void iterator_order_case(int nshards, size_t filter_bytes)
{
    enum { N = 1500 };
    tu_rng rng;
    tu_rng_init(&rng, tu_seed(nshards == 1 ? "memtable_iterator_order"
                                           : "memtable_shards_order"));
    model_entry *model = calloc(N, sizeof *model);
    assert_non_null(model);
    cairn__memtable *m;
    if (nshards == 1 && filter_bytes == 0) {
        m = mt_new_mem();
    } else {
        assert_int_equal(
            cairn__memtable_create_sharded(&m, NULL, nshards, filter_bytes), 0);
        assert_int_equal(cairn__memtable_shards(m), nshards);
    }

    /* Few distinct keys, so most keys have several versions; sequence
     * numbers are unique but added out of order (7919 is prime to N, so
     * i * 7919 % N visits every residue once). */
    for (int i = 0; i < N; i++) {
        model_entry *e = &model[i];
        snprintf(e->key, sizeof e->key, "k%03u",
                 (unsigned)tu_rng_uniform(&rng, 200));
        e->seq = (uint64_t)i * 7919 % N + 1;
        e->type = tu_rng_uniform(&rng, 4) == 0 ? CAIRN__TYPE_DELETION
                                               : CAIRN__TYPE_VALUE;
        snprintf(e->value, sizeof e->value, "v%llu",
                 (unsigned long long)(tu_rng_next(&rng) % 1000000));
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(cairn__memtable_add_to(
                             m, (int)tu_rng_uniform(&rng, (uint32_t)nshards),
                             model[i].seq, model[i].type,
                             cairn__slice_str(model[i].key),
                             cairn__slice_str(model[i].value)),
                         0);
    assert_int_equal(cairn__memtable_count(m), N);
    qsort(model, N, sizeof *model, model_cmp);

    /* A lookup at (key, snapshot) finds the newest version with seq <=
     * snapshot, whichever shard holds it: the first model entry >= the
     * probe in internal order, if it has the key. */
    for (int round = 0; round < 2000; round++) {
        model_entry probe;
        int j = random_probe(&rng, model, N, &probe);
        if (j == N || strcmp(model[j].key, probe.key) != 0)
            check_get(m, probe.key, probe.seq, 0, NULL);
        else if (model[j].type == CAIRN__TYPE_DELETION)
            check_get(m, probe.key, probe.seq, 2, NULL);
        else
            check_get(m, probe.key, probe.seq, 1, model[j].value);
    }

    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    assert_false(cairn__iter_valid(it));
    cairn__iter_seek_first(it);
    for (int i = 0; i < N; i++, cairn__iter_next(it))
        check_at(it, &model[i]);
    assert_false(cairn__iter_valid(it));
    cairn__iter_seek_last(it);
    for (int i = N - 1; i >= 0; i--, cairn__iter_prev(it))
        check_at(it, &model[i]);
    assert_false(cairn__iter_valid(it));

    /* Seeks to (key, snapshot) land on the first entry >= it in internal
     * order, which is the newest version visible at that snapshot. */
    cairn__buf target = CAIRN__BUF_INIT;
    for (int round = 0; round < 500; round++) {
        model_entry probe;
        int j = random_probe(&rng, model, N, &probe);
        cairn__buf_clear(&target);
        assert_int_equal(cairn__ikey_append(&target,
                                            cairn__slice_str(probe.key),
                                            probe.seq, CAIRN__TYPE_FOR_SEEK),
                         0);
        cairn__iter_seek(it, cairn__buf_slice(&target));
        if (j == N)
            assert_false(cairn__iter_valid(it));
        else
            check_at(it, &model[j]);
    }
    assert_int_equal(cairn__iter_status(it), 0);

    /* A target too short to be an internal key is an error, and the first
     * error stays the status. */
    cairn__iter_seek(it, cairn__slice_make("abc", 3));
    assert_false(cairn__iter_valid(it));
    assert_int_equal(cairn__iter_status(it), CAIRN_INVALID);

    cairn__buf_fini(&target);
    cairn__iter_destroy(it);
    cairn__memtable_unref(m);
    free(model);
}

static void test_iterator_order(void **state)
{
    (void)state;
    iterator_order_case(1, 0);
}

/* M5: lookups and the merged iterator over 2 and 4 shards. */
/* M6: filters of one word (every lookup passes it: all bits end up set),
 * a few words (false positives), and plenty. */
static void test_filters(void **state)
{
    (void)state;
    iterator_order_case(1, 8);
    iterator_order_case(2, 64);
    iterator_order_case(1, 1u << 16);
    iterator_order_case(4, 1u << 16);
}

static void test_shards(void **state)
{
    (void)state;
    iterator_order_case(2, 0);
    iterator_order_case(4, 0);

    cairn__memtable *m = NULL;
    assert_int_equal(cairn__memtable_create_sharded(&m, NULL, 0, 0),
                     CAIRN_INVALID);
    assert_null(m);
    assert_int_equal(cairn__memtable_create_sharded(
                         &m, NULL, CAIRN__MEMTABLE_MAX_SHARDS + 1, 0),
                     CAIRN_INVALID);
    assert_int_equal(cairn__memtable_create_sharded(&m, NULL, 3, 0), 0);
    assert_int_equal(cairn__memtable_add_to(m, 3, 1, CAIRN__TYPE_VALUE,
                                            cairn__slice_str("k"),
                                            cairn__slice_str("v")),
                     CAIRN_INVALID);
    assert_int_equal(cairn__memtable_add_to(m, -1, 1, CAIRN__TYPE_VALUE,
                                            cairn__slice_str("k"),
                                            cairn__slice_str("v")),
                     CAIRN_INVALID);
    assert_int_equal(cairn__memtable_count(m), 0);
    /* Every shard's arena counts. */
    size_t before = cairn__memtable_memory_usage(m);
    char big[5000]; /* over a block: a block of its own */
    memset(big, 'x', sizeof big);
    /* Versions 1, 2, 3 of "k" in shards 2, 0, 1, their values starting
     * with 'a', 'b', 'c'. */
    for (int i = 0; i < 3; i++) {
        big[0] = (char)('a' + i);
        assert_int_equal(
            cairn__memtable_add_to(m, (i + 2) % 3, (uint64_t)i + 1,
                                   CAIRN__TYPE_VALUE, cairn__slice_str("k"),
                                   cairn__slice_make(big, sizeof big)),
            0);
    }
    assert_true(cairn__memtable_memory_usage(m) >= before + 3 * sizeof big);
    assert_int_equal(cairn__memtable_count(m), 3);
    for (int snap = 1; snap <= 4; snap++) {
        big[0] = (char)('a' + (snap < 3 ? snap : 3) - 1);
        mt_check_get(m, cairn__slice_str("k"), (uint64_t)snap, 1,
                     cairn__slice_make(big, sizeof big));
    }
    check_get(m, "k", 0, 0, NULL);
    cairn__memtable_unref(m);
}

static void test_memory_usage_grows(void **state)
{
    (void)state;
    cairn__memtable *m = mt_new_mem();
    /* The head node already took a block (LevelDB reports the same). */
    size_t first = cairn__memtable_memory_usage(m);
    assert_true(first >= 4096);
    size_t last = first, payload = 0;
    char key[32], val[100] = "";
    memset(val, 'v', sizeof val - 1);
    for (uint64_t i = 1; i <= 2000; i++) {
        snprintf(key, sizeof key, "key%06llu", (unsigned long long)i);
        put(m, i, key, val);
        payload += strlen(key) + 8 + strlen(val);
        size_t now = cairn__memtable_memory_usage(m);
        assert_true(now >= last);
        last = now;
    }
    assert_true(last > first);
    assert_true(last >= payload);
    cairn__memtable_unref(m);
}

static void test_ref_unref(void **state)
{
    (void)state;
    cairn__memtable_unref(NULL);

    cairn__memtable *m = mt_new_mem();
    cairn__memtable_ref(m);
    cairn__memtable_ref(m);
    cairn__memtable_unref(m);
    cairn__memtable_unref(m);
    /* One reference left: still usable (ASan catches a premature free). */
    put(m, 1, "a", "1");
    check_get(m, "a", 1, 1, "1");

    /* An iterator keeps the memtable alive after its owner lets go; the
     * final unref is the iterator's (ASan catches a leak or a double free). */
    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    cairn__memtable_unref(m);
    cairn__iter_seek_first(it);
    assert_true(cairn__iter_valid(it));
    mt_assert_slice(cairn__iter_value(it), "1", 1);
    cairn__iter_next(it);
    assert_false(cairn__iter_valid(it));
    cairn__iter_destroy(it);
    cairn__iter_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_get_snapshots),
        cmocka_unit_test(test_same_key_many_seqs),
        cmocka_unit_test(test_empty_key_and_value),
        cmocka_unit_test(test_large_value_and_key),
        cmocka_unit_test(test_iterator_order),
        cmocka_unit_test(test_shards),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_memory_usage_grows),
        cmocka_unit_test(test_ref_unref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
