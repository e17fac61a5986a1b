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
 *   - A large merge is split into key ranges of about equal input bytes
 *     (subcompactions, up to max_subcompactions), merged at once on
 *     helper threads, their outputs joined in one edit
 *     (docs/design.md "Subcompactions").
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
 * Threads: mu is held on entry and exit of do_compaction and the other
 * entry points, and released while keys are merged and tables written;
 * a subcompaction's helper thread holds no lock while it merges
 * (docs/locking.md).
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
    /* This subcompaction's internal keys: [lo, hi), an empty buffer being
     * an open end. Bounds are (user key, MAX_SEQ, TYPE_FOR_SEEK), below
     * every entry of their user key, so no user key is split. */
    cairn__buf lo, hi;
    int flusher;         /* flushes memtables between keys (bg thread) */
    _Atomic int *failed; /* set by a failing subcompaction: all stop */
    int stopped;         /* this one stopped because another failed */
    cairn__compaction_cursor cur;
    /* A helper thread's result, and its done flag (Locked: db->mu). */
    int rc;
    char msg[CAIRN__ERRMSG_MAX];
    int running;
    cairn__thread *thread;
} compact_state;

static void state_fini(compact_state *cs)
{
    for (size_t i = 0; i < cs->nouts; i++) {
        cairn__buf_fini(&cs->outs[i].smallest);
        cairn__buf_fini(&cs->outs[i].largest);
    }
    free(cs->outs);
    cairn__buf_fini(&cs->lo);
    cairn__buf_fini(&cs->hi);
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

/* 1 if the compaction's thread should flush now: it is also the flushing
 * thread (one background thread), a memtable waits, and nothing stops the
 * flush. mu held. */
static int flush_due(const cairn_db *db)
{
    return db->opt.background_threads < 2 && db->nimm > 0 &&
           db->bg_error == 0 && !db->shutting_down && !db->flushing;
}

/* Flushes the oldest immutable memtable (flush_due holds), then makes
 * the next log ahead (log_files.c); mu held. */
static int flush_locked(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    /* Closing an old log first (quick) releases mu: look again. */
    cairn__db_close_retired_logs(db);
    if (!flush_due(db))
        return 0;
    db->flushing = 1;
    int rc = cairn__db_flush_oldest(db);
    db->flushing = 0;
    if (rc != 0)
        cairn__db_set_bg_error(db, rc);
    else
        cairn__db_log_chores(db); /* the spare for the next switch */
    cairn__cond_broadcast(&db->bg_cv);
    return rc;
}

/* Gives a waiting flush the thread between two keys. */
static int flush_if_needed(cairn_db *db)
{
    /* With a flush thread of its own, flushes never wait for us. */
    if (db->opt.background_threads >= 2 ||
        !atomic_load_explicit(&db->has_imm, memory_order_relaxed))
        return 0;
    cairn__mutex_lock(&db->mu);
    int rc = flush_due(db) ? flush_locked(db) : 0;
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
    if (cs->lo.len > 0)
        cairn__iter_seek(in, cairn__buf_slice(&cs->lo));
    else
        cairn__iter_seek_first(in);
    for (; cairn__iter_valid(in); cairn__iter_next(in)) {
        if (cs->flusher && (rc = flush_if_needed(db)) != 0)
            break;
        /* A close is noticed within 64 entries: taking mu for every
         * entry cost time, and made the merge wait whenever a writer
         * held mu for a memtable switch. */
        if ((step++ & 63) == 0) {
            if (atomic_load_explicit(cs->failed, memory_order_relaxed)) {
                cs->stopped = 1;
                rc = cairn__err(CAIRN_IO, "compaction stopped: another "
                                          "part of it failed");
                break;
            }
            cairn__mutex_lock(&db->mu);
            int stop = db->shutting_down;
            cairn__mutex_unlock(&db->mu);
            if (stop) {
                rc = cairn__err(CAIRN_IO, "compaction interrupted by close");
                break;
            }
        }
        cairn__slice key = cairn__iter_key(in);
        if (cs->hi.len > 0 &&
            cairn__ikey_compare(key, cairn__buf_slice(&cs->hi)) >= 0)
            break; /* the next subcompaction's */
        /* Outputs are cut only between two user keys, never between the
         * versions of one: LevelDB 1.23 does not add boundary files at
         * level+1 when it compacts (fixed after 1.23), so a user key split
         * across two of our files at one level could let it drop a
         * tombstone over an older value it did not see. */
        int new_user_key = cs->builder == NULL || key.size < 8 ||
                           last_user_key_differs(cs, key);
        if (cs->builder != NULL && new_user_key &&
            (cut_pending ||
             cairn__compaction_should_stop_before(c, &cs->cur, key))) {
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
                     cairn__compaction_is_base_level_for_key(c, &cs->cur,
                                                             pk.user_key))
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
    if (rc != 0)
        atomic_store_explicit(cs->failed, 1, memory_order_relaxed);
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

/* ---------------------------------------------------------------------- */
/* Subcompactions                                                          */

static int slice_cmp(const void *a, const void *b)
{
    return cairn__slice_compare(*(const cairn__slice *)a,
                                *(const cairn__slice *)b);
}

/* Input bytes of c before internal key b, estimated from the files' index
 * blocks (a file that b cuts counts up to b's approximate offset). */
static uint64_t bytes_before(cairn_db *db, const cairn__compaction *c,
                             cairn__slice b)
{
    uint64_t sum = 0;
    for (int which = 0; which < 2; which++) {
        for (size_t i = 0; i < c->ninputs[which]; i++) {
            const cairn__file_meta *f = c->inputs[which][i];
            if (cairn__ikey_compare(cairn__buf_slice(&f->largest), b) < 0)
                sum += f->file_size;
            else if (cairn__ikey_compare(cairn__buf_slice(&f->smallest), b) < 0)
                sum += cairn__table_cache_approximate_offset(db->tc, f->number,
                                                             f->file_size, b);
        }
    }
    return sum;
}

/* Index keys sampled from the largest input, for split_ranges. */
#define SPLIT_SAMPLES 64

typedef struct sample_set {
    cairn__buf bytes; /* the sampled user keys, end to end */
    size_t off[SPLIT_SAMPLES + 1], n;
    int failed;
} sample_set;

static void add_sample(void *arg, cairn__slice ikey)
{
    sample_set *ss = arg;
    if (ss->failed || ss->n == SPLIT_SAMPLES || ikey.size < 8)
        return;
    cairn__slice u = cairn__ikey_user(ikey);
    if (cairn__buf_append(&ss->bytes, u.data, u.size) != 0) {
        ss->failed = 1;
        return;
    }
    ss->off[++ss->n] = ss->bytes.len;
}

/* Splits c's key space into at most k ranges of about equal input bytes.
 * Cuts are chosen among the user keys that end input files and keys
 * sampled from the largest input's index (level-0 files all span about
 * the whole range, so their ends alone would put every cut near its
 * top). Fills bounds[0..n-2] with internal keys (user key, MAX_SEQ,
 * TYPE_FOR_SEEK) and returns n, the number of ranges (1: no split). mu
 * not held: the estimates may open tables; the inputs are pinned by c's
 * version. Out of memory just means fewer cuts. */
static int split_ranges(cairn_db *db, const cairn__compaction *c, int k,
                        cairn__buf *bounds)
{
    size_t nfiles = c->ninputs[0] + c->ninputs[1];
    if (k <= 1 || nfiles == 0)
        return 1;
    sample_set ss;
    memset(&ss, 0, sizeof ss);
    cairn__buf_init(&ss.bytes);
    const cairn__file_meta *big = NULL;
    for (int which = 0; which < 2; which++)
        for (size_t i = 0; i < c->ninputs[which]; i++)
            if (big == NULL || c->inputs[which][i]->file_size > big->file_size)
                big = c->inputs[which][i];
    cairn__table_cache_index_sample(db->tc, big->number, big->file_size,
                                    SPLIT_SAMPLES, add_sample, &ss);
    cairn__slice *cand = malloc((nfiles + ss.n) * sizeof *cand);
    if (cand == NULL) {
        cairn__buf_fini(&ss.bytes);
        return 1; /* no split: the compaction still runs */
    }
    size_t n = 0;
    for (int which = 0; which < 2; which++)
        for (size_t i = 0; i < c->ninputs[which]; i++) {
            cairn__slice largest =
                cairn__buf_slice(&c->inputs[which][i]->largest);
            if (largest.size >= 8)
                cand[n++] = cairn__ikey_user(largest);
        }
    for (size_t i = 0; i < ss.n; i++)
        cand[n++] = cairn__slice_make(ss.bytes.data + ss.off[i],
                                      ss.off[i + 1] - ss.off[i]);
    qsort(cand, n, sizeof *cand, slice_cmp);
    uint64_t total = cairn__compaction_input_bytes(c, 0) +
                     cairn__compaction_input_bytes(c, 1);
    int nranges = 1;
    cairn__buf b = CAIRN__BUF_INIT;
    /* A cut at the largest candidate could leave its range empty. */
    for (size_t i = 0; i + 1 < n && nranges < k; i++) {
        if (i > 0 && cairn__slice_equal(cand[i], cand[i - 1]))
            continue;
        cairn__buf_clear(&b);
        if (cairn__ikey_append(&b, cand[i], CAIRN__MAX_SEQ,
                               CAIRN__TYPE_FOR_SEEK) != 0)
            break;
        uint64_t before = bytes_before(db, c, cairn__buf_slice(&b));
        /* Cut where the bytes before pass the next equal share. */
        if (before * (uint64_t)k < total * (uint64_t)nranges || before >= total)
            continue;
        cairn__buf_clear(&bounds[nranges - 1]);
        if (cairn__buf_append(&bounds[nranges - 1], b.data, b.len) != 0)
            break;
        nranges++;
    }
    cairn__buf_fini(&b);
    cairn__buf_fini(&ss.bytes);
    free(cand);
    return nranges;
}

/* A helper thread's subcompaction. */
static void *sub_main(void *arg)
{
    compact_state *cs = arg;
    cairn_db *db = cs->db;
    int rc = merge_inputs(cs);
    if (rc != 0)
        snprintf(cs->msg, sizeof cs->msg, "%s", cairn__errmsg_get());
    cairn__mutex_lock(&db->mu);
    cs->rc = rc;
    cs->running = 0;
    cairn__cond_broadcast(&db->bg_cv);
    cairn__mutex_unlock(&db->mu);
    return NULL;
}

/* Runs the merge of subs[0..n-1] (their ranges set), subs[0] on this
 * thread and the others on helper threads; mu not held. While it waits
 * for the helpers this thread still flushes memtables, as it does
 * between keys. Returns the first failure, its message in this thread. */
static int run_subcompactions(cairn_db *db, compact_state *subs, int n)
{
    for (int i = 1; i < n; i++) {
        subs[i].running = 1;
        if (db->env->ops->thread_start(db->env, sub_main, &subs[i],
                                       &subs[i].thread) != 0) {
            subs[i].thread = NULL;
            subs[i].running = 0;
        }
    }
    int rc0 = merge_inputs(&subs[0]);
    char msg0[CAIRN__ERRMSG_MAX];
    snprintf(msg0, sizeof msg0, "%s", cairn__errmsg_get());
    /* A range no thread could be started for runs here. */
    for (int i = 1; i < n; i++)
        if (subs[i].thread == NULL) {
            subs[i].rc = merge_inputs(&subs[i]);
            if (subs[i].rc != 0)
                snprintf(subs[i].msg, sizeof subs[i].msg, "%s",
                         cairn__errmsg_get());
        }
    cairn__mutex_lock(&db->mu);
    for (int i = 1; i < n; i++) {
        while (subs[i].running) {
            if (flush_due(db)) {
                int frc = flush_locked(db);
                if (frc != 0) {
                    atomic_store_explicit(subs[0].failed, 1,
                                          memory_order_relaxed);
                    if (rc0 == 0) {
                        rc0 = frc;
                        snprintf(msg0, sizeof msg0, "%s", cairn__errmsg_get());
                    }
                }
                continue;
            }
            cairn__cond_wait(&db->bg_cv, &db->mu);
        }
    }
    cairn__mutex_unlock(&db->mu);
    for (int i = 1; i < n; i++)
        if (subs[i].thread != NULL)
            (void)db->env->ops->thread_join(db->env, subs[i].thread);
    /* The failure to report: the first that was not just a stop because
     * another part failed, else the first. */
    int pick = -1;
    for (int i = 0; i < n; i++) {
        if ((i == 0 ? rc0 : subs[i].rc) == 0)
            continue;
        if (pick < 0)
            pick = i;
        if (!subs[i].stopped) {
            pick = i;
            break;
        }
    }
    int rc = pick < 0 ? 0 : pick == 0 ? rc0 : subs[pick].rc;
    const char *msg = pick <= 0 ? msg0 : subs[pick].msg;
    if (rc != 0)
        cairn__errmsg_restore(msg);
    return rc;
}

static int do_compaction(cairn_db *db, cairn__compaction *c)
{
    cairn__mutex_assert_held(&db->mu);
    uint64_t start = db->env->ops->now_micros(db->env);
    compact_state subs[CAIRN__MAX_SUBCOMPACTIONS];
    cairn__buf bounds[CAIRN__MAX_SUBCOMPACTIONS];
    _Atomic int failed;
    atomic_init(&failed, 0);
    uint64_t snapshot = cairn__db_oldest_snapshot(db);
    /* Each range gets at least an output file's worth of input. */
    uint64_t in_bytes = cairn__compaction_input_bytes(c, 0) +
                        cairn__compaction_input_bytes(c, 1);
    uint64_t per = db->opt.max_file_size > 0 ? db->opt.max_file_size : 1;
    int k = db->opt.max_subcompactions;
    if ((uint64_t)k > in_bytes / per)
        k = (int)(in_bytes / per);
    if (k < 1)
        k = 1;
    cairn__infolog_printf(db->info, "Compacting %zu@%d + %zu@%d files",
                          c->ninputs[0], c->level, c->ninputs[1], c->level + 1);
    cairn__mutex_unlock(&db->mu);

    for (int i = 0; i < CAIRN__MAX_SUBCOMPACTIONS; i++)
        cairn__buf_init(&bounds[i]);
    int n = split_ranges(db, c, k, bounds);
    memset(subs, 0, (size_t)n * sizeof subs[0]);
    for (int i = 0; i < n; i++) {
        compact_state *cs = &subs[i];
        cs->db = db;
        cs->c = c;
        cs->smallest_snapshot = snapshot;
        cs->flusher = i == 0;
        cs->failed = &failed;
        cairn__buf_init(&cs->lo);
        cairn__buf_init(&cs->hi);
        /* The bounds move into the ranges: bounds[i-1] is range i's lo,
         * a copy is range i-1's hi. */
        if (i > 0) {
            cs->lo = bounds[i - 1];
            cairn__buf_init(&bounds[i - 1]);
        }
    }
    int rc = 0;
    for (int i = 0; i + 1 < n && rc == 0; i++)
        rc = cairn__buf_append(&subs[i].hi, subs[i + 1].lo.data,
                               subs[i + 1].lo.len);
    if (rc == 0)
        rc = n == 1 ? merge_inputs(&subs[0]) : run_subcompactions(db, subs, n);
    for (int i = 0; i < CAIRN__MAX_SUBCOMPACTIONS; i++)
        cairn__buf_fini(&bounds[i]);
    cairn__mutex_lock(&db->mu);

    if (rc == 0)
        rc = cairn__compaction_add_input_deletions(c);
    size_t nouts = 0;
    uint64_t bytes_written = 0;
    for (int s = 0; s < n; s++) {
        nouts += subs[s].nouts;
        bytes_written += subs[s].bytes_written;
        for (size_t i = 0; rc == 0 && i < subs[s].nouts; i++) {
            output *o = &subs[s].outs[i];
            if (o->size == 0)
                continue;
            rc = cairn__edit_add_file(&c->edit, c->level + 1, o->number,
                                      o->size, cairn__buf_slice(&o->smallest),
                                      cairn__buf_slice(&o->largest));
        }
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
    for (int s = 0; s < n; s++) {
        for (size_t i = 0; i < subs[s].nouts; i++)
            cairn__db_pending_remove(db, subs[s].outs[i].number);
        if (rc != 0 && !edit_written)
            discard_outputs(&subs[s]);
    }

    struct cairn__level_stats *st = &db->stats[c->level + 1];
    st->micros += db->env->ops->now_micros(db->env) - start;
    st->bytes_read += in_bytes;
    st->bytes_written += bytes_written;
    st->count++;
    st->parts += (uint64_t)n;
    /* Each part's output bytes, to show how even the split was. */
    char split[CAIRN__MAX_SUBCOMPACTIONS * 22 + 1] = "";
    size_t used = 0;
    for (int i = 0; i < n && n > 1; i++)
        used += (size_t)snprintf(split + used, sizeof split - used, " %llu",
                                 (unsigned long long)subs[i].bytes_written);
    cairn__infolog_printf(db->info,
                          "Compacted %zu@%d + %zu@%d files => %llu "
                          "bytes in %zu files (%d parts%s%s): %s",
                          c->ninputs[0], c->level, c->ninputs[1], c->level + 1,
                          (unsigned long long)bytes_written, nouts, n,
                          n > 1 ? ", bytes" : "", split,
                          rc == 0 ? "OK" : cairn__errmsg_get());
    for (int s = 0; s < n; s++)
        state_fini(&subs[s]);
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
        snprintf(m->msg, sizeof m->msg, "%s", cairn__errmsg_get());
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
