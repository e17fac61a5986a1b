/*
 * group_log.h: observing write groups in the write-path tests
 * (tests/db/test_group_commit.c, test_group_combining.c). Each group is one
 * log record, a WriteBatch whose header holds the group's first sequence
 * and entry count; these helpers queue writers behind a leader held at the
 * gate env's flush gate, read every log record back, and check which
 * batches were merged, in which order, with consecutive sequences.
 * Failures abort the test (cmocka asserts).
 */
#ifndef CAIRN_TEST_GROUP_LOG_H
#define CAIRN_TEST_GROUP_LOG_H

#include "cairn.h"
#include "gate_env.h"
#include "write_jobs.h"

#include <stddef.h>
#include <stdint.h>

/* One put of key with a value sized so the batch encodes to `size` bytes. */
cairn_batch *gl_sized_batch(const char *key, size_t size);
/* Runs the standard scenario: jobs[0] leads and blocks at the gate, the
 * others queue behind it in order, then the gate opens. */
void gl_run_queued(gate_env *g, cairn_db *db, job *jobs, int n,
                   cairn_batch **batches, const int *sync);

typedef struct gl_record {
    uint64_t seq;
    uint32_t count;
    char keys[256]; /* the entries' keys, comma-separated, in order */
} gl_record;

/* Reads every record of every log in the database, oldest log first. */
size_t gl_read_logs(gate_env *g, gl_record *out, size_t cap);
/* Checks that the log's records, from the one holding want[0]'s keys on,
 * are exactly `want` (each a comma-separated key list), with consecutive
 * sequence numbers. */
void gl_expect_groups(gate_env *g, const char *const *want, size_t nwant);
void gl_destroy_batches(cairn_batch **b, int n);
/* The number after `label` in cairn.write-stats. */
uint64_t gl_write_stat(cairn_db *db, const char *label);

#endif
