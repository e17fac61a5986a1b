/*
 * bloom.c: see bloom.h. The arithmetic mirrors LevelDB's util/bloom.cc
 * exactly (hash, probe order, sizes), because any difference would
 * make a LevelDB reader with a bloom policy miss keys we wrote.
 */
#include "table/bloom.h"

#include "util/hash.h"

#include <stdint.h>
#include <string.h>

#define BLOOM_SEED 0xbc9f1d34u

static uint32_t bloom_hash(cairn__slice key)
{
    return cairn__hash(key.data, key.size, BLOOM_SEED);
}

int cairn__bloom_create(int bits_per_key, const cairn__slice *keys, size_t n,
                        cairn__buf *dst)
{
    if (bits_per_key < 1)
        bits_per_key = 1;
    /* 0.69 ~= ln(2), which minimises the false-positive rate. */
    size_t k = (size_t)(bits_per_key * 0.69);
    if (k < 1)
        k = 1;
    if (k > 30)
        k = 30;
    if (n > SIZE_MAX / 8 / (size_t)bits_per_key)
        return cairn__err(CAIRN_INVALID, "bloom filter for %zu keys too big",
                          n);
    size_t bits = n * (size_t)bits_per_key;
    /* A tiny filter has a high false-positive rate whatever n is. */
    if (bits < 64)
        bits = 64;
    size_t bytes = (bits + 7) / 8;
    bits = bytes * 8;
    size_t init = dst->len;
    CAIRN_TRY(cairn__buf_resize(dst, init + bytes + 1));
    unsigned char *array = (unsigned char *)dst->data + init;
    memset(array, 0, bytes);
    array[bytes] = (unsigned char)k;
    for (size_t i = 0; i < n; i++) {
        uint32_t h = bloom_hash(keys[i]);
        const uint32_t delta = (h >> 17) | (h << 15);
        for (size_t j = 0; j < k; j++) {
            const size_t bitpos = h % bits;
            array[bitpos / 8] |= (unsigned char)(1u << (bitpos % 8));
            h += delta;
        }
    }
    return 0;
}

int cairn__bloom_may_match(cairn__slice key, cairn__slice filter)
{
    const size_t len = filter.size;
    if (len < 2)
        return 0;
    const unsigned char *array = (const unsigned char *)filter.data;
    const size_t bits = (len - 1) * 8;
    const unsigned k = array[len - 1];
    if (k > 30)
        return 1;
    uint32_t h = bloom_hash(key);
    const uint32_t delta = (h >> 17) | (h << 15);
    for (unsigned j = 0; j < k; j++) {
        const size_t bitpos = h % bits;
        if ((array[bitpos / 8] & (1u << (bitpos % 8))) == 0)
            return 0;
        h += delta;
    }
    return 1;
}
