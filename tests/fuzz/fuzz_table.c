/*
 * fuzz_table.c: a libFuzzer target for the table reader (and builder).
 *
 * The first input byte picks the mode and options; the rest is used as:
 *
 *   mode 0  a table file. It is opened with checksums on and off, with and
 *           without a bloom policy and block cache, read with pread or
 *           (bit 2 of the first byte) through view() as a mapped file is;
 *           then iterated to the
 *           end both ways and probed with seeks and gets of keys cut from
 *           the input. Whatever the bytes, every call must return 0 or
 *           CAIRN_CORRUPTION (never crash, read out of bounds, leak, or
 *           yield a key shorter than an internal key's 8 bytes).
 *   mode 1  a recipe of entries. They are written with the builder, read
 *           back (through view() when bit 7 of the first byte is set) and
 *           compared exactly; then the table is damaged at
 *           positions chosen by the input and read as in mode 0, with
 *           checksums on: every answer must then be the right one or
 *           CAIRN_CORRUPTION.
 *
 * Build (not part of CTest, whose glob wants test_*.c):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
 *         -Iinclude -Isrc <every .c file of src/util, src/table and
 *         src/cache> src/iter/two_level.c src/iter/merge.c
 *         src/iter/empty.c tests/fuzz/fuzz_table.c -lpthread -lsnappy
 *         -o fuzz_table
 * With -DCAIRN_FUZZ_STANDALONE it gains a main() that runs the files named
 * on the command line, so a crasher replays under gcc too.
 */
#include "table/table.h"
#include "table/table_builder.h"
#include "util/buf.h"
#include "util/ikey.h"

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

#define OK_OR_CORRUPT(rc) CHECK((rc) == 0 || (rc) == CAIRN_CORRUPTION)

/* ---- an in-memory file over a buffer ---- */

typedef struct memfile {
    cairn__file base;
    cairn__buf data;
} memfile;

static int mf_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    memfile *m = (memfile *)f;
    *got = 0;
    if (off < m->data.len) {
        *got = m->data.len - off < n ? m->data.len - off : n;
        memcpy(buf, m->data.data + off, *got);
    }
    return 0;
}
static int mf_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    (void)f, (void)n, (void)buf, (void)got;
    return CAIRN_NOTSUP;
}
static int mf_skip(cairn__file *f, uint64_t n)
{
    (void)f, (void)n;
    return CAIRN_NOTSUP;
}
static int mf_append(cairn__file *f, const char *p, size_t n)
{
    return cairn__buf_append(&((memfile *)f)->data, p, n);
}
static int mf_nop(cairn__file *f)
{
    (void)f;
    return 0;
}
static int mf_size(cairn__file *f, uint64_t *size)
{
    *size = ((memfile *)f)->data.len;
    return 0;
}
/* As a mapped file offers: the bytes in place, no copy. */
static int mf_view(cairn__file *f, uint64_t off, size_t n, const char **out,
                   size_t *got)
{
    memfile *m = (memfile *)f;
    *out = NULL;
    *got = 0;
    if (off < m->data.len) {
        *out = m->data.data + off;
        *got = m->data.len - off < n ? m->data.len - off : n;
    }
    return 0;
}
static const cairn__file_ops mf_ops = {mf_pread, mf_read, mf_skip, mf_append,
                                       mf_nop,   mf_nop,  mf_size, mf_nop,
                                       NULL,     NULL};
/* The same file read as a mapped one: blocks are decoded through view(),
 * the path the POSIX env takes by default (mmap_reads). */
static const cairn__file_ops mf_view_ops = {
    mf_pread, mf_read, mf_skip, mf_append, mf_nop,
    mf_nop,   mf_size, mf_nop,  NULL,      mf_view};

/* ---- the model for mode 1 ---- */

typedef struct kv {
    cairn__buf k, v;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    return cairn__ikey_compare(cairn__buf_slice(&((const kv *)a)->k),
                               cairn__buf_slice(&((const kv *)b)->k));
}

typedef struct found {
    int calls;
    cairn__slice want_k, want_v;
    int match;
} found;

static int on_get(void *arg, cairn__slice k, cairn__slice v)
{
    found *f = arg;
    f->calls++;
    CHECK(k.size >= 8);
    f->match =
        cairn__slice_equal(k, f->want_k) && cairn__slice_equal(v, f->want_v);
    return 0;
}

/* Reads the table in every way. With a model (exact), answers must be the
 * model's or CAIRN_CORRUPTION. */
static void probe(memfile *f, int paranoid, int bloom, cairn__cache *cache,
                  const kv *m, size_t n, const uint8_t *keys, size_t klen)
{
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.paranoid_checks = paranoid;
    o.bloom_bits_per_key = bloom ? 10 : 0;
    o.block_cache = cache;
    cairn__table_read_options ro = {paranoid, 1};
    int exact = m != NULL;
    cairn__table *t;
    int rc = cairn__table_open(&o, &f->base, f->data.len, "fuzz.ldb", &t);
    OK_OR_CORRUPT(rc);
    if (rc != 0)
        return;
    cairn__iter *it;
    CHECK(cairn__table_iter(t, &ro, &it) == 0);
    size_t i = 0;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it) && i < (1u << 16);
         cairn__iter_next(it), i++) {
        CHECK(cairn__iter_key(it).size >= 8);
        (void)cairn__iter_value(it);
        if (exact) {
            CHECK(i < n);
            CHECK(cairn__slice_equal(cairn__iter_key(it),
                                     cairn__buf_slice(&m[i].k)));
            CHECK(cairn__slice_equal(cairn__iter_value(it),
                                     cairn__buf_slice(&m[i].v)));
        }
    }
    rc = cairn__iter_status(it);
    OK_OR_CORRUPT(rc);
    if (exact && rc == 0)
        CHECK(i == n);
    i = 0;
    for (cairn__iter_seek_last(it); cairn__iter_valid(it) && i < (1u << 16);
         cairn__iter_prev(it), i++) {
        CHECK(cairn__iter_key(it).size >= 8);
        if (exact) {
            CHECK(i < n);
            CHECK(cairn__slice_equal(cairn__iter_key(it),
                                     cairn__buf_slice(&m[n - 1 - i].k)));
        }
    }
    OK_OR_CORRUPT(cairn__iter_status(it));
    /* Seeks and gets of keys cut from the input (and the model's keys). */
    for (size_t s = 0; s + 8 <= klen && s < 256; s += 8) {
        cairn__slice target = cairn__slice_make(keys + s, 8 + (keys[s] % 9));
        if (target.size > klen - s)
            target.size = 8;
        cairn__iter_seek(it, target);
        if (cairn__iter_valid(it)) {
            CHECK(cairn__iter_key(it).size >= 8);
            cairn__iter_prev(it);
            if (cairn__iter_valid(it))
                cairn__iter_next(it);
        }
        found g = {0, target, target, 0};
        OK_OR_CORRUPT(cairn__table_get(t, &ro, target, on_get, &g));
        (void)cairn__table_approximate_offset_of(t, target);
    }
    for (i = 0; exact && i < n; i++) {
        found g = {0, cairn__buf_slice(&m[i].k), cairn__buf_slice(&m[i].v), 0};
        rc = cairn__table_get(t, &ro, g.want_k, on_get, &g);
        OK_OR_CORRUPT(rc);
        if (rc == 0)
            CHECK(g.calls == 1 && g.match);
    }
    OK_OR_CORRUPT(cairn__iter_status(it));
    cairn__iter_destroy(it);
    cairn__table_close(t);
}

/* Mode 1: build from a recipe, read back exactly, then damage and read. */
static void recipe(uint8_t opts, const uint8_t *p, size_t size,
                   cairn__cache *cache)
{
    size_t cap = size / 2 + 1, n = 0;
    kv *m = calloc(cap, sizeof *m);
    CHECK(m != NULL);
    size_t at = 0;
    while (at + 2 <= size && n < cap) {
        size_t klen = p[at] % 12, vlen = p[at + 1] % 40;
        at += 2;
        if (klen > size - at)
            klen = size - at;
        CHECK(cairn__ikey_append(&m[n].k, cairn__slice_make(p + at, klen), n,
                                 (int)(vlen & 1)) == 0);
        at += klen;
        for (size_t j = 0; j < vlen; j++) {
            char c = (char)(p[(at + j * 7) % size] ^ (uint8_t)j);
            CHECK(cairn__buf_append(&m[n].v, &c, 1) == 0);
        }
        n++;
    }
    qsort(m, n, sizeof *m, kv_cmp);

    static const int intervals[] = {1, 2, 16, 1024};
    cairn__table_options o;
    cairn__table_options_default(&o);
    o.compression = (opts >> 1) & 1;
    o.bloom_bits_per_key = (opts >> 2) & 1 ? 10 : 0;
    o.restart_interval = intervals[(opts >> 3) & 3];
    o.block_size = (size_t)64 << ((opts >> 5) & 3);
    memfile f;
    memset(&f, 0, sizeof f);
    f.base.ops = &mf_ops;
    cairn__table_builder *tb;
    CHECK(cairn__table_builder_create(&o, &f.base, &tb) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(cairn__table_builder_add(tb, cairn__buf_slice(&m[i].k),
                                       cairn__buf_slice(&m[i].v)) == 0);
    uint64_t fsize;
    CHECK(cairn__table_builder_finish(tb, &fsize) == 0);
    CHECK(fsize == f.data.len);
    cairn__table_builder_destroy(tb);

    /* Read back as written, then (bit 7) as a mapped file. */
    if (opts & 0x80)
        f.base.ops = &mf_view_ops;
    probe(&f, 1, o.bloom_bits_per_key > 0, cache, m, n, p, size);
    /* Damage: xor input bytes in at input-chosen places. */
    for (size_t j = 0; j + 1 < size && j < 16; j += 2) {
        size_t pos = ((size_t)p[j] << 8 | p[j + 1]) % f.data.len;
        f.data.data[pos] ^= (char)(p[j] | 1);
    }
    probe(&f, 1, o.bloom_bits_per_key > 0, cache, m, n, p, size);
    probe(&f, 0, 1, NULL, NULL, 0, p, size);
    cairn__buf_fini(&f.data);
    for (size_t i = 0; i < n; i++) {
        cairn__buf_fini(&m[i].k);
        cairn__buf_fini(&m[i].v);
    }
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cairn__cache *cache;
    if (cairn__cache_create(4096, &cache) != 0)
        return 0;
    if (data[0] & 1) {
        recipe(data[0], data + 1, size - 1, cache);
    } else {
        memfile f;
        memset(&f, 0, sizeof f);
        /* Bit 2: read as a mapped file (blocks decoded in place). */
        f.base.ops = (data[0] >> 2) & 1 ? &mf_view_ops : &mf_ops;
        CHECK(cairn__buf_append(&f.data, data + 1, size - 1) == 0);
        probe(&f, 1, 1, cache, NULL, 0, data + 1, size - 1);
        probe(&f, 0, (data[0] >> 1) & 1, NULL, NULL, 0, data + 1, size - 1);
        cairn__buf_fini(&f.data);
    }
    cairn__cache_destroy(cache);
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
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
            CHECK(cairn__buf_append(&in, chunk, got) == 0);
        fclose(fp);
        LLVMFuzzerTestOneInput((const uint8_t *)in.data, in.len);
        cairn__buf_fini(&in);
    }
    return 0;
}
#endif
