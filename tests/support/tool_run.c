/*
 * tool_run.c: see tool_run.h. Test-only code.
 */
#include "tool_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

const char *tool_path(void)
{
    const char *p = getenv("CAIRN_TOOL");
    if (p == NULL || p[0] == '\0')
        skip(); /* CTest sets it; a bare run has no binary to test */
    return p;
}

char *tool_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

void tool_exec(tool_run *r, const char *dir, const char *const *args)
{
    const char *tool = tool_path();
    char outp[4200], errp[4200];
    snprintf(outp, sizeof outp, "%s/.stdout", dir);
    snprintf(errp, sizeof errp, "%s/.stderr", dir);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = tool;
    for (; args[n - 1] != NULL; n++) {
        assert_true(n < 31);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        /* A hung tool dies of SIGALRM (the alarm survives exec) instead of
         * hanging the test: that shows up below as a failed WIFEXITED. */
        alarm(120);
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status))
        fprintf(stderr, "%s %s: killed by signal %d\n", tool,
                args[0] ? args[0] : "", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    r->code = WEXITSTATUS(status);
    assert_true(r->code != 126 && r->code != 127);
    r->out = tool_slurp(outp, &r->outlen);
    r->err = tool_slurp(errp, NULL);
}

void tool_run_free(tool_run *r)
{
    free(r->out);
    free(r->err);
}

int tool_setup(void **state)
{
    tool_fixture *f = malloc(sizeof *f);
    if (f == NULL)
        return -1;
    f->dir = tu_tempdir("tool");
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    *state = f;
    return 0;
}

int tool_teardown(void **state)
{
    tool_fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

int tool_run_tests(const char *name, const struct CMUnitTest *tests, size_t n)
{
    tu_watchdog_arm(240, name);
    int failed = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
    tu_watchdog_disarm();
    return failed;
}

size_t tool_find_files(const char *dir, const char *pattern, int prefix,
                       char names[][256], size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0, plen = strlen(pattern);
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len < plen)
            continue;
        if (prefix ? strncmp(e->d_name, pattern, plen) == 0
                   : strcmp(e->d_name + len - plen, pattern) == 0)
            snprintf(names[n++], 256, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

cairn_db *tool_open_small(const char *db, int compression)
{
    cairn_options *opt = cairn_options_create();
    assert_non_null(opt);
    assert_int_equal(cairn_options_set_create_if_missing(opt, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(opt, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_compression(opt, compression), 0);
    assert_int_equal(cairn_options_set_bloom_bits_per_key(opt, 10), 0);
    assert_int_equal(cairn_options_set_info_log(opt, 0), 0);
    cairn_db *h = NULL;
    assert_int_equal(cairn_db_open(opt, db, &h), 0);
    cairn_options_destroy(opt);
    return h;
}

void tool_put(cairn_db *h, const char *k, size_t klen, const char *v)
{
    assert_int_equal(cairn_db_put(h, NULL, k, klen, v, strlen(v)), 0);
}
