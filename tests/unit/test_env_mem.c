/*
 * test_env_mem.c: the in-memory env behaves like the POSIX one (reads,
 * writes, appends, directories, codes and messages, locks), plus what is
 * particular to it: a private namespace per env, contents that outlive
 * their name while a handle holds them, concurrent preads from several
 * threads, and destroy freeing everything (ASan checks the last).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "env/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    assert_string_equal(env->ops->name, "mem");
    assert_int_equal(env->ops->mkdir(env, "/db"), 0);
    *state = env;
    return 0;
}

static int teardown(void **state)
{
    cairn_env_destroy(*state);
    return 0;
}

static void write_whole(cairn_env *env, const char *path, const char *s)
{
    assert_int_equal(cairn__env_write_file(env, path, s, strlen(s), 1), 0);
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

static int has_name(const cairn__strlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return 1;
    return 0;
}

static void test_read_write_append(void **state)
{
    cairn_env *env = *state;
    cairn__file *f;
    char buf[64];
    size_t got;
    uint64_t sz;

    assert_int_equal(env->ops->open_write(env, "/db/f", &f), 0);
    assert_int_equal(cairn__file_append(f, "hello ", 6), 0);
    assert_int_equal(cairn__file_append(f, "world", 5), 0);
    assert_int_equal(cairn__file_size(f, &sz), 0);
    assert_int_equal(sz, 11);
    assert_int_equal(cairn__file_flush(f), 0);
    assert_int_equal(cairn__file_sync(f), 0);
    assert_int_equal(cairn__file_close(f), 0);

    assert_int_equal(env->ops->open_append(env, "/db/f", &f), 0);
    assert_int_equal(cairn__file_append(f, "!", 1), 0);
    assert_int_equal(cairn__file_close(f), 0);
    assert_int_equal(env->ops->file_size(env, "/db/f", &sz), 0);
    assert_int_equal(sz, 12);

    assert_int_equal(env->ops->open_read(env, "/db/f", &f), 0);
    assert_int_equal(cairn__file_read(f, 5, buf, &got), 0);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(cairn__file_skip(f, 1), 0);
    assert_int_equal(cairn__file_read(f, sizeof buf, buf, &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, "world!", 6);
    assert_int_equal(cairn__file_pread(f, 6, 3, buf, &got), 0);
    assert_int_equal(got, 3);
    assert_memory_equal(buf, "wor", 3);
    assert_int_equal(cairn__file_pread(f, 100, 3, buf, &got), 0);
    assert_int_equal(got, 0);
    assert_int_equal(cairn__file_append(f, "x", 1), CAIRN_INVALID);
    assert_int_equal(cairn__file_close(f), 0);

    /* open_write truncates. */
    assert_int_equal(env->ops->open_write(env, "/db/f", &f), 0);
    assert_int_equal(cairn__file_pread(f, 0, 1, buf, &got), CAIRN_INVALID);
    assert_int_equal(cairn__file_close(f), 0);
    assert_contents(env, "/db/f", "");
}

static void test_namespace(void **state)
{
    cairn_env *env = *state;
    cairn__strlist l;
    cairn__file *f = (cairn__file *)1;

    write_whole(env, "/db/a", "AAA");
    write_whole(env, "/db/b", "B");
    assert_int_equal(env->ops->mkdir(env, "/db/sub/"), 0);
    assert_int_equal(env->ops->mkdir(env, "/db/sub"), 0);
    write_whole(env, "/db/sub/deep", "D");
    write_whole(env, "/top", "T");
    assert_int_equal(env->ops->mkdir(env, "/dc"), 0);
    write_whole(env, "/dc/a", "not in /db");

    assert_int_equal(env->ops->list(env, "/db", &l), 0);
    assert_int_equal(l.n, 3);
    assert_true(has_name(&l, "a") && has_name(&l, "b") && has_name(&l, "sub"));
    cairn__strlist_fini(&l);
    assert_int_equal(env->ops->list(env, "/", &l), 0);
    assert_int_equal(l.n, 3);
    assert_true(has_name(&l, "db") && has_name(&l, "dc") &&
                has_name(&l, "top"));
    cairn__strlist_fini(&l);
    assert_true(env->ops->exists(env, "/db/sub/deep"));
    assert_true(env->ops->exists(env, "/db/"));
    assert_false(env->ops->exists(env, "/db/c"));

    /* POSIX rules: parents must exist; files are not directories. */
    assert_int_equal(env->ops->open_write(env, "/nodir/x", &f), CAIRN_NOTFOUND);
    assert_null(f);
    assert_non_null(strstr(cairn__errmsg_get(), "/nodir/x"));
    assert_int_equal(env->ops->mkdir(env, "/x/y"), CAIRN_NOTFOUND);
    assert_int_equal(env->ops->open_write(env, "/db/a/x", &f), CAIRN_IO);
    assert_int_not_equal(env->ops->mkdir(env, "/db/a"), 0);
    assert_int_equal(env->ops->open_read(env, "/db/sub", &f), CAIRN_IO);
    assert_int_equal(env->ops->remove(env, "/db/sub"), CAIRN_IO);
    assert_int_equal(env->ops->rmdir(env, "/db/sub"), CAIRN_IO);
    assert_non_null(strstr(cairn__errmsg_get(), "/db/sub"));
    assert_int_equal(env->ops->remove(env, "/db/sub/deep"), 0);
    assert_int_equal(env->ops->rmdir(env, "/db/sub"), 0);
    assert_false(env->ops->exists(env, "/db/sub"));

    /* Rename replaces the target; a missing source names the path. */
    assert_int_equal(env->ops->rename(env, "/db/a", "/db/b"), 0);
    assert_false(env->ops->exists(env, "/db/a"));
    assert_contents(env, "/db/b", "AAA");
    assert_int_equal(env->ops->rename(env, "/db/b", "/db/c"), 0);
    assert_contents(env, "/db/c", "AAA");
    assert_int_equal(env->ops->rename(env, "/db/c", "/db/c"), 0);
    assert_contents(env, "/db/c", "AAA");
    /* A new name that sorts before the source. */
    assert_int_equal(env->ops->rename(env, "/db/c", "/db/0"), 0);
    assert_false(env->ops->exists(env, "/db/c"));
    assert_contents(env, "/db/0", "AAA");
    assert_int_equal(env->ops->rename(env, "/db/0", "/db/c"), 0);
    assert_false(env->ops->exists(env, "/db/0"));
    assert_int_equal(env->ops->rename(env, "/db/a", "/db/z"), CAIRN_NOTFOUND);
    assert_non_null(strstr(cairn__errmsg_get(), "/db/a"));
    assert_int_equal(env->ops->rename(env, "/db/c", "/no/c"), CAIRN_NOTFOUND);

    /* Missing things give CAIRN_NOTFOUND with the path. */
    uint64_t sz;
    assert_int_equal(env->ops->open_read(env, "/db/missing", &f),
                     CAIRN_NOTFOUND);
    assert_non_null(strstr(cairn__errmsg_get(), "/db/missing"));
    assert_int_equal(env->ops->file_size(env, "/db/missing", &sz),
                     CAIRN_NOTFOUND);
    assert_int_equal(env->ops->remove(env, "/db/missing"), CAIRN_NOTFOUND);
    assert_int_equal(env->ops->list(env, "/nope", &l), CAIRN_NOTFOUND);
    assert_int_equal(env->ops->sync_dir(env, "/nope"), CAIRN_NOTFOUND);
    assert_int_equal(env->ops->sync_dir(env, "/db"), 0);

    /* Relative names live in "", which always exists. */
    write_whole(env, "rel", "R");
    assert_int_equal(env->ops->list(env, "", &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.names[0], "rel");
    cairn__strlist_fini(&l);

    char *data;
    size_t len;
    assert_int_equal(cairn__env_read_file(env, "/top", 0, &data, &len),
                     CAIRN_CORRUPTION);
}

static void test_envs_are_private(void **state)
{
    cairn_env *env = *state;
    cairn_env *other = cairn_env_mem_create();
    assert_non_null(other);
    write_whole(env, "/db/mine", "x");
    assert_false(other->ops->exists(other, "/db/mine"));
    assert_false(other->ops->exists(other, "/db"));
    cairn_env_destroy(other);
}

static void test_handles_outlive_names(void **state)
{
    cairn_env *env = *state;
    cairn__file *r, *w;
    char buf[16];
    size_t got;

    write_whole(env, "/db/old", "old data");
    assert_int_equal(env->ops->open_read(env, "/db/old", &r), 0);
    write_whole(env, "/db/new", "new");
    /* Replacing and removing the name leaves the open handle's bytes. */
    assert_int_equal(env->ops->rename(env, "/db/new", "/db/old"), 0);
    assert_int_equal(cairn__file_pread(r, 0, sizeof buf, buf, &got), 0);
    assert_int_equal(got, 8);
    assert_memory_equal(buf, "old data", 8);
    assert_contents(env, "/db/old", "new");

    assert_int_equal(env->ops->open_append(env, "/db/old", &w), 0);
    assert_int_equal(env->ops->remove(env, "/db/old"), 0);
    assert_int_equal(cairn__file_append(w, "er", 2), 0);
    assert_int_equal(cairn__file_close(w), 0);
    assert_false(env->ops->exists(env, "/db/old"));
    assert_int_equal(cairn__file_close(r), 0);

    /* Two handles on one file share its bytes, as two descriptors do. */
    assert_int_equal(env->ops->open_write(env, "/db/s", &w), 0);
    assert_int_equal(env->ops->open_read(env, "/db/s", &r), 0);
    assert_int_equal(cairn__file_append(w, "abc", 3), 0);
    assert_int_equal(cairn__file_read(r, sizeof buf, buf, &got), 0);
    assert_int_equal(got, 3);
    assert_int_equal(cairn__file_close(w), 0);
    assert_int_equal(cairn__file_close(r), 0);
}

static void test_lock(void **state)
{
    cairn_env *env = *state;
    cairn__filelock *a, *b;

    assert_int_equal(env->ops->lock(env, "/db/LOCK", &a), 0);
    assert_true(env->ops->exists(env, "/db/LOCK"));
    assert_int_equal(env->ops->lock(env, "/db/LOCK", &b), CAIRN_LOCKED);
    assert_null(b);
    assert_non_null(strstr(cairn__errmsg_get(), "in use"));
    assert_non_null(strstr(cairn__errmsg_get(), "/db/LOCK"));
    assert_int_equal(env->ops->lock(env, "/db/LOCK/", &b), CAIRN_LOCKED);
    assert_int_equal(env->ops->lock(env, "/nodir/LOCK", &b), CAIRN_NOTFOUND);
    assert_int_equal(env->ops->unlock(env, a), 0);
    assert_int_equal(env->ops->unlock(env, a), CAIRN_INVALID);
    assert_int_equal(env->ops->lock(env, "/db/LOCK", &b), 0);
    /* Removing the file while locked keeps the lock on the old file and
     * frees the name, as fcntl locks on an unlinked inode do. */
    assert_int_equal(env->ops->remove(env, "/db/LOCK"), 0);
    assert_int_equal(env->ops->lock(env, "/db/LOCK", &a), 0);
    assert_int_equal(env->ops->unlock(env, a), 0);
    assert_int_equal(env->ops->unlock(env, b), 0);
    assert_int_equal(env->ops->unlock(env, NULL), 0);
}

typedef struct reader_arg {
    cairn__file *f;
    const char *expect;
    size_t len;
    uint64_t seed;
    int failures;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    tu_rng rng;
    char buf[512];
    tu_rng_init(&rng, a->seed);
    int rounds = (int)(2000 * tu_scale()) + 1;
    for (int i = 0; i < rounds; i++) {
        uint64_t off = tu_rng_uniform(&rng, a->len);
        size_t n = 1 + (size_t)tu_rng_uniform(&rng, sizeof buf);
        size_t got, want = n < a->len - off ? n : a->len - (size_t)off;
        if (cairn__file_pread(a->f, off, n, buf, &got) != 0 || got != want ||
            memcmp(buf, a->expect + off, got) != 0)
            a->failures++;
    }
    return NULL;
}

static void test_concurrent_preads(void **state)
{
    cairn_env *env = *state;
    uint64_t seed = tu_seed("test_concurrent_preads");
    tu_rng rng;
    size_t len = 64 * 1024;
    char *data = malloc(len);
    cairn__file *f;
    cairn__thread *t[4];
    reader_arg args[4];

    assert_non_null(data);
    tu_rng_init(&rng, seed);
    tu_rng_bytes(&rng, data, len);
    assert_int_equal(cairn__env_write_file(env, "/db/big", data, len, 0), 0);
    assert_int_equal(env->ops->open_read(env, "/db/big", &f), 0);
    tu_watchdog_arm(60, "test_concurrent_preads");
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){f, data, len, seed + (uint64_t)i, 0};
        assert_int_equal(env->ops->thread_start(env, reader, &args[i], &t[i]),
                         0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(env->ops->thread_join(env, t[i]), 0);
        assert_int_equal(args[i].failures, 0);
    }
    tu_watchdog_disarm();
    assert_int_equal(cairn__file_close(f), 0);
    free(data);

    uint64_t a = env->ops->now_nanos(env);
    env->ops->sleep_micros(env, 1000);
    assert_true(env->ops->now_nanos(env) - a >= 1000000u);
    assert_true(env->ops->now_micros(env) > 0);
}

static void test_destroy_frees_everything(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    assert_int_equal(env->ops->mkdir(env, "/d"), 0);
    assert_int_equal(env->ops->mkdir(env, "/d/e"), 0);
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof name, "/d/e/%03d", i);
        write_whole(env, name, name);
    }
    /* Leaving files, directories and names behind is fine; ASan reports
     * anything destroy fails to free. */
    cairn_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_write_append, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_namespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_envs_are_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handles_outlive_names, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_preads, setup,
                                        teardown),
        cmocka_unit_test(test_destroy_frees_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
