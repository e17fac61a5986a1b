/*
 * test_compaction_load.c: level 0 stays bounded under load. Two writers
 * put random keys as fast as they can under a 64 KiB write buffer while a
 * monitor samples "cairn.num-files-at-level0" (it must never exceed the
 * stop trigger, 12) and a reader checks that every key's version, encoded
 * in its value (tests/support/compaction_util.h), never goes backwards, is
 * never older than the last acknowledged put and never newer than the last
 * attempted one. Everything runs in the in-memory env.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "util/error.h" /* CAIRN_PRINTF */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "compaction_util.h"
#include "testutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define L0_KEYS    20000
#define L0_WRITERS 2

typedef struct load {
    cairn_db *db;
    uint64_t seed;
    long puts_per_writer;
    _Atomic uint32_t attempted[L0_KEYS]; /* version being put, per key */
    _Atomic uint32_t published[L0_KEYS]; /* last acknowledged version */
    atomic_int stop;
    atomic_long max_l0, samples, over, reads;
    pthread_mutex_t mu;
    char err[300]; /* Locked: mu; the first failure seen by a thread */
} load;

static void load_fail(load *ld, const char *fmt, ...) CAIRN_PRINTF(2, 3);
static void load_fail(load *ld, const char *fmt, ...)
{
    pthread_mutex_lock(&ld->mu);
    if (ld->err[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err, sizeof ld->err, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&ld->mu);
    atomic_store(&ld->stop, 1);
}

static size_t load_len(uint32_t id, uint32_t ver)
{
    return 80 + (id * 31u + ver * 17u) % 300u;
}

typedef struct worker {
    load *ld;
    int index;
} worker;

static void *load_writer(void *arg)
{
    worker *wk = arg;
    load *ld = wk->ld;
    tu_rng r;
    tu_rng_init(&r, ld->seed + (uint64_t)wk->index);
    unsigned char buf[16 + 400];
    char k[16];
    for (long i = 0; i < ld->puts_per_writer && !atomic_load(&ld->stop); i++) {
        uint32_t id =
            (uint32_t)(tu_rng_uniform(&r, L0_KEYS / L0_WRITERS) * L0_WRITERS +
                       (uint64_t)wk->index);
        uint32_t ver = atomic_load(&ld->attempted[id]) + 1;
        atomic_store(&ld->attempted[id], ver);
        size_t vl = ct_make_value(id, ver, load_len(id, ver), buf);
        int rc = cairn_db_put(ld->db, NULL, k, ct_key_of(id, k), buf, vl);
        if (rc != 0) {
            load_fail(ld, "put: %s: %s", cairn_errname(rc), cairn_errmsg());
            break;
        }
        atomic_store(&ld->published[id], ver);
    }
    return NULL;
}

/* Checks one value read for key id; last holds what this reader saw
 * before, acked the version acknowledged before the read began. */
static int check_read(load *ld, uint32_t id, const void *v, size_t vl,
                      uint32_t acked, uint32_t *last, unsigned char *buf)
{
    uint32_t ver = 0;
    if (v != NULL) {
        char hdr[17];
        if (vl < 16)
            goto bad;
        memcpy(hdr, v, 16);
        hdr[16] = '\0';
        ver = (uint32_t)strtoul(hdr + 8, NULL, 16);
        if (ct_make_value(id, ver, load_len(id, ver), buf) != vl ||
            memcmp(buf, v, vl) != 0)
            goto bad;
    }
    uint32_t ceiling = atomic_load(&ld->attempted[id]);
    if (ver < acked || ver < *last || ver > ceiling) {
        load_fail(ld,
                  "key %" PRIu32 ": read version %" PRIu32
                  ", acknowledged %" PRIu32 ", seen before %" PRIu32
                  ", attempted %" PRIu32,
                  id, ver, acked, *last, ceiling);
        return -1;
    }
    *last = ver;
    return 0;
bad:
    load_fail(ld, "key %" PRIu32 ": malformed value of %zu bytes", id, vl);
    return -1;
}

static void *load_reader(void *arg)
{
    worker *wk = arg;
    load *ld = wk->ld;
    tu_rng r;
    tu_rng_init(&r, ld->seed ^ 0xabcdefULL);
    uint32_t *last = calloc(L0_KEYS, sizeof *last);
    unsigned char *buf = malloc(16 + 400);
    if (last == NULL || buf == NULL) {
        load_fail(ld, "reader: out of memory");
        goto out;
    }
    char k[16];
    for (long n = 0; !atomic_load(&ld->stop); n++) {
        uint32_t id = (uint32_t)tu_rng_uniform(&r, L0_KEYS);
        uint32_t acked = atomic_load(&ld->published[id]);
        void *v = NULL;
        size_t vl = 0;
        int rc = cairn_db_get(ld->db, NULL, k, ct_key_of(id, k), &v, &vl);
        if (rc != 0 && rc != CAIRN_NOTFOUND) {
            load_fail(ld, "get: %s: %s", cairn_errname(rc), cairn_errmsg());
            break;
        }
        rc = check_read(ld, id, v, vl, acked, &last[id], buf);
        cairn_free(v);
        atomic_fetch_add(&ld->reads, 1);
        if (rc != 0)
            break;
        if (n % 64 != 0)
            continue;
        /* A short scan: versions never go back there either. */
        cairn_iter *it = cairn_db_iter_create(ld->db, NULL);
        if (it == NULL) {
            load_fail(ld, "iter_create: %s", cairn_errmsg());
            break;
        }
        cairn_iter_seek(it, k, ct_key_of(id, k));
        for (int s = 0; s < 20 && cairn_iter_valid(it) && rc == 0; s++) {
            size_t kl;
            const char *key = cairn_iter_key(it, &kl);
            char kb[16] = "";
            if (kl == 11)
                memcpy(kb, key, kl); /* "key" and 8 digits */
            uint32_t kid = (uint32_t)strtoul(kb + 3, NULL, 10);
            const void *iv = cairn_iter_value(it, &vl);
            if (kl != 11 || kid >= L0_KEYS) {
                load_fail(ld, "scan: unexpected key of %zu bytes", kl);
                rc = -1;
                break;
            }
            rc = check_read(ld, kid, iv, vl, 0, &last[kid], buf);
            cairn_iter_next(it);
        }
        if (rc == 0 && cairn_iter_status(it) != 0)
            load_fail(ld, "iter: %s", cairn_errmsg());
        cairn_iter_destroy(it);
    }
out:
    free(last);
    free(buf);
    return NULL;
}

static void *load_monitor(void *arg)
{
    load *ld = ((worker *)arg)->ld;
    const struct timespec pause = {0, 200000};
    while (!atomic_load(&ld->stop)) {
        long l0 = ct_level_files(ld->db, 0);
        if (l0 < 0) {
            load_fail(ld, "property: %s", cairn_errmsg());
            break;
        }
        if (l0 > atomic_load(&ld->max_l0))
            atomic_store(&ld->max_l0, l0);
        if (l0 > STOP_L0)
            atomic_fetch_add(&ld->over, 1);
        atomic_fetch_add(&ld->samples, 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void level0_bounded(void **state)
{
    (void)state;
    /* Static, so that a failing assertion (a longjmp) leaks nothing. */
    static load the_load;
    load *ld = &the_load;
    memset(ld, 0, sizeof *ld);
    ld->seed = tu_seed("compaction/level0_bounded");
    ld->puts_per_writer = (long)(40.0 * MIB * tu_scale() / 250 / L0_WRITERS);
    pthread_mutex_init(&ld->mu, NULL);
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    ld->db = ct_open_db(env, 64 * KIB, CAIRN_COMPRESSION_SNAPPY);
    tu_watchdog_arm(300, "level0_bounded");

    pthread_t th[L0_WRITERS + 2];
    worker wk[L0_WRITERS + 2];
    for (int i = 0; i < L0_WRITERS + 2; i++)
        wk[i] = (worker){ld, i};
    assert_int_equal(pthread_create(&th[0], NULL, load_monitor, &wk[0]), 0);
    assert_int_equal(pthread_create(&th[1], NULL, load_reader, &wk[1]), 0);
    for (int i = 0; i < L0_WRITERS; i++)
        assert_int_equal(pthread_create(&th[2 + i], NULL, load_writer, &wk[i]),
                         0);
    for (int i = 0; i < L0_WRITERS; i++)
        pthread_join(th[2 + i], NULL);
    atomic_store(&ld->stop, 1);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    tu_watchdog_disarm();

    char *stats = cairn_db_property(ld->db, "cairn.stats");
    assert_non_null(stats);
    fprintf(stderr,
            "level0: %ld puts, %ld reads, %ld samples, max level-0 files "
            "%ld\n%s",
            ld->puts_per_writer * L0_WRITERS, atomic_load(&ld->reads),
            atomic_load(&ld->samples), atomic_load(&ld->max_l0), stats);
    cairn_free(stats);
    if (ld->err[0] != '\0')
        fail_msg("%s", ld->err);
    if (atomic_load(&ld->over) > 0)
        fail_msg("level 0 held %ld files (stop trigger %d) in %ld of %ld "
                 "samples",
                 atomic_load(&ld->max_l0), STOP_L0, atomic_load(&ld->over),
                 atomic_load(&ld->samples));
    assert_true(atomic_load(&ld->samples) > 0);
    long deep = 0;
    for (int l = 1; l < 7; l++)
        deep += ct_level_files(ld->db, l);
    assert_true(deep > 0);
    unsigned char buf[16 + 400];
    for (uint32_t id = 0; id < L0_KEYS; id++) {
        uint32_t ver = atomic_load(&ld->published[id]);
        ct_expect_version(ld->db, NULL, id, ver, load_len(id, ver), buf);
    }
    ct_ok(cairn_db_close(ld->db), "close");
    cairn_env_destroy(env);
    pthread_mutex_destroy(&ld->mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(level0_bounded),
    };
    return cmocka_run_group_tests(tests, ct_pool_setup, NULL);
}
