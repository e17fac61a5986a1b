/*
 * bench.h: what the files of the benchmark driver share.
 *
 * The driver runs LevelDB's db_bench workloads against cairn and, when they
 * were found at build time, against LevelDB 1.23 and RocksDB through their C
 * APIs, in one binary and one run, so the numbers are side by side. Every
 * workload is written once against the small engine table below
 * (struct bench_engine); each engine file adapts one library to it.
 *
 * The driver is a program, not engine code: it calls pthreads and
 * clock_gettime directly. Its non-static names carry a bench_ prefix (the
 * tool's files use tool_ the same way), so it can be linked into the `cairn`
 * tool without clashing with the library's cairn_ / cairn__ symbols. The
 * one entry point meant for other programs is cairn_bench_main().
 *
 * Conventions (db_bench's, see the facts file section 10.2, with the
 * differences called out in bench.c's usage text):
 *  - keys are 16 bytes, the decimal key number printed as %016; values are
 *    value_size bytes cut from a pool that is half random, half repeated,
 *    so they compress to about half their size;
 *  - --num is the TOTAL number of operations of a workload, split evenly
 *    between its threads (db_bench gives every thread num operations);
 *    fillsync and syncprobe use --num directly too (db_bench divides it by
 *    1000 for fillsync).
 */
#ifndef CAIRN_BENCH_H
#define CAIRN_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_KEY_SIZE    16
#define BENCH_MAX_ENGINES 3
#define BENCH_MAX_BENCH   32
#define BENCH_MAX_OPTS    32

/* Exit codes, the same as the `cairn` tool's. */
#define BENCH_EXIT_OK    0
#define BENCH_EXIT_FAIL  1
#define BENCH_EXIT_USAGE 2

/* An error message from an engine or the harness, carried by value so that
 * no error path allocates. */
struct bench_msg {
    char text[256];
};

/* Formats into msg (printf-style) and returns -1, so failure paths can say
 * `return bench_fail(msg, "...")`. */
int bench_fail(struct bench_msg *msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One --cairn-opt=name=value, kept as text until the cairn engine applies
 * it (engine_cairn.c holds the table of names it knows). */
struct bench_kv {
    char *name;
    char *value;
};

/* The parsed command line. Immutable once the first workload starts, so
 * every thread may read it without a lock. */
struct bench_config {
    const struct bench_engine *engines[BENCH_MAX_ENGINES];
    int n_engines;
    const char *benchmarks[BENCH_MAX_BENCH];
    int n_benchmarks;
    int threads;
    uint64_t num;             /* total operations per workload */
    double duration;          /* > 0: stop each workload after this long */
    uint64_t writer_rate;     /* readwhilewriting's writer: puts/s, 0 free */
    int memprobe_layout;      /* bench_memprobe_layout(); 0 shared */
    int groupprobe_gather;    /* groupprobe syncs full groups only */
    size_t value_size;        /* bytes per value (default 100) */
    int histogram;            /* time every operation */
    const char *db;           /* NULL: a fresh temporary directory */
    int keep;                 /* keep the temporary directory */
    int use_existing_db;      /* skip the workloads that need a fresh db */
    int sync;                 /* force sync writes everywhere */
    size_t write_buffer_size; /* 0: the engine's default */
    int bloom_bits;           /* < 0: no filter */
    int compression;          /* 0 none, 1 snappy (the default) */
    const char *csv;          /* append one row per workload here */
    uint64_t seed;            /* base seed of the key generators */
    struct bench_kv cairn_opts[BENCH_MAX_OPTS];
    int n_cairn_opts;
};

/* Called for every entry an engine's iterate visits; a non-zero return
 * stops the scan. */
typedef int (*bench_visit_fn)(void *ctx, size_t keylen, size_t vallen);

/*
 * The engine table. Each function returns 0 or -1 with msg filled in. A
 * handle from open may be used by any number of threads at once (all three
 * libraries allow concurrent reads and writes on one handle); open, close
 * and destroy are called by the main thread alone, with no worker running.
 */
struct bench_engine {
    const char *name;
    /* Writes a one-line description ("leveldb 1.23") into buf. */
    void (*describe)(char *buf, size_t cap);
    /* Opens (creating if missing) the database in directory path with the
     * configuration's options. */
    int (*open)(const struct bench_config *cfg, const char *path, void **dbp,
                struct bench_msg *msg);
    int (*put)(void *db, const char *key, size_t keylen, const char *val,
               size_t vallen, int sync, struct bench_msg *msg);
    /* *found gets 1 and *vallen the value's length, or 0 when absent. */
    int (*get)(void *db, const char *key, size_t keylen, int *found,
               size_t *vallen, struct bench_msg *msg);
    /* Visits up to max entries in key order from the first key >= start. */
    int (*iterate)(void *db, const char *start, size_t startlen, uint64_t max,
                   bench_visit_fn visit, void *ctx, struct bench_msg *msg);
    /* Compacts the whole key range (db_bench's "compact"). */
    int (*compact)(void *db, struct bench_msg *msg);
    /* Closes the handle; it is freed even when -1 is returned. */
    int (*close)(void *db, struct bench_msg *msg);
    /* Deletes the database in path (a missing one is not an error). */
    int (*destroy)(const struct bench_config *cfg, const char *path,
                   struct bench_msg *msg);
};

extern const struct bench_engine bench_engine_cairn;
#ifdef CAIRN_BENCH_HAVE_LEVELDB
extern const struct bench_engine bench_engine_leveldb;
#endif
#ifdef CAIRN_BENCH_HAVE_ROCKSDB
extern const struct bench_engine bench_engine_rocksdb;
#endif

/* cairn_opts.c: the --cairn-opt knobs. bench_cairn_opts_check warns on
 * stderr about names it does not know (they are ignored, so that scripts
 * written for a newer cairn still run) and returns -1 with msg set for a
 * value a setter refuses. bench_cairn_opts_apply applies the known ones to
 * opt in command-line order: 0, or -1 with msg set. */
struct cairn_options;
int bench_cairn_opts_check(const struct bench_config *cfg,
                           struct bench_msg *msg);
int bench_cairn_opts_apply(const struct bench_config *cfg,
                           struct cairn_options *opt, struct bench_msg *msg);
/* Prints the table of known --cairn-opt names on stdout. */
void bench_cairn_opts_list(void);

/* ---------------------------------------------------------------------- */
/* Latency histogram (histogram.c)                                         */

/* Buckets are exact below 16 ns, then 8 per power of two, so a percentile
 * is off by at most 1/16 of its value. Plain data: each thread fills its
 * own, and the main thread merges them after joining the threads. */
#define BENCH_HIST_BUCKETS (16 + 60 * 8)

struct bench_hist {
    uint64_t count;
    uint64_t min_ns;
    uint64_t max_ns;
    uint64_t sum_ns;
    uint64_t buckets[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_add(struct bench_hist *h, uint64_t ns);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The value below which a fraction q (0..1) of the samples fall, in ns;
 * 0 for an empty histogram. */
double bench_hist_percentile(const struct bench_hist *h, double q);

/* ---------------------------------------------------------------------- */
/* Keys, values, randomness and time (gen.c)                               */

/* splitmix64: small, fast, and good enough to pick keys. */
struct bench_rng {
    uint64_t state;
};

void bench_rng_seed(struct bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(struct bench_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t bench_rng_uniform(struct bench_rng *r, uint64_t n);

/* Writes key number k as 16 decimal digits (no terminator kept in the
 * key: buf needs BENCH_KEY_SIZE + 1 bytes for snprintf's NUL). */
void bench_key(char *buf, uint64_t k);

/* The shared pool values are cut from. Built once by bench_values_init
 * before any thread starts, read-only afterwards. */
int bench_values_init(size_t value_size, uint64_t seed);
void bench_values_fini(void);
/* A cursor into the pool: each thread has its own. */
struct bench_valgen {
    size_t pos;
};
void bench_valgen_init(struct bench_valgen *g, int thread_index);
/* The next value_size bytes of the pool (not NUL-terminated). */
const char *bench_valgen_next(struct bench_valgen *g);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* ---------------------------------------------------------------------- */
/* Running workloads (workload.c) and reporting (report.c)                 */

/* What one workload on one engine produced, merged over its threads. */
struct bench_result {
    const char *workload;
    const char *engine;
    int threads;
    uint64_t ops;
    uint64_t bytes;
    double seconds; /* first thread's start to last thread's finish */
    /* Process CPU time (all threads, the engine's own included) over wall
     * time while the workload ran: how many cores it kept busy. 0 when
     * not measured (the probes). */
    double cpu_cores;
    int timed; /* hist is meaningful (--histogram) */
    struct bench_hist hist;
    char note[96]; /* "found 9 of 10", "writer: 1234 puts" */
};

/* 1 when name is a workload the driver knows. */
int bench_workload_known(const char *name);
/* 1 when the workload starts from an empty database. */
int bench_workload_fresh(const char *name);

/* Runs workload `name` with cfg->threads threads against an open db;
 * worker i draws its random keys from a generator seeded with seed + i.
 * Returns 0 and fills *res, or -1 with msg set (the first thread error). */
int bench_workload_run(const struct bench_config *cfg,
                       const struct bench_engine *eng, void *db,
                       const char *name, uint64_t seed,
                       struct bench_result *res, struct bench_msg *msg);

/* Appends ~100 bytes and fdatasyncs, cfg->num times, on a scratch file in
 * directory dir (syncprobe.c). The physical ceiling of a one-thread
 * fillsync. */
int bench_syncprobe_run(const struct bench_config *cfg, const char *dir,
                        struct bench_result *res, struct bench_msg *msg);

/* --threads writers share fdatasyncs of a scratch file in dir, with no
 * database (groupprobe.c): the ceiling of many-thread synced writes. */
int bench_groupprobe_run(const struct bench_config *cfg, const char *dir,
                         struct bench_result *res, struct bench_msg *msg);

/* --threads threads put --num entries into one shared cairn memtable with
 * no log and no database (memprobe.c): what sharing the memtable between
 * cores costs here, the ceiling of many-thread fillrandom. With
 * cfg->memprobe_layout, per-CPU memtables instead, with or without one
 * shared log buffer. */
int bench_memprobe_run(const struct bench_config *cfg, struct bench_result *res,
                       struct bench_msg *msg);
/* --memprobe_layout's value as a number (0 shared, 1 percpu, 2
 * percpu_log), or -1 for an unknown name. */
int bench_memprobe_layout(const char *name);

/* Clears res and names what it measures (workload.c). */
void bench_result_start(struct bench_result *res, const char *workload,
                        const char *engine, int threads, int timed);
/* User plus system CPU time of the whole process so far, in seconds; -1
 * if unknown (workload.c). */
double bench_process_cpu_seconds(void);

/* Prints the table header / one row on stdout. */
void bench_report_header(void);
void bench_report_row(const struct bench_result *res);
/* Appends res to the CSV file path, writing the header first when the file
 * is empty. */
int bench_report_csv(const char *path, const struct bench_result *res,
                     struct bench_msg *msg);

/* The driver: `cairn_bench [flags]`, or `cairn bench [flags]` with argv[0]
 * "bench". Returns an exit code (BENCH_EXIT_*). */
int cairn_bench_main(int argc, char **argv);

#endif
