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

#endif
