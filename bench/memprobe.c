/*
 * memprobe.c: what sharing one memtable between threads costs on this
 * machine, measured without a log, flow control or publication order, in
 * the same run as the engines.
 *
 * groupprobe is the ceiling for synced writes. This probe is the analogue
 * for fillrandom without sync: every LevelDB-style engine, cairn included,
 * inserts every write into ONE shared memtable, and the target
 * asks that many threads never fall below one. Here --threads threads put
 * --num entries (fillrandom's keys and values) into cairn's own memtable
 * with the least synchronisation a shared memtable needs: an adaptive
 * mutex around building the entry in the arena (and switching to a fresh
 * memtable once the write buffer is full), then the lock-free concurrent
 * link that cairn's write path uses (memtable.h M4). No log, no sequence
 * publication, no compaction, no waiting for anyone.
 *
 * --memprobe_layout chooses what is shared (default shared):
 *   shared      one memtable for every thread, as above;
 *   percpu      one memtable (and mutex) per online CPU, picked with
 *               sched_getcpu() at each put: nothing is shared between
 *               cores but the sequence counter;
 *   percpu_log  percpu, plus the one thing a LevelDB-format log cannot
 *               shard: each put first appends its log record (the 7-byte
 *               header with its CRC32C, the 12-byte batch header, the
 *               entry) to one shared in-memory buffer under one mutex.
 *
 * Its ratio of N threads to one thread says how much of a write's cost
 * grows once the memtable's cache lines move between cores. On the 2-core
 * VM this was written on, that depends on the minute (docs/design.md,
 * "Which waits sleep"): at times 2 to 64 threads made about half the
 * one-thread rate while pinning them all to one core (taskset -c 0) kept
 * 0.8-0.97 of it, so the cross-core traffic, not the thread count, is
 * what costs; at other times the sharing cost nothing. Not an upper bound
 * for every design (the percpu layout avoids the sharing), but the
 * ceiling of the single shared memtable that LevelDB's design and
 * cairn's use, measured in the same minutes as the engines.
 */
#include "bench.h"

#include "mem/memtable.h"
#include "util/arena.h"
#include "util/ikey.h"

#include "util/coding.h"
#include "util/crc32c.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cairn's default write buffer (cairn_options_set_write_buffer_size). */
#define PROBE_WRITE_BUFFER (4u << 20)

#define PROBE_MAX_SHARDS 64
#define PROBE_LOG_BYTES  (1u << 20) /* the shared log buffer, at least */

enum { LAYOUT_SHARED, LAYOUT_PERCPU, LAYOUT_PERCPU_LOG };

/* One memtable and the lock around building entries in it, on its own
 * cache lines. */
typedef struct probe_shard {
    pthread_mutex_t mu;
    cairn__memtable *mem; /* Locked: mu (the pointer; the table is M4) */
    char pad[64];
} probe_shard;

typedef struct probe {
    probe_shard shard[PROBE_MAX_SHARDS];
    int nshards, layout;
    size_t limit; /* a shard switches once its arena holds this much */
    cairn__arena_pool pool;
    _Atomic uint64_t seq; /* last sequence handed out */
    pthread_mutex_t log_mu;
    char *log;              /* percpu_log: log_cap bytes, wrapping */
    size_t log_cap;         /* room for two records at least */
    size_t log_off;         /* Locked: log_mu */
    _Atomic uint64_t taken; /* entries handed out */
    _Atomic int err;        /* a cairn error code, 0 if none */
    uint64_t num, limit_ns, start;
    size_t vlen; /* value bytes */
    int timed;
    uint64_t seed;
} probe;

typedef struct probe_thread {
    probe *p;
    int index;
    pthread_t th;
    uint64_t ops;
    struct bench_hist hist;
} probe_thread;

/* percpu_log: appends the put's log record to the shared buffer, as a
 * one-record batch (LevelDB's log and batch formats), and returns its
 * sequence. */
static uint64_t log_append(probe *p, const char *key, const char *val,
                           size_t vlen)
{
    size_t body = 12 + 1 + 1 + BENCH_KEY_SIZE + 5 + vlen; /* at most */
    pthread_mutex_lock(&p->log_mu);
    uint64_t seq =
        atomic_fetch_add_explicit(&p->seq, 1, memory_order_relaxed) + 1;
    if (p->log_off + 7 + body > p->log_cap)
        p->log_off = 0;
    char *r = p->log + p->log_off, *b = r + 7, *e = b + 12;
    cairn__encode_fixed64(b, seq);
    cairn__encode_fixed32(b + 8, 1);
    *e++ = (char)CAIRN__TYPE_VALUE;
    e = cairn__encode_varint32(e, BENCH_KEY_SIZE);
    memcpy(e, key, BENCH_KEY_SIZE);
    e = cairn__encode_varint32(e + BENCH_KEY_SIZE, (uint32_t)vlen);
    memcpy(e, val, vlen);
    e += vlen;
    size_t n = (size_t)(e - b);
    r[6] = 1; /* a FULL record */
    uint32_t crc = cairn__crc32c_extend(cairn__crc32c(r + 6, 1), b, n);
    cairn__encode_fixed32(r, cairn__crc32c_mask(crc));
    r[4] = (char)(n & 0xff);
    r[5] = (char)(n >> 8);
    p->log_off += 7 + n;
    pthread_mutex_unlock(&p->log_mu);
    return seq;
}

/* One put; 0 or a cairn error code. */
static int probe_put(probe *p, const char *key, const char *val, size_t vlen,
                     cairn__buf *pending)
{
    pending->len = 0;
    uint64_t seq = 0;
    if (p->layout == LAYOUT_PERCPU_LOG)
        seq = log_append(p, key, val, vlen);
    probe_shard *sh = &p->shard[0];
    if (p->nshards > 1) {
        int cpu = sched_getcpu();
        sh = &p->shard[(cpu < 0 ? 0 : cpu) % p->nshards];
    }
    pthread_mutex_lock(&sh->mu);
    if (cairn__memtable_memory_usage(sh->mem) > p->limit) {
        cairn__memtable *fresh;
        int rc = cairn__memtable_create_pooled(&fresh, &p->pool);
        if (rc != 0) {
            pthread_mutex_unlock(&sh->mu);
            return rc;
        }
        cairn__memtable_unref(sh->mem); /* linkers hold their own refs */
        sh->mem = fresh;
    }
    cairn__memtable *m = sh->mem;
    cairn__memtable_ref(m);
    if (seq == 0)
        seq = atomic_fetch_add_explicit(&p->seq, 1, memory_order_relaxed) + 1;
    int rc = cairn__memtable_prepare(m, seq, CAIRN__TYPE_VALUE,
                                     cairn__slice_make(key, BENCH_KEY_SIZE),
                                     cairn__slice_make(val, vlen), pending);
    pthread_mutex_unlock(&sh->mu);
    if (rc == 0)
        cairn__memtable_link(m, pending);
    cairn__memtable_unref(m);
    return rc;
}

static void *probe_main(void *arg)
{
    probe_thread *t = arg;
    probe *p = t->p;
    struct bench_rng rng;
    bench_rng_seed(&rng, p->seed + (uint64_t)t->index * 7919u);
    struct bench_valgen vg;
    bench_valgen_init(&vg, t->index);
    cairn__buf pending = CAIRN__BUF_INIT;
    char key[BENCH_KEY_SIZE + 1];
    for (;;) {
        uint64_t i =
            atomic_fetch_add_explicit(&p->taken, 1, memory_order_relaxed);
        uint64_t t0 = bench_now_ns();
        if (i >= p->num || (p->limit_ns != 0 && t0 - p->start >= p->limit_ns))
            break;
        if (atomic_load_explicit(&p->err, memory_order_relaxed) != 0)
            break;
        bench_key(key, bench_rng_uniform(&rng, p->num));
        int rc = probe_put(p, key, bench_valgen_next(&vg), p->vlen, &pending);
        if (rc != 0) {
            atomic_store_explicit(&p->err, rc, memory_order_relaxed);
            break;
        }
        if (p->timed)
            bench_hist_add(&t->hist, bench_now_ns() - t0);
        t->ops++;
    }
    cairn__buf_fini(&pending);
    return NULL;
}

static const char *const layout_names[] = {"shared", "percpu", "percpu_log"};

int bench_memprobe_layout(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, layout_names[i]) == 0)
            return i;
    return -1;
}

int bench_memprobe_run(const struct bench_config *cfg, struct bench_result *res,
                       struct bench_msg *msg)
{
    /* The engine column names the layout, so that one CSV can hold the
     * probes of several layouts ("memory" is the shared one). */
    bench_result_start(res, "memprobe",
                       cfg->memprobe_layout == LAYOUT_SHARED
                           ? "memory"
                           : layout_names[cfg->memprobe_layout],
                       cfg->threads, cfg->histogram);

    probe *p = calloc(1, sizeof *p);
    if (p == NULL)
        return bench_fail(msg, "memprobe: out of memory");
    p->layout = cfg->memprobe_layout;
    p->nshards = 1;
    if (p->layout != LAYOUT_SHARED) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        p->nshards = cpus < 1                  ? 1
                     : cpus > PROBE_MAX_SHARDS ? PROBE_MAX_SHARDS
                                               : (int)cpus;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    /* The best of the locks tried: glibc's default mutex sleeps at once and
     * made the probe about a fifth slower at 4 and 64 threads. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    for (int i = 0; i < p->nshards; i++)
        pthread_mutex_init(&p->shard[i].mu, &attr);
    pthread_mutex_init(&p->log_mu, &attr);
    pthread_mutexattr_destroy(&attr);
    /* The shards split one write buffer, so the memory in use is the same
     * whatever the layout. */
    size_t wbs =
        cfg->write_buffer_size ? cfg->write_buffer_size : PROBE_WRITE_BUFFER;
    p->limit = wbs / (size_t)p->nshards;
    p->vlen = cfg->value_size;
    /* Big values (--value_size takes up to 64 MiB) get a buffer that holds
     * two of their records. The header's 2-byte length is then truncated:
     * LevelDB would fragment such a record, which this cost model skips. */
    p->log_cap = 2 * (7 + 12 + 1 + 1 + BENCH_KEY_SIZE + 5 + p->vlen);
    if (p->log_cap < PROBE_LOG_BYTES)
        p->log_cap = PROBE_LOG_BYTES;
    p->num = cfg->num;
    p->limit_ns = cfg->duration > 0 ? (uint64_t)(cfg->duration * 1e9) : 0;
    p->timed = cfg->histogram;
    p->seed = cfg->seed;
    atomic_init(&p->seq, 0);
    atomic_init(&p->taken, 0);
    atomic_init(&p->err, 0);
    int rc = 0;
    probe_thread *ts = NULL;
    /* The pool keeps two write buffers, as a database's does. */
    int pooled = cairn__arena_pool_init(&p->pool, 2 * wbs) == 0;
    for (int i = 0; rc == 0 && i < p->nshards; i++)
        if (!pooled ||
            cairn__memtable_create_pooled(&p->shard[i].mem, &p->pool) != 0)
            rc = bench_fail(msg, "memprobe: out of memory");
    if (rc == 0 && p->layout == LAYOUT_PERCPU_LOG &&
        (p->log = malloc(p->log_cap)) == NULL)
        rc = bench_fail(msg, "memprobe: out of memory");
    int n = cfg->threads > 0 ? cfg->threads : 1;
    if (rc == 0 && (ts = calloc((size_t)n, sizeof *ts)) == NULL)
        rc = bench_fail(msg, "memprobe: out of memory");
    if (rc != 0)
        goto out;
    double cpu0 = bench_process_cpu_seconds();
    p->start = bench_now_ns();
    int started = 0;
    for (; started < n; started++) {
        ts[started].p = p;
        ts[started].index = started;
        bench_hist_init(&ts[started].hist);
        if (pthread_create(&ts[started].th, NULL, probe_main, &ts[started]) !=
            0) {
            rc = bench_fail(msg, "memprobe: cannot start thread");
            atomic_store(&p->err, -1);
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(ts[i].th, NULL);
        res->ops += ts[i].ops;
        bench_hist_merge(&res->hist, &ts[i].hist);
    }
    uint64_t end = bench_now_ns();
    double cpu1 = bench_process_cpu_seconds();
    res->seconds = (double)(end - p->start) / 1e9;
    res->bytes = res->ops * (BENCH_KEY_SIZE + p->vlen);
    if (end > p->start && cpu0 >= 0.0 && cpu1 >= cpu0)
        res->cpu_cores = (cpu1 - cpu0) / res->seconds;
    if (rc == 0 && atomic_load(&p->err) != 0)
        rc = bench_fail(msg, "memprobe: memtable insert failed (error %d)",
                        atomic_load(&p->err));
    snprintf(res->note, sizeof(res->note), "%s memtable%s, %d shard%s, no db",
             layout_names[p->layout],
             p->layout == LAYOUT_PERCPU_LOG ? " + shared log" : "", p->nshards,
             p->nshards == 1 ? "" : "s");
out:
    free(ts);
    for (int i = 0; i < p->nshards; i++) {
        cairn__memtable_unref(p->shard[i].mem);
        pthread_mutex_destroy(&p->shard[i].mu);
    }
    if (pooled)
        cairn__arena_pool_fini(&p->pool);
    pthread_mutex_destroy(&p->log_mu);
    free(p->log);
    free(p);
    return rc;
}
