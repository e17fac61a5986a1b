/*
 * log.h: the write-ahead log (and MANIFEST) record format, LevelDB's
 * log_format exactly (docs/format.md "Log files").
 *
 * The file is a sequence of 32 KiB blocks. A record is one or more
 * fragments, each with a 7-byte header:
 *   fixed32 masked crc32c(type byte | payload) | uint16 LE length | type
 * type: 0 zero (never written), 1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST.
 * A block tail of fewer than 7 bytes is zero-filled.
 *
 * Writer: one thread at a time (the write-group leader, or the MANIFEST
 * writer under the db mutex). add_record appends every fragment of one
 * logical record and then flushes once, so on return the whole record has
 * reached the operating system (survives a process kill). It does not sync.
 *
 * Reader: follows LevelDB 1.23's damage rules case by case (facts file
 * section 5.4): a torn tail at end of file is silent; a checksum mismatch or
 * a bad length in the middle drops the rest of the block and reports the
 * bytes dropped; fragments are never spliced across damage.
 */
#ifndef CAIRN_WAL_LOG_H
#define CAIRN_WAL_LOG_H

#include "env/env.h"
#include "util/buf.h"
#include "util/slice.h"

#include <stdint.h>

#define CAIRN__LOG_BLOCK_SIZE  32768
#define CAIRN__LOG_HEADER_SIZE 7

enum cairn__log_type {
    CAIRN__LOG_ZERO = 0,
    CAIRN__LOG_FULL = 1,
    CAIRN__LOG_FIRST = 2,
    CAIRN__LOG_MIDDLE = 3,
    CAIRN__LOG_LAST = 4,
};

typedef struct cairn__log_writer {
    cairn__file *file;    /* borrowed; the caller closes it */
    size_t block_offset;  /* position within the current block */
    uint32_t type_crc[5]; /* crc32c of each one-byte type, precomputed */
} cairn__log_writer;

/* Starts a writer on file, whose current length is `file_len` (0 for a new
 * file; an appended-to file continues at file_len % 32768). */
void cairn__log_writer_init(cairn__log_writer *w, cairn__file *file,
                            uint64_t file_len);
/* Appends one logical record and flushes it to the OS. On failure the file
 * may hold a torn record; the caller must treat the log as unusable (the
 * db makes it a sticky error). */
int cairn__log_add_record(cairn__log_writer *w, const void *data,
                          size_t n) CAIRN_WUR;

/* As add_record, for a record that is the concatenation of two pieces
 * (a header built apart from the body it precedes), without copying. */
int cairn__log_add_record2(cairn__log_writer *w, const void *a, size_t na,
                           const void *b, size_t nb) CAIRN_WUR;

/* Called for each piece of damage the reader skips: `bytes` dropped (an
 * estimate for whole-block drops), with a reason such as "checksum
 * mismatch". `offset` is the file offset where the damage was found. */
typedef void (*cairn__log_report_fn)(void *ctx, uint64_t offset, size_t bytes,
                                     const char *reason);

typedef struct cairn__log_reader {
    cairn__file *file;           /* borrowed */
    cairn__log_report_fn report; /* may be NULL */
    void *report_ctx;
    int checksum;                  /* verify CRCs */
    char *backing;                 /* 32 KiB read buffer */
    cairn__slice buffer;           /* unread part of the current block */
    int eof;                       /* last read returned < 32 KiB */
    uint64_t last_record_offset;   /* offset of the last record returned */
    uint64_t end_of_buffer_offset; /* file offset just past buffer */
    uint64_t initial_offset;
    int resyncing;      /* skipping MIDDLE/LAST after initial_offset */
    cairn__buf scratch; /* assembles fragmented records */
} cairn__log_reader;

/* checksum: verify CRCs (always on for recovery). initial_offset: start at
 * the first record at or after this offset (0 for the whole file). */
int cairn__log_reader_init(cairn__log_reader *r, cairn__file *file,
                           cairn__log_report_fn report, void *ctx, int checksum,
                           uint64_t initial_offset) CAIRN_WUR;
void cairn__log_reader_fini(cairn__log_reader *r);

/* Reads the next logical record. Returns 1 and sets *rec (valid until the
 * next call) when a record was read, 0 at end of input. Damage is reported
 * through the callback, never returned. Returns CAIRN_NOMEM if a fragmented
 * record cannot be assembled. */
int cairn__log_read_record(cairn__log_reader *r, cairn__slice *rec) CAIRN_WUR;

/* File offset of the start of the record last returned. */
uint64_t cairn__log_reader_last_offset(const cairn__log_reader *r);

#endif
