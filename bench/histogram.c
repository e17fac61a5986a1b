/*
 * histogram.c: the latency histogram behind --histogram.
 *
 * Every timed operation adds one sample in nanoseconds. Recording must be
 * cheap (it sits between two operations of the workload) and percentiles
 * must stay accurate from tens of nanoseconds (a memtable hit) to seconds
 * (a write stalled behind a compaction), so buckets grow logarithmically:
 *
 *   index 0..15      exactly 0..15 ns;
 *   index 16 + 8(e-4) + s, for a value v with 2^e <= v < 2^(e+1), e >= 4,
 *                    where s is the 3 bits of v just below its top bit.
 *
 * Each power of two is thus cut into 8 equal buckets, so the width of a
 * bucket is at most 1/8 of its lower bound and an interpolated percentile
 * is within about 6% of the true one. Exact minimum, maximum and sum are
 * kept on the side. A histogram is plain data owned by one thread; the
 * main thread merges the per-thread histograms after joining them.
 */
#include "bench.h"

#include <string.h>

void bench_hist_init(struct bench_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min_ns = UINT64_MAX;
}

static int bucket_of(uint64_t v)
{
    if (v < 16)
        return (int)v;
    int e = 63 - __builtin_clzll(v);
    int sub = (int)((v >> (e - 3)) & 7);
    return 16 + (e - 4) * 8 + sub;
}

/* The smallest value of bucket i and the bucket's width. */
static void bucket_range(int i, double *low, double *width)
{
    if (i < 16) {
        *low = (double)i;
        *width = 1.0;
        return;
    }
    int e = 4 + (i - 16) / 8;
    int sub = (i - 16) % 8;
    double unit = (double)(1ull << (e - 3));
    *low = (8.0 + sub) * unit;
    *width = unit;
}

void bench_hist_add(struct bench_hist *h, uint64_t ns)
{
    h->count++;
    h->sum_ns += ns;
    if (ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->buckets[bucket_of(ns)]++;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
    if (src->count == 0)
        return;
    dst->count += src->count;
    dst->sum_ns += src->sum_ns;
    if (src->min_ns < dst->min_ns)
        dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns)
        dst->max_ns = src->max_ns;
    for (int i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

double bench_hist_percentile(const struct bench_hist *h, double q)
{
    if (h->count == 0)
        return 0.0;
    if (q <= 0.0)
        return (double)h->min_ns;
    if (q >= 1.0)
        return (double)h->max_ns;
    /* The rank of the wanted sample, then linear interpolation inside the
     * bucket holding it: samples are assumed spread evenly over the
     * bucket, which is the best guess a bucket count allows. */
    double rank = q * (double)h->count;
    double seen = 0.0;
    for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
        double n = (double)h->buckets[i];
        if (n == 0.0 || seen + n < rank) {
            seen += n;
            continue;
        }
        double low, width;
        bucket_range(i, &low, &width);
        double v = low + width * ((rank - seen) / n);
        /* The true extremes are known exactly; never report past them. */
        if (v < (double)h->min_ns)
            v = (double)h->min_ns;
        if (v > (double)h->max_ns)
            v = (double)h->max_ns;
        return v;
    }
    return (double)h->max_ns;
}
