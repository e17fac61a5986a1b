/*
 * fault_db.h: databases on the fault env over a memory env, and the checks
 * of what they hold and which files they keep, for the compaction fault
 * tests (tests/crash/test_compaction_faults.c, test_compaction_nospc.c).
 *
 * Keys are "key0000".."key0299"; a value names its id ("v<id>|" and
 * padding derived from id), so a model (an id per key, 0 for absent) says
 * exactly what every get and scan must return. File checks replay the
 * on-disk MANIFEST (the one CURRENT names) record by record, as recovery
 * would. Failures abort the test (cmocka asserts) and name fdb_seed.
 */
#ifndef CAIRN_TEST_FAULT_DB_H
#define CAIRN_TEST_FAULT_DB_H

#include "cairn.h"

#include <stddef.h>
#include <stdint.h>

#define FDB_NKEYS   300
#define FDB_VAL_MAX 400

/* The seed named in failure messages; the test sets it. */
extern uint64_t fdb_seed;

/* Key k into buf (16 bytes); its length. */
size_t fdb_make_key(char *buf, int k);
/* The value of id into buf (FDB_VAL_MAX bytes); its length. */
size_t fdb_make_value(char *buf, uint32_t id);

/* The value id of every key, 0 for absent. */
typedef struct fdb_model {
    uint32_t v[FDB_NKEYS];
} fdb_model;

/* 1 if the database holds exactly m (gets and a forward scan); else 0,
 * with the first difference in why. */
int fdb_db_equals(cairn_db *db, const fdb_model *m, char *why, size_t cap);

/* A memory env and a fault env over it. */
typedef struct fdb_envs {
    cairn_env *mem, *fault;
} fdb_envs;

fdb_envs fdb_envs_create(void);
void fdb_envs_destroy(fdb_envs *e);
/* Opens (creating) /db on env with a 64 KiB write buffer and 1 KiB
 * blocks; *db is NULL if the open failed. */
int fdb_open_db(cairn_env *env, cairn_db **db);

/* Table numbers: what a MANIFEST or a running version names. */
typedef struct fdb_manifest {
    uint64_t number, log_number, prev_log;
    uint64_t tables[512];
    size_t ntables;
} fdb_manifest;

/* The tables of a handle's current version ("cairn.sstables" lines read
 * " <number>:<size>[...]"), into v->tables. */
void fdb_version_tables(cairn_db *db, fdb_manifest *v);
/* Checks that every table the MANIFEST (and live, the tables of a running
 * version, if not NULL) names exists; returns the number of files the
 * directory holds beyond what they name, listed in list. A table only the
 * running version names is not extra: when a MANIFEST record is written
 * but its flush or sync fails, the record already names the outputs while
 * the running version still reads the inputs, and both must stay until a
 * reopen decides. */
int fdb_check_files(cairn_env *env, const fdb_manifest *live, const char *label,
                    const char *when, char *list, size_t cap);

/* Checks what db holds after recovery; when says at which point. */
typedef void fdb_check_fn(cairn_db *db, const char *when, const char *label,
                          const void *ctx);
/* An fdb_check_fn: db must hold exactly the fdb_model ctx. */
void fdb_expect_model(cairn_db *db, const char *when, const char *label,
                      const void *ctx);
/* Reopens with a healthy env and checks recovery: the open succeeds, the
 * contents pass check (ctx passed on) before and after a compaction of
 * everything, a synced put is accepted, and after close no obsolete file
 * survives. */
void fdb_recover(fdb_envs *e, fdb_check_fn *check, const void *ctx,
                 const char *label);

#endif
