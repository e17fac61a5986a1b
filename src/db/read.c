/*
 * read.c: point lookups.
 *
 * A get pins the memtable, the immutable memtables and the current version
 * under db->mu, takes its snapshot sequence (the read options' snapshot,
 * or the last published sequence, D2), and searches without the lock:
 * memtables need none (memtable.h M2) and versions are immutable. The
 * search goes newest to oldest: memtable, immutable memtables (newest
 * first), then the tables (version_read.c); the first entry for the key
 * decides.
 */
#include "db/db_impl.h"

#include "version/compaction.h"

int cairn__db_get(cairn_db *db, const struct cairn_readoptions *ro,
                  cairn__slice key, cairn__buf *value)
{
    cairn__memtable *mems[CAIRN__MAX_IMM + 1];
    int nmem = 0;
    cairn__mutex_lock(&db->mu);
    mems[nmem++] = db->mem;
    for (int i = db->nimm - 1; i >= 0; i--)
        mems[nmem++] = db->imm[i];
    for (int i = 0; i < nmem; i++)
        cairn__memtable_ref(mems[i]);
    cairn__version *v = db->vs->current;
    cairn__version_ref(v);
    uint64_t snapshot =
        ro && ro->snapshot ? ro->snapshot->seq : cairn__vset_last_seq(db->vs);
    cairn__mutex_unlock(&db->mu);

    int found = 0, rc = 0;
    for (int i = 0; i < nmem && rc == 0 && found == 0; i++)
        rc = cairn__memtable_get(mems[i], key, snapshot, value, &found);
    cairn__get_stats stats = {NULL, -1};
    if (rc == 0 && found == 0) {
        cairn__table_read_options tro = {ro ? ro->verify_checksums : 0,
                                         ro ? ro->fill_cache : 1, 0};
        rc = cairn__version_get(v, db->tc, &tro, key, snapshot, value, &found,
                                &stats);
    }
    for (int i = 0; i < nmem; i++)
        cairn__memtable_unref(mems[i]);
    cairn__mutex_lock(&db->mu);
    /* Seek-triggered compaction: a get that had to read a second file
     * charges the first one. */
    if (stats.seek_file != NULL &&
        cairn__version_update_stats(v, stats.seek_file, stats.seek_file_level))
        cairn__cond_broadcast(&db->bg_cv);
    cairn__version_unref(v);
    cairn__mutex_unlock(&db->mu);
    if (rc != 0)
        return rc;
    if (found == 1)
        return 0;
    return cairn__err(CAIRN_NOTFOUND, "key of %zu bytes not found", key.size);
}
