/*
 * buf.h: a growable byte buffer (the C stand-in for std::string).
 *
 * Growth failures return CAIRN_NOMEM and leave the buffer unchanged, so a
 * caller can report out-of-memory without losing what it had.
 */
#ifndef CAIRN_UTIL_BUF_H
#define CAIRN_UTIL_BUF_H

#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>

typedef struct cairn__buf {
    char *data; /* NULL while cap == 0 */
    size_t len;
    size_t cap;
} cairn__buf;

#define CAIRN__BUF_INIT                                                        \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

void cairn__buf_init(cairn__buf *b);
void cairn__buf_fini(cairn__buf *b);
/* Ensures room for `extra` more bytes. */
int cairn__buf_reserve(cairn__buf *b, size_t extra) CAIRN_WUR;
int cairn__buf_append(cairn__buf *b, const void *p, size_t n) CAIRN_WUR;
/* Sets the length (growing with zero bytes if needed). */
int cairn__buf_resize(cairn__buf *b, size_t n) CAIRN_WUR;
static inline void cairn__buf_clear(cairn__buf *b)
{
    b->len = 0;
}
static inline cairn__slice cairn__buf_slice(const cairn__buf *b)
{
    return cairn__slice_make(b->data, b->len);
}
/* Swaps the contents of two buffers. */
void cairn__buf_swap(cairn__buf *a, cairn__buf *b);

#endif
