/*
 * merge.c: the merging iterator of merge.h.
 *
 * The current entry is the smallest (forward) or largest (reverse) key
 * among the valid children, found by a linear scan: a database merges a
 * few memtables and level-0 tables plus one iterator per deeper level, so
 * a heap would not pay for itself.
 *
 * Direction. Moving forward, every child other than the current one is
 * positioned at its first key > current key; moving in reverse, at its
 * last key < current key. Switching direction therefore re-seeks the other
 * children around the current key before stepping, exactly as LevelDB
 * does:
 *   to forward: seek(key), which gives the first entry >= key, and step
 *               past an entry equal to key, giving the first entry > key;
 *   to reverse: seek(key), then prev (or seek_last if the seek ran off
 *               the end), giving the last entry < key.
 * Both rely on no two children holding equal keys, which internal keys
 * (unique sequence numbers) guarantee.
 *
 * Cost per step. A child's validity and key change only when that child
 * moves, so they are cached per child (the key slice stays good until the
 * child moves, by the iterator contract), and so is its status: a step
 * moves one child, then refreshes and checks that one alone and scans the
 * cached keys. A compaction merging eight level-0 tables used to make
 * about a hundred indirect calls per entry through the children's
 * table, two-level and block iterators; now it makes a handful.
 *
 * Invariants:
 *  M1. status, once set, never changes; current is then -1.
 *  M2. Valid iff current >= 0 (and so status == 0).
 *  M3. For every child i not being moved, kid[i].valid and kid[i].key are
 *      what the child's valid() and key() would return, and its status()
 *      is 0 unless M1's status came from it.
 */
#include "iter/merge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { FORWARD, REVERSE };

typedef struct child {
    cairn__iter *it;
    cairn__slice key; /* while valid (M3) */
    int valid;
} child;

typedef struct merge_iter {
    cairn__iter base;
    int (*cmp)(cairn__slice a, cairn__slice b);
    child *kid;
    size_t n;
    ptrdiff_t current; /* index into kid, or -1 */
    int direction;
    int status;
} merge_iter;

/* Re-reads child i after it moved; 0, or its error, which stops the
 * merged iterator (M1). */
static int refresh(merge_iter *m, size_t i)
{
    child *k = &m->kid[i];
    int rc = cairn__iter_status(k->it);
    if (rc != 0) {
        m->status = rc;
        m->current = -1;
        k->valid = 0;
        return rc;
    }
    k->valid = cairn__iter_valid(k->it);
    if (k->valid)
        k->key = cairn__iter_key(k->it);
    return 0;
}

/* After every child moved: refreshes them all; the first error stops. */
static int refresh_all(merge_iter *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (refresh(m, i) != 0)
            return m->status;
    return 0;
}

static void find_smallest(merge_iter *m)
{
    ptrdiff_t smallest = -1;
    for (size_t i = 0; i < m->n; i++) {
        const child *k = &m->kid[i];
        if (k->valid &&
            (smallest < 0 || m->cmp(k->key, m->kid[smallest].key) < 0))
            smallest = (ptrdiff_t)i;
    }
    m->current = smallest;
}

static void find_largest(merge_iter *m)
{
    ptrdiff_t largest = -1;
    for (size_t i = m->n; i-- > 0;) {
        const child *k = &m->kid[i];
        if (k->valid &&
            (largest < 0 || m->cmp(k->key, m->kid[largest].key) > 0))
            largest = (ptrdiff_t)i;
    }
    m->current = largest;
}

static int mi_valid(cairn__iter *base)
{
    return ((merge_iter *)base)->current >= 0;
}

static void mi_seek_first(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->status != 0)
        return;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_seek_first(m->kid[i].it);
    m->direction = FORWARD;
    if (refresh_all(m) == 0)
        find_smallest(m);
}

static void mi_seek_last(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->status != 0)
        return;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_seek_last(m->kid[i].it);
    m->direction = REVERSE;
    if (refresh_all(m) == 0)
        find_largest(m);
}

static void mi_seek(cairn__iter *base, cairn__slice target)
{
    merge_iter *m = (merge_iter *)base;
    if (m->status != 0)
        return;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_seek(m->kid[i].it, target);
    m->direction = FORWARD;
    if (refresh_all(m) == 0)
        find_smallest(m);
}

static void mi_next(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->current < 0)
        return;
    size_t cur = (size_t)m->current;
    if (m->direction != FORWARD) {
        /* current's key stays valid: current is not moved here. */
        cairn__slice key = m->kid[cur].key;
        for (size_t i = 0; i < m->n; i++) {
            cairn__iter *c = m->kid[i].it;
            if (i == cur)
                continue;
            cairn__iter_seek(c, key);
            if (cairn__iter_valid(c) && m->cmp(key, cairn__iter_key(c)) == 0)
                cairn__iter_next(c);
            if (refresh(m, i) != 0)
                return;
        }
        m->direction = FORWARD;
    }
    cairn__iter_next(m->kid[cur].it);
    if (refresh(m, cur) == 0)
        find_smallest(m);
}

static void mi_prev(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->current < 0)
        return;
    size_t cur = (size_t)m->current;
    if (m->direction != REVERSE) {
        cairn__slice key = m->kid[cur].key;
        for (size_t i = 0; i < m->n; i++) {
            cairn__iter *c = m->kid[i].it;
            if (i == cur)
                continue;
            cairn__iter_seek(c, key);
            if (cairn__iter_valid(c))
                cairn__iter_prev(c);
            else
                cairn__iter_seek_last(c);
            if (refresh(m, i) != 0)
                return;
        }
        m->direction = REVERSE;
    }
    cairn__iter_prev(m->kid[cur].it);
    if (refresh(m, cur) == 0)
        find_largest(m);
}

static cairn__slice mi_key(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    return m->kid[m->current].key;
}

static cairn__slice mi_value(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    return cairn__iter_value(m->kid[m->current].it);
}

/* Asks every child again (M3 says it is 0, but status() is rare and
 * this keeps it exact). */
static int mi_status(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    for (size_t i = 0; m->status == 0 && i < m->n; i++) {
        int rc = cairn__iter_status(m->kid[i].it);
        if (rc != 0) {
            m->status = rc;
            m->current = -1;
        }
    }
    return m->status;
}

static void mi_destroy(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_destroy(m->kid[i].it);
    free(m->kid);
    free(m);
}

static const cairn__iter_ops merge_ops = {
    mi_valid, mi_seek_first, mi_seek_last, mi_seek,   mi_next,
    mi_prev,  mi_key,        mi_value,     mi_status, mi_destroy,
};

int cairn__iter_merge(int (*cmp)(cairn__slice a, cairn__slice b),
                      cairn__iter **children, size_t n, cairn__iter **out)
{
    *out = NULL;
    if (n == 1) {
        *out = children[0];
        return 0;
    }
    merge_iter *m = malloc(sizeof *m);
    child *kid = NULL;
    if (m != NULL && n > 0) {
        kid = n <= SIZE_MAX / sizeof *kid ? calloc(n, sizeof *kid) : NULL;
        if (kid == NULL) {
            free(m);
            m = NULL;
        }
    }
    if (m == NULL) {
        for (size_t i = 0; i < n; i++)
            cairn__iter_destroy(children[i]);
        return cairn__err(CAIRN_NOMEM, "cannot allocate merging iterator");
    }
    for (size_t i = 0; i < n; i++)
        kid[i].it = children[i];
    m->base.ops = &merge_ops;
    m->cmp = cmp;
    m->kid = kid;
    m->n = n;
    m->current = -1;
    m->direction = FORWARD;
    m->status = 0;
    *out = &m->base;
    return 0;
}
