/*
 * table.h: reading a sorted table file (facts 6.8).
 *
 * Opening reads the footer and the index block (and, when the options ask
 * for a bloom filter, the metaindex and filter blocks); data blocks are
 * read when needed, through the block cache if the options name one.
 *
 * Trust: every handle, length and count read from the file is checked
 * before it is used, so a damaged or hostile file gives CAIRN_CORRUPTION
 * (naming the file and offset), never a crash, an out-of-bounds access or
 * an allocation larger than the file. Data-block checksums are verified
 * when the read options ask, the index, metaindex and filter blocks' when
 * the table options are paranoid. A damaged or missing filter is ignored
 * (the table is read without it), as in LevelDB.
 *
 * Threads: a table is immutable after open. Any number of threads may call
 * get, iter and approximate_offset_of on one table at once (the env allows
 * concurrent pread on one file; the cache is thread-safe). Each iterator is
 * used by one thread at a time, and every iterator must be destroyed
 * before its table.
 */
#ifndef CAIRN_TABLE_TABLE_H
#define CAIRN_TABLE_TABLE_H

#include "env/env.h"
#include "iter/iter.h"
#include "table/options.h"
#include "util/error.h"
#include "util/slice.h"

#include <stdint.h>

typedef struct cairn__table cairn__table;

/* Opens the table in file (opened for reading; borrowed: the caller closes
 * it after destroying the table), which is file_size bytes long. name is
 * copied and used in messages (e.g. "000012.ldb"). The options are copied
 * (the cache is borrowed). Errors: CAIRN_CORRUPTION ("file is too short to
 * be an sstable", "not an sstable (bad magic number)", bad index block),
 * CAIRN_IO, CAIRN_NOMEM. */
int cairn__table_open(const cairn__table_options *opt, cairn__file *file,
                      uint64_t file_size, const char *name,
                      cairn__table **out) CAIRN_WUR;

/* Frees the table (NULL is ignored). Its cached blocks age out of the
 * cache on their own; their keys are never looked up again. */
void cairn__table_close(cairn__table *t);

/* An iterator over the table's entries (internal keys, stored values).
 * Seek targets must be internal keys. */
int cairn__table_iter(cairn__table *t, const cairn__table_read_options *ro,
                      cairn__iter **out) CAIRN_WUR;

/* Called by get with the first entry at or after the key sought, if the
 * filter did not rule the key out. The slices are valid only during the
 * call. A non-zero return is passed back by get. */
typedef int (*cairn__table_get_fn)(void *arg, cairn__slice ikey,
                                   cairn__slice value);

/* Looks up ikey (an internal key, >= 8 bytes, else CAIRN_INVALID): finds
 * the first entry >= ikey in the data block that may hold it and calls fn
 * with it; returns 0 without calling fn when there is none or the filter
 * says the user key is absent. The caller checks the user key, as
 * LevelDB's version code does. Errors: CAIRN_CORRUPTION, CAIRN_IO,
 * CAIRN_NOMEM, or fn's own return. */
int cairn__table_get(cairn__table *t, const cairn__table_read_options *ro,
                     cairn__slice ikey, cairn__table_get_fn fn,
                     void *arg) CAIRN_WUR;

/* The approximate file offset where entries for ikey begin: the offset of
 * the data block that would hold it, or (past the last key, for a damaged
 * index, or when out of memory) the offset of the metaindex block, which
 * is near the end of the file. */
uint64_t cairn__table_approximate_offset_of(cairn__table *t, cairn__slice ikey);

/* Calls fn with up to max keys of the table's index block, evenly spaced
 * and in order (each an index separator: at or after the last key of its
 * data block, before the first key of the next), for choosing where to
 * split a key range by bytes. A damaged index ends the walk early; out of
 * memory gives no keys. */
void cairn__table_index_sample(cairn__table *t, size_t max,
                               void (*fn)(void *arg, cairn__slice ikey),
                               void *arg);

/* 1 if a usable filter was found at open (for tests and stats). */
int cairn__table_has_filter(const cairn__table *t);

#endif
