/*
 * cache.h: a sharded LRU cache of reference-counted entries with a charge
 * budget (LevelDB's ShardedLRUCache). The engine uses one as the block
 * cache: keys are fixed64 cache_id | fixed64 block offset, values are
 * parsed blocks, charges are block sizes. One cache may be shared by several
 * databases; cairn__cache_new_id hands each open table its own key space.
 *
 * Lifetimes:
 *  - An entry lives while it is in the cache or while some handle to it is
 *    held. Insert and lookup return a handle; every handle must be given
 *    back with cairn__cache_release exactly once.
 *  - When the last reference goes, the entry's deleter runs (never while a
 *    cache lock is held, so a deleter may take its own locks; it must not
 *    call back into the same cache).
 *  - Erasing or evicting an entry that a handle still pins only removes it
 *    from the cache; the value stays valid until that handle is released.
 *  - The cache must be destroyed after every handle has been released.
 *
 * Threads: every function may be called from any thread at any time. Each
 * of the 16 shards has its own mutex; no function holds two at once.
 */
#ifndef CAIRN_CACHE_CACHE_H
#define CAIRN_CACHE_CACHE_H

#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cairn__cache cairn__cache;
typedef struct cairn__cache_handle cairn__cache_handle;

/* Called once per entry when its last reference goes; key and value are the
 * ones given to insert. */
typedef void (*cairn__cache_deleter)(cairn__slice key, void *value);

/* A cache holding at most `capacity` units of charge in entries that no
 * handle pins (pinned entries may push the total above it). A capacity of
 * 0 turns caching off: inserts hand back a handle but keep nothing.
 * CAIRN_NOMEM on allocation failure. */
int cairn__cache_create(size_t capacity, cairn__cache **out) CAIRN_WUR;

/* Frees the cache and every entry in it (running deleters). All handles
 * must have been released. NULL is ignored. */
void cairn__cache_destroy(cairn__cache *c);

/* Inserts key -> value with the given charge, replacing (erasing) any entry
 * with the same key, then evicts least recently used unpinned entries until
 * the usage fits the capacity. On success the cache owns value (deleter
 * frees it) and, if out is non-NULL, *out is a handle the caller must
 * release; with out NULL the handle is released at once. On CAIRN_NOMEM
 * nothing changed and the caller still owns value. */
int cairn__cache_insert(cairn__cache *c, cairn__slice key, void *value,
                        size_t charge, cairn__cache_deleter deleter,
                        cairn__cache_handle **out) CAIRN_WUR;

/* A handle to the entry for key, or NULL on a miss. */
cairn__cache_handle *cairn__cache_lookup(cairn__cache *c, cairn__slice key);

/* Gives a handle back. NULL is ignored. */
void cairn__cache_release(cairn__cache *c, cairn__cache_handle *h);

/* The value of a held handle. */
void *cairn__cache_value(const cairn__cache_handle *h);

/* Removes key's entry, if any, from the cache (pinned values stay valid
 * until released). */
void cairn__cache_erase(cairn__cache *c, cairn__slice key);

/* A number never returned before by this cache (1, 2, ...), for callers
 * that share the cache to partition its key space. */
uint64_t cairn__cache_new_id(cairn__cache *c);

/* Drops every entry that no handle pins. */
void cairn__cache_prune(cairn__cache *c);

/* The sum of the charges of all entries in the cache, pinned or not. */
size_t cairn__cache_total_charge(cairn__cache *c);

#endif
