/*
 * test_table_damage.c: the table reader (src/table/table*.c) on bad
 * input: files too short or not tables, an unknown block type, builder
 * misuse, and every byte of a small table flipped (and every truncation):
 * the reader must answer right or say CAIRN_CORRUPTION, and never crash.
 * Well-formed tables are test_table.c's.
 *
 * Tables live in the tiny in-memory cairn__file of
 * tests/support/table_util.h, which lets the tests hand the reader
 * arbitrary bytes and claim a file size the bytes do not back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "table_util.h"
#include "testutil.h"

#include "table/table.h"
#include "table/table_builder.h"
#include "util/coding.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK(expr) assert_int_equal((expr), 0)
#define STR(s)   cairn__slice_str(s)
#define BS(b)    cairn__buf_slice(b)

static void expect_open_error(const char *bytes, size_t len, const char *msg)
{
    tb_memfile f;
    tb_mf_init(&f, bytes, len);
    cairn__table_options o;
    cairn__table_options_default(&o);
    cairn__table *t = NULL;
    assert_int_equal(cairn__table_open(&o, &f.base, len, "bad.ldb", &t),
                     CAIRN_CORRUPTION);
    assert_null(t);
    assert_non_null(strstr(cairn__errmsg_get(), msg));
}

static void test_errors(void **state)
{
    (void)state;
    char junk[100] = {0};
    expect_open_error(junk, 47, "file is too short to be an sstable");
    expect_open_error(junk, 100, "not an sstable (bad magic number)");

    /* A data block whose type byte says 2 (Zstd, post-1.23), CRC fixed. */
    tb_kv e = {CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    tb_set_ikey(&e.k, STR("k"), 1, 1);
    tb_memfile f;
    tb_build_checked(&f, &e, 1, CAIRN__NO_COMPRESSION);
    cairn__table_options o;
    cairn__table_options_default(&o);
    size_t n = 20; /* the data block: 3 + 9 + 0 + 8 bytes */
    f.data.data[n] = 2;
    cairn__encode_fixed32(f.data.data + n + 1,
                          cairn__block_crc(f.data.data, n, 2));
    cairn__table *t;
    OK(cairn__table_open(&o, &f.base, f.data.len, "t.ldb", &t));
    cairn__table_read_options ro = {1, 1, 0};
    tb_got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    assert_int_equal(cairn__table_get(t, &ro, BS(&e.k), tb_save_entry, &g),
                     CAIRN_CORRUPTION);
    assert_non_null(strstr(cairn__errmsg_get(), "t.ldb: bad block type 2"));
    assert_non_null(strstr(cairn__errmsg_get(), "offset 0"));
    assert_int_equal(g.calls, 0);
    assert_int_equal(cairn__table_get(t, &ro, STR("short"), tb_save_entry, &g),
                     CAIRN_INVALID);
    cairn__table_close(t);

    /* Builder misuse: keys not strictly increasing; errors are sticky. */
    cairn__table_builder *tb;
    OK(cairn__table_builder_create(&o, &f.base, &tb));
    OK(cairn__table_builder_add(tb, BS(&e.k), STR("")));
    assert_int_equal(cairn__table_builder_add(tb, BS(&e.k), STR("")),
                     CAIRN_INVALID);
    assert_int_equal(cairn__table_builder_add(tb, STR("zzzzzzzzz"), STR("")),
                     CAIRN_INVALID);
    cairn__table_builder_abandon(tb);
    cairn__table_builder_destroy(tb);
    o.block_size = 0;
    assert_int_equal(cairn__table_builder_create(&o, &f.base, &tb),
                     CAIRN_INVALID);
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
    cairn__buf_fini(&f.data);
    cairn__buf_fini(&e.k);
}

/* Reads a damaged table. With exact set (checksums on), every answer must
 * be the model's or CAIRN_CORRUPTION: a partial scan must be an exact
 * prefix (suffix, backwards) of the model. */
/* Set by test_damage: probe's file offers view() (a mapped file). */
static int probe_view;

/* Index samples of a damaged table are read and dropped (ASan checks the
 * reads). */
static void ignore_sample(void *arg, cairn__slice ikey)
{
    (void)arg;
    assert_true(ikey.size == 0 || ikey.data != NULL);
}

static void probe(const char *bytes, size_t len, uint64_t claimed,
                  const tb_kv *m, size_t n, int exact, cairn__cache *cache,
                  size_t readahead)
{
    tb_memfile f;
    if (probe_view)
        tb_mf_init_view(&f, bytes, len);
    else
        tb_mf_init(&f, bytes, len);
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.bloom_bits_per_key = 10;
    o.paranoid_checks = exact;
    o.block_cache = cache;
    cairn__table_read_options ro = {exact, 1, readahead};
    cairn__table *t;
    int rc = cairn__table_open(&o, &f.base, claimed, "dmg.ldb", &t);
    if (rc != 0) {
        assert_int_equal(rc, CAIRN_CORRUPTION);
        return;
    }
    tb_got g = {0, CAIRN__BUF_INIT, CAIRN__BUF_INIT};
    for (size_t i = 0; i < n; i++) {
        g.calls = 0;
        rc = cairn__table_get(t, &ro, BS(&m[i].k), tb_save_entry, &g);
        assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
        if (rc == 0 && exact)
            assert_true(g.calls == 1 && tb_slice_is(BS(&g.k), &m[i].k) &&
                        tb_slice_is(BS(&g.v), &m[i].v));
    }
    cairn__iter *it;
    OK(cairn__table_iter(t, &ro, &it));
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it); i++) {
        assert_true(i < 100000);
        if (exact)
            assert_true(i < n && tb_slice_is(cairn__iter_key(it), &m[i].k) &&
                        tb_slice_is(cairn__iter_value(it), &m[i].v));
        cairn__iter_next(it);
    }
    rc = cairn__iter_status(it);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    assert_true(!exact || rc != 0 || i == n);
    for (cairn__iter_seek_last(it), i = n; cairn__iter_valid(it);
         cairn__iter_prev(it)) {
        if (exact)
            assert_true(i > 0 && tb_slice_is(cairn__iter_key(it), &m[--i].k));
    }
    rc = cairn__iter_status(it);
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    assert_true(!exact || rc != 0 || i == 0);
    cairn__iter_seek(it, BS(&m[n / 2].k));
    if (exact && cairn__iter_valid(it))
        assert_true(tb_slice_is(cairn__iter_key(it), &m[n / 2].k));
    cairn__iter_destroy(it);
    (void)cairn__table_approximate_offset_of(t, BS(&m[0].k));
    cairn__table_index_sample(t, 3, ignore_sample, NULL);
    cairn__buf_fini(&g.k);
    cairn__buf_fini(&g.v);
    cairn__table_close(t);
}

/* Flip every byte of a small table (and truncate it at every length): the
 * reader must answer right or say CAIRN_CORRUPTION, and never crash; both
 * through pread and decoding blocks in place from a file's view(). */
static void test_damage(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, tu_seed("table_damage"));
    cairn__cache *cache;
    OK(cairn__cache_create(8192, &cache));
    for (int round = 0; round < 4; round++) {
        int comp = round % 2;
        probe_view = round >= 2;
        size_t n = 24;
        tb_kv *m = tb_model_make(&r, &n, 0, 12);
        cairn__table_options o;
        cairn__table_options_default(&o);
        o.block_size = 200;
        o.restart_interval = 4;
        o.compression = comp;
        o.bloom_bits_per_key = 10;
        tb_memfile f;
        tb_build(&o, &f, m, n);
        size_t len = f.data.len;
        char *copy = malloc(len);
        assert_non_null(copy);
        probe(f.data.data, len, len, m, n, 1, cache, 0); /* undamaged */
        probe(f.data.data, len, len, m, n, 1, NULL, 512);
        for (size_t pos = 0; pos < len; pos++) {
            for (int flip = 0; flip < 2; flip++) {
                memcpy(copy, f.data.data, len);
                copy[pos] ^= (char)(flip ? 0x80 : 0x01);
                probe(copy, len, len, m, n, 1, cache, 0);
                probe(copy, len, len, m, n, 0, NULL, 0);
                /* Through a read-ahead window of about two blocks. */
                probe(copy, len, len, m, n, 1, NULL, 512);
            }
            probe(f.data.data, pos, pos, m, n, 1, NULL, 0);
            probe(f.data.data, pos, len, m, n, 1, cache, 0); /* short reads */
            probe(f.data.data, pos, len, m, n, 0, NULL, 0);
            probe(f.data.data, pos, pos, m, n, 1, NULL, 100);
            probe(f.data.data, pos, len, m, n, 1, NULL, 512);
        }
        free(copy);
        cairn__buf_fini(&f.data);
        tb_model_free(m, n);
    }
    cairn__cache_destroy(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
