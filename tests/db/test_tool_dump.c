/*
 * test_tool_dump.c: cairn_dump_file, called directly, and `cairn dump`
 * run as a real program, on logs, MANIFESTs and tables, whole and
 * damaged.
 *
 * The tool runs through tests/support/tool_run.h (fork and exec of
 * $CAIRN_TOOL, set by CTest); tests that need the tool are skipped
 * without it, and the others leave out their tool half. Databases with
 * tables in them are written through the C API with a small write buffer,
 * closed, and then dumped.
 */
#include "cairn.h"

#include "env/env.h"
#include "table/table_builder.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "tool_run.h"

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
    size_t n = tool_find_files(db, ".log", 0, names, 64);
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
    char *bytes = tool_slurp(log, &len);
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
        tool_run r;
        RUN_EXPECT(&r, dir, 0, "dump", log);
        assert_non_null(strstr(r.out, "checksum mismatch"));
        tool_run_free(&r);
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
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "dump", log);
    assert_non_null(strstr(r.out, "  put 'k1' => 'value-0001'\n"));
    assert_non_null(strstr(r.out, "  del 'k1'\n"));
    /* Non-printable bytes, the quote and the backslash are escaped. */
    assert_non_null(strstr(r.out, "  put '\\x00\\xff\\x27' => '\\x5c'\n"));
    assert_non_null(strstr(r.out, "end: 4 records, 0 damaged"));
    assert_null(strstr(r.out, "!!!"));
    assert_string_equal(r.err, "");
    tool_run_free(&r);
    char names[64][256];
    assert_int_equal(tool_find_files(db, "MANIFEST-", 1, names, 64), 1);
    RUN_EXPECT(&r, dir, 0, "dump", names[0]);
    assert_non_null(strstr(r.out, "leveldb.BytewiseComparator"));
    assert_non_null(strstr(r.out, "NextFile: "));
    tool_run_free(&r);
    /* Not a database file, or missing: exit 1 with the library's reason. */
    char path[4200];
    snprintf(path, sizeof path, "%s/CURRENT", db);
    EXPECT_FAIL(dir, "dump", path);
    snprintf(path, sizeof path, "%s/999999.log", db);
    RUN_EXPECT(&r, dir, 1, "dump", path);
    assert_non_null(strstr(r.err, "999999.log"));
    tool_run_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Tables                                                                   */

#define TABLE_KEYS 300

/* One table with TABLE_KEYS values of 100 bytes, uncompressed (so keys
 * can be found in the file), and a deletion of key0007 (the delete is
 * written last, so the table holds it and the value it hides). Returns
 * the table's path in `ldb`. */
static void make_table(const char *db, char *ldb, size_t cap)
{
    cairn_db *h = tool_open_small(db, CAIRN_COMPRESSION_NONE);
    for (int i = 0; i < TABLE_KEYS; i++) {
        char k[16], v[101];
        snprintf(k, sizeof k, "key%04d", i);
        snprintf(v, sizeof v, "value-%04d-%089d", i, 0);
        tool_put(h, k, 7, v);
    }
    assert_int_equal(cairn_db_delete(h, NULL, "key0007", 7), 0);
    assert_int_equal(cairn_db_flush(h), 0);
    assert_int_equal(cairn_db_close(h), 0);
    char names[8][256];
    assert_int_equal(tool_find_files(db, ".ldb", 0, names, 8), 1);
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
    char *bytes = tool_slurp(src, &n);
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
        tool_run r;
        RUN_EXPECT(&r, dir, 0, "dump", ldb);
        assert_string_equal(r.out, l.text);
        tool_run_free(&r);
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
    tool_run r;
    if (have_tool) {
        RUN_EXPECT(&r, dir, 1, "dump", path);
        assert_string_equal(r.out, l.text);
        assert_non_null(strstr(r.err, "checksum"));
        tool_run_free(&r);
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
    tool_run_free(&r);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        TOOL_TEST(test_dump),
        TOOL_TEST(test_dump_file_api),
        TOOL_TEST(test_dump_damaged_log),
        TOOL_TEST(test_dump_table),
        TOOL_TEST(test_dump_damaged_table),
        TOOL_TEST(test_dump_table_bad_key),
    };
    return tool_run_tests("test_tool_dump", tests,
                          sizeof tests / sizeof tests[0]);
}
