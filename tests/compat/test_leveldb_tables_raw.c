/*
 * test_leveldb_tables_raw.c: compatibility with LevelDB 1.23 at the level
 * of sorted tables, both ways, without compression: the scenario of
 * tests/support/compat/ldb_tables.h, with and without a Bloom filter of 10
 * bits per key. test_leveldb_tables.c runs it with Snappy.
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

static const ldbt_config configs[] = {
    {"raw+bloom", 0, 1, 0, 1.0},
    {"raw+nofilter", 0, 0, 0, 1.0},
};

int main(void)
{
    return ldbt_run_tests(configs, sizeof configs / sizeof configs[0]);
}
