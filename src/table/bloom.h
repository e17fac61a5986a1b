/*
 * bloom.h: LevelDB's built-in Bloom filter, "leveldb.BuiltinBloomFilter2"
 * (facts 6.7), bit for bit, so that filters written by either engine are
 * read correctly by the other.
 *
 *   filter = bit array of max(64, n * bits_per_key) bits rounded up to
 *            whole bytes | 1 byte k (number of probes)
 *
 * k = floor(bits_per_key * 0.69) clamped to [1, 30]. Each key is hashed
 * once (cairn__hash, seed 0xbc9f1d34) and probed k times by double
 * hashing with delta = rotate_right(h, 17). Stateless and thread-safe.
 */
#ifndef CAIRN_TABLE_BLOOM_H
#define CAIRN_TABLE_BLOOM_H

#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>

#define CAIRN__BLOOM_NAME "leveldb.BuiltinBloomFilter2"

/* Appends a filter for the n keys to dst. bits_per_key >= 1 (smaller
 * values act as 1). CAIRN_NOMEM, or CAIRN_INVALID if the size overflows. */
int cairn__bloom_create(int bits_per_key, const cairn__slice *keys, size_t n,
                        cairn__buf *dst) CAIRN_WUR;

/* 0 if key is certainly not among the filter's keys, 1 if it may be.
 * Any byte string is accepted as a filter: shorter than 2 bytes never
 * matches; k > 30 (reserved for other encodings) always matches. */
int cairn__bloom_may_match(cairn__slice key, cairn__slice filter);

#endif
