/*
 * testutil.c: see testutil.h. Test-only code: it may call the C library
 * and POSIX directly.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int tempdir_counter;

char *tu_tempdir(const char *tag)
{
    const char *base = getenv("CAIRN_TEST_TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    mkdir(base, 0755);
    char *path = malloc(4096);
    if (path == NULL)
        abort();
    int n = atomic_fetch_add(&tempdir_counter, 1);
    snprintf(path, 4096, "%s/cairn-%s-%d-%d", base, tag, (int)getpid(), n);
    tu_rmtree(path);
    if (mkdir(path, 0755) != 0) {
        fprintf(stderr, "tu_tempdir: mkdir %s: %s\n", path, strerror(errno));
        abort();
    }
    return path;
}

void tu_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            tu_rmtree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

uint64_t tu_seed(const char *test_name)
{
    const char *s = getenv("CAIRN_TEST_SEED");
    uint64_t seed;
    if (s != NULL && s[0] != '\0') {
        seed = strtoull(s, NULL, 10);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
        seed &= 0x7fffffffffffULL;
    }
    fprintf(stderr, "%s: seed=%llu (replay with CAIRN_TEST_SEED=%llu)\n",
            test_name, (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

void tu_rng_init(tu_rng *r, uint64_t seed)
{
    r->s = seed ? seed * 0x9E3779B97F4A7C15ULL : 0x12345678ULL;
    if (r->s == 0)
        r->s = 1;
}

uint64_t tu_rng_next(tu_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint64_t tu_rng_uniform(tu_rng *r, uint64_t n)
{
    return tu_rng_next(r) % n;
}

void tu_rng_bytes(tu_rng *r, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        uint64_t v = tu_rng_next(r);
        size_t k = n < 8 ? n : 8;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cv = PTHREAD_COND_INITIALIZER;
static int wd_armed;
static int wd_generation;
static pthread_t wd_thread;
static unsigned wd_seconds;
static char wd_what[256];
static void (*wd_fire_fn)(void *);
static void *wd_fire_arg;

void tu_watchdog_on_fire(void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&wd_mu);
    wd_fire_fn = fn;
    wd_fire_arg = arg;
    pthread_mutex_unlock(&wd_mu);
}

/* Prints every thread's stack to stderr with gdb, if it is installed
 * (scripts/deps.sh installs it): a hang is found from where each thread
 * waits. Best effort; a failure only leaves the stacks out. */
static void dump_stacks(void)
{
    if (access("/usr/bin/gdb", X_OK) != 0) {
        fprintf(stderr, "WATCHDOG: no /usr/bin/gdb, so no thread stacks\n");
        return;
    }
    /* Where Yama restricts ptrace to descendants, let gdb attach. */
    (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "timeout 120 /usr/bin/gdb -p %d -batch -nx "
             "-ex 'thread apply all bt' </dev/null 1>&2 2>/dev/null",
             (int)getpid());
    fprintf(stderr, "WATCHDOG: thread stacks follow\n");
    fflush(stderr);
    if (system(cmd) != 0)
        fprintf(stderr, "WATCHDOG: gdb could not print the stacks\n");
}

static void *watchdog_main(void *arg)
{
    int gen = (int)(intptr_t)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += wd_seconds;
    pthread_mutex_lock(&wd_mu);
    while (wd_armed && wd_generation == gen) {
        if (pthread_cond_timedwait(&wd_cv, &wd_mu, &ts) == ETIMEDOUT &&
            wd_armed && wd_generation == gen) {
            fprintf(stderr, "WATCHDOG: %s did not finish within %u s\n",
                    wd_what, wd_seconds);
            void (*fn)(void *) = wd_fire_fn;
            void *arg = wd_fire_arg;
            pthread_mutex_unlock(&wd_mu);
            if (fn != NULL)
                fn(arg);
            dump_stacks();
            fflush(stderr);
            _exit(99);
        }
    }
    pthread_mutex_unlock(&wd_mu);
    return NULL;
}

void tu_watchdog_arm(unsigned seconds, const char *what)
{
    pthread_mutex_lock(&wd_mu);
    wd_armed = 1;
    wd_generation++;
    wd_seconds = seconds;
    snprintf(wd_what, sizeof wd_what, "%s", what);
    int gen = wd_generation;
    pthread_mutex_unlock(&wd_mu);
    pthread_create(&wd_thread, NULL, watchdog_main, (void *)(intptr_t)gen);
}

void tu_watchdog_disarm(void)
{
    pthread_mutex_lock(&wd_mu);
    wd_armed = 0;
    pthread_cond_broadcast(&wd_cv);
    pthread_mutex_unlock(&wd_mu);
    pthread_join(wd_thread, NULL);
}

double tu_scale(void)
{
    const char *s = getenv("CAIRN_TEST_SCALE");
    if (s == NULL || s[0] == '\0')
        return 1.0;
    double v = strtod(s, NULL);
    return v > 0 ? v : 1.0;
}

static int tu_watching;

void tu_watch(unsigned seconds, const char *what)
{
    tu_watchdog_arm(seconds, what);
    tu_watching = 1;
}

int tu_unwatch(void **state)
{
    (void)state;
    if (tu_watching)
        tu_watchdog_disarm();
    tu_watching = 0;
    return 0;
}

int tu_kill_writer(void (*child)(int ack_fd, void *arg), void *arg, int want,
                   int *killed)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("tu_kill_writer: pipe");
        abort();
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("tu_kill_writer: fork");
        abort();
    }
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], arg);
        _exit(0);
    }
    close(fds[1]);
    int last = -1, v, got = 0;
    while (got < want && read(fds[0], &v, sizeof v) == (ssize_t)sizeof v) {
        last = v;
        got++;
    }
    kill(pid, SIGKILL);
    while (read(fds[0], &v, sizeof v) == (ssize_t)sizeof v)
        last = v;
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("tu_kill_writer: waitpid");
        abort();
    }
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    return last;
}
