/*
 * block_builder.h: builds one block in the layout of block.h (facts 6.3):
 * prefix-compressed entries, a restart point (a whole key) every
 * `restart_interval` entries, then the restart offsets and their count.
 *
 * Keys must be added in increasing order of the comparator the block will
 * be read with; the builder does not compare them (the table builder
 * checks internal-key order once for the whole table). One thread at a
 * time.
 */
#ifndef CAIRN_TABLE_BLOCK_BUILDER_H
#define CAIRN_TABLE_BLOCK_BUILDER_H

#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cairn__block_builder {
    int restart_interval;
    cairn__buf buf;     /* entries, then (after finish) the trailer */
    uint32_t *restarts; /* offsets of restart entries */
    size_t num_restarts;
    size_t cap_restarts;
    int counter; /* entries since the last restart */
    int finished;
    cairn__buf last_key;
} cairn__block_builder;

/* restart_interval >= 1. CAIRN_NOMEM. */
int cairn__block_builder_init(cairn__block_builder *bb,
                              int restart_interval) CAIRN_WUR;
/* Frees the builder's memory; a zeroed builder is accepted. */
void cairn__block_builder_fini(cairn__block_builder *bb);
/* Starts a new, empty block (memory is kept for reuse). */
void cairn__block_builder_reset(cairn__block_builder *bb);

/* Appends an entry. The block must not be finished. CAIRN_NOMEM, or
 * CAIRN_INVALID if the block would outgrow the 32-bit restart offsets. */
int cairn__block_builder_add(cairn__block_builder *bb, cairn__slice key,
                             cairn__slice value) CAIRN_WUR;

/* Appends the restart array and returns the finished block contents in
 * *out, valid until the next reset or fini. CAIRN_NOMEM. */
int cairn__block_builder_finish(cairn__block_builder *bb,
                                cairn__slice *out) CAIRN_WUR;

/* The size the block would have if finished now: entry bytes plus 4 per
 * restart plus 4 (what the table builder compares with block_size). */
size_t cairn__block_builder_size_estimate(const cairn__block_builder *bb);

/* 1 if no entry was added since the last reset. */
static inline int cairn__block_builder_empty(const cairn__block_builder *bb)
{
    return bb->buf.len == 0;
}

#endif
