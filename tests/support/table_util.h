/*
 * table_util.h: helpers for the table builder and reader tests
 * (tests/unit/test_table.c, test_table_damage.c): a tiny in-memory
 * cairn__file, which lets the tests count reads, hand the reader arbitrary
 * (damaged, truncated) bytes, and claim a file size the bytes do not back;
 * and the model, a sorted array of distinct internal keys with values,
 * that a built table must read back as. Failures abort the test (cmocka
 * asserts).
 */
#ifndef CAIRN_TEST_TABLE_UTIL_H
#define CAIRN_TEST_TABLE_UTIL_H

#include "table/table.h"
#include "table/table_builder.h"
#include "util/buf.h"
#include "util/slice.h"

#include "testutil.h"

#include <stddef.h>
#include <stdint.h>

/* An in-memory file: appends grow `data`; preads read `rd` if set (else
 * data) and are counted. Tables are only ever pread, so read and skip are
 * left out. */
typedef struct tb_memfile {
    cairn__file base;
    cairn__buf data;
    const char *rd; /* what pread reads, if set (else data) */
    size_t rd_len;
    int preads;
} tb_memfile;

/* An empty file whose preads read the rd_len bytes at rd (NULL: data). */
void tb_mf_init(tb_memfile *m, const char *rd, size_t rd_len);
/* The same, also offering view() over those bytes, as a mapped file does
 * (env.h): the reader then decodes blocks in place. */
void tb_mf_init_view(tb_memfile *m, const char *rd, size_t rd_len);

/* One model entry: an internal key and its value. */
typedef struct tb_kv {
    cairn__buf k, v;
} tb_kv;

/* Sets b to the internal key (user, seq, type). */
void tb_set_ikey(cairn__buf *b, cairn__slice user, uint64_t seq, int type);
/* *n random entries of the given key shape (0 numbered, 1 short binary
 * including empty, 2 long with a common prefix) with values of up to
 * 3 * vmax bytes (empty for deletions); sorted, duplicates dropped (*n is
 * updated). Free with tb_model_free. */
tb_kv *tb_model_make(tu_rng *r, size_t *n, int shape, size_t vmax);
void tb_model_free(tb_kv *m, size_t n);
/* Index of the first model entry >= target (n if none). */
size_t tb_lower_bound(const tb_kv *m, size_t n, cairn__slice target);
/* s holds exactly b's bytes. */
int tb_slice_is(cairn__slice s, const cairn__buf *b);

/* Builds a table of the n entries with options o into a fresh f. */
void tb_build(const cairn__table_options *o, tb_memfile *f, const tb_kv *m,
              size_t n);
/* Builds a table of the n entries (block_size 1024) into f, checks that
 * it reads back, and returns the type byte of the first data block when
 * it is the only one (it then ends 5 bytes before the metaindex block). */
int tb_build_checked(tb_memfile *f, const tb_kv *m, size_t n, int compression);
/* Every entry in both directions, seeks to random targets with direction
 * changes around them, and gets: t must read as the n entries of m. */
void tb_check_table(cairn__table *t, const tb_kv *m, size_t n, tu_rng *r);

/* What cairn__table_get handed tb_save_entry (arg), and how often. */
typedef struct tb_got {
    int calls;
    cairn__buf k, v;
} tb_got;

int tb_save_entry(void *arg, cairn__slice k, cairn__slice v);

#endif
