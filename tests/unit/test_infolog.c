/*
 * test_infolog.c: the info log writes LevelDB-style lines to <db>/LOG,
 * rotates an old LOG to LOG.old at open, keeps lines whole when threads
 * log at once, accepts a NULL log, and leaves the caller's error message
 * alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "env/env_fault.h"
#include "env/infolog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_all(cairn_env *env, const char *path, char **data, size_t *len)
{
    assert_int_equal(cairn__env_read_file(env, path, 1 << 24, data, len), 0);
}

/* Checks one line's header, "YYYY/MM/DD-HH:MM:SS.uuuuuu <hex> ", and
 * returns a pointer to the message. */
static const char *check_header(const char *line)
{
    int y, mo, d, h, mi, s, us, n = 0;
    unsigned long long tid;
    assert_int_equal(sscanf(line, "%4d/%2d/%2d-%2d:%2d:%2d.%6d %llx %n", &y,
                            &mo, &d, &h, &mi, &s, &us, &tid, &n),
                     8);
    assert_true(n > 0);
    assert_true(y >= 2020 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31);
    assert_true(line[4] == '/' && line[10] == '-' && line[19] == '.');
    assert_int_equal(line[26], ' ');
    return line + n;
}

static void test_lines_and_rotation(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    cairn__infolog *log;
    char *data;
    size_t len;

    assert_non_null(env);
    assert_int_equal(env->ops->mkdir(env, "/db"), 0);
    assert_int_equal(cairn__infolog_open(env, "/db", &log), 0);
    cairn__infolog_printf(log, "first %d", 1);
    cairn__infolog_printf(log, "second line\n");
    /* Flushed per line: visible before close. */
    read_all(env, "/db/LOG", &data, &len);
    char *nl = strchr(data, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_string_equal(check_header(data), "first 1");
    assert_string_equal(check_header(nl + 1), "second line\n");
    assert_int_equal(data[len - 1], '\n');
    assert_null(strstr(nl + 1, "\n\n"));
    free(data);
    cairn__infolog_close(log);

    /* Reopening rotates: LOG.old holds the old lines, LOG only new ones. */
    assert_int_equal(cairn__infolog_open(env, "/db", &log), 0);
    cairn__infolog_printf(log, "third");
    cairn__infolog_close(log);
    read_all(env, "/db/LOG.old", &data, &len);
    assert_non_null(strstr(data, "first 1\n"));
    assert_non_null(strstr(data, "second line\n"));
    free(data);
    read_all(env, "/db/LOG", &data, &len);
    assert_string_equal(check_header(data), "third\n");
    free(data);

    /* A second rotation replaces LOG.old. */
    assert_int_equal(cairn__infolog_open(env, "/db", &log), 0);
    cairn__infolog_close(log);
    read_all(env, "/db/LOG.old", &data, &len);
    assert_null(strstr(data, "first"));
    assert_non_null(strstr(data, "third"));
    free(data);

    assert_int_equal(cairn__infolog_open(env, "/nodb", &log), CAIRN_NOTFOUND);
    assert_null(log);
    cairn_env_destroy(env);
}

static void test_null_log_and_long_lines(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_mem_create();
    cairn__infolog *log;
    char *data;
    size_t len;

    cairn__infolog_printf(NULL, "nothing %s", "happens");
    cairn__infolog_close(NULL);

    assert_non_null(env);
    assert_int_equal(env->ops->mkdir(env, "/db"), 0);
    assert_int_equal(cairn__infolog_open(env, "/db", &log), 0);
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cairn__infolog_printf(log, "big:%s:end", big);
    cairn__infolog_close(log);

    read_all(env, "/db/LOG", &data, &len);
    const char *msg = check_header(data);
    assert_memory_equal(msg, "big:", 4);
    assert_int_equal(strspn(msg + 4, "z"), sizeof big - 1);
    assert_memory_equal(msg + 4 + sizeof big - 1, ":end\n", 5);
    free(data);
    cairn_env_destroy(env);
}

static void test_failing_log_keeps_error(void **state)
{
    (void)state;
    cairn_env *base = cairn_env_mem_create();
    cairn_env *env;
    cairn__infolog *log;
    char *data;
    size_t len;

    assert_non_null(base);
    assert_int_equal(base->ops->mkdir(base, "/db"), 0);
    assert_int_equal(cairn__env_fault_create(base, &env), 0);
    assert_int_equal(cairn__infolog_open(env, "/db", &log), 0);
    /* Logging is best effort, and must not replace the message of the
     * error the caller is busy reporting, even when the log write fails. */
    assert_int_equal(
        cairn__env_fault_arm(env, CAIRN__FAULT_WRITE, 1, CAIRN_NOSPC, 1), 0);
    cairn__err(CAIRN_IO, "the real problem");
    cairn__infolog_printf(log, "lost line");
    assert_true(cairn__env_fault_count(env, CAIRN__FAULT_WRITE) >= 1);
    assert_non_null(strstr(cairn__errmsg_get(), "the real problem"));
    cairn__env_fault_disarm_all(env);
    cairn__infolog_printf(log, "kept line");
    cairn__infolog_close(log);
    read_all(env, "/db/LOG", &data, &len);
    assert_null(strstr(data, "lost line"));
    assert_non_null(strstr(data, "kept line"));
    free(data);
    cairn_env_destroy(env);
    cairn_env_destroy(base);
}

static void test_lines_reach_the_os(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_default();
    char *dir = tu_tempdir("infolog");
    char path[4200];
    cairn__infolog *log;
    char *data;
    size_t len;

    /* The POSIX env buffers appends; each line must be flushed at once. */
    assert_int_equal(cairn__infolog_open(env, dir, &log), 0);
    cairn__infolog_printf(log, "visible before close");
    snprintf(path, sizeof path, "%s/LOG", dir);
    read_all(env, path, &data, &len);
    assert_non_null(strstr(data, "visible before close\n"));
    free(data);
    cairn__infolog_close(log);
    tu_rmtree(dir);
    free(dir);
}

typedef struct logger_arg {
    cairn__infolog *log;
    int id;
    int lines;
} logger_arg;

static void *logger(void *p)
{
    logger_arg *a = p;
    for (int i = 0; i < a->lines; i++)
        cairn__infolog_printf(a->log, "thread %d line %d %s", a->id, i,
                              "padding-padding-padding-padding-padding");
    return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
    (void)state;
    cairn_env *env = cairn_env_default();
    char *dir = tu_tempdir("infolog");
    char path[4200];
    cairn__infolog *log;
    cairn__thread *t[4];
    logger_arg args[4];
    int lines = (int)(300 * tu_scale()) + 1;

    assert_int_equal(cairn__infolog_open(env, dir, &log), 0);
    tu_watchdog_arm(60, "test_threads_do_not_interleave");
    for (int i = 0; i < 4; i++) {
        args[i] = (logger_arg){log, i, lines};
        assert_int_equal(env->ops->thread_start(env, logger, &args[i], &t[i]),
                         0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(env->ops->thread_join(env, t[i]), 0);
    tu_watchdog_disarm();
    cairn__infolog_close(log);

    snprintf(path, sizeof path, "%s/LOG", dir);
    size_t len;
    char *data;
    read_all(env, path, &data, &len);
    int next[4] = {0, 0, 0, 0};
    int count = 0;
    for (char *line = data; *line != '\0';) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        int id, n;
        char pad[64];
        assert_int_equal(
            sscanf(check_header(line), "thread %d line %d %63s", &id, &n, pad),
            3);
        assert_in_range(id, 0, 3);
        assert_int_equal(n, next[id]); /* each thread's lines in order */
        next[id]++;
        assert_string_equal(pad, "padding-padding-padding-padding-padding");
        count++;
        line = nl + 1;
    }
    assert_int_equal(count, 4 * lines);
    free(data);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_rotation),
        cmocka_unit_test(test_null_log_and_long_lines),
        cmocka_unit_test(test_failing_log_keeps_error),
        cmocka_unit_test(test_lines_reach_the_os),
        cmocka_unit_test(test_threads_do_not_interleave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
