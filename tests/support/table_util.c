/*
 * table_util.c: see table_util.h. Test-only code.
 */
#include "table_util.h"

#include "util/ikey.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK(expr) assert_int_equal((expr), 0)
#define BS(b)    cairn__buf_slice(b)

static int mf_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    tb_memfile *m = (tb_memfile *)f;
    const char *src = m->rd ? m->rd : m->data.data;
    size_t len = m->rd ? m->rd_len : m->data.len;
    m->preads++;
    *got = off < len ? (len - off < n ? len - off : n) : 0;
    if (*got > 0)
        memcpy(buf, src + off, *got);
    return 0;
}
static int mf_append(cairn__file *f, const char *p, size_t n)
{
    return cairn__buf_append(&((tb_memfile *)f)->data, p, n);
}
static int mf_nop(cairn__file *f)
{
    (void)f;
    return 0;
}
static int mf_size(cairn__file *f, uint64_t *size)
{
    *size = ((tb_memfile *)f)->data.len;
    return 0;
}
static int mf_view(cairn__file *f, uint64_t off, size_t n, const char **data,
                   size_t *got)
{
    tb_memfile *m = (tb_memfile *)f;
    const char *src = m->rd ? m->rd : m->data.data;
    size_t len = m->rd ? m->rd_len : m->data.len;
    m->preads++;
    *got = off < len ? (len - off < n ? len - off : n) : 0;
    *data = *got > 0 ? src + off : NULL;
    return 0;
}
static const cairn__file_ops mf_view_ops = {
    mf_pread, NULL,    NULL,   mf_append, mf_nop,
    mf_nop,   mf_size, mf_nop, NULL,      mf_view};
static const cairn__file_ops mf_ops = {mf_pread, NULL,   NULL,    mf_append,
                                       mf_nop,   mf_nop, mf_size, mf_nop,
                                       NULL,     NULL};

void tb_mf_init(tb_memfile *m, const char *rd, size_t rd_len)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mf_ops;
    m->rd = rd;
    m->rd_len = rd_len;
}

void tb_mf_init_view(tb_memfile *m, const char *rd, size_t rd_len)
{
    tb_mf_init(m, rd, rd_len);
    m->base.ops = &mf_view_ops;
}

static int kv_cmp(const void *a, const void *b)
{
    return cairn__ikey_compare(BS(&((const tb_kv *)a)->k),
                               BS(&((const tb_kv *)b)->k));
}

void tb_model_free(tb_kv *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cairn__buf_fini(&m[i].k);
        cairn__buf_fini(&m[i].v);
    }
    free(m);
}

void tb_set_ikey(cairn__buf *b, cairn__slice user, uint64_t seq, int type)
{
    cairn__buf_clear(b);
    OK(cairn__ikey_append(b, user, seq, type));
}

tb_kv *tb_model_make(tu_rng *r, size_t *n, int shape, size_t vmax)
{
    tb_kv *m = calloc(*n ? *n : 1, sizeof *m);
    assert_non_null(m);
    char u[3000];
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        size_t klen = 100 + tu_rng_uniform(r, 2000);
        if (shape == 0) {
            klen = (size_t)snprintf(u, sizeof u, "key%08d",
                                    (int)tu_rng_uniform(r, 1u << 30));
        } else if (shape == 1) {
            klen = tu_rng_uniform(r, 6);
            tu_rng_bytes(r, u, klen);
        } else {
            memset(u, 'p', klen);
            tu_rng_bytes(r, u + 90, 10);
        }
        int type = (int)tu_rng_uniform(r, 2);
        tb_set_ikey(&m[i].k, cairn__slice_make(u, klen),
                    tu_rng_next(r) & CAIRN__MAX_SEQ, type);
        size_t vlen = type ? tu_rng_uniform(r, 4) * tu_rng_uniform(r, vmax) : 0;
        OK(cairn__buf_resize(&m[i].v, vlen));
        if (tu_rng_uniform(r, 2))
            tu_rng_bytes(r, m[i].v.data, vlen); /* else zeros: compressible */
    }
    qsort(m, *n, sizeof *m, kv_cmp);
    for (size_t i = 0; i < *n; i++) {
        if (w > 0 && kv_cmp(&m[w - 1], &m[i]) == 0) {
            cairn__buf_fini(&m[i].k);
            cairn__buf_fini(&m[i].v);
        } else {
            m[w++] = m[i];
        }
    }
    *n = w;
    return m;
}

void tb_build(const cairn__table_options *o, tb_memfile *f, const tb_kv *m,
              size_t n)
{
    cairn__table_builder *tb;
    uint64_t size;
    tb_mf_init(f, NULL, 0);
    OK(cairn__table_builder_create(o, &f->base, &tb));
    for (size_t i = 0; i < n; i++)
        OK(cairn__table_builder_add(tb, BS(&m[i].k), BS(&m[i].v)));
    assert_int_equal(cairn__table_builder_num_entries(tb), n);
    OK(cairn__table_builder_finish(tb, &size));
    assert_int_equal(size, f->data.len);
    assert_int_equal(cairn__table_builder_file_size(tb), size);
    cairn__table_builder_destroy(tb);
}

int tb_slice_is(cairn__slice s, const cairn__buf *b)
{
    return cairn__slice_equal(s, BS(b));
}

size_t tb_lower_bound(const tb_kv *m, size_t n, cairn__slice target)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cairn__ikey_compare(BS(&m[mid].k), target) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int tb_save_entry(void *arg, cairn__slice k, cairn__slice v)
{
    tb_got *g = arg;
    g->calls++;
    cairn__buf_clear(&g->k);
    cairn__buf_clear(&g->v);
    if (cairn__buf_append(&g->k, k.data, k.size) != 0 ||
        cairn__buf_append(&g->v, v.data, v.size) != 0)
        return CAIRN_NOMEM;
    return 0;
}

/* A random lookup target: a model key with a byte nudged, or a short one. */
static void random_target(tu_rng *r, const tb_kv *m, size_t n, cairn__buf *t)
{
    char u[4];
    tu_rng_bytes(r, u, sizeof u);
    tb_set_ikey(t, cairn__slice_make(u, 1 + tu_rng_uniform(r, 3)),
                tu_rng_next(r) & CAIRN__MAX_SEQ, 1);
    if (n > 0 && tu_rng_uniform(r, 2)) {
        const cairn__buf *k = &m[tu_rng_uniform(r, n)].k;
        cairn__buf_clear(t);
        OK(cairn__buf_append(t, k->data, k->len));
        t->data[tu_rng_uniform(r, t->len)] ^= (char)tu_rng_uniform(r, 3);
    }
}

void tb_check_table(cairn__table *t, const tb_kv *m, size_t n, tu_rng *r)
{
    cairn__table_read_options ro = {1, 1, 0};
    cairn__iter *it;
    OK(cairn__table_iter(t, &ro, &it));
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it); i++) {
        assert_true(i < n && tb_slice_is(cairn__iter_key(it), &m[i].k));
        assert_true(tb_slice_is(cairn__iter_value(it), &m[i].v));
        cairn__iter_next(it);
    }
    assert_int_equal(i, n);
    for (cairn__iter_seek_last(it); cairn__iter_valid(it);
         cairn__iter_prev(it)) {
        assert_true(i > 0 && tb_slice_is(cairn__iter_key(it), &m[--i].k));
    }
    assert_int_equal(i, 0);
    tb_got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    cairn__buf target = CAIRN__BUF_INIT;
    for (int s = 0; s < 200; s++) {
        random_target(r, m, n, &target);
        cairn__slice ts = BS(&target);
        size_t pos = tb_lower_bound(m, n, ts), lb = pos;
        cairn__iter_seek(it, ts);
        for (int step = 0; step < 4; step++) {
            assert_int_equal(cairn__iter_valid(it), pos < n);
            if (pos >= n)
                break;
            assert_true(tb_slice_is(cairn__iter_key(it), &m[pos].k));
            if (tu_rng_uniform(r, 2)) {
                cairn__iter_next(it);
                pos++;
            } else {
                cairn__iter_prev(it);
                pos = pos ? pos - 1 : n;
            }
        }
        g.calls = 0;
        OK(cairn__table_get(t, &ro, ts, tb_save_entry, &g));
        if (g.calls > 0)
            assert_true(lb < n && tb_slice_is(BS(&g.k), &m[lb].k));
        else if (lb < n) /* right only if no entry of this user key follows */
            assert_false(cairn__slice_equal(cairn__ikey_user(BS(&m[lb].k)),
                                            cairn__ikey_user(ts)));
    }
    /* Every entry of small tables, a sample of big ones. */
    for (size_t s = 0; s < n && s < 5000; s++) {
        i = n <= 5000 ? s : (size_t)tu_rng_uniform(r, n);
        g.calls = 0;
        OK(cairn__table_get(t, &ro, BS(&m[i].k), tb_save_entry, &g));
        assert_int_equal(g.calls, 1);
        assert_true(tb_slice_is(BS(&g.v), &m[i].v));
    }
    OK(cairn__iter_status(it));
    cairn__iter_destroy(it);
    cairn__buf_fini(&target);
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
}

int tb_build_checked(tb_memfile *f, const tb_kv *m, size_t n, int compression)
{
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.block_size = 1024;
    o.compression = compression;
    tb_build(&o, f, m, n);
    cairn__footer ft;
    OK(cairn__footer_decode(f->data.data + f->data.len - 48, f->data.len, "s",
                            &ft));
    cairn__table *t;
    OK(cairn__table_open(&o, &f->base, f->data.len, "s.ldb", &t));
    tu_rng r;
    tu_rng_init(&r, 4);
    tb_check_table(t, m, n, &r);
    cairn__table_close(t);
    return (unsigned char)f->data.data[ft.metaindex.offset - 5];
}
