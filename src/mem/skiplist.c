/*
 * skiplist.c: see skiplist.h for the contract.
 *
 * A node is one aligned arena allocation: the key pointer followed by
 * `height` atomic next pointers, level 0 first. The head node has the full
 * height and no key; the list starts with max_height 1.
 *
 * How a node becomes visible to lock-free readers (S2):
 *  1. The writer fills the new node (its key pointer with a plain store,
 *     its links with relaxed stores copied from its predecessors). Nobody
 *     else can reach the node yet, so no ordering is needed among these.
 *  2. It then links the node into each level with a release store into the
 *     predecessor's next pointer, level 0 first. Readers load next pointers
 *     with acquire, so a reader that reaches the node through any level also
 *     sees everything written before that release: the node's key pointer,
 *     its links, and the key bytes the caller wrote before inserting.
 *  Linking from the bottom up means a node reachable at level i is already
 *  in every level below i, so a search that descends from it stays correct.
 *
 * The height is raised (relaxed) before any of the new levels is linked. A
 * reader that sees the new height early finds a null head link at that
 * level, which reads as "everything here is greater", and descends.
 */
#include "mem/skiplist.h"

#include <assert.h>
#include <stddef.h>

#define SKIPLIST_BRANCHING 4
#define SKIPLIST_SEED      0xdeadbeefu

struct cairn__skipnode {
    const char *key; /* Written before publication (step 1 above) */
    /* Atomic: links, published with release and read with acquire. */
    _Atomic(cairn__skipnode *) next[];
};

/* Acquire: pairs with the release in set_next, so the node returned is
 * fully built, with its key and links visible to this thread. */
static cairn__skipnode *get_next(const cairn__skipnode *n, int level)
{
    return atomic_load_explicit(&((cairn__skipnode *)n)->next[level],
                                memory_order_acquire);
}

/* Release: publishes x (its key pointer, its links and the key bytes) to
 * every reader that later loads this link with acquire in get_next. */
static void set_next(cairn__skipnode *n, int level, cairn__skipnode *x)
{
    atomic_store_explicit(&n->next[level], x, memory_order_release);
}

static cairn__skipnode *new_node(cairn__arena *arena, const char *key,
                                 int height)
{
    size_t size = sizeof(cairn__skipnode) +
                  (size_t)height * sizeof(_Atomic(cairn__skipnode *));
    cairn__skipnode *n =
        (cairn__skipnode *)cairn__arena_alloc_aligned(arena, size);
    if (n == NULL)
        return NULL;
    n->key = key;
    /* The node is private until published, so plain initialisation of its
     * links is enough. */
    for (int i = 0; i < height; i++)
        atomic_init(&n->next[i], NULL);
    return n;
}

static int random_height(cairn__skiplist *l)
{
    int height = 1;
    while (height < CAIRN__SKIPLIST_MAX_HEIGHT &&
           cairn__random_next(&l->rnd) % SKIPLIST_BRANCHING == 0)
        height++;
    return height;
}

static int current_height(const cairn__skiplist *l)
{
    return atomic_load_explicit(&((cairn__skiplist *)l)->max_height,
                                memory_order_relaxed);
}

/* The first node with key >= key, or NULL. With prev != NULL, also fills
 * prev[i] with the last node before key at each level below the current
 * height (the insert splice points). */
static cairn__skipnode *find_ge(const cairn__skiplist *l, const char *key,
                                cairn__skipnode **prev)
{
    cairn__skipnode *x = l->head;
    int level = current_height(l) - 1;
    for (;;) {
        cairn__skipnode *next = get_next(x, level);
        if (next != NULL && l->cmp(next->key, key) < 0) {
            x = next;
            continue;
        }
        if (prev != NULL)
            prev[level] = x;
        if (level == 0)
            return next;
        level--;
    }
}

/* The last node with key < key, or the head if there is none. */
static const cairn__skipnode *find_lt(const cairn__skiplist *l, const char *key)
{
    const cairn__skipnode *x = l->head;
    int level = current_height(l) - 1;
    for (;;) {
        cairn__skipnode *next = get_next(x, level);
        if (next != NULL && l->cmp(next->key, key) < 0) {
            x = next;
            continue;
        }
        if (level == 0)
            return x;
        level--;
    }
}

/* The last node of the list, or the head if it is empty. */
static const cairn__skipnode *find_last(const cairn__skiplist *l)
{
    const cairn__skipnode *x = l->head;
    int level = current_height(l) - 1;
    for (;;) {
        cairn__skipnode *next = get_next(x, level);
        if (next != NULL) {
            x = next;
            continue;
        }
        if (level == 0)
            return x;
        level--;
    }
}

int cairn__skiplist_init(cairn__skiplist *l, cairn__arena *arena,
                         cairn__skiplist_cmp cmp)
{
    l->cmp = cmp;
    l->arena = arena;
    cairn__random_init(&l->rnd, SKIPLIST_SEED);
    atomic_init(&l->max_height, 1);
    l->head = new_node(arena, NULL, CAIRN__SKIPLIST_MAX_HEIGHT);
    if (l->head == NULL)
        return cairn__err(CAIRN_NOMEM, "skiplist: no memory for head node");
    return 0;
}

int cairn__skiplist_insert(cairn__skiplist *l, const char *key)
{
    cairn__skipnode *prev[CAIRN__SKIPLIST_MAX_HEIGHT];
    cairn__skipnode *x = find_ge(l, key, prev);
    if (x != NULL && l->cmp(key, x->key) == 0)
        return cairn__err(CAIRN_INVALID, "skiplist: duplicate key");

    int height = random_height(l);
    x = new_node(l->arena, key, height);
    if (x == NULL)
        return cairn__err(CAIRN_NOMEM, "skiplist: no memory for node");

    /* Only the writer stores max_height, so this relaxed load is exact. */
    int cur = current_height(l);
    if (height > cur) {
        for (int i = cur; i < height; i++)
            prev[i] = l->head;
        /* Relaxed: see max_height in skiplist.h; the levels it announces
         * are linked (with release) below. */
        atomic_store_explicit(&l->max_height, height, memory_order_relaxed);
    }

    for (int i = 0; i < height; i++) {
        /* Relaxed for both: x is still private, and prev[i]->next[i] was
         * last written by this same thread (S1). */
        cairn__skipnode *succ =
            atomic_load_explicit(&prev[i]->next[i], memory_order_relaxed);
        atomic_store_explicit(&x->next[i], succ, memory_order_relaxed);
        set_next(prev[i], i, x);
    }
    return 0;
}

int cairn__skiplist_prepare(cairn__skiplist *l, const char *key,
                            cairn__skip_pending *out)
{
    int height = random_height(l);
    cairn__skipnode *x = new_node(l->arena, key, height);
    if (x == NULL)
        return cairn__err(CAIRN_NOMEM, "skiplist: no memory for node");
    out->node = x;
    out->height = height;
    return 0;
}

/* From `from` (at level `level`, whose key is below x's or the head),
 * moves right to the last node whose key is below x's: *prev is it and
 * *next its successor at that level. */
static void splice_at(const cairn__skiplist *l, const char *key,
                      cairn__skipnode *from, int level, cairn__skipnode **prev,
                      cairn__skipnode **next)
{
    cairn__skipnode *x = from;
    for (;;) {
        cairn__skipnode *n = get_next(x, level);
        if (n != NULL && l->cmp(n->key, key) < 0) {
            x = n;
            continue;
        }
        *prev = x;
        *next = n;
        return;
    }
}

void cairn__skiplist_link(cairn__skiplist *l, const cairn__skip_pending *p)
{
    cairn__skipnode *x = p->node;
    int height = p->height;
    /* Raise the announced height first (relaxed, as in insert: a reader
     * that sees it early finds null head links there and drops a level). */
    int cur = current_height(l);
    while (height > cur && !atomic_compare_exchange_weak_explicit(
                               &l->max_height, &cur, height,
                               memory_order_relaxed, memory_order_relaxed))
        ;
    int top = height > cur ? height : cur;
    cairn__skipnode *prev[CAIRN__SKIPLIST_MAX_HEIGHT];
    cairn__skipnode *next[CAIRN__SKIPLIST_MAX_HEIGHT];
    cairn__skipnode *from = l->head;
    for (int i = top - 1; i >= 0; i--) {
        splice_at(l, x->key, from, i, &prev[i], &next[i]);
        from = prev[i];
    }
    for (int i = 0; i < height; i++) {
        for (;;) {
            /* Relaxed: x's link at level i is read by others only once x
             * is reachable at level i, which the release CAS below
             * publishes. */
            atomic_store_explicit(&x->next[i], next[i], memory_order_relaxed);
            cairn__skipnode *expect = next[i];
            if (atomic_compare_exchange_strong_explicit(
                    &prev[i]->next[i], &expect, x, memory_order_release,
                    memory_order_acquire))
                break;
            /* Another node went in between: search again from prev[i],
             * still below x. */
            splice_at(l, x->key, prev[i], i, &prev[i], &next[i]);
        }
    }
}

int cairn__skiplist_contains(const cairn__skiplist *l, const char *key)
{
    const cairn__skipnode *x = find_ge(l, key, NULL);
    return x != NULL && l->cmp(key, x->key) == 0;
}

void cairn__skiplist_iter_init(cairn__skiplist_iter *it,
                               const cairn__skiplist *l)
{
    it->list = l;
    it->node = NULL;
}

int cairn__skiplist_iter_valid(const cairn__skiplist_iter *it)
{
    return it->node != NULL;
}

const char *cairn__skiplist_iter_key(const cairn__skiplist_iter *it)
{
    assert(it->node != NULL);
    return it->node->key;
}

void cairn__skiplist_iter_next(cairn__skiplist_iter *it)
{
    assert(it->node != NULL);
    it->node = get_next(it->node, 0);
}

void cairn__skiplist_iter_prev(cairn__skiplist_iter *it)
{
    assert(it->node != NULL);
    const cairn__skipnode *x = find_lt(it->list, it->node->key);
    it->node = x == it->list->head ? NULL : x;
}

void cairn__skiplist_iter_seek(cairn__skiplist_iter *it, const char *target)
{
    it->node = find_ge(it->list, target, NULL);
}

void cairn__skiplist_iter_seek_first(cairn__skiplist_iter *it)
{
    it->node = get_next(it->list->head, 0);
}

void cairn__skiplist_iter_seek_last(cairn__skiplist_iter *it)
{
    const cairn__skipnode *x = find_last(it->list);
    it->node = x == it->list->head ? NULL : x;
}
