/*
 * write_jobs.c: see write_jobs.h. Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "write_jobs.h"

#include "db/db_impl.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

cairn_db *open_db(gate_env *g, cairn_options *opt)
{
    assert_int_equal(cairn_options_set_create_if_missing(opt, 1), 0);
    assert_int_equal(cairn_options_set_info_log(opt, 0), 0);
    assert_int_equal(cairn_options_set_env(opt, &g->env), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(opt, DBNAME, &db);
    if (rc != 0)
        fail_msg("open: %s", cairn_errmsg());
    return db;
}

size_t queued(cairn_db *db)
{
    cairn__mutex_lock(&db->wq_mu);
    size_t n = db->wq_count;
    cairn__mutex_unlock(&db->wq_mu);
    return n;
}

void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until n writers are linked into the queue (leader included). */
void wait_queued(cairn_db *db, size_t n)
{
    while (queued(db) < n)
        sleep_ms(1);
}

static void *job_main(void *p)
{
    job *j = p;
    cairn_writeoptions *wo = cairn_writeoptions_create();
    if (wo == NULL) {
        j->rc = CAIRN_NOMEM;
    } else {
        (void)cairn_writeoptions_set_sync(wo, j->sync);
        (void)cairn_writeoptions_set_no_slowdown(wo, j->no_slowdown);
        j->rc = cairn_db_write(j->db, wo, j->b);
        snprintf(j->msg, sizeof j->msg, "%s", cairn_errmsg());
        cairn_writeoptions_destroy(wo);
    }
    atomic_store_explicit(&j->done, 1, memory_order_release);
    return NULL;
}

/* A batch of puts "key=value" for each key in the comma-separated list,
 * with values of vlen bytes. */
cairn_batch *make_batch(const char *keys, size_t vlen)
{
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    char *val = malloc(vlen + 1);
    assert_non_null(val);
    memset(val, 'v', vlen);
    const char *p = keys;
    while (*p) {
        size_t n = strcspn(p, ",");
        assert_int_equal(cairn_batch_put(b, p, n, val, vlen), 0);
        p += n + (p[n] == ',');
    }
    free(val);
    return b;
}

void start_job(job *j, cairn_db *db, cairn_batch *b, int sync, int no_slowdown)
{
    memset(j, 0, sizeof *j);
    j->db = db;
    j->b = b;
    j->sync = sync;
    j->no_slowdown = no_slowdown;
    atomic_init(&j->done, 0);
    assert_int_equal(pthread_create(&j->th, NULL, job_main, j), 0);
}

int join_job(job *j)
{
    pthread_join(j->th, NULL);
    return j->rc;
}

int job_done_within(job *j, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (atomic_load_explicit(&j->done, memory_order_acquire))
            return 1;
        sleep_ms(1);
    }
    return atomic_load_explicit(&j->done, memory_order_acquire);
}
