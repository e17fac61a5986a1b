/*
 * write.c: the write path: a FIFO queue of writers, the head leads.
 *
 * Each write call becomes a cairn__writer on its own stack and joins the
 * queue under db->mu. The writer at the head is the leader: it checks for
 * a sticky error (D3), builds a group of the compatible writers behind it
 * (group rules below), takes sequence numbers for the whole group, and
 * then, with db->mu released, appends the group as ONE log record, syncs
 * once if the group needs it, and inserts every batch into the memtable.
 * Re-taking db->mu, it publishes the new last sequence (D2), marks every
 * follower done with the group's status and wakes the next head. Followers
 * do no I/O.
 *
 * Group rules (LevelDB's): at most 1 MiB, or the leader's size + 128 KiB
 * when the leader is at most 128 KiB, so a small write is not delayed
 * behind a big merge; a sync writer never joins a non-sync leader (the
 * scan stops there); a sync leader may carry non-sync writers.
 *
 * The caller's batch is never modified: the group record is assembled in
 * db->group with the sequence in its header, and memtable inserts are given
 * their sequence explicitly.
 *
 * Errors: any failure to append or sync the log becomes the sticky
 * background error (LevelDB only does this for sync; see its PR #578): the
 * log may hold a torn record, and a later sync must never report success
 * for data behind it.
 */
#include "db/db_impl.h"

#include "db/batch.h"
#include "db/filename.h"
#include "util/ikey.h"

#include <stdio.h>

#define GROUP_MAX_BYTES    (1u << 20)
#define GROUP_SMALL_LEADER (128u << 10)

static void queue_push(cairn_db *db, cairn__writer *w)
{
    w->next = NULL;
    if (db->queue_tail != NULL)
        db->queue_tail->next = w;
    else
        db->queue_head = w;
    db->queue_tail = w;
}

/* Picks the group that starts at the head; returns its last writer. */
static cairn__writer *build_group(cairn_db *db, size_t *bytes)
{
    cairn__writer *leader = db->queue_head;
    size_t size = leader->rep.size;
    size_t max = GROUP_MAX_BYTES;
    if (size <= GROUP_SMALL_LEADER)
        max = size + GROUP_SMALL_LEADER;
    cairn__writer *last = leader;
    for (cairn__writer *w = leader->next; w != NULL; w = w->next) {
        if (w->sync && !leader->sync)
            break;
        /* A flush request leads its own turn (it must switch the
         * memtable), so it is never absorbed into a group. */
        if (w->rep.data == NULL)
            break;
        size_t add = w->rep.size - CAIRN__BATCH_HEADER;
        if (size + add > max)
            break;
        size += add;
        last = w;
    }
    *bytes = size;
    return last;
}

/* Makes the current memtable immutable and starts a new log; mu held.
 * The old log is synced and closed first (LevelDB #193 skips this), so an
 * fsync of the new log never leaves a hole of unsynced writes behind it:
 * everything acknowledged before the switch is durable once any later
 * sync write is. The new log is created with mu held, which is rare (once
 * per write_buffer_size bytes) and keeps the switch atomic for readers. */
static int switch_memtable(cairn_db *db)
{
    cairn__mutex_assert_held(&db->mu);
    cairn__memtable *fresh;
    CAIRN_TRY(cairn__memtable_create(&fresh));
    uint64_t number = cairn__vset_new_file_number(db->vs);
    cairn__buf path = CAIRN__BUF_INIT;
    cairn__file *f = NULL;
    int rc = cairn__filename_log(&path, db->dbname, number);
    if (rc == 0)
        rc = db->env->ops->open_write(db->env, path.data, &f);
    if (rc == 0) {
        rc = db->env->ops->sync_dir(db->env, db->dbname);
        if (rc != 0) {
            (void)cairn__file_close(f);
            (void)db->env->ops->remove(db->env, path.data);
        }
    }
    cairn__buf_fini(&path);
    if (rc != 0) {
        /* Nothing changed: this writer gets the error, later ones retry. */
        cairn__vset_reuse_file_number(db->vs, number);
        cairn__memtable_unref(fresh);
        return rc;
    }
    int src = cairn__file_sync(db->logfile);
    int crc = cairn__file_close(db->logfile);
    if (src == 0)
        src = crc;
    db->logfile = f;
    db->logfile_number = number;
    cairn__log_writer_init(&db->log, f, 0);
    db->imm[db->nimm] = db->mem;
    db->imm_log[db->nimm] = db->mem_log;
    db->nimm++;
    db->mem = fresh;
    db->mem_log = number;
    atomic_store_explicit(&db->has_imm, 1, memory_order_relaxed);
    cairn__cond_signal(&db->bg_cv);
    if (src != 0) {
        /* The old log's tail may not be durable: a later sync write must
         * not claim otherwise. */
        return cairn__db_set_bg_error(db, src);
    }
    return 0;
}

#define L0_SLOWDOWN_TRIGGER 8
#define L0_STOP_TRIGGER 12
#define SLOWDOWN_MICROS 1000

/* Flow control before a group (mu held), LevelDB's order: (a) the sticky
 * error; (b) at the level-0 slowdown trigger, one 1 ms delay per leader,
 * with mu released, to hand compaction some CPU before a hard stop; (c)
 * room in the memtable; (d) a full queue of immutable memtables waits for
 * a flush; (e) at the level-0 stop trigger, wait for compaction; (f)
 * otherwise switch memtables. force (a flush request) skips the delay and
 * switches even with room left, unless the memtable is empty. */
static int make_room(cairn_db *db, int force)
{
    cairn__mutex_assert_held(&db->mu);
    int allow_delay = !force;
    for (;;) {
        size_t l0 = cairn__vset_num_files(db->vs, 0);
        if (db->bg_error != 0) {
            cairn__errmsg_restore(db->bg_errmsg);
            return db->bg_error;
        }
        if (allow_delay && l0 >= L0_SLOWDOWN_TRIGGER) {
            cairn__mutex_unlock(&db->mu);
            db->env->ops->sleep_micros(db->env, SLOWDOWN_MICROS);
            cairn__mutex_lock(&db->mu);
            allow_delay = 0;
            continue;
        }
        if (!force &&
            cairn__memtable_memory_usage(db->mem) <= db->opt.write_buffer_size)
            return 0;
        if (force && cairn__memtable_count(db->mem) == 0)
            return 0;
        if (db->nimm >= db->opt.max_immutable_memtables) {
            cairn__infolog_printf(db->info, "Current memtable full; waiting...");
            cairn__cond_wait(&db->bg_cv, &db->mu);
            continue;
        }
        if (l0 >= L0_STOP_TRIGGER) {
            cairn__infolog_printf(db->info, "Too many L0 files; waiting...");
            cairn__cond_wait(&db->bg_cv, &db->mu);
            continue;
        }
        CAIRN_TRY(switch_memtable(db));
        force = 0;
    }
}

int cairn__db_write(cairn_db *db, const struct cairn_writeoptions *wo,
                    cairn__slice rep)
{
    cairn__writer w;
    w.rep = rep;
    w.sync = wo ? wo->sync : 0;
    w.done = 0;
    w.status = 0;
    int rc = cairn__cond_init(&w.cv);
    if (rc != 0)
        return rc;

    cairn__mutex_lock(&db->mu);
    queue_push(db, &w);
    while (!w.done && db->queue_head != &w)
        cairn__cond_wait(&w.cv, &db->mu);
    if (w.done) {
        rc = w.status;
        if (rc != 0)
            cairn__errmsg_restore(db->group_errmsg);
        cairn__mutex_unlock(&db->mu);
        cairn__cond_fini(&w.cv);
        return rc;
    }

    /* Leader. */
    int force = rep.data == NULL;
    rc = make_room(db, force);
    cairn__writer *last = &w;
    if (rc == 0 && !force) {
        size_t bytes;
        last = build_group(db, &bytes);
        uint64_t seq = cairn__vset_last_seq(db->vs) + 1;
        uint64_t count = 0;
        int sync = w.sync;
        for (cairn__writer *x = &w;; x = x->next) {
            count += cairn__batch_rep_count(x->rep);
            if (x == last)
                break;
        }
        if (count > CAIRN__MAX_SEQ - seq + 1)
            rc = cairn__err(CAIRN_INVALID, "sequence numbers exhausted");

        /* Assemble the group record: one header, then every batch's
         * entries. Done under the mutex is unnecessary; db->group is the
         * leader's alone (D1). */
        cairn__mutex_unlock(&db->mu);
        if (rc == 0)
            rc = cairn__batch_rep_reset(&db->group, seq);
        for (cairn__writer *x = &w; rc == 0; x = x->next) {
            rc = cairn__batch_rep_append(&db->group, x->rep);
            if (x == last)
                break;
        }
        int logged = 0;
        if (rc == 0 && count > 0) {
            rc = cairn__log_add_record(&db->log, db->group.data, db->group.len);
            logged = 1;
        }
        /* An empty sync write still syncs: it makes every earlier
         * non-sync write durable. An empty group appends nothing, so
         * empty batches cannot grow the log (LevelDB #911). */
        if (rc == 0 && sync) {
            rc = cairn__file_sync(db->logfile);
            logged = 1;
        }
        if (rc == 0 && count > 0) {
            /* The group record holds every entry in order, so one walk
             * inserts them with consecutive sequence numbers. */
            rc = cairn__batch_rep_insert(cairn__buf_slice(&db->group), seq,
                                         db->mem);
        }
        cairn__mutex_lock(&db->mu);
        if (rc != 0 && logged) {
            /* A failed append or sync, or a memtable insert that failed
             * after the record reached the log: the log and the memtable
             * no longer agree with what callers were told, so stop
             * accepting writes until reopen replays the log (D3). */
            cairn__db_set_bg_error(db, rc);
        } else if (rc == 0) {
            cairn__vset_set_last_seq(db->vs, seq + count - 1);
        }
    }

    /* Complete the group and hand over leadership. */
    char msg[CAIRN__ERRMSG_MAX];
    if (rc != 0)
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
    for (;;) {
        cairn__writer *x = db->queue_head;
        db->queue_head = x->next;
        if (db->queue_head == NULL)
            db->queue_tail = NULL;
        if (x != &w) {
            x->status = rc;
            x->done = 1;
            cairn__cond_signal(&x->cv);
        }
        if (x == last)
            break;
    }
    if (rc != 0)
        snprintf(db->group_errmsg, sizeof db->group_errmsg, "%s", msg);
    if (db->queue_head != NULL)
        cairn__cond_signal(&db->queue_head->cv);
    cairn__mutex_unlock(&db->mu);
    cairn__cond_fini(&w.cv);
    if (rc != 0)
        cairn__errmsg_restore(msg);
    return rc;
}
