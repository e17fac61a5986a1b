/*
 * test_tool_scan.c: `cairn scan`, `cairn compact` and `cairn stats` run
 * as a real program on databases written through the C API with a small
 * write buffer (the tool has no such knob), so that keys live both in
 * tables and in the log.
 *
 * The tool runs through tests/support/tool_run.h (fork and exec of
 * $CAIRN_TOOL, set by CTest; without it every test here is skipped).
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
/* scan                                                                     */

/* Nine keys, some in a table and some only in the log, plus a deleted
 * one; the scan must merge both and hide the deletion. */
static void make_scan_db(const char *db)
{
    cairn_db *h = tool_open_small(db, CAIRN_COMPRESSION_SNAPPY);
    tool_put(h, "banana", 6, "5");
    tool_put(h, "apple", 5, "2");
    tool_put(h, "gone", 4, "x");
    tool_put(h, "\xff\x01", 2, "\\");
    tool_put(h, "ap\xff\xff", 4, "7");
    assert_int_equal(cairn_db_flush(h), 0);
    tool_put(h, "a", 1, "1");
    tool_put(h, "apricot", 7, "3");
    tool_put(h, "aq", 2, "8");
    tool_put(h, "b", 1, "4");
    tool_put(h, "c", 1, "6\n");
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
    cairn_db *h = tool_open_small(db, CAIRN_COMPRESSION_SNAPPY);
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
        tool_put(h, keys[n], len, "v");
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
        tool_run r;
        tool_exec(&r, dir, args);
        if (r.code != 0 || strcmp(r.out, want) != 0)
            fprintf(stderr,
                    "round %d: from '%s' to '%s' prefix '%s' %s limit "
                    "%" PRIu64 "\nwant:\n%sgot (exit %d):\n%s%s",
                    round, from, use_to ? to : "(none)", prefix,
                    reverse ? "reverse" : "forward", limit, want, r.code, r.out,
                    r.err);
        assert_int_equal(r.code, 0);
        assert_string_equal(r.out, want);
        tool_run_free(&r);
    }
}

/* ---------------------------------------------------------------------- */
/* compact and stats                                                        */

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
    cairn_db *h = tool_open_small(db, CAIRN_COMPRESSION_SNAPPY);
    assert_int_equal(cairn_db_pause_compaction(h), 0);
    for (int i = 0; i < N; i++) {
        char k[16], v[101];
        int key = (int)(((long)i * 1237) % N);
        snprintf(k, sizeof k, "key%05d", key);
        snprintf(v, sizeof v, "%0100d", key);
        tool_put(h, k, 8, v);
    }
    assert_int_equal(cairn_db_flush(h), 0);
    char *p = cairn_db_property(h, "cairn.num-files-at-level0");
    assert_non_null(p);
    unsigned long long l0 = strtoull(p, NULL, 10);
    cairn_free(p);
    assert_true(l0 >= 3);
    assert_int_equal(cairn_db_close(h), 0);

    unsigned long long counts[7], total;
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "compact", db, "--from", "key01000", "--to",
               "key01010");
    level_counts(r.out, counts, &total);
    tool_run_free(&r);
    RUN_EXPECT(&r, dir, 0, "compact", db);
    level_counts(r.out, counts, &total);
    assert_int_equal(counts[0], 0);
    assert_true(total >= 1 && total < l0);
    assert_string_equal(r.err, "");
    tool_run_free(&r);
    RUN_EXPECT(&r, dir, 0, "compact", "--hex", db, "--from", "", "--to",
               "6b6579ff");
    tool_run_free(&r);
    /* Nothing was lost. */
    RUN_EXPECT(&r, dir, 0, "scan", db, "--keys-only");
    size_t nl = 0;
    for (const char *c = r.out; *c != '\0'; c++)
        nl += *c == '\n';
    assert_int_equal(nl, N);
    assert_true(strncmp(r.out, "key00000\nkey00001\n", 18) == 0);
    tool_run_free(&r);

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
    tool_run_free(&r);

    /* One property, either spelling; an unknown one is an engine error. */
    EXPECT(dir, 0, "0\n", "stats", db, "--property",
           "cairn.num-files-at-level0");
    EXPECT(dir, 0, "0\n", "stats", db,
           "--property=leveldb.num-files-at-level0");
    RUN_EXPECT(&r, dir, 0, "stats", db, "--property", "cairn.sstables");
    assert_non_null(strstr(r.out, "--- level 0 ---\n"));
    assert_non_null(strstr(r.out, "'key00000' @ "));
    tool_run_free(&r);
    EXPECT_FAIL(dir, "stats", db, "--property", "cairn.no-such-thing");
    /* Neither command creates a database. */
    char nodb[4200];
    snprintf(nodb, sizeof nodb, "%s/nodb", dir);
    EXPECT_FAIL(dir, "stats", nodb);
    EXPECT_FAIL(dir, "compact", nodb);
    snprintf(nodb, sizeof nodb, "%s/nodb/CURRENT", dir);
    assert_int_not_equal(access(nodb, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TOOL_TEST(test_scan),
        TOOL_TEST(test_scan_random),
        TOOL_TEST(test_compact_stats),
    };
    return tool_run_tests("test_tool_scan", tests,
                          sizeof tests / sizeof tests[0]);
}
