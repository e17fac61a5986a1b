/*
 * coding.h: LevelDB's integer encodings (docs/format.md section 0).
 *
 * fixed32/fixed64 are little-endian on every platform. varint32/varint64
 * are base-128, low group first, high bit = "more follows"; at most 5 and 10
 * bytes. Decoders take an explicit end pointer and never read past it: they
 * return NULL on truncated or over-long input, which callers turn into
 * CAIRN_CORRUPTION with context.
 */
#ifndef CAIRN_UTIL_CODING_H
#define CAIRN_UTIL_CODING_H

#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stdint.h>
#include <string.h>

#define CAIRN__MAX_VARINT32 5
#define CAIRN__MAX_VARINT64 10

static inline void cairn__encode_fixed32(char *dst, uint32_t v)
{
    unsigned char *p = (unsigned char *)dst;
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void cairn__encode_fixed64(char *dst, uint64_t v)
{
    cairn__encode_fixed32(dst, (uint32_t)v);
    cairn__encode_fixed32(dst + 4, (uint32_t)(v >> 32));
}

static inline uint32_t cairn__decode_fixed32(const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t cairn__decode_fixed64(const char *src)
{
    return (uint64_t)cairn__decode_fixed32(src) |
           ((uint64_t)cairn__decode_fixed32(src + 4) << 32);
}

/* Writes the varint at dst (room for CAIRN__MAX_VARINT* bytes) and returns
 * the pointer just past it. */
char *cairn__encode_varint32(char *dst, uint32_t v);
char *cairn__encode_varint64(char *dst, uint64_t v);
int cairn__varint_length(uint64_t v);

/* Decode from [p, limit). Return the pointer past the value, or NULL. */
const char *cairn__get_varint32_ptr(const char *p, const char *limit,
                                    uint32_t *v);
const char *cairn__get_varint64_ptr(const char *p, const char *limit,
                                    uint64_t *v);

/* Slice-consuming decoders: on success advance *in and return 1; on
 * malformed input return 0 and leave *in unspecified. */
int cairn__get_varint32(cairn__slice *in, uint32_t *v);
int cairn__get_varint64(cairn__slice *in, uint64_t *v);
int cairn__get_fixed32(cairn__slice *in, uint32_t *v);
int cairn__get_fixed64(cairn__slice *in, uint64_t *v);
/* varint32 length followed by that many bytes; *out points into *in. */
int cairn__get_length_prefixed(cairn__slice *in, cairn__slice *out);

/* Appenders onto a growable buffer; CAIRN_NOMEM on failure. */
int cairn__put_fixed32(cairn__buf *b, uint32_t v) CAIRN_WUR;
int cairn__put_fixed64(cairn__buf *b, uint64_t v) CAIRN_WUR;
int cairn__put_varint32(cairn__buf *b, uint32_t v) CAIRN_WUR;
int cairn__put_varint64(cairn__buf *b, uint64_t v) CAIRN_WUR;
/* Fails with CAIRN_INVALID if n does not fit a varint32. */
int cairn__put_length_prefixed(cairn__buf *b, const void *p,
                               size_t n) CAIRN_WUR;

#endif
