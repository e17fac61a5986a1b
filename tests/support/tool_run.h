/*
 * tool_run.h: runs the `cairn` command-line tool as a real program, for
 * the tool tests (tests/db/test_tool.c, test_tool_dump.c,
 * test_tool_scan.c).
 *
 * CTest passes the built binary's path in $CAIRN_TOOL; without it
 * tool_path() skips the calling test. Each run forks and execs the tool
 * with stdout and stderr redirected to files in the test's temporary
 * directory (files, not pipes, so a chatty child can never block on a
 * full pipe), waits for it, and returns its exit code and both outputs.
 * A hung tool dies of SIGALRM after 120 s. The exit-code contract checked
 * with these is tools/tool.h's: 0 success, 1 engine error or absent key,
 * 2 bad usage with the usage on stderr.
 *
 * Also here: the per-test fixture (a fresh directory, the database in
 * <dir>/db) and the small helpers the tool tests share. Failures abort
 * the test (cmocka asserts). The macros want <cmocka.h>, <stdio.h> and
 * <string.h>.
 */
#ifndef CAIRN_TEST_TOOL_RUN_H
#define CAIRN_TEST_TOOL_RUN_H

#include "cairn.h"

#include <stddef.h>

struct CMUnitTest;

typedef struct tool_run {
    int code;      /* exit status */
    size_t outlen; /* out and err are NUL-terminated */
    char *out, *err;
} tool_run;

/* $CAIRN_TOOL; skips the test when it is not set. */
const char *tool_path(void);
/* The whole file at path, NUL-terminated (malloc'd); its length to len
 * unless len is NULL. */
char *tool_slurp(const char *path, size_t *len);
/* Runs the tool with args (NULL-terminated, without argv[0]); outputs go
 * through files in dir. Free r with tool_run_free. */
void tool_exec(tool_run *r, const char *dir, const char *const *args);
void tool_run_free(tool_run *r);

/* Runs and checks the exit code, printing the outputs when it differs. */
#define RUN_EXPECT(r, dir, code_, ...)                                         \
    do {                                                                       \
        const char *const args_[] = {__VA_ARGS__, NULL};                       \
        tool_exec((r), (dir), args_);                                          \
        if ((r)->code != (code_))                                              \
            fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", (r)->out, (r)->err); \
        assert_int_equal((r)->code, (code_));                                  \
    } while (0)

/* Runs and checks the exit code and all of stdout. */
#define EXPECT(dir, code_, want, ...)                                          \
    do {                                                                       \
        tool_run r_;                                                           \
        RUN_EXPECT(&r_, (dir), (code_), __VA_ARGS__);                          \
        assert_string_equal(r_.out, (want));                                   \
        tool_run_free(&r_);                                                    \
    } while (0)

/* Runs expecting exit 1 with the library's reason, not a usage. */
#define EXPECT_FAIL(dir, ...)                                                  \
    do {                                                                       \
        tool_run r_;                                                           \
        RUN_EXPECT(&r_, (dir), 1, __VA_ARGS__);                                \
        assert_true(strncmp(r_.err, "cairn: ", 7) == 0);                       \
        assert_null(strstr(r_.err, "usage"));                                  \
        tool_run_free(&r_);                                                    \
    } while (0)

/* Each test gets a fresh directory, removed by the teardown even when the
 * test fails; the database (when one is made) lives in <dir>/db. */
typedef struct tool_fixture {
    char *dir;
    char db[4200];
} tool_fixture;

int tool_setup(void **state);
int tool_teardown(void **state);

#define FIXTURE(state)                                                         \
    const char *dir = ((tool_fixture *)*(state))->dir;                         \
    const char *db = ((tool_fixture *)*(state))->db;                           \
    (void)dir, (void)db

/* Runs the group of tool tests under a 240 s watchdog; cmocka's result. */
int tool_run_tests(const char *name, const struct CMUnitTest *tests, size_t n);

#define TOOL_TEST(fn)                                                          \
    cmocka_unit_test_setup_teardown(fn, tool_setup, tool_teardown)

/* Names in dir ending with pattern (or starting with it when prefix),
 * as dir/name, at most max; how many. */
size_t tool_find_files(const char *dir, const char *pattern, int prefix,
                       char names[][256], size_t max);

/* Opens (creating) a database with a 64 KiB write buffer, bloom filters,
 * the given compression and no info log. */
cairn_db *tool_open_small(const char *db, int compression);
/* Puts the NUL-terminated value v under k; must succeed. */
void tool_put(cairn_db *h, const char *k, size_t klen, const char *v);

#endif
