/*
 * test_model.c: the randomized model test (LevelDB's "Randomized", made
 * stronger) with Snappy compression, the bloom filter on and off.
 * Thousands of random steps run against one database and, in lockstep,
 * against a model; every read is compared with the model. The test itself
 * is tests/support/model_test.h's; test_model_raw.c runs it without
 * compression.
 *
 * On a mismatch the message names the configuration, the seed (replay
 * with CAIRN_TEST_SEED), the step, the operation, the key, and the
 * expected and received values.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "model_test.h"
#include "testutil.h"

static const mdl_config configs[] = {
    {"test_model (snappy, bloom)", CAIRN_COMPRESSION_SNAPPY, 10},
    {"test_model (snappy, no bloom)", CAIRN_COMPRESSION_SNAPPY, 0},
};

int main(void)
{
    return mdl_run_tests(configs, sizeof configs / sizeof configs[0]);
}
