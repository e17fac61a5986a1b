/*
 * test_leveldb_tables.c: compatibility with LevelDB 1.23 (Debian's
 * libleveldb, through its C API) at the level of sorted tables, both ways.
 *
 * One run, repeated for {Snappy, no compression} x {Bloom filter of 10 bits
 * per key, no filter}, and once more (at 30% of the size) with every table
 * renamed to the legacy .sst name after LevelDB closes:
 *   1. LevelDB writes at least 100,000 new keys (values of 10..300 bytes,
 *      some empty, a few over 32 KiB) with overwrites, deletes and write
 *      batches, under a 256 KiB write buffer and 1 MiB tables. Its own view
 *      (gets, both scans, seeks) must equal the model, so both engines are
 *      checked against one truth. It writes more until its properties show
 *      files on at least two levels >= 1, compacts part of the key range by
 *      hand and writes a little more, so that the last writes are only in
 *      its log when it closes; a last scan both ways must equal the model.
 *   2. cairn opens the directory with the same compression and filter and
 *      must see files on at least two levels >= 1; every key read with
 *      cairn_db_get, a forward and a backward scan, and random seeks (to
 *      keys, to gaps between keys, to proper prefixes of keys, seek_last)
 *      each followed by up to six next/prev steps must equal the model.
 *   3. cairn writes more under a 64 KiB write buffer (new keys, overwrites
 *      of LevelDB's keys, deletes, batches), and at least four of its
 *      flushes must be seen at level 0; a snapshot taken half-way must
 *      still read the older state (every key changed since, a sample of
 *      the rest, a full scan), and the current state must read as in 2.
 *   4. cairn closes, LevelDB opens (with paranoid checks and checksum
 *      verification) and must read exactly the combined model, by get of
 *      every key, both scans and seeks.
 * Both engines compact in the background while this runs (reads charge
 * seeks too), so level counts are checked only where they are stable:
 * LevelDB's just before it closes, cairn's just after it opens.
 *
 * Why the workload has this shape: the first 40% of LevelDB's new keys are
 * written in ascending order, so their flushes overlap nothing and LevelDB
 * places them straight at level 2 (PickLevelForMemTableOutput); the random
 * writes after that land at levels 0 and 1 and compaction moves them on.
 * That yields several levels at any CAIRN_TEST_SCALE, not only when the
 * data outgrows level 1's 10 MiB.
 *
 * Keys: key id i (0 .. nids-1) is 'k', then i * 1000003 as 6 bytes big
 * endian, then 5..13 bytes hashed from (seed, i): 12..20 bytes holding every
 * byte value, whose bytewise order is the order of the ids. key(i) + "\0"
 * and the 7-byte prefix of key(i) are absent keys right after and right
 * before key(i). The model keeps per id a state and the generation and
 * length of the last value put; values are rebuilt from (seed, id, gen), so
 * checking needs no stored copies. Half the values are random bytes, half a
 * repeated phrase, so Snappy keeps some blocks compressed and not others.
 *
 * Failures name the configuration, the seed (CAIRN_TEST_SEED replays it),
 * the key in hex and the expected and received values.
 */
#include "cairn.h"

#include <leveldb/c.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#define NLEVELS      7
#define KEY_CAP      24
#define BIG_MAX      80000u
#define LDB_BUFFER   (256u * 1024u)
#define LDB_FILE     (1024u * 1024u)
#define CAIRN_BUFFER (64u * 1024u)
#define NONE         SIZE_MAX

typedef struct config {
    const char *name;
    int snappy, bloom, sst;
    double size; /* share of the full workload */
} config;

enum { NEVER = 0, LIVE = 1, DEAD = 2 };

typedef struct slot {
    uint32_t gen, vlen;
    uint8_t state;
} slot;

typedef struct run {
    const config *cfg;
    uint64_t seed;
    tu_rng rng;
    size_t nids;     /* key ids are 0 .. nids-1 */
    size_t target;   /* new keys LevelDB must write */
    slot *m;         /* the model, indexed by key id */
    uint32_t *perm;  /* ids in the order they are first written */
    size_t next_new; /* perm[0 .. next_new) have been written */
    uint32_t gen;
    unsigned char *vbuf, *ebuf; /* value being written / being expected */
} run;

/* ---------------------------------------------------------------------- */
/* Keys, values and the model                                               */

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static size_t make_key(const run *r, size_t id, unsigned char *k)
{
    uint64_t p = (uint64_t)id * 1000003u;
    k[0] = 'k';
    for (int i = 0; i < 6; i++)
        k[1 + i] = (unsigned char)(p >> (40 - 8 * i));
    uint64_t h = mix64(r->seed ^ ((uint64_t)id << 20));
    size_t n = 12 + (size_t)(h % 9);
    for (size_t i = 7; i < n; i++) {
        h = mix64(h + i);
        k[i] = (unsigned char)h;
    }
    return n;
}

static void make_value(const run *r, size_t id, uint32_t gen, uint32_t vlen,
                       unsigned char *out)
{
    tu_rng g;
    unsigned char phrase[16];
    tu_rng_init(&g, mix64(r->seed ^ mix64(((uint64_t)id << 32) | gen)));
    if (gen & 1) {
        tu_rng_bytes(&g, out, vlen);
        return;
    }
    tu_rng_bytes(&g, phrase, sizeof phrase);
    for (uint32_t j = 0; j < vlen; j++)
        out[j] = j % 37 == 36 ? (unsigned char)tu_rng_next(&g) : phrase[j % 16];
}

static size_t next_live(const slot *m, size_t n, size_t from)
{
    for (size_t i = from; i < n; i++)
        if (m[i].state == LIVE)
            return i;
    return NONE;
}

/* The last live id below end. */
static size_t prev_live(const slot *m, size_t end)
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
/* Writers: LevelDB or cairn, keeping the model in step                     */

typedef struct writer {
    leveldb_t *ldb;
    leveldb_writeoptions_t *lwo;
    leveldb_writebatch_t *lb;
    cairn_db *cdb;
    cairn_batch *cb;
    int in_batch;
} writer;

static void ldb_check(char *err, const char *what)
{
    if (err != NULL) {
        print_error("leveldb %s: %s\n", what, err);
        leveldb_free(err);
        fail_msg("leveldb %s failed", what);
    }
}

static void cairn_ok(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %s: %s", what, cairn_errname(rc), cairn_errmsg());
}

static void w_write(run *r, writer *w, size_t id, int live, uint32_t vlen)
{
    unsigned char k[KEY_CAP];
    size_t kl = make_key(r, id, k);
    char *err = NULL;
    if (live) {
        r->m[id] = (slot){++r->gen, vlen, LIVE};
        make_value(r, id, r->gen, vlen, r->vbuf);
    } else {
        r->m[id].state = DEAD;
    }
    if (w->cdb != NULL && w->in_batch)
        cairn_ok(live ? cairn_batch_put(w->cb, k, kl, r->vbuf, vlen)
                      : cairn_batch_delete(w->cb, k, kl),
                 "cairn batch");
    else if (w->cdb != NULL)
        cairn_ok(live ? cairn_db_put(w->cdb, NULL, k, kl, r->vbuf, vlen)
                      : cairn_db_delete(w->cdb, NULL, k, kl),
                 "cairn write");
    else if (w->in_batch && live)
        leveldb_writebatch_put(w->lb, (char *)k, kl, (char *)r->vbuf, vlen);
    else if (w->in_batch)
        leveldb_writebatch_delete(w->lb, (char *)k, kl);
    else if (live)
        leveldb_put(w->ldb, w->lwo, (char *)k, kl, (char *)r->vbuf, vlen, &err);
    else
        leveldb_delete(w->ldb, w->lwo, (char *)k, kl, &err);
    ldb_check(err, "write");
}

static void w_commit(writer *w)
{
    char *err = NULL;
    if (w->cdb != NULL) {
        cairn_ok(cairn_db_write(w->cdb, NULL, w->cb), "cairn_db_write");
        cairn_ok(cairn_batch_clear(w->cb), "cairn_batch_clear");
    } else {
        leveldb_write(w->ldb, w->lwo, w->lb, &err);
        ldb_check(err, "write batch");
        leveldb_writebatch_clear(w->lb);
    }
    w->in_batch = 0;
}

/* A value length: more than 32 KiB when big (and one put in 3000), empty
 * one time in 40, else 10..300 bytes. */
static uint32_t value_len(run *r, int big)
{
    uint64_t x = tu_rng_uniform(&r->rng, 3000);
    if (big || x == 0)
        return 33000u + (uint32_t)tu_rng_uniform(&r->rng, BIG_MAX - 33000u);
    if (x < 75)
        return 0;
    return 10u + (uint32_t)tu_rng_uniform(&r->rng, 291);
}

/* A new key (70%), an overwrite (18%), a delete of a written key (9%) or
 * of any key (3%). */
static void random_op(run *r, writer *w, int big)
{
    uint64_t x = tu_rng_uniform(&r->rng, 100);
    if (r->next_new < r->nids && (x < 70 || r->next_new == 0))
        w_write(r, w, r->perm[r->next_new++], 1, value_len(r, big));
    else if (x < 88 || big)
        w_write(r, w, r->perm[tu_rng_uniform(&r->rng, r->next_new)], 1,
                value_len(r, big));
    else if (x < 97)
        w_write(r, w, r->perm[tu_rng_uniform(&r->rng, r->next_new)], 0, 0);
    else
        w_write(r, w, (size_t)tu_rng_uniform(&r->rng, r->nids), 0, 0);
}

/* nops operations, one in ten starting a batch of 2..41; with big, the
 * first batch and the first single put carry values of more than 32 KiB. */
static void workload(run *r, writer *w, size_t nops, int big)
{
    int single_big = big;
    for (size_t i = 0; i < nops;) {
        if (i == 0 || tu_rng_uniform(&r->rng, 10) == 0) {
            size_t n = 2 + (size_t)tu_rng_uniform(&r->rng, 40);
            w->in_batch = 1;
            for (size_t j = 0; j < n; j++)
                random_op(r, w, big && i == 0 && j == n / 2);
            w_commit(w);
            i += n;
        } else {
            random_op(r, w, single_big);
            single_big = 0;
            i++;
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* ---------------------------------------------------------------------- */
/* Readers: the same checks through either engine                           */

typedef struct reader {
    const char *who;
    cairn_db *cdb;
    cairn_readoptions *cro;
    leveldb_t *ldb;
    leveldb_readoptions_t *lro;
} reader;

static void fail_key(const run *r, const reader *rd, const void *k, size_t kl,
                     const char *msg)
{
    char kh[2 * KEY_CAP + 3];
    hex(k, kl, kh, sizeof kh);
    fail_msg("config %s, seed %llu, %s: key %s (%zu bytes): %s", r->cfg->name,
             (unsigned long long)r->seed, rd->who, kh, kl, msg);
}

/* Fails unless got is the value the model slot s describes for id. */
static void check_value(run *r, const reader *rd, const char *what, size_t id,
                        const slot *s, const void *got, size_t glen)
{
    make_value(r, id, s->gen, s->vlen, r->ebuf);
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
    fail_key(r, rd, k, make_key(r, id, k), msg);
}

/* Reads key(id) (or, with gap, the absent key(id) + "\0") and checks the
 * answer against the model m. */
static void expect_get(run *r, const reader *rd, const slot *m, size_t id,
                       int gap)
{
    unsigned char k[KEY_CAP + 1];
    size_t kl = make_key(r, id, k);
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
        ldb_check(err, "get");
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
    const reader *rd;
    cairn_iter *ci;
    leveldb_iterator_t *li;
} rit;

static void rit_open(rit *it, const reader *rd)
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
static void expect_at(run *r, rit *it, const slot *m, size_t pos,
                      const char *what)
{
    const reader *rd = it->rd;
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
        ldb_check(err, what);
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
    size_t kl = make_key(r, pos, k);
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

/* Both full scans: exactly the live keys of m, in order. */
static void scan(run *r, const reader *rd, const slot *m, int backward_too)
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
static void random_seeks(run *r, const reader *rd, const slot *m, size_t nseeks)
{
    rit it;
    rit_open(&it, rd);
    for (size_t s = 0; s < nseeks; s++) {
        size_t id = (size_t)tu_rng_uniform(&r->rng, r->nids + 1), pos;
        unsigned char k[KEY_CAP + 1];
        size_t kl = make_key(r, id, k);
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

/* Every stride-th key and some gaps by get, both scans, nseeks seeks. */
static void verify(run *r, const reader *rd, size_t stride, size_t nseeks)
{
    for (size_t id = 0; id < r->nids; id += stride) {
        expect_get(r, rd, r->m, id, 0);
        if (id % 7 == 0)
            expect_get(r, rd, r->m, id, 1);
    }
    scan(r, rd, r->m, 1);
    random_seeks(r, rd, r->m, nseeks);
}

/* ---------------------------------------------------------------------- */
/* Opening each engine with the configuration's options                     */

typedef struct ldb_session {
    leveldb_options_t *o;
    leveldb_filterpolicy_t *fp;
    leveldb_readoptions_t *ro;
    leveldb_t *db;
} ldb_session;

/* Paranoid checks and checksum verification, so LevelDB also judges the
 * CRCs of the blocks cairn wrote. */
static void ldb_open(ldb_session *s, const config *cfg, const char *dir,
                     int create)
{
    char *err = NULL;
    s->o = leveldb_options_create();
    leveldb_options_set_create_if_missing(s->o, (uint8_t)create);
    leveldb_options_set_paranoid_checks(s->o, 1);
    leveldb_options_set_write_buffer_size(s->o, LDB_BUFFER);
    leveldb_options_set_max_file_size(s->o, LDB_FILE);
    leveldb_options_set_compression(s->o, cfg->snappy
                                              ? leveldb_snappy_compression
                                              : leveldb_no_compression);
    s->fp = cfg->bloom ? leveldb_filterpolicy_create_bloom(10) : NULL;
    if (s->fp != NULL)
        leveldb_options_set_filter_policy(s->o, s->fp);
    s->ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(s->ro, 1);
    s->db = leveldb_open(s->o, dir, &err);
    ldb_check(err, "open");
    assert_non_null(s->db);
}

static void ldb_close(ldb_session *s)
{
    leveldb_close(s->db);
    leveldb_readoptions_destroy(s->ro);
    leveldb_options_destroy(s->o);
    if (s->fp != NULL)
        leveldb_filterpolicy_destroy(s->fp);
}

static cairn_db *cdb_open(const config *cfg, const char *dir)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_paranoid_checks(o, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, CAIRN_BUFFER), 0);
    assert_int_equal(
        cairn_options_set_compression(o, cfg->snappy ? CAIRN_COMPRESSION_SNAPPY
                                                     : CAIRN_COMPRESSION_NONE),
        0);
    assert_int_equal(
        cairn_options_set_bloom_bits_per_key(o, cfg->bloom ? 10 : 0), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(o, dir, &db);
    cairn_options_destroy(o);
    cairn_ok(rc, "cairn_db_open");
    return db;
}

/* Files per level as each engine reports them; returns how many levels
 * >= 1 hold files and prints the counts. */
static int levels(leveldb_t *ldb, cairn_db *cdb, long n[NLEVELS])
{
    char name[64], line[128];
    int deep = 0, off = 0;
    for (int i = 0; i < NLEVELS; i++) {
        char *v;
        snprintf(name, sizeof name, "%s.num-files-at-level%d",
                 ldb != NULL ? "leveldb" : "cairn", i);
        v = ldb != NULL ? leveldb_property_value(ldb, name)
                        : cairn_db_property(cdb, name);
        if (v == NULL)
            fail_msg("property %s unknown", name);
        n[i] = strtol(v, NULL, 10);
        if (ldb != NULL)
            leveldb_free(v);
        else
            cairn_free(v);
        deep += i > 0 && n[i] > 0;
        off += snprintf(line + off, sizeof line - (size_t)off, " %ld", n[i]);
    }
    print_message("  %s files per level:%s\n", ldb ? "LevelDB" : "cairn", line);
    return deep;
}

/* Tables seen at level 0 with numbers above floor. Compaction never
 * writes to level 0, so these are flush outputs; a flushed table stays
 * there at least until three more flushes have made level 0 compactable,
 * so polling every 100 writes misses few of them. */
typedef struct tables {
    uint64_t floor, max;
    uint64_t seen[1024];
    size_t nflushed;
} tables;

static void watch_tables(cairn_db *db, tables *t)
{
    char *text = cairn_db_property(db, "cairn.sstables"), *save = NULL;
    if (text == NULL)
        fail_msg("property cairn.sstables unknown");
    int level = -1;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned long long num;
        if (sscanf(line, "--- level %d", &level) == 1 ||
            sscanf(line, " %llu:", &num) != 1)
            continue;
        t->max = num > t->max ? num : t->max;
        if (level != 0 || num <= t->floor)
            continue;
        size_t i = 0;
        while (i < t->nflushed && t->seen[i] != num)
            i++;
        if (i == t->nflushed && i < sizeof t->seen / sizeof t->seen[0])
            t->seen[t->nflushed++] = num;
    }
    cairn_free(text);
}

/* Gives every table in dir the legacy .sst name; returns how many. */
static int rename_tables(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcmp(e->d_name + n - 4, ".ldb") != 0)
            continue;
        char a[4096], b[4096];
        snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
        snprintf(b, sizeof b, "%s/%.*s.sst", dir, (int)(n - 4), e->d_name);
        assert_int_equal(rename(a, b), 0);
        count++;
    }
    closedir(d);
    return count;
}

/* ---------------------------------------------------------------------- */
/* The scenario                                                             */

/* Step 1: LevelDB writes until two levels >= 1 hold files, compacts part
 * of the range, writes a little more, and must itself equal the model. */
static void leveldb_writes(run *r, const char *dir, size_t nseeks)
{
    ldb_session s;
    ldb_open(&s, r->cfg, dir, 1);
    writer w = {.ldb = s.db,
                .lwo = leveldb_writeoptions_create(),
                .lb = leveldb_writebatch_create()};
    size_t first = r->target * 2 / 5;
    qsort(r->perm, first, sizeof *r->perm, cmp_u32);
    for (size_t i = 0; i < first; i++)
        w_write(r, &w, r->perm[i], 1, value_len(r, i == first / 2));
    r->next_new = first;
    for (int big = 1; r->next_new < r->target; big = 0)
        workload(r, &w, r->target - r->next_new, big);
    /* LevelDB's own reads (which may start seek compactions) come before
     * the level check, so the check describes the files cairn will see.
     * Every eighth key is enough here: LevelDB vouches for the model, and
     * reads every key after cairn has written. */
    reader rd = {.who = "LevelDB (writer)", .ldb = s.db, .lro = s.ro};
    verify(r, &rd, 8, nseeks);
    long n[NLEVELS];
    for (int round = 0; levels(s.db, NULL, n) < 2; round++) {
        if (round == 20)
            fail_msg("LevelDB never filled two levels >= 1");
        workload(r, &w, r->target / 5, 0);
    }
    unsigned char a[KEY_CAP], b[KEY_CAP];
    size_t al = make_key(r, r->nids / 5, a), bl = make_key(r, r->nids / 3, b);
    leveldb_compact_range(s.db, (char *)a, al, (char *)b, bl);
    workload(r, &w, 1500, 1);
    scan(r, &rd, r->m, 1);
    assert_true(levels(s.db, NULL, n) >= 2);
    leveldb_writebatch_destroy(w.lb);
    leveldb_writeoptions_destroy(w.lwo);
    ldb_close(&s);
}

/* Steps 3 and 4 on cairn's side: read everything, then write over it with
 * a snapshot taken half-way. */
static void cairn_reads_and_writes(run *r, const char *dir, size_t nops,
                                   size_t nseeks)
{
    cairn_db *db = cdb_open(r->cfg, dir);
    cairn_readoptions *ro = cairn_readoptions_create();
    assert_non_null(ro);
    assert_int_equal(cairn_readoptions_set_verify_checksums(ro, 1), 0);
    long n[NLEVELS];
    assert_true(levels(NULL, db, n) >= 2);
    reader rd = {.who = "cairn", .cdb = db, .cro = ro};
    verify(r, &rd, 1, nseeks);

    writer w = {.cdb = db, .cb = cairn_batch_create()};
    assert_non_null(w.cb);
    tables t = {.floor = 0};
    watch_tables(db, &t);
    t.floor = t.max;
    const cairn_snapshot *snap = NULL;
    slot *old = NULL;
    for (size_t done = 0; done < nops; done += 100) {
        int big = done == 0;
        if (done >= nops / 2 && snap == NULL) {
            big = 1;
            snap = cairn_db_create_snapshot(db);
            if (snap == NULL)
                fail_msg("cairn_db_create_snapshot: %s", cairn_errmsg());
            old = malloc(r->nids * sizeof *old);
            assert_non_null(old);
            memcpy(old, r->m, r->nids * sizeof *old);
        }
        workload(r, &w, 100, big);
        watch_tables(db, &t);
    }
    cairn_batch_destroy(w.cb);
    levels(NULL, db, n);
    print_message("  cairn flushes seen at level 0: %zu\n", t.nflushed);
    if (t.nflushed < 4)
        fail_msg("config %s, seed %llu: cairn wrote %zu operations under a "
                 "%u-byte write buffer but only %zu level-0 tables appeared",
                 r->cfg->name, (unsigned long long)r->seed, nops, CAIRN_BUFFER,
                 t.nflushed);

    /* Every key changed after the snapshot, and a sample of the others,
     * must still read as it was; so must a full scan. */
    cairn_readoptions *sro = cairn_readoptions_create();
    assert_non_null(sro);
    assert_int_equal(cairn_readoptions_set_snapshot(sro, snap), 0);
    reader srd = {.who = "cairn (snapshot)", .cdb = db, .cro = sro};
    size_t changed = 0;
    for (size_t id = 0; id < r->nids; id++) {
        int diff =
            old[id].state != r->m[id].state || old[id].gen != r->m[id].gen;
        changed += diff;
        if (diff || id % 16 == 0)
            expect_get(r, &srd, old, id, 0);
    }
    assert_true(changed >= nops / 4);
    scan(r, &srd, old, 0);
    cairn_readoptions_destroy(sro);
    cairn_db_release_snapshot(db, snap);
    free(old);

    verify(r, &rd, 1, nseeks);
    cairn_readoptions_destroy(ro);
    cairn_ok(cairn_db_close(db), "cairn_db_close");
}

static void run_config(const config *cfg)
{
    run r = {.cfg = cfg};
    char seedname[64];
    snprintf(seedname, sizeof seedname, "leveldb_tables/%s", cfg->name);
    r.seed = tu_seed(seedname);
    tu_rng_init(&r.rng, r.seed);
    double scale = tu_scale() * cfg->size;
    r.target = (size_t)(100000 * scale);
    if (r.target < 4000)
        r.target = 4000;
    r.nids = r.target + r.target / 4;
    size_t nops = (size_t)(6000 * scale), nseeks = (size_t)(3000 * scale);
    nops = nops < 3000 ? 3000 : nops;
    nseeks = nseeks < 300 ? 300 : nseeks;
    r.m = calloc(r.nids, sizeof *r.m);
    r.perm = malloc(r.nids * sizeof *r.perm);
    r.vbuf = malloc(BIG_MAX);
    r.ebuf = malloc(BIG_MAX);
    assert_true(r.m && r.perm && r.vbuf && r.ebuf);
    for (size_t i = 0; i < r.nids; i++)
        r.perm[i] = (uint32_t)i;
    for (size_t i = r.nids - 1; i > 0; i--) {
        size_t j = (size_t)tu_rng_uniform(&r.rng, i + 1);
        uint32_t t = r.perm[i];
        r.perm[i] = r.perm[j];
        r.perm[j] = t;
    }
    char *dir = tu_tempdir("ldb-tables");

    leveldb_writes(&r, dir, nseeks);
    assert_true(r.next_new >= r.target);
    if (cfg->sst)
        assert_true(rename_tables(dir) > 0);
    cairn_reads_and_writes(&r, dir, nops, nseeks);

    ldb_session s;
    ldb_open(&s, cfg, dir, 0);
    reader rd = {.who = "LevelDB (after cairn)", .ldb = s.db, .lro = s.ro};
    verify(&r, &rd, 1, nseeks);
    ldb_close(&s);

    tu_rmtree(dir);
    free(dir);
    free(r.m);
    free(r.perm);
    free(r.vbuf);
    free(r.ebuf);
}

/* The last run names every table .sst, the legacy name LevelDB 1.23 still
 * reads (and cairn must too). */
static const config configs[] = {
    {"snappy+bloom", 1, 1, 0, 1.0}, {"snappy+nofilter", 1, 0, 0, 1.0},
    {"raw+bloom", 0, 1, 0, 1.0},    {"raw+nofilter", 0, 0, 0, 1.0},
    {"sst-names", 1, 1, 1, 0.3},
};

static void test_tables(void **state)
{
    run_config(*state);
}

int main(void)
{
    struct CMUnitTest tests[sizeof configs / sizeof configs[0]];
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        tests[i] = (struct CMUnitTest){configs[i].name, test_tables, NULL, NULL,
                                       (void *)&configs[i]};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
