/*
 * iter.h: the internal iterator interface (LevelDB's Iterator).
 *
 * Memtables, blocks, tables, levels and the merged database view all
 * implement it. Keys are internal keys except where an implementation says
 * otherwise (the user-facing DB iterator yields user keys).
 *
 * Contract:
 *  - A new iterator is not valid; position it with seek_first, seek_last or
 *    seek (first entry with key >= target).
 *  - key() and value() may be called only while valid(); the slices stay
 *    good until the iterator moves or is destroyed.
 *  - status() is 0 or the first error met (e.g. CAIRN_CORRUPTION for a bad
 *    block); an iterator that met an error becomes invalid.
 *  - destroy() frees it; NULL is accepted (use cairn__iter_destroy).
 * One thread at a time per iterator.
 */
#ifndef CAIRN_ITER_ITER_H
#define CAIRN_ITER_ITER_H

#include "util/slice.h"

typedef struct cairn__iter cairn__iter;

typedef struct cairn__iter_ops {
    int (*valid)(cairn__iter *it);
    void (*seek_first)(cairn__iter *it);
    void (*seek_last)(cairn__iter *it);
    void (*seek)(cairn__iter *it, cairn__slice target);
    void (*next)(cairn__iter *it);
    void (*prev)(cairn__iter *it);
    cairn__slice (*key)(cairn__iter *it);
    cairn__slice (*value)(cairn__iter *it);
    int (*status)(cairn__iter *it);
    void (*destroy)(cairn__iter *it);
} cairn__iter_ops;

struct cairn__iter {
    const cairn__iter_ops *ops;
};

static inline int cairn__iter_valid(cairn__iter *it)
{
    return it->ops->valid(it);
}
static inline void cairn__iter_seek_first(cairn__iter *it)
{
    it->ops->seek_first(it);
}
static inline void cairn__iter_seek_last(cairn__iter *it)
{
    it->ops->seek_last(it);
}
static inline void cairn__iter_seek(cairn__iter *it, cairn__slice t)
{
    it->ops->seek(it, t);
}
static inline void cairn__iter_next(cairn__iter *it)
{
    it->ops->next(it);
}
static inline void cairn__iter_prev(cairn__iter *it)
{
    it->ops->prev(it);
}
static inline cairn__slice cairn__iter_key(cairn__iter *it)
{
    return it->ops->key(it);
}
static inline cairn__slice cairn__iter_value(cairn__iter *it)
{
    return it->ops->value(it);
}
static inline int cairn__iter_status(cairn__iter *it)
{
    return it->ops->status(it);
}
static inline void cairn__iter_destroy(cairn__iter *it)
{
    if (it != NULL)
        it->ops->destroy(it);
}

/* An iterator over nothing that reports `status` (0 for plainly empty).
 * NULL on out-of-memory. */
cairn__iter *cairn__iter_empty(int status);

#endif
