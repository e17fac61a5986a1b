/*
 * engine_cairn.c: cairn behind the benchmark's engine table, through the
 * public API (include/cairn.h) only, exactly as an embedding program would
 * use it.
 *
 * Options: create_if_missing, the write buffer size when given, Snappy or
 * no compression, the Bloom filter when --bloom_bits is given, then every
 * --cairn-opt knob (cairn_opts.c) in command-line order; everything else
 * keeps cairn's defaults, which are LevelDB 1.23's.
 */
#include "bench.h"

#include <cairn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cairn_bench_db {
    cairn_db *db;
    cairn_writeoptions *wo_async;
    cairn_writeoptions *wo_sync;
};

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
    return bench_cairn_opts_apply(cfg, o, msg);
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

static int c_iterate(void *db, const char *start, size_t startlen, uint64_t max,
                     bench_visit_fn visit, void *ctx, struct bench_msg *msg)
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

static int c_compact(void *db, struct bench_msg *msg)
{
    struct cairn_bench_db *h = db;
    int rc = cairn_db_compact_range(h->db, NULL, 0, NULL, 0);
    return rc == 0 ? 0 : c_fail(msg, "compact_range", rc);
}

static int c_close(void *db, struct bench_msg *msg)
{
    struct cairn_bench_db *h = db;
    if (h == NULL)
        return 0;
    const char *show = getenv("CAIRN_BENCH_STATS");
    if (show != NULL && *show != '\0' && strcmp(show, "0") != 0) {
        /* For studying the write path: the engine's own counters
         * (compactions per level, then the write statistics). */
        char *p = cairn_db_property(h->db, "cairn.stats");
        if (p != NULL)
            fprintf(stderr, "%s\n", p);
        cairn_free(p);
    }
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
    .compact = c_compact,
    .close = c_close,
    .destroy = c_destroy,
};
