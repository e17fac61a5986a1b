/*
 * log_files.c: log files made and closed off the write path.
 *
 * A memtable switch used to create the next log, sync the directory so its
 * entry is durable, sync the old log and close it, all with every writer
 * queued behind it (about 5 ms a switch on this project's test machine:
 * docs/design.md, "The write path"). Two of those steps need not be
 * there:
 *  - the spare: the flushing thread creates the next log ahead of time,
 *    directory sync included, and the switch takes it. If there is none
 *    ready (the first switch after open, a failed creation, switches
 *    faster than flushes), the switch creates one itself as before.
 *  - retired logs: once the switch has synced the old log, its mapping,
 *    trim and close (munmap, ftruncate, close) are left to the flushing
 *    thread. Nothing reads or writes a retired log; after its sync,
 *    closing it cannot lose a byte, so a failed close is reported to the
 *    info log and is not a write error (a log not trimmed ends in zeros,
 *    which the reader skips).
 * A spare has a number above the current log's and holds no records. A
 * crash may leave one behind: recovery replays it as an empty log, and
 * the damage rule for the newest log applies to the newest log that holds
 * anything (db.c, recover). Opening starts a new log, so the old spare
 * falls below the log number and is deleted as obsolete; a close removes
 * the spare, unless a write error is sticky.
 *
 * Threads: everything here runs with db->mu held, and releases it around
 * file I/O. Only the flushing thread creates spares and closes retired
 * logs; the switch (the write leader, holding mu) takes the spare and
 * retires the old log. A switch that finds a spare being made waits for
 * it on bg_cv (spare_busy), so there is never a second new log racing it.
 */
#include "db/db_impl.h"

#include "db/filename.h"

#include <stdio.h>

int cairn__db_log_chores_due(const cairn_db *db)
{
    cairn__mutex_assert_held(&((cairn_db *)db)->mu);
    if (db->nretired > 0)
        return 1;
    return db->opt.spare_log && db->spare_log == NULL && !db->spare_busy &&
           !db->spare_failed && db->bg_error == 0 && !db->shutting_down;
}

/* Closes the retired logs; mu held, released while closing. */
static void close_retired(cairn_db *db)
{
    while (db->nretired > 0) {
        cairn__file *f = db->retired[--db->nretired];
        uint64_t number = db->retired_number[db->nretired];
        cairn__mutex_unlock(&db->mu);
        int rc = cairn__file_close(f);
        cairn__mutex_lock(&db->mu);
        if (rc != 0)
            cairn__infolog_printf(db->info,
                                  "closing log #%llu after its sync: %s "
                                  "(its data is durable)",
                                  (unsigned long long)number,
                                  cairn__errmsg_get());
    }
}

int cairn__db_create_log(cairn_db *db, uint64_t number, uint64_t zero_fill,
                         cairn__file **out, int *dir_sync_failed)
{
    cairn__buf path = CAIRN__BUF_INIT;
    cairn__file *f = NULL;
    *dir_sync_failed = 0;
    int rc = cairn__filename_log(&path, db->dbname, number);
    if (rc == 0)
        rc = cairn__env_open_log(db->env, path.data, zero_fill, &f);
    if (rc == 0) {
        /* Its name must be durable before a sync write in it is
         * acknowledged. */
        rc = db->env->ops->sync_dir(db->env, db->dbname);
        if (rc != 0) {
            *dir_sync_failed = 1;
            (void)cairn__file_close(f);
            f = NULL;
            cairn__env_remove_quietly(db->env, path.data);
        }
    }
    cairn__buf_fini(&path);
    *out = f;
    return rc;
}

/* Closes and deletes a spare that is not used; no lock needed. */
static void drop_spare(cairn_db *db, cairn__file *f, uint64_t number)
{
    (void)cairn__file_close(f);
    cairn__buf path = CAIRN__BUF_INIT;
    if (cairn__filename_log(&path, db->dbname, number) == 0)
        cairn__env_remove_quietly(db->env, path.data);
    cairn__buf_fini(&path);
}

/* How much of a spare log to zero-fill: what one memtable's log
 * usually comes to (its records take less room than their entries in
 * the memtable), and a quarter more; at most 64 MiB. */
static uint64_t zero_fill_bytes(const cairn_db *db)
{
    uint64_t n = db->opt.write_buffer_size + db->opt.write_buffer_size / 4;
    return n < ((uint64_t)64 << 20) ? n : (uint64_t)64 << 20;
}

/* Creates the spare; mu held, released for the file's creation. If
 * writes have synced the log since the last spare was begun, the spare
 * is zero-filled (cairn__env_open_log): syncs into it are then faster
 * (docs/design.md, "Logs that are synced"). A log written without syncs
 * would gain nothing, and zero-filling costs the flushing thread a write
 * and a sync of the whole length, so only sync writers' logs pay it. */
static void make_spare(cairn_db *db)
{
    db->spare_busy = 1;
    uint64_t switches = db->switches;
    uint64_t number = cairn__vset_new_file_number(db->vs);
    uint64_t syncs =
        atomic_load_explicit(&db->wstats->syncs, memory_order_relaxed);
    uint64_t zero_fill = syncs != db->spare_syncs ? zero_fill_bytes(db) : 0;
    db->spare_syncs = syncs;
    cairn__mutex_unlock(&db->mu);
    cairn__file *f = NULL;
    int sync_failed;
    int rc = cairn__db_create_log(db, number, zero_fill, &f, &sync_failed);
    char msg[CAIRN__ERRMSG_MAX];
    if (rc != 0)
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
    cairn__mutex_lock(&db->mu);
    db->spare_busy = 0;
    cairn__cond_broadcast(&db->bg_cv); /* a switch may wait for it */
    if (rc != 0) {
        /* Not an error of any write: the next switch makes its log itself
         * (and reports what fails then). No new attempt before it, unless
         * it came meanwhile. */
        if (db->switches == switches)
            db->spare_failed = 1;
        cairn__stat_add(&db->wstats->spares_failed, 1);
        cairn__infolog_printf(db->info, "creating spare log #%llu: %s",
                              (unsigned long long)number, msg);
        return;
    }
    /* A switch that found no spare made a log of its own meanwhile, with
     * a higher number: this one would then come before it. */
    if (!db->shutting_down && db->spare_log == NULL &&
        number > db->logfile_number) {
        db->spare_log = f;
        db->spare_number = number;
        cairn__stat_add(&db->wstats->spares_made, 1);
        if (zero_fill > 0)
            cairn__stat_add(&db->wstats->spares_zeroed, 1);
        return;
    }
    cairn__mutex_unlock(&db->mu);
    drop_spare(db, f, number);
    cairn__mutex_lock(&db->mu);
}

void cairn__db_log_chores(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    close_retired(db);
    if (cairn__db_log_chores_due(db))
        make_spare(db);
}

void cairn__db_close_retired_logs(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    close_retired(db);
}

int cairn__db_take_spare(cairn_db *db, cairn__file **f, uint64_t *number)
{
    cairn__mutex_assert_held(&db->mu);
    db->switches++;
    db->spare_failed = 0; /* a switch: the flushing thread may try again */
    if (db->spare_log == NULL)
        return 0;
    cairn__stat_add(&db->wstats->spares_taken, 1);
    *f = db->spare_log;
    *number = db->spare_number;
    db->spare_log = NULL;
    db->spare_number = 0;
    return 1;
}

int cairn__db_retire_log(cairn_db *db, cairn__file *f, uint64_t number)
{
    cairn__mutex_assert_held(&db->mu);
    if (db->nretired == CAIRN__MAX_RETIRED)
        return 0;
    db->retired[db->nretired] = f;
    db->retired_number[db->nretired] = number;
    db->nretired++;
    return 1;
}

void cairn__db_log_files_fini(cairn_db *db)
{
    /* No background thread runs any more: no lock is needed. */
    while (db->nretired > 0)
        (void)cairn__file_close(db->retired[--db->nretired]);
    if (db->spare_log != NULL) {
        /* After a write error, touch nothing more on disk: the next open
         * deletes the spare. */
        if (db->bg_error != 0)
            (void)cairn__file_close(db->spare_log);
        else
            drop_spare(db, db->spare_log, db->spare_number);
        db->spare_log = NULL;
    }
}
