/*
 * compact.c: running compactions (docs/design.md "Compaction").
 *
 * The background thread calls cairn__db_bg_compact_step when no memtable
 * waits to be flushed. A step runs a pending manual compaction, else the
 * version set's pick (size, then seek), as LevelDB 1.23 does:
 *
 *   - A trivial move (one input, nothing overlapping below, little
 *     grandparent overlap) is a MANIFEST edit only.
 *   - Otherwise the inputs are merged, with checksums verified, and
 *     written to new tables at level+1, cut at max_file_size and before a
 *     key whose output would overlap more than 10 x max_file_size of
 *     grandparent bytes. Between keys a running compaction flushes any
 *     memtable that became immutable, so writers never wait behind it.
 *
 * Dropping (applied to each user key's entries newest first, with S the
 * oldest sequence any snapshot or reader may still ask for):
 *   1. an entry is dropped if a newer entry of the same user key has a
 *      sequence <= S (no reader can see past that newer one);
 *   2. a tombstone with sequence <= S is dropped if no level below the
 *      output level can hold the key (nothing older for it to hide).
 * An entry whose key does not parse is kept, and resets the per-key state.
 *
 * Failure: the outputs written so far are deleted at once (nothing names
 * them), and the error becomes the sticky background error; an input is
 * never deleted unless the edit dropping it is durable.
 *
 * Threads: mu is held on entry and exit of every function here, and
 * released while keys are merged and tables written.
 */
#include "db/db_impl.h"

#include "db/filename.h"
#include "iter/merge.h"
#include "table/table_builder.h"
#include "util/ikey.h"
#include "version/compaction.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Compaction reads its inputs ahead in chunks this big (one pread per
 * chunk instead of per 4 KiB block; measured in docs/performance.md). */
#define CAIRN__COMPACTION_READAHEAD (256u * 1024u)

typedef struct output {
    uint64_t number;
    uint64_t size;
    cairn__buf smallest, largest;
} output;

typedef struct compact_state {
    cairn_db *db;
    cairn__compaction *c;
    uint64_t smallest_snapshot;
    output *outs;
    size_t nouts, capouts;
    cairn__file *file;
    cairn__table_builder *builder;
    uint64_t bytes_written;
} compact_state;

static void state_fini(compact_state *cs)
{
    for (size_t i = 0; i < cs->nouts; i++) {
        cairn__buf_fini(&cs->outs[i].smallest);
        cairn__buf_fini(&cs->outs[i].largest);
    }
    free(cs->outs);
    if (cs->builder != NULL) {
        cairn__table_builder_abandon(cs->builder);
        cairn__table_builder_destroy(cs->builder);
    }
    (void)cairn__file_close(cs->file);
}

/* Opens the next output table; mu not held (taken briefly for the file
 * number). */
static int open_output(compact_state *cs)
{
    cairn_db *db = cs->db;
    if (cs->nouts == cs->capouts) {
        size_t ncap = cs->capouts ? cs->capouts * 2 : 8;
        output *p = realloc(cs->outs, ncap * sizeof *p);
        if (p == NULL)
            return cairn__err(CAIRN_NOMEM, "compaction outputs");
        cs->outs = p;
        cs->capouts = ncap;
    }
    cairn__mutex_lock(&db->mu);
    uint64_t number = cairn__vset_new_file_number(db->vs);
    int rc = cairn__db_pending_add(db, number);
    cairn__mutex_unlock(&db->mu);
    if (rc != 0)
        return rc;
    output *o = &cs->outs[cs->nouts++];
    o->number = number;
    o->size = 0;
    cairn__buf_init(&o->smallest);
    cairn__buf_init(&o->largest);
    cairn__buf path = CAIRN__BUF_INIT;
    rc = cairn__filename_table(&path, db->dbname, number);
    if (rc == 0)
        rc = db->env->ops->open_write(db->env, path.data, &cs->file);
    cairn__buf_fini(&path);
    if (rc != 0) {
        cs->file = NULL;
        return rc;
    }
    cairn__table_options topt;
    cairn__db_table_options(db, &topt);
    return cairn__table_builder_create(&topt, cs->file, &cs->builder);
}

/* Finishes the current output: footer, sync, close, read-back check. */
static int finish_output(compact_state *cs)
{
    cairn_db *db = cs->db;
    output *o = &cs->outs[cs->nouts - 1];
    int rc = cairn__table_builder_finish(cs->builder, &o->size);
    cairn__table_builder_destroy(cs->builder);
    cs->builder = NULL;
    if (rc == 0)
        rc = cairn__file_sync(cs->file);
    int crc = cairn__file_close(cs->file);
    cs->file = NULL;
    if (rc == 0)
        rc = crc;
    if (rc == 0 && o->size > 0) {
        cairn__table_read_options ro = {1, 0, 0};
        cairn__iter *check;
        rc = cairn__table_cache_iter(db->tc, &ro, o->number, o->size, &check);
        if (rc == 0) {
            rc = cairn__iter_status(check);
            cairn__iter_destroy(check);
        }
    }
    cs->bytes_written += o->size;
    return rc;
}

static int make_input_iter(compact_state *cs, cairn__iter **out)
{
    cairn_db *db = cs->db;
    cairn__compaction *c = cs->c;
    /* Compaction reads verify every block: damage must not be copied
     * into new tables. */
    cairn__table_read_options ro = {1, 0, CAIRN__COMPACTION_READAHEAD};
    size_t cap = c->level == 0 ? c->ninputs[0] + 1 : 2;
    cairn__iter **list = malloc(cap * sizeof *list);
    if (list == NULL)
        return cairn__err(CAIRN_NOMEM, "compaction iterator");
    size_t n = 0;
    int rc = 0;
    if (c->level == 0) {
        for (size_t i = 0; i < c->ninputs[0] && rc == 0; i++) {
            cairn__iter *it;
            rc = cairn__table_cache_iter(db->tc, &ro, c->inputs[0][i]->number,
                                         c->inputs[0][i]->file_size, &it);
            if (rc == 0)
                list[n++] = it;
        }
    } else {
        cairn__iter *it;
        rc = cairn__version_files_iter(c->inputs[0], c->ninputs[0], db->tc, &ro,
                                       &it);
        if (rc == 0)
            list[n++] = it;
    }
    if (rc == 0 && c->ninputs[1] > 0) {
        cairn__iter *it;
        rc = cairn__version_files_iter(c->inputs[1], c->ninputs[1], db->tc, &ro,
                                       &it);
        if (rc == 0)
            list[n++] = it;
    }
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            cairn__iter_destroy(list[i]);
        free(list);
        return rc;
    }
    rc = cairn__iter_merge(cairn__ikey_compare, list, n, out);
    free(list);
    return rc;
}

/* 1 if ikey's user key differs from the last key added to the current
 * output (an output's largest key is its last). */
static int last_user_key_differs(compact_state *cs, cairn__slice ikey)
{
    const output *o = &cs->outs[cs->nouts - 1];
    if (o->largest.len < 8)
        return 1;
    return !cairn__slice_equal(cairn__ikey_user(cairn__buf_slice(&o->largest)),
                               cairn__ikey_user(ikey));
}

/* Gives a waiting flush the thread between two keys. */
static int flush_if_needed(cairn_db *db)
{
    /* With a flush thread of its own, flushes never wait for us. */
    if (db->opt.background_threads >= 2 ||
        !atomic_load_explicit(&db->has_imm, memory_order_relaxed))
        return 0;
    cairn__mutex_lock(&db->mu);
    int rc = 0;
    if (db->nimm > 0 && db->bg_error == 0 && !db->shutting_down &&
        !db->flushing) {
        db->flushing = 1;
        rc = cairn__db_flush_oldest(db);
        db->flushing = 0;
        if (rc != 0)
            cairn__db_set_bg_error(db, rc);
        cairn__cond_broadcast(&db->bg_cv);
    }
    cairn__mutex_unlock(&db->mu);
    return rc;
}

/* The merge loop; mu not held. */
static int merge_inputs(compact_state *cs)
{
    cairn_db *db = cs->db;
    cairn__compaction *c = cs->c;
    cairn__iter *in;
    CAIRN_TRY(make_input_iter(cs, &in));
    cairn__buf cur = CAIRN__BUF_INIT;
    int has_cur = 0;
    int cut_pending = 0;
    uint64_t last_seq_for_key = CAIRN__MAX_SEQ;
    int rc = 0;
    unsigned step = 0;
    for (cairn__iter_seek_first(in); cairn__iter_valid(in);
         cairn__iter_next(in)) {
        if ((rc = flush_if_needed(db)) != 0)
            break;
        /* A close is noticed within 64 entries: taking mu for every
         * entry cost time, and made the merge wait whenever a writer
         * held mu for a memtable switch. */
        if ((step++ & 63) == 0) {
            cairn__mutex_lock(&db->mu);
            int stop = db->shutting_down;
            cairn__mutex_unlock(&db->mu);
            if (stop) {
                rc = cairn__err(CAIRN_IO, "compaction interrupted by close");
                break;
            }
        }
        cairn__slice key = cairn__iter_key(in);
        /* Outputs are cut only between two user keys, never between the
         * versions of one: LevelDB 1.23 does not add boundary files at
         * level+1 when it compacts (fixed after 1.23), so a user key split
         * across two of our files at one level could let it drop a
         * tombstone over an older value it did not see. */
        int new_user_key = cs->builder == NULL || key.size < 8 ||
                           last_user_key_differs(cs, key);
        if (cs->builder != NULL && new_user_key &&
            (cut_pending || cairn__compaction_should_stop_before(c, key))) {
            cut_pending = 0;
            if ((rc = finish_output(cs)) != 0)
                break;
        }
        int drop = 0;
        cairn__pikey pk;
        if (!cairn__ikey_parse(key, &pk)) {
            /* Keep what cannot be parsed, and forget the current key. */
            cairn__buf_clear(&cur);
            has_cur = 0;
            last_seq_for_key = CAIRN__MAX_SEQ;
        } else {
            if (!has_cur ||
                !cairn__slice_equal(pk.user_key, cairn__buf_slice(&cur))) {
                cairn__buf_clear(&cur);
                if ((rc = cairn__buf_append(&cur, pk.user_key.data,
                                            pk.user_key.size)) != 0)
                    break;
                has_cur = 1;
                last_seq_for_key = CAIRN__MAX_SEQ;
            }
            if (last_seq_for_key <= cs->smallest_snapshot)
                drop = 1; /* rule 1: hidden by a newer visible entry */
            else if (pk.type == CAIRN__TYPE_DELETION &&
                     pk.seq <= cs->smallest_snapshot &&
                     cairn__compaction_is_base_level_for_key(c, pk.user_key))
                drop = 1; /* rule 2: nothing older below to hide */
            last_seq_for_key = pk.seq;
        }
        if (drop)
            continue;
        if (cs->builder == NULL && (rc = open_output(cs)) != 0)
            break;
        output *o = &cs->outs[cs->nouts - 1];
        if (cairn__table_builder_num_entries(cs->builder) == 0 &&
            (rc = cairn__buf_append(&o->smallest, key.data, key.size)) != 0)
            break;
        cairn__buf_clear(&o->largest);
        if ((rc = cairn__buf_append(&o->largest, key.data, key.size)) != 0)
            break;
        if ((rc = cairn__table_builder_add(cs->builder, key,
                                           cairn__iter_value(in))) != 0)
            break;
        if (cairn__table_builder_file_size(cs->builder) >=
            c->max_output_file_size)
            cut_pending = 1; /* at the next user key */
    }
    if (rc == 0)
        rc = cairn__iter_status(in);
    if (rc == 0 && cs->builder != NULL)
        rc = finish_output(cs);
    cairn__iter_destroy(in);
    cairn__buf_fini(&cur);
    return rc;
}

/* Deletes outputs nothing will name (after a failure); mu held. */
static void discard_outputs(compact_state *cs)
{
    cairn_db *db = cs->db;
    char msg[CAIRN__ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
    cairn__buf path = CAIRN__BUF_INIT;
    for (size_t i = 0; i < cs->nouts; i++) {
        cairn__table_cache_evict(db->tc, cs->outs[i].number);
        if (cairn__filename_table(&path, db->dbname, cs->outs[i].number) == 0)
            cairn__env_remove_quietly(db->env, path.data);
    }
    cairn__buf_fini(&path);
    cairn__errmsg_restore(msg);
}

static int do_compaction(cairn_db *db, cairn__compaction *c)
{
    cairn__mutex_assert_held(&db->mu);
    uint64_t start = db->env->ops->now_micros(db->env);
    compact_state cs;
    memset(&cs, 0, sizeof cs);
    cs.db = db;
    cs.c = c;
    cs.smallest_snapshot = cairn__db_oldest_snapshot(db);
    cairn__infolog_printf(db->info, "Compacting %zu@%d + %zu@%d files",
                          c->ninputs[0], c->level, c->ninputs[1], c->level + 1);
    cairn__mutex_unlock(&db->mu);
    int rc = merge_inputs(&cs);
    cairn__mutex_lock(&db->mu);

    if (rc == 0)
        rc = cairn__compaction_add_input_deletions(c);
    for (size_t i = 0; rc == 0 && i < cs.nouts; i++) {
        output *o = &cs.outs[i];
        if (o->size == 0)
            continue;
        rc = cairn__edit_add_file(&c->edit, c->level + 1, o->number, o->size,
                                  cairn__buf_slice(&o->smallest),
                                  cairn__buf_slice(&o->largest));
    }
    int edit_written = 0;
    if (rc == 0) {
        /* From here the edit naming the outputs may reach the MANIFEST
         * even if this call fails (say, its sync does), so a failure must
         * not delete them: a reopen may need them. */
        edit_written = 1;
        rc = cairn__db_log_and_apply(db, &c->edit);
    }
    if (rc == 0)
        cairn__db_version_installed(db);
    for (size_t i = 0; i < cs.nouts; i++)
        cairn__db_pending_remove(db, cs.outs[i].number);
    if (rc != 0 && !edit_written)
        discard_outputs(&cs);

    struct cairn__level_stats *st = &db->stats[c->level + 1];
    st->micros += db->env->ops->now_micros(db->env) - start;
    st->bytes_read += cairn__compaction_input_bytes(c, 0) +
                      cairn__compaction_input_bytes(c, 1);
    st->bytes_written += cs.bytes_written;
    st->count++;
    cairn__infolog_printf(db->info,
                          "Compacted %zu@%d + %zu@%d files => %llu "
                          "bytes in %zu files: %s",
                          c->ninputs[0], c->level, c->ninputs[1], c->level + 1,
                          (unsigned long long)cs.bytes_written, cs.nouts,
                          rc == 0 ? "OK" : cairn__errmsg_get());
    state_fini(&cs);
    return rc;
}

static int trivial_move(cairn_db *db, cairn__compaction *c)
{
    cairn__file_meta *f = c->inputs[0][0];
    int rc = cairn__edit_delete_file(&c->edit, c->level, f->number);
    if (rc == 0)
        rc = cairn__edit_add_file(&c->edit, c->level + 1, f->number,
                                  f->file_size, cairn__buf_slice(&f->smallest),
                                  cairn__buf_slice(&f->largest));
    if (rc == 0)
        rc = cairn__db_log_and_apply(db, &c->edit);
    if (rc == 0)
        cairn__db_version_installed(db);
    cairn__infolog_printf(db->info, "Moved #%llu to level-%d %llu bytes: %s",
                          (unsigned long long)f->number, c->level + 1,
                          (unsigned long long)f->file_size,
                          rc == 0 ? "OK" : cairn__errmsg_get());
    return rc;
}

/* Runs one step of a pending manual compaction. */
static int manual_step(cairn_db *db)
{
    struct cairn__manual *m = db->manual;
    cairn__slice b = cairn__buf_slice(&m->begin);
    cairn__slice e = cairn__buf_slice(&m->end);
    cairn__compaction *c = NULL;
    int rc = cairn__vset_compact_range(
        db->vs, m->level, m->has_begin ? &b : NULL, m->has_end ? &e : NULL,
        db->opt.max_file_size, &c);
    if (rc == 0 && c == NULL) {
        m->done = 1;
        return 0;
    }
    if (rc == 0) {
        /* Remember where this step ended so the next one continues
         * after it (the range may need several bounded steps). */
        cairn__slice largest =
            cairn__buf_slice(&c->inputs[0][c->ninputs[0] - 1]->largest);
        for (size_t i = 0; i < c->ninputs[0]; i++)
            if (cairn__ikey_compare(cairn__buf_slice(&c->inputs[0][i]->largest),
                                    largest) > 0)
                largest = cairn__buf_slice(&c->inputs[0][i]->largest);
        cairn__buf next = CAIRN__BUF_INIT;
        rc = cairn__buf_append(&next, largest.data, largest.size - 8);
        rc = rc ? rc : do_compaction(db, c);
        if (rc == 0) {
            /* Continue strictly after the last user key compacted. */
            if (m->has_end &&
                cairn__slice_compare(cairn__buf_slice(&next), e) >= 0) {
                m->done = 1;
            } else {
                cairn__buf_clear(&m->begin);
                rc = cairn__buf_append(&m->begin, next.data, next.len);
                if (rc == 0)
                    rc = cairn__buf_append(&m->begin, "\0", 1);
                m->has_begin = 1;
            }
        }
        cairn__buf_fini(&next);
        cairn__compaction_free(c);
    }
    if (rc != 0) {
        m->done = 1;
        m->rc = rc;
    }
    return rc;
}

int cairn__db_bg_compact_step(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    int rc = 0;
    if (db->manual != NULL && !db->manual->done) {
        db->compacting = 1;
        rc = manual_step(db);
        db->compacting = 0;
        if (rc != 0 && !db->shutting_down)
            cairn__db_set_bg_error(db, rc);
        else
            cairn__db_remove_obsolete_files(db);
        return 1;
    }
    if (db->bg_compaction_paused || !cairn__vset_needs_compaction(db->vs))
        return 0;
    cairn__compaction *c = NULL;
    rc = cairn__vset_pick_compaction(db->vs, db->opt.max_file_size, &c);
    if (rc == 0 && c == NULL)
        return 0;
    if (rc == 0) {
        db->compacting = 1;
        if (cairn__compaction_is_trivial_move(c))
            rc = trivial_move(db, c);
        else
            rc = do_compaction(db, c);
        db->compacting = 0;
        cairn__compaction_free(c);
    }
    if (rc != 0 && !db->shutting_down)
        cairn__db_set_bg_error(db, rc);
    else if (rc == 0)
        cairn__db_remove_obsolete_files(db);
    return 1;
}
