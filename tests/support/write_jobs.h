/*
 * write_jobs.h: writers on their own threads against a database on a gate
 * env (gate_env.h), for the write-path tests (tests/db/test_group_commit.c,
 * test_group_combining.c, test_batch_wait.c): each job is one
 * cairn_db_write call whose result is collected by join_job, and
 * wait_queued reads the write queue's length under its lock, so tests
 * reach queue states without sleeping and guessing. Failures abort the
 * test (cmocka asserts).
 */
#ifndef CAIRN_TEST_WRITE_JOBS_H
#define CAIRN_TEST_WRITE_JOBS_H

#include "cairn.h"
#include "gate_env.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define DBNAME "/db"

/* Opens (creating) DBNAME on g with opt, without an info log. */
cairn_db *open_db(gate_env *g, cairn_options *opt);
/* Writers linked into the write queue now (leader included). */
size_t queued(cairn_db *db);
void sleep_ms(int ms);
/* Waits until n writers are linked into the queue (leader included). */
void wait_queued(cairn_db *db, size_t n);

typedef struct job {
    cairn_db *db;
    cairn_batch *b;
    int sync, no_slowdown;
    pthread_t th;
    int rc;
    atomic_int done; /* Atomic: rc and msg are published with it */
    char msg[256];
} job;

/* A batch of puts "key=value" for each key in the comma-separated list,
 * with values of vlen bytes. */
cairn_batch *make_batch(const char *keys, size_t vlen);
/* Starts one cairn_db_write of b on a new thread. */
void start_job(job *j, cairn_db *db, cairn_batch *b, int sync, int no_slowdown);
/* Waits for the job's thread; its status. */
int join_job(job *j);
/* Waits up to ms milliseconds for a job to finish; 1 if it did. For "not
 * acknowledged yet" checks, which a wrong implementation can only fail. */
int job_done_within(job *j, int ms);

#endif
