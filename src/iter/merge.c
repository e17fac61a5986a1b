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
 * Invariants:
 *  M1. status, once set, never changes; current is then NULL.
 *  M2. Valid iff current != NULL (and so status == 0).
 */
#include "iter/merge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { FORWARD, REVERSE };

typedef struct merge_iter {
    cairn__iter base;
    int (*cmp)(cairn__slice a, cairn__slice b);
    cairn__iter **children;
    size_t n;
    cairn__iter *current;
    int direction;
    int status;
} merge_iter;

static void find_smallest(merge_iter *m)
{
    cairn__iter *smallest = NULL;
    for (size_t i = 0; i < m->n; i++) {
        cairn__iter *c = m->children[i];
        if (cairn__iter_valid(c) &&
            (smallest == NULL ||
             m->cmp(cairn__iter_key(c), cairn__iter_key(smallest)) < 0))
            smallest = c;
    }
    m->current = smallest;
}

static void find_largest(merge_iter *m)
{
    cairn__iter *largest = NULL;
    for (size_t i = m->n; i-- > 0;) {
        cairn__iter *c = m->children[i];
        if (cairn__iter_valid(c) &&
            (largest == NULL ||
             m->cmp(cairn__iter_key(c), cairn__iter_key(largest)) > 0))
            largest = c;
    }
    m->current = largest;
}

/* After a move: the first child error stops the merged iterator (M1). */
static void check_children(merge_iter *m)
{
    if (m->status != 0) {
        m->current = NULL;
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        int rc = cairn__iter_status(m->children[i]);
        if (rc != 0) {
            m->status = rc;
            m->current = NULL;
            return;
        }
    }
}

static int mi_valid(cairn__iter *base)
{
    return ((merge_iter *)base)->current != NULL;
}

static void mi_seek_first(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->status != 0)
        return;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_seek_first(m->children[i]);
    find_smallest(m);
    m->direction = FORWARD;
    check_children(m);
}

static void mi_seek_last(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->status != 0)
        return;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_seek_last(m->children[i]);
    find_largest(m);
    m->direction = REVERSE;
    check_children(m);
}

static void mi_seek(cairn__iter *base, cairn__slice target)
{
    merge_iter *m = (merge_iter *)base;
    if (m->status != 0)
        return;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_seek(m->children[i], target);
    find_smallest(m);
    m->direction = FORWARD;
    check_children(m);
}

static void mi_next(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->current == NULL)
        return;
    if (m->direction != FORWARD) {
        /* current's key stays valid: current is not moved here. */
        cairn__slice key = cairn__iter_key(m->current);
        for (size_t i = 0; i < m->n; i++) {
            cairn__iter *c = m->children[i];
            if (c == m->current)
                continue;
            cairn__iter_seek(c, key);
            if (cairn__iter_valid(c) && m->cmp(key, cairn__iter_key(c)) == 0)
                cairn__iter_next(c);
        }
        m->direction = FORWARD;
    }
    cairn__iter_next(m->current);
    find_smallest(m);
    check_children(m);
}

static void mi_prev(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->current == NULL)
        return;
    if (m->direction != REVERSE) {
        cairn__slice key = cairn__iter_key(m->current);
        for (size_t i = 0; i < m->n; i++) {
            cairn__iter *c = m->children[i];
            if (c == m->current)
                continue;
            cairn__iter_seek(c, key);
            if (cairn__iter_valid(c))
                cairn__iter_prev(c);
            else
                cairn__iter_seek_last(c);
        }
        m->direction = REVERSE;
    }
    cairn__iter_prev(m->current);
    find_largest(m);
    check_children(m);
}

static cairn__slice mi_key(cairn__iter *base)
{
    return cairn__iter_key(((merge_iter *)base)->current);
}

static cairn__slice mi_value(cairn__iter *base)
{
    return cairn__iter_value(((merge_iter *)base)->current);
}

static int mi_status(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->status == 0)
        check_children(m);
    return m->status;
}

static void mi_destroy(cairn__iter *base)
{
    merge_iter *m = (merge_iter *)base;
    for (size_t i = 0; i < m->n; i++)
        cairn__iter_destroy(m->children[i]);
    free(m->children);
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
    cairn__iter **copy = NULL;
    if (m != NULL && n > 0) {
        copy = n <= SIZE_MAX / sizeof *copy ? malloc(n * sizeof *copy) : NULL;
        if (copy == NULL) {
            free(m);
            m = NULL;
        }
    }
    if (m == NULL) {
        for (size_t i = 0; i < n; i++)
            cairn__iter_destroy(children[i]);
        return cairn__err(CAIRN_NOMEM, "cannot allocate merging iterator");
    }
    if (n > 0)
        memcpy(copy, children, n * sizeof *copy);
    m->base.ops = &merge_ops;
    m->cmp = cmp;
    m->children = copy;
    m->n = n;
    m->current = NULL;
    m->direction = FORWARD;
    m->status = 0;
    *out = &m->base;
    return 0;
}
