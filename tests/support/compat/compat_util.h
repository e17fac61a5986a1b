/*
 * compat_util.h: error checks shared by the LevelDB compatibility helpers
 * (ldb_tables.h, ldb_log.h). Only the compat tests link them.
 */
#ifndef CAIRN_TEST_COMPAT_UTIL_H
#define CAIRN_TEST_COMPAT_UTIL_H

/* Fails the test on a LevelDB error, printing and freeing it. */
void compat_ldb_check(char *err, const char *what);
/* Fails the test, naming what and the library's error, if rc != 0. */
void compat_cairn_ok(int rc, const char *what);

#endif
