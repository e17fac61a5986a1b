/*
 * test_api_badinput2.c: the public functions added to include/cairn.h after
 * test_api_badinput.c was written (table, cache and write-path options,
 * snapshots, iterators, properties, approximate sizes, compaction control,
 * close while something is live), against the bad inputs the header
 * promises to refuse and the boundary values it promises to accept.
 *
 * "Refused" means what it means in test_api_badinput.c: the documented code,
 * a message of the call's own in cairn_errmsg() (the thread's message is
 * primed with a known failure first, so a stale one is caught), and no
 * change to the object. For option setters the last point is checked on
 * the bytes of the options object itself, which is why the engine's
 * db_impl.h is included: a refused setter must leave every field as it
 * was, not half of a pair. Out-of-range values must be named in the
 * message, so the user can tell which argument was wrong.
 *
 * Functions returning void or a pointer (iterator moves, snapshots,
 * properties) cannot return a code; for those the test checks that they
 * do not crash (ASan and UBSan watch) and that the pointer-returning ones
 * leave a message. Databases live in cairn_env_mem_create() environments.
 */
#include "db/db_impl.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_OVER ((size_t)CAIRN_MAX_KEY_SIZE + 1)

static const char one[1] = {'x'}; /* the buffer behind over-long lengths */
static char primed[1024];

/* Leaves a known message in the thread, so that a call that fails without
 * setting its own is caught. */
static void prime(void)
{
    (void)cairn_readoptions_set_fill_cache(NULL, 1);
    snprintf(primed, sizeof primed, "%s", cairn_errmsg());
    assert_true(primed[0] != '\0');
}

/* The thread's message must be new since prime() and, when named is not
 * NULL, contain it. */
static void check_msg(const char *named, const char *call, int line)
{
    const char *msg = cairn_errmsg();
    if (msg == NULL || msg[0] == '\0' || strcmp(msg, primed) == 0)
        fail_msg("line %d: %s set no message of its own (\"%s\")", line, call,
                 msg ? msg : "(null)");
    if (named != NULL && strstr(msg, named) == NULL)
        fail_msg("line %d: %s: message \"%s\" does not name \"%s\"", line, call,
                 msg, named);
}

static void check_err(int want, int got, const char *named, const char *call,
                      int line)
{
    if (got != want)
        fail_msg("line %d: %s returned %s, expected %s (message \"%s\")", line,
                 call, cairn_errname(got), cairn_errname(want), cairn_errmsg());
    check_msg(named, call, line);
}

#define EXPECT_ERR_NAMED(code, named, call)                                    \
    do {                                                                       \
        prime();                                                               \
        int expect_rc_ = (call);                                               \
        check_err((code), expect_rc_, (named), #call, __LINE__);               \
    } while (0)
#define EXPECT_ERR(code, call)     EXPECT_ERR_NAMED(code, NULL, call)
#define EXPECT_INVALID(call)       EXPECT_ERR(CAIRN_INVALID, call)
#define EXPECT_NULL_MSG(ptr, call) /* a pointer-returning call refused */      \
    do {                                                                       \
        prime();                                                               \
        ptr = (call);                                                          \
        if (ptr != NULL)                                                       \
            fail_msg("line %d: %s returned non-NULL", __LINE__, #call);        \
        check_msg(NULL, #call, __LINE__);                                      \
    } while (0)

#define OK(call)                                                               \
    do {                                                                       \
        int ok_rc_ = (call);                                                   \
        if (ok_rc_ != 0)                                                       \
            fail_msg("line %d: %s: %s: %s", __LINE__, #call,                   \
                     cairn_errname(ok_rc_), cairn_errmsg());                   \
    } while (0)

/* A fresh in-memory environment and options that use it. */
typedef struct fixture {
    cairn_env *env;
    cairn_options *opt; /* create_if_missing, no info log */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
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

static int teardown(void **state)
{
    fixture *f = *state;
    cairn_options_destroy(f->opt);
    cairn_env_destroy(f->env);
    free(f);
    return 0;
}

static cairn_db *open_db(const cairn_options *opt, const char *name)
{
    cairn_db *db = NULL;
    int rc = cairn_db_open(opt, name, &db);
    if (rc != 0)
        fail_msg("open %s: %s: %s", name, cairn_errname(rc), cairn_errmsg());
    assert_non_null(db);
    return db;
}

/* key must hold value (a NUL-terminated string), or be absent when value
 * is NULL. ro may carry a snapshot. */
static void check_value(cairn_db *db, const cairn_readoptions *ro,
                        const char *k, const char *v)
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

/* Writes n keys "k00000".. with values of vlen bytes. */
static void fill(cairn_db *db, int n, size_t vlen)
{
    char k[16], v[512];
    assert_true(vlen <= sizeof v);
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        memset(v, 'a' + i % 26, vlen);
        OK(cairn_db_put(db, NULL, k, 6, v, vlen));
    }
}

/* ---------------------------------------------------------------------- */
/* Option setters                                                           */

static void test_setters_null(void **state)
{
    (void)state;
    cairn_cache *c = cairn_cache_create_lru(1u << 20);
    assert_non_null(c);
    EXPECT_INVALID(cairn_options_set_block_size(NULL, 4096));
    EXPECT_INVALID(cairn_options_set_block_restart_interval(NULL, 16));
    EXPECT_INVALID(cairn_options_set_max_file_size(NULL, 2u << 20));
    EXPECT_INVALID(cairn_options_set_compression(NULL, 0));
    EXPECT_INVALID(cairn_options_set_bloom_bits_per_key(NULL, 10));
    EXPECT_INVALID(cairn_options_set_max_open_files(NULL, 1000));
    EXPECT_INVALID(cairn_options_set_cache(NULL, c));
    EXPECT_INVALID(cairn_options_set_cache(NULL, NULL));
    EXPECT_INVALID(cairn_options_set_commit_policy(NULL, 0));
    EXPECT_INVALID(cairn_options_set_commit_wait(NULL, 100, 4096, 0));
    EXPECT_INVALID(cairn_options_set_wait_strategy(NULL, 0, 0));
    EXPECT_INVALID(cairn_options_set_group_limits(NULL, 1u << 20, 4096));
    EXPECT_INVALID(cairn_options_set_max_immutable_memtables(NULL, 2));
    EXPECT_INVALID(cairn_options_set_background_threads(NULL, 1));
    EXPECT_INVALID(cairn_options_set_l0_triggers(NULL, 8, 12, 1000));
    EXPECT_INVALID(cairn_readoptions_set_snapshot(NULL, NULL));
    EXPECT_INVALID(cairn_writeoptions_set_no_slowdown(NULL, 1));
    cairn_cache_destroy(c);
    cairn_cache_destroy(NULL);
}

/* A refused setter returns CAIRN_INVALID, names the bad value and leaves
 * every byte of the options as it was. */
#define BAD(named, call)                                                       \
    do {                                                                       \
        struct cairn_options before_;                                          \
        memcpy(&before_, o, sizeof before_);                                   \
        EXPECT_ERR_NAMED(CAIRN_INVALID, named, call);                          \
        if (memcmp(&before_, o, sizeof before_) != 0)                          \
            fail_msg("line %d: refused %s changed the options", __LINE__,      \
                     #call);                                                   \
    } while (0)

static void test_setter_ranges(void **state)
{
    (void)state;
    cairn_options *o = cairn_options_create();
    assert_non_null(o);

    BAD("0", cairn_options_set_block_size(o, 0));
    BAD("1023", cairn_options_set_block_size(o, 1023));
    BAD("4194305", cairn_options_set_block_size(o, (4u << 20) + 1));
    BAD("18446744073709551615", cairn_options_set_block_size(o, SIZE_MAX));
    OK(cairn_options_set_block_size(o, 1024));
    OK(cairn_options_set_block_size(o, 4u << 20));

    BAD("0", cairn_options_set_block_restart_interval(o, 0));
    BAD("-1", cairn_options_set_block_restart_interval(o, -1));
    BAD("65537", cairn_options_set_block_restart_interval(o, 65537));
    BAD("-2147483648", cairn_options_set_block_restart_interval(o, INT_MIN));
    BAD("2147483647", cairn_options_set_block_restart_interval(o, INT_MAX));
    OK(cairn_options_set_block_restart_interval(o, 1));
    OK(cairn_options_set_block_restart_interval(o, 65536));

    BAD("0", cairn_options_set_max_file_size(o, 0));
    BAD("1048575", cairn_options_set_max_file_size(o, (1u << 20) - 1));
    BAD("1073741825", cairn_options_set_max_file_size(o, (1u << 30) + 1));
    BAD("18446744073709551615", cairn_options_set_max_file_size(o, SIZE_MAX));
    OK(cairn_options_set_max_file_size(o, 1u << 20));
    OK(cairn_options_set_max_file_size(o, 1u << 30));

    BAD("2", cairn_options_set_compression(o, 2));
    BAD("-1", cairn_options_set_compression(o, -1));
    BAD("-2147483648", cairn_options_set_compression(o, INT_MIN));
    OK(cairn_options_set_compression(o, CAIRN_COMPRESSION_NONE));
    OK(cairn_options_set_compression(o, CAIRN_COMPRESSION_SNAPPY));

    BAD("-1", cairn_options_set_bloom_bits_per_key(o, -1));
    BAD("65", cairn_options_set_bloom_bits_per_key(o, 65));
    BAD("2147483647", cairn_options_set_bloom_bits_per_key(o, INT_MAX));
    OK(cairn_options_set_bloom_bits_per_key(o, 0));
    OK(cairn_options_set_bloom_bits_per_key(o, 64));

    BAD("73", cairn_options_set_max_open_files(o, 73));
    BAD("50001", cairn_options_set_max_open_files(o, 50001));
    BAD("-1", cairn_options_set_max_open_files(o, -1));
    BAD("0", cairn_options_set_max_open_files(o, 0));
    OK(cairn_options_set_max_open_files(o, 74));
    OK(cairn_options_set_max_open_files(o, 50000));

    BAD("2", cairn_options_set_commit_policy(o, 2));
    BAD("-1", cairn_options_set_commit_policy(o, -1));
    OK(cairn_options_set_commit_policy(o, CAIRN_COMMIT_BATCH_WAIT));
    OK(cairn_options_set_commit_policy(o, CAIRN_COMMIT_LEADER));

    /* Both values of a pair are checked before either is stored. */
    BAD("0", cairn_options_set_commit_wait(o, 0, 4096, 0));
    BAD("1000001", cairn_options_set_commit_wait(o, 1000001, 4096, 0));
    BAD("18446744073709551615",
        cairn_options_set_commit_wait(o, UINT64_MAX, 4096, 0));
    BAD("67108865", cairn_options_set_commit_wait(o, 7, (64u << 20) + 1, 1));
    BAD("0", cairn_options_set_commit_wait(o, 7, 0, 1));
    OK(cairn_options_set_commit_wait(o, 1, 1, 0));
    OK(cairn_options_set_commit_wait(o, 1000000, 64u << 20, 1));
    OK(cairn_options_set_commit_wait(o, 100, 64u << 10, -5));

    BAD("3", cairn_options_set_wait_strategy(o, 3, 0));
    BAD("-1", cairn_options_set_wait_strategy(o, -1, 0));
    BAD("10000001",
        cairn_options_set_wait_strategy(o, CAIRN_WAIT_SPIN, 10000001));
    BAD("18446744073709551615",
        cairn_options_set_wait_strategy(o, CAIRN_WAIT_BLOCK, UINT64_MAX));
    OK(cairn_options_set_wait_strategy(o, CAIRN_WAIT_BLOCK, 0));
    OK(cairn_options_set_wait_strategy(o, CAIRN_WAIT_SPIN, 10000000));
    OK(cairn_options_set_wait_strategy(o, CAIRN_WAIT_ADAPTIVE, 20000));

    BAD("4095", cairn_options_set_group_limits(o, 4095, 0));
    BAD("67108865", cairn_options_set_group_limits(o, (64u << 20) + 1, 0));
    BAD("4097", cairn_options_set_group_limits(o, 4096, 4097));
    BAD("0", cairn_options_set_group_limits(o, 0, 0));
    OK(cairn_options_set_group_limits(o, 4096, 0));
    OK(cairn_options_set_group_limits(o, 4096, 4096));
    OK(cairn_options_set_group_limits(o, 64u << 20, 64u << 20));
    OK(cairn_options_set_group_limits(o, 1u << 20, 128u << 10));

    BAD("0", cairn_options_set_max_immutable_memtables(o, 0));
    BAD("9", cairn_options_set_max_immutable_memtables(o, 9));
    BAD("-1", cairn_options_set_max_immutable_memtables(o, -1));
    OK(cairn_options_set_max_immutable_memtables(o, 1));
    OK(cairn_options_set_max_immutable_memtables(o, 8));

    BAD("0", cairn_options_set_background_threads(o, 0));
    BAD("3", cairn_options_set_background_threads(o, 3));
    BAD("-1", cairn_options_set_background_threads(o, -1));
    OK(cairn_options_set_background_threads(o, 2));
    OK(cairn_options_set_background_threads(o, 1));

    BAD("0", cairn_options_set_l0_triggers(o, 0, 12, 1000));
    BAD("-1", cairn_options_set_l0_triggers(o, -1, 12, 1000));
    BAD("1001", cairn_options_set_l0_triggers(o, 8, 1001, 1000));
    BAD("7", cairn_options_set_l0_triggers(o, 8, 7, 1000)); /* stop < slow */
    BAD("1000001", cairn_options_set_l0_triggers(o, 8, 12, 1000001));
    BAD("18446744073709551615",
        cairn_options_set_l0_triggers(o, 8, 12, UINT64_MAX));
    OK(cairn_options_set_l0_triggers(o, 1, 1, 0));
    OK(cairn_options_set_l0_triggers(o, 1000, 1000, 1000000));
    OK(cairn_options_set_l0_triggers(o, 8, 12, 1000));

    cairn_options_destroy(o);

    cairn_writeoptions *wo = cairn_writeoptions_create();
    cairn_readoptions *ro = cairn_readoptions_create();
    assert_non_null(wo);
    assert_non_null(ro);
    OK(cairn_writeoptions_set_no_slowdown(wo, 1));
    OK(cairn_writeoptions_set_no_slowdown(wo, -3));
    OK(cairn_writeoptions_set_no_slowdown(wo, 0));
    OK(cairn_readoptions_set_snapshot(ro, NULL));
    cairn_writeoptions_destroy(wo);
    cairn_readoptions_destroy(ro);
}

/* The boundary values are not only accepted but usable: a database opened
 * with each extreme reads back what it wrote, through memtable, flushed
 * tables and compaction. */
static void run_with(fixture *f, cairn_options *o, const char *name)
{
    assert_int_equal(cairn_options_set_env(o, f->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_info_log(o, 0), 0);
    cairn_db *db = open_db(o, name);
    cairn_writeoptions *wo = cairn_writeoptions_create();
    assert_non_null(wo);
    OK(cairn_writeoptions_set_no_slowdown(wo, 1));
    OK(cairn_writeoptions_set_sync(wo, 1));
    fill(db, 300, 100);
    OK(cairn_db_put(db, wo, "k00007", 6, "seven", 5));
    OK(cairn_db_flush(db));
    OK(cairn_db_delete(db, wo, "k00008", 6));
    OK(cairn_db_compact_range(db, NULL, 0, NULL, 0));
    check_value(db, NULL, "k00007", "seven");
    check_value(db, NULL, "k00008", NULL);
    void *v = NULL;
    size_t vl = 0;
    OK(cairn_db_get(db, NULL, "k00299", 6, &v, &vl));
    assert_int_equal(vl, 100);
    cairn_free(v);
    assert_int_equal(cairn_db_close(db), 0);
    db = open_db(o, name);
    check_value(db, NULL, "k00007", "seven");
    assert_int_equal(cairn_db_close(db), 0);
    cairn_writeoptions_destroy(wo);
}

static void test_boundaries_usable(void **state)
{
    fixture *f = *state;
    cairn_cache *tiny = cairn_cache_create_lru(0);
    assert_non_null(tiny);
    cairn_options *lo = cairn_options_create();
    assert_non_null(lo);
    OK(cairn_options_set_write_buffer_size(lo, 64u << 10));
    OK(cairn_options_set_block_size(lo, 1024));
    OK(cairn_options_set_block_restart_interval(lo, 1));
    OK(cairn_options_set_max_file_size(lo, 1u << 20));
    OK(cairn_options_set_compression(lo, CAIRN_COMPRESSION_NONE));
    OK(cairn_options_set_bloom_bits_per_key(lo, 64));
    OK(cairn_options_set_max_open_files(lo, 74));
    OK(cairn_options_set_cache(lo, tiny));
    OK(cairn_options_set_commit_policy(lo, CAIRN_COMMIT_BATCH_WAIT));
    OK(cairn_options_set_commit_wait(lo, 1, 1, 1));
    OK(cairn_options_set_wait_strategy(lo, CAIRN_WAIT_BLOCK, 0));
    OK(cairn_options_set_group_limits(lo, 4096, 0));
    OK(cairn_options_set_max_immutable_memtables(lo, 1));
    OK(cairn_options_set_background_threads(lo, 1));
    run_with(f, lo, "/lo");
    cairn_options_destroy(lo);

    cairn_options *hi = cairn_options_create();
    assert_non_null(hi);
    OK(cairn_options_set_block_size(hi, 4u << 20));
    OK(cairn_options_set_block_restart_interval(hi, 65536));
    OK(cairn_options_set_max_file_size(hi, 1u << 30));
    OK(cairn_options_set_bloom_bits_per_key(hi, 1));
    OK(cairn_options_set_max_open_files(hi, 50000));
    OK(cairn_options_set_commit_wait(hi, 1000000, 64u << 20, 0));
    OK(cairn_options_set_wait_strategy(hi, CAIRN_WAIT_SPIN, 10000000));
    OK(cairn_options_set_group_limits(hi, 64u << 20, 64u << 20));
    OK(cairn_options_set_max_immutable_memtables(hi, 8));
    OK(cairn_options_set_background_threads(hi, 2));
    OK(cairn_options_set_l0_triggers(hi, 1000, 1000, 1000000));
    run_with(f, hi, "/hi");
    cairn_options_destroy(hi);
    cairn_cache_destroy(tiny);
}

/* One cache shared by two open databases. */
static void test_shared_cache(void **state)
{
    fixture *f = *state;
    cairn_cache *c = cairn_cache_create_lru(1u << 20);
    assert_non_null(c);
    OK(cairn_options_set_cache(f->opt, c));
    cairn_db *a = open_db(f->opt, "/a");
    cairn_db *b = open_db(f->opt, "/b");
    OK(cairn_db_put(a, NULL, "k", 1, "from-a", 6));
    OK(cairn_db_put(b, NULL, "k", 1, "from-b", 6));
    OK(cairn_db_flush(a));
    OK(cairn_db_flush(b));
    for (int i = 0; i < 2; i++) { /* the second round reads cached blocks */
        check_value(a, NULL, "k", "from-a");
        check_value(b, NULL, "k", "from-b");
    }
    assert_int_equal(cairn_db_close(a), 0);
    assert_int_equal(cairn_db_close(b), 0);
    OK(cairn_options_set_cache(f->opt, NULL));
    cairn_cache_destroy(c);
}

/* ---------------------------------------------------------------------- */
/* Snapshots                                                                */

static void test_snapshot_args(void **state)
{
    fixture *f = *state;
    const cairn_snapshot *s;
    EXPECT_NULL_MSG(s, cairn_db_create_snapshot(NULL));
    cairn_db_release_snapshot(NULL, NULL);

    cairn_db *a = open_db(f->opt, "/a");
    cairn_db *b = open_db(f->opt, "/b");
    cairn_db_release_snapshot(a, NULL); /* ignored */
    OK(cairn_db_put(a, NULL, "k", 1, "old", 3));
    const cairn_snapshot *sa = cairn_db_create_snapshot(a);
    assert_non_null(sa);
    OK(cairn_db_put(a, NULL, "k", 1, "new", 3));
    OK(cairn_db_put(b, NULL, "k", 1, "b", 1));

    /* Releasing through the wrong handle, or none, must not release it. */
    prime();
    cairn_db_release_snapshot(b, sa);
    check_msg("another database", "release_snapshot(b, sa)", __LINE__);
    prime();
    cairn_db_release_snapshot(NULL, sa);
    check_msg(NULL, "release_snapshot(NULL, sa)", __LINE__);
    cairn_readoptions *ro = cairn_readoptions_create();
    assert_non_null(ro);
    OK(cairn_readoptions_set_snapshot(ro, sa));
    check_value(a, ro, "k", "old");
    check_value(a, NULL, "k", "new");

    /* A snapshot of another database is refused by readers. */
    cairn_iter *it;
    EXPECT_NULL_MSG(it, cairn_db_iter_create(b, ro));
    void *v = NULL;
    size_t vl = 0;
    EXPECT_INVALID(cairn_db_get(b, ro, "k", 1, &v, &vl));
    assert_null(v);

    EXPECT_ERR(CAIRN_BUSY, cairn_db_close(a));
    assert_int_equal(cairn_db_close(b), 0);
    cairn_db_release_snapshot(a, sa);
    OK(cairn_readoptions_set_snapshot(ro, NULL));
    assert_int_equal(cairn_db_close(a), 0);
    /* A closed handle gives no snapshot, and says why. */
    prime();
    s = cairn_db_create_snapshot(a);
    assert_null(s);
    check_msg("close", "create_snapshot(closed)", __LINE__);
    cairn_readoptions_destroy(ro);
}

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
    fixture *f = *state;
    cairn_db *db = open_db(f->opt, "/db");

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
    prime();
    it = cairn_db_iter_create(db, NULL);
    assert_null(it);
    check_msg("close", "iter_create(closed)", __LINE__);
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
    fixture *f = *state;
    char *v;
    EXPECT_NULL_MSG(v, cairn_db_property(NULL, "cairn.stats"));
    cairn_db *db = open_db(f->opt, "/db");
    fill(db, 50, 10);
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
        prime();
        v = cairn_db_property(db, unknown[i]);
        if (v != NULL)
            fail_msg("unknown property \"%s\" gave \"%s\"", unknown[i], v);
        check_msg(NULL, unknown[i], __LINE__);
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
    prime();
    v = cairn_db_property(db, "cairn.stats");
    assert_null(v);
    check_msg("close", "property(closed)", __LINE__);
}

/* ---------------------------------------------------------------------- */
/* Approximate sizes, compaction, flush, pause                              */

static void test_approximate_sizes_args(void **state)
{
    fixture *f = *state;
    OK(cairn_options_set_compression(f->opt, CAIRN_COMPRESSION_NONE));
    cairn_db *db = open_db(f->opt, "/db");
    fill(db, 2000, 200);
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
    fixture *f = *state;
    EXPECT_INVALID(cairn_db_compact_range(NULL, NULL, 0, NULL, 0));
    EXPECT_INVALID(cairn_db_flush(NULL));
    EXPECT_INVALID(cairn_db_pause_compaction(NULL));
    EXPECT_INVALID(cairn_db_resume_compaction(NULL));

    cairn_db *db = open_db(f->opt, "/db");
    fill(db, 200, 50);
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
    check_value(db, NULL, "k00150", v);

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
    fixture *f = *state;
    cairn_db *db = open_db(f->opt, "/db");
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
        check_value(db, NULL, "b", "2");
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
            check_value(db, ro, "a", "1");
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
    db = open_db(f->opt, "/db");
    check_value(db, NULL, "a", "1");
    check_value(db, NULL, "b", NULL);
    assert_int_equal(cairn_db_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setters_null),
        cmocka_unit_test(test_setter_ranges),
        cmocka_unit_test_setup_teardown(test_boundaries_usable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shared_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_args, setup, teardown),
        cmocka_unit_test(test_iter_null),
        cmocka_unit_test_setup_teardown(test_iter_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_property_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_approximate_sizes_args, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_compaction_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_busy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
