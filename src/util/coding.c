/*
 * coding.c: varint encoders and bounds-checked decoders.
 */
#include "util/coding.h"

char *cairn__encode_varint32(char *dst, uint32_t v)
{
    return cairn__encode_varint64(dst, v);
}

char *cairn__encode_varint64(char *dst, uint64_t v)
{
    unsigned char *p = (unsigned char *)dst;
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return (char *)p;
}

int cairn__varint_length(uint64_t v)
{
    int len = 1;
    while (v >= 0x80) {
        v >>= 7;
        len++;
    }
    return len;
}

const char *cairn__get_varint32_ptr(const char *p, const char *limit,
                                    uint32_t *v)
{
    uint32_t result = 0;
    for (uint32_t shift = 0; shift <= 28 && p < limit; shift += 7) {
        uint32_t byte = *(const unsigned char *)p++;
        if (byte & 0x80) {
            result |= (byte & 0x7f) << shift;
        } else {
            result |= byte << shift;
            *v = result;
            return p;
        }
    }
    return NULL;
}

const char *cairn__get_varint64_ptr(const char *p, const char *limit,
                                    uint64_t *v)
{
    uint64_t result = 0;
    for (uint32_t shift = 0; shift <= 63 && p < limit; shift += 7) {
        uint64_t byte = *(const unsigned char *)p++;
        if (byte & 0x80) {
            result |= (byte & 0x7f) << shift;
        } else {
            result |= byte << shift;
            *v = result;
            return p;
        }
    }
    return NULL;
}

int cairn__get_varint32(cairn__slice *in, uint32_t *v)
{
    const char *p = cairn__get_varint32_ptr(in->data, in->data + in->size, v);
    if (p == NULL)
        return 0;
    in->size -= (size_t)(p - in->data);
    in->data = p;
    return 1;
}

int cairn__get_varint64(cairn__slice *in, uint64_t *v)
{
    const char *p = cairn__get_varint64_ptr(in->data, in->data + in->size, v);
    if (p == NULL)
        return 0;
    in->size -= (size_t)(p - in->data);
    in->data = p;
    return 1;
}

int cairn__get_fixed32(cairn__slice *in, uint32_t *v)
{
    if (in->size < 4)
        return 0;
    *v = cairn__decode_fixed32(in->data);
    in->data += 4;
    in->size -= 4;
    return 1;
}

int cairn__get_fixed64(cairn__slice *in, uint64_t *v)
{
    if (in->size < 8)
        return 0;
    *v = cairn__decode_fixed64(in->data);
    in->data += 8;
    in->size -= 8;
    return 1;
}

int cairn__get_length_prefixed(cairn__slice *in, cairn__slice *out)
{
    uint32_t len;
    if (!cairn__get_varint32(in, &len) || in->size < len)
        return 0;
    *out = cairn__slice_make(in->data, len);
    in->data += len;
    in->size -= len;
    return 1;
}

int cairn__put_fixed32(cairn__buf *b, uint32_t v)
{
    char tmp[4];
    cairn__encode_fixed32(tmp, v);
    return cairn__buf_append(b, tmp, 4);
}

int cairn__put_fixed64(cairn__buf *b, uint64_t v)
{
    char tmp[8];
    cairn__encode_fixed64(tmp, v);
    return cairn__buf_append(b, tmp, 8);
}

int cairn__put_varint32(cairn__buf *b, uint32_t v)
{
    char tmp[CAIRN__MAX_VARINT32];
    char *end = cairn__encode_varint32(tmp, v);
    return cairn__buf_append(b, tmp, (size_t)(end - tmp));
}

int cairn__put_varint64(cairn__buf *b, uint64_t v)
{
    char tmp[CAIRN__MAX_VARINT64];
    char *end = cairn__encode_varint64(tmp, v);
    return cairn__buf_append(b, tmp, (size_t)(end - tmp));
}

int cairn__put_length_prefixed(cairn__buf *b, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        return cairn__err(CAIRN_INVALID,
                          "slice of %zu bytes too long to encode", n);
    CAIRN_TRY(cairn__buf_reserve(b, CAIRN__MAX_VARINT32 + n));
    CAIRN_TRY(cairn__put_varint32(b, (uint32_t)n));
    return cairn__buf_append(b, p, n);
}
