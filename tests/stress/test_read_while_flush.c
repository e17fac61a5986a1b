/*
 * test_read_while_flush.c: readers racing one writer through many
 * memtable flushes (and the compactions they trigger), on the in-memory
 * env for about two seconds (scaled by tu_scale). The test, its checks
 * and its threads are tests/support/read_flush.h's;
 * test_read_while_flush_posix.c runs it, shorter, on the POSIX env. Must
 * be clean under ThreadSanitizer.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "read_flush.h"
#include "testutil.h"

static void test_read_while_flush_mem(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    rwf_run("test_read_while_flush_mem", env, "/db", 2.0);
    cairn_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_while_flush_mem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
