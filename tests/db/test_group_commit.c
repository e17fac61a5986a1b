/*
 * test_group_commit.c: the write path's grouping rules, pinned one by one
 * (src/db/write.c, "Group rules"), and no_slowdown.
 *
 * How a group is observed: each group is exactly one log record, a
 * WriteBatch whose header holds the group's first sequence and its entry
 * count. The database runs on a gate env (below) over a memory env. Its
 * gate makes the flush that ends a log record block until the test lets it
 * through (log_writer.c appends every fragment of a record and then
 * flushes once, so one flush is one record). Writer A starts a write and
 * blocks at the gate: it leads and is inside its append. The test then
 * starts writers B, C, ... one at a time, each only after the previous one
 * is linked into the write queue (db->wq_count, read under db->wq_mu, so
 * there is no sleeping and guessing), and opens the gate. Every writer
 * uses a batch with its own keys, so reading the log's records back tells
 * exactly which batches were merged, in which order, with which
 * sequences.
 *
 * The queueing and the reading back are in tests/support/group_log.{h,c},
 * shared with test_group_combining.c (combining).
 *
 * Every test arms the watchdog: a write path that loses a wake-up hangs
 * instead of failing, and the watchdog turns that into a failure.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "db/batch.h"
#include "db/db_impl.h"
#include "env/env.h"
#include "util/syncpoint.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate_env.h"
#include "group_log.h"
#include "write_jobs.h"
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------- */
/* Databases, writers and the log read back                                */

/* ---------------------------------------------------------------------- */
/* Rule 1: writers queued behind a busy leader form one group, in FIFO     */
/* order, with consecutive sequences                                       */

static void fifo_group(int strategy, size_t write_buffer)
{
    gate_env *g = gate_env_create(0);
    cairn_options *opt = cairn_options_create();
    assert_int_equal(cairn_options_set_wait_strategy(opt, strategy, 20000), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(opt, write_buffer), 0);
    cairn_db *db = open_db(g, opt);
    cairn_batch *b[5] = {make_batch("a", 10), make_batch("b", 10),
                         make_batch("c1,c2", 10), make_batch("d", 10),
                         make_batch("e1,e2,e3", 10)};
    static const int sync[5] = {0, 0, 0, 0, 0};
    job jobs[5];
    gl_run_queued(g, db, jobs, 5, b, sync);
    static const char *const want[] = {"a", "b,c1,c2,d,e1,e2,e3"};
    gl_expect_groups(g, want, 2);
    /* The group's entries are readable under their own keys. */
    void *v = NULL;
    size_t vlen = 0;
    assert_int_equal(cairn_db_get(db, NULL, "e3", 2, &v, &vlen), 0);
    assert_int_equal(vlen, 10);
    cairn_free(v);
    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 5);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
}

static void test_fifo_group(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "fifo_group");
    fifo_group(CAIRN_WAIT_BLOCK, 4u << 20);
    fifo_group(CAIRN_WAIT_ADAPTIVE, 4u << 20);
    fifo_group(CAIRN_WAIT_SPIN, 4u << 20);
    tu_watchdog_disarm();
}

/* CAIRN_WAIT_AUTO, the default: adaptive for non-sync writers with a
 * write buffer of 32 MiB or more, else block; a strategy set explicitly
 * is kept. A database with the default options and a large buffer
 * groups writers as any other. */
static void test_auto_wait_strategy(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "auto_wait_strategy");
    const size_t mib = (size_t)1 << 20;
    const int a = CAIRN_WAIT_AUTO;
    assert_int_equal(cairn__wait_strategy_for(a, 4 * mib, 0), CAIRN_WAIT_BLOCK);
    assert_int_equal(cairn__wait_strategy_for(a, 32 * mib - 1, 0),
                     CAIRN_WAIT_BLOCK);
    assert_int_equal(cairn__wait_strategy_for(a, 32 * mib, 0),
                     CAIRN_WAIT_ADAPTIVE);
    assert_int_equal(cairn__wait_strategy_for(a, 64 * mib, 1),
                     CAIRN_WAIT_BLOCK);
    assert_int_equal(cairn__wait_strategy_for(CAIRN_WAIT_BLOCK, 64 * mib, 0),
                     CAIRN_WAIT_BLOCK);
    assert_int_equal(cairn__wait_strategy_for(CAIRN_WAIT_SPIN, 4 * mib, 1),
                     CAIRN_WAIT_SPIN);
    assert_int_equal(cairn__wait_strategy_for(CAIRN_WAIT_ADAPTIVE, 4 * mib, 1),
                     CAIRN_WAIT_ADAPTIVE);

    cairn_options *opt = cairn_options_create();
    assert_int_equal(opt->wait_strategy, CAIRN_WAIT_AUTO);
    cairn_options_destroy(opt);
    fifo_group(CAIRN_WAIT_AUTO, 64 * mib);
    tu_watchdog_disarm();
}

/* ---------------------------------------------------------------------- */
/* Rule 2: the byte cap, and the small-leader cap                          */

static void test_byte_cap(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "byte_cap");
    gate_env *g = gate_env_create(0);
    cairn_options *opt = cairn_options_create();
    /* max 8192 bytes; a leader of at most 1024 bytes gets its own size +
     * 1024. Each follower adds its size less the 12-byte header. */
    assert_int_equal(cairn_options_set_group_limits(opt, 8192, 1024), 0);
    cairn_db *db = open_db(g, opt);
    cairn_batch *b[7] = {
        gl_sized_batch("a", 200),
        /* Leader b is over 1024, so the cap is 8192: b + c + d is
         * 3000 + 2988 + 2204 = 8192 exactly, which fits; e would pass it
         * and starts the next group. */
        gl_sized_batch("b", 3000),
        gl_sized_batch("c", 3000),
        gl_sized_batch("d", 2216),
        /* Leader e is small: its cap is 200 + 1024 = 1224, which e + f
         * (200 + 1024) meets exactly; g (136 more) would pass it, though
         * it would fit under 8192. */
        gl_sized_batch("e", 200),
        gl_sized_batch("f", 1036),
        gl_sized_batch("g", 148),
    };
    static const int sync[7] = {0};
    job jobs[7];
    gl_run_queued(g, db, jobs, 7, b, sync);
    static const char *const want[] = {"a", "b,c,d", "e,f", "g"};
    gl_expect_groups(g, want, 4);
    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 7);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
}

/* ---------------------------------------------------------------------- */
/* Rule 3: a sync writer never joins a non-sync leader                     */

static void sync_boundary(int pipelined)
{
    gate_env *g = gate_env_create(pipelined);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_db(g, opt);
    cairn_batch *b[6] = {make_batch("a", 10), make_batch("b", 10),
                         make_batch("c", 10), make_batch("d", 10),
                         make_batch("e", 10), make_batch("f", 10)};
    /* a (blocked) leads alone. b leads the next group and takes c; the
     * scan stops at sync d, so e stays behind although it is non-sync; d
     * leads and carries e and f (a sync leader may carry non-sync
     * writers). */
    static const int sync[6] = {0, 0, 0, 1, 0, 0};
    job jobs[6];
    int syncs0 = atomic_load(&g->syncs);
    gl_run_queued(g, db, jobs, 6, b, sync);
    static const char *const want[] = {"a", "b,c", "d,e,f"};
    gl_expect_groups(g, want, 3);
    /* One sync for the one sync group. */
    assert_int_equal(atomic_load(&g->syncs) - syncs0, 1);
    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 6);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
}

static void test_sync_boundary(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "sync_boundary");
    sync_boundary(0);
    sync_boundary(1);
    tu_watchdog_disarm();
}

/* ---------------------------------------------------------------------- */
/* Rule 4: the caller's batch is not modified                              */

static void check_unchanged(const cairn_batch *b, const char *copy, size_t len)
{
    size_t n = 0;
    const void *data = cairn_batch_data(b, &n);
    assert_int_equal(n, len);
    assert_memory_equal(data, copy, len);
}

static char *copy_of(const cairn_batch *b, size_t *len)
{
    const void *data = cairn_batch_data(b, len);
    char *c = malloc(*len);
    assert_non_null(c);
    memcpy(c, data, *len);
    return c;
}

static void test_batch_unmodified(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "batch_unmodified");
    gate_env *g = gate_env_create(0);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_db(g, opt);
    /* A lone write is logged from the caller's buffer behind a header
     * built apart: the caller's header must still say sequence 0. */
    cairn_batch *lone = make_batch("l1,l2,l3", 7);
    size_t lone_len;
    char *lone_copy = copy_of(lone, &lone_len);
    assert_int_equal(cairn_db_write(db, NULL, lone), 0);
    check_unchanged(lone, lone_copy, lone_len);
    /* Group: x leads the second group and y follows it. */
    cairn_batch *b[3] = {make_batch("a", 5), make_batch("x1,x2,x3", 5),
                         make_batch("y1,y2", 5)};
    size_t len[3];
    char *copy[3];
    for (int i = 0; i < 3; i++)
        copy[i] = copy_of(b[i], &len[i]);
    static const int sync[3] = {0};
    job jobs[3];
    gl_run_queued(g, db, jobs, 3, b, sync);
    for (int i = 0; i < 3; i++)
        check_unchanged(b[i], copy[i], len[i]);
    static const char *const want[] = {"a", "x1,x2,x3,y1,y2"};
    gl_expect_groups(g, want, 2);
    /* The same batch written again still works: nothing in it was spent. */
    assert_int_equal(cairn_db_write(db, NULL, lone), 0);
    check_unchanged(lone, lone_copy, lone_len);
    assert_int_equal(cairn_db_close(db), 0);
    for (int i = 0; i < 3; i++)
        free(copy[i]);
    free(lone_copy);
    gl_destroy_batches(b, 3);
    cairn_batch_destroy(lone);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
}

/* ---------------------------------------------------------------------- */
/* Rule 5: no_slowdown                                                     */

static int l0_files(cairn_db *db)
{
    char *s = cairn_db_property(db, "cairn.num-files-at-level0");
    assert_non_null(s);
    int n = atoi(s);
    cairn_free(s);
    return n;
}

static void test_no_slowdown(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "no_slowdown");
    gate_env *g = gate_env_create(0);
    cairn_options *opt = cairn_options_create();
    /* Level-0 slowdown and stop both at 4 files, which is also where
     * level-0 compaction starts (so resuming compaction clears the stop);
     * one immutable memtable; 64 KiB memtables. */
    assert_int_equal(cairn_options_set_write_buffer_size(opt, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_max_immutable_memtables(opt, 1), 0);
    assert_int_equal(cairn_options_set_l0_triggers(opt, 4, 4, 1000), 0);
    cairn_db *db = open_db(g, opt);
    assert_int_equal(cairn_db_pause_compaction(db), 0);
    /* Overlapping flushes until level 0 holds 4 tables (the first ones
     * may be placed deeper). */
    for (int i = 0; i < 12 && l0_files(db) < 4; i++) {
        assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);
        assert_int_equal(cairn_db_put(db, NULL, "z", 1, "v", 1), 0);
        assert_int_equal(cairn_db_flush(db), 0);
    }
    assert_int_equal(l0_files(db), 4);

    cairn_writeoptions *ns = cairn_writeoptions_create();
    assert_non_null(ns);
    assert_int_equal(cairn_writeoptions_set_no_slowdown(ns, 1), 0);

    /* (a) A leader with no_slowdown at the level-0 slowdown trigger is
     * refused at once, with a message, and writes nothing. */
    uint64_t busy0 = gl_write_stat(db, "no_slowdown refusals");
    assert_int_equal(cairn_db_put(db, ns, "n", 1, "v", 1), CAIRN_BUSY);
    assert_non_null(strstr(cairn_errmsg(), "no_slowdown"));
    void *v = NULL;
    size_t vlen = 0;
    assert_int_equal(cairn_db_get(db, NULL, "n", 1, &v, &vlen), CAIRN_NOTFOUND);

    /* (b) a's 100 KiB value fills the memtable while a sits at the gate
     * with b (normal) and c (no_slowdown) queued behind it. b then leads
     * into the level-0 stop and stalls; c, queued behind a stalling
     * leader, is refused at once. */
    cairn_batch *b[3] = {make_batch("a", 100 * 1024), make_batch("b", 10),
                         make_batch("c", 10)};
    job jobs[4];
    gate_close(g, GATE_FLUSH);
    start_job(&jobs[0], db, b[0], 0, 0);
    gate_wait_blocked(g, GATE_FLUSH, 1);
    start_job(&jobs[1], db, b[1], 0, 0);
    wait_queued(db, 2);
    start_job(&jobs[2], db, b[2], 0, 1);
    wait_queued(db, 3);
    gate_open(g, GATE_FLUSH);
    assert_int_equal(join_job(&jobs[0]), 0);
    assert_int_equal(join_job(&jobs[2]), CAIRN_BUSY);
    assert_non_null(strstr(jobs[2].msg, "no_slowdown"));
    while (gl_write_stat(db, "stall level-0 stop") == 0)
        sleep_ms(1);

    /* (c) A no_slowdown writer arriving while b is stalled must be
     * refused at once too, not wait behind b for the stall to end. */
    cairn_batch *late = make_batch("d", 10);
    start_job(&jobs[3], db, late, 0, 1);
    int late_done = job_done_within(&jobs[3], 2000);

    /* b really stalls: compaction is paused, so nothing can free it. */
    sleep_ms(20);
    int b_done_early = atomic_load(&jobs[1].done);
    assert_int_equal(cairn_db_resume_compaction(db), 0);
    assert_int_equal(join_job(&jobs[1]), 0);
    int late_rc = join_job(&jobs[3]);
    assert_false(b_done_early);
    assert_int_equal(cairn_db_get(db, NULL, "b", 1, &v, &vlen), 0);
    cairn_free(v);
    assert_int_equal(cairn_db_get(db, NULL, "c", 1, &v, &vlen), CAIRN_NOTFOUND);
    uint64_t refusals = gl_write_stat(db, "no_slowdown refusals") - busy0;

    /* Clean up first, so a failure of (c) reports only itself. */
    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 3);
    cairn_batch_destroy(late);
    cairn_writeoptions_destroy(ns);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
    if (!late_done || late_rc != CAIRN_BUSY)
        fail_msg("a no_slowdown write arriving during a stall %s (rc %s)",
                 late_done ? "was not refused" : "waited for the stall",
                 cairn_errname(late_rc));
    assert_int_equal(refusals, 3);
}

/* 64 KiB of filler. */
static char big[64 * 1024];

/* A database on a new gate env (64 KiB write buffer, one immutable slot)
 * with a memtable switched out whose flush is held just before its
 * table's sync, so the slot stays taken. */
static cairn_db *open_slot_taken(int pipelined, gate_env **gp,
                                 cairn_options **optp)
{
    gate_env *g = *gp = gate_env_create(pipelined);
    cairn_options *opt = *optp = cairn_options_create();
    assert_non_null(opt);
    assert_int_equal(cairn_options_set_write_buffer_size(opt, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_max_immutable_memtables(opt, 1), 0);
    cairn_db *db = open_db(g, opt);
    memset(big, 'x', sizeof big);
    gate_close(g, GATE_TABLE);
    for (int i = 0; gl_write_stat(db, "memtable switch") == 0; i++) {
        if (i == 64)
            fail_msg("no memtable switch after 64 puts of 16 KiB");
        char key[16];
        snprintf(key, sizeof key, "f%02d", i);
        assert_int_equal(cairn_db_put(db, NULL, key, 3, big, 16 * 1024), 0);
    }
    gate_wait_blocked(g, GATE_TABLE, 1);
    return db;
}

/* A sticky error raised outside the leader must wake a leader stalled in
 * flow control. Sync writer a's pipelined sync runs after a has handed
 * leadership on; meanwhile leader b waits for a flush to free the one
 * immutable slot, and that flush is held at its table's sync. When a's
 * sync fails, the error is sticky (item 6): b must return it at once, not
 * sleep until the flush ends. (Found by test_power_loss_flush, which hung
 * once in a few hundred runs: the writer waited for a flush that the
 * background thread would no longer start after the error.) */
static void test_sync_failure_wakes_stalled_leader(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "sync failure wakes stalled leader");
    gate_env *g;
    cairn_options *opt;
    /* 1. Fill a memtable; the switch queues it, and its flush is held
     * just before its table is synced: the immutable slot stays taken. */
    cairn_db *db = open_slot_taken(1, &g, &opt);

    /* 2. a's sync is held, and will fail. */
    pthread_mutex_lock(&g->mu);
    uint64_t ticket = g->tickets[GATE_SYNC];
    pthread_mutex_unlock(&g->mu);
    gate_fail(g, GATE_SYNC, ticket);
    gate_close(g, GATE_SYNC);
    cairn_batch *b[2] = {make_batch("a", 10), make_batch("b", 10)};
    job jobs[2];
    start_job(&jobs[0], db, b[0], 1, 0);
    gate_wait_blocked(g, GATE_SYNC, 1);

    /* 3. The memtable past its limit (the check comes before a write, so
     * this one goes in), then b leads into the full immutable slot. */
    assert_int_equal(cairn_db_put(db, NULL, "big", 3, big, sizeof big), 0);
    start_job(&jobs[1], db, b[1], 0, 0);
    while (gl_write_stat(db, "stall memtable full") == 0)
        sleep_ms(1);

    /* 4. a's sync fails; the flush is still held. */
    gate_open(g, GATE_SYNC);
    int a_rc = join_job(&jobs[0]);
    int b_woke = job_done_within(&jobs[1], 5000);
    gate_open(g, GATE_TABLE);
    int b_rc = join_job(&jobs[1]);
    int later = cairn_db_put(db, NULL, "c", 1, "v", 1);

    assert_int_equal(cairn_db_close(db), 0);
    gl_destroy_batches(b, 2);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
    assert_int_equal(a_rc, CAIRN_IO);
    if (!b_woke)
        fail_msg("a leader stalled for a flush slept through the sticky "
                 "error of a failed log sync");
    assert_int_equal(b_rc, CAIRN_IO);
    assert_int_equal(later, CAIRN_IO);
}

/* A stalled leader releases the database mutex once, to refuse the
 * no_slowdown writers queued behind it, and a flush that ends in that
 * window broadcasts before the leader waits. The leader must look again
 * instead of sleeping: here the flush it stalls for ends exactly there (a
 * sync point runs it in the window), after which the background thread
 * has nothing to do, so no broadcast would ever come. (compat/
 * test_leveldb_compacted hung this way once in a few dozen suite runs,
 * the watchdog's stacks showing the writer in stall_wait, the background
 * thread idle and every memtable flushed.) */
typedef struct refusal_window {
    gate_env *g;
    cairn_db *db;
    atomic_int hits;
} refusal_window;

static int table_files(cairn_db *db)
{
    int n = 0;
    for (int level = 0; level < 7; level++) {
        char name[64];
        snprintf(name, sizeof name, "cairn.num-files-at-level%d", level);
        char *s = cairn_db_property(db, name);
        assert_non_null(s);
        n += atoi(s);
        cairn_free(s);
    }
    return n;
}

static void flush_in_refusal_window(const char *point, void *arg)
{
    refusal_window *rw = arg;
    if (strcmp(point, "write:stall-refused") != 0 ||
        atomic_fetch_add(&rw->hits, 1) != 0)
        return;
    gate_open(rw->g, GATE_TABLE);
    while (table_files(rw->db) == 0)
        sleep_ms(1);
}

static void test_flush_ends_while_stall_refuses(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "flush ends while a stall refuses");
    gate_env *g;
    cairn_options *opt;
    /* 1. A memtable switched out, its flush held before its table's
     * sync: the one immutable slot stays taken. */
    cairn_db *db = open_slot_taken(0, &g, &opt);
    refusal_window rw = {g, db, 0};
    /* 2. The memtable past its limit (the check comes before a write). */
    assert_int_equal(cairn_db_put(db, NULL, "big", 3, big, sizeof big), 0);
    assert_int_equal(table_files(db), 0);

    /* 3. The next leader stalls for the slot; the flush ends while it
     * refuses no_slowdown writers, with the mutex released. */
    cairn__sync_point_set(flush_in_refusal_window, &rw);
    cairn_batch *b = make_batch("b", 10);
    job j;
    start_job(&j, db, b, 0, 0);
    int woke = job_done_within(&j, 5000);
    if (!woke)
        fail_msg("a leader stalled for a flush slept through its end "
                 "(the flush ended while the leader refused no_slowdown "
                 "writers)");
    int rc = join_job(&j);
    cairn__sync_point_set(NULL, NULL);
    assert_int_equal(atomic_load(&rw.hits), 1);
    assert_int_equal(rc, 0);
    assert_int_equal(gl_write_stat(db, "memtable switch"), 2);
    void *v = NULL;
    size_t vlen = 0;
    assert_int_equal(cairn_db_get(db, NULL, "b", 1, &v, &vlen), 0);
    cairn_free(v);

    assert_int_equal(cairn_db_close(db), 0);
    cairn_batch_destroy(b);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
}

/* Flow control's last step, the memtable switch, is counted in
 * cairn.write-stats: once per switch, never for an empty flush. */
static void test_switches_counted(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "switches counted");
    gate_env *g = gate_env_create(0);
    cairn_options *opt = cairn_options_create();
    assert_int_equal(cairn_options_set_write_buffer_size(opt, 64 * 1024), 0);
    cairn_db *db = open_db(g, opt);
    uint64_t s0 = gl_write_stat(db, "memtable switch");
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);
    assert_int_equal(cairn_db_flush(db), 0);
    assert_int_equal(gl_write_stat(db, "memtable switch"), s0 + 1);
    assert_int_equal(cairn_db_flush(db), 0); /* empty: no switch */
    assert_int_equal(gl_write_stat(db, "memtable switch"), s0 + 1);
    /* 1 MiB of values through 64 KiB memtables: about 16 switches. */
    char val[1024];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 1024; i++) {
        char key[16];
        int n = snprintf(key, sizeof key, "key%06d", i);
        assert_int_equal(
            cairn_db_put(db, NULL, key, (size_t)n, val, sizeof val), 0);
    }
    uint64_t filled = gl_write_stat(db, "memtable switch") - s0 - 1;
    if (filled < 12 || filled > 20)
        fail_msg("%llu switches for 1 MiB through 64 KiB memtables",
                 (unsigned long long)filled);
    assert_int_equal(cairn_db_close(db), 0);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
}

/* The reported latency quantiles are in order and never above the
 * maximum, even for a single write (a quantile is read from a histogram
 * bucket whose upper edge may lie above any value seen). */
static void test_latency_quantiles_ordered(void **state)
{
    (void)state;
    tu_watchdog_arm(60, "latency quantiles");
    gate_env *g = gate_env_create(0);
    cairn_options *opt = cairn_options_create();
    cairn_db *db = open_db(g, opt);
    for (int round = 0; round < 2; round++) {
        int writes = round == 0 ? 1 : 200;
        for (int i = 0; i < writes; i++)
            assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);
        char *st = cairn_db_property(db, "cairn.write-stats");
        assert_non_null(st);
        const char *l = strstr(st, "commit latency us:");
        assert_non_null(l);
        double p50, p99, p999, mx;
        assert_int_equal(sscanf(l,
                                "commit latency us: p50 %lf p99 %lf p99.9 "
                                "%lf max %lf",
                                &p50, &p99, &p999, &mx),
                         4);
        if (!(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= mx))
            fail_msg("after %d writes: %.120s", round == 0 ? 1 : 201, l);
        cairn_free(st);
    }
    assert_int_equal(cairn_db_close(db), 0);
    cairn_options_destroy(opt);
    gate_env_destroy(g);
    tu_watchdog_disarm();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_group),
        cmocka_unit_test(test_auto_wait_strategy),
        cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_sync_boundary),
        cmocka_unit_test(test_batch_unmodified),
        cmocka_unit_test(test_no_slowdown),
        cmocka_unit_test(test_sync_failure_wakes_stalled_leader),
        cmocka_unit_test(test_flush_ends_while_stall_refuses),
        cmocka_unit_test(test_switches_counted),
        cmocka_unit_test(test_latency_quantiles_ordered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
