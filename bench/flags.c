/*
 * flags.c: the benchmark's command line.
 *
 * Flags are db_bench's spelling (--name=value, booleans as --name or
 * --name=0/1) so that commands written for LevelDB's db_bench mostly carry
 * over; the differences are in the usage text. Parsing fills a
 * struct bench_config and allocates nothing the caller must track except
 * what bench_flags_fini frees (copies of the comma lists and of each
 * --cairn-opt).
 */
#include "bench_flags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct bench_engine *const compiled_engines[] = {
    &bench_engine_cairn,
#ifdef CAIRN_BENCH_HAVE_LEVELDB
    &bench_engine_leveldb,
#endif
#ifdef CAIRN_BENCH_HAVE_ROCKSDB
    &bench_engine_rocksdb,
#endif
};
#define N_COMPILED (sizeof(compiled_engines) / sizeof(compiled_engines[0]))

void bench_flags_usage(FILE *f)
{
    fprintf(
        f,
        "usage: cairn_bench [flags]   (or: cairn bench [flags])\n"
        "\n"
        "Runs db_bench-style workloads against cairn and, when compiled in,\n"
        "LevelDB and RocksDB, side by side in one run.\n"
        "\n"
        "  --engine=LIST          comma list of cairn,leveldb,rocksdb "
        "(default cairn)\n"
        "  --benchmarks=LIST      comma list, run in order (default "
        "fillseq,fillrandom,\n"
        "                         overwrite,readrandom,readseq):\n"
        "      fillseq            write num keys in order into a fresh db\n"
        "      fillrandom         write num random keys into a fresh db\n"
        "      overwrite          write num random keys into the db\n"
        "      fillsync           fillrandom with sync writes (num ops, not "
        "num/1000)\n"
        "      readrandom         num lookups of random keys\n"
        "      readseq            scan num entries in key order\n"
        "      compact            compact the whole key range once (see secs)\n"
        "      readwhilewriting   readrandom plus one uncounted writer "
        "thread\n"
        "      syncprobe          the disk's own append+fdatasync rate, num "
        "times,\n"
        "                         one thread, run once before the engines\n"
        "      groupprobe         textbook group commit with no db: --threads "
        "writers\n"
        "                         append 100 B and share fdatasyncs; the "
        "ceiling of\n"
        "                         synced writes here (run before the engines)\n"
        "      memprobe           --threads threads put num entries into one "
        "shared\n"
        "                         memtable, no log, no db: what sharing it "
        "between\n"
        "                         cores costs (run before the engines)\n"
        "  --num=N                TOTAL operations per workload, split over "
        "the threads\n"
        "                         (db_bench: per thread); also the key range "
        "(default 1000000)\n"
        "  --threads=N            worker threads (default 1)\n"
        "  --duration=SECONDS     stop each workload after this long, "
        "whatever num\n"
        "                         says (default 0: no limit)\n"
        "  --writer_rate=N        readwhilewriting's writer does at most N "
        "puts a second\n"
        "                         (default 0: as many as it can)\n"
        "  --memprobe_layout=L    memprobe's memtables: shared (default), "
        "percpu (one\n"
        "                         per CPU), percpu_log (per CPU plus one "
        "shared log)\n"
        "  --groupprobe_gather=B  1: groupprobe holds each sync until every "
        "thread\n"
        "                         has appended (full groups; default 0)\n"
        "  --value_size=N         bytes per value (default 100), half "
        "compressible\n"
        "  --histogram            time every op: p50/p99/p99.9/max latency\n"
        "  --db=DIR               where the databases go (default: a new "
        "temporary dir\n"
        "                         under $TMPDIR or /tmp, removed at the end); "
        "with several\n"
        "                         engines each uses DIR/<engine>\n"
        "  --keep                 keep the temporary directory\n"
        "  --use_existing_db      do not wipe the db; skip the fill* "
        "workloads\n"
        "  --sync                 make every write a sync write\n"
        "  --write_buffer_size=N  memtable bytes (default: each engine's "
        "own)\n"
        "  --bloom_bits=N         Bloom filter bits per key (default -1: "
        "none)\n"
        "  --compression=snappy|none  block compression (default snappy)\n"
        "  --csv=FILE             append one row per workload to FILE\n"
        "  --seed=N               key generator seed (default 301)\n"
        "  --cairn-opt=NAME=VAL   a cairn option (repeatable; "
        "--list-cairn-opts)\n"
        "  --list-engines         print the engines compiled in, one a line\n"
        "  --list-cairn-opts      print the known --cairn-opt names\n");
}

static int usage_error(struct bench_msg *msg, const char *fmt, const char *a)
{
    bench_fail(msg, fmt, a);
    return BENCH_EXIT_USAGE;
}

/* Parses an unsigned decimal into [min, max]; 0 or -1. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A boolean flag: bare, or =0 / =1. */
static int parse_bool(const char *v, int *out)
{
    if (v == NULL || strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

static const struct bench_engine *find_engine(const char *name)
{
    for (size_t i = 0; i < N_COMPILED; i++)
        if (strcmp(compiled_engines[i]->name, name) == 0)
            return compiled_engines[i];
    return NULL;
}

void bench_flags_list_engines(void)
{
    for (size_t i = 0; i < N_COMPILED; i++)
        printf("%s\n", compiled_engines[i]->name);
}

static int set_engines(struct bench_config *cfg, char *list,
                       struct bench_msg *msg)
{
    cfg->n_engines = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        const struct bench_engine *e = find_engine(tok);
        if (e == NULL &&
            (strcmp(tok, "leveldb") == 0 || strcmp(tok, "rocksdb") == 0))
            return usage_error(msg,
                               "engine '%s' is not compiled into this binary "
                               "(its -dev package was not found at build "
                               "time)",
                               tok);
        if (e == NULL)
            return usage_error(msg, "unknown engine '%s'", tok);
        for (int i = 0; i < cfg->n_engines; i++)
            if (cfg->engines[i] == e)
                return usage_error(msg, "engine '%s' given twice", tok);
        cfg->engines[cfg->n_engines++] = e;
    }
    if (cfg->n_engines == 0)
        return usage_error(msg, "%s", "--engine needs at least one name");
    return 0;
}

static int set_benchmarks(struct bench_config *cfg, char *list,
                          struct bench_msg *msg)
{
    cfg->n_benchmarks = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (!bench_workload_known(tok))
            return usage_error(msg, "unknown benchmark '%s'", tok);
        if (cfg->n_benchmarks == BENCH_MAX_BENCH)
            return usage_error(msg, "%s", "too many benchmarks");
        cfg->benchmarks[cfg->n_benchmarks++] = tok;
    }
    if (cfg->n_benchmarks == 0)
        return usage_error(msg, "%s", "--benchmarks needs at least one name");
    return 0;
}

static int add_cairn_opt(struct bench_config *cfg, const char *v,
                         struct bench_msg *msg)
{
    const char *eq = v ? strchr(v, '=') : NULL;
    if (eq == NULL || eq == v)
        return usage_error(msg, "--cairn-opt wants NAME=VALUE, got '%s'",
                           v ? v : "");
    if (cfg->n_cairn_opts == BENCH_MAX_OPTS)
        return usage_error(msg, "%s", "too many --cairn-opt flags");
    struct bench_kv *kv = &cfg->cairn_opts[cfg->n_cairn_opts];
    kv->name = strndup(v, (size_t)(eq - v));
    kv->value = strdup(eq + 1);
    if (kv->name == NULL || kv->value == NULL) {
        free(kv->name);
        free(kv->value);
        bench_fail(msg, "out of memory");
        return BENCH_EXIT_FAIL;
    }
    cfg->n_cairn_opts++;
    return 0;
}

/* Keeps a private copy of a comma list, so strtok_r can cut it. */
static char *keep_copy(struct bench_flags *fl, const char *v)
{
    char *c = strdup(v);
    if (c != NULL)
        fl->copies[fl->n_copies++] = c;
    return c;
}

/* Applies one --name[=value]. */
static int one_flag(struct bench_flags *fl, const char *name, const char *v,
                    struct bench_msg *msg)
{
    struct bench_config *cfg = &fl->cfg;
    uint64_t n;
    int b;
    if (strcmp(name, "engine") == 0 || strcmp(name, "benchmarks") == 0) {
        if (v == NULL)
            return usage_error(msg, "--%s needs a value", name);
        if (fl->n_copies == BENCH_MAX_COPIES)
            return usage_error(msg, "--%s given too many times", name);
        char *copy = keep_copy(fl, v);
        if (copy == NULL) {
            bench_fail(msg, "out of memory");
            return BENCH_EXIT_FAIL;
        }
        return name[0] == 'e' ? set_engines(cfg, copy, msg)
                              : set_benchmarks(cfg, copy, msg);
    }
    if (strcmp(name, "threads") == 0) {
        if (parse_u64(v, 1, 4096, &n) != 0)
            return usage_error(msg, "--threads wants 1..4096, got '%s'",
                               v ? v : "");
        cfg->threads = (int)n;
    } else if (strcmp(name, "num") == 0) {
        if (parse_u64(v, 1, 1000000000000000ull, &n) != 0)
            return usage_error(msg, "--num wants a positive count, got '%s'",
                               v ? v : "");
        cfg->num = n;
    } else if (strcmp(name, "duration") == 0) {
        char *end = NULL;
        double d = v ? strtod(v, &end) : -1.0;
        if (v == NULL || end == v || *end != '\0' || !(d >= 0.0) || d > 1e6)
            return usage_error(msg, "--duration wants seconds, got '%s'",
                               v ? v : "");
        cfg->duration = d;
    } else if (strcmp(name, "writer_rate") == 0) {
        if (parse_u64(v, 0, 1000000000ull, &n) != 0)
            return usage_error(
                msg, "--writer_rate wants puts a second, got '%s'", v ? v : "");
        cfg->writer_rate = n;
    } else if (strcmp(name, "memprobe_layout") == 0) {
        int layout = v ? bench_memprobe_layout(v) : -1;
        if (layout < 0)
            return usage_error(msg,
                               "--memprobe_layout wants shared, percpu or "
                               "percpu_log, got '%s'",
                               v ? v : "");
        cfg->memprobe_layout = layout;
    } else if (strcmp(name, "groupprobe_gather") == 0) {
        if (parse_u64(v, 0, 1, &n) != 0)
            return usage_error(
                msg, "--groupprobe_gather wants 0 or 1, got '%s'", v ? v : "");
        cfg->groupprobe_gather = (int)n;
    } else if (strcmp(name, "value_size") == 0) {
        if (parse_u64(v, 0, 64u << 20, &n) != 0)
            return usage_error(msg, "--value_size wants 0..64Mi, got '%s'",
                               v ? v : "");
        cfg->value_size = (size_t)n;
    } else if (strcmp(name, "write_buffer_size") == 0) {
        if (parse_u64(v, 0, 1ull << 30, &n) != 0)
            return usage_error(
                msg, "--write_buffer_size wants 0..1Gi, got '%s'", v ? v : "");
        cfg->write_buffer_size = (size_t)n;
    } else if (strcmp(name, "bloom_bits") == 0) {
        if (v != NULL && strcmp(v, "-1") == 0)
            cfg->bloom_bits = -1;
        else if (parse_u64(v, 0, 64, &n) == 0)
            cfg->bloom_bits = (int)n;
        else
            return usage_error(msg, "--bloom_bits wants -1..64, got '%s'",
                               v ? v : "");
    } else if (strcmp(name, "seed") == 0) {
        if (parse_u64(v, 0, UINT64_MAX, &n) != 0)
            return usage_error(msg, "--seed wants a number, got '%s'",
                               v ? v : "");
        cfg->seed = n;
    } else if (strcmp(name, "compression") == 0) {
        if (v != NULL && (strcmp(v, "snappy") == 0 || strcmp(v, "1") == 0))
            cfg->compression = 1;
        else if (v != NULL && (strcmp(v, "none") == 0 || strcmp(v, "0") == 0))
            cfg->compression = 0;
        else
            return usage_error(msg,
                               "--compression wants snappy or none, got "
                               "'%s'",
                               v ? v : "");
    } else if (strcmp(name, "db") == 0 || strcmp(name, "csv") == 0) {
        if (v == NULL || *v == '\0')
            return usage_error(msg, "--%s needs a value", name);
        *(name[0] == 'd' ? &cfg->db : &cfg->csv) = v;
    } else if (strcmp(name, "cairn-opt") == 0) {
        return add_cairn_opt(cfg, v, msg);
    } else {
        int *target = strcmp(name, "histogram") == 0 ? &cfg->histogram
                      : strcmp(name, "keep") == 0    ? &cfg->keep
                      : strcmp(name, "use_existing_db") == 0
                          ? &cfg->use_existing_db
                      : strcmp(name, "sync") == 0 ? &cfg->sync
                                                  : NULL;
        if (target == NULL)
            return usage_error(msg, "unknown flag --%s", name);
        if (parse_bool(v, &b) != 0)
            return usage_error(msg, "--%s wants 0 or 1", name);
        *target = b;
    }
    return 0;
}

int bench_flags_parse(struct bench_flags *fl, int argc, char **argv,
                      struct bench_msg *msg)
{
    memset(fl, 0, sizeof(*fl));
    struct bench_config *cfg = &fl->cfg;
    cfg->engines[0] = &bench_engine_cairn;
    cfg->n_engines = 1;
    static const char *const defaults[] = {"fillseq", "fillrandom", "overwrite",
                                           "readrandom", "readseq"};
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        cfg->benchmarks[cfg->n_benchmarks++] = defaults[i];
    cfg->threads = 1;
    cfg->num = 1000000;
    cfg->value_size = 100;
    cfg->bloom_bits = -1;
    cfg->compression = 1;
    cfg->seed = 301;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return usage_error(msg, "unexpected argument '%s'", a);
        a += 2;
        if (strcmp(a, "help") == 0 || strcmp(a, "list-engines") == 0 ||
            strcmp(a, "list-cairn-opts") == 0) {
            fl->action = a[0] == 'h'                      ? BENCH_ACTION_HELP
                         : strcmp(a, "list-engines") == 0 ? BENCH_ACTION_ENGINES
                                                          : BENCH_ACTION_OPTS;
            return 0;
        }
        /* Split "name=value" without modifying argv. */
        char name[64];
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof(name))
            return usage_error(msg, "unknown flag '%s'", argv[i]);
        memcpy(name, a, len);
        name[len] = '\0';
        int rc = one_flag(fl, name, eq ? eq + 1 : NULL, msg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void bench_flags_fini(struct bench_flags *fl)
{
    for (int i = 0; i < fl->cfg.n_cairn_opts; i++) {
        free(fl->cfg.cairn_opts[i].name);
        free(fl->cfg.cairn_opts[i].value);
    }
    fl->cfg.n_cairn_opts = 0;
    for (int i = 0; i < fl->n_copies; i++)
        free(fl->copies[i]);
    fl->n_copies = 0;
}
