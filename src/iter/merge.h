/*
 * merge.h: the merging iterator: one sorted view of N sorted iterators
 * (the memtables, level-0 tables and deeper levels of a database).
 * Children should never hold keys equal under cmp (internal keys never
 * are). If they do, scans in one direction still yield every copy (the
 * earliest child's first going forward), but a change of direction at
 * such a key may skip copies.
 *
 * It can change direction at any entry (next after prev and the reverse),
 * repositioning the other children around the current key as LevelDB's
 * MergingIterator does. The first error any child reports makes the
 * merged iterator invalid with that status, so that a damaged source never
 * silently drops entries from the merged view.
 */
#ifndef CAIRN_ITER_MERGE_H
#define CAIRN_ITER_MERGE_H

#include "iter/iter.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>

/* Takes ownership of the n children (destroying them on failure too); the
 * array itself is copied. cmp is the children's order. n may be 0 (an
 * empty iterator) or 1 (the child itself is returned). CAIRN_NOMEM. */
int cairn__iter_merge(int (*cmp)(cairn__slice a, cairn__slice b),
                      cairn__iter **children, size_t n,
                      cairn__iter **out) CAIRN_WUR;

#endif
