/*
 * log_fixture.c: see log_fixture.h. Test-only code.
 */
/* The engine headers come first: cmocka.h defines a function-like macro
 * skip() that would otherwise rewrite the f->ops->skip(f, n) call in
 * env.h's inline wrapper. */
#include "log_fixture.h"

#include "util/coding.h"
#include "util/crc32c.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mf_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    lt_mem_file *m = (lt_mem_file *)f;
    size_t len = m->data->len;
    *got = off >= len ? 0 : (len - off < n ? len - off : n);
    if (*got > 0)
        memcpy(buf, m->data->data + off, *got);
    return 0;
}

static int mf_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    lt_mem_file *m = (lt_mem_file *)f;
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
    lt_mem_file *m = (lt_mem_file *)f;
    if (m->skip_error) {
        m->skip_error = 0;
        return cairn__err(CAIRN_IO, "injected skip error");
    }
    m->pos += n;
    return 0;
}

static int mf_append(cairn__file *f, const char *p, size_t n)
{
    lt_mem_file *m = (lt_mem_file *)f;
    if (++m->appends == m->fail_append_at)
        return cairn__err(CAIRN_NOSPC, "injected append error");
    return cairn__buf_append(m->data, p, n);
}

static int mf_flush(cairn__file *f)
{
    lt_mem_file *m = (lt_mem_file *)f;
    m->flushes++;
    return m->fail_flush ? cairn__err(CAIRN_IO, "injected flush error") : 0;
}

static int mf_sync(cairn__file *f)
{
    return mf_flush(f);
}

static int mf_size(cairn__file *f, uint64_t *size)
{
    *size = ((lt_mem_file *)f)->data->len;
    return 0;
}

static int mf_close(cairn__file *f)
{
    (void)f; /* embedded in the fixture, nothing to free */
    return 0;
}

static const cairn__file_ops mem_file_ops = {
    mf_pread, mf_read, mf_skip,  mf_append, mf_flush,
    mf_sync,  mf_size, mf_close, NULL,      NULL,
};

void lt_mf_init(lt_mem_file *m, cairn__buf *data)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mem_file_ops;
    m->data = data;
}

void lt_collect(void *ctx, uint64_t offset, size_t bytes, const char *reason)
{
    lt_report *rl = ctx;
    rl->dropped += bytes;
    rl->calls++;
    rl->offset = offset;
    size_t used = strlen(rl->message);
    snprintf(rl->message + used, sizeof rl->message - used, "%s; ", reason);
}

int lt_setup(void **state)
{
    lt *t = calloc(1, sizeof *t);
    assert_non_null(t);
    cairn__buf_init(&t->dest);
    lt_mf_init(&t->wfile, &t->dest);
    lt_mf_init(&t->rfile, &t->dest);
    cairn__log_writer_init(&t->writer, &t->wfile.base, 0);
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base,
                                            lt_collect, &t->report, 1, 0),
                     0);
    *state = t;
    return 0;
}

int lt_teardown(void **state)
{
    lt *t = *state;
    cairn__log_reader_fini(&t->reader);
    assert_int_equal(cairn__file_close(&t->wfile.base), 0);
    assert_int_equal(cairn__file_close(&t->rfile.base), 0);
    cairn__buf_fini(&t->dest);
    free(t);
    return 0;
}

void lt_write(lt *t, const void *p, size_t n)
{
    assert_false(t->reading); /* no writes after reading starts */
    assert_int_equal(cairn__log_add_record(&t->writer, p, n), 0);
}

void lt_write_str(lt *t, const char *s)
{
    lt_write(t, s, strlen(s));
}

void lt_expect_record(cairn__slice rec, const void *p, size_t n)
{
    assert_int_equal(rec.size, n);
    if (n > 0)
        assert_memory_equal(rec.data, p, n);
}

void lt_expect_read(lt *t, const void *p, size_t n)
{
    cairn__slice rec;
    t->reading = 1;
    assert_int_equal(cairn__log_read_record(&t->reader, &rec), 1);
    lt_expect_record(rec, p, n);
}

void lt_expect_read_str(lt *t, const char *s)
{
    lt_expect_read(t, s, strlen(s));
}

void lt_expect_eof(lt *t)
{
    cairn__slice rec;
    t->reading = 1;
    assert_int_equal(cairn__log_read_record(&t->reader, &rec), 0);
}

void lt_expect_no_reports(const lt *t)
{
    assert_int_equal(t->report.dropped, 0);
    assert_int_equal(t->report.calls, 0);
    assert_string_equal(t->report.message, "");
}

void lt_expect_error(const lt *t, const char *msg)
{
    if (strstr(t->report.message, msg) == NULL)
        fail_msg("report \"%s\" lacks \"%s\"", t->report.message, msg);
}

char *lt_big_string(const char *partial, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t plen = strlen(partial);
    for (size_t i = 0; i < n; i++)
        s[i] = partial[i % plen];
    s[n] = '\0';
    return s;
}

void lt_write_big(lt *t, const char *partial, size_t n)
{
    char *s = lt_big_string(partial, n);
    lt_write(t, s, n);
    free(s);
}

void lt_expect_read_big(lt *t, const char *partial, size_t n)
{
    char *s = lt_big_string(partial, n);
    lt_expect_read(t, s, n);
    free(s);
}

void lt_number_string(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "%d.", i);
}

unsigned char lt_byte_at(const lt *t, size_t off)
{
    assert_true(off < t->dest.len);
    return (unsigned char)t->dest.data[off];
}

void lt_increment_byte(lt *t, size_t off, int delta)
{
    t->dest.data[off] = (char)(lt_byte_at(t, off) + delta);
}

void lt_set_byte(lt *t, size_t off, int v)
{
    (void)lt_byte_at(t, off);
    t->dest.data[off] = (char)v;
}

void lt_shrink_size(lt *t, size_t n)
{
    t->dest.len -= n;
}

void lt_fix_checksum(lt *t, size_t off, size_t len)
{
    uint32_t crc = cairn__crc32c(t->dest.data + off + 6, 1 + len);
    cairn__encode_fixed32(t->dest.data + off, cairn__crc32c_mask(crc));
}

void lt_expect_header(const lt *t, size_t off, size_t len, int type)
{
    assert_int_equal(lt_byte_at(t, off + 4) | (lt_byte_at(t, off + 5) << 8),
                     len);
    assert_int_equal(lt_byte_at(t, off + 6), type);
}

void lt_start_reading_at(lt *t, uint64_t initial_offset)
{
    cairn__log_reader_fini(&t->reader);
    lt_mf_init(&t->rfile, &t->dest);
    assert_int_equal(cairn__log_reader_init(&t->reader, &t->rfile.base,
                                            lt_collect, &t->report, 1,
                                            initial_offset),
                     0);
}
