/*
 * format.c: block handles, the footer and block reads (see format.h for
 * the byte layouts).
 *
 * Every block of a table lies before the 48-byte footer, so a handle is
 * accepted only if offset + size + 5 fits in [0, file_size - 48); that
 * check comes before the read buffer is allocated, so the largest
 * allocation a damaged file can cause is bounded by its own size (and by
 * CAIRN__BLOCK_MAX). Snappy blocks are bounded the same way before the
 * output buffer is allocated: Snappy's densest element is a 3-byte copy
 * that produces 64 bytes, so a valid stream never expands more than 64/3
 * times, and a larger claimed length is damage.
 */
#include "table/format.h"

#include "util/coding.h"
#include "util/crc32c.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

/* A generous bound on Snappy's expansion ratio (the true one is 64/3). */
#define SNAPPY_MAX_RATIO 32

char *cairn__block_handle_encode_to(char *dst, const cairn__block_handle *h)
{
    dst = cairn__encode_varint64(dst, h->offset);
    return cairn__encode_varint64(dst, h->size);
}

int cairn__block_handle_append(cairn__buf *b, const cairn__block_handle *h)
{
    char tmp[CAIRN__BLOCK_HANDLE_MAX];
    char *end = cairn__block_handle_encode_to(tmp, h);
    return cairn__buf_append(b, tmp, (size_t)(end - tmp));
}

int cairn__block_handle_decode(cairn__slice *in, cairn__block_handle *h)
{
    return cairn__get_varint64(in, &h->offset) &&
           cairn__get_varint64(in, &h->size);
}

void cairn__footer_encode(const cairn__footer *f, char *dst)
{
    memset(dst, 0, CAIRN__FOOTER_SIZE);
    char *p = cairn__block_handle_encode_to(dst, &f->metaindex);
    cairn__block_handle_encode_to(p, &f->index);
    cairn__encode_fixed64(dst + 2 * CAIRN__BLOCK_HANDLE_MAX,
                          CAIRN__TABLE_MAGIC);
}

int cairn__footer_decode(const char *src, uint64_t file_size, const char *name,
                         cairn__footer *f)
{
    if (file_size < CAIRN__FOOTER_SIZE)
        return CAIRN_CORRUPT("%s: file is too short to be an sstable", name);
    uint64_t magic = cairn__decode_fixed64(src + 2 * CAIRN__BLOCK_HANDLE_MAX);
    if (magic != CAIRN__TABLE_MAGIC)
        return CAIRN_CORRUPT("%s: not an sstable (bad magic number)", name);
    cairn__slice in = cairn__slice_make(src, 2 * CAIRN__BLOCK_HANDLE_MAX);
    if (!cairn__block_handle_decode(&in, &f->metaindex) ||
        !cairn__block_handle_decode(&in, &f->index))
        return CAIRN_CORRUPT(
            "%s: bad block handle in footer at offset %llu", name,
            (unsigned long long)(file_size - CAIRN__FOOTER_SIZE));
    return 0;
}

uint32_t cairn__block_crc(const char *contents, size_t n, char type)
{
    uint32_t crc = cairn__crc32c(contents, n);
    crc = cairn__crc32c_extend(crc, &type, 1);
    return cairn__crc32c_mask(crc);
}

/* Undoes Snappy compression of the n bytes at raw. */
static int uncompress_snappy(const char *raw, size_t n, const char *name,
                             uint64_t off, char **data, size_t *size)
{
    size_t ulen;
    if (snappy_uncompressed_length(raw, n, &ulen) != SNAPPY_OK)
        return CAIRN_CORRUPT("%s: block at offset %llu: corrupted compressed "
                             "block contents (bad length)",
                             name, (unsigned long long)off);
    if ((uint64_t)ulen > CAIRN__BLOCK_MAX ||
        (uint64_t)ulen > (uint64_t)n * SNAPPY_MAX_RATIO)
        return CAIRN_CORRUPT("%s: block at offset %llu: compressed block "
                             "claims %zu bytes from %zu",
                             name, (unsigned long long)off, ulen, n);
    char *out = malloc(ulen > 0 ? ulen : 1);
    if (out == NULL)
        return cairn__err(CAIRN_NOMEM,
                          "%s: cannot allocate %zu bytes for "
                          "block at offset %llu",
                          name, ulen, (unsigned long long)off);
    size_t got = ulen;
    if (snappy_uncompress(raw, n, out, &got) != SNAPPY_OK || got != ulen) {
        free(out);
        return CAIRN_CORRUPT("%s: block at offset %llu: corrupted compressed "
                             "block contents",
                             name, (unsigned long long)off);
    }
    *data = out;
    *size = ulen;
    return 0;
}

int cairn__block_read(cairn__file *file, uint64_t limit, const char *name,
                      const cairn__block_handle *h, int verify, char **data,
                      size_t *size)
{
    return cairn__block_read_ahead(file, limit, name, h, verify, NULL, data,
                                   size);
}

void cairn__readahead_fini(cairn__readahead *ra)
{
    free(ra->buf);
    ra->buf = NULL;
    ra->len = 0;
}

/* Reads [off, off + want) into dst, through ra when given. */
static int read_through(cairn__file *file, uint64_t limit, cairn__readahead *ra,
                        uint64_t off, size_t want, char *dst, size_t *got)
{
    if (ra == NULL || ra->cap == 0)
        return cairn__file_pread(file, off, want, dst, got);
    if (ra->buf == NULL || off < ra->off || off + want > ra->off + ra->len) {
        /* Move the window: the block and what follows it, up to the end
         * of the block area (its last trailer included). */
        uint64_t end = limit + CAIRN__BLOCK_TRAILER_SIZE;
        size_t n = ra->cap;
        if (n < want)
            n = want;
        if (end > off && n > end - off)
            n = want > end - off ? want : (size_t)(end - off);
        if (ra->buf == NULL || n > ra->cap) {
            char *nb = realloc(ra->buf, n > ra->cap ? n : ra->cap);
            if (nb == NULL)
                return cairn__err(CAIRN_NOMEM,
                                  "cannot allocate %zu bytes of read-ahead", n);
            ra->buf = nb;
            if (n > ra->cap)
                ra->cap = n;
        }
        ra->len = 0;
        ra->off = off;
        CAIRN_TRY(cairn__file_pread(file, off, n, ra->buf, &ra->len));
    }
    size_t have =
        ra->off + ra->len > off ? (size_t)(ra->off + ra->len - off) : 0;
    *got = have < want ? have : want;
    memcpy(dst, ra->buf + (off - ra->off), *got);
    return 0;
}

/* Checks (if verify) and decodes the n-byte block at raw, which its
 * 5-byte trailer follows. own is raw itself when raw is a malloc'd buffer
 * an uncompressed block may keep (it is consumed either way), or NULL when
 * raw is borrowed (an uncompressed block is then copied). */
static int decode_block(const char *raw, size_t n, char *own, const char *name,
                        uint64_t off, int verify, char **data, size_t *size)
{
    int rc;
    if (verify && cairn__decode_fixed32(raw + n + 1) !=
                      cairn__block_crc(raw, n, raw[n])) {
        rc = CAIRN_CORRUPT("%s: block checksum mismatch at offset %llu", name,
                           (unsigned long long)off);
        goto out;
    }
    switch ((unsigned char)raw[n]) {
    case CAIRN__NO_COMPRESSION:
        if (own == NULL) {
            own = malloc(n > 0 ? n : 1);
            if (own == NULL)
                return cairn__err(CAIRN_NOMEM,
                                  "%s: cannot allocate %zu bytes for block "
                                  "at offset %llu",
                                  name, n, (unsigned long long)off);
            memcpy(own, raw, n);
        }
        *data = own;
        *size = n;
        return 0;
    case CAIRN__SNAPPY_COMPRESSION:
        rc = uncompress_snappy(raw, n, name, off, data, size);
        break;
    default:
        rc = CAIRN_CORRUPT("%s: bad block type %u at offset %llu", name,
                           (unsigned)(unsigned char)raw[n],
                           (unsigned long long)off);
        break;
    }
out:
    free(own);
    return rc;
}

/* cairn__block_read_ahead on a file that offers view(): the block is
 * checked and decoded straight from the file's memory, so the only copy
 * made is the block the caller gets. The handle was bounds-checked by the
 * caller. */
static int decode_view(cairn__file *file, const char *name,
                       const cairn__block_handle *h, int verify, char **data,
                       size_t *size)
{
    size_t n = (size_t)h->size;
    size_t want = n + CAIRN__BLOCK_TRAILER_SIZE;
    const char *v = NULL;
    size_t got = 0;
    CAIRN_TRY(file->ops->view(file, h->offset, want, &v, &got));
    if (got != want)
        return CAIRN_CORRUPT("%s: truncated block read at offset %llu "
                             "(%zu of %zu bytes)",
                             name, (unsigned long long)h->offset, got, want);
    return decode_block(v, n, NULL, name, h->offset, verify, data, size);
}

int cairn__block_read_ahead(cairn__file *file, uint64_t limit, const char *name,
                            const cairn__block_handle *h, int verify,
                            cairn__readahead *ra, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (h->size > CAIRN__BLOCK_MAX || h->offset > limit ||
        h->size + CAIRN__BLOCK_TRAILER_SIZE > limit - h->offset)
        return CAIRN_CORRUPT("%s: block handle (offset %llu, size %llu) "
                             "outside the file's %llu block bytes",
                             name, (unsigned long long)h->offset,
                             (unsigned long long)h->size,
                             (unsigned long long)limit);
    size_t n = (size_t)h->size;
    size_t want = n + CAIRN__BLOCK_TRAILER_SIZE;
    /* A mapped file needs no window: its pages are already memory, and
     * copying them into one would only add a copy per block. */
    if (file->ops->view != NULL)
        return decode_view(file, name, h, verify, data, size);
    char *buf = malloc(want);
    if (buf == NULL)
        return cairn__err(CAIRN_NOMEM,
                          "%s: cannot allocate %zu bytes for "
                          "block at offset %llu",
                          name, want, (unsigned long long)h->offset);
    size_t got = 0;
    int rc = read_through(file, limit, ra, h->offset, want, buf, &got);
    if (rc != 0)
        goto err;
    if (got != want) {
        rc = CAIRN_CORRUPT("%s: truncated block read at offset %llu "
                           "(%zu of %zu bytes)",
                           name, (unsigned long long)h->offset, got, want);
        goto err;
    }
    return decode_block(buf, n, buf, name, h->offset, verify, data, size);
err:
    free(buf);
    return rc;
}
