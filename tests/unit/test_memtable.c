/*
 * test_memtable.c: the memtable (src/mem/memtable.h): lookups at
 * snapshots, the iterator's internal-key order, memory accounting,
 * reference counting, and lock-free readers beside one writer (M1-M3).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "mem/memtable.h"
#include "util/ikey.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cairn__memtable *new_mem(void)
{
    cairn__memtable *m = NULL;
    assert_int_equal(cairn__memtable_create(&m), 0);
    assert_non_null(m);
    return m;
}

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

static void assert_slice(cairn__slice s, const void *want, size_t n)
{
    assert_int_equal(s.size, n);
    if (n > 0)
        assert_memory_equal(s.data, want, n);
}

/* Looks key up at snapshot and checks the outcome: want_found as in
 * memtable.h, want the value when want_found is 1. */
static void check_get_s(cairn__memtable *m, cairn__slice key, uint64_t snapshot,
                        int want_found, cairn__slice want)
{
    cairn__buf v = CAIRN__BUF_INIT;
    /* Stale contents must be replaced, not appended to. */
    assert_int_equal(cairn__buf_append(&v, "stale", 5), 0);
    int found = -1;
    assert_int_equal(cairn__memtable_get(m, key, snapshot, &v, &found), 0);
    assert_int_equal(found, want_found);
    if (want_found == 1)
        assert_slice(cairn__buf_slice(&v), want.data, want.size);
    cairn__buf_fini(&v);
}

static void check_get(cairn__memtable *m, const char *key, uint64_t snapshot,
                      int want_found, const char *want)
{
    check_get_s(m, cairn__slice_str(key), snapshot, want_found,
                cairn__slice_str(want != NULL ? want : ""));
}

static void test_add_get_snapshots(void **state)
{
    (void)state;
    cairn__memtable *m = new_mem();
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
    cairn__memtable *m = new_mem();
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
    cairn__memtable *m = new_mem();
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

    cairn__memtable *m = new_mem();
    size_t before = cairn__memtable_memory_usage(m);
    assert_int_equal(cairn__memtable_add(m, 7, CAIRN__TYPE_VALUE,
                                         cairn__slice_make(key, 1000),
                                         cairn__slice_make(val, big)),
                     0);
    assert_true(cairn__memtable_memory_usage(m) >= before + big + 1000);

    cairn__slice k = cairn__slice_make(key, 1000),
                 v = cairn__slice_make(val, big);
    check_get_s(m, k, 7, 1, v);
    /* A key that differs only in its last byte is another key. */
    key[999] ^= 1;
    check_get_s(m, k, 7, 0, v);
    key[999] ^= 1;

    cairn__iter *it = cairn__memtable_iter(m);
    assert_non_null(it);
    cairn__iter_seek_last(it);
    assert_true(cairn__iter_valid(it));
    cairn__slice ik = cairn__iter_key(it);
    assert_int_equal(ik.size, 1008);
    assert_memory_equal(ik.data, key, 1000);
    assert_slice(cairn__iter_value(it), val, big);
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
    assert_slice(pk.user_key, e->key, strlen(e->key));
    assert_int_equal(pk.seq, e->seq);
    assert_int_equal(pk.type, e->type);
    assert_slice(cairn__iter_value(it), e->value,
                 e->type == CAIRN__TYPE_VALUE ? strlen(e->value) : 0);
}

static void test_iterator_order(void **state)
{
    (void)state;
    enum { N = 1500 };
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("memtable_iterator_order"));
    model_entry *model = calloc(N, sizeof *model);
    assert_non_null(model);
    cairn__memtable *m = new_mem();

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
        assert_int_equal(
            add(m, model[i].seq, model[i].type, model[i].key, model[i].value),
            0);
    assert_int_equal(cairn__memtable_count(m), N);
    qsort(model, N, sizeof *model, model_cmp);

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
        memset(&probe, 0, sizeof probe);
        snprintf(probe.key, sizeof probe.key, "k%03u",
                 (unsigned)tu_rng_uniform(&rng, 201));
        probe.seq = tu_rng_uniform(&rng, N + 2);
        cairn__buf_clear(&target);
        assert_int_equal(cairn__ikey_append(&target,
                                            cairn__slice_str(probe.key),
                                            probe.seq, CAIRN__TYPE_FOR_SEEK),
                         0);
        cairn__iter_seek(it, cairn__buf_slice(&target));
        int j = 0;
        while (j < N && model_cmp(&model[j], &probe) < 0)
            j++;
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

static void test_memory_usage_grows(void **state)
{
    (void)state;
    cairn__memtable *m = new_mem();
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

    cairn__memtable *m = new_mem();
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
    assert_slice(cairn__iter_value(it), "1", 1);
    cairn__iter_next(it);
    assert_false(cairn__iter_valid(it));
    cairn__iter_destroy(it);
    cairn__iter_destroy(NULL);
}

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
    sh.m = new_mem();
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
    cairn__memtable *m = new_mem();
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
        check_get_s(m, cairn__slice_str(k), (uint64_t)i + 1, 1,
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
        cmocka_unit_test(test_add_get_snapshots),
        cmocka_unit_test(test_same_key_many_seqs),
        cmocka_unit_test(test_empty_key_and_value),
        cmocka_unit_test(test_large_value_and_key),
        cmocka_unit_test(test_iterator_order),
        cmocka_unit_test(test_memory_usage_grows),
        cmocka_unit_test(test_ref_unref),
        cmocka_unit_test(test_threaded_readers),
        cmocka_unit_test(test_prepare_and_parallel_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
