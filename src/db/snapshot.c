/*
 * snapshot.c: snapshots, a list of sequence numbers under db->mu.
 *
 * A snapshot is the last published sequence at the moment it is taken
 * (D2), so a read at it sees whole batches only. The oldest live snapshot
 * bounds what compaction may drop (no version visible to a snapshot is
 * ever removed).
 */
#include "db/db_impl.h"

#include <stdlib.h>

const cairn_snapshot *cairn_db_create_snapshot(cairn_db *db)
{
    if (cairn__api_enter(db, __func__) != 0)
        return NULL;
    cairn_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cairn__api_leave(db, cairn__err(CAIRN_NOMEM, "snapshot"));
        return NULL;
    }
    cairn__mutex_lock(&db->mu);
    s->seq = cairn__vset_last_seq(db->vs);
    s->db = db;
    /* Newest at the tail: the head's next is the oldest. */
    s->prev = db->snapshots.prev;
    s->next = &db->snapshots;
    s->prev->next = s;
    s->next->prev = s;
    db->live_snapshots++;
    cairn__mutex_unlock(&db->mu);
    cairn__api_leave(db, 0);
    return s;
}

void cairn_db_release_snapshot(cairn_db *db, const cairn_snapshot *snap)
{
    if (snap == NULL)
        return;
    if (cairn__api_enter(db, __func__) != 0)
        return;
    cairn_snapshot *s = (cairn_snapshot *)snap;
    if (s->db != db) {
        cairn__api_leave(
            db,
            cairn__err(CAIRN_INVALID, "snapshot belongs to another database"));
        return;
    }
    cairn__mutex_lock(&db->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    db->live_snapshots--;
    cairn__mutex_unlock(&db->mu);
    free(s);
    cairn__api_leave(db, 0);
}

/* The oldest sequence any reader may still need: the oldest snapshot's,
 * or the last published one. mu held. */
uint64_t cairn__db_oldest_snapshot(cairn_db *db);
uint64_t cairn__db_oldest_snapshot(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    if (db->snapshots.next != &db->snapshots)
        return db->snapshots.next->seq;
    return cairn__vset_last_seq(db->vs);
}
