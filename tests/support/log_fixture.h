/*
 * log_fixture.h: LevelDB's LogTest fixture, for the log writer and reader
 * tests (tests/unit/test_log.c, test_log_errors.c).
 *
 * The env implementations are written concurrently with the wal module,
 * so the tests carry their own in-memory cairn__file over a cairn__buf
 * and depend on nothing but util and wal. Like LevelDB's test source, the
 * file fails the test if the reader reads again after a short or failed
 * read. One fixture (lt) holds the log's bytes, a writer and a reader on
 * two such files over them, and what the reader reported as dropped.
 * Failures abort the test (cmocka asserts).
 */
#ifndef CAIRN_TEST_LOG_FIXTURE_H
#define CAIRN_TEST_LOG_FIXTURE_H

#include "util/buf.h"
#include "wal/log.h"

#include <stddef.h>
#include <stdint.h>

#define BLOCK CAIRN__LOG_BLOCK_SIZE
#define HDR   CAIRN__LOG_HEADER_SIZE

/* An in-memory file over borrowed bytes, with injectable errors. */
typedef struct lt_mem_file {
    cairn__file base;
    cairn__buf *data;     /* borrowed contents */
    uint64_t pos;         /* sequential read position */
    int read_error;       /* the next read fails (once) */
    int skip_error;       /* the next skip fails (once) */
    int returned_partial; /* a read came back short or failed */
    int fail_append_at;   /* 1-based append that fails; 0 = none */
    int fail_flush;
    int reads, appends, flushes;
} lt_mem_file;

/* A file over data, reading from its start, with no errors armed. */
void lt_mf_init(lt_mem_file *m, cairn__buf *data);

/* What the reader reported as dropped. */
typedef struct lt_report {
    size_t dropped;
    int calls;
    uint64_t offset; /* of the latest report */
    char message[4096];
} lt_report;

/* The reader's report callback; ctx is an lt_report. */
void lt_collect(void *ctx, uint64_t offset, size_t bytes, const char *reason);

typedef struct lt {
    cairn__buf dest;
    lt_mem_file wfile, rfile;
    cairn__log_writer writer;
    cairn__log_reader reader;
    lt_report report;
    int reading;
} lt;

/* cmocka setup and teardown of an lt (a checksum-verifying reader at
 * offset 0). */
int lt_setup(void **state);
int lt_teardown(void **state);

#define LT_TEST(name)                                                          \
    cmocka_unit_test_setup_teardown(test_##name, lt_setup, lt_teardown)

/* Writing; not after reading has started. */
void lt_write(lt *t, const void *p, size_t n);
void lt_write_str(lt *t, const char *s);
/* `partial` repeated and cut to n bytes, written as one record. */
void lt_write_big(lt *t, const char *partial, size_t n);

/* Reading: the next record must be the given one, or end of file. */
void lt_expect_record(cairn__slice rec, const void *p, size_t n);
void lt_expect_read(lt *t, const void *p, size_t n);
void lt_expect_read_str(lt *t, const char *s);
void lt_expect_read_big(lt *t, const char *partial, size_t n);
void lt_expect_eof(lt *t);
/* Reports: none at all, or one whose message contains msg. */
void lt_expect_no_reports(const lt *t);
void lt_expect_error(const lt *t, const char *msg);
/* Restarts the reader at initial_offset. */
void lt_start_reading_at(lt *t, uint64_t initial_offset);

/* `partial` repeated and cut to n bytes; free() the result. */
char *lt_big_string(const char *partial, size_t n);
/* "<i>." into buf. */
void lt_number_string(char *buf, size_t cap, int i);

/* The log's bytes: read one, change one, cut the end. */
unsigned char lt_byte_at(const lt *t, size_t off);
void lt_increment_byte(lt *t, size_t off, int delta);
void lt_set_byte(lt *t, size_t off, int v);
void lt_shrink_size(lt *t, size_t n);
/* Recomputes the CRC of the fragment at off whose payload is len bytes. */
void lt_fix_checksum(lt *t, size_t off, size_t len);
/* Asserts the header at off has length len and type type. */
void lt_expect_header(const lt *t, size_t off, size_t len, int type);

#endif
