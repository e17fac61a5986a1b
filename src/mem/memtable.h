/*
 * memtable.h: the in-memory write buffer: an arena-backed skiplist of
 * LevelDB-encoded entries (docs/format.md "Memtable entries"):
 *
 *   varint32 ikey_len | user_key | fixed64 tag | varint32 val_len | value
 *
 * ordered by internal key (user key ascending, tag descending).
 *
 * Threads (invariants cited by tests and docs/locking.md):
 *  M1. At most one thread calls cairn__memtable_add at a time (the write
 *      leader; the caller serialises).
 *  M2. Any number of threads may call get, memory_usage and iterate at the
 *      same time as the writer, without locks: entries are published with
 *      release stores in the skiplist and read with acquire loads.
 *  M3. The memtable lives while its reference count is > 0; readers take a
 *      reference (under the db mutex) before reading.
 *  M4. The write path's parallel insert: cairn__memtable_prepare builds
 *      entries without adding them (writer only, as add: M1), and any
 *      number of threads may then cairn__memtable_link prepared entries at
 *      once, with readers (M2) but not with add. An entry counts (count)
 *      once linked; memory_usage counts it once prepared.
 *  M5. Shards. A memtable may be split into up to
 *      CAIRN__MEMTABLE_MAX_SHARDS skiplists, each with its own arena; add
 *      and prepare put an entry into the shard of the CPU the calling
 *      thread runs on (sched_getcpu; prepare asks once per pending list,
 *      whose entries all go to its first entry's shard, so a pending list
 *      must hold entries of one memtable), so that leaders on different cores
 *      build and link into different lists and their cache lines stay on
 *      their core. get searches every shard and returns the newest
 *      version; the iterator merges the shards into one internal-key
 *      order. M1 and M4 hold for the memtable as a whole (one writer
 *      preparing at a time, whatever the shard).
 *  M6. Filters. Each shard may keep a filter of the user keys it holds
 *      (a blocked Bloom filter: three bits of one 64-bit word per key).
 *      The writer sets a key's bits before the entry can be linked, so a
 *      lookup that finds them clear skips the shard's search: a key that
 *      lives only in tables costs one hash and a load per shard instead
 *      of a skiplist search. Its size is fixed at create; a fuller filter
 *      only skips less. The filter's memory is not in memory_usage (which
 *      counts the arenas, as LevelDB does, and decides memtable switches).
 */
#ifndef CAIRN_MEM_MEMTABLE_H
#define CAIRN_MEM_MEMTABLE_H

#include "iter/iter.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cairn__memtable cairn__memtable;

/* A new empty memtable with reference count 1. */
int cairn__memtable_create(cairn__memtable **out) CAIRN_WUR;
/* A memtable whose arena takes its blocks from pool (see util/arena.h);
 * the pool must outlive it. pool may be NULL. */
int cairn__memtable_create_pooled(cairn__memtable **out,
                                  cairn__arena_pool *pool) CAIRN_WUR;
/* Shards at most (M5). */
#define CAIRN__MEMTABLE_MAX_SHARDS 16
/* A memtable of nshards shards (M5), 1..CAIRN__MEMTABLE_MAX_SHARDS, else
 * CAIRN_INVALID, each with a filter of filter_bytes (rounded down to 8;
 * 0: no filter, M6). create_pooled makes one shard without a filter. */
int cairn__memtable_create_sharded(cairn__memtable **out,
                                   cairn__arena_pool *pool, int nshards,
                                   size_t filter_bytes) CAIRN_WUR;
int cairn__memtable_shards(const cairn__memtable *m);
void cairn__memtable_ref(cairn__memtable *m);
/* Frees the memtable when the count drops to 0. NULL is ignored. */
void cairn__memtable_unref(cairn__memtable *m);

/* Arena bytes in use (LevelDB's ApproximateMemoryUsage). Any thread. */
size_t cairn__memtable_memory_usage(const cairn__memtable *m);

/* Adds an entry. type is CAIRN__TYPE_VALUE or CAIRN__TYPE_DELETION (value
 * ignored for deletions). CAIRN_NOMEM if the arena cannot grow; nothing is
 * added then. Caller guarantees M1 and that (key, seq) is new. */
int cairn__memtable_add(cairn__memtable *m, uint64_t seq, int type,
                        cairn__slice key, cairn__slice value) CAIRN_WUR;

/* add into the given shard (0 .. shards - 1, else CAIRN_INVALID) instead
 * of the calling CPU's; tests use it to place versions of a key in
 * different shards. */
int cairn__memtable_add_to(cairn__memtable *m, int shard, uint64_t seq,
                           int type, cairn__slice key,
                           cairn__slice value) CAIRN_WUR;

/* M4: builds the entry in the arena and appends its handle (an opaque
 * cairn__memtable_pending) to *pending, without adding it to the list.
 * Same arguments and errors as add, plus CAIRN_NOMEM for *pending. */
int cairn__memtable_prepare(cairn__memtable *m, uint64_t seq, int type,
                            cairn__slice key, cairn__slice value,
                            cairn__buf *pending) CAIRN_WUR;
/* M4: adds every entry whose handle is in pending (as filled by prepare on
 * this memtable). Any number of threads at once. */
void cairn__memtable_link(cairn__memtable *m, const cairn__buf *pending);

/* Looks up the newest entry for key with seq <= snapshot.
 * Returns 0 and sets *found: 0 no entry, 1 a value (copied into *value,
 * replacing its contents), 2 a deletion. CAIRN_NOMEM if the copy fails. */
int cairn__memtable_get(cairn__memtable *m, cairn__slice key, uint64_t snapshot,
                        cairn__buf *value, int *found) CAIRN_WUR;

/* An iterator over the entries: keys are internal keys, values the stored
 * values. It holds a reference on the memtable until destroyed. NULL on
 * out-of-memory. */
cairn__iter *cairn__memtable_iter(cairn__memtable *m);

/* Number of entries (for stats and tests). */
uint64_t cairn__memtable_count(const cairn__memtable *m);

#endif
