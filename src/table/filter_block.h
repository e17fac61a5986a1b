/*
 * filter_block.h: the filter meta block of a table (facts 6.6), holding
 * one filter per 2 KiB range of data-block start offsets:
 *
 *   filter_0 ... filter_{n-1}
 *   fixed32 offset of filter i, for i in 0..n-1
 *   fixed32 offset of that offset array
 *   byte    base_lg (11: ranges of 2^11 = 2048 bytes)
 *
 * Filter i covers the keys of every data block starting in
 * [i * 2048, (i + 1) * 2048). A range without keys gets an empty filter
 * (its offset repeats), which matches nothing. The keys given to the
 * filter are user keys (the table builder strips the 8-byte tag), with
 * every version of a key counted, as LevelDB's InternalFilterPolicy does.
 *
 * The filter function itself is a policy, so that tests can use a
 * transparent one; the engine uses the bloom policy.
 */
#ifndef CAIRN_TABLE_FILTER_BLOCK_H
#define CAIRN_TABLE_FILTER_BLOCK_H

#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

#define CAIRN__FILTER_BASE_LG 11
#define CAIRN__FILTER_BASE    (1u << CAIRN__FILTER_BASE_LG)

typedef struct cairn__filter_policy cairn__filter_policy;
struct cairn__filter_policy {
    /* The metaindex key is "filter." followed by this name. */
    const char *name;
    int bits_per_key; /* for the bloom policy; free for others */
    /* Appends a filter for the n keys to dst. */
    int (*create)(const cairn__filter_policy *p, const cairn__slice *keys,
                  size_t n, cairn__buf *dst);
    /* 0 if key is certainly absent from filter, 1 if it may be present. */
    int (*may_match)(const cairn__filter_policy *p, cairn__slice key,
                     cairn__slice filter);
};

/* Fills *p with LevelDB's built-in bloom policy (bloom.h). */
void cairn__filter_policy_bloom(cairn__filter_policy *p, int bits_per_key);

/* Builder. Calls must follow the regular expression
 *   (start_block add_key*)* finish
 * with non-decreasing block offsets; start_block(0) comes first. */
typedef struct cairn__filter_builder {
    const cairn__filter_policy *policy;
    cairn__buf keys; /* pending keys, back to back */
    size_t *starts;  /* where each pending key starts in keys */
    size_t num_keys;
    size_t cap_starts;
    cairn__slice *tmp; /* the pending keys as slices, for the policy */
    size_t cap_tmp;
    cairn__buf result; /* filters so far, then the trailer */
    uint32_t *offsets; /* offset of each filter in result */
    size_t num_filters;
    size_t cap_offsets;
} cairn__filter_builder;

void cairn__filter_builder_init(cairn__filter_builder *fb,
                                const cairn__filter_policy *policy);
/* Frees everything; a zeroed builder is accepted. */
void cairn__filter_builder_fini(cairn__filter_builder *fb);
int cairn__filter_builder_start_block(cairn__filter_builder *fb,
                                      uint64_t block_offset) CAIRN_WUR;
int cairn__filter_builder_add_key(cairn__filter_builder *fb,
                                  cairn__slice key) CAIRN_WUR;
/* The finished block, valid until fini. */
int cairn__filter_builder_finish(cairn__filter_builder *fb,
                                 cairn__slice *out) CAIRN_WUR;

/* Reader over a filter block's contents, which it borrows (they must
 * outlive it). Malformed contents are never an error: what cannot be
 * decoded answers "may match", so a damaged filter only costs reads. */
typedef struct cairn__filter_reader {
    const cairn__filter_policy *policy;
    const char *data;   /* start of the filters */
    const char *offset; /* start of the offset array */
    size_t num;         /* number of filters; 0 if malformed */
    unsigned base_lg;
} cairn__filter_reader;

void cairn__filter_reader_init(cairn__filter_reader *r,
                               const cairn__filter_policy *policy,
                               cairn__slice contents);
/* 0 if key is certainly absent from the data block at block_offset. */
int cairn__filter_reader_may_match(const cairn__filter_reader *r,
                                   uint64_t block_offset, cairn__slice key);

#endif
