/*
 * engine_cairn.c: cairn behind the benchmark's engine table, through the
 * public API (include/cairn.h) only, exactly as an embedding program would
 * use it.
 *
 * --cairn-opt=name=value knobs go through the table `setters` below, which
 * maps a name to a call of one cairn_options_set_* function. The write-path
 * knobs the API is about to grow (commit policy, commit wait, wait
 * strategy) are listed already with no setter: they are accepted and
 * reported as ignored until their setter exists, so scripts can name them
 * today. Adding one is a single line here.
 */
#include "bench.h"

#include <cairn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cairn_bench_db {
    cairn_db *db;
    cairn_writeoptions *wo_async;
    cairn_writeoptions *wo_sync;
};

/* Parses a non-negative decimal with an optional k/m/g (binary) suffix. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || s[0] == '-')
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
    if (*end != '\0' || v > (SIZE_MAX >> shift))
        return -1;
    *out = (size_t)v << shift;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    size_t v;
    if (parse_size(s, &v) != 0 || v > 0x7fffffff)
        return -1;
    *out = (int)v;
    return 0;
}

/* Each wrapper returns the setter's code, or CAIRN_INVALID for a value
 * that does not parse. */
#define SIZE_SETTER(fn, setter)                                                \
    static int fn(cairn_options *o, const char *v)                             \
    {                                                                          \
        size_t n;                                                              \
        return parse_size(v, &n) != 0 ? CAIRN_INVALID : setter(o, n);          \
    }
#define INT_SETTER(fn, setter)                                                 \
    static int fn(cairn_options *o, const char *v)                             \
    {                                                                          \
        int n;                                                                 \
        return parse_int(v, &n) != 0 ? CAIRN_INVALID : setter(o, n);           \
    }
SIZE_SETTER(set_block_size, cairn_options_set_block_size)
SIZE_SETTER(set_max_file_size, cairn_options_set_max_file_size)
INT_SETTER(set_restart_interval, cairn_options_set_block_restart_interval)
INT_SETTER(set_max_open_files, cairn_options_set_max_open_files)
INT_SETTER(set_paranoid_checks, cairn_options_set_paranoid_checks)
INT_SETTER(set_info_log, cairn_options_set_info_log)

struct opt_setter {
    const char *name;
    const char *help;
    /* Applies the value: 0 or a CAIRN_* code. NULL for a knob the library
     * does not offer yet. */
    int (*apply)(cairn_options *opt, const char *value);
};

static const struct opt_setter setters[] = {
    {"block_size", "bytes per data block (1k..4m)", set_block_size},
    {"block_restart_interval", "keys between restart points",
     set_restart_interval},
    {"max_file_size", "target table size (1m..1g)", set_max_file_size},
    {"max_open_files", "table files kept open (74..50000)", set_max_open_files},
    {"paranoid_checks", "0 or 1", set_paranoid_checks},
    {"info_log", "1 writes <db>/LOG, 0 disables it", set_info_log},
    /* Write-path knobs planned for the API; no setter yet. */
    {"commit_policy", "planned: how writers share a log sync", NULL},
    {"commit_wait_us", "planned: how long a leader waits for followers", NULL},
    {"wait_strategy", "planned: how followers wait (spin, yield, block)",
     NULL},
};
#define N_SETTERS (sizeof(setters) / sizeof(setters[0]))

static const struct opt_setter *find_setter(const char *name)
{
    for (size_t i = 0; i < N_SETTERS; i++)
        if (strcmp(setters[i].name, name) == 0)
            return &setters[i];
    return NULL;
}

void bench_cairn_opts_list(void)
{
    for (size_t i = 0; i < N_SETTERS; i++)
        printf("  %-24s %s%s\n", setters[i].name, setters[i].help,
               setters[i].apply ? "" : " (not applied yet)");
}

int bench_cairn_opts_check(const struct bench_config *cfg,
                           struct bench_msg *msg)
{
    if (cfg->n_cairn_opts == 0)
        return 0;
    cairn_options *o = cairn_options_create();
    if (o == NULL)
        return bench_fail(msg, "cairn_options_create: out of memory");
    int rc = 0;
    for (int i = 0; i < cfg->n_cairn_opts && rc == 0; i++) {
        const struct bench_kv *kv = &cfg->cairn_opts[i];
        const struct opt_setter *s = find_setter(kv->name);
        if (s == NULL || s->apply == NULL) {
            fprintf(stderr,
                    "cairn_bench: warning: --cairn-opt %s=%s: %s; ignored\n",
                    kv->name, kv->value,
                    s == NULL ? "unknown to this build"
                              : "no setter in this build's API yet");
            continue;
        }
        int e = s->apply(o, kv->value);
        if (e != 0)
            rc = bench_fail(msg, "--cairn-opt %s=%s: %s", kv->name, kv->value,
                            cairn_strerror(e));
    }
    cairn_options_destroy(o);
    return rc;
}

static void c_describe(char *buf, size_t cap)
{
    snprintf(buf, cap, "cairn %d.%d", cairn_version_major(),
             cairn_version_minor());
}

static int c_fail(struct bench_msg *msg, const char *what, int rc)
{
    const char *detail = cairn_errmsg();
    return bench_fail(msg, "cairn %s: %s", what,
                      detail[0] ? detail : cairn_strerror(rc));
}

static int build_options(const struct bench_config *cfg, cairn_options *o,
                         struct bench_msg *msg)
{
    int rc = cairn_options_set_create_if_missing(o, 1);
    if (rc == 0 && cfg->write_buffer_size > 0)
        rc = cairn_options_set_write_buffer_size(o, cfg->write_buffer_size);
    if (rc == 0)
        rc = cairn_options_set_compression(o, cfg->compression
                                                  ? CAIRN_COMPRESSION_SNAPPY
                                                  : CAIRN_COMPRESSION_NONE);
    if (rc == 0 && cfg->bloom_bits >= 0)
        rc = cairn_options_set_bloom_bits_per_key(o, cfg->bloom_bits);
    if (rc != 0)
        return c_fail(msg, "options", rc);
    /* bench_cairn_opts_check has vetted these and warned about the rest. */
    for (int i = 0; i < cfg->n_cairn_opts; i++) {
        const struct opt_setter *s = find_setter(cfg->cairn_opts[i].name);
        if (s != NULL && s->apply != NULL &&
            (rc = s->apply(o, cfg->cairn_opts[i].value)) != 0)
            return c_fail(msg, cfg->cairn_opts[i].name, rc);
    }
    return 0;
}

static int c_open(const struct bench_config *cfg, const char *path, void **dbp,
                  struct bench_msg *msg)
{
    *dbp = NULL;
    struct cairn_bench_db *h = calloc(1, sizeof(*h));
    cairn_options *o = cairn_options_create();
    int rc = -1;
    if (h == NULL || o == NULL) {
        bench_fail(msg, "cairn open: out of memory");
        goto err;
    }
    if (build_options(cfg, o, msg) != 0)
        goto err;
    int e = cairn_db_open(o, path, &h->db);
    if (e != 0) {
        c_fail(msg, "open", e);
        goto err;
    }
    h->wo_async = cairn_writeoptions_create();
    h->wo_sync = cairn_writeoptions_create();
    if (h->wo_async == NULL || h->wo_sync == NULL ||
        cairn_writeoptions_set_sync(h->wo_sync, 1) != 0) {
        bench_fail(msg, "cairn open: out of memory");
        goto err;
    }
    cairn_options_destroy(o);
    *dbp = h;
    return 0;
err:
    if (h != NULL) {
        (void)cairn_db_close(h->db);
        cairn_writeoptions_destroy(h->wo_async);
        cairn_writeoptions_destroy(h->wo_sync);
        free(h);
    }
    cairn_options_destroy(o);
    return rc;
}

static int c_put(void *db, const char *key, size_t keylen, const char *val,
                 size_t vallen, int sync, struct bench_msg *msg)
{
    struct cairn_bench_db *h = db;
    int rc = cairn_db_put(h->db, sync ? h->wo_sync : h->wo_async, key, keylen,
                          val, vallen);
    return rc == 0 ? 0 : c_fail(msg, "put", rc);
}

static int c_get(void *db, const char *key, size_t keylen, int *found,
                 size_t *vallen, struct bench_msg *msg)
{
    struct cairn_bench_db *h = db;
    void *val = NULL;
    int rc = cairn_db_get(h->db, NULL, key, keylen, &val, vallen);
    *found = rc == 0;
    cairn_free(val);
    if (rc == CAIRN_NOTFOUND) {
        *vallen = 0;
        return 0;
    }
    return rc == 0 ? 0 : c_fail(msg, "get", rc);
}

static int c_iterate(void *db, const char *start, size_t startlen,
                     uint64_t max, bench_visit_fn visit, void *ctx,
                     struct bench_msg *msg)
{
    struct cairn_bench_db *h = db;
    cairn_iter *it = cairn_db_iter_create(h->db, NULL);
    if (it == NULL)
        return c_fail(msg, "iterator", CAIRN_NOMEM);
    uint64_t n = 0;
    for (cairn_iter_seek(it, start, startlen); n < max && cairn_iter_valid(it);
         cairn_iter_next(it)) {
        size_t kl, vl;
        (void)cairn_iter_key(it, &kl);
        (void)cairn_iter_value(it, &vl);
        n++;
        if (visit(ctx, kl, vl) != 0)
            break;
    }
    int rc = cairn_iter_status(it);
    if (rc != 0)
        c_fail(msg, "iterator", rc);
    cairn_iter_destroy(it);
    return rc == 0 ? 0 : -1;
}

static int c_close(void *db, struct bench_msg *msg)
{
    struct cairn_bench_db *h = db;
    if (h == NULL)
        return 0;
    int rc = cairn_db_close(h->db);
    if (rc != 0)
        c_fail(msg, "close", rc);
    cairn_writeoptions_destroy(h->wo_async);
    cairn_writeoptions_destroy(h->wo_sync);
    free(h);
    return rc == 0 ? 0 : -1;
}

static int c_destroy(const struct bench_config *cfg, const char *path,
                     struct bench_msg *msg)
{
    (void)cfg;
    int rc = cairn_db_destroy(NULL, path);
    return rc == 0 ? 0 : c_fail(msg, "destroy", rc);
}

const struct bench_engine bench_engine_cairn = {
    .name = "cairn",
    .describe = c_describe,
    .open = c_open,
    .put = c_put,
    .get = c_get,
    .iterate = c_iterate,
    .close = c_close,
    .destroy = c_destroy,
};
