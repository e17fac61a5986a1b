/*
 * test_memtable_threads.c: the memtable (src/mem/memtable.h) under
 * threads: lock-free readers beside one writer (M1-M3), and entries
 * prepared on one thread and linked by two at once (M4).
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

/* ---- one writer, lock-free readers (M1, M2) ----
 *
 * Entry seq (1-based) is for key (seq - 1) % NK; every 11th is a deletion;
 * the value is a function of (key, seq) with a varying length, so a reader
 * can check any entry it sees for completeness. The writer publishes the
 * last added seq with release; a reader that loads it with acquire must
 * then find every entry up to it. */
enum { NK = 97 };

#define TH_IS_DEL(seq) ((seq) % 11 == 0)

static size_t th_value(uint64_t seq, char *out)
{
    size_t n = (size_t)(seq * 37 % 300);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('a' + (seq + i) % 26);
    return n;
}

static size_t th_key(uint64_t k, char *out)
{
    return (size_t)snprintf(out, 16, "key%05llu", (unsigned long long)k);
}

typedef struct th_shared {
    cairn__memtable *m;
    /* Atomic: the last seq added; stored with release after the add, so an
     * acquire load makes all entries up to it visible. */
    atomic_uint_fast64_t published;
    atomic_int done;    /* Atomic: set by the writer when it has finished */
    atomic_int started; /* Atomic: readers running */
    uint64_t seed;
} th_shared;

typedef struct th_reader {
    th_shared *sh;
    int id;
    uint64_t gets, scans, failures;
    char first_failure[256];
} th_reader;

static void th_fail(th_reader *r, const char *what, uint64_t a)
{
    if (r->failures++ == 0)
        snprintf(r->first_failure, sizeof r->first_failure, "%s (%llu)", what,
                 (unsigned long long)a);
}

/* Checks one iterator entry against what the writer derives from its seq;
 * returns the seq, or 0 after a failure. */
static uint64_t th_check_entry(th_reader *r, cairn__iter *it)
{
    cairn__pikey pk;
    char want[512];
    if (!cairn__ikey_parse(cairn__iter_key(it), &pk) || pk.seq == 0) {
        th_fail(r, "malformed internal key", 0);
        return 0;
    }
    size_t kn = th_key((pk.seq - 1) % NK, want);
    int type = TH_IS_DEL(pk.seq) ? CAIRN__TYPE_DELETION : CAIRN__TYPE_VALUE;
    if (!cairn__slice_equal(pk.user_key, cairn__slice_make(want, kn)) ||
        pk.type != type) {
        th_fail(r, "key or type does not match its seq", pk.seq);
        return 0;
    }
    size_t vn = type == CAIRN__TYPE_VALUE ? th_value(pk.seq, want) : 0;
    if (!cairn__slice_equal(cairn__iter_value(it), cairn__slice_make(want, vn)))
        th_fail(r, "torn or wrong value", pk.seq);
    return pk.seq;
}

static void th_scan(th_reader *r, cairn__iter *it)
{
    uint64_t floor =
        atomic_load_explicit(&r->sh->published, memory_order_acquire);
    uint64_t seen_old = 0, prev = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it)) {
        uint64_t seq = th_check_entry(r, it);
        if (seq == 0)
            break;
        seen_old += seq <= floor;
        /* Keys are "key%05u" of (seq - 1) % NK, so internal-key order is
         * that index ascending, then seq descending. */
        uint64_t k = (seq - 1) % NK, pk = (prev - 1) % NK;
        if (prev != 0 && (k < pk || (k == pk && seq >= prev)))
            th_fail(r, "iterator out of order", seq);
        prev = seq;
    }
    /* Everything published before the scan began was there all along. */
    if (seen_old != floor)
        th_fail(r, "scan missed published entries", floor - seen_old);
    r->scans++;
}

static void th_get(th_reader *r, tu_rng *rng, cairn__buf *v)
{
    uint64_t snap =
        atomic_load_explicit(&r->sh->published, memory_order_acquire);
    uint64_t k = tu_rng_uniform(rng, NK);
    char key[16], want[512];
    size_t kn = th_key(k, key);
    int found = -1;
    if (cairn__memtable_get(r->sh->m, cairn__slice_make(key, kn), snap, v,
                            &found) != 0) {
        th_fail(r, "get failed", k);
        return;
    }
    /* The newest seq <= snap that belongs to k, if any. */
    uint64_t newest = snap >= k + 1 ? snap - (snap - (k + 1)) % NK : 0;
    int want_found = newest == 0 ? 0 : TH_IS_DEL(newest) ? 2 : 1;
    size_t vn = want_found == 1 ? th_value(newest, want) : 0;
    if (found != want_found ||
        (found == 1 &&
         !cairn__slice_equal(cairn__buf_slice(v), cairn__slice_make(want, vn))))
        th_fail(r, "get returned the wrong entry", newest);
    r->gets++;
}

static void *th_reader_main(void *arg)
{
    th_reader *r = arg;
    tu_rng rng;
    tu_rng_init(&rng, r->sh->seed + (uint64_t)r->id);
    cairn__buf v = CAIRN__BUF_INIT;
    cairn__iter *it = cairn__memtable_iter(r->sh->m);
    atomic_fetch_add(&r->sh->started, 1);
    if (it == NULL) {
        th_fail(r, "no iterator", 0);
        return NULL;
    }
    int last = 0;
    while (!last) {
        last = atomic_load(&r->sh->done);
        for (int i = 0; i < 50; i++)
            th_get(r, &rng, &v);
        th_scan(r, it);
    }
    cairn__buf_fini(&v);
    /* The iterator's reference may be the last one: dropping it here
     * exercises unref from a thread other than the creator's. */
    cairn__iter_destroy(it);
    return NULL;
}

static void test_threaded_readers(void **state)
{
    (void)state;
    enum { READERS = 2 };
    int n = (int)(4000 * tu_scale());
    if (n < 100)
        n = 100;
    th_shared sh;
    sh.m = mt_new_mem();
    sh.seed = tu_seed("memtable_threaded_readers");
    atomic_init(&sh.published, 0);
    atomic_init(&sh.done, 0);
    atomic_init(&sh.started, 0);
    tu_watchdog_arm(120, "memtable threaded readers");

    th_reader rd[READERS];
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) {
        rd[i] = (th_reader){.sh = &sh, .id = i + 1};
        assert_int_equal(pthread_create(&th[i], NULL, th_reader_main, &rd[i]),
                         0);
    }
    while (atomic_load(&sh.started) < READERS)
        sched_yield();

    char key[16], val[512];
    for (uint64_t seq = 1; seq <= (uint64_t)n; seq++) {
        size_t kn = th_key((seq - 1) % NK, key);
        int del_entry = TH_IS_DEL(seq);
        size_t vn = del_entry ? 0 : th_value(seq, val);
        assert_int_equal(
            cairn__memtable_add(
                sh.m, seq, del_entry ? CAIRN__TYPE_DELETION : CAIRN__TYPE_VALUE,
                cairn__slice_make(key, kn), cairn__slice_make(val, vn)),
            0);
        /* Release: publishes the entry just added (see published). */
        atomic_store_explicit(&sh.published, seq, memory_order_release);
    }
    atomic_store(&sh.done, 1);
    /* The readers' iterators hold references; drop ours while they may
     * still be reading, so the last unref happens on a reader thread. */
    assert_int_equal(cairn__memtable_count(sh.m), n);
    cairn__memtable_unref(sh.m);
    for (int i = 0; i < READERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (rd[i].failures != 0)
            fail_msg("reader %d: %llu failures, first: %s", i,
                     (unsigned long long)rd[i].failures, rd[i].first_failure);
        assert_true(rd[i].gets > 0);
        assert_true(rd[i].scans > 0);
    }
    tu_watchdog_disarm();
}

/* M4: entries built on one thread and linked by two at once are all
 * found afterwards, each version at its own snapshot; an entry counts
 * once linked, not when built; memory is counted when built. */
typedef struct link_half {
    cairn__memtable *m;
    cairn__buf *pending;
} link_half;

static void *link_half_main(void *arg)
{
    link_half *h = arg;
    cairn__memtable_link(h->m, h->pending);
    return NULL;
}

static void test_prepare_and_parallel_link(void **state)
{
    (void)state;
    cairn__memtable *m = mt_new_mem();
    cairn__buf pend[2] = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    enum { N = 4000 };
    size_t before = cairn__memtable_memory_usage(m);
    char k[32], v[32];
    for (int i = 0; i < N; i++) {
        /* Keys k0..k1999, each with two versions (seq i and i + N), the
         * two halves linked by different threads. */
        snprintf(k, sizeof k, "k%d", i % (N / 2));
        snprintf(v, sizeof v, "v%d", i);
        assert_int_equal(
            cairn__memtable_prepare(m, (uint64_t)i + 1, CAIRN__TYPE_VALUE,
                                    cairn__slice_str(k), cairn__slice_str(v),
                                    &pend[i % 2]),
            0);
    }
    assert_true(cairn__memtable_memory_usage(m) > before);
    assert_int_equal(cairn__memtable_count(m), 0);
    link_half h[2] = {{m, &pend[0]}, {m, &pend[1]}};
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, link_half_main, &h[t]),
                         0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(cairn__memtable_count(m), N);
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "k%d", i % (N / 2));
        snprintf(v, sizeof v, "v%d", i);
        mt_check_get(m, cairn__slice_str(k), (uint64_t)i + 1, 1,
                     cairn__slice_str(v));
    }
    /* A bad type is refused before anything is built. */
    size_t plen = pend[0].len;
    assert_int_equal(cairn__memtable_prepare(m, 1, 7, cairn__slice_str("x"),
                                             cairn__slice_str("y"), &pend[0]),
                     CAIRN_INVALID);
    assert_int_equal(pend[0].len, plen);
    cairn__buf_fini(&pend[0]);
    cairn__buf_fini(&pend[1]);
    cairn__memtable_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threaded_readers),
        cmocka_unit_test(test_prepare_and_parallel_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
