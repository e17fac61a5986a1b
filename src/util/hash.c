/*
 * hash.c: see hash.h. Test vectors in tests/unit/test_util.c.
 */
#include "util/hash.h"

#include "util/coding.h"

uint32_t cairn__hash(const char *data, size_t n, uint32_t seed)
{
    const uint32_t m = 0xc6a4a793u;
    const uint32_t r = 24;
    const unsigned char *p = (const unsigned char *)data;
    const unsigned char *limit = p + n;
    uint32_t h = seed ^ ((uint32_t)n * m);
    while (limit - p >= 4) {
        uint32_t w = cairn__decode_fixed32((const char *)p);
        p += 4;
        h += w;
        h *= m;
        h ^= (h >> 16);
    }
    switch (limit - p) {
    case 3:
        h += (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        h += (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        h += p[0];
        h *= m;
        h ^= (h >> r);
        break;
    default:
        break;
    }
    return h;
}
