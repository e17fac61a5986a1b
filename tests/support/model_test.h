/*
 * model_test.h: the randomized model test (LevelDB's "Randomized", made
 * stronger), run per configuration by tests/db/test_model*.c. Thousands of
 * random steps run against one database and, in lockstep, against a
 * model; every read is compared with the model.
 *
 * The model. Keys come from a small fixed table of NKEYS distinct keys
 * (the empty key among them, bytes drawn from 0x00, 0x01, 'a', 'b', 0x7f,
 * 0x80, 0xfe and 0xff, and many keys that extend another by one byte, so
 * prefixes and high bytes test the ordering), sorted bytewise once. A
 * state of the database is then an array giving, for each key of the
 * table, the id of the value it holds (0: absent): a sorted array of
 * (key, value) pairs in effect. A snapshot's model is a copy of it. Value
 * ids are unique per put; the bytes of value id are a pure function of
 * (seed, id), so a value is regenerated to compare instead of stored.
 * Values of 5 bytes or more start with 'V' and the id, so a wrong value in
 * a failure message can be named; sizes run from empty through a few bytes
 * and kilobytes to over 32 KiB (a record spanning log blocks), half of
 * them compressible.
 *
 * Steps: put, delete, a batch of puts and deletes (often naming one key
 * twice), get, create and release a snapshot, get at a snapshot, a full
 * scan forward or backward at the current state or a snapshot, a walk
 * (seek to a key of the table or a random one, then random next/prev with
 * direction changes, reseeking after falling off an end), and a stable
 * scan: an iterator is created, writes (and the flushes they cause) go on,
 * then the iterator must still show the state of its creation. Every few
 * hundred steps the database is closed (snapshots released first) and
 * reopened, and checked whole.
 *
 * The database lives in the in-memory env with a 64 KiB write buffer and
 * 1 KiB blocks, so flushes to tables happen every few dozen steps and
 * reads cross memtables, immutable memtables and many level-0 tables. At
 * the end of each run the test asserts that tables were really written.
 *
 * On a mismatch the message names the configuration, the seed (replay
 * with CAIRN_TEST_SEED), the step, the operation, the key, and the
 * expected and received values. Everything below the configuration is
 * shared between the files of the test (model_*.c); a test program needs
 * only mdl_config and mdl_run_tests.
 */
#ifndef CAIRN_TEST_MODEL_TEST_H
#define CAIRN_TEST_MODEL_TEST_H

#include "cairn.h"

#include "testutil.h"

#include <stddef.h>
#include <stdint.h>

/* A run's options: compression and bloom bits per key. */
typedef struct mdl_config {
    const char *name; /* the cmocka test's name, and the seed's */
    int compression, bloom;
} mdl_config;

/* Runs the model test once per configuration, as one cmocka test each;
 * cmocka's result (a test program's main). */
int mdl_run_tests(const mdl_config *configs, size_t n);

/* ---- Shared by the model test's files -------------------------------- */

#define NKEYS     96
#define KEY_MAX   10
#define MAX_SNAPS 6
#define VAL_MAX   (40 * 1024)
#define MAX_BATCH 8

typedef struct mdl_key {
    unsigned char b[KEY_MAX];
    size_t len;
} mdl_key;

/* One state of the database: the value id of each key of the table. */
typedef struct mdl_state {
    uint32_t v[NKEYS];
} mdl_state;

typedef struct mdl_snap {
    const cairn_snapshot *snap;
    mdl_state m;
} mdl_snap;

typedef struct mdl_run {
    const char *cfg;
    uint64_t seed;
    tu_rng rng;
    cairn_env *env;
    cairn_options *opt;
    cairn_db *db;
    mdl_key keys[NKEYS]; /* sorted bytewise, distinct */
    mdl_state cur;
    mdl_snap snaps[MAX_SNAPS];
    int nsnaps;
    uint32_t next_id;
    long step;
    const char *op;
    unsigned char *val; /* scratch for expected values */
    long reopens, checks;
    uint64_t max_table; /* highest table number seen */
    long tables_seen;
} mdl_run;

/* Fills the key table: the empty key, random keys, and one-byte
 * extensions of others; sorted. */
void mdl_make_keys(mdl_run *r);
/* Fails the test with the configuration, seed, step and operation first. */
void mdl_fail_at(const mdl_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One random write (put, delete or batch, synced through sync or not),
 * applied to the model. */
void mdl_random_write(mdl_run *r, cairn_writeoptions *sync);

/* Gets k (table index idx, or -1 for a key outside the table) through ro
 * and compares with m. */
void mdl_check_get(mdl_run *r, const cairn_readoptions *ro, const mdl_state *m,
                   const void *k, size_t klen, int idx);
/* A full scan of it, forward or backward, against m. */
void mdl_check_scan(mdl_run *r, cairn_iter *it, const mdl_state *m,
                    int backward);
/* A probe key: from the table (idx set) or random (idx -1 unless it
 * happens to be in the table). */
void mdl_probe_key(mdl_run *r, mdl_key *k, int *idx);
/* Picks the view of a read: the current state, or a live snapshot (set
 * in ro); returns its model. */
const mdl_state *mdl_pick_view(mdl_run *r, cairn_readoptions *ro);
/* Seeks to a random key (or an end), then walks with random next/prev. */
void mdl_walk(mdl_run *r, cairn_readoptions *ro);

#endif
