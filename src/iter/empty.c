/*
 * empty.c: the iterator over nothing, optionally carrying an error.
 */
#include "iter/iter.h"

#include <stdlib.h>

typedef struct empty_iter {
    cairn__iter base;
    int status;
} empty_iter;

static int e_valid(cairn__iter *it)
{
    (void)it;
    return 0;
}
static void e_noop(cairn__iter *it)
{
    (void)it;
}
static void e_seek(cairn__iter *it, cairn__slice t)
{
    (void)it;
    (void)t;
}
static cairn__slice e_slice(cairn__iter *it)
{
    (void)it;
    return cairn__slice_make("", 0);
}
static int e_status(cairn__iter *it)
{
    return ((empty_iter *)it)->status;
}
static void e_destroy(cairn__iter *it)
{
    free(it);
}

static const cairn__iter_ops empty_ops = {
    e_valid, e_noop,  e_noop,  e_seek,   e_noop,
    e_noop,  e_slice, e_slice, e_status, e_destroy,
};

cairn__iter *cairn__iter_empty(int status)
{
    empty_iter *e = malloc(sizeof *e);
    if (e == NULL)
        return NULL;
    e->base.ops = &empty_ops;
    e->status = status;
    return &e->base;
}
