/*
 * compaction_util.h: helpers shared by the compaction acceptance tests
 * (tests/db/test_compaction.c, test_compaction_load.c,
 * test_compaction_snapshots.c): databases in a memory env, and values that
 * name their key and version, cut from a pool of incompressible bytes, so
 * a read shows exactly which write it returns. Failures abort the test
 * (cmocka asserts).
 */
#ifndef CAIRN_TEST_COMPACTION_UTIL_H
#define CAIRN_TEST_COMPACTION_UTIL_H

#include "cairn.h"
#include "testutil.h"

#include <stddef.h>
#include <stdint.h>

#define KIB        1024u
#define MIB        (1024u * 1024u)
#define POOL_BYTES (256u * KIB)
#define STOP_L0    12 /* LevelDB's kL0_StopWritesTrigger */

/* Fills the pool values are cut from (a cmocka group setup; the pool is
 * the same in every run). */
int ct_pool_setup(void **state);

/* Shuffles a[0..n) with r (Fisher-Yates). */
void ct_shuffle(tu_rng *r, uint32_t *a, size_t n);

/* Fails the test, naming what and the library's error, if rc != 0. */
void ct_ok(int rc, const char *what);
/* Opens (creating) /db on env with the given write buffer and
 * compression. */
cairn_db *ct_open_db(cairn_env *env, size_t wbuf, int compression);
/* Files at a level from the property, or -1 if it cannot be read. */
long ct_level_files(cairn_db *db, int level);

/* Value of key id at version ver: a 16-byte header naming both, then len
 * (< POOL_BYTES) bytes of the pool at a place that depends on both.
 * Returns 16 + len, the bytes written to out. */
size_t ct_make_value(uint32_t id, uint32_t ver, size_t len, unsigned char *out);
/* Key of id ("key" and 8 digits) into out (16 bytes); its length. */
size_t ct_key_of(uint32_t id, char *out);
/* Puts version ver (of length len) of key id; buf holds 16 + len bytes. */
void ct_put_version(cairn_db *db, uint32_t id, uint32_t ver, size_t len,
                    unsigned char *buf);
/* Asserts key id holds version ver (of length len), or is absent (ver 0);
 * buf holds 16 + len bytes. */
void ct_expect_version(cairn_db *db, const cairn_readoptions *ro, uint32_t id,
                       uint32_t ver, size_t len, unsigned char *buf);

#endif
