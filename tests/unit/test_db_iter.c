/*
 * test_db_iter.c: the db iterator (src/db/db_iter.h) over real memtables,
 * alone and merged: the user's view at a snapshot, changes of direction
 * (invariants I1/I2 of db_iter.c), LevelDB's db_test iterator cases, read
 * sampling, cleanup order, and the error paths (I3/I4) through a scripted
 * internal iterator. Binary keys and the seeded model test are
 * test_db_iter_model.c's.
 *
 * Most cases are written as two small scripts: what to load ("k=v" puts,
 * "-k" deletes, "|" starts the next memtable; sequences count from 1) and
 * which moves to make with the entry each must land on (see run()).
 *
 * Engine headers come before cmocka.h, whose skip() macro clashes with
 * env.h should any of them come to include it.
 */
#include "db/db_iter.h"
#include "iter/merge.h"
#include "mem/memtable.h"
#include "util/buf.h"
#include "util/ikey.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "memtable_util.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies the next space-separated token of *p into tok; 0 at the end. */
static int next_tok(const char **p, char *tok, size_t cap)
{
    *p += strspn(*p, " ");
    size_t n = strcspn(*p, " ");
    assert_true(n < cap);
    memcpy(tok, *p, n);
    tok[n] = '\0';
    *p += n;
    return n > 0;
}

/* LevelDB's IterStatus: "key->value" or "(invalid)". A value over 64
 * bytes shows as "#<size><fill byte>" ('?' if its bytes differ). */
static char st_buf[256];
static const char *st(cairn__iter *it)
{
    if (!cairn__iter_valid(it))
        return "(invalid)";
    cairn__slice k = cairn__iter_key(it), v = cairn__iter_value(it);
    assert_true(k.data != NULL && v.data != NULL);
    if (v.size <= 64)
        snprintf(st_buf, sizeof st_buf, "%.*s->%.*s", (int)k.size, k.data,
                 (int)v.size, v.data);
    else
        snprintf(st_buf, sizeof st_buf, "%.*s->#%zu%c", (int)k.size, k.data,
                 v.size,
                 memcmp(v.data, v.data + 1, v.size - 1) ? '?' : v.data[0]);
    return st_buf;
}

/* Every entry from one end to the other, "k->v" joined by spaces. */
static char scan_buf[4096];
static const char *scan(cairn__iter *it, int backward)
{
    size_t n = 0;
    scan_buf[0] = '\0';
    for (backward ? cairn__iter_seek_last(it) : cairn__iter_seek_first(it);
         cairn__iter_valid(it);
         backward ? cairn__iter_prev(it) : cairn__iter_next(it)) {
        n += (size_t)snprintf(scan_buf + n, sizeof scan_buf - n, "%s%s",
                              n ? " " : "", st(it));
        assert_true(n < sizeof scan_buf);
    }
    assert_int_equal(cairn__iter_status(it), 0);
    return scan_buf;
}

/* Makes each move of script and checks where it lands. A token is
 *   f | l | n | p | s<target>   (seek_first, seek_last, next, prev, seek)
 * then '=' and the expected "k->v", "-" (invalid, status 0), "!c"
 * (invalid, CAIRN_CORRUPTION) or "!io" (invalid, CAIRN_IO). */
static void run(cairn__iter *it, const char *script)
{
    char tok[128];
    while (next_tok(&script, tok, sizeof tok)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        static void (*const move[])(cairn__iter *) = {
            cairn__iter_seek_first, cairn__iter_seek_last, cairn__iter_next,
            cairn__iter_prev};
        const char *m = strchr("flnp", tok[0]);
        if (tok[0] == 's')
            cairn__iter_seek(it, cairn__slice_str(tok + 1));
        else if (m != NULL && tok[0] != '\0')
            move[m - "flnp"](it);
        else
            fail_msg("bad move %s", tok);
        const char *want = eq + 1;
        int rc = 0;
        if (strcmp(want, "!c") == 0)
            rc = CAIRN_CORRUPTION;
        else if (strcmp(want, "!io") == 0)
            rc = CAIRN_IO;
        assert_string_equal(st(it),
                            rc || strcmp(want, "-") == 0 ? "(invalid)" : want);
        assert_int_equal(cairn__iter_status(it), rc);
    }
}

/* Loads `load` ("#<n>" as a value: n copies of the key's first byte)
 * into memtables, opens a db iterator at snap, checks the
 * forward scan against fwd and the backward scan against its reverse,
 * then runs `moves`. */
static void check_case(const char *load, uint64_t snap, const char *fwd,
                       const char *moves)
{
    cairn__memtable *mems[3] = {mt_new_mem(), NULL, NULL};
    size_t n = 1;
    uint64_t seq = 1;
    char tok[64];
    while (next_tok(&load, tok, sizeof tok)) {
        char *eq = strchr(tok, '=');
        if (strcmp(tok, "|") == 0) {
            assert_true(n < 3);
            mems[n++] = mt_new_mem();
        } else if (tok[0] == '-') {
            mt_add(mems[n - 1], seq++, CAIRN__TYPE_DELETION,
                   cairn__slice_str(tok + 1), cairn__slice_str(""));
        } else {
            assert_non_null(eq);
            cairn__slice v = cairn__slice_str(eq + 1);
            char *big = NULL;
            if (eq[1] == '#') {
                v.size = strtoul(eq + 2, NULL, 10);
                assert_non_null(v.data = big = malloc(v.size));
                memset(big, tok[0], v.size);
            }
            mt_add(mems[n - 1], seq++, CAIRN__TYPE_VALUE,
                   cairn__slice_make(tok, (size_t)(eq - tok)), v);
            free(big);
        }
    }
    cairn__iter *it = mt_open_mems(mems, n, snap);
    for (size_t i = 0; i < n; i++)
        cairn__memtable_unref(mems[i]);

    assert_string_equal(scan(it, 0), fwd);
    /* The backward scan is the forward one, word by word reversed. */
    char want[sizeof scan_buf] = "";
    size_t len = strlen(fwd), w = 0;
    for (size_t end = len; end > 0;) {
        size_t start = end;
        while (start > 0 && fwd[start - 1] != ' ')
            start--;
        w += (size_t)snprintf(want + w, sizeof want - w, "%s%.*s", w ? " " : "",
                              (int)(end - start), fwd + start);
        end = start > 0 ? start - 1 : 0;
    }
    assert_string_equal(scan(it, 1), want);
    run(it, moves);
    cairn__iter_destroy(it);
}

/* ---------------------------------------------------------------------- */
/* LevelDB's db_test iterator cases, and edges around them                 */

static void test_empty(void **state)
{
    (void)state;
    check_case("", 100, "", "f=- l=- sfoo=- s=-");
    /* Only invisible or deleted entries is empty too. */
    check_case("a=va b=vb", 0, "", "f=- l=- sa=-");
    check_case("a=va -a", 2, "", "f=- l=- sa=-");
}

static void test_single(void **state)
{
    (void)state;
    check_case("a=va", 1, "a->va",
               "f=a->va n=- f=a->va p=- l=a->va n=- l=a->va p=- "
               "s=a->va n=- sa=a->va n=- sb=-");
}

static void test_multi(void **state)
{
    (void)state;
    const char *moves = "s=a->va sa=a->va sax=b->vb sb=b->vb sz=- "
                        "l=c->vc p=b->vb p=a->va n=b->vb "
                        "f=a->va n=b->vb n=c->vc p=b->vb";
    check_case("a=va b=vb c=vc", 3, "a->va b->vb c->vc", moves);
    /* Writes after the snapshot change nothing the iterator shows. */
    const char *later = "a=va b=vb c=vc a=va2 a2=va3 b=vb2 c=vc2 -b";
    check_case(later, 3, "a->va b->vb c->vc", moves);
    check_case(later, 8, "a->va2 a2->va3 c->vc2",
               "sb=c->vc2 p=a2->va3 p=a->va2 n=a2->va3 n=c->vc2 n=-");
}

static void test_multi_with_delete(void **state)
{
    (void)state;
    check_case("a=va b=vb c=vc -b", 4, "a->va c->vc",
               "sc=c->vc p=a->va n=c->vc sb=c->vc p=a->va");
}

static void test_deletions_at_edges(void **state)
{
    (void)state;
    const char *load = "a=va b=vb c=vc d=vd -a -d";
    check_case(load, 6, "b->vb c->vc",
               "s=b->vb p=- sc=c->vc n=- sd=- l=c->vc n=- l=c->vc p=b->vb "
               "p=- f=b->vb n=c->vc n=-");
    check_case(load, 4, "a->va b->vb c->vc d->vd", "sd=d->vd p=c->vc");
    check_case(load, 5, "b->vb c->vc d->vd", "s=b->vb p=-");
}

static void test_prev_from_first_next_from_last(void **state)
{
    (void)state;
    /* Moving an invalid iterator is a no-op; a seek revives it. */
    check_case("b=vb c=vc", 2, "b->vb c->vc",
               "f=b->vb p=- n=- p=- f=b->vb l=c->vc n=- p=- l=c->vc "
               "p=b->vb n=c->vc n=- sc=c->vc p=b->vb p=- szzz=- sa=b->vb");
}

/* LevelDB's issue200: an entry newer than the snapshot lies between keys
 * walked with changes of direction; spread over merged memtables. */
static void test_issue200_hidden_entry(void **state)
{
    (void)state;
    const char *moves = "s5=5->f p=4->e p=3->d n=4->e n=5->f "
                        "s2=2->c n=3->d p=2->c n=3->d p=2->c p=1->b n=2->c";
    check_case("1=b 2=c 3=d 4=e 5=f 25=cd", 5, "1->b 2->c 3->d 4->e 5->f",
               moves);
    check_case("1=b 2=c | 3=d 4=e | 5=f 25=cd", 5, "1->b 2->c 3->d 4->e 5->f",
               moves);
    check_case("1=b 2=c | 3=d 4=e 5=f | 25=cd", 5, "1->b 2->c 3->d 4->e 5->f",
               "s25=3->d p=2->c n=3->d p=2->c");
}

/* One key with versions at several sequences: each snapshot sees its own,
 * in both directions and through merges. */
static void test_versions_and_snapshots(void **state)
{
    (void)state;
    static const char *const want[] = {
        "",           "m->v1", "a->va m->v1", "a->va m->v3",
        "a->va m->x", "a->va", "a->va m->v7", "a->va m->v7 z->vz",
    };
    const char *load = "m=v1 a=va m=v3 m=x -m | m=v7 z=vz";
    for (uint64_t snap = 0; snap < 8; snap++)
        check_case(load, snap, want[snap], "");
    check_case(load, 4, "a->va m->x", "sm=m->x p=a->va n=m->x n=- sn=-");
    load = "m=v1 a=va m=v3 | -m m=v7 z=vz";
    check_case(load, 3, "a->va m->v3", "sm=m->v3 p=a->va n=m->v3 n=-");
    check_case(load, 4, "a->va", "sm=- sa=a->va n=- l=a->va p=-");
    /* Above the 56-bit limit means "everything". */
    check_case(load, UINT64_MAX, "a->va m->v7 z->vz", "sb=m->v7 p=a->va");
}

/* Many keys, several versions each, tombstones over a range of them. */
static void check_range(cairn__iter *it, int lo, int hi, int round)
{
    char k[16], v[16];
    for (int dir = 0; dir < 2; dir++) {
        int i = dir ? hi - 1 : lo;
        for (dir ? cairn__iter_seek_last(it) : cairn__iter_seek_first(it);
             cairn__iter_valid(it);
             dir ? cairn__iter_prev(it) : cairn__iter_next(it)) {
            snprintf(k, sizeof k, "k%04d", i);
            snprintf(v, sizeof v, "v%d.%d", i, round);
            cairn__slice key = cairn__iter_key(it), val = cairn__iter_value(it);
            assert_true(key.size == strlen(k) && val.size == strlen(v));
            assert_memory_equal(key.data, k, key.size);
            assert_memory_equal(val.data, v, val.size);
            i += dir ? -1 : 1;
        }
        assert_int_equal(i, dir ? lo - 1 : hi);
        assert_int_equal(cairn__iter_status(it), 0);
    }
}

static void test_many_keys_and_tombstones(void **state)
{
    (void)state;
    cairn__memtable *m = mt_new_mem();
    char k[16], v[16];
    uint64_t seq = 1;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++, seq++) {
            snprintf(k, sizeof k, "k%04d", i);
            snprintf(v, sizeof v, "v%d.%d", i, round);
            mt_add(m, seq, CAIRN__TYPE_VALUE, cairn__slice_str(k),
                   cairn__slice_str(v));
        }
    }
    for (int i = 0; i < 300; i++, seq++) {
        snprintf(k, sizeof k, "k%04d", i);
        mt_add(m, seq, CAIRN__TYPE_DELETION, cairn__slice_str(k),
               cairn__slice_str(""));
    }
    /* (snapshot, first key, end key, round visible) */
    static const int views[][4] = {
        {600, 0, 300, 1},    {900, 0, 300, 2}, {1000, 100, 300, 2},
        {1199, 299, 300, 2}, {1200, 0, 0, 2},
    };
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        cairn__iter *it = mt_open_mems(&m, 1, (uint64_t)views[i][0]);
        check_range(it, views[i][1], views[i][2], views[i][3]);
        cairn__iter_destroy(it);
    }
    cairn__memtable_unref(m);
}

/* LevelDB's IterSmallAndLargeMix, with a value over the 1 MiB slack that
 * makes reverse scans drop and regrow the saved value buffer. */
static void test_small_and_large_mix(void **state)
{
    (void)state;
    check_case("a=va b=#100000 c=vc d=#1572864 e=#100000", 5,
               "a->va b->#100000b c->vc d->#1572864d e->#100000e",
               "sd=d->#1572864d p=c->vc p=b->#100000b n=c->vc "
               "n=d->#1572864d n=e->#100000e p=d->#1572864d p=c->vc "
               "l=e->#100000e p=d->#1572864d p=c->vc p=b->#100000b");
}

/* ---------------------------------------------------------------------- */
/* Read sampling and cleanup                                               */

typedef struct sample_log {
    int calls;
    int bad;
} sample_log;

static void on_sample(void *ctx, cairn__slice ikey, size_t bytes)
{
    sample_log *log = ctx;
    cairn__pikey pk;
    log->calls++;
    /* Every entry here has a 6-byte user key and a 64 KiB value. */
    if (!cairn__ikey_parse(ikey, &pk) || pk.user_key.size != 6 ||
        bytes != 6 + 8 + 65536)
        log->bad++;
}

static void test_read_sampling(void **state)
{
    (void)state;
    const size_t vlen = 65536, n = 160; /* a full scan reads ~10 MiB */
    char *v = calloc(1, vlen), k[16];
    assert_non_null(v);
    cairn__memtable *m = mt_new_mem();
    for (size_t i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%05zu", i);
        mt_add(m, i + 1, CAIRN__TYPE_VALUE, cairn__slice_make(k, 6),
               cairn__slice_make(v, vlen));
    }
    free(v);
    cairn__iter *inner = cairn__memtable_iter(m), *it = NULL;
    cairn__memtable_unref(m);
    assert_non_null(inner);
    sample_log log = {0, 0};
    assert_int_equal(
        cairn__db_iter_create(inner, 1000, on_sample, &log, NULL, NULL, &it),
        0);
    size_t seen = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it))
        seen++;
    assert_int_equal(seen, n);
    /* Each gap is under 2 MiB, so reading T bytes crosses at least
     * T / 2 MiB - 1 of them; gaps averaging 1 MiB give about T / 1 MiB
     * calls, and 4x that would need gaps far below their mean throughout. */
    size_t total = n * (6 + 8 + vlen);
    assert_true((size_t)log.calls + 1 >= total / (2u << 20));
    assert_true((size_t)log.calls <= 4 * (total >> 20) + 1);
    assert_int_equal(log.bad, 0);
    cairn__iter_destroy(it);
}

/* ---------------------------------------------------------------------- */
/* A scripted internal iterator, for errors a memtable cannot produce      */

typedef struct vec_entry {
    const char *ukey;
    uint64_t seq;
    int type; /* 0, 1; 7 = bad type byte; -1 = raw key, shorter than a tag */
    const char *value;
} vec_entry;

typedef struct vec_iter {
    cairn__iter base;
    cairn__buf keys[8];
    const vec_entry *e;
    long n, pos; /* valid iff 0 <= pos < n and status == 0 */
    long err_at; /* landing here fails with CAIRN_IO; -1 never */
    int status;
    int *destroyed; /* counts destroy calls, may be NULL */
} vec_iter;

static void vec_land(vec_iter *v, long pos)
{
    v->pos = pos;
    if (v->status == 0 && v->err_at >= 0 && pos == v->err_at)
        v->status = CAIRN_IO;
}
static int vec_valid(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    return v->status == 0 && v->pos >= 0 && v->pos < v->n;
}
static void vec_seek_first(cairn__iter *it)
{
    vec_land((vec_iter *)it, 0);
}
static void vec_seek_last(cairn__iter *it)
{
    vec_land((vec_iter *)it, ((vec_iter *)it)->n - 1);
}
static void vec_seek(cairn__iter *it, cairn__slice target)
{
    vec_iter *v = (vec_iter *)it;
    long i = 0;
    /* Seeks pass raw short keys, which have no order. */
    for (; i < v->n; i++) {
        cairn__slice k = cairn__buf_slice(&v->keys[i]);
        if (k.size >= 8 && cairn__ikey_compare(k, target) >= 0)
            break;
    }
    vec_land(v, i);
}
static void vec_next(cairn__iter *it)
{
    vec_land((vec_iter *)it, ((vec_iter *)it)->pos + 1);
}
static void vec_prev(cairn__iter *it)
{
    vec_land((vec_iter *)it, ((vec_iter *)it)->pos - 1);
}
static cairn__slice vec_key(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    return cairn__buf_slice(&v->keys[v->pos]);
}
static cairn__slice vec_value(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    return cairn__slice_str(v->e[v->pos].value);
}
static int vec_status(cairn__iter *it)
{
    return ((vec_iter *)it)->status;
}
static void vec_destroy(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    for (long i = 0; i < v->n; i++)
        cairn__buf_fini(&v->keys[i]);
    if (v->destroyed != NULL)
        (*v->destroyed)++;
    free(v);
}
static const cairn__iter_ops vec_ops = {
    vec_valid, vec_seek_first, vec_seek_last, vec_seek,   vec_next,
    vec_prev,  vec_key,        vec_value,     vec_status, vec_destroy,
};

/* The n (<= 8) entries are listed in the order the iterator yields. */
static cairn__iter *vec_new(const vec_entry *e, long n, long err_at,
                            int *destroyed)
{
    vec_iter *v = calloc(1, sizeof *v);
    assert_non_null(v);
    assert_true(n <= 8);
    for (long i = 0; i < n; i++) {
        cairn__slice uk = cairn__slice_str(e[i].ukey);
        assert_int_equal(
            e[i].type < 0
                ? cairn__buf_append(&v->keys[i], uk.data, uk.size)
                : cairn__ikey_append(&v->keys[i], uk, e[i].seq, e[i].type),
            0);
    }
    v->base.ops = &vec_ops;
    v->e = e;
    v->n = n;
    v->pos = -1;
    v->err_at = err_at;
    v->destroyed = destroyed;
    return &v->base;
}

static void vec_case(const vec_entry *e, long n, long err_at, const char *moves)
{
    cairn__iter *it = NULL;
    assert_int_equal(cairn__db_iter_create(vec_new(e, n, err_at, NULL), 100,
                                           NULL, NULL, NULL, NULL, &it),
                     0);
    run(it, moves);
    cairn__iter_destroy(it);
}

static const vec_entry plain[] = {{"a", 1, 1, "va"},
                                  {"b", 3, 1, "vb"},
                                  {"b", 2, 1, "old"},
                                  {"c", 4, 1, "vc"}};
static const vec_entry short_key[] = {{"a", 1, 1, "va"},
                                      {"b", 2, 1, "vb"},
                                      {"xyz", 0, -1, "?"},
                                      {"d", 3, 1, "vd"}};
static const vec_entry bad_type[] = {
    {"a", 1, 1, "va"}, {"b", 2, 7, "vb"}, {"c", 3, 1, "vc"}};
/* A seek to "b" passes the raw "bb", whose bytes, were they taken for an
 * internal key, would claim a user key longer than the entry. */
static const vec_entry short_first[] = {{"bb", 0, -1, "?"}, {"b", 2, 1, "vb"}};

/* A malformed internal key: invalid, CAIRN_CORRUPTION, for good (I3). */
static void test_corrupt_key(void **state)
{
    (void)state;
    /* First the harness itself, with nothing wrong. */
    vec_case(plain, 4, -1, "sc=c->vc p=b->vb p=a->va n=b->vb p=a->va p=-");
    vec_case(short_key, 4, -1, "f=a->va n=b->vb n=!c f=!c sa=!c l=!c");
    /* Reversing from "d" must look past it, onto the bad key. */
    vec_case(short_key, 4, -1, "l=!c");
    vec_case(bad_type, 3, -1, "f=a->va n=!c");
    vec_case(bad_type, 3, -1, "l=!c");
    /* The forward-to-reverse step reads keys outside the scans. */
    vec_case(short_first, 2, -1, "sb=b->vb p=!c");
}

/* The internal iterator's error stops the db iterator (I4), for good. */
static void test_inner_error(void **state)
{
    (void)state;
    vec_case(plain, 4, 3, "f=a->va n=b->vb n=!io f=!io");
    /* "b" is complete when the step onto "a" fails: the error wins. */
    vec_case(plain, 4, 0, "sc=c->vc p=!io");
    vec_case(plain, 4, 2, "sb=b->vb n=!io");
}

typedef struct cleanup_probe {
    int inner_destroyed, calls, inner_destroyed_at_call;
} cleanup_probe;

static void on_cleanup(void *arg)
{
    cleanup_probe *p = arg;
    p->calls++;
    p->inner_destroyed_at_call = p->inner_destroyed;
}

static void test_cleanup_order(void **state)
{
    (void)state;
    cleanup_probe p = {0, 0, -1};
    cairn__iter *it = NULL;
    assert_int_equal(
        cairn__db_iter_create(vec_new(plain, 4, -1, &p.inner_destroyed), 3,
                              NULL, NULL, on_cleanup, &p, &it),
        0);
    run(it, "l=b->vb p=a->va");
    assert_int_equal(p.calls, 0);
    cairn__iter_destroy(it);
    assert_true(p.calls == 1 && p.inner_destroyed == 1);
    assert_int_equal(p.inner_destroyed_at_call, 1);
    cairn__iter_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_multi),
        cmocka_unit_test(test_multi_with_delete),
        cmocka_unit_test(test_deletions_at_edges),
        cmocka_unit_test(test_prev_from_first_next_from_last),
        cmocka_unit_test(test_issue200_hidden_entry),
        cmocka_unit_test(test_versions_and_snapshots),
        cmocka_unit_test(test_many_keys_and_tombstones),
        cmocka_unit_test(test_small_and_large_mix),
        cmocka_unit_test(test_read_sampling),
        cmocka_unit_test(test_corrupt_key),
        cmocka_unit_test(test_inner_error),
        cmocka_unit_test(test_cleanup_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
