/*
 * iter_api.c: database iterators, internal and public.
 *
 * cairn__db_new_iter pins, under db->mu, the memtable, the immutable
 * memtables and the current version, and merges their iterators (memtable
 * first, then immutable memtables newest first, then level 0 newest first,
 * then deeper levels) into one internal view; db_iter.c turns that into
 * the user's view at the snapshot. Because every source is pinned, the
 * iterator's view is stable while writes, flushes and (later) compactions
 * go on. The pins are dropped by a cleanup callback when it is destroyed.
 *
 * Public iterators count themselves in db->live_iters so that closing the
 * database under a live iterator is refused (CAIRN_BUSY) instead of
 * freeing what it reads.
 */
#include "db/db_impl.h"

#include "db/db_iter.h"
#include "iter/merge.h"
#include "util/ikey.h"

#include <stdlib.h>

typedef struct pins {
    cairn_db *db;
    cairn__memtable *mems[CAIRN__MAX_IMM + 1];
    int nmem;
    cairn__version *version;
} pins;

static void unpin(void *arg)
{
    pins *p = arg;
    for (int i = 0; i < p->nmem; i++)
        cairn__memtable_unref(p->mems[i]);
    if (p->version != NULL) {
        cairn__mutex_lock(&p->db->mu);
        cairn__version_unref(p->version);
        cairn__mutex_unlock(&p->db->mu);
    }
    free(p);
}

/* Read sampling (LevelDB's RecordReadSample): about every 1 MiB an
 * iterator reads, the key it is at charges a seek to the first of several
 * files holding it, so that ranges scanned often get compacted. */
static void sample(void *ctx, cairn__slice ikey, size_t bytes)
{
    (void)bytes;
    pins *p = ctx;
    cairn__mutex_lock(&p->db->mu);
    if (cairn__version_record_read_sample(p->db->vs->current, ikey))
        cairn__cond_broadcast(&p->db->bg_cv);
    cairn__mutex_unlock(&p->db->mu);
}

int cairn__db_new_iter(cairn_db *db, const struct cairn_readoptions *ro,
                       cairn__iter **out)
{
    pins *p = calloc(1, sizeof *p);
    if (p == NULL)
        return cairn__err(CAIRN_NOMEM, "iterator");
    p->db = db;
    cairn__mutex_lock(&db->mu);
    p->mems[p->nmem++] = db->mem;
    for (int i = db->nimm - 1; i >= 0; i--)
        p->mems[p->nmem++] = db->imm[i];
    for (int i = 0; i < p->nmem; i++)
        cairn__memtable_ref(p->mems[i]);
    p->version = db->vs->current;
    cairn__version_ref(p->version);
    uint64_t seq =
        ro && ro->snapshot ? ro->snapshot->seq : cairn__vset_last_seq(db->vs);
    cairn__mutex_unlock(&db->mu);

    cairn__iter **children = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    cap = (size_t)p->nmem + 8;
    children = malloc(cap * sizeof *children);
    if (children == NULL) {
        unpin(p);
        return cairn__err(CAIRN_NOMEM, "iterator");
    }
    for (int i = 0; i < p->nmem && rc == 0; i++) {
        cairn__iter *it = cairn__memtable_iter(p->mems[i]);
        if (it == NULL)
            rc = cairn__err(CAIRN_NOMEM, "memtable iterator");
        else
            children[n++] = it;
    }
    cairn__table_read_options tro = {ro ? ro->verify_checksums : 0,
                                     ro ? ro->fill_cache : 1, 0};
    if (rc == 0)
        rc = cairn__version_add_iters(p->version, db->tc, &tro, &children, &n,
                                      &cap);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            cairn__iter_destroy(children[i]);
        free(children);
        unpin(p);
        return rc;
    }
    cairn__iter *merged;
    rc = cairn__iter_merge(cairn__ikey_compare, children, n, &merged);
    free(children);
    if (rc != 0) {
        unpin(p);
        return rc;
    }
    return cairn__db_iter_create(merged, seq, sample, p, unpin, p, out);
}

/* ---------------------------------------------------------------------- */
/* The public iterator                                                     */

struct cairn_iter {
    cairn_db *db;
    cairn__iter *it;
};

cairn_iter *cairn_db_iter_create(cairn_db *db, const cairn_readoptions *ro)
{
    if (cairn__api_enter(db, __func__) != 0)
        return NULL;
    cairn_iter *ci = calloc(1, sizeof *ci);
    if (ci == NULL) {
        cairn__api_leave(db, cairn__err(CAIRN_NOMEM, "iterator"));
        return NULL;
    }
    if (ro != NULL && ro->snapshot != NULL && ro->snapshot->db != db) {
        free(ci);
        cairn__api_leave(
            db,
            cairn__err(CAIRN_INVALID, "snapshot belongs to another database"));
        return NULL;
    }
    int rc = cairn__db_new_iter(db, ro, &ci->it);
    if (rc != 0) {
        free(ci);
        cairn__api_leave(db, rc);
        return NULL;
    }
    ci->db = db;
    atomic_fetch_add(&db->live_iters, 1);
    cairn__api_leave(db, 0);
    return ci;
}

void cairn_iter_destroy(cairn_iter *it)
{
    if (it == NULL)
        return;
    cairn__iter_destroy(it->it);
    atomic_fetch_sub(&it->db->live_iters, 1);
    free(it);
}

int cairn_iter_valid(const cairn_iter *it)
{
    return it != NULL && cairn__iter_valid(it->it);
}

void cairn_iter_seek_first(cairn_iter *it)
{
    if (it != NULL)
        cairn__iter_seek_first(it->it);
}

void cairn_iter_seek_last(cairn_iter *it)
{
    if (it != NULL)
        cairn__iter_seek_last(it->it);
}

void cairn_iter_seek(cairn_iter *it, const void *key, size_t keylen)
{
    if (it == NULL || (key == NULL && keylen != 0) ||
        keylen > CAIRN_MAX_KEY_SIZE)
        return; /* refused: no key can be read from these arguments */
    cairn__iter_seek(it->it, cairn__slice_make(key, keylen));
}

void cairn_iter_next(cairn_iter *it)
{
    if (it != NULL && cairn__iter_valid(it->it))
        cairn__iter_next(it->it);
}

void cairn_iter_prev(cairn_iter *it)
{
    if (it != NULL && cairn__iter_valid(it->it))
        cairn__iter_prev(it->it);
}

const void *cairn_iter_key(const cairn_iter *it, size_t *len)
{
    if (it == NULL || !cairn__iter_valid(it->it)) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    cairn__slice k = cairn__iter_key(it->it);
    if (len != NULL)
        *len = k.size;
    return k.data;
}

const void *cairn_iter_value(const cairn_iter *it, size_t *len)
{
    if (it == NULL || !cairn__iter_valid(it->it)) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    cairn__slice v = cairn__iter_value(it->it);
    if (len != NULL)
        *len = v.size;
    return v.data;
}

int cairn_iter_status(const cairn_iter *it)
{
    if (it == NULL)
        return cairn__err(CAIRN_INVALID, "NULL iterator");
    return cairn__iter_status(it->it);
}
