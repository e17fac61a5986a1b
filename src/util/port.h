/*
 * port.h: mutexes, condition variables and the assert-held habit.
 *
 * Thin wrappers over pthreads. They are the only synchronisation objects
 * engine code uses besides C11 atomics; thread creation, clocks and sleeps
 * go through the env (src/env/env.h). Debug builds remember the owner of
 * each mutex so that functions can assert the lock they require
 * (cairn__mutex_assert_held), as STYLE.md asks.
 *
 * Lock and unlock failures of a correctly used mutex cannot happen, so these
 * return void; init failures are reported.
 */
#ifndef CAIRN_UTIL_PORT_H
#define CAIRN_UTIL_PORT_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct cairn__mutex {
    pthread_mutex_t mu;
#ifndef NDEBUG
    atomic_uintptr_t owner; /* Atomic, relaxed: debug bookkeeping only */
#endif
} cairn__mutex;

typedef struct cairn__cond {
    pthread_cond_t cv;
} cairn__cond;

int cairn__mutex_init(cairn__mutex *m);
void cairn__mutex_fini(cairn__mutex *m);
void cairn__mutex_lock(cairn__mutex *m);
void cairn__mutex_unlock(cairn__mutex *m);

#ifndef NDEBUG
#define cairn__mutex_assert_held(m)                                            \
    assert(atomic_load_explicit(&(m)->owner, memory_order_relaxed) ==          \
           (uintptr_t)pthread_self())
#else
#define cairn__mutex_assert_held(m) ((void)0)
#endif

/* Condition variables use CLOCK_MONOTONIC for timed waits. */
int cairn__cond_init(cairn__cond *c);
void cairn__cond_fini(cairn__cond *c);
void cairn__cond_wait(cairn__cond *c, cairn__mutex *m);
/* Waits at most `ns` nanoseconds. Returns 1 if signalled (or spurious),
 * 0 on timeout. */
int cairn__cond_timedwait_ns(cairn__cond *c, cairn__mutex *m, uint64_t ns);
void cairn__cond_signal(cairn__cond *c);
void cairn__cond_broadcast(cairn__cond *c);

/* Futex-style waiting on a 32-bit atomic word (Linux futex; the wait
 * primitive of the write queue). wait blocks while *addr == expected, for
 * at most timeout_ns (0: no limit); it may return early (spuriously), so
 * callers re-check their condition. Returns 1 on timeout, else 0. wake
 * wakes up to n waiters. */
int cairn__futex_wait(_Atomic uint32_t *addr, uint32_t expected,
                      uint64_t timeout_ns);
void cairn__futex_wake(_Atomic uint32_t *addr, int n);

/* A hint inside spin loops that this thread is waiting. */
static inline void cairn__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Gives the core to another runnable thread. */
void cairn__thread_yield(void);

/* Online CPUs (at least 1), read once. */
int cairn__num_cpus(void);

/* Monotonic nanoseconds, for the write path's own short intervals (spin
 * budgets, latency histograms), where an env call per write would cost
 * more than the interval measured. */
uint64_t cairn__mono_ns(void);

/* Counters updated by many threads are split into this many stripes, each
 * on its own cache line, so concurrent writers do not bounce one line
 * between cores; readers sum the stripes. */
#define CAIRN__STRIPES    16
#define CAIRN__CACHE_LINE 64

/* The calling thread's stripe (assigned round robin at first use). */
unsigned cairn__thread_stripe(void);

#endif
