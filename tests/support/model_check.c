/*
 * model_check.c: the model test's keys, values, writes and checked reads
 * (model_test.h). Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "model_test.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int mkey_cmp(const void *a, const void *b)
{
    const mdl_key *x = a, *y = b;
    return key_cmp(x->b, x->len, y->b, y->len);
}

static const unsigned char alphabet[] = {0x00, 0x01, 'a',  'b',
                                         0x7f, 0x80, 0xfe, 0xff};

static void random_key(tu_rng *rng, mdl_key *k)
{
    k->len = 1 + (size_t)tu_rng_uniform(rng, KEY_MAX);
    for (size_t i = 0; i < k->len; i++)
        k->b[i] = alphabet[tu_rng_uniform(rng, sizeof alphabet)];
}

void mdl_make_keys(mdl_run *r)
{
    int n = 0;
    r->keys[n++].len = 0;
    while (n < NKEYS) {
        mdl_key k;
        const mdl_key *base = &r->keys[tu_rng_uniform(&r->rng, (uint64_t)n)];
        if (tu_rng_uniform(&r->rng, 3) == 0 && base->len < KEY_MAX) {
            k = *base;
            k.b[k.len++] = alphabet[tu_rng_uniform(&r->rng, sizeof alphabet)];
        } else {
            random_key(&r->rng, &k);
        }
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = mkey_cmp(&k, &r->keys[i]) == 0;
        if (!dup)
            r->keys[n++] = k;
    }
    qsort(r->keys, NKEYS, sizeof r->keys[0], mkey_cmp);
}

/* The first table index whose key is >= k (NKEYS if none); *exact says
 * whether k is in the table. */
static int lower_bound(const mdl_run *r, const void *k, size_t klen, int *exact)
{
    int lo = 0, hi = NKEYS;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (key_cmp(r->keys[mid].b, r->keys[mid].len, k, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *exact =
        lo < NKEYS && key_cmp(r->keys[lo].b, r->keys[lo].len, k, klen) == 0;
    return lo;
}

/* The length of value id: empty, tiny, small, kilobytes, or over 32 KiB. */
static size_t value_len(const mdl_run *r, uint32_t id)
{
    uint64_t h = (r->seed ^ id) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    unsigned p = (unsigned)(h % 100);
    h >>= 8;
    if (p < 5)
        return 0;
    if (p < 10)
        return 1 + h % 4;
    if (p < 70)
        return 5 + h % 60;
    if (p < 94)
        return 65 + h % 2000;
    if (p < 98)
        return 2000 + h % 6000;
    return 32 * 1024 + 1 + h % (VAL_MAX - 32 * 1024);
}

/* Writes value id into buf and returns its length. */
static size_t make_value(const mdl_run *r, uint32_t id, unsigned char *buf)
{
    size_t len = value_len(r, id), i = 0;
    tu_rng g;
    tu_rng_init(&g, r->seed * 31u + id);
    if (len >= 5) {
        buf[0] = 'V';
        memcpy(buf + 1, &id, 4);
        i = 5;
    }
    if (id % 2) {
        tu_rng_bytes(&g, buf + i, len - i);
        return len;
    }
    while (i < len) { /* runs of one byte: compressible */
        size_t run_len = 1 + (size_t)tu_rng_uniform(&g, 40);
        unsigned char c = (unsigned char)('a' + tu_rng_uniform(&g, 4));
        for (; run_len > 0 && i < len; run_len--)
            buf[i++] = c;
    }
    return len;
}

void mdl_fail_at(const mdl_run *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fail_msg("[%s] CAIRN_TEST_SEED=%" PRIu64 " step %ld op %s: %s", r->cfg,
             r->seed, r->step, r->op, msg);
}

static void fmt_key(char *out, size_t cap, const void *k, size_t n)
{
    const unsigned char *p = k;
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
        out[o] = '\0';
    }
}

static void fmt_got(mdl_run *r, char *out, size_t cap, const void *v, size_t n)
{
    uint32_t id = 0;
    if (n >= 5 && ((const unsigned char *)v)[0] == 'V')
        memcpy(&id, (const unsigned char *)v + 1, 4);
    if (id != 0 && id < r->next_id && make_value(r, id, r->val) == n &&
        memcmp(r->val, v, n) == 0) {
        snprintf(out, cap, "value id %" PRIu32 " (%zu bytes)", id, n);
        return;
    }
    char hex[40];
    fmt_key(hex, sizeof hex, v, n < 8 ? n : 8);
    snprintf(out, cap, "%zu bytes not of any value written ('%s...')", n, hex);
}

static void mismatch(mdl_run *r, const void *k, size_t klen, uint32_t want,
                     int found, const void *got, size_t gotlen,
                     const char *what)
{
    char ks[80], ws[64], gs[96];
    fmt_key(ks, sizeof ks, k, klen);
    if (want)
        snprintf(ws, sizeof ws, "value id %" PRIu32 " (%zu bytes)", want,
                 value_len(r, want));
    else
        snprintf(ws, sizeof ws, "absent");
    if (found)
        fmt_got(r, gs, sizeof gs, got, gotlen);
    else
        snprintf(gs, sizeof gs, "absent");
    mdl_fail_at(r, "%s: key '%s' (%zu bytes): expected %s, got %s", what, ks,
                klen, ws, gs);
}

/* ---------------------------------------------------------------------- */
/* Writes                                                                  */

static const mdl_key *pick_key(mdl_run *r, int *idx)
{
    *idx = (int)tu_rng_uniform(&r->rng, NKEYS);
    return &r->keys[*idx];
}

void mdl_random_write(mdl_run *r, cairn_writeoptions *sync)
{
    unsigned p = (unsigned)tu_rng_uniform(&r->rng, 40);
    const cairn_writeoptions *wo = tu_rng_uniform(&r->rng, 10) ? NULL : sync;
    int idx, rc;
    if (p < 30) {
        const mdl_key *k = pick_key(r, &idx);
        uint32_t id = p < 22 ? r->next_id++ : 0;
        r->op = id ? "put" : "delete";
        rc = id ? cairn_db_put(r->db, wo, k->b, k->len, r->val,
                               make_value(r, id, r->val))
                : cairn_db_delete(r->db, wo, k->b, k->len);
        if (rc == 0)
            r->cur.v[idx] = id;
    } else {
        r->op = "batch";
        mdl_state after = r->cur;
        cairn_batch *b = cairn_batch_create();
        assert_non_null(b);
        int n = 2 + (int)tu_rng_uniform(&r->rng, MAX_BATCH - 1), prev = -1;
        for (int j = 0; j < n; j++) {
            /* A quarter of the entries name the previous key again. */
            if (prev >= 0 && tu_rng_uniform(&r->rng, 4) == 0)
                idx = prev;
            else
                (void)pick_key(r, &idx);
            const mdl_key *k = &r->keys[idx];
            prev = idx;
            if (tu_rng_uniform(&r->rng, 3) == 0) {
                assert_int_equal(cairn_batch_delete(b, k->b, k->len), 0);
                after.v[idx] = 0;
            } else {
                uint32_t id = r->next_id++;
                size_t vl = make_value(r, id, r->val);
                assert_int_equal(cairn_batch_put(b, k->b, k->len, r->val, vl),
                                 0);
                after.v[idx] = id;
            }
        }
        rc = cairn_db_write(r->db, wo, b);
        cairn_batch_destroy(b);
        if (rc == 0)
            r->cur = after;
    }
    if (rc != 0)
        mdl_fail_at(r, "failed: %s (%s)", cairn_errname(rc), cairn_errmsg());
}

/* ---------------------------------------------------------------------- */
/* Reads                                                                   */

void mdl_check_get(mdl_run *r, const cairn_readoptions *ro, const mdl_state *m,
                   const void *k, size_t klen, int idx)
{
    void *got = NULL;
    size_t len = 0;
    int rc = cairn_db_get(r->db, ro, k, klen, &got, &len);
    uint32_t want = idx >= 0 ? m->v[idx] : 0;
    if (rc != 0 && rc != CAIRN_NOTFOUND)
        mdl_fail_at(r, "get failed: %s (%s)", cairn_errname(rc),
                    cairn_errmsg());
    int ok = rc == CAIRN_NOTFOUND ? want == 0 && got == NULL
                                  : want != 0 && got != NULL &&
                                        make_value(r, want, r->val) == len &&
                                        memcmp(r->val, got, len) == 0;
    if (!ok)
        mismatch(r, k, klen, want, rc == 0, got, len, "get");
    cairn_free(got);
    r->checks++;
}

void mdl_probe_key(mdl_run *r, mdl_key *k, int *idx)
{
    if (tu_rng_uniform(&r->rng, 2) == 0) {
        *k = *pick_key(r, idx);
        return;
    }
    int exact;
    random_key(&r->rng, k);
    if (tu_rng_uniform(&r->rng, 8) == 0)
        k->len = 0;
    int lb = lower_bound(r, k->b, k->len, &exact);
    *idx = exact ? lb : -1;
}

/* Compares the iterator's position with index i of model m (-1: the
 * iterator must be invalid). */
static void check_pos(mdl_run *r, cairn_iter *it, const mdl_state *m, int i,
                      const char *what)
{
    int valid = cairn_iter_valid(it);
    size_t kl = 0, vl = 0;
    const void *k = cairn_iter_key(it, &kl);
    const void *v = cairn_iter_value(it, &vl);
    r->checks++;
    if (cairn_iter_status(it) != 0)
        mdl_fail_at(r, "%s: iterator status %s (%s)", what,
                    cairn_errname(cairn_iter_status(it)), cairn_errmsg());
    if (i < 0) {
        if (valid)
            mismatch(r, k, kl, 0, 1, v, vl, "iterator should be at the end");
        return;
    }
    const mdl_key *want = &r->keys[i];
    if (!valid)
        mismatch(r, want->b, want->len, m->v[i], 0, NULL, 0, what);
    if (key_cmp(k, kl, want->b, want->len) != 0) {
        char ks[80], ws[80];
        fmt_key(ks, sizeof ks, k, kl);
        fmt_key(ws, sizeof ws, want->b, want->len);
        mdl_fail_at(r,
                    "%s: iterator at key '%s' (%zu bytes), expected key '%s' "
                    "(%zu bytes)",
                    what, ks, kl, ws, want->len);
    }
    if (make_value(r, m->v[i], r->val) != vl || memcmp(r->val, v, vl) != 0)
        mismatch(r, k, kl, m->v[i], 1, v, vl, what);
}

/* Next present index after (dir 1) or before (dir -1) i; -1 if none. */
static int step_pos(const mdl_state *m, int i, int dir)
{
    for (i += dir; i >= 0 && i < NKEYS; i += dir)
        if (m->v[i] != 0)
            return i;
    return -1;
}

void mdl_check_scan(mdl_run *r, cairn_iter *it, const mdl_state *m,
                    int backward)
{
    int dir = backward ? -1 : 1;
    int i = step_pos(m, backward ? NKEYS : -1, dir);
    if (backward)
        cairn_iter_seek_last(it);
    else
        cairn_iter_seek_first(it);
    for (;;) {
        check_pos(r, it, m, i, backward ? "backward scan" : "forward scan");
        if (i < 0)
            break;
        if (backward)
            cairn_iter_prev(it);
        else
            cairn_iter_next(it);
        i = step_pos(m, i, dir);
    }
}

const mdl_state *mdl_pick_view(mdl_run *r, cairn_readoptions *ro)
{
    if (r->nsnaps == 0 || tu_rng_uniform(&r->rng, 2) == 0) {
        assert_int_equal(cairn_readoptions_set_snapshot(ro, NULL), 0);
        return &r->cur;
    }
    mdl_snap *s = &r->snaps[tu_rng_uniform(&r->rng, (uint64_t)r->nsnaps)];
    assert_int_equal(cairn_readoptions_set_snapshot(ro, s->snap), 0);
    return &s->m;
}

void mdl_walk(mdl_run *r, cairn_readoptions *ro)
{
    const mdl_state *m = mdl_pick_view(r, ro);
    cairn_iter *it = cairn_db_iter_create(r->db, ro);
    assert_non_null(it);
    int i = -1, moves = (int)tu_rng_uniform(&r->rng, 40);
    for (int n = 0; n <= moves; n++) {
        if (n == 0 || i < 0) {
            unsigned how = (unsigned)tu_rng_uniform(&r->rng, 8);
            if (how == 0) {
                cairn_iter_seek_first(it);
                i = step_pos(m, -1, 1);
            } else if (how == 1) {
                cairn_iter_seek_last(it);
                i = step_pos(m, NKEYS, -1);
            } else {
                mdl_key k;
                int idx, exact;
                mdl_probe_key(r, &k, &idx);
                cairn_iter_seek(it, k.b, k.len);
                i = lower_bound(r, k.b, k.len, &exact);
                if (i == NKEYS || m->v[i] == 0)
                    i = step_pos(m, i, 1);
            }
            check_pos(r, it, m, i, "seek");
            continue;
        }
        if (tu_rng_uniform(&r->rng, 2)) {
            cairn_iter_next(it);
            i = step_pos(m, i, 1);
            check_pos(r, it, m, i, "next");
        } else {
            cairn_iter_prev(it);
            i = step_pos(m, i, -1);
            check_pos(r, it, m, i, "prev");
        }
    }
    cairn_iter_destroy(it);
}
