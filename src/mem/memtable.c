/*
 * memtable.c: the in-memory write buffer (see memtable.h for the contract
 * and invariants M1-M3).
 *
 * Each entry is one unaligned arena allocation, laid out exactly as in
 * LevelDB (docs/format.md "Memtable entries"):
 *
 *   varint32 ikey_len | user_key | fixed64 (seq << 8 | type)
 *   | varint32 val_len | value
 *
 * with ikey_len = user_key_len + 8 and val_len 0 for deletions. The skiplist
 * stores a pointer to the first byte; the comparator decodes the
 * length-prefixed internal key from each side and applies the internal-key
 * order (user key ascending, tag descending). Entries are written by the
 * single writer before the skiplist publishes them with a release store, so
 * lock-free readers (M2) only ever see whole entries.
 *
 * Lookups and iterator seeks compare against a "memtable key": the same
 * varint32 prefix and internal key with no value part. The comparator only
 * reads the key part, so it accepts both shapes.
 *
 * The reference count is atomic so that an iterator, which holds a
 * reference, may be destroyed on any thread without the db mutex.
 */
#include "mem/memtable.h"

#include "iter/merge.h"
#include "mem/skiplist.h"
#include "util/arena.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/ikey.h"

#include <assert.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Lookup keys up to this size are built on the stack (LevelDB's figure). */
#define LOOKUP_INLINE 200

/* One shard: a skiplist and the arena its entries and nodes come from.
 * Aligned so that two cores writing two shards share no cache line. */
typedef struct shard {
    _Alignas(64) atomic_uint_fast64_t count; /* Atomic, relaxed: linked */
    cairn__arena arena;   /* Writer only (M1), except memory_usage */
    cairn__skiplist list; /* Its own rules: skiplist.h S1-S5 */
    /* The user-key filter (M6), filter_words words or NULL. Written by the
     * one writer (M1) with relaxed loads and stores, read by anyone with
     * relaxed loads: a reader that can see an entry can see its bits,
     * since they are set before the entry is linked (a release store). */
    _Atomic uint64_t *filter;
} shard;

struct cairn__memtable {
    /* Atomic: references; the final decrement frees (see unref). */
    atomic_uint_fast32_t refs;
    int nshards;         /* Immutable after create */
    size_t filter_words; /* Immutable after create: 0 without filters */
    shard sh[];
};

/* Where a user key's filter bits are (M6): one 64-bit word chosen by the
 * hash, three bits in it chosen by a multiplicative mix of the same hash,
 * so a lookup or an insert touches one cache line per shard. */
static void filter_pos(const cairn__memtable *m, cairn__slice ukey,
                       size_t *word, uint64_t *mask)
{
    uint32_t h = cairn__hash(ukey.data, ukey.size, 0x6d656d66u);
    *word = (size_t)(((uint64_t)h * m->filter_words) >> 32);
    uint64_t x = (uint64_t)h * 0x9e3779b97f4a7c15ull;
    *mask = (UINT64_C(1) << (x >> 58)) | (UINT64_C(1) << ((x >> 52) & 63)) |
            (UINT64_C(1) << ((x >> 46) & 63));
}

/* Sets key's bits in shard s's filter (writer only, M1). */
static void filter_add(cairn__memtable *m, shard *s, cairn__slice ukey)
{
    if (s->filter == NULL)
        return;
    size_t w;
    uint64_t mask;
    filter_pos(m, ukey, &w, &mask);
    uint64_t old = atomic_load_explicit(&s->filter[w], memory_order_relaxed);
    if ((old & mask) != mask)
        atomic_store_explicit(&s->filter[w], old | mask, memory_order_relaxed);
}

/* A prepared entry (memtable.h M4): the node and the shard it belongs to. */
typedef struct pending_entry {
    cairn__skip_pending p;
    int shard;
} pending_entry;

/* The internal key of an entry or memtable key written by this file, so
 * the varint is well formed and the limit only bounds the decoder. */
static cairn__slice entry_ikey(const char *p)
{
    /* Fast path: keys under 120 bytes have a one-byte length, and this
     * runs in every comparison of every skiplist search. */
    unsigned char b0 = (unsigned char)p[0];
    if (b0 < 0x80)
        return cairn__slice_make(p + 1, b0);
    uint32_t n = 0;
    const char *q = cairn__get_varint32_ptr(p, p + CAIRN__MAX_VARINT32, &n);
    return cairn__slice_make(q, n);
}

/* The value that follows the internal key of an entry. */
static cairn__slice entry_value(const char *p)
{
    cairn__slice ikey = entry_ikey(p);
    const char *v = ikey.data + ikey.size;
    uint32_t n = 0;
    const char *q = cairn__get_varint32_ptr(v, v + CAIRN__MAX_VARINT32, &n);
    return cairn__slice_make(q, n);
}

static int entry_compare(const char *a, const char *b)
{
    return cairn__ikey_compare(entry_ikey(a), entry_ikey(b));
}

int cairn__memtable_create(cairn__memtable **out)
{
    return cairn__memtable_create_pooled(out, NULL);
}

int cairn__memtable_create_pooled(cairn__memtable **out,
                                  cairn__arena_pool *pool)
{
    return cairn__memtable_create_sharded(out, pool, 1, 0);
}

int cairn__memtable_create_sharded(cairn__memtable **out,
                                   cairn__arena_pool *pool, int nshards,
                                   size_t filter_bytes)
{
    int rc = 0;
    *out = NULL;
    if (nshards < 1 || nshards > CAIRN__MEMTABLE_MAX_SHARDS)
        return cairn__err(CAIRN_INVALID, "memtable: %d shards outside [1, %d]",
                          nshards, CAIRN__MEMTABLE_MAX_SHARDS);
    cairn__memtable *m =
        aligned_alloc(64, sizeof *m + (size_t)nshards * sizeof(shard));
    if (m == NULL)
        return cairn__err(CAIRN_NOMEM, "memtable: out of memory");
    atomic_init(&m->refs, 1);
    m->nshards = nshards;
    m->filter_words = filter_bytes / 8;
    if (m->filter_words > UINT32_MAX)
        m->filter_words = UINT32_MAX;
    int i;
    for (i = 0; i < nshards; i++) {
        shard *s = &m->sh[i];
        atomic_init(&s->count, 0);
        s->filter = NULL;
        if (m->filter_words > 0) {
            /* Zeroed memory is all-zero atomics on every platform cairn
             * builds for (a lock-free uint64_t). */
            s->filter = calloc(m->filter_words, sizeof *s->filter);
            if (s->filter == NULL) {
                rc = cairn__err(CAIRN_NOMEM,
                                "memtable: no memory for a "
                                "%zu-byte filter",
                                m->filter_words * 8);
                break;
            }
        }
        cairn__arena_init_pooled(&s->arena, pool);
        rc = cairn__skiplist_init(&s->list, &s->arena, entry_compare);
        if (rc != 0) {
            cairn__arena_fini(&s->arena);
            free(s->filter);
            break;
        }
    }
    if (rc != 0) {
        while (i-- > 0) {
            cairn__arena_fini(&m->sh[i].arena);
            free(m->sh[i].filter);
        }
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int cairn__memtable_shards(const cairn__memtable *m)
{
    return m->nshards;
}

void cairn__memtable_ref(cairn__memtable *m)
{
    /* Relaxed: the caller already holds a reference, so the memtable cannot
     * be freed concurrently and nothing needs publishing. */
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void cairn__memtable_unref(cairn__memtable *m)
{
    if (m == NULL)
        return;
    /* Release publishes this holder's last reads of the memtable; acquire
     * (on the thread that drops the count to 0) makes every other holder's
     * reads happen before the free below. */
    uint_fast32_t old =
        atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel);
    assert(old > 0);
    if (old == 1) {
        for (int i = 0; i < m->nshards; i++) {
            cairn__arena_fini(&m->sh[i].arena);
            free(m->sh[i].filter);
        }
        free(m);
    }
}

size_t cairn__memtable_memory_usage(const cairn__memtable *m)
{
    size_t n = 0;
    for (int i = 0; i < m->nshards; i++)
        n += cairn__arena_memory_usage(&m->sh[i].arena);
    return n;
}

uint64_t cairn__memtable_count(const cairn__memtable *m)
{
    uint64_t n = 0;
    for (int i = 0; i < m->nshards; i++)
        n += (uint64_t)atomic_load_explicit(
            &((cairn__memtable *)m)->sh[i].count, memory_order_relaxed);
    return n;
}

/* The shard the calling thread writes: the one of the CPU it runs on, so
 * that writers on different cores build and link into different lists. A
 * thread moved meanwhile only costs some cache traffic. */
static int my_shard(const cairn__memtable *m)
{
    if (m->nshards == 1)
        return 0;
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : cpu % m->nshards;
}

/* Encodes the entry into the arena; *out is its bytes. */
static int build_entry(cairn__arena *arena, uint64_t seq, int type,
                       cairn__slice key, cairn__slice value, char **out)
{
    if (type != CAIRN__TYPE_VALUE && type != CAIRN__TYPE_DELETION)
        return cairn__err(CAIRN_INVALID, "memtable: bad entry type %d", type);
    if (seq > CAIRN__MAX_SEQ)
        return cairn__err(CAIRN_INVALID, "memtable: sequence too large");
    if (type == CAIRN__TYPE_DELETION)
        value = cairn__slice_make("", 0);
    /* Both lengths are varint32s in the entry (and in table blocks later);
     * reject what cannot be encoded. */
    if (key.size > UINT32_MAX - 8 || value.size > UINT32_MAX)
        return cairn__err(CAIRN_INVALID, "memtable: key or value too large");

    uint32_t ikey_len = (uint32_t)key.size + 8;
    uint32_t val_len = (uint32_t)value.size;
    size_t len = (size_t)cairn__varint_length(ikey_len) + ikey_len +
                 (size_t)cairn__varint_length(val_len) + val_len;
    char *buf = cairn__arena_alloc(arena, len);
    if (buf == NULL)
        return cairn__err(CAIRN_NOMEM, "memtable: no memory for %zu bytes",
                          len);

    char *p = cairn__encode_varint32(buf, ikey_len);
    if (key.size > 0)
        memcpy(p, key.data, key.size);
    p += key.size;
    cairn__encode_fixed64(p, cairn__ikey_tag(seq, type));
    p += 8;
    p = cairn__encode_varint32(p, val_len);
    if (val_len > 0)
        memcpy(p, value.data, val_len);
    assert((size_t)(p + val_len - buf) == len);
    *out = buf;
    return 0;
}

int cairn__memtable_add(cairn__memtable *m, uint64_t seq, int type,
                        cairn__slice key, cairn__slice value)
{
    return cairn__memtable_add_to(m, my_shard(m), seq, type, key, value);
}

int cairn__memtable_add_to(cairn__memtable *m, int shard_no, uint64_t seq,
                           int type, cairn__slice key, cairn__slice value)
{
    char *buf = NULL;
    if (shard_no < 0 || shard_no >= m->nshards)
        return cairn__err(CAIRN_INVALID, "memtable: no shard %d of %d",
                          shard_no, m->nshards);
    shard *s = &m->sh[shard_no];
    CAIRN_TRY(build_entry(&s->arena, seq, type, key, value, &buf));
    /* On failure the entry's bytes stay in the arena unused: the arena
     * cannot give memory back, and the list is unchanged (a filter bit set
     * for nothing only costs a search). */
    filter_add(m, s, key);
    CAIRN_TRY(cairn__skiplist_insert(&s->list, buf));
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    return 0;
}

int cairn__memtable_prepare(cairn__memtable *m, uint64_t seq, int type,
                            cairn__slice key, cairn__slice value,
                            cairn__buf *pending)
{
    char *buf = NULL;
    pending_entry pe;
    memset(&pe, 0, sizeof pe);
    if (pending->len >= sizeof pe) {
        /* One leader prepares the whole list: its entries stay in the
         * shard its first one chose, without asking for the CPU again. */
        pending_entry first;
        memcpy(&first, pending->data, sizeof first);
        pe.shard = first.shard;
    } else {
        pe.shard = my_shard(m);
    }
    shard *s = &m->sh[pe.shard];
    CAIRN_TRY(build_entry(&s->arena, seq, type, key, value, &buf));
    filter_add(m, s, key);
    CAIRN_TRY(cairn__skiplist_prepare(&s->list, buf, &pe.p));
    return cairn__buf_append(pending, (const char *)&pe, sizeof pe);
}

void cairn__memtable_link(cairn__memtable *m, const cairn__buf *pending)
{
    size_t n = pending->len / sizeof(pending_entry);
    uint64_t linked[CAIRN__MEMTABLE_MAX_SHARDS] = {0};
    for (size_t i = 0; i < n; i++) {
        pending_entry pe;
        memcpy(&pe, pending->data + i * sizeof pe, sizeof pe);
        cairn__skiplist_link(&m->sh[pe.shard].list, &pe.p);
        linked[pe.shard]++;
    }
    for (int i = 0; i < m->nshards; i++)
        if (linked[i] > 0)
            atomic_fetch_add_explicit(&m->sh[i].count, linked[i],
                                      memory_order_relaxed);
}

/* Writes the memtable key varint32(len + 8) | user_key | fixed64 tag into
 * dst, which has room for CAIRN__MAX_VARINT32 + user_key.size + 8 bytes. */
static void encode_mkey(char *dst, cairn__slice user_key, uint64_t tag)
{
    char *p = cairn__encode_varint32(dst, (uint32_t)(user_key.size + 8));
    if (user_key.size > 0)
        memcpy(p, user_key.data, user_key.size);
    cairn__encode_fixed64(p + user_key.size, tag);
}

int cairn__memtable_get(cairn__memtable *m, cairn__slice key, uint64_t snapshot,
                        cairn__buf *value, int *found)
{
    char inline_buf[LOOKUP_INLINE];
    char *lookup = inline_buf;
    int rc = 0;

    *found = 0;
    if (key.size > UINT32_MAX - 8)
        return 0; /* add() refuses such keys, so none can be present. */
    if (snapshot > CAIRN__MAX_SEQ)
        snapshot = CAIRN__MAX_SEQ;
    /* The shards whose filter may hold key (M6); most lookups of keys
     * that live in tables stop here. */
    uint32_t maybe = 0;
    if (m->filter_words > 0) {
        size_t fw;
        uint64_t fmask;
        filter_pos(m, key, &fw, &fmask);
        for (int i = 0; i < m->nshards; i++)
            if ((atomic_load_explicit(&m->sh[i].filter[fw],
                                      memory_order_relaxed) &
                 fmask) == fmask)
                maybe |= UINT32_C(1) << i;
        if (maybe == 0)
            return 0;
    } else {
        maybe = (UINT32_C(1) << m->nshards) - 1;
    }
    size_t need = CAIRN__MAX_VARINT32 + key.size + 8;
    if (need > sizeof inline_buf) {
        lookup = malloc(need);
        if (lookup == NULL)
            return cairn__err(CAIRN_NOMEM, "memtable: no memory for lookup");
    }
    encode_mkey(lookup, key, cairn__ikey_tag(snapshot, CAIRN__TYPE_FOR_SEEK));

    /* In each shard, the first entry >= (key, snapshot) is the newest
     * version of key with seq <= snapshot, if the shard has one; the
     * newest of those (the highest tag: sequences are unique) wins. */
    const char *entry = NULL;
    uint64_t best = 0;
    for (int i = 0; i < m->nshards; i++) {
        if (!(maybe & (UINT32_C(1) << i)))
            continue;
        cairn__skiplist_iter it;
        cairn__skiplist_iter_init(&it, &m->sh[i].list);
        cairn__skiplist_iter_seek(&it, lookup);
        if (!cairn__skiplist_iter_valid(&it))
            continue;
        const char *e = cairn__skiplist_iter_key(&it);
        cairn__slice ikey = entry_ikey(e);
        if (!cairn__slice_equal(cairn__ikey_user(ikey), key))
            continue;
        uint64_t tag = cairn__ikey_tag_of(ikey);
        if (entry == NULL || tag > best) {
            entry = e;
            best = tag;
        }
    }
    if (entry == NULL)
        goto out;
    if ((best & 0xff) == CAIRN__TYPE_DELETION) {
        *found = 2;
        goto out;
    }
    cairn__slice v = entry_value(entry);
    /* Grow first, so that out-of-memory leaves the caller's buffer as it
     * was; the append below then cannot fail. */
    if (v.size > value->len)
        CAIRN_TRY_GOTO(rc, cairn__buf_reserve(value, v.size - value->len), out);
    cairn__buf_clear(value);
    CAIRN_TRY_GOTO(rc, cairn__buf_append(value, v.data, v.size), out);
    *found = 1;

out:
    if (lookup != inline_buf)
        free(lookup);
    return rc;
}

/* ---- the iterator (iter/iter.h) over internal keys ---- */

typedef struct mem_iter {
    cairn__iter base;
    cairn__memtable *mem;        /* Holds one reference */
    const cairn__skiplist *list; /* One shard's */
    cairn__skiplist_iter pos;
    cairn__buf target; /* Reused memtable key for seek */
    int status;        /* 0, or CAIRN_NOMEM from a failed seek */
} mem_iter;

static int mi_valid(cairn__iter *it)
{
    return cairn__skiplist_iter_valid(&((mem_iter *)it)->pos);
}

static void mi_seek_first(cairn__iter *it)
{
    cairn__skiplist_iter_seek_first(&((mem_iter *)it)->pos);
}

static void mi_seek_last(cairn__iter *it)
{
    cairn__skiplist_iter_seek_last(&((mem_iter *)it)->pos);
}

/* target is an internal key (>= 8 bytes); it gets the varint prefix the
 * comparator expects. */
static void mi_seek(cairn__iter *it, cairn__slice target)
{
    mem_iter *mi = (mem_iter *)it;
    int rc = 0;
    cairn__skiplist_iter_init(&mi->pos, mi->list);
    if (target.size < 8 || target.size > UINT32_MAX)
        rc = cairn__err(CAIRN_INVALID, "memtable: bad seek target (%zu bytes)",
                        target.size);
    cairn__buf_clear(&mi->target);
    if (rc == 0)
        rc = cairn__buf_reserve(&mi->target, CAIRN__MAX_VARINT32 + target.size);
    if (rc != 0) {
        /* The first error is the one reported (iter.h). */
        if (mi->status == 0)
            mi->status = rc;
        return;
    }
    encode_mkey(mi->target.data, cairn__ikey_user(target),
                cairn__ikey_tag_of(target));
    cairn__skiplist_iter_seek(&mi->pos, mi->target.data);
}

static void mi_next(cairn__iter *it)
{
    cairn__skiplist_iter_next(&((mem_iter *)it)->pos);
}

static void mi_prev(cairn__iter *it)
{
    cairn__skiplist_iter_prev(&((mem_iter *)it)->pos);
}

static cairn__slice mi_key(cairn__iter *it)
{
    return entry_ikey(cairn__skiplist_iter_key(&((mem_iter *)it)->pos));
}

static cairn__slice mi_value(cairn__iter *it)
{
    return entry_value(cairn__skiplist_iter_key(&((mem_iter *)it)->pos));
}

static int mi_status(cairn__iter *it)
{
    return ((mem_iter *)it)->status;
}

static void mi_destroy(cairn__iter *it)
{
    mem_iter *mi = (mem_iter *)it;
    cairn__buf_fini(&mi->target);
    cairn__memtable_unref(mi->mem);
    free(mi);
}

static const cairn__iter_ops mem_iter_ops = {
    mi_valid, mi_seek_first, mi_seek_last, mi_seek,   mi_next,
    mi_prev,  mi_key,        mi_value,     mi_status, mi_destroy,
};

/* An iterator over one shard. */
static cairn__iter *shard_iter(cairn__memtable *m, int i)
{
    mem_iter *mi = malloc(sizeof *mi);
    if (mi == NULL)
        return NULL;
    mi->base.ops = &mem_iter_ops;
    cairn__memtable_ref(m);
    mi->mem = m;
    mi->list = &m->sh[i].list;
    cairn__skiplist_iter_init(&mi->pos, mi->list);
    cairn__buf_init(&mi->target);
    mi->status = 0;
    return &mi->base;
}

cairn__iter *cairn__memtable_iter(cairn__memtable *m)
{
    if (m->nshards == 1)
        return shard_iter(m, 0);
    /* The shards merged into one order; internal keys are unique across
     * shards (each carries its own sequence number). */
    cairn__iter *children[CAIRN__MEMTABLE_MAX_SHARDS];
    for (int i = 0; i < m->nshards; i++) {
        children[i] = shard_iter(m, i);
        if (children[i] == NULL) {
            while (i-- > 0)
                cairn__iter_destroy(children[i]);
            return NULL;
        }
    }
    cairn__iter *out = NULL;
    if (cairn__iter_merge(cairn__ikey_compare, children, (size_t)m->nshards,
                          &out) != 0)
        return NULL;
    return out;
}
