/*
 * write_stats.c: see write_stats.h.
 */
#include "db/write_stats.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static int bucket_of(uint64_t v)
{
    if (v < 4)
        return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int sub = (int)((v >> (msb - 2)) & 3);
    int b = msb * 4 + sub;
    return b < CAIRN__HIST_BUCKETS ? b : CAIRN__HIST_BUCKETS - 1;
}

static uint64_t bucket_top(int b)
{
    if (b < 4)
        return (uint64_t)b;
    int msb = b / 4, sub = b % 4;
    return ((uint64_t)(4 + sub + 1) << (msb - 2)) - 1;
}

void cairn__hist_add(cairn__hist *h, uint64_t ns)
{
    atomic_fetch_add_explicit(&h->b[bucket_of(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, ns, memory_order_relaxed);
    uint64_t m = atomic_load_explicit(&h->max, memory_order_relaxed);
    while (ns > m &&
           !atomic_compare_exchange_weak_explicit(
               &h->max, &m, ns, memory_order_relaxed, memory_order_relaxed))
        ;
}

static uint64_t bucket_sum(const cairn__hist *const *h, int n, int b)
{
    uint64_t sum = 0;
    for (int k = 0; k < n; k++)
        sum += atomic_load_explicit(&h[k]->b[b], memory_order_relaxed);
    return sum;
}

uint64_t cairn__hist_quantile(const cairn__hist *const *h, int n, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < CAIRN__HIST_BUCKETS; i++)
        total += bucket_sum(h, n, i);
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total);
    if (want >= total)
        want = total - 1;
    uint64_t seen = 0;
    for (int i = 0; i < CAIRN__HIST_BUCKETS; i++) {
        seen += bucket_sum(h, n, i);
        if (seen > want)
            return bucket_top(i);
    }
    return 0;
}

#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static int add(cairn__buf *out, const char *fmt, ...) CAIRN_PRINTF(2, 3);
static int add(cairn__buf *out, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 0;
    return cairn__buf_append(
        out, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

int cairn__write_stats_report(const cairn__write_stats *s, cairn__buf *out)
{
    uint64_t groups = 0, writers = 0, bytes = 0, bytes_max = 0;
    uint64_t hist[CAIRN__GROUP_HIST + 1] = {0};
    for (int i = 0; i < CAIRN__STRIPES; i++) {
        const cairn__write_stripe *st = &s->stripe[i];
        groups += LD(st->groups);
        writers += LD(st->writers);
        bytes += LD(st->bytes);
        if (LD(st->group_bytes_max) > bytes_max)
            bytes_max = LD(st->group_bytes_max);
        for (int k = 0; k <= CAIRN__GROUP_HIST; k++)
            hist[k] += LD(st->group_hist[k]);
    }
    CAIRN_TRY(add(out, "Write path\n"));
    CAIRN_TRY(
        add(out,
            "  groups %" PRIu64 ", writers %" PRIu64
            " (%.2f per group), bytes %" PRIu64 " (%.0f per group, max %" PRIu64
            "), syncs %" PRIu64 ", combined groups %" PRIu64 "\n",
            groups, writers, groups ? (double)writers / (double)groups : 0.0,
            bytes, groups ? (double)bytes / (double)groups : 0.0, bytes_max,
            LD(s->syncs), LD(s->combined)));
    CAIRN_TRY(add(out, "  writers per group:"));
    int any = 0;
    for (int i = 1; i <= CAIRN__GROUP_HIST; i++) {
        uint64_t c = hist[i];
        if (c == 0)
            continue;
        any = 1;
        if (i == CAIRN__GROUP_HIST)
            CAIRN_TRY(add(out, " >%d:%" PRIu64, CAIRN__GROUP_HIST - 1, c));
        else
            CAIRN_TRY(add(out, " %d:%" PRIu64, i, c));
    }
    CAIRN_TRY(add(out, any ? "\n" : " none\n"));
    const cairn__hist *h[CAIRN__STRIPES];
    uint64_t mx = 0, count = 0, spin_ok = 0, blocks = 0;
    for (int i = 0; i < CAIRN__STRIPES; i++) {
        h[i] = &s->stripe[i].latency;
        count += LD(h[i]->count);
        if (LD(h[i]->max) > mx)
            mx = LD(h[i]->max);
        spin_ok += LD(s->stripe[i].spin_ok);
        blocks += LD(s->stripe[i].blocks);
    }
    /* A quantile is its bucket's upper edge, which can lie above the
     * largest value seen: never report one above the maximum. */
    double q[3];
    static const double qs[3] = {0.5, 0.99, 0.999};
    for (int i = 0; i < 3; i++) {
        uint64_t v = cairn__hist_quantile(h, CAIRN__STRIPES, qs[i]);
        q[i] = (double)(v < mx ? v : mx) / 1000.0;
    }
    CAIRN_TRY(add(out,
                  "  commit latency us: p50 %.1f p99 %.1f p99.9 %.1f max %.1f "
                  "(%" PRIu64 " writes)\n",
                  q[0], q[1], q[2], (double)mx / 1000.0, count));
    static const char *names[CAIRN__STALL_KINDS] = {
        "level-0 slowdown", "memtable full", "level-0 stop"};
    for (int i = 0; i < CAIRN__STALL_KINDS; i++)
        CAIRN_TRY(add(out, "  stall %-16s %" PRIu64 " times, %.3f s\n",
                      names[i], LD(s->stalls[i]),
                      (double)LD(s->stall_ns[i]) / 1e9));
    CAIRN_TRY(add(out, "  memtable switch        %" PRIu64 " times, %.3f s\n",
                  LD(s->switches), (double)LD(s->switch_ns) / 1e9));
    CAIRN_TRY(add(out,
                  "  spare logs: made %" PRIu64 ", taken %" PRIu64
                  ", failed %" PRIu64 ", zero-filled %" PRIu64 "\n",
                  LD(s->spares_made), LD(s->spares_taken), LD(s->spares_failed),
                  LD(s->spares_zeroed)));
    CAIRN_TRY(add(out,
                  "  no_slowdown refusals %" PRIu64 "; waits: %" PRIu64
                  " ended spinning, %" PRIu64
                  " blocked; batch-wait holds %" PRIu64 " (%.3f s)\n",
                  LD(s->busy), spin_ok, blocks, LD(s->batch_waits),
                  (double)LD(s->batch_wait_ns) / 1e9));
    return 0;
}
