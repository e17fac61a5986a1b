/*
 * ldb_tables_read.c: the readers of the table-level compatibility scenario
 * (ldb_tables.h): gets, scans and seeks through either engine, checked
 * against the model. Test-only code.
 */
#include "ldb_tables.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

static size_t next_live(const ldbt_slot *m, size_t n, size_t from)
{
    for (size_t i = from; i < n; i++)
        if (m[i].state == LIVE)
            return i;
    return NONE;
}

/* The last live id below end. */
static size_t prev_live(const ldbt_slot *m, size_t end)
{
    while (end-- > 0)
        if (m[end].state == LIVE)
            return end;
    return NONE;
}

static void hex(const void *p, size_t n, char *out, size_t cap)
{
    size_t i = 0;
    for (; i < n && 2 * i + 3 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", ((const unsigned char *)p)[i]);
    out[2 * i] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Readers: the same checks through either engine                           */

static void fail_key(const ldbt_run *r, const ldbt_reader *rd, const void *k,
                     size_t kl, const char *msg)
{
    char kh[2 * KEY_CAP + 3];
    hex(k, kl, kh, sizeof kh);
    fail_msg("config %s, seed %llu, %s: key %s (%zu bytes): %s", r->cfg->name,
             (unsigned long long)r->seed, rd->who, kh, kl, msg);
}

/* Fails unless got is the value the model slot s describes for id. */
static void check_value(ldbt_run *r, const ldbt_reader *rd, const char *what,
                        size_t id, const ldbt_slot *s, const void *got,
                        size_t glen)
{
    ldbt_make_value(r, id, s->gen, s->vlen, r->ebuf);
    if (glen == s->vlen && (glen == 0 || memcmp(got, r->ebuf, glen) == 0))
        return;
    const unsigned char *g = got;
    size_t d = 0;
    while (d < glen && d < s->vlen && g[d] == r->ebuf[d])
        d++;
    char eh[20], gh[20], msg[200];
    hex(r->ebuf + d, s->vlen - d < 8 ? s->vlen - d : 8, eh, sizeof eh);
    hex(g + d, glen - d < 8 ? glen - d : 8, gh, sizeof gh);
    snprintf(msg, sizeof msg,
             "%s: expected a %u-byte value (generation %u), got %zu bytes; "
             "from byte %zu expected %s.. got %s..",
             what, (unsigned)s->vlen, (unsigned)s->gen, glen, d, eh, gh);
    unsigned char k[KEY_CAP];
    fail_key(r, rd, k, ldbt_make_key(r, id, k), msg);
}

void ldbt_expect_get(ldbt_run *r, const ldbt_reader *rd, const ldbt_slot *m,
                     size_t id, int gap)
{
    unsigned char k[KEY_CAP + 1];
    size_t kl = ldbt_make_key(r, id, k);
    if (gap)
        k[kl++] = 0;
    int live = !gap && m[id].state == LIVE;
    void *v = NULL;
    size_t vl = 0;
    if (rd->cdb != NULL) {
        int rc = cairn_db_get(rd->cdb, rd->cro, k, kl, &v, &vl);
        if (rc != 0 && rc != CAIRN_NOTFOUND)
            fail_key(r, rd, k, kl, cairn_errmsg());
        if ((rc == 0) != (v != NULL))
            fail_key(r, rd, k, kl, "cairn_db_get's result and *valp disagree");
    } else {
        char *err = NULL;
        v = leveldb_get(rd->ldb, rd->lro, (char *)k, kl, &vl, &err);
        compat_ldb_check(err, "get");
    }
    if (live && v == NULL)
        fail_key(r, rd, k, kl, "get: a live key was not found");
    if (!live && v != NULL)
        fail_key(r, rd, k, kl,
                 gap ? "get: found a key never written"
                     : (m[id].state == DEAD
                            ? "get: found a deleted key"
                            : "get: found a key never written"));
    if (live)
        check_value(r, rd, "get", id, &m[id], v, vl);
    if (rd->cdb != NULL)
        cairn_free(v);
    else
        leveldb_free(v);
}

typedef struct rit {
    const ldbt_reader *rd;
    cairn_iter *ci;
    leveldb_iterator_t *li;
} rit;

static void rit_open(rit *it, const ldbt_reader *rd)
{
    memset(it, 0, sizeof *it);
    it->rd = rd;
    if (rd->cdb != NULL) {
        it->ci = cairn_db_iter_create(rd->cdb, rd->cro);
        if (it->ci == NULL)
            fail_msg("cairn_db_iter_create: %s", cairn_errmsg());
    } else {
        it->li = leveldb_create_iterator(rd->ldb, rd->lro);
        assert_non_null(it->li);
    }
}

static void rit_close(rit *it)
{
    cairn_iter_destroy(it->ci);
    if (it->li != NULL)
        leveldb_iter_destroy(it->li);
}

static void rit_seek(rit *it, int how, const void *k, size_t kl)
{
    if (it->ci != NULL && how == 0)
        cairn_iter_seek(it->ci, k, kl);
    else if (it->ci != NULL)
        (how > 0 ? cairn_iter_seek_first : cairn_iter_seek_last)(it->ci);
    else if (how == 0)
        leveldb_iter_seek(it->li, k, kl);
    else
        (how > 0 ? leveldb_iter_seek_to_first
                 : leveldb_iter_seek_to_last)(it->li);
}

static void rit_step(rit *it, int fwd)
{
    if (it->ci != NULL)
        (fwd ? cairn_iter_next : cairn_iter_prev)(it->ci);
    else
        (fwd ? leveldb_iter_next : leveldb_iter_prev)(it->li);
}

/* The iterator must be at id pos, or past either end when pos is NONE,
 * with no error. */
static void expect_at(ldbt_run *r, rit *it, const ldbt_slot *m, size_t pos,
                      const char *what)
{
    const ldbt_reader *rd = it->rd;
    char msg[200];
    int valid;
    if (it->ci != NULL) {
        valid = cairn_iter_valid(it->ci);
        if (cairn_iter_status(it->ci) != 0)
            fail_msg("config %s, seed %llu, cairn: %s: iterator error %s: %s",
                     r->cfg->name, (unsigned long long)r->seed, what,
                     cairn_errname(cairn_iter_status(it->ci)), cairn_errmsg());
    } else {
        char *err = NULL;
        valid = leveldb_iter_valid(it->li);
        leveldb_iter_get_error(it->li, &err);
        compat_ldb_check(err, what);
    }
    size_t gl = 0, vl = 0;
    const void *g = NULL, *v = NULL;
    if (valid && it->ci != NULL) {
        g = cairn_iter_key(it->ci, &gl);
        v = cairn_iter_value(it->ci, &vl);
    } else if (valid) {
        g = leveldb_iter_key(it->li, &gl);
        v = leveldb_iter_value(it->li, &vl);
    }
    if (pos == NONE && valid) {
        snprintf(msg, sizeof msg, "%s: expected the end, the iterator is here",
                 what);
        fail_key(r, rd, g, gl, msg);
    }
    if (pos == NONE)
        return;
    unsigned char k[KEY_CAP];
    size_t kl = ldbt_make_key(r, pos, k);
    if (!valid) {
        snprintf(msg, sizeof msg, "%s: expected this key, the iterator ended",
                 what);
        fail_key(r, rd, k, kl, msg);
    }
    if (gl != kl || memcmp(g, k, kl) != 0) {
        char gh[2 * KEY_CAP + 3];
        hex(g, gl, gh, sizeof gh);
        snprintf(msg, sizeof msg, "%s: expected this key, got %s (%zu bytes)",
                 what, gh, gl);
        fail_key(r, rd, k, kl, msg);
    }
    check_value(r, rd, what, pos, &m[pos], v, vl);
}

void ldbt_scan(ldbt_run *r, const ldbt_reader *rd, const ldbt_slot *m,
               int backward_too)
{
    rit it;
    rit_open(&it, rd);
    rit_seek(&it, 1, NULL, 0);
    for (size_t pos = next_live(m, r->nids, 0);;
         pos = next_live(m, r->nids, pos + 1)) {
        expect_at(r, &it, m, pos, "forward scan");
        if (pos == NONE)
            break;
        rit_step(&it, 1);
    }
    if (backward_too) {
        rit_seek(&it, -1, NULL, 0);
        for (size_t pos = prev_live(m, r->nids);; pos = prev_live(m, pos)) {
            expect_at(r, &it, m, pos, "backward scan");
            if (pos == NONE)
                break;
            rit_step(&it, 0);
        }
    }
    rit_close(&it);
}

/* Seeks to keys (live, deleted or never written), to the gap after a key,
 * to the proper prefix before a key, to the empty key, past the end, and
 * seek_last; each is followed by up to six steps in random directions, so
 * direction changes are checked at every kind of position. */
static void random_seeks(ldbt_run *r, const ldbt_reader *rd, const ldbt_slot *m,
                         size_t nseeks)
{
    rit it;
    rit_open(&it, rd);
    for (size_t s = 0; s < nseeks; s++) {
        size_t id = (size_t)tu_rng_uniform(&r->rng, r->nids + 1), pos;
        unsigned char k[KEY_CAP + 1];
        size_t kl = ldbt_make_key(r, id, k);
        uint64_t kind = tu_rng_uniform(&r->rng, 10);
        if (kind == 0) {
            kl = 0;
            pos = next_live(m, r->nids, 0);
        } else if (kind == 1) {
            k[0] = 0xff;
            kl = 1;
            pos = NONE;
        } else if (kind < 4) {
            k[kl++] = 0;
            pos = next_live(m, r->nids, id + 1);
        } else if (kind < 6) {
            kl = 7;
            pos = next_live(m, r->nids, id);
        } else if (kind == 6) {
            pos = prev_live(m, r->nids);
        } else {
            pos = next_live(m, r->nids, id);
        }
        char what[128], kh[2 * KEY_CAP + 3];
        hex(k, kl, kh, sizeof kh);
        int n = kind == 6
                    ? snprintf(what, sizeof what, "seek_last, then ")
                    : snprintf(what, sizeof what, "seek to %s, then ", kh);
        rit_seek(&it, kind == 6 ? -1 : 0, k, kl);
        expect_at(r, &it, m, pos, what);
        for (int st = (int)tu_rng_uniform(&r->rng, 7); st > 0 && pos != NONE;
             st--) {
            int fwd = (int)tu_rng_uniform(&r->rng, 2);
            if (n < (int)sizeof what - 2) {
                what[n++] = fwd ? 'n' : 'p';
                what[n] = '\0';
            }
            rit_step(&it, fwd);
            pos = fwd ? next_live(m, r->nids, pos + 1) : prev_live(m, pos);
            expect_at(r, &it, m, pos, what);
        }
    }
    rit_close(&it);
}

void ldbt_verify(ldbt_run *r, const ldbt_reader *rd, size_t stride,
                 size_t nseeks)
{
    for (size_t id = 0; id < r->nids; id += stride) {
        ldbt_expect_get(r, rd, r->m, id, 0);
        if (id % 7 == 0)
            ldbt_expect_get(r, rd, r->m, id, 1);
    }
    ldbt_scan(r, rd, r->m, 1);
    random_seeks(r, rd, r->m, nseeks);
}
