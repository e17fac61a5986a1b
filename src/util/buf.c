/*
 * buf.c: growable byte buffer. Capacity doubles; overflow of size_t is
 * checked so that a huge request fails cleanly instead of wrapping.
 */
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void cairn__buf_init(cairn__buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cairn__buf_fini(cairn__buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    cairn__buf_init(b);
}

int cairn__buf_reserve(cairn__buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return cairn__err(CAIRN_NOMEM, "buffer size overflow");
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    char *p = realloc(b->data, ncap);
    if (p == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot grow buffer to %zu bytes", ncap);
    b->data = p;
    b->cap = ncap;
    return 0;
}

int cairn__buf_append(cairn__buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    CAIRN_TRY(cairn__buf_reserve(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int cairn__buf_resize(cairn__buf *b, size_t n)
{
    if (n > b->len) {
        CAIRN_TRY(cairn__buf_reserve(b, n - b->len));
        memset(b->data + b->len, 0, n - b->len);
    }
    b->len = n;
    return 0;
}

void cairn__buf_swap(cairn__buf *a, cairn__buf *b)
{
    cairn__buf t = *a;
    *a = *b;
    *b = t;
}
