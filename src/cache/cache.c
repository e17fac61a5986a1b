/*
 * cache.c: the sharded LRU cache of cache.h.
 *
 * The key's hash picks one of 16 shards (its top 4 bits), so threads that
 * touch different blocks rarely meet on a lock. Each shard is LevelDB's
 * LRUCache: a chained hash table for lookups plus two circular lists,
 *
 *   lru     entries in the cache that no caller holds, oldest first; only
 *           these may be evicted;
 *   in_use  entries in the cache that some caller holds.
 *
 * Invariants (per shard, all under its mutex):
 *  C1. An entry is in the hash table iff in_cache is 1.
 *  C2. in_cache == 1 and refs == 1  <=>  the entry is on lru;
 *      in_cache == 1 and refs >= 2  <=>  the entry is on in_use.
 *      (The cache's own reference counts as one.)
 *  C3. usage is the sum of the charges of entries with in_cache == 1.
 *  C4. An entry whose refs reach 0 is unlinked from everything; its deleter
 *      runs after the shard lock is dropped (the "dead" list below).
 *
 * A capacity of 0 means "cache nothing": inserted entries never enter the
 * table, so the returned handle is the only reference.
 */
#include "cache/cache.h"

#include "util/hash.h"
#include "util/port.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NUM_SHARD_BITS 4
#define NUM_SHARDS     (1u << NUM_SHARD_BITS)

typedef struct lnode {
    struct lnode *next;
    struct lnode *prev;
} lnode;

struct cairn__cache_handle {
    lnode link; /* first member: list nodes convert back to entries */
    void *value;
    cairn__cache_deleter deleter;
    /* Hash chain while in the table; the dead list after refs reach 0. */
    struct cairn__cache_handle *next_hash;
    size_t charge;
    size_t key_len;
    uint32_t hash;
    uint32_t refs; /* Locked: shard mu */
    int in_cache;  /* Locked: shard mu */
    char key[];
};

typedef struct cairn__cache_handle entry;

typedef struct shard {
    cairn__mutex mu;
    size_t capacity;  /* Immutable after create */
    size_t usage;     /* Locked: mu */
    lnode lru;        /* Locked: mu; next is the oldest */
    lnode in_use;     /* Locked: mu */
    entry **table;    /* Locked: mu */
    size_t table_len; /* Locked: mu; a power of two */
    size_t elems;     /* Locked: mu */
} shard;

struct cairn__cache {
    shard shards[NUM_SHARDS];
    /* Atomic, relaxed: ids only need to be unique, they publish nothing. */
    atomic_uint_fast64_t last_id;
};

static void list_init(lnode *h)
{
    h->next = h;
    h->prev = h;
}

static void list_remove(lnode *n)
{
    n->next->prev = n->prev;
    n->prev->next = n->next;
}

/* Appends at the newest end of the list headed by h. */
static void list_append(lnode *h, lnode *n)
{
    n->next = h;
    n->prev = h->prev;
    n->prev->next = n;
    n->next->prev = n;
}

static cairn__slice entry_key(const entry *e)
{
    return cairn__slice_make(e->key, e->key_len);
}

/* The slot holding the pointer to key's entry, or to the NULL ending the
 * chain if absent. */
static entry **table_find(shard *s, cairn__slice key, uint32_t hash)
{
    entry **p = &s->table[hash & (s->table_len - 1)];
    while (*p != NULL &&
           ((*p)->hash != hash || !cairn__slice_equal(key, entry_key(*p))))
        p = &(*p)->next_hash;
    return p;
}

/* Doubles the table. A failed allocation keeps the old table: chains get
 * longer but everything still works, so growth never reports an error. */
static void table_grow(shard *s)
{
    size_t nlen = s->table_len * 2;
    entry **nt = calloc(nlen, sizeof *nt);
    if (nt == NULL)
        return;
    for (size_t i = 0; i < s->table_len; i++) {
        entry *e = s->table[i];
        while (e != NULL) {
            entry *next = e->next_hash;
            entry **slot = &nt[e->hash & (nlen - 1)];
            e->next_hash = *slot;
            *slot = e;
            e = next;
        }
    }
    free(s->table);
    s->table = nt;
    s->table_len = nlen;
}

/* Drops one reference; a dead entry is pushed on *dead (C4). */
static void unref_locked(shard *s, entry *e, entry **dead)
{
    assert(e->refs > 0);
    e->refs--;
    if (e->refs == 0) {
        assert(!e->in_cache);
        e->next_hash = *dead;
        *dead = e;
    } else if (e->in_cache && e->refs == 1) {
        list_remove(&e->link);
        list_append(&s->lru, &e->link);
    }
}

static void ref_locked(shard *s, entry *e)
{
    if (e->refs == 1 && e->in_cache) {
        list_remove(&e->link);
        list_append(&s->in_use, &e->link);
    }
    e->refs++;
}

/* Finishes removing e, already unlinked from the hash table. */
static void finish_erase(shard *s, entry *e, entry **dead)
{
    assert(e->in_cache);
    list_remove(&e->link);
    e->in_cache = 0;
    s->usage -= e->charge;
    unref_locked(s, e, dead);
}

static entry *table_remove(shard *s, cairn__slice key, uint32_t hash)
{
    entry **p = table_find(s, key, hash);
    entry *e = *p;
    if (e != NULL) {
        *p = e->next_hash;
        s->elems--;
    }
    return e;
}

static void free_dead(entry *dead)
{
    while (dead != NULL) {
        entry *next = dead->next_hash;
        dead->deleter(entry_key(dead), dead->value);
        free(dead);
        dead = next;
    }
}

static uint32_t key_hash(cairn__slice key)
{
    return cairn__hash(key.data, key.size, 0);
}

static shard *shard_of(cairn__cache *c, uint32_t hash)
{
    return &c->shards[hash >> (32 - NUM_SHARD_BITS)];
}

int cairn__cache_create(size_t capacity, cairn__cache **out)
{
    *out = NULL;
    cairn__cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot allocate cache");
    size_t per_shard = capacity / NUM_SHARDS + (capacity % NUM_SHARDS != 0);
    int rc = 0;
    unsigned n;
    for (n = 0; n < NUM_SHARDS; n++) {
        shard *s = &c->shards[n];
        s->capacity = per_shard;
        list_init(&s->lru);
        list_init(&s->in_use);
        s->table_len = 16;
        s->table = calloc(s->table_len, sizeof *s->table);
        if (s->table == NULL) {
            rc = cairn__err(CAIRN_NOMEM, "cannot allocate cache shards");
            goto err;
        }
        rc = cairn__mutex_init(&s->mu);
        if (rc != 0) {
            free(s->table);
            goto err;
        }
    }
    atomic_init(&c->last_id, 0);
    *out = c;
    return 0;
err:
    while (n-- > 0) {
        cairn__mutex_fini(&c->shards[n].mu);
        free(c->shards[n].table);
    }
    free(c);
    return rc;
}

void cairn__cache_destroy(cairn__cache *c)
{
    if (c == NULL)
        return;
    for (unsigned n = 0; n < NUM_SHARDS; n++) {
        shard *s = &c->shards[n];
        entry *dead = NULL;
        /* Destroying a cache whose handles are still held is a caller bug
         * that would leave them dangling. */
        assert(s->in_use.next == &s->in_use);
        while (s->lru.next != &s->lru) {
            entry *e = (entry *)s->lru.next;
            assert(e->refs == 1);
            table_remove(s, entry_key(e), e->hash);
            finish_erase(s, e, &dead);
        }
        free_dead(dead);
        free(s->table);
        cairn__mutex_fini(&s->mu);
    }
    free(c);
}

int cairn__cache_insert(cairn__cache *c, cairn__slice key, void *value,
                        size_t charge, cairn__cache_deleter deleter,
                        cairn__cache_handle **out)
{
    if (out != NULL)
        *out = NULL;
    entry *e = malloc(sizeof *e + key.size);
    if (e == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot allocate cache entry");
    e->value = value;
    e->deleter = deleter;
    e->next_hash = NULL;
    e->charge = charge;
    e->key_len = key.size;
    e->hash = key_hash(key);
    e->refs = 1; /* the handle returned to the caller */
    e->in_cache = 0;
    if (key.size > 0)
        memcpy(e->key, key.data, key.size);

    shard *s = shard_of(c, e->hash);
    entry *dead = NULL;
    cairn__mutex_lock(&s->mu);
    if (s->capacity > 0) {
        e->refs++; /* the cache's own reference */
        e->in_cache = 1;
        list_append(&s->in_use, &e->link);
        s->usage += charge;
        entry **slot = table_find(s, key, e->hash);
        entry *old = *slot;
        e->next_hash = old != NULL ? old->next_hash : NULL;
        *slot = e;
        if (old != NULL)
            finish_erase(s, old, &dead);
        else if (++s->elems > s->table_len)
            table_grow(s);
    }
    while (s->usage > s->capacity && s->lru.next != &s->lru) {
        entry *victim = (entry *)s->lru.next;
        assert(victim->refs == 1);
        table_remove(s, entry_key(victim), victim->hash);
        finish_erase(s, victim, &dead);
    }
    cairn__mutex_unlock(&s->mu);
    free_dead(dead);

    if (out != NULL)
        *out = e;
    else
        cairn__cache_release(c, e);
    return 0;
}

cairn__cache_handle *cairn__cache_lookup(cairn__cache *c, cairn__slice key)
{
    uint32_t hash = key_hash(key);
    shard *s = shard_of(c, hash);
    cairn__mutex_lock(&s->mu);
    entry *e = *table_find(s, key, hash);
    if (e != NULL)
        ref_locked(s, e);
    cairn__mutex_unlock(&s->mu);
    return e;
}

void cairn__cache_release(cairn__cache *c, cairn__cache_handle *h)
{
    if (h == NULL)
        return;
    shard *s = shard_of(c, h->hash);
    entry *dead = NULL;
    cairn__mutex_lock(&s->mu);
    unref_locked(s, h, &dead);
    cairn__mutex_unlock(&s->mu);
    free_dead(dead);
}

void *cairn__cache_value(const cairn__cache_handle *h)
{
    return h->value;
}

void cairn__cache_erase(cairn__cache *c, cairn__slice key)
{
    uint32_t hash = key_hash(key);
    shard *s = shard_of(c, hash);
    entry *dead = NULL;
    cairn__mutex_lock(&s->mu);
    entry *e = table_remove(s, key, hash);
    if (e != NULL)
        finish_erase(s, e, &dead);
    cairn__mutex_unlock(&s->mu);
    free_dead(dead);
}

uint64_t cairn__cache_new_id(cairn__cache *c)
{
    return (uint64_t)atomic_fetch_add_explicit(&c->last_id, 1,
                                               memory_order_relaxed) +
           1;
}

void cairn__cache_prune(cairn__cache *c)
{
    for (unsigned n = 0; n < NUM_SHARDS; n++) {
        shard *s = &c->shards[n];
        entry *dead = NULL;
        cairn__mutex_lock(&s->mu);
        while (s->lru.next != &s->lru) {
            entry *e = (entry *)s->lru.next;
            table_remove(s, entry_key(e), e->hash);
            finish_erase(s, e, &dead);
        }
        cairn__mutex_unlock(&s->mu);
        free_dead(dead);
    }
}

size_t cairn__cache_total_charge(cairn__cache *c)
{
    size_t total = 0;
    for (unsigned n = 0; n < NUM_SHARDS; n++) {
        shard *s = &c->shards[n];
        cairn__mutex_lock(&s->mu);
        total += s->usage;
        cairn__mutex_unlock(&s->mu);
    }
    return total;
}
