/*
 * bench.c: the benchmark driver's entry point, cairn_bench_main().
 *
 * It parses the flags (flags.c), prepares the directory, then for each
 * engine in --engine order: wipes its database (unless --use_existing_db),
 * opens it, and runs every workload of --benchmarks in order on it, the way
 * db_bench does: a workload that needs a fresh database (the fill* ones)
 * closes, destroys and reopens it first; the others run on whatever the
 * previous workloads left. syncprobe runs once, before the engines, since
 * it measures the disk and not an engine.
 *
 * Each finished workload prints a row of the results table on stdout and,
 * with --csv, appends a CSV row. Errors go to stderr; a failed workload
 * ends that engine's sequence and the run exits with 1 after the others.
 *
 * Directories: with one engine its database lives in the --db directory
 * itself (so --use_existing_db can point at any LevelDB-format database);
 * with several, each gets DIR/<engine>. Without --db a fresh directory is
 * made under $TMPDIR (or /tmp) and removed at the end unless --keep.
 *
 * Single-threaded except inside bench_workload_run.
 */
#include "bench_flags.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "cairn_bench: remove %s: %s\n", path, strerror(errno));
    return 0;
}

/* Creates the working directory: the temporary one, or --db if missing. */
static int make_dir(const struct bench_config *cfg, char *dir, size_t cap,
                    struct bench_msg *msg)
{
    if (cfg->db != NULL) {
        if ((size_t)snprintf(dir, cap, "%s", cfg->db) >= cap)
            return bench_fail(msg, "--db path too long");
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return bench_fail(msg, "mkdir %s: %s", dir, strerror(errno));
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if ((size_t)snprintf(dir, cap, "%s/cairn-bench-XXXXXX", tmp) >= cap)
        return bench_fail(msg, "$TMPDIR path too long");
    if (mkdtemp(dir) == NULL)
        return bench_fail(msg, "mkdtemp %s: %s", dir, strerror(errno));
    return 0;
}

static void print_setup(const struct bench_config *cfg, const char *dir)
{
    printf("cairn_bench:");
    for (int i = 0; i < cfg->n_engines; i++) {
        char d[64];
        cfg->engines[i]->describe(d, sizeof(d));
        printf("%s %s", i ? "," : "", d);
    }
    printf("\n  keys %d B, values %zu B (about %zu B compressed), num %llu "
           "(total, split over %d thread%s)\n",
           BENCH_KEY_SIZE, cfg->value_size, cfg->value_size / 2 + 1,
           (unsigned long long)cfg->num, cfg->threads,
           cfg->threads == 1 ? "" : "s");
    if (cfg->duration > 0)
        printf("  each workload stops after %.1f s\n", cfg->duration);
    if (cfg->writer_rate > 0)
        printf("  readwhilewriting's writer: at most %llu puts/s\n",
               (unsigned long long)cfg->writer_rate);
    printf("  dir %s, compression %s, write_buffer_size %s%zu, bloom_bits "
           "%d%s%s\n",
           dir, cfg->compression ? "snappy" : "none",
           cfg->write_buffer_size ? "" : "engine default ",
           cfg->write_buffer_size, cfg->bloom_bits,
           cfg->sync ? ", all writes sync" : "",
           cfg->use_existing_db ? ", existing db" : "");
    for (int i = 0; i < cfg->n_cairn_opts; i++)
        printf("  cairn-opt %s=%s\n", cfg->cairn_opts[i].name,
               cfg->cairn_opts[i].value);
    bench_report_header();
}

/* Prints the row and appends the CSV row; 0 or -1. */
static int publish(const struct bench_config *cfg,
                   const struct bench_result *res, struct bench_msg *msg)
{
    bench_report_row(res);
    if (cfg->csv != NULL && bench_report_csv(cfg->csv, res, msg) != 0)
        return -1;
    return 0;
}

/* Runs every workload on one engine; 0 or -1 after printing why. */
static int run_engine(const struct bench_config *cfg,
                      const struct bench_engine *eng, const char *path,
                      int remove_after)
{
    struct bench_msg msg = {{0}};
    void *db = NULL;
    int rc = -1;
    struct bench_result *res = malloc(sizeof(*res));
    if (res == NULL) {
        bench_fail(&msg, "out of memory");
        goto out;
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        bench_fail(&msg, "mkdir %s: %s", path, strerror(errno));
        goto out;
    }
    if (!cfg->use_existing_db && eng->destroy(cfg, path, &msg) != 0)
        goto out;
    if (eng->open(cfg, path, &db, &msg) != 0)
        goto out;
    for (int i = 0; i < cfg->n_benchmarks; i++) {
        const char *name = cfg->benchmarks[i];
        if (strcmp(name, "syncprobe") == 0 || strcmp(name, "groupprobe") == 0 ||
            strcmp(name, "memprobe") == 0)
            continue;
        if (bench_workload_fresh(name)) {
            if (cfg->use_existing_db) {
                printf("%-16s %-8s skipped: needs a fresh db "
                       "(--use_existing_db)\n",
                       name, eng->name);
                continue;
            }
            int e = eng->close(db, &msg);
            db = NULL;
            if (e != 0 || eng->destroy(cfg, path, &msg) != 0 ||
                eng->open(cfg, path, &db, &msg) != 0)
                goto out;
        }
        /* Each position in --benchmarks gets its own key sequence, the
         * same for every engine: a readrandom then looks up other keys than
         * the fill before it wrote (so some miss, as in LevelDB 1.23's
         * db_bench, whose seeds also change from one workload to the
         * next), and the engines still see identical requests. */
        uint64_t seed = cfg->seed + (uint64_t)i * 1000003u;
        if (bench_workload_run(cfg, eng, db, name, seed, res, &msg) != 0) {
            char what[300];
            snprintf(what, sizeof(what), "%s: %s", name, msg.text);
            snprintf(msg.text, sizeof(msg.text), "%s", what);
            goto out;
        }
        if (publish(cfg, res, &msg) != 0)
            goto out;
    }
    rc = 0;
out:
    if (db != NULL) {
        struct bench_msg cmsg = {{0}};
        if (eng->close(db, &cmsg) != 0 && rc == 0) {
            msg = cmsg;
            rc = -1;
        }
    }
    if (rc == 0 && remove_after && eng->destroy(cfg, path, &msg) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "cairn_bench: %s: %s\n", eng->name, msg.text);
    free(res);
    return rc;
}

static int run_all(const struct bench_config *cfg)
{
    struct bench_msg msg = {{0}};
    char dir[4096];
    if (make_dir(cfg, dir, sizeof(dir), &msg) != 0) {
        fprintf(stderr, "cairn_bench: %s\n", msg.text);
        return BENCH_EXIT_FAIL;
    }
    int temp = cfg->db == NULL;
    int failed = 0;
    print_setup(cfg, dir);

    static const char *const probes[] = {"syncprobe", "groupprobe", "memprobe"};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < cfg->n_benchmarks; i++) {
            if (strcmp(cfg->benchmarks[i], probes[k]) != 0)
                continue;
            struct bench_result *res = malloc(sizeof(*res));
            int prc = res == NULL ? -1
                      : k == 0    ? bench_syncprobe_run(cfg, dir, res, &msg)
                      : k == 1    ? bench_groupprobe_run(cfg, dir, res, &msg)
                                  : bench_memprobe_run(cfg, res, &msg);
            if (prc != 0 || publish(cfg, res, &msg) != 0) {
                fprintf(stderr, "cairn_bench: %s: %s\n", probes[k],
                        res ? msg.text : "out of memory");
                failed = 1;
            }
            free(res);
            break;
        }
    }

    for (int i = 0; i < cfg->n_engines; i++) {
        const struct bench_engine *eng = cfg->engines[i];
        char path[4096 + 16];
        if (cfg->n_engines == 1)
            snprintf(path, sizeof(path), "%s", dir);
        else
            snprintf(path, sizeof(path), "%s/%s", dir, eng->name);
        /* The temporary tree goes as a whole below; with several engines
         * their databases are dropped as soon as they are done, so disk
         * use stays that of one engine. */
        int remove_after = temp && !cfg->keep && cfg->n_engines > 1;
        if (run_engine(cfg, eng, path, remove_after) != 0)
            failed = 1;
    }

    if (temp && !cfg->keep)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    else if (temp)
        fprintf(stderr, "cairn_bench: kept %s\n", dir);
    return failed ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}

int cairn_bench_main(int argc, char **argv)
{
    struct bench_flags fl;
    struct bench_msg msg = {{0}};
    int rc = bench_flags_parse(&fl, argc, argv, &msg);
    if (rc != 0) {
        fprintf(stderr, "cairn_bench: %s\n", msg.text);
        if (rc == BENCH_EXIT_USAGE)
            fprintf(stderr, "run with --help for the flags\n");
        goto out;
    }
    switch (fl.action) {
    case BENCH_ACTION_HELP:
        bench_flags_usage(stdout);
        goto out;
    case BENCH_ACTION_ENGINES:
        bench_flags_list_engines();
        goto out;
    case BENCH_ACTION_OPTS:
        bench_cairn_opts_list();
        goto out;
    case BENCH_ACTION_RUN:
        break;
    }
    for (int i = 0; i < fl.cfg.n_engines; i++) {
        if (fl.cfg.engines[i] == &bench_engine_cairn &&
            bench_cairn_opts_check(&fl.cfg, &msg) != 0) {
            fprintf(stderr, "cairn_bench: %s\n", msg.text);
            rc = BENCH_EXIT_USAGE;
            goto out;
        }
    }
    if (fl.cfg.n_cairn_opts > 0 && fl.cfg.engines[0] != &bench_engine_cairn &&
        fl.cfg.n_engines == 1)
        fprintf(stderr, "cairn_bench: warning: --cairn-opt has no effect "
                        "without the cairn engine\n");
    if (bench_values_init(fl.cfg.value_size, fl.cfg.seed) != 0) {
        fprintf(stderr, "cairn_bench: out of memory for the value pool\n");
        rc = BENCH_EXIT_FAIL;
        goto out;
    }
    rc = run_all(&fl.cfg);
    bench_values_fini();
out:
    bench_flags_fini(&fl);
    return rc;
}
