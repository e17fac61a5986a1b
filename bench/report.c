/*
 * report.c: the results table on stdout and the CSV rows.
 *
 * The table is for people: one row per workload and engine, printed as soon
 * as the workload ends so that a long run shows its results as it goes.
 * The CSV is for scripts (scripts/bench-compare.sh): one row appended per
 * workload, with this header, written when the file is empty:
 *
 *   engine,workload,threads,ops,seconds,ops_per_sec,MB_per_sec,
 *   p50_us,p99_us,p999_us,max_us,cpu_cores
 *
 * MB is 2^20 bytes (db_bench's unit), counting key and value bytes of every
 * write and of every value found by a read. The latency columns are empty
 * when the run was not timed (no --histogram). cpu_cores ("cores" in the
 * table) is the process's CPU time over the run's wall time, every thread
 * counted, the engine's background work included; empty for the probes.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static double per_sec(const struct bench_result *res, double amount)
{
    return res->seconds > 0.0 ? amount / res->seconds : 0.0;
}

void bench_report_header(void)
{
    printf("%-16s %-8s %4s %10s %8s %11s %8s %9s %9s %9s %10s %5s  %s\n",
           "workload", "engine", "thr", "ops", "secs", "ops/s", "MB/s",
           "p50_us", "p99_us", "p99.9_us", "max_us", "cores", "note");
    fflush(stdout);
}

void bench_report_row(const struct bench_result *res)
{
    char lat[4][16];
    static const double qs[3] = {0.50, 0.99, 0.999};
    for (int i = 0; i < 4; i++) {
        if (!res->timed || res->hist.count == 0) {
            snprintf(lat[i], sizeof(lat[i]), "-");
            continue;
        }
        double ns = i < 3 ? bench_hist_percentile(&res->hist, qs[i])
                          : (double)res->hist.max_ns;
        snprintf(lat[i], sizeof(lat[i]), "%.2f", ns / 1e3);
    }
    char cores[16] = "-";
    if (res->cpu_cores > 0.0)
        snprintf(cores, sizeof(cores), "%.2f", res->cpu_cores);
    printf(
        "%-16s %-8s %4d %10llu %8.3f %11.1f %8.2f %9s %9s %9s %10s %5s  %s\n",
        res->workload, res->engine, res->threads, (unsigned long long)res->ops,
        res->seconds, per_sec(res, (double)res->ops),
        per_sec(res, (double)res->bytes) / 1048576.0, lat[0], lat[1], lat[2],
        lat[3], cores, res->note);
    fflush(stdout);
}

int bench_report_csv(const char *path, const struct bench_result *res,
                     struct bench_msg *msg)
{
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return bench_fail(msg, "open %s: %s", path, strerror(errno));
    int rc = 0;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) == 0)
        fprintf(f, "engine,workload,threads,ops,seconds,ops_per_sec,"
                   "MB_per_sec,p50_us,p99_us,p999_us,max_us,cpu_cores\n");
    fprintf(f, "%s,%s,%d,%llu,%.6f,%.1f,%.3f", res->engine, res->workload,
            res->threads, (unsigned long long)res->ops, res->seconds,
            per_sec(res, (double)res->ops),
            per_sec(res, (double)res->bytes) / 1048576.0);
    if (res->timed && res->hist.count > 0)
        fprintf(f, ",%.3f,%.3f,%.3f,%.3f",
                bench_hist_percentile(&res->hist, 0.50) / 1e3,
                bench_hist_percentile(&res->hist, 0.99) / 1e3,
                bench_hist_percentile(&res->hist, 0.999) / 1e3,
                (double)res->hist.max_ns / 1e3);
    else
        fprintf(f, ",,,,");
    if (res->cpu_cores > 0.0)
        fprintf(f, ",%.3f\n", res->cpu_cores);
    else
        fprintf(f, ",\n");
    if (ferror(f))
        rc = bench_fail(msg, "write %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == 0)
        rc = bench_fail(msg, "close %s: %s", path, strerror(errno));
    return rc;
}
