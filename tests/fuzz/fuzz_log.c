/*
 * fuzz_log.c: a libFuzzer target for the log reader (and writer).
 *
 * The input is treated as a log file and read to the end three ways: with
 * checksums on, with checksums off (so garbage lengths and types reach the
 * fragment logic), and with checksums on from an initial offset in the
 * middle. For every pass it checks what the reader promises whatever the
 * bytes: each record fits within the input, records come back in file
 * order, every byte of every record can be read (ASan checks that), and
 * the records returned plus the bytes reported dropped never exceed the
 * input (no byte is both returned and dropped, or dropped twice).
 *
 * A fourth pass uses the input as a recipe for records, writes them with
 * the writer and reads them back: they must round-trip exactly, with no
 * damage reported.
 *
 * Build (it is not part of the CTest suite, whose glob wants test_*.c):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
 *         -Iinclude -Isrc <every src/util .c file> src/wal/log_writer.c
 *         src/wal/log_reader.c tests/fuzz/fuzz_log.c -lpthread -o fuzz_log
 * With -DCAIRN_FUZZ_STANDALONE it gains a main() that runs the files named
 * on the command line, so a crasher replays under gcc too.
 */
#include "util/buf.h"
#include "wal/log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* A read-only (or append-only) file over a byte range. */
typedef struct fz_file {
    cairn__file base;
    const uint8_t *data;
    size_t size;
    uint64_t pos;
    cairn__buf *out; /* appends go here when non-NULL */
} fz_file;

static int fz_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    fz_file *z = (fz_file *)f;
    *got = 0;
    if (off < z->size) {
        *got = z->size - off < n ? z->size - off : n;
        memcpy(buf, z->data + off, *got);
    }
    return 0;
}

static int fz_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    fz_file *z = (fz_file *)f;
    int rc = fz_pread(f, z->pos, n, buf, got);
    z->pos += *got;
    return rc;
}

static int fz_skip(cairn__file *f, uint64_t n)
{
    ((fz_file *)f)->pos += n;
    return 0;
}

static int fz_append(cairn__file *f, const char *p, size_t n)
{
    fz_file *z = (fz_file *)f;
    return z->out ? cairn__buf_append(z->out, p, n) : CAIRN_NOTSUP;
}

static int fz_nop(cairn__file *f)
{
    (void)f;
    return 0;
}

static int fz_size(cairn__file *f, uint64_t *size)
{
    fz_file *z = (fz_file *)f;
    *size = z->out ? z->out->len : z->size;
    return 0;
}

static const cairn__file_ops fz_ops = {
    fz_pread, fz_read, fz_skip, fz_append, fz_nop,
    fz_nop,   fz_size, fz_nop,  NULL,      NULL,
};

typedef struct fz_report {
    uint64_t dropped;
    size_t input_size;
} fz_report;

static void fz_collect(void *ctx, uint64_t offset, size_t bytes,
                       const char *reason)
{
    fz_report *r = ctx;
    CHECK(reason != NULL && reason[0] != '\0');
    CHECK(offset <= r->input_size);
    r->dropped += bytes;
}

static void read_all(const uint8_t *data, size_t size, int checksum,
                     uint64_t initial_offset)
{
    fz_file f = {{&fz_ops}, data, size, 0, NULL};
    fz_report rep = {0, size};
    cairn__log_reader r;
    if (cairn__log_reader_init(&r, &f.base, fz_collect, &rep, checksum,
                               initial_offset) != 0)
        return; /* out of memory is not a finding */

    uint64_t returned = 0;
    int have_prev = 0;
    uint64_t prev = 0;
    for (;;) {
        cairn__slice rec;
        int rc = cairn__log_read_record(&r, &rec);
        if (rc <= 0)
            break;
        CHECK(rec.size <= size);
        /* Touch every byte so ASan sees any out-of-bounds record. */
        volatile unsigned char sum = 0;
        for (size_t i = 0; i < rec.size; i++)
            sum = (unsigned char)(sum + (unsigned char)rec.data[i]);
        (void)sum;
        uint64_t off = cairn__log_reader_last_offset(&r);
        CHECK(off >= initial_offset);
        CHECK(off + CAIRN__LOG_HEADER_SIZE <= size);
        CHECK(!have_prev || off > prev);
        have_prev = 1;
        prev = off;
        returned += rec.size;
    }
    CHECK(rep.dropped <= size);
    CHECK(returned + rep.dropped <= size);
    cairn__log_reader_fini(&r);
}

/* Cuts the input into up to MAX_REC records: each is named by two length
 * bytes, scaled so that records cross block boundaries, and takes its
 * content from the input cyclically. Writes them all, then reads them
 * back. */
#define MAX_REC     16
#define MAX_CONTENT (256 * 1024)

static void round_trip(const uint8_t *data, size_t size)
{
    cairn__buf out = CAIRN__BUF_INIT;
    cairn__buf content = CAIRN__BUF_INIT;
    size_t lens[MAX_REC];
    size_t nrec = 0, pos = 0;
    fz_file wf = {{&fz_ops}, NULL, 0, 0, &out};
    fz_file rf;
    fz_report rep = {0, 0};
    cairn__log_writer w;
    cairn__log_reader r;
    cairn__slice rec;

    for (size_t i = 0; i + 1 < size && nrec < MAX_REC; i += 2) {
        size_t len = ((size_t)data[i] | ((size_t)data[i + 1] << 8)) % 70000;
        if (content.len + len > MAX_CONTENT)
            break; /* keeps each run fast */
        if (cairn__buf_resize(&content, content.len + len) != 0)
            goto done;
        for (size_t k = 0; k < len; k++)
            content.data[content.len - len + k] = (char)data[(i + k) % size];
        lens[nrec++] = len;
    }

    cairn__log_writer_init(&w, &wf.base, 0);
    for (size_t k = 0; k < nrec; k++) {
        /* No pointer arithmetic on content.data while it may be NULL. */
        const char *p = lens[k] > 0 ? content.data + pos : NULL;
        if (cairn__log_add_record(&w, p, lens[k]) != 0)
            goto done;
        pos += lens[k];
    }

    rf = (fz_file){{&fz_ops}, (const uint8_t *)out.data, out.len, 0, NULL};
    rep.input_size = out.len;
    if (cairn__log_reader_init(&r, &rf.base, fz_collect, &rep, 1, 0) != 0)
        goto done;
    pos = 0;
    for (size_t k = 0; k < nrec; k++) {
        CHECK(cairn__log_read_record(&r, &rec) == 1);
        CHECK(rec.size == lens[k]);
        CHECK(rec.size == 0 ||
              memcmp(rec.data, content.data + pos, rec.size) == 0);
        pos += lens[k];
    }
    CHECK(cairn__log_read_record(&r, &rec) == 0);
    CHECK(rep.dropped == 0);
    cairn__log_reader_fini(&r);
done:
    cairn__buf_fini(&content);
    cairn__buf_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_all(data, size, 1, 0);
    read_all(data, size, 0, 0);
    read_all(data, size, 1, size / 2);
    round_trip(data, size);
    return 0;
}

#ifdef CAIRN_FUZZ_STANDALONE
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        if (fp == NULL) {
            perror(argv[i]);
            return 1;
        }
        cairn__buf in = CAIRN__BUF_INIT;
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
            if (cairn__buf_append(&in, chunk, n) != 0)
                abort();
        fclose(fp);
        LLVMFuzzerTestOneInput((const uint8_t *)in.data, in.len);
        cairn__buf_fini(&in);
    }
    return 0;
}
#endif
