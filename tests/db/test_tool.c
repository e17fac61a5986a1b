/*
 * test_tool.c: the `cairn` command-line tool, run as a real program, and
 * cairn_dump_file called directly.
 *
 * CTest passes the built binary's path in $CAIRN_TOOL; without it every
 * tool test is skipped. Each run forks and execs the tool with stdout and
 * stderr redirected to files in the test's temporary directory (files,
 * not pipes, so a chatty child can never block on a full pipe), waits for
 * it, and returns its exit code and both outputs. The exit-code contract
 * checked here is tools/tool.h's: 0 success, 1 engine error or absent
 * key, 2 bad usage with the usage on stderr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run {
    int code;      /* exit status */
    size_t outlen; /* out and err are NUL-terminated */
    char *out, *err;
} run;

static const char *tool_path(void)
{
    const char *p = getenv("CAIRN_TOOL");
    if (p == NULL || p[0] == '\0')
        skip(); /* CTest sets it; a bare run has no binary to test */
    return p;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

/* Runs the tool with args (NULL-terminated, without argv[0]); outputs go
 * through files in dir. */
static void run_tool(run *r, const char *dir, const char *const *args)
{
    const char *tool = tool_path();
    char outp[4200], errp[4200];
    snprintf(outp, sizeof outp, "%s/.stdout", dir);
    snprintf(errp, sizeof errp, "%s/.stderr", dir);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = tool;
    for (; args[n - 1] != NULL; n++) {
        assert_true(n < 31);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        /* A hung tool dies of SIGALRM (the alarm survives exec) instead of
         * hanging the test: that shows up below as a failed WIFEXITED. */
        alarm(120);
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status))
        fprintf(stderr, "%s %s: killed by signal %d\n", tool,
                args[0] ? args[0] : "", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    r->code = WEXITSTATUS(status);
    assert_true(r->code != 126 && r->code != 127);
    r->out = slurp(outp, &r->outlen);
    r->err = slurp(errp, NULL);
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

/* Runs and checks the exit code, printing the outputs when it differs. */
#define RUN_EXPECT(r, dir, code_, ...)                                         \
    do {                                                                       \
        const char *const args_[] = {__VA_ARGS__, NULL};                       \
        run_tool((r), (dir), args_);                                           \
        if ((r)->code != (code_))                                              \
            fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", (r)->out, (r)->err); \
        assert_int_equal((r)->code, (code_));                                  \
    } while (0)

/* Runs and checks the exit code and all of stdout. */
#define EXPECT(dir, code_, want, ...)                                          \
    do {                                                                       \
        run r_;                                                                \
        RUN_EXPECT(&r_, (dir), (code_), __VA_ARGS__);                          \
        assert_string_equal(r_.out, (want));                                   \
        run_free(&r_);                                                         \
    } while (0)

/* Runs expecting exit 1 with the library's reason, not a usage. */
#define EXPECT_FAIL(dir, ...)                                                  \
    do {                                                                       \
        run r_;                                                                \
        RUN_EXPECT(&r_, (dir), 1, __VA_ARGS__);                                \
        assert_true(strncmp(r_.err, "cairn: ", 7) == 0);                       \
        assert_null(strstr(r_.err, "usage"));                                  \
        run_free(&r_);                                                         \
    } while (0)

/* Each test gets a fresh directory, removed by the teardown even when the
 * test fails; the database (when one is made) lives in <dir>/db. */
typedef struct fixture {
    char *dir;
    char db[4200];
} fixture;

static int setup(void **state)
{
    fixture *f = malloc(sizeof *f);
    if (f == NULL)
        return -1;
    f->dir = tu_tempdir("tool");
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

#define FIXTURE(state)                                                         \
    const char *dir = ((fixture *)*(state))->dir;                              \
    const char *db = ((fixture *)*(state))->db;                                \
    (void)dir, (void)db

/* ---------------------------------------------------------------------- */

static void test_put_get_delete(void **state)
{
    FIXTURE(state);
    tool_path();
    run r;
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
    run_free(&r);
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
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        run_tool(&r, dir, cases[i]);
        int ok = r.code == 2 && r.outlen == 0 &&
                 strncmp(r.err, "cairn: ", 7) == 0 &&
                 strstr(r.err, "usage: cairn") != NULL;
        if (!ok)
            fprintf(stderr, "case %zu: exit %d\nstdout:\n%s\nstderr:\n%s\n", i,
                    r.code, r.out, r.err);
        run_free(&r);
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
    static const char *const cmds[] = {"put",  "get",  "delete",
                                       "dump", "demo", "help"};
    run r;
    RUN_EXPECT(&r, dir, 0, "--help");
    assert_non_null(strstr(r.out, "usage: cairn <command>"));
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        assert_non_null(strstr(r.out, cmds[i]));
    assert_string_equal(r.err, "");
    run_free(&r);
    char want[64];
    snprintf(want, sizeof want, "cairn %d.%d.%d", CAIRN_VERSION_MAJOR,
             CAIRN_VERSION_MINOR, CAIRN_VERSION_PATCH);
    RUN_EXPECT(&r, dir, 0, "--version");
    assert_true(strncmp(r.out, want, strlen(want)) == 0);
    run_free(&r);
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
            run_tool(&r, dir, ways[k]);
            assert_int_equal(r.code, 0);
            assert_non_null(strstr(r.out, usage));
            assert_string_equal(r.err, "");
            run_free(&r);
        }
    }
}

/* Names in dir ending with suffix (or starting with it when prefix). */
static size_t find_files(const char *dir, const char *pattern, int prefix,
                         char names[][256], size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0, plen = strlen(pattern);
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len < plen)
            continue;
        if (prefix ? strncmp(e->d_name, pattern, plen) == 0
                   : strcmp(e->d_name + len - plen, pattern) == 0)
            snprintf(names[n++], 256, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------------- */
/* cairn_dump_file, called directly                                         */

typedef struct lines {
    char *text; /* every line, each followed by '\n' */
    size_t len;
    int calls;
    int stop_after; /* return 42 after this many calls; 0 = never */
} lines;

static int collect(void *ctx, const char *line)
{
    lines *l = ctx;
    size_t n = strlen(line);
    assert_null(strchr(line, '\n'));
    l->text = realloc(l->text, l->len + n + 2);
    assert_non_null(l->text);
    memcpy(l->text + l->len, line, n);
    l->len += n;
    l->text[l->len++] = '\n';
    l->text[l->len] = '\0';
    l->calls++;
    return l->stop_after != 0 && l->calls >= l->stop_after ? 42 : 0;
}

/* Writes four records (three puts and a batch) in one session, so one log
 * holds them all, and returns that log's path in `log`. */
static void make_log(const char *db, char *log, size_t cap)
{
    cairn_options *opt = cairn_options_create();
    assert_non_null(opt);
    assert_int_equal(cairn_options_set_create_if_missing(opt, 1), 0);
    cairn_db *h = NULL;
    assert_int_equal(cairn_db_open(opt, db, &h), 0);
    char big[1000];
    memset(big, 'v', sizeof big);
    assert_int_equal(cairn_db_put(h, NULL, "k1", 2, "value-0001", 10), 0);
    assert_int_equal(cairn_db_put(h, NULL, "k2", 2, "value-0002", 10), 0);
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_batch_put(b, "k3", 2, big, sizeof big), 0);
    assert_int_equal(cairn_batch_delete(b, "k1", 2), 0);
    assert_int_equal(cairn_db_write(h, NULL, b), 0);
    cairn_batch_destroy(b);
    assert_int_equal(cairn_db_put(h, NULL, "\x00\xff'", 3, "\\", 1), 0);
    assert_int_equal(cairn_db_close(h), 0);
    cairn_options_destroy(opt);
    /* The log holding the writes is the largest one. */
    char names[64][256];
    size_t n = find_files(db, ".log", 0, names, 64);
    off_t best = -1;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        assert_int_equal(stat(names[i], &st), 0);
        if (st.st_size > best) {
            best = st.st_size;
            snprintf(log, cap, "%s", names[i]);
        }
    }
    assert_true(best > 0);
}

static void test_dump_file_api(void **state)
{
    FIXTURE(state);
    char log[256];
    make_log(db, log, sizeof log);
    lines l = {NULL, 0, 0, 0};
    assert_int_equal(cairn_dump_file(NULL, log, collect, &l), 0);
    assert_non_null(strstr(l.text, "record at offset 0 ("));
    assert_non_null(strstr(l.text, "put 'k1' => 'value-0001'"));
    assert_non_null(strstr(l.text, "put 'k2' => 'value-0002'"));
    assert_non_null(strstr(l.text, ": seq 3, count 2\n"));
    /* A long value is cut, with its length noted. */
    assert_non_null(strstr(l.text, "put 'k3' => 'vvvv"));
    assert_non_null(strstr(l.text, "...' (1000 bytes)"));
    assert_non_null(strstr(l.text, "  del 'k1'\n"));
    assert_non_null(strstr(l.text, "end: 4 records, 0 damaged"));
    free(l.text);
    /* print's non-zero return stops the dump and is returned. */
    lines s = {NULL, 0, 0, 2};
    assert_int_equal(cairn_dump_file(NULL, log, collect, &s), 42);
    assert_int_equal(s.calls, 2);
    free(s.text);
    /* Kinds without a decoder, bad arguments, a missing file: no output. */
    memset(&l, 0, sizeof l);
    assert_int_equal(
        cairn_dump_file(NULL, "/nonexistent/000005.ldb", collect, &l),
        CAIRN_NOTSUP);
    assert_non_null(strstr(cairn_errmsg(), "table"));
    assert_int_equal(cairn_dump_file(NULL, "notes.txt", collect, &l),
                     CAIRN_NOTSUP);
    assert_int_equal(cairn_dump_file(NULL, NULL, collect, &l), CAIRN_INVALID);
    assert_int_equal(cairn_dump_file(NULL, log, NULL, NULL), CAIRN_INVALID);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/000999.log", db);
    assert_int_equal(cairn_dump_file(NULL, missing, collect, &l),
                     CAIRN_NOTFOUND);
    assert_int_equal(l.calls, 0);
}

/* A flipped byte in the second record: the first record is still shown,
 * the damage is reported where it was met, and the dump ends normally. */
static void test_dump_damaged_log(void **state)
{
    FIXTURE(state);
    char log[256];
    make_log(db, log, sizeof log);
    size_t len;
    char *bytes = slurp(log, &len);
    char *k2 = memmem(bytes, len, "k2", 2);
    assert_non_null(k2);
    FILE *f = fopen(log, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(k2 - bytes), SEEK_SET), 0);
    assert_int_equal(fputc('X', f), 'X');
    assert_int_equal(fclose(f), 0);
    free(bytes);
    lines l = {NULL, 0, 0, 0};
    assert_int_equal(cairn_dump_file(NULL, log, collect, &l), 0);
    assert_non_null(strstr(l.text, "put 'k1' => 'value-0001'"));
    assert_null(strstr(l.text, "'k2'"));
    assert_null(strstr(l.text, "X2"));
    assert_non_null(strstr(l.text, "!!! damage at offset "));
    assert_non_null(strstr(l.text, "checksum mismatch"));
    assert_non_null(strstr(l.text, "end: 1 records, 1 damaged"));
    free(l.text);
    /* The tool shows the same and still exits 0: damage is output. */
    if (getenv("CAIRN_TOOL") != NULL) {
        run r;
        RUN_EXPECT(&r, dir, 0, "dump", log);
        assert_non_null(strstr(r.out, "checksum mismatch"));
        run_free(&r);
    }
}

/* `cairn dump` on the log and the MANIFEST of a database: the log is made
 * in one session and dumped before any reopen, because an open may turn
 * older logs into tables. */
static void test_dump(void **state)
{
    FIXTURE(state);
    tool_path();
    char log[256];
    make_log(db, log, sizeof log);
    run r;
    RUN_EXPECT(&r, dir, 0, "dump", log);
    assert_non_null(strstr(r.out, "  put 'k1' => 'value-0001'\n"));
    assert_non_null(strstr(r.out, "  del 'k1'\n"));
    /* Non-printable bytes, the quote and the backslash are escaped. */
    assert_non_null(strstr(r.out, "  put '\\x00\\xff\\x27' => '\\x5c'\n"));
    assert_non_null(strstr(r.out, "end: 4 records, 0 damaged"));
    assert_null(strstr(r.out, "!!!"));
    assert_string_equal(r.err, "");
    run_free(&r);
    char names[64][256];
    assert_int_equal(find_files(db, "MANIFEST-", 1, names, 64), 1);
    RUN_EXPECT(&r, dir, 0, "dump", names[0]);
    assert_non_null(strstr(r.out, "leveldb.BytewiseComparator"));
    assert_non_null(strstr(r.out, "NextFile: "));
    run_free(&r);
    /* Not a database file, or missing: exit 1 with the library's reason. */
    char path[4200];
    snprintf(path, sizeof path, "%s/CURRENT", db);
    EXPECT_FAIL(dir, "dump", path);
    snprintf(path, sizeof path, "%s/999999.log", db);
    RUN_EXPECT(&r, dir, 1, "dump", path);
    assert_non_null(strstr(r.err, "999999.log"));
    run_free(&r);
}

/* ---------------------------------------------------------------------- */
/* The demo                                                                 */

static void test_demo_timed(void **state)
{
    FIXTURE(state);
    tool_path();
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, tu_seed("test_demo_timed"));
    run r;
    RUN_EXPECT(&r, dir, 0, "demo", "--seconds", "1", "--threads", "2", "--dir",
               dir, "--seed", seed);
    static const char *const want[] = {
        " 0 mismatches\n", " 0 wrong\n",  "result: OK", "reopen ",
        "size on disk ",   "write rate ", "read rate ", "sync writes "};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(strstr(r.out, want[i]));
    run_free(&r);
    /* A good run leaves nothing behind. */
    char names[4][256];
    assert_int_equal(find_files(dir, "cairn-demo-", 1, names, 4), 0);
}

static void test_demo_keys_keep(void **state)
{
    FIXTURE(state);
    tool_path();
    run r;
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
    run_free(&r);
    /* --keep: the database is there and opens cleanly. */
    char names[4][256];
    assert_int_equal(find_files(dir, "cairn-demo-", 1, names, 4), 1);
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
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_file_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_damaged_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_timed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_keys_keep, setup, teardown),
    };
    tu_watchdog_arm(240, "test_tool");
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    tu_watchdog_disarm();
    return failed;
}
