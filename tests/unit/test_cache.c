/*
 * test_cache.c: the sharded LRU cache (src/cache/cache.c), with LevelDB's
 * cache_test cases (keys and values are small integers, the key encoded
 * as fixed32 as there) and a multi-threaded run for ThreadSanitizer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cache/cache.h"
#include "util/coding.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define CACHE_SIZE 1000

/* What the deleter saw, in order. */
static int deleted_keys[4096];
static intptr_t deleted_values[4096];
static int num_deleted;

static uint32_t decode_key(cairn__slice k)
{
    assert_int_equal(k.size, 4);
    return cairn__decode_fixed32(k.data);
}

static void record_deleter(cairn__slice key, void *value)
{
    assert_true(num_deleted < 4096);
    deleted_keys[num_deleted] = (int)decode_key(key);
    deleted_values[num_deleted] = (intptr_t)value;
    num_deleted++;
}

typedef struct fixture {
    cairn__cache *c;
    char kbuf[4];
} fixture;

static int setup_sized(void **state, size_t cap)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || cairn__cache_create(cap, &f->c) != 0)
        return -1;
    num_deleted = 0;
    *state = f;
    return 0;
}
static int setup(void **state)
{
    return setup_sized(state, CACHE_SIZE);
}
static int setup_zero(void **state)
{
    return setup_sized(state, 0);
}
static int teardown(void **state)
{
    fixture *f = *state;
    cairn__cache_destroy(f->c);
    free(f);
    return 0;
}

static cairn__slice key_of(fixture *f, int k)
{
    cairn__encode_fixed32(f->kbuf, (uint32_t)k);
    return cairn__slice_make(f->kbuf, 4);
}

static int lookup(fixture *f, int k)
{
    cairn__cache_handle *h = cairn__cache_lookup(f->c, key_of(f, k));
    if (h == NULL)
        return -1;
    int v = (int)(intptr_t)cairn__cache_value(h);
    cairn__cache_release(f->c, h);
    return v;
}

static void insert(fixture *f, int k, int v, size_t charge)
{
    assert_int_equal(cairn__cache_insert(f->c, key_of(f, k),
                                         (void *)(intptr_t)v, charge,
                                         record_deleter, NULL),
                     0);
}

static cairn__cache_handle *insert_pinned(fixture *f, int k, int v,
                                          size_t charge)
{
    cairn__cache_handle *h;
    assert_int_equal(cairn__cache_insert(f->c, key_of(f, k),
                                         (void *)(intptr_t)v, charge,
                                         record_deleter, &h),
                     0);
    return h;
}

static void test_hit_and_miss(void **state)
{
    fixture *f = *state;
    assert_int_equal(lookup(f, 100), -1);
    insert(f, 100, 101, 1);
    assert_int_equal(lookup(f, 100), 101);
    assert_int_equal(lookup(f, 200), -1);
    assert_int_equal(lookup(f, 300), -1);
    insert(f, 200, 201, 1);
    assert_int_equal(lookup(f, 100), 101);
    assert_int_equal(lookup(f, 200), 201);
    assert_int_equal(lookup(f, 300), -1);
    insert(f, 100, 102, 1);
    assert_int_equal(lookup(f, 100), 102);
    assert_int_equal(lookup(f, 200), 201);
    assert_int_equal(lookup(f, 300), -1);
    assert_int_equal(num_deleted, 1);
    assert_int_equal(deleted_keys[0], 100);
    assert_int_equal(deleted_values[0], 101);
}

static void test_erase(void **state)
{
    fixture *f = *state;
    cairn__cache_erase(f->c, key_of(f, 200));
    assert_int_equal(num_deleted, 0);
    insert(f, 100, 101, 1);
    insert(f, 200, 201, 1);
    cairn__cache_erase(f->c, key_of(f, 100));
    assert_int_equal(lookup(f, 100), -1);
    assert_int_equal(lookup(f, 200), 201);
    assert_int_equal(num_deleted, 1);
    assert_int_equal(deleted_keys[0], 100);
    assert_int_equal(deleted_values[0], 101);
    cairn__cache_erase(f->c, key_of(f, 100));
    assert_int_equal(num_deleted, 1);
}

static void test_entries_are_pinned(void **state)
{
    fixture *f = *state;
    insert(f, 100, 101, 1);
    cairn__cache_handle *h1 = cairn__cache_lookup(f->c, key_of(f, 100));
    assert_int_equal((intptr_t)cairn__cache_value(h1), 101);
    insert(f, 100, 102, 1);
    cairn__cache_handle *h2 = cairn__cache_lookup(f->c, key_of(f, 100));
    assert_int_equal((intptr_t)cairn__cache_value(h2), 102);
    assert_int_equal(num_deleted, 0);
    cairn__cache_release(f->c, h1);
    assert_int_equal(num_deleted, 1);
    assert_int_equal(deleted_values[0], 101);
    cairn__cache_erase(f->c, key_of(f, 100));
    assert_int_equal(lookup(f, 100), -1);
    assert_int_equal(num_deleted, 1);
    /* Erased but pinned: the value lives until the handle goes. */
    assert_int_equal((intptr_t)cairn__cache_value(h2), 102);
    cairn__cache_release(f->c, h2);
    assert_int_equal(num_deleted, 2);
    assert_int_equal(deleted_keys[1], 100);
    assert_int_equal(deleted_values[1], 102);
}

static void test_eviction_policy(void **state)
{
    fixture *f = *state;
    insert(f, 100, 101, 1);
    insert(f, 200, 201, 1);
    insert(f, 300, 301, 1);
    cairn__cache_handle *h = cairn__cache_lookup(f->c, key_of(f, 300));
    /* Frequently used entries survive; pinned ones are never evicted. */
    for (int i = 0; i < CACHE_SIZE + 100; i++) {
        insert(f, 1000 + i, 2000 + i, 1);
        assert_int_equal(lookup(f, 1000 + i), 2000 + i);
        assert_int_equal(lookup(f, 100), 101);
    }
    assert_int_equal(lookup(f, 100), 101);
    assert_int_equal(lookup(f, 200), -1);
    assert_int_equal(lookup(f, 300), 301);
    cairn__cache_release(f->c, h);
}

static void test_use_exceeds_cache_size(void **state)
{
    fixture *f = *state;
    static cairn__cache_handle *hs[CACHE_SIZE + 100];
    for (int i = 0; i < CACHE_SIZE + 100; i++)
        hs[i] = insert_pinned(f, 1000 + i, 2000 + i, 1);
    for (int i = 0; i < CACHE_SIZE + 100; i++)
        assert_int_equal(lookup(f, 1000 + i), 2000 + i);
    assert_int_equal(cairn__cache_total_charge(f->c), CACHE_SIZE + 100);
    for (int i = 0; i < CACHE_SIZE + 100; i++)
        cairn__cache_release(f->c, hs[i]);
    /* Released: now over capacity, they go as later inserts need room. */
    assert_int_equal(num_deleted, 0);
}

static void test_heavy_entries(void **state)
{
    fixture *f = *state;
    const int light = 1, heavy = 10;
    int added = 0, index = 0;
    while (added < 2 * CACHE_SIZE) {
        int weight = (index & 1) ? light : heavy;
        insert(f, index, 1000 + index, (size_t)weight);
        added += weight;
        index++;
    }
    int cached = 0;
    for (int i = 0; i < index; i++) {
        int weight = (i & 1) ? light : heavy;
        int r = lookup(f, i);
        if (r >= 0) {
            cached += weight;
            assert_int_equal(r, 1000 + i);
        }
    }
    assert_true(cached <= CACHE_SIZE + CACHE_SIZE / 10);
    assert_int_equal((size_t)cached, cairn__cache_total_charge(f->c));
    assert_true(cached > 0);
    assert_true(num_deleted > 0); /* something was evicted */
}

static void test_new_id_and_charge(void **state)
{
    fixture *f = *state;
    uint64_t a = cairn__cache_new_id(f->c), b = cairn__cache_new_id(f->c);
    assert_true(a != b);
    assert_true(a != 0 && b != 0);
    assert_int_equal(cairn__cache_total_charge(f->c), 0);
    insert(f, 1, 1, 30);
    insert(f, 2, 2, 12);
    assert_int_equal(cairn__cache_total_charge(f->c), 42);
    insert(f, 1, 3, 5); /* replacing drops the old charge */
    assert_int_equal(cairn__cache_total_charge(f->c), 17);
    cairn__cache_erase(f->c, key_of(f, 2));
    assert_int_equal(cairn__cache_total_charge(f->c), 5);
}

static void test_prune(void **state)
{
    fixture *f = *state;
    insert(f, 1, 100, 1);
    insert(f, 2, 200, 1);
    cairn__cache_handle *h = cairn__cache_lookup(f->c, key_of(f, 1));
    assert_non_null(h);
    cairn__cache_prune(f->c);
    cairn__cache_release(f->c, h);
    assert_int_equal(lookup(f, 1), 100);
    assert_int_equal(lookup(f, 2), -1);
    assert_int_equal(num_deleted, 1);
}

static void test_zero_size_cache(void **state)
{
    fixture *f = *state;
    cairn__cache_handle *h = insert_pinned(f, 1, 100, 1);
    assert_int_equal((intptr_t)cairn__cache_value(h), 100);
    assert_int_equal(lookup(f, 1), -1);
    assert_int_equal(cairn__cache_total_charge(f->c), 0);
    assert_int_equal(num_deleted, 0);
    cairn__cache_release(f->c, h);
    assert_int_equal(num_deleted, 1);
}

/* ---- concurrent use (run under -fsanitize=thread) ---- */

static atomic_int live_values;

typedef struct tval {
    uint32_t key;
} tval;

static void counting_deleter(cairn__slice key, void *value)
{
    tval *v = value;
    if (decode_key(key) != v->key)
        abort();
    free(v);
    atomic_fetch_sub(&live_values, 1);
}

typedef struct targ {
    cairn__cache *c;
    uint64_t seed;
    int ops;
    int errors;
} targ;

static void *worker(void *p)
{
    targ *a = p;
    tu_rng r;
    tu_rng_init(&r, a->seed);
    cairn__cache_handle *held[8] = {0};
    for (int i = 0; i < a->ops; i++) {
        char kb[4];
        uint32_t k = (uint32_t)tu_rng_uniform(&r, 200);
        cairn__encode_fixed32(kb, k);
        cairn__slice key = cairn__slice_make(kb, 4);
        int slot = (int)tu_rng_uniform(&r, 8);
        switch (tu_rng_uniform(&r, 4)) {
        case 0: {
            tval *v = malloc(sizeof *v);
            if (v == NULL)
                abort();
            v->key = k;
            atomic_fetch_add(&live_values, 1);
            if (cairn__cache_insert(a->c, key, v, 1 + tu_rng_uniform(&r, 5),
                                    counting_deleter, NULL) != 0)
                a->errors++;
            break;
        }
        case 1:
        case 2:
            cairn__cache_release(a->c, held[slot]);
            held[slot] = cairn__cache_lookup(a->c, key);
            if (held[slot] != NULL &&
                ((tval *)cairn__cache_value(held[slot]))->key != k)
                a->errors++;
            break;
        default:
            if (tu_rng_uniform(&r, 50) == 0)
                cairn__cache_prune(a->c);
            else
                cairn__cache_erase(a->c, key);
            (void)cairn__cache_total_charge(a->c);
            break;
        }
    }
    for (int s = 0; s < 8; s++)
        cairn__cache_release(a->c, held[s]);
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    cairn__cache *c;
    assert_int_equal(cairn__cache_create(100, &c), 0);
    uint64_t seed = tu_seed("cache_concurrent");
    enum { N = 4 };
    pthread_t th[N];
    targ args[N];
    tu_watchdog_arm(120, "cache_concurrent");
    for (int i = 0; i < N; i++) {
        args[i] =
            (targ){c, seed + (uint64_t)i, (int)(20000 * tu_scale()) + 1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].errors, 0);
    }
    tu_watchdog_disarm();
    assert_true(cairn__cache_total_charge(c) <= 100 + 16 * 5);
    cairn__cache_destroy(c);
    assert_int_equal(atomic_load(&live_values), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hit_and_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entries_are_pinned, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_eviction_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_use_exceeds_cache_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_heavy_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_id_and_charge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_size_cache, setup_zero,
                                        teardown),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
