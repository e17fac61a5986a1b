/*
 * gate_env.h: a test env whose gates stop log flushes and log syncs on
 * demand, so write-path tests (tests/db/test_group_commit.c,
 * test_batch_wait.c) reach queue states by construction, not by timing.
 *
 * It wraps a private memory env (gate_env_create), or one the test owns
 * (gate_env_over: a fault env, so that a power cut can fall while a call
 * waits at a gate; the gates hold a call before it reaches the inner
 * env, so they never hold the fault env's lock). Every *.log file's flush()
 * (one per log record) passes the GATE_FLUSH gate and its sync_flushed()
 * (offered only when the env is created "pipelined") passes the GATE_SYNC gate;
 * its sync() (a group's sync when not pipelined, and the sync of the old log
 * after a memtable switch) passes the GATE_LOGSYNC gate; every
 * written table file's (*.ldb) sync() passes the GATE_TABLE gate, so a
 * flush or compaction can be held just before its table is done. Calls
 * are numbered in arrival order and call n waits while n >= the gate's
 * limit.
 * All gates start open. Failures abort the test (cmocka asserts).
 */
#ifndef CAIRN_TEST_GATE_ENV_H
#define CAIRN_TEST_GATE_ENV_H

#include "cairn.h"
#include "env/env.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define GATE_FLUSH   0
#define GATE_SYNC    1
#define GATE_TABLE   2
#define GATE_LOGSYNC 3
#define GATES        4

typedef struct gate_env {
    cairn_env env;    /* first: what the database is given */
    cairn_env *inner; /* the memory env (owned), or the test's */
    int owns_inner;
    const cairn__file_ops *log_ops;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on every change below */
    /* Locked: mu. The gates: GATE_FLUSH for log flushes (one per record),
     * GATE_SYNC for sync_flushed of a log, GATE_TABLE for syncs of table
     * files. Calls are numbered from 0 in the order they reach a gate;
     * number n waits while n >= limit. */
    uint64_t tickets[GATES], limit[GATES];
    int blocked[GATES]; /* Locked: mu; threads waiting at each gate */
    atomic_int syncs;   /* Atomic: sync and sync_flushed calls on logs */
    /* Locked: mu. The call holding this ticket number of GATE_FLUSH,
     * GATE_SYNC or GATE_LOGSYNC fails with CAIRN_IO after passing the gate
     * (UINT64_MAX: none). */
    uint64_t fail_at[GATES];
} gate_env;

/* A gate env over a new memory env; pipelined: log files offer
 * sync_flushed (the engine then pipelines sync groups). */
gate_env *gate_env_create(int pipelined);
/* A gate env over inner, which must outlive it and is not destroyed with
 * it. A log's sync_flushed is passed on to inner if it offers one. */
gate_env *gate_env_over(cairn_env *inner, int pipelined);
void gate_env_destroy(gate_env *g);
/* Makes the next call at gate k and every later one block. */
void gate_close(gate_env *g, int k);
/* Lets n more calls through gate k. */
void gate_let(gate_env *g, int k, uint64_t n);
void gate_open(gate_env *g, int k);
/* Waits until n threads wait at gate k. */
void gate_wait_blocked(gate_env *g, int k, int n);
/* 1 if path names a log file (NNNNNN.log), which the gates apply to. */
int gate_is_log(const char *path);
/* Makes the call with ticket number n (counted from 0 since the env was
 * created) at gate k (GATE_FLUSH, GATE_SYNC or GATE_LOGSYNC) fail with
 * CAIRN_IO. */
void gate_fail(gate_env *g, int k, uint64_t n);
/* Calls that have reached gate k so far (the next call's ticket). */
uint64_t gate_tickets(gate_env *g, int k);
/* Threads waiting at gate k now. */
int gate_blocked(gate_env *g, int k);
/* Waits until n calls in all have reached gate k. */
void gate_wait_tickets(gate_env *g, int k, uint64_t n);

#endif
