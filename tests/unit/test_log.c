/*
 * test_log.c: the log writer and reader (src/wal), mirroring LevelDB's
 * log_test one test for one, with its exact dropped-byte counts and
 * reasons, plus checks of the bytes we produce and of our own additions
 * (one flush per record, write errors, skip errors, types 5 and 6).
 *
 * The env implementations are written concurrently with this module, so
 * the tests carry their own in-memory cairn__file over a cairn__buf and
 * depend on nothing but util and wal. Like LevelDB's test source, the file
 * fails the test if the reader reads again after a short or failed read.
 */
/* The engine headers come first: cmocka.h defines a function-like macro
 * skip() that would otherwise rewrite the f->ops->skip(f, n) call in
 * env.h's inline wrapper. */
#include "util/buf.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK CAIRN__LOG_BLOCK_SIZE
#define HDR   CAIRN__LOG_HEADER_SIZE

/* ---- An in-memory file ---------------------------------------------- */

typedef struct mem_file {
    cairn__file base;
    cairn__buf *data;     /* borrowed contents */
    uint64_t pos;         /* sequential read position */
    int read_error;       /* the next read fails (once) */
    int skip_error;       /* the next skip fails (once) */
    int returned_partial; /* a read came back short or failed */
    int fail_append_at;   /* 1-based append that fails; 0 = none */
    int fail_flush;
    int reads, appends, flushes;
} mem_file;

static int mf_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    mem_file *m = (mem_file *)f;
    size_t len = m->data->len;
    *got = off >= len ? 0 : (len - off < n ? len - off : n);
    if (*got > 0)
        memcpy(buf, m->data->data + off, *got);
    return 0;
}

static int mf_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    mem_file *m = (mem_file *)f;
    if (m->returned_partial)
        fail_msg("reader read again after end of file or an error");
    assert_int_equal(n, BLOCK);
    m->reads++;
    if (m->read_error) {
        m->read_error = 0;
        m->returned_partial = 1;
        return cairn__err(CAIRN_IO, "injected read error");
    }
    CAIRN_TRY(mf_pread(f, m->pos, n, buf, got));
    m->pos += *got;
    if (*got < n)
        m->returned_partial = 1;
    return 0;
}

static int mf_skip(cairn__file *f, uint64_t n)
{
    mem_file *m = (mem_file *)f;
    if (m->skip_error) {
        m->skip_error = 0;
        return cairn__err(CAIRN_IO, "injected skip error");
    }
    m->pos += n;
    return 0;
}

static int mf_append(cairn__file *f, const char *p, size_t n)
{
    mem_file *m = (mem_file *)f;
    if (++m->appends == m->fail_append_at)
        return cairn__err(CAIRN_NOSPC, "injected append error");
    return cairn__buf_append(m->data, p, n);
}

static int mf_flush(cairn__file *f)
{
    mem_file *m = (mem_file *)f;
    m->flushes++;
    return m->fail_flush ? cairn__err(CAIRN_IO, "injected flush error") : 0;
}

static int mf_sync(cairn__file *f)
{
    return mf_flush(f);
}

static int mf_size(cairn__file *f, uint64_t *size)
{
    *size = ((mem_file *)f)->data->len;
    return 0;
}

static int mf_close(cairn__file *f)
{
    (void)f; /* embedded in the fixture, nothing to free */
    return 0;
}

static const cairn__file_ops mem_file_ops = {
    mf_pread, mf_read, mf_skip,  mf_append, mf_flush,
    mf_sync,  mf_size, mf_close, NULL,
};

static void mf_init(mem_file *m, cairn__buf *data)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mem_file_ops;
    m->data = data;
}

/* ---- The fixture: LevelDB's LogTest --------------------------------- */

typedef struct report_log {
    size_t dropped;
    int calls;
    uint64_t offset; /* of the latest report */
    char message[4096];
} report_log;

static void collect(void *ctx, uint64_t offset, size_t bytes,
                    const char *reason)
{
    report_log *rl = ctx;
    rl->dropped += bytes;
    rl->calls++;
    rl->offset = offset;
    size_t used = strlen(rl->message);
    snprintf(rl->message + used, sizeof rl->message - used, "%s; ", reason);
}

typedef struct lt {
    cairn__buf dest;
    mem_file wfile, rfile;
    cairn__log_writer writer;
    cairn__log_reader reader;
    report_log report;
    int reading;
} lt;

static int lt_setup(void **state)
{
    lt *t = calloc(1, sizeof *t);
    assert_non_null(t);
    cairn__buf_init(&t->dest);
    mf_init(&t->wfile, &t->dest);
    mf_init(&t->rfile, &t->dest);
    cairn__log_writer_init(&t->writer, &t->wfile.base, 0);
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base, collect,
                                            &t->report, 1, 0),
                     0);
    *state = t;
    return 0;
}

static int lt_teardown(void **state)
{
    lt *t = *state;
    cairn__log_reader_fini(&t->reader);
    assert_int_equal(cairn__file_close(&t->wfile.base), 0);
    assert_int_equal(cairn__file_close(&t->rfile.base), 0);
    cairn__buf_fini(&t->dest);
    free(t);
    return 0;
}

static void lt_write(lt *t, const void *p, size_t n)
{
    assert_false(t->reading); /* no writes after reading starts */
    assert_int_equal(cairn__log_add_record(&t->writer, p, n), 0);
}

static void lt_write_str(lt *t, const char *s)
{
    lt_write(t, s, strlen(s));
}

static void expect_record(cairn__slice rec, const void *p, size_t n)
{
    assert_int_equal(rec.size, n);
    if (n > 0)
        assert_memory_equal(rec.data, p, n);
}

static void expect_read(lt *t, const void *p, size_t n)
{
    cairn__slice rec;
    t->reading = 1;
    assert_int_equal(cairn__log_read_record(&t->reader, &rec), 1);
    expect_record(rec, p, n);
}

static void expect_read_str(lt *t, const char *s)
{
    expect_read(t, s, strlen(s));
}

static void expect_eof(lt *t)
{
    cairn__slice rec;
    t->reading = 1;
    assert_int_equal(cairn__log_read_record(&t->reader, &rec), 0);
}

static void expect_no_reports(const lt *t)
{
    assert_int_equal(t->report.dropped, 0);
    assert_int_equal(t->report.calls, 0);
    assert_string_equal(t->report.message, "");
}

static void expect_error(const lt *t, const char *msg)
{
    if (strstr(t->report.message, msg) == NULL)
        fail_msg("report \"%s\" lacks \"%s\"", t->report.message, msg);
}

/* `partial` repeated and cut to n bytes; free() the result. */
static char *big_string(const char *partial, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t plen = strlen(partial);
    for (size_t i = 0; i < n; i++)
        s[i] = partial[i % plen];
    s[n] = '\0';
    return s;
}

static void write_big(lt *t, const char *partial, size_t n)
{
    char *s = big_string(partial, n);
    lt_write(t, s, n);
    free(s);
}

static void expect_read_big(lt *t, const char *partial, size_t n)
{
    char *s = big_string(partial, n);
    expect_read(t, s, n);
    free(s);
}

static void number_string(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "%d.", i);
}

static unsigned char byte_at(const lt *t, size_t off)
{
    assert_true(off < t->dest.len);
    return (unsigned char)t->dest.data[off];
}

static void increment_byte(lt *t, size_t off, int delta)
{
    t->dest.data[off] = (char)(byte_at(t, off) + delta);
}

static void set_byte(lt *t, size_t off, int v)
{
    (void)byte_at(t, off);
    t->dest.data[off] = (char)v;
}

static void shrink_size(lt *t, size_t n)
{
    t->dest.len -= n;
}

/* Recomputes the CRC of the fragment at off whose payload is len bytes. */
static void fix_checksum(lt *t, size_t off, size_t len)
{
    uint32_t crc = cairn__crc32c(t->dest.data + off + 6, 1 + len);
    cairn__encode_fixed32(t->dest.data + off, cairn__crc32c_mask(crc));
}

/* Asserts the header at off has length len and type type. */
static void expect_header(const lt *t, size_t off, size_t len, int type)
{
    assert_int_equal(byte_at(t, off + 4) | (byte_at(t, off + 5) << 8), len);
    assert_int_equal(byte_at(t, off + 6), type);
}

static void start_reading_at(lt *t, uint64_t initial_offset)
{
    cairn__log_reader_fini(&t->reader);
    mf_init(&t->rfile, &t->dest);
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base, collect,
                                            &t->report, 1, initial_offset),
                     0);
}

/* ---- Reading and writing -------------------------------------------- */

static void test_empty(void **state)
{
    expect_eof(*state);
    expect_no_reports(*state);
}

static void test_read_write(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_str(t, "bar");
    size_t before = t->dest.len;
    lt_write_str(t, "");
    /* An empty record is one zero-length FULL fragment. */
    assert_int_equal(t->dest.len, before + HDR);
    expect_header(t, before, 0, CAIRN__LOG_FULL);
    lt_write_str(t, "xxxx");
    expect_read_str(t, "foo");
    expect_read_str(t, "bar");
    expect_read_str(t, "");
    expect_read_str(t, "xxxx");
    expect_eof(t);
    expect_eof(t); /* reads at end of file keep returning end of file */
    expect_no_reports(t);
}

static void test_many_blocks(void **state)
{
    lt *t = *state;
    int n = (int)(100000 * tu_scale());
    char buf[32];
    if (n < 1000)
        n = 1000;
    for (int i = 0; i < n; i++) {
        number_string(buf, sizeof buf, i);
        lt_write_str(t, buf);
    }
    assert_true(t->dest.len > 10 * BLOCK);
    for (int i = 0; i < n; i++) {
        number_string(buf, sizeof buf, i);
        expect_read_str(t, buf);
    }
    expect_eof(t);
    expect_no_reports(t);
}

static void test_fragmentation(void **state)
{
    lt *t = *state;
    lt_write_str(t, "small");
    write_big(t, "medium", 50000);
    write_big(t, "large", 100000);
    /* One flush per logical record, however many fragments it took. */
    assert_int_equal(t->wfile.flushes, 3);
    expect_read_str(t, "small");
    expect_read_big(t, "medium", 50000);
    expect_read_big(t, "large", 100000);
    expect_eof(t);
    expect_no_reports(t);
}

static void test_marginal_trailer(void **state)
{
    lt *t = *state;
    /* Leave a trailer exactly the size of an empty record. */
    const size_t n = BLOCK - 2 * HDR;
    write_big(t, "foo", n);
    assert_int_equal(t->dest.len, BLOCK - HDR);
    lt_write_str(t, "");
    lt_write_str(t, "bar");
    expect_header(t, BLOCK - HDR, 0, CAIRN__LOG_FULL);
    expect_read_big(t, "foo", n);
    expect_read_str(t, "");
    expect_read_str(t, "bar");
    expect_eof(t);
    expect_no_reports(t);
}

static void test_marginal_trailer2(void **state)
{
    lt *t = *state;
    const size_t n = BLOCK - 2 * HDR;
    write_big(t, "foo", n);
    assert_int_equal(t->dest.len, BLOCK - HDR);
    lt_write_str(t, "bar");
    /* Exactly 7 bytes left: a header-only FIRST, then the LAST. */
    expect_header(t, BLOCK - HDR, 0, CAIRN__LOG_FIRST);
    expect_header(t, BLOCK, 3, CAIRN__LOG_LAST);
    expect_read_big(t, "foo", n);
    expect_read_str(t, "bar");
    expect_eof(t);
    expect_no_reports(t);
}

static void test_short_trailer(void **state)
{
    lt *t = *state;
    const size_t n = BLOCK - 2 * HDR + 4;
    write_big(t, "foo", n);
    assert_int_equal(t->dest.len, BLOCK - HDR + 4);
    lt_write_str(t, "");
    lt_write_str(t, "bar");
    for (size_t off = BLOCK - 3; off < BLOCK; off++)
        assert_int_equal(byte_at(t, off), 0); /* zero-filled trailer */
    expect_header(t, BLOCK, 0, CAIRN__LOG_FULL);
    expect_read_big(t, "foo", n);
    expect_read_str(t, "");
    expect_read_str(t, "bar");
    expect_eof(t);
    expect_no_reports(t);
}

static void test_aligned_eof(void **state)
{
    lt *t = *state;
    const size_t n = BLOCK - 2 * HDR + 4;
    write_big(t, "foo", n);
    assert_int_equal(t->dest.len, BLOCK - HDR + 4);
    expect_read_big(t, "foo", n);
    expect_eof(t);
    expect_no_reports(t);
}

static void test_open_for_append(void **state)
{
    lt *t = *state;
    lt_write_str(t, "hello");
    cairn__log_writer_init(&t->writer, &t->wfile.base, t->dest.len);
    lt_write_str(t, "world");
    expect_read_str(t, "hello");
    expect_read_str(t, "world");
    expect_eof(t);
    expect_no_reports(t);
}

/* Reopening where fewer than 7 bytes remain pads the block first. */
static void test_open_for_append_in_trailer(void **state)
{
    lt *t = *state;
    write_big(t, "foo", BLOCK - 2 * HDR + 4);
    cairn__log_writer_init(&t->writer, &t->wfile.base, t->dest.len);
    lt_write_str(t, "x");
    assert_int_equal(t->dest.len, BLOCK + HDR + 1);
    expect_header(t, BLOCK, 1, CAIRN__LOG_FULL);
    expect_read_big(t, "foo", BLOCK - 2 * HDR + 4);
    expect_read_str(t, "x");
    expect_eof(t);
    expect_no_reports(t);
}

/* LevelDB's Random::Skewed(max_log): lengths up to 2^max_log - 1, biased
 * toward short ones. */
static size_t skewed(tu_rng *rng, int max_log)
{
    return (size_t)tu_rng_uniform(
        rng, (uint64_t)1 << tu_rng_uniform(rng, (uint64_t)max_log + 1));
}

static void test_random_read(void **state)
{
    lt *t = *state;
    const int n = 500;
    uint64_t seed = tu_seed("log RandomRead");
    char num[32];
    tu_rng rng;
    tu_rng_init(&rng, seed);
    for (int i = 0; i < n; i++) {
        number_string(num, sizeof num, i);
        write_big(t, num, skewed(&rng, 17));
    }
    tu_rng_init(&rng, seed);
    for (int i = 0; i < n; i++) {
        number_string(num, sizeof num, i);
        expect_read_big(t, num, skewed(&rng, 17));
    }
    expect_eof(t);
    expect_no_reports(t);
}

/* The derived bytes of facts Appendix A: Put("k", "v") at sequence 1. */
static void test_appendix_a_bytes(void **state)
{
    lt *t = *state;
    static const unsigned char batch[17] = {1, 0, 0, 0, 0, 0,   0, 0,  1,
                                            0, 0, 0, 1, 1, 'k', 1, 'v'};
    static const unsigned char header[HDR] = {0xe7, 0x5a, 0x4d, 0x00,
                                              0x11, 0x00, 0x01};
    lt_write(t, batch, sizeof batch);
    assert_int_equal(t->dest.len, HDR + sizeof batch);
    assert_memory_equal(t->dest.data, header, HDR);
    assert_memory_equal(t->dest.data + HDR, batch, sizeof batch);
    assert_int_equal(t->wfile.flushes, 1);
    expect_read(t, batch, sizeof batch);
    expect_eof(t);
}

/* The first failure is returned, and nothing is flushed after it. */
static void test_write_errors(void **state)
{
    lt *t = *state;
    t->wfile.fail_append_at = 2; /* the payload of the first fragment */
    assert_int_equal(cairn__log_add_record(&t->writer, "foo", 3), CAIRN_NOSPC);
    assert_int_equal(t->wfile.flushes, 0);

    /* A failed trailer append is an error too (LevelDB ignores it). */
    t->dest.len = 0;
    cairn__log_writer_init(&t->writer, &t->wfile.base, BLOCK - 3);
    t->wfile.appends = 0;
    t->wfile.fail_append_at = 1;
    assert_int_equal(cairn__log_add_record(&t->writer, "foo", 3), CAIRN_NOSPC);

    t->wfile.fail_append_at = 0;
    t->wfile.fail_flush = 1;
    assert_int_equal(cairn__log_add_record(&t->writer, "foo", 3), CAIRN_IO);
}

/* ---- Error paths of the reader -------------------------------------- */

static void test_read_error(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    t->rfile.read_error = 1;
    expect_eof(t);
    assert_int_equal(t->report.dropped, BLOCK);
    expect_error(t, "read error");
    expect_error(t, "injected");
    expect_eof(t); /* and no second read (mf_read checks) */
}

static void test_bad_record_type(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    increment_byte(t, 6, 100);
    fix_checksum(t, 0, 3);
    expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    expect_error(t, "unknown record type 101");
}

/* Types 5 and 6 are unknown too (LevelDB would confuse them with its
 * internal end-of-file and bad-record codes). */
static void test_record_types_5_and_6(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_str(t, "bar");
    lt_write_str(t, "baz");
    set_byte(t, 6, 5);
    fix_checksum(t, 0, 3);
    set_byte(t, 10 + 6, 6);
    fix_checksum(t, 10, 3);
    expect_read_str(t, "baz");
    expect_eof(t);
    assert_int_equal(t->report.dropped, 6);
    expect_error(t, "unknown record type 5");
    expect_error(t, "unknown record type 6");
}

static void test_truncated_trailing_record_is_ignored(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    shrink_size(t, 4); /* all of the payload and one header byte */
    expect_eof(t);
    expect_no_reports(t);
}

static void test_bad_length(void **state)
{
    lt *t = *state;
    write_big(t, "bar", BLOCK - HDR);
    lt_write_str(t, "foo");
    increment_byte(t, 4, 1); /* the low byte of the first length */
    expect_read_str(t, "foo");
    assert_int_equal(t->report.dropped, BLOCK);
    assert_int_equal(t->report.offset, 0);
    expect_error(t, "bad record length");
}

static void test_bad_length_at_end_is_ignored(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    shrink_size(t, 1);
    expect_eof(t);
    expect_no_reports(t);
}

static void test_checksum_mismatch(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    increment_byte(t, 0, 10);
    expect_eof(t);
    assert_int_equal(t->report.dropped, 10);
    assert_int_equal(t->report.offset, 0);
    expect_error(t, "checksum mismatch");
}

/* The length of a record whose CRC fails cannot be trusted, so the rest of
 * its block goes with it (corruption_test's Recovery relies on this). */
static void test_checksum_mismatch_drops_block(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_str(t, "bar");
    write_big(t, "baz", BLOCK);
    lt_write_str(t, "next");
    increment_byte(t, 0, 1);
    expect_read_str(t, "next");
    expect_eof(t);
    /* All of block 0 from the bad header on, then the orphaned LAST of
     * baz, whose FIRST at offset 20 carried BLOCK - 27 bytes. */
    assert_int_equal(t->report.dropped, BLOCK + 27);
    expect_error(t, "checksum mismatch");
    expect_error(t, "missing start of fragmented record(2)");
}

/* With verification off, a damaged payload is returned as it is. */
static void test_checksum_off(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    increment_byte(t, HDR, 1);
    cairn__log_reader_fini(&t->reader);
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base, collect,
                                            &t->report, 0, 0),
                     0);
    expect_read_str(t, "goo");
    expect_eof(t);
    expect_no_reports(t);
}

static void unexpected_type(lt *t, int type)
{
    lt_write_str(t, "foo");
    set_byte(t, 6, type);
    fix_checksum(t, 0, 3);
    expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    expect_error(t, "missing start");
}

static void test_unexpected_middle_type(void **state)
{
    unexpected_type(*state, CAIRN__LOG_MIDDLE);
    expect_error(*state, "missing start of fragmented record(1)");
}

static void test_unexpected_last_type(void **state)
{
    unexpected_type(*state, CAIRN__LOG_LAST);
    expect_error(*state, "missing start of fragmented record(2)");
}

static void test_unexpected_full_type(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    lt_write_str(t, "bar");
    set_byte(t, 6, CAIRN__LOG_FIRST);
    fix_checksum(t, 0, 3);
    expect_read_str(t, "bar");
    expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    expect_error(t, "partial record without end(1)");
}

static void test_unexpected_first_type(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    write_big(t, "bar", 100000);
    set_byte(t, 6, CAIRN__LOG_FIRST);
    fix_checksum(t, 0, 3);
    expect_read_big(t, "bar", 100000);
    expect_eof(t);
    assert_int_equal(t->report.dropped, 3);
    assert_int_equal(t->report.offset, 0);
    expect_error(t, "partial record without end(2)");
}

static void test_missing_last_is_ignored(void **state)
{
    lt *t = *state;
    write_big(t, "bar", BLOCK);
    shrink_size(t, 14); /* the LAST fragment, header included */
    expect_eof(t);
    expect_no_reports(t);
}

static void test_partial_last_is_ignored(void **state)
{
    lt *t = *state;
    write_big(t, "bar", BLOCK);
    shrink_size(t, 1); /* a bad length in the LAST fragment */
    expect_eof(t);
    expect_no_reports(t);
}

static void test_skip_into_multi_record(void **state)
{
    lt *t = *state;
    /* first(R1) middle(R1) last(R1) first(R2): starting inside R1, its
     * remaining fragments are not errors. */
    write_big(t, "foo", 3 * BLOCK);
    lt_write_str(t, "correct");
    start_reading_at(t, BLOCK);
    expect_read_str(t, "correct");
    expect_no_reports(t);
    expect_eof(t);
}

static void test_error_joins_records(void **state)
{
    lt *t = *state;
    /* first(R1) last(R1) first(R2) last(R2) with the middle two wiped:
     * first(R1) and last(R2) must never be joined into a record. */
    write_big(t, "foo", BLOCK);
    write_big(t, "bar", BLOCK);
    lt_write_str(t, "correct");
    for (size_t off = BLOCK; off < 2 * BLOCK; off++)
        set_byte(t, off, 'x');
    expect_read_str(t, "correct");
    expect_eof(t);
    assert_true(t->report.dropped >= 2 * BLOCK);
    assert_true(t->report.dropped <= 2 * BLOCK + 100);
}

/* A skip that fails is reported as the bytes it would have passed. */
static void test_io_errors_after_skip(void **state)
{
    lt *t = *state;
    write_big(t, "foo", 3 * BLOCK);
    t->reading = 1;
    cairn__log_reader_fini(&t->reader);
    mf_init(&t->rfile, &t->dest);
    t->rfile.skip_error = 1;
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base, collect,
                                            &t->report, 1, BLOCK + 5),
                     0);
    expect_eof(t);
    assert_int_equal(t->report.dropped, BLOCK);
    expect_error(t, "injected skip error");

    /* A read that fails right after the skip is reported too, although
     * LevelDB's initial_offset filter would hide it. */
    start_reading_at(t, BLOCK + 5);
    t->rfile.read_error = 1;
    expect_eof(t);
    assert_int_equal(t->report.dropped, 2 * BLOCK);
    expect_error(t, "injected read error");
}

/* Zeroed, preallocated space (type 0, length 0) is skipped silently. */
static void test_zero_padding_is_skipped(void **state)
{
    lt *t = *state;
    lt_write_str(t, "foo");
    assert_int_equal(cairn__buf_resize(&t->dest, BLOCK), 0);
    cairn__log_writer_init(&t->writer, &t->wfile.base, t->dest.len);
    lt_write_str(t, "bar");
    expect_read_str(t, "foo");
    expect_read_str(t, "bar");
    expect_eof(t);
    expect_no_reports(t);
}

/* ---- Initial offsets ------------------------------------------------ */

static const size_t io_sizes[] = {
    10000,                         /* two sizable records in the first block */
    10000,       2 * BLOCK - 1000, /* spans three blocks */
    1,           13716,            /* fills all but two bytes of block 3 */
    BLOCK - HDR,                   /* fills block 4 exactly */
};
#define IO_N (sizeof io_sizes / sizeof io_sizes[0])
static const uint64_t io_offsets[IO_N] = {
    0,
    HDR + 10000,
    2 * (HDR + 10000),
    2 * (HDR + 10000) + (2 * BLOCK - 1000) + 3 * HDR,
    2 * (HDR + 10000) + (2 * BLOCK - 1000) + 3 * HDR + HDR + 1,
    3 * BLOCK,
};

static void write_initial_offset_log(lt *t)
{
    for (size_t i = 0; i < IO_N; i++) {
        char *s = malloc(io_sizes[i]);
        assert_non_null(s);
        memset(s, 'a' + (int)i, io_sizes[i]);
        lt_write(t, s, io_sizes[i]);
        free(s);
    }
}

static void check_initial_offset_record(lt *t, uint64_t initial_offset,
                                        size_t expected)
{
    write_initial_offset_log(t);
    t->reading = 1;
    start_reading_at(t, initial_offset);
    for (size_t i = expected; i < IO_N; i++) {
        cairn__slice rec;
        assert_int_equal(cairn__log_read_record(&t->reader, &rec), 1);
        assert_int_equal(rec.size, io_sizes[i]);
        assert_int_equal(cairn__log_reader_last_offset(&t->reader),
                         io_offsets[i]);
        assert_int_equal(rec.data[0], 'a' + (int)i);
    }
    expect_eof(t);
    /* Skipping to an offset is not damage (difference b in the reader). */
    expect_no_reports(t);
}

static void check_offset_past_end(lt *t, uint64_t past_end)
{
    write_initial_offset_log(t);
    t->reading = 1;
    start_reading_at(t, t->dest.len + past_end);
    expect_eof(t);
    expect_no_reports(t);
}

#define IO_TEST(name, offset, expected)                                        \
    static void test_##name(void **state)                                      \
    {                                                                          \
        check_initial_offset_record(*state, (offset), (expected));             \
    }
IO_TEST(read_start, 0, 0)
IO_TEST(read_second_one_off, 1, 1)
IO_TEST(read_second_ten_thousand, 10000, 1)
IO_TEST(read_second_start, 10007, 1)
IO_TEST(read_third_one_off, 10008, 2)
IO_TEST(read_third_start, 20014, 2)
IO_TEST(read_fourth_one_off, 20015, 3)
IO_TEST(read_fourth_first_block_trailer, BLOCK - 4, 3)
IO_TEST(read_fourth_middle_block, BLOCK + 1, 3)
IO_TEST(read_fourth_last_block, 2 * BLOCK + 1, 3)
/* LevelDB's version computes this offset with 1000 where 10000 was meant,
 * which still lands before the fourth record; we use its exact start. */
IO_TEST(read_fourth_start, io_offsets[3], 3)
IO_TEST(read_initial_offset_into_block_padding, 3 * BLOCK - 3, 5)

/* An offset in a block's last 6 bytes cannot hold a record start, so the
 * reader skips straight to the next block without reading this one. */
static void test_initial_offset_in_trailer_skips_block(void **state)
{
    lt *t = *state;
    write_initial_offset_log(t);
    t->reading = 1;
    start_reading_at(t, 3 * BLOCK - 3);
    cairn__slice rec;
    assert_int_equal(cairn__log_read_record(&t->reader, &rec), 1);
    assert_int_equal(rec.size, io_sizes[5]);
    assert_int_equal(t->rfile.reads, 1);
    expect_no_reports(t);
}

static void test_read_end(void **state)
{
    check_offset_past_end(*state, 0);
}

static void test_read_past_end(void **state)
{
    check_offset_past_end(*state, 5);
}

#define T(name)                                                                \
    cmocka_unit_test_setup_teardown(test_##name, lt_setup, lt_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(empty),
        T(read_write),
        T(many_blocks),
        T(fragmentation),
        T(marginal_trailer),
        T(marginal_trailer2),
        T(short_trailer),
        T(aligned_eof),
        T(open_for_append),
        T(open_for_append_in_trailer),
        T(random_read),
        T(appendix_a_bytes),
        T(write_errors),
        T(read_error),
        T(bad_record_type),
        T(record_types_5_and_6),
        T(truncated_trailing_record_is_ignored),
        T(bad_length),
        T(bad_length_at_end_is_ignored),
        T(checksum_mismatch),
        T(checksum_mismatch_drops_block),
        T(checksum_off),
        T(unexpected_middle_type),
        T(unexpected_last_type),
        T(unexpected_full_type),
        T(unexpected_first_type),
        T(missing_last_is_ignored),
        T(partial_last_is_ignored),
        T(skip_into_multi_record),
        T(error_joins_records),
        T(io_errors_after_skip),
        T(zero_padding_is_skipped),
        T(read_start),
        T(read_second_one_off),
        T(read_second_ten_thousand),
        T(read_second_start),
        T(read_third_one_off),
        T(read_third_start),
        T(read_fourth_one_off),
        T(read_fourth_first_block_trailer),
        T(read_fourth_middle_block),
        T(read_fourth_last_block),
        T(read_fourth_start),
        T(read_initial_offset_into_block_padding),
        T(initial_offset_in_trailer_skips_block),
        T(read_end),
        T(read_past_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
