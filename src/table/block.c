/*
 * block.c: parsed blocks and their iterators (layout in block.h).
 *
 * The iterator follows LevelDB's Block::Iter. Its position is `current`,
 * the offset of the current entry; value points into the block just past
 * the entry's key, so the next entry starts at the end of value. Keys are
 * rebuilt into `key` from the shared prefix. Seeking binary-searches the
 * restart points (whose keys are stored whole) and then walks forward;
 * prev walks forward from the restart point before the current entry,
 * since entries can only be decoded front to back.
 *
 * Invariants:
 *  B1. Valid iff status == 0 and current < restarts.
 *  B2. Every read of entry bytes stays below `restarts`, every read of a
 *      restart offset below the count word; offsets that would leave those
 *      regions are corruption, never reads.
 *  B3. Each forward step consumes at least 3 bytes and prev only moves to
 *      an entry that starts before the current one, so no walk over a
 *      damaged block can loop.
 *  B4. An error is sticky: after it the iterator stays invalid.
 */
#include "table/block.h"

#include "util/buf.h"
#include "util/coding.h"

#include <stdlib.h>

struct cairn__block {
    char *data;
    size_t size;
    size_t restarts; /* offset of the restart array */
    uint32_t num_restarts;
    uint64_t offset; /* in the file; for messages */
};

int cairn__block_create(char *data, size_t size, uint64_t offset,
                        const char *name, cairn__block **out)
{
    *out = NULL;
    uint32_t n = 0;
    if (size < 4)
        goto bad;
    n = cairn__decode_fixed32(data + size - 4);
    if (n > (size - 4) / 4)
        goto bad;
    size_t restarts = size - 4 - (size_t)n * 4;
    /* The builder always starts the first restart at 0; anything else
     * would make a forward walk start inside an entry. */
    if (n > 0 && cairn__decode_fixed32(data + restarts) != 0)
        goto bad;
    cairn__block *b = malloc(sizeof *b);
    if (b == NULL) {
        free(data);
        return cairn__err(CAIRN_NOMEM, "cannot allocate block");
    }
    b->data = data;
    b->size = size;
    b->restarts = restarts;
    b->num_restarts = n;
    b->offset = offset;
    *out = b;
    return 0;
bad:
    free(data);
    return CAIRN_CORRUPT("%s: block at offset %llu: bad block contents "
                         "(%zu bytes, %lu restarts)",
                         name, (unsigned long long)offset, size,
                         (unsigned long)n);
}

void cairn__block_destroy(cairn__block *b)
{
    if (b == NULL)
        return;
    free(b->data);
    free(b);
}

size_t cairn__block_size(const cairn__block *b)
{
    return b->size;
}

typedef struct block_iter {
    cairn__iter base;
    cairn__cmp_fn cmp;
    const char *data;
    size_t restarts;
    uint32_t num_restarts;
    size_t min_key;
    const char *name;
    uint64_t offset;
    size_t current;
    uint32_t restart_index; /* the restart block holding current */
    cairn__buf key;
    cairn__slice value;
    int status;
    cairn__cleanup cleanup;
} block_iter;

static uint32_t restart_point(const block_iter *it, uint32_t i)
{
    return cairn__decode_fixed32(it->data + it->restarts + (size_t)i * 4);
}

static size_t next_entry_offset(const block_iter *it)
{
    return (size_t)(it->value.data + it->value.size - it->data);
}

static void set_invalid(block_iter *it)
{
    it->current = it->restarts;
    it->restart_index = it->num_restarts;
}

static void corrupt(block_iter *it, const char *what)
{
    if (it->status == 0)
        it->status = CAIRN_CORRUPT("%s: block at offset %llu: %s", it->name,
                                   (unsigned long long)it->offset, what);
    set_invalid(it);
    cairn__buf_clear(&it->key);
}

/* Decodes an entry header at p; NULL if the header or the key and value
 * it announces do not fit before limit. */
static const char *decode_entry(const char *p, const char *limit,
                                uint32_t *shared, uint32_t *non_shared,
                                uint32_t *value_len)
{
    if (limit - p < 3)
        return NULL;
    const unsigned char *u = (const unsigned char *)p;
    if ((u[0] | u[1] | u[2]) < 128) {
        /* LevelDB's fast path: all three lengths fit one byte. */
        *shared = u[0];
        *non_shared = u[1];
        *value_len = u[2];
        p += 3;
    } else {
        if ((p = cairn__get_varint32_ptr(p, limit, shared)) == NULL ||
            (p = cairn__get_varint32_ptr(p, limit, non_shared)) == NULL ||
            (p = cairn__get_varint32_ptr(p, limit, value_len)) == NULL)
            return NULL;
    }
    if ((uint64_t)*non_shared + *value_len > (uint64_t)(limit - p))
        return NULL;
    return p;
}

static int parse_next_key(block_iter *it)
{
    it->current = next_entry_offset(it);
    const char *p = it->data + it->current;
    const char *limit = it->data + it->restarts;
    if (p >= limit) {
        set_invalid(it);
        return 0;
    }
    uint32_t shared, non_shared, value_len;
    p = decode_entry(p, limit, &shared, &non_shared, &value_len);
    if (p == NULL || it->key.len < shared) {
        corrupt(it, "bad entry in block");
        return 0;
    }
    if ((size_t)shared + non_shared < it->min_key) {
        corrupt(it, "key too short in block");
        return 0;
    }
    it->key.len = shared;
    int rc = cairn__buf_append(&it->key, p, non_shared);
    if (rc != 0) {
        it->status = rc;
        set_invalid(it);
        return 0;
    }
    it->value = cairn__slice_make(p + non_shared, value_len);
    while (it->restart_index + 1 < it->num_restarts &&
           restart_point(it, it->restart_index + 1) < it->current)
        it->restart_index++;
    return 1;
}

static int seek_to_restart_point(block_iter *it, uint32_t index)
{
    cairn__buf_clear(&it->key);
    it->restart_index = index;
    uint32_t off = restart_point(it, index);
    /* A restart offset must start an entry; only an empty block may point
     * at the (empty) end of its entries. */
    if (off > it->restarts || (off == it->restarts && off != 0)) {
        corrupt(it, "restart point out of range");
        return 0;
    }
    it->value = cairn__slice_make(it->data + off, 0);
    return 1;
}

static int bi_valid(cairn__iter *base)
{
    block_iter *it = (block_iter *)base;
    return it->status == 0 && it->current < it->restarts;
}

static cairn__slice bi_key(cairn__iter *base)
{
    block_iter *it = (block_iter *)base;
    return cairn__buf_slice(&it->key);
}

static cairn__slice bi_value(cairn__iter *base)
{
    return ((block_iter *)base)->value;
}

static int bi_status(cairn__iter *base)
{
    return ((block_iter *)base)->status;
}

static int usable(block_iter *it)
{
    if (it->status != 0 || it->num_restarts == 0) {
        set_invalid(it);
        return 0;
    }
    return 1;
}

static void bi_seek_first(cairn__iter *base)
{
    block_iter *it = (block_iter *)base;
    if (usable(it) && seek_to_restart_point(it, 0))
        parse_next_key(it);
}

static void bi_seek_last(cairn__iter *base)
{
    block_iter *it = (block_iter *)base;
    if (!usable(it) || !seek_to_restart_point(it, it->num_restarts - 1))
        return;
    while (parse_next_key(it) && next_entry_offset(it) < it->restarts) {
    }
}

static void bi_next(cairn__iter *base)
{
    block_iter *it = (block_iter *)base;
    if (bi_valid(base))
        parse_next_key(it);
}

static void bi_prev(cairn__iter *base)
{
    block_iter *it = (block_iter *)base;
    if (!bi_valid(base))
        return;
    size_t original = it->current;
    while (restart_point(it, it->restart_index) >= original) {
        if (it->restart_index == 0) {
            set_invalid(it);
            return;
        }
        it->restart_index--;
    }
    if (!seek_to_restart_point(it, it->restart_index))
        return;
    while (parse_next_key(it) && next_entry_offset(it) < original) {
    }
}

static void bi_seek(cairn__iter *base, cairn__slice target)
{
    block_iter *it = (block_iter *)base;
    if (!usable(it))
        return;
    uint32_t left = 0, right = it->num_restarts - 1;
    const char *limit = it->data + it->restarts;
    while (left < right) {
        uint32_t mid = left + (right - left + 1) / 2;
        uint32_t off = restart_point(it, mid);
        uint32_t shared, non_shared, value_len;
        const char *p = NULL;
        if (off < it->restarts)
            p = decode_entry(it->data + off, limit, &shared, &non_shared,
                             &value_len);
        if (p == NULL || shared != 0 || non_shared < it->min_key) {
            corrupt(it, "bad restart entry in block");
            return;
        }
        if (it->cmp(cairn__slice_make(p, non_shared), target) < 0)
            left = mid;
        else
            right = mid - 1;
    }
    if (!seek_to_restart_point(it, left))
        return;
    while (parse_next_key(it)) {
        if (it->cmp(cairn__buf_slice(&it->key), target) >= 0)
            return;
    }
}

static void bi_destroy(cairn__iter *base)
{
    block_iter *it = (block_iter *)base;
    cairn__buf_fini(&it->key);
    if (it->cleanup.fn != NULL)
        it->cleanup.fn(it->cleanup.a, it->cleanup.b);
    free(it);
}

static const cairn__iter_ops block_iter_ops = {
    bi_valid, bi_seek_first, bi_seek_last, bi_seek,   bi_next,
    bi_prev,  bi_key,        bi_value,     bi_status, bi_destroy,
};

int cairn__block_iter_create(const cairn__block *b, cairn__cmp_fn cmp,
                             size_t min_key, const char *name,
                             cairn__cleanup cleanup, cairn__iter **out)
{
    *out = NULL;
    block_iter *it = malloc(sizeof *it);
    if (it == NULL) {
        if (cleanup.fn != NULL)
            cleanup.fn(cleanup.a, cleanup.b);
        return cairn__err(CAIRN_NOMEM, "cannot allocate block iterator");
    }
    it->base.ops = &block_iter_ops;
    it->cmp = cmp;
    it->data = b->data;
    it->restarts = b->restarts;
    it->num_restarts = b->num_restarts;
    it->min_key = min_key;
    it->name = name;
    it->offset = b->offset;
    cairn__buf_init(&it->key);
    it->value = cairn__slice_make(b->data + b->restarts, 0);
    it->status = 0;
    it->cleanup = cleanup;
    set_invalid(it);
    *out = &it->base;
    return 0;
}
