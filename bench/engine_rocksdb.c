/*
 * engine_rocksdb.c: RocksDB (Debian's librocksdb-dev) behind the benchmark's
 * engine table, through its C API <rocksdb/c.h>.
 *
 * Options mirror what the driver sets for the other engines: create_if_missing,
 * the write buffer size when given (RocksDB's own default is 64 MiB, not
 * LevelDB's 4 MiB, so comparisons should pass --write_buffer_size), Snappy or
 * no compression, and a Bloom filter when --bloom_bits is given. Everything
 * else keeps RocksDB's defaults, including its two background jobs.
 *
 * Ownership quirk of the C API: the block-based table options take ownership
 * of the filter policy, and the table factory copies the table options, so
 * the filter is never destroyed here and the table options are destroyed
 * right after they are installed.
 *
 * Built only with CAIRN_BENCH_HAVE_ROCKSDB (bench/CMakeLists.txt defines it
 * when the library and header are found and a test program links).
 */
#include "bench.h"

#ifdef CAIRN_BENCH_HAVE_ROCKSDB

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>

struct rocksdb_bench_db {
    rocksdb_t *db;
    rocksdb_options_t *opt;
    rocksdb_writeoptions_t *wo_async;
    rocksdb_writeoptions_t *wo_sync;
    rocksdb_readoptions_t *ro;
};

static void r_describe(char *buf, size_t cap)
{
    /* The C API has no version call (rocksdb/version.h is C++ only); the
     * comparison script records the package version instead. */
    snprintf(buf, cap, "rocksdb (C API)");
}

/* Moves the library's error string into msg; returns -1. */
static int r_fail(struct bench_msg *msg, const char *what, char *err)
{
    bench_fail(msg, "rocksdb %s: %s", what, err ? err : "failed");
    rocksdb_free(err);
    return -1;
}

static void free_handle(struct rocksdb_bench_db *h)
{
    if (h == NULL)
        return;
    if (h->db != NULL)
        rocksdb_close(h->db);
    if (h->opt != NULL)
        rocksdb_options_destroy(h->opt);
    if (h->wo_async != NULL)
        rocksdb_writeoptions_destroy(h->wo_async);
    if (h->wo_sync != NULL)
        rocksdb_writeoptions_destroy(h->wo_sync);
    if (h->ro != NULL)
        rocksdb_readoptions_destroy(h->ro);
    free(h);
}

static rocksdb_options_t *make_options(const struct bench_config *cfg)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    if (cfg->write_buffer_size > 0)
        rocksdb_options_set_write_buffer_size(o, cfg->write_buffer_size);
    rocksdb_options_set_compression(o, cfg->compression
                                           ? rocksdb_snappy_compression
                                           : rocksdb_no_compression);
    if (cfg->bloom_bits >= 0) {
        rocksdb_block_based_table_options_t *t =
            rocksdb_block_based_options_create();
        rocksdb_block_based_options_set_filter_policy(
            t, rocksdb_filterpolicy_create_bloom(cfg->bloom_bits));
        rocksdb_options_set_block_based_table_factory(o, t);
        rocksdb_block_based_options_destroy(t);
    }
    return o;
}

static int r_open(const struct bench_config *cfg, const char *path, void **dbp,
                  struct bench_msg *msg)
{
    *dbp = NULL;
    struct rocksdb_bench_db *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return bench_fail(msg, "rocksdb open: out of memory");
    h->opt = make_options(cfg);
    char *err = NULL;
    h->db = rocksdb_open(h->opt, path, &err);
    if (err != NULL) {
        h->db = NULL;
        free_handle(h);
        return r_fail(msg, "open", err);
    }
    h->wo_async = rocksdb_writeoptions_create();
    h->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(h->wo_sync, 1);
    h->ro = rocksdb_readoptions_create();
    *dbp = h;
    return 0;
}

static int r_put(void *db, const char *key, size_t keylen, const char *val,
                 size_t vallen, int sync, struct bench_msg *msg)
{
    struct rocksdb_bench_db *h = db;
    char *err = NULL;
    rocksdb_put(h->db, sync ? h->wo_sync : h->wo_async, key, keylen, val,
                vallen, &err);
    return err == NULL ? 0 : r_fail(msg, "put", err);
}

static int r_get(void *db, const char *key, size_t keylen, int *found,
                 size_t *vallen, struct bench_msg *msg)
{
    struct rocksdb_bench_db *h = db;
    char *err = NULL;
    size_t len = 0;
    char *val = rocksdb_get(h->db, h->ro, key, keylen, &len, &err);
    if (err != NULL)
        return r_fail(msg, "get", err);
    /* Not-found is a NULL result without an error, as in LevelDB. */
    *found = val != NULL;
    *vallen = val != NULL ? len : 0;
    rocksdb_free(val);
    return 0;
}

static int r_iterate(void *db, const char *start, size_t startlen, uint64_t max,
                     bench_visit_fn visit, void *ctx, struct bench_msg *msg)
{
    struct rocksdb_bench_db *h = db;
    rocksdb_iterator_t *it = rocksdb_create_iterator(h->db, h->ro);
    uint64_t n = 0;
    for (rocksdb_iter_seek(it, start, startlen);
         n < max && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        (void)rocksdb_iter_key(it, &kl);
        (void)rocksdb_iter_value(it, &vl);
        n++;
        if (visit(ctx, kl, vl) != 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return err == NULL ? 0 : r_fail(msg, "iterator", err);
}

static int r_compact(void *db, struct bench_msg *msg)
{
    (void)msg; /* rocksdb_compact_range cannot report an error */
    struct rocksdb_bench_db *h = db;
    rocksdb_compact_range(h->db, NULL, 0, NULL, 0);
    return 0;
}

static int r_close(void *db, struct bench_msg *msg)
{
    (void)msg; /* rocksdb_close cannot report an error */
    free_handle(db);
    return 0;
}

static int r_destroy(const struct bench_config *cfg, const char *path,
                     struct bench_msg *msg)
{
    rocksdb_options_t *o = make_options(cfg);
    char *err = NULL;
    rocksdb_destroy_db(o, path, &err);
    rocksdb_options_destroy(o);
    return err == NULL ? 0 : r_fail(msg, "destroy", err);
}

const struct bench_engine bench_engine_rocksdb = {
    .name = "rocksdb",
    .describe = r_describe,
    .open = r_open,
    .put = r_put,
    .get = r_get,
    .iterate = r_iterate,
    .compact = r_compact,
    .close = r_close,
    .destroy = r_destroy,
};

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int bench_rocksdb_not_built;
#endif
