/*
 * skiplist.h: the ordered set under a memtable (LevelDB's SkipList).
 *
 * Keys are `const char *` pointers to bytes the caller owns (for the
 * memtable, encoded entries in the same arena), ordered by a comparator
 * function. The list stores the pointer, never a copy, so the bytes must
 * stay put and unchanged for as long as the list lives. Nodes come from an
 * arena and are never freed one by one: finalising the arena frees the
 * whole list, which is why there is no cairn__skiplist_fini.
 *
 * Shape (docs/format.md does not depend on it, but memory figures do): at
 * most CAIRN__SKIPLIST_MAX_HEIGHT levels; a node's height grows by one while
 * a Park-Miller generator seeded 0xdeadbeef draws a multiple of 4, so
 * heights and memory usage match LevelDB's for the same insert sequence.
 *
 * Threads (invariants cited by tests and docs/locking.md):
 *  S1. At most one thread calls cairn__skiplist_insert at a time, and it is
 *      the only thread allocating from the arena (the caller serialises).
 *  S2. Any number of threads may call contains and use iterators at the
 *      same time as the writer, without locks. A reader sees every key whose
 *      insert returned before the reader started its search (happens-before
 *      through the caller's own synchronisation), and possibly some newer
 *      ones, never a half-built node.
 *  S3. Keys are unique under the comparator; an insert of an equal key is
 *      refused with CAIRN_INVALID.
 *  S4. The list (and so its arena) must outlive every reader; the memtable
 *      guarantees this with its reference count.
 */
#ifndef CAIRN_MEM_SKIPLIST_H
#define CAIRN_MEM_SKIPLIST_H

#include "util/arena.h"
#include "util/error.h"
#include "util/random.h"

#include <stdatomic.h>

#define CAIRN__SKIPLIST_MAX_HEIGHT 12

/* Three-way comparison of two keys: negative, 0 or positive. It must be
 * safe to call from any thread (it only reads the two keys). */
typedef int (*cairn__skiplist_cmp)(const char *a, const char *b);

typedef struct cairn__skipnode cairn__skipnode;

typedef struct cairn__skiplist {
    cairn__skiplist_cmp cmp; /* Immutable after init */
    cairn__arena *arena;     /* Writer only (S1) */
    cairn__skipnode *head;   /* Immutable after init: full height, no key */
    /* Atomic, relaxed: the height of the tallest node. A reader that sees a
     * new height before the head links of that level just finds a null link
     * there and drops a level, so no ordering is needed. */
    atomic_int max_height;
    cairn__random rnd; /* Writer only (S1): draws node heights */
} cairn__skiplist;

/* Prepares an empty list whose nodes come from `arena` (borrowed; it must
 * outlive the list). Allocates the head node, so CAIRN_NOMEM is possible. */
int cairn__skiplist_init(cairn__skiplist *l, cairn__arena *arena,
                         cairn__skiplist_cmp cmp) CAIRN_WUR;

/* Inserts key (borrowed; see the top of this file). Writer only (S1).
 * CAIRN_INVALID if an equal key is present (S3), CAIRN_NOMEM if the arena
 * cannot grow; in both cases the list is unchanged. */
int cairn__skiplist_insert(cairn__skiplist *l, const char *key) CAIRN_WUR;

/* Two-step insertion, so that several threads can link at once (the
 * write path's parallel memtable insert):
 *  S5. cairn__skiplist_prepare allocates and fills a node for key (writer
 *      only, as insert: S1) without linking it. cairn__skiplist_link then
 *      links a prepared node, and any number of threads may link at the
 *      same time, with each other and with readers (S2), but not with
 *      cairn__skiplist_insert. Each level is linked with a compare-and-swap
 *      (release) from the bottom up, and a failed one searches again from
 *      its predecessor at that level. The caller guarantees uniqueness
 *      (S3 is not checked: the memtable's keys carry distinct sequence
 *      numbers). A reader sees a node once its level-0 link is in. */
typedef struct cairn__skip_pending {
    cairn__skipnode *node;
    int height;
} cairn__skip_pending;

/* CAIRN_NOMEM if the arena cannot grow (nothing is allocated then). */
int cairn__skiplist_prepare(cairn__skiplist *l, const char *key,
                            cairn__skip_pending *out) CAIRN_WUR;
void cairn__skiplist_link(cairn__skiplist *l, const cairn__skip_pending *p);

/* 1 if a key equal to `key` is in the list, else 0. Any thread (S2). */
int cairn__skiplist_contains(const cairn__skiplist *l, const char *key);

/* A position in a list. Plain value, nothing to free; one thread at a time
 * per iterator, any number of iterators (S2). It starts invalid. */
typedef struct cairn__skiplist_iter {
    const cairn__skiplist *list;
    const cairn__skipnode *node; /* NULL when not valid */
} cairn__skiplist_iter;

void cairn__skiplist_iter_init(cairn__skiplist_iter *it,
                               const cairn__skiplist *l);
int cairn__skiplist_iter_valid(const cairn__skiplist_iter *it);
/* The key at the position; only while valid. */
const char *cairn__skiplist_iter_key(const cairn__skiplist_iter *it);
/* Advance or step back; only while valid. prev searches the list again
 * (there are no back links), so it costs O(log n). */
void cairn__skiplist_iter_next(cairn__skiplist_iter *it);
void cairn__skiplist_iter_prev(cairn__skiplist_iter *it);
/* First key >= target. */
void cairn__skiplist_iter_seek(cairn__skiplist_iter *it, const char *target);
void cairn__skiplist_iter_seek_first(cairn__skiplist_iter *it);
void cairn__skiplist_iter_seek_last(cairn__skiplist_iter *it);

#endif
