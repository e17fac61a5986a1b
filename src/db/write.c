/*
 * write.c: the write path. Concurrent writers queue; the head leads.
 *
 * Each write call becomes a cairn__writer on its own stack and joins a FIFO
 * queue under db->wq_mu (a lock of its own, held only to link and unlink).
 * The writer at the head is the leader. It runs flow control (below),
 * optionally holds its group open (batch-wait), gathers the compatible
 * writers behind it, takes consecutive sequence numbers for all their
 * entries and then, holding no lock, appends the whole group as ONE log
 * record, syncs once if the group needs it, and builds the entries in the
 * memtable's arena. It registers its turn in the publication order, hands
 * leadership to the next head, links the entries into the skiplist while
 * the next group appends (several former leaders may link at once), then
 * publishes (D2: last_seq moves over registered turns in order, each once
 * linked) and completes its followers. Followers do no I/O.
 *
 * Group rules (LevelDB's, as options): at most group_max_bytes (1 MiB), or
 * the leader's size + group_small_leader (128 KiB) when the leader is at
 * most that, so small writes are not delayed behind big merges; a sync
 * writer never joins a non-sync leader (the scan stops there); a sync
 * leader may carry non-sync writers; a flush request leads its own turn.
 * The caller's batch is never modified: the group record is assembled in
 * db->group with the sequence in its header, and the memtable insert gets
 * the sequence explicitly.
 *
 * Waiting and waking. A writer's state word is its wait primitive. A
 * waiter spins (pause instructions) and then sleeps on the word with a
 * futex; the waker swaps in the new state and makes the futex call only if
 * the waiter was asleep, so waking a spinner costs one atomic swap. The
 * strategies (cairn_options_set_wait_strategy): block (sleep at once;
 * measured best on 2 cores at 4-64 threads with small write buffers),
 * spin (spin with periodic yields; for experiments), adaptive (spin for
 * at most spin_ns, and only while fewer waiters spin than there are other
 * cores, so a spinner never takes the core the thread it waits for needs;
 * measured best with write buffers of 32 MiB and more, where the memtable
 * insert is long), and auto, the default: adaptive for non-sync writers
 * with such a write buffer, else block (cairn__wait_strategy_for).
 * Completion: the leader first hands leadership to the next head, so the
 * next group starts at once, then releases its followers as a binary tree:
 * it wakes one, and each woken follower wakes at most two more before it
 * returns, so no thread pays one wake-up per follower in sequence.
 *
 * Flow control, before each group, in this order: (a) the sticky error is
 * returned; (b) at the level-0 slowdown trigger the writer is delayed once
 * by slowdown_micros, with no lock held; (c) room in the memtable: go; (d)
 * the queue of immutable memtables is full: wait for a flush; (e) at the
 * level-0 stop trigger: wait for compaction; (f) otherwise switch: the
 * memtable becomes immutable, the old log is synced (where logs take
 * pipelined syncs, by the switching writer after it has handed leadership
 * on, before any sync of the new log may start; see switch_memtable) and
 * closed by the flushing thread, the next log starts (usually the spare
 * made ahead, log_files.c), a flush is scheduled. A leader with no_slowdown
 * gets CAIRN_BUSY instead of (b), (d) or (e), and when a leader stalls, every
 * no_slowdown writer waiting in the queue is refused with CAIRN_BUSY at once. A
 * fast path checks (a)-(c) with atomics and takes no lock.
 *
 * Batch-wait (commit_policy CAIRN_COMMIT_BATCH_WAIT): before building its
 * group, a leader holds it open until commit_wait_bytes have gathered in
 * the queue or commit_wait_us have passed, whichever comes first, or until
 * every writer active in the database has queued. An enqueuer that brings
 * the queue to the byte limit wakes it at once (no polling). A leader with
 * no other writer active does not wait. By default the wait applies to
 * sync groups only (see docs/performance.md for the measurement);
 * commit_wait_nonsync extends it.
 *
 * Errors: any failure to append or sync the log becomes the sticky
 * background error (LevelDB only does this for sync; its PR #578): the log
 * may hold a torn record, and no later sync may report success for data
 * behind it. The group gets the error; so does every later writer.
 */
#include "db/db_impl.h"

#include "db/batch.h"
#include "util/ikey.h"
#include "util/syncpoint.h"

#include <stdio.h>
#include <string.h>

#define W_WAITING 0u
#define W_LEADER  1u
#define W_DONE    2u
#define W_BLOCKED 0x100u
#define W_MASK    0xffu

/* Log syncs that may run at once. Measured on this machine's virtual disk
 * (docs/design.md, "Pipelined syncs"): letting writers' syncs overlap (2,
 * 3, 4 or 64 at once) lowered fillsync throughput at 16 and 64 threads
 * against one sync at a time covering everything appended before it, so
 * one it is. */
#define MAX_SYNCERS 1

/* Groups one sync leader may append in a row while sync writers wait at
 * the head (combining, in cairn__db_write). The queue cannot grow past
 * the number of writing threads, so this only bounds the leader's extra
 * work when very many threads write. */
#define COMBINE_MAX 64

/* Non-sync groups a non-sync leader appends in a row for writers asleep at
 * the head of the queue. Handing leadership to a sleeping writer leaves
 * the queue headed by a thread that is not running: every writer that
 * arrives meanwhile, the old leader's next write included, queues behind
 * it and sleeps too, and both cores idle until the wake-up lands (with 2
 * threads this convoy halved fillrandom). The running leader commits the
 * sleeper's group instead, which then needs just the one wake-up it would
 * have had anyway. */
#define COMBINE_ASLEEP_MAX 8

/* How long a turn waiting for the turn before it to be published spins
 * (when a core is free) before it sleeps (pub_wait). Linking a turn's
 * entries takes about a microsecond; a turn still unpublished after a few
 * has most likely lost its core, and spinning on would only burn the
 * other one. Measured (1M puts, 64 threads, tmpfs): of the waits that
 * ended while spinning, 83% ended within 4 us (2.1k under 1 us, 3.0k
 * under 2, 2.4k under 4, 0.8k under 8, 0.7k under 20). */
#define PUB_SPIN_NS 4000u

typedef struct sync_waiter sync_waiter;
static sync_waiter *detach_sync_waiters(cairn_db *db);
static void wake_detached(sync_waiter *sw);
static int can_pipeline(cairn_db *db);

/* ---------------------------------------------------------------------- */
/* Waiting and waking                                                      */

/* Sets a waiting writer's state and wakes it if it sleeps. After this the
 * writer may return at any moment: the caller must not touch it again. */
static void wake(cairn__writer *w, uint32_t state)
{
    /* Release: publishes status, msg and wake[] written before. */
    uint32_t old =
        atomic_exchange_explicit(&w->state, state, memory_order_acq_rel);
    if (old & W_BLOCKED)
        cairn__futex_wake(&w->state, 1);
}

static uint32_t await(cairn_db *db, cairn__writer *w)
{
    /* Acquire: pairs with wake()'s exchange. */
    uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
    if ((s & W_MASK) != W_WAITING)
        return s & W_MASK;
    int strategy = cairn__wait_strategy_for(db->opt.wait_strategy,
                                            db->opt.write_buffer_size, w->sync);
    if (strategy != CAIRN_WAIT_BLOCK) {
        int ncpu = cairn__num_cpus();
        int n =
            atomic_fetch_add_explicit(&db->spinners, 1, memory_order_relaxed);
        /* Spin only while a core is left for the thread we wait on. */
        if (strategy == CAIRN_WAIT_SPIN || n + 1 < ncpu) {
            uint64_t start = cairn__mono_ns();
            uint64_t budget =
                strategy == CAIRN_WAIT_SPIN ? UINT64_MAX : db->opt.spin_ns;
            for (unsigned i = 1;; i++) {
                cairn__cpu_relax();
                s = atomic_load_explicit(&w->state, memory_order_acquire);
                if ((s & W_MASK) != W_WAITING) {
                    atomic_fetch_sub_explicit(&db->spinners, 1,
                                              memory_order_relaxed);
                    cairn__stat_add(
                        &db->wstats->stripe[cairn__thread_stripe()].spin_ok, 1);
                    return s & W_MASK;
                }
                if ((i & 63) == 0) {
                    if (cairn__mono_ns() - start >= budget)
                        break;
                    if (strategy == CAIRN_WAIT_SPIN && (i & 1023) == 0)
                        cairn__thread_yield();
                }
            }
        }
        atomic_fetch_sub_explicit(&db->spinners, 1, memory_order_relaxed);
    }
    cairn__stat_add(&db->wstats->stripe[cairn__thread_stripe()].blocks, 1);
    for (;;) {
        s = atomic_load_explicit(&w->state, memory_order_acquire);
        if ((s & W_MASK) != W_WAITING)
            return s & W_MASK;
        if (!(s & W_BLOCKED) && !atomic_compare_exchange_weak_explicit(
                                    &w->state, &s, s | W_BLOCKED,
                                    memory_order_acq_rel, memory_order_acquire))
            continue;
        cairn__futex_wait(&w->state, s | W_BLOCKED, 0);
    }
}

/* Completes a finished writer and the subtree of followers under it. */
static void release_follower(cairn__writer *w)
{
    cairn__writer *a = w->wake[0], *b = w->wake[1];
    if (a != NULL)
        wake(a, W_DONE);
    if (b != NULL)
        wake(b, W_DONE);
}

/* A leader's followers, waiting to be completed: [first, last] in queue
 * order; from fail on (if set) they get fail_rc and fail_msg (a combined
 * group that failed, and nothing after it), the rest the group's status. */
typedef struct followers {
    cairn__writer *first, *last, *fail;
    int fail_rc;
    const char *fail_msg;
} followers;

/* Gives each follower its status and its place in a binary wake-up tree
 * (children of the k-th are the 2k-th and 2k+1-th), then wakes the root:
 * nobody pays one wake-up per follower in sequence. */
static void release_followers(const followers *fo, int rc, const char *msg)
{
    if (fo->first == NULL)
        return;
    cairn__writer *child = fo->first->next;
    int more = fo->first != fo->last;
    int failing = 0;
    for (cairn__writer *p = fo->first;; p = p->next) {
        if (p == fo->fail)
            failing = 1;
        p->status = failing ? fo->fail_rc : rc;
        if (p->status != 0)
            snprintf(p->msg, sizeof p->msg, "%s", failing ? fo->fail_msg : msg);
        for (int k = 0; k < 2; k++) {
            if (more && child != NULL) {
                p->wake[k] = child;
                more = child != fo->last;
                child = child->next;
            } else {
                p->wake[k] = NULL;
            }
        }
        if (p == fo->last)
            break;
    }
    wake(fo->first, W_DONE);
}

/* ---------------------------------------------------------------------- */
/* The queue                                                               */

static void unlink_after(cairn_db *db, cairn__writer *prev, cairn__writer *w)
{
    prev->next = w->next;
    if (db->wq_tail == w)
        db->wq_tail = prev;
    db->wq_bytes -= w->rep.size;
    db->wq_count--;
}

/* Refuses every no_slowdown writer waiting behind the head: the head is
 * about to stall. wq_mu not held. */
static void refuse_no_slowdown(cairn_db *db)
{
    cairn__mutex_lock(&db->wq_mu);
    db->wq_stalled = 1; /* later no_slowdown arrivals are refused at once */
    cairn__writer *prev = db->wq_head;
    while (prev != NULL && prev->next != NULL) {
        cairn__writer *w = prev->next;
        if (!w->no_slowdown) {
            prev = w;
            continue;
        }
        unlink_after(db, prev, w);
        w->status = CAIRN_BUSY;
        snprintf(w->msg, sizeof w->msg,
                 "busy: write would stall (no_slowdown is set)");
        w->wake[0] = w->wake[1] = NULL;
        cairn__stat_add(&db->wstats->busy, 1);
        wake(w, W_DONE);
    }
    cairn__mutex_unlock(&db->wq_mu);
}

/* ---------------------------------------------------------------------- */
/* Publication (parallel memtable insert)                                  */

/* A leader's turn in the publication order; on the leader's stack. */
typedef struct pub_rec {
    uint64_t last_seq; /* the turn's last sequence */
    int linked;        /* Locked: pub_mu; its entries are in the memtable */
    /* Atomic: 0 waiting, 2 waiting asleep, 1 published (release). */
    _Atomic uint32_t word;
    struct pub_rec *next; /* Locked: pub_mu */
} pub_rec;

/* Registers a turn whose sequences end at last_seq. Leader only, before
 * it hands leadership on, so the list is in sequence order. */
static void pub_register(cairn_db *db, pub_rec *r, uint64_t last_seq)
{
    r->last_seq = last_seq;
    r->linked = 0;
    atomic_init(&r->word, 0);
    r->next = NULL;
    cairn__mutex_lock(&db->pub_mu);
    if (db->pub_tail != NULL)
        db->pub_tail->next = r;
    else
        db->pub_head = r;
    db->pub_tail = r;
    cairn__mutex_unlock(&db->pub_mu);
}

/* Waits until a later turn's publisher has published r. The turn before
 * is normally linking on the other core, a few microseconds from done, so
 * the waiter spins while a core is free for it (never when it could take
 * the core that turn needs), for at most spin budget, then sleeps. */
static void pub_wait(cairn_db *db, pub_rec *r)
{
    if ((atomic_load_explicit(&r->word, memory_order_acquire) & 1u) != 0)
        return;
    int n = atomic_fetch_add_explicit(&db->spinners, 1, memory_order_relaxed);
    if (n + 1 < cairn__num_cpus()) {
        uint64_t start = cairn__mono_ns();
        for (unsigned i = 1;; i++) {
            cairn__cpu_relax();
            if ((atomic_load_explicit(&r->word, memory_order_acquire) & 1u) !=
                0) {
                atomic_fetch_sub_explicit(&db->spinners, 1,
                                          memory_order_relaxed);
                return;
            }
            if ((i & 63) == 0 && cairn__mono_ns() - start >= PUB_SPIN_NS)
                break;
        }
    }
    atomic_fetch_sub_explicit(&db->spinners, 1, memory_order_relaxed);
    for (;;) {
        uint32_t v = atomic_load_explicit(&r->word, memory_order_acquire);
        if ((v & 1u) != 0)
            return;
        if (v == 0 &&
            !atomic_compare_exchange_weak_explicit(
                &r->word, &v, 2u, memory_order_acq_rel, memory_order_acquire))
            continue;
        cairn__futex_wait(&r->word, 2u, 0);
    }
}

/* r's entries are linked: marks it, and if it is the oldest turn,
 * publishes it and every linked turn after it (last_seq, release: D2)
 * and wakes their owners; otherwise waits until the turn before it does
 * so. On return everything up to r->last_seq is visible. */
static void publish(cairn_db *db, pub_rec *r)
{
    cairn__mutex_lock(&db->pub_mu);
    r->linked = 1;
    if (db->pub_head != r) {
        cairn__mutex_unlock(&db->pub_mu);
        pub_wait(db, r);
        return;
    }
    pub_rec *others = NULL;
    uint64_t upto = 0;
    while (db->pub_head != NULL && db->pub_head->linked) {
        pub_rec *x = db->pub_head;
        db->pub_head = x->next;
        upto = x->last_seq;
        if (x != r) {
            x->next = others;
            others = x;
        }
    }
    if (db->pub_head == NULL) {
        db->pub_tail = NULL;
        if (db->pub_drain_waiting) {
            db->pub_drain_waiting = 0;
            cairn__cond_broadcast(&db->pub_cv);
        }
    }
    cairn__vset_set_last_seq(db->vs, upto);
    cairn__mutex_unlock(&db->pub_mu);
    while (others != NULL) {
        pub_rec *x = others;
        others = x->next; /* read before the store: x may vanish after */
        uint32_t old =
            atomic_exchange_explicit(&x->word, 1u, memory_order_acq_rel);
        if (old == 2u)
            cairn__futex_wake(&x->word, 1);
    }
}

/* Waits until every registered turn is published: nothing is being
 * linked into db->mem any more. The leader calls it (with db->mu held)
 * before it switches memtables or counts the memtable's entries. */
static void drain_published(cairn_db *db)
{
    cairn__mutex_lock(&db->pub_mu);
    while (db->pub_head != NULL) {
        db->pub_drain_waiting = 1;
        cairn__cond_wait(&db->pub_cv, &db->pub_mu);
    }
    cairn__mutex_unlock(&db->pub_mu);
}

/* ---------------------------------------------------------------------- */
/* Flow control                                                            */

/* Advances the durable point to (log, off) if it is behind; sync_mu
 * held. */
static void advance_durable(cairn_db *db, uint64_t log, uint64_t off)
{
    if (db->durable_log < log ||
        (db->durable_log == log && db->durable_off < off)) {
        db->durable_log = log;
        db->durable_off = off;
    }
}

/* Closes a synced old log, or leaves it to the flushing thread; mu held. */
static void retire_old_log(cairn_db *db, cairn__file *old, uint64_t number)
{
    if (cairn__db_retire_log(db, old, number)) {
        cairn__cond_broadcast(&db->bg_cv); /* the flushing thread closes it */
        return;
    }
    /* Synced: closing it cannot lose data, so a failure is only reported
     * (log_files.c). The flushing thread is behind. */
    if (cairn__file_close(old) != 0)
        cairn__infolog_printf(db->info, "closing log #%llu after its sync: %s",
                              (unsigned long long)number, cairn__errmsg_get());
}

/* Syncs the log the last memtable switch left behind (switch_memtable),
 * then lets the durable point pass it: every sync write of the new log
 * that waited for it is acknowledged now. Called by the writer that made
 * the switch, after it has handed leadership on (mu not held); by a
 * switch that finds one still owed by its own thread, or that cannot
 * defer it (no pipelined syncs), with mu held. A failure is sticky, like
 * any failed log sync. */
static int sync_old_log(cairn_db *db, int mu_held)
{
    cairn__mutex_lock(&db->sync_mu);
    cairn__file *old = db->old_log;
    uint64_t number = db->old_log_number;
    cairn__mutex_unlock(&db->sync_mu);
    /* Nothing is appended to it any more. Unmapped first, its pages are
     * written back without being write-protected under the writers now
     * running on the other core (measured: syncing it still mapped, with
     * the writers going on, made fillrandom 3-9% slower at 4-64 threads
     * than syncing it at the switch with every writer queued). */
    cairn__file_seal(old);
    int src = cairn__file_sync(old);
    char msg[CAIRN__ERRMSG_MAX];
    msg[0] = '\0';
    if (src != 0)
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
    cairn__mutex_lock(&db->sync_mu);
    if (src == 0) {
        advance_durable(db, db->old_log_next, 0);
    } else if (db->sync_error == 0) {
        db->sync_error = src;
        snprintf(db->sync_errmsg, sizeof db->sync_errmsg, "%s", msg);
    }
    db->old_log = NULL; /* before the detach: it may pick a starter now */
    sync_waiter *to_wake = detach_sync_waiters(db);
    cairn__cond_broadcast(&db->sync_cv); /* a switch may wait for it */
    cairn__mutex_unlock(&db->sync_mu);
    wake_detached(to_wake);
    if (!mu_held)
        cairn__mutex_lock(&db->mu);
    if (src == 0) {
        retire_old_log(db, old, number);
    } else {
        (void)cairn__file_close(old);
        /* Its tail may not be durable, and no later sync may claim
         * otherwise (D3). */
        cairn__errmsg_restore(msg);
        cairn__db_set_bg_error(db, src);
    }
    if (!mu_held)
        cairn__mutex_unlock(&db->mu);
    if (src != 0)
        cairn__errmsg_restore(msg);
    return src;
}

/* Makes the current memtable immutable and starts a new log; mu held.
 * The old log is synced (LevelDB #193 skips this), so that an fsync of
 * the new log never leaves a hole of unsynced writes behind it:
 * everything acknowledged before the switch is durable once any later
 * sync write is, by sync_old_log. When the log can be synced beside
 * appends (can_pipeline), that sync is deferred: the switch only swaps
 * the logs and sets *owe, and the writer making it calls sync_old_log
 * after it has handed leadership on, so the writers behind it go on
 * into the new log meanwhile instead of queueing behind an fdatasync
 * (about 4.5 ms per switch of a 4 MiB memtable here). Until that sync
 * ends, no sync of the new log starts (wait_durable), so no write of the
 * new log is acknowledged as durable before the old log is, and a power
 * cut meanwhile can keep new-log records behind a lost old-log tail only
 * through the kernel's own writeback; recovery stops at such a sequence
 * gap (db.c, recover). */
static int switch_memtable(cairn_db *db, int *owe)
{
    cairn__mutex_assert_held(&db->mu);
    if (*owe) {
        /* This writer switched already and has not synced that log yet
         * (a switch whose new memtable is already full): sync it now, or
         * the wait below would be for itself. */
        CAIRN_TRY(sync_old_log(db, 1));
        *owe = 0;
    }
    cairn__memtable *fresh;
    CAIRN_TRY(cairn__db_new_memtable(db, &fresh));
    uint64_t number = 0;
    cairn__file *f = NULL;
    /* The flushing thread has usually made the next log already, its
     * directory entry synced (log_files.c); otherwise make it here. One
     * being made is nearer done than a new one would be: wait for it. */
    while (db->spare_busy)
        cairn__cond_wait(&db->bg_cv, &db->mu);
    if (!cairn__db_take_spare(db, &f, &number)) {
        number = cairn__vset_new_file_number(db->vs);
        int sync_failed;
        int rc = cairn__db_create_log(db, number, 0, &f, &sync_failed);
        if (rc != 0) {
            cairn__vset_reuse_file_number(db->vs, number);
            cairn__memtable_unref(fresh);
            /* A file that cannot be created leaves nothing changed: this
             * writer gets the error and later ones retry. A failed sync is
             * different: what the directory holds is now unknown, and a
             * sync that fails is never retried and then trusted, so it is
             * sticky. */
            if (sync_failed)
                return cairn__db_set_bg_error(db, rc);
            return rc;
        }
    }
    /* No pipelined sync may run on the old file while it is handed over:
     * wait for one in flight, and for an earlier switch's deferred sync
     * (the durable point passes one old log at a time). Once old_log is
     * set, no pipelined sync starts until sync_old_log clears it. */
    cairn__mutex_lock(&db->sync_mu);
    while (db->syncing > 0 || db->old_log != NULL)
        cairn__cond_wait(&db->sync_cv, &db->sync_mu);
    db->old_log = db->logfile;
    db->old_log_number = db->logfile_number;
    db->old_log_next = number;
    db->logfile = f; /* under sync_mu: a syncer reads it so */
    db->appended_log = number;
    db->appended_off = 0;
    cairn__mutex_unlock(&db->sync_mu);
    db->logfile_number = number;
    cairn__log_writer_init(&db->log, f, 0);
    db->imm[db->nimm] = db->mem;
    db->imm_log[db->nimm] = db->mem_log;
    db->nimm++;
    db->mem = fresh;
    db->mem_log = number;
    atomic_store_explicit(&db->has_imm, 1, memory_order_relaxed);
    /* A flush, a retired log and a spare to make: the flushing thread. */
    cairn__cond_broadcast(&db->bg_cv);
    if (can_pipeline(db)) {
        *owe = 1; /* synced by this writer after it hands leadership on */
        return 0;
    }
    /* Without pipelined syncs, here and now, leadership held: the writers
     * behind wait (a failure is sticky, set by sync_old_log). */
    return sync_old_log(db, 1);
}

/* 1 if a switch's old log is still to be synced (sync_old_log). */
static int old_log_owed(cairn_db *db)
{
    cairn__mutex_lock(&db->sync_mu);
    int owed = db->old_log != NULL;
    cairn__mutex_unlock(&db->sync_mu);
    return owed;
}

/* Waits until no switch's old log is left to sync; mu held on entry and
 * on return, released while waiting. */
static void wait_old_log(cairn_db *db)
{
    cairn__mutex_unlock(&db->mu);
    cairn__mutex_lock(&db->sync_mu);
    while (db->old_log != NULL)
        cairn__cond_wait(&db->sync_cv, &db->sync_mu);
    cairn__mutex_unlock(&db->sync_mu);
    cairn__mutex_lock(&db->mu);
}

static int busy(cairn_db *db, const char *why)
{
    cairn__stat_add(&db->wstats->busy, 1);
    return cairn__err(CAIRN_BUSY,
                      "write would stall (%s) and no_slowdown is set", why);
}

/* Waits on bg_cv for a stall branch, counting it; mu held. */
static void stall_wait(cairn_db *db, int kind)
{
    uint64_t t0 = cairn__mono_ns();
    cairn__cond_wait(&db->bg_cv, &db->mu);
    cairn__stat_add(&db->wstats->stall_ns[kind], cairn__mono_ns() - t0);
}

static int make_room_locked(cairn_db *db, cairn__writer *w, int force,
                            int *refused, int *owe);

static int make_room(cairn_db *db, cairn__writer *w, int force, int *owe)
{
    int refused = 0;
    int rc = make_room_locked(db, w, force, &refused, owe);
    if (refused) {
        cairn__mutex_lock(&db->wq_mu);
        db->wq_stalled = 0;
        cairn__mutex_unlock(&db->wq_mu);
    }
    return rc;
}

static int make_room_locked(cairn_db *db, cairn__writer *w, int force,
                            int *refusedp, int *owe)
{
    cairn__mutex_assert_held(&db->mu);
    /* Turns handed on earlier may still be linking into db->mem: it must
     * be complete before it is counted or becomes immutable. */
    drain_published(db);
    int allow_delay = !force;
    int refused = 0;
    *refusedp = 0;
    for (;;) {
        size_t l0 = cairn__vset_num_files(db->vs, 0);
        if (db->bg_error != 0) {
            cairn__errmsg_restore(db->bg_errmsg);
            return db->bg_error;
        }
        int stall = -1;
        if (allow_delay && l0 >= (size_t)db->opt.l0_slowdown_trigger) {
            stall = CAIRN__STALL_DELAY;
        } else if ((force ? cairn__memtable_count(db->mem) == 0
                          : cairn__memtable_memory_usage(db->mem) <=
                                db->opt.write_buffer_size)) {
            return 0;
        } else if (db->nimm >= db->opt.max_immutable_memtables) {
            stall = CAIRN__STALL_IMM_FULL;
        } else if (l0 + (size_t)db->nimm >= (size_t)db->opt.l0_stop_trigger) {
            /* Queued memtables each become a level-0 file, so they count
             * (with LevelDB's single slot this is its own rule). */
            stall = CAIRN__STALL_L0_STOP;
        } else if (!*owe && old_log_owed(db)) {
            /* An earlier switch's old log is still being synced by its
             * writer; the durable point passes one old log at a time.
             * Wait without mu (readers take it), then decide again. */
            wait_old_log(db);
            continue;
        } else {
            uint64_t t0 = cairn__mono_ns();
            int src = switch_memtable(db, owe);
            cairn__stat_add(&db->wstats->switches, 1);
            cairn__stat_add(&db->wstats->switch_ns, cairn__mono_ns() - t0);
            if (src != 0)
                return src;
            force = 0;
            continue;
        }
        if (w->no_slowdown)
            return busy(db, stall == CAIRN__STALL_DELAY ? "level-0 slowdown"
                            : stall == CAIRN__STALL_IMM_FULL ? "memtable full"
                                                             : "level-0 stop");
        if (!refused) {
            cairn__mutex_unlock(&db->mu);
            refuse_no_slowdown(db);
            cairn__sync_point("write:stall-refused");
            cairn__mutex_lock(&db->mu);
            refused = 1;
            *refusedp = 1;
            /* mu was released: a flush or compaction may have ended, and
             * its broadcast come, in between. Waiting now without looking
             * again could sleep for ever (the background thread idle, the
             * slot free): decide again. */
            continue;
        }
        cairn__stat_add(&db->wstats->stalls[stall], 1);
        if (stall == CAIRN__STALL_DELAY) {
            uint64_t t0 = cairn__mono_ns();
            cairn__mutex_unlock(&db->mu);
            db->env->ops->sleep_micros(db->env, db->opt.slowdown_micros);
            cairn__mutex_lock(&db->mu);
            cairn__stat_add(&db->wstats->stall_ns[stall],
                            cairn__mono_ns() - t0);
            allow_delay = 0;
        } else {
            cairn__infolog_printf(db->info, "%s; waiting...",
                                  stall == CAIRN__STALL_IMM_FULL
                                      ? "Current memtable full"
                                      : "Too many L0 files");
            stall_wait(db, stall);
        }
    }
}

/* (a)-(c) hold, checked with atomics alone: no stall and no switch is
 * due. The leader alone changes db->mem (D1). */
static int flow_fast(cairn_db *db)
{
    return atomic_load_explicit(&db->bg_error_flag, memory_order_acquire) ==
               0 &&
           atomic_load_explicit(&db->l0_count, memory_order_relaxed) <
               db->opt.l0_slowdown_trigger &&
           cairn__memtable_memory_usage(db->mem) <= db->opt.write_buffer_size;
}

/* (a)-(c) without a lock, else make_room under mu. The leader alone
 * changes db->mem (D1), and leadership passes with release/acquire, so it
 * may read the pointer without mu. *owe is set if a switch left its old
 * log for this writer to sync (sync_old_log). */
static int flow_control(cairn_db *db, cairn__writer *w, int force, int *owe)
{
    if (!force && flow_fast(db))
        return 0;
    cairn__mutex_lock(&db->mu);
    int rc = make_room(db, w, force, owe);
    cairn__mutex_unlock(&db->mu);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Groups                                                                  */

/* 1 if the log can be synced by one thread while the leader of a later
 * group appends (the file offers sync_flushed). */
static int can_pipeline(cairn_db *db)
{
    return db->logfile->ops->sync_flushed != NULL;
}

static void batch_wait(cairn_db *db, cairn__writer *leader)
{
    if (db->opt.commit_policy != CAIRN_COMMIT_BATCH_WAIT)
        return;
    if (!leader->sync && !db->opt.commit_wait_nonsync)
        return;
    if (leader->sync && can_pipeline(db))
        return; /* the syncer gathers instead (gather_for_sync) */
    if (atomic_load_explicit(&db->active_writers, memory_order_relaxed) <= 1)
        return; /* a lone writer pays no wait */
    uint64_t t0 = cairn__mono_ns();
    uint64_t deadline = t0 + db->opt.commit_wait_us * 1000u;
    int waited = 0;
    cairn__mutex_lock(&db->wq_mu);
    for (;;) {
        if (db->wq_bytes >= db->opt.commit_wait_bytes)
            break;
        /* The wake-up generation, then the hold announced, then the count
         * (as in gather_for_sync): a writer leaving after the count bumps
         * the generation, and the futex wait below returns at once. */
        uint32_t gen = atomic_load_explicit(&db->bw_word, memory_order_acquire);
        atomic_store_explicit(&db->bw_waiting, 1, memory_order_seq_cst);
        /* Everyone who is writing is already queued: nobody to wait for. */
        if ((size_t)atomic_load_explicit(&db->active_writers,
                                         memory_order_seq_cst) <= db->wq_count)
            break;
        uint64_t now = cairn__mono_ns();
        if (now >= deadline)
            break;
        waited = 1;
        cairn__mutex_unlock(&db->wq_mu);
        cairn__futex_wait(&db->bw_word, gen, deadline - now);
        cairn__mutex_lock(&db->wq_mu);
    }
    atomic_store_explicit(&db->bw_waiting, 0, memory_order_relaxed);
    cairn__mutex_unlock(&db->wq_mu);
    if (waited) {
        cairn__stat_add(&db->wstats->batch_waits, 1);
        cairn__stat_add(&db->wstats->batch_wait_ns, cairn__mono_ns() - t0);
    }
}

/* Picks the group that starts at the leader; returns its last writer and
 * the number of writers. wq_mu held. */
static cairn__writer *build_group(cairn_db *db, cairn__writer *leader,
                                  size_t *nwriters)
{
    size_t size = leader->rep.size;
    size_t max = db->opt.group_max_bytes;
    if (size <= db->opt.group_small_leader)
        max = size + db->opt.group_small_leader;
    cairn__writer *last = leader;
    size_t n = 1;
    for (cairn__writer *w = leader->next; w != NULL; w = w->next) {
        if (w->sync && !leader->sync)
            break;
        if (w->rep.data == NULL)
            break; /* a flush request leads its own turn */
        size_t add = w->rep.size - CAIRN__BATCH_HEADER;
        if (size + add > max)
            break;
        size += add;
        last = w;
        n++;
    }
    *nwriters = n;
    return last;
}

/* Writes the group [leader, last] to the log and the memtable. */
/* Batch-wait for syncs: the syncer holds its fdatasync until
 * commit_wait_bytes have been appended past the durable point, or
 * commit_wait_us have passed, or every active writer is waiting for a
 * sync (nobody else can add to this one). Each writer entering
 * wait_durable wakes it. sync_mu held (released while waiting). */
static void gather_for_sync(cairn_db *db)
{
    uint64_t t0 = cairn__mono_ns();
    uint64_t deadline = t0 + db->opt.commit_wait_us * 1000u;
    int waited = 0;
    for (;;) {
        uint64_t pending = db->appended_log == db->durable_log
                               ? db->appended_off - db->durable_off
                               : db->appended_off;
        if (pending >= db->opt.commit_wait_bytes)
            break;
        /* Announce the hold before counting the active writers: a writer
         * leaving decrements the count and then looks at the flag (both
         * sequentially consistent), so either this check sees it gone or
         * it sees the flag and wakes this wait (writer_leaves). */
        atomic_store_explicit(&db->sync_gathering, 1, memory_order_seq_cst);
        if (db->durable_waiters >=
            atomic_load_explicit(&db->active_writers, memory_order_seq_cst))
            break;
        uint64_t now = cairn__mono_ns();
        if (now >= deadline)
            break;
        waited = 1;
        cairn__cond_timedwait_ns(&db->sync_cv, &db->sync_mu, deadline - now);
    }
    atomic_store_explicit(&db->sync_gathering, 0, memory_order_relaxed);
    if (waited) {
        cairn__stat_add(&db->wstats->batch_waits, 1);
        cairn__stat_add(&db->wstats->batch_wait_ns, cairn__mono_ns() - t0);
    }
}

/* Makes the log durable up to (log, end): joins a sync in flight, or runs
 * one covering everything the sync leaders have appended so far. Only
 * here and in switch_memtable is the log synced concurrently with
 * appends; a failed sync is sticky. No lock held on entry. */
/* A thread waiting in wait_durable for a sync that covers its position.
 * It sleeps on its own word, so a finished sync wakes exactly the
 * waiters it covered (no thundering herd), plus one more to start the
 * next sync. Lives on the waiter's stack; linked under sync_mu. */
struct sync_waiter {
    uint64_t log, end;
    _Atomic uint32_t word; /* 0 asleep; 1 re-check (stored with release) */
    struct sync_waiter *next;
};

static int covered(const cairn_db *db, uint64_t log, uint64_t end)
{
    return db->durable_log > log ||
           (db->durable_log == log && db->durable_off >= end);
}

/* Detaches the waiters now covered (or all, after an error), and the
 * first of the rest if no sync runs and no old log is left to sync, so
 * that it starts the next one; that one is first in the returned list,
 * so it is woken first. sync_mu held.
 * The caller wakes the list with wake_detached after releasing
 * sync_mu: a futex call per waiter under the lock would hold up every writer
 * entering wait_durable, and the next sync with them. */
static sync_waiter *detach_sync_waiters(cairn_db *db)
{
    sync_waiter **pp = &db->sync_waiters;
    sync_waiter *out = NULL, **tail = &out, *starter = NULL;
    int next_picked = db->syncing >= MAX_SYNCERS || db->old_log != NULL;
    while (*pp != NULL) {
        sync_waiter *sw = *pp;
        int cov = db->sync_error != 0 || covered(db, sw->log, sw->end);
        if (cov || !next_picked) {
            *pp = sw->next;
            if (!cov) {
                next_picked = 1; /* this one starts the next sync */
                starter = sw;
                continue;
            }
            sw->next = NULL;
            *tail = sw;
            tail = &sw->next;
            continue;
        }
        pp = &sw->next;
    }
    if (starter != NULL) {
        starter->next = out;
        out = starter;
    }
    return out;
}

/* Ends the sleep of every waiter in a detached list. No lock needed. */
static void wake_detached(sync_waiter *sw)
{
    while (sw != NULL) {
        sync_waiter *next = sw->next;
        /* Release: the waiter re-reads the sync state under sync_mu
         * anyway; the store only ends its sleep. After it, sw may be
         * gone: the futex call tolerates a stale address. */
        atomic_store_explicit(&sw->word, 1, memory_order_release);
        cairn__futex_wake(&sw->word, 1);
        sw = next;
    }
}

/* Makes the log durable up to (log, end): waits for a sync that covers
 * it, or runs one covering everything the sync leaders have appended so
 * far. Only here and in switch_memtable is the log synced concurrently with
 * appends; a failed sync is sticky. No lock held on entry. */
static int wait_durable(cairn_db *db, uint64_t log, uint64_t end, int nwriters)
{
    int rc = 0;
    sync_waiter *to_wake = NULL;
    cairn__mutex_lock(&db->sync_mu);
    if (db->appended_log < log ||
        (db->appended_log == log && db->appended_off < end)) {
        db->appended_log = log;
        db->appended_off = end;
    }
    /* The whole group waits on this sync: its followers are active
     * writers too, for the gathering rule. */
    db->durable_waiters += nwriters;
    if (atomic_load_explicit(&db->sync_gathering, memory_order_relaxed))
        cairn__cond_broadcast(&db->sync_cv);
    for (;;) {
        if (covered(db, log, end))
            break;
        if (db->sync_error != 0) {
            rc = cairn__err(db->sync_error, "%s", db->sync_errmsg);
            break;
        }
        if (db->syncing >= MAX_SYNCERS || db->old_log != NULL) {
            /* A sync runs, or the old log a switch left behind is still
             * being synced (no log may be synced past it before, or a
             * power cut could keep writes of the new log and lose older
             * ones of the old): sleep until one covers us or it is our
             * turn. */
            sync_waiter me;
            me.log = log;
            me.end = end;
            atomic_init(&me.word, 0);
            me.next = db->sync_waiters;
            db->sync_waiters = &me;
            cairn__mutex_unlock(&db->sync_mu);
            while (atomic_load_explicit(&me.word, memory_order_acquire) == 0)
                cairn__futex_wait(&me.word, 0, 0);
            cairn__mutex_lock(&db->sync_mu);
            continue;
        }
        /* Become the syncer for everything appended so far. The file
         * cannot be closed under us: switch_memtable waits while syncing
         * is set. */
        db->syncing++;
        if (db->opt.commit_policy == CAIRN_COMMIT_BATCH_WAIT)
            gather_for_sync(db);
        uint64_t tlog = db->appended_log, toff = db->appended_off;
        db->syncing_log = tlog;
        db->syncing_off = toff;
        cairn__file *file = db->logfile;
        cairn__mutex_unlock(&db->sync_mu);
        int src = file->ops->sync_flushed(file);
        cairn__stat_add(&db->wstats->syncs, 1);
        cairn__mutex_lock(&db->sync_mu);
        db->syncing--;
        if (src != 0) {
            if (db->sync_error == 0) {
                db->sync_error = src;
                snprintf(db->sync_errmsg, sizeof db->sync_errmsg, "%s",
                         cairn__errmsg_get());
            }
        } else {
            advance_durable(db, tlog, toff);
        }
        sync_waiter *more = detach_sync_waiters(db);
        if (more != NULL) {
            /* Appended behind what is already collected; the starter of
             * the next sync, if any, leads this batch. */
            sync_waiter **t = &more;
            while (*t != NULL)
                t = &(*t)->next;
            *t = to_wake;
            to_wake = more;
        }
        /* switch_memtable may wait for the sync to end. */
        cairn__cond_broadcast(&db->sync_cv);
    }
    db->durable_waiters -= nwriters;
    cairn__mutex_unlock(&db->sync_mu);
    wake_detached(to_wake);
    if (rc != 0) {
        /* What the log holds past the last good sync is unknown: stop all
         * writes (D3). */
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        cairn__mutex_lock(&db->mu);
        cairn__db_set_bg_error(db, rc);
        cairn__mutex_unlock(&db->mu);
        cairn__errmsg_restore(msg);
    }
    return rc;
}

/* Commits the group; for a sync group whose sync is pipelined, *durable_log
 * and *durable_end say what wait_durable must cover (else *durable_end is
 * 0 and any sync was done here). */
static int commit_group(cairn_db *db, cairn__writer *leader,
                        cairn__writer *last, uint64_t *durable_log,
                        uint64_t *durable_end, cairn__buf *pending)
{
    *durable_end = 0;
    *durable_log = 0;
    /* Sequences are assigned here, under leadership (D1); they become
     * visible later, in order, when publish() passes them. */
    uint64_t seq =
        db->next_seq != 0 ? db->next_seq : cairn__vset_last_seq(db->vs) + 1;
    uint64_t count = 0;
    for (cairn__writer *x = leader;; x = x->next) {
        count += cairn__batch_rep_count(x->rep);
        if (x == last)
            break;
    }
    if (count > CAIRN__MAX_SEQ - seq + 1)
        return cairn__err(CAIRN_INVALID, "sequence numbers exhausted");
    /* The record: a 12-byte header carrying the group's sequence, then
     * every batch's entries. A lone batch is logged straight from the
     * caller's buffer behind a separate header (no copy, and the caller's
     * bytes are not touched); a group is merged into db->group. */
    char hdr[CAIRN__BATCH_HEADER];
    cairn__slice body;
    int rc = 0;
    if (leader == last) {
        cairn__encode_fixed64(hdr, seq);
        cairn__encode_fixed32(hdr + 8, (uint32_t)count);
        body = cairn__slice_make(leader->rep.data + CAIRN__BATCH_HEADER,
                                 leader->rep.size - CAIRN__BATCH_HEADER);
    } else {
        rc = cairn__batch_rep_reset(&db->group, seq);
        for (cairn__writer *x = leader; rc == 0; x = x->next) {
            rc = cairn__batch_rep_append(&db->group, x->rep);
            if (x == last)
                break;
        }
        if (rc != 0)
            return rc; /* nothing was logged: not a durability failure */
        memcpy(hdr, db->group.data, CAIRN__BATCH_HEADER);
        body = cairn__slice_make(db->group.data + CAIRN__BATCH_HEADER,
                                 db->group.len - CAIRN__BATCH_HEADER);
    }
    int logged = 0;
    if (count > 0) {
        rc = cairn__log_add_record2(&db->log, hdr, sizeof hdr, body.data,
                                    body.size);
        logged = 1;
    }
    /* An empty sync write still syncs: it makes every earlier non-sync
     * write durable. An empty group appends nothing, so empty batches
     * cannot grow the log (LevelDB #911). */
    if (rc == 0 && leader->sync && can_pipeline(db)) {
        /* Synced after leadership is handed on (wait_durable); the
         * position covers this record and everything before it. */
        uint64_t end = 0;
        rc = cairn__file_size(db->logfile, &end);
        *durable_log = db->logfile_number;
        *durable_end = end > 0 ? end : 1;
        logged = 1;
    } else if (rc == 0 && leader->sync) {
        rc = cairn__file_sync(db->logfile);
        logged = 1;
        cairn__stat_add(&db->wstats->syncs, 1);
    }
    size_t pending_len = pending->len;
    if (rc == 0 && count > 0)
        rc = cairn__batch_rep_prepare(
            leader == last ? leader->rep : cairn__buf_slice(&db->group), seq,
            db->mem, pending);
    if (rc != 0)
        pending->len = pending_len; /* none of this group goes in */
    if (rc != 0 && logged) {
        /* A failed append or sync, or a memtable insert that failed after
         * the record reached the log: what callers were told and what the
         * log holds may disagree, so stop accepting writes (D3). */
        cairn__mutex_lock(&db->mu);
        cairn__db_set_bg_error(db, rc);
        cairn__mutex_unlock(&db->mu);
        return rc;
    }
    if (rc == 0 && count > 0)
        db->next_seq = seq + count;
    /* The leader's own stripe (write_stats.h). */
    cairn__write_stripe *st = &db->wstats->stripe[cairn__thread_stripe()];
    uint64_t gbytes = CAIRN__BATCH_HEADER + body.size;
    cairn__stat_add(&st->bytes, gbytes);
    uint64_t mx =
        atomic_load_explicit(&st->group_bytes_max, memory_order_relaxed);
    while (gbytes > mx && !atomic_compare_exchange_weak_explicit(
                              &st->group_bytes_max, &mx, gbytes,
                              memory_order_relaxed, memory_order_relaxed))
        ;
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The write call                                                          */

/* A batch-wait writer leaves cairn__db_write. One active writer fewer can
 * make "every active writer is waiting" true for a syncer gathering or a
 * leader holding its group, and no arrival will tell them: wake them. The
 * decrement and the flag loads are sequentially consistent, against the
 * flag stores and count loads of gather_for_sync and batch_wait. */
static void writer_leaves(cairn_db *db)
{
    cairn__sync_point("write:leaving");
    atomic_fetch_sub_explicit(&db->active_writers, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&db->sync_gathering, memory_order_seq_cst)) {
        cairn__mutex_lock(&db->sync_mu);
        cairn__cond_broadcast(&db->sync_cv);
        cairn__mutex_unlock(&db->sync_mu);
    }
    if (atomic_load_explicit(&db->bw_waiting, memory_order_seq_cst)) {
        atomic_fetch_add_explicit(&db->bw_word, 1, memory_order_release);
        cairn__futex_wake(&db->bw_word, 1);
    }
}

static void count_group(cairn_db *db, size_t nwriters)
{
    cairn__write_stripe *st = &db->wstats->stripe[cairn__thread_stripe()];
    cairn__stat_add(&st->groups, 1);
    cairn__stat_add(&st->writers, nwriters);
    cairn__stat_add(
        &st->group_hist[nwriters < CAIRN__GROUP_HIST ? nwriters
                                                     : CAIRN__GROUP_HIST],
        1);
}

static void record_latency(cairn_db *db, uint64_t t0)
{
    cairn__hist_add(&db->wstats->stripe[cairn__thread_stripe()].latency,
                    cairn__mono_ns() - t0);
}

int cairn__db_write(cairn_db *db, const struct cairn_writeoptions *wo,
                    cairn__slice rep)
{
    uint64_t t0 = cairn__mono_ns();
    cairn__writer w;
    w.rep = rep;
    w.sync = wo ? wo->sync : 0;
    w.no_slowdown = wo ? wo->no_slowdown : 0;
    atomic_init(&w.state, W_WAITING);
    w.status = 0;
    w.next = NULL;
    w.wake[0] = w.wake[1] = NULL;
    w.msg[0] = '\0';

    /* Only batch-wait needs to know how many writers are active; the
     * shared counter is not touched otherwise. */
    int counted = db->opt.commit_policy == CAIRN_COMMIT_BATCH_WAIT;
    if (counted)
        atomic_fetch_add_explicit(&db->active_writers, 1, memory_order_relaxed);
    cairn__mutex_lock(&db->wq_mu);
    if (w.no_slowdown && db->wq_stalled) {
        /* The leader is stalled: joining the queue would stall too. */
        cairn__mutex_unlock(&db->wq_mu);
        if (counted)
            writer_leaves(db);
        cairn__stat_add(&db->wstats->busy, 1);
        return cairn__err(CAIRN_BUSY,
                          "write would stall (a stall is in progress) and "
                          "no_slowdown is set");
    }
    if (db->wq_tail != NULL)
        db->wq_tail->next = &w;
    else
        db->wq_head = &w;
    db->wq_tail = &w;
    db->wq_bytes += rep.size;
    db->wq_count++;
    int leader = db->wq_head == &w;
    if (!leader &&
        atomic_load_explicit(&db->bw_waiting, memory_order_relaxed) &&
        (db->wq_bytes >= db->opt.commit_wait_bytes ||
         db->wq_count >= (size_t)atomic_load_explicit(&db->active_writers,
                                                      memory_order_relaxed))) {
        /* The batch-wait leader's byte limit is reached, or everyone
         * writing has queued: release it now. */
        atomic_fetch_add_explicit(&db->bw_word, 1, memory_order_release);
        cairn__futex_wake(&db->bw_word, 1);
    }
    cairn__mutex_unlock(&db->wq_mu);

    if (!leader && await(db, &w) == W_DONE) {
        /* Committed (or refused) by a leader: pass the wake-up on. */
        int rc = w.status;
        release_follower(&w);
        if (counted)
            writer_leaves(db);
        if (rc != 0)
            cairn__errmsg_restore(w.msg);
        record_latency(db, t0);
        return rc;
    }

    /* Leader. */
    int force = rep.data == NULL;
    uint64_t durable_log = 0, durable_end = 0;
    cairn__buf pending = CAIRN__BUF_INIT; /* entries built, to be linked */
    int owe_old_sync = 0;
    int rc = flow_control(db, &w, force, &owe_old_sync);
    cairn__writer *last = &w;
    size_t nwriters = 1;
    if (rc == 0 && !force) {
        batch_wait(db, &w);
        cairn__mutex_lock(&db->wq_mu);
        last = build_group(db, &w, &nwriters);
        cairn__mutex_unlock(&db->wq_mu);
        rc = commit_group(db, &w, last, &durable_log, &durable_end, &pending);
        count_group(db, nwriters);
    }
    if (rc != 0)
        snprintf(w.msg, sizeof w.msg, "%s", cairn__errmsg_get());

    /* Unlink the group. A pipelined sync group then keeps leading while
     * sync writers wait at the head (combining): this thread must wait
     * for a sync anyway, and every group it appends is one the queued
     * writers do not have to be woken to lead (each such hand-off costs
     * a context switch, and then a second sleep for the sync). Their
     * writers stay asleep and are completed with this group after the
     * sync. It stops at a non-sync head (it must not wait for a sync),
     * a flush request, flow control that would need the slow path, a
     * failed commit, or COMBINE_MAX groups; then leadership is handed
     * on before anyone is completed, so the next group starts while
     * followers are woken. */
    cairn__writer *gfirst = &w, *fail = NULL, *next;
    pub_rec turn;
    cairn__memtable *mem = db->mem;
    int linking = 0;
    int fail_rc = 0;
    char fail_msg[CAIRN__ERRMSG_MAX];
    fail_msg[0] = '\0';
    for (int combined = 0;; combined++) {
        cairn__mutex_lock(&db->wq_mu);
        db->wq_head = last->next;
        if (db->wq_head == NULL)
            db->wq_tail = NULL;
        for (cairn__writer *x = gfirst;; x = x->next) {
            db->wq_bytes -= x->rep.size;
            db->wq_count--;
            if (x == last)
                break;
        }
        next = db->wq_head;
        int more =
            rc == 0 && fail == NULL && next != NULL && next->rep.data != NULL &&
            combined < COMBINE_MAX &&
            (durable_end != 0
                 ? next->sync
                 : !w.sync && !next->sync && combined < COMBINE_ASLEEP_MAX &&
                       (atomic_load_explicit(&next->state,
                                             memory_order_relaxed) &
                        W_BLOCKED)) &&
            flow_fast(db);
        cairn__writer *glast = NULL;
        size_t n = 0;
        if (more) {
            glast = build_group(db, next, &n);
        } else if (pending.len > 0) {
            /* Register this turn before the queue can see it gone: once
             * the unlink above is released, a writer arriving at an empty
             * queue leads and takes later sequences, and its turn must
             * come after this one in the publication order. */
            linking = 1;
            pub_register(db, &turn, db->next_seq - 1);
        }
        cairn__mutex_unlock(&db->wq_mu);
        if (!more)
            break;
        uint64_t dlog = 0, dend = 0;
        int grc = commit_group(db, next, glast, &dlog, &dend, &pending);
        count_group(db, n);
        cairn__stat_add(&db->wstats->combined, 1);
        nwriters += n;
        gfirst = next;
        last = glast;
        if (grc != 0) {
            /* This group and only this one fails (nothing after it is
             * combined); those before it still wait for their sync. */
            fail = next;
            fail_rc = grc;
            snprintf(fail_msg, sizeof fail_msg, "%s", cairn__errmsg_get());
        } else {
            durable_log = dlog;
            durable_end = dend;
        }
    }
    cairn__writer *first = w.next;
    if (last == &w)
        first = NULL;
    /* The entries are built; link them after handing leadership on, so
     * the next group's append overlaps this memtable insert (the other
     * core), then publish in sequence order. */
    if (next != NULL)
        wake(next, W_LEADER);
    if (linking) {
        cairn__memtable_link(mem, &pending);
        publish(db, &turn);
    }
    cairn__buf_fini(&pending);
    /* This writer's switch left the old log unsynced: sync it now, while
     * the next groups append to the new log. The group is acknowledged
     * after it, and gets its error if it fails (sticky). It comes before
     * the wait for this group's own sync, which waits for it. */
    if (owe_old_sync) {
        int orc = sync_old_log(db, 0);
        if (orc != 0 && rc == 0) {
            rc = orc;
            snprintf(w.msg, sizeof w.msg, "%s", cairn__errmsg_get());
        }
    }
    /* A sync group is made durable now, while the next group appends;
     * nobody in this group is acknowledged before that. */
    followers fo = {first, last, fail, fail_rc, fail_msg};
    if (rc == 0 && durable_end != 0) {
        rc = wait_durable(db, durable_log, durable_end, (int)nwriters);
        if (rc != 0)
            snprintf(w.msg, sizeof w.msg, "%s", cairn__errmsg_get());
    }

    release_followers(&fo, rc, w.msg);
    if (counted)
        writer_leaves(db);
    if (rc != 0)
        cairn__errmsg_restore(w.msg);
    record_latency(db, t0);
    return rc;
}
