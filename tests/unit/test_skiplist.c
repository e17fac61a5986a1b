/*
 * test_skiplist.c: the memtable's skiplist (src/mem/skiplist.h).
 *
 * Keys here are 64-bit numbers stored in the list's arena and compared as
 * numbers, which makes expected orders easy to compute. The concurrent test
 * follows the scheme of LevelDB's skiplist_test: one writer inserts new
 * generations of a few keys while a reader checks that it never misses a
 * key that was present when it took its snapshot (invariant S2) and never
 * sees a torn key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "mem/skiplist.h"
#include "util/hash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_num(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int num_cmp(const char *a, const char *b)
{
    uint64_t x = key_num(a), y = key_num(b);
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Copies v into the arena, as the memtable copies entries, so the list
 * only ever points at memory that outlives it. */
static const char *arena_key(cairn__arena *a, uint64_t v)
{
    char *p = cairn__arena_alloc_aligned(a, sizeof v);
    assert_non_null(p);
    memcpy(p, &v, sizeof v);
    return p;
}

static void test_empty(void **state)
{
    (void)state;
    cairn__arena arena;
    cairn__skiplist list;
    cairn__arena_init(&arena);
    assert_int_equal(cairn__skiplist_init(&list, &arena, num_cmp), 0);

    uint64_t ten = 10;
    assert_false(cairn__skiplist_contains(&list, (const char *)&ten));

    cairn__skiplist_iter it;
    cairn__skiplist_iter_init(&it, &list);
    assert_false(cairn__skiplist_iter_valid(&it));
    cairn__skiplist_iter_seek_first(&it);
    assert_false(cairn__skiplist_iter_valid(&it));
    uint64_t hundred = 100;
    cairn__skiplist_iter_seek(&it, (const char *)&hundred);
    assert_false(cairn__skiplist_iter_valid(&it));
    cairn__skiplist_iter_seek_last(&it);
    assert_false(cairn__skiplist_iter_valid(&it));
    cairn__arena_fini(&arena);
}

/* Index of the first element of sorted[0..n) that is >= v (n if none). */
static size_t lower_bound(const uint64_t *sorted, size_t n, uint64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void test_insert_and_lookup(void **state)
{
    (void)state;
    enum { N = 2000, R = 5000 };
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("skiplist_insert_and_lookup"));

    cairn__arena arena;
    cairn__skiplist list;
    cairn__arena_init(&arena);
    assert_int_equal(cairn__skiplist_init(&list, &arena, num_cmp), 0);

    static char present[R];
    memset(present, 0, sizeof present);
    for (int i = 0; i < N; i++) {
        uint64_t k = tu_rng_uniform(&rng, R);
        int rc = cairn__skiplist_insert(&list, arena_key(&arena, k));
        /* A second insert of the same number must be refused (S3). */
        assert_int_equal(rc, present[k] ? CAIRN_INVALID : 0);
        present[k] = 1;
    }
    int height = atomic_load(&list.max_height);
    assert_true(height >= 1 && height <= CAIRN__SKIPLIST_MAX_HEIGHT);

    static uint64_t sorted[R];
    size_t n = 0;
    for (uint64_t k = 0; k < R; k++) {
        assert_int_equal(cairn__skiplist_contains(&list, (const char *)&k),
                         present[k]);
        if (present[k])
            sorted[n++] = k;
    }
    assert_true(n > 0);

    cairn__skiplist_iter it;
    cairn__skiplist_iter_init(&it, &list);
    cairn__skiplist_iter_seek_first(&it);
    assert_true(cairn__skiplist_iter_valid(&it));
    assert_int_equal(key_num(cairn__skiplist_iter_key(&it)), sorted[0]);
    cairn__skiplist_iter_seek_last(&it);
    assert_true(cairn__skiplist_iter_valid(&it));
    assert_int_equal(key_num(cairn__skiplist_iter_key(&it)), sorted[n - 1]);

    /* Seek from every point of the range (and just past it) and read a few
     * entries forward, then step back once. */
    for (uint64_t k = 0; k <= R; k++) {
        size_t j = lower_bound(sorted, n, k);
        cairn__skiplist_iter_seek(&it, (const char *)&k);
        for (int step = 0; step < 3; step++, j++) {
            if (j >= n) {
                assert_false(cairn__skiplist_iter_valid(&it));
                break;
            }
            assert_true(cairn__skiplist_iter_valid(&it));
            assert_int_equal(key_num(cairn__skiplist_iter_key(&it)), sorted[j]);
            cairn__skiplist_iter_next(&it);
        }
        size_t back = lower_bound(sorted, n, k);
        cairn__skiplist_iter_seek(&it, (const char *)&k);
        if (back < n) {
            cairn__skiplist_iter_prev(&it);
            if (back == 0) {
                assert_false(cairn__skiplist_iter_valid(&it));
            } else {
                assert_true(cairn__skiplist_iter_valid(&it));
                assert_int_equal(key_num(cairn__skiplist_iter_key(&it)),
                                 sorted[back - 1]);
            }
        }
    }

    /* The whole list backwards. */
    cairn__skiplist_iter_seek_last(&it);
    for (size_t j = n; j-- > 0;) {
        assert_true(cairn__skiplist_iter_valid(&it));
        assert_int_equal(key_num(cairn__skiplist_iter_key(&it)), sorted[j]);
        cairn__skiplist_iter_prev(&it);
    }
    assert_false(cairn__skiplist_iter_valid(&it));
    cairn__arena_fini(&arena);
}

/* ---- the concurrent test ----
 *
 * A key packs (k, gen, check): k in [0, NKEYS) in bits 40-63, the
 * generation in bits 8-39 and an 8-bit hash of (k, gen) in bits 0-7. The
 * writer inserts generation g + 1 of a random k and then publishes g + 1
 * in gens[k]. Generation 0 is never inserted, so key (k, 0) is a seek
 * target below every real entry of k. */
enum { NKEYS = 4 };

static uint64_t ck_k(uint64_t key)
{
    return key >> 40;
}
static uint64_t ck_gen(uint64_t key)
{
    return (key >> 8) & 0xffffffffu;
}

static uint64_t ck_hash(uint64_t k, uint64_t gen)
{
    uint64_t both[2] = {k, gen};
    return cairn__hash((const char *)both, sizeof both, 0x51ed) & 0xff;
}

static uint64_t ck_make(uint64_t k, uint64_t gen)
{
    return (k << 40) | (gen << 8) | ck_hash(k, gen);
}

static int ck_well_formed(uint64_t key)
{
    return ck_k(key) < NKEYS && ck_hash(ck_k(key), ck_gen(key)) == (key & 0xff);
}

typedef struct ck_state {
    cairn__arena arena;
    cairn__skiplist list;
    /* Atomic: gens[k] is the newest generation of k inserted; the writer
     * stores it with release after the insert, the reader loads it with
     * acquire, so that generation's node is visible to the reader. */
    atomic_uint_fast32_t gens[NKEYS];
    tu_rng writer_rng;
    /* Reader-side results, read by the main thread after joining. */
    uint64_t reads;
    uint64_t failures;
    char first_failure[256];
} ck_state;

static void ck_init(ck_state *s, uint64_t seed)
{
    cairn__arena_init(&s->arena);
    assert_int_equal(cairn__skiplist_init(&s->list, &s->arena, num_cmp), 0);
    for (int k = 0; k < NKEYS; k++)
        atomic_init(&s->gens[k], 0);
    tu_rng_init(&s->writer_rng, seed);
    s->reads = 0;
    s->failures = 0;
    s->first_failure[0] = '\0';
}

static void ck_fail(ck_state *s, const char *what, uint64_t a, uint64_t b)
{
    if (s->failures++ == 0)
        snprintf(s->first_failure, sizeof s->first_failure,
                 "%s (0x%llx, 0x%llx)", what, (unsigned long long)a,
                 (unsigned long long)b);
}

static void ck_write_step(ck_state *s)
{
    uint64_t k = tu_rng_uniform(&s->writer_rng, NKEYS);
    uint64_t gen = atomic_load_explicit(&s->gens[k], memory_order_relaxed) + 1;
    const char *key = arena_key(&s->arena, ck_make(k, gen));
    if (cairn__skiplist_insert(&s->list, key) != 0)
        ck_fail(s, "insert failed", k, gen);
    /* Release: publishes the inserted node to readers (see gens). */
    atomic_store_explicit(&s->gens[k], (uint_fast32_t)gen,
                          memory_order_release);
}

static uint64_t ck_random_target(tu_rng *rng)
{
    switch (tu_rng_uniform(rng, 10)) {
    case 0:
        return ck_make(0, 0); /* before everything */
    case 1:
        return ck_make(NKEYS, 0); /* after everything */
    default:
        return ck_make(tu_rng_uniform(rng, NKEYS), 0);
    }
}

/* One reader pass: everything skipped between two observed positions must
 * have been absent when the pass took its snapshot of the generations. */
static void ck_read_step(ck_state *s, tu_rng *rng)
{
    uint64_t snap[NKEYS];
    for (int k = 0; k < NKEYS; k++)
        snap[k] = atomic_load_explicit(&s->gens[k], memory_order_acquire);

    const uint64_t end = ck_make(NKEYS, 0);
    uint64_t pos = ck_random_target(rng);
    cairn__skiplist_iter it;
    cairn__skiplist_iter_init(&it, &s->list);
    cairn__skiplist_iter_seek(&it, (const char *)&pos);
    for (;;) {
        uint64_t cur = end;
        if (cairn__skiplist_iter_valid(&it)) {
            cur = key_num(cairn__skiplist_iter_key(&it));
            if (!ck_well_formed(cur)) {
                ck_fail(s, "malformed key", cur, 0);
                return;
            }
        }
        if (cur < pos) {
            ck_fail(s, "iterator went backwards", pos, cur);
            return;
        }
        /* Walk the key space from pos up to cur. Within one k the
         * generations were inserted in order, so the first skipped
         * generation of k tells whether a present entry was missed. */
        while (pos < cur) {
            uint64_t k = ck_k(pos), gen = ck_gen(pos);
            if (k >= NKEYS) {
                ck_fail(s, "position past the key space", pos, cur);
                return;
            }
            if (gen != 0 && gen <= snap[k]) {
                ck_fail(s, "missed a key present at the snapshot", pos, cur);
                return;
            }
            if (k < ck_k(cur))
                pos = ck_make(k + 1, 0);
            else
                pos = ck_make(k, gen + 1);
        }
        if (!cairn__skiplist_iter_valid(&it))
            break;
        if (tu_rng_uniform(rng, 2) == 0) {
            cairn__skiplist_iter_next(&it);
            pos = ck_make(ck_k(cur), ck_gen(cur) + 1);
        } else {
            uint64_t target = ck_random_target(rng);
            if (target > pos) {
                pos = target;
                cairn__skiplist_iter_seek(&it, (const char *)&pos);
            }
        }
    }
    s->reads++;
}

static void test_concurrent_without_threads(void **state)
{
    (void)state;
    uint64_t seed = tu_seed("skiplist_concurrent_without_threads");
    ck_state *s = malloc(sizeof *s);
    assert_non_null(s);
    ck_init(s, seed);
    tu_rng reader_rng;
    tu_rng_init(&reader_rng, seed + 1);
    int steps = (int)(10000 * tu_scale());
    for (int i = 0; i < steps; i++) {
        ck_read_step(s, &reader_rng);
        ck_write_step(s);
    }
    if (s->failures != 0)
        fail_msg("%llu failures, first: %s", (unsigned long long)s->failures,
                 s->first_failure);
    assert_int_equal(s->reads, steps);
    cairn__arena_fini(&s->arena);
    free(s);
}

typedef struct ck_reader {
    ck_state *s;
    uint64_t seed;
    atomic_int started; /* Atomic: set once by the reader, polled by main */
    atomic_int quit;    /* Atomic: set once by main when writing is done */
} ck_reader;

static void *ck_reader_main(void *arg)
{
    ck_reader *r = arg;
    tu_rng rng;
    tu_rng_init(&rng, r->seed);
    atomic_store(&r->started, 1);
    /* Every pass completes even after quit is set, so each run reads at
     * least once and the writer is never waited for. */
    do {
        ck_read_step(r->s, &rng);
    } while (!atomic_load(&r->quit));
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    uint64_t seed = tu_seed("skiplist_concurrent");
    int runs = (int)(20 * tu_scale());
    int writes = 1000;
    if (runs < 1)
        runs = 1;
    tu_watchdog_arm(120, "skiplist concurrent test");
    for (int run = 0; run < runs; run++) {
        ck_state *s = malloc(sizeof *s);
        assert_non_null(s);
        ck_init(s, seed + (uint64_t)run * 2);
        ck_reader r;
        r.s = s;
        r.seed = seed + (uint64_t)run * 2 + 1;
        atomic_init(&r.started, 0);
        atomic_init(&r.quit, 0);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, ck_reader_main, &r), 0);
        /* Start writing only once the reader runs, so the two overlap. */
        while (!atomic_load(&r.started))
            sched_yield();
        for (int i = 0; i < writes; i++)
            ck_write_step(s);
        atomic_store(&r.quit, 1);
        assert_int_equal(pthread_join(th, NULL), 0);
        if (s->failures != 0)
            fail_msg("run %d: %llu failures, first: %s", run,
                     (unsigned long long)s->failures, s->first_failure);
        assert_true(s->reads >= 1);
        /* Everything written is there, in order, once the writer is done. */
        uint64_t total = 0;
        for (int k = 0; k < NKEYS; k++)
            total += atomic_load(&s->gens[k]);
        assert_int_equal(total, writes);
        cairn__arena_fini(&s->arena);
        free(s);
    }
    tu_watchdog_disarm();
}

/* S5: nodes prepared on one thread, linked by several at once, with a
 * reader running: afterwards every key is there exactly once, in order,
 * and a reader never saw the keys out of order. */
typedef struct link_job {
    cairn__skiplist *l;
    cairn__skip_pending *p;
    size_t from, n, step;
} link_job;

static void *link_main(void *arg)
{
    link_job *j = arg;
    for (size_t i = j->from; i < j->n; i += j->step)
        cairn__skiplist_link(j->l, &j->p[i]);
    return NULL;
}

typedef struct order_reader {
    cairn__skiplist *l;
    atomic_int quit;
    int bad;
    uint64_t passes;
} order_reader;

static void *order_main(void *arg)
{
    order_reader *r = arg;
    while (!atomic_load(&r->quit)) {
        cairn__skiplist_iter it;
        cairn__skiplist_iter_init(&it, r->l);
        uint64_t prev = 0;
        int first = 1;
        for (cairn__skiplist_iter_seek_first(&it);
             cairn__skiplist_iter_valid(&it); cairn__skiplist_iter_next(&it)) {
            uint64_t k = key_num(cairn__skiplist_iter_key(&it));
            if (!first && k <= prev)
                r->bad++;
            prev = k;
            first = 0;
        }
        r->passes++;
    }
    return NULL;
}

static void test_parallel_link(void **state)
{
    (void)state;
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("skiplist_parallel_link"));
    size_t n = (size_t)(40000 * tu_scale());
    if (n < 1000)
        n = 1000;
    for (int threads = 2; threads <= 4; threads += 2) {
        cairn__arena a;
        cairn__arena_init(&a);
        cairn__skiplist l;
        assert_int_equal(cairn__skiplist_init(&l, &a, num_cmp), 0);
        cairn__skip_pending *p = malloc(n * sizeof *p);
        assert_non_null(p);
        /* Distinct keys 1..n in random order (a shuffled permutation). */
        uint64_t *keys = malloc(n * sizeof *keys);
        assert_non_null(keys);
        for (size_t i = 0; i < n; i++)
            keys[i] = i + 1;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)tu_rng_uniform(&rng, (uint32_t)(i + 1));
            uint64_t t = keys[i];
            keys[i] = keys[j];
            keys[j] = t;
        }
        for (size_t i = 0; i < n; i++)
            assert_int_equal(
                cairn__skiplist_prepare(&l, arena_key(&a, keys[i]), &p[i]), 0);
        order_reader rd = {&l, 0, 0, 0};
        pthread_t rt, th[4];
        assert_int_equal(pthread_create(&rt, NULL, order_main, &rd), 0);
        link_job jobs[4];
        for (int t = 0; t < threads; t++) {
            jobs[t] = (link_job){&l, p, (size_t)t, n, (size_t)threads};
            assert_int_equal(pthread_create(&th[t], NULL, link_main, &jobs[t]),
                             0);
        }
        for (int t = 0; t < threads; t++)
            assert_int_equal(pthread_join(th[t], NULL), 0);
        atomic_store(&rd.quit, 1);
        assert_int_equal(pthread_join(rt, NULL), 0);
        assert_int_equal(rd.bad, 0);
        cairn__skiplist_iter it;
        cairn__skiplist_iter_init(&it, &l);
        uint64_t want = 1;
        for (cairn__skiplist_iter_seek_first(&it);
             cairn__skiplist_iter_valid(&it); cairn__skiplist_iter_next(&it))
            assert_int_equal(key_num(cairn__skiplist_iter_key(&it)), want++);
        assert_int_equal(want, n + 1);
        for (size_t i = 0; i < n; i += 7) {
            uint64_t v = keys[i];
            assert_true(cairn__skiplist_contains(&l, (const char *)&v));
        }
        /* Backwards, which walks every level through find_lt. */
        cairn__skiplist_iter_seek_last(&it);
        for (uint64_t k = n; k >= n - 50 && k > 0; k--) {
            assert_true(cairn__skiplist_iter_valid(&it));
            assert_int_equal(key_num(cairn__skiplist_iter_key(&it)), k);
            cairn__skiplist_iter_prev(&it);
        }
        free(keys);
        free(p);
        cairn__arena_fini(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_insert_and_lookup),
        cmocka_unit_test(test_concurrent_without_threads),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_parallel_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
