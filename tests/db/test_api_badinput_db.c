/*
 * test_api_badinput_db.c: the database functions of include/cairn.h (open,
 * the calls on an open handle, a closed handle, destroy, dump) against the
 * bad inputs the header promises to refuse, and the edge cases it promises
 * to accept. Codes, options and batches are test_api_badinput.c's, which
 * says what "refused" means; the checks are tests/support/api_check.h's.
 *
 * Databases live in cairn_env_mem_create() environments, so the tests are
 * hermetic; only cairn_db_destroy and cairn_dump_file with a NULL option or
 * env touch the real file system, inside a fresh temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "api_check.h"
#include "testutil.h"

#include "cairn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char one[1] = {'x'}; /* the buffer behind over-long lengths */

/* ---------------------------------------------------------------------- */
/* Databases                                                                */

static void test_open_args(void **state)
{
    api_fixture *f = *state;
    cairn_db *db = (cairn_db *)one; /* must come back NULL */
    EXPECT_INVALID(cairn_db_open(f->opt, "/db", NULL));
    EXPECT_INVALID(cairn_db_open(NULL, "/db", &db));
    assert_null(db);
    db = (cairn_db *)one;
    EXPECT_INVALID(cairn_db_open(f->opt, NULL, &db));
    assert_null(db);
    db = (cairn_db *)one;
    EXPECT_INVALID(cairn_db_open(f->opt, "", &db));
    assert_null(db);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 0), 0);
    db = (cairn_db *)one;
    EXPECT_INVALID(cairn_db_open(f->opt, "/db", &db));
    assert_null(db);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 1), 0);

    cairn_db *first = api_open(f->opt, "/db");
    db = (cairn_db *)one;
    EXPECT_ERR(CAIRN_LOCKED, cairn_db_open(f->opt, "/db", &db));
    assert_null(db);
    assert_int_equal(cairn_db_close(first), 0);
    assert_int_equal(cairn_options_set_error_if_exists(f->opt, 1), 0);
    db = (cairn_db *)one;
    EXPECT_ERR(CAIRN_EXISTS, cairn_db_open(f->opt, "/db", &db));
    assert_null(db);
    assert_int_equal(cairn_options_set_error_if_exists(f->opt, 0), 0);
}

static void test_db_call_args(void **state)
{
    api_fixture *f = *state;
    cairn_db *db = api_open(f->opt, "/db");
    char buf[600];
    /* A fresh handle has no message; NULL handles have none either. */
    assert_int_equal(cairn_db_errmsg(db, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    buf[0] = 'x';
    assert_int_equal(cairn_db_errmsg(NULL, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);

    EXPECT_INVALID(cairn_db_put(NULL, NULL, "k", 1, "v", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, NULL, 1, "v", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, NULL, 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, one, KEY_OVER, "w", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, one, VALUE_OVER));
    EXPECT_INVALID(cairn_db_put(db, NULL, one, SIZE_MAX, "w", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, one, SIZE_MAX - 7, "w", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, one, SIZE_MAX));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, one, SIZE_MAX - 4));
    EXPECT_INVALID(cairn_db_delete(NULL, NULL, "k", 1));
    EXPECT_INVALID(cairn_db_delete(db, NULL, NULL, 1));
    EXPECT_INVALID(cairn_db_delete(db, NULL, one, KEY_OVER));
    EXPECT_INVALID(cairn_db_delete(db, NULL, one, SIZE_MAX));
    EXPECT_INVALID(cairn_db_write(NULL, NULL, NULL));
    EXPECT_INVALID(cairn_db_write(db, NULL, NULL));

    void *v = NULL;
    size_t vl = 0;
    EXPECT_INVALID(cairn_db_get(NULL, NULL, "k", 1, &v, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, "k", 1, NULL, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, "k", 1, &v, NULL));
    EXPECT_INVALID(cairn_db_get(db, NULL, "k", 1, NULL, NULL));
    EXPECT_INVALID(cairn_db_get(db, NULL, NULL, 1, &v, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, one, KEY_OVER, &v, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, one, SIZE_MAX, &v, &vl));
    assert_null(v);
    api_check_value(db, "k", 1, "v", 1); /* untouched by all of the above */

    /* The handle kept the last failure; errmsg truncates and reports the
     * full length. */
    size_t full = cairn_db_errmsg(db, NULL, 0);
    assert_true(full > 0);
    assert_int_equal(cairn_db_errmsg(db, buf, sizeof buf), full);
    assert_int_equal(strlen(buf), full < sizeof buf ? full : sizeof buf - 1);
    char small[5] = "abcd";
    assert_int_equal(cairn_db_errmsg(db, small, 1), full);
    assert_string_equal(small, "");
    assert_int_equal(cairn_db_errmsg(db, small, sizeof small), full);
    assert_int_equal(strlen(small), full < 4 ? full : 4);
    assert_memory_equal(small, buf, strlen(small));

    /* NULL options objects mean the defaults. */
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_batch_delete(b, "k", 1), 0);
    assert_int_equal(cairn_db_write(db, NULL, b), 0);
    cairn_batch_destroy(b);
    api_check_value(db, "k", 1, NULL, 0);
    assert_int_equal(cairn_db_close(db), 0);
}

/* A closed handle is answered with CAIRN_CLOSED, close included. */
static void test_closed_handle(void **state)
{
    api_fixture *f = *state;
    cairn_db *db = api_open(f->opt, "/db");
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_db_close(db), 0);
    void *v = NULL;
    size_t vl = 0;
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_put(db, NULL, "k", 1, "v", 1));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_delete(db, NULL, "k", 1));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_write(db, NULL, b));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_get(db, NULL, "k", 1, &v, &vl));
    assert_null(v);
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_close(db));
    cairn_batch_destroy(b);
    /* The database itself is fine. */
    cairn_db *again = api_open(f->opt, "/db");
    assert_int_equal(cairn_db_close(again), 0);
}

static void test_destroy_args(void **state)
{
    api_fixture *f = *state;
    EXPECT_INVALID(cairn_db_destroy(f->opt, NULL));
    EXPECT_INVALID(cairn_db_destroy(f->opt, ""));
    EXPECT_INVALID(cairn_db_destroy(NULL, NULL));
    assert_int_equal(cairn_db_destroy(f->opt, "/never-created"), 0);
    cairn_db *db = api_open(f->opt, "/db");
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);
    EXPECT_ERR(CAIRN_LOCKED, cairn_db_destroy(f->opt, "/db"));
    api_check_value(db, "k", 1, "v", 1);
    assert_int_equal(cairn_db_close(db), 0);
    assert_int_equal(cairn_db_destroy(f->opt, "/db"), 0);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 0), 0);
    EXPECT_INVALID(cairn_db_open(f->opt, "/db", &db));
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 1), 0);
}

typedef struct printer {
    int lines;
    int rc; /* what print returns */
} printer;

static int print_line(void *ctx, const char *line)
{
    printer *p = ctx;
    assert_non_null(line);
    p->lines++;
    return p->rc;
}

static void test_dump_args(void **state)
{
    api_fixture *f = *state;
    printer p = {0, 0};
    cairn_db *db = api_open(f->opt, "/db");
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);
    assert_int_equal(cairn_db_close(db), 0);

    EXPECT_INVALID(cairn_dump_file(f->env, NULL, print_line, &p));
    EXPECT_INVALID(cairn_dump_file(f->env, "/db/000001.log", NULL, &p));
    EXPECT_ERR(CAIRN_NOTFOUND,
               cairn_dump_file(f->env, "/db/999999.log", print_line, &p));
    EXPECT_ERR(CAIRN_NOTFOUND, cairn_dump_file(f->env, "/nodir/MANIFEST-000001",
                                               print_line, &p));
    static const char *const unknown[] = {
        "/db/CURRENT", "/db/LOCK",   "/db/notes.txt", "/db/", "",
        "MANIFEST-",   "/db/12x.log"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        EXPECT_ERR(CAIRN_NOTSUP,
                   cairn_dump_file(f->env, unknown[i], print_line, &p));
    assert_int_equal(p.lines, 0);

    char *dir = tu_tempdir("badinput-dump");
    char path[4200];
    snprintf(path, sizeof path, "%s/000007.log", dir);
    EXPECT_ERR(CAIRN_NOTFOUND, cairn_dump_file(NULL, path, print_line, &p));
    tu_rmtree(dir);
    free(dir);

    /* The log holding the put is one of the first few numbers; a print
     * that returns non-zero stops the dump at once with its value. */
    int found = 0;
    for (int n = 1; n < 20 && !found; n++) {
        snprintf(path, sizeof path, "/db/%06d.log", n);
        p = (printer){0, 0};
        int rc = cairn_dump_file(f->env, path, print_line, &p);
        if (rc == CAIRN_NOTFOUND)
            continue;
        assert_int_equal(rc, 0);
        if (p.lines < 2)
            continue; /* an empty log: just its summary */
        found = 1;
        p = (printer){0, 7};
        assert_int_equal(cairn_dump_file(f->env, path, print_line, &p), 7);
        assert_int_equal(p.lines, 1);
    }
    assert_true(found);
}

/* Valid extremes that must work: empty keys and values, a 1 MiB key, an
 * 8 MiB value, also after the log is replayed. */
static void test_edges_succeed(void **state)
{
    api_fixture *f = *state;
    size_t big_k = 1u << 20, big_v = 8u << 20;
    unsigned char *k = malloc(big_k), *v = malloc(big_v);
    assert_non_null(k);
    assert_non_null(v);
    for (size_t i = 0; i < big_v; i++)
        v[i] = (unsigned char)(i * 7 + (i >> 13));
    memcpy(k, v + 1, big_k);
    cairn_db *db = api_open(f->opt, "/db");
    for (int round = 0; round < 2; round++) {
        if (round == 0) {
            assert_int_equal(cairn_db_put(db, NULL, NULL, 0, "e", 1), 0);
            assert_int_equal(cairn_db_put(db, NULL, "z", 1, NULL, 0), 0);
            assert_int_equal(cairn_db_put(db, NULL, k, big_k, "K", 1), 0);
            assert_int_equal(cairn_db_put(db, NULL, "V", 1, v, big_v), 0);
            assert_int_equal(cairn_db_put(db, NULL, "gone", 4, v, big_v), 0);
            assert_int_equal(cairn_db_delete(db, NULL, "gone", 4), 0);
        }
        api_check_value(db, NULL, 0, "e", 1);
        api_check_value(db, "z", 1, "", 0); /* non-NULL pointer, length 0 */
        api_check_value(db, k, big_k, "K", 1);
        api_check_value(db, "V", 1, v, big_v);
        api_check_value(db, "gone", 4, NULL, 0);
        assert_int_equal(cairn_db_close(db), 0);
        db = api_open(f->opt, "/db"); /* round 1 reads the replayed log */
    }
    assert_int_equal(cairn_db_delete(db, NULL, NULL, 0), 0);
    api_check_value(db, NULL, 0, NULL, 0);
    assert_int_equal(cairn_db_close(db), 0);
    free(k);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_args, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_db_call_args, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_closed_handle, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_args, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_dump_args, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_edges_succeed, api_setup,
                                        api_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
