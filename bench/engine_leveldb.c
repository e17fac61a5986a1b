/*
 * engine_leveldb.c: LevelDB 1.23 (Debian's libleveldb-dev) behind the
 * benchmark's engine table, through its C API <leveldb/c.h>.
 *
 * Options mirror what the driver sets for cairn: create_if_missing, the
 * write buffer size when given, Snappy or no compression, and the built-in
 * Bloom filter when --bloom_bits is given; everything else keeps LevelDB's
 * defaults (the same defaults cairn copies). The C API reports errors as a
 * malloc'd string through an errptr; every call here passes its own and
 * frees it after copying it into the message.
 *
 * Built only with CAIRN_BENCH_HAVE_LEVELDB (bench/CMakeLists.txt defines it
 * when the library and header are found).
 */
#include "bench.h"

#ifdef CAIRN_BENCH_HAVE_LEVELDB

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>

struct leveldb_bench_db {
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_filterpolicy_t *filter; /* must outlive db */
    leveldb_writeoptions_t *wo_async;
    leveldb_writeoptions_t *wo_sync;
    leveldb_readoptions_t *ro;
};

static void l_describe(char *buf, size_t cap)
{
    snprintf(buf, cap, "leveldb %d.%d", leveldb_major_version(),
             leveldb_minor_version());
}

/* Moves the library's error string into msg; returns -1. */
static int l_fail(struct bench_msg *msg, const char *what, char *err)
{
    bench_fail(msg, "leveldb %s: %s", what, err ? err : "failed");
    leveldb_free(err);
    return -1;
}

static void free_handle(struct leveldb_bench_db *h)
{
    if (h == NULL)
        return;
    if (h->db != NULL)
        leveldb_close(h->db);
    if (h->opt != NULL)
        leveldb_options_destroy(h->opt);
    if (h->filter != NULL)
        leveldb_filterpolicy_destroy(h->filter);
    if (h->wo_async != NULL)
        leveldb_writeoptions_destroy(h->wo_async);
    if (h->wo_sync != NULL)
        leveldb_writeoptions_destroy(h->wo_sync);
    if (h->ro != NULL)
        leveldb_readoptions_destroy(h->ro);
    free(h);
}

static leveldb_options_t *make_options(const struct bench_config *cfg,
                                       leveldb_filterpolicy_t **filter)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    if (cfg->write_buffer_size > 0)
        leveldb_options_set_write_buffer_size(o, cfg->write_buffer_size);
    leveldb_options_set_compression(o, cfg->compression
                                           ? leveldb_snappy_compression
                                           : leveldb_no_compression);
    *filter = NULL;
    if (cfg->bloom_bits >= 0) {
        *filter = leveldb_filterpolicy_create_bloom(cfg->bloom_bits);
        leveldb_options_set_filter_policy(o, *filter);
    }
    return o;
}

static int l_open(const struct bench_config *cfg, const char *path, void **dbp,
                  struct bench_msg *msg)
{
    *dbp = NULL;
    struct leveldb_bench_db *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return bench_fail(msg, "leveldb open: out of memory");
    h->opt = make_options(cfg, &h->filter);
    char *err = NULL;
    h->db = leveldb_open(h->opt, path, &err);
    if (err != NULL) {
        h->db = NULL;
        free_handle(h);
        return l_fail(msg, "open", err);
    }
    h->wo_async = leveldb_writeoptions_create();
    h->wo_sync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(h->wo_sync, 1);
    h->ro = leveldb_readoptions_create();
    *dbp = h;
    return 0;
}

static int l_put(void *db, const char *key, size_t keylen, const char *val,
                 size_t vallen, int sync, struct bench_msg *msg)
{
    struct leveldb_bench_db *h = db;
    char *err = NULL;
    leveldb_put(h->db, sync ? h->wo_sync : h->wo_async, key, keylen, val,
                vallen, &err);
    return err == NULL ? 0 : l_fail(msg, "put", err);
}

static int l_get(void *db, const char *key, size_t keylen, int *found,
                 size_t *vallen, struct bench_msg *msg)
{
    struct leveldb_bench_db *h = db;
    char *err = NULL;
    size_t len = 0;
    char *val = leveldb_get(h->db, h->ro, key, keylen, &len, &err);
    if (err != NULL)
        return l_fail(msg, "get", err);
    /* Not-found is a NULL result without an error. */
    *found = val != NULL;
    *vallen = val != NULL ? len : 0;
    leveldb_free(val);
    return 0;
}

static int l_iterate(void *db, const char *start, size_t startlen, uint64_t max,
                     bench_visit_fn visit, void *ctx, struct bench_msg *msg)
{
    struct leveldb_bench_db *h = db;
    leveldb_iterator_t *it = leveldb_create_iterator(h->db, h->ro);
    uint64_t n = 0;
    for (leveldb_iter_seek(it, start, startlen);
         n < max && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        (void)leveldb_iter_key(it, &kl);
        (void)leveldb_iter_value(it, &vl);
        n++;
        if (visit(ctx, kl, vl) != 0)
            break;
    }
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    return err == NULL ? 0 : l_fail(msg, "iterator", err);
}

static int l_compact(void *db, struct bench_msg *msg)
{
    (void)msg; /* leveldb_compact_range cannot report an error */
    struct leveldb_bench_db *h = db;
    leveldb_compact_range(h->db, NULL, 0, NULL, 0);
    return 0;
}

static int l_close(void *db, struct bench_msg *msg)
{
    (void)msg; /* leveldb_close cannot report an error */
    free_handle(db);
    return 0;
}

static int l_destroy(const struct bench_config *cfg, const char *path,
                     struct bench_msg *msg)
{
    leveldb_filterpolicy_t *filter;
    leveldb_options_t *o = make_options(cfg, &filter);
    char *err = NULL;
    leveldb_destroy_db(o, path, &err);
    leveldb_options_destroy(o);
    if (filter != NULL)
        leveldb_filterpolicy_destroy(filter);
    return err == NULL ? 0 : l_fail(msg, "destroy", err);
}

const struct bench_engine bench_engine_leveldb = {
    .name = "leveldb",
    .describe = l_describe,
    .open = l_open,
    .put = l_put,
    .get = l_get,
    .iterate = l_iterate,
    .compact = l_compact,
    .close = l_close,
    .destroy = l_destroy,
};

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int bench_leveldb_not_built;
#endif
