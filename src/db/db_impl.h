/*
 * db_impl.h: the database handle and the pieces of the engine that share
 * it (open/recovery in db.c, the write path in write.c, reads in read.c,
 * the public wrappers in api.c).
 *
 * Locking (docs/locking.md has the full order):
 *   db->mu guards the writer queue, the memtable pointers, the log file
 *   pointers, the version set and the background error. It is never held
 *   across a log write or sync: the write leader releases it while it
 *   appends, syncs and inserts (it alone owns log and mem then, because it
 *   stays at the head of the queue and only the head switches them).
 *
 * Invariants:
 *  D1. Only the writer at the head of the queue touches db->log, db->logfile
 *      and builds entries in db->mem (its arena); several former leaders
 *      may then link their built entries at once (memtable.h M4).
 *  D2. last_seq (in the version set) is published after the memtable insert
 *      of a whole group and of every group before it, so readers never see
 *      part of a batch, or a batch before an earlier one (write.c,
 *      publish).
 *  D3. Once bg_error is set it never clears until the handle is closed;
 *      every later write returns it; reads continue.
 */
#ifndef CAIRN_DB_DB_IMPL_H
#define CAIRN_DB_DB_IMPL_H

#include "cairn.h"
#include "env/env.h"
#include "env/infolog.h"
#include "cache/cache.h"
#include "db/table_cache.h"
#include "db/write_stats.h"
#include "mem/memtable.h"
#include "util/buf.h"
#include "util/port.h"
#include "version/version.h"
#include "wal/log.h"

#include <stdatomic.h>
#include <stdint.h>

/* Synced old logs waiting for the flushing thread to close them; a switch
 * that finds the list full closes its old log itself. */
#define CAIRN__MAX_RETIRED 4

/* The most immutable memtables a database may queue for flushing. */
#define CAIRN__MAX_IMM 8

/* The most parts one compaction may be split into (compact.c). */
#define CAIRN__MAX_SUBCOMPACTIONS 16

/* Option values as the engine sees them (copied at open). */
struct cairn_options {
    int create_if_missing;
    int error_if_exists;
    int paranoid_checks;
    size_t write_buffer_size;
    cairn_env *env; /* NULL: default */
    int info_log;
    size_t block_size;
    int block_restart_interval;
    size_t max_file_size;
    int compression;
    int bloom_bits_per_key;
    int max_open_files;
    int mmap_reads;     /* tables read through a mapping (the env's) */
    cairn_cache *cache; /* NULL: a private 8 MiB cache */
    int max_immutable_memtables;
    int memtable_shards;    /* skiplists per memtable (memtable.h M5) */
    int memtable_filter;    /* key filters in memtables (memtable.h M6) */
    int background_threads; /* 1 or 2 */
    int max_subcompactions; /* parts of one compaction; 0 at open: auto */
    int spare_log;          /* the next log is made ahead (log_files.c) */
    /* The write path (write.c). */
    int commit_policy; /* CAIRN_COMMIT_LEADER / _BATCH_WAIT */
    uint64_t commit_wait_us;
    size_t commit_wait_bytes;
    int commit_wait_nonsync; /* batch-wait also for non-sync groups */
    int wait_strategy;       /* CAIRN_WAIT_* (cairn__wait_strategy_for) */
    uint64_t spin_ns;
    size_t group_max_bytes;
    size_t group_small_leader;
    int l0_slowdown_trigger;
    int l0_stop_trigger;
    uint64_t slowdown_micros;
};

struct cairn_cache {
    cairn__cache *c;
};

struct cairn_snapshot {
    uint64_t seq;
    cairn_db *db;
    struct cairn_snapshot *prev, *next; /* Locked: db->mu */
};

struct cairn_readoptions {
    int verify_checksums;
    int fill_cache;
    const struct cairn_snapshot *snapshot;
};

struct cairn_writeoptions {
    int sync;
    int no_slowdown;
};

/* One write call waiting in (or leading) the queue. Lives on the caller's
 * stack. Its state word is its own wait primitive (write.c). */
typedef struct cairn__writer {
    cairn__slice rep; /* the batch's encoding; data NULL = flush request */
    int sync;
    int no_slowdown;
    /* Atomic: W_WAITING, then W_LEADER or W_DONE, stored with release by
     * whoever hands over leadership or completes the writer, after it has
     * written status, msg and wake[]; loaded with acquire by the waiter.
     * W_BLOCKED is or-ed in by a waiter that sleeps on the word. */
    _Atomic uint32_t state;
    int status;
    struct cairn__writer *next;    /* Locked: db->wq_mu (queue link) */
    struct cairn__writer *wake[2]; /* followers this one wakes when done */
    char msg[CAIRN__ERRMSG_MAX];   /* detail of a failed status */
} cairn__writer;

#define CAIRN__DB_MAGIC 0x6361726e64624f4bULL /* "carndbOK" */
#define CAIRN__DB_DEAD  0x6361726e64624445ULL /* "carndbDE" */

struct cairn_db {
    /* Handle validity: checked at every public entry. */
    _Atomic uint64_t magic;
    atomic_int closing; /* Atomic, seq_cst with inflight */
    /* Atomic, seq_cst: calls in progress, striped by thread so that
     * concurrent calls do not share one cache line; close sums them. */
    struct {
        atomic_int n;
        char pad[CAIRN__CACHE_LINE - sizeof(atomic_int)];
    } inflight[CAIRN__STRIPES];

    char *dbname;             /* Immutable after open */
    cairn_env *env;           /* Immutable after open */
    struct cairn_options opt; /* Immutable after open */
    cairn__infolog *info;     /* Immutable after open (may be NULL) */
    cairn__filelock *lock;    /* Immutable after open */

    cairn__mutex mu;
    cairn__vset *vs;      /* Locked: mu */
    cairn__memtable *mem; /* Locked: mu (pointer); D1 for inserts */
    uint64_t mem_log;     /* Locked: mu; first log holding mem's data */
    /* Immutable memtables waiting to be flushed, oldest first, each with
     * the number of the first log holding its data. */
    cairn__memtable *imm[CAIRN__MAX_IMM]; /* Locked: mu */
    uint64_t imm_log[CAIRN__MAX_IMM];     /* Locked: mu */
    int nimm;                             /* Locked: mu */

    cairn__table_cache *tc;    /* Immutable after open (thread-safe) */
    cairn__cache *block_cache; /* Immutable after open (thread-safe) */
    int own_block_cache;       /* Immutable after open */

    /* Background work: one thread flushes immutable memtables (and, with
     * compaction, compacts). bg_cv is signalled when work is queued and
     * broadcast when work finishes or an error is recorded. */
    cairn__thread *bg_thread;  /* Immutable after open: flushes (+ compacts) */
    cairn__thread *bg_thread2; /* Immutable after open: compacts, or NULL */
    struct bg_role {
        cairn_db *db;
        int flush, compact;
    } bg_roles[2];     /* Immutable after open */
    int flushing;      /* Locked: mu; a flush is running */
    int compacting;    /* Locked: mu; a compaction is running */
    int manifest_busy; /* Locked: mu; a MANIFEST edit is being written */
    cairn__cond bg_cv;
    int shutting_down;           /* Locked: mu */
    uint64_t *pending_outputs;   /* Locked: mu; tables being written */
    size_t npending, cappending; /* Locked: mu */
    /* Atomic, relaxed hint: nimm > 0, read by a running compaction
     * between keys to give flushes priority (it re-checks under mu). */
    atomic_int has_imm;
    int bg_compaction_paused;     /* Locked: mu */
    struct cairn__manual *manual; /* Locked: mu; pending manual compaction */
    struct cairn__level_stats {
        uint64_t micros, bytes_read, bytes_written, count;
        uint64_t parts; /* key ranges merged (count + extra subcompactions) */
    } stats[CAIRN__NUM_LEVELS]; /* Locked: mu */
    uint64_t bytes_user;        /* Locked: mu; bytes flushed from memtables */

    cairn_snapshot snapshots; /* Locked: mu; list head (a dummy) */
    int live_snapshots;       /* Locked: mu */
    atomic_int live_iters;    /* Atomic: iterators not yet destroyed */

    cairn__file *logfile;    /* D1 */
    uint64_t logfile_number; /* Locked: mu */
    cairn__log_writer log;   /* D1 */
    /* Log files made and closed by the flushing thread (log_files.c): the
     * next log, made ahead, and old logs synced but not yet closed. */
    cairn__file *spare_log; /* Locked: mu; or NULL */
    uint64_t spare_number;  /* Locked: mu */
    int spare_busy;         /* Locked: mu; a spare is being made */
    int spare_failed;       /* Locked: mu; making one failed since the switch */
    uint64_t switches;      /* Locked: mu; memtable switches so far */
    /* Locked: mu; wstats->syncs when the last spare was begun: syncs
     * since then make the next spare a zero-filled one (log_files.c). */
    uint64_t spare_syncs;
    cairn__file *retired[CAIRN__MAX_RETIRED];    /* Locked: mu */
    uint64_t retired_number[CAIRN__MAX_RETIRED]; /* Locked: mu */
    int nretired;                                /* Locked: mu */

    /* The write queue has its own small lock, so that queueing never
     * waits for readers or background work holding mu. */
    cairn__mutex wq_mu;
    cairn__writer *wq_head; /* Locked: wq_mu */
    cairn__writer *wq_tail; /* Locked: wq_mu */
    size_t wq_bytes;        /* Locked: wq_mu; bytes of queued batches */
    size_t wq_count;        /* Locked: wq_mu; writers queued */
    /* Atomic (written under wq_mu): a leader holds its group open. A
     * writer leaving reads it without the lock (writer_leaves). */
    atomic_int bw_waiting;
    int wq_stalled; /* Locked: wq_mu; the leader is stalled (no_slowdown) */
    _Atomic uint32_t
        bw_word; /* Atomic: futex the batch-wait leader sleeps on */
    atomic_int active_writers; /* Atomic: threads inside cairn__db_write */
    atomic_int spinners;       /* Atomic: waiters spinning now */
    cairn__buf group;          /* D1: the leader's merged group record */
    uint64_t next_seq; /* D1: next sequence to assign; 0: last_seq + 1 */
    /* Parallel memtable insert (write.c): a leader registers its groups'
     * sequences here before it hands leadership on, links their entries
     * into the memtable after, and then publishes; last_seq advances over
     * registered groups strictly in order, once each is linked (D2). */
    cairn__mutex pub_mu;
    cairn__cond pub_cv;       /* with pub_mu: the list became empty */
    struct pub_rec *pub_head; /* Locked: pub_mu; oldest first */
    struct pub_rec *pub_tail; /* Locked: pub_mu */
    int pub_drain_waiting;    /* Locked: pub_mu; someone waits on pub_cv */
    /* Memtable memory recycled from flushed memtables (thread-safe). */
    cairn__arena_pool mem_pool;
    /* Pipelined log syncs (write.c): a sync group's leader hands
     * leadership on before its fdatasync, so the next groups append while
     * it syncs, and one fdatasync covers every record appended before it
     * started. Positions are (log number, offset). */
    cairn__mutex sync_mu;
    cairn__cond sync_cv;
    uint64_t durable_log, durable_off; /* Locked: sync_mu */
    uint64_t appended_log,
        appended_off;                  /* Locked: sync_mu; sync leaders' ends */
    int syncing;                       /* Locked: sync_mu; syncs running */
    uint64_t syncing_log, syncing_off; /* Locked: sync_mu; newest target */
    int durable_waiters;               /* Locked: sync_mu; in wait_durable */
    /* Atomic (written under sync_mu): the syncer is batch-waiting. A
     * writer leaving reads it without the lock (writer_leaves). */
    atomic_int sync_gathering;
    struct sync_waiter *sync_waiters;    /* Locked: sync_mu; asleep waiters */
    int sync_error;                      /* Locked: sync_mu; sticky */
    char sync_errmsg[CAIRN__ERRMSG_MAX]; /* Locked: sync_mu */
    /* The log a memtable switch left unsynced (write.c, switch_memtable):
     * the switching writer syncs it after handing leadership on. Until
     * then no sync of the new log starts (wait_durable), so durable_*
     * stays behind it and the kernel is never asked to make a write of
     * the new log durable before the old log's. */
    cairn__file *old_log;    /* Locked: sync_mu; NULL if none */
    uint64_t old_log_number; /* Locked: sync_mu */
    uint64_t old_log_next;   /* Locked: sync_mu; the log after it */
    /* Atomic mirrors, read by the leader's flow-control fast path without
     * mu (each written under mu): the sticky error is set, and the number
     * of level-0 files. */
    atomic_int bg_error_flag;
    atomic_int l0_count;
    struct cairn__write_stats *wstats; /* counters, relaxed atomics */

    int bg_error;                         /* Locked: mu (D3) */
    char bg_errmsg[CAIRN__ERRMSG_MAX];    /* Locked: mu */
    char group_errmsg[CAIRN__ERRMSG_MAX]; /* Locked: mu; last failed group */

    /* Per-handle last error, for cairn_db_errmsg. */
    cairn__mutex errmu;
    char errmsg[CAIRN__ERRMSG_MAX]; /* Locked: errmu */
};

/* How a queued writer waits under strategy (cairn.h): CAIRN_WAIT_AUTO is
 * adaptive for a non-sync writer with a write buffer of at least
 * CAIRN__AUTO_ADAPTIVE_WBS, else block (a sync writer's group is usually
 * completed only after a sync, far beyond any spin); any other strategy
 * is returned as it is. Measured in docs/design.md, "Which waits sleep"
 * (large write buffers). */
#define CAIRN__AUTO_ADAPTIVE_WBS ((size_t)32 << 20)
static inline int cairn__wait_strategy_for(int strategy, size_t write_buffer,
                                           int sync)
{
    if (strategy != CAIRN_WAIT_AUTO)
        return strategy;
    return !sync && write_buffer >= CAIRN__AUTO_ADAPTIVE_WBS
               ? CAIRN_WAIT_ADAPTIVE
               : CAIRN_WAIT_BLOCK;
}

/* db.c */
int cairn__db_open(const struct cairn_options *opt, const char *name,
                   cairn_db **out) CAIRN_WUR;
int cairn__db_close(cairn_db *db);
int cairn__db_destroy(const struct cairn_options *opt,
                      const char *name) CAIRN_WUR;
/* Records the first background/durability error (D3) and wakes every
 * waiter on bg_cv; mu held. Returns rc. */
int cairn__db_set_bg_error(cairn_db *db, int rc);
/* A fresh memtable with the database's shards and filters (memtable.h). */
int cairn__db_new_memtable(cairn_db *db, cairn__memtable **out) CAIRN_WUR;

/* Refreshes the atomic mirrors after a new version is installed; mu
 * held. */
void cairn__db_version_installed(cairn_db *db);

/* Deletes files nothing live needs; mu held. */
void cairn__db_remove_obsolete_files(cairn_db *db);
/* Table options derived from the database options. */
void cairn__db_table_options(const cairn_db *db, cairn__table_options *t);

/* A manual compaction request, handled by the background thread. */
struct cairn__manual {
    int level;
    int done;
    int rc;
    char msg[CAIRN__ERRMSG_MAX]; /* rc's message (set on the bg thread) */
    int has_begin, has_end;
    cairn__buf begin, end; /* user keys; advanced as steps complete */
};

/* Records a table number as being written (kept by obsolete-file
 * deletion) or no longer; mu held. */
int cairn__db_pending_add(cairn_db *db, uint64_t n) CAIRN_WUR;
void cairn__db_pending_remove(cairn_db *db, uint64_t n);
/* The sequence below which no reader can look; mu held. */
uint64_t cairn__db_oldest_snapshot(cairn_db *db);

/* compact.c */
/* Runs one step of background work other than flushing (a manual or an
 * automatic compaction); returns 1 if it did something. mu held. */
int cairn__db_bg_compact_step(cairn_db *db);
/* Flushes the oldest immutable memtable (flush.c); mu held. */
int cairn__db_flush_oldest(cairn_db *db) CAIRN_WUR;

/* Log files off the write path (log_files.c); mu held by each but fini.
 * chores_due: a retired log waits to be closed or a spare is wanted.
 * chores: closes retired logs, then makes the spare if wanted (releases
 * mu around the I/O). take_spare: the switch takes the spare (1) or finds
 * none (0). retire_log: hands a synced old log over to be closed (1), or
 * 0 when the list is full. fini: at close, with no background thread. */
int cairn__db_log_chores_due(const cairn_db *db);
/* Creates log file number and syncs the directory. On failure nothing is
 * left behind, and *dir_sync_failed says whether the directory's sync
 * failed (what the directory holds is then unknown). zero_fill: see
 * cairn__env_open_log. No lock needed. */
int cairn__db_create_log(cairn_db *db, uint64_t number, uint64_t zero_fill,
                         cairn__file **out, int *dir_sync_failed);
void cairn__db_log_chores(cairn_db *db);
void cairn__db_close_retired_logs(cairn_db *db);
int cairn__db_take_spare(cairn_db *db, cairn__file **f, uint64_t *number);
int cairn__db_retire_log(cairn_db *db, cairn__file *f, uint64_t number);
void cairn__db_log_files_fini(cairn_db *db);

/* flush.c */
/* Writes mem as a table and records it in edit (at level 0 when base is
 * NULL, else where LevelDB would place it against base). mu held; released
 * while the table is built. An empty memtable adds nothing. On success
 * *number_out is the table's number (0 if none), which stays in
 * pending_outputs until the caller removes it after applying edit. */
int cairn__db_write_level0_table(cairn_db *db, cairn__memtable *mem,
                                 cairn__edit *edit, cairn__version *base,
                                 uint64_t *number_out) CAIRN_WUR;
int cairn__db_bg_start(cairn_db *db) CAIRN_WUR;
/* Stops the background threads after their current work; mu not held. */
void cairn__db_bg_stop(cairn_db *db);
/* Appends an edit to the MANIFEST and installs it, one at a time across
 * threads (mu held; released while the MANIFEST is written). */
int cairn__db_log_and_apply(cairn_db *db, cairn__edit *edit) CAIRN_WUR;

/* api.c: every public call on a handle is bracketed by enter (CAIRN_OK,
 * or the code to return at once) and leave (which records rc's message in
 * the handle and returns rc). */
int cairn__api_enter(cairn_db *db, const char *fn) CAIRN_WUR;
int cairn__api_leave(cairn_db *db, int rc);
int cairn__api_record(cairn_db *db, int rc);

/* write.c */
int cairn__db_write(cairn_db *db, const struct cairn_writeoptions *wo,
                    cairn__slice rep) CAIRN_WUR;

/* read.c */
int cairn__db_get(cairn_db *db, const struct cairn_readoptions *ro,
                  cairn__slice key, cairn__buf *value) CAIRN_WUR;
/* A user-view iterator (db_iter.h) over the whole database. */
int cairn__db_new_iter(cairn_db *db, const struct cairn_readoptions *ro,
                       cairn__iter **out) CAIRN_WUR;

#endif
