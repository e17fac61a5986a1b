/*
 * test_read_while_flush_posix.c: readers racing one writer through many
 * memtable flushes (and the compactions they trigger), on the POSIX env in
 * a fresh temporary directory for about a second (scaled by tu_scale). The
 * test, its checks and its threads are tests/support/read_flush.h's;
 * test_read_while_flush.c runs it on the in-memory env. Must be clean
 * under ThreadSanitizer.
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

#include <stdlib.h>

static void test_read_while_flush_posix(void **state)
{
    (void)state;
    char *dir = tu_tempdir("readflush");
    rwf_run("test_read_while_flush_posix", cairn_env_default(), dir, 1.0);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_while_flush_posix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
