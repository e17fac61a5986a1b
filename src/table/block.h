/*
 * block.h: a parsed table block (data, index or metaindex) and its
 * iterator. The byte layout (facts 6.3, written by block_builder.c):
 *
 *   entry*     varint32 shared | varint32 non_shared | varint32 value_len
 *              | key bytes after the shared prefix | value
 *   restarts   fixed32 offset of each restart entry (shared == 0 there)
 *   fixed32    number of restarts
 *
 * A block is immutable once created, so any number of iterators on any
 * threads may read one block at once (the block cache hands one block to
 * many readers). Each iterator is used by one thread at a time.
 *
 * Damage: the restart count is checked against the block at creation; every
 * entry, restart offset and varint is checked as the iterator reaches it,
 * and any inconsistency makes the iterator invalid with CAIRN_CORRUPTION
 * naming the file and the block's offset. A block that claims zero restart
 * points is read as empty, as LevelDB does.
 */
#ifndef CAIRN_TABLE_BLOCK_H
#define CAIRN_TABLE_BLOCK_H

#include "iter/iter.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* A key order: negative, 0 or positive like memcmp. cairn__ikey_compare
 * (internal keys) and cairn__slice_compare (bytewise) both fit. */
typedef int (*cairn__cmp_fn)(cairn__slice a, cairn__slice b);

/* Something to run when an iterator is destroyed, such as releasing the
 * cache handle that keeps its block alive. fn may be NULL. */
typedef struct cairn__cleanup {
    void (*fn)(void *a, void *b);
    void *a;
    void *b;
} cairn__cleanup;

typedef struct cairn__block cairn__block;

/* Makes a block of the size bytes at data, a malloc'd buffer the block
 * takes over whatever happens (it is freed on failure). offset is the
 * block's position in the file and name the file's name, both only for
 * messages. CAIRN_CORRUPTION if the restart array cannot fit; CAIRN_NOMEM. */
int cairn__block_create(char *data, size_t size, uint64_t offset,
                        const char *name, cairn__block **out) CAIRN_WUR;
void cairn__block_destroy(cairn__block *b);

/* Bytes of contents (the block cache's charge). */
size_t cairn__block_size(const cairn__block *b);

/* An iterator over b in the order cmp (which must be the order the block
 * was built in). Keys shorter than min_key bytes are reported as
 * corruption (8 for internal keys, so comparing them is safe). name is
 * borrowed for messages and must outlive the iterator, and so must b
 * unless the cleanup keeps it alive. The cleanup runs exactly once: when
 * the iterator is destroyed, or before this returns an error
 * (CAIRN_NOMEM). */
int cairn__block_iter_create(const cairn__block *b, cairn__cmp_fn cmp,
                             size_t min_key, const char *name,
                             cairn__cleanup cleanup,
                             cairn__iter **out) CAIRN_WUR;

#endif
