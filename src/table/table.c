/*
 * table.c: the table reader of table.h (LevelDB's Table).
 *
 * Open reads the footer (the last 48 bytes), then the index block, which
 * stays in memory for the table's life; with a bloom policy it also reads
 * the metaindex block and the filter it names. Data blocks are read on
 * demand by block_iter_for, through the block cache when there is one:
 * the cache key is fixed64 cache_id | fixed64 block offset, cache_id being
 * unique to this open table, so tables sharing one cache never collide.
 *
 * Iterators are two-level (iter/two_level.h): the index block iterator
 * yields block handles, and block_iter_for opens each data block. A block
 * iterator keeps its block alive through its cleanup: it holds the cache
 * handle, or owns the block when it is not cached.
 *
 * All blocks precede the footer, so every handle is checked against
 * file_size - 48 (format.c) before a byte is read for it.
 */
#include "table/table.h"

#include "iter/two_level.h"
#include "table/block.h"
#include "table/bloom.h"
#include "table/filter_block.h"
#include "util/coding.h"
#include "util/ikey.h"

#include <stdlib.h>
#include <string.h>

#define FILTER_KEY "filter." CAIRN__BLOOM_NAME

struct cairn__table {
    cairn__table_options opt; /* Immutable after open, as is all below */
    cairn__file *file;
    uint64_t limit; /* file size minus the footer: where blocks end */
    char *name;
    uint64_t cache_id;
    cairn__block_handle metaindex_handle;
    cairn__block_handle index_handle;
    cairn__block *index_block;
    cairn__filter_policy policy;
    int has_filter;
    char *filter_data;
    cairn__filter_reader filter;
};

/* Keys read from blocks are checked to be >= 8 bytes (block.h); a seek
 * target that is not an internal key is a caller's bug, which is compared
 * bytewise rather than allowed to read outside its bytes. */
static int internal_cmp(cairn__slice a, cairn__slice b)
{
    if (a.size < 8 || b.size < 8)
        return cairn__slice_compare(a, b);
    return cairn__ikey_compare(a, b);
}

static int read_block_ra(cairn__table *t, const cairn__block_handle *h,
                         int verify, cairn__readahead *ra, cairn__block **out)
{
    char *data;
    size_t size;
    CAIRN_TRY(cairn__block_read_ahead(t->file, t->limit, t->name, h, verify, ra,
                                      &data, &size));
    return cairn__block_create(data, size, h->offset, t->name, out);
}

static int read_block(cairn__table *t, const cairn__block_handle *h, int verify,
                      cairn__block **out)
{
    return read_block_ra(t, h, verify, NULL, out);
}

/* Finds and reads the filter. Only CAIRN_NOMEM is reported: like LevelDB,
 * a table whose metaindex or filter is damaged is read without a filter. */
static int read_filter(cairn__table *t)
{
    cairn__block *meta = NULL;
    cairn__iter *it = NULL;
    cairn__cleanup none = {NULL, NULL, NULL};
    cairn__slice key = cairn__slice_str(FILTER_KEY);
    cairn__block_handle h;
    size_t size;
    int rc = read_block(t, &t->metaindex_handle, t->opt.paranoid_checks, &meta);
    if (rc != 0)
        goto out;
    rc = cairn__block_iter_create(meta, cairn__slice_compare, 0, t->name, none,
                                  &it);
    if (rc != 0)
        goto out;
    cairn__iter_seek(it, key);
    if (!cairn__iter_valid(it) || !cairn__slice_equal(cairn__iter_key(it), key))
        goto out;
    cairn__slice v = cairn__iter_value(it);
    if (!cairn__block_handle_decode(&v, &h))
        goto out;
    rc = cairn__block_read(t->file, t->limit, t->name, &h,
                           t->opt.paranoid_checks, &t->filter_data, &size);
    if (rc != 0)
        goto out;
    cairn__filter_policy_bloom(&t->policy, t->opt.bloom_bits_per_key);
    cairn__filter_reader_init(&t->filter, &t->policy,
                              cairn__slice_make(t->filter_data, size));
    t->has_filter = 1;
out:
    cairn__iter_destroy(it);
    cairn__block_destroy(meta);
    return rc == CAIRN_NOMEM ? rc : 0;
}

int cairn__table_open(const cairn__table_options *opt, cairn__file *file,
                      uint64_t file_size, const char *name, cairn__table **out)
{
    *out = NULL;
    char footer_buf[CAIRN__FOOTER_SIZE];
    cairn__footer footer;
    if (file_size < CAIRN__FOOTER_SIZE)
        return CAIRN_CORRUPT("%s: file is too short to be an sstable", name);
    size_t got = 0;
    CAIRN_TRY(cairn__file_pread(file, file_size - CAIRN__FOOTER_SIZE,
                                CAIRN__FOOTER_SIZE, footer_buf, &got));
    if (got != CAIRN__FOOTER_SIZE)
        return CAIRN_CORRUPT("%s: truncated footer read (%zu of 48 bytes)",
                             name, got);
    CAIRN_TRY(cairn__footer_decode(footer_buf, file_size, name, &footer));

    cairn__table *t = calloc(1, sizeof *t);
    int rc;
    if (t == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot allocate table");
    t->opt = *opt;
    t->file = file;
    t->limit = file_size - CAIRN__FOOTER_SIZE;
    t->metaindex_handle = footer.metaindex;
    t->index_handle = footer.index;
    t->name = strdup(name);
    if (t->name == NULL) {
        rc = cairn__err(CAIRN_NOMEM, "cannot allocate table name");
        goto err;
    }
    CAIRN_TRY_GOTO(
        rc, read_block(t, &footer.index, opt->paranoid_checks, &t->index_block),
        err);
    if (opt->block_cache != NULL)
        t->cache_id = cairn__cache_new_id(opt->block_cache);
    if (opt->bloom_bits_per_key > 0)
        CAIRN_TRY_GOTO(rc, read_filter(t), err);
    *out = t;
    return 0;
err:
    cairn__table_close(t);
    return rc;
}

void cairn__table_close(cairn__table *t)
{
    if (t == NULL)
        return;
    cairn__block_destroy(t->index_block);
    free(t->filter_data);
    free(t->name);
    free(t);
}

int cairn__table_has_filter(const cairn__table *t)
{
    return t->has_filter;
}

static int index_iter(cairn__table *t, cairn__iter **out)
{
    cairn__cleanup none = {NULL, NULL, NULL};
    return cairn__block_iter_create(t->index_block, internal_cmp, 8, t->name,
                                    none, out);
}

static void release_cached(void *cache, void *handle)
{
    cairn__cache_release(cache, handle);
}

static void destroy_block(void *block, void *unused)
{
    (void)unused;
    cairn__block_destroy(block);
}

static void cache_deleter(cairn__slice key, void *value)
{
    (void)key;
    cairn__block_destroy(value);
}

/* An iterator over the data block that index value v (a handle) names. */
static int block_iter_for(cairn__table *t, const cairn__table_read_options *ro,
                          cairn__readahead *ra, cairn__slice v,
                          cairn__iter **out)
{
    *out = NULL;
    cairn__block_handle h;
    cairn__slice in = v;
    if (!cairn__block_handle_decode(&in, &h))
        return CAIRN_CORRUPT("%s: bad block handle in index block at "
                             "offset %llu",
                             t->name,
                             (unsigned long long)t->index_handle.offset);
    cairn__cache *cache = t->opt.block_cache;
    cairn__block *block = NULL;
    cairn__cleanup cleanup = {NULL, NULL, NULL};
    if (cache != NULL) {
        char key[16];
        cairn__encode_fixed64(key, t->cache_id);
        cairn__encode_fixed64(key + 8, h.offset);
        cairn__slice k = cairn__slice_make(key, sizeof key);
        cairn__cache_handle *ch = cairn__cache_lookup(cache, k);
        if (ch == NULL) {
            CAIRN_TRY(read_block_ra(t, &h, ro->verify_checksums, ra, &block));
            /* A failed insert only costs caching: keep the block private. */
            if (ro->fill_cache &&
                cairn__cache_insert(cache, k, block, cairn__block_size(block),
                                    cache_deleter, &ch) != 0)
                ch = NULL;
        } else {
            block = cairn__cache_value(ch);
        }
        if (ch != NULL) {
            cleanup.fn = release_cached;
            cleanup.a = cache;
            cleanup.b = ch;
        }
    } else {
        CAIRN_TRY(read_block_ra(t, &h, ro->verify_checksums, ra, &block));
    }
    if (cleanup.fn == NULL) {
        cleanup.fn = destroy_block;
        cleanup.a = block;
    }
    return cairn__block_iter_create(block, internal_cmp, 8, t->name, cleanup,
                                    out);
}

typedef struct table_iter_arg {
    cairn__table *t;
    cairn__table_read_options ro;
    cairn__readahead ra; /* used when ro.readahead > 0 */
} table_iter_arg;

static int two_level_block(void *arg, cairn__slice v, cairn__iter **out)
{
    table_iter_arg *a = arg;
    return block_iter_for(a->t, &a->ro, a->ro.readahead > 0 ? &a->ra : NULL, v,
                          out);
}

static void free_iter_arg(void *arg)
{
    table_iter_arg *a = arg;
    cairn__readahead_fini(&a->ra);
    free(a);
}

int cairn__table_iter(cairn__table *t, const cairn__table_read_options *ro,
                      cairn__iter **out)
{
    *out = NULL;
    table_iter_arg *a = malloc(sizeof *a);
    if (a == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot allocate table iterator");
    a->t = t;
    a->ro = *ro;
    a->ra.buf = NULL;
    a->ra.cap = ro->readahead;
    a->ra.off = 0;
    a->ra.len = 0;
    cairn__iter *idx;
    int rc = index_iter(t, &idx);
    if (rc != 0) {
        free(a);
        return rc;
    }
    return cairn__iter_two_level(idx, two_level_block, a, free_iter_arg, out);
}

int cairn__table_get(cairn__table *t, const cairn__table_read_options *ro,
                     cairn__slice ikey, cairn__table_get_fn fn, void *arg)
{
    if (ikey.size < 8)
        return cairn__err(CAIRN_INVALID,
                          "lookup key of %zu bytes is not an "
                          "internal key",
                          ikey.size);
    cairn__iter *idx;
    CAIRN_TRY(index_iter(t, &idx));
    int rc = 0;
    cairn__iter_seek(idx, ikey);
    if (cairn__iter_valid(idx)) {
        cairn__slice v = cairn__iter_value(idx);
        cairn__block_handle h;
        cairn__slice in = v;
        if (t->has_filter && cairn__block_handle_decode(&in, &h) &&
            !cairn__filter_reader_may_match(&t->filter, h.offset,
                                            cairn__ikey_user(ikey)))
            goto out; /* the filter rules the key out */
        cairn__iter *bi;
        CAIRN_TRY_GOTO(rc, block_iter_for(t, ro, NULL, v, &bi), out);
        cairn__iter_seek(bi, ikey);
        if (cairn__iter_valid(bi))
            rc = fn(arg, cairn__iter_key(bi), cairn__iter_value(bi));
        if (rc == 0)
            rc = cairn__iter_status(bi);
        cairn__iter_destroy(bi);
    }
out:
    if (rc == 0)
        rc = cairn__iter_status(idx);
    cairn__iter_destroy(idx);
    return rc;
}

void cairn__table_index_sample(cairn__table *t, size_t max,
                               void (*fn)(void *arg, cairn__slice ikey),
                               void *arg)
{
    cairn__iter *idx;
    if (max == 0 || index_iter(t, &idx) != 0)
        return;
    size_t n = 0;
    for (cairn__iter_seek_first(idx); cairn__iter_valid(idx);
         cairn__iter_next(idx))
        n++;
    /* Every step-th entry, the first at step - 1 (so no key is the very
     * first separator and the picks spread to the end). */
    size_t step = n > max ? (n + max - 1) / max : 1;
    size_t i = 0;
    for (cairn__iter_seek_first(idx); cairn__iter_valid(idx);
         cairn__iter_next(idx), i++)
        if (i % step == step - 1)
            fn(arg, cairn__iter_key(idx));
    cairn__iter_destroy(idx);
}

uint64_t cairn__table_approximate_offset_of(cairn__table *t, cairn__slice ikey)
{
    uint64_t result = t->metaindex_handle.offset;
    cairn__iter *idx;
    if (ikey.size < 8 || index_iter(t, &idx) != 0)
        return result;
    cairn__iter_seek(idx, ikey);
    if (cairn__iter_valid(idx)) {
        cairn__slice v = cairn__iter_value(idx);
        cairn__block_handle h;
        if (cairn__block_handle_decode(&v, &h))
            result = h.offset;
    }
    cairn__iter_destroy(idx);
    return result;
}
