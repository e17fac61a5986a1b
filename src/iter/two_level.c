/*
 * two_level.c: see two_level.h.
 *
 * The iterator keeps the index iterator and at most one open block
 * iterator, plus a copy of the index value the block was opened from, so
 * that seeking within the same block reuses it instead of reading it
 * again. After every move it skips blocks that have no entry in the
 * direction of travel (an empty block, or a seek past a block's end).
 *
 * Invariants:
 *  T1. Valid iff status == 0 and the block iterator exists and is valid.
 *  T2. If data != NULL it was opened from the index entry whose value is
 *      data_handle.
 *  T3. status, once set, never changes, and data is then NULL.
 */
#include "iter/two_level.h"

#include "util/buf.h"

#include <stdlib.h>

typedef struct two_level {
    cairn__iter base;
    cairn__iter *index;
    cairn__iter *data;
    cairn__buf data_handle;
    cairn__two_level_fn fn;
    void *arg;
    void (*arg_free)(void *arg);
    int status;
} two_level;

static void set_data(two_level *it, cairn__iter *data)
{
    cairn__iter_destroy(it->data);
    it->data = data;
}

static void fail(two_level *it, int rc)
{
    if (it->status == 0)
        it->status = rc;
    set_data(it, NULL);
}

/* Records an error of the index or block iterator; 1 if none (T3). */
static int ok(two_level *it)
{
    if (it->status != 0)
        return 0;
    int rc = cairn__iter_status(it->index);
    if (rc == 0 && it->data != NULL)
        rc = cairn__iter_status(it->data);
    if (rc != 0) {
        fail(it, rc);
        return 0;
    }
    return 1;
}

/* Opens the block of the current index entry (T2). */
static void init_data_block(two_level *it)
{
    if (!cairn__iter_valid(it->index)) {
        set_data(it, NULL);
        return;
    }
    cairn__slice h = cairn__iter_value(it->index);
    if (it->data != NULL &&
        cairn__slice_equal(h, cairn__buf_slice(&it->data_handle)))
        return;
    cairn__iter *data = NULL;
    int rc = it->fn(it->arg, h, &data);
    if (rc == 0) {
        cairn__buf_clear(&it->data_handle);
        rc = cairn__buf_append(&it->data_handle, h.data, h.size);
        if (rc != 0)
            cairn__iter_destroy(data);
    }
    if (rc != 0) {
        fail(it, rc);
        return;
    }
    set_data(it, data);
}

static void skip_empty_forward(two_level *it)
{
    /* A valid block iterator has no error, and the index did not move
     * since ok() last ran: the common step asks nothing more. */
    while ((it->data == NULL || !cairn__iter_valid(it->data)) && ok(it)) {
        if (!cairn__iter_valid(it->index)) {
            set_data(it, NULL);
            return;
        }
        cairn__iter_next(it->index);
        init_data_block(it);
        if (it->data != NULL)
            cairn__iter_seek_first(it->data);
    }
}

static void skip_empty_backward(two_level *it)
{
    /* A valid block iterator has no error, and the index did not move
     * since ok() last ran: the common step asks nothing more. */
    while ((it->data == NULL || !cairn__iter_valid(it->data)) && ok(it)) {
        if (!cairn__iter_valid(it->index)) {
            set_data(it, NULL);
            return;
        }
        cairn__iter_prev(it->index);
        init_data_block(it);
        if (it->data != NULL)
            cairn__iter_seek_last(it->data);
    }
}

static int tl_valid(cairn__iter *base)
{
    two_level *it = (two_level *)base;
    return it->status == 0 && it->data != NULL && cairn__iter_valid(it->data);
}

static void tl_seek(cairn__iter *base, cairn__slice target)
{
    two_level *it = (two_level *)base;
    if (it->status != 0)
        return;
    cairn__iter_seek(it->index, target);
    init_data_block(it);
    if (it->data != NULL)
        cairn__iter_seek(it->data, target);
    skip_empty_forward(it);
}

static void tl_seek_first(cairn__iter *base)
{
    two_level *it = (two_level *)base;
    if (it->status != 0)
        return;
    cairn__iter_seek_first(it->index);
    init_data_block(it);
    if (it->data != NULL)
        cairn__iter_seek_first(it->data);
    skip_empty_forward(it);
}

static void tl_seek_last(cairn__iter *base)
{
    two_level *it = (two_level *)base;
    if (it->status != 0)
        return;
    cairn__iter_seek_last(it->index);
    init_data_block(it);
    if (it->data != NULL)
        cairn__iter_seek_last(it->data);
    skip_empty_backward(it);
}

static void tl_next(cairn__iter *base)
{
    two_level *it = (two_level *)base;
    if (!tl_valid(base))
        return;
    cairn__iter_next(it->data);
    skip_empty_forward(it);
}

static void tl_prev(cairn__iter *base)
{
    two_level *it = (two_level *)base;
    if (!tl_valid(base))
        return;
    cairn__iter_prev(it->data);
    skip_empty_backward(it);
}

static cairn__slice tl_key(cairn__iter *base)
{
    return cairn__iter_key(((two_level *)base)->data);
}

static cairn__slice tl_value(cairn__iter *base)
{
    return cairn__iter_value(((two_level *)base)->data);
}

static int tl_status(cairn__iter *base)
{
    two_level *it = (two_level *)base;
    ok(it);
    return it->status;
}

static void tl_destroy(cairn__iter *base)
{
    two_level *it = (two_level *)base;
    cairn__iter_destroy(it->data);
    cairn__iter_destroy(it->index);
    cairn__buf_fini(&it->data_handle);
    if (it->arg_free != NULL)
        it->arg_free(it->arg);
    free(it);
}

static const cairn__iter_ops two_level_ops = {
    tl_valid, tl_seek_first, tl_seek_last, tl_seek,   tl_next,
    tl_prev,  tl_key,        tl_value,     tl_status, tl_destroy,
};

int cairn__iter_two_level(cairn__iter *index_iter, cairn__two_level_fn fn,
                          void *arg, void (*arg_free)(void *arg),
                          cairn__iter **out)
{
    *out = NULL;
    two_level *it = malloc(sizeof *it);
    if (it == NULL) {
        cairn__iter_destroy(index_iter);
        if (arg_free != NULL)
            arg_free(arg);
        return cairn__err(CAIRN_NOMEM, "cannot allocate two-level iterator");
    }
    it->base.ops = &two_level_ops;
    it->index = index_iter;
    it->data = NULL;
    cairn__buf_init(&it->data_handle);
    it->fn = fn;
    it->arg = arg;
    it->arg_free = arg_free;
    it->status = 0;
    *out = &it->base;
    return 0;
}
