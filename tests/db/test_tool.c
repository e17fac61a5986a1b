/*
 * test_tool.c: the `cairn` command-line tool, run as a real program: put,
 * get and delete, hex arguments, missing and locked databases, usage
 * errors, help, bench and the demo.
 *
 * The tool runs through tests/support/tool_run.h (fork and exec of
 * $CAIRN_TOOL, set by CTest; without it every test here is skipped).
 * Dumps are tested in test_tool_dump.c; scan, compact and stats in
 * test_tool_scan.c.
 */
#include "cairn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "tool_run.h"

/* ---------------------------------------------------------------------- */

static void test_put_get_delete(void **state)
{
    FIXTURE(state);
    tool_path();
    tool_run r;
    EXPECT(dir, 0, "", "put", db, "alpha", "one");
    /* The value comes back byte for byte, without a newline (not a tty). */
    EXPECT(dir, 0, "one", "get", db, "alpha");
    /* Options may follow or precede the positional arguments. */
    EXPECT(dir, 0, "", "put", "--sync", db, "alpha", "two words");
    EXPECT(dir, 0, "two words", "get", db, "alpha");
    /* An empty value is a value, not an absence. */
    EXPECT(dir, 0, "", "put", db, "empty", "");
    EXPECT(dir, 0, "", "get", db, "empty");
    /* "--" lets a key start with dashes. */
    EXPECT(dir, 0, "", "put", db, "--", "--odd", "x");
    EXPECT(dir, 0, "x", "get", db, "--", "--odd");
    EXPECT(dir, 0, "", "delete", db, "alpha", "--sync");
    RUN_EXPECT(&r, dir, 1, "get", db, "alpha");
    assert_int_equal(r.outlen, 0);
    assert_string_equal(r.err, "cairn: not found\n");
    tool_run_free(&r);
    /* Deleting an absent key is not an error; other keys are untouched. */
    EXPECT(dir, 0, "", "delete", db, "never-there");
    EXPECT(dir, 0, "x", "get", db, "--", "--odd");
}

static void test_hex(void **state)
{
    FIXTURE(state);
    tool_path();
    EXPECT(dir, 0, "", "put", "--hex", db, "00FF", "0a0b00");
    EXPECT(dir, 0, "0a0b00\n", "get", db, "00ff", "--hex");
    EXPECT(dir, 0, "0a0b00\n", "get", db, "--hex", "00ff");
    /* Without --hex the key is the four characters "00ff": absent. */
    EXPECT(dir, 1, "", "get", db, "00ff");
    EXPECT(dir, 0, "", "delete", "--hex", db, "00ff");
    EXPECT(dir, 1, "", "get", "--hex", db, "00ff");
    /* Bad hex is a usage error, caught before the database is touched. */
    EXPECT(dir, 2, "", "put", "--hex", db, "0", "00");
    EXPECT(dir, 2, "", "get", "--hex", db, "zz");
}

static void test_missing_database(void **state)
{
    FIXTURE(state);
    tool_path();
    /* get and delete never create a database; put --no-create refuses. */
    EXPECT_FAIL(dir, "get", db, "k");
    EXPECT_FAIL(dir, "delete", db, "k");
    EXPECT_FAIL(dir, "put", "--no-create", db, "k", "v");
    /* The engine may make the directory (LevelDB does), never a CURRENT. */
    char current[4200];
    snprintf(current, sizeof current, "%s/CURRENT", db);
    assert_int_not_equal(access(current, F_OK), 0);
    /* A locked database is an engine error (exit 1), not a usage error. */
    EXPECT(dir, 0, "", "put", db, "k", "v");
    cairn_options *opt = cairn_options_create();
    assert_non_null(opt);
    cairn_db *h = NULL;
    assert_int_equal(cairn_db_open(opt, db, &h), 0);
    EXPECT_FAIL(dir, "get", db, "k");
    assert_int_equal(cairn_db_close(h), 0);
    cairn_options_destroy(opt);
    EXPECT(dir, 0, "v", "get", db, "k");
}

/* Each of these must exit 2, say what is wrong and show a usage. */
static void test_bad_arguments(void **state)
{
    FIXTURE(state);
    tool_path();
    const char *const cases[][8] = {
        {NULL},
        {"frobnicate", NULL},
        {"--frobnicate", NULL},
        {"put", db, "k", NULL},
        {"put", db, "k", "v", "extra", NULL},
        {"put", db, "k", "v", "--bogus", NULL},
        {"put", db, "k", "v", "--create", "--no-create", NULL},
        {"get", db, NULL},
        {"get", db, "k", "--sync", NULL},
        {"delete", NULL},
        {"delete", db, "k", "v", NULL},
        {"dump", NULL},
        {"dump", "a.log", "b.log", NULL},
        {"help", "nosuch", NULL},
        {"help", "put", "get", NULL},
        {"demo", "--threads", "0", NULL},
        {"demo", "--threads", "x", NULL},
        {"demo", "--threads", "-2", NULL},
        {"demo", "--threads", NULL},
        {"demo", "--seconds", "-1", NULL},
        {"demo", "--seconds", "1s", NULL},
        {"demo", "--keys", "10", "--seconds", "1", NULL},
        {"demo", "--keys=", NULL},
        {"demo", "--wat", NULL},
        {"demo", "positional", NULL},
        {"scan", NULL},
        {"scan", db, "extra", NULL},
        {"scan", db, "--limit", "0", NULL},
        {"scan", db, "--limit", "-1", NULL},
        {"scan", db, "--limit", "ten", NULL},
        {"scan", db, "--from", NULL},
        {"scan", db, "--from", "a", "--from", "b", NULL},
        {"scan", db, "--hex", "--prefix", "zz", NULL},
        {"scan", db, "--hex", "--to=abc", NULL},
        {"scan", db, "--keys-only=1", NULL},
        {"scan", db, "--sync", NULL},
        {"stats", NULL},
        {"stats", db, "--property", NULL},
        {"stats", db, "--property=", NULL},
        {"stats", db, "--bogus", NULL},
        {"compact", NULL},
        {"compact", db, "x", NULL},
        {"compact", db, "--hex", "--from", "0", NULL},
        {"compact", db, "--prefix", "a", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tool_run r;
        tool_exec(&r, dir, cases[i]);
        int ok = r.code == 2 && r.outlen == 0 &&
                 strncmp(r.err, "cairn: ", 7) == 0 &&
                 strstr(r.err, "usage: cairn") != NULL;
        if (!ok)
            fprintf(stderr, "case %zu: exit %d\nstdout:\n%s\nstderr:\n%s\n", i,
                    r.code, r.out, r.err);
        tool_run_free(&r);
        assert_true(ok);
    }
    /* None of them may have created the database. */
    char current[4200];
    snprintf(current, sizeof current, "%s/CURRENT", db);
    assert_int_not_equal(access(current, F_OK), 0);
}

static void test_help(void **state)
{
    FIXTURE(state);
    tool_path();
    /* bench is left out: with the driver linked in, its --help is the
     * driver's own (test_bench checks it). */
    static const char *const cmds[] = {"put",  "get",   "delete",
                                       "scan", "stats", "compact",
                                       "dump", "demo",  "help"};
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "--help");
    assert_non_null(strstr(r.out, "usage: cairn <command>"));
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        assert_non_null(strstr(r.out, cmds[i]));
    assert_string_equal(r.err, "");
    tool_run_free(&r);
    char want[64];
    snprintf(want, sizeof want, "cairn %d.%d.%d", CAIRN_VERSION_MAJOR,
             CAIRN_VERSION_MINOR, CAIRN_VERSION_PATCH);
    RUN_EXPECT(&r, dir, 0, "--version");
    assert_true(strncmp(r.out, want, strlen(want)) == 0);
    tool_run_free(&r);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char usage[64];
        snprintf(usage, sizeof usage, "usage: cairn %s", cmds[i]);
        const char *const ways[][5] = {
            {cmds[i], "--help", NULL},
            {"help", cmds[i], NULL},
            /* Help wins over other arguments, even wrong ones. */
            {cmds[i], "x", "-h", "--bogus", NULL},
        };
        for (size_t k = 0; k < 3; k++) {
            tool_exec(&r, dir, ways[k]);
            assert_int_equal(r.code, 0);
            assert_non_null(strstr(r.out, usage));
            assert_string_equal(r.err, "");
            tool_run_free(&r);
        }
    }
}

/* Without the driver linked in, bench says so and exits 2; with it, the
 * driver answers. Either way --help works and a bad flag is a usage
 * error. A real benchmark run is not started here. */
static void test_bench(void **state)
{
    FIXTURE(state);
    tool_path();
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "help", "bench");
    assert_non_null(strstr(r.out, "usage: cairn bench"));
    tool_run_free(&r);
    RUN_EXPECT(&r, dir, 0, "bench", "--help");
    assert_true(r.outlen > 0);
    int builtin = strstr(r.out, "usage: cairn bench") == NULL;
    tool_run_free(&r);
    RUN_EXPECT(&r, dir, 2, "bench", "--no-such-flag-at-all");
    assert_true(strlen(r.err) > 0);
    if (!builtin)
        assert_string_equal(r.err,
                            "cairn: this build has no benchmark driver; use "
                            "build/release/bench/cairn_bench\n");
    tool_run_free(&r);
}

/* ---------------------------------------------------------------------- */
/* The demo                                                                 */

static void test_demo_timed(void **state)
{
    FIXTURE(state);
    tool_path();
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, tu_seed("test_demo_timed"));
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "demo", "--seconds", "1", "--threads", "2", "--dir",
               dir, "--seed", seed);
    static const char *const want[] = {
        " 0 mismatches\n", " 0 wrong\n",  "result: OK", "reopen ",
        "size on disk ",   "write rate ", "read rate ", "sync writes "};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(strstr(r.out, want[i]));
    tool_run_free(&r);
    /* A good run leaves nothing behind. */
    char names[4][256];
    assert_int_equal(tool_find_files(dir, "cairn-demo-", 1, names, 4), 0);
}

static void test_demo_keys_keep(void **state)
{
    FIXTURE(state);
    tool_path();
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "demo", "--keys=300", "--threads=3", "--keep",
               "--dir", dir, "--seed", "7");
    const char *w = strstr(r.out, "keys written");
    assert_non_null(w);
    unsigned long long written = 0;
    assert_int_equal(sscanf(w, "keys written %llu", &written), 1);
    /* Each thread stops at its first write count >= 300; a batch may
     * overshoot by at most 7 entries. */
    assert_true(written >= 900 && written <= 900 + 3 * 7);
    assert_non_null(strstr(r.out, "result: OK"));
    tool_run_free(&r);
    /* --keep: the database is there and opens cleanly. */
    char names[4][256];
    assert_int_equal(tool_find_files(dir, "cairn-demo-", 1, names, 4), 1);
    char kept[300];
    snprintf(kept, sizeof kept, "%s/db", names[0]);
    cairn_options *opt = cairn_options_create();
    assert_non_null(opt);
    cairn_db *h = NULL;
    assert_int_equal(cairn_db_open(opt, kept, &h), 0);
    assert_int_equal(cairn_db_close(h), 0);
    cairn_options_destroy(opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TOOL_TEST(test_put_get_delete),
        TOOL_TEST(test_hex),
        TOOL_TEST(test_missing_database),
        TOOL_TEST(test_bad_arguments),
        TOOL_TEST(test_help),
        TOOL_TEST(test_bench),
        TOOL_TEST(test_demo_timed),
        TOOL_TEST(test_demo_keys_keep),
    };
    return tool_run_tests("test_tool", tests, sizeof tests / sizeof tests[0]);
}
