/*
 * syncprobe.c: the disk's raw append + fdatasync rate, measured in the same
 * run as the engines.
 *
 * A one-thread fillsync cannot beat the device: each acknowledged write
 * needs its log append to reach stable storage, which costs one fdatasync.
 * This probe does exactly that and nothing else: append 100 bytes to a
 * scratch file in the benchmark directory, fdatasync, repeat --num times.
 * The file grows like a write-ahead log does, so every fdatasync also
 * commits the new file size, as a log sync does. Engines with group commit
 * can beat this rate with many threads (one sync covers several writers);
 * with one thread, a fillsync rate well above it means some write was not
 * really made durable.
 *
 * Always one thread, whatever --threads says; the result row says 1.
 * --duration ends it early like the workloads.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROBE_BYTES 100

/* Syncs directory dir so that the probe file's creation is not part of the
 * first timed fdatasync. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int bench_syncprobe_run(const struct bench_config *cfg, const char *dir,
                        struct bench_result *res, struct bench_msg *msg)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/syncprobe.tmp", dir) >=
        sizeof(path))
        return bench_fail(msg, "syncprobe: directory name too long");

    bench_result_start(res, "syncprobe", "disk", 1, cfg->histogram);

    int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return bench_fail(msg, "syncprobe: open %s: %s", path, strerror(errno));
    sync_dir(dir);

    char buf[PROBE_BYTES];
    memset(buf, 'x', sizeof(buf));
    buf[sizeof(buf) - 1] = '\n';

    int rc = 0;
    uint64_t start = bench_now_ns(), prev = start, last_report = start;
    uint64_t limit = cfg->duration > 0 ? (uint64_t)(cfg->duration * 1e9) : 0;
    for (uint64_t i = 0; i < cfg->num; i++) {
        if (limit != 0 && prev - start >= limit)
            break;
        ssize_t n = write(fd, buf, sizeof(buf));
        if (n != (ssize_t)sizeof(buf)) {
            rc = bench_fail(msg, "syncprobe: write %s: %s", path,
                            n < 0 ? strerror(errno) : "short write");
            break;
        }
        if (fdatasync(fd) != 0) {
            rc = bench_fail(msg, "syncprobe: fdatasync %s: %s", path,
                            strerror(errno));
            break;
        }
        uint64_t now = bench_now_ns();
        if (cfg->histogram)
            bench_hist_add(&res->hist, now - prev);
        prev = now;
        res->ops++;
        res->bytes += PROBE_BYTES;
        /* Same cadence as the workloads' progress line. */
        if (now - start >= 3000000000ull &&
            now - last_report >= 2000000000ull) {
            last_report = now;
            fprintf(stderr, "... syncprobe: %llu/%llu syncs %.0f/s\n",
                    (unsigned long long)res->ops, (unsigned long long)cfg->num,
                    (double)res->ops / ((double)(now - start) / 1e9));
        }
    }
    res->seconds = (double)(prev - start) / 1e9;
    snprintf(res->note, sizeof(res->note), "append %d B + fdatasync",
             PROBE_BYTES);
    if (close(fd) != 0 && rc == 0)
        rc = bench_fail(msg, "syncprobe: close %s: %s", path, strerror(errno));
    if (unlink(path) != 0 && rc == 0)
        rc = bench_fail(msg, "syncprobe: unlink %s: %s", path, strerror(errno));
    return rc;
}
