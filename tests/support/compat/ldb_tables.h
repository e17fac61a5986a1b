/*
 * ldb_tables.h: the table-level compatibility scenario with LevelDB 1.23
 * (Debian's libleveldb, through its C API), run once per configuration by
 * tests/compat/test_leveldb_tables*.c. Only the compat tests link it.
 *
 * One run (ldbt_run_config), for a configuration of compression, Bloom
 * filter, table names and size:
 *   1. LevelDB writes at least 100,000 new keys (values of 10..300 bytes,
 *      some empty, a few over 32 KiB) with overwrites, deletes and write
 *      batches, under a 256 KiB write buffer and 1 MiB tables. Its own view
 *      (gets, both scans, seeks) must equal the model, so both engines are
 *      checked against one truth. It writes more until its properties show
 *      files on at least two levels >= 1, compacts part of the key range by
 *      hand and writes a little more, so that the last writes are only in
 *      its log when it closes; a last scan both ways must equal the model.
 *      With sst set, every table then gets the legacy .sst name.
 *   2. cairn opens the directory with the same compression and filter and
 *      must see files on at least two levels >= 1; every key read with
 *      cairn_db_get, a forward and a backward scan, and random seeks (to
 *      keys, to gaps between keys, to proper prefixes of keys, seek_last)
 *      each followed by up to six next/prev steps must equal the model.
 *   3. cairn writes more under a 64 KiB write buffer (new keys, overwrites
 *      of LevelDB's keys, deletes, batches), and at least four of its
 *      flushes must be seen at level 0; a snapshot taken half-way must
 *      still read the older state (every key changed since, a sample of
 *      the rest, a full scan), and the current state must read as in 2.
 *   4. cairn closes, LevelDB opens (with paranoid checks and checksum
 *      verification) and must read exactly the combined model, by get of
 *      every key, both scans and seeks.
 * Both engines compact in the background while this runs (reads charge
 * seeks too), so level counts are checked only where they are stable:
 * LevelDB's just before it closes, cairn's just after it opens.
 *
 * Why the workload has this shape: the first 40% of LevelDB's new keys are
 * written in ascending order, so their flushes overlap nothing and LevelDB
 * places them straight at level 2 (PickLevelForMemTableOutput); the random
 * writes after that land at levels 0 and 1 and compaction moves them on.
 * That yields several levels at any CAIRN_TEST_SCALE, not only when the
 * data outgrows level 1's 10 MiB.
 *
 * Keys: key id i (0 .. nids-1) is 'k', then i * 1000003 as 6 bytes big
 * endian, then 5..13 bytes hashed from (seed, i): 12..20 bytes holding every
 * byte value, whose bytewise order is the order of the ids. key(i) + "\0"
 * and the 7-byte prefix of key(i) are absent keys right after and right
 * before key(i). The model keeps per id a state and the generation and
 * length of the last value put; values are rebuilt from (seed, id, gen), so
 * checking needs no stored copies. Half the values are random bytes, half a
 * repeated phrase, so Snappy keeps some blocks compressed and not others.
 *
 * Failures name the configuration, the seed (CAIRN_TEST_SEED replays it),
 * the key in hex and the expected and received values. Everything below
 * the configuration is shared between the files of this scenario
 * (ldb_tables_*.c); a test needs only ldbt_config and ldbt_run_tests.
 */
#ifndef CAIRN_TEST_LDB_TABLES_H
#define CAIRN_TEST_LDB_TABLES_H

#include "cairn.h"

#include <leveldb/c.h>

#include "compat_util.h"
#include "testutil.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ldbt_config {
    const char *name;
    int snappy, bloom, sst;
    double size; /* share of the full workload */
} ldbt_config;

/* Runs the scenario for cfg: a cmocka test body (failures abort it). */
void ldbt_run_config(const ldbt_config *cfg);
/* Runs the scenario for each of the n configurations, as one cmocka test
 * each named after it; cmocka's result (a test program's main). */
int ldbt_run_tests(const ldbt_config *configs, size_t n);

/* ---- Shared by the scenario's files ---------------------------------- */

#define NLEVELS      7
#define KEY_CAP      24
#define BIG_MAX      80000u
#define LDB_BUFFER   (256u * 1024u)
#define LDB_FILE     (1024u * 1024u)
#define CAIRN_BUFFER (64u * 1024u)
#define NONE         SIZE_MAX

enum { NEVER = 0, LIVE = 1, DEAD = 2 };

typedef struct ldbt_slot {
    uint32_t gen, vlen;
    uint8_t state;
} ldbt_slot;

typedef struct ldbt_run {
    const ldbt_config *cfg;
    uint64_t seed;
    tu_rng rng;
    size_t nids;     /* key ids are 0 .. nids-1 */
    size_t target;   /* new keys LevelDB must write */
    ldbt_slot *m;    /* the model, indexed by key id */
    uint32_t *perm;  /* ids in the order they are first written */
    size_t next_new; /* perm[0 .. next_new) have been written */
    uint32_t gen;
    unsigned char *vbuf, *ebuf; /* value being written / being expected */
} ldbt_run;

/* Key id into k (KEY_CAP bytes); its length. */
size_t ldbt_make_key(const ldbt_run *r, size_t id, unsigned char *k);
/* The value of id at generation gen, vlen bytes into out. */
void ldbt_make_value(const ldbt_run *r, size_t id, uint32_t gen, uint32_t vlen,
                     unsigned char *out);

/* Writers: LevelDB (ldb, lwo, lb) or cairn (cdb, cb), keeping the model in
 * step. */
typedef struct ldbt_writer {
    leveldb_t *ldb;
    leveldb_writeoptions_t *lwo;
    leveldb_writebatch_t *lb;
    cairn_db *cdb;
    cairn_batch *cb;
    int in_batch;
} ldbt_writer;

/* A put (live) of a new generation of id, or a delete. */
void ldbt_w_write(ldbt_run *r, ldbt_writer *w, size_t id, int live,
                  uint32_t vlen);
/* A value length: more than 32 KiB when big (and one put in 3000), empty
 * one time in 40, else 10..300 bytes. */
uint32_t ldbt_value_len(ldbt_run *r, int big);
/* nops operations, one in ten starting a batch of 2..41; with big, the
 * first batch and the first single put carry values of more than 32 KiB. */
void ldbt_workload(ldbt_run *r, ldbt_writer *w, size_t nops, int big);
/* qsort order of uint32_t. */
int ldbt_cmp_u32(const void *a, const void *b);

/* Readers: the same checks through either engine (cdb and cro, or ldb and
 * lro); who names it in failures. */
typedef struct ldbt_reader {
    const char *who;
    cairn_db *cdb;
    cairn_readoptions *cro;
    leveldb_t *ldb;
    leveldb_readoptions_t *lro;
} ldbt_reader;

/* Reads key(id) (or, with gap, the absent key(id) + "\0") and checks the
 * answer against the model m. */
void ldbt_expect_get(ldbt_run *r, const ldbt_reader *rd, const ldbt_slot *m,
                     size_t id, int gap);
/* The forward (and with backward_too the backward) full scan: exactly the
 * live keys of m, in order. */
void ldbt_scan(ldbt_run *r, const ldbt_reader *rd, const ldbt_slot *m,
               int backward_too);
/* Every stride-th key and some gaps by get, both scans, nseeks seeks. */
void ldbt_verify(ldbt_run *r, const ldbt_reader *rd, size_t stride,
                 size_t nseeks);

/* Opening each engine with the configuration's options. */
typedef struct ldbt_session {
    leveldb_options_t *o;
    leveldb_filterpolicy_t *fp;
    leveldb_readoptions_t *ro;
    leveldb_t *db;
} ldbt_session;

/* Paranoid checks and checksum verification, so LevelDB also judges the
 * CRCs of the blocks cairn wrote. */
void ldbt_ldb_open(ldbt_session *s, const ldbt_config *cfg, const char *dir,
                   int create);
void ldbt_ldb_close(ldbt_session *s);
cairn_db *ldbt_cdb_open(const ldbt_config *cfg, const char *dir);
/* Files per level as each engine (ldb, else cdb) reports them; returns how
 * many levels >= 1 hold files and prints the counts. */
int ldbt_levels(leveldb_t *ldb, cairn_db *cdb, long n[NLEVELS]);

/* Tables seen at level 0 with numbers above floor. Compaction never
 * writes to level 0, so these are flush outputs; a flushed table stays
 * there at least until three more flushes have made level 0 compactable,
 * so polling every 100 writes misses few of them. */
typedef struct ldbt_tables {
    uint64_t floor, max;
    uint64_t seen[1024];
    size_t nflushed;
} ldbt_tables;

void ldbt_watch_tables(cairn_db *db, ldbt_tables *t);
/* Gives every table in dir the legacy .sst name; returns how many. */
int ldbt_rename_tables(const char *dir);

#endif
