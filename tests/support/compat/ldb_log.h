/*
 * ldb_log.h: the model, writers and readers of the log-level
 * compatibility tests with LevelDB 1.23 (tests/compat/test_leveldb_log.c,
 * test_leveldb_log_bytes.c). Only the compat tests link it.
 *
 * The expected state is an in-memory model (a sorted array of key -> value
 * or deleted, in LevelDB's bytewise order) that a target, a writer on
 * either engine, updates alongside each write. Both engines open with
 * paranoid checks, so a damaged log record fails the open instead of being
 * skipped, and LevelDB with a 256 MiB write buffer, so that the data stays
 * in its log (it still turns its logs into a table whenever it reopens a
 * database: ldbl_assert_no_tables checks the hand-over precondition).
 * Failures abort the test (cmocka asserts).
 */
#ifndef CAIRN_TEST_LDB_LOG_H
#define CAIRN_TEST_LDB_LOG_H

#include "cairn.h"

#include <leveldb/c.h>

#include <stddef.h>

/* The model: entries sorted in LevelDB's bytewise order. */
typedef struct ldbl_entry {
    unsigned char *key, *val;
    size_t klen, vlen;
    int live;
} ldbl_entry;

typedef struct ldbl_model {
    ldbl_entry *e;
    size_t n, cap;
} ldbl_model;

/* Sets key to a value (live) or to deleted. */
void ldbl_model_set(ldbl_model *m, const void *k, size_t kl, const void *v,
                    size_t vl, int live);
void ldbl_model_fini(ldbl_model *m);

/* A writer, LevelDB or cairn, that keeps the model in step. */
typedef struct ldbl_target {
    int is_cairn;
    ldbl_model *m;
    leveldb_t *ldb;
    leveldb_writeoptions_t *lwo;
    leveldb_writebatch_t *lb;
    cairn_db *cdb;
    cairn_writeoptions *cwo;
    cairn_batch *cb;
} ldbl_target;

/* Opens the database in dir with cairn (paranoid checks). */
cairn_db *ldbl_cdb_open(const char *dir, int create);
/* Opens dir with cairn or LevelDB, writes synced or not. */
void ldbl_target_open(ldbl_target *t, ldbl_model *m, int is_cairn,
                      const char *dir, int create, int sync);
void ldbl_target_close(ldbl_target *t);
/* A put (live) or delete, alone or appended to the target's open batch. */
void ldbl_t_op(ldbl_target *t, int in_batch, const void *k, size_t kl,
               const void *v, size_t vl, int live);
/* Writes the open batch. */
void ldbl_t_commit(ldbl_target *t);

/* Every model key through cairn_db_get. */
void ldbl_verify_cairn(const char *dir, const ldbl_model *m);
/* Every model key through leveldb_get, then the whole database forwards
 * and backwards: exactly the live keys, in order, with their values. */
void ldbl_verify_leveldb(const char *dir, const ldbl_model *m);

/* How many names in dir end in suffix, and the highest leading number
 * among them (for "NNNNNN.log"). */
int ldbl_count_suffix(const char *dir, const char *suffix, unsigned long *hi);
/* The hand-over precondition: LevelDB left no table for cairn to read. */
void ldbl_assert_no_tables(const char *dir);

#endif
