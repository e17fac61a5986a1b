/*
 * ldb_tables_run.c: the table-level compatibility scenario itself
 * (ldb_tables.h), step by step. Test-only code.
 */
#include "ldb_tables.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Writes until two levels >= 1 hold files and the shape has held across a
 * pause, so that a background compaction LevelDB had started (by writes or
 * by seeks) has had time to land before the caller relies on the shape.
 * LevelDB's C API cannot say whether a compaction is pending. */
static void fill_two_levels(ldbt_run *r, ldbt_writer *w, leveldb_t *db)
{
    long n[NLEVELS], again[NLEVELS];
    for (int round = 0;; round++) {
        if (round == 20)
            fail_msg("LevelDB never kept two levels >= 1 filled");
        if (ldbt_levels(db, NULL, n) >= 2) {
            const struct timespec pause = {.tv_nsec = 200 * 1000 * 1000};
            nanosleep(&pause, NULL);
            if (ldbt_levels(db, NULL, again) >= 2 &&
                memcmp(n, again, sizeof n) == 0)
                return;
            continue;
        }
        ldbt_workload(r, w, r->target / 5, 0);
    }
}

/* Step 1: LevelDB writes until two levels >= 1 hold files, compacts part
 * of the range, writes a little more, and must itself equal the model. */
static void leveldb_writes(ldbt_run *r, const char *dir, size_t nseeks)
{
    ldbt_session s;
    ldbt_ldb_open(&s, r->cfg, dir, 1);
    ldbt_writer w = {.ldb = s.db,
                     .lwo = leveldb_writeoptions_create(),
                     .lb = leveldb_writebatch_create()};
    size_t first = r->target * 2 / 5;
    qsort(r->perm, first, sizeof *r->perm, ldbt_cmp_u32);
    for (size_t i = 0; i < first; i++)
        ldbt_w_write(r, &w, r->perm[i], 1, ldbt_value_len(r, i == first / 2));
    r->next_new = first;
    for (int big = 1; r->next_new < r->target; big = 0)
        ldbt_workload(r, &w, r->target - r->next_new, big);
    /* LevelDB's own reads (which may start seek compactions) come before
     * the level check, so the check describes the files cairn will see.
     * Every eighth key is enough here: LevelDB vouches for the model, and
     * reads every key after cairn has written. */
    ldbt_reader rd = {.who = "LevelDB (writer)", .ldb = s.db, .lro = s.ro};
    ldbt_verify(r, &rd, 8, nseeks);
    fill_two_levels(r, &w, s.db);
    unsigned char a[KEY_CAP], b[KEY_CAP];
    size_t al = ldbt_make_key(r, r->nids / 5, a),
           bl = ldbt_make_key(r, r->nids / 3, b);
    leveldb_compact_range(s.db, (char *)a, al, (char *)b, bl);
    ldbt_workload(r, &w, 1500, 1);
    ldbt_scan(r, &rd, r->m, 1);
    /* The range compaction may have pushed every level-1 file down (a CI
     * run saw "0 2 8" become "2 0 6"), so fill again before closing. */
    fill_two_levels(r, &w, s.db);
    leveldb_writebatch_destroy(w.lb);
    leveldb_writeoptions_destroy(w.lwo);
    ldbt_ldb_close(&s);
}

/* Steps 3 and 4 on cairn's side: read everything, then write over it with
 * a snapshot taken half-way. */
static void cairn_reads_and_writes(ldbt_run *r, const char *dir, size_t nops,
                                   size_t nseeks)
{
    cairn_db *db = ldbt_cdb_open(r->cfg, dir);
    cairn_readoptions *ro = cairn_readoptions_create();
    assert_non_null(ro);
    assert_int_equal(cairn_readoptions_set_verify_checksums(ro, 1), 0);
    long n[NLEVELS];
    assert_true(ldbt_levels(NULL, db, n) >= 2);
    ldbt_reader rd = {.who = "cairn", .cdb = db, .cro = ro};
    ldbt_verify(r, &rd, 1, nseeks);

    ldbt_writer w = {.cdb = db, .cb = cairn_batch_create()};
    assert_non_null(w.cb);
    ldbt_tables t = {.floor = 0};
    ldbt_watch_tables(db, &t);
    t.floor = t.max;
    const cairn_snapshot *snap = NULL;
    ldbt_slot *old = NULL;
    for (size_t done = 0; done < nops; done += 100) {
        int big = done == 0;
        if (done >= nops / 2 && snap == NULL) {
            big = 1;
            snap = cairn_db_create_snapshot(db);
            if (snap == NULL)
                fail_msg("cairn_db_create_snapshot: %s", cairn_errmsg());
            old = malloc(r->nids * sizeof *old);
            assert_non_null(old);
            memcpy(old, r->m, r->nids * sizeof *old);
        }
        ldbt_workload(r, &w, 100, big);
        ldbt_watch_tables(db, &t);
    }
    cairn_batch_destroy(w.cb);
    ldbt_levels(NULL, db, n);
    print_message("  cairn flushes seen at level 0: %zu\n", t.nflushed);
    if (t.nflushed < 4)
        fail_msg("config %s, seed %llu: cairn wrote %zu operations under a "
                 "%u-byte write buffer but only %zu level-0 tables appeared",
                 r->cfg->name, (unsigned long long)r->seed, nops, CAIRN_BUFFER,
                 t.nflushed);

    /* Every key changed after the snapshot, and a sample of the others,
     * must still read as it was; so must a full scan. */
    cairn_readoptions *sro = cairn_readoptions_create();
    assert_non_null(sro);
    assert_int_equal(cairn_readoptions_set_snapshot(sro, snap), 0);
    ldbt_reader srd = {.who = "cairn (snapshot)", .cdb = db, .cro = sro};
    size_t changed = 0;
    for (size_t id = 0; id < r->nids; id++) {
        int diff =
            old[id].state != r->m[id].state || old[id].gen != r->m[id].gen;
        changed += diff;
        if (diff || id % 16 == 0)
            ldbt_expect_get(r, &srd, old, id, 0);
    }
    assert_true(changed >= nops / 4);
    ldbt_scan(r, &srd, old, 0);
    cairn_readoptions_destroy(sro);
    cairn_db_release_snapshot(db, snap);
    free(old);

    ldbt_verify(r, &rd, 1, nseeks);
    cairn_readoptions_destroy(ro);
    compat_cairn_ok(cairn_db_close(db), "cairn_db_close");
}

void ldbt_run_config(const ldbt_config *cfg)
{
    ldbt_run r = {.cfg = cfg};
    char seedname[64];
    snprintf(seedname, sizeof seedname, "leveldb_tables/%s", cfg->name);
    r.seed = tu_seed(seedname);
    tu_rng_init(&r.rng, r.seed);
    double scale = tu_scale() * cfg->size;
    r.target = (size_t)(100000 * scale);
    if (r.target < 4000)
        r.target = 4000;
    r.nids = r.target + r.target / 4;
    size_t nops = (size_t)(6000 * scale), nseeks = (size_t)(3000 * scale);
    nops = nops < 3000 ? 3000 : nops;
    nseeks = nseeks < 300 ? 300 : nseeks;
    r.m = calloc(r.nids, sizeof *r.m);
    r.perm = malloc(r.nids * sizeof *r.perm);
    r.vbuf = malloc(BIG_MAX);
    r.ebuf = malloc(BIG_MAX);
    assert_true(r.m && r.perm && r.vbuf && r.ebuf);
    for (size_t i = 0; i < r.nids; i++)
        r.perm[i] = (uint32_t)i;
    for (size_t i = r.nids - 1; i > 0; i--) {
        size_t j = (size_t)tu_rng_uniform(&r.rng, i + 1);
        uint32_t t = r.perm[i];
        r.perm[i] = r.perm[j];
        r.perm[j] = t;
    }
    char *dir = tu_tempdir("ldb-tables");

    leveldb_writes(&r, dir, nseeks);
    assert_true(r.next_new >= r.target);
    if (cfg->sst)
        assert_true(ldbt_rename_tables(dir) > 0);
    cairn_reads_and_writes(&r, dir, nops, nseeks);

    ldbt_session s;
    ldbt_ldb_open(&s, cfg, dir, 0);
    ldbt_reader rd = {.who = "LevelDB (after cairn)", .ldb = s.db, .lro = s.ro};
    ldbt_verify(&r, &rd, 1, nseeks);
    ldbt_ldb_close(&s);

    tu_rmtree(dir);
    free(dir);
    free(r.m);
    free(r.perm);
    free(r.vbuf);
    free(r.ebuf);
}

static void test_tables(void **state)
{
    ldbt_run_config(*state);
}

int ldbt_run_tests(const ldbt_config *configs, size_t n)
{
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    assert_non_null(tests);
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){configs[i].name, test_tables, NULL, NULL,
                                       (void *)&configs[i]};
    int failed = _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
    free(tests);
    return failed;
}
