/*
 * test_tool_bench.c: the benchmark driver, run for real through `cairn
 * bench` with tiny sizes: every workload on every engine compiled in, the
 * three probes, the CSV the comparison script reads, the time box and the
 * usage errors, --writer_rate and memprobe's layouts.
 *
 * Nothing here measures speed (performance lives in the benchmarks). What
 * is checked is that each workload runs to completion and reports what it
 * did: the operation counts, latencies in order (p50 <= p99 <= p99.9 <=
 * max), the CPU column, and the same answers from every engine for the
 * same keys (the generators are seeded alike, so readrandom must find the
 * same number of keys and readseq see the same number of entries in
 * cairn, LevelDB and RocksDB). Without the driver linked into the tool,
 * every test is skipped (test_tool.c checks that case).
 */
#include "cairn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "tool_run.h"

#define NUM     "3000"
#define NUM_INT 3000

/* The database workloads, in the order they are run. */
static const char *const workloads[] = {
    "fillseq",    "fillrandom", "overwrite",        "fillsync",
    "readrandom", "readseq",    "readwhilewriting", "compact",
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

/* Skips the test unless `cairn bench` is the real driver. */
static void need_driver(const char *dir)
{
    tool_path();
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "bench", "--help");
    int builtin = strstr(r.out, "usage: cairn bench") == NULL;
    tool_run_free(&r);
    if (!builtin)
        skip();
}

/* One CSV row, split in place. */
typedef struct row {
    char *f[16];
    int n;
} row;

static void split_row(char *line, row *r)
{
    r->n = 0;
    char *p = line;
    for (;;) {
        assert_true(r->n < 16);
        r->f[r->n++] = p;
        char *c = strchr(p, ',');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
}

static double num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0')
        fail_msg("not a number: '%s'", s);
    return v;
}

/* Checks a row's common columns: engine, workload, threads, and for a
 * timed run latencies in order and a positive rate. Returns ops. */
static double check_row(const row *r, const char *engine, const char *wl,
                        const char *threads)
{
    assert_int_equal(r->n, 12);
    assert_string_equal(r->f[0], engine);
    assert_string_equal(r->f[1], wl);
    assert_string_equal(r->f[2], threads);
    double ops = num(r->f[3]);
    assert_true(ops > 0);
    assert_true(num(r->f[4]) > 0);
    assert_true(num(r->f[5]) > 0);
    double p50 = num(r->f[7]), p99 = num(r->f[8]), p999 = num(r->f[9]),
           mx = num(r->f[10]);
    assert_true(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= mx);
    return ops;
}

/* "found N of M" in the stdout row of workload wl for engine, as N. */
static long found_in(const char *out, const char *wl, const char *engine)
{
    for (const char *p = out; p != NULL && *p != '\0';) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        char w[64], e[64];
        if (sscanf(line, "%63s %63s", w, e) == 2 && strcmp(w, wl) == 0 &&
            strcmp(e, engine) == 0) {
            const char *f = strstr(line, "found ");
            assert_non_null(f);
            return strtol(f + 6, NULL, 10);
        }
        p = eol ? eol + 1 : NULL;
    }
    fail_msg("no %s row for %s in:\n%s", wl, engine, out);
    return -1;
}

/* Every workload on every engine compiled in, then the probes; the CSV
 * and the table agree with what was asked. */
static void test_every_workload_every_engine(void **state)
{
    FIXTURE(state);
    need_driver(dir);
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "bench", "--list-engines");
    char engines[3][16];
    int ne = 0;
    for (char *tok = strtok(r.out, "\n"); tok != NULL && ne < 3;
         tok = strtok(NULL, "\n"))
        snprintf(engines[ne++], sizeof engines[0], "%s", tok);
    tool_run_free(&r);
    assert_true(ne >= 1);
    assert_string_equal(engines[0], "cairn");
#if defined(__SANITIZE_THREAD__)
    /* Debian's LevelDB and RocksDB are not built with ThreadSanitizer,
     * which cannot see their atomics and reports their own lock-free
     * reads as races; under it only cairn runs (the plain and ASan builds
     * compare the engines). */
    ne = 1;
#endif

    char list[64] = "";
    for (int i = 0; i < ne; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i ? "," : "", engines[i]);
    char eng_flag[96], db_flag[4200], csv[4200], csv_flag[4300];
    snprintf(eng_flag, sizeof eng_flag, "--engine=%s", list);
    snprintf(db_flag, sizeof db_flag, "--db=%s/b", dir);
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(csv_flag, sizeof csv_flag, "--csv=%s", csv);
    RUN_EXPECT(&r, dir, 0, "bench", eng_flag,
               "--benchmarks=syncprobe,groupprobe,memprobe,fillseq,fillrandom,"
               "overwrite,fillsync,readrandom,readseq,readwhilewriting,"
               "compact",
               "--num=" NUM, "--threads=2", "--histogram", db_flag, csv_flag);

    size_t len;
    char *text = tool_slurp(csv, &len);
    assert_non_null(text);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "engine,workload,threads,ops,seconds,ops_per_"
                              "sec,MB_per_sec,p50_us,p99_us,p999_us,max_us,"
                              "cpu_cores");
    row rw;
    /* The probes run once, before the engines, and use no database. */
    line = strtok_r(NULL, "\n", &save);
    assert_non_null(line);
    split_row(line, &rw);
    assert_true(check_row(&rw, "disk", "syncprobe", "1") == NUM_INT);
    assert_string_equal(rw.f[11], "");
    line = strtok_r(NULL, "\n", &save);
    assert_non_null(line);
    split_row(line, &rw);
    assert_true(check_row(&rw, "disk", "groupprobe", "2") == NUM_INT);
    assert_string_equal(rw.f[11], "");
    line = strtok_r(NULL, "\n", &save);
    assert_non_null(line);
    split_row(line, &rw);
    assert_true(check_row(&rw, "memory", "memprobe", "2") == NUM_INT);
    assert_true(num(rw.f[11]) > 0); /* cores busy */

    double seq_entries = -1;
    long found = -1;
    for (int e = 0; e < ne; e++) {
        for (size_t k = 0; k < NWORKLOADS; k++) {
            line = strtok_r(NULL, "\n", &save);
            if (line == NULL)
                fail_msg("no %s row for %s", workloads[k], engines[e]);
            split_row(line, &rw);
            double ops = check_row(&rw, engines[e], workloads[k], "2");
            assert_true(num(rw.f[11]) > 0); /* cores busy */
            if (strcmp(workloads[k], "readseq") == 0) {
                /* Every entry, once: at most the keys written, and the
                 * same number in every engine. */
                assert_true(ops <= NUM_INT);
                if (seq_entries < 0)
                    seq_entries = ops;
                assert_true(ops == seq_entries);
            } else if (strcmp(workloads[k], "compact") == 0) {
                assert_true(ops == 1); /* one compaction of everything */
            } else {
                assert_true(ops == NUM_INT);
            }
        }
        long f = found_in(r.out, "readrandom", engines[e]);
        assert_true(f > 0 && f < NUM_INT);
        if (found < 0)
            found = f;
        if (f != found)
            fail_msg("readrandom found %ld keys in %s, %ld in %s", f,
                     engines[e], found, engines[0]);
    }
    assert_null(strtok_r(NULL, "\n", &save));
    free(text);
    tool_run_free(&r);
}

/* --duration stops a run long before --num and says so. */
static void test_duration_stops_a_run(void **state)
{
    FIXTURE(state);
    need_driver(dir);
    char db_flag[4200], csv[4200], csv_flag[4300];
    snprintf(db_flag, sizeof db_flag, "--db=%s/b", dir);
    snprintf(csv, sizeof csv, "%s/r.csv", dir);
    snprintf(csv_flag, sizeof csv_flag, "--csv=%s", csv);
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "bench", "--benchmarks=fillsync", "--num=100000000",
               "--duration=1", "--threads=2", db_flag, csv_flag);
    assert_non_null(strstr(r.out, "stopped by --duration"));
    tool_run_free(&r);
    char *text = tool_slurp(csv, NULL);
    assert_non_null(text);
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    row rw;
    char *second = nl + 1;
    char *end = strchr(second, '\n');
    assert_non_null(end);
    *end = '\0';
    split_row(second, &rw);
    assert_int_equal(rw.n, 12);
    assert_string_equal(rw.f[1], "fillsync");
    double ops = num(rw.f[3]), secs = num(rw.f[4]);
    assert_true(ops > 0 && ops < 100000000.0);
    assert_true(secs >= 0.9 && secs < 30.0);
    /* Not timed: the latency columns are empty. */
    assert_string_equal(rw.f[7], "");
    free(text);
}

/* --writer_rate holds readwhilewriting's writer to its rate: over a 1 s
 * run at 1000 puts/s it may not do more than its schedule allows (an
 * unlimited writer does hundreds of thousands), and it does write. */
static void test_writer_rate(void **state)
{
    FIXTURE(state);
    need_driver(dir);
    char db_flag[4200];
    snprintf(db_flag, sizeof db_flag, "--db=%s/b", dir);
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "bench", "--benchmarks=fillrandom", "--num=20000",
               db_flag);
    tool_run_free(&r);
    /* More gets than a second allows: --duration ends the run at 1 s. */
    RUN_EXPECT(&r, dir, 0, "bench", "--benchmarks=readwhilewriting",
               "--use_existing_db", "--num=1000000000", "--duration=1",
               "--writer_rate=1000", db_flag);
    const char *line = strstr(r.out, "\nreadwhilewriting ");
    assert_non_null(line);
    const char *wp = strstr(line, "writer: ");
    assert_non_null(wp);
    long puts = strtol(wp + 8, NULL, 10);
    double secs = 0;
    char wl[64], eng[64];
    int thr;
    unsigned long long ops;
    assert_int_equal(
        sscanf(line + 1, "%63s %63s %d %llu %lf", wl, eng, &thr, &ops, &secs),
        5);
    if (puts < 1 || (double)puts > 1000.0 * secs * 1.5 + 50.0)
        fail_msg("writer did %ld puts in %.3f s at --writer_rate=1000", puts,
                 secs);
    tool_run_free(&r);
    RUN_EXPECT(&r, dir, 2, "bench", "--writer_rate=fast");
    assert_non_null(strstr(r.err, "--writer_rate"));
    tool_run_free(&r);
}

/* memprobe in each of its layouts puts every entry and says which layout
 * it measured. */
static void test_memprobe_layouts(void **state)
{
    FIXTURE(state);
    need_driver(dir);
    /* The flag, the engine column (the CSV tells the layouts apart by
     * it), the note. */
    static const char *const layouts[][3] = {
        {"shared", "memory", "shared memtable, 1 shard"},
        {"percpu", "percpu", "percpu memtable, "},
        {"percpu_log", "percpu_log", "percpu_log memtable + shared log, "},
    };
    for (size_t i = 0; i < 3; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--memprobe_layout=%s", layouts[i][0]);
        tool_run r;
        RUN_EXPECT(&r, dir, 0, "bench", "--benchmarks=memprobe", flag,
                   "--threads=3", "--num=3000");
        const char *line = strstr(r.out, "\nmemprobe ");
        if (line == NULL)
            fail_msg("%s: no memprobe row: %s", flag, r.out);
        char wl[64], eng[64];
        int thr;
        unsigned long long ops;
        assert_int_equal(
            sscanf(line + 1, "%63s %63s %d %llu", wl, eng, &thr, &ops), 4);
        assert_string_equal(eng, layouts[i][1]);
        assert_int_equal(thr, 3);
        assert_int_equal(ops, 3000);
        if (strstr(line, layouts[i][2]) == NULL)
            fail_msg("%s: the row does not name the layout: %s", flag, line);
        tool_run_free(&r);
    }
    /* A value larger than the probe's usual log buffer (1 MiB): the buffer
     * must grow to hold it (the ASan build checks the copies). */
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "bench", "--benchmarks=memprobe",
               "--memprobe_layout=percpu_log", "--threads=2", "--num=6",
               "--value_size=1500000");
    assert_non_null(strstr(r.out, "\nmemprobe "));
    tool_run_free(&r);
}

/* groupprobe --groupprobe_gather=1 holds each sync until every thread
 * has appended: with 8 threads its syncs carry about 8 writes each (the
 * textbook probe's carry about half as many, since threads come back
 * while a sync runs), and its row says so. */
static void test_groupprobe_full_groups(void **state)
{
    FIXTURE(state);
    need_driver(dir);
    tool_run r;
    RUN_EXPECT(&r, dir, 0, "bench", "--benchmarks=groupprobe",
               "--groupprobe_gather=1", "--threads=8", "--num=800");
    const char *line = strstr(r.out, "\ngroupprobe ");
    if (line == NULL)
        fail_msg("no groupprobe row: %s", r.out);
    char wl[64], eng[64];
    int thr;
    unsigned long long ops;
    assert_int_equal(sscanf(line + 1, "%63s %63s %d %llu", wl, eng, &thr, &ops),
                     4);
    assert_string_equal(eng, "fullgroup");
    assert_int_equal(thr, 8);
    assert_int_equal(ops, 800);
    const char *w = strstr(line, "full groups, no db, ");
    if (w == NULL)
        fail_msg("the row does not say full groups: %s", line);
    double per_sync = strtod(w + strlen("full groups, no db, "), NULL);
    /* Not exactly 8: the last syncs of a run have fewer threads left, and
     * a thread descheduled for over 10 ms lets a sync go without it. */
    if (per_sync < 6.0)
        fail_msg("%.1f writes per sync with 8 threads: %s", per_sync, line);
    tool_run_free(&r);
}

/* Bad flags are usage errors (exit 2) that name the flag. */
static void test_usage_errors(void **state)
{
    FIXTURE(state);
    need_driver(dir);
    static const char *const bad[][2] = {
        {"--engine=nosuch", "nosuch"},
        {"--threads=0", "--threads"},
        {"--num=-1", "--num"},
        {"--benchmarks=nosuch", "nosuch"},
        {"--value_size=x", "value_size"},
        {"--cairn-opt=bogus", "cairn-opt"},
        {"--memprobe_layout=ring", "memprobe_layout"},
        {"--groupprobe_gather=2", "groupprobe_gather"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tool_run r;
        RUN_EXPECT(&r, dir, 2, "bench", bad[i][0]);
        if (strstr(r.err, bad[i][1]) == NULL)
            fail_msg("%s: stderr does not name it: %s", bad[i][0], r.err);
        tool_run_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TOOL_TEST(test_every_workload_every_engine),
        TOOL_TEST(test_duration_stops_a_run),
        TOOL_TEST(test_writer_rate),
        TOOL_TEST(test_memprobe_layouts),
        TOOL_TEST(test_groupprobe_full_groups),
        TOOL_TEST(test_usage_errors),
    };
    return tool_run_tests("test_tool_bench", tests,
                          sizeof tests / sizeof tests[0]);
}
