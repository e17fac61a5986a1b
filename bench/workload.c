/*
 * workload.c: the workloads and the threads that run them.
 *
 * A workload is a body function run by --threads worker threads against one
 * open database through the engine table, so the same code measures every
 * engine. How a run goes:
 *
 *  1. The main thread creates the workers. Each prepares its generators,
 *     then waits at the start gate.
 *  2. When every worker has arrived, the main thread opens the gate with one
 *     broadcast, so they start together. (A hand-made gate rather than a
 *     pthread_barrier: if creating a thread fails, the main thread can
 *     still release the ones already waiting and tell them to quit.)
 *  3. Each worker notes its start time, runs its share, notes its end time.
 *     The workload's time is from the earliest start to the latest end, i.e.
 *     from the gate to the last thread's finish.
 *  4. Meanwhile the main thread wakes every 2 s and, once the run has lasted
 *     3 s, prints a progress line on stderr from the workers' counters.
 *  5. The main thread joins the workers and merges their counts and
 *     histograms; pthread_join orders every worker's plain writes before
 *     the main thread's reads, so those fields need no atomics.
 *
 * Shares: --num is the total for the workload. Worker i of T gets num/T
 * operations (the first num%T workers one more). fillseq gives each worker a
 * contiguous slice of the key space to write in order; the random workloads
 * draw keys uniformly from [0, num), worker i seeding its generator with
 * the run's seed + i; readseq starts each worker at the first
 * key of its slice. readwhilewriting adds one writer thread that overwrites
 * random keys until the last reader finishes; only the readers are counted.
 * With --duration the monitor raises the stop flag when the time is up and
 * every worker ends after its current operation, so a time-boxed run
 * reports however many operations fit.
 *
 * Timing (--histogram): a worker reads the clock once per operation and
 * records the time since the previous operation ended, which is db_bench's
 * way and costs one clock read per operation.
 */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct run;

struct worker {
    /* Atomic: operations done so far. Written only by this worker, read by
     * the monitor for the progress line; relaxed, since a progress line may
     * be a little stale and publishes nothing else. Aligned so that workers
     * writing their counters do not share a cache line. */
    _Alignas(64) atomic_uint_fast64_t done;
    struct run *run;
    pthread_t tid;
    int index;
    int is_writer; /* readwhilewriting's background writer */
    /* Everything below is owned by the worker until pthread_join. */
    uint64_t first; /* first key number of its slice */
    uint64_t count; /* operations it should do */
    uint64_t ops, bytes, found;
    uint64_t start_ns, end_ns;
    struct bench_rng rng;
    struct bench_valgen vg;
    uint64_t prev_ns; /* end of the previous operation, for the histogram */
    struct bench_hist hist;
    int failed;
    struct bench_msg msg;
};

struct workload {
    const char *name;
    int fresh;  /* starts from an empty database */
    int sync;   /* its writes are sync writes */
    int writer; /* adds a background writer thread */
    int (*body)(struct worker *w);
};

struct run {
    const struct bench_config *cfg; /* Immutable during the run */
    const struct bench_engine *eng; /* Immutable during the run */
    void *db;                       /* Immutable during the run */
    const struct workload *wl;      /* Immutable during the run */
    int sync;                       /* Immutable during the run */
    uint64_t seed;                  /* Immutable during the run */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;  /* Locked: mu. Workers waiting at the gate. */
    int gate;     /* Locked: mu. 0 closed, 1 open, -1 abort. */
    int finished; /* Locked: mu. Workers whose body has returned. */
    int time_up;  /* Locked: mu. --duration ended the run. */
    /* Atomic: set when a worker fails or --duration has passed, so the
     * workers stop early; relaxed, because it only shortens the run
     * (results are read after join). */
    atomic_int stop;
    /* Atomic: readers still running in readwhilewriting; the last one to
     * finish sets writer_stop. Relaxed for the same reason as stop. */
    atomic_int readers_left;
    atomic_int writer_stop;
};

/* Counts one finished operation of `bytes` bytes. */
static void op_done(struct worker *w, uint64_t bytes)
{
    w->ops++;
    w->bytes += bytes;
    atomic_store_explicit(&w->done, w->ops, memory_order_relaxed);
    if (w->run->cfg->histogram) {
        uint64_t now = bench_now_ns();
        bench_hist_add(&w->hist, now - w->prev_ns);
        w->prev_ns = now;
    }
}

static int stopped(struct worker *w)
{
    return atomic_load_explicit(&w->run->stop, memory_order_relaxed);
}

static int put_key(struct worker *w, uint64_t k)
{
    struct run *r = w->run;
    char key[BENCH_KEY_SIZE + 1];
    bench_key(key, k);
    const char *val = bench_valgen_next(&w->vg);
    return r->eng->put(r->db, key, BENCH_KEY_SIZE, val, r->cfg->value_size,
                       r->sync, &w->msg);
}

static int body_fillseq(struct worker *w)
{
    for (uint64_t i = 0; i < w->count && !stopped(w); i++) {
        if (put_key(w, w->first + i) != 0)
            return -1;
        op_done(w, BENCH_KEY_SIZE + w->run->cfg->value_size);
    }
    return 0;
}

static int body_write_random(struct worker *w)
{
    uint64_t num = w->run->cfg->num;
    for (uint64_t i = 0; i < w->count && !stopped(w); i++) {
        if (put_key(w, bench_rng_uniform(&w->rng, num)) != 0)
            return -1;
        op_done(w, BENCH_KEY_SIZE + w->run->cfg->value_size);
    }
    return 0;
}

static int body_readrandom(struct worker *w)
{
    struct run *r = w->run;
    char key[BENCH_KEY_SIZE + 1];
    for (uint64_t i = 0; i < w->count && !stopped(w); i++) {
        bench_key(key, bench_rng_uniform(&w->rng, r->cfg->num));
        int found = 0;
        size_t vlen = 0;
        if (r->eng->get(r->db, key, BENCH_KEY_SIZE, &found, &vlen, &w->msg))
            return -1;
        w->found += (uint64_t)found;
        op_done(w, found ? BENCH_KEY_SIZE + vlen : 0);
    }
    return 0;
}

static int visit_entry(void *ctx, size_t keylen, size_t vallen)
{
    struct worker *w = ctx;
    op_done(w, keylen + vallen);
    return stopped(w);
}

static int body_readseq(struct worker *w)
{
    struct run *r = w->run;
    char key[BENCH_KEY_SIZE + 1];
    bench_key(key, w->first);
    return r->eng->iterate(r->db, key, BENCH_KEY_SIZE, w->count, visit_entry, w,
                           &w->msg);
}

/* compact: the first worker compacts the whole key range once (one
 * operation; the time is the figure); any others have nothing to do. */
static int body_compact(struct worker *w)
{
    if (w->index != 0)
        return 0;
    struct run *r = w->run;
    if (r->eng->compact(r->db, &w->msg) != 0)
        return -1;
    op_done(w, 0);
    return 0;
}

/* readwhilewriting's writer: random overwrites until the readers are done.
 * Its operations are reported in the note, not in the workload's rate.
 * With --writer_rate it keeps to a schedule (put k is due k / rate seconds
 * after the start) and sleeps while it is ahead, so engines can be
 * compared reading under the same write load. */
static int body_writer(struct worker *w)
{
    uint64_t num = w->run->cfg->num;
    uint64_t rate = w->run->cfg->writer_rate;
    uint64_t start = bench_now_ns(), done = 0;
    while (!atomic_load_explicit(&w->run->writer_stop, memory_order_relaxed) &&
           !stopped(w)) {
        if (rate > 0) {
            uint64_t due =
                start + (uint64_t)((double)done * 1e9 / (double)rate);
            uint64_t now = bench_now_ns();
            if (due > now) {
                /* At most 10 ms at a time, so the stop is seen soon. */
                uint64_t ns = due - now < 10000000u ? due - now : 10000000u;
                struct timespec ts = {(time_t)(ns / 1000000000u),
                                      (long)(ns % 1000000000u)};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        if (put_key(w, bench_rng_uniform(&w->rng, num)) != 0)
            return -1;
        op_done(w, BENCH_KEY_SIZE + w->run->cfg->value_size);
        done++;
    }
    return 0;
}

static const struct workload workloads[] = {
    {"fillseq", 1, 0, 0, body_fillseq},
    {"fillrandom", 1, 0, 0, body_write_random},
    {"overwrite", 0, 0, 0, body_write_random},
    {"fillsync", 1, 1, 0, body_write_random},
    {"readrandom", 0, 0, 0, body_readrandom},
    {"readseq", 0, 0, 0, body_readseq},
    {"readwhilewriting", 0, 0, 1, body_readrandom},
    {"compact", 0, 0, 0, body_compact},
};
#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static const struct workload *find_workload(const char *name)
{
    for (size_t i = 0; i < N_WORKLOADS; i++)
        if (strcmp(workloads[i].name, name) == 0)
            return &workloads[i];
    return NULL;
}

int bench_workload_known(const char *name)
{
    return find_workload(name) != NULL || strcmp(name, "syncprobe") == 0 ||
           strcmp(name, "groupprobe") == 0 || strcmp(name, "memprobe") == 0;
}

int bench_workload_fresh(const char *name)
{
    const struct workload *wl = find_workload(name);
    return wl != NULL && wl->fresh;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;

    pthread_mutex_lock(&r->mu);
    r->arrived++;
    pthread_cond_broadcast(&r->cv);
    while (r->gate == 0)
        pthread_cond_wait(&r->cv, &r->mu);
    int go = r->gate > 0;
    pthread_mutex_unlock(&r->mu);

    int rc = 0;
    w->start_ns = bench_now_ns();
    w->prev_ns = w->start_ns;
    if (go)
        rc = w->is_writer ? body_writer(w) : r->wl->body(w);
    w->end_ns = bench_now_ns();
    if (rc != 0) {
        w->failed = 1;
        atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
    }
    if (!w->is_writer && r->wl->writer &&
        atomic_fetch_sub_explicit(&r->readers_left, 1, memory_order_relaxed) ==
            1)
        atomic_store_explicit(&r->writer_stop, 1, memory_order_relaxed);

    pthread_mutex_lock(&r->mu);
    r->finished++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void prepare_workers(struct run *r, struct worker *ws, int nthreads,
                            int nworkers)
{
    uint64_t num = r->cfg->num;
    uint64_t base = num / (uint64_t)nthreads;
    uint64_t extra = num % (uint64_t)nthreads;
    uint64_t first = 0;
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &ws[i];
        atomic_init(&w->done, 0);
        w->run = r;
        w->index = i;
        w->is_writer = i >= nthreads;
        w->first = first;
        w->count = w->is_writer ? 0 : base + ((uint64_t)i < extra ? 1 : 0);
        first += w->count;
        bench_rng_seed(&w->rng, r->seed + (uint64_t)i);
        bench_valgen_init(&w->vg, i);
        bench_hist_init(&w->hist);
    }
}

static struct timespec to_timespec(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    return ts;
}

/* Waits for the workers, printing a progress line every 2 s once the run
 * has lasted 3 s (on a terminal the line is redrawn in place), and raising
 * the stop flag when --duration has passed. */
static void monitor(struct run *r, struct worker *ws, int nthreads,
                    int nworkers, uint64_t t0)
{
    int tty = isatty(STDERR_FILENO);
    int printed = 0;
    uint64_t tick = t0;
    uint64_t end = r->cfg->duration > 0
                       ? t0 + (uint64_t)(r->cfg->duration * 1e9)
                       : UINT64_MAX;
    pthread_mutex_lock(&r->mu);
    while (r->finished < nworkers) {
        tick += 2000000000u;
        uint64_t wake = tick < end ? tick : end;
        struct timespec deadline = to_timespec(wake);
        int rc = 0;
        while (r->finished < nworkers && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&r->cv, &r->mu, &deadline);
        if (r->finished >= nworkers)
            break;
        uint64_t now = bench_now_ns();
        if (now >= end) {
            r->time_up = 1;
            atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
            end = UINT64_MAX;
            tick = now; /* the next progress line in 2 s, if any */
            continue;
        }
        double secs = (double)(now - t0) / 1e9;
        if (secs < 3.0)
            continue;
        uint64_t done = 0;
        for (int i = 0; i < nthreads; i++)
            done += atomic_load_explicit(&ws[i].done, memory_order_relaxed);
        fprintf(stderr,
                "%s... %s %s %d thr: %llu/%llu ops (%.0f%%) %.0f ops/s %.0fs%s",
                tty ? "\r" : "", r->wl->name, r->eng->name, nthreads,
                (unsigned long long)done, (unsigned long long)r->cfg->num,
                r->cfg->num ? 100.0 * (double)done / (double)r->cfg->num : 0.0,
                (double)done / secs, secs, tty ? "   " : "\n");
        printed = 1;
    }
    pthread_mutex_unlock(&r->mu);
    if (printed && tty)
        fputc('\n', stderr);
}

void bench_result_start(struct bench_result *res, const char *workload,
                        const char *engine, int threads, int timed)
{
    memset(res, 0, sizeof(*res));
    res->workload = workload;
    res->engine = engine;
    res->threads = threads;
    res->timed = timed;
    bench_hist_init(&res->hist);
}

double bench_process_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1.0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Appends a remark to res->note, comma-separated. */
__attribute__((format(printf, 2, 3))) static void
add_note(struct bench_result *res, const char *fmt, ...)
{
    size_t at = strlen(res->note);
    if (at > 0 && at + 2 < sizeof(res->note)) {
        memcpy(res->note + at, ", ", 3);
        at += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->note + at, sizeof(res->note) - at, fmt, ap);
    va_end(ap);
}

/* Merges the readers' results into res; 0, or -1 with the first failed
 * worker's message. */
static int collect(const struct run *r, const struct worker *ws, int nthreads,
                   int nworkers, struct bench_result *res,
                   struct bench_msg *msg)
{
    uint64_t start = UINT64_MAX, end = 0, found = 0, writer_ops = 0;
    for (int i = 0; i < nworkers; i++) {
        const struct worker *w = &ws[i];
        if (w->failed) {
            snprintf(msg->text, sizeof(msg->text), "%s", w->msg.text);
            return -1;
        }
        if (w->is_writer) {
            writer_ops += w->ops;
            continue;
        }
        res->ops += w->ops;
        res->bytes += w->bytes;
        found += w->found;
        if (w->start_ns < start)
            start = w->start_ns;
        if (w->end_ns > end)
            end = w->end_ns;
        bench_hist_merge(&res->hist, &w->hist);
    }
    res->seconds = end > start ? (double)(end - start) / 1e9 : 0.0;
    if (r->time_up)
        add_note(res, "stopped by --duration");
    if (r->wl->body == body_readrandom)
        add_note(res, "found %llu of %llu", (unsigned long long)found,
                 (unsigned long long)res->ops);
    if (nworkers > nthreads)
        add_note(res, "writer: %llu puts", (unsigned long long)writer_ops);
    return 0;
}

int bench_workload_run(const struct bench_config *cfg,
                       const struct bench_engine *eng, void *db,
                       const char *name, uint64_t seed,
                       struct bench_result *res, struct bench_msg *msg)
{
    const struct workload *wl = find_workload(name);
    if (wl == NULL)
        return bench_fail(msg, "unknown workload '%s'", name);

    int nthreads = cfg->threads;
    int nworkers = nthreads + (wl->writer ? 1 : 0);
    bench_result_start(res, wl->name, eng->name, nthreads, cfg->histogram);

    struct run r = {.cfg = cfg, .eng = eng, .db = db, .wl = wl};
    r.sync = wl->sync || cfg->sync;
    r.seed = seed;
    atomic_init(&r.stop, 0);
    atomic_init(&r.readers_left, nthreads);
    atomic_init(&r.writer_stop, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r.mu, NULL);

    int rc = -1;
    struct worker *ws = aligned_alloc(64, sizeof(*ws) * (size_t)nworkers);
    if (ws == NULL) {
        bench_fail(msg, "out of memory for %d threads", nworkers);
        goto out;
    }
    memset(ws, 0, sizeof(*ws) * (size_t)nworkers);
    prepare_workers(&r, ws, nthreads, nworkers);

    int created = 0;
    for (; created < nworkers; created++) {
        int e =
            pthread_create(&ws[created].tid, NULL, worker_main, &ws[created]);
        if (e != 0) {
            bench_fail(msg, "pthread_create: %s", strerror(e));
            break;
        }
    }
    /* Open the gate once everyone is there, or abort it. */
    pthread_mutex_lock(&r.mu);
    while (r.arrived < created)
        pthread_cond_wait(&r.cv, &r.mu);
    r.gate = created == nworkers ? 1 : -1;
    pthread_cond_broadcast(&r.cv);
    pthread_mutex_unlock(&r.mu);
    uint64_t t0 = bench_now_ns();
    double cpu0 = bench_process_cpu_seconds();

    if (created == nworkers)
        monitor(&r, ws, nthreads, nworkers, t0);
    for (int i = 0; i < created; i++)
        pthread_join(ws[i].tid, NULL);
    double cpu1 = bench_process_cpu_seconds();
    uint64_t t1 = bench_now_ns();
    if (created == nworkers)
        rc = collect(&r, ws, nthreads, nworkers, res, msg);
    if (rc == 0 && t1 > t0 && cpu0 >= 0.0 && cpu1 >= cpu0)
        res->cpu_cores = (cpu1 - cpu0) / ((double)(t1 - t0) / 1e9);

out:
    free(ws);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    return rc;
}
