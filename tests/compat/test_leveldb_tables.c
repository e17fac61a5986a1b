/*
 * test_leveldb_tables.c: compatibility with LevelDB 1.23 (Debian's
 * libleveldb, through its C API) at the level of sorted tables, both ways,
 * with Snappy compression: LevelDB writes tables over several levels,
 * cairn reads them all and writes its own on top, LevelDB reads the
 * result. The scenario is tests/support/compat/ldb_tables.h's; this file
 * runs it with and without a Bloom filter of 10 bits per key, and once
 * more (at 30% of the size) with every table renamed to the legacy .sst
 * name after LevelDB closes. test_leveldb_tables_raw.c runs it without
 * compression.
 *
 * Failures name the configuration, the seed (CAIRN_TEST_SEED replays it),
 * the key in hex and the expected and received values.
 */
#include "cairn.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ldb_tables.h"
#include "testutil.h"

/* The last run names every table .sst, the legacy name LevelDB 1.23 still
 * reads (and cairn must too). */
static const ldbt_config configs[] = {
    {"snappy+bloom", 1, 1, 0, 1.0},
    {"snappy+nofilter", 1, 0, 0, 1.0},
    {"sst-names", 1, 1, 1, 0.3},
};

int main(void)
{
    return ldbt_run_tests(configs, sizeof configs / sizeof configs[0]);
}
