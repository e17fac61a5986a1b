/*
 * demo_work.c: the workload of `cairn demo` and its exact check (the why
 * of the design is in demo.h).
 *
 * Each thread, until its time (or --keys write count) is up, picks:
 *   25% get of one of its keys, checked against its model at once;
 *   45% put; 10% delete; 20% atomic batch of 2-8 puts and deletes;
 * and one write in 50 is a sync write (fdatasync before it returns). The
 * model is updated only after the write returned success, so it always
 * holds exactly the acknowledged state of the thread's range.
 */
#include "demo.h"

#include "tool.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SHOWN_MISMATCHES 5

atomic_int demo_stop;
atomic_uint_fast64_t demo_progress;

uint64_t demo_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, and good enough to pick operations and keys. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

uint64_t demo_mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static void make_key(char *key, unsigned thread, uint32_t idx)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "t%02u-k%011" PRIu32, thread, idx);
    memcpy(key, tmp, DEMO_KEY_LEN);
}

/* The value of (thread, idx, version): 90..110 printable bytes. */
static size_t make_value(char *buf, unsigned thread, uint32_t idx,
                         uint32_t version)
{
    uint64_t s =
        demo_mix(((uint64_t)thread << 56) ^ ((uint64_t)idx << 28) ^ version) |
        1;
    size_t n = 90 + (size_t)(rng_next(&s) % 21);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + rng_next(&s) % 26);
    return n;
}

/* Compares what the database returned with the model. Returns 1 when they
 * agree; otherwise describes the disagreement in `why`. */
static int check_value(unsigned thread, uint32_t idx, uint32_t want, int rc,
                       const void *val, size_t vlen, char *why, size_t cap)
{
    char key[DEMO_KEY_LEN + 1];
    char expect[128];
    make_key(key, thread, idx);
    key[DEMO_KEY_LEN] = '\0';
    if (want == 0) {
        if (rc == CAIRN_NOTFOUND)
            return 1;
        snprintf(why, cap, "key %s should be absent but %s", key,
                 rc == 0 ? "has a value" : cairn_strerror(rc));
        return 0;
    }
    if (rc != 0) {
        snprintf(why, cap, "key %s (version %" PRIu32 "): %s", key, want,
                 cairn_strerror(rc));
        return 0;
    }
    size_t n = make_value(expect, thread, idx, want);
    if (vlen == n && memcmp(val, expect, n) == 0)
        return 1;
    snprintf(why, cap,
             "key %s: wrong value (%zu bytes, expected version "
             "%" PRIu32 " of %zu bytes)",
             key, vlen, want, n);
    return 0;
}

static void worker_fail(demo_worker *w, int rc)
{
    w->rc = rc;
    snprintf(w->errmsg, sizeof w->errmsg, "thread %u: %s", w->id,
             cairn_errmsg()[0] ? cairn_errmsg() : cairn_strerror(rc));
    atomic_store_explicit(&demo_stop, 1, memory_order_relaxed);
}

static int do_get(demo_worker *w)
{
    char key[DEMO_KEY_LEN];
    uint32_t idx = (uint32_t)(rng_next(&w->rng) % DEMO_KEYS_PER_THREAD);
    void *val = NULL;
    size_t vlen = 0;
    make_key(key, w->id, idx);
    int rc = cairn_db_get(w->db, NULL, key, DEMO_KEY_LEN, &val, &vlen);
    w->reads++;
    if (rc != 0 && rc != CAIRN_NOTFOUND) {
        worker_fail(w, rc);
        return -1;
    }
    char why[256];
    if (check_value(w->id, idx, w->model[idx], rc, val, vlen, why,
                    sizeof why)) {
        w->hits += rc == 0;
    } else if (w->wrong++ == 0) {
        snprintf(w->errmsg, sizeof w->errmsg, "thread %u read: %s", w->id, why);
    }
    cairn_free(val);
    return 0;
}

/* One put, delete or batch; updates the model after success. */
static int do_write(demo_worker *w, unsigned kind, cairn_batch *b)
{
    char key[DEMO_KEY_LEN], val[128];
    uint32_t idx[8], ver[8];
    unsigned n = kind == 2 ? 2 + (unsigned)(rng_next(&w->rng) % 7) : 1;
    int sync = rng_next(&w->rng) % 50 == 0;
    const cairn_writeoptions *wo = sync ? w->wo_sync : w->wo_plain;
    int rc = 0;
    if (kind == 2 && (rc = cairn_batch_clear(b)) != 0)
        goto fail;
    for (unsigned i = 0; i < n; i++) {
        idx[i] = (uint32_t)(rng_next(&w->rng) % DEMO_KEYS_PER_THREAD);
        /* Single deletes are kind 1; a batch deletes about one in six. */
        int del = kind == 1 || (kind == 2 && rng_next(&w->rng) % 6 == 0);
        ver[i] = del ? 0 : ++w->next_version;
        make_key(key, w->id, idx[i]);
        size_t vlen = del ? 0 : make_value(val, w->id, idx[i], ver[i]);
        if (kind == 2)
            rc = del ? cairn_batch_delete(b, key, DEMO_KEY_LEN)
                     : cairn_batch_put(b, key, DEMO_KEY_LEN, val, vlen);
        else
            rc = del ? cairn_db_delete(w->db, wo, key, DEMO_KEY_LEN)
                     : cairn_db_put(w->db, wo, key, DEMO_KEY_LEN, val, vlen);
        if (rc != 0)
            goto fail;
        if (kind == 1)
            w->deletes++;
        else if (kind == 0)
            w->puts++;
    }
    if (kind == 2) {
        if ((rc = cairn_db_write(w->db, wo, b)) != 0)
            goto fail;
        w->batches++;
        w->batch_entries += n;
    }
    for (unsigned i = 0; i < n; i++)
        w->model[idx[i]] = ver[i];
    w->sync_writes += sync;
    w->writes += n;
    return 0;
fail:
    worker_fail(w, rc);
    return -1;
}

void *demo_worker_main(void *arg)
{
    demo_worker *w = arg;
    cairn_batch *b = cairn_batch_create();
    if (b == NULL) {
        worker_fail(w, CAIRN_NOMEM);
        return NULL;
    }
    while (!atomic_load_explicit(&demo_stop, memory_order_relaxed)) {
        if (w->cfg->keys ? w->writes >= w->cfg->keys
                         : demo_now_ns() >= w->deadline_ns)
            break;
        unsigned r = (unsigned)(rng_next(&w->rng) % 100);
        int rc;
        if (r < 25)
            rc = do_get(w);
        else if (r < 70)
            rc = do_write(w, 0, b);
        else if (r < 80)
            rc = do_write(w, 1, b);
        else
            rc = do_write(w, 2, b);
        if (rc != 0)
            break;
        atomic_fetch_add_explicit(&demo_progress, 1, memory_order_relaxed);
    }
    cairn_batch_destroy(b);
    return NULL;
}

uint64_t demo_verify_all(cairn_db *db, const demo_worker *ws, unsigned nthreads,
                         uint64_t *present, int *rc_out)
{
    uint64_t bad = 0;
    char key[DEMO_KEY_LEN], why[256];
    *present = 0;
    *rc_out = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        for (uint32_t i = 0; i < DEMO_KEYS_PER_THREAD; i++) {
            void *val = NULL;
            size_t vlen = 0;
            make_key(key, t, i);
            int rc = cairn_db_get(db, NULL, key, DEMO_KEY_LEN, &val, &vlen);
            if (rc != 0 && rc != CAIRN_NOTFOUND) {
                *rc_out = rc;
                tool_engine_error(rc, cairn_errmsg());
                return bad;
            }
            if (!check_value(t, i, ws[t].model[i], rc, val, vlen, why,
                             sizeof why)) {
                if (bad++ < SHOWN_MISMATCHES)
                    fprintf(stderr, "cairn demo: after reopen: %s\n", why);
            } else {
                *present += rc == 0;
            }
            cairn_free(val);
            atomic_fetch_add_explicit(&demo_progress, 1, memory_order_relaxed);
        }
    }
    return bad;
}
