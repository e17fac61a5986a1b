/*
 * db_iter.c: the db iterator of db_iter.h, LevelDB's DBIter in C.
 *
 * The internal iterator holds, for each user key, every version of it
 * newest first. Going forward is therefore simple: the first visible entry
 * of a user key is its newest, and the db iterator can stand on it and
 * read key and value straight from the internal iterator. Going backward
 * meets the versions oldest first, so the newest visible one is known only
 * once the scan has passed every entry of the key; by then the internal
 * iterator stands on the previous user key, and the current key and value
 * must live in buffers of their own. Hence two directions with different
 * positions (the invariants below), and a change of direction repositions
 * the internal iterator before stepping, exactly as LevelDB does:
 *   forward to reverse: step back from the current entry until the user
 *     key changes, then scan backward as usual;
 *   reverse to forward: step once forward (or to the first entry if the
 *     scan ran off the front), which enters the entries of the current key,
 *     then skip every entry whose user key is <= the saved key.
 * Forward scans remember a user key to skip (the one just left, or one
 * whose newest visible entry is a deletion) in saved_key; seek also uses
 * saved_key as scratch for the internal seek target.
 *
 * Invariants (tests in tests/unit/test_db_iter.c exercise each):
 *  I1. valid and FORWARD: the internal iterator is valid and stands on the
 *      newest visible entry of key(), a value.
 *  I2. valid and REVERSE: the internal iterator stands on the last entry
 *      whose user key is < key(), or is invalid if there is none; key()
 *      and value() are copies in saved_key and saved_value.
 *  I3. status, once nonzero, never changes, and valid is then 0.
 *  I4. valid implies the internal iterator has reported no error (checked
 *      after every move by settle()).
 */
#include "db/db_iter.h"

#include "util/buf.h"
#include "util/ikey.h"
#include "util/random.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { FORWARD, REVERSE };

/* A saved value buffer larger than the next value by more than this is
 * given back to the allocator rather than kept (LevelDB's 1 MiB). */
#define SAVED_VALUE_SLACK (1024 * 1024)

typedef struct db_iter {
    cairn__iter base;
    cairn__iter *inner; /* owned */
    uint64_t seq;       /* the snapshot: highest visible sequence */
    int direction;
    int valid;
    int status;             /* I3 */
    cairn__buf saved_key;   /* see the file comment */
    cairn__buf saved_value; /* REVERSE only (I2) */

    cairn__db_iter_sample_fn sample; /* NULL: no sampling */
    void *sample_ctx;
    cairn__random rnd;
    size_t bytes_until_sample;

    void (*cleanup)(void *arg);
    void *cleanup_arg;
} db_iter;

/* Seeds for the sampling generators, one per iterator as LevelDB's per-db
 * counter gives. Atomic, relaxed: only distinctness matters, nothing is
 * published through it. */
static atomic_uint_fast32_t sample_seed;

static size_t sample_gap(db_iter *d)
{
    return cairn__random_uniform(&d->rnd, 2 * CAIRN__READ_BYTES_PERIOD);
}

static void clear_saved_value(db_iter *d)
{
    if (d->saved_value.cap > SAVED_VALUE_SLACK)
        cairn__buf_fini(&d->saved_value);
    else
        cairn__buf_clear(&d->saved_value);
}

/* Records the first error (I3) and leaves the iterator invalid. */
static void fail(db_iter *d, int rc)
{
    if (d->status == 0)
        d->status = rc;
    d->valid = 0;
    cairn__buf_clear(&d->saved_key);
    clear_saved_value(d);
}

/* I4: an internal iterator that stopped on an error stops us too. A valid
 * internal iterator has no error (iter.h), so only an invalid one is
 * asked. */
static void settle(db_iter *d)
{
    if (d->status == 0 && !cairn__iter_valid(d->inner)) {
        int rc = cairn__iter_status(d->inner);
        if (rc != 0)
            fail(d, rc);
    }
}

/* Replaces b's contents with s; on failure the iterator fails. */
static int save(db_iter *d, cairn__buf *b, cairn__slice s)
{
    cairn__buf_clear(b);
    int rc = cairn__buf_append(b, s.data, s.size);
    if (rc != 0)
        fail(d, rc);
    return rc;
}

/* Parses the internal iterator's current key and counts it for read
 * sampling. 0 and the iterator failed with CAIRN_CORRUPTION if the key is
 * malformed. */
static int parse_key(db_iter *d, cairn__pikey *pk)
{
    cairn__slice k = cairn__iter_key(d->inner);
    if (!cairn__ikey_parse(k, pk)) {
        fail(d, CAIRN_CORRUPT("corrupted internal key in db iterator "
                              "(%zu bytes)",
                              k.size));
        return 0;
    }
    if (d->sample != NULL) {
        size_t bytes = k.size + cairn__iter_value(d->inner).size;
        while (d->bytes_until_sample < bytes) {
            d->bytes_until_sample += sample_gap(d);
            d->sample(d->sample_ctx, k, bytes);
        }
        d->bytes_until_sample -= bytes;
    }
    return 1;
}

/* The user key of the internal iterator's current entry, without counting
 * it for sampling (LevelDB reads it unparsed here; we still check its
 * length so a short key cannot make us read out of bounds). */
static int current_user_key(db_iter *d, cairn__slice *uk)
{
    cairn__pikey pk;
    cairn__slice k = cairn__iter_key(d->inner);
    if (!cairn__ikey_parse(k, &pk)) {
        fail(d, CAIRN_CORRUPT("corrupted internal key in db iterator "
                              "(%zu bytes)",
                              k.size));
        return 0;
    }
    *uk = pk.user_key;
    return 1;
}

/* Forward scan from the internal iterator's (valid) position to the first
 * visible value whose user key is not hidden. While `skipping`, user keys
 * <= saved_key are hidden: the key just left, or one deleted. */
static void find_next_user_entry(db_iter *d, int skipping)
{
    assert(d->direction == FORWARD && cairn__iter_valid(d->inner));
    do {
        cairn__pikey pk;
        if (!parse_key(d, &pk))
            return;
        if (pk.seq <= d->seq) {
            if (pk.type == CAIRN__TYPE_DELETION) {
                /* Every older entry of this key is hidden by it. */
                if (save(d, &d->saved_key, pk.user_key) != 0)
                    return;
                skipping = 1;
            } else if (!skipping ||
                       cairn__slice_compare(
                           pk.user_key, cairn__buf_slice(&d->saved_key)) > 0) {
                d->valid = 1;
                cairn__buf_clear(&d->saved_key);
                return;
            }
        }
        cairn__iter_next(d->inner);
    } while (cairn__iter_valid(d->inner));
    cairn__buf_clear(&d->saved_key);
    d->valid = 0;
}

/* Backward scan from the internal iterator's position: the newest visible
 * entry of the user key met so far is kept in saved_key/saved_value, and
 * the scan stops on the first visible entry of a smaller user key once a
 * value is held (I2). */
static void find_prev_user_entry(db_iter *d)
{
    assert(d->direction == REVERSE);
    int type = CAIRN__TYPE_DELETION;
    while (cairn__iter_valid(d->inner)) {
        cairn__pikey pk;
        if (!parse_key(d, &pk))
            return;
        if (pk.seq <= d->seq) {
            if (type != CAIRN__TYPE_DELETION &&
                cairn__slice_compare(pk.user_key,
                                     cairn__buf_slice(&d->saved_key)) < 0)
                break;
            type = pk.type;
            if (type == CAIRN__TYPE_DELETION) {
                cairn__buf_clear(&d->saved_key);
                clear_saved_value(d);
            } else {
                cairn__slice v = cairn__iter_value(d->inner);
                if (d->saved_value.cap > v.size + SAVED_VALUE_SLACK)
                    cairn__buf_fini(&d->saved_value);
                if (save(d, &d->saved_key, pk.user_key) != 0 ||
                    save(d, &d->saved_value, v) != 0)
                    return;
            }
        }
        cairn__iter_prev(d->inner);
    }
    if (type == CAIRN__TYPE_DELETION) {
        /* Ran off the front with nothing visible. */
        d->valid = 0;
        cairn__buf_clear(&d->saved_key);
        clear_saved_value(d);
        d->direction = FORWARD;
    } else {
        d->valid = 1;
    }
}

static int di_valid(cairn__iter *base)
{
    return ((db_iter *)base)->valid;
}

static void di_seek_first(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    d->valid = 0;
    if (d->status != 0)
        return;
    d->direction = FORWARD;
    clear_saved_value(d);
    cairn__buf_clear(&d->saved_key);
    cairn__iter_seek_first(d->inner);
    if (cairn__iter_valid(d->inner))
        find_next_user_entry(d, 0);
    settle(d);
}

static void di_seek_last(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    d->valid = 0;
    if (d->status != 0)
        return;
    d->direction = REVERSE;
    clear_saved_value(d);
    cairn__buf_clear(&d->saved_key);
    cairn__iter_seek_last(d->inner);
    find_prev_user_entry(d);
    settle(d);
}

static void di_seek(cairn__iter *base, cairn__slice target)
{
    db_iter *d = (db_iter *)base;
    d->valid = 0;
    if (d->status != 0)
        return;
    d->direction = FORWARD;
    clear_saved_value(d);
    cairn__buf_clear(&d->saved_key);
    /* The newest entry of target visible at the snapshot, or the first
     * entry after it; saved_key is scratch until find_next_user_entry. */
    int rc =
        cairn__ikey_append(&d->saved_key, target, d->seq, CAIRN__TYPE_FOR_SEEK);
    if (rc != 0) {
        fail(d, rc);
        return;
    }
    cairn__iter_seek(d->inner, cairn__buf_slice(&d->saved_key));
    if (cairn__iter_valid(d->inner))
        find_next_user_entry(d, 0);
    settle(d);
}

static void di_next(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    if (!d->valid)
        return;
    if (d->direction == REVERSE) {
        /* I2: the internal iterator is just before the entries of key(),
         * which saved_key still holds as the key to skip past. */
        d->direction = FORWARD;
        clear_saved_value(d);
        if (cairn__iter_valid(d->inner))
            cairn__iter_next(d->inner);
        else
            cairn__iter_seek_first(d->inner);
    } else {
        /* I1: remember key() so that its older versions are skipped. */
        cairn__slice uk;
        if (!current_user_key(d, &uk) || save(d, &d->saved_key, uk) != 0)
            return;
        cairn__iter_next(d->inner);
    }
    if (cairn__iter_valid(d->inner)) {
        find_next_user_entry(d, 1);
    } else {
        d->valid = 0;
        cairn__buf_clear(&d->saved_key);
    }
    settle(d);
}

static void di_prev(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    if (!d->valid)
        return;
    if (d->direction == FORWARD) {
        /* I1: step back past every entry of key() to reach I2's position
         * for the normal backward scan. */
        cairn__slice uk;
        if (!current_user_key(d, &uk) || save(d, &d->saved_key, uk) != 0)
            return;
        for (;;) {
            cairn__iter_prev(d->inner);
            if (!cairn__iter_valid(d->inner)) {
                d->valid = 0;
                cairn__buf_clear(&d->saved_key);
                clear_saved_value(d);
                settle(d);
                return;
            }
            if (!current_user_key(d, &uk))
                return;
            if (cairn__slice_compare(uk, cairn__buf_slice(&d->saved_key)) < 0)
                break;
        }
        d->direction = REVERSE;
    }
    find_prev_user_entry(d);
    settle(d);
}

/* A slice whose data is never NULL, so that an empty key or value cannot
 * be mistaken for "no entry" by a caller that tests the pointer. */
static cairn__slice nonnull(cairn__slice s)
{
    return s.data != NULL ? s : cairn__slice_make("", 0);
}

static cairn__slice di_key(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    if (!d->valid)
        return cairn__slice_make("", 0);
    if (d->direction == FORWARD)
        return cairn__ikey_user(cairn__iter_key(d->inner));
    return nonnull(cairn__buf_slice(&d->saved_key));
}

static cairn__slice di_value(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    if (!d->valid)
        return cairn__slice_make("", 0);
    if (d->direction == FORWARD)
        return nonnull(cairn__iter_value(d->inner));
    return nonnull(cairn__buf_slice(&d->saved_value));
}

static int di_status(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    return d->status != 0 ? d->status : cairn__iter_status(d->inner);
}

static void di_destroy(cairn__iter *base)
{
    db_iter *d = (db_iter *)base;
    cairn__iter_destroy(d->inner);
    if (d->cleanup != NULL)
        d->cleanup(d->cleanup_arg);
    cairn__buf_fini(&d->saved_key);
    cairn__buf_fini(&d->saved_value);
    free(d);
}

static const cairn__iter_ops db_iter_ops = {
    di_valid, di_seek_first, di_seek_last, di_seek,   di_next,
    di_prev,  di_key,        di_value,     di_status, di_destroy,
};

int cairn__db_iter_create(cairn__iter *internal, uint64_t snapshot_seq,
                          cairn__db_iter_sample_fn sample, void *sample_ctx,
                          void (*cleanup)(void *arg), void *cleanup_arg,
                          cairn__iter **out)
{
    *out = NULL;
    db_iter *d = malloc(sizeof *d);
    if (d == NULL) {
        cairn__iter_destroy(internal);
        if (cleanup != NULL)
            cleanup(cleanup_arg);
        return cairn__err(CAIRN_NOMEM, "cannot allocate db iterator");
    }
    d->base.ops = &db_iter_ops;
    d->inner = internal;
    d->seq = snapshot_seq < CAIRN__MAX_SEQ ? snapshot_seq : CAIRN__MAX_SEQ;
    d->direction = FORWARD;
    d->valid = 0;
    d->status = 0;
    cairn__buf_init(&d->saved_key);
    cairn__buf_init(&d->saved_value);
    d->sample = sample;
    d->sample_ctx = sample_ctx;
    /* +1: the generator maps seed 0 onto seed 1. */
    uint32_t seed = (uint32_t)atomic_fetch_add_explicit(&sample_seed, 1,
                                                        memory_order_relaxed);
    cairn__random_init(&d->rnd, seed + 1);
    d->bytes_until_sample = sample_gap(d);
    d->cleanup = cleanup;
    d->cleanup_arg = cleanup_arg;
    *out = &d->base;
    return 0;
}
