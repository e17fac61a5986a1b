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
 */
#ifndef CAIRN_UTIL_ARENA_H
#define CAIRN_UTIL_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct cairn__arena {
    char *ptr;        /* next free byte in the current block */
    size_t remaining; /* bytes left in the current block */
    void **blocks;    /* every block, for freeing */
    size_t nblocks;
    size_t capblocks;
    atomic_size_t usage; /* Atomic, relaxed: bytes of blocks + bookkeeping */
} cairn__arena;

void cairn__arena_init(cairn__arena *a);
void cairn__arena_fini(cairn__arena *a);
/* NULL on out-of-memory or n == 0. */
char *cairn__arena_alloc(cairn__arena *a, size_t n);
/* Aligned to max(8, sizeof(void*)). */
char *cairn__arena_alloc_aligned(cairn__arena *a, size_t n);
size_t cairn__arena_memory_usage(const cairn__arena *a);

#endif
