/*
 * test_subcompactions.c: one compaction split into key ranges merged on
 * several threads at once (max_subcompactions; src/db/compact.c).
 *
 * The script (fixed by the printed seed): with background compaction
 * paused, 3,000 keys of 1,000-byte values are written in random order and
 * flushed in three tables; a snapshot is taken; then half the keys get a
 * second version and a sixth are deleted, in three more tables. The first
 * flushes land below level 0 (nothing overlaps them yet), the rest at
 * level 0. Compaction resumes and everything is compacted: level 0's four
 * or more overlapping tables and what they overlap (about 5 MiB with a
 * 1 MiB max_file_size) go to level 1 in one compaction that can be split
 * several ways.
 *
 *  1. Same result whatever the split: with 1, 2 and 4 parts every key
 *     reads its latest version (or nothing), the snapshot still reads
 *     every first version, a scan returns exactly the live keys in order,
 *     and all of it again after a reopen (the outputs are in the
 *     MANIFEST). The stats' Parts column shows the split really happened
 *     (more parts than compactions), and did not with 1.
 *  2. A failure in any part fails the whole compaction: the Nth table
 *     creation during the compaction fails (N = 1..8, so in one part or
 *     another); the error is sticky (a put is refused), reads keep showing
 *     everything, no table is left that the version does not name (the
 *     other parts' outputs are deleted too), and after a reopen without
 *     the fault everything is there and compacts cleanly.
 *  3. Power lost inside a split compaction: the Nth write of a table
 *     during the compaction fails and keeps failing (freezing it there,
 *     N spread over the whole compaction), then the power is cut, losing
 *     every unsynced byte and directory entry. Everything was flushed and
 *     recorded before the compaction began, so after a reopen every key
 *     must read exactly as written, and a full compaction must succeed.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env_fault.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "compaction_util.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS    3000u
#define VLEN     1000u
#define PER_L0   1000u /* writes between flushes */
#define MAX_FAIL 8

typedef struct script {
    uint32_t ver[NKEYS];  /* latest version, 0 = deleted */
    uint32_t snap[NKEYS]; /* version the snapshot sees */
} script;

static cairn_db *open_db(cairn_env *env, int parts)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    ct_ok(cairn_options_set_create_if_missing(o, 1), "create_if_missing");
    ct_ok(cairn_options_set_env(o, env), "env");
    ct_ok(cairn_options_set_write_buffer_size(o, 4 * MIB), "write buffer");
    ct_ok(cairn_options_set_max_file_size(o, 1 * MIB), "max_file_size");
    ct_ok(cairn_options_set_compression(o, CAIRN_COMPRESSION_NONE),
          "compression");
    ct_ok(cairn_options_set_max_subcompactions(o, parts), "subcompactions");
    /* The fault runs fail the Nth table creation or write: a spare log,
     * made by the flushing thread at times of its own, would take some. */
    ct_ok(cairn_options_set_spare_log(o, 0), "spare_log");
    cairn_db *db = NULL;
    ct_ok(cairn_db_open(o, "/db", &db), "open");
    cairn_options_destroy(o);
    return db;
}

static void del_key(cairn_db *db, uint32_t id)
{
    char k[16];
    size_t klen = ct_key_of(id, k);
    ct_ok(cairn_db_delete(db, NULL, k, klen), "delete");
}

/* Writes the script's six level-0 tables (compaction paused); returns the
 * snapshot taken between the two rounds. */
static const cairn_snapshot *write_script(cairn_db *db, tu_rng *r, script *s,
                                          unsigned char *buf)
{
    uint32_t order[NKEYS];
    for (uint32_t i = 0; i < NKEYS; i++)
        order[i] = i;
    ct_ok(cairn_db_pause_compaction(db), "pause");
    ct_shuffle(r, order, NKEYS);
    for (uint32_t i = 0; i < NKEYS; i++) {
        ct_put_version(db, order[i], 1, VLEN, buf);
        s->ver[order[i]] = 1;
        if ((i + 1) % PER_L0 == 0)
            ct_ok(cairn_db_flush(db), "flush");
    }
    const cairn_snapshot *snap = cairn_db_create_snapshot(db);
    assert_non_null(snap);
    memcpy(s->snap, s->ver, sizeof s->snap);
    ct_shuffle(r, order, NKEYS);
    for (uint32_t i = 0; i < NKEYS; i++) {
        uint32_t id = order[i];
        uint64_t what = tu_rng_uniform(r, 6);
        if (what < 3) {
            ct_put_version(db, id, 2, VLEN, buf);
            s->ver[id] = 2;
        } else if (what == 3) {
            del_key(db, id);
            s->ver[id] = 0;
        }
        if ((i + 1) % PER_L0 == 0)
            ct_ok(cairn_db_flush(db), "flush");
    }
    ct_ok(cairn_db_flush(db), "flush");
    return snap;
}

/* Every key against the script, through gets (at the snapshot too, if
 * given) and one scan. */
static void check_all(cairn_db *db, const script *s, const cairn_snapshot *snap,
                      unsigned char *buf)
{
    for (uint32_t id = 0; id < NKEYS; id++)
        ct_expect_version(db, NULL, id, s->ver[id], VLEN, buf);
    if (snap != NULL) {
        cairn_readoptions *ro = cairn_readoptions_create();
        assert_non_null(ro);
        ct_ok(cairn_readoptions_set_snapshot(ro, snap), "set snapshot");
        for (uint32_t id = 0; id < NKEYS; id++)
            ct_expect_version(db, ro, id, s->snap[id], VLEN, buf);
        cairn_readoptions_destroy(ro);
    }
    cairn_iter *it = cairn_db_iter_create(db, NULL);
    assert_non_null(it);
    cairn_iter_seek_first(it);
    uint32_t id = 0;
    for (; cairn_iter_valid(it); cairn_iter_next(it)) {
        while (id < NKEYS && s->ver[id] == 0)
            id++;
        assert_true(id < NKEYS);
        char k[16];
        size_t klen = ct_key_of(id, k);
        size_t got;
        const void *key = cairn_iter_key(it, &got);
        assert_int_equal(got, klen);
        assert_memory_equal(key, k, klen);
        size_t vlen;
        const void *v = cairn_iter_value(it, &vlen);
        assert_int_equal(vlen, ct_make_value(id, s->ver[id], VLEN, buf));
        assert_memory_equal(v, buf, vlen);
        id++;
    }
    ct_ok(cairn_iter_status(it), "scan");
    cairn_iter_destroy(it);
    while (id < NKEYS && s->ver[id] == 0)
        id++;
    assert_int_equal(id, NKEYS);
}

/* Sums the Count and Parts columns of cairn.stats' compaction table. */
static void count_parts(cairn_db *db, uint64_t *count, uint64_t *parts)
{
    char *st = cairn_db_property(db, "cairn.stats");
    assert_non_null(st);
    *count = *parts = 0;
    const char *p = strstr(st, "------\n");
    assert_non_null(p);
    p = strchr(p, '\n') + 1;
    while (*p == ' ') {
        int level;
        unsigned long files;
        double size, secs, rd, wr;
        unsigned long long c, n;
        assert_int_equal(sscanf(p, "%d %lu %lf %lf %lf %lf %llu %llu", &level,
                                &files, &size, &secs, &rd, &wr, &c, &n),
                         8);
        *count += c;
        *parts += n;
        p = strchr(p, '\n') + 1;
    }
    cairn_free(st);
}

static void same_result(void **state)
{
    (void)state;
    static const int parts_list[] = {1, 2, 4};
    unsigned char *buf = malloc(16 + VLEN);
    script *s = malloc(sizeof *s);
    assert_non_null(buf);
    assert_non_null(s);
    uint64_t seed = tu_seed("subcompactions/same_result");
    for (size_t t = 0; t < sizeof parts_list / sizeof parts_list[0]; t++) {
        int parts = parts_list[t];
        tu_rng r;
        tu_rng_init(&r, seed); /* the same script for every split */
        cairn_env *env = cairn_env_mem_create();
        assert_non_null(env);
        cairn_db *db = open_db(env, parts);
        const cairn_snapshot *snap = write_script(db, &r, s, buf);
        assert_true(ct_level_files(db, 0) >= 4);
        ct_ok(cairn_db_resume_compaction(db), "resume");
        ct_ok(cairn_db_compact_range(db, NULL, 0, NULL, 0), "compact");
        assert_int_equal(ct_level_files(db, 0), 0);
        check_all(db, s, snap, buf);
        uint64_t count, nparts;
        count_parts(db, &count, &nparts);
        fprintf(stderr, "max_subcompactions %d: %llu compactions, %llu parts\n",
                parts, (unsigned long long)count, (unsigned long long)nparts);
        assert_true(count > 0);
        if (parts == 1)
            assert_int_equal(nparts, count);
        else
            assert_true(nparts > count);
        cairn_db_release_snapshot(db, snap);
        ct_ok(cairn_db_close(db), "close");
        db = open_db(env, parts);
        check_all(db, s, NULL, buf);
        ct_ok(cairn_db_close(db), "close");
        cairn_env_destroy(env);
    }
    free(s);
    free(buf);
}

static long table_files(cairn_env *env)
{
    cairn__strlist l = {NULL, 0};
    ct_ok(env->ops->list(env, "/db", &l), "list /db");
    long n = 0;
    for (size_t i = 0; i < l.n; i++) {
        size_t len = strlen(l.names[i]);
        if (len > 4 && strcmp(l.names[i] + len - 4, ".ldb") == 0)
            n++;
    }
    cairn__strlist_fini(&l);
    return n;
}

static long live_tables(cairn_db *db)
{
    long n = 0;
    for (int l = 0; l < 7; l++)
        n += ct_level_files(db, l);
    return n;
}

/* A database in a fault env over a memory env, holding the script's
 * tables (the snapshot released), compaction still paused. */
typedef struct fault_run {
    cairn_env *mem, *env;
    cairn_db *db;
} fault_run;

static void fault_run_start(fault_run *fr, uint64_t seed, script *s,
                            unsigned char *buf)
{
    tu_rng r;
    tu_rng_init(&r, seed);
    fr->mem = cairn_env_mem_create();
    assert_non_null(fr->mem);
    ct_ok(cairn__env_fault_create(fr->mem, &fr->env), "fault env");
    fr->db = open_db(fr->env, 4);
    cairn_db_release_snapshot(fr->db, write_script(fr->db, &r, s, buf));
}

static void fault_run_end(fault_run *fr)
{
    cairn_env_destroy(fr->env);
    cairn_env_destroy(fr->mem);
}

static void part_fails(void **state)
{
    (void)state;
    unsigned char *buf = malloc(16 + VLEN);
    script *s = malloc(sizeof *s);
    assert_non_null(buf);
    assert_non_null(s);
    uint64_t seed = tu_seed("subcompactions/part_fails");
    int failed_runs = 0;
    for (uint64_t nth = 1; nth <= MAX_FAIL; nth++) {
        fault_run fr;
        fault_run_start(&fr, seed, s, buf);
        cairn_env *mem = fr.mem, *env = fr.env;
        cairn_db *db = fr.db;
        ct_ok(cairn__env_fault_arm(env, CAIRN__FAULT_CREATE, nth, CAIRN_IO, 0),
              "arm");
        ct_ok(cairn_db_resume_compaction(db), "resume");
        int rc = cairn_db_compact_range(db, NULL, 0, NULL, 0);
        int injected = cairn__env_fault_injected(env) > 0;
        cairn__env_fault_disarm_all(env);
        fprintf(stderr, "table creation %llu fails: %s\n",
                (unsigned long long)nth,
                injected ? cairn_errmsg() : "not reached");
        if (injected) {
            failed_runs++;
            assert_int_not_equal(rc, 0);
            /* The part that failed is reported, not the others' stop. */
            assert_non_null(strstr(cairn_errmsg(), "injected fault"));
            /* Sticky: a put is refused now. */
            char k[16];
            size_t klen = ct_key_of(0, k);
            assert_int_not_equal(cairn_db_put(db, NULL, k, klen, "x", 1), 0);
            /* No output of any part is left behind. */
            assert_int_equal(table_files(mem), live_tables(db));
        } else {
            ct_ok(rc, "compact without a fault");
        }
        check_all(db, s, NULL, buf);
        (void)cairn_db_close(db);
        db = open_db(env, 4);
        check_all(db, s, NULL, buf);
        ct_ok(cairn_db_compact_range(db, NULL, 0, NULL, 0), "compact again");
        check_all(db, s, NULL, buf);
        assert_int_equal(table_files(mem), live_tables(db));
        ct_ok(cairn_db_close(db), "close");
        fault_run_end(&fr);
    }
    assert_true(failed_runs > 0);
    free(s);
    free(buf);
}

static void power_cut_inside(void **state)
{
    (void)state;
    unsigned char *buf = malloc(16 + VLEN);
    script *s = malloc(sizeof *s);
    assert_non_null(buf);
    assert_non_null(s);
    uint64_t seed = tu_seed("subcompactions/power_cut_inside");
    /* Table writes a clean compaction makes (a dry run), to spread N. */
    uint64_t writes = 0;
    for (int dry = 1; dry >= 0; dry--) {
        uint64_t steps = dry ? 1 : 6;
        for (uint64_t step = 0; step < steps; step++) {
            fault_run fr;
            fault_run_start(&fr, seed, s, buf);
            cairn_env *env = fr.env;
            cairn_db *db = fr.db;
            uint64_t before = cairn__env_fault_count(env, CAIRN__FAULT_WRITE);
            uint64_t nth = 1 + writes * step / steps;
            if (!dry)
                ct_ok(cairn__env_fault_arm(env, CAIRN__FAULT_WRITE, nth,
                                           CAIRN_IO, 1),
                      "arm");
            ct_ok(cairn_db_resume_compaction(db), "resume");
            int rc = cairn_db_compact_range(db, NULL, 0, NULL, 0);
            if (dry) {
                ct_ok(rc, "dry compaction");
                writes =
                    cairn__env_fault_count(env, CAIRN__FAULT_WRITE) - before;
                assert_true(writes > 0);
                ct_ok(cairn_db_close(db), "close");
            } else {
                fprintf(stderr,
                        "write %llu of %llu fails, then power cut: "
                        "%s\n",
                        (unsigned long long)nth, (unsigned long long)writes,
                        rc != 0 ? cairn_errmsg() : "compaction finished");
                ct_ok(cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS,
                                                 seed + step),
                      "power cut");
                (void)cairn_db_close(db);
                cairn__env_fault_reset(env);
                cairn__env_fault_disarm_all(env);
                db = open_db(env, 4);
                check_all(db, s, NULL, buf);
                ct_ok(cairn_db_compact_range(db, NULL, 0, NULL, 0),
                      "compact after the cut");
                check_all(db, s, NULL, buf);
                ct_ok(cairn_db_close(db), "close");
            }
            fault_run_end(&fr);
        }
    }
    free(s);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_result),
        cmocka_unit_test(part_fails),
        cmocka_unit_test(power_cut_inside),
    };
    return cmocka_run_group_tests(tests, ct_pool_setup, NULL);
}
