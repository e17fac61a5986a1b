/*
 * filter_block.c: see filter_block.h for the layout.
 *
 * The builder gathers the keys of the data blocks that start in the
 * current 2 KiB range and, when a block starts in a later range (or at
 * finish), turns them into one filter; each range skipped over gets an
 * empty filter, so filter i always answers for range i. The reader trusts
 * nothing: an index past the array or offsets out of order answer "may
 * match", exactly as LevelDB's FilterBlockReader, and a base_lg too large
 * to shift by marks the whole block as unusable.
 */
#include "table/filter_block.h"

#include "table/bloom.h"
#include "util/coding.h"

#include <stdlib.h>
#include <string.h>

static int bloom_create(const cairn__filter_policy *p, const cairn__slice *keys,
                        size_t n, cairn__buf *dst)
{
    return cairn__bloom_create(p->bits_per_key, keys, n, dst);
}

static int bloom_may_match(const cairn__filter_policy *p, cairn__slice key,
                           cairn__slice filter)
{
    (void)p;
    return cairn__bloom_may_match(key, filter);
}

void cairn__filter_policy_bloom(cairn__filter_policy *p, int bits_per_key)
{
    p->name = CAIRN__BLOOM_NAME;
    p->bits_per_key = bits_per_key;
    p->create = bloom_create;
    p->may_match = bloom_may_match;
}

/* Returns arr grown to hold at least need elements of elem bytes (arr
 * itself if it already does), or NULL with the message set, leaving arr
 * untouched. need is at least 1. */
static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = ncap > SIZE_MAX / elem ? NULL : realloc(arr, ncap * elem);
    if (p == NULL) {
        cairn__err(CAIRN_NOMEM, "cannot grow filter builder array");
        return NULL;
    }
    *cap = ncap;
    return p;
}

void cairn__filter_builder_init(cairn__filter_builder *fb,
                                const cairn__filter_policy *policy)
{
    memset(fb, 0, sizeof *fb);
    fb->policy = policy;
    cairn__buf_init(&fb->keys);
    cairn__buf_init(&fb->result);
}

void cairn__filter_builder_fini(cairn__filter_builder *fb)
{
    if (fb == NULL)
        return;
    cairn__buf_fini(&fb->keys);
    cairn__buf_fini(&fb->result);
    free(fb->starts);
    free(fb->tmp);
    free(fb->offsets);
    memset(fb, 0, sizeof *fb);
}

static int push_offset(cairn__filter_builder *fb)
{
    if (fb->result.len > UINT32_MAX)
        return cairn__err(CAIRN_INVALID, "filter block over 4 GiB");
    uint32_t *o =
        grow(fb->offsets, &fb->cap_offsets, fb->num_filters + 1, sizeof *o);
    if (o == NULL)
        return CAIRN_NOMEM;
    fb->offsets = o;
    fb->offsets[fb->num_filters++] = (uint32_t)fb->result.len;
    return 0;
}

static int generate_filter(cairn__filter_builder *fb)
{
    size_t n = fb->num_keys;
    if (n == 0)
        return push_offset(fb); /* an empty filter */
    /* starts[n] marks the end of the last key. */
    size_t *st = grow(fb->starts, &fb->cap_starts, n + 1, sizeof *st);
    if (st == NULL)
        return CAIRN_NOMEM;
    fb->starts = st;
    fb->starts[n] = fb->keys.len;
    cairn__slice *tmp = grow(fb->tmp, &fb->cap_tmp, n, sizeof *tmp);
    if (tmp == NULL)
        return CAIRN_NOMEM;
    fb->tmp = tmp;
    /* keys.data is NULL while every pending key is empty. */
    const char *base = fb->keys.data != NULL ? fb->keys.data : "";
    for (size_t i = 0; i < n; i++)
        fb->tmp[i] = cairn__slice_make(base + fb->starts[i],
                                       fb->starts[i + 1] - fb->starts[i]);
    CAIRN_TRY(push_offset(fb));
    CAIRN_TRY(fb->policy->create(fb->policy, fb->tmp, n, &fb->result));
    cairn__buf_clear(&fb->keys);
    fb->num_keys = 0;
    return 0;
}

int cairn__filter_builder_start_block(cairn__filter_builder *fb,
                                      uint64_t block_offset)
{
    uint64_t index = block_offset / CAIRN__FILTER_BASE;
    while (index > fb->num_filters)
        CAIRN_TRY(generate_filter(fb));
    return 0;
}

int cairn__filter_builder_add_key(cairn__filter_builder *fb, cairn__slice key)
{
    size_t *st =
        grow(fb->starts, &fb->cap_starts, fb->num_keys + 1, sizeof *st);
    if (st == NULL)
        return CAIRN_NOMEM;
    fb->starts = st;
    CAIRN_TRY(cairn__buf_append(&fb->keys, key.data, key.size));
    fb->starts[fb->num_keys++] = fb->keys.len - key.size;
    return 0;
}

int cairn__filter_builder_finish(cairn__filter_builder *fb, cairn__slice *out)
{
    if (fb->num_keys > 0)
        CAIRN_TRY(generate_filter(fb));
    size_t array_offset = fb->result.len;
    if (array_offset > UINT32_MAX)
        return cairn__err(CAIRN_INVALID, "filter block over 4 GiB");
    CAIRN_TRY(cairn__buf_reserve(&fb->result, fb->num_filters * 4 + 5));
    for (size_t i = 0; i < fb->num_filters; i++)
        CAIRN_TRY(cairn__put_fixed32(&fb->result, fb->offsets[i]));
    CAIRN_TRY(cairn__put_fixed32(&fb->result, (uint32_t)array_offset));
    char lg = CAIRN__FILTER_BASE_LG;
    CAIRN_TRY(cairn__buf_append(&fb->result, &lg, 1));
    *out = cairn__buf_slice(&fb->result);
    return 0;
}

void cairn__filter_reader_init(cairn__filter_reader *r,
                               const cairn__filter_policy *policy,
                               cairn__slice contents)
{
    r->policy = policy;
    r->data = NULL;
    r->offset = NULL;
    r->num = 0;
    r->base_lg = 0;
    size_t n = contents.size;
    if (n < 5)
        return; /* 1 byte base_lg and 4 for the array's start */
    unsigned base_lg = (unsigned char)contents.data[n - 1];
    uint32_t last_word = cairn__decode_fixed32(contents.data + n - 5);
    if (last_word > n - 5 || base_lg >= 64)
        return;
    r->base_lg = base_lg;
    r->data = contents.data;
    r->offset = contents.data + last_word;
    r->num = (n - 5 - last_word) / 4;
}

int cairn__filter_reader_may_match(const cairn__filter_reader *r,
                                   uint64_t block_offset, cairn__slice key)
{
    uint64_t index = block_offset >> r->base_lg;
    if (index < r->num) {
        /* For the last filter, "limit" is the array offset word itself. */
        uint32_t start = cairn__decode_fixed32(r->offset + index * 4);
        uint32_t limit = cairn__decode_fixed32(r->offset + index * 4 + 4);
        size_t array_start = (size_t)(r->offset - r->data);
        if (start <= limit && limit <= array_start) {
            cairn__slice filter =
                cairn__slice_make(r->data + start, limit - start);
            return r->policy->may_match(r->policy, key, filter);
        }
        if (start == limit)
            return 0; /* an empty filter matches nothing */
    }
    return 1; /* errors are treated as potential matches */
}
