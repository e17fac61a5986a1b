/*
 * read_flush.h: readers racing one writer through many memtable flushes
 * (and the compactions they trigger), run on one env by each of
 * tests/stress/test_read_while_flush*.c.
 *
 * One writer thread writes NKEYS keys "k000000".. for about two seconds
 * (scaled by tu_scale) with a 64 KiB write buffer, so the memtable is
 * switched and flushed to a table every few hundred writes. Each write
 * gives a key its next version v (1, 2, ...); whether version v of key k
 * is a put or a delete is a pure function of (k, v) (one in eight is a
 * delete), and a put's value spells out (k, v) followed by padding that is
 * also a function of (k, v), so a reader can check every byte it gets and
 * knows which versions make a key absent. A fifth of the writes are
 * batches of several keys.
 *
 * The writer publishes, per key, two versions in arrays of atomics:
 * started[k], stored before the write that gives k version v is issued,
 * and done[k], stored after that write returned. So for a read of k that
 * loads done[k] (lo) before it starts and started[k] (hi) after it ends,
 * the version it sees must lie in [lo, hi]: lo was complete before the
 * read began, and nothing newer than hi had been issued when it ended. A
 * key that reads as absent must have some version in [lo, hi] that is a
 * delete, or lo must be 0 (never written).
 *
 * Three readers, until the writer stops:
 *  - get a random key and check it as above;
 *  - take a snapshot, get a key at it, do more gets (time for a flush to
 *    move the key from a memtable into a table), get it again at the
 *    snapshot: the two results must be byte-identical;
 *  - a short iteration forward or backward from a random seek: keys come
 *    strictly in order (no duplicates, none out of order), each value
 *    belongs to its key and has a version within the bounds (lo taken for
 *    a window of keys before the iterator is created, hi when the entry is
 *    seen), and every key the iterator passes over within the window could
 *    have been absent at its creation.
 * At the end the main thread checks every key against the writer's final
 * versions, reopens the database and checks again, and asserts that table
 * files were written (otherwise nothing was read while flushing).
 *
 * Threads never call cmocka asserts (they longjmp to the main thread's
 * stack): the first failure is recorded in the shared state and stops
 * everyone; the main thread fails after joining. A watchdog guards against
 * hangs. Runs on the in-memory env and, shorter, on the POSIX env. Must be
 * clean under ThreadSanitizer.
 *
 * A test program needs only rwf_run; the rest is shared between the files
 * of this test (read_flush_*.c).
 */
#ifndef CAIRN_TEST_READ_FLUSH_H
#define CAIRN_TEST_READ_FLUSH_H

#include "cairn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Runs the test (name seeds it and names it in failures) on env, with
 * the database in dir, the writer writing for seconds (times tu_scale).
 * A cmocka test body: failures abort the test. */
void rwf_run(const char *name, cairn_env *env, const char *dir, double seconds);

/* ---- Shared by the test's files -------------------------------------- */

#define NKEYS     1024
#define NREADERS  3
#define MAX_BATCH 6
#define VAL_MAX   8192
#define WINDOW    48 /* keys an iteration may cover */

typedef struct rwf_shared {
    cairn_db *db;
    cairn_env *env;
    const char *dir;
    uint64_t seed;
    uint64_t run_ns; /* how long the writer writes */
    /* Atomic: stored by the writer with release, loaded by readers with
     * acquire (what each publishes is in the file comment). */
    _Atomic uint32_t started[NKEYS];
    _Atomic uint32_t done[NKEYS];
    atomic_int stop; /* Atomic, relaxed: a hint to end the loops */
    pthread_mutex_t fail_mu;
    char fail[768]; /* Locked: fail_mu; the first failure */
    /* Statistics, relaxed. */
    atomic_long writes, gets, snap_checks, iter_entries;
    long tables_seen; /* writer only, read by main after the join */
} rwf_shared;

typedef struct rwf_reader {
    rwf_shared *sh;
    int id;
    pthread_t thread;
} rwf_reader;

/* Monotonic nanoseconds. */
uint64_t rwf_now_ns(void);
/* Records the first failure (later ones are dropped) and stops everyone;
 * threads never call cmocka asserts. */
void rwf_fail_shared(rwf_shared *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Version v of key k deletes it (v 0 is "never written"). */
int rwf_is_delete(uint32_t k, uint32_t v);
/* Key k into buf (16 bytes); its length. */
size_t rwf_make_key(char *buf, uint32_t k);
/* Version v of key k into buf (VAL_MAX bytes); its length. */
size_t rwf_make_value(char *buf, uint32_t k, uint32_t v);
/* Checks a value read for key k: it must be version v of k, exactly, a
 * put, within [lo, hi]. Returns v, or 0 after recording a failure.
 * scratch holds VAL_MAX bytes. */
uint32_t rwf_check_value(rwf_shared *sh, const char *who, uint32_t k,
                         const void *val, size_t len, uint32_t lo, uint32_t hi,
                         char *scratch);
/* Gets k through ro (NULL: latest). Returns 1 if found, 0 if absent, -1
 * on error (recorded); the value goes to *val. */
int rwf_get_key(rwf_shared *sh, const char *who, const cairn_readoptions *ro,
                uint32_t k, void **val, size_t *len);
/* A reader thread (arg: its rwf_reader), until the writer stops. */
void *rwf_reader_main(void *arg);

#endif
