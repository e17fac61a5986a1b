/*
 * demo.h: the two halves of `cairn demo` (tool.h has the entry point).
 * demo.c sets up, runs, watches, reopens and reports; demo_work.c is the
 * workload each thread runs and the exact check of every key against the
 * threads' models.
 *
 * Why the check is exact: each thread owns a disjoint key range (keys
 * "tNN-kIIIIIIIIIII", 16 bytes, NN the thread, I the index), and nobody
 * else writes there, so the thread's model of its range (the version of
 * the value each key holds, or absent) is exactly what the database must
 * return. Values are not stored in the model: a value is a pure function
 * of (thread, key index, version), 90..110 printable bytes, rebuilt for
 * every check.
 *
 * Threads: a worker's fields below "owned by the worker" are touched only
 * by its thread until the main thread joins it (pthread_join orders them).
 * Everything shared while the workers run is atomic and named below.
 */
#ifndef CAIRN_TOOL_DEMO_H
#define CAIRN_TOOL_DEMO_H

#include "cairn.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_KEY_LEN         16
#define DEMO_KEYS_PER_THREAD 20000u
#define DEMO_MAX_THREADS     64

typedef struct demo_cfg {
    unsigned threads;
    double seconds;
    uint64_t keys; /* writes per thread; 0 = run for `seconds` */
    const char *parent;
    uint64_t seed;
    int keep;
} demo_cfg;

typedef struct demo_worker {
    /* Set by the main thread before the worker starts; read-only after. */
    cairn_db *db;
    const cairn_writeoptions *wo_plain;
    const cairn_writeoptions *wo_sync;
    const demo_cfg *cfg;
    unsigned id;
    uint64_t deadline_ns;
    uint32_t *model; /* DEMO_KEYS_PER_THREAD versions; 0 = absent */
    /* Owned by the worker until joined. */
    uint64_t rng;
    uint32_t next_version;
    uint64_t puts, deletes, batches, batch_entries, sync_writes, writes;
    uint64_t reads, hits, wrong;
    int rc;           /* first failed call, or 0 */
    char errmsg[512]; /* its cairn_errmsg(), or the first wrong read */
} demo_worker;

/* Atomic: set by a worker that failed, so the others stop early. It
 * publishes nothing but itself: relaxed loads and stores. */
extern atomic_int demo_stop;

/* Atomic: bumped (relaxed) after every operation by the workers and after
 * every step by the main thread; the watchdog in demo.c only compares
 * successive values to see that something still moves. */
extern atomic_uint_fast64_t demo_progress;

/* Monotonic nanoseconds. */
uint64_t demo_now_ns(void);
/* A 64-bit mixing function (seeds, values). */
uint64_t demo_mix(uint64_t x);

/* The thread body: runs the workload on a demo_worker until its time or
 * write count is up, demo_stop is set, or a call fails (w->rc). */
void *demo_worker_main(void *arg);

/* Looks up every key of every worker's range (after the reopen) and
 * returns the number of mismatches, printing the first few on stderr.
 * *present gets the keys found with the right value. A failing lookup
 * (other than not-found) sets *rc, prints it, and ends the check. */
uint64_t demo_verify_all(cairn_db *db, const demo_worker *ws, unsigned nthreads,
                         uint64_t *present, int *rc);

#endif
