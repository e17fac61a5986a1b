/*
 * table_builder.c: writes LevelDB 1.23 tables (facts 6), byte for byte what
 * LevelDB's TableBuilder writes for the same entries and options:
 *
 *   [data block][trailer] ...            cut when the estimate >= block_size
 *   [filter block][trailer]              only with a bloom policy; type 0
 *   [metaindex block][trailer]           "filter.leveldb.BuiltinBloomFilter2"
 *                                        -> filter handle, or empty
 *   [index block][trailer]               one entry per data block,
 *                                        restart interval 1
 *   [footer]                             48 bytes (format.h)
 *
 * Every block but the filter is Snappy-compressed when that option is set
 * and compression saves at least 1/8; otherwise it is stored raw. The
 * index entry of a block is written only when the first key of the next
 * block is known, so its key can be a short separator between the two
 * (or a short successor after the last block); the value is the block's
 * encoded handle. The filter builder is told where each data block starts
 * so that it can keep one filter per 2 KiB of file.
 */
#include "table/table_builder.h"

#include "table/block_builder.h"
#include "table/filter_block.h"
#include "util/coding.h"
#include "util/ikey.h"

#include <assert.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cairn__table_builder {
    cairn__table_options opt;
    cairn__filter_policy policy;
    cairn__file *file;
    uint64_t offset; /* bytes appended to file so far */
    int status;      /* first error; sticky */
    int closed;      /* finish or abandon was called */
    uint64_t num_entries;
    cairn__block_builder data_block;
    cairn__block_builder index_block;
    cairn__buf last_key;
    int has_filter;
    cairn__filter_builder filter;
    /* Set after a data block is written, until the first key of the next
     * block (or finish) supplies the bound for its index key. */
    int pending_index_entry;
    cairn__block_handle pending_handle;
    cairn__buf compressed;
};

/* Bumps the byte at i of the user key in key (an internal key) and ends
 * the key there, followed by the largest tag for seeking. */
static void truncate_after(cairn__buf *key, size_t i)
{
    key->data[i] = (char)((unsigned char)key->data[i] + 1);
    cairn__encode_fixed64(
        key->data + i + 1,
        cairn__ikey_tag(CAIRN__MAX_SEQ, CAIRN__TYPE_FOR_SEEK));
    key->len = i + 1 + 8;
}

void cairn__table_shortest_separator(cairn__buf *start, cairn__slice limit)
{
    const unsigned char *us = (const unsigned char *)start->data;
    const unsigned char *ul = (const unsigned char *)limit.data;
    size_t n = start->len - 8, m = limit.size - 8;
    size_t min = n < m ? n : m, i = 0;
    while (i < min && us[i] == ul[i])
        i++;
    /* A key that is a prefix of the other cannot be shortened; otherwise
     * bump the first differing byte if it stays below the limit's. The
     * result is kept only if strictly shorter (it is always greater). */
    if (i < min && us[i] < 0xff && us[i] + 1 < ul[i] && i + 1 < n)
        truncate_after(start, i);
}

void cairn__table_short_successor(cairn__buf *key)
{
    const unsigned char *u = (const unsigned char *)key->data;
    size_t n = key->len - 8;
    for (size_t i = 0; i < n; i++) {
        if (u[i] != 0xff) {
            if (i + 1 < n)
                truncate_after(key, i);
            return;
        }
    }
    /* All 0xff: there is no shorter successor. */
}

int cairn__table_builder_create(const cairn__table_options *opt,
                                cairn__file *file, cairn__table_builder **out)
{
    *out = NULL;
    if (opt->block_size == 0 || opt->restart_interval < 1 ||
        (opt->compression != CAIRN__NO_COMPRESSION &&
         opt->compression != CAIRN__SNAPPY_COMPRESSION) ||
        opt->bloom_bits_per_key < 0)
        return cairn__err(CAIRN_INVALID, "bad table options");
    cairn__table_builder *tb = calloc(1, sizeof *tb);
    if (tb == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot allocate table builder");
    int rc;
    tb->opt = *opt;
    tb->file = file;
    cairn__buf_init(&tb->last_key);
    cairn__buf_init(&tb->compressed);
    CAIRN_TRY_GOTO(
        rc, cairn__block_builder_init(&tb->data_block, opt->restart_interval),
        err);
    CAIRN_TRY_GOTO(rc, cairn__block_builder_init(&tb->index_block, 1), err);
    if (opt->bloom_bits_per_key > 0) {
        tb->has_filter = 1;
        cairn__filter_policy_bloom(&tb->policy, opt->bloom_bits_per_key);
        cairn__filter_builder_init(&tb->filter, &tb->policy);
        CAIRN_TRY_GOTO(rc, cairn__filter_builder_start_block(&tb->filter, 0),
                       err);
    }
    *out = tb;
    return 0;
err:
    tb->closed = 1;
    cairn__table_builder_destroy(tb);
    return rc;
}

/* Appends contents and its trailer, and points *h at them. */
static int write_raw_block(cairn__table_builder *tb, cairn__slice contents,
                           char type, cairn__block_handle *h)
{
    h->offset = tb->offset;
    h->size = contents.size;
    char trailer[CAIRN__BLOCK_TRAILER_SIZE];
    trailer[0] = type;
    cairn__encode_fixed32(trailer + 1,
                          cairn__block_crc(contents.data, contents.size, type));
    CAIRN_TRY(cairn__file_append(tb->file, contents.data, contents.size));
    CAIRN_TRY(cairn__file_append(tb->file, trailer, sizeof trailer));
    tb->offset += contents.size + CAIRN__BLOCK_TRAILER_SIZE;
    return 0;
}

/* Finishes bb, compresses it if that pays, writes it and resets bb. */
static int write_block(cairn__table_builder *tb, cairn__block_builder *bb,
                       cairn__block_handle *h)
{
    cairn__slice raw, contents;
    CAIRN_TRY(cairn__block_builder_finish(bb, &raw));
    contents = raw;
    char type = CAIRN__NO_COMPRESSION;
    if (tb->opt.compression == CAIRN__SNAPPY_COMPRESSION) {
        size_t max = snappy_max_compressed_length(raw.size);
        CAIRN_TRY(cairn__buf_resize(&tb->compressed, max));
        size_t clen = max;
        if (snappy_compress(raw.data, raw.size, tb->compressed.data, &clen) ==
                SNAPPY_OK &&
            clen < raw.size - raw.size / 8) {
            contents = cairn__slice_make(tb->compressed.data, clen);
            type = CAIRN__SNAPPY_COMPRESSION;
        }
    }
    CAIRN_TRY(write_raw_block(tb, contents, type, h));
    cairn__block_builder_reset(bb);
    return 0;
}

static int flush_data_block(cairn__table_builder *tb)
{
    if (cairn__block_builder_empty(&tb->data_block))
        return 0;
    assert(!tb->pending_index_entry);
    CAIRN_TRY(write_block(tb, &tb->data_block, &tb->pending_handle));
    tb->pending_index_entry = 1;
    if (tb->has_filter)
        CAIRN_TRY(cairn__filter_builder_start_block(&tb->filter, tb->offset));
    return 0;
}

/* Writes the pending index entry for the block before, with last_key
 * already shortened. */
static int add_index_entry(cairn__table_builder *tb)
{
    char enc[CAIRN__BLOCK_HANDLE_MAX];
    char *end = cairn__block_handle_encode_to(enc, &tb->pending_handle);
    CAIRN_TRY(cairn__block_builder_add(
        &tb->index_block, cairn__buf_slice(&tb->last_key),
        cairn__slice_make(enc, (size_t)(end - enc))));
    tb->pending_index_entry = 0;
    return 0;
}

static int do_add(cairn__table_builder *tb, cairn__slice ikey,
                  cairn__slice value)
{
    if (ikey.size < 8)
        return cairn__err(CAIRN_INVALID,
                          "table key of %zu bytes is not an "
                          "internal key",
                          ikey.size);
    if (tb->num_entries > 0 &&
        cairn__ikey_compare(ikey, cairn__buf_slice(&tb->last_key)) <= 0)
        return cairn__err(CAIRN_INVALID, "table keys added out of order");
    if (tb->pending_index_entry) {
        assert(cairn__block_builder_empty(&tb->data_block));
        cairn__table_shortest_separator(&tb->last_key, ikey);
        CAIRN_TRY(add_index_entry(tb));
    }
    if (tb->has_filter)
        CAIRN_TRY(
            cairn__filter_builder_add_key(&tb->filter, cairn__ikey_user(ikey)));
    cairn__buf_clear(&tb->last_key);
    CAIRN_TRY(cairn__buf_append(&tb->last_key, ikey.data, ikey.size));
    CAIRN_TRY(cairn__block_builder_add(&tb->data_block, ikey, value));
    tb->num_entries++;
    if (cairn__block_builder_size_estimate(&tb->data_block) >=
        tb->opt.block_size)
        CAIRN_TRY(flush_data_block(tb));
    return 0;
}

int cairn__table_builder_add(cairn__table_builder *tb, cairn__slice ikey,
                             cairn__slice value)
{
    if (tb->closed)
        return cairn__err(CAIRN_INVALID, "table builder already finished");
    if (tb->status != 0)
        return tb->status;
    tb->status = do_add(tb, ikey, value);
    return tb->status;
}

static int do_finish(cairn__table_builder *tb)
{
    cairn__block_handle filter_handle, metaindex_handle, index_handle;
    CAIRN_TRY(flush_data_block(tb));

    cairn__block_builder meta;
    CAIRN_TRY(cairn__block_builder_init(&meta, tb->opt.restart_interval));
    int rc = 0;
    if (tb->has_filter) {
        cairn__slice contents;
        CAIRN_TRY_GOTO(rc, cairn__filter_builder_finish(&tb->filter, &contents),
                       out);
        CAIRN_TRY_GOTO(rc,
                       write_raw_block(tb, contents, CAIRN__NO_COMPRESSION,
                                       &filter_handle),
                       out);
        char name[64];
        snprintf(name, sizeof name, "filter.%s", tb->policy.name);
        char enc[CAIRN__BLOCK_HANDLE_MAX];
        char *end = cairn__block_handle_encode_to(enc, &filter_handle);
        CAIRN_TRY_GOTO(rc,
                       cairn__block_builder_add(
                           &meta, cairn__slice_str(name),
                           cairn__slice_make(enc, (size_t)(end - enc))),
                       out);
    }
    CAIRN_TRY_GOTO(rc, write_block(tb, &meta, &metaindex_handle), out);

    if (tb->pending_index_entry) {
        cairn__table_short_successor(&tb->last_key);
        CAIRN_TRY_GOTO(rc, add_index_entry(tb), out);
    }
    CAIRN_TRY_GOTO(rc, write_block(tb, &tb->index_block, &index_handle), out);

    cairn__footer footer = {metaindex_handle, index_handle};
    char enc[CAIRN__FOOTER_SIZE];
    cairn__footer_encode(&footer, enc);
    CAIRN_TRY_GOTO(rc, cairn__file_append(tb->file, enc, sizeof enc), out);
    tb->offset += sizeof enc;
out:
    cairn__block_builder_fini(&meta);
    return rc;
}

int cairn__table_builder_finish(cairn__table_builder *tb, uint64_t *file_size)
{
    *file_size = 0;
    if (tb->closed)
        return cairn__err(CAIRN_INVALID, "table builder already finished");
    if (tb->status == 0)
        tb->status = do_finish(tb);
    tb->closed = 1;
    if (tb->status == 0)
        *file_size = tb->offset;
    return tb->status;
}

void cairn__table_builder_abandon(cairn__table_builder *tb)
{
    tb->closed = 1;
}

void cairn__table_builder_destroy(cairn__table_builder *tb)
{
    if (tb == NULL)
        return;
    /* Destroying an open builder is a caller bug: say finish or abandon. */
    assert(tb->closed);
    cairn__block_builder_fini(&tb->data_block);
    cairn__block_builder_fini(&tb->index_block);
    if (tb->has_filter)
        cairn__filter_builder_fini(&tb->filter);
    cairn__buf_fini(&tb->last_key);
    cairn__buf_fini(&tb->compressed);
    free(tb);
}

uint64_t cairn__table_builder_num_entries(const cairn__table_builder *tb)
{
    return tb->num_entries;
}

uint64_t cairn__table_builder_file_size(const cairn__table_builder *tb)
{
    return tb->offset;
}
