/*
 * db.c: opening (with recovery), closing and destroying a database.
 *
 * Open, step by step (docs/design.md "Open and recovery"):
 *   1. Create the directory, take LOCK (a second open fails, a stale LOCK
 *      of a killed process does not block: fcntl locks die with their
 *      process), rotate the info log.
 *   2. Without CURRENT: create a new database if allowed (MANIFEST-000001
 *      synced before CURRENT names it). With it: honour error_if_exists.
 *   3. Replay the MANIFEST into the version set (any damage is fatal).
 *   4. Check every table the version names is present; collect the logs
 *      numbered >= the log number (or == the previous log number).
 *   5. Replay those logs, in order, into a memtable. A damaged record is
 *      reported to the info log and skipped, or fails the open under
 *      paranoid_checks. A torn tail is silent (it was never acknowledged);
 *      a log after it may only be an empty spare (log_files.c). A log
 *      whose first batch skips sequences past where the logs before it
 *      end follows writes a power cut lost: replay stops before it.
 *   6. last_seq = max(MANIFEST's, the largest replayed) — without the
 *      underflow of LevelDB #1198 for empty records.
 *   7. Start a new log (synced directory entry), write a fresh MANIFEST
 *      naming it, and delete files no longer needed, only after the
 *      MANIFEST that stops naming them is durable.
 * The replayed logs stay in the log number range until their contents are
 * written to a table, so they are replayed again after a crash.
 */
#include "db/db_impl.h"

#include "db/batch.h"
#include "db/filename.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cairn__db_set_bg_error(cairn_db *db, int rc)
{
    cairn__mutex_assert_held(&db->mu);
    if (rc != 0 && db->bg_error == 0) {
        db->bg_error = rc;
        atomic_store_explicit(&db->bg_error_flag, 1, memory_order_release);
        snprintf(db->bg_errmsg, sizeof db->bg_errmsg, "%s",
                 cairn__errmsg_get());
        cairn__infolog_printf(db->info,
                              "background error (sticky until reopen): %s",
                              db->bg_errmsg);
        /* Whoever waits on bg_cv for a flush or a compaction (a leader
         * stalled in flow control, a manual flush or compaction) must see
         * the error now: with it set, the background thread starts no
         * more work, so the broadcast it would make at the end of that
         * work never comes. The error may come from outside the
         * background thread (a former leader's failed log sync). */
        cairn__cond_broadcast(&db->bg_cv);
    }
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Log replay                                                              */

/* Damage met while replaying a log. Every piece is written to the info
 * log. Under paranoid_checks the first piece is held back: if a good
 * record follows it, the log is damaged in the middle and the open fails;
 * if nothing good follows it in the newest log that holds anything, it is
 * the torn tail a crash or power cut leaves behind (records that were
 * never acknowledged, or not synced), and recovery goes on (recover). */
typedef struct replay_report {
    cairn_db *db;
    const char *path;
    int pending;                 /* damage not yet judged */
    char msg[CAIRN__ERRMSG_MAX]; /* its description */
} replay_report;

static void replay_damage(void *ctx, uint64_t offset, size_t bytes,
                          const char *reason)
{
    replay_report *r = ctx;
    cairn__infolog_printf(
        r->db->info, "%s: dropping %zu bytes at offset %llu: %s%s", r->path,
        bytes, (unsigned long long)offset, reason,
        r->db->opt.paranoid_checks ? "" : " (ignoring error)");
    if (r->db->opt.paranoid_checks && !r->pending) {
        r->pending = 1;
        snprintf(r->msg, sizeof r->msg,
                 "%s offset %llu: %s (%zu bytes dropped)", r->path,
                 (unsigned long long)offset, reason, bytes);
    }
}

/* The held-back damage becomes the open's error. */
static int replay_fail(replay_report *r)
{
    return cairn__err(CAIRN_CORRUPTION, "%s", r->msg);
}

/* Writes the recovery memtable to a level-0 table when it is full (or,
 * with force, when it holds anything), recording the table in edit. */
static int maybe_flush_recovered(cairn_db *db, cairn__edit *edit, int force)
{
    if (cairn__memtable_count(db->mem) == 0)
        return 0;
    if (!force &&
        cairn__memtable_memory_usage(db->mem) <= db->opt.write_buffer_size)
        return 0;
    cairn__mutex_lock(&db->mu);
    uint64_t number;
    /* The table stays in pending_outputs until open applies the edit. */
    int rc = cairn__db_write_level0_table(db, db->mem, edit, NULL, &number);
    cairn__mutex_unlock(&db->mu);
    if (rc != 0)
        return rc;
    cairn__memtable *fresh;
    CAIRN_TRY(cairn__db_new_memtable(db, &fresh));
    cairn__memtable_unref(db->mem);
    db->mem = fresh;
    return 0;
}

/* Replays one log. Damage at its end under paranoid_checks is not judged
 * here: *tail gets its description (else ""), and recover decides.
 * *next_seq is the sequence the log's first batch must start at (0: not
 * known, for the first log with batches), and on return the one after its
 * last batch. If the first batch starts later, the log is not replayed and
 * *gap is set: the writes between were lost while later ones were kept
 * (recover). */
static int replay_log(cairn_db *db, uint64_t number, cairn__edit *edit,
                      uint64_t *max_seq, uint64_t *nrecords, char *tail,
                      uint64_t *next_seq, int *gap)
{
    cairn__memtable *mem;
    cairn__buf path = CAIRN__BUF_INIT;
    cairn__file *f = NULL;
    cairn__log_reader reader;
    int reader_ok = 0, rc;
    uint64_t records = 0;
    CAIRN_TRY_GOTO(rc, cairn__filename_log(&path, db->dbname, number), out);
    cairn__infolog_printf(db->info, "Recovering log #%llu",
                          (unsigned long long)number);
    CAIRN_TRY_GOTO(rc, db->env->ops->open_read(db->env, path.data, &f), out);
    replay_report rep;
    rep.db = db;
    rep.path = path.data;
    rep.pending = 0;
    rep.msg[0] = '\0';
    CAIRN_TRY_GOTO(
        rc, cairn__log_reader_init(&reader, f, replay_damage, &rep, 1, 0), out);
    reader_ok = 1;
    for (;;) {
        cairn__slice rec;
        int got = cairn__log_read_record(&reader, &rec);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0) {
            if (rep.pending)
                snprintf(tail, CAIRN__ERRMSG_MAX, "%s", rep.msg);
            break;
        }
        if (rep.pending) {
            /* A good record after damage: the log is damaged inside. */
            rc = replay_fail(&rep);
            break;
        }
        uint64_t off = cairn__log_reader_last_offset(&reader);
        /* A record that passed its checksum but does not parse is real
         * damage (a torn write cannot produce one), so under paranoid
         * checks it fails the open at once. */
        if (rec.size < CAIRN__BATCH_HEADER) {
            replay_damage(&rep, off, rec.size, "log record too small");
            if (rep.pending) {
                rc = replay_fail(&rep);
                break;
            }
            continue;
        }
        if (cairn__batch_rep_validate(rec) != 0) {
            char why[CAIRN__ERRMSG_MAX];
            snprintf(why, sizeof why, "%s", cairn__errmsg_get());
            replay_damage(&rep, off, rec.size, why);
            if (rep.pending) {
                rc = replay_fail(&rep);
                break;
            }
            continue;
        }
        uint64_t seq = cairn__batch_rep_seq(rec);
        uint32_t count = cairn__batch_rep_count(rec);
        if (count == 0)
            continue; /* empty batch: uses no sequence numbers (#1198) */
        if (seq == 0 || seq > CAIRN__MAX_SEQ ||
            count - 1 > CAIRN__MAX_SEQ - seq) {
            replay_damage(&rep, off, rec.size, "sequence number out of range");
            if (rep.pending) {
                rc = replay_fail(&rep);
                break;
            }
            continue;
        }
        if (records == 0 && *next_seq != 0 && seq > *next_seq) {
            cairn__infolog_printf(
                db->info,
                "%s: first batch at sequence %llu, but the logs before end "
                "at %llu: sequences %llu-%llu were lost, so this log and "
                "every later one are dropped (offset %llu on)",
                path.data, (unsigned long long)seq,
                (unsigned long long)(*next_seq - 1),
                (unsigned long long)*next_seq, (unsigned long long)(seq - 1),
                (unsigned long long)off);
            *gap = 1;
            break;
        }
        mem = db->mem;
        CAIRN_TRY_GOTO(rc, cairn__batch_rep_insert(rec, seq, mem), out);
        records++;
        uint64_t last = seq + count - 1;
        *next_seq = last + 1;
        if (last > *max_seq)
            *max_seq = last;
        CAIRN_TRY_GOTO(rc, maybe_flush_recovered(db, edit, 0), out);
    }
    cairn__infolog_printf(db->info, "Log #%llu: %llu records replayed",
                          (unsigned long long)number,
                          (unsigned long long)records);
    *nrecords = records;
out:
    if (rc != 0 && path.data != NULL)
        cairn__err_wrap(rc, "recovering %s", path.data);
    if (reader_ok)
        cairn__log_reader_fini(&reader);
    (void)cairn__file_close(f);
    cairn__buf_fini(&path);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Presence check for the tables a version names. */
typedef struct live_check {
    const cairn__strlist *names;
    uint64_t missing;
    size_t nmissing;
} live_check;

static int name_has_number(const cairn__strlist *names, uint64_t number)
{
    for (size_t i = 0; i < names->n; i++) {
        uint64_t n;
        enum cairn__file_type t;
        if (cairn__filename_parse(names->names[i], &n, &t) && n == number &&
            t == CAIRN__FILE_TABLE)
            return 1;
    }
    return 0;
}

static void check_live(void *ctx, uint64_t number)
{
    live_check *c = ctx;
    if (!name_has_number(c->names, number)) {
        c->missing = number;
        c->nmissing++;
    }
}

static int recover(cairn_db *db, cairn__edit *edit)
{
    cairn__strlist names = {NULL, 0};
    uint64_t *logs = NULL;
    size_t nlogs = 0;
    uint64_t max_seq = 0;
    int rc;

    CAIRN_TRY_GOTO(rc, cairn__vset_recover(db->vs), out);
    CAIRN_TRY_GOTO(rc, db->env->ops->list(db->env, db->dbname, &names), out);
    live_check lc = {&names, 0, 0};
    cairn__vset_live_files(db->vs, check_live, &lc);
    if (lc.nmissing > 0) {
        rc = CAIRN_CORRUPT("%zu missing files; e.g. %s/%06llu.ldb", lc.nmissing,
                           db->dbname, (unsigned long long)lc.missing);
        goto out;
    }
    logs = malloc((names.n + 1) * sizeof *logs);
    if (logs == NULL) {
        rc = cairn__err(CAIRN_NOMEM, "log list");
        goto out;
    }
    for (size_t i = 0; i < names.n; i++) {
        uint64_t n;
        enum cairn__file_type t;
        if (!cairn__filename_parse(names.names[i], &n, &t))
            continue;
        cairn__vset_mark_file_number_used(db->vs, n);
        if (t == CAIRN__FILE_LOG &&
            (n >= db->vs->log_number || n == db->vs->prev_log_number))
            logs[nlogs++] = n;
    }
    qsort(logs, nlogs, sizeof *logs, cmp_u64);
    /* Damage at the end of a log (paranoid_checks) is the torn tail a
     * crash leaves if no later log holds anything, neither a record nor
     * damage: later logs may only be an empty spare (log_files.c).
     * Otherwise the history has a hole and the open fails.
     *
     * A later log whose first batch does not continue the sequence where
     * the logs before it end is a hole too, but one a power cut makes: a
     * memtable switch leaves the old log's sync to the switching writer
     * (write.c, switch_memtable), and while it runs the kernel may write
     * back pages of the new log first. None of those writes was
     * acknowledged as durable (no sync of the new log starts before the
     * old log's ends), so recovery stops there, with or without
     * paranoid_checks: the database opens as it was at one point of its
     * history, never with later writes kept around lost ones (RocksDB's
     * default recovery mode does the same; LevelDB replays around the
     * hole). */
    char held[CAIRN__ERRMSG_MAX] = "";
    uint64_t next_seq = 0;
    for (size_t i = 0; i < nlogs; i++) {
        char tail[CAIRN__ERRMSG_MAX] = "";
        uint64_t nrec = 0;
        int gap = 0;
        CAIRN_TRY_GOTO(rc,
                       replay_log(db, logs[i], edit, &max_seq, &nrec, tail,
                                  &next_seq, &gap),
                       out);
        if (gap)
            break;
        if (held[0] != '\0' && (nrec > 0 || tail[0] != '\0')) {
            rc = cairn__err(CAIRN_CORRUPTION, "%s", held);
            goto out;
        }
        if (tail[0] != '\0')
            snprintf(held, sizeof held, "%s", tail);
    }
    if (held[0] != '\0')
        cairn__infolog_printf(db->info,
                              "damage at the end of the newest log with "
                              "records taken as a torn tail: %s",
                              held);
    /* What the logs held goes to level 0 now, so the old logs can go
     * (LevelDB does the same without reuse_logs). */
    CAIRN_TRY_GOTO(rc, maybe_flush_recovered(db, edit, 1), out);
    if (max_seq > cairn__vset_last_seq(db->vs))
        cairn__vset_set_last_seq(db->vs, max_seq);
out:
    free(logs);
    cairn__strlist_fini(&names);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Obsolete files                                                          */

typedef struct live_set {
    uint64_t *nums;
    size_t n, cap;
    int oom;
} live_set;

static void live_add(void *ctx, uint64_t number)
{
    live_set *s = ctx;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *p = realloc(s->nums, ncap * sizeof *p);
        if (p == NULL) {
            s->oom = 1;
            return;
        }
        s->nums = p;
        s->cap = ncap;
    }
    s->nums[s->n++] = number;
}

static int live_has(const live_set *s, uint64_t number)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->nums[i] == number)
            return 1;
    return 0;
}

/* Deletes files no live version, log range or MANIFEST needs. mu held;
 * called only after the edit that stopped naming them is durable. Failures
 * to delete are logged, not returned: a leftover file is harmless. */
void cairn__db_version_installed(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    atomic_store_explicit(&db->l0_count, (int)cairn__vset_num_files(db->vs, 0),
                          memory_order_relaxed);
}

void cairn__db_remove_obsolete_files(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    if (db->bg_error != 0)
        return; /* cannot tell which version is committed */
    live_set live = {NULL, 0, 0, 0};
    cairn__vset_live_files(db->vs, live_add, &live);
    for (size_t i = 0; i < db->npending; i++)
        live_add(&live, db->pending_outputs[i]);
    if (live.oom) {
        free(live.nums);
        return;
    }
    cairn__strlist names = {NULL, 0};
    if (db->env->ops->list(db->env, db->dbname, &names) != 0) {
        free(live.nums);
        return;
    }
    cairn__buf path = CAIRN__BUF_INIT;
    for (size_t i = 0; i < names.n; i++) {
        uint64_t n;
        enum cairn__file_type t;
        if (!cairn__filename_parse(names.names[i], &n, &t))
            continue;
        int keep = 1;
        switch (t) {
        case CAIRN__FILE_LOG:
            keep = n >= db->vs->log_number || n == db->vs->prev_log_number;
            break;
        case CAIRN__FILE_DESCRIPTOR:
            keep = n >= db->vs->manifest_number;
            break;
        case CAIRN__FILE_TABLE:
        case CAIRN__FILE_TEMP:
            keep = live_has(&live, n);
            break;
        default:
            break;
        }
        if (keep)
            continue;
        cairn__buf_clear(&path);
        if (cairn__buf_append(&path, db->dbname, strlen(db->dbname)) != 0 ||
            cairn__buf_append(&path, "/", 1) != 0 ||
            cairn__buf_append(&path, names.names[i],
                              strlen(names.names[i]) + 1) != 0)
            break;
        cairn__infolog_printf(db->info, "Delete type=%d #%llu", (int)t,
                              (unsigned long long)n);
        if (t == CAIRN__FILE_TABLE)
            cairn__table_cache_evict(db->tc, n);
        if (db->env->ops->remove(db->env, path.data) != 0)
            cairn__infolog_printf(db->info, "delete failed: %s",
                                  cairn__errmsg_get());
    }
    cairn__buf_fini(&path);
    cairn__strlist_fini(&names);
    free(live.nums);
}

/* ---------------------------------------------------------------------- */
/* Open and close                                                          */

/* What the memtable pool keeps: enough to fill one memtable and the
 * next, at most 128 MiB. */
static size_t mem_pool_bytes(const cairn_db *db)
{
    size_t wbs = db->opt.write_buffer_size;
    size_t cap = (size_t)128 << 20;
    return wbs > cap / 2 ? cap : 2 * wbs;
}

static void db_free(cairn_db *db)
{
    cairn__db_bg_stop(db);
    cairn__db_log_files_fini(db);
    if (db->logfile != NULL)
        (void)cairn__file_close(db->logfile);
    cairn__memtable_unref(db->mem);
    for (int i = 0; i < db->nimm; i++)
        cairn__memtable_unref(db->imm[i]);
    db->nimm = 0;
    cairn__vset_destroy(db->vs);
    cairn__table_cache_destroy(db->tc);
    if (db->own_block_cache)
        cairn__cache_destroy(db->block_cache);
    cairn__cond_fini(&db->bg_cv);
    cairn__mutex_fini(&db->wq_mu);
    cairn__mutex_fini(&db->sync_mu);
    cairn__cond_fini(&db->sync_cv);
    cairn__mutex_fini(&db->pub_mu);
    cairn__cond_fini(&db->pub_cv);
    /* Every memtable is gone (no iterator is live at close). */
    cairn__arena_pool_fini(&db->mem_pool);
    free(db->wstats);
    db->wstats = NULL;
    free(db->pending_outputs);
    db->pending_outputs = NULL;
    if (db->lock != NULL)
        (void)db->env->ops->unlock(db->env, db->lock);
    cairn__infolog_close(db->info);
    cairn__buf_fini(&db->group);
    cairn__mutex_fini(&db->mu);
    cairn__mutex_fini(&db->errmu);
    free(db->dbname);
    db->dbname = NULL;
}

static int open_new_log(cairn_db *db)
{
    cairn__file *f = NULL;
    uint64_t number = cairn__vset_new_file_number(db->vs);
    int sync_failed;
    int rc = cairn__db_create_log(db, number, 0, &f, &sync_failed);
    if (rc != 0) {
        cairn__vset_reuse_file_number(db->vs, number);
        return rc;
    }
    db->logfile = f;
    db->logfile_number = number;
    db->durable_log = db->appended_log = number;
    db->durable_off = db->appended_off = 0;
    cairn__log_writer_init(&db->log, f, 0);
    return 0;
}

static int open_locked(cairn_db *db)
{
    cairn__buf path = CAIRN__BUF_INIT;
    int rc;
    CAIRN_TRY_GOTO(rc, cairn__filename_current(&path, db->dbname), out);
    if (!db->env->ops->exists(db->env, path.data)) {
        if (!db->opt.create_if_missing) {
            rc = cairn__err(CAIRN_INVALID,
                            "%s: does not exist (create_if_missing is false)",
                            db->dbname);
            goto out;
        }
        cairn__infolog_printf(db->info, "Creating DB %s", db->dbname);
        CAIRN_TRY_GOTO(rc, cairn__vset_create_new_db(db->vs), out);
    } else if (db->opt.error_if_exists) {
        rc = cairn__err(CAIRN_EXISTS, "%s: exists (error_if_exists is true)",
                        db->dbname);
        goto out;
    }
    cairn__edit e;
    cairn__edit_init(&e);
    rc = recover(db, &e);
    if (rc == 0)
        rc = open_new_log(db);
    if (rc == 0) {
        db->mem_log = db->logfile_number;
        cairn__edit_set_log_number(&e, db->logfile_number);
        cairn__edit_set_prev_log_number(&e, 0);
        cairn__mutex_lock(&db->mu);
        rc = cairn__db_log_and_apply(db, &e);
        db->npending = 0; /* recovery's tables are named now, or garbage */
        if (rc == 0) {
            cairn__db_version_installed(db);
            cairn__db_remove_obsolete_files(db);
        }
        cairn__mutex_unlock(&db->mu);
    }
    cairn__edit_fini(&e);
out:
    cairn__buf_fini(&path);
    return rc;
}

/* The automatic memtable shard count's ceiling (cairn.h): a lookup of a
 * key that is not in the memtable still loads one filter word per shard. */
#define AUTO_SHARDS 4
/* Parts of one compaction when max_subcompactions is 0 (cairn.h). */
#define AUTO_SUBS 4

int cairn__db_new_memtable(cairn_db *db, cairn__memtable **out)
{
    /* Filters of one bit per 16 bytes of write buffer (memtable.h M6):
     * about 8 bits per key of fillrandom's entries, in each shard. */
    size_t filter =
        db->opt.memtable_filter ? db->opt.write_buffer_size / 128 : 0;
    return cairn__memtable_create_sharded(out, &db->mem_pool,
                                          db->opt.memtable_shards, filter);
}

int cairn__db_open(const struct cairn_options *opt, const char *name,
                   cairn_db **out)
{
    *out = NULL;
    cairn_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return cairn__err(CAIRN_NOMEM, "database handle");
    int rc;
    db->opt = *opt;
    if (db->opt.memtable_shards == 0) {
        /* Automatic: one per CPU online now, at most AUTO_SHARDS (cairn.h). */
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        db->opt.memtable_shards =
            ncpu < 1 ? 1 : (int)(ncpu < AUTO_SHARDS ? ncpu : AUTO_SHARDS);
    }
    if (db->opt.max_subcompactions == 0) {
        /* Automatic: one part per CPU online now, at most AUTO_SUBS. */
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        db->opt.max_subcompactions =
            ncpu < 1 ? 1 : (int)(ncpu < AUTO_SUBS ? ncpu : AUTO_SUBS);
    }
    db->env = opt->env ? opt->env : cairn_env_default();
    atomic_init(&db->magic, CAIRN__DB_MAGIC);
    atomic_init(&db->closing, 0);
    for (int i = 0; i < CAIRN__STRIPES; i++)
        atomic_init(&db->inflight[i].n, 0);
    cairn__buf_init(&db->group);
    size_t nlen = strlen(name);
    while (nlen > 1 && name[nlen - 1] == '/')
        nlen--; /* "db/" and "db" are the same database */
    db->dbname = malloc(nlen + 1);
    if (db->dbname == NULL) {
        free(db);
        return cairn__err(CAIRN_NOMEM, "database name");
    }
    memcpy(db->dbname, name, nlen);
    db->dbname[nlen] = '\0';
    if ((rc = cairn__mutex_init(&db->mu)) != 0) {
        free(db->dbname);
        free(db);
        return rc;
    }
    if ((rc = cairn__mutex_init(&db->errmu)) != 0) {
        cairn__mutex_fini(&db->mu);
        free(db->dbname);
        free(db);
        return rc;
    }
    if ((rc = cairn__cond_init(&db->bg_cv)) != 0) {
        cairn__mutex_fini(&db->mu);
        cairn__mutex_fini(&db->errmu);
        free(db->dbname);
        free(db);
        return rc;
    }
    db->snapshots.prev = db->snapshots.next = &db->snapshots;
    atomic_init(&db->live_iters, 0);
    atomic_init(&db->bw_word, 0);
    atomic_init(&db->active_writers, 0);
    atomic_init(&db->bw_waiting, 0);
    atomic_init(&db->sync_gathering, 0);
    atomic_init(&db->spinners, 0);
    atomic_init(&db->bg_error_flag, 0);
    atomic_init(&db->l0_count, 0);
    atomic_init(&db->has_imm, 0);
    db->wstats = calloc(1, sizeof *db->wstats);
    if (db->wstats == NULL || (rc = cairn__mutex_init(&db->wq_mu)) != 0 ||
        (rc = cairn__mutex_init(&db->sync_mu)) != 0 ||
        (rc = cairn__cond_init(&db->sync_cv)) != 0 ||
        (rc = cairn__mutex_init(&db->pub_mu)) != 0 ||
        (rc = cairn__cond_init(&db->pub_cv)) != 0 ||
        (rc = cairn__arena_pool_init(&db->mem_pool, mem_pool_bytes(db))) != 0) {
        if (rc == 0)
            rc = cairn__err(CAIRN_NOMEM, "write statistics");
        free(db->wstats);
        cairn__cond_fini(&db->bg_cv);
        cairn__mutex_fini(&db->mu);
        cairn__mutex_fini(&db->errmu);
        free(db->dbname);
        free(db);
        return rc;
    }

    cairn__buf lockpath = CAIRN__BUF_INIT;
    CAIRN_TRY_GOTO(rc, db->env->ops->mkdir(db->env, db->dbname), fail);
    CAIRN_TRY_GOTO(rc, cairn__filename_lock(&lockpath, db->dbname), fail);
    rc = db->env->ops->lock(db->env, lockpath.data, &db->lock);
    if (rc != 0) {
        db->lock = NULL;
        goto fail;
    }
    if (db->opt.info_log)
        CAIRN_TRY_GOTO(rc, cairn__infolog_open(db->env, db->dbname, &db->info),
                       fail);
    CAIRN_TRY_GOTO(
        rc, cairn__vset_create(db->env, db->dbname, db->info, &db->vs), fail);
    CAIRN_TRY_GOTO(rc, cairn__db_new_memtable(db, &db->mem), fail);
    if (db->opt.cache != NULL) {
        db->block_cache = db->opt.cache->c;
    } else {
        CAIRN_TRY_GOTO(rc, cairn__cache_create(8u << 20, &db->block_cache),
                       fail);
        db->own_block_cache = 1;
    }
    {
        cairn__table_options topt;
        cairn__db_table_options(db, &topt);
        /* Leave room for logs, the MANIFEST and the info log (LevelDB). */
        CAIRN_TRY_GOTO(rc,
                       cairn__table_cache_create(
                           db->env, db->dbname, &topt,
                           (size_t)(db->opt.max_open_files - 10), &db->tc),
                       fail);
    }
    CAIRN_TRY_GOTO(rc, open_locked(db), fail);
    CAIRN_TRY_GOTO(rc, cairn__db_bg_start(db), fail);
    cairn__infolog_printf(db->info, "Opened %s: last sequence %llu, log #%llu",
                          db->dbname,
                          (unsigned long long)cairn__vset_last_seq(db->vs),
                          (unsigned long long)db->logfile_number);
    cairn__buf_fini(&lockpath);
    *out = db;
    return 0;
fail:
    cairn__buf_fini(&lockpath);
    {
        /* Keep the open's message: cleanup may overwrite the thread's. */
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        cairn__infolog_printf(db->info, "open failed: %s", msg);
        db_free(db);
        free(db);
        cairn__errmsg_restore(msg);
    }
    return rc;
}

int cairn__db_close(cairn_db *db)
{
    int rc = 0;
    cairn__infolog_printf(db->info, "Closing %s", db->dbname);
    if (db->logfile != NULL) {
        rc = cairn__file_close(db->logfile);
        db->logfile = NULL;
    }
    db_free(db);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Destroy                                                                 */

int cairn__db_destroy(const struct cairn_options *opt, const char *name)
{
    cairn_env *env = opt && opt->env ? opt->env : cairn_env_default();
    cairn__strlist names = {NULL, 0};
    cairn__buf path = CAIRN__BUF_INIT;
    cairn__filelock *lock = NULL;
    int rc = env->ops->list(env, name, &names);
    if (rc == CAIRN_NOTFOUND) {
        cairn__errmsg_clear();
        return 0; /* nothing to destroy */
    }
    if (rc != 0)
        return rc;
    CAIRN_TRY_GOTO(rc, cairn__filename_lock(&path, name), out);
    CAIRN_TRY_GOTO(rc, env->ops->lock(env, path.data, &lock), out);
    for (size_t i = 0; i < names.n; i++) {
        uint64_t n;
        enum cairn__file_type t;
        if (!cairn__filename_parse(names.names[i], &n, &t) ||
            t == CAIRN__FILE_LOCK)
            continue;
        cairn__buf_clear(&path);
        if ((rc = cairn__buf_append(&path, name, strlen(name))) != 0 ||
            (rc = cairn__buf_append(&path, "/", 1)) != 0 ||
            (rc = cairn__buf_append(&path, names.names[i],
                                    strlen(names.names[i]) + 1)) != 0)
            goto out;
        int r = env->ops->remove(env, path.data);
        if (r != 0 && rc == 0)
            rc = r;
    }
    (void)env->ops->unlock(env, lock);
    lock = NULL;
    cairn__buf_clear(&path);
    if (cairn__filename_lock(&path, name) == 0)
        (void)env->ops->remove(env, path.data);
    (void)env->ops->rmdir(env, name); /* fails harmlessly if not empty */
out:
    if (lock != NULL)
        (void)env->ops->unlock(env, lock);
    cairn__buf_fini(&path);
    cairn__strlist_fini(&names);
    return rc;
}
