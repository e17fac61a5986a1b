/*
 * test_api_badinput2_db.c: iterators, properties, approximate sizes,
 * compaction control and close while an iterator or snapshot is live,
 * against the bad inputs include/cairn.h promises to refuse and the
 * boundary values it promises to accept (the rest of the functions added
 * after test_api_badinput.c are test_api_badinput2.c's).
 *
 * "Refused" means what it means in test_api_badinput.c; the checks are
 * tests/support/api_check.h's. Functions returning void or a pointer
 * (iterator moves, properties) cannot return a code; for those the test
 * checks that they do not crash (ASan and UBSan watch) and that the
 * pointer-returning ones leave a message. Databases live in
 * cairn_env_mem_create() environments.
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
/* Iterators                                                                */

/* Every iterator function on NULL: no crash, "invalid", NULL and 0. */
static void test_iter_null(void **state)
{
    (void)state;
    cairn_iter *it;
    EXPECT_NULL_MSG(it, cairn_db_iter_create(NULL, NULL));
    size_t len = 99;
    assert_int_equal(cairn_iter_valid(NULL), 0);
    cairn_iter_seek_first(NULL);
    cairn_iter_seek_last(NULL);
    cairn_iter_seek(NULL, "k", 1);
    cairn_iter_seek(NULL, NULL, 0);
    cairn_iter_seek(NULL, NULL, 5);
    cairn_iter_next(NULL);
    cairn_iter_prev(NULL);
    assert_null(cairn_iter_key(NULL, &len));
    assert_int_equal(len, 0);
    len = 99;
    assert_null(cairn_iter_value(NULL, &len));
    assert_int_equal(len, 0);
    assert_null(cairn_iter_key(NULL, NULL));
    assert_null(cairn_iter_value(NULL, NULL));
    EXPECT_INVALID(cairn_iter_status(NULL));
    cairn_iter_destroy(NULL);
}

static void expect_invalid_iter(const cairn_iter *it)
{
    size_t len = 99;
    assert_int_equal(cairn_iter_valid(it), 0);
    assert_null(cairn_iter_key(it, &len));
    assert_int_equal(len, 0);
    len = 99;
    assert_null(cairn_iter_value(it, &len));
    assert_int_equal(len, 0);
    assert_null(cairn_iter_key(it, NULL));
    assert_int_equal(cairn_iter_status(it), 0);
}

static void expect_at(const cairn_iter *it, const char *k, const char *v)
{
    size_t kl = 0, vl = 0;
    assert_true(cairn_iter_valid(it));
    const void *kp = cairn_iter_key(it, &kl);
    const void *vp = cairn_iter_value(it, &vl);
    assert_int_equal(kl, strlen(k));
    assert_int_equal(vl, strlen(v));
    assert_memory_equal(kp, k, kl);
    assert_memory_equal(vp, v, vl);
}

static void test_iter_edges(void **state)
{
    api_fixture *f = *state;
    cairn_db *db = api_open(f->opt, "/db");

    /* An empty database: nothing is ever valid. */
    cairn_iter *it = cairn_db_iter_create(db, NULL);
    assert_non_null(it);
    expect_invalid_iter(it); /* not positioned yet */
    cairn_iter_next(it);
    cairn_iter_prev(it);
    expect_invalid_iter(it);
    cairn_iter_seek_first(it);
    expect_invalid_iter(it);
    cairn_iter_seek_last(it);
    expect_invalid_iter(it);
    cairn_iter_seek(it, NULL, 0);
    expect_invalid_iter(it);
    cairn_iter_destroy(it);

    OK(cairn_db_put(db, NULL, "", 0, "empty", 5));
    OK(cairn_db_put(db, NULL, "b", 1, "2", 1));
    OK(cairn_db_put(db, NULL, "d", 1, "4", 1));
    it = cairn_db_iter_create(db, NULL);
    assert_non_null(it);
    OK(cairn_db_put(db, NULL, "c", 1, "later", 5)); /* not seen */

    /* A NULL key with a length is refused without reading: the iterator
     * stays unpositioned. */
    cairn_iter_seek(it, NULL, 5);
    expect_invalid_iter(it);
    cairn_iter_seek(it, NULL, SIZE_MAX);
    expect_invalid_iter(it);
    /* So is a key over the maximum, behind a one-byte buffer. */
    cairn_iter_seek(it, one, KEY_OVER);
    expect_invalid_iter(it);
    cairn_iter_seek(it, one, SIZE_MAX);
    expect_invalid_iter(it);
    /* NULL with length 0 is the empty key, the first of all. */
    cairn_iter_seek(it, NULL, 0);
    expect_at(it, "", "empty");
    cairn_iter_seek(it, "c", 1);
    expect_at(it, "d", "4");
    cairn_iter_next(it);
    expect_invalid_iter(it);
    cairn_iter_next(it); /* past the end: still nothing */
    cairn_iter_prev(it);
    expect_invalid_iter(it);
    cairn_iter_seek(it, "e", 1);
    expect_invalid_iter(it);
    cairn_iter_seek_last(it);
    expect_at(it, "d", "4");
    cairn_iter_prev(it);
    expect_at(it, "b", "2");
    cairn_iter_prev(it);
    expect_at(it, "", "empty");
    cairn_iter_prev(it);
    expect_invalid_iter(it);
    cairn_iter_seek_first(it);
    expect_at(it, "", "empty");
    /* A key as long as allowed is a valid seek target. */
    unsigned char *big = malloc(CAIRN_MAX_KEY_SIZE);
    assert_non_null(big);
    memset(big, 'c', CAIRN_MAX_KEY_SIZE);
    cairn_iter_seek(it, big, CAIRN_MAX_KEY_SIZE);
    expect_at(it, "d", "4");
    free(big);
    cairn_iter_destroy(it);

    /* A closed handle gives no iterator, and says why. */
    assert_int_equal(cairn_db_close(db), 0);
    api_prime(0);
    it = cairn_db_iter_create(db, NULL);
    assert_null(it);
    api_check_msg("close", "iter_create(closed)", __LINE__);
}

/* ---------------------------------------------------------------------- */
/* Properties                                                               */

static void expect_property(cairn_db *db, const char *name)
{
    char *v = cairn_db_property(db, name);
    if (v == NULL)
        fail_msg("property %s: NULL (%s)", name, cairn_errmsg());
    assert_true(v[0] != '\0');
    cairn_free(v);
}

static void test_property_args(void **state)
{
    api_fixture *f = *state;
    char *v;
    EXPECT_NULL_MSG(v, cairn_db_property(NULL, "cairn.stats"));
    cairn_db *db = api_open(f->opt, "/db");
    api_fill(db, 50, 10);
    OK(cairn_db_flush(db));
    EXPECT_NULL_MSG(v, cairn_db_property(db, NULL));

    static const char *const unknown[] = {
        "",
        "cairn.",
        "leveldb.",
        "stats",
        "CAIRN.stats",
        "cairn.Stats",
        "cairn.stats ",
        "rocksdb.stats",
        "cairn.num-files-at-level",
        "cairn.num-files-at-level7",
        "leveldb.num-files-at-level7",
        "cairn.num-files-at-level-1",
        "leveldb.num-files-at-level-1",
        "cairn.num-files-at-level99999999999999999999",
        "cairn.num-files-at-levelx",
        "cairn.num-files-at-level1x",
        "cairn.num-files-at-level 1",
        "cairn.num-files-at-level+1",
        "cairn.num-files-at-level-0",
        "cairn.num-files-at-level0\n",
        "cairn.approximate-memory-usage-x",
        "cairn.sstables.",
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        api_prime(0);
        v = cairn_db_property(db, unknown[i]);
        if (v != NULL)
            fail_msg("unknown property \"%s\" gave \"%s\"", unknown[i], v);
        api_check_msg(NULL, unknown[i], __LINE__);
    }

    /* Every documented name, in both spellings, with the same answer for
     * the level counts; the flush above left at least one file. */
    static const char *const names[] = {
        "stats", "sstables", "approximate-memory-usage", "write-stats"};
    char name[64];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(name, sizeof name, "cairn.%s", names[i]);
        expect_property(db, name);
        snprintf(name, sizeof name, "leveldb.%s", names[i]);
        expect_property(db, name);
    }
    long files = 0;
    for (int l = 0; l <= 6; l++) {
        snprintf(name, sizeof name, "cairn.num-files-at-level%d", l);
        char *c = cairn_db_property(db, name);
        snprintf(name, sizeof name, "leveldb.num-files-at-level%d", l);
        char *d = cairn_db_property(db, name);
        assert_non_null(c);
        assert_non_null(d);
        assert_string_equal(c, d);
        char *end;
        long n = strtol(c, &end, 10);
        assert_true(end != c && *end == '\0' && n >= 0);
        files += n;
        cairn_free(c);
        cairn_free(d);
    }
    assert_true(files >= 1);
    assert_int_equal(cairn_db_close(db), 0);
    api_prime(0);
    v = cairn_db_property(db, "cairn.stats");
    assert_null(v);
    api_check_msg("close", "property(closed)", __LINE__);
}

/* ---------------------------------------------------------------------- */
/* Approximate sizes, compaction, flush, pause                              */

static void test_approximate_sizes_args(void **state)
{
    api_fixture *f = *state;
    OK(cairn_options_set_compression(f->opt, CAIRN_COMPRESSION_NONE));
    cairn_db *db = api_open(f->opt, "/db");
    api_fill(db, 2000, 200);
    OK(cairn_db_flush(db));
    const void *start[2] = {"k", NULL};
    const void *limit[2] = {"l", "k00100"};
    size_t start_len[2] = {1, 0}, limit_len[2] = {1, 6};
    uint64_t sizes[2] = {7, 7};

    EXPECT_INVALID(cairn_db_approximate_sizes(NULL, 1, start, start_len, limit,
                                              limit_len, sizes));
    EXPECT_ERR_NAMED(CAIRN_INVALID, "-1",
                     cairn_db_approximate_sizes(db, -1, start, start_len, limit,
                                                limit_len, sizes));
    EXPECT_ERR_NAMED(CAIRN_INVALID, "-2147483648",
                     cairn_db_approximate_sizes(db, INT_MIN, start, start_len,
                                                limit, limit_len, sizes));
    EXPECT_INVALID(cairn_db_approximate_sizes(db, 1, NULL, start_len, limit,
                                              limit_len, sizes));
    EXPECT_INVALID(cairn_db_approximate_sizes(db, 1, start, NULL, limit,
                                              limit_len, sizes));
    EXPECT_INVALID(cairn_db_approximate_sizes(db, 1, start, start_len, NULL,
                                              limit_len, sizes));
    EXPECT_INVALID(cairn_db_approximate_sizes(db, 1, start, start_len, limit,
                                              NULL, sizes));
    EXPECT_INVALID(cairn_db_approximate_sizes(db, 1, start, start_len, limit,
                                              limit_len, NULL));
    /* A NULL key with a length, and an over-long key (behind a one-byte
     * buffer: it must be refused before it is read), name the range. */
    const void *nul[2] = {"k", NULL};
    size_t nul_len[2] = {1, 3};
    EXPECT_ERR_NAMED(CAIRN_INVALID, "1",
                     cairn_db_approximate_sizes(db, 2, start, start_len, nul,
                                                nul_len, sizes));
    const void *over[1] = {one};
    size_t over_len[1] = {KEY_OVER};
    EXPECT_ERR_NAMED(CAIRN_INVALID, "0",
                     cairn_db_approximate_sizes(db, 1, over, over_len, limit,
                                                limit_len, sizes));
    EXPECT_INVALID(cairn_db_approximate_sizes(db, 1, start, start_len, over,
                                              over_len, sizes));
    assert_true(sizes[0] == 7 && sizes[1] == 7); /* untouched */

    /* n == 0 needs no arrays; the valid calls give sensible sizes. */
    OK(cairn_db_approximate_sizes(db, 0, NULL, NULL, NULL, NULL, NULL));
    OK(cairn_db_approximate_sizes(db, 2, start, start_len, limit, limit_len,
                                  sizes));
    assert_true(sizes[0] > 300000); /* 400 KB of uncompressed values */
    assert_true(sizes[1] <= sizes[0]);
    /* An empty or reversed range is 0. */
    const void *rev_s[1] = {"l"}, *rev_l[1] = {"k"};
    size_t one_len[1] = {1};
    OK(cairn_db_approximate_sizes(db, 1, rev_s, one_len, rev_l, one_len,
                                  sizes));
    assert_int_equal(sizes[0], 0);
    assert_int_equal(cairn_db_close(db), 0);
    EXPECT_ERR(CAIRN_CLOSED,
               cairn_db_approximate_sizes(db, 1, start, start_len, limit,
                                          limit_len, sizes));
}

static void test_compaction_calls(void **state)
{
    api_fixture *f = *state;
    EXPECT_INVALID(cairn_db_compact_range(NULL, NULL, 0, NULL, 0));
    EXPECT_INVALID(cairn_db_flush(NULL));
    EXPECT_INVALID(cairn_db_pause_compaction(NULL));
    EXPECT_INVALID(cairn_db_resume_compaction(NULL));

    cairn_db *db = api_open(f->opt, "/db");
    api_fill(db, 200, 50);
    EXPECT_INVALID(cairn_db_compact_range(db, one, KEY_OVER, NULL, 0));
    EXPECT_INVALID(cairn_db_compact_range(db, NULL, 0, one, KEY_OVER));
    EXPECT_INVALID(cairn_db_compact_range(db, one, SIZE_MAX, "z", 1));

    /* Pausing twice and resuming twice are fine; a flush goes on while
     * compaction is paused. */
    OK(cairn_db_pause_compaction(db));
    OK(cairn_db_pause_compaction(db));
    OK(cairn_db_flush(db));
    OK(cairn_db_flush(db)); /* nothing to write */
    OK(cairn_db_resume_compaction(db));
    OK(cairn_db_resume_compaction(db));

    /* NULL bounds are open ends; a non-NULL empty key is the empty key. */
    OK(cairn_db_compact_range(db, NULL, 0, NULL, 0));
    OK(cairn_db_compact_range(db, "", 0, "k00100", 6));
    OK(cairn_db_compact_range(db, "k00100", 6, NULL, 0));
    OK(cairn_db_compact_range(db, "z", 1, "a", 1)); /* reversed: nothing */
    char *l0 = cairn_db_property(db, "cairn.num-files-at-level0");
    assert_non_null(l0);
    assert_string_equal(l0, "0");
    cairn_free(l0);
    char v[51];
    memset(v, 'a' + 150 % 26, 50);
    v[50] = '\0';
    api_check_str(db, NULL, "k00150", v);

    assert_int_equal(cairn_db_close(db), 0);
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_compact_range(db, NULL, 0, NULL, 0));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_flush(db));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_pause_compaction(db));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_resume_compaction(db));
}

/* ---------------------------------------------------------------------- */
/* Close while an iterator or snapshot is live                              */

static void test_close_busy(void **state)
{
    api_fixture *f = *state;
    cairn_db *db = api_open(f->opt, "/db");
    OK(cairn_db_put(db, NULL, "a", 1, "1", 1));

    for (int round = 0; round < 3; round++) {
        /* round 0: an iterator; 1: a snapshot; 2: both. */
        cairn_iter *it = NULL;
        const cairn_snapshot *s = NULL;
        if (round != 1) {
            it = cairn_db_iter_create(db, NULL);
            assert_non_null(it);
        }
        if (round != 0) {
            s = cairn_db_create_snapshot(db);
            assert_non_null(s);
        }
        EXPECT_ERR_NAMED(CAIRN_BUSY, "live", cairn_db_close(db));
        EXPECT_ERR(CAIRN_BUSY, cairn_db_close(db)); /* and again */
        char buf[256];
        assert_true(cairn_db_errmsg(db, buf, sizeof buf) > 0);

        /* Everything still works, the live objects included. */
        OK(cairn_db_put(db, NULL, "b", 1, "2", 1));
        api_check_str(db, NULL, "b", "2");
        OK(cairn_db_delete(db, NULL, "b", 1));
        OK(cairn_db_flush(db));
        if (it != NULL) {
            cairn_iter_seek_first(it);
            expect_at(it, "a", "1");
            cairn_iter_next(it);
            expect_invalid_iter(it);
        }
        if (s != NULL) {
            cairn_readoptions *ro = cairn_readoptions_create();
            assert_non_null(ro);
            OK(cairn_readoptions_set_snapshot(ro, s));
            api_check_str(db, ro, "a", "1");
            cairn_iter *si = cairn_db_iter_create(db, ro);
            assert_non_null(si);
            cairn_iter_seek_last(si);
            expect_at(si, "a", "1");
            cairn_iter_destroy(si);
            cairn_readoptions_destroy(ro);
        }
        /* Releasing one of two pins is not enough. */
        if (round == 2) {
            cairn_iter_destroy(it);
            it = NULL;
            EXPECT_ERR(CAIRN_BUSY, cairn_db_close(db));
        }
        cairn_iter_destroy(it);
        cairn_db_release_snapshot(db, s);
    }
    assert_int_equal(cairn_db_close(db), 0);
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_close(db));
    /* Reopened, the database holds what was written while "busy". */
    db = api_open(f->opt, "/db");
    api_check_str(db, NULL, "a", "1");
    api_check_str(db, NULL, "b", NULL);
    assert_int_equal(cairn_db_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iter_null),
        cmocka_unit_test_setup_teardown(test_iter_edges, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_property_args, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_approximate_sizes_args, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_compaction_calls, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_close_busy, api_setup,
                                        api_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
