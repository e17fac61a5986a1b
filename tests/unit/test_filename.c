/*
 * test_filename.c: database file names and CURRENT (src/db/filename.c).
 *
 * The parse table is LevelDB 1.23's filename_test: the names it accepts
 * (with their numbers and kinds, up to 2^64 - 1) and the near misses it
 * rejects. Construction is checked both as text and by parsing the result
 * back. cairn__set_current_file is run on the POSIX env and the in-memory
 * env; through the fault env, each of its steps is made to fail (the temp
 * file must be gone and CURRENT untouched, and the first error must be the
 * one reported), and a simulated power loss right after it returns must
 * keep the new CURRENT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

/* cmocka defines a function-like macro skip(), which would rewrite the
 * f->ops->skip(f, n) call inside env.h; this test never skips. */
#undef skip

#include "db/filename.h"
#include "env/env.h"
#include "env/env_fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void msg_has(const char *what)
{
    const char *m = cairn__errmsg_get();
    if (strstr(m, what) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", m, what);
}

/* ---------------------------------------------------------------------- */
/* Parsing                                                                  */

static void test_parse_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint64_t number;
        enum cairn__file_type type;
    } cases[] = {
        {"100.log", 100, CAIRN__FILE_LOG},
        {"0.log", 0, CAIRN__FILE_LOG},
        {"0.sst", 0, CAIRN__FILE_TABLE},
        {"0.ldb", 0, CAIRN__FILE_TABLE},
        {"000123.ldb", 123, CAIRN__FILE_TABLE},
        {"CURRENT", 0, CAIRN__FILE_CURRENT},
        {"LOCK", 0, CAIRN__FILE_LOCK},
        {"MANIFEST-2", 2, CAIRN__FILE_DESCRIPTOR},
        {"MANIFEST-7", 7, CAIRN__FILE_DESCRIPTOR},
        {"MANIFEST-000001", 1, CAIRN__FILE_DESCRIPTOR},
        {"LOG", 0, CAIRN__FILE_INFO_LOG},
        {"LOG.old", 0, CAIRN__FILE_INFO_LOG},
        {"000005.dbtmp", 5, CAIRN__FILE_TEMP},
        {"18446744073709551615.log", UINT64_MAX, CAIRN__FILE_LOG},
        {"00000000000000000000000000018446744073709551615.log", UINT64_MAX,
         CAIRN__FILE_LOG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t n = 12345;
        enum cairn__file_type t = CAIRN__FILE_LOCK;
        if (!cairn__filename_parse(cases[i].name, &n, &t))
            fail_msg("\"%s\" was not accepted", cases[i].name);
        if (n != cases[i].number || t != cases[i].type)
            fail_msg("\"%s\" parsed as %llu/%d", cases[i].name,
                     (unsigned long long)n, (int)t);
    }
    /* The out-parameters are optional. */
    assert_true(cairn__filename_parse("7.log", NULL, NULL));
}

static void test_parse_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "foo",
        "foo-dx-100.log",
        ".log",
        "manifest",
        "CURREN",
        "CURRENTX",
        "MANIFES",
        "MANIFEST",
        "MANIFEST-",
        "XMANIFEST-3",
        "MANIFEST-3x",
        "MANIFEST--3",
        "MANIFEST-+3",
        "LOC",
        "LOCKx",
        "LO",
        "LOGx",
        "LOG.old2",
        "LOG.ol",
        "18446744073709551616.log",
        "184467440737095516150.log",
        "99999999999999999999.log",
        "100",
        "100.",
        "100.lop",
        "100.logx",
        "100.LOG",
        "-1.log",
        "+1.log",
        " 1.log",
        "1.log ",
        "1..log",
        "current",
        "lock",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t n = 424242;
        enum cairn__file_type t = CAIRN__FILE_LOCK;
        if (cairn__filename_parse(bad[i], &n, &t))
            fail_msg("\"%s\" was accepted", bad[i]);
        /* A rejected name leaves the out-parameters alone. */
        assert_true(n == 424242);
        assert_int_equal(t, CAIRN__FILE_LOCK);
    }
    assert_false(cairn__filename_parse(NULL, NULL, NULL));
}

/* ---------------------------------------------------------------------- */
/* Construction                                                             */

typedef int (*numbered_fn)(cairn__buf *, const char *, uint64_t);

static void check_numbered(numbered_fn fn, const char *dir, uint64_t n,
                           const char *want, enum cairn__file_type type)
{
    cairn__buf b = CAIRN__BUF_INIT;
    /* Existing contents are replaced, not appended to. */
    assert_int_equal(cairn__buf_append(&b, "junk-junk-junk", 14), 0);
    assert_int_equal(fn(&b, dir, n), 0);
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    /* The part after "<dir>/" parses back to the same number and kind. */
    const char *base = b.data + strlen(dir) + 1;
    uint64_t got;
    enum cairn__file_type t;
    assert_true(cairn__filename_parse(base, &got, &t));
    assert_true(got == n);
    assert_int_equal(t, type);
    cairn__buf_fini(&b);
}

static void test_construct(void **state)
{
    (void)state;
    check_numbered(cairn__filename_log, "foo", 192, "foo/000192.log",
                   CAIRN__FILE_LOG);
    check_numbered(cairn__filename_table, "bar", 200, "bar/000200.ldb",
                   CAIRN__FILE_TABLE);
    check_numbered(cairn__filename_sst, "bar", 200, "bar/000200.sst",
                   CAIRN__FILE_TABLE);
    check_numbered(cairn__filename_descriptor, "bar", 100,
                   "bar/MANIFEST-000100", CAIRN__FILE_DESCRIPTOR);
    check_numbered(cairn__filename_temp, "tmp", 999, "tmp/000999.dbtmp",
                   CAIRN__FILE_TEMP);
    check_numbered(cairn__filename_log, "/a/b", 0, "/a/b/000000.log",
                   CAIRN__FILE_LOG);
    /* More than six digits when needed, up to the largest number. */
    check_numbered(cairn__filename_log, "d", 1234567, "d/1234567.log",
                   CAIRN__FILE_LOG);
    check_numbered(cairn__filename_table, "d", UINT64_MAX,
                   "d/18446744073709551615.ldb", CAIRN__FILE_TABLE);
    check_numbered(cairn__filename_descriptor, "d", UINT64_MAX,
                   "d/MANIFEST-18446744073709551615", CAIRN__FILE_DESCRIPTOR);

    static const struct {
        int (*fn)(cairn__buf *, const char *);
        const char *want;
        enum cairn__file_type type;
    } fixed[] = {
        {cairn__filename_current, "db/CURRENT", CAIRN__FILE_CURRENT},
        {cairn__filename_lock, "db/LOCK", CAIRN__FILE_LOCK},
        {cairn__filename_info_log, "db/LOG", CAIRN__FILE_INFO_LOG},
        {cairn__filename_old_info_log, "db/LOG.old", CAIRN__FILE_INFO_LOG},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        cairn__buf b = CAIRN__BUF_INIT;
        assert_int_equal(cairn__buf_append(&b, "previous contents", 17), 0);
        assert_int_equal(fixed[i].fn(&b, "db"), 0);
        assert_string_equal(b.data, fixed[i].want);
        assert_int_equal(b.len, strlen(fixed[i].want));
        uint64_t n = 1;
        enum cairn__file_type t;
        assert_true(cairn__filename_parse(b.data + 3, &n, &t));
        assert_true(n == 0);
        assert_int_equal(t, fixed[i].type);
        cairn__buf_fini(&b);
    }

    cairn__buf b = CAIRN__BUF_INIT;
    assert_int_equal(cairn__filename_log(&b, NULL, 1), CAIRN_INVALID);
    assert_int_equal(cairn__filename_descriptor(&b, NULL, 1), CAIRN_INVALID);
    assert_int_equal(cairn__filename_current(&b, NULL), CAIRN_INVALID);
    msg_has("directory is NULL");
    cairn__buf_fini(&b);
}

/* ---------------------------------------------------------------------- */
/* CURRENT                                                                  */

/* CURRENT's contents through the env, or NULL if it cannot be read. */
static char *read_current(cairn_env *env, const char *dir)
{
    cairn__buf p = CAIRN__BUF_INIT;
    assert_int_equal(cairn__filename_current(&p, dir), 0);
    char *data = NULL;
    size_t len = 0;
    int rc = cairn__env_read_file(env, p.data, 4096, &data, &len);
    cairn__buf_fini(&p);
    if (rc != 0)
        return NULL;
    assert_int_equal(strlen(data), len);
    return data;
}

static void expect_current(cairn_env *env, const char *dir, const char *want)
{
    char *got = read_current(env, dir);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void expect_no_temp(cairn_env *env, const char *dir, uint64_t n)
{
    cairn__buf p = CAIRN__BUF_INIT;
    assert_int_equal(cairn__filename_temp(&p, dir, n), 0);
    assert_int_equal(env->ops->exists(env, p.data), 0);
    cairn__buf_fini(&p);
    /* Nothing but CURRENT (if any) is in the directory. */
    cairn__strlist l = {NULL, 0};
    assert_int_equal(env->ops->list(env, dir, &l), 0);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal(l.names[i], "CURRENT");
    cairn__strlist_fini(&l);
}

static void run_set_current(cairn_env *env, const char *dir)
{
    assert_int_equal(cairn__set_current_file(env, dir, 5), 0);
    expect_current(env, dir, "MANIFEST-000005\n");
    expect_no_temp(env, dir, 5);
    /* Replacing it, with a number wider than six digits. */
    assert_int_equal(cairn__set_current_file(env, dir, 12345678), 0);
    expect_current(env, dir, "MANIFEST-12345678\n");
    expect_no_temp(env, dir, 12345678);
    assert_int_equal(cairn__set_current_file(env, dir, 1), 0);
    char *c = read_current(env, dir);
    assert_non_null(c);
    /* LevelDB's CURRENT after NewDB: 16 bytes, one newline at the end. */
    assert_int_equal(strlen(c), 16);
    assert_string_equal(c, "MANIFEST-000001\n");
    free(c);
}

static void test_set_current_posix(void **state)
{
    (void)state;
    char *dir = tu_tempdir("filename");
    cairn_env *env = cairn_env_default();
    assert_non_null(env);
    run_set_current(env, dir);
    /* Read back with stdio too, independently of the env. */
    char path[4200];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[64];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, "MANIFEST-000001\n", 16);
    /* A directory that does not exist fails cleanly. */
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_true(cairn__set_current_file(env, path, 3) < 0);
    tu_rmtree(dir);
    free(dir);
}

static void test_set_current_mem(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    assert_int_equal(env->ops->mkdir(env, "/db"), 0);
    run_set_current(env, "/db");
    assert_int_equal(cairn__set_current_file(NULL, "/db", 1), CAIRN_INVALID);
    assert_int_equal(cairn__set_current_file(env, NULL, 1), CAIRN_INVALID);
    assert_true(cairn__set_current_file(env, "/nope", 1) < 0);
    cairn_env_destroy(env);
}

/* One injected failure: the call fails with the injected code and message,
 * CURRENT still says MANIFEST-000001, and no temp file is left. */
static void fail_step(enum cairn__fault_kind kind, uint64_t nth,
                      const char *what)
{
    cairn_env *mem = cairn_env_mem_create();
    assert_non_null(mem);
    assert_int_equal(mem->ops->mkdir(mem, "/db"), 0);
    cairn_env *env = NULL;
    assert_int_equal(cairn__env_fault_create(mem, &env), 0);
    assert_int_equal(cairn__set_current_file(env, "/db", 1), 0);

    /* First the step fails and so does the cleanup's remove: the error
     * reported must still be the step's. */
    assert_int_equal(cairn__env_fault_arm(env, kind, nth, CAIRN_NOSPC, 0), 0);
    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_REMOVE, 1, CAIRN_IO, 0), 0);
    cairn__errmsg_clear();
    assert_int_equal(cairn__set_current_file(env, "/db", 2), CAIRN_NOSPC);
    msg_has("injected fault");
    msg_has(what);
    assert_null(strstr(cairn__errmsg_get(), "remove"));
    cairn__env_fault_disarm_all(env);
    expect_current(env, "/db", "MANIFEST-000001\n");
    /* That failed remove may have left the temp file behind. */
    (void)env->ops->remove(env, "/db/000002.dbtmp");

    /* Then with a healthy remove: the call cleans up after itself. */
    assert_int_equal(cairn__env_fault_arm(env, kind, nth, CAIRN_IO, 0), 0);
    assert_int_equal(cairn__set_current_file(env, "/db", 2), CAIRN_IO);
    cairn__env_fault_disarm_all(env);
    expect_current(env, "/db", "MANIFEST-000001\n");
    expect_no_temp(env, "/db", 2);
    cairn_env_destroy(env);
    cairn_env_destroy(mem);
}

static void test_set_current_failures(void **state)
{
    (void)state;
    fail_step(CAIRN__FAULT_CREATE, 1, "open /db/000002.dbtmp");
    fail_step(CAIRN__FAULT_WRITE, 1, "append /db/000002.dbtmp");
    fail_step(CAIRN__FAULT_SYNC, 1, "sync /db/000002.dbtmp");
    fail_step(CAIRN__FAULT_RENAME, 1, "rename /db/000002.dbtmp");
}

static void test_set_current_sync_dir_failure(void **state)
{
    (void)state;
    cairn_env *mem = cairn_env_mem_create();
    assert_non_null(mem);
    assert_int_equal(mem->ops->mkdir(mem, "/db"), 0);
    cairn_env *env = NULL;
    assert_int_equal(cairn__env_fault_create(mem, &env), 0);
    /* The second sync is the directory's: the rename has happened, so the
     * new CURRENT is in place, but the caller must hear it is not durable. */
    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_SYNC, 2, CAIRN_IO, 0), 0);
    assert_int_equal(cairn__set_current_file(env, "/db", 4), CAIRN_IO);
    msg_has("injected fault");
    cairn__env_fault_disarm_all(env);
    expect_current(env, "/db", "MANIFEST-000004\n");
    expect_no_temp(env, "/db", 4);
    cairn_env_destroy(env);
    cairn_env_destroy(mem);
}

static void test_set_current_power_loss(void **state)
{
    (void)state;
    cairn_env *mem = cairn_env_mem_create();
    assert_non_null(mem);
    assert_int_equal(mem->ops->mkdir(mem, "/db"), 0);
    cairn_env *env = NULL;
    assert_int_equal(cairn__env_fault_create(mem, &env), 0);
    assert_int_equal(cairn__set_current_file(env, "/db", 1), 0);
    assert_int_equal(cairn__set_current_file(env, "/db", 2), 0);
    /* The file was synced and its rename made durable by the directory
     * sync, so the worst power loss keeps the new CURRENT whole. */
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS, 1), 0);
    cairn__env_fault_reset(env);
    expect_current(env, "/db", "MANIFEST-000002\n");
    expect_no_temp(env, "/db", 2);
    /* The counts show the protocol: one create, one write, two syncs (file
     * and directory) and one rename per call. */
    assert_int_equal(cairn__env_fault_count(env, CAIRN__FAULT_CREATE), 2);
    assert_int_equal(cairn__env_fault_count(env, CAIRN__FAULT_SYNC), 4);
    assert_int_equal(cairn__env_fault_count(env, CAIRN__FAULT_RENAME), 2);
    cairn_env_destroy(env);
    cairn_env_destroy(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepted),
        cmocka_unit_test(test_parse_rejected),
        cmocka_unit_test(test_construct),
        cmocka_unit_test(test_set_current_posix),
        cmocka_unit_test(test_set_current_mem),
        cmocka_unit_test(test_set_current_failures),
        cmocka_unit_test(test_set_current_sync_dir_failure),
        cmocka_unit_test(test_set_current_power_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
