/*
 * test_arena_pool.c: arenas that take their blocks from a cairn__arena_pool
 * (src/util/arena.c) give them back when finalised, the next arena reuses
 * them, the pool keeps no more than its limit, blocks of their own are
 * never pooled, accounting is the same as without a pool, and no block is
 * ever handed to two live arenas at once (threads; run under TSan and
 * ASan by make check).
 */
#include "util/arena.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#define BLOCK 4096

/* Fills n standard blocks (four requests of a quarter block each; a
 * larger request would get a block of its own). Records where each
 * block starts. */
static void fill(cairn__arena *a, int n, char **out)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++) {
            char *p = cairn__arena_alloc(a, BLOCK / 4);
            assert_non_null(p);
            memset(p, 0x5a, BLOCK / 4);
            if (k == 0)
                out[i] = p;
        }
    }
}

static int contains(char **set, int n, const char *p)
{
    for (int i = 0; i < n; i++)
        if (set[i] == p)
            return 1;
    return 0;
}

static void test_reuse_and_limit(void **state)
{
    (void)state;
    cairn__arena_pool pool;
    assert_int_equal(cairn__arena_pool_init(&pool, 16 * BLOCK), 0);
    assert_int_equal(cairn__arena_pool_blocks(&pool), 0);

    cairn__arena a;
    cairn__arena_init_pooled(&a, &pool);
    char *first[20];
    fill(&a, 20, first);
    /* A request over a quarter block gets a block of its own. */
    char *big = cairn__arena_alloc(&a, 5000);
    assert_non_null(big);
    memset(big, 1, 5000);
    cairn__arena_fini(&a);
    /* 21 blocks came back; the pool keeps 16, the rest are freed (ASan
     * would see a leak or a double free). */
    assert_int_equal(cairn__arena_pool_blocks(&pool), 16);

    /* The next arena is served from the pool: the same blocks. */
    cairn__arena b;
    cairn__arena_init_pooled(&b, &pool);
    char *second[16];
    fill(&b, 16, second);
    assert_int_equal(cairn__arena_pool_blocks(&pool), 0);
    for (int i = 0; i < 16; i++)
        assert_true(contains(first, 20, second[i]));
    /* The pool is empty: a 17th block comes from malloc. */
    char *fresh = cairn__arena_alloc(&b, 1000);
    assert_non_null(fresh);
    memset(fresh, 2, 1000);
    cairn__arena_fini(&b);
    assert_int_equal(cairn__arena_pool_blocks(&pool), 16);
    /* fini leaves the arena usable, still pooled. */
    assert_int_equal(cairn__arena_memory_usage(&b), 0);
    assert_non_null(cairn__arena_alloc(&b, 10));
    assert_int_equal(cairn__arena_pool_blocks(&pool), 0); /* stash of 16 */
    cairn__arena_fini(&b);
    assert_int_equal(cairn__arena_pool_blocks(&pool), 16);
    cairn__arena_pool_fini(&pool);
}

/* The same requests use the same memory with and without a pool. */
static void test_accounting_unchanged(void **state)
{
    (void)state;
    static const size_t sizes[] = {10,   100, 1025, 3000, 2961, 1,
                                   4096, 17,  5000, 900,  4000, 8};
    cairn__arena_pool pool;
    assert_int_equal(cairn__arena_pool_init(&pool, 1 << 20), 0);
    for (int round = 0; round < 2; round++) {
        cairn__arena plain, pooled;
        cairn__arena_init(&plain);
        cairn__arena_init_pooled(&pooled, &pool);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            assert_non_null(cairn__arena_alloc(&plain, sizes[i]));
            assert_non_null(cairn__arena_alloc(&pooled, sizes[i]));
            assert_non_null(cairn__arena_alloc_aligned(&plain, sizes[i]));
            assert_non_null(cairn__arena_alloc_aligned(&pooled, sizes[i]));
            assert_int_equal(cairn__arena_memory_usage(&plain),
                             cairn__arena_memory_usage(&pooled));
        }
        cairn__arena_fini(&plain);
        cairn__arena_fini(&pooled);
    }
    cairn__arena_pool_fini(&pool);
}

/* Threads create, fill, check and finalise pooled arenas at once; a block
 * handed to two live arenas would show as a corrupted pattern. */
typedef struct job {
    cairn__arena_pool *pool;
    int id;
    int bad;
} job;

static void *churn(void *arg)
{
    job *j = arg;
    for (int round = 0; round < 300; round++) {
        cairn__arena a;
        cairn__arena_init_pooled(&a, j->pool);
        char *p[12];
        unsigned char tag = (unsigned char)(j->id * 31 + round);
        for (int i = 0; i < 12; i++) {
            p[i] = cairn__arena_alloc(&a, 1000);
            if (p[i] == NULL) {
                j->bad = 1;
                return NULL;
            }
            memset(p[i], tag, 1000);
        }
        for (int i = 0; i < 12; i++)
            for (int k = 0; k < 1000; k++)
                if ((unsigned char)p[i][k] != tag)
                    j->bad = 1;
        cairn__arena_fini(&a);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    cairn__arena_pool pool;
    assert_int_equal(cairn__arena_pool_init(&pool, 40 * BLOCK), 0);
    pthread_t t[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){&pool, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, churn, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(jobs[i].bad, 0);
    }
    assert_true(cairn__arena_pool_blocks(&pool) <= 40);
    cairn__arena_pool_fini(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_and_limit),
        cmocka_unit_test(test_accounting_unchanged),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
