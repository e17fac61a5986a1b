/*
 * flush.c: writing immutable memtables to level-0 tables, and the
 * background thread that does it.
 *
 * A flush (docs/design.md "Flushes") writes every entry of the memtable,
 * old versions and tombstones included, into NNNNNN.ldb, fdatasyncs the
 * table, syncs the directory so its entry is durable, reopens it through
 * the table cache to prove it reads back, and only then records it with a
 * VersionEdit whose log number moves past the flushed memtable's logs. The
 * MANIFEST edit is synced before the version is installed, and the logs it
 * stops naming are deleted only after that (version.h V3).
 *
 * While a table is being written its number sits in pending_outputs, so
 * obsolete-file deletion never removes it.
 *
 * Threads: the background thread runs bg_main; it takes db->mu and
 * releases it while it builds a table. It is the only thread that calls
 * log_and_apply after open.
 */
#include "db/db_impl.h"

#include "db/filename.h"
#include "table/table_builder.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cairn__db_table_options(const cairn_db *db, cairn__table_options *t)
{
    cairn__table_options_default(t);
    t->block_size = db->opt.block_size;
    t->restart_interval = db->opt.block_restart_interval;
    t->compression = db->opt.compression == CAIRN_COMPRESSION_SNAPPY
                         ? CAIRN__SNAPPY_COMPRESSION
                         : CAIRN__NO_COMPRESSION;
    t->bloom_bits_per_key = db->opt.bloom_bits_per_key;
    t->paranoid_checks = db->opt.paranoid_checks;
    t->block_cache = db->block_cache;
    t->mmap_reads = db->opt.mmap_reads;
}

int cairn__db_pending_add(cairn_db *db, uint64_t n)
{
    cairn__mutex_assert_held(&db->mu);
    if (db->npending == db->cappending) {
        size_t ncap = db->cappending ? db->cappending * 2 : 16;
        uint64_t *p = realloc(db->pending_outputs, ncap * sizeof *p);
        if (p == NULL)
            return cairn__err(CAIRN_NOMEM, "pending outputs");
        db->pending_outputs = p;
        db->cappending = ncap;
    }
    db->pending_outputs[db->npending++] = n;
    return 0;
}

void cairn__db_pending_remove(cairn_db *db, uint64_t n)
{
    cairn__mutex_assert_held(&db->mu);
    for (size_t i = 0; i < db->npending; i++) {
        if (db->pending_outputs[i] == n) {
            db->pending_outputs[i] = db->pending_outputs[--db->npending];
            return;
        }
    }
}

/* Builds the table file from the memtable; mu not held. */
static int build_table(cairn_db *db, cairn__memtable *mem, uint64_t number,
                       uint64_t *size, cairn__buf *smallest,
                       cairn__buf *largest)
{
    cairn__buf path = CAIRN__BUF_INIT;
    cairn__file *file = NULL;
    cairn__table_builder *tb = NULL;
    cairn__iter *it = cairn__memtable_iter(mem);
    int rc = 0, created = 0;
    *size = 0;
    if (it == NULL)
        return cairn__err(CAIRN_NOMEM, "memtable iterator");
    cairn__iter_seek_first(it);
    if (!cairn__iter_valid(it))
        goto out; /* nothing to write */
    cairn__table_options topt;
    cairn__db_table_options(db, &topt);
    CAIRN_TRY_GOTO(rc, cairn__filename_table(&path, db->dbname, number), out);
    CAIRN_TRY_GOTO(rc, db->env->ops->open_write(db->env, path.data, &file),
                   out);
    created = 1;
    CAIRN_TRY_GOTO(rc, cairn__table_builder_create(&topt, file, &tb), out);
    cairn__slice k = cairn__iter_key(it);
    CAIRN_TRY_GOTO(rc, cairn__buf_append(smallest, k.data, k.size), out);
    for (; cairn__iter_valid(it); cairn__iter_next(it)) {
        k = cairn__iter_key(it);
        CAIRN_TRY_GOTO(
            rc, cairn__table_builder_add(tb, k, cairn__iter_value(it)), out);
        cairn__buf_clear(largest);
        CAIRN_TRY_GOTO(rc, cairn__buf_append(largest, k.data, k.size), out);
    }
    CAIRN_TRY_GOTO(rc, cairn__iter_status(it), out);
    CAIRN_TRY_GOTO(rc, cairn__table_builder_finish(tb, size), out);
    CAIRN_TRY_GOTO(rc, cairn__file_sync(file), out);
    rc = cairn__file_close(file);
    file = NULL;
    if (rc != 0)
        goto out;
    /* The table's directory entry is made durable by log_and_apply,
     * before the MANIFEST record that names it. */
    /* Prove the table reads back before anything depends on it. */
    cairn__table_read_options ro = {1, 0, 0};
    cairn__iter *check;
    CAIRN_TRY_GOTO(
        rc, cairn__table_cache_iter(db->tc, &ro, number, *size, &check), out);
    cairn__iter_destroy(check);
out:
    if (tb != NULL) {
        if (rc != 0)
            cairn__table_builder_abandon(tb);
        cairn__table_builder_destroy(tb);
    }
    (void)cairn__file_close(file);
    cairn__iter_destroy(it);
    if (rc != 0 && created) {
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        (void)db->env->ops->remove(db->env, path.data);
        cairn__errmsg_restore(msg);
    }
    cairn__buf_fini(&path);
    return rc;
}

int cairn__db_write_level0_table(cairn_db *db, cairn__memtable *mem,
                                 cairn__edit *edit, cairn__version *base,
                                 uint64_t *number_out)
{
    *number_out = 0;
    cairn__mutex_assert_held(&db->mu);
    uint64_t number = cairn__vset_new_file_number(db->vs);
    CAIRN_TRY(cairn__db_pending_add(db, number));
    if (base != NULL)
        cairn__version_ref(base);
    cairn__infolog_printf(db->info, "Level-0 table #%llu: started",
                          (unsigned long long)number);
    cairn__buf smallest = CAIRN__BUF_INIT, largest = CAIRN__BUF_INIT;
    uint64_t size = 0;
    cairn__mutex_unlock(&db->mu);
    int rc = build_table(db, mem, number, &size, &smallest, &largest);
    cairn__mutex_lock(&db->mu);
    cairn__infolog_printf(db->info, "Level-0 table #%llu: %llu bytes %s",
                          (unsigned long long)number, (unsigned long long)size,
                          rc ? "FAILED" : "OK");
    /* The number stays pending until the edit naming the table is
     * applied (the caller removes it): in between, another thread's
     * obsolete-file sweep must not take the table for garbage. */
    if (rc != 0)
        cairn__db_pending_remove(db, number);
    else
        *number_out = number;
    if (rc == 0) {
        db->stats[0].bytes_written += size;
        db->bytes_user += size;
    }
    if (rc == 0 && size > 0) {
        int level = 0;
        if (base != NULL)
            level = cairn__version_pick_level_for_memtable_output(
                base, cairn__ikey_user(cairn__buf_slice(&smallest)),
                cairn__ikey_user(cairn__buf_slice(&largest)),
                db->opt.max_file_size);
        rc = cairn__edit_add_file(edit, level, number, size,
                                  cairn__buf_slice(&smallest),
                                  cairn__buf_slice(&largest));
    }
    if (base != NULL)
        cairn__version_unref(base);
    cairn__buf_fini(&smallest);
    cairn__buf_fini(&largest);
    return rc;
}

int cairn__db_flush_oldest(cairn_db *db)
{
    cairn__memtable *mem = db->imm[0];
    cairn__edit edit;
    cairn__edit_init(&edit);
    /* While a compaction runs, its outputs may land anywhere in its key
     * range at the next level, including gaps between its inputs; a table
     * pushed below level 0 there could overlap them. So flushes that
     * overlap a running compaction go to level 0 only. */
    uint64_t number = 0;
    int rc = cairn__db_write_level0_table(
        db, mem, &edit, db->compacting ? NULL : db->vs->current, &number);
    if (rc == 0 && db->shutting_down) {
        /* The table is written but not recorded; the logs still hold the
         * data, so dropping the edit loses nothing. */
        rc = cairn__err(CAIRN_IO, "shutting down during flush");
        cairn__edit_fini(&edit);
        return rc;
    }
    if (rc == 0) {
        /* Everything older than the next memtable's first log is now in
         * tables. */
        uint64_t next_log = db->nimm > 1 ? db->imm_log[1] : db->mem_log;
        cairn__edit_set_log_number(&edit, next_log);
        cairn__edit_set_prev_log_number(&edit, 0);
        rc = cairn__db_log_and_apply(db, &edit);
    }
    if (number != 0)
        cairn__db_pending_remove(db, number);
    cairn__edit_fini(&edit);
    if (rc != 0)
        return rc;
    for (int i = 1; i < db->nimm; i++) {
        db->imm[i - 1] = db->imm[i];
        db->imm_log[i - 1] = db->imm_log[i];
    }
    db->nimm--;
    db->imm[db->nimm] = NULL;
    atomic_store_explicit(&db->has_imm, db->nimm > 0, memory_order_relaxed);
    cairn__memtable_unref(mem);
    cairn__db_remove_obsolete_files(db);
    return 0;
}

/* The background threads. With one (the default), it flushes and
 * compacts, flushes first. With two, one only flushes and the other only
 * compacts, so a long compaction never delays a flush even between keys;
 * their MANIFEST edits are serialised by cairn__db_log_and_apply. */
typedef struct bg_role bg_role;

static void *bg_main(void *arg)
{
    bg_role *role = arg;
    cairn_db *db = role->db;
    cairn__mutex_lock(&db->mu);
    while (!db->shutting_down) {
        if (role->flush && db->nretired > 0) {
            /* Quick, and before the flush deletes the log. */
            cairn__db_close_retired_logs(db);
            continue;
        }
        if (role->flush && db->nimm > 0 && db->bg_error == 0 && !db->flushing) {
            /* Flushes come first: writers may be waiting for room. */
            db->flushing = 1;
            int rc = cairn__db_flush_oldest(db);
            db->flushing = 0;
            if (rc != 0 && !db->shutting_down)
                cairn__db_set_bg_error(db, rc);
            cairn__cond_broadcast(&db->bg_cv);
            continue;
        }
        if (role->flush && cairn__db_log_chores_due(db)) {
            /* The next switch's log (log_files.c). */
            cairn__db_log_chores(db);
            continue;
        }
        if (role->compact && db->bg_error == 0 &&
            cairn__db_bg_compact_step(db)) {
            cairn__cond_broadcast(&db->bg_cv);
            continue;
        }
        cairn__cond_wait(&db->bg_cv, &db->mu);
    }
    cairn__cond_broadcast(&db->bg_cv);
    cairn__mutex_unlock(&db->mu);
    return NULL;
}

int cairn__db_bg_start(cairn_db *db)
{
    int two = db->opt.background_threads >= 2;
    db->bg_roles[0].db = db;
    db->bg_roles[0].flush = 1;
    db->bg_roles[0].compact = !two;
    CAIRN_TRY(db->env->ops->thread_start(db->env, bg_main, &db->bg_roles[0],
                                         &db->bg_thread));
    if (two) {
        db->bg_roles[1].db = db;
        db->bg_roles[1].flush = 0;
        db->bg_roles[1].compact = 1;
        int rc = db->env->ops->thread_start(db->env, bg_main, &db->bg_roles[1],
                                            &db->bg_thread2);
        if (rc != 0) {
            cairn__db_bg_stop(db);
            return rc;
        }
    }
    return 0;
}

void cairn__db_bg_stop(cairn_db *db)
{
    if (db->bg_thread == NULL && db->bg_thread2 == NULL)
        return;
    cairn__mutex_lock(&db->mu);
    db->shutting_down = 1;
    cairn__cond_broadcast(&db->bg_cv);
    cairn__mutex_unlock(&db->mu);
    if (db->bg_thread != NULL)
        (void)db->env->ops->thread_join(db->env, db->bg_thread);
    if (db->bg_thread2 != NULL)
        (void)db->env->ops->thread_join(db->env, db->bg_thread2);
    db->bg_thread = NULL;
    db->bg_thread2 = NULL;
}

int cairn__db_log_and_apply(cairn_db *db, cairn__edit *edit)
{
    cairn__mutex_assert_held(&db->mu);
    while (db->manifest_busy)
        cairn__cond_wait(&db->bg_cv, &db->mu);
    db->manifest_busy = 1;
    int rc = cairn__vset_log_and_apply(db->vs, edit, &db->mu);
    db->manifest_busy = 0;
    cairn__cond_broadcast(&db->bg_cv);
    if (rc == 0)
        cairn__db_version_installed(db);
    return rc;
}
