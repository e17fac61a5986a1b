/*
 * gen.c: keys, values, random numbers and the clock for the workloads.
 *
 * Keys follow db_bench: the key number printed as 16 decimal digits, so
 * that numeric order is key order and every key is exactly 16 bytes.
 *
 * Values imitate db_bench's 0.5 compression ratio with a generator of our
 * own: a pool of at least 1 MiB is built once from 100-byte pieces, each
 * made of 50 random printable bytes followed by the same 50 bytes again.
 * Any value cut from the pool is therefore about half novel and half a
 * repeat at distance 50, which Snappy (and LevelDB's and RocksDB's block
 * compression with it) shrinks to a little over half. Values are cut at a
 * moving cursor, one per thread, so consecutive values differ and no
 * thread pays for generating bytes while it is being timed.
 *
 * The pool is written by bench_values_init before any worker starts and
 * only read afterwards, so it needs no lock.
 */
#include "bench.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Immutable while workers run (see the file comment). */
static char *pool;
static size_t pool_len;
static size_t pool_value_size;

int bench_fail(struct bench_msg *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
    va_end(ap);
    return -1;
}

void bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t bench_rng_next(struct bench_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t bench_rng_uniform(struct bench_rng *r, uint64_t n)
{
    /* The modulo bias is below n / 2^64: invisible for any key count. */
    return bench_rng_next(r) % n;
}

void bench_key(char *buf, uint64_t k)
{
    snprintf(buf, BENCH_KEY_SIZE + 1, "%016" PRIu64, k);
}

int bench_values_init(size_t value_size, uint64_t seed)
{
    size_t len = (size_t)1 << 20;
    if (len < 4 * value_size)
        len = 4 * value_size;
    char *p = malloc(len > 0 ? len : 1);
    if (p == NULL)
        return -1;
    struct bench_rng r;
    bench_rng_seed(&r, seed ^ 0x5eedull);
    for (size_t at = 0; at < len; at += 100) {
        size_t piece = len - at < 100 ? len - at : 100;
        size_t half = piece / 2;
        for (size_t i = 0; i < half; i++)
            p[at + i] = (char)(' ' + bench_rng_uniform(&r, 95));
        /* The second half repeats the first; a piece of odd length gets
         * one more repeated byte. */
        for (size_t i = half; i < piece; i++)
            p[at + i] = p[at + i - half];
    }
    free(pool);
    pool = p;
    pool_len = len;
    pool_value_size = value_size;
    return 0;
}

void bench_values_fini(void)
{
    free(pool);
    pool = NULL;
    pool_len = 0;
}

void bench_valgen_init(struct bench_valgen *g, int thread_index)
{
    /* Start threads at different places so that concurrent writers do not
     * all store the same bytes. */
    size_t span = pool_len - pool_value_size + 1;
    g->pos = ((size_t)thread_index * 65537u) % span;
}

const char *bench_valgen_next(struct bench_valgen *g)
{
    if (g->pos + pool_value_size > pool_len)
        g->pos = 0;
    const char *v = pool + g->pos;
    g->pos += pool_value_size;
    return v;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
