/*
 * log_writer.c: appends logical records to a log file (the WAL and the
 * MANIFEST) in LevelDB 1.23's block format, byte for byte.
 *
 * Layout (see wal/log.h and the facts file section 5.1): the file is cut
 * into 32 KiB blocks; every physical record (a "fragment") is
 *
 *   +---------------------+-----------------+------+------------------+
 *   | masked crc32c (LE4) | length (LE2)    | type | payload[length]  |
 *   +---------------------+-----------------+------+------------------+
 *
 * where the CRC covers the type byte followed by the payload.
 *
 * Invariants this file keeps (the reader and the tests rely on them):
 *  1. A fragment never crosses a block boundary: block_offset + 7 + length
 *     is at most 32768.
 *  2. A header never starts in the last 6 bytes of a block; those bytes are
 *     written as zeros (the trailer) and the next fragment opens a new block.
 *  3. When exactly 7 bytes remain, a header-only fragment is written there:
 *     a zero-length FIRST (or FULL for an empty record). LevelDB does the
 *     same, so our files and LevelDB's are identical for identical input.
 *  4. An empty record is one zero-length FULL fragment, never nothing, so a
 *     reader returns exactly as many records as were added.
 *  5. block_offset advances even when an append fails, as LevelDB's does;
 *     after a failure the caller must abandon the file anyway (log.h).
 *
 * Flushing: LevelDB flushes after every fragment. We append all fragments
 * of one logical record and flush once at the end. The promise that matters
 * to callers is unchanged (when add_record returns, the whole record has
 * reached the operating system and survives a process kill), and a large
 * record costs one write(2) instead of one per 32 KiB.
 *
 * Threads: a writer has no lock of its own. Exactly one thread at a time
 * may call add_record (the write-group leader for the WAL, the thread
 * holding the db mutex for the MANIFEST).
 */
#include "wal/log.h"

#include "util/coding.h"
#include "util/crc32c.h"

#include <assert.h>

/* Enough zeros for the longest possible block trailer (header size - 1). */
static const char zero_trailer[CAIRN__LOG_HEADER_SIZE - 1];

void cairn__log_writer_init(cairn__log_writer *w, cairn__file *file,
                            uint64_t file_len)
{
    w->file = file;
    /* An appended-to file resumes inside its last block, exactly where a
     * writer that had never stopped would be (facts 5.2 rule 8). */
    w->block_offset = (size_t)(file_len % CAIRN__LOG_BLOCK_SIZE);
    /* Every fragment's CRC starts with its type byte; computing those five
     * prefixes once saves a CRC call per fragment. */
    for (int t = 0; t <= CAIRN__LOG_LAST; t++) {
        unsigned char type = (unsigned char)t;
        w->type_crc[t] = cairn__crc32c(&type, 1);
    }
}

/* Writes one fragment (header, then payload) at block_offset. The
 * payload is the concatenation of two pieces (the second may be empty);
 * a piece may be NULL only when its length is 0. */
static int emit_fragment(cairn__log_writer *w, enum cairn__log_type type,
                         const char *p1, size_t n1, const char *p2, size_t n2)
{
    size_t n = n1 + n2;
    assert(n <= 0xffff);
    assert(w->block_offset + CAIRN__LOG_HEADER_SIZE + n <=
           CAIRN__LOG_BLOCK_SIZE);

    uint32_t crc = w->type_crc[type];
    if (n1 > 0)
        crc = cairn__crc32c_extend(crc, p1, n1);
    if (n2 > 0)
        crc = cairn__crc32c_extend(crc, p2, n2);

    char header[CAIRN__LOG_HEADER_SIZE];
    cairn__encode_fixed32(header, cairn__crc32c_mask(crc));
    header[4] = (char)(unsigned char)(n & 0xff);
    header[5] = (char)(unsigned char)(n >> 8);
    header[6] = (char)type;

    /* Advanced before the appends so that a failure leaves the same state
     * LevelDB's writer would have (invariant 5). */
    w->block_offset += CAIRN__LOG_HEADER_SIZE + n;

    int rc = cairn__file_append(w->file, header, sizeof header);
    if (rc == 0 && n1 > 0)
        rc = cairn__file_append(w->file, p1, n1);
    if (rc == 0 && n2 > 0)
        rc = cairn__file_append(w->file, p2, n2);
    return rc;
}

int cairn__log_add_record2(cairn__log_writer *w, const void *a, size_t na,
                           const void *b, size_t nb)
{
    const char *pa = a, *pb = b;
    size_t n = na + nb;
    size_t done = 0;
    int begin = 1;
    int rc;

    assert(w->block_offset <= CAIRN__LOG_BLOCK_SIZE);
    /* The do-while runs at least once so that an empty record still emits
     * its zero-length FULL fragment (invariant 4). */
    do {
        size_t leftover = CAIRN__LOG_BLOCK_SIZE - w->block_offset;
        if (leftover < CAIRN__LOG_HEADER_SIZE) {
            /* Invariant 2: too small for a header, so pad and move on. */
            w->block_offset = 0;
            if (leftover > 0) {
                rc = cairn__file_append(w->file, zero_trailer, leftover);
                if (rc != 0)
                    return rc;
            }
        }

        size_t avail =
            CAIRN__LOG_BLOCK_SIZE - w->block_offset - CAIRN__LOG_HEADER_SIZE;
        size_t left = n - done;
        size_t frag = left < avail ? left : avail;
        int end = frag == left;

        enum cairn__log_type type;
        if (begin && end)
            type = CAIRN__LOG_FULL;
        else if (begin)
            type = CAIRN__LOG_FIRST;
        else if (end)
            type = CAIRN__LOG_LAST;
        else
            type = CAIRN__LOG_MIDDLE;

        /* The fragment [done, done + frag) of the concatenation, split at
         * the boundary between the pieces. Pointers are only formed where
         * there are bytes, so NULL pieces do no arithmetic. */
        size_t k1 = done < na ? (na - done < frag ? na - done : frag) : 0;
        size_t k2 = frag - k1;
        const char *s1 = k1 > 0 ? pa + done : NULL;
        const char *s2 = k2 > 0 ? pb + (done + k1 - na) : NULL;
        rc = emit_fragment(w, type, s1, k1, s2, k2);
        if (rc != 0)
            return rc;
        done += frag;
        begin = 0;
    } while (done < n);

    /* One flush for the whole logical record (see the file comment). */
    return cairn__file_flush(w->file);
}

int cairn__log_add_record(cairn__log_writer *w, const void *data, size_t n)
{
    return cairn__log_add_record2(w, data, n, NULL, 0);
}
