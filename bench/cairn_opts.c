/*
 * cairn_opts.c: the --cairn-opt=name=value knobs, cairn's own options that
 * LevelDB and RocksDB have no flag for (the write path's commit policy,
 * wait strategy, group limits, level-0 triggers, ...).
 *
 * Each knob is one row of the table `knobs`: a name, a help line and a
 * function that parses the value and calls one cairn_options_set_* setter.
 * Adding a knob for a new setter is one wrapper and one row. A row with no
 * function stands for a knob announced but not in the API yet: it is
 * accepted with a warning, and so is a name the table does not know, so
 * that a script written for a newer cairn still runs on an older one.
 *
 * Setters taking several parameters get one knob whose value is a comma
 * list, with the header's defaults for the fields left out, e.g.
 * commit_wait=200,131072 or wait_strategy=adaptive,50000. Knobs are applied
 * in command-line order, so when two knobs call the same setter the later
 * one wins.
 */
#include "bench.h"

#include <cairn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 3

/* Parses a non-negative decimal with an optional k/m/g (binary) suffix. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s == '\0' || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end != '\0' || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    uint64_t v;
    if (parse_u64(s, &v) != 0 || v > 0x7fffffff)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_size(const char *s, size_t *out)
{
    uint64_t v;
    if (parse_u64(s, &v) != 0 || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Cuts a comma list into at most MAX_FIELDS fields of up to 31 bytes;
 * returns how many, or -1 when there are too many or one is too long. */
static int split(const char *v, char f[MAX_FIELDS][32])
{
    int n = 0;
    for (const char *p = v;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == MAX_FIELDS || len >= 32)
            return -1;
        memcpy(f[n], p, len);
        f[n][len] = '\0';
        if (comma == NULL)
            return n + 1;
        p = comma + 1;
    }
}

/* Every wrapper returns the setter's code, or CAIRN_INVALID for a value
 * that does not parse. */
#define SIZE_KNOB(fn, setter)                                                  \
    static int fn(cairn_options *o, const char *v)                             \
    {                                                                          \
        size_t n;                                                              \
        return parse_size(v, &n) != 0 ? CAIRN_INVALID : setter(o, n);          \
    }
#define INT_KNOB(fn, setter)                                                   \
    static int fn(cairn_options *o, const char *v)                             \
    {                                                                          \
        int n;                                                                 \
        return parse_int(v, &n) != 0 ? CAIRN_INVALID : setter(o, n);           \
    }
SIZE_KNOB(set_block_size, cairn_options_set_block_size)
SIZE_KNOB(set_max_file_size, cairn_options_set_max_file_size)
INT_KNOB(set_restart_interval, cairn_options_set_block_restart_interval)
INT_KNOB(set_max_open_files, cairn_options_set_max_open_files)
INT_KNOB(set_mmap_reads, cairn_options_set_mmap_reads)
INT_KNOB(set_paranoid_checks, cairn_options_set_paranoid_checks)
INT_KNOB(set_info_log, cairn_options_set_info_log)
INT_KNOB(set_max_imm, cairn_options_set_max_immutable_memtables)
INT_KNOB(set_bg_threads, cairn_options_set_background_threads)
INT_KNOB(set_mem_shards, cairn_options_set_memtable_shards)
INT_KNOB(set_subcompactions, cairn_options_set_max_subcompactions)
INT_KNOB(set_mem_filter, cairn_options_set_memtable_filter)
INT_KNOB(set_spare_log, cairn_options_set_spare_log)

/* The defaults include/cairn.h documents for the multi-field setters. */
#define DEF_WAIT_US     100
#define DEF_WAIT_BYTES  (64u << 10)
#define DEF_SPIN_NS     20000
#define DEF_GROUP_SMALL (128u << 10)
#define DEF_SLOWDOWN_US 1000

static int set_commit_policy(cairn_options *o, const char *v)
{
    int p;
    if (strcmp(v, "leader") == 0 || strcmp(v, "0") == 0)
        p = CAIRN_COMMIT_LEADER;
    else if (strcmp(v, "batch_wait") == 0 || strcmp(v, "1") == 0)
        p = CAIRN_COMMIT_BATCH_WAIT;
    else
        return CAIRN_INVALID;
    return cairn_options_set_commit_policy(o, p);
}

/* commit_wait=US[,BYTES[,NONSYNC]] */
static int set_commit_wait(cairn_options *o, const char *v)
{
    char f[MAX_FIELDS][32];
    int n = split(v, f);
    uint64_t us, bytes = DEF_WAIT_BYTES;
    int nonsync = 0;
    if (n < 1 || parse_u64(f[0], &us) != 0 ||
        (n > 1 && parse_u64(f[1], &bytes) != 0) ||
        (n > 2 && parse_int(f[2], &nonsync) != 0) || bytes > SIZE_MAX)
        return CAIRN_INVALID;
    return cairn_options_set_commit_wait(o, us, (size_t)bytes, nonsync);
}

/* commit_wait_us=US: commit_wait with the other two fields defaulted. */
static int set_commit_wait_us(cairn_options *o, const char *v)
{
    uint64_t us;
    if (parse_u64(v, &us) != 0)
        return CAIRN_INVALID;
    return cairn_options_set_commit_wait(o, us, DEF_WAIT_BYTES, 0);
}

/* wait_strategy=block|spin|adaptive|auto[,SPIN_NS] */
static int set_wait_strategy(cairn_options *o, const char *v)
{
    char f[MAX_FIELDS][32];
    int n = split(v, f);
    uint64_t spin = DEF_SPIN_NS;
    int s;
    if (n < 1 || n > 2 || (n > 1 && parse_u64(f[1], &spin) != 0))
        return CAIRN_INVALID;
    if (strcmp(f[0], "block") == 0)
        s = CAIRN_WAIT_BLOCK;
    else if (strcmp(f[0], "spin") == 0)
        s = CAIRN_WAIT_SPIN;
    else if (strcmp(f[0], "adaptive") == 0)
        s = CAIRN_WAIT_ADAPTIVE;
    else if (strcmp(f[0], "auto") == 0)
        s = CAIRN_WAIT_AUTO;
    else
        return CAIRN_INVALID;
    return cairn_options_set_wait_strategy(o, s, spin);
}

/* group_limits=MAX_BYTES[,SMALL_LEADER] */
static int set_group_limits(cairn_options *o, const char *v)
{
    char f[MAX_FIELDS][32];
    int n = split(v, f);
    size_t max, small = DEF_GROUP_SMALL;
    if (n < 1 || n > 2 || parse_size(f[0], &max) != 0 ||
        (n > 1 && parse_size(f[1], &small) != 0))
        return CAIRN_INVALID;
    /* The default small-leader size must not exceed a smaller maximum. */
    if (n == 1 && small > max)
        small = max;
    return cairn_options_set_group_limits(o, max, small);
}

/* l0_triggers=SLOWDOWN,STOP[,SLOWDOWN_US] */
static int set_l0_triggers(cairn_options *o, const char *v)
{
    char f[MAX_FIELDS][32];
    int n = split(v, f);
    int slowdown, stop;
    uint64_t us = DEF_SLOWDOWN_US;
    if (n < 2 || parse_int(f[0], &slowdown) != 0 ||
        parse_int(f[1], &stop) != 0 || (n > 2 && parse_u64(f[2], &us) != 0))
        return CAIRN_INVALID;
    return cairn_options_set_l0_triggers(o, slowdown, stop, us);
}

struct knob {
    const char *name;
    const char *help;
    /* Applies the value: 0 or a CAIRN_* code. NULL for a knob the library
     * does not offer yet. */
    int (*apply)(cairn_options *opt, const char *value);
};

static const struct knob knobs[] = {
    {"block_size", "bytes per data block (1k..4m)", set_block_size},
    {"block_restart_interval", "keys between restart points",
     set_restart_interval},
    {"max_file_size", "target table size (1m..1g)", set_max_file_size},
    {"max_open_files", "table files kept open (74..50000)", set_max_open_files},
    {"mmap_reads", "1 reads tables through a mapping, 0 with pread",
     set_mmap_reads},
    {"paranoid_checks", "0 or 1", set_paranoid_checks},
    {"info_log", "1 writes <db>/LOG, 0 disables it", set_info_log},
    {"commit_policy", "leader | batch_wait", set_commit_policy},
    {"commit_wait", "US[,BYTES[,NONSYNC]] batch_wait's limits (100,64k,0)",
     set_commit_wait},
    {"commit_wait_us", "US: commit_wait with the default bytes",
     set_commit_wait_us},
    {"wait_strategy", "block | spin | adaptive | auto[,SPIN_NS] (auto,20000)",
     set_wait_strategy},
    {"group_limits", "MAX_BYTES[,SMALL_LEADER] (1m,128k)", set_group_limits},
    {"max_immutable_memtables", "1..8 (2)", set_max_imm},
    {"background_threads", "1 flushes and compacts, 2 flushes apart (1)",
     set_bg_threads},
    {"memtable_shards", "1..16, 0 one per CPU up to 4 (0)", set_mem_shards},
    {"max_subcompactions", "1..16, 0 one per CPU up to 4 (0)",
     set_subcompactions},
    {"memtable_filter", "0 or 1 (1)", set_mem_filter},
    {"spare_log", "0 or 1 (1)", set_spare_log},
    {"l0_triggers", "SLOWDOWN,STOP[,SLOWDOWN_US] (8,12,1000)", set_l0_triggers},
};
#define N_KNOBS (sizeof(knobs) / sizeof(knobs[0]))

static const struct knob *find_knob(const char *name)
{
    for (size_t i = 0; i < N_KNOBS; i++)
        if (strcmp(knobs[i].name, name) == 0)
            return &knobs[i];
    return NULL;
}

void bench_cairn_opts_list(void)
{
    for (size_t i = 0; i < N_KNOBS; i++)
        printf("  %-24s %s%s\n", knobs[i].name, knobs[i].help,
               knobs[i].apply ? "" : " (not applied yet)");
}

int bench_cairn_opts_apply(const struct bench_config *cfg,
                           struct cairn_options *opt, struct bench_msg *msg)
{
    for (int i = 0; i < cfg->n_cairn_opts; i++) {
        const struct bench_kv *kv = &cfg->cairn_opts[i];
        const struct knob *k = find_knob(kv->name);
        if (k == NULL || k->apply == NULL)
            continue;
        int rc = k->apply(opt, kv->value);
        if (rc != 0) {
            const char *detail = cairn_errmsg();
            return bench_fail(msg, "--cairn-opt %s=%s: %s", kv->name, kv->value,
                              detail[0] ? detail : cairn_strerror(rc));
        }
    }
    return 0;
}

int bench_cairn_opts_check(const struct bench_config *cfg,
                           struct bench_msg *msg)
{
    if (cfg->n_cairn_opts == 0)
        return 0;
    for (int i = 0; i < cfg->n_cairn_opts; i++) {
        const struct bench_kv *kv = &cfg->cairn_opts[i];
        const struct knob *k = find_knob(kv->name);
        if (k == NULL || k->apply == NULL)
            fprintf(stderr,
                    "cairn_bench: warning: --cairn-opt %s=%s: %s; ignored\n",
                    kv->name, kv->value,
                    k == NULL ? "unknown to this build"
                              : "no setter in this build's API yet");
    }
    /* Apply everything once to a scratch set, so a bad value stops the run
     * before any workload instead of at the first open. */
    cairn_options *o = cairn_options_create();
    if (o == NULL)
        return bench_fail(msg, "cairn_options_create: out of memory");
    int rc = bench_cairn_opts_apply(cfg, o, msg);
    cairn_options_destroy(o);
    return rc;
}
