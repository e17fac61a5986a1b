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
 *
 * --groupprobe_gather=1 makes every group full: the thread that would
 * sync first waits until every running thread has appended (each has one
 * write outstanding at most, so then all of them wait for this sync) or
 * 10 ms have passed. That is the best any batching policy can do for the
 * number of writes per sync with one sync at a time, so its rate against
 * the textbook probe's is what holding syncs open (cairn's batch-wait)
 * can win on this machine: the threads one sync wakes must all be
 * rescheduled and append again before the next one starts.
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
    /* Full groups (--groupprobe_gather): the syncer waits until every
     * running thread has appended, so each sync carries all of them. */
    int gather;
    int active;         /* threads still writing; Locked: mu */
    pthread_cond_t gcv; /* an append or an exit while the syncer gathers */
} probe;

typedef struct probe_thread {
    probe *p;
    pthread_t th;
    uint64_t ops;
    struct bench_hist hist;
} probe_thread;

/* Holds the sync until every running thread has appended (each has at
 * most one write outstanding, so then all of them wait for this sync), or
 * GATHER_MAX_NS have passed: a thread descheduled for long does not stall
 * the others forever. mu held. */
#define GATHER_MAX_NS 10000000u
static void gather_all(probe *p)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += GATHER_MAX_NS;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (p->appended - p->durable < (uint64_t)p->active && p->err == 0)
        if (pthread_cond_timedwait(&p->gcv, &p->mu, &dl) == ETIMEDOUT)
            break;
}

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
    if (p->gather)
        pthread_cond_signal(&p->gcv);
    while (p->durable < mine && p->err == 0) {
        if (p->syncing) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        /* Sync everything appended so far. The buffer is swapped out so
         * that others append while this thread writes and syncs. */
        p->syncing = 1;
        if (p->gather)
            gather_all(p);
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
    pthread_mutex_lock(&p->mu);
    p->active--;
    pthread_cond_signal(&p->gcv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int bench_groupprobe_run(const struct bench_config *cfg, const char *dir,
                         struct bench_result *res, struct bench_msg *msg)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/groupprobe.tmp", dir) >=
        sizeof(path))
        return bench_fail(msg, "groupprobe: directory name too long");
    /* The engine column tells the two kinds of group apart in a CSV. */
    bench_result_start(res, "groupprobe",
                       cfg->groupprobe_gather ? "fullgroup" : "disk",
                       cfg->threads, cfg->histogram);

    probe p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_cond_init(&p.gcv, NULL);
    p.gather = cfg->groupprobe_gather;
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
    p.active = n; /* before any thread runs: an exit decrements it */
    int started = 0;
    for (; started < n; started++) {
        ts[started].p = &p;
        bench_hist_init(&ts[started].hist);
        if (pthread_create(&ts[started].th, NULL, probe_main, &ts[started]) !=
            0) {
            rc = bench_fail(msg, "groupprobe: cannot start thread");
            pthread_mutex_lock(&p.mu);
            p.active -= n - started; /* they never ran */
            pthread_cond_signal(&p.gcv);
            pthread_mutex_unlock(&p.mu);
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
             "append %d B, group fdatasync%s, no db, %.1f writes per sync",
             PROBE_BYTES, p.gather ? " of full groups" : "",
             p.syncs ? (double)res->ops / (double)p.syncs : 0.0);
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
    pthread_cond_destroy(&p.gcv);
    return rc;
}
