/*
 * slice.h: a borrowed view of bytes, and the bytewise comparator.
 *
 * A slice never owns its bytes; whoever made it says how long they live.
 */
#ifndef CAIRN_UTIL_SLICE_H
#define CAIRN_UTIL_SLICE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cairn__slice {
    const char *data;
    size_t size;
} cairn__slice;

static inline cairn__slice cairn__slice_make(const void *p, size_t n)
{
    cairn__slice s;
    s.data = (const char *)p;
    s.size = n;
    return s;
}

static inline cairn__slice cairn__slice_str(const char *s)
{
    return cairn__slice_make(s, strlen(s));
}

/* LevelDB's BytewiseComparator: memcmp order, a proper prefix is smaller. */
static inline int cairn__slice_compare(cairn__slice a, cairn__slice b)
{
    size_t n = a.size < b.size ? a.size : b.size;
    int r = n ? memcmp(a.data, b.data, n) : 0;
    if (r == 0) {
        if (a.size < b.size)
            r = -1;
        else if (a.size > b.size)
            r = 1;
    }
    return r;
}

static inline int cairn__slice_equal(cairn__slice a, cairn__slice b)
{
    return a.size == b.size &&
           (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

#endif
