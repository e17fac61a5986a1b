/*
 * groupprobe.c: the ceiling of synced writes by many threads on this
 * machine, measured without any database, in the same run as the engines.
 *
 * syncprobe gives the one-thread ceiling (one fdatasync per write). With
 * many threads, group commit lets one fdatasync cover many writers, and
 * then the ceiling is set by how fast the machine can put threads to sleep
 * and wake them again, as well as by the disk: a synced write cannot be
 * acknowledged before its fdatasync ends, so a writer that has appended
 * must wait, and with more threads than cores it must sleep.
 *
 * This probe is the textbook group commit and nothing else: --threads
 * threads each append 100 bytes to a shared buffer under one mutex and
 * wait on a condition variable until an fdatasync covers them; whichever
 * waiter finds no sync running takes everything buffered, writes it to a
 * preallocated scratch file with one pwrite(2), runs one fdatasync, and
 * broadcasts. No
 * keys, no memtable, no checksums. It runs --num appends in all, or for
 * --duration seconds.
 *
 * Not an upper bound for every design (a cleverer wake-up scheme can do a
 * little better), but the order of magnitude of what blocking waits
 * allow here: a fillsync figure far above it would need writers that do
 * not sleep, which 64 threads on 2 cores cannot afford.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROBE_BYTES 100
/* The scratch file is allocated up front, as cairn's log is, so that a
 * sync writes back data and never a new file size. */
#define PROBE_FILE_BYTES (64u << 20)

typedef struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    char *buf; /* appended, not yet written; Locked: mu */
    size_t len, cap;
    uint64_t appended, durable; /* appends counted; Locked: mu */
    int syncing;                /* Locked: mu */
    uint64_t syncs;             /* fdatasyncs that succeeded; Locked: mu */
    int err;                    /* errno of a failed write/sync; Locked: mu */
    uint64_t num, limit_ns, start;
    uint64_t taken; /* appends handed out; Locked: mu */
    uint64_t off;   /* next write offset; only the syncer touches it */
    int timed;
} probe;

typedef struct probe_thread {
    probe *p;
    pthread_t th;
    uint64_t ops;
    struct bench_hist hist;
} probe_thread;

/* One synced append; 0 or an errno. */
static int probe_write(probe *p, const char *rec)
{
    pthread_mutex_lock(&p->mu);
    if (p->len + PROBE_BYTES > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64 * 1024;
        char *nb = realloc(p->buf, cap);
        if (nb == NULL) {
            pthread_mutex_unlock(&p->mu);
            return ENOMEM;
        }
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, rec, PROBE_BYTES);
    p->len += PROBE_BYTES;
    uint64_t mine = ++p->appended;
    while (p->durable < mine && p->err == 0) {
        if (p->syncing) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        /* Sync everything appended so far. The buffer is swapped out so
         * that others append while this thread writes and syncs. */
        p->syncing = 1;
        uint64_t target = p->appended;
        char *out = p->buf;
        size_t n = p->len;
        p->buf = NULL;
        p->len = p->cap = 0;
        pthread_mutex_unlock(&p->mu);
        int err = 0;
        size_t done = 0;
        while (done < n && err == 0) {
            if (p->off + (n - done) > PROBE_FILE_BYTES)
                p->off = 0; /* wrap: the file keeps its preallocated size */
            ssize_t w = pwrite(p->fd, out + done, n - done, (off_t)p->off);
            if (w < 0 && errno != EINTR) {
                err = errno;
            } else if (w > 0) {
                done += (size_t)w;
                p->off += (uint64_t)w;
            }
        }
        if (err == 0 && fdatasync(p->fd) != 0)
            err = errno;
        free(out);
        pthread_mutex_lock(&p->mu);
        p->syncing = 0;
        if (err != 0)
            p->err = err;
        else {
            p->durable = target;
            p->syncs++;
        }
        pthread_cond_broadcast(&p->cv);
    }
    int err = p->err;
    pthread_mutex_unlock(&p->mu);
    return err;
}

static void *probe_main(void *arg)
{
    probe_thread *t = arg;
    probe *p = t->p;
    char rec[PROBE_BYTES];
    memset(rec, 'g', sizeof rec);
    rec[sizeof rec - 1] = '\n';
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int go = p->taken < p->num && p->err == 0;
        if (go)
            p->taken++;
        pthread_mutex_unlock(&p->mu);
        uint64_t t0 = bench_now_ns();
        if (!go || (p->limit_ns != 0 && t0 - p->start >= p->limit_ns))
            break;
        if (probe_write(p, rec) != 0)
            break;
        if (p->timed)
            bench_hist_add(&t->hist, bench_now_ns() - t0);
        t->ops++;
    }
    return NULL;
}

int bench_groupprobe_run(const struct bench_config *cfg, const char *dir,
                         struct bench_result *res, struct bench_msg *msg)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/groupprobe.tmp", dir) >=
        sizeof(path))
        return bench_fail(msg, "groupprobe: directory name too long");
    bench_result_start(res, "groupprobe", "disk", cfg->threads, cfg->histogram);

    probe p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p.fd < 0)
        return bench_fail(msg, "groupprobe: open %s: %s", path,
                          strerror(errno));
    int prc = posix_fallocate(p.fd, 0, PROBE_FILE_BYTES);
    if (prc != 0 || fsync(p.fd) != 0) {
        close(p.fd);
        unlink(path);
        return bench_fail(msg, "groupprobe: allocate %s: %s", path,
                          strerror(prc != 0 ? prc : errno));
    }
    p.num = cfg->num;
    p.limit_ns = cfg->duration > 0 ? (uint64_t)(cfg->duration * 1e9) : 0;
    p.timed = cfg->histogram;
    int n = cfg->threads > 0 ? cfg->threads : 1;
    probe_thread *ts = calloc((size_t)n, sizeof *ts);
    int rc = 0;
    if (ts == NULL) {
        rc = bench_fail(msg, "groupprobe: out of memory");
        goto out;
    }
    p.start = bench_now_ns();
    int started = 0;
    for (; started < n; started++) {
        ts[started].p = &p;
        bench_hist_init(&ts[started].hist);
        if (pthread_create(&ts[started].th, NULL, probe_main, &ts[started]) !=
            0) {
            rc = bench_fail(msg, "groupprobe: cannot start thread");
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(ts[i].th, NULL);
        res->ops += ts[i].ops;
        bench_hist_merge(&res->hist, &ts[i].hist);
    }
    res->seconds = (double)(bench_now_ns() - p.start) / 1e9;
    res->bytes = res->ops * PROBE_BYTES;
    if (rc == 0 && p.err != 0)
        rc = bench_fail(msg, "groupprobe: write/fdatasync %s: %s", path,
                        strerror(p.err));
    snprintf(res->note, sizeof(res->note),
             "append %d B, group fdatasync, no db, %.1f writes per sync",
             PROBE_BYTES, p.syncs ? (double)res->ops / (double)p.syncs : 0.0);
out:
    free(ts);
    free(p.buf);
    if (close(p.fd) != 0 && rc == 0)
        rc = bench_fail(msg, "groupprobe: close %s: %s", path, strerror(errno));
    if (unlink(path) != 0 && rc == 0)
        rc =
            bench_fail(msg, "groupprobe: unlink %s: %s", path, strerror(errno));
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    return rc;
}
