/*
 * batch.c: write batches, both the public cairn_batch_* functions and the
 * engine's functions over encoded batches ("reps").
 *
 * A batch is kept in its encoded form at all times, which is LevelDB's
 * WriteBatch rep and also the payload of one WAL record:
 *
 *   offset 0   fixed64  sequence of the first entry (0 in a fresh batch)
 *   offset 8   fixed32  number of entries
 *   offset 12  entries, in order:
 *                0x01 varint32 klen key varint32 vlen value   (put)
 *                0x00 varint32 klen key                       (delete)
 *
 * Keeping only the bytes means that writing a batch to the log costs no
 * encoding step, that a write group is the concatenation of its batches'
 * entries, and that cairn_batch_data/set_data are plain copies.
 *
 * Invariants (tests/unit/test_batch.c checks them):
 *  B1. A batch object's rep is always a valid encoding: at least 12 bytes,
 *      every entry parses and the count matches. Public mutators check all
 *      limits and reserve memory before they change anything, so a failed
 *      call leaves the batch exactly as it was.
 *  B2. A rep never exceeds BATCH_MAX_BYTES (UINT32_MAX) and never holds more
 *      than UINT32_MAX entries, so a fixed32 count and the 32-bit lengths of
 *      the formats can always describe it, on 32-bit hosts too.
 *  B3. Decoding trusts nothing: every length is checked against the bytes
 *      actually present before it is used (rep_iterate).
 *
 * Threads: a batch is a plain value (include/cairn.h). The rep functions
 * touch only their arguments; rep_insert requires the memtable's single
 * writer rule (memtable.h M1) from its caller.
 */
#include "util/coding.h"

#include "db/batch.h"

#include "util/ikey.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_MAX_BYTES ((uint64_t)UINT32_MAX)

/* ---------------------------------------------------------------------- */
/* Encoded batches                                                          */

int cairn__batch_rep_iterate(cairn__slice rep, const cairn__batch_handler *h)
{
    if (rep.size < CAIRN__BATCH_HEADER)
        return CAIRN_CORRUPT("malformed WriteBatch (too small)");
    uint32_t want = cairn__batch_rep_count(rep);
    uint64_t found = 0;
    cairn__slice in = cairn__slice_make(rep.data + CAIRN__BATCH_HEADER,
                                        rep.size - CAIRN__BATCH_HEADER);
    while (in.size > 0) {
        unsigned char tag = (unsigned char)in.data[0];
        cairn__slice key, value;
        int rc = 0;
        in.data++;
        in.size--;
        found++;
        /* A key must leave room for the 8-byte tag of an internal key within
         * a 32-bit length; only a rep of more than 4 GiB could break this,
         * but such bytes come from disk and are checked like the rest. */
        switch (tag) {
        case CAIRN__TYPE_VALUE:
            if (!cairn__get_length_prefixed(&in, &key) ||
                !cairn__get_length_prefixed(&in, &value) ||
                key.size > UINT32_MAX - 8)
                return CAIRN_CORRUPT("bad WriteBatch Put (entry %llu)",
                                     (unsigned long long)found - 1);
            if (h != NULL && h->put != NULL)
                rc = h->put(h->ctx, key, value);
            break;
        case CAIRN__TYPE_DELETION:
            if (!cairn__get_length_prefixed(&in, &key) ||
                key.size > UINT32_MAX - 8)
                return CAIRN_CORRUPT("bad WriteBatch Delete (entry %llu)",
                                     (unsigned long long)found - 1);
            if (h != NULL && h->del != NULL)
                rc = h->del(h->ctx, key);
            break;
        default:
            return CAIRN_CORRUPT("unknown WriteBatch tag %u (entry %llu)",
                                 (unsigned)tag, (unsigned long long)found - 1);
        }
        if (rc != 0)
            return rc;
    }
    if (found != want)
        return CAIRN_CORRUPT("WriteBatch has wrong count (header %u, found "
                             "%llu)",
                             (unsigned)want, (unsigned long long)found);
    return 0;
}

int cairn__batch_rep_validate(cairn__slice rep)
{
    return cairn__batch_rep_iterate(rep, NULL);
}

typedef struct insert_ctx {
    cairn__memtable *mem;
    uint64_t seq;
    cairn__buf *pending; /* prepare, not add, when set */
} insert_ctx;

/* Each entry takes the next sequence number. The count check in
 * rep_insert covers a well-formed rep; a damaged one may hold more entries
 * than it counts (the walk reports that only at its end), so every entry is
 * checked against the 56-bit limit as well. */
static int insert_one(insert_ctx *ic, int type, cairn__slice key,
                      cairn__slice value)
{
    if (ic->seq > CAIRN__MAX_SEQ)
        return CAIRN_CORRUPT("WriteBatch entry sequence passes the 56-bit "
                             "limit");
    int rc = ic->pending != NULL
                 ? cairn__memtable_prepare(ic->mem, ic->seq, type, key, value,
                                           ic->pending)
                 : cairn__memtable_add(ic->mem, ic->seq, type, key, value);
    ic->seq++;
    return rc;
}

static int insert_put(void *ctx, cairn__slice key, cairn__slice value)
{
    return insert_one(ctx, CAIRN__TYPE_VALUE, key, value);
}

static int insert_del(void *ctx, cairn__slice key)
{
    return insert_one(ctx, CAIRN__TYPE_DELETION, key,
                      cairn__slice_make(NULL, 0));
}

static int rep_insert(cairn__slice rep, uint64_t first_seq, cairn__memtable *m,
                      cairn__buf *pending)
{
    if (rep.size < CAIRN__BATCH_HEADER)
        return CAIRN_CORRUPT("malformed WriteBatch (too small)");
    uint32_t count = cairn__batch_rep_count(rep);
    /* Each entry takes one sequence number and the last one must still fit
     * the 56 bits of a tag; a recovered log with a wild header sequence is
     * refused here rather than inserted with wrapped numbers. */
    if (count > 0 &&
        (first_seq > CAIRN__MAX_SEQ || count - 1 > CAIRN__MAX_SEQ - first_seq))
        return CAIRN_CORRUPT("WriteBatch sequence %llu with %u entries passes "
                             "the 56-bit limit",
                             (unsigned long long)first_seq, (unsigned)count);
    insert_ctx ic = {m, first_seq, pending};
    cairn__batch_handler h = {&ic, insert_put, insert_del};
    return cairn__batch_rep_iterate(rep, &h);
}

int cairn__batch_rep_insert(cairn__slice rep, uint64_t first_seq,
                            cairn__memtable *m)
{
    return rep_insert(rep, first_seq, m, NULL);
}

int cairn__batch_rep_prepare(cairn__slice rep, uint64_t first_seq,
                             cairn__memtable *m, cairn__buf *pending)
{
    return rep_insert(rep, first_seq, m, pending);
}

int cairn__batch_rep_append(cairn__buf *dst, cairn__slice src)
{
    if (dst->len < CAIRN__BATCH_HEADER)
        return cairn__err(CAIRN_INVALID, "batch append: destination has no "
                                         "header");
    if (src.size < CAIRN__BATCH_HEADER)
        return CAIRN_CORRUPT("malformed WriteBatch (too small)");
    uint32_t have = cairn__batch_rep_count(cairn__buf_slice(dst));
    uint32_t add = cairn__batch_rep_count(src);
    size_t body = src.size - CAIRN__BATCH_HEADER;
    if (add > UINT32_MAX - have)
        return cairn__err(CAIRN_INVALID,
                          "batch append: %u + %u entries overflow the count",
                          (unsigned)have, (unsigned)add);
    if ((uint64_t)body > BATCH_MAX_BYTES - (uint64_t)dst->len)
        return cairn__err(CAIRN_INVALID,
                          "batch append: %zu + %zu bytes exceed the 4 GiB "
                          "batch limit",
                          dst->len, body);
    /* src may point into dst (self-append). Remember it as an offset, since
     * growing dst may move the bytes, and copy only after the growth. */
    uintptr_t sp = (uintptr_t)src.data;
    uintptr_t dp = (uintptr_t)dst->data;
    int aliased = dst->data != NULL && sp >= dp && sp < dp + dst->cap;
    size_t off = aliased ? (size_t)(sp - dp) : 0;
    CAIRN_TRY(cairn__buf_reserve(dst, body));
    const char *from = aliased ? dst->data + off : src.data;
    /* The reservation above makes this append unable to fail. */
    if (body > 0)
        memcpy(dst->data + dst->len, from + CAIRN__BATCH_HEADER, body);
    dst->len += body;
    cairn__batch_rep_set_count(dst, have + add);
    return 0;
}

int cairn__batch_rep_reset(cairn__buf *b, uint64_t seq)
{
    cairn__buf_clear(b);
    CAIRN_TRY(cairn__buf_resize(b, CAIRN__BATCH_HEADER));
    cairn__encode_fixed64(b->data, seq);
    cairn__encode_fixed32(b->data + 8, 0);
    return 0;
}

void cairn__batch_rep_set_seq(cairn__buf *b, uint64_t seq)
{
    cairn__encode_fixed64(b->data, seq);
}

void cairn__batch_rep_set_count(cairn__buf *b, uint32_t count)
{
    cairn__encode_fixed32(b->data + 8, count);
}

/* ---------------------------------------------------------------------- */
/* The public API                                                           */

cairn_batch *cairn_batch_create(void)
{
    cairn_batch *b = malloc(sizeof *b);
    if (b == NULL) {
        cairn__err(CAIRN_NOMEM, "cairn_batch_create: out of memory");
        return NULL;
    }
    cairn__buf_init(&b->rep);
    if (cairn__batch_rep_reset(&b->rep, 0) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

void cairn_batch_destroy(cairn_batch *b)
{
    if (b == NULL)
        return;
    cairn__buf_fini(&b->rep);
    free(b);
}

int cairn_batch_clear(cairn_batch *b)
{
    if (b == NULL)
        return cairn__err(CAIRN_INVALID, "cairn_batch_clear: batch is NULL");
    /* The buffer already holds at least a header (B1), so this cannot fail;
     * the code is passed on all the same. */
    return cairn__batch_rep_reset(&b->rep, 0);
}

/* Checks one key or value argument of a public call. */
static int check_bytes(const char *fn, const char *what, const void *p,
                       size_t n, size_t max)
{
    if (p == NULL && n != 0)
        return cairn__err(CAIRN_INVALID, "%s: %s is NULL but its length is %zu",
                          fn, what, n);
    if (n > max)
        return cairn__err(CAIRN_INVALID,
                          "%s: %s of %zu bytes is longer than the limit of "
                          "%zu",
                          fn, what, n, max);
    return 0;
}

/* Appends one entry (type, key[, value]) to b, or changes nothing. */
static int add_entry(const char *fn, cairn_batch *b, int type, const void *key,
                     size_t keylen, const void *val, size_t vallen)
{
    uint32_t count = cairn__batch_rep_count(cairn__buf_slice(&b->rep));
    if (count == UINT32_MAX)
        return cairn__err(CAIRN_INVALID,
                          "%s: batch already holds %u entries, the most a "
                          "batch can count",
                          fn, (unsigned)count);
    /* Both lengths are bounded by the cairn.h limits, so this sum cannot
     * wrap in 64 bits. */
    uint64_t need = 1 + (uint64_t)cairn__varint_length(keylen) + keylen;
    if (type == CAIRN__TYPE_VALUE)
        need += (uint64_t)cairn__varint_length(vallen) + vallen;
    if (need > BATCH_MAX_BYTES - (uint64_t)b->rep.len)
        return cairn__err(CAIRN_INVALID,
                          "%s: batch of %zu bytes cannot grow by %llu bytes "
                          "(4 GiB limit)",
                          fn, b->rep.len, (unsigned long long)need);
    int rc = cairn__buf_reserve(&b->rep, (size_t)need);
    if (rc != 0)
        return cairn__err(rc, "%s: cannot grow batch of %zu bytes by %llu", fn,
                          b->rep.len, (unsigned long long)need);
    /* With the room reserved, none of these appends can fail (B1). */
    char tag = (char)type;
    char *p = b->rep.data + b->rep.len;
    *p++ = tag;
    p = cairn__encode_varint32(p, (uint32_t)keylen);
    if (keylen > 0)
        memcpy(p, key, keylen);
    p += keylen;
    if (type == CAIRN__TYPE_VALUE) {
        p = cairn__encode_varint32(p, (uint32_t)vallen);
        if (vallen > 0)
            memcpy(p, val, vallen);
        p += vallen;
    }
    b->rep.len = (size_t)(p - b->rep.data);
    cairn__batch_rep_set_count(&b->rep, count + 1);
    return 0;
}

int cairn_batch_put(cairn_batch *b, const void *key, size_t keylen,
                    const void *val, size_t vallen)
{
    static const char fn[] = "cairn_batch_put";
    if (b == NULL)
        return cairn__err(CAIRN_INVALID, "%s: batch is NULL", fn);
    CAIRN_TRY(check_bytes(fn, "key", key, keylen, CAIRN_MAX_KEY_SIZE));
    CAIRN_TRY(check_bytes(fn, "value", val, vallen, CAIRN_MAX_VALUE_SIZE));
    return add_entry(fn, b, CAIRN__TYPE_VALUE, key, keylen, val, vallen);
}

int cairn_batch_delete(cairn_batch *b, const void *key, size_t keylen)
{
    static const char fn[] = "cairn_batch_delete";
    if (b == NULL)
        return cairn__err(CAIRN_INVALID, "%s: batch is NULL", fn);
    CAIRN_TRY(check_bytes(fn, "key", key, keylen, CAIRN_MAX_KEY_SIZE));
    return add_entry(fn, b, CAIRN__TYPE_DELETION, key, keylen, NULL, 0);
}

int cairn_batch_append(cairn_batch *dst, const cairn_batch *src)
{
    if (dst == NULL || src == NULL)
        return cairn__err(CAIRN_INVALID,
                          "cairn_batch_append: %s batch is "
                          "NULL",
                          dst == NULL ? "destination" : "source");
    return cairn__batch_rep_append(&dst->rep, cairn__buf_slice(&src->rep));
}

uint32_t cairn_batch_count(const cairn_batch *b)
{
    if (b == NULL)
        return 0;
    return cairn__batch_rep_count(cairn__buf_slice(&b->rep));
}

size_t cairn_batch_approximate_size(const cairn_batch *b)
{
    return b == NULL ? 0 : b->rep.len;
}

/* Adapts the public callbacks (pointer, length) to the internal handler. */
typedef struct public_ctx {
    void *ctx;
    cairn_batch_put_fn put;
    cairn_batch_delete_fn del;
} public_ctx;

static int public_put(void *ctx, cairn__slice key, cairn__slice value)
{
    public_ctx *pc = ctx;
    return pc->put(pc->ctx, key.data, key.size, value.data, value.size);
}

static int public_del(void *ctx, cairn__slice key)
{
    public_ctx *pc = ctx;
    return pc->del(pc->ctx, key.data, key.size);
}

int cairn_batch_iterate(const cairn_batch *b, void *ctx, cairn_batch_put_fn put,
                        cairn_batch_delete_fn del)
{
    if (b == NULL)
        return cairn__err(CAIRN_INVALID, "cairn_batch_iterate: batch is NULL");
    public_ctx pc = {ctx, put, del};
    cairn__batch_handler h = {&pc, put ? public_put : NULL,
                              del ? public_del : NULL};
    return cairn__batch_rep_iterate(cairn__buf_slice(&b->rep), &h);
}

const void *cairn_batch_data(const cairn_batch *b, size_t *len)
{
    if (b == NULL) {
        if (len != NULL)
            *len = 0;
        cairn__err(CAIRN_INVALID, "cairn_batch_data: batch is NULL");
        return NULL;
    }
    if (len != NULL)
        *len = b->rep.len;
    return b->rep.data;
}

int cairn_batch_set_data(cairn_batch *b, const void *data, size_t len)
{
    static const char fn[] = "cairn_batch_set_data";
    if (b == NULL)
        return cairn__err(CAIRN_INVALID, "%s: batch is NULL", fn);
    if (data == NULL && len != 0)
        return cairn__err(CAIRN_INVALID,
                          "%s: data is NULL but its length is "
                          "%zu",
                          fn, len);
    if ((uint64_t)len > BATCH_MAX_BYTES)
        return cairn__err(CAIRN_INVALID,
                          "%s: %zu bytes exceed the 4 GiB "
                          "batch limit",
                          fn, len);
    int rc = cairn__batch_rep_validate(cairn__slice_make(data, len));
    if (rc != 0)
        return cairn__err_wrap(rc, "%s", fn);
    /* Copy into a fresh buffer and swap, so that data may point into b
     * itself and out-of-memory leaves b as it was. */
    cairn__buf nb;
    cairn__buf_init(&nb);
    rc = cairn__buf_append(&nb, data, len);
    if (rc != 0) {
        cairn__buf_fini(&nb);
        return cairn__err_wrap(rc, "%s", fn);
    }
    cairn__buf_swap(&b->rep, &nb);
    cairn__buf_fini(&nb);
    return 0;
}
