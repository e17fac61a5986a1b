/*
 * api_check.c: see api_check.h. Test-only code.
 */
#include "api_check.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char primed[1024];

void api_prime(int alt)
{
    if (alt)
        (void)cairn_writeoptions_set_sync(NULL, 1);
    else
        (void)cairn_readoptions_set_fill_cache(NULL, 1);
    snprintf(primed, sizeof primed, "%s", cairn_errmsg());
    assert_true(primed[0] != '\0');
}

void api_check_msg(const char *named, const char *call, int line)
{
    const char *msg = cairn_errmsg();
    if (msg == NULL || msg[0] == '\0' || strcmp(msg, primed) == 0)
        fail_msg("line %d: %s set no message of its own (\"%s\")", line, call,
                 msg ? msg : "(null)");
    if (named != NULL && strstr(msg, named) == NULL)
        fail_msg("line %d: %s: message \"%s\" does not name \"%s\"", line, call,
                 msg, named);
}

void api_check_err(int want, int got, const char *named, const char *call,
                   int line)
{
    if (got != want)
        fail_msg("line %d: %s returned %s, expected %s (message \"%s\")", line,
                 call, cairn_errname(got), cairn_errname(want), cairn_errmsg());
    api_check_msg(named, call, line);
}

int api_setup(void **state)
{
    api_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->env = cairn_env_mem_create();
    f->opt = cairn_options_create();
    assert_non_null(f->env);
    assert_non_null(f->opt);
    assert_int_equal(cairn_options_set_env(f->opt, f->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 1), 0);
    assert_int_equal(cairn_options_set_info_log(f->opt, 0), 0);
    *state = f;
    return 0;
}

int api_teardown(void **state)
{
    api_fixture *f = *state;
    cairn_options_destroy(f->opt);
    cairn_env_destroy(f->env);
    free(f);
    return 0;
}

cairn_db *api_open(const cairn_options *opt, const char *name)
{
    cairn_db *db = NULL;
    int rc = cairn_db_open(opt, name, &db);
    if (rc != 0)
        fail_msg("open %s: %s: %s", name, cairn_errname(rc), cairn_errmsg());
    assert_non_null(db);
    return db;
}

void api_check_value(cairn_db *db, const void *k, size_t kl, const void *v,
                     size_t vl)
{
    static const char one[1] = {'x'};
    void *got = (void *)one; /* must come back NULL when absent */
    size_t len = 99;
    int rc = cairn_db_get(db, NULL, k, kl, &got, &len);
    if (v == NULL) {
        assert_int_equal(rc, CAIRN_NOTFOUND);
        assert_null(got);
        return;
    }
    if (rc != 0)
        fail_msg("get: %s: %s", cairn_errname(rc), cairn_errmsg());
    assert_non_null(got);
    assert_int_equal(len, vl);
    if (vl > 0)
        assert_memory_equal(got, v, vl);
    cairn_free(got);
}

void api_check_str(cairn_db *db, const cairn_readoptions *ro, const char *k,
                   const char *v)
{
    void *got = NULL;
    size_t len = 0;
    int rc = cairn_db_get(db, ro, k, strlen(k), &got, &len);
    if (v == NULL) {
        if (rc != CAIRN_NOTFOUND)
            fail_msg("get %s: %s, expected CAIRN_NOTFOUND", k,
                     cairn_errname(rc));
        assert_null(got);
        return;
    }
    if (rc != 0)
        fail_msg("get %s: %s: %s", k, cairn_errname(rc), cairn_errmsg());
    assert_int_equal(len, strlen(v));
    assert_memory_equal(got, v, len);
    cairn_free(got);
}

void api_fill(cairn_db *db, int n, size_t vlen)
{
    char k[16], v[512];
    assert_true(vlen <= sizeof v);
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        memset(v, 'a' + i % 26, vlen);
        OK(cairn_db_put(db, NULL, k, 6, v, vlen));
    }
}
