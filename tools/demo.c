/*
 * demo.c: `cairn demo`, the project's main job (`make demo`): a realistic
 * concurrent workload on a fresh database, then a reopen and a full check
 * that nothing acknowledged was lost or changed (demo.h says why the check
 * is exact; demo_work.c is the workload).
 *
 * Steps: make a fresh directory (mkdtemp under --dir, $TMPDIR or /tmp),
 * create the database in <dir>/db, run the worker threads for the time (or
 * write count), close, reopen (timed), look up every key of every thread's
 * range, close, print the summary. Exit status 0 only when no live read and
 * no key after the reopen mismatched and no call failed. A good run removes
 * its directory (cairn_db_destroy, then rmdir) unless --keep; a failed one
 * always keeps it for inspection.
 *
 * A watchdog thread guards `make demo` against an engine that stops making
 * progress (a deadlock would otherwise hang it forever): if demo_progress
 * has not moved for STALL_SECONDS, it names the phase, keeps the directory
 * and exits with status 1. It shares `watch` with the main thread (Locked:
 * watch.mu) and reads the atomics of demo.h.
 */
#include "cairn.h"

#include "demo.h"
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STALL_SECONDS 60

static int parse_args(int argc, char **argv, demo_cfg *cfg)
{
    int have_seconds = 0;
    /* Help wins over everything else on the line, as for every command. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return -1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--keep") == 0) {
            cfg->keep = 1;
            continue;
        }
        static const char *const valued[] = {"--threads", "--seconds", "--keys",
                                             "--dir", "--seed"};
        const char *name = NULL, *val = NULL;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
            size_t len = strlen(valued[k]);
            if (strncmp(a, valued[k], len) != 0)
                continue;
            if (a[len] == '=')
                name = valued[k], val = a + len + 1;
            else if (a[len] == '\0')
                name = valued[k], val = i + 1 < argc ? argv[++i] : NULL;
        }
        if (name == NULL)
            return tool_usage_error(
                "demo", "demo: %s '%s'",
                a[0] == '-' ? "unknown option" : "unexpected argument", a);
        if (val == NULL)
            return tool_usage_error("demo", "demo: %s needs a value", name);
        uint64_t n = 0;
        int bad = 0;
        if (strcmp(name, "--dir") == 0) {
            bad = val[0] == '\0';
            cfg->parent = val;
        } else if (strcmp(name, "--seconds") == 0) {
            char *end;
            errno = 0;
            double s = strtod(val, &end);
            bad = errno != 0 || end == val || *end != '\0' || !isfinite(s) ||
                  s <= 0 || s > 3600;
            cfg->seconds = s;
            have_seconds = 1;
        } else if (strcmp(name, "--threads") == 0) {
            bad = tool_parse_u64(val, 1, DEMO_MAX_THREADS, &n) != 0;
            cfg->threads = (unsigned)n;
        } else if (strcmp(name, "--keys") == 0) {
            bad = tool_parse_u64(val, 1, UINT64_C(1000000000), &n) != 0;
            cfg->keys = n;
        } else {
            bad = tool_parse_u64(val, 0, UINT64_MAX, &n) != 0;
            cfg->seed = n;
        }
        if (bad)
            return tool_usage_error("demo", "demo: bad value '%s' for %s", val,
                                    name);
    }
    if (have_seconds && cfg->keys != 0)
        return tool_usage_error("demo",
                                "demo: give --seconds or --keys, not both");
    return 0;
}

/* Bytes in the regular files of dir (the database's size on disk). */
static uint64_t dir_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static double per_sec(uint64_t n, double secs)
{
    return secs > 0 ? (double)n / secs : 0;
}

static int open_db(const char *path, int create, cairn_db **db)
{
    cairn_options *opt = cairn_options_create();
    if (opt == NULL)
        return CAIRN_NOMEM;
    int rc = cairn_options_set_create_if_missing(opt, create);
    if (rc == 0)
        rc = cairn_options_set_error_if_exists(opt, create);
    if (rc == 0)
        rc = cairn_db_open(opt, path, db);
    cairn_options_destroy(opt);
    return rc;
}

static void human_bytes(uint64_t n, char *buf, size_t cap)
{
    if (n >= (UINT64_C(1) << 20))
        snprintf(buf, cap, "%.1f MiB", (double)n / (1 << 20));
    else
        snprintf(buf, cap, "%.1f KiB", (double)n / (1 << 10));
}

/* ---------------------------------------------------------------------- */
/* Watchdog                                                                 */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;          /* Locked: mu */
    const char *phase; /* Locked: mu; a string literal */
    const char *dir;   /* Immutable while the watchdog runs */
} watch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, "", ""};

static void set_phase(const char *phase)
{
    pthread_mutex_lock(&watch.mu);
    watch.phase = phase;
    pthread_mutex_unlock(&watch.mu);
    atomic_fetch_add_explicit(&demo_progress, 1, memory_order_relaxed);
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    uint_fast64_t last = 0;
    unsigned idle = 0;
    pthread_mutex_lock(&watch.mu);
    while (!watch.stop) {
        /* One-second ticks; a wake-up for `stop` may come early. Relative
         * sleeps through the realtime clock are fine for a coarse count. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&watch.cv, &watch.mu, &until);
        if (watch.stop)
            break;
        uint_fast64_t now =
            atomic_load_explicit(&demo_progress, memory_order_relaxed);
        idle = now == last ? idle + 1 : 0;
        last = now;
        if (idle >= STALL_SECONDS) {
            fprintf(stderr,
                    "cairn: demo: no progress for %d s while %s; the engine "
                    "appears to be stuck (kept %s)\n",
                    STALL_SECONDS, watch.phase, watch.dir);
            /* stderr is unbuffered and stdout was flushed before the run;
             * no other stream is touched, as the stuck thread may hold
             * any lock. */
            _exit(TOOL_EXIT_FAIL);
        }
    }
    pthread_mutex_unlock(&watch.mu);
    return NULL;
}

static void watchdog_stop(pthread_t tid)
{
    pthread_mutex_lock(&watch.mu);
    watch.stop = 1;
    pthread_cond_signal(&watch.cv);
    pthread_mutex_unlock(&watch.mu);
    pthread_join(tid, NULL);
}

/* Starts the workers, waits for them, and adds up their counters in *sum. */
static int run_workers(demo_worker *ws, unsigned n, double *secs,
                       demo_worker *sum)
{
    pthread_t tids[DEMO_MAX_THREADS];
    unsigned started = 0;
    int rc = 0;
    uint64_t t0 = demo_now_ns();
    for (unsigned i = 0; i < n; i++) {
        ws[i].deadline_ns = t0 + (uint64_t)(ws[i].cfg->seconds * 1e9);
        int err = pthread_create(&tids[i], NULL, demo_worker_main, &ws[i]);
        if (err != 0) {
            fprintf(stderr, "cairn: starting thread %u: %s\n", i,
                    strerror(err));
            atomic_store_explicit(&demo_stop, 1, memory_order_relaxed);
            rc = -1;
            break;
        }
        started++;
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    *secs = (double)(demo_now_ns() - t0) / 1e9;
    memset(sum, 0, sizeof *sum);
    for (unsigned i = 0; i < started; i++) {
        const demo_worker *w = &ws[i];
        sum->puts += w->puts;
        sum->deletes += w->deletes;
        sum->batches += w->batches;
        sum->batch_entries += w->batch_entries;
        sum->sync_writes += w->sync_writes;
        sum->writes += w->writes;
        sum->reads += w->reads;
        sum->hits += w->hits;
        sum->wrong += w->wrong;
        if (w->rc != 0 || w->wrong != 0)
            fprintf(stderr, "cairn: %s\n", w->errmsg);
        if (w->rc != 0)
            rc = -1;
    }
    return rc;
}

static void print_summary(const demo_cfg *cfg, const demo_worker *sum,
                          double secs, double close_ms, double reopen_ms,
                          uint64_t verified, uint64_t present,
                          uint64_t mismatches, uint64_t bytes)
{
    char size[32];
    human_bytes(bytes, size, sizeof size);
    uint64_t write_ops = sum->puts + sum->deletes + sum->batches;
    printf("  threads       %u\n", cfg->threads);
    printf("  run time      %.2f s\n", secs);
    printf("  keys written  %" PRIu64 " entries: %" PRIu64 " puts, %" PRIu64
           " deletes, %" PRIu64 " in batches\n",
           sum->writes, sum->puts, sum->deletes, sum->batch_entries);
    printf("  batches       %" PRIu64 " atomic batches of 2-8 entries\n",
           sum->batches);
    printf("  deletes       %" PRIu64 " single deletes\n", sum->deletes);
    printf("  sync writes   %" PRIu64 "\n", sum->sync_writes);
    printf("  reads         %" PRIu64 " gets, %" PRIu64 " hits, %" PRIu64
           " misses, %" PRIu64 " wrong\n",
           sum->reads, sum->hits, sum->reads - sum->hits - sum->wrong,
           sum->wrong);
    printf("  write rate    %.0f ops/s (%.0f entries/s)\n",
           per_sec(write_ops, secs), per_sec(sum->writes, secs));
    printf("  read rate     %.0f ops/s\n", per_sec(sum->reads, secs));
    printf("  close         %.1f ms\n", close_ms);
    printf("  reopen        %.1f ms\n", reopen_ms);
    printf("  verified      %" PRIu64 " keys after reopen: %" PRIu64
           " present, %" PRIu64 " absent, %" PRIu64 " mismatches\n",
           verified, present, verified - present - mismatches, mismatches);
    printf("  size on disk  %s (%" PRIu64 " bytes)\n", size, bytes);
}

/* Closes, reopens (timed) and verifies; returns mismatches, or sets *rc. */
static uint64_t reopen_and_verify(cairn_db **db, const char *path,
                                  const demo_worker *ws, unsigned n,
                                  double *close_ms, double *reopen_ms,
                                  uint64_t *present, int *rc)
{
    set_phase("closing the database");
    uint64_t t = demo_now_ns();
    *rc = cairn_db_close(*db);
    *db = NULL;
    *close_ms = (double)(demo_now_ns() - t) / 1e6;
    if (*rc != 0) {
        tool_engine_error(*rc, cairn_errmsg());
        return 0;
    }
    set_phase("reopening the database");
    t = demo_now_ns();
    *rc = open_db(path, 0, db);
    *reopen_ms = (double)(demo_now_ns() - t) / 1e6;
    if (*rc != 0) {
        tool_engine_error(*rc, cairn_errmsg());
        return 0;
    }
    set_phase("verifying every key after the reopen");
    return demo_verify_all(*db, ws, n, present, rc);
}

/* Creates the database in path, runs, verifies and reports. Returns the
 * exit status; *ok says that the run completed and verified cleanly. */
static int run_demo(const demo_cfg *cfg, const char *path, int *ok)
{
    demo_worker *ws = calloc(cfg->threads, sizeof *ws);
    cairn_writeoptions *wo_plain = cairn_writeoptions_create();
    cairn_writeoptions *wo_sync = cairn_writeoptions_create();
    cairn_db *db = NULL;
    int rc = 0, st = TOOL_EXIT_FAIL;
    *ok = 0;
    if (ws == NULL || wo_plain == NULL || wo_sync == NULL ||
        cairn_writeoptions_set_sync(wo_sync, 1) != 0) {
        fprintf(stderr, "cairn: out of memory\n");
        goto out;
    }
    set_phase("creating the database");
    if ((rc = open_db(path, 1, &db)) != 0) {
        tool_engine_error(rc, cairn_errmsg());
        goto out;
    }
    for (unsigned i = 0; i < cfg->threads; i++) {
        demo_worker *w = &ws[i];
        w->db = db;
        w->wo_plain = wo_plain;
        w->wo_sync = wo_sync;
        w->cfg = cfg;
        w->id = i;
        w->rng = demo_mix(cfg->seed + i) | 1;
        w->model = calloc(DEMO_KEYS_PER_THREAD, sizeof *w->model);
        if (w->model == NULL) {
            fprintf(stderr, "cairn: out of memory\n");
            goto out;
        }
    }

    demo_worker sum;
    double secs, close_ms = 0, reopen_ms = 0;
    uint64_t present = 0, mismatches = 0;
    set_phase("running the workload");
    if (run_workers(ws, cfg->threads, &secs, &sum) != 0)
        goto out;
    mismatches = reopen_and_verify(&db, path, ws, cfg->threads, &close_ms,
                                   &reopen_ms, &present, &rc);
    if (rc != 0)
        goto out;
    set_phase("closing the database after verification");
    rc = cairn_db_close(db);
    db = NULL;
    if (rc != 0) {
        tool_engine_error(rc, cairn_errmsg());
        goto out;
    }
    print_summary(cfg, &sum, secs, close_ms, reopen_ms,
                  (uint64_t)cfg->threads * DEMO_KEYS_PER_THREAD, present,
                  mismatches, dir_bytes(path));
    *ok = mismatches == 0 && sum.wrong == 0;
    if (*ok)
        printf("result: OK, every key matched after reopen\n");
    else
        printf("result: FAILED, %" PRIu64 " wrong reads during the run, "
               "%" PRIu64 " mismatches after reopen\n",
               sum.wrong, mismatches);
    st = *ok ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
out:
    if (db != NULL)
        (void)cairn_db_close(db);
    for (unsigned i = 0; ws != NULL && i < cfg->threads; i++)
        free(ws[i].model);
    free(ws);
    cairn_writeoptions_destroy(wo_plain);
    cairn_writeoptions_destroy(wo_sync);
    return st;
}

int tool_demo(int argc, char **argv)
{
    demo_cfg cfg = {4, 3.0, 0, NULL, 0, 0};
    cfg.seed = demo_mix((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    int st = parse_args(argc, argv, &cfg);
    if (st == -1)
        return tool_show_help("demo");
    if (st != 0)
        return st;

    const char *parent = cfg.parent;
    if (parent == NULL)
        parent = getenv("TMPDIR");
    if (parent == NULL || parent[0] == '\0')
        parent = "/tmp";
    size_t cap = strlen(parent) + 64;
    char *dir = malloc(cap), *path = malloc(cap);
    if (dir == NULL || path == NULL) {
        free(dir);
        free(path);
        fprintf(stderr, "cairn: out of memory\n");
        return TOOL_EXIT_FAIL;
    }
    snprintf(dir, cap, "%s/cairn-demo-XXXXXX", parent);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "cairn: cannot create a directory under %s: %s\n",
                parent, strerror(errno));
        free(dir);
        free(path);
        return TOOL_EXIT_FAIL;
    }
    snprintf(path, cap, "%s/db", dir);
    if (cfg.keys)
        printf("cairn demo: %u threads, %" PRIu64 " writes each, seed %" PRIu64
               "\n",
               cfg.threads, cfg.keys, cfg.seed);
    else
        printf("cairn demo: %u threads for %.1f s, seed %" PRIu64 "\n",
               cfg.threads, cfg.seconds, cfg.seed);
    printf("  database      %s\n", path);
    fflush(stdout);

    pthread_t wd;
    watch.dir = dir;
    int watching = pthread_create(&wd, NULL, watchdog_main, NULL) == 0;
    int ok;
    st = run_demo(&cfg, path, &ok);
    if (watching)
        watchdog_stop(wd);

    if (ok && !cfg.keep) {
        int rc = cairn_db_destroy(NULL, path);
        if (rc != 0 || rmdir(dir) != 0) {
            fprintf(stderr, "cairn: removing %s: %s\n", dir,
                    rc != 0 ? cairn_errmsg() : strerror(errno));
            st = TOOL_EXIT_FAIL;
        } else {
            printf("  (removed %s)\n", dir);
        }
    } else {
        printf("  (kept %s)\n", dir);
    }
    fflush(stdout);
    free(dir);
    free(path);
    return st;
}
