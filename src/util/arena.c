/*
 * arena.c: see arena.h.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 4096
/* Blocks an arena takes from its pool per lock. */
#define POOL_BATCH 16

/* A free block's first word links it to the next. */
static void *block_next(void *b)
{
    void *n;
    memcpy(&n, b, sizeof n);
    return n;
}

static void block_set_next(void *b, void *n)
{
    memcpy(b, &n, sizeof n);
}

int cairn__arena_pool_init(cairn__arena_pool *p, size_t max_bytes)
{
    p->free = NULL;
    p->nfree = 0;
    p->maxfree = max_bytes / ARENA_BLOCK;
    return cairn__mutex_init(&p->mu);
}

void cairn__arena_pool_fini(cairn__arena_pool *p)
{
    void *b = p->free;
    while (b != NULL) {
        void *n = block_next(b);
        free(b);
        b = n;
    }
    p->free = NULL;
    p->nfree = 0;
    cairn__mutex_fini(&p->mu);
}

size_t cairn__arena_pool_blocks(cairn__arena_pool *p)
{
    cairn__mutex_lock(&p->mu);
    size_t n = p->nfree;
    cairn__mutex_unlock(&p->mu);
    return n;
}

void cairn__arena_init(cairn__arena *a)
{
    cairn__arena_init_pooled(a, NULL);
}

void cairn__arena_init_pooled(cairn__arena *a, cairn__arena_pool *pool)
{
    a->ptr = NULL;
    a->remaining = 0;
    a->blocks = NULL;
    a->nblocks = 0;
    a->capblocks = 0;
    atomic_init(&a->usage, 0);
    a->pool = pool;
    a->stash = NULL;
    a->big = NULL;
    a->nbig = 0;
    a->capbig = 0;
}

/* Gives the standard blocks (and the unused stash) back to the pool, as
 * many as it keeps; frees the rest. */
static void return_blocks(cairn__arena *a)
{
    void *head = a->stash;
    for (size_t i = 0; i < a->nblocks; i++) {
        block_set_next(a->blocks[i], head);
        head = a->blocks[i];
    }
    if (head != NULL) {
        cairn__mutex_lock(&a->pool->mu);
        while (head != NULL && a->pool->nfree < a->pool->maxfree) {
            void *next = block_next(head);
            block_set_next(head, a->pool->free);
            a->pool->free = head;
            a->pool->nfree++;
            head = next;
        }
        cairn__mutex_unlock(&a->pool->mu);
    }
    while (head != NULL) {
        void *next = block_next(head);
        free(head);
        head = next;
    }
}

void cairn__arena_fini(cairn__arena *a)
{
    if (a == NULL)
        return;
    if (a->pool != NULL) {
        return_blocks(a);
    } else {
        for (size_t i = 0; i < a->nblocks; i++)
            free(a->blocks[i]);
    }
    for (size_t i = 0; i < a->nbig; i++)
        free(a->big[i]);
    free(a->blocks);
    free(a->big);
    cairn__arena_init_pooled(a, a->pool);
}

/* A standard block: from the stash, refilled from the pool, else fresh. */
static void *standard_block(cairn__arena *a)
{
    if (a->pool != NULL && a->stash == NULL) {
        cairn__mutex_lock(&a->pool->mu);
        for (int i = 0; i < POOL_BATCH && a->pool->free != NULL; i++) {
            void *b = a->pool->free;
            a->pool->free = block_next(b);
            a->pool->nfree--;
            block_set_next(b, a->stash);
            a->stash = b;
        }
        cairn__mutex_unlock(&a->pool->mu);
    }
    if (a->stash != NULL) {
        void *b = a->stash;
        a->stash = block_next(b);
        return b;
    }
    return malloc(ARENA_BLOCK);
}

static int push(void ***arr, size_t *n, size_t *cap, void *b)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void **nb = realloc(*arr, ncap * sizeof *nb);
        if (nb == NULL)
            return -1;
        *arr = nb;
        *cap = ncap;
    }
    (*arr)[(*n)++] = b;
    return 0;
}

static char *new_block(cairn__arena *a, size_t bytes)
{
    int standard = bytes == ARENA_BLOCK;
    char *blk = standard ? standard_block(a) : malloc(bytes);
    if (blk == NULL)
        return NULL;
    int rc = standard ? push(&a->blocks, &a->nblocks, &a->capblocks, blk)
                      : push(&a->big, &a->nbig, &a->capbig, blk);
    if (rc != 0) {
        if (standard) {
            block_set_next(blk, a->stash); /* keep it for the next try */
            a->stash = blk;
        } else {
            free(blk);
        }
        return NULL;
    }
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
