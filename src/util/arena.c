/*
 * arena.c: see arena.h.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define ARENA_BLOCK 4096

void cairn__arena_init(cairn__arena *a)
{
    a->ptr = NULL;
    a->remaining = 0;
    a->blocks = NULL;
    a->nblocks = 0;
    a->capblocks = 0;
    atomic_init(&a->usage, 0);
}

void cairn__arena_fini(cairn__arena *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->nblocks; i++)
        free(a->blocks[i]);
    free(a->blocks);
    cairn__arena_init(a);
}

static char *new_block(cairn__arena *a, size_t bytes)
{
    if (a->nblocks == a->capblocks) {
        size_t ncap = a->capblocks ? a->capblocks * 2 : 16;
        void **nb = realloc(a->blocks, ncap * sizeof *nb);
        if (nb == NULL)
            return NULL;
        a->blocks = nb;
        a->capblocks = ncap;
    }
    char *blk = malloc(bytes);
    if (blk == NULL)
        return NULL;
    a->blocks[a->nblocks++] = blk;
    atomic_fetch_add_explicit(&a->usage, bytes + sizeof(char *),
                              memory_order_relaxed);
    return blk;
}

static char *alloc_fallback(cairn__arena *a, size_t n)
{
    if (n > ARENA_BLOCK / 4)
        return new_block(a, n);
    char *blk = new_block(a, ARENA_BLOCK);
    if (blk == NULL)
        return NULL;
    a->ptr = blk + n;
    a->remaining = ARENA_BLOCK - n;
    return blk;
}

char *cairn__arena_alloc(cairn__arena *a, size_t n)
{
    if (n == 0)
        return NULL;
    if (n <= a->remaining) {
        char *r = a->ptr;
        a->ptr += n;
        a->remaining -= n;
        return r;
    }
    return alloc_fallback(a, n);
}

char *cairn__arena_alloc_aligned(cairn__arena *a, size_t n)
{
    const size_t align = sizeof(void *) > 8 ? sizeof(void *) : 8;
    if (n == 0)
        return NULL;
    size_t mod = (uintptr_t)a->ptr & (align - 1);
    size_t slop = mod == 0 ? 0 : align - mod;
    if (n <= SIZE_MAX - slop && n + slop <= a->remaining) {
        char *r = a->ptr + slop;
        a->ptr += n + slop;
        a->remaining -= n + slop;
        return r;
    }
    /* malloc returns suitably aligned memory for a fresh block. */
    return alloc_fallback(a, n);
}

size_t cairn__arena_memory_usage(const cairn__arena *a)
{
    return atomic_load_explicit(&a->usage, memory_order_relaxed);
}
