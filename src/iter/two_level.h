/*
 * two_level.h: an iterator over the concatenation of many iterators, found
 * through an index iterator: each index entry's value names a block (a data
 * block handle within a table, or a table within a level) and a function
 * opens an iterator over that block. The entries of consecutive blocks
 * must be in increasing order of the same comparator as the index, whose
 * key for a block is >= every key in it and < every key of the next.
 *
 * The first error of the index, of a block, or of opening a block makes the
 * iterator invalid for good, with that error as its status: a reader never
 * silently skips a damaged block.
 */
#ifndef CAIRN_ITER_TWO_LEVEL_H
#define CAIRN_ITER_TWO_LEVEL_H

#include "iter/iter.h"
#include "util/error.h"
#include "util/slice.h"

/* Opens an iterator over the block that index_value names. */
typedef int (*cairn__two_level_fn)(void *arg, cairn__slice index_value,
                                   cairn__iter **out);

/* Takes ownership of index_iter and of arg (released with arg_free, which
 * may be NULL) in every case, including failure (CAIRN_NOMEM). */
int cairn__iter_two_level(cairn__iter *index_iter, cairn__two_level_fn fn,
                          void *arg, void (*arg_free)(void *arg),
                          cairn__iter **out) CAIRN_WUR;

#endif
