/*
 * model_run.c: the model test's runs: open, reopen, snapshots and the
 * random walk of steps (model_test.h). Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "model_test.h"

#include "env/env.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Open, reopen, snapshots                                                 */

static void release_snapshot(mdl_run *r, int i)
{
    cairn_db_release_snapshot(r->db, r->snaps[i].snap);
    r->snaps[i] = r->snaps[--r->nsnaps];
}

static void open_db(mdl_run *r)
{
    int rc = cairn_db_open(r->opt, "/model", &r->db);
    if (rc != 0)
        mdl_fail_at(r, "open failed: %s (%s)", cairn_errname(rc),
                    cairn_errmsg());
}

/* Closes (releasing every snapshot first), reopens and checks it all. */
static void reopen(mdl_run *r)
{
    r->op = "reopen";
    while (r->nsnaps > 0)
        release_snapshot(r, r->nsnaps - 1);
    int rc = cairn_db_close(r->db);
    r->db = NULL;
    if (rc != 0)
        mdl_fail_at(r, "close failed: %s (%s)", cairn_errname(rc),
                    cairn_errmsg());
    open_db(r);
    r->reopens++;
    cairn_iter *it = cairn_db_iter_create(r->db, NULL);
    assert_non_null(it);
    mdl_check_scan(r, it, &r->cur, 0);
    mdl_check_scan(r, it, &r->cur, 1);
    cairn_iter_destroy(it);
    for (int i = 0; i < NKEYS; i++)
        mdl_check_get(r, NULL, &r->cur, r->keys[i].b, r->keys[i].len, i);
}

/* Counts table files that appeared since the last call (table numbers
 * only grow, so a number above every one seen is new). Tables may be
 * compacted away between two looks, so this undercounts; it only has to
 * show that tables are written at all. */
static void look_for_tables(mdl_run *r)
{
    cairn__strlist l = {NULL, 0};
    assert_int_equal(r->env->ops->list(r->env, "/model", &l), 0);
    uint64_t max = r->max_table;
    for (size_t i = 0; i < l.n; i++) {
        unsigned long long n;
        char ext[8];
        if (sscanf(l.names[i], "%llu.%7s", &n, ext) == 2 &&
            strcmp(ext, "ldb") == 0 && n > r->max_table) {
            r->tables_seen++;
            if (n > max)
                max = n;
        }
    }
    r->max_table = max;
    cairn__strlist_fini(&l);
}

/* ---------------------------------------------------------------------- */
/* The random walk of steps                                                */

static void one_step(mdl_run *r, cairn_readoptions *ro,
                     cairn_writeoptions *sync)
{
    unsigned p = (unsigned)tu_rng_uniform(&r->rng, 100);
    mdl_key k;
    int idx;
    if (p < 40) {
        mdl_random_write(r, sync);
        look_for_tables(r);
    } else if (p < 58) {
        r->op = "get";
        mdl_probe_key(r, &k, &idx);
        mdl_check_get(r, NULL, &r->cur, k.b, k.len, idx);
    } else if (p < 61) {
        r->op = "create snapshot";
        if (r->nsnaps < MAX_SNAPS) {
            mdl_snap *s = &r->snaps[r->nsnaps];
            s->snap = cairn_db_create_snapshot(r->db);
            assert_non_null(s->snap);
            s->m = r->cur;
            r->nsnaps++;
        }
    } else if (p < 64) {
        r->op = "release snapshot";
        if (r->nsnaps > 0)
            release_snapshot(r,
                             (int)tu_rng_uniform(&r->rng, (uint64_t)r->nsnaps));
    } else if (p < 74) {
        r->op = "get at a snapshot";
        const mdl_state *m = mdl_pick_view(r, ro);
        mdl_probe_key(r, &k, &idx);
        mdl_check_get(r, ro, m, k.b, k.len, idx);
    } else if (p < 80) {
        /* A full scan; in a stable scan the iterator must keep its view
         * while writes (and the flushes they cause) go on. */
        const mdl_state *m = mdl_pick_view(r, ro);
        cairn_iter *it = cairn_db_iter_create(r->db, ro);
        assert_non_null(it);
        mdl_state then = *m;
        int n = p < 77 ? 0 : 1 + (int)tu_rng_uniform(&r->rng, 30);
        for (int j = 0; j < n; j++)
            mdl_random_write(r, sync);
        r->op = n ? "stable scan" : "scan";
        mdl_check_scan(r, it, &then, (int)tu_rng_uniform(&r->rng, 2));
        cairn_iter_destroy(it);
    } else {
        r->op = "walk";
        mdl_walk(r, ro);
    }
}

static void test_model(void **state)
{
    const mdl_config *c = *state;
    uint64_t seed = tu_seed(c->name);
    mdl_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->cfg = c->name;
    r->seed = seed;
    r->next_id = 1;
    r->op = "open";
    tu_rng_init(&r->rng, seed);
    r->val = malloc(VAL_MAX);
    assert_non_null(r->val);
    mdl_make_keys(r);
    r->env = cairn_env_mem_create();
    assert_non_null(r->env);
    cairn_options *o = r->opt = cairn_options_create();
    assert_non_null(o);
    /* Each setter returns 0 or a negative code, so any failure shows. */
    int rc = cairn_options_set_env(o, r->env) |
             cairn_options_set_create_if_missing(o, 1) |
             cairn_options_set_write_buffer_size(o, 64 * 1024) |
             cairn_options_set_block_size(o, 1024) |
             cairn_options_set_block_restart_interval(
                 o, 1 + (int)tu_rng_uniform(&r->rng, 16)) |
             cairn_options_set_compression(o, c->compression) |
             cairn_options_set_bloom_bits_per_key(o, c->bloom);
    assert_int_equal(rc, 0);
    cairn_readoptions *ro = cairn_readoptions_create();
    cairn_writeoptions *sync = cairn_writeoptions_create();
    assert_non_null(ro);
    assert_non_null(sync);
    assert_int_equal(cairn_writeoptions_set_sync(sync, 1), 0);
    open_db(r);

    long steps = (long)(4000 * tu_scale());
    if (steps < 600)
        steps = 600;
    long next_reopen = 200 + (long)tu_rng_uniform(&r->rng, 300);
    for (r->step = 1; r->step <= steps; r->step++) {
        if (r->step == next_reopen) {
            reopen(r);
            next_reopen += 200 + (long)tu_rng_uniform(&r->rng, 300);
            continue;
        }
        one_step(r, ro, sync);
    }
    reopen(r);
    /* Without flushes this test would not test what it claims. */
    look_for_tables(r);
    fprintf(stderr,
            "[%s] %ld steps, %" PRIu32 " values, %ld reopens, %ld checks, "
            "%ld tables seen\n",
            c->name, steps, r->next_id - 1, r->reopens, r->checks,
            r->tables_seen);
    assert_true(r->tables_seen >= 3);

    assert_int_equal(cairn_db_close(r->db), 0);
    cairn_readoptions_destroy(ro);
    cairn_writeoptions_destroy(sync);
    cairn_options_destroy(r->opt);
    cairn_env_destroy(r->env);
    free(r->val);
    free(r);
}

int mdl_run_tests(const mdl_config *configs, size_t n)
{
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    assert_non_null(tests);
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){.name = configs[i].name,
                                       .test_func = test_model,
                                       .initial_state = (void *)&configs[i]};
    int failed = _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
    free(tests);
    return failed;
}
