/*
 * read_flush_check.c: keys, values, the checks of what a read returns,
 * and the reader threads of the read-while-flush test (read_flush.h).
 * Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "read_flush.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t rwf_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rwf_fail_shared(rwf_shared *sh, const char *fmt, ...)
{
    pthread_mutex_lock(&sh->fail_mu);
    if (sh->fail[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->fail, sizeof sh->fail, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&sh->fail_mu);
    atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
}

static uint32_t mix(uint32_t k, uint32_t v)
{
    uint32_t h = k * 2654435761u ^ (v + 0x9e3779b9u) * 40503u;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

int rwf_is_delete(uint32_t k, uint32_t v)
{
    return v != 0 && mix(k, v) % 8 == 0;
}

/* Some version in [lo, hi] leaves k absent. */
static int may_be_absent(uint32_t k, uint32_t lo, uint32_t hi)
{
    if (lo == 0)
        return 1;
    for (uint32_t v = lo; v <= hi; v++)
        if (rwf_is_delete(k, v))
            return 1;
    return 0;
}

size_t rwf_make_key(char *buf, uint32_t k)
{
    return (size_t)snprintf(buf, 16, "k%06" PRIu32, k);
}

size_t rwf_make_value(char *buf, uint32_t k, uint32_t v)
{
    int n = snprintf(buf, 40, "k%06" PRIu32 " v%010" PRIu32 "|", k, v);
    uint32_t h = mix(v, k);
    size_t pad = h % 300;
    if ((h >> 9) % 32 == 0)
        pad = 1000 + (h >> 14) % 5000;
    for (size_t i = 0; i < pad; i++)
        buf[(size_t)n + i] = (char)('a' + (h + i * 13) % 26);
    return (size_t)n + pad;
}

uint32_t rwf_check_value(rwf_shared *sh, const char *who, uint32_t k,
                         const void *val, size_t len, uint32_t lo, uint32_t hi,
                         char *scratch)
{
    char head[32];
    size_t hl = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, val, hl);
    head[hl] = '\0';
    unsigned kk = 0, vv = 0;
    if (sscanf(head, "k%6u v%10u|", &kk, &vv) != 2 || kk != k || vv == 0 ||
        rwf_make_value(scratch, k, vv) != len ||
        memcmp(scratch, val, len) != 0) {
        rwf_fail_shared(sh,
                        "%s: key k%06" PRIu32 " holds a value not written to "
                        "it ('%s', %zu bytes)",
                        who, k, head, len);
        return 0;
    }
    if (vv < lo || vv > hi || rwf_is_delete(k, vv)) {
        rwf_fail_shared(sh,
                        "%s: key k%06" PRIu32 " at version %u; expected a "
                        "put version in [%" PRIu32 ", %" PRIu32 "]%s",
                        who, k, vv, lo, hi,
                        rwf_is_delete(k, vv) ? " (that version is a delete)"
                                             : "");
        return 0;
    }
    return vv;
}

static void check_absent(rwf_shared *sh, const char *who, uint32_t k,
                         uint32_t lo, uint32_t hi)
{
    if (!may_be_absent(k, lo, hi))
        rwf_fail_shared(sh,
                        "%s: key k%06" PRIu32 " is absent; every version in "
                        "[%" PRIu32 ", %" PRIu32 "] is a put",
                        who, k, lo, hi);
}

/* ---------------------------------------------------------------------- */
/* Readers                                                                 */

int rwf_get_key(rwf_shared *sh, const char *who, const cairn_readoptions *ro,
                uint32_t k, void **val, size_t *len)
{
    char key[16];
    int rc = cairn_db_get(sh->db, ro, key, rwf_make_key(key, k), val, len);
    if (rc == 0)
        return 1;
    if (rc == CAIRN_NOTFOUND)
        return 0;
    rwf_fail_shared(sh, "%s: get k%06" PRIu32 ": %s (%s)", who, k,
                    cairn_errname(rc), cairn_errmsg());
    return -1;
}

static void checked_get(rwf_shared *sh, const char *who, uint32_t k,
                        char *scratch)
{
    void *val = NULL;
    size_t len = 0;
    uint32_t lo = atomic_load_explicit(&sh->done[k], memory_order_acquire);
    int found = rwf_get_key(sh, who, NULL, k, &val, &len);
    uint32_t hi = atomic_load_explicit(&sh->started[k], memory_order_acquire);
    if (found == 1)
        (void)rwf_check_value(sh, who, k, val, len, lo, hi, scratch);
    else if (found == 0)
        check_absent(sh, who, k, lo, hi);
    cairn_free(val);
    atomic_fetch_add_explicit(&sh->gets, 1, memory_order_relaxed);
}

/* Two gets of k at one snapshot, with other reads in between, must agree
 * byte for byte. */
static void snapshot_reread(rwf_shared *sh, const char *who, tu_rng *rng,
                            cairn_readoptions *ro, char *scratch)
{
    uint32_t k = (uint32_t)tu_rng_uniform(rng, NKEYS);
    uint32_t lo = atomic_load_explicit(&sh->done[k], memory_order_acquire);
    const cairn_snapshot *snap = cairn_db_create_snapshot(sh->db);
    if (snap == NULL) {
        rwf_fail_shared(sh, "%s: create snapshot: %s", who, cairn_errmsg());
        return;
    }
    (void)cairn_readoptions_set_snapshot(ro, snap);
    void *v1 = NULL, *v2 = NULL;
    size_t l1 = 0, l2 = 0;
    int f1 = rwf_get_key(sh, who, ro, k, &v1, &l1);
    uint32_t hi = atomic_load_explicit(&sh->started[k], memory_order_acquire);
    if (f1 == 1)
        (void)rwf_check_value(sh, who, k, v1, l1, lo, hi, scratch);
    else if (f1 == 0)
        check_absent(sh, who, k, lo, hi);
    for (int i = 0; i < 16; i++)
        checked_get(sh, who, (uint32_t)tu_rng_uniform(rng, NKEYS), scratch);
    int f2 = rwf_get_key(sh, who, ro, k, &v2, &l2);
    if (f1 >= 0 && f2 >= 0 &&
        (f1 != f2 || l1 != l2 || (f1 == 1 && memcmp(v1, v2, l1) != 0)))
        rwf_fail_shared(sh,
                        "%s: key k%06" PRIu32 " read twice at one snapshot: "
                        "%s (%zu bytes), then %s (%zu bytes)",
                        who, k, f1 ? "found" : "absent", l1,
                        f2 ? "found" : "absent", l2);
    cairn_free(v1);
    cairn_free(v2);
    (void)cairn_readoptions_set_snapshot(ro, NULL);
    cairn_db_release_snapshot(sh->db, snap);
    atomic_fetch_add_explicit(&sh->snap_checks, 1, memory_order_relaxed);
}

/* Parses "k%06u" into *k; 0 if the key is not one of the test's. */
static int parse_key(const void *key, size_t len, uint32_t *k)
{
    char buf[16];
    unsigned u;
    if (len != 7)
        return 0;
    memcpy(buf, key, len);
    buf[len] = '\0';
    if (buf[0] != 'k' || sscanf(buf + 1, "%6u", &u) != 1 || u >= NKEYS)
        return 0;
    *k = u;
    return 1;
}

/* A short iteration from a random seek, forward or backward, within the
 * window [first, last] of keys whose lower bounds were loaded before the
 * iterator was created. */
static void short_iteration(rwf_shared *sh, const char *who, tu_rng *rng,
                            char *scratch)
{
    uint32_t lo[2 * WINDOW + 1];
    uint32_t k0 = (uint32_t)tu_rng_uniform(rng, NKEYS);
    int backward = (int)tu_rng_uniform(rng, 2);
    int64_t first = (int64_t)k0 - (backward ? WINDOW : 0);
    int64_t last = (int64_t)k0 + WINDOW;
    if (first < 0)
        first = 0;
    if (last >= NKEYS)
        last = NKEYS - 1;
    for (int64_t k = first; k <= last; k++)
        lo[k - first] =
            atomic_load_explicit(&sh->done[k], memory_order_acquire);
    cairn_iter *it = cairn_db_iter_create(sh->db, NULL);
    if (it == NULL) {
        rwf_fail_shared(sh, "%s: iterator: %s", who, cairn_errmsg());
        return;
    }
    char key[16];
    cairn_iter_seek(it, key, rwf_make_key(key, k0));
    /* Keys in (prev, next) were passed over: each must be absent-able.
     * The seek passes over [k0, first key found). */
    int64_t prev = (int64_t)k0 - 1, step = 0;
    int dir = 1;
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        int64_t cur;
        uint32_t k = 0;
        if (cairn_iter_valid(it)) {
            size_t kl, vl;
            const void *kp = cairn_iter_key(it, &kl);
            const void *vp = cairn_iter_value(it, &vl);
            if (!parse_key(kp, kl, &k)) {
                rwf_fail_shared(sh,
                                "%s: iterator yields a key never written "
                                "(%zu bytes)",
                                who, kl);
                break;
            }
            cur = k;
            if ((dir > 0 && cur <= prev) || (dir < 0 && cur >= prev)) {
                rwf_fail_shared(sh,
                                "%s: iterator (%s) yields k%06" PRIu32
                                " after k%06" PRId64 "%s",
                                who, dir > 0 ? "next" : "prev", k, prev,
                                cur == prev ? ": a duplicate"
                                            : ": out of order");
                break;
            }
            if (cur >= first && cur <= last) {
                uint32_t hi =
                    atomic_load_explicit(&sh->started[k], memory_order_acquire);
                (void)rwf_check_value(sh, who, k, vp, vl, lo[cur - first], hi,
                                      scratch);
            }
        } else {
            cur = dir > 0 ? NKEYS : -1; /* ran off the end */
        }
        /* The keys passed over, within the window. */
        for (int64_t j = prev + dir; j != cur; j += dir) {
            if (j < first || j > last)
                break;
            uint32_t hi =
                atomic_load_explicit(&sh->started[j], memory_order_acquire);
            check_absent(sh, who, (uint32_t)j, lo[j - first], hi);
        }
        atomic_fetch_add_explicit(&sh->iter_entries, 1, memory_order_relaxed);
        if (!cairn_iter_valid(it) || cur < first || cur > last || ++step > 24)
            break;
        if (step == 1 && backward) {
            /* Turn around: the first key found was >= k0, so going back
             * the keys passed over are those below it. */
            dir = -1;
        }
        prev = cur;
        if (dir > 0)
            cairn_iter_next(it);
        else
            cairn_iter_prev(it);
    }
    if (cairn_iter_status(it) != 0)
        rwf_fail_shared(sh, "%s: iterator status %s (%s)", who,
                        cairn_errname(cairn_iter_status(it)), cairn_errmsg());
    cairn_iter_destroy(it);
}

void *rwf_reader_main(void *arg)
{
    rwf_reader *rd = arg;
    rwf_shared *sh = rd->sh;
    char who[32];
    snprintf(who, sizeof who, "reader %d", rd->id);
    tu_rng rng;
    tu_rng_init(&rng, sh->seed + 1000003u * (uint64_t)(rd->id + 1));
    char *scratch = malloc(VAL_MAX);
    cairn_readoptions *ro = cairn_readoptions_create();
    if (scratch == NULL || ro == NULL) {
        rwf_fail_shared(sh, "%s: out of memory", who);
    }
    while (scratch != NULL && ro != NULL &&
           !atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        unsigned p = (unsigned)tu_rng_uniform(&rng, 10);
        if (p < 6)
            checked_get(sh, who, (uint32_t)tu_rng_uniform(&rng, NKEYS),
                        scratch);
        else if (p < 7)
            snapshot_reread(sh, who, &rng, ro, scratch);
        else
            short_iteration(sh, who, &rng, scratch);
    }
    cairn_readoptions_destroy(ro);
    free(scratch);
    return NULL;
}
