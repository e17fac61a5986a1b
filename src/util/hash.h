/*
 * hash.h: LevelDB's 32-bit Murmur-like hash (bloom filter, cache shards).
 * Bytes are treated as unsigned (LevelDB >= 1.18, "BuiltinBloomFilter2").
 */
#ifndef CAIRN_UTIL_HASH_H
#define CAIRN_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint32_t cairn__hash(const char *data, size_t n, uint32_t seed);

#endif
