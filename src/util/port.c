/*
 * port.c: see port.h.
 */
#include "util/port.h"

#include "util/error.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

int cairn__mutex_init(cairn__mutex *m)
{
    int e = pthread_mutex_init(&m->mu, NULL);
    if (e != 0)
        return cairn__err_errno(e, "pthread_mutex_init", "");
#ifndef NDEBUG
    atomic_init(&m->owner, 0);
#endif
    return 0;
}

void cairn__mutex_fini(cairn__mutex *m)
{
    pthread_mutex_destroy(&m->mu);
}

void cairn__mutex_lock(cairn__mutex *m)
{
    pthread_mutex_lock(&m->mu);
#ifndef NDEBUG
    atomic_store_explicit(&m->owner, (uintptr_t)pthread_self(),
                          memory_order_relaxed);
#endif
}

void cairn__mutex_unlock(cairn__mutex *m)
{
#ifndef NDEBUG
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
#endif
    pthread_mutex_unlock(&m->mu);
}

int cairn__cond_init(cairn__cond *c)
{
    pthread_condattr_t attr;
    int e = pthread_condattr_init(&attr);
    if (e == 0)
        e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (e == 0)
        e = pthread_cond_init(&c->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (e != 0)
        return cairn__err_errno(e, "pthread_cond_init", "");
    return 0;
}

void cairn__cond_fini(cairn__cond *c)
{
    pthread_cond_destroy(&c->cv);
}

void cairn__cond_wait(cairn__cond *c, cairn__mutex *m)
{
#ifndef NDEBUG
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
#endif
    pthread_cond_wait(&c->cv, &m->mu);
#ifndef NDEBUG
    atomic_store_explicit(&m->owner, (uintptr_t)pthread_self(),
                          memory_order_relaxed);
#endif
}

int cairn__cond_timedwait_ns(cairn__cond *c, cairn__mutex *m, uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t nsec = (uint64_t)ts.tv_nsec + ns % 1000000000u;
    ts.tv_sec += (time_t)(ns / 1000000000u + nsec / 1000000000u);
    ts.tv_nsec = (long)(nsec % 1000000000u);
#ifndef NDEBUG
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
#endif
    int e = pthread_cond_timedwait(&c->cv, &m->mu, &ts);
#ifndef NDEBUG
    atomic_store_explicit(&m->owner, (uintptr_t)pthread_self(),
                          memory_order_relaxed);
#endif
    return e == ETIMEDOUT ? 0 : 1;
}

void cairn__cond_signal(cairn__cond *c)
{
    pthread_cond_signal(&c->cv);
}

void cairn__cond_broadcast(cairn__cond *c)
{
    pthread_cond_broadcast(&c->cv);
}

int cairn__futex_wait(_Atomic uint32_t *addr, uint32_t expected,
                      uint64_t timeout_ns)
{
#if defined(__linux__)
    struct timespec ts, *tsp = NULL;
    if (timeout_ns > 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        tsp = &ts;
    }
    long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected,
                     tsp, NULL, 0);
    return r == -1 && errno == ETIMEDOUT;
#else
    /* Portable fallback: a short sleep, then the caller re-checks. */
    (void)addr;
    (void)expected;
    struct timespec ts = {0, 50000};
    if (timeout_ns > 0 && timeout_ns < 50000)
        ts.tv_nsec = (long)timeout_ns;
    nanosleep(&ts, NULL);
    return 0;
#endif
}

void cairn__futex_wake(_Atomic uint32_t *addr, int n)
{
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
#else
    (void)addr;
    (void)n;
#endif
}

void cairn__thread_yield(void)
{
    sched_yield();
}

static int ncpus;
static pthread_once_t ncpus_once = PTHREAD_ONCE_INIT;

static void read_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    ncpus = n > 0 && n < INT_MAX ? (int)n : 1;
}

int cairn__num_cpus(void)
{
    pthread_once(&ncpus_once, read_ncpus);
    return ncpus;
}

uint64_t cairn__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static atomic_uint next_stripe;
static _Thread_local unsigned my_stripe = UINT32_MAX;

unsigned cairn__thread_stripe(void)
{
    if (my_stripe == UINT32_MAX)
        my_stripe =
            atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) %
            CAIRN__STRIPES;
    return my_stripe;
}
