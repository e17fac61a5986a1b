/*
 * compact_api.c: the public compaction and flush calls.
 *
 * A flush is a write-queue turn with no batch: its leader switches the
 * memtable (make_room with force), then the caller waits on bg_cv until
 * every immutable memtable is recorded in a table. A range compaction then
 * hands the background thread one manual request per level, from level 0
 * down to the deepest level holding overlapping files, and waits for each;
 * the background thread runs it in bounded steps between flushes.
 */
#include "db/db_impl.h"

#include "version/compaction.h"

#include <stdlib.h>
#include <string.h>

/* mu not held. */
static int flush_all(cairn_db *db)
{
    int rc = cairn__db_write(db, NULL, cairn__slice_make(NULL, 0));
    if (rc != 0)
        return rc;
    cairn__mutex_lock(&db->mu);
    while (db->nimm > 0 && db->bg_error == 0)
        cairn__cond_wait(&db->bg_cv, &db->mu);
    rc = db->bg_error;
    if (rc != 0)
        cairn__errmsg_restore(db->bg_errmsg);
    cairn__mutex_unlock(&db->mu);
    return rc;
}

int cairn_db_flush(cairn_db *db)
{
    int rc = cairn__api_enter(db, __func__);
    if (rc != 0)
        return rc;
    return cairn__api_leave(db, flush_all(db));
}

static int run_manual(cairn_db *db, int level, const cairn__slice *begin,
                      const cairn__slice *end)
{
    struct cairn__manual m;
    memset(&m, 0, sizeof m);
    m.level = level;
    cairn__buf_init(&m.begin);
    cairn__buf_init(&m.end);
    int rc = 0;
    if (begin != NULL) {
        m.has_begin = 1;
        rc = cairn__buf_append(&m.begin, begin->data, begin->size);
    }
    if (rc == 0 && end != NULL) {
        m.has_end = 1;
        rc = cairn__buf_append(&m.end, end->data, end->size);
    }
    if (rc != 0)
        goto out;
    cairn__mutex_lock(&db->mu);
    /* One manual compaction at a time. */
    while (db->manual != NULL && db->bg_error == 0 && !db->shutting_down)
        cairn__cond_wait(&db->bg_cv, &db->mu);
    if (db->bg_error == 0 && !db->shutting_down) {
        db->manual = &m;
        cairn__cond_broadcast(&db->bg_cv);
        while (!m.done && db->bg_error == 0 && !db->shutting_down)
            cairn__cond_wait(&db->bg_cv, &db->mu);
        db->manual = NULL;
        cairn__cond_broadcast(&db->bg_cv);
    }
    rc = m.rc;
    if (rc != 0) {
        /* The step failed on the background thread: its message too. */
        cairn__errmsg_restore(m.msg);
    } else if (db->bg_error != 0) {
        rc = db->bg_error;
        cairn__errmsg_restore(db->bg_errmsg);
    }
    cairn__mutex_unlock(&db->mu);
out:
    cairn__buf_fini(&m.begin);
    cairn__buf_fini(&m.end);
    return rc;
}

int cairn_db_compact_range(cairn_db *db, const void *start, size_t start_len,
                           const void *limit, size_t limit_len)
{
    int rc = cairn__api_enter(db, __func__);
    if (rc != 0)
        return rc;
    if ((start != NULL && start_len > CAIRN_MAX_KEY_SIZE) ||
        (limit != NULL && limit_len > CAIRN_MAX_KEY_SIZE))
        return cairn__api_leave(
            db, cairn__err(CAIRN_INVALID,
                           "compact_range: key of %zu bytes exceeds the "
                           "maximum %u",
                           start != NULL && start_len > CAIRN_MAX_KEY_SIZE
                               ? start_len
                               : limit_len,
                           CAIRN_MAX_KEY_SIZE));
    cairn__slice b = cairn__slice_make(start, start ? start_len : 0);
    cairn__slice e = cairn__slice_make(limit, limit ? limit_len : 0);
    const cairn__slice *bp = start ? &b : NULL;
    const cairn__slice *ep = limit ? &e : NULL;

    rc = flush_all(db);
    if (rc == 0) {
        cairn__mutex_lock(&db->mu);
        int max_level = 1;
        for (int l = 1; l < CAIRN__NUM_LEVELS; l++)
            if (cairn__version_overlap_in_level(db->vs->current, l, bp, ep))
                max_level = l;
        cairn__mutex_unlock(&db->mu);
        for (int level = 0; level < max_level && rc == 0; level++)
            rc = run_manual(db, level, bp, ep);
    }
    return cairn__api_leave(db, rc);
}

static int set_paused(cairn_db *db, int paused, const char *fn)
{
    int rc = cairn__api_enter(db, fn);
    if (rc != 0)
        return rc;
    cairn__mutex_lock(&db->mu);
    db->bg_compaction_paused = paused;
    cairn__cond_broadcast(&db->bg_cv);
    cairn__mutex_unlock(&db->mu);
    return cairn__api_leave(db, 0);
}

int cairn_db_pause_compaction(cairn_db *db)
{
    return set_paused(db, 1, __func__);
}

int cairn_db_resume_compaction(cairn_db *db)
{
    return set_paused(db, 0, __func__);
}
