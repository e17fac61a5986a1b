/*
 * test_log_errors.c: the log reader's error paths (src/wal), mirroring
 * LevelDB's log_test one test for one, with its exact dropped-byte counts
 * and reasons, plus our own additions (read and skip errors, record types
 * 5 and 6, zeroed preallocated space). Reading and writing without damage
 * is test_log.c's.
 *
 * The fixture, LevelDB's LogTest over an in-memory file that depends on
 * nothing but util and wal, is tests/support/log_fixture.h's.
 */
/* The engine headers come first: cmocka.h defines a function-like macro
 * skip() that would otherwise rewrite the f->ops->skip(f, n) call in
 * env.h's inline wrapper. */
#include "util/buf.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "log_fixture.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Error paths of the reader -------------------------------------- */

static void test_read_error(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    t->rfile.read_error = 1;
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, BLOCK);
    lt_expect_error(t, "read error");
    lt_expect_error(t, "injected");
    lt_expect_eof(t); /* and no second read (mf_read checks) */
}

static void test_bad_record_type(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_increment_byte(t, 6, 100);
    lt_fix_checksum(t, 0, 3);
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    lt_expect_error(t, "unknown record type 101");
}

/* Types 5 and 6 are unknown too (LevelDB would confuse them with its
 * internal end-of-file and bad-record codes). */
static void test_record_types_5_and_6(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_str(t, "bar");
    lt_write_str(t, "baz");
    lt_set_byte(t, 6, 5);
    lt_fix_checksum(t, 0, 3);
    lt_set_byte(t, 10 + 6, 6);
    lt_fix_checksum(t, 10, 3);
    lt_expect_read_str(t, "baz");
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, 6);
    lt_expect_error(t, "unknown record type 5");
    lt_expect_error(t, "unknown record type 6");
}

static void test_truncated_trailing_record_is_ignored(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_shrink_size(t, 4); /* all of the payload and one header byte */
    lt_expect_eof(t);
    lt_expect_no_reports(t);
}

static void test_bad_length(void **state)
{
    lt *t = *state;
    lt_write_big(t, "bar", BLOCK - HDR);
    lt_write_str(t, "foo");
    lt_increment_byte(t, 4, 1); /* the low byte of the first length */
    lt_expect_read_str(t, "foo");
    assert_int_equal(t->report.dropped, BLOCK);
    assert_int_equal(t->report.offset, 0);
    lt_expect_error(t, "bad record length");
}

static void test_bad_length_at_end_is_ignored(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_shrink_size(t, 1);
    lt_expect_eof(t);
    lt_expect_no_reports(t);
}

static void test_checksum_mismatch(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_increment_byte(t, 0, 10);
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, 10);
    assert_int_equal(t->report.offset, 0);
    lt_expect_error(t, "checksum mismatch");
}

/* The length of a record whose CRC fails cannot be trusted, so the rest of
 * its block goes with it (corruption_test's Recovery relies on this). */
static void test_checksum_mismatch_drops_block(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_str(t, "bar");
    lt_write_big(t, "baz", BLOCK);
    lt_write_str(t, "next");
    lt_increment_byte(t, 0, 1);
    lt_expect_read_str(t, "next");
    lt_expect_eof(t);
    /* All of block 0 from the bad header on, then the orphaned LAST of
     * baz, whose FIRST at offset 20 carried BLOCK - 27 bytes. */
    assert_int_equal(t->report.dropped, BLOCK + 27);
    lt_expect_error(t, "checksum mismatch");
    lt_expect_error(t, "missing start of fragmented record(2)");
}

/* With verification off, a damaged payload is returned as it is. */
static void test_checksum_off(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_increment_byte(t, HDR, 1);
    cairn__log_reader_fini(&t->reader);
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base,
                                            lt_collect, &t->report, 0, 0),
                     0);
    lt_expect_read_str(t, "goo");
    lt_expect_eof(t);
    lt_expect_no_reports(t);
}

static void unexpected_type(lt *t, int type)
{
    lt_write_str(t, "foo");
    lt_set_byte(t, 6, type);
    lt_fix_checksum(t, 0, 3);
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    lt_expect_error(t, "missing start");
}

static void test_unexpected_middle_type(void **state)
{
    unexpected_type(*state, CAIRN__LOG_MIDDLE);
    lt_expect_error(*state, "missing start of fragmented record(1)");
}

static void test_unexpected_last_type(void **state)
{
    unexpected_type(*state, CAIRN__LOG_LAST);
    lt_expect_error(*state, "missing start of fragmented record(2)");
}

static void test_unexpected_full_type(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_str(t, "bar");
    lt_set_byte(t, 6, CAIRN__LOG_FIRST);
    lt_fix_checksum(t, 0, 3);
    lt_expect_read_str(t, "bar");
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    lt_expect_error(t, "partial record without end(1)");
}

static void test_unexpected_first_type(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_big(t, "bar", 100000);
    lt_set_byte(t, 6, CAIRN__LOG_FIRST);
    lt_fix_checksum(t, 0, 3);
    lt_expect_read_big(t, "bar", 100000);
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    assert_int_equal(t->report.offset, 0);
    lt_expect_error(t, "partial record without end(2)");
}

static void test_missing_last_is_ignored(void **state)
{
    lt *t = *state;
    lt_write_big(t, "bar", BLOCK);
    lt_shrink_size(t, 14); /* the LAST fragment, header included */
    lt_expect_eof(t);
    lt_expect_no_reports(t);
}

static void test_partial_last_is_ignored(void **state)
{
    lt *t = *state;
    lt_write_big(t, "bar", BLOCK);
    lt_shrink_size(t, 1); /* a bad length in the LAST fragment */
    lt_expect_eof(t);
    lt_expect_no_reports(t);
}

static void test_skip_into_multi_record(void **state)
{
    lt *t = *state;
    /* first(R1) middle(R1) last(R1) first(R2): starting inside R1, its
     * remaining fragments are not errors. */
    lt_write_big(t, "foo", 3 * BLOCK);
    lt_write_str(t, "correct");
    lt_start_reading_at(t, BLOCK);
    lt_expect_read_str(t, "correct");
    lt_expect_no_reports(t);
    lt_expect_eof(t);
}

static void test_error_joins_records(void **state)
{
    lt *t = *state;
    /* first(R1) last(R1) first(R2) last(R2) with the middle two wiped:
     * first(R1) and last(R2) must never be joined into a record. */
    lt_write_big(t, "foo", BLOCK);
    lt_write_big(t, "bar", BLOCK);
    lt_write_str(t, "correct");
    for (size_t off = BLOCK; off < 2 * BLOCK; off++)
        lt_set_byte(t, off, 'x');
    lt_expect_read_str(t, "correct");
    lt_expect_eof(t);
    assert_true(t->report.dropped >= 2 * BLOCK);
    assert_true(t->report.dropped <= 2 * BLOCK + 100);
}

/* A skip that fails is reported as the bytes it would have passed. */
static void test_io_errors_after_skip(void **state)
{
    lt *t = *state;
    lt_write_big(t, "foo", 3 * BLOCK);
    t->reading = 1;
    cairn__log_reader_fini(&t->reader);
    lt_mf_init(&t->rfile, &t->dest);
    t->rfile.skip_error = 1;
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base,
                                            lt_collect, &t->report, 1,
                                            BLOCK + 5),
                     0);
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, BLOCK);
    lt_expect_error(t, "injected skip error");

    /* A read that fails right after the skip is reported too, although
     * LevelDB's initial_offset filter would hide it. */
    lt_start_reading_at(t, BLOCK + 5);
    t->rfile.read_error = 1;
    lt_expect_eof(t);
    assert_int_equal(t->report.dropped, 2 * BLOCK);
    lt_expect_error(t, "injected read error");
}

/* Zeroed, preallocated space (type 0, length 0) is skipped silently. */
static void test_zero_padding_is_skipped(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    assert_int_equal(cairn__buf_resize(&t->dest, BLOCK), 0);
    cairn__log_writer_init(&t->writer, &t->wfile.base, t->dest.len);
    lt_write_str(t, "bar");
    lt_expect_read_str(t, "foo");
    lt_expect_read_str(t, "bar");
    lt_expect_eof(t);
    lt_expect_no_reports(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LT_TEST(read_error),
        LT_TEST(bad_record_type),
        LT_TEST(record_types_5_and_6),
        LT_TEST(truncated_trailing_record_is_ignored),
        LT_TEST(bad_length),
        LT_TEST(bad_length_at_end_is_ignored),
        LT_TEST(checksum_mismatch),
        LT_TEST(checksum_mismatch_drops_block),
        LT_TEST(checksum_off),
        LT_TEST(unexpected_middle_type),
        LT_TEST(unexpected_last_type),
        LT_TEST(unexpected_full_type),
        LT_TEST(unexpected_first_type),
        LT_TEST(missing_last_is_ignored),
        LT_TEST(partial_last_is_ignored),
        LT_TEST(skip_into_multi_record),
        LT_TEST(error_joins_records),
        LT_TEST(io_errors_after_skip),
        LT_TEST(zero_padding_is_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
