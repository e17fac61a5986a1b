/*
 * test_model_raw.c: the randomized model test (tests/support/model_test.h)
 * without compression, the bloom filter on and off; test_model.c runs it
 * with Snappy.
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
    {"test_model (no compression, bloom)", CAIRN_COMPRESSION_NONE, 10},
    {"test_model (no compression, no bloom)", CAIRN_COMPRESSION_NONE, 0},
};

int main(void)
{
    return mdl_run_tests(configs, sizeof configs / sizeof configs[0]);
}
