/*
 * table_builder.h: writes a sorted table file (facts 6; layout in
 * table_builder.c) from entries given in increasing internal-key order.
 *
 * The builder appends to a file it does not own: after finish the caller
 * syncs and closes it (and after abandon, deletes it). Once any call
 * fails the builder is stuck on that error; it must then be abandoned.
 * One thread at a time.
 */
#ifndef CAIRN_TABLE_TABLE_BUILDER_H
#define CAIRN_TABLE_TABLE_BUILDER_H

#include "env/env.h"
#include "table/options.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stdint.h>

typedef struct cairn__table_builder cairn__table_builder;

/* A builder writing to file (empty, opened for writing), with a copy of
 * opt. CAIRN_INVALID for bad options (block_size 0, restart_interval < 1,
 * unknown compression, negative bits per key); CAIRN_NOMEM. */
int cairn__table_builder_create(const cairn__table_options *opt,
                                cairn__file *file,
                                cairn__table_builder **out) CAIRN_WUR;

/* Adds an entry. ikey must be an internal key (>= 8 bytes) greater than
 * every key added before (CAIRN_INVALID otherwise); value is the stored
 * value (empty for a deletion). Errors of the file (CAIRN_IO, NOSPC) and
 * CAIRN_NOMEM. */
int cairn__table_builder_add(cairn__table_builder *tb, cairn__slice ikey,
                             cairn__slice value) CAIRN_WUR;

/* Writes the last data block, the filter, metaindex and index blocks and
 * the footer. *file_size gets the table's size. The file is not synced. */
int cairn__table_builder_finish(cairn__table_builder *tb,
                                uint64_t *file_size) CAIRN_WUR;

/* Gives up: nothing more is written. Either finish or abandon must be
 * called before destroy. */
void cairn__table_builder_abandon(cairn__table_builder *tb);

/* Frees the builder (NULL is ignored). */
void cairn__table_builder_destroy(cairn__table_builder *tb);

uint64_t cairn__table_builder_num_entries(const cairn__table_builder *tb);
/* Bytes written so far (the final size after finish). */
uint64_t cairn__table_builder_file_size(const cairn__table_builder *tb);

/* The index-key shortening of facts 6.5, on internal keys, in place.
 * separator: if a shorter user key u with user(*start) < u < user(limit)
 * exists by bumping one byte, *start becomes u | tag(MAX_SEQ, VALUE), which
 * still sorts in [*start, limit); otherwise *start is unchanged.
 * successor: the same with "any key above", for the last block.
 * Both keys must be internal keys with *start < limit. Never fails. */
void cairn__table_shortest_separator(cairn__buf *start, cairn__slice limit);
void cairn__table_short_successor(cairn__buf *key);

#endif
