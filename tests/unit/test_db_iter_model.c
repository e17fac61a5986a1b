/*
 * test_db_iter_model.c: the db iterator (src/db/db_iter.h) over real
 * memtables on keys with 0x00 and 0xff bytes, the empty key and empty
 * values, and a seeded model test (replayable with CAIRN_TEST_SEED) of
 * random puts and deletes over several memtables, checked at random
 * snapshots by scans and a random walk of seeks and steps. The scripted
 * cases are test_db_iter.c's.
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

/* The key space of the binary-key and model tests, in bytewise order
 * (checked): 0x00 and 0xff bytes, the empty key, prefixes. */
static const struct {
    const char *k;
    size_t n;
} pool[] = {
    {"", 0},     {"\x00", 1},  {"\x00\x00", 2}, {"\x00\xff", 2},
    {"a", 1},    {"a\x00", 2}, {"ab", 2},       {"b", 1},
    {"\x7f", 1}, {"\xff", 1},  {"\xff\x00", 2}, {"\xff\xff", 2},
};
#define NPOOL ((int)(sizeof pool / sizeof pool[0]))

static cairn__slice pool_key(int i)
{
    return cairn__slice_make(pool[i].k, pool[i].n);
}

static void assert_key(cairn__iter *it, const char *k, size_t n)
{
    assert_true(cairn__iter_valid(it));
    cairn__slice key = cairn__iter_key(it);
    assert_non_null(key.data);
    assert_int_equal(key.size, n);
    if (n)
        assert_memory_equal(key.data, k, n);
}

/* ---------------------------------------------------------------------- */
/* The model test                                                          */

typedef struct op {
    int key, type;
    uint64_t seq;
    char *val;
    size_t vlen;
} op;

/* The visible entries at one snapshot, in key order. */
typedef struct model {
    int n;
    int key[NPOOL];
    const op *op[NPOOL];
} model;

static void model_build(model *md, const op *ops, int nops, uint64_t snap)
{
    md->n = 0;
    for (int k = 0; k < NPOOL; k++) {
        const op *newest = NULL;
        for (int i = 0; i < nops; i++)
            if (ops[i].key == k && ops[i].seq <= snap &&
                (newest == NULL || ops[i].seq > newest->seq))
                newest = &ops[i];
        if (newest != NULL && newest->type == CAIRN__TYPE_VALUE) {
            md->key[md->n] = k;
            md->op[md->n++] = newest;
        }
    }
}

/* The iterator must stand at model position pos (invalid if outside). */
static void check_pos(cairn__iter *it, const model *md, int pos)
{
    assert_int_equal(cairn__iter_status(it), 0);
    if (pos < 0 || pos >= md->n) {
        assert_false(cairn__iter_valid(it));
        return;
    }
    assert_key(it, pool[md->key[pos]].k, pool[md->key[pos]].n);
    cairn__slice v = cairn__iter_value(it);
    assert_non_null(v.data);
    assert_int_equal(v.size, md->op[pos]->vlen);
    if (v.size)
        assert_memory_equal(v.data, md->op[pos]->val, v.size);
}

/* A pool key, one just past a pool key, or a few random bytes. */
static cairn__slice random_target(tu_rng *r, char *buf)
{
    static const char alphabet[] = {'\x00', 'a', 'b', '\x7f', '\xff'};
    cairn__slice k = pool_key((int)tu_rng_uniform(r, NPOOL));
    uint64_t how = tu_rng_uniform(r, 3);
    if (how == 0)
        return k;
    size_t n = 0;
    if (how == 1) {
        memcpy(buf, k.data, k.size);
        n = k.size;
        buf[n++] = '\x00';
    } else {
        for (size_t len = tu_rng_uniform(r, 4); n < len; n++)
            buf[n] = alphabet[tu_rng_uniform(r, sizeof alphabet)];
    }
    return cairn__slice_make(buf, n);
}

/* Full scans both ways, then a random walk of seeks and steps. */
static void check_snapshot(tu_rng *r, cairn__memtable **mems, int nmem,
                           const op *ops, int nops, uint64_t snap)
{
    model md;
    model_build(&md, ops, nops, snap);
    cairn__iter *it = mt_open_mems(mems, (size_t)nmem, snap);
    int pos = 0;
    for (cairn__iter_seek_first(it); pos < md.n; pos++, cairn__iter_next(it))
        check_pos(it, &md, pos);
    check_pos(it, &md, -1);
    pos = md.n - 1;
    for (cairn__iter_seek_last(it); pos >= 0; pos--, cairn__iter_prev(it))
        check_pos(it, &md, pos);
    check_pos(it, &md, -1);

    char tbuf[8];
    for (int s = 0; s < 60; s++) {
        uint64_t what = tu_rng_uniform(r, 10);
        if (pos < 0 || what < 2) {
            what = tu_rng_uniform(r, 3);
            if (what == 0) {
                cairn__iter_seek_first(it);
                pos = 0;
            } else if (what == 1) {
                cairn__iter_seek_last(it);
                pos = md.n - 1;
            } else {
                cairn__slice t = random_target(r, tbuf);
                cairn__iter_seek(it, t);
                for (pos = 0; pos < md.n; pos++)
                    if (cairn__slice_compare(pool_key(md.key[pos]), t) >= 0)
                        break;
            }
        } else if (what < 6) {
            cairn__iter_next(it);
            pos++;
        } else {
            cairn__iter_prev(it);
            pos--;
        }
        if (pos >= md.n)
            pos = -1;
        check_pos(it, &md, pos);
    }
    cairn__iter_destroy(it);
}

/* Keys with 0x00 and 0xff bytes, the empty key and empty values: every
 * pool key once, inserted in reverse so the order comes from the
 * iterators; seeks between neighbours a byte apart, then a step back. */
static void test_binary_keys(void **state)
{
    (void)state;
    for (int i = 1; i < NPOOL; i++)
        assert_true(cairn__slice_compare(pool_key(i - 1), pool_key(i)) < 0);
    op ops[NPOOL];
    cairn__memtable *m = mt_new_mem();
    for (int i = NPOOL; i-- > 0;) {
        /* Odd keys carry themselves as value, even ones an empty value. */
        op o = {i, CAIRN__TYPE_VALUE, (uint64_t)(NPOOL - i), (char *)pool[i].k,
                i % 2 ? pool[i].n : 0};
        ops[i] = o;
        mt_add(m, o.seq, o.type, pool_key(i), cairn__slice_make(o.val, o.vlen));
    }
    static const struct {
        const char *t;
        size_t n;
        int at; /* pool index of the first key >= t; NPOOL for none */
    } seeks[] = {
        {"", 0, 0},         {"\x00", 1, 1},          {"\x00\x01", 2, 3},
        {"\x01", 1, 4},     {"a\x00\x00", 3, 6},     {"a\xff", 2, 7},
        {"\xfe\xff", 2, 9}, {"\xff\x00\x00", 3, 11}, {"\xff\xff\x00", 3, NPOOL},
    };
    model md;
    model_build(&md, ops, NPOOL, 100);
    cairn__iter *it = mt_open_mems(&m, 1, 100);
    for (size_t i = 0; i < sizeof seeks / sizeof seeks[0]; i++) {
        cairn__iter_seek(it, cairn__slice_make(seeks[i].t, seeks[i].n));
        check_pos(it, &md, seeks[i].at < NPOOL ? seeks[i].at : -1);
        if (seeks[i].at > 0 && seeks[i].at < NPOOL) {
            cairn__iter_prev(it);
            check_pos(it, &md, seeks[i].at - 1);
            cairn__iter_next(it);
            check_pos(it, &md, seeks[i].at);
        }
    }
    cairn__iter_destroy(it);
    tu_rng r;
    tu_rng_init(&r, 42);
    check_snapshot(&r, &m, 1, ops, NPOOL, 100);
    cairn__memtable_unref(m);
}

static void test_model(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("db_iter_model"));
    int rounds = (int)(100 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        int nmem = 1 + (int)tu_rng_uniform(&r, 3);
        cairn__memtable *mems[3];
        for (int i = 0; i < nmem; i++)
            mems[i] = mt_new_mem();
        /* Few keys make deep version chains, many make wide scans. */
        int nkeys = 1 + (int)tu_rng_uniform(&r, NPOOL);
        int first = (int)tu_rng_uniform(&r, (uint64_t)(NPOOL - nkeys + 1));
        int nops = 1 + (int)tu_rng_uniform(&r, 80);
        op *ops = calloc((size_t)nops, sizeof *ops);
        assert_non_null(ops);
        uint64_t seq = tu_rng_uniform(&r, 1000);
        for (int i = 0; i < nops; i++) {
            op *o = &ops[i];
            o->seq = seq += 1 + tu_rng_uniform(&r, 3); /* gaps for snaps */
            o->key = first + (int)tu_rng_uniform(&r, (uint64_t)nkeys);
            o->type = tu_rng_uniform(&r, 10) < 3 ? CAIRN__TYPE_DELETION
                                                 : CAIRN__TYPE_VALUE;
            if (o->type == CAIRN__TYPE_VALUE) {
                o->vlen = tu_rng_uniform(&r, 20) == 0
                              ? 200 + tu_rng_uniform(&r, 3000)
                              : tu_rng_uniform(&r, 12);
                assert_non_null(o->val = malloc(o->vlen + 1));
                tu_rng_bytes(&r, o->val, o->vlen);
            }
            mt_add(mems[tu_rng_uniform(&r, (uint64_t)nmem)], o->seq, o->type,
                   pool_key(o->key), cairn__slice_make(o->val, o->vlen));
        }
        uint64_t snaps[6] = {0, seq, UINT64_MAX};
        for (int i = 3; i < 6; i++)
            snaps[i] = tu_rng_uniform(&r, seq + 1);
        for (int i = 0; i < 6; i++)
            check_snapshot(&r, mems, nmem, ops, nops, snaps[i]);
        for (int i = 0; i < nops; i++)
            free(ops[i].val);
        free(ops);
        for (int i = 0; i < nmem; i++)
            cairn__memtable_unref(mems[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_keys),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
