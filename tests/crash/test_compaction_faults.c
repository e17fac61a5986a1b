/*
 * test_compaction_faults.c: I/O failures during flushes and compactions
 * (the fault env over the in-memory env).
 *
 * The workload (fixed by the printed seed; CAIRN_TEST_SEED replays it) is
 * a script of write batches over 300 keys with, between them, explicit
 * flushes, range compactions, one close-and-reopen and a final compaction
 * of everything; the flushes put enough tables at level 0 that automatic
 * compactions run as well. A dry run counts the env's WRITE (append and
 * flush), SYNC (file sync, sync_dir) and RENAME operations after the
 * first open. Then, for each kind and each chosen N, a fresh database runs
 * the script with the Nth operation of that kind failing persistently
 * (CAIRN_IO, or CAIRN_NOSPC with a short write of 100 bytes on every other
 * N), and the test checks:
 *   1. the first failure a call returns makes writes fail from then on
 *      (a plain put must be refused: the error is sticky);
 *   2. reads keep working and show every acknowledged batch, and the batch
 *      that failed entirely or not at all;
 *   3. no live file was deleted: every table the on-disk MANIFEST (the
 *      one CURRENT names, replayed record by record) lists exists, both at
 *      the failure and after recovery;
 *   4. after close, disarm and reopen the database opens, holds exactly
 *      what 2 allowed, compacts everything cleanly and accepts writes.
 * Which N: every N from 1 to the count when the count is at most SWEEP_MAX;
 * otherwise a stride s = ceil(count / SWEEP_MAX) starting at an offset
 * drawn from the seed, plus SWEEP_EXTRA random N, so each run covers a
 * spread of the range and the whole range is covered over the seeds.
 * Counts vary a little from run to run (background compactions interleave
 * with the script differently), so an N the run never reaches is checked
 * as a clean run (no failure may then be reported).
 *
 * ENOSPC during compaction: level 0 is filled with compaction paused, then
 * a compaction (manual, or automatic after resuming) runs with the Nth
 * write failing persistently with CAIRN_NOSPC (and a short write of 100
 * bytes), for N spread over the compaction's writes: the first, the last,
 * quarters and random ones. Afterwards the database stays readable, writes
 * are refused with CAIRN_NOSPC, and the directory holds at most EXTRA_MAX
 * (1) files beyond what the MANIFEST names. Extra files are tables neither
 * the MANIFEST nor the running version lists, other MANIFESTs, logs older
 * than the MANIFEST's log number, and temp files. Tables only the running
 * version lists are not extra: when a MANIFEST record is written but its
 * flush fails, the record names the outputs while the running version
 * still reads the inputs, and both must stay until a reopen decides. The
 * one extra file allowed is the output of the failed compaction when its
 * MANIFEST record was torn (each compaction here writes a single table):
 * it is kept because the record might have reached the disk, and the next
 * open deletes it. After a healthy reopen and close no extra file remains.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "db/filename.h"
#include "env/env_fault.h"
#include "version/edit.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NKEYS       300
#define NOPS        200
#define MAX_ENTRIES 12
#define VAL_MAX     400
#define SWEEP_MAX   500
#define SWEEP_EXTRA 15
#define EXTRA_MAX   1

enum { OP_BATCH, OP_FLUSH, OP_COMPACT, OP_REOPEN, OP_COMPACT_ALL };

typedef struct op {
    int kind;
    int n;
    int key[MAX_ENTRIES];
    int del[MAX_ENTRIES];
} op;

static uint64_t g_seed;
static op g_ops[NOPS];
static const char *const kind_names[] = {"write", "sync", "rename"};
static const char *const op_names[] = {"batch", "flush", "compact_range",
                                       "reopen", "compact all"};

/* The script: batches, with a flush every 25 ops, range compactions,
 * one reopen in the middle and a full compaction at the end. */
static void gen_script(uint64_t seed)
{
    tu_rng r;
    tu_rng_init(&r, seed);
    for (int i = 0; i < NOPS; i++) {
        op *o = &g_ops[i];
        memset(o, 0, sizeof *o);
        if (i == NOPS - 1)
            o->kind = OP_COMPACT_ALL;
        else if (i == NOPS / 2)
            o->kind = OP_REOPEN;
        else if (i % 25 == 24)
            o->kind = OP_FLUSH;
        else if (i % 40 == 39)
            o->kind = OP_COMPACT;
        else
            o->kind = OP_BATCH;
        o->n =
            o->kind == OP_BATCH ? 1 + (int)tu_rng_uniform(&r, MAX_ENTRIES) : 0;
        for (int j = 0; j < o->n; j++) {
            o->key[j] = (int)tu_rng_uniform(&r, NKEYS);
            o->del[j] = tu_rng_uniform(&r, 5) == 0;
        }
        if (o->kind == OP_COMPACT) {
            o->key[0] = (int)tu_rng_uniform(&r, NKEYS / 2);
            o->key[1] = o->key[0] + (int)tu_rng_uniform(&r, NKEYS / 2);
        }
    }
}

static size_t make_key(char *buf, int k)
{
    return (size_t)snprintf(buf, 16, "key%04d", k);
}

/* Value id: op * 16 + entry + 1. */
static size_t make_value(char *buf, uint32_t id)
{
    int n = snprintf(buf, VAL_MAX, "v%" PRIu32 "|", id);
    size_t pad = 100 + (id * 2654435761u) % 250u;
    for (size_t p = 0; p < pad; p++)
        buf[(size_t)n + p] = (char)('a' + (id * 7 + p * p) % 26);
    return (size_t)n + pad;
}

typedef struct model {
    uint32_t v[NKEYS];
} model;

static model model_after(int nops)
{
    model m = {{0}};
    for (int i = 0; i < nops; i++)
        for (int j = 0; j < g_ops[i].n; j++)
            m.v[g_ops[i].key[j]] =
                g_ops[i].del[j] ? 0 : (uint32_t)(i * 16 + j + 1);
    return m;
}

/* ---------------------------------------------------------------------- */
/* Environments, handles and checks                                        */

typedef struct envs {
    cairn_env *mem, *fault;
} envs;

static envs envs_create(void)
{
    envs e;
    e.mem = cairn_env_mem_create();
    assert_non_null(e.mem);
    assert_int_equal(cairn__env_fault_create(e.mem, &e.fault), 0);
    return e;
}

static void envs_destroy(envs *e)
{
    cairn_env_destroy(e->fault);
    cairn_env_destroy(e->mem);
}

static int open_db(cairn_env *env, cairn_db **db)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_info_log(o, 0), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_block_size(o, 1024), 0);
    int rc = cairn_db_open(o, "/db", db);
    cairn_options_destroy(o);
    if (rc != 0)
        *db = NULL;
    return rc;
}

/* Runs op i; a reopen replaces *db (NULL if it failed). */
static int do_op(cairn_env *env, cairn_db **db, int i)
{
    const op *o = &g_ops[i];
    char a[16], b[16], val[VAL_MAX];
    switch (o->kind) {
    case OP_FLUSH:
        return cairn_db_flush(*db);
    case OP_COMPACT:
        return cairn_db_compact_range(*db, a, make_key(a, o->key[0]), b,
                                      make_key(b, o->key[1]));
    case OP_COMPACT_ALL:
        return cairn_db_compact_range(*db, NULL, 0, NULL, 0);
    case OP_REOPEN: {
        int rc = cairn_db_close(*db);
        *db = NULL;
        return rc != 0 ? rc : open_db(env, db);
    }
    default:
        break;
    }
    cairn_batch *bt = cairn_batch_create();
    assert_non_null(bt);
    for (int j = 0; j < o->n; j++) {
        size_t kl = make_key(a, o->key[j]);
        int rc =
            o->del[j]
                ? cairn_batch_delete(bt, a, kl)
                : cairn_batch_put(bt, a, kl, val,
                                  make_value(val, (uint32_t)(i * 16 + j + 1)));
        assert_int_equal(rc, 0);
    }
    int rc = cairn_db_write(*db, NULL, bt);
    cairn_batch_destroy(bt);
    return rc;
}

/* 1 if the database holds exactly m (gets and a forward scan). */
static int db_equals(cairn_db *db, const model *m, char *why, size_t cap)
{
    char key[16], val[VAL_MAX];
    for (int k = 0; k < NKEYS; k++) {
        size_t kl = make_key(key, k);
        void *got = NULL;
        size_t len = 0;
        int rc = cairn_db_get(db, NULL, key, kl, &got, &len);
        size_t el = m->v[k] ? make_value(val, m->v[k]) : 0;
        int same = m->v[k] == 0
                       ? rc == CAIRN_NOTFOUND
                       : rc == 0 && len == el && memcmp(got, val, el) == 0;
        if (!same)
            snprintf(why, cap, "get %s: expected %s%" PRIu32 ", got %s", key,
                     m->v[k] ? "v" : "absent ", m->v[k], cairn_errname(rc));
        cairn_free(got);
        if (!same)
            return 0;
    }
    cairn_iter *it = cairn_db_iter_create(db, NULL);
    assert_non_null(it);
    int k = 0, same = 1;
    for (cairn_iter_seek_first(it); same && cairn_iter_valid(it);
         cairn_iter_next(it), k++) {
        while (k < NKEYS && m->v[k] == 0)
            k++;
        size_t gl, kl = k < NKEYS ? make_key(key, k) : 0;
        const void *g = cairn_iter_key(it, &gl);
        same = k < NKEYS && gl == kl && memcmp(g, key, kl) == 0;
    }
    while (same && k < NKEYS && m->v[k] == 0)
        k++;
    if (!same || k != NKEYS || cairn_iter_status(it) != 0) {
        snprintf(why, cap, "scan differs near key %d (status %s)", k,
                 cairn_errname(cairn_iter_status(it)));
        same = 0;
    }
    cairn_iter_destroy(it);
    return same;
}

/* The database must show ops [0, acked) and, if op `acked` failed and is
 * a batch, that batch entirely or not at all. */
static void check_model(cairn_db *db, int acked, int failed, const char *when,
                        const char *label)
{
    char why[200], why2[200] = "not allowed";
    model m0 = model_after(acked);
    if (db_equals(db, &m0, why, sizeof why))
        return;
    if (failed && acked < NOPS && g_ops[acked].kind == OP_BATCH) {
        model m1 = model_after(acked + 1);
        if (db_equals(db, &m1, why2, sizeof why2))
            return;
    }
    fail_msg("%s: %s: not the %d acknowledged ops (%s) nor them plus the "
             "failed op (%s) (seed %" PRIu64 ")",
             label, when, acked, why, why2, g_seed);
}

/* What the on-disk MANIFEST (the one CURRENT names) says. */
typedef struct manifest {
    uint64_t number, log_number, prev_log;
    uint64_t tables[512];
    size_t ntables;
} manifest;

static int has_table(const manifest *m, uint64_t n)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->tables[i] == n)
            return 1;
    return 0;
}

static void drop_table(manifest *m, uint64_t n)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->tables[i] == n)
            m->tables[i--] = m->tables[--m->ntables];
}

/* Replays the MANIFEST, as recovery would, into m. */
static void read_manifest(cairn_env *env, manifest *m, const char *label)
{
    memset(m, 0, sizeof *m);
    char *cur = NULL, path[64];
    size_t len;
    if (cairn__env_read_file(env, "/db/CURRENT", 4096, &cur, &len) != 0 ||
        strncmp(cur, "MANIFEST-", 9) != 0)
        fail_msg("%s: CURRENT unreadable: %s", label, cairn_errmsg());
    m->number = strtoull(cur + 9, NULL, 10);
    free(cur);
    snprintf(path, sizeof path, "/db/MANIFEST-%06" PRIu64, m->number);
    cairn__file *f;
    if (env->ops->open_read(env, path, &f) != 0)
        fail_msg("%s: %s named by CURRENT is missing", label, path);
    cairn__log_reader rd;
    assert_int_equal(cairn__log_reader_init(&rd, f, NULL, NULL, 1, 0), 0);
    cairn__edit e;
    cairn__edit_init(&e);
    cairn__slice rec;
    int rc;
    while ((rc = cairn__log_read_record(&rd, &rec)) == 1) {
        if (cairn__edit_decode(&e, rec) != 0)
            fail_msg("%s: bad MANIFEST record: %s", label, cairn_errmsg());
        if (e.has_log_number)
            m->log_number = e.log_number;
        if (e.has_prev_log_number)
            m->prev_log = e.prev_log_number;
        for (size_t i = 0; i < e.ndeleted; i++)
            drop_table(m, e.deleted[i].number);
        for (size_t i = 0; i < e.nfiles; i++) {
            assert_true(m->ntables < 512);
            m->tables[m->ntables++] = e.files[i].meta.number;
        }
    }
    assert_int_equal(rc, 0);
    cairn__edit_fini(&e);
    cairn__log_reader_fini(&rd);
    assert_int_equal(cairn__file_close(f), 0);
}

/* The tables of a handle's current version ("cairn.sstables" lines read
 * " <number>:<size>[...]"), into v->tables. */
static void version_tables(cairn_db *db, manifest *v)
{
    memset(v, 0, sizeof *v);
    char *s = cairn_db_property(db, "cairn.sstables");
    assert_non_null(s);
    for (char *p = s; (p = strchr(p, '\n')) != NULL;) {
        char *end;
        p++;
        uint64_t num = strtoull(p, &end, 10);
        if (*p == ' ' && *end == ':' && v->ntables < 512)
            v->tables[v->ntables++] = num;
    }
    cairn_free(s);
}

static void must_exist(cairn_env *env, const manifest *m, const char *whose,
                       const char *label, const char *when)
{
    char path[64];
    for (size_t i = 0; i < m->ntables; i++) {
        snprintf(path, sizeof path, "/db/%06" PRIu64 ".ldb", m->tables[i]);
        if (env->ops->exists(env, path) != 1)
            fail_msg("%s: %s: table %s named by %s was deleted (seed %" PRIu64
                     ")",
                     label, when, path, whose, g_seed);
    }
}

/* Checks that every table the MANIFEST (and live, the tables of a running
 * version, if not NULL) names exists; returns the number of files the
 * directory holds beyond what they name. A table only the running version
 * names is not extra: when a MANIFEST record is written but its flush or
 * sync fails, the record already names the outputs while the running
 * version still reads the inputs, and both must stay until a reopen
 * decides. */
static int check_files(cairn_env *env, const manifest *live, const char *label,
                       const char *when, char *list, size_t cap)
{
    manifest m;
    read_manifest(env, &m, label);
    must_exist(env, &m, "the MANIFEST", label, when);
    if (live != NULL)
        must_exist(env, live, "the running version", label, when);
    cairn__strlist names = {NULL, 0};
    assert_int_equal(env->ops->list(env, "/db", &names), 0);
    int extra = 0;
    list[0] = '\0';
    for (size_t i = 0; i < names.n; i++) {
        uint64_t n;
        enum cairn__file_type t;
        if (!cairn__filename_parse(names.names[i], &n, &t))
            continue;
        if ((t == CAIRN__FILE_TABLE && !has_table(&m, n) &&
             (live == NULL || !has_table(live, n))) ||
            (t == CAIRN__FILE_DESCRIPTOR && n != m.number) ||
            (t == CAIRN__FILE_LOG && n < m.log_number && n != m.prev_log) ||
            t == CAIRN__FILE_TEMP) {
            size_t used = strlen(list);
            snprintf(list + used, cap - used, " %s", names.names[i]);
            extra++;
        }
    }
    cairn__strlist_fini(&names);
    return extra;
}

/* ---------------------------------------------------------------------- */
/* The sweep                                                               */

/* Reopens with a healthy env and checks recovery (point 4). */
static void recover(envs *e, int acked, const model *m, const char *label)
{
    cairn__env_fault_disarm_all(e->fault);
    cairn__env_fault_set_partial(e->fault, 0);
    cairn_db *db = NULL;
    int rc = open_db(e->fault, &db);
    if (rc != 0)
        fail_msg("%s: reopen with a healthy env: %s: %s (seed %" PRIu64 ")",
                 label, cairn_errname(rc), cairn_errmsg(), g_seed);
    char why[200];
    if (m != NULL && !db_equals(db, m, why, sizeof why))
        fail_msg("%s: after reopen: %s (seed %" PRIu64 ")", label, why, g_seed);
    if (m == NULL)
        check_model(db, acked, 1, "after reopen", label);
    rc = cairn_db_compact_range(db, NULL, 0, NULL, 0);
    if (rc != 0)
        fail_msg("%s: compaction after reopen: %s: %s", label,
                 cairn_errname(rc), cairn_errmsg());
    if (m != NULL && !db_equals(db, m, why, sizeof why))
        fail_msg("%s: after compaction: %s (seed %" PRIu64 ")", label, why,
                 g_seed);
    if (m == NULL)
        check_model(db, acked, 1, "after reopen and compaction", label);
    cairn_writeoptions *wo = cairn_writeoptions_create();
    assert_non_null(wo);
    assert_int_equal(cairn_writeoptions_set_sync(wo, 1), 0);
    assert_int_equal(cairn_db_put(db, wo, "after", 5, "ok", 2), 0);
    cairn_writeoptions_destroy(wo);
    assert_int_equal(cairn_db_close(db), 0);
    /* Checked once the handle is closed: before, a background compaction
     * may sit between its MANIFEST record and deleting its inputs. */
    char list[300];
    if (check_files(e->mem, NULL, label, "after a healthy reopen", list,
                    sizeof list) != 0)
        fail_msg("%s: obsolete files survived a healthy open and close:%s",
                 label, list);
}

/* Runs the script with kind's nth operation failing persistently (nth 0:
 * never) and checks points 1-4. Returns 1 if a failure was injected;
 * counts, if not NULL, gets the operations the script performed. */
static int sweep_point(enum cairn__fault_kind kind, uint64_t nth,
                       uint64_t counts[3])
{
    char label[128];
    int code = nth % 2 ? CAIRN_IO : CAIRN_NOSPC;
    snprintf(label, sizeof label, "%s fault #%" PRIu64 " (%s)",
             kind_names[kind], nth, cairn_errname(code));
    envs e = envs_create();
    cairn_db *db = NULL;
    assert_int_equal(open_db(e.fault, &db), 0);
    uint64_t base[3];
    for (int k = 0; k < 3; k++)
        base[k] = cairn__env_fault_count(e.fault, (enum cairn__fault_kind)k);
    if (nth > 0) {
        assert_int_equal(cairn__env_fault_arm(e.fault, kind, nth, code, 1), 0);
        cairn__env_fault_set_partial(e.fault, code == CAIRN_NOSPC ? 100 : 0);
    }
    int acked = 0, rc = 0;
    while (acked < NOPS && (rc = do_op(e.fault, &db, acked)) == 0)
        acked++;
    for (int k = 0; counts != NULL && k < 3; k++)
        counts[k] = cairn__env_fault_count(e.fault, (enum cairn__fault_kind)k) -
                    base[k];
    int fired = cairn__env_fault_injected(e.fault) != 0;
    if (acked == NOPS) {
        /* Not reached (or reached and ignored, which would mean a call
         * reported success past a failed write). */
        if (fired)
            fail_msg("%s: the fault fired but every call succeeded", label);
        check_model(db, NOPS, 0, "clean run", label);
        assert_int_equal(cairn_db_close(db), 0);
        char list[300];
        if (check_files(e.mem, NULL, label, "clean run", list, sizeof list))
            fail_msg("%s: obsolete files after a clean run:%s", label, list);
        envs_destroy(&e);
        return 0;
    }
    char why[200];
    snprintf(why, sizeof why, "%s: %s", cairn_errname(rc), cairn_errmsg());
    if (!fired)
        fail_msg("%s: op %d failed with no fault injected: %s", label, acked,
                 why);
    manifest live;
    int have_live = db != NULL;
    if (db != NULL) {
        if (cairn_db_put(db, NULL, "probe", 5, "x", 1) == 0)
            fail_msg("%s: op %d (%s) failed (%s), yet a later put was "
                     "acknowledged: the error is not sticky (seed %" PRIu64 ")",
                     label, acked, op_names[g_ops[acked].kind], why, g_seed);
        check_model(db, acked, 1, "reads after the failure", label);
        version_tables(db, &live);
    }
    /* Close may report the failure again. Then nothing the MANIFEST on
     * disk or the last running version names may be missing. */
    (void)cairn_db_close(db);
    char list[300];
    (void)check_files(e.mem, have_live ? &live : NULL, label,
                      "after the failure", list, sizeof list);
    recover(&e, acked, NULL, label);
    envs_destroy(&e);
    return 1;
}

static void sweep_kind(enum cairn__fault_kind kind)
{
    char name[64];
    snprintf(name, sizeof name, "compaction_faults/%s", kind_names[kind]);
    g_seed = tu_seed(name);
    gen_script(g_seed);
    uint64_t counts[3];
    assert_int_equal(sweep_point(kind, 0, counts), 0);
    uint64_t total = counts[kind];
    assert_true(total > 0);
    uint64_t max = (uint64_t)(SWEEP_MAX * tu_scale());
    max = max < 10 ? 10 : max;
    uint64_t stride = (total + max - 1) / max;
    tu_rng r;
    tu_rng_init(&r, g_seed ^ (uint64_t)kind);
    uint64_t start = 1 + tu_rng_uniform(&r, stride);
    long points = 0, fired = 0;
    for (uint64_t n = start; n <= total; n += stride, points++)
        fired += sweep_point(kind, n, NULL);
    for (int i = 0; stride > 1 && i < SWEEP_EXTRA; i++, points++)
        fired += sweep_point(kind, 1 + tu_rng_uniform(&r, total), NULL);
    fprintf(stderr,
            "%s: script does %" PRIu64 " writes, %" PRIu64 " syncs, %" PRIu64
            " renames; %ld points (stride %" PRIu64 " from %" PRIu64
            "), %ld fired\n",
            kind_names[kind], counts[0], counts[1], counts[2], points, stride,
            start, fired);
    assert_true(fired > 0);
}

static void sweep_writes(void **state)
{
    (void)state;
    sweep_kind(CAIRN__FAULT_WRITE);
}

static void sweep_syncs(void **state)
{
    (void)state;
    sweep_kind(CAIRN__FAULT_SYNC);
}

static void sweep_renames(void **state)
{
    (void)state;
    sweep_kind(CAIRN__FAULT_RENAME);
}

/* ---------------------------------------------------------------------- */
/* ENOSPC during compaction                                                */

#define FILL_ROUNDS 6

/* A database whose level 0 holds several overlapping tables, with
 * compaction paused; m gets its contents. */
static cairn_db *fill(envs *e, model *m)
{
    cairn_db *db = NULL;
    char k[16], val[VAL_MAX];
    assert_int_equal(open_db(e->fault, &db), 0);
    assert_int_equal(cairn_db_pause_compaction(db), 0);
    memset(m, 0, sizeof *m);
    for (int round = 0; round < FILL_ROUNDS; round++) {
        for (int key = round % 2; key < NKEYS; key += 2) {
            uint32_t id = (uint32_t)(round + 1) * 1000u + (uint32_t)key;
            assert_int_equal(cairn_db_put(db, NULL, k, make_key(k, key), val,
                                          make_value(val, id)),
                             0);
            m->v[key] = id;
        }
        if (round == 2)
            assert_int_equal(cairn_db_delete(db, NULL, "key0007", 7), 0);
        m->v[7] = round == 2 ? 0 : m->v[7];
        assert_int_equal(cairn_db_flush(db), 0);
    }
    return db;
}

static long level0(cairn_db *db)
{
    char *v = cairn_db_property(db, "cairn.num-files-at-level0");
    assert_non_null(v);
    long n = strtol(v, NULL, 10);
    cairn_free(v);
    return n;
}

/* One compaction with the nth write failing with ENOSPC (nth 0: never);
 * automatic: resume background compaction instead of compacting by hand.
 * Returns the writes the compaction performed (when it did not fail). */
static uint64_t nospc_point(uint64_t nth, int automatic, int *fired,
                            int *max_extra)
{
    char label[96];
    snprintf(label, sizeof label,
             "ENOSPC at compaction write #%" PRIu64 " (%s)", nth,
             automatic ? "automatic" : "manual");
    envs e = envs_create();
    model m;
    cairn_db *db = fill(&e, &m);
    assert_true(level0(db) >= 4);
    uint64_t base = cairn__env_fault_count(e.fault, CAIRN__FAULT_WRITE);
    if (nth > 0) {
        assert_int_equal(cairn__env_fault_arm(e.fault, CAIRN__FAULT_WRITE, nth,
                                              CAIRN_NOSPC, 1),
                         0);
        cairn__env_fault_set_partial(e.fault, 100);
    }
    int rc = 0;
    if (automatic) {
        assert_int_equal(cairn_db_resume_compaction(db), 0);
        tu_watchdog_arm(60, label);
        const struct timespec tick = {0, 2 * 1000 * 1000};
        while (cairn__env_fault_injected(e.fault) == 0 && level0(db) >= 4)
            nanosleep(&tick, NULL);
        tu_watchdog_disarm();
    } else {
        rc = cairn_db_compact_range(db, NULL, 0, NULL, 0);
    }
    uint64_t writes =
        cairn__env_fault_count(e.fault, CAIRN__FAULT_WRITE) - base;
    *fired = cairn__env_fault_injected(e.fault) != 0;
    char why[200];
    if (!*fired) {
        assert_int_equal(rc, 0);
        if (!db_equals(db, &m, why, sizeof why))
            fail_msg("%s: clean compaction: %s", label, why);
        assert_int_equal(cairn_db_close(db), 0);
        envs_destroy(&e);
        return writes;
    }
    if (!automatic && rc != CAIRN_NOSPC)
        fail_msg("%s: compact_range returned %s, expected CAIRN_NOSPC (%s)",
                 label, cairn_errname(rc), cairn_errmsg());
    if (!db_equals(db, &m, why, sizeof why))
        fail_msg("%s: reads after the failure: %s (seed %" PRIu64 ")", label,
                 why, g_seed);
    rc = cairn_db_put(db, NULL, "probe", 5, "x", 1);
    if (rc != CAIRN_NOSPC)
        fail_msg("%s: a put after the failure returned %s, expected "
                 "CAIRN_NOSPC",
                 label, cairn_errname(rc));
    /* A background compaction may still be cleaning up until close. */
    manifest live;
    version_tables(db, &live);
    char list[300];
    int extra = automatic ? 0
                          : check_files(e.mem, &live, label, "after ENOSPC",
                                        list, sizeof list);
    (void)cairn_db_close(db);
    if (automatic)
        extra = check_files(e.mem, &live, label, "after ENOSPC and close", list,
                            sizeof list);
    if (extra > EXTRA_MAX)
        fail_msg("%s: %d files beyond what the MANIFEST names:%s (at most %d "
                 "allowed)",
                 label, extra, list, EXTRA_MAX);
    *max_extra = extra > *max_extra ? extra : *max_extra;
    recover(&e, 0, &m, label);
    envs_destroy(&e);
    return writes;
}

static void nospc_during_compaction(void **state)
{
    (void)state;
    g_seed = tu_seed("compaction_faults/nospc");
    tu_rng r;
    tu_rng_init(&r, g_seed);
    for (int automatic = 0; automatic < 2; automatic++) {
        int fired, max_extra = 0;
        uint64_t total = nospc_point(0, automatic, &fired, &max_extra);
        assert_true(total > 0);
        uint64_t pts[12] = {1,         2,         3,
                            total / 4, total / 2, 3 * total / 4,
                            total - 2, total - 1, total};
        for (int i = 9; i < 12; i++)
            pts[i] = 1 + tu_rng_uniform(&r, total);
        int nfired = 0;
        for (int i = 0; i < 12; i++) {
            if (pts[i] < 1 || pts[i] > total)
                continue;
            (void)nospc_point(pts[i], automatic, &fired, &max_extra);
            nfired += fired;
        }
        fprintf(stderr,
                "ENOSPC (%s compaction): %" PRIu64 " writes, %d of 12 points "
                "fired, at most %d extra files\n",
                automatic ? "automatic" : "manual", total, nfired, max_extra);
        assert_true(nfired > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nospc_during_compaction),
        cmocka_unit_test(sweep_renames),
        cmocka_unit_test(sweep_syncs),
        cmocka_unit_test(sweep_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
