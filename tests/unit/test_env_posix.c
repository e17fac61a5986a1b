/*
 * test_env_posix.c: the POSIX env on real temporary directories: reads,
 * writes and appends (with the 64 KiB buffer), directory operations, the
 * error codes and messages, the database lock (in-process and across
 * processes, including a holder killed with SIGKILL), clocks and threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "env/env.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct fixture {
    cairn_env *env;
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->env = cairn_env_default();
    fx->dir = tu_tempdir("envposix");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* dir + "/" + name in a static buffer per slot (tests use a few at once). */
static const char *path_in(const fixture *fx, int slot, const char *name)
{
    static char bufs[4][4096];
    snprintf(bufs[slot], sizeof bufs[slot], "%s/%s", fx->dir, name);
    return bufs[slot];
}

static void write_whole(cairn_env *env, const char *path, const char *s)
{
    assert_int_equal(cairn__env_write_file(env, path, s, strlen(s), 0), 0);
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

static void test_write_then_read(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "data");
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("test_write_then_read"));
    size_t total = 300 * 1024;
    char *src = malloc(total);
    char *dst = malloc(total);
    assert_non_null(src);
    assert_non_null(dst);
    tu_rng_bytes(&rng, src, total);

    /* Small appends, one larger than the buffer, then small ones again. */
    cairn__file *f;
    assert_int_equal(env->ops->open_write(env, p, &f), 0);
    size_t off = 0;
    while (off < total) {
        size_t n = off == 1000 ? 150 * 1024 : 1 + tu_rng_uniform(&rng, 3000);
        if (n > total - off)
            n = total - off;
        assert_int_equal(cairn__file_append(f, src + off, n), 0);
        off += n;
        uint64_t sz;
        assert_int_equal(cairn__file_size(f, &sz), 0);
        assert_int_equal(sz, off);
    }
    assert_int_equal(cairn__file_sync(f), 0);
    assert_int_equal(cairn__file_close(f), 0);

    uint64_t fsz;
    assert_int_equal(env->ops->file_size(env, p, &fsz), 0);
    assert_int_equal(fsz, total);

    /* Sequential reads in odd-sized pieces, with one skip. */
    assert_int_equal(env->ops->open_read(env, p, &f), 0);
    size_t got;
    assert_int_equal(cairn__file_read(f, 777, dst, &got), 0);
    assert_int_equal(got, 777);
    assert_int_equal(cairn__file_skip(f, 1000), 0);
    assert_int_equal(cairn__file_read(f, 5000, dst + 1777, &got), 0);
    assert_int_equal(got, 5000);
    assert_memory_equal(dst, src, 777);
    assert_memory_equal(dst + 1777, src + 1777, 5000);
    assert_int_equal(cairn__file_read(f, total, dst, &got), 0);
    assert_int_equal(got, total - 6777); /* short only at end of file */
    assert_int_equal(cairn__file_read(f, 10, dst, &got), 0);
    assert_int_equal(got, 0);

    /* Positional reads, including across and past the end. */
    assert_int_equal(cairn__file_pread(f, 0, total, dst, &got), 0);
    assert_int_equal(got, total);
    assert_memory_equal(dst, src, total);
    assert_int_equal(cairn__file_pread(f, total - 10, 100, dst, &got), 0);
    assert_int_equal(got, 10);
    assert_memory_equal(dst, src + total - 10, 10);
    assert_int_equal(cairn__file_pread(f, total + 5, 100, dst, &got), 0);
    assert_int_equal(got, 0);
    uint64_t rsz;
    assert_int_equal(cairn__file_size(f, &rsz), 0);
    assert_int_equal(rsz, total);
    assert_int_equal(cairn__file_close(f), 0);
    free(src);
    free(dst);
}

static void test_buffer_and_flush(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "buffered");
    cairn__file *f;
    uint64_t sz;

    assert_int_equal(env->ops->open_write(env, p, &f), 0);
    assert_int_equal(cairn__file_append(f, "hello", 5), 0);
    /* Still in the user-space buffer: the OS has not seen it. */
    assert_int_equal(env->ops->file_size(env, p, &sz), 0);
    assert_int_equal(sz, 0);
    assert_int_equal(cairn__file_size(f, &sz), 0);
    assert_int_equal(sz, 5);
    assert_int_equal(cairn__file_flush(f), 0);
    assert_int_equal(env->ops->file_size(env, p, &sz), 0);
    assert_int_equal(sz, 5);
    /* close() flushes too. */
    assert_int_equal(cairn__file_append(f, " world", 6), 0);
    assert_int_equal(cairn__file_close(f), 0);
    assert_contents(env, p, "hello world");
}

static void test_append_mode(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "app");
    cairn__file *f;
    uint64_t sz;

    write_whole(env, p, "abc");
    assert_int_equal(env->ops->open_append(env, p, &f), 0);
    assert_int_equal(cairn__file_size(f, &sz), 0);
    assert_int_equal(sz, 3);
    assert_int_equal(cairn__file_append(f, "def", 3), 0);
    assert_int_equal(cairn__file_close(f), 0);
    assert_contents(env, p, "abcdef");
    /* open_write truncates. */
    assert_int_equal(env->ops->open_write(env, p, &f), 0);
    assert_int_equal(cairn__file_close(f), 0);
    assert_contents(env, p, "");
}

/* Several MiB through a write handle, fresh and appended: the writeback
 * started every MiB (env_posix.c) leaves the bytes exactly as written. */
static void check_big(cairn_env *env, const char *p, size_t total)
{
    cairn__file *f;
    assert_int_equal(env->ops->open_read(env, p, &f), 0);
    char *got = malloc(total);
    size_t n = 0;
    assert_int_equal(cairn__file_pread(f, 0, total, got, &n), 0);
    assert_int_equal(n, total);
    for (size_t i = 0; i < total; i++)
        if (got[i] != (char)(i * 7 + i / 4096))
            fail_msg("byte %zu differs", i);
    free(got);
    assert_int_equal(cairn__file_close(f), 0);
}

static void append_pattern(cairn__file *f, size_t from, size_t to)
{
    char chunk[3000];
    for (size_t at = from; at < to;) {
        size_t k = to - at < sizeof chunk ? to - at : sizeof chunk;
        for (size_t i = 0; i < k; i++)
            chunk[i] = (char)((at + i) * 7 + (at + i) / 4096);
        assert_int_equal(cairn__file_append(f, chunk, k), 0);
        at += k;
    }
}

static void test_big_writes(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "big");
    cairn__file *f;
    size_t first = (size_t)5 << 19, total = (size_t)7 << 19;
    assert_int_equal(env->ops->open_write(env, p, &f), 0);
    append_pattern(f, 0, first);
    assert_int_equal(cairn__file_sync(f), 0);
    assert_int_equal(cairn__file_close(f), 0);
    check_big(env, p, first);
    assert_int_equal(env->ops->open_append(env, p, &f), 0);
    append_pattern(f, first, total);
    assert_int_equal(cairn__file_sync(f), 0);
    assert_int_equal(cairn__file_close(f), 0);
    check_big(env, p, total);
}

static void test_wrong_mode(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "mode");
    cairn__file *f;
    char buf[4];
    size_t got;

    write_whole(env, p, "x");
    assert_int_equal(env->ops->open_read(env, p, &f), 0);
    assert_int_equal(cairn__file_append(f, "y", 1), CAIRN_INVALID);
    assert_int_equal(cairn__file_sync(f), CAIRN_INVALID);
    assert_int_equal(cairn__file_close(f), 0);
    assert_int_equal(env->ops->open_write(env, p, &f), 0);
    assert_int_equal(cairn__file_pread(f, 0, 1, buf, &got), CAIRN_INVALID);
    assert_int_equal(cairn__file_close(f), 0);
}

static int has_name(const cairn__strlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return 1;
    return 0;
}

static void test_directory_ops(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    cairn__strlist l;

    write_whole(env, path_in(fx, 0, "a"), "AAA");
    write_whole(env, path_in(fx, 1, "b"), "B");
    assert_int_equal(env->ops->mkdir(env, path_in(fx, 2, "sub")), 0);
    assert_int_equal(env->ops->mkdir(env, path_in(fx, 2, "sub")), 0);
    assert_int_equal(env->ops->list(env, fx->dir, &l), 0);
    assert_int_equal(l.n, 3);
    assert_true(has_name(&l, "a") && has_name(&l, "b") && has_name(&l, "sub"));
    cairn__strlist_fini(&l);
    assert_true(env->ops->exists(env, path_in(fx, 0, "a")));
    assert_false(env->ops->exists(env, path_in(fx, 0, "zzz")));

    /* mkdir over a file is an error, not success. */
    assert_int_not_equal(env->ops->mkdir(env, path_in(fx, 0, "a")), 0);

    /* Rename over an existing file replaces it. */
    assert_int_equal(
        env->ops->rename(env, path_in(fx, 0, "a"), path_in(fx, 1, "b")), 0);
    assert_false(env->ops->exists(env, path_in(fx, 0, "a")));
    assert_contents(env, path_in(fx, 1, "b"), "AAA");

    /* rmdir refuses a non-empty directory. */
    write_whole(env, path_in(fx, 0, "sub/x"), "x");
    assert_int_equal(env->ops->rmdir(env, path_in(fx, 2, "sub")), CAIRN_IO);
    assert_int_equal(env->ops->remove(env, path_in(fx, 0, "sub/x")), 0);
    assert_int_equal(env->ops->rmdir(env, path_in(fx, 2, "sub")), 0);
    assert_int_equal(env->ops->remove(env, path_in(fx, 1, "b")), 0);
    assert_int_equal(env->ops->list(env, fx->dir, &l), 0);
    assert_int_equal(l.n, 0);
    cairn__strlist_fini(&l);
    assert_int_equal(env->ops->sync_dir(env, fx->dir), 0);
}

static void test_errors_name_the_path(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "missing");
    cairn__file *f = (cairn__file *)1;
    cairn__strlist l;
    uint64_t sz;

    assert_int_equal(env->ops->open_read(env, p, &f), CAIRN_NOTFOUND);
    assert_null(f);
    assert_non_null(strstr(cairn__errmsg_get(), p));
    assert_non_null(strstr(cairn__errmsg_get(), "missing"));
    assert_int_equal(env->ops->file_size(env, p, &sz), CAIRN_NOTFOUND);
    assert_non_null(strstr(cairn__errmsg_get(), p));
    assert_int_equal(env->ops->remove(env, p), CAIRN_NOTFOUND);
    assert_non_null(strstr(cairn__errmsg_get(), p));
    assert_int_equal(env->ops->list(env, p, &l), CAIRN_NOTFOUND);
    assert_int_equal(env->ops->sync_dir(env, p), CAIRN_NOTFOUND);
    assert_int_equal(env->ops->rename(env, p, path_in(fx, 1, "x")),
                     CAIRN_NOTFOUND);
    assert_non_null(strstr(cairn__errmsg_get(), p));
    /* A file in a missing directory cannot be created. */
    assert_int_equal(env->ops->open_write(env, path_in(fx, 1, "no/such"), &f),
                     CAIRN_NOTFOUND);

    char *data;
    size_t len;
    write_whole(env, p, "0123456789");
    assert_int_equal(cairn__env_read_file(env, p, 9, &data, &len),
                     CAIRN_CORRUPTION);
    assert_int_equal(cairn__env_read_file(env, p, 10, &data, &len), 0);
    assert_int_equal(len, 10);
    assert_int_equal(data[10], '\0');
    free(data);
}

static void test_nospc(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_default();
    cairn__file *f;
    if (access("/dev/full", W_OK) != 0) {
        skip();
        return;
    }
    assert_int_equal(env->ops->open_write(env, "/dev/full", &f), 0);
    assert_int_equal(cairn__file_append(f, "x", 1), 0);
    assert_int_equal(cairn__file_flush(f), CAIRN_NOSPC);
    assert_non_null(strstr(cairn__errmsg_get(), "/dev/full"));
    assert_int_equal(cairn__file_close(f), 0); /* the failed bytes are gone */
}

static void test_lock_in_process(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "LOCK");
    cairn__filelock *a, *b;

    assert_int_equal(env->ops->lock(env, p, &a), 0);
    assert_true(env->ops->exists(env, p));
    assert_int_equal(env->ops->lock(env, p, &b), CAIRN_LOCKED);
    assert_null(b);
    assert_non_null(strstr(cairn__errmsg_get(), "in use"));
    assert_non_null(strstr(cairn__errmsg_get(), p));
    /* Another spelling of the same file is the same lock. */
    char other[4200];
    snprintf(other, sizeof other, "%s/./LOCK", fx->dir);
    assert_int_equal(env->ops->lock(env, other, &b), CAIRN_LOCKED);
    /* The failed attempts must not have dropped the fcntl lock: a child
     * process still cannot take it. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cairn__filelock *c;
        _exit(env->ops->unlock(env, a) == 0 &&
                      env->ops->lock(env, p, &c) == CAIRN_LOCKED
                  ? 0
                  : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    assert_int_equal(env->ops->unlock(env, a), 0);
    assert_int_equal(env->ops->lock(env, p, &b), 0);
    assert_int_equal(env->ops->unlock(env, b), 0);
    assert_int_equal(env->ops->unlock(env, NULL), 0);
}

static void test_lock_of_killed_child(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "LOCK");
    int pipefd[2];
    cairn__filelock *l;

    tu_watchdog_arm(30, "test_lock_of_killed_child");
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        char ok = env->ops->lock(env, p, &l) == 0 ? 'y' : 'n';
        if (write(pipefd[1], &ok, 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(pipefd[1]);
    char ok = 0;
    assert_int_equal(read(pipefd[0], &ok, 1), 1);
    close(pipefd[0]);
    assert_int_equal(ok, 'y');

    assert_int_equal(env->ops->lock(env, p, &l), CAIRN_LOCKED);
    assert_non_null(strstr(cairn__errmsg_get(), "in use"));

    assert_int_equal(kill(pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    /* The LOCK file is still there, but its lock died with the holder. */
    assert_true(env->ops->exists(env, p));
    assert_int_equal(env->ops->lock(env, p, &l), 0);
    assert_int_equal(env->ops->unlock(env, l), 0);
    tu_watchdog_disarm();
}

static void test_child_cannot_lock_while_parent_holds(void **state)
{
    fixture *fx = *state;
    cairn_env *env = fx->env;
    const char *p = path_in(fx, 0, "LOCK");
    cairn__filelock *l;

    assert_int_equal(env->ops->lock(env, p, &l), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cairn__filelock *c;
        _exit(env->ops->lock(env, p, &c) == CAIRN_LOCKED ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(env->ops->unlock(env, l), 0);
}

static atomic_int thread_ran;

static void *thread_body(void *arg)
{
    atomic_fetch_add(&thread_ran, *(int *)arg);
    return NULL;
}

static void test_clock_and_threads(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_default();
    cairn__thread *t[4];
    int add = 5;

    assert_string_equal(env->ops->name, "posix");
    atomic_store(&thread_ran, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(env->ops->thread_start(env, thread_body, &add, &t[i]),
                         0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(env->ops->thread_join(env, t[i]), 0);
    assert_int_equal(atomic_load(&thread_ran), 20);

    uint64_t a = env->ops->now_nanos(env);
    env->ops->sleep_micros(env, 2000);
    uint64_t b = env->ops->now_nanos(env);
    assert_true(b - a >= 2000000u); /* a sleep lasts at least as asked */
    uint64_t us = env->ops->now_micros(env);
    uint64_t wall = (uint64_t)time(NULL) * 1000000u;
    assert_true(us + 5000000u > wall && us < wall + 5000000u);

    /* The default env is static: destroying it does nothing. */
    cairn_env_destroy(env);
    cairn_env_destroy(NULL);
    assert_ptr_equal(cairn_env_default(), env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_path, setup,
                                        teardown),
        cmocka_unit_test(test_nospc),
        cmocka_unit_test_setup_teardown(test_lock_in_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_of_killed_child, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_child_cannot_lock_while_parent_holds, setup, teardown),
        cmocka_unit_test(test_clock_and_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
