/*
 * log_reader.c: reads logical records back from a log file (the WAL during
 * recovery, the MANIFEST at open) and decides, case by case, what damage
 * is silently tolerated and what is reported. The rules are LevelDB 1.23's
 * (facts file section 5.4) so that a log LevelDB would replay is replayed
 * here identically, with the same records kept and the same bytes dropped.
 *
 * Structure. The reader keeps one 32 KiB block in `backing`; `buffer` is
 * its unread tail. read_physical() hands out one fragment at a time, or
 * one of three pseudo-types:
 *   PHYS_EOF      no more input (including a torn tail at end of file);
 *   PHYS_BAD      damage, already reported if it had to be, or a zero-type
 *                 padding record that is skipped silently;
 *   PHYS_SKIPPED  a fragment that starts before initial_offset.
 * cairn__log_read_record() assembles fragments into logical records in
 * `scratch` and applies the FIRST/MIDDLE/LAST rules.
 *
 * Invariants:
 *  1. Nothing is read outside backing[0, bytes read): a header is parsed
 *     only when 7 bytes are buffered, and a length is trusted only after
 *     checking 7 + length against what is buffered. A length field can
 *     therefore never make the reader touch bytes it does not have.
 *  2. scratch only grows by fragments actually read, so memory is bounded
 *     by the size of the file, whatever the headers claim.
 *  3. end_of_buffer_offset - buffer.size is the file offset of the next
 *     unread byte; every offset reported or returned derives from it.
 *  4. Fragments are never joined across damage: any bad record while a
 *     fragmented record is open drops the partial record.
 *
 * Where we differ from LevelDB 1.23, on purpose:
 *  a. On-disk types 5 and 6 are "unknown record type N". LevelDB returns
 *     its internal kEof (5) and kBadRecord (6) codes through the same
 *     variable as the on-disk type, so a CRC-valid record of type 5 ends
 *     its replay silently and type 6 is skipped silently. Our pseudo-types
 *     are negative and cannot collide with a byte from the file.
 *  b. While resyncing after initial_offset, fragments that start before
 *     initial_offset keep the reader resyncing. LevelDB lets them end the
 *     resync, so the MIDDLE/LAST tail of a record begun before the offset
 *     is then reported as "missing start"; the facts file's rule (skip
 *     MIDDLE and LAST silently until a FIRST or FULL) is what we follow.
 *  c. Reads use the env's contract (a short read means end of file), so
 *     one read per block suffices.
 *  d. The skip to initial_offset happens once, in reader_init, rather
 *     than being retried by each read after a failed skip.
 *  e. Read and skip errors are always reported (report_io); LevelDB's
 *     initial_offset filter can swallow them.
 *
 * Threads: a reader is used by one thread at a time; it shares nothing.
 */
#include "wal/log.h"

#include "util/coding.h"
#include "util/crc32c.h"

#include <stdio.h>
#include <stdlib.h>

enum {
    PHYS_EOF = -1,
    PHYS_BAD = -2,
    PHYS_SKIPPED = -3,
};

/* The file offset of the next unread byte (invariant 3). */
static uint64_t read_position(const cairn__log_reader *r)
{
    return r->end_of_buffer_offset - r->buffer.size;
}

/* Reports `bytes` of damage dropped at file offset `offset`, unless the
 * drop lies wholly before initial_offset (the caller asked not to hear
 * about that part of the file). The test is LevelDB's: the next unread
 * position minus the bytes dropped, compared with initial_offset. Every
 * drop reported here is of bytes already read, so it cannot exceed the
 * position; the first clause only guards the subtraction, reporting (as
 * LevelDB's unsigned wrap-around would) if that ever changed. */
static void report_drop(cairn__log_reader *r, uint64_t offset, uint64_t bytes,
                        const char *reason)
{
    if (r->report == NULL)
        return;
    uint64_t pos = read_position(r);
    if (bytes > pos || pos - bytes >= r->initial_offset)
        r->report(r->report_ctx, offset, (size_t)bytes, reason);
}

/* Reports an I/O failure. Unlike damage, it is never filtered by
 * initial_offset: LevelDB passes these through the same filter, which
 * hides a failed skip (its span ends before initial_offset) and a failed
 * first read after one, so the caller would see a clean end of file. */
static void report_io(cairn__log_reader *r, uint64_t offset, uint64_t bytes,
                      const char *what)
{
    char reason[CAIRN__ERRMSG_MAX + 32];
    snprintf(reason, sizeof reason, "%s: %s", what, cairn__errmsg_get());
    if (r->report != NULL)
        r->report(r->report_ctx, offset, (size_t)bytes, reason);
}

static void drop_buffer(cairn__log_reader *r)
{
    r->buffer = cairn__slice_make(r->backing, 0);
}

/* Positions the file at the start of the first block that can hold a
 * record starting at or after initial_offset. A record cannot start in a
 * block's last 6 bytes, so an offset there moves to the next block. */
static void skip_to_initial_block(cairn__log_reader *r)
{
    uint64_t in_block = r->initial_offset % CAIRN__LOG_BLOCK_SIZE;
    uint64_t start = r->initial_offset - in_block;
    if (in_block > CAIRN__LOG_BLOCK_SIZE - (CAIRN__LOG_HEADER_SIZE - 1))
        start += CAIRN__LOG_BLOCK_SIZE;
    r->end_of_buffer_offset = start;
    if (start == 0)
        return;
    int rc = cairn__file_skip(r->file, start);
    if (rc != 0) {
        /* Nothing can be read after a failed skip: behave as at EOF. */
        r->eof = 1;
        report_io(r, 0, start, "skip error");
    }
}

/* Refills the buffer with the next block. Returns 0, or PHYS_EOF after a
 * read error (which is reported as a whole block dropped, LevelDB's
 * estimate). */
static int refill(cairn__log_reader *r)
{
    uint64_t at = r->end_of_buffer_offset;
    size_t got = 0;
    drop_buffer(r);
    int rc = cairn__file_read(r->file, CAIRN__LOG_BLOCK_SIZE, r->backing, &got);
    if (rc != 0) {
        r->eof = 1;
        report_io(r, at, CAIRN__LOG_BLOCK_SIZE, "read error");
        return PHYS_EOF;
    }
    /* The env never returns more than asked; trusting a larger count would
     * break invariant 1, so it is clamped rather than asserted. */
    if (got > CAIRN__LOG_BLOCK_SIZE)
        got = CAIRN__LOG_BLOCK_SIZE;
    r->end_of_buffer_offset += got;
    r->buffer = cairn__slice_make(r->backing, got);
    if (got < CAIRN__LOG_BLOCK_SIZE)
        r->eof = 1;
    return 0;
}

/* Returns the next fragment's type (0..255) with *frag and *frag_offset
 * (the file offset of its header) set, or a PHYS_* pseudo-type. */
static int read_physical(cairn__log_reader *r, cairn__slice *frag,
                         uint64_t *frag_offset)
{
    *frag = cairn__slice_make(r->backing, 0);
    *frag_offset = 0;
    for (;;) {
        if (r->buffer.size < CAIRN__LOG_HEADER_SIZE) {
            if (!r->eof) {
                /* After a full block, fewer than 7 bytes left are the
                 * zero trailer: skip them without a report. */
                if (refill(r) != 0)
                    return PHYS_EOF;
                continue;
            }
            /* A partial header at end of file is a write torn by a crash,
             * not damage: end quietly. */
            drop_buffer(r);
            return PHYS_EOF;
        }

        const unsigned char *h = (const unsigned char *)r->buffer.data;
        size_t len = (size_t)h[4] | ((size_t)h[5] << 8);
        int type = h[6];
        uint64_t at = read_position(r);

        if (CAIRN__LOG_HEADER_SIZE + len > r->buffer.size) {
            size_t drop = r->buffer.size;
            drop_buffer(r);
            if (!r->eof) {
                /* Mid-file, a length past the block can only be damage. */
                report_drop(r, at, drop, "bad record length");
                return PHYS_BAD;
            }
            /* At end of file it is a payload torn by a crash. */
            return PHYS_EOF;
        }

        if (type == CAIRN__LOG_ZERO && len == 0) {
            /* Zeroed, preallocated space (an mmap-style writer): skip the
             * rest of the block without a report. */
            drop_buffer(r);
            return PHYS_BAD;
        }

        if (r->checksum) {
            uint32_t expected =
                cairn__crc32c_unmask(cairn__decode_fixed32((const char *)h));
            uint32_t actual = cairn__crc32c((const char *)h + 6, 1 + len);
            if (actual != expected) {
                /* The length may be the corrupt field, so nothing after
                 * this header in the block can be trusted. */
                size_t drop = r->buffer.size;
                drop_buffer(r);
                report_drop(r, at, drop, "checksum mismatch");
                return PHYS_BAD;
            }
        }

        r->buffer.data += CAIRN__LOG_HEADER_SIZE + len;
        r->buffer.size -= CAIRN__LOG_HEADER_SIZE + len;

        if (at < r->initial_offset)
            return PHYS_SKIPPED;

        *frag = cairn__slice_make(h + CAIRN__LOG_HEADER_SIZE, len);
        *frag_offset = at;
        return type;
    }
}

int cairn__log_reader_init(cairn__log_reader *r, cairn__file *file,
                           cairn__log_report_fn report, void *ctx, int checksum,
                           uint64_t initial_offset)
{
    r->file = file;
    r->report = report;
    r->report_ctx = ctx;
    r->checksum = checksum;
    r->eof = 0;
    r->last_record_offset = 0;
    r->end_of_buffer_offset = 0;
    r->initial_offset = initial_offset;
    r->resyncing = initial_offset > 0;
    cairn__buf_init(&r->scratch);
    r->backing = malloc(CAIRN__LOG_BLOCK_SIZE);
    if (r->backing == NULL)
        return cairn__err(CAIRN_NOMEM, "log reader: no memory for a block");
    drop_buffer(r);
    if (initial_offset > 0)
        skip_to_initial_block(r);
    return 0;
}

void cairn__log_reader_fini(cairn__log_reader *r)
{
    if (r == NULL)
        return;
    free(r->backing);
    r->backing = NULL;
    r->buffer = cairn__slice_make(NULL, 0);
    cairn__buf_fini(&r->scratch);
}

uint64_t cairn__log_reader_last_offset(const cairn__log_reader *r)
{
    return r->last_record_offset;
}

/* Drops an open fragmented record; `reason` says why. */
static void abandon_partial(cairn__log_reader *r, uint64_t start,
                            const char *reason)
{
    report_drop(r, start, r->scratch.len, reason);
    cairn__buf_clear(&r->scratch);
}

int cairn__log_read_record(cairn__log_reader *r, cairn__slice *rec)
{
    int in_fragmented = 0;
    uint64_t record_start = 0; /* offset of the open record's FIRST */

    cairn__buf_clear(&r->scratch);
    *rec = cairn__slice_make(r->backing, 0);
    for (;;) {
        cairn__slice frag;
        uint64_t frag_offset;
        int type = read_physical(r, &frag, &frag_offset);

        if (r->resyncing) {
            /* The tail of a record that began before initial_offset is
             * not an error; skip it (difference b in the file comment). */
            if (type == CAIRN__LOG_MIDDLE || type == PHYS_SKIPPED)
                continue;
            r->resyncing = 0;
            if (type == CAIRN__LOG_LAST)
                continue;
        }

        switch (type) {
        case CAIRN__LOG_FULL:
            /* A non-empty open record here lost its LAST. An empty one is
             * the zero-length FIRST an old LevelDB writer could leave at a
             * block tail, which is tolerated silently. */
            if (in_fragmented && r->scratch.len > 0)
                abandon_partial(r, record_start,
                                "partial record without end(1)");
            cairn__buf_clear(&r->scratch);
            *rec = frag;
            r->last_record_offset = frag_offset;
            return 1;

        case CAIRN__LOG_FIRST:
            if (in_fragmented && r->scratch.len > 0)
                abandon_partial(r, record_start,
                                "partial record without end(2)");
            cairn__buf_clear(&r->scratch);
            record_start = frag_offset;
            in_fragmented = 1;
            CAIRN_TRY(cairn__buf_append(&r->scratch, frag.data, frag.size));
            break;

        case CAIRN__LOG_MIDDLE:
            if (!in_fragmented) {
                report_drop(r, frag_offset, frag.size,
                            "missing start of fragmented record(1)");
                break;
            }
            CAIRN_TRY(cairn__buf_append(&r->scratch, frag.data, frag.size));
            break;

        case CAIRN__LOG_LAST:
            if (!in_fragmented) {
                report_drop(r, frag_offset, frag.size,
                            "missing start of fragmented record(2)");
                break;
            }
            CAIRN_TRY(cairn__buf_append(&r->scratch, frag.data, frag.size));
            *rec = cairn__buf_slice(&r->scratch);
            r->last_record_offset = record_start;
            return 1;

        case PHYS_EOF:
            /* A record cut off by the end of the file is the writer dying
             * between fragments: discard it without a report. */
            cairn__buf_clear(&r->scratch);
            return 0;

        case PHYS_BAD:
        case PHYS_SKIPPED:
            /* Invariant 4: never splice fragments across damage. */
            if (in_fragmented) {
                abandon_partial(r, record_start, "error in middle of record");
                in_fragmented = 0;
            }
            break;

        default: {
            char reason[40];
            snprintf(reason, sizeof reason, "unknown record type %d", type);
            uint64_t bytes = frag.size;
            if (in_fragmented)
                bytes += r->scratch.len;
            report_drop(r, in_fragmented ? record_start : frag_offset, bytes,
                        reason);
            in_fragmented = 0;
            cairn__buf_clear(&r->scratch);
            break;
        }
        }
    }
}
