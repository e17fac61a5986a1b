/*
 * testutil.h: helpers shared by the test programs.
 *
 * Every test program includes this after the cmocka headers:
 *   #include <stdarg.h>
 *   #include <stddef.h>
 *   #include <setjmp.h>
 *   #include <stdint.h>
 *   #include <cmocka.h>
 *   #include "testutil.h"
 */
#ifndef CAIRN_TESTUTIL_H
#define CAIRN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh, empty directory for one test: $CAIRN_TEST_TMPDIR (or /tmp)
 * /cairn-<tag>-<pid>-<n>. Returns a malloc'd path; the test removes it with
 * tu_rmtree and frees it. Never NULL (aborts the test on failure). */
char *tu_tempdir(const char *tag);
/* Recursively removes a directory tree (a test helper; not engine code). */
void tu_rmtree(const char *path);

/* A seed for randomized tests: $CAIRN_TEST_SEED if set, else time-based.
 * Prints "seed=<n> (replay with CAIRN_TEST_SEED=<n>)" to stderr. */
uint64_t tu_seed(const char *test_name);

/* xorshift64* generator for tests. */
typedef struct tu_rng {
    uint64_t s;
} tu_rng;
void tu_rng_init(tu_rng *r, uint64_t seed);
uint64_t tu_rng_next(tu_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t tu_rng_uniform(tu_rng *r, uint64_t n);
/* Fills buf with n random bytes. */
void tu_rng_bytes(tu_rng *r, void *buf, size_t n);

/* Kills the process with a message if not disarmed within `seconds`:
 * the "no writer waits forever" guard for concurrency tests. Before it
 * exits it prints every thread's stack with gdb, when gdb is installed. */
void tu_watchdog_arm(unsigned seconds, const char *what);
/* Called by a watchdog that fires, after its message and before the
 * process exits, to print what may explain the hang (NULL: nothing). It
 * runs on the watchdog's thread while the test is stuck, so it must not
 * wait for anything the stuck thread may hold for long. */
void tu_watchdog_on_fire(void (*fn)(void *arg), void *arg);
void tu_watchdog_disarm(void);
/* tu_watchdog_arm, remembered so that tu_unwatch (usable as a cmocka
 * teardown: a failing test longjmps past its own disarm) disarms it once
 * and leaves no thread behind. */
void tu_watch(unsigned seconds, const char *what);
int tu_unwatch(void **state);

/* A writer killed mid-write: forks, runs child(ack_fd, arg) in the child
 * (which reports each acknowledged write by writing an int to ack_fd and
 * never returns; a return is _exit(0)), lets it report at least `want`
 * ints, kills it with SIGKILL, reads what it reported until then, and
 * returns the last int (-1 if none). *killed is 1 if SIGKILL ended it,
 * 0 if it had exited first. Call it with no other thread running: a
 * child of a threaded process may not start threads under TSan. Aborts
 * if pipe, fork or waitpid fail. */
int tu_kill_writer(void (*child)(int ack_fd, void *arg), void *arg, int want,
                   int *killed);

/* Scale factor for workloads: $CAIRN_TEST_SCALE (default 1). Sanitizer
 * builds may set a smaller one through CTest. */
double tu_scale(void);

#endif
