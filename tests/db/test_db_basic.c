/*
 * test_db_basic.c: database-level behaviour through the public API:
 * open/create rules, put/get/delete/batch, reopen recovery, locking,
 * destroy, and the per-handle and per-thread error messages. Runs on the
 * POSIX env in a temporary directory and on the in-memory env.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    char path[4200];
    cairn_env *env; /* NULL: POSIX */
} fixture;

static int setup_posix(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir("dbbasic");
    snprintf(f->path, sizeof f->path, "%s/db", f->dir);
    *state = f;
    return 0;
}

static int setup_mem(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->env = cairn_env_mem_create();
    assert_non_null(f->env);
    snprintf(f->path, sizeof f->path, "/db");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->dir != NULL) {
        tu_rmtree(f->dir);
        free(f->dir);
    }
    cairn_env_destroy(f->env);
    free(f);
    return 0;
}

static cairn_db *open_db(fixture *f, int create, int *rcp)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    if (f->env != NULL)
        assert_int_equal(cairn_options_set_env(o, f->env), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(o, f->path, &db);
    cairn_options_destroy(o);
    if (rcp != NULL)
        *rcp = rc;
    else
        assert_int_equal(rc, CAIRN_OK);
    return db;
}

static void check_value(cairn_db *db, const char *k, const char *v)
{
    void *val = NULL;
    size_t len = 0;
    int rc = cairn_db_get(db, NULL, k, strlen(k), &val, &len);
    if (v == NULL) {
        assert_int_equal(rc, CAIRN_NOTFOUND);
        assert_null(val);
        return;
    }
    assert_int_equal(rc, CAIRN_OK);
    assert_non_null(val);
    assert_int_equal(len, strlen(v));
    assert_memory_equal(val, v, len);
    cairn_free(val);
}

static void test_missing_without_create(void **state)
{
    fixture *f = *state;
    int rc;
    cairn_db *db = open_db(f, 0, &rc);
    assert_int_equal(rc, CAIRN_INVALID);
    assert_null(db);
    assert_non_null(strstr(cairn_errmsg(), "does not exist"));
}

static void test_put_get_delete_reopen(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, 1, NULL);
    assert_int_equal(cairn_db_put(db, NULL, "k1", 2, "v1", 2), 0);
    assert_int_equal(cairn_db_put(db, NULL, "k2", 2, "v2", 2), 0);
    assert_int_equal(cairn_db_put(db, NULL, "k1", 2, "v1b", 3), 0);
    assert_int_equal(cairn_db_put(db, NULL, "", 0, "empty-key", 9), 0);
    assert_int_equal(cairn_db_put(db, NULL, "ev", 2, NULL, 0), 0);
    assert_int_equal(cairn_db_delete(db, NULL, "k2", 2), 0);
    assert_int_equal(cairn_db_delete(db, NULL, "never", 5), 0);
    check_value(db, "k1", "v1b");
    check_value(db, "k2", NULL);
    check_value(db, "", "empty-key");
    check_value(db, "ev", "");
    assert_int_equal(cairn_db_close(db), 0);

    /* Everything comes back from the log. */
    db = open_db(f, 0, NULL);
    check_value(db, "k1", "v1b");
    check_value(db, "k2", NULL);
    check_value(db, "", "empty-key");
    check_value(db, "ev", "");
    assert_int_equal(cairn_db_put(db, NULL, "k3", 2, "v3", 2), 0);
    assert_int_equal(cairn_db_close(db), 0);

    /* A second reopen sees the first session's data and the second's. */
    db = open_db(f, 0, NULL);
    check_value(db, "k1", "v1b");
    check_value(db, "k3", "v3");
    assert_int_equal(cairn_db_close(db), 0);
}

static void test_batch_atomic_and_ordered(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, 1, NULL);
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_batch_put(b, "a", 1, "1", 1), 0);
    assert_int_equal(cairn_batch_put(b, "b", 1, "2", 1), 0);
    assert_int_equal(cairn_batch_delete(b, "a", 1), 0);
    assert_int_equal(cairn_batch_put(b, "c", 1, "3", 1), 0);
    assert_int_equal(cairn_batch_put(b, "c", 1, "4", 1), 0);
    size_t before;
    const void *bytes = cairn_batch_data(b, &before);
    char copy[256];
    assert_true(before < sizeof copy);
    memcpy(copy, bytes, before);
    assert_int_equal(cairn_db_write(db, NULL, b), 0);
    /* The caller's batch is never modified (no sequence written in). */
    size_t after;
    bytes = cairn_batch_data(b, &after);
    assert_int_equal(before, after);
    assert_memory_equal(copy, bytes, after);
    check_value(db, "a", NULL);
    check_value(db, "b", "2");
    check_value(db, "c", "4");
    /* An empty batch is accepted and changes nothing. */
    assert_int_equal(cairn_batch_clear(b), 0);
    assert_int_equal(cairn_db_write(db, NULL, b), 0);
    cairn_batch_destroy(b);
    assert_int_equal(cairn_db_close(db), 0);
    db = open_db(f, 0, NULL);
    check_value(db, "a", NULL);
    check_value(db, "b", "2");
    check_value(db, "c", "4");
    assert_int_equal(cairn_db_close(db), 0);
}

static void test_large_values_span_blocks(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, 1, NULL);
    size_t n = 200000;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7 + 3);
    assert_int_equal(cairn_db_put(db, NULL, "big", 3, big, n), 0);
    assert_int_equal(cairn_db_put(db, NULL, "small", 5, "s", 1), 0);
    assert_int_equal(cairn_db_close(db), 0);
    db = open_db(f, 0, NULL);
    void *val;
    size_t len;
    assert_int_equal(cairn_db_get(db, NULL, "big", 3, &val, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(val, big, n);
    cairn_free(val);
    check_value(db, "small", "s");
    assert_int_equal(cairn_db_close(db), 0);
    free(big);
}

static void test_error_if_exists_and_lock(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, 1, NULL);
    int rc;
    /* A second open of the same database from this process is refused. */
    cairn_db *db2 = open_db(f, 1, &rc);
    assert_int_equal(rc, CAIRN_LOCKED);
    assert_null(db2);
    /* Destroying an open database is refused too. */
    cairn_options *o = cairn_options_create();
    if (f->env)
        cairn_options_set_env(o, f->env);
    assert_int_equal(cairn_db_destroy(o, f->path), CAIRN_LOCKED);
    assert_int_equal(cairn_db_close(db), 0);

    assert_int_equal(cairn_options_set_error_if_exists(o, 1), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_db_open(o, f->path, &db2), CAIRN_EXISTS);
    assert_null(db2);
    assert_non_null(strstr(cairn_errmsg(), "exists"));

    assert_int_equal(cairn_db_destroy(o, f->path), 0);
    assert_int_equal(cairn_options_set_error_if_exists(o, 0), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, 0), 0);
    assert_int_equal(cairn_db_open(o, f->path, &db2), CAIRN_INVALID);
    /* Destroying a missing database is not an error. */
    assert_int_equal(cairn_db_destroy(o, f->path), 0);
    cairn_options_destroy(o);
}

static void test_use_after_close_detected(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, 1, NULL);
    assert_int_equal(cairn_db_close(db), 0);
    /* The handle is a tombstone now: calls are refused, not crashes. */
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), CAIRN_CLOSED);
    void *v;
    size_t n;
    assert_int_equal(cairn_db_get(db, NULL, "k", 1, &v, &n), CAIRN_CLOSED);
    assert_int_equal(cairn_db_close(db), CAIRN_CLOSED);
    assert_non_null(strstr(cairn_errmsg(), "after close"));
}

static void test_errmsg_per_handle(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, 1, NULL);
    char buf[256];
    assert_int_equal(cairn_db_errmsg(db, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(cairn_db_put(db, NULL, NULL, 5, "v", 1), CAIRN_INVALID);
    size_t n = cairn_db_errmsg(db, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "NULL key"));
    /* Truncation to a small buffer still terminates. */
    char tiny[4];
    assert_int_equal(cairn_db_errmsg(db, tiny, sizeof tiny), n);
    assert_int_equal(strlen(tiny), 3);
    assert_int_equal(cairn_db_close(db), 0);
}

static void test_many_keys_reopen(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, 1, NULL);
    int n = (int)(20000 * tu_scale());
    char k[32], v[64];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "key%08d", i);
        int vl = snprintf(v, sizeof v, "value-%d-%d", i, i * 31);
        assert_int_equal(cairn_db_put(db, NULL, k, (size_t)kl, v, (size_t)vl),
                         0);
    }
    assert_int_equal(cairn_db_close(db), 0);
    db = open_db(f, 0, NULL);
    for (int i = 0; i < n; i += 7) {
        snprintf(k, sizeof k, "key%08d", i);
        snprintf(v, sizeof v, "value-%d-%d", i, i * 31);
        check_value(db, k, v);
    }
    assert_int_equal(cairn_db_close(db), 0);
}

/* A small write buffer forces many memtable switches and flushes: every
 * key must be readable from the tables, before and after reopen, and old
 * logs must be gone once their data is in tables. */
static void test_flushes_and_reads_across_tables(void **state)
{
    fixture *f = *state;
    cairn_options *o = cairn_options_create();
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    if (f->env != NULL)
        assert_int_equal(cairn_options_set_env(o, f->env), 0);
    cairn_db *db;
    assert_int_equal(cairn_db_open(o, f->path, &db), 0);
    int n = (int)(30000 * tu_scale());
    char k[32], v[128];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
            int kl = snprintf(k, sizeof k, "key%08d", i);
            int vl = snprintf(v, sizeof v, "value-%d-%d-padding-padding-%d", i,
                              round, i * 7);
            assert_int_equal(
                cairn_db_put(db, NULL, k, (size_t)kl, v, (size_t)vl), 0);
            if (i % 10 == 3 && round == 1)
                assert_int_equal(cairn_db_delete(db, NULL, k, (size_t)kl), 0);
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i += 3) {
            snprintf(k, sizeof k, "key%08d", i);
            snprintf(v, sizeof v, "value-%d-%d-padding-padding-%d", i, 1,
                     i * 7);
            check_value(db, k, i % 10 == 3 ? NULL : v);
        }
        char *files = cairn_db_property(db, "cairn.num-files-at-level0");
        assert_non_null(files);
        cairn_free(files);
        char *sst = cairn_db_property(db, "leveldb.sstables");
        assert_non_null(sst);
        assert_non_null(strstr(sst, "--- level 0 ---"));
        cairn_free(sst);
        assert_null(cairn_db_property(db, "cairn.no-such-property"));
        assert_int_equal(cairn_db_close(db), 0);
        assert_int_equal(cairn_db_open(o, f->path, &db), 0);
    }
    assert_int_equal(cairn_db_close(db), 0);
    cairn_options_destroy(o);
}

/* Two background threads (one flushing, one compacting): many flushes
 * and compactions under a small write buffer leave every key readable,
 * before and after a full compaction and a reopen. */
static void test_two_background_threads(void **state)
{
    fixture *f = *state;
    cairn_options *o = cairn_options_create();
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_background_threads(o, 2), 0);
    assert_int_equal(cairn_options_set_background_threads(o, 3), CAIRN_INVALID);
    if (f->env != NULL)
        assert_int_equal(cairn_options_set_env(o, f->env), 0);
    cairn_db *db;
    assert_int_equal(cairn_db_open(o, f->path, &db), 0);
    int n = (int)(20000 * tu_scale());
    char k[32], v[128];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < n; i++) {
            int j = (i * 7919 + round * 13) % n;
            int kl = snprintf(k, sizeof k, "key%08d", j);
            int vl = snprintf(v, sizeof v, "value-%d-%d-%0*d", j, round, 40, j);
            assert_int_equal(
                cairn_db_put(db, NULL, k, (size_t)kl, v, (size_t)vl), 0);
        }
    }
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < n; i += 7) {
            snprintf(k, sizeof k, "key%08d", i);
            snprintf(v, sizeof v, "value-%d-%d-%0*d", i, 2, 40, i);
            check_value(db, k, v);
        }
        if (pass == 0) {
            assert_int_equal(cairn_db_compact_range(db, NULL, 0, NULL, 0), 0);
        } else {
            assert_int_equal(cairn_db_close(db), 0);
            assert_int_equal(cairn_db_open(o, f->path, &db), 0);
        }
    }
    assert_int_equal(cairn_db_close(db), 0);
    cairn_options_destroy(o);
}

/* Regression (LevelDB 1.23 compatibility): compaction never splits the
 * versions of one user key across two output files of a level. Many
 * versions of few keys are kept alive by a snapshot, so outputs fill up
 * in the middle of a key's versions; the sstables property must show no
 * file ending with the user key the next file of its level starts with. */
static void test_compaction_never_splits_user_key(void **state)
{
    fixture *f = *state;
    cairn_options *o = cairn_options_create();
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 256 * 1024), 0);
    assert_int_equal(cairn_options_set_compression(o, CAIRN_COMPRESSION_NONE),
                     0);
    if (f->env != NULL)
        assert_int_equal(cairn_options_set_env(o, f->env), 0);
    cairn_db *db;
    assert_int_equal(cairn_db_open(o, f->path, &db), 0);
    const cairn_snapshot *snap = cairn_db_create_snapshot(db);
    assert_non_null(snap);
    char k[32], v[1000];
    memset(v, 'v', sizeof v);
    /* 400 versions x 8 keys x 1 KB, all pinned by the snapshot: about
     * 3 MB, several 1 MiB outputs, each key's versions 400 KB long. */
    for (int ver = 0; ver < 400; ver++) {
        for (int key = 0; key < 8; key++) {
            int kl = snprintf(k, sizeof k, "key%02d", key);
            v[0] = (char)('a' + ver % 26);
            assert_int_equal(cairn_db_put(db, NULL, k, (size_t)kl, v, sizeof v),
                             0);
        }
    }
    assert_int_equal(cairn_db_compact_range(db, NULL, 0, NULL, 0), 0);
    char *sst = cairn_db_property(db, "cairn.sstables");
    assert_non_null(sst);
    /* Walk each level's files in order: "'<smallest>' @ .. '<largest>' @". */
    char prev_largest[64] = "";
    int files = 0;
    for (char *line = strtok(sst, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "--- level", 9) == 0) {
            prev_largest[0] = '\0';
            continue;
        }
        char small[64], large[64];
        const char *a = strchr(line, '\'');
        const char *b = a ? strstr(line, " .. '") : NULL;
        if (a == NULL || b == NULL)
            continue;
        if (sscanf(a, "'%63[^']'", small) != 1 ||
            sscanf(b + 4, "'%63[^']'", large) != 1)
            continue;
        files++;
        if (prev_largest[0] != '\0')
            assert_string_not_equal(prev_largest, small);
        snprintf(prev_largest, sizeof prev_largest, "%s", large);
    }
    assert_true(files >= 2); /* outputs really were cut */
    cairn_free(sst);
    cairn_db_release_snapshot(db, snap);
    assert_int_equal(cairn_db_close(db), 0);
    cairn_options_destroy(o);
}

#define BOTH(t)                                                                \
    cmocka_unit_test_setup_teardown(t, setup_posix, teardown),                 \
        cmocka_unit_test_setup_teardown(t, setup_mem, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_missing_without_create),
        BOTH(test_put_get_delete_reopen),
        BOTH(test_batch_atomic_and_ordered),
        BOTH(test_large_values_span_blocks),
        BOTH(test_error_if_exists_and_lock),
        BOTH(test_use_after_close_detected),
        BOTH(test_errmsg_per_handle),
        BOTH(test_many_keys_reopen),
        BOTH(test_flushes_and_reads_across_tables),
        BOTH(test_two_background_threads),
        BOTH(test_compaction_never_splits_user_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
