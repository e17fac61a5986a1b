/*
 * test_leveldb_log_bytes.c: compatibility with LevelDB 1.23 (Debian's
 * libleveldb, through its C API) at the byte level of the write-ahead log.
 *
 * The same deterministic workload, steered onto the log's block edges (a
 * 7-byte tail that gets a header-only FIRST fragment, shorter zero-filled
 * tails, a record ending exactly at a block end, a record over four
 * blocks), gives byte-identical logs from LevelDB and cairn, whose first
 * record is Appendix A's of the facts file, every record's masked CRC
 * checked with this file's own CRC-32C; CURRENT names an existing MANIFEST
 * with exactly one newline. LevelDB must not write a table meanwhile (see
 * test_leveldb_log.c, which tests the log both ways with random
 * workloads); the model and writers are tests/support/compat/ldb_log.h's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"
#include "ldb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK    32768u
#define HEADER   7u
#define VBUF_MAX (200u * 1024u)

/* ---------------------------------------------------------------------- */
/* Byte level: this file's own CRC-32C and a strict log parser             */

static uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n-- > 0) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t mask_crc(uint32_t c)
{
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint32_t rd_le(const unsigned char *p, int n)
{
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The facts file's check values (§5.3, Appendix A) vouch for crc32c. */
static void test_crc_vectors(void **state)
{
    (void)state;
    static const uint32_t want[4] = {0x8a9136aau, 0x62a8ab43u, 0x46dd794eu,
                                     0x113fdb5cu};
    unsigned char b[4][32];
    for (int i = 0; i < 32; i++) {
        b[0][i] = 0;
        b[1][i] = 0xff;
        b[2][i] = (unsigned char)i;
        b[3][i] = (unsigned char)(31 - i);
    }
    for (int v = 0; v < 4; v++)
        assert_int_equal(crc32c(0, b[v], 32), want[v]);
    assert_int_equal(crc32c(0, (const unsigned char *)"foo", 3), 0xcfc4ae1du);
    assert_int_equal(mask_crc(0xcfc4ae1du), 0xfebe8a61u);
    assert_int_equal(mask_crc(0), 0xa282ead8u);
}

typedef struct logstats {
    size_t records, zero_first, tails, frags_max;
} logstats;

/* Parses a whole closed log strictly: every physical record has a known
 * type and the masked CRC of its type byte and payload, a block tail
 * shorter than a header is zeros, fragments nest, nothing dangles. */
static void parse_log(const unsigned char *d, size_t n, logstats *st)
{
    size_t frags = 0, off = 0;
    int open = 0;
    memset(st, 0, sizeof *st);
    while (off < n) {
        size_t left = BLOCK - off % BLOCK;
        if (left < HEADER) {
            for (size_t i = off; i < off + left && i < n; i++)
                if (d[i] != 0)
                    fail_msg("block tail byte at %zu is not zero", i);
            st->tails++;
            off += left;
            continue;
        }
        if (n - off < HEADER)
            fail_msg("log ends inside a header at %zu", off);
        size_t len = rd_le(d + off + 4, 2);
        unsigned type = d[off + 6];
        if (len > left - HEADER || len > n - off - HEADER)
            fail_msg("record at %zu: length %zu passes its block", off, len);
        if (type < 1 || type > 4 || (type <= 2) == open)
            fail_msg("record at %zu: type %u out of place", off, type);
        uint32_t crc = crc32c(crc32c(0, d + off + 6, 1), d + off + HEADER, len);
        if (rd_le(d + off, 4) != mask_crc(crc))
            fail_msg("record at %zu: masked CRC %08x, expected %08x", off,
                     (unsigned)rd_le(d + off, 4), (unsigned)mask_crc(crc));
        st->zero_first += type == 2 && len == 0;
        open = type == 2 || type == 3;
        off += HEADER + len;
        frags++;
        if (!open) {
            st->records++;
            st->frags_max = frags > st->frags_max ? frags : st->frags_max;
            frags = 0;
        }
    }
    if (open)
        fail_msg("log ends inside a fragmented record");
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return buf;
}

/* The newest log of dir, read whole, and strictly parsed. */
static unsigned char *slurp_log(const char *dir, size_t *n, logstats *st)
{
    unsigned long num;
    char path[4200];
    assert_true(ldbl_count_suffix(dir, ".log", &num) >= 1);
    snprintf(path, sizeof path, "%s/%06lu.log", dir, num);
    unsigned char *log = slurp(path, n);
    parse_log(log, *n, st);
    return log;
}

/* CURRENT is "MANIFEST-<digits>\n", one newline, naming a real MANIFEST
 * whose records are all well framed. */
static void check_current(const char *dir)
{
    char path[4300];
    size_t n, mn;
    logstats st;
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    unsigned char *cur = slurp(path, &n);
    assert_true(n > 10 && cur[n - 1] == '\n');
    assert_memory_equal(cur, "MANIFEST-", 9);
    for (size_t i = 9; i < n - 1; i++)
        assert_true(cur[i] >= '0' && cur[i] <= '9');
    snprintf(path, sizeof path, "%s/%.*s", dir, (int)(n - 1), (char *)cur);
    unsigned char *man = slurp(path, &mn);
    parse_log(man, mn, &st);
    assert_true(st.records >= 1);
    free(cur);
    free(man);
}

static size_t varint_len(size_t v)
{
    size_t n = 1;
    for (; v >= 128; v >>= 7)
        n++;
    return n;
}

/* Where the writer stands after a record of payload n (facts §5.2). */
static size_t sim_record(size_t off, size_t n)
{
    for (int first = 1; first || n > 0; first = 0) {
        if (BLOCK - off < HEADER)
            off = 0;
        size_t frag = n < BLOCK - off - HEADER ? n : BLOCK - off - HEADER;
        off += HEADER + frag;
        n -= frag;
    }
    return off;
}

/* One put or delete to both targets (t[0] LevelDB, t[1] cairn), as one
 * single-entry batch each; advances the simulated offset. */
static void both_op(ldbl_target *t, size_t *off, const void *k, size_t kl,
                    const void *v, size_t vl, int live)
{
    ldbl_t_op(&t[0], 0, k, kl, v, vl, live);
    ldbl_t_op(&t[1], 0, k, kl, v, vl, live);
    *off = sim_record(*off, 12 + 1 + varint_len(kl) + kl +
                                (live ? varint_len(vl) + vl : 0));
}

static void both_batch(ldbl_target *t, size_t *off, const unsigned char *v)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            ldbl_t_op(&t[j], 1, i == 1 ? "b1" : "b0", 2, v, (size_t)i * 10,
                      i != 1);
    *off = sim_record(*off, cairn_batch_approximate_size(t[1].cb));
    ldbl_t_commit(&t[0]);
    ldbl_t_commit(&t[1]);
}

/* A put after which exactly r bytes remain in the current block. */
static void put_leaving(ldbl_target *t, size_t *off, size_t r,
                        const unsigned char *v)
{
    if (BLOCK - *off < HEADER)
        *off = 0;
    if (BLOCK - *off < HEADER + 40 + r) /* too close: cross into the next */
        both_op(t, off, "f", 1, v, BLOCK - *off + 100, 1);
    size_t p = BLOCK - *off - HEADER - r; /* the payload that does it */
    for (size_t kl = 1; kl <= 2; kl++)
        for (size_t vb = 1, x = p - 14 - kl; vb <= 3; vb++)
            if (varint_len(x - vb) == vb) {
                both_op(t, off, "pq", kl, v, x - vb, 1);
                return;
            }
    fail_msg("no put has a payload of %zu bytes", p);
}

static void test_log_bytes(void **state)
{
    (void)state;
    char *dir = tu_tempdir("compat-bytes");
    char da[4200], dc[4200];
    ldbl_model m = {NULL, 0, 0};
    ldbl_target t[2];

    /* A new, empty cairn database opens in LevelDB. */
    snprintf(dc, sizeof dc, "%s/empty", dir);
    assert_int_equal(cairn_db_close(ldbl_cdb_open(dc, 1)), 0);
    check_current(dc);
    ldbl_verify_leveldb(dc, &m);

    snprintf(da, sizeof da, "%s/leveldb", dir);
    snprintf(dc, sizeof dc, "%s/cairn", dir);
    unsigned char *v = malloc(VBUF_MAX);
    assert_non_null(v);
    for (size_t i = 0; i < VBUF_MAX; i++)
        v[i] = (unsigned char)(i * 131 + (i >> 9));
    ldbl_target_open(&t[0], &m, 0, da, 1, 0);
    ldbl_target_open(&t[1], &m, 1, dc, 1, 0);
    size_t off = 0;
    both_op(t, &off, "k", 1, "v", 1, 1);
    both_op(t, &off, "b", 1, NULL, 0, 0);
    both_batch(t, &off, v);
    static const size_t tails[] = {7, 3, 0, 6, 1, 7};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        put_leaving(t, &off, tails[i], v);
        if (i % 2 == 0)
            both_op(t, &off, "\0\xff", 2, v, i, 1);
        else
            both_batch(t, &off, v);
    }
    both_op(t, &off, "huge", 4, v, 100 * 1024 + 5, 1);
    both_op(t, &off, "", 0, "", 0, 1);
    both_op(t, &off, "absent", 6, NULL, 0, 0);
    ldbl_target_close(&t[0]);
    ldbl_target_close(&t[1]);
    ldbl_assert_no_tables(da);
    check_current(dc);

    size_t na, nc;
    logstats sa, sc;
    unsigned char *la = slurp_log(da, &na, &sa), *lc = slurp_log(dc, &nc, &sc);
    /* The first record is Appendix A's: masked CRC, length 17, FULL, then
     * the batch (sequence 1, count 1, Put "k" -> "v"). */
    static const unsigned char first[] = {
        0xe7, 0x5a, 0x4d, 0x00, 0x11, 0x00, 0x01, 1, 0, 0,   0, 0,
        0,    0,    0,    1,    0,    0,    0,    1, 1, 'k', 1, 'v'};
    assert_true(nc >= sizeof first);
    assert_memory_equal(lc, first, sizeof first);
    /* The workload reached the edge cases (counted on LevelDB's log). */
    assert_true(sa.zero_first >= 2);
    assert_true(sa.tails >= 3);
    assert_true(sa.frags_max >= 4);
    size_t i = 0;
    while (i < na && i < nc && la[i] == lc[i])
        i++;
    if (i < na || i < nc)
        fail_msg("logs differ at offset %zu (LevelDB %zu bytes, cairn %zu)", i,
                 na, nc);
    ldbl_verify_cairn(da, &m);
    ldbl_verify_leveldb(dc, &m);
    free(la);
    free(lc);
    free(v);
    ldbl_model_fini(&m);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_log_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
