/*
 * random.h: LevelDB's Park-Miller "minimal standard" generator
 * (multiplier 16807, modulus 2^31-1). Used for skiplist heights so that the
 * distribution matches LevelDB's; not for anything that needs quality.
 */
#ifndef CAIRN_UTIL_RANDOM_H
#define CAIRN_UTIL_RANDOM_H

#include <stdint.h>

typedef struct cairn__random {
    uint32_t seed;
} cairn__random;

static inline void cairn__random_init(cairn__random *r, uint32_t s)
{
    r->seed = s & 0x7fffffffu;
    if (r->seed == 0 || r->seed == 2147483647u)
        r->seed = 1;
}

static inline uint32_t cairn__random_next(cairn__random *r)
{
    const uint32_t M = 2147483647u;
    const uint64_t A = 16807;
    uint64_t product = r->seed * A;
    r->seed = (uint32_t)((product >> 31) + (product & M));
    if (r->seed > M)
        r->seed -= M;
    return r->seed;
}

/* Uniform in [0, n-1]; n > 0. */
static inline uint32_t cairn__random_uniform(cairn__random *r, uint32_t n)
{
    return cairn__random_next(r) % n;
}

#endif
