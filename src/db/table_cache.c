/*
 * table_cache.c: see table_cache.h.
 *
 * Each cache entry owns the open file and the table over it; the deleter
 * closes both once the entry is evicted and no reader pins it.
 */
#include "db/table_cache.h"

#include "cache/cache.h"
#include "db/filename.h"
#include "util/coding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cairn__table_cache {
    cairn_env *env;
    const char *dbname;
    cairn__table_options topt;
    cairn__cache *cache;
};

typedef struct open_table {
    cairn__file *file;
    cairn__table *table;
} open_table;

static void delete_entry(cairn__slice key, void *value)
{
    (void)key;
    open_table *ot = value;
    cairn__table_close(ot->table);
    (void)cairn__file_close(ot->file);
    free(ot);
}

int cairn__table_cache_create(cairn_env *env, const char *dbname,
                              const cairn__table_options *topt, size_t entries,
                              cairn__table_cache **out)
{
    cairn__table_cache *tc = calloc(1, sizeof *tc);
    if (tc == NULL)
        return cairn__err(CAIRN_NOMEM, "table cache");
    tc->env = env;
    tc->dbname = dbname;
    tc->topt = *topt;
    int rc = cairn__cache_create(entries, &tc->cache);
    if (rc != 0) {
        free(tc);
        return rc;
    }
    *out = tc;
    return 0;
}

void cairn__table_cache_destroy(cairn__table_cache *tc)
{
    if (tc == NULL)
        return;
    cairn__cache_destroy(tc->cache);
    free(tc);
}

static int open_one(cairn__table_cache *tc, const char *path, cairn__file **out)
{
    if (tc->topt.mmap_reads)
        return cairn__env_open_random(tc->env, path, out);
    return tc->env->ops->open_read(tc->env, path, out);
}

static int open_file(cairn__table_cache *tc, uint64_t number, uint64_t size,
                     open_table **out)
{
    cairn__buf path = CAIRN__BUF_INIT;
    cairn__file *file = NULL;
    int rc;
    CAIRN_TRY_GOTO(rc, cairn__filename_table(&path, tc->dbname, number), out);
    rc = open_one(tc, path.data, &file);
    if (rc == CAIRN_NOTFOUND) {
        /* LevelDB before 1.14 named tables .sst; they are still read. */
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        CAIRN_TRY_GOTO(rc, cairn__filename_sst(&path, tc->dbname, number), out);
        rc = open_one(tc, path.data, &file);
        if (rc != 0)
            cairn__errmsg_restore(msg);
    }
    if (rc != 0)
        goto out;
    open_table *ot = calloc(1, sizeof *ot);
    if (ot == NULL) {
        rc = cairn__err(CAIRN_NOMEM, "table cache entry");
        goto out;
    }
    const char *base = strrchr(path.data, '/');
    rc = cairn__table_open(&tc->topt, file, size, base ? base + 1 : path.data,
                           &ot->table);
    if (rc != 0) {
        free(ot);
        goto out;
    }
    ot->file = file;
    file = NULL;
    *out = ot;
out:
    (void)cairn__file_close(file);
    cairn__buf_fini(&path);
    return rc;
}

static int find_table(cairn__table_cache *tc, uint64_t number, uint64_t size,
                      cairn__cache_handle **out)
{
    char kbuf[8];
    cairn__encode_fixed64(kbuf, number);
    cairn__slice key = cairn__slice_make(kbuf, 8);
    cairn__cache_handle *h = cairn__cache_lookup(tc->cache, key);
    if (h != NULL) {
        *out = h;
        return 0;
    }
    open_table *ot;
    CAIRN_TRY(open_file(tc, number, size, &ot));
    int rc = cairn__cache_insert(tc->cache, key, ot, 1, delete_entry, &h);
    if (rc != 0) {
        delete_entry(key, ot);
        return rc;
    }
    *out = h;
    return 0;
}

int cairn__table_cache_get(cairn__table_cache *tc,
                           const cairn__table_read_options *ro, uint64_t number,
                           uint64_t file_size, cairn__slice ikey,
                           cairn__table_get_fn fn, void *arg)
{
    cairn__cache_handle *h;
    CAIRN_TRY(find_table(tc, number, file_size, &h));
    open_table *ot = cairn__cache_value(h);
    int rc = cairn__table_get(ot->table, ro, ikey, fn, arg);
    cairn__cache_release(tc->cache, h);
    return rc;
}

/* An iterator that releases the cache handle pinning its table when it is
 * destroyed. Everything else forwards to the table's iterator. */
typedef struct pinned_iter {
    cairn__iter base;
    cairn__iter *inner;
    cairn__table_cache *tc;
    cairn__cache_handle *h;
} pinned_iter;

#define INNER(it) (((pinned_iter *)(it))->inner)
static int p_valid(cairn__iter *it)
{
    return cairn__iter_valid(INNER(it));
}
static void p_first(cairn__iter *it)
{
    cairn__iter_seek_first(INNER(it));
}
static void p_last(cairn__iter *it)
{
    cairn__iter_seek_last(INNER(it));
}
static void p_seek(cairn__iter *it, cairn__slice t)
{
    cairn__iter_seek(INNER(it), t);
}
static void p_next(cairn__iter *it)
{
    cairn__iter_next(INNER(it));
}
static void p_prev(cairn__iter *it)
{
    cairn__iter_prev(INNER(it));
}
static cairn__slice p_key(cairn__iter *it)
{
    return cairn__iter_key(INNER(it));
}
static cairn__slice p_value(cairn__iter *it)
{
    return cairn__iter_value(INNER(it));
}
static int p_status(cairn__iter *it)
{
    return cairn__iter_status(INNER(it));
}
static void p_destroy(cairn__iter *it)
{
    pinned_iter *p = (pinned_iter *)it;
    cairn__iter_destroy(p->inner);
    cairn__cache_release(p->tc->cache, p->h);
    free(p);
}

static const cairn__iter_ops pinned_ops = {
    p_valid, p_first, p_last,  p_seek,   p_next,
    p_prev,  p_key,   p_value, p_status, p_destroy,
};

int cairn__table_cache_iter(cairn__table_cache *tc,
                            const cairn__table_read_options *ro,
                            uint64_t number, uint64_t file_size,
                            cairn__iter **out)
{
    cairn__cache_handle *h;
    CAIRN_TRY(find_table(tc, number, file_size, &h));
    open_table *ot = cairn__cache_value(h);
    pinned_iter *p = calloc(1, sizeof *p);
    if (p == NULL) {
        cairn__cache_release(tc->cache, h);
        return cairn__err(CAIRN_NOMEM, "table iterator");
    }
    int rc = cairn__table_iter(ot->table, ro, &p->inner);
    if (rc != 0) {
        free(p);
        cairn__cache_release(tc->cache, h);
        return rc;
    }
    p->base.ops = &pinned_ops;
    p->tc = tc;
    p->h = h;
    *out = &p->base;
    return 0;
}

uint64_t cairn__table_cache_approximate_offset(cairn__table_cache *tc,
                                               uint64_t number,
                                               uint64_t file_size,
                                               cairn__slice ikey)
{
    cairn__cache_handle *h;
    if (find_table(tc, number, file_size, &h) != 0)
        return 0;
    open_table *ot = cairn__cache_value(h);
    uint64_t off = cairn__table_approximate_offset_of(ot->table, ikey);
    cairn__cache_release(tc->cache, h);
    return off;
}

void cairn__table_cache_index_sample(cairn__table_cache *tc, uint64_t number,
                                     uint64_t file_size, size_t max,
                                     void (*fn)(void *arg, cairn__slice ikey),
                                     void *arg)
{
    cairn__cache_handle *h;
    if (find_table(tc, number, file_size, &h) != 0)
        return;
    open_table *ot = cairn__cache_value(h);
    cairn__table_index_sample(ot->table, max, fn, arg);
    cairn__cache_release(tc->cache, h);
}

void cairn__table_cache_evict(cairn__table_cache *tc, uint64_t number)
{
    char kbuf[8];
    cairn__encode_fixed64(kbuf, number);
    cairn__cache_erase(tc->cache, cairn__slice_make(kbuf, 8));
}
