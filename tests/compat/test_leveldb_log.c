/*
 * test_leveldb_log.c: compatibility with LevelDB 1.23 (Debian's libleveldb,
 * through its C API) at the level of the write-ahead log, both ways.
 *
 * At this milestone cairn keeps its data in the log and memtable only, so
 * LevelDB must never write a table before cairn reads: it gets a 256 MiB
 * write buffer, the data stays far below that, and it opens a directory only
 * once before cairn reads it (LevelDB turns its logs into a table whenever
 * it reopens a database). Every hand-over asserts that no table exists, so a
 * broken precondition fails loudly instead of being blamed on cairn.
 *
 * Scenarios, each with sync writes off and on:
 *   - LevelDB writes a random workload, cairn reads it (twice: cairn's own
 *     open rewrites the MANIFEST and must keep LevelDB's log in range);
 *   - cairn writes over three sessions (so two reopens, whose older logs
 *     stay in the replay range), LevelDB reads every key and iterates the
 *     whole database both ways;
 *   - LevelDB writes, cairn overwrites and deletes some of it over two
 *     sessions, LevelDB reads the combined result.
 * The byte level (identical logs from both engines) is
 * test_leveldb_log_bytes.c's.
 *
 * The expected state is an in-memory model (a sorted array of key -> value
 * or deleted, tests/support/compat/ldb_log.h) updated alongside each
 * write. Keys include the empty key, 0x00 and 0xff bytes and keys that are
 * prefixes of others. Randomized scenarios print their seed;
 * CAIRN_TEST_SEED replays it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"
#include "ldb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL     160
#define KEY_MAX  32
#define VBUF_MAX (200u * 1024u)

/* ---------------------------------------------------------------------- */
/* The random workload                                                      */

typedef struct workload {
    tu_rng rng;
    unsigned char key[POOL][KEY_MAX];
    size_t klen[POOL];
    unsigned char *vbuf; /* the value being written */
} workload;

static void workload_init(workload *w, uint64_t seed)
{
    static const struct {
        const char *b;
        size_t n;
    } fixed[] = {{"", 0}, {"\xff\xff", 2}, {"\0", 1}, {"key", 3}, {"key\0", 4}};
    tu_rng_init(&w->rng, seed);
    w->vbuf = malloc(VBUF_MAX);
    assert_non_null(w->vbuf);
    for (int i = 0; i < POOL; i++) {
        unsigned char *k = w->key[i];
        if (i < 5) { /* empty, 0xff 0xff, 0x00, a prefix of the next */
            memcpy(k, fixed[i].b, fixed[i].n);
            w->klen[i] = fixed[i].n;
        } else if (i % 3 == 1) { /* binary, starting and holding 00/ff */
            w->klen[i] = 2 + (size_t)tu_rng_uniform(&w->rng, KEY_MAX - 2);
            tu_rng_bytes(&w->rng, k, w->klen[i]);
            k[0] = (i & 4) ? 0xff : 0x00;
            k[w->klen[i] / 2] = (i & 8) ? 0x00 : 0xff;
        } else { /* text, some followed by ff 00 */
            w->klen[i] = (size_t)snprintf((char *)k, KEY_MAX, "k%05d", i);
            if (i % 3 == 2) {
                k[w->klen[i]++] = 0xff;
                k[w->klen[i]++] = 0x00;
            }
        }
    }
}

static size_t rand_value(workload *w, size_t lo, size_t hi)
{
    size_t n = lo + (size_t)tu_rng_uniform(&w->rng, hi - lo + 1);
    tu_rng_bytes(&w->rng, w->vbuf, n);
    return n;
}

/* Deletes (30%) or puts (an empty value one time in ten) a pool key. */
static void random_op(ldbl_target *t, workload *w, int in_batch)
{
    int i = (int)tu_rng_uniform(&w->rng, POOL);
    int r = (int)tu_rng_uniform(&w->rng, 100);
    size_t vl = r < 40 ? 0 : rand_value(w, 1, 200);
    ldbl_t_op(t, in_batch, w->key[i], w->klen[i], w->vbuf, vl, r >= 30);
}

/* nops random puts, deletes and batches of both over the pool, plus keys
 * only this session (tag) writes, so every session's data must survive:
 * values of more than 32 KiB (one inside a batch with a delete), one of
 * more than 100 KiB, and a few small ones. */
static void run_workload(ldbl_target *t, workload *w, int nops, int tag)
{
    char k[64];
    int n;
    for (int i = 0; i < nops; i++) {
        if (i % (nops / 4 + 1) == 3) {
            n = snprintf(k, sizeof k, "big-%d-%d", tag, i);
            ldbl_t_op(t, 0, k, (size_t)n, w->vbuf, rand_value(w, 33000, 80000),
                      1);
        }
        if (tu_rng_uniform(&w->rng, 100) < 35) {
            for (int j = 1 + (int)tu_rng_uniform(&w->rng, 16); j > 0; j--)
                random_op(t, w, 1);
            ldbl_t_commit(t);
        } else {
            random_op(t, w, 0);
        }
    }
    n = snprintf(k, sizeof k, "huge-%d", tag);
    ldbl_t_op(t, 0, k, (size_t)n, w->vbuf,
              rand_value(w, 100 * 1024 + 1, VBUF_MAX), 1);
    random_op(t, w, 1);
    n = snprintf(k, sizeof k, "big-batch-%d", tag);
    ldbl_t_op(t, 1, k, (size_t)n, w->vbuf, rand_value(w, 40000, 60000), 1);
    ldbl_t_op(t, 1, w->key[5], w->klen[5], NULL, 0, 0);
    ldbl_t_commit(t);
    for (int i = 0; i < 5; i++) {
        n = snprintf(k, sizeof k, "uniq-%d-%d", tag, i);
        ldbl_t_op(t, 0, k, (size_t)n, w->vbuf, rand_value(w, 0, 50), 1);
    }
}

/* ---------------------------------------------------------------------- */
/* The scenarios                                                            */

typedef struct scenario {
    const char *name;
    int ldb_writes;     /* LevelDB writes the first session */
    int cairn_sessions; /* then cairn writes this many, one open each */
    int sync;
} scenario;

static void test_scenario(void **state)
{
    const scenario *sc = *state;
    int nops = (int)((sc->sync ? 120 : 700) * tu_scale());
    nops = nops < 40 ? 40 : nops;
    workload w;
    workload_init(&w, tu_seed(sc->name));
    char *dir = tu_tempdir("compat");
    ldbl_model m = {NULL, 0, 0};
    ldbl_target t;
    if (sc->ldb_writes) {
        ldbl_target_open(&t, &m, 0, dir, 1, sc->sync);
        run_workload(&t, &w, nops, 0);
        ldbl_target_close(&t);
        ldbl_assert_no_tables(dir);
        ldbl_verify_cairn(dir, &m);
        ldbl_verify_cairn(dir, &m); /* cairn's own reopen keeps LevelDB's log */
    }
    for (int s = 1; s <= sc->cairn_sessions; s++) {
        ldbl_target_open(&t, &m, 1, dir, !sc->ldb_writes && s == 1, sc->sync);
        if (sc->ldb_writes && s == 1) {
            /* Overwrite and delete LevelDB's keys, alternately. */
            int k = 0;
            for (size_t i = 0; i < m.n && k < 40; i++)
                if (m.e[i].live)
                    ldbl_t_op(&t, 0, m.e[i].key, m.e[i].klen, "cairn", 5,
                              k++ % 2 == 0);
            assert_true(k >= 2);
        }
        run_workload(&t, &w, nops / 2, s);
        ldbl_target_close(&t);
    }
    if (sc->cairn_sessions > 0) {
        ldbl_verify_cairn(dir, &m);
        ldbl_verify_leveldb(dir, &m);
    }
    ldbl_model_fini(&m);
    free(w.vbuf);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    static const scenario sc[] = {
        {"leveldb_to_cairn_nosync", 1, 0, 0},
        {"leveldb_to_cairn_sync", 1, 0, 1},
        {"cairn_to_leveldb_nosync", 0, 3, 0},
        {"cairn_to_leveldb_sync", 0, 3, 1},
        {"round_trip_nosync", 1, 2, 0},
        {"round_trip_sync", 1, 2, 1},
    };
    /* Named after the scenario, with it as the test's state. */
#define SCENARIO(i)                                                            \
    {                                                                          \
        .name = sc[i].name, .test_func = test_scenario,                        \
        .initial_state = (void *)&sc[i]                                        \
    }
    const struct CMUnitTest tests[] = {
        SCENARIO(0), SCENARIO(1), SCENARIO(2),
        SCENARIO(3), SCENARIO(4), SCENARIO(5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
