/*
 * arena.h: bump allocator backing a memtable.
 *
 * Blocks of 4096 bytes; a request over 1024 bytes gets a block of its own;
 * a request that does not fit abandons the rest of the current block
 * (LevelDB's policy, so memory usage figures match). Nothing is freed until
 * the arena is finalised.
 *
 * Threads: one allocating thread at a time (the memtable's single writer).
 * cairn__arena_memory_usage may be called from any thread: the counter is a
 * relaxed atomic, an estimate that needs no ordering with the blocks.
 *
 * Pools. An arena may take its standard blocks from a cairn__arena_pool
 * and give them back when finalised, so a database's successive memtables
 * reuse memory that is already mapped: fresh heap memory costs a page
 * fault per 4 KiB on first touch (an exit to the hypervisor on a virtual
 * machine), and the C library returns a freed memtable's memory to the
 * system, so each new memtable faulted all of it in again. The pool keeps
 * at most max_bytes; the rest is freed. A pool is thread-safe (its own
 * mutex; an arena refills a local stash of POOL_BATCH blocks per lock) and
 * must outlive every arena that uses it.
 */
#ifndef CAIRN_UTIL_ARENA_H
#define CAIRN_UTIL_ARENA_H

#include "util/port.h"

#include <stdatomic.h>
#include <stddef.h>

typedef struct cairn__arena_pool {
    cairn__mutex mu;
    void *free;     /* Locked: mu; standard blocks, linked through word 0 */
    size_t nfree;   /* Locked: mu */
    size_t maxfree; /* blocks kept at most */
} cairn__arena_pool;

typedef struct cairn__arena {
    char *ptr;        /* next free byte in the current block */
    size_t remaining; /* bytes left in the current block */
    void **blocks;    /* every block, for freeing */
    size_t nblocks;
    size_t capblocks;
    atomic_size_t usage; /* Atomic, relaxed: bytes of blocks + bookkeeping */
    cairn__arena_pool *pool; /* or NULL */
    void *stash;             /* standard blocks taken from the pool */
    void **big;              /* blocks of their own (requests over 1/4) */
    size_t nbig;
    size_t capbig;
} cairn__arena;

/* max_bytes: what the pool keeps at most. CAIRN_NOMEM-style: 0 or -1. */
int cairn__arena_pool_init(cairn__arena_pool *p, size_t max_bytes);
/* Frees every pooled block. No arena may use the pool any more. */
void cairn__arena_pool_fini(cairn__arena_pool *p);
/* Blocks held by the pool (tests). */
size_t cairn__arena_pool_blocks(cairn__arena_pool *p);

void cairn__arena_init(cairn__arena *a);
/* An arena whose standard blocks come from and return to pool. */
void cairn__arena_init_pooled(cairn__arena *a, cairn__arena_pool *pool);
void cairn__arena_fini(cairn__arena *a);
/* NULL on out-of-memory or n == 0. */
char *cairn__arena_alloc(cairn__arena *a, size_t n);
/* Aligned to max(8, sizeof(void*)). */
char *cairn__arena_alloc_aligned(cairn__arena *a, size_t n);
size_t cairn__arena_memory_usage(const cairn__arena *a);

#endif
