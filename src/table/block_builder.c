/*
 * block_builder.c: see block_builder.h for the layout.
 *
 * Entries between restarts share their prefix with the previous key, which
 * keeps sorted keys with long common prefixes small; the restart points
 * carry whole keys so that a reader can binary-search them. An empty block
 * still has one restart point (offset 0), giving the 8 bytes
 * 00000000 01000000 that LevelDB writes.
 */
#include "table/block_builder.h"

#include "util/coding.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int push_restart(cairn__block_builder *bb, uint32_t off)
{
    if (bb->num_restarts == bb->cap_restarts) {
        size_t ncap = bb->cap_restarts ? bb->cap_restarts * 2 : 16;
        uint32_t *p = realloc(bb->restarts, ncap * sizeof *p);
        if (p == NULL)
            return cairn__err(CAIRN_NOMEM, "cannot grow restart array");
        bb->restarts = p;
        bb->cap_restarts = ncap;
    }
    bb->restarts[bb->num_restarts++] = off;
    return 0;
}

int cairn__block_builder_init(cairn__block_builder *bb, int restart_interval)
{
    assert(restart_interval >= 1);
    memset(bb, 0, sizeof *bb);
    bb->restart_interval = restart_interval;
    cairn__buf_init(&bb->buf);
    cairn__buf_init(&bb->last_key);
    return push_restart(bb, 0);
}

void cairn__block_builder_fini(cairn__block_builder *bb)
{
    if (bb == NULL)
        return;
    cairn__buf_fini(&bb->buf);
    cairn__buf_fini(&bb->last_key);
    free(bb->restarts);
    bb->restarts = NULL;
    bb->num_restarts = 0;
    bb->cap_restarts = 0;
}

void cairn__block_builder_reset(cairn__block_builder *bb)
{
    cairn__buf_clear(&bb->buf);
    cairn__buf_clear(&bb->last_key);
    /* init left room for at least one restart, so this cannot fail. */
    bb->restarts[0] = 0;
    bb->num_restarts = 1;
    bb->counter = 0;
    bb->finished = 0;
}

size_t cairn__block_builder_size_estimate(const cairn__block_builder *bb)
{
    return bb->buf.len + bb->num_restarts * 4 + 4;
}

int cairn__block_builder_add(cairn__block_builder *bb, cairn__slice key,
                             cairn__slice value)
{
    assert(!bb->finished);
    size_t shared = 0;
    if (bb->counter < bb->restart_interval) {
        size_t min = key.size < bb->last_key.len ? key.size : bb->last_key.len;
        while (shared < min && bb->last_key.data[shared] == key.data[shared])
            shared++;
    }
    size_t non_shared = key.size - shared;
    /* Offsets into the block are fixed32 and lengths varint32. */
    if ((uint64_t)bb->buf.len + key.size + value.size +
            3 * CAIRN__MAX_VARINT32 >
        UINT32_MAX)
        return cairn__err(CAIRN_INVALID,
                          "block entry too large (key %zu, value %zu bytes)",
                          key.size, value.size);
    char hdr[3 * CAIRN__MAX_VARINT32];
    char *p = cairn__encode_varint32(hdr, (uint32_t)shared);
    p = cairn__encode_varint32(p, (uint32_t)non_shared);
    p = cairn__encode_varint32(p, (uint32_t)value.size);
    size_t hdr_len = (size_t)(p - hdr);
    /* Reserve everything first so that a failure leaves the block as it
     * was and the appends below cannot fail. */
    CAIRN_TRY(cairn__buf_reserve(&bb->buf, hdr_len + non_shared + value.size));
    CAIRN_TRY(cairn__buf_reserve(&bb->last_key, key.size));
    if (bb->counter >= bb->restart_interval) {
        CAIRN_TRY(push_restart(bb, (uint32_t)bb->buf.len));
        bb->counter = 0;
    }
    memcpy(bb->buf.data + bb->buf.len, hdr, hdr_len);
    bb->buf.len += hdr_len;
    if (non_shared > 0)
        memcpy(bb->buf.data + bb->buf.len, key.data + shared, non_shared);
    bb->buf.len += non_shared;
    if (value.size > 0)
        memcpy(bb->buf.data + bb->buf.len, value.data, value.size);
    bb->buf.len += value.size;
    if (non_shared > 0)
        memcpy(bb->last_key.data + shared, key.data + shared, non_shared);
    bb->last_key.len = key.size;
    bb->counter++;
    return 0;
}

int cairn__block_builder_finish(cairn__block_builder *bb, cairn__slice *out)
{
    assert(!bb->finished);
    int rc = cairn__buf_reserve(&bb->buf, bb->num_restarts * 4 + 4);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < bb->num_restarts; i++) {
        rc = cairn__put_fixed32(&bb->buf, bb->restarts[i]);
        assert(rc == 0); /* the room was reserved above */
    }
    rc = cairn__put_fixed32(&bb->buf, (uint32_t)bb->num_restarts);
    assert(rc == 0);
    (void)rc;
    bb->finished = 1;
    *out = cairn__buf_slice(&bb->buf);
    return 0;
}
