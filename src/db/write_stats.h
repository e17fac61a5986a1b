/*
 * write_stats.h: counters of the write path, reported by the property
 * "cairn.write-stats" and inside "cairn.stats".
 *
 * Every field is a relaxed atomic: writers update them without locks and
 * the report is a snapshot that may mix moments by a few operations, which
 * is fine for statistics. Latencies go into a log-linear histogram (four
 * sub-buckets per power of two of nanoseconds, so percentiles are within
 * about 19% of the truth).
 */
#ifndef CAIRN_DB_WRITE_STATS_H
#define CAIRN_DB_WRITE_STATS_H

#include "util/buf.h"
#include "util/port.h"

#include <stdatomic.h>
#include <stdint.h>

#define CAIRN__HIST_BUCKETS 256
#define CAIRN__GROUP_HIST   129 /* writers per group: 1..128, then more */

typedef struct cairn__hist {
    _Atomic uint64_t b[CAIRN__HIST_BUCKETS];
    _Atomic uint64_t count;
    _Atomic uint64_t sum;
    _Atomic uint64_t max;
} cairn__hist;

enum cairn__stall {
    CAIRN__STALL_DELAY,    /* level-0 slowdown delay */
    CAIRN__STALL_IMM_FULL, /* waiting for a flush */
    CAIRN__STALL_L0_STOP,  /* waiting for compaction */
    CAIRN__STALL_KINDS
};

/* What writers update, per stripe (util/port.h): each thread updates its
 * own stripe. The per-group counters are here too, updated by the leader
 * in its own stripe: leadership moves between threads and cores at almost
 * every write with many writers, and one shared set of counters would
 * move between the cores' caches with it, inside the leader's critical
 * section. The report sums the stripes. */
typedef struct cairn__write_stripe {
    _Atomic uint64_t spin_ok; /* waits that ended while spinning */
    _Atomic uint64_t blocks;  /* waits that went to sleep */
    _Atomic uint64_t groups;  /* groups this stripe's threads led */
    _Atomic uint64_t writers; /* writers in those groups */
    _Atomic uint64_t bytes;   /* log bytes of those groups */
    _Atomic uint64_t group_bytes_max;
    _Atomic uint64_t group_hist[CAIRN__GROUP_HIST + 1];
    cairn__hist latency; /* per write call, enqueue to return */
} __attribute__((aligned(64))) cairn__write_stripe;

typedef struct cairn__write_stats {
    _Atomic uint64_t syncs;
    _Atomic uint64_t busy; /* no_slowdown writes refused */
    _Atomic uint64_t stalls[CAIRN__STALL_KINDS];
    _Atomic uint64_t stall_ns[CAIRN__STALL_KINDS];
    /* Memtable switches (flow control's last step: the old log synced and
     * closed, a new one started) and the time the leader spent in them. */
    _Atomic uint64_t switches;
    _Atomic uint64_t switch_ns;
    /* Spare logs (log_files.c): made ready by the flushing thread, taken
     * by a switch, failed to make. */
    _Atomic uint64_t spares_made, spares_taken, spares_failed;
    _Atomic uint64_t spares_zeroed; /* of spares_made: zero-filled */
    _Atomic uint64_t batch_waits;   /* leaders that held their group open */
    _Atomic uint64_t batch_wait_ns;
    _Atomic uint64_t combined; /* groups a sync leader appended for others */
    cairn__write_stripe stripe[CAIRN__STRIPES];
} cairn__write_stats;

void cairn__hist_add(cairn__hist *h, uint64_t ns);
/* Value at quantile q (0..1), in ns (an upper bound of its bucket), over
 * n histograms taken together. */
uint64_t cairn__hist_quantile(const cairn__hist *const *h, int n, double q);

static inline void cairn__stat_add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* Appends the readable report. */
int cairn__write_stats_report(const cairn__write_stats *s,
                              cairn__buf *out) CAIRN_WUR;

#endif
