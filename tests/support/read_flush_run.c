/*
 * read_flush_run.c: the writer thread and the run of the read-while-flush
 * test (read_flush.h). Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "read_flush.h"

#include "env/env.h"

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

/* ---------------------------------------------------------------------- */
/* The writer                                                              */

static void look_for_tables(rwf_shared *sh, uint64_t *max_table)
{
    cairn__strlist l = {NULL, 0};
    if (sh->env->ops->list(sh->env, sh->dir, &l) != 0)
        return;
    uint64_t max = *max_table;
    for (size_t i = 0; i < l.n; i++) {
        unsigned long long n;
        char ext[8];
        if (sscanf(l.names[i], "%llu.%7s", &n, ext) == 2 &&
            strcmp(ext, "ldb") == 0 && n > *max_table) {
            sh->tables_seen++;
            if (n > max)
                max = n;
        }
    }
    *max_table = max;
    cairn__strlist_fini(&l);
}

static void *writer_main(void *arg)
{
    rwf_shared *sh = arg;
    tu_rng rng;
    tu_rng_init(&rng, sh->seed);
    char *val = malloc(VAL_MAX);
    cairn_batch *b = cairn_batch_create();
    uint64_t end = rwf_now_ns() + sh->run_ns, max_table = 0;
    if (val == NULL || b == NULL) {
        rwf_fail_shared(sh, "writer: out of memory");
        goto out;
    }
    for (long n = 0; !atomic_load_explicit(&sh->stop, memory_order_relaxed);
         n++) {
        /* Run for the time given, and on until flushes wrote at least two
         * tables (what the check at the end needs), however slow this
         * machine is today: a slow disk under TSan once ended a run
         * after 512 writes and one table. The watchdog bounds it. */
        if (n % 64 == 0 && rwf_now_ns() >= end) {
            look_for_tables(sh, &max_table);
            if (sh->tables_seen >= 2)
                break;
        }
        uint32_t keys[MAX_BATCH], vers[MAX_BATCH];
        int nk = tu_rng_uniform(&rng, 5) == 0
                     ? 2 + (int)tu_rng_uniform(&rng, MAX_BATCH - 1)
                     : 1;
        for (int j = 0; j < nk; j++) {
            /* Distinct keys, so each gets exactly one new version. */
            int dup;
            do {
                keys[j] = (uint32_t)tu_rng_uniform(&rng, NKEYS);
                dup = 0;
                for (int i = 0; i < j; i++)
                    dup |= keys[i] == keys[j];
            } while (dup);
            vers[j] = atomic_load_explicit(&sh->started[keys[j]],
                                           memory_order_relaxed) +
                      1;
            /* Release: publishes nothing but the number itself; a reader
             * that sees version v in the database reads started >= v,
             * because this store precedes the write, which precedes the
             * reader's read through the database's mutex. */
            atomic_store_explicit(&sh->started[keys[j]], vers[j],
                                  memory_order_release);
        }
        char key[16];
        int rc;
        if (nk == 1) {
            size_t kl = rwf_make_key(key, keys[0]);
            rc = rwf_is_delete(keys[0], vers[0])
                     ? cairn_db_delete(sh->db, NULL, key, kl)
                     : cairn_db_put(sh->db, NULL, key, kl, val,
                                    rwf_make_value(val, keys[0], vers[0]));
        } else {
            rc = cairn_batch_clear(b);
            for (int j = 0; j < nk && rc == 0; j++) {
                size_t kl = rwf_make_key(key, keys[j]);
                rc = rwf_is_delete(keys[j], vers[j])
                         ? cairn_batch_delete(b, key, kl)
                         : cairn_batch_put(
                               b, key, kl, val,
                               rwf_make_value(val, keys[j], vers[j]));
            }
            if (rc == 0)
                rc = cairn_db_write(sh->db, NULL, b);
        }
        if (rc != 0) {
            rwf_fail_shared(sh, "writer: write %ld failed: %s (%s)", n,
                            cairn_errname(rc), cairn_errmsg());
            break;
        }
        for (int j = 0; j < nk; j++) {
            /* Release, paired with the readers' acquire loads of done[]:
             * publishes that this write (and its sequence number) is
             * complete, so a read that starts after the load sees it. */
            atomic_store_explicit(&sh->done[keys[j]], vers[j],
                                  memory_order_release);
        }
        atomic_fetch_add_explicit(&sh->writes, 1, memory_order_relaxed);
        if (n % 256 == 0)
            look_for_tables(sh, &max_table);
    }
    look_for_tables(sh, &max_table);
out:
    atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
    cairn_batch_destroy(b);
    free(val);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* The test                                                                */

static void open_db(rwf_shared *sh, int create)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, sh->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_block_size(o, 2048), 0);
    assert_int_equal(cairn_options_set_bloom_bits_per_key(o, 10), 0);
    int rc = cairn_db_open(o, sh->dir, &sh->db);
    cairn_options_destroy(o);
    if (rc != 0)
        fail_msg("open %s: %s (%s)", sh->dir, cairn_errname(rc),
                 cairn_errmsg());
}

/* Every key holds exactly its final version (or is absent if that is a
 * delete). */
static void check_final(rwf_shared *sh, const char *when)
{
    char *scratch = malloc(VAL_MAX);
    assert_non_null(scratch);
    for (uint32_t k = 0; k < NKEYS && sh->fail[0] == '\0'; k++) {
        uint32_t v = atomic_load(&sh->done[k]);
        void *val = NULL;
        size_t len = 0;
        int found = rwf_get_key(sh, when, NULL, k, &val, &len);
        if (found == 1)
            (void)rwf_check_value(sh, when, k, val, len, v, v, scratch);
        else if (found == 0 && v != 0 && !rwf_is_delete(k, v))
            rwf_fail_shared(sh,
                            "%s: key k%06" PRIu32 " absent, expected version "
                            "%" PRIu32,
                            when, k, v);
        cairn_free(val);
    }
    free(scratch);
    if (sh->fail[0] != '\0')
        fail_msg("%s (CAIRN_TEST_SEED=%" PRIu64 ")", sh->fail, sh->seed);
}

void rwf_run(const char *name, cairn_env *env, const char *dir, double seconds)
{
    rwf_shared *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    sh->seed = tu_seed(name);
    sh->env = env;
    sh->dir = dir;
    sh->run_ns = (uint64_t)(seconds * tu_scale() * 1e9);
    pthread_mutex_init(&sh->fail_mu, NULL);
    tu_watchdog_arm(120, name);
    open_db(sh, 1);

    rwf_reader rd[NREADERS];
    pthread_t writer;
    for (int i = 0; i < NREADERS; i++) {
        rd[i] = (rwf_reader){sh, i, 0};
        assert_int_equal(
            pthread_create(&rd[i].thread, NULL, rwf_reader_main, &rd[i]), 0);
    }
    assert_int_equal(pthread_create(&writer, NULL, writer_main, sh), 0);
    pthread_join(writer, NULL);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rd[i].thread, NULL);
    if (sh->fail[0] != '\0')
        fail_msg("%s: %s (CAIRN_TEST_SEED=%" PRIu64 ")", name, sh->fail,
                 sh->seed);
    fprintf(stderr,
            "%s: %ld writes, %ld gets, %ld snapshot rereads, %ld iterator "
            "entries, %ld tables seen\n",
            name, atomic_load(&sh->writes), atomic_load(&sh->gets),
            atomic_load(&sh->snap_checks), atomic_load(&sh->iter_entries),
            sh->tables_seen);

    check_final(sh, "after the run");
    assert_int_equal(cairn_db_close(sh->db), 0);
    open_db(sh, 0);
    check_final(sh, "after reopen");
    assert_int_equal(cairn_db_close(sh->db), 0);
    /* Reads raced flushes only if tables were written. */
    assert_true(sh->tables_seen >= 2);
    tu_watchdog_disarm();
    pthread_mutex_destroy(&sh->fail_mu);
    free(sh);
}
