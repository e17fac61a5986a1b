/*
 * test_merge_iter.c: the merging iterator (src/iter/merge.c) and the
 * two-level iterator (src/iter/two_level.c), each against a sorted array,
 * walked at random in both directions with seeks and direction switches,
 * plus error propagation from a failing child.
 *
 * Children are array iterators defined here; one can be told to fail
 * after a number of moves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "iter/merge.h"
#include "iter/two_level.h"
#include "util/coding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYLEN 6

typedef struct entry {
    char k[KEYLEN];
    char v[12];
    size_t vlen;
} entry;

static int ent_cmp(const void *a, const void *b)
{
    return memcmp(((const entry *)a)->k, ((const entry *)b)->k, KEYLEN);
}

/* ---- an iterator over an array of entries ---- */

typedef struct vec_iter {
    cairn__iter base;
    const entry **e;
    size_t n;
    size_t pos;      /* n when invalid */
    long fail_after; /* moves left before failing; < 0 never */
    int status;
} vec_iter;

static int moved(vec_iter *v)
{
    if (v->status == 0 && v->fail_after >= 0 && v->fail_after-- == 0)
        v->status = CAIRN_CORRUPTION;
    if (v->status != 0)
        v->pos = v->n;
    return v->status == 0;
}
static int vi_valid(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    return v->pos < v->n;
}
static void vi_seek_first(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    if (moved(v))
        v->pos = 0;
}
static void vi_seek_last(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    if (moved(v))
        v->pos = v->n ? v->n - 1 : 0;
}
static void vi_seek(cairn__iter *it, cairn__slice t)
{
    vec_iter *v = (vec_iter *)it;
    if (!moved(v))
        return;
    v->pos = 0;
    while (v->pos < v->n &&
           cairn__slice_compare(cairn__slice_make(v->e[v->pos]->k, KEYLEN), t) <
               0)
        v->pos++;
}
static void vi_next(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    assert_true(v->pos < v->n);
    if (moved(v))
        v->pos++;
}
static void vi_prev(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    assert_true(v->pos < v->n);
    if (moved(v))
        v->pos = v->pos == 0 ? v->n : v->pos - 1;
}
static cairn__slice vi_key(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    assert_true(v->pos < v->n);
    return cairn__slice_make(v->e[v->pos]->k, KEYLEN);
}
static cairn__slice vi_value(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    return cairn__slice_make(v->e[v->pos]->v, v->e[v->pos]->vlen);
}
static int vi_status(cairn__iter *it)
{
    return ((vec_iter *)it)->status;
}
static void vi_destroy(cairn__iter *it)
{
    vec_iter *v = (vec_iter *)it;
    free(v->e);
    free(v);
}
static const cairn__iter_ops vec_ops = {
    vi_valid, vi_seek_first, vi_seek_last, vi_seek,   vi_next,
    vi_prev,  vi_key,        vi_value,     vi_status, vi_destroy};

/* An iterator over the model entries i with owner[i] == which. */
static cairn__iter *vec_new(const entry *m, const int *owner, size_t n,
                            int which, long fail_after)
{
    vec_iter *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->e = calloc(n ? n : 1, sizeof *v->e);
    assert_non_null(v->e);
    for (size_t i = 0; i < n; i++)
        if (owner[i] == which)
            v->e[v->n++] = &m[i];
    v->base.ops = &vec_ops;
    v->pos = v->n;
    v->fail_after = fail_after;
    return &v->base;
}

/* ---- random walks against the model ---- */

static entry *make_model(tu_rng *r, size_t *n)
{
    entry *m = calloc(*n ? *n : 1, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < *n; i++)
        for (int j = 0; j < KEYLEN; j++)
            m[i].k[j] = (char)('a' + tu_rng_uniform(r, 3));
    qsort(m, *n, sizeof *m, ent_cmp);
    size_t w = 0;
    for (size_t i = 0; i < *n; i++)
        if (w == 0 || ent_cmp(&m[w - 1], &m[i]) != 0)
            m[w++] = m[i];
    *n = w;
    for (size_t i = 0; i < w; i++)
        m[i].vlen = (size_t)snprintf(m[i].v, sizeof m[i].v, "v%zu", i);
    return m;
}

/* One random move of it (seek_first, seek_last, seek, next or prev) and
 * the model position it should reach from pos; n means invalid. */
static size_t random_move(cairn__iter *it, const entry *m, size_t n, tu_rng *r,
                          size_t pos)
{
    int op = (int)tu_rng_uniform(r, 10);
    if (op == 0) {
        cairn__iter_seek_first(it);
        pos = 0;
    } else if (op == 1) {
        cairn__iter_seek_last(it);
        pos = n ? n - 1 : 0;
    } else if (op <= 3 || pos >= n) {
        char t[KEYLEN];
        for (int j = 0; j < KEYLEN; j++)
            t[j] = (char)('a' + tu_rng_uniform(r, 3));
        cairn__slice ts = cairn__slice_make(t, tu_rng_uniform(r, KEYLEN + 1));
        cairn__iter_seek(it, ts);
        for (pos = 0;
             pos < n &&
             cairn__slice_compare(cairn__slice_make(m[pos].k, KEYLEN), ts) < 0;)
            pos++;
    } else if (op <= 6) {
        cairn__iter_next(it);
        pos++;
    } else {
        cairn__iter_prev(it);
        pos = pos == 0 ? n : pos - 1;
    }
    return pos;
}

/* Walks it and the model together; pos == n means invalid. */
static void walk(cairn__iter *it, const entry *m, size_t n, tu_rng *r,
                 int steps)
{
    size_t pos = n;
    for (int s = 0; s < steps; s++) {
        pos = random_move(it, m, n, r, pos);
        assert_int_equal(cairn__iter_valid(it), pos < n);
        if (pos < n) {
            assert_memory_equal(cairn__iter_key(it).data, m[pos].k, KEYLEN);
            assert_true(
                cairn__slice_equal(cairn__iter_value(it),
                                   cairn__slice_make(m[pos].v, m[pos].vlen)));
        }
        assert_int_equal(cairn__iter_status(it), 0);
    }
}

/* walk(), until *child_status (a child's) turns nonzero: from that move
 * on the merged iterator must be invalid with the child's error. */
static void walk_until_failure(cairn__iter *it, const entry *m, size_t n,
                               tu_rng *r, const int *child_status)
{
    size_t pos = n;
    for (int s = 0; s < 10000; s++) {
        pos = random_move(it, m, n, r, pos);
        if (*child_status != 0) {
            assert_false(cairn__iter_valid(it));
            assert_int_equal(cairn__iter_status(it), *child_status);
            cairn__iter_seek_first(it); /* sticky */
            assert_false(cairn__iter_valid(it));
            assert_int_equal(cairn__iter_status(it), *child_status);
            return;
        }
        assert_int_equal(cairn__iter_valid(it), pos < n);
        if (pos < n)
            assert_memory_equal(cairn__iter_key(it).data, m[pos].k, KEYLEN);
    }
    fail_msg("the failing child never failed");
}

static void test_merge_random(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("merge_random"));
    int rounds = (int)(200 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        size_t n = tu_rng_uniform(&r, 300);
        entry *m = make_model(&r, &n);
        size_t nchild = tu_rng_uniform(&r, 7);
        int *owner = calloc(n ? n : 1, sizeof *owner);
        assert_non_null(owner);
        for (size_t i = 0; i < n; i++)
            owner[i] = nchild ? (int)tu_rng_uniform(&r, nchild) : -1;
        if (nchild == 0)
            n = 0;
        cairn__iter *kids[8];
        for (size_t c = 0; c < nchild; c++)
            kids[c] = vec_new(m, owner, n, (int)c, -1);
        cairn__iter *it;
        assert_int_equal(
            cairn__iter_merge(cairn__slice_compare, kids, nchild, &it), 0);
        walk(it, m, n, &r, 300);
        cairn__iter_destroy(it);
        free(owner);
        free(m);
    }
}

/* A child failing at any point stops the merged view with its error. */
static void test_merge_child_error(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, 7);
    size_t n = 200;
    entry *m = make_model(&r, &n);
    int *owner = calloc(n, sizeof *owner);
    assert_non_null(owner);
    for (size_t i = 0; i < n; i++)
        owner[i] = (int)(i % 3);
    for (long fail = 0; fail < 40; fail++) {
        cairn__iter *kids[3];
        for (int c = 0; c < 3; c++)
            kids[c] = vec_new(m, owner, n, c, c == 1 ? fail : -1);
        cairn__iter *it;
        assert_int_equal(cairn__iter_merge(cairn__slice_compare, kids, 3, &it),
                         0);
        size_t seen = 0;
        for (cairn__iter_seek_first(it); cairn__iter_valid(it);
             cairn__iter_next(it)) {
            assert_memory_equal(cairn__iter_key(it).data, m[seen].k, KEYLEN);
            seen++;
        }
        assert_true(seen < n);
        assert_int_equal(cairn__iter_status(it), CAIRN_CORRUPTION);
        cairn__iter_seek_first(it); /* sticky */
        assert_false(cairn__iter_valid(it));
        cairn__iter_destroy(it);
    }
    /* Random walks in both directions, with seeks and direction switches,
     * where one child fails after a number of moves: until it fails the
     * merged view is exact; the move that makes it fail leaves the merged
     * iterator invalid at once (valid() is asked before status()), and the
     * error stays. */
    for (long fail = 0; fail < 60; fail++) {
        cairn__iter *kids[3];
        for (int c = 0; c < 3; c++)
            kids[c] = vec_new(m, owner, n, c, c == 2 ? fail : -1);
        const vec_iter *failing = (const vec_iter *)kids[2];
        cairn__iter *it;
        assert_int_equal(cairn__iter_merge(cairn__slice_compare, kids, 3, &it),
                         0);
        tu_rng wr;
        tu_rng_init(&wr, 100 + (uint64_t)fail);
        walk_until_failure(it, m, n, &wr, &failing->status);
        assert_int_equal(failing->status, CAIRN_CORRUPTION);
        cairn__iter_destroy(it);
    }
    /* No children: an empty iterator. */
    cairn__iter *it;
    assert_int_equal(cairn__iter_merge(cairn__slice_compare, NULL, 0, &it), 0);
    cairn__iter_seek_first(it);
    assert_false(cairn__iter_valid(it));
    assert_int_equal(cairn__iter_status(it), 0);
    cairn__iter_destroy(it);
    free(owner);
    free(m);
}

/* ---- two-level: the index yields block numbers, blocks are vec iters ---- */

typedef struct blocks {
    const entry *m;
    const int *owner;
    size_t n;
    int opened;
    int fail_block; /* opening this block fails; -1 never */
} blocks;

static int open_block(void *arg, cairn__slice v, cairn__iter **out)
{
    blocks *b = arg;
    assert_int_equal(v.size, 4);
    int which = (int)cairn__decode_fixed32(v.data);
    if (which == b->fail_block)
        return CAIRN_IO;
    b->opened++;
    *out = vec_new(b->m, b->owner, b->n, which, -1);
    return 0;
}

static int arg_freed;

static void free_arg(void *arg)
{
    assert_non_null(arg);
    arg_freed++;
}

/* Index entry per block: key = the block's last key (or any key between
 * it and the next block's first), value = fixed32 block number. */
static void test_two_level(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("two_level"));
    int rounds = (int)(100 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        size_t n = tu_rng_uniform(&r, 200);
        entry *m = make_model(&r, &n);
        size_t nblocks = 1 + tu_rng_uniform(&r, 12);
        int *owner = calloc(n ? n : 1, sizeof *owner);
        assert_non_null(owner);
        /* Consecutive runs; some blocks stay empty. */
        int blk = 0;
        for (size_t i = 0; i < n; i++) {
            while ((size_t)blk + 1 < nblocks && tu_rng_uniform(&r, 8) == 0)
                blk++;
            owner[i] = blk;
        }
        entry *idx = calloc(nblocks, sizeof *idx);
        int *idx_owner = calloc(nblocks, sizeof *idx_owner);
        assert_non_null(idx);
        assert_non_null(idx_owner);
        size_t j = 0;
        for (size_t b = 0; b < nblocks; b++) {
            /* The last key of block b, or the previous index key if empty. */
            if (b == 0)
                memset(idx[b].k, 'a', KEYLEN);
            else
                memcpy(idx[b].k, idx[b - 1].k, KEYLEN);
            while (j < n && owner[j] == (int)b)
                memcpy(idx[b].k, m[j++].k, KEYLEN);
            if (b + 1 == nblocks)
                memset(idx[b].k, 'z', KEYLEN);
            cairn__encode_fixed32(idx[b].v, (uint32_t)b);
            idx[b].vlen = 4;
        }
        blocks bl = {m, owner, n, 0, -1};
        cairn__iter *index = vec_new(idx, idx_owner, nblocks, 0, -1);
        cairn__iter *it;
        arg_freed = 0;
        assert_int_equal(
            cairn__iter_two_level(index, open_block, &bl, free_arg, &it), 0);
        walk(it, m, n, &r, 300);
        if (n > 0 && owner[0] == 0) {
            /* Seeking again inside the open block reuses it. */
            cairn__iter_seek_first(it);
            int opened = bl.opened;
            cairn__iter_seek(it, cairn__slice_make(m[0].k, KEYLEN));
            cairn__iter_seek_first(it);
            assert_int_equal(bl.opened, opened);
        }
        cairn__iter_destroy(it);
        assert_int_equal(arg_freed, 1);

        /* A block that cannot be opened ends the scan with its error. */
        bl.fail_block = (int)tu_rng_uniform(&r, nblocks);
        index = vec_new(idx, idx_owner, nblocks, 0, -1);
        assert_int_equal(
            cairn__iter_two_level(index, open_block, &bl, NULL, &it), 0);
        size_t seen = 0;
        for (cairn__iter_seek_first(it); cairn__iter_valid(it);
             cairn__iter_next(it)) {
            assert_memory_equal(cairn__iter_key(it).data, m[seen].k, KEYLEN);
            assert_true(owner[seen] < bl.fail_block);
            seen++;
        }
        assert_true(seen == n || owner[seen] >= bl.fail_block);
        assert_int_equal(cairn__iter_status(it), CAIRN_IO);
        cairn__iter_destroy(it);
        free(idx_owner);
        free(idx);
        free(owner);
        free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_random),
        cmocka_unit_test(test_merge_child_error),
        cmocka_unit_test(test_two_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
