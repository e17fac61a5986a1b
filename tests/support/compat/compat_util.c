/*
 * compat_util.c: see compat_util.h. Test-only code.
 */
#include "compat_util.h"

#include "cairn.h"

#include <leveldb/c.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

void compat_ldb_check(char *err, const char *what)
{
    if (err != NULL) {
        print_error("leveldb %s: %s\n", what, err);
        leveldb_free(err);
        fail_msg("leveldb %s failed", what);
    }
}

void compat_cairn_ok(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %s: %s", what, cairn_errname(rc), cairn_errmsg());
}
