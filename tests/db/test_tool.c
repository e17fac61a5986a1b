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
 *
 * Databases with tables in them are written through the C API with a
 * small write buffer (the tool has no such knob), closed, and then
 * scanned, compacted, inspected and dumped through the tool.
 */
#include "cairn.h"

#include "env/env.h"
#include "table/table_builder.h"
#include "util/ikey.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

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
    /* bench is left out: with the driver linked in, its --help is the
     * driver's own (test_bench checks it). */
    static const char *const cmds[] = {"put",  "get",   "delete",
                                       "scan", "stats", "compact",
                                       "dump", "demo",  "help"};
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
    /* Kinds without a decoder, bad arguments, missing files: no output. */
    memset(&l, 0, sizeof l);
    assert_int_equal(
        cairn_dump_file(NULL, "/nonexistent/000005.ldb", collect, &l),
        CAIRN_NOTFOUND);
    assert_non_null(strstr(cairn_errmsg(), "000005.ldb"));
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
/* scan                                                                     */

static cairn_db *open_small(const char *db, int compression)
{
    cairn_options *opt = cairn_options_create();
    assert_non_null(opt);
    assert_int_equal(cairn_options_set_create_if_missing(opt, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(opt, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_compression(opt, compression), 0);
    assert_int_equal(cairn_options_set_bloom_bits_per_key(opt, 10), 0);
    assert_int_equal(cairn_options_set_info_log(opt, 0), 0);
    cairn_db *h = NULL;
    assert_int_equal(cairn_db_open(opt, db, &h), 0);
    cairn_options_destroy(opt);
    return h;
}

static void put(cairn_db *h, const char *k, size_t klen, const char *v)
{
    assert_int_equal(cairn_db_put(h, NULL, k, klen, v, strlen(v)), 0);
}

/* Nine keys, some in a table and some only in the log, plus a deleted
 * one; the scan must merge both and hide the deletion. */
static void make_scan_db(const char *db)
{
    cairn_db *h = open_small(db, CAIRN_COMPRESSION_SNAPPY);
    put(h, "banana", 6, "5");
    put(h, "apple", 5, "2");
    put(h, "gone", 4, "x");
    put(h, "\xff\x01", 2, "\\");
    put(h, "ap\xff\xff", 4, "7");
    assert_int_equal(cairn_db_flush(h), 0);
    put(h, "a", 1, "1");
    put(h, "apricot", 7, "3");
    put(h, "aq", 2, "8");
    put(h, "b", 1, "4");
    put(h, "c", 1, "6\n");
    assert_int_equal(cairn_db_delete(h, NULL, "gone", 4), 0);
    assert_int_equal(cairn_db_close(h), 0);
}

static void test_scan(void **state)
{
    FIXTURE(state);
    tool_path();
    make_scan_db(db);
    EXPECT(dir, 0,
           "a => 1\napple => 2\napricot => 3\nap\\xff\\xff => 7\naq => 8\n"
           "b => 4\nbanana => 5\nc => 6\\x0a\n\\xff\\x01 => \\x5c\n",
           "scan", db);
    /* A prefix, including one whose successor needs a carry past 0xff;
     * "aq" is that successor and must stay out. */
    EXPECT(dir, 0, "apple\napricot\nap\\xff\\xff\n", "scan", db, "--prefix",
           "ap", "--keys-only");
    EXPECT(dir, 0, "6170ffff => 37\n", "scan", "--hex", db, "--prefix",
           "6170ff");
    EXPECT(dir, 0, "ff01 => 5c\n", "scan", db, "--prefix=ff", "--hex",
           "--reverse");
    /* Half-open ranges, forward and reverse. */
    EXPECT(dir, 0, "b => 4\nbanana => 5\n", "scan", db, "--from", "b", "--to",
           "c");
    EXPECT(dir, 0, "banana => 5\nb => 4\n", "scan", db, "--from", "b", "--to",
           "c", "--reverse");
    EXPECT(dir, 0, "\\xff\\x01 => \\x5c\nc => 6\\x0a\n", "scan", db,
           "--reverse", "--from", "c");
    EXPECT(dir, 0, "a => 1\n", "scan", db, "--to", "ap");
    EXPECT(dir, 0, "", "scan", db, "--to", "a", "--reverse");
    EXPECT(dir, 0, "", "scan", db, "--from", "c", "--to", "b");
    /* Options intersect: prefix "a" within [apr, b), reversed. */
    EXPECT(dir, 0, "aq => 8\nap\\xff\\xff => 7\napricot => 3\n", "scan", db,
           "--prefix", "a", "--from", "apr", "--to", "b", "--reverse");
    /* --limit keeps the first N in the printed order. */
    EXPECT(dir, 0, "a\napple\n", "scan", db, "--limit", "2", "--keys-only");
    EXPECT(dir, 0, "\\xff\\x01 => \\x5c\nc => 6\\x0a\n", "scan", db,
           "--reverse", "--limit=2");
    EXPECT(dir, 0, "61 => 31\n6170706c65 => 32\n", "scan", db, "--hex",
           "--limit", "2");
    /* "--" lets the database path start with dashes; no database there. */
    EXPECT_FAIL(dir, "scan", "--", "--nodb");
    /* The scan opened the database read-mostly: everything is still there. */
    EXPECT(dir, 0, "8", "get", db, "aq");
}

/* Random keys over a tiny alphabet, random ranges and prefixes, checked
 * against the sorted list computed here. */
static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_scan_random(void **state)
{
    FIXTURE(state);
    tool_path();
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("test_scan_random"));
    static const char alpha[] = "ab~";
    char keys[24][5];
    const char *sorted[24];
    size_t n = 0;
    cairn_db *h = open_small(db, CAIRN_COMPRESSION_SNAPPY);
    while (n < 24) {
        size_t len = 1 + (size_t)tu_rng_uniform(&rng, 4);
        for (size_t i = 0; i < len; i++)
            keys[n][i] = alpha[tu_rng_uniform(&rng, 3)];
        keys[n][len] = '\0';
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(keys[i], keys[n]) == 0;
        if (dup)
            continue;
        put(h, keys[n], len, "v");
        sorted[n] = keys[n];
        n++;
        if (n == 12)
            assert_int_equal(cairn_db_flush(h), 0);
    }
    assert_int_equal(cairn_db_close(h), 0);
    qsort(sorted, n, sizeof sorted[0], cmp_keys);
    int rounds = (int)(12 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        char from[4] = "", to[4] = "", prefix[3] = "";
        for (int i = 0, m = (int)tu_rng_uniform(&rng, 3); i < m; i++)
            from[i] = alpha[tu_rng_uniform(&rng, 3)];
        for (int i = 0, m = (int)tu_rng_uniform(&rng, 3); i < m; i++)
            to[i] = alpha[tu_rng_uniform(&rng, 3)];
        for (int i = 0, m = (int)tu_rng_uniform(&rng, 3); i < m; i++)
            prefix[i] = alpha[tu_rng_uniform(&rng, 3)];
        int use_to = to[0] != '\0', reverse = (int)tu_rng_uniform(&rng, 2);
        uint64_t limit = tu_rng_uniform(&rng, 4); /* 0: none */
        char want[24 * 6 + 1] = "", sel[24][5];
        size_t nsel = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(sorted[i], from) >= 0 &&
                (!use_to || strcmp(sorted[i], to) < 0) &&
                strncmp(sorted[i], prefix, strlen(prefix)) == 0)
                snprintf(sel[nsel++], 5, "%s", sorted[i]);
        for (size_t i = 0; i < nsel && (limit == 0 || i < limit); i++) {
            strcat(want, sel[reverse ? nsel - 1 - i : i]);
            strcat(want, "\n");
        }
        char lim[32];
        snprintf(lim, sizeof lim, "--limit=%" PRIu64, limit);
        const char *args[12] = {"scan", db,         "--keys-only", "--from",
                                from,   "--prefix", prefix};
        size_t na = 7;
        if (use_to) {
            args[na++] = "--to";
            args[na++] = to;
        }
        if (limit != 0)
            args[na++] = lim;
        if (reverse)
            args[na++] = "--reverse";
        args[na] = NULL;
        run r;
        run_tool(&r, dir, args);
        if (r.code != 0 || strcmp(r.out, want) != 0)
            fprintf(stderr,
                    "round %d: from '%s' to '%s' prefix '%s' %s limit "
                    "%" PRIu64 "\nwant:\n%sgot (exit %d):\n%s%s",
                    round, from, use_to ? to : "(none)", prefix,
                    reverse ? "reverse" : "forward", limit, want, r.code, r.out,
                    r.err);
        assert_int_equal(r.code, 0);
        assert_string_equal(r.out, want);
        run_free(&r);
    }
}

/* ---------------------------------------------------------------------- */
/* Tables: dump, damage, compact and stats                                  */

#define TABLE_KEYS 300

/* One table with TABLE_KEYS values of 100 bytes, uncompressed (so keys
 * can be found in the file), and a deletion of key0007 (the delete is
 * written last, so the table holds it and the value it hides). Returns
 * the table's path in `ldb`. */
static void make_table(const char *db, char *ldb, size_t cap)
{
    cairn_db *h = open_small(db, CAIRN_COMPRESSION_NONE);
    for (int i = 0; i < TABLE_KEYS; i++) {
        char k[16], v[101];
        snprintf(k, sizeof k, "key%04d", i);
        snprintf(v, sizeof v, "value-%04d-%089d", i, 0);
        put(h, k, 7, v);
    }
    assert_int_equal(cairn_db_delete(h, NULL, "key0007", 7), 0);
    assert_int_equal(cairn_db_flush(h), 0);
    assert_int_equal(cairn_db_close(h), 0);
    char names[8][256];
    assert_int_equal(find_files(db, ".ldb", 0, names, 8), 1);
    snprintf(ldb, cap, "%s", names[0]);
}

/* Copies src to dir/name, then overwrites `len` bytes at the first
 * occurrence of `find`; with find NULL, copies only the first `len` bytes
 * (SIZE_MAX: all). Keys are prefix-compressed in blocks, so `find` should
 * be part of a value, which is stored whole. */
static void damaged_copy(const char *src, const char *dir, const char *name,
                         const char *find, size_t len, char *out, size_t cap)
{
    size_t n;
    char *bytes = slurp(src, &n);
    snprintf(out, cap, "%s/%s", dir, name);
    if (find != NULL) {
        char *at = memmem(bytes, n, find, strlen(find));
        assert_non_null(at);
        memset(at, 'X', len);
    } else if (len < n) {
        n = len;
    }
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(bytes);
}

static void test_dump_table(void **state)
{
    FIXTURE(state);
    char ldb[256], path[4200];
    make_table(db, ldb, sizeof ldb);
    lines l = {NULL, 0, 0, 0};
    assert_int_equal(cairn_dump_file(NULL, ldb, collect, &l), 0);
    const char *base = strrchr(ldb, '/') + 1;
    char want[512];
    snprintf(want, sizeof want, "table %s: ", base);
    assert_true(strncmp(l.text, want, strlen(want)) == 0);
    assert_non_null(strstr(l.text, " bytes, filter: bloom\n"));
    snprintf(want, sizeof want, "'key0000' @ 1 : val => 'value-0000-%089d'\n",
             0);
    const char *first = strstr(l.text, want);
    assert_non_null(first);
    const char *del = strstr(l.text, "'key0007' @ 301 : del => ''\n");
    const char *last = strstr(l.text, "'key0299' @ 300 : val => 'value-0299");
    assert_true(del != NULL && last != NULL && first < del && del < last);
    /* The summary counts what was printed. */
    unsigned long long e, v, d, bytes, dmg;
    const char *end = strstr(l.text, "\nend: ");
    assert_non_null(end);
    assert_int_equal(sscanf(end,
                            "\nend: %llu entries (%llu values, %llu "
                            "deletions), %llu data bytes, %llu damaged",
                            &e, &v, &d, &bytes, &dmg),
                     5);
    assert_true(d == 1 && e == v + d && dmg == 0);
    assert_true(v == TABLE_KEYS || v == TABLE_KEYS - 1);
    assert_int_equal(bytes, v * 107 + 7);
    assert_int_equal(l.calls, (int)e + 2);
    /* The tool prints exactly the same lines. */
    if (getenv("CAIRN_TOOL") != NULL) {
        run r;
        RUN_EXPECT(&r, dir, 0, "dump", ldb);
        assert_string_equal(r.out, l.text);
        run_free(&r);
    }
    free(l.text);
    /* The old .sst name is a table too. */
    damaged_copy(ldb, dir, "000777.sst", NULL, SIZE_MAX, path, sizeof path);
    memset(&l, 0, sizeof l);
    l.stop_after = 3; /* print's value stops the dump and is returned */
    assert_int_equal(cairn_dump_file(NULL, path, collect, &l), 42);
    assert_true(strncmp(l.text, "table 000777.sst: ", 18) == 0);
    assert_int_equal(l.calls, 3);
    free(l.text);
}

static void test_dump_damaged_table(void **state)
{
    FIXTURE(state);
    char ldb[256], path[4200];
    make_table(db, ldb, sizeof ldb);
    /* A bad block: what comes before it is printed, then the damage and
     * the summary, and the call returns the error. */
    damaged_copy(ldb, dir, "000778.ldb", "value-0150-", 3, path, sizeof path);
    lines l = {NULL, 0, 0, 0};
    assert_int_equal(cairn_dump_file(NULL, path, collect, &l),
                     CAIRN_CORRUPTION);
    assert_non_null(strstr(cairn_errmsg(), "checksum"));
    assert_non_null(strstr(l.text, "'key0000' @ 1 : val"));
    assert_null(strstr(l.text, "key0150"));
    assert_null(strstr(l.text, "key0299"));
    assert_non_null(strstr(l.text, "!!! damage: "));
    assert_non_null(strstr(l.text, "(dump stopped)\nend: "));
    assert_non_null(strstr(l.text, ", 1 damaged\n"));
    int have_tool = getenv("CAIRN_TOOL") != NULL;
    run r;
    if (have_tool) {
        RUN_EXPECT(&r, dir, 1, "dump", path);
        assert_string_equal(r.out, l.text);
        assert_non_null(strstr(r.err, "checksum"));
        run_free(&r);
    }
    free(l.text);
    /* Too short, and not a table at all: one damage line, no summary. */
    damaged_copy(ldb, dir, "000779.ldb", NULL, 20, path, sizeof path);
    memset(&l, 0, sizeof l);
    assert_int_equal(cairn_dump_file(NULL, path, collect, &l),
                     CAIRN_CORRUPTION);
    assert_int_equal(l.calls, 1);
    assert_non_null(strstr(l.text, "!!! damage: "));
    assert_non_null(strstr(l.text, "too short"));
    free(l.text);
    snprintf(path, sizeof path, "%s/000780.ldb", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        assert_int_equal(fputc('z', f), 'z');
    assert_int_equal(fclose(f), 0);
    memset(&l, 0, sizeof l);
    assert_int_equal(cairn_dump_file(NULL, path, collect, &l),
                     CAIRN_CORRUPTION);
    assert_int_equal(l.calls, 1);
    assert_non_null(strstr(l.text, "!!! damage: "));
    free(l.text);
    if (!have_tool)
        return;
    EXPECT_FAIL(dir, "dump", path);
    /* The database itself: a scan stops at the bad block with exit 1
     * after printing the keys before it. */
    damaged_copy(ldb, dir, "x", "value-0150-", 3, path, sizeof path);
    assert_int_equal(rename(path, ldb), 0);
    RUN_EXPECT(&r, dir, 1, "scan", db, "--keys-only");
    assert_true(strncmp(r.out, "key0000\nkey0001\n", 16) == 0);
    assert_null(strstr(r.out, "key0150"));
    assert_true(strncmp(r.err, "cairn: ", 7) == 0);
    assert_non_null(strstr(r.err, "checksum"));
    run_free(&r);
}

/* An entry whose internal key has no valid type (the builder checks
 * only order): the dump shows it as damage, goes on, and fails at the
 * end. */
static void test_dump_table_bad_key(void **state)
{
    FIXTURE(state);
    char path[4200];
    snprintf(path, sizeof path, "%s/000900.ldb", dir);
    cairn_env *env = cairn_env_default();
    cairn__file *f = NULL;
    assert_int_equal(env->ops->open_write(env, path, &f), 0);
    cairn__table_options topt;
    cairn__table_options_default(&topt);
    cairn__table_builder *tb = NULL;
    assert_int_equal(cairn__table_builder_create(&topt, f, &tb), 0);
    cairn__buf k = CAIRN__BUF_INIT;
    assert_int_equal(
        cairn__ikey_append(&k, cairn__slice_make("a", 1), 1, CAIRN__TYPE_VALUE),
        0);
    assert_int_equal(cairn__table_builder_add(tb, cairn__buf_slice(&k),
                                              cairn__slice_make("x", 1)),
                     0);
    cairn__buf_clear(&k);
    assert_int_equal(cairn__ikey_append(&k, cairn__slice_make("b", 1), 2, 7),
                     0);
    assert_int_equal(cairn__table_builder_add(tb, cairn__buf_slice(&k),
                                              cairn__slice_make("y", 1)),
                     0);
    cairn__buf_clear(&k);
    assert_int_equal(cairn__ikey_append(&k, cairn__slice_make("c", 1), 3,
                                        CAIRN__TYPE_DELETION),
                     0);
    assert_int_equal(cairn__table_builder_add(tb, cairn__buf_slice(&k),
                                              cairn__slice_make("", 0)),
                     0);
    uint64_t size;
    assert_int_equal(cairn__table_builder_finish(tb, &size), 0);
    cairn__table_builder_destroy(tb);
    cairn__buf_fini(&k);
    assert_int_equal(cairn__file_close(f), 0);
    lines l = {NULL, 0, 0, 0};
    assert_int_equal(cairn_dump_file(NULL, path, collect, &l),
                     CAIRN_CORRUPTION);
    assert_non_null(strstr(cairn_errmsg(), "1 damaged entries"));
    const char *want_tail =
        "'a' @ 1 : val => 'x'\n"
        "!!! damage: bad internal key 'b\\x07\\x02\\x00\\x00\\x00\\x00\\x00"
        "\\x00' => 'y'\n"
        "'c' @ 3 : del => ''\n"
        "end: 3 entries (1 values, 1 deletions), 3 data bytes, 1 damaged\n";
    const char *body = strchr(l.text, '\n');
    assert_non_null(body);
    assert_string_equal(body + 1, want_tail);
    free(l.text);
}

/* The file counts "level N: F files" printed by stats and compact. */
static void level_counts(const char *out, unsigned long long counts[7],
                         unsigned long long *total)
{
    for (int i = 0; i < 7; i++) {
        char head[32];
        snprintf(head, sizeof head, "level %d: ", i);
        const char *p = strstr(out, head);
        assert_non_null(p);
        assert_int_equal(sscanf(p + strlen(head), "%llu file", &counts[i]), 1);
    }
    const char *t = strstr(out, "total: ");
    assert_non_null(t);
    assert_int_equal(sscanf(t, "total: %llu file", total), 1);
}

static void test_compact_stats(void **state)
{
    FIXTURE(state);
    tool_path();
    /* Keys written in a scattered order, so every flushed table spans the
     * whole key range and stays in level 0 while compaction is paused. */
    enum { N = 3000 };
    cairn_db *h = open_small(db, CAIRN_COMPRESSION_SNAPPY);
    assert_int_equal(cairn_db_pause_compaction(h), 0);
    for (int i = 0; i < N; i++) {
        char k[16], v[101];
        int key = (int)(((long)i * 1237) % N);
        snprintf(k, sizeof k, "key%05d", key);
        snprintf(v, sizeof v, "%0100d", key);
        put(h, k, 8, v);
    }
    assert_int_equal(cairn_db_flush(h), 0);
    char *p = cairn_db_property(h, "cairn.num-files-at-level0");
    assert_non_null(p);
    unsigned long long l0 = strtoull(p, NULL, 10);
    cairn_free(p);
    assert_true(l0 >= 3);
    assert_int_equal(cairn_db_close(h), 0);

    unsigned long long counts[7], total;
    run r;
    RUN_EXPECT(&r, dir, 0, "compact", db, "--from", "key01000", "--to",
               "key01010");
    level_counts(r.out, counts, &total);
    run_free(&r);
    RUN_EXPECT(&r, dir, 0, "compact", db);
    level_counts(r.out, counts, &total);
    assert_int_equal(counts[0], 0);
    assert_true(total >= 1 && total < l0);
    assert_string_equal(r.err, "");
    run_free(&r);
    RUN_EXPECT(&r, dir, 0, "compact", "--hex", db, "--from", "", "--to",
               "6b6579ff");
    run_free(&r);
    /* Nothing was lost. */
    RUN_EXPECT(&r, dir, 0, "scan", db, "--keys-only");
    size_t nl = 0;
    for (const char *c = r.out; *c != '\0'; c++)
        nl += *c == '\n';
    assert_int_equal(nl, N);
    assert_true(strncmp(r.out, "key00000\nkey00001\n", 18) == 0);
    run_free(&r);

    /* stats: every section, and the counts agree with compact's. */
    unsigned long long again[7], total2;
    RUN_EXPECT(&r, dir, 0, "stats", db);
    static const char *const sections[] = {
        "== cairn.stats ==\n",
        "Level  Files Size(MB)",
        "== files per level (cairn.num-files-at-level<N>) ==\n",
        "== table files (summary of cairn.sstables) ==\n",
        "== cairn.approximate-memory-usage ==\n",
        "Write path\n",
        "commit latency"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        assert_non_null(strstr(r.out, sections[i]));
    level_counts(strstr(r.out, "== files per level"), again, &total2);
    assert_memory_equal(again, counts, sizeof counts);
    assert_int_equal(total2, total);
    /* The summary of cairn.sstables: the same total, with bytes. */
    const char *sum = strstr(r.out, "== table files");
    unsigned long long sf, sb;
    assert_int_equal(
        sscanf(strstr(sum, "total: "), "total: %llu file%*s %llu", &sf, &sb),
        2);
    assert_int_equal(sf, total);
    assert_true(sb > (unsigned long long)N * 8);
    unsigned long long mem;
    assert_int_equal(
        sscanf(strstr(r.out, "usage ==\n") + 9, "%llu bytes", &mem), 1);
    run_free(&r);

    /* One property, either spelling; an unknown one is an engine error. */
    EXPECT(dir, 0, "0\n", "stats", db, "--property",
           "cairn.num-files-at-level0");
    EXPECT(dir, 0, "0\n", "stats", db,
           "--property=leveldb.num-files-at-level0");
    RUN_EXPECT(&r, dir, 0, "stats", db, "--property", "cairn.sstables");
    assert_non_null(strstr(r.out, "--- level 0 ---\n"));
    assert_non_null(strstr(r.out, "'key00000' @ "));
    run_free(&r);
    EXPECT_FAIL(dir, "stats", db, "--property", "cairn.no-such-thing");
    /* Neither command creates a database. */
    char nodb[4200];
    snprintf(nodb, sizeof nodb, "%s/nodb", dir);
    EXPECT_FAIL(dir, "stats", nodb);
    EXPECT_FAIL(dir, "compact", nodb);
    snprintf(nodb, sizeof nodb, "%s/nodb/CURRENT", dir);
    assert_int_not_equal(access(nodb, F_OK), 0);
}

/* Without the driver linked in, bench says so and exits 2; with it, the
 * driver answers. Either way --help works and a bad flag is a usage
 * error. A real benchmark run is not started here. */
static void test_bench(void **state)
{
    FIXTURE(state);
    tool_path();
    run r;
    RUN_EXPECT(&r, dir, 0, "help", "bench");
    assert_non_null(strstr(r.out, "usage: cairn bench"));
    run_free(&r);
    RUN_EXPECT(&r, dir, 0, "bench", "--help");
    assert_true(r.outlen > 0);
    int builtin = strstr(r.out, "usage: cairn bench") == NULL;
    run_free(&r);
    RUN_EXPECT(&r, dir, 2, "bench", "--no-such-flag-at-all");
    assert_true(strlen(r.err) > 0);
    if (!builtin)
        assert_string_equal(r.err,
                            "cairn: this build has no benchmark driver; use "
                            "build/release/bench/cairn_bench\n");
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
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_damaged_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dump_table_bad_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_compact_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bench, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_timed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_keys_keep, setup, teardown),
    };
    tu_watchdog_arm(240, "test_tool");
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    tu_watchdog_disarm();
    return failed;
}
