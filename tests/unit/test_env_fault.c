/*
 * test_env_fault.c: the fault env keeps the contract in env_fault.h:
 * failing the Nth operation of each kind (once or persistently, CAIRN_IO
 * or CAIRN_NOSPC, torn appends), counting, and power cuts: unsynced data
 * dropped exactly to the synced length, garbled or cut to a random prefix,
 * never-dir-synced names deleted, renames undone, the env dead after a cut
 * until reset. Most tests run over the mem env; one runs over real files,
 * where the POSIX env's user-space buffer must not leak past a cut.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "env/env_fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    cairn_env *base;
    cairn_env *env;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->base = cairn_env_mem_create();
    assert_non_null(fx->base);
    assert_int_equal(fx->base->ops->mkdir(fx->base, "/db"), 0);
    assert_int_equal(cairn__env_fault_create(fx->base, &fx->env), 0);
    assert_string_equal(fx->env->ops->name, "fault");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    cairn_env_destroy(fx->env);
    cairn_env_destroy(fx->base);
    free(fx);
    return 0;
}

/* Writes s to path through env: create, append, sync per `sync`, close. */
static void put(cairn_env *env, const char *path, const char *s, int sync)
{
    assert_int_equal(cairn__env_write_file(env, path, s, strlen(s), sync), 0);
}

static void assert_contents(cairn_env *env, const char *path, const char *s)
{
    char *data;
    size_t len;
    assert_int_equal(cairn__env_read_file(env, path, 1 << 20, &data, &len), 0);
    assert_int_equal(len, strlen(s));
    assert_memory_equal(data, s, len);
    free(data);
}

/* Performs one operation of kind through env; returns its result. */
static int do_op(cairn_env *env, enum cairn__fault_kind kind, cairn__file *w,
                 cairn__file *r, int i)
{
    char name[32], buf[4];
    size_t got;
    cairn__file *f;
    int rc;
    switch (kind) {
    case CAIRN__FAULT_WRITE:
        return cairn__file_append(w, "x", 1);
    case CAIRN__FAULT_SYNC:
        return cairn__file_sync(w);
    case CAIRN__FAULT_RENAME:
        /* Whichever of r0 and r1 exists moves to the other name. */
        rc = env->ops->exists(env, "/db/r0");
        return env->ops->rename(env, rc ? "/db/r0" : "/db/r1",
                                rc ? "/db/r1" : "/db/r0");
    case CAIRN__FAULT_CREATE:
        snprintf(name, sizeof name, "/db/c%d", i);
        rc = env->ops->open_write(env, name, &f);
        if (rc == 0)
            assert_int_equal(cairn__file_close(f), 0);
        return rc;
    case CAIRN__FAULT_REMOVE:
        snprintf(name, sizeof name, "/db/d%d", i);
        return env->ops->remove(env, name);
    case CAIRN__FAULT_READ:
        return cairn__file_pread(r, 0, 1, buf, &got);
    case CAIRN__FAULT_NKINDS:
    default:
        fail();
        return 0;
    }
}

/* Arms each kind at its 3rd operation and runs 5 of them. */
static void check_nth(fixture *fx, int persistent, int code)
{
    cairn_env *env = fx->env;
    for (int k = 0; k < CAIRN__FAULT_NKINDS; k++) {
        enum cairn__fault_kind kind = (enum cairn__fault_kind)k;
        cairn__file *w, *r;
        put(env, "/db/r0", "r", 1);
        for (int i = 0; i < 6; i++) {
            char name[32];
            snprintf(name, sizeof name, "/db/d%d", i);
            put(env, name, "d", 0);
        }
        assert_int_equal(env->ops->open_write(env, "/db/w", &w), 0);
        assert_int_equal(env->ops->open_read(env, "/db/r0", &r), 0);
        uint64_t before = cairn__env_fault_count(env, kind);
        uint64_t injected = cairn__env_fault_injected(env);
        assert_int_equal(cairn__env_fault_arm(env, kind, 3, code, persistent),
                         0);
        for (int i = 0; i < 5; i++) {
            int rc = do_op(env, kind, w, r, i);
            int should_fail = i == 2 || (persistent && i > 2);
            assert_int_equal(rc, should_fail ? code : 0);
            if (should_fail)
                assert_non_null(strstr(cairn__errmsg_get(), "injected"));
        }
        assert_int_equal(cairn__env_fault_count(env, kind), before + 5);
        assert_int_equal(cairn__env_fault_injected(env),
                         injected + (persistent ? 3 : 1));
        cairn__env_fault_disarm(env, kind);
        assert_int_equal(do_op(env, kind, w, r, 5), 0);
        assert_int_equal(cairn__file_close(w), 0);
        assert_int_equal(cairn__file_close(r), 0);
        /* Tidy up so the next kind starts from the same names. */
        cairn__strlist l;
        assert_int_equal(env->ops->list(env, "/db", &l), 0);
        for (size_t i = 0; i < l.n; i++) {
            char name[300];
            snprintf(name, sizeof name, "/db/%s", l.names[i]);
            assert_int_equal(fx->base->ops->remove(fx->base, name), 0);
        }
        cairn__strlist_fini(&l);
    }
}

static void test_nth_failure_once(void **state)
{
    check_nth(*state, 0, CAIRN_IO);
}

static void test_nth_failure_persistent_nospc(void **state)
{
    check_nth(*state, 1, CAIRN_NOSPC);
}

static void test_failed_append_and_sync(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    cairn__file *f;
    uint64_t sz;

    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_WRITE, 0, CAIRN_IO, 0),
        CAIRN_INVALID);
    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_WRITE, 1, CAIRN_CORRUPTION, 0),
        CAIRN_INVALID);

    assert_int_equal(env->ops->open_write(env, "/db/f", &f), 0);
    assert_int_equal(cairn__file_append(f, "AAAA", 4), 0);
    assert_int_equal(cairn__file_sync(f), 0);
    /* By default a failed append appends nothing. */
    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_WRITE, 1, CAIRN_NOSPC, 0), 0);
    assert_int_equal(cairn__file_append(f, "BBBB", 4), CAIRN_NOSPC);
    assert_int_equal(cairn__file_size(f, &sz), 0);
    assert_int_equal(sz, 4);
    /* A torn write: the chosen prefix lands. */
    cairn__env_fault_set_partial(env, 2);
    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_WRITE, 1, CAIRN_IO, 0), 0);
    assert_int_equal(cairn__file_append(f, "CCCC", 4), CAIRN_IO);
    assert_int_equal(cairn__file_size(f, &sz), 0);
    assert_int_equal(sz, 6);
    /* A failed sync does not move the synced length. */
    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_SYNC, 1, CAIRN_IO, 0), 0);
    assert_int_equal(cairn__file_sync(f), CAIRN_IO);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_DROP_UNSYNCED, 1), 0);
    assert_int_equal(cairn__file_close(f), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/f", "AAAA");
}

static void test_drop_unsynced_is_exact(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    uint64_t seed = tu_seed("test_drop_unsynced_is_exact");
    tu_rng rng;
    tu_rng_init(&rng, seed);
    cairn__file *f;
    char data[5000];
    tu_rng_bytes(&rng, data, sizeof data);

    size_t synced = 0, total = 0;
    assert_int_equal(env->ops->open_write(env, "/db/log", &f), 0);
    for (int i = 0; i < 20; i++) {
        size_t n = 1 + (size_t)tu_rng_uniform(&rng, 200);
        assert_int_equal(cairn__file_append(f, data + total, n), 0);
        total += n;
        if (tu_rng_uniform(&rng, 3) == 0) {
            assert_int_equal(cairn__file_sync(f), 0);
            synced = total;
        } else if (tu_rng_uniform(&rng, 2) == 0) {
            assert_int_equal(cairn__file_flush(f), 0);
        }
    }
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_DROP_UNSYNCED, seed), 0);
    assert_true(cairn__env_fault_is_dead(env));
    assert_int_equal(cairn__file_close(f), 0);
    cairn__env_fault_reset(env);
    assert_false(cairn__env_fault_is_dead(env));

    char *got;
    size_t len;
    assert_int_equal(cairn__env_read_file(env, "/db/log", 1 << 20, &got, &len),
                     0);
    assert_int_equal(len, synced);
    assert_memory_equal(got, data, len);
    free(got);
}

/* Builds "/db/f" with 4 synced, 4 flushed and 2 unflushed bytes. */
static cairn__file *three_zones(cairn_env *env)
{
    cairn__file *f;
    assert_int_equal(env->ops->open_write(env, "/db/f", &f), 0);
    assert_int_equal(cairn__file_append(f, "SSSS", 4), 0);
    assert_int_equal(cairn__file_sync(f), 0);
    assert_int_equal(cairn__file_append(f, "FFFF", 4), 0);
    assert_int_equal(cairn__file_flush(f), 0);
    assert_int_equal(cairn__file_append(f, "UU", 2), 0);
    return f;
}

static void cut(cairn_env *env, cairn__file *f, unsigned modes, uint64_t seed)
{
    assert_int_equal(cairn__env_fault_power_cut(env, modes, seed), 0);
    assert_int_equal(cairn__file_close(f), 0);
    cairn__env_fault_reset(env);
}

static void test_cut_modes(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    uint64_t seed = tu_seed("test_cut_modes");
    char *got;
    size_t len;

    /* No flags: a process crash. What was flushed survives. */
    cut(env, three_zones(env), 0, seed);
    assert_contents(env, "/db/f", "SSSSFFFF");

    cut(env, three_zones(env), CAIRN__FAULT_GARBLE_UNSYNCED, seed);
    assert_int_equal(cairn__env_read_file(env, "/db/f", 100, &got, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "SSSS", 4);
    assert_memory_not_equal(got + 4, "FFFF", 4);
    free(got);

    for (int i = 0; i < 20; i++) {
        cut(env, three_zones(env), CAIRN__FAULT_KEEP_RANDOM_PREFIX,
            seed + (uint64_t)i);
        assert_int_equal(cairn__env_read_file(env, "/db/f", 100, &got, &len),
                         0);
        assert_in_range(len, 4, 8);
        assert_memory_equal(got, "SSSSFFFF", len);
        free(got);
    }
}

static void test_delete_unsynced_entries(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;

    put(env, "/db/kept", "kept", 1);
    assert_int_equal(env->ops->sync_dir(env, "/db"), 0);
    put(env, "/db/lost", "lost", 1);
    assert_int_equal(env->ops->mkdir(env, "/db/sub"), 0);
    put(env, "/db/sub/other", "other", 1);
    assert_int_equal(env->ops->sync_dir(env, "/db/sub"), 0);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS, 7), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/kept", "kept");
    assert_false(env->ops->exists(env, "/db/lost"));
    assert_contents(env, "/db/sub/other", "other");

    /* Without the flag the entry survives (its data was synced). */
    put(env, "/db/lost", "lost", 1);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_DROP_UNSYNCED, 7), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/lost", "lost");
}

static void test_rename_undo(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;

    /* The CURRENT dance: temp file, sync, rename over, no sync_dir. */
    put(env, "/db/CURRENT", "MANIFEST-000001\n", 1);
    assert_int_equal(env->ops->sync_dir(env, "/db"), 0);
    put(env, "/db/000002.dbtmp", "MANIFEST-000002\n", 1);
    assert_int_equal(env->ops->rename(env, "/db/000002.dbtmp", "/db/CURRENT"),
                     0);
    assert_contents(env, "/db/CURRENT", "MANIFEST-000002\n");
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS, 3), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/CURRENT", "MANIFEST-000001\n");
    assert_false(env->ops->exists(env, "/db/000002.dbtmp"));

    /* With the sync_dir the rename is durable. */
    put(env, "/db/000003.dbtmp", "MANIFEST-000003\n", 1);
    assert_int_equal(env->ops->rename(env, "/db/000003.dbtmp", "/db/CURRENT"),
                     0);
    assert_int_equal(env->ops->sync_dir(env, "/db"), 0);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS, 3), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/CURRENT", "MANIFEST-000003\n");
    assert_false(env->ops->exists(env, "/db/000003.dbtmp"));

    /* A durable source renamed to a new name comes back; the new name
     * goes. Files the fault env never wrote count as durable. */
    put(fx->base, "/db/a", "AAA", 0);
    assert_int_equal(env->ops->rename(env, "/db/a", "/db/b"), 0);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS, 3), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/a", "AAA");
    assert_false(env->ops->exists(env, "/db/b"));

    /* What comes back is the durable part: the synced prefix. */
    cairn__file *f;
    assert_int_equal(env->ops->open_write(env, "/db/x", &f), 0);
    assert_int_equal(env->ops->sync_dir(env, "/db"), 0);
    assert_int_equal(cairn__file_append(f, "AB", 2), 0);
    assert_int_equal(cairn__file_sync(f), 0);
    assert_int_equal(cairn__file_append(f, "CD", 2), 0);
    assert_int_equal(cairn__file_close(f), 0);
    assert_int_equal(env->ops->rename(env, "/db/x", "/db/y"), 0);
    assert_contents(env, "/db/y", "ABCD");
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS, 3), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/x", "AB");
    assert_false(env->ops->exists(env, "/db/y"));
}

static void test_dead_until_reset(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    cairn__file *w, *r, *f;
    cairn__filelock *lock;
    char buf[8];
    size_t got;

    put(env, "/db/r", "data", 1);
    assert_int_equal(env->ops->lock(env, "/db/LOCK", &lock), 0);
    assert_int_equal(env->ops->open_append(env, "/db/w", &w), 0);
    assert_int_equal(env->ops->open_read(env, "/db/r", &r), 0);
    assert_int_equal(cairn__env_fault_power_cut(env, 0, 1), 0);

    /* Old handles fail, reads included; the message says why. */
    assert_int_equal(cairn__file_append(w, "x", 1), CAIRN_IO);
    assert_non_null(strstr(cairn__errmsg_get(), "simulated power loss"));
    assert_int_equal(cairn__file_sync(w), CAIRN_IO);
    assert_int_equal(cairn__file_flush(w), CAIRN_IO);
    assert_int_equal(cairn__file_pread(r, 0, 4, buf, &got), CAIRN_IO);
    assert_int_equal(cairn__file_read(r, 4, buf, &got), CAIRN_IO);
    /* Mutating env calls fail. */
    assert_int_equal(env->ops->open_write(env, "/db/n", &f), CAIRN_IO);
    assert_int_equal(env->ops->open_append(env, "/db/n", &f), CAIRN_IO);
    assert_int_equal(env->ops->remove(env, "/db/r"), CAIRN_IO);
    assert_int_equal(env->ops->rename(env, "/db/r", "/db/s"), CAIRN_IO);
    assert_int_equal(env->ops->mkdir(env, "/db/m"), CAIRN_IO);
    assert_int_equal(env->ops->rmdir(env, "/db"), CAIRN_IO);
    assert_int_equal(env->ops->sync_dir(env, "/db"), CAIRN_IO);
    cairn__filelock *l2;
    assert_int_equal(env->ops->lock(env, "/db/LOCK2", &l2), CAIRN_IO);
    assert_false(env->ops->exists(env, "/db/n"));
    /* Looking is allowed, and so are unlock and closing old handles. */
    assert_true(env->ops->exists(env, "/db/r"));
    assert_int_equal(env->ops->open_read(env, "/db/r", &f), 0);
    assert_int_equal(cairn__file_pread(f, 0, 4, buf, &got), 0);
    assert_int_equal(got, 4);
    assert_int_equal(env->ops->unlock(env, lock), 0);
    assert_int_equal(cairn__file_close(w), 0);
    assert_int_equal(cairn__file_close(r), 0);

    cairn__env_fault_reset(env);
    assert_int_equal(cairn__file_pread(f, 0, 4, buf, &got), 0);
    assert_int_equal(cairn__file_close(f), 0);
    assert_int_equal(env->ops->lock(env, "/db/LOCK", &lock), 0);
    assert_int_equal(env->ops->unlock(env, lock), 0);
    put(env, "/db/n", "new", 0);
    assert_contents(env, "/db/n", "new");
}

static void test_reset_without_cut(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    cairn__file *f;

    /* reset declares the present durable, even for a file still open. */
    assert_int_equal(env->ops->open_write(env, "/db/f", &f), 0);
    assert_int_equal(cairn__file_append(f, "AB", 2), 0);
    assert_int_equal(cairn__file_flush(f), 0);
    cairn__env_fault_reset(env);
    assert_int_equal(cairn__file_append(f, "CD", 2), 0);
    assert_int_equal(cairn__file_flush(f), 0);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_POWER_LOSS, 5), 0);
    assert_int_equal(cairn__file_close(f), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, "/db/f", "AB");
}

typedef struct writer_arg {
    cairn_env *env;
    char path[32];
    uint64_t seed;
    size_t synced; /* bytes acknowledged by the last successful sync */
    int last_rc;   /* the error that stopped the writer */
} writer_arg;

/* The byte a writer puts at offset i: its stream is a pure function of
 * the seed, so the test can check what survived. */
static char stream_byte(uint64_t seed, size_t i)
{
    return (char)((seed * 31u + i * 7u) & 0xff);
}

static void *writer(void *p)
{
    writer_arg *a = p;
    cairn__file *f;
    char buf[64];
    size_t off = 0;
    a->last_rc = a->env->ops->open_write(a->env, a->path, &f);
    if (a->last_rc != 0)
        return NULL;
    for (;;) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = stream_byte(a->seed, off + i);
        int rc = cairn__file_append(f, buf, sizeof buf);
        if (rc == 0) {
            off += sizeof buf;
            rc = off % 256 == 0 ? cairn__file_sync(f) : cairn__file_flush(f);
            if (rc == 0 && off % 256 == 0)
                a->synced = off;
        }
        if (rc != 0) {
            a->last_rc = rc;
            break;
        }
    }
    (void)cairn__file_close(f);
    return NULL;
}

static void test_cut_races_writers(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    uint64_t seed = tu_seed("test_cut_races_writers");
    writer_arg args[3];
    cairn__thread *t[3];

    tu_watchdog_arm(60, "test_cut_races_writers");
    for (int i = 0; i < 3; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].env = env;
        args[i].seed = seed + (uint64_t)i;
        snprintf(args[i].path, sizeof args[i].path, "/db/w%d", i);
        assert_int_equal(env->ops->thread_start(env, writer, &args[i], &t[i]),
                         0);
    }
    env->ops->sleep_micros(env, 2000);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_DROP_UNSYNCED, seed), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(env->ops->thread_join(env, t[i]), 0);
    tu_watchdog_disarm();
    cairn__env_fault_reset(env);

    for (int i = 0; i < 3; i++) {
        char *data;
        size_t len;
        /* Every writer ran until the power loss stopped it. */
        if (args[i].last_rc != CAIRN_IO)
            fprintf(stderr, "writer %d: %s\n", i,
                    cairn_errname(args[i].last_rc));
        assert_int_equal(args[i].last_rc, CAIRN_IO);
        if (!env->ops->exists(env, args[i].path))
            continue; /* the cut came before the writer created it */
        assert_int_equal(
            cairn__env_read_file(env, args[i].path, 1 << 26, &data, &len), 0);
        assert_int_equal(len, args[i].synced);
        for (size_t j = 0; j < len; j++)
            assert_int_equal(data[j], stream_byte(args[i].seed, j));
        free(data);
    }
}

static void test_cut_over_posix(void **state)
{
    (void)state;
    cairn_env *env;
    char *dir = tu_tempdir("envfault");
    char path[4200];
    snprintf(path, sizeof path, "%s/f", dir);

    assert_int_equal(cairn__env_fault_create(cairn_env_default(), &env), 0);
    cairn__file *f;
    assert_int_equal(env->ops->open_write(env, path, &f), 0);
    assert_int_equal(cairn__file_append(f, "SSSS", 4), 0);
    assert_int_equal(cairn__file_sync(f), 0);
    assert_int_equal(cairn__file_append(f, "FFFF", 4), 0);
    assert_int_equal(cairn__file_flush(f), 0);
    /* These sit in the POSIX env's user-space buffer: a crash loses them,
     * even though closing the base handle at the cut writes them out. */
    assert_int_equal(cairn__file_append(f, "UU", 2), 0);
    assert_int_equal(cairn__env_fault_power_cut(env, 0, 1), 0);
    assert_int_equal(cairn__file_close(f), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, path, "SSSSFFFF");

    assert_int_equal(env->ops->open_append(env, path, &f), 0);
    assert_int_equal(cairn__file_append(f, "more", 4), 0);
    assert_int_equal(cairn__file_flush(f), 0);
    assert_int_equal(
        cairn__env_fault_power_cut(env, CAIRN__FAULT_DROP_UNSYNCED, 1), 0);
    assert_int_equal(cairn__file_close(f), 0);
    cairn__env_fault_reset(env);
    assert_contents(env, path, "SSSSFFFF");

    cairn_env_destroy(env);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nth_failure_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nth_failure_persistent_nospc,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_append_and_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drop_unsynced_is_exact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cut_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_unsynced_entries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rename_undo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_until_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_without_cut, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cut_races_writers, setup,
                                        teardown),
        cmocka_unit_test(test_cut_over_posix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
