/*
 * test_api_badinput2.c: the public functions added to include/cairn.h after
 * test_api_badinput.c was written, against the bad inputs the header
 * promises to refuse and the boundary values it promises to accept: table,
 * cache and write-path options, and snapshots here; iterators, properties,
 * approximate sizes, compaction control and close while something is live
 * in test_api_badinput2_db.c.
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
 * Functions returning void or a pointer (snapshots) cannot return a code;
 * for those the test checks that they do not crash (ASan and UBSan watch)
 * and that the pointer-returning ones leave a message. Databases live in
 * cairn_env_mem_create() environments.
 */
#include "db/db_impl.h"

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
    EXPECT_INVALID(cairn_options_set_mmap_reads(NULL, 1));
    EXPECT_INVALID(cairn_options_set_cache(NULL, c));
    EXPECT_INVALID(cairn_options_set_cache(NULL, NULL));
    EXPECT_INVALID(cairn_options_set_commit_policy(NULL, 0));
    EXPECT_INVALID(cairn_options_set_commit_wait(NULL, 100, 4096, 0));
    EXPECT_INVALID(cairn_options_set_wait_strategy(NULL, 0, 0));
    EXPECT_INVALID(cairn_options_set_group_limits(NULL, 1u << 20, 4096));
    EXPECT_INVALID(cairn_options_set_max_immutable_memtables(NULL, 2));
    EXPECT_INVALID(cairn_options_set_background_threads(NULL, 1));
    EXPECT_INVALID(cairn_options_set_memtable_shards(NULL, 1));
    EXPECT_INVALID(cairn_options_set_max_subcompactions(NULL, 1));
    EXPECT_INVALID(cairn_options_set_memtable_filter(NULL, 1));
    EXPECT_INVALID(cairn_options_set_spare_log(NULL, 1));
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

    BAD("4", cairn_options_set_wait_strategy(o, 4, 0));
    BAD("-1", cairn_options_set_wait_strategy(o, -1, 0));
    BAD("10000001",
        cairn_options_set_wait_strategy(o, CAIRN_WAIT_SPIN, 10000001));
    BAD("18446744073709551615",
        cairn_options_set_wait_strategy(o, CAIRN_WAIT_BLOCK, UINT64_MAX));
    OK(cairn_options_set_wait_strategy(o, CAIRN_WAIT_BLOCK, 0));
    OK(cairn_options_set_wait_strategy(o, CAIRN_WAIT_SPIN, 10000000));
    OK(cairn_options_set_wait_strategy(o, CAIRN_WAIT_ADAPTIVE, 20000));
    OK(cairn_options_set_wait_strategy(o, CAIRN_WAIT_AUTO, 20000));

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

    BAD("17", cairn_options_set_memtable_shards(o, 17));
    BAD("-1", cairn_options_set_memtable_shards(o, -1));
    OK(cairn_options_set_memtable_shards(o, 0));
    OK(cairn_options_set_memtable_shards(o, 16));
    OK(cairn_options_set_memtable_shards(o, 1));
    BAD("2", cairn_options_set_memtable_filter(o, 2));
    BAD("-1", cairn_options_set_memtable_filter(o, -1));
    OK(cairn_options_set_memtable_filter(o, 0));
    OK(cairn_options_set_memtable_filter(o, 1));
    BAD("2", cairn_options_set_spare_log(o, 2));
    BAD("-1", cairn_options_set_spare_log(o, -1));
    OK(cairn_options_set_spare_log(o, 0));
    OK(cairn_options_set_spare_log(o, 1));

    BAD("0", cairn_options_set_background_threads(o, 0));
    BAD("3", cairn_options_set_background_threads(o, 3));
    BAD("-1", cairn_options_set_background_threads(o, -1));
    OK(cairn_options_set_background_threads(o, 2));
    OK(cairn_options_set_background_threads(o, 1));
    BAD("17", cairn_options_set_max_subcompactions(o, 17));
    BAD("-1", cairn_options_set_max_subcompactions(o, -1));
    OK(cairn_options_set_max_subcompactions(o, 16));
    OK(cairn_options_set_max_subcompactions(o, 1));
    OK(cairn_options_set_max_subcompactions(o, 0));

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
static void run_with(api_fixture *f, cairn_options *o, const char *name)
{
    assert_int_equal(cairn_options_set_env(o, f->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_info_log(o, 0), 0);
    cairn_db *db = api_open(o, name);
    cairn_writeoptions *wo = cairn_writeoptions_create();
    assert_non_null(wo);
    OK(cairn_writeoptions_set_no_slowdown(wo, 1));
    OK(cairn_writeoptions_set_sync(wo, 1));
    api_fill(db, 300, 100);
    OK(cairn_db_put(db, wo, "k00007", 6, "seven", 5));
    OK(cairn_db_flush(db));
    OK(cairn_db_delete(db, wo, "k00008", 6));
    OK(cairn_db_compact_range(db, NULL, 0, NULL, 0));
    api_check_str(db, NULL, "k00007", "seven");
    api_check_str(db, NULL, "k00008", NULL);
    void *v = NULL;
    size_t vl = 0;
    OK(cairn_db_get(db, NULL, "k00299", 6, &v, &vl));
    assert_int_equal(vl, 100);
    cairn_free(v);
    assert_int_equal(cairn_db_close(db), 0);
    db = api_open(o, name);
    api_check_str(db, NULL, "k00007", "seven");
    assert_int_equal(cairn_db_close(db), 0);
    cairn_writeoptions_destroy(wo);
}

static void test_boundaries_usable(void **state)
{
    api_fixture *f = *state;
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
    OK(cairn_options_set_max_subcompactions(lo, 1));
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
    OK(cairn_options_set_max_subcompactions(hi, 16));
    OK(cairn_options_set_l0_triggers(hi, 1000, 1000, 1000000));
    run_with(f, hi, "/hi");
    cairn_options_destroy(hi);
    cairn_cache_destroy(tiny);
}

/* One cache shared by two open databases. */
static void test_shared_cache(void **state)
{
    api_fixture *f = *state;
    cairn_cache *c = cairn_cache_create_lru(1u << 20);
    assert_non_null(c);
    OK(cairn_options_set_cache(f->opt, c));
    cairn_db *a = api_open(f->opt, "/a");
    cairn_db *b = api_open(f->opt, "/b");
    OK(cairn_db_put(a, NULL, "k", 1, "from-a", 6));
    OK(cairn_db_put(b, NULL, "k", 1, "from-b", 6));
    OK(cairn_db_flush(a));
    OK(cairn_db_flush(b));
    for (int i = 0; i < 2; i++) { /* the second round reads cached blocks */
        api_check_str(a, NULL, "k", "from-a");
        api_check_str(b, NULL, "k", "from-b");
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
    api_fixture *f = *state;
    const cairn_snapshot *s;
    EXPECT_NULL_MSG(s, cairn_db_create_snapshot(NULL));
    cairn_db_release_snapshot(NULL, NULL);

    cairn_db *a = api_open(f->opt, "/a");
    cairn_db *b = api_open(f->opt, "/b");
    cairn_db_release_snapshot(a, NULL); /* ignored */
    OK(cairn_db_put(a, NULL, "k", 1, "old", 3));
    const cairn_snapshot *sa = cairn_db_create_snapshot(a);
    assert_non_null(sa);
    OK(cairn_db_put(a, NULL, "k", 1, "new", 3));
    OK(cairn_db_put(b, NULL, "k", 1, "b", 1));

    /* Releasing through the wrong handle, or none, must not release it. */
    api_prime(0);
    cairn_db_release_snapshot(b, sa);
    api_check_msg("another database", "release_snapshot(b, sa)", __LINE__);
    api_prime(0);
    cairn_db_release_snapshot(NULL, sa);
    api_check_msg(NULL, "release_snapshot(NULL, sa)", __LINE__);
    cairn_readoptions *ro = cairn_readoptions_create();
    assert_non_null(ro);
    OK(cairn_readoptions_set_snapshot(ro, sa));
    api_check_str(a, ro, "k", "old");
    api_check_str(a, NULL, "k", "new");

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
    api_prime(0);
    s = cairn_db_create_snapshot(a);
    assert_null(s);
    api_check_msg("close", "create_snapshot(closed)", __LINE__);
    cairn_readoptions_destroy(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setters_null),
        cmocka_unit_test(test_setter_ranges),
        cmocka_unit_test_setup_teardown(test_boundaries_usable, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_shared_cache, api_setup,
                                        api_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_args, api_setup,
                                        api_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
