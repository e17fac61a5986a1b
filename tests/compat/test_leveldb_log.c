/*
 * test_leveldb_log.c: compatibility with LevelDB 1.23 (Debian's libleveldb,
 * through its C API) at the level of the write-ahead log, both ways.
 *
 * At this milestone cairn keeps its data in the log and memtable only, so
 * LevelDB must never write a table before cairn reads: it gets a 256 MiB
 * write buffer, the data stays far below that, and it opens a directory only
 * once before cairn reads it (LevelDB turns its logs into a table whenever
 * it reopens a database). Every hand-over asserts that no table exists, so a
 * broken precondition fails loudly instead of being blamed on cairn.
 *
 * Scenarios, each with sync writes off and on:
 *   - LevelDB writes a random workload, cairn reads it (twice: cairn's own
 *     open rewrites the MANIFEST and must keep LevelDB's log in range);
 *   - cairn writes over three sessions (so two reopens, whose older logs
 *     stay in the replay range), LevelDB reads every key and iterates the
 *     whole database both ways;
 *   - LevelDB writes, cairn overwrites and deletes some of it over two
 *     sessions, LevelDB reads the combined result.
 * And at the byte level (test_log_bytes): the same deterministic workload,
 * steered onto the log's block edges (a 7-byte tail that gets a header-only
 * FIRST fragment, shorter zero-filled tails, a record ending exactly at a
 * block end, a record over four blocks), gives byte-identical logs from
 * LevelDB and cairn, whose first record is Appendix A's of the facts file,
 * every record's masked CRC checked with this file's own CRC-32C; CURRENT
 * names an existing MANIFEST with exactly one newline.
 *
 * The expected state is an in-memory model (a sorted array of key -> value
 * or deleted) updated alongside each write. Keys include the empty key,
 * 0x00 and 0xff bytes and keys that are prefixes of others. Randomized
 * scenarios print their seed; CAIRN_TEST_SEED replays it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"

#include <leveldb/c.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK      32768u
#define HEADER     7u
#define LDB_BUFFER (256u * 1024u * 1024u)
#define POOL       160
#define KEY_MAX    32
#define VBUF_MAX   (200u * 1024u)

/* ---------------------------------------------------------------------- */
/* The model: entries sorted in LevelDB's bytewise order                    */

typedef struct mentry {
    unsigned char *key, *val;
    size_t klen, vlen;
    int live;
} mentry;

typedef struct model {
    mentry *e;
    size_t n, cap;
} model;

static int keycmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    return c != 0 ? c : (al > bl) - (al < bl);
}

static void *xdup(const void *p, size_t n)
{
    void *q = malloc(n + 1);
    assert_non_null(q);
    if (n > 0)
        memcpy(q, p, n);
    return q;
}

/* Sets key to a value (live) or to deleted. */
static void model_set(model *m, const void *k, size_t kl, const void *v,
                      size_t vl, int live)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keycmp(m->e[mid].key, m->e[mid].klen, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == m->n || keycmp(m->e[lo].key, m->e[lo].klen, k, kl) != 0) {
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 256;
            m->e = realloc(m->e, m->cap * sizeof *m->e);
            assert_non_null(m->e);
        }
        memmove(&m->e[lo + 1], &m->e[lo], (m->n++ - lo) * sizeof *m->e);
        m->e[lo] = (mentry){xdup(k, kl), NULL, kl, 0, 0};
    }
    mentry *e = &m->e[lo];
    free(e->val);
    e->val = live ? xdup(v, vl) : NULL;
    e->vlen = live ? vl : 0;
    e->live = live;
}

static void model_fini(model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].key);
        free(m->e[i].val);
    }
    free(m->e);
}

/* ---------------------------------------------------------------------- */
/* A writer, LevelDB or cairn, that keeps the model in step                 */

typedef struct target {
    int is_cairn;
    model *m;
    leveldb_t *ldb;
    leveldb_writeoptions_t *lwo;
    leveldb_writebatch_t *lb;
    cairn_db *cdb;
    cairn_writeoptions *cwo;
    cairn_batch *cb;
} target;

static void ldb_check(char *err, const char *what)
{
    if (err != NULL) {
        print_error("leveldb %s: %s\n", what, err);
        leveldb_free(err);
        fail_msg("leveldb %s failed", what);
    }
}

static void cairn_ok(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %s: %s", what, cairn_errname(rc), cairn_errmsg());
}

/* Both engines open with paranoid checks, so a damaged log record fails
 * the open instead of being skipped. */
static leveldb_t *ldb_open(const char *dir, int create)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, (uint8_t)create);
    leveldb_options_set_paranoid_checks(o, 1);
    leveldb_options_set_write_buffer_size(o, LDB_BUFFER);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, dir, &err);
    leveldb_options_destroy(o);
    ldb_check(err, "open");
    assert_non_null(db);
    return db;
}

static cairn_db *cdb_open(const char *dir, int create)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_paranoid_checks(o, 1), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(o, dir, &db);
    cairn_options_destroy(o);
    cairn_ok(rc, dir);
    return db;
}

static void target_open(target *t, model *m, int is_cairn, const char *dir,
                        int create, int sync)
{
    memset(t, 0, sizeof *t);
    t->is_cairn = is_cairn;
    t->m = m;
    if (is_cairn) {
        t->cdb = cdb_open(dir, create);
        t->cwo = cairn_writeoptions_create();
        t->cb = cairn_batch_create();
        assert_non_null(t->cwo);
        assert_non_null(t->cb);
        assert_int_equal(cairn_writeoptions_set_sync(t->cwo, sync), 0);
    } else {
        t->ldb = ldb_open(dir, create);
        t->lwo = leveldb_writeoptions_create();
        t->lb = leveldb_writebatch_create();
        leveldb_writeoptions_set_sync(t->lwo, (uint8_t)sync);
    }
}

static void target_close(target *t)
{
    if (t->is_cairn) {
        cairn_batch_destroy(t->cb);
        cairn_writeoptions_destroy(t->cwo);
        assert_int_equal(cairn_db_close(t->cdb), 0);
    } else {
        leveldb_writebatch_destroy(t->lb);
        leveldb_writeoptions_destroy(t->lwo);
        leveldb_close(t->ldb);
    }
}

/* A put (live) or delete, alone or appended to the target's open batch. */
static void t_op(target *t, int in_batch, const void *k, size_t kl,
                 const void *v, size_t vl, int live)
{
    model_set(t->m, k, kl, v, vl, live);
    char *err = NULL;
    if (t->is_cairn && in_batch)
        cairn_ok(live ? cairn_batch_put(t->cb, k, kl, v, vl)
                      : cairn_batch_delete(t->cb, k, kl),
                 "batch");
    else if (t->is_cairn)
        cairn_ok(live ? cairn_db_put(t->cdb, t->cwo, k, kl, v, vl)
                      : cairn_db_delete(t->cdb, t->cwo, k, kl),
                 "write");
    else if (in_batch && live)
        leveldb_writebatch_put(t->lb, k, kl, v, vl);
    else if (in_batch)
        leveldb_writebatch_delete(t->lb, k, kl);
    else if (live)
        leveldb_put(t->ldb, t->lwo, k, kl, v, vl, &err);
    else
        leveldb_delete(t->ldb, t->lwo, k, kl, &err);
    ldb_check(err, "write");
}

static void t_commit(target *t)
{
    char *err = NULL;
    if (t->is_cairn) {
        cairn_ok(cairn_db_write(t->cdb, t->cwo, t->cb), "cairn_db_write");
        cairn_ok(cairn_batch_clear(t->cb), "cairn_batch_clear");
    } else {
        leveldb_write(t->ldb, t->lwo, t->lb, &err);
        ldb_check(err, "write batch");
        leveldb_writebatch_clear(t->lb);
    }
}

/* ---------------------------------------------------------------------- */
/* The random workload                                                      */

typedef struct workload {
    tu_rng rng;
    unsigned char key[POOL][KEY_MAX];
    size_t klen[POOL];
    unsigned char *vbuf; /* the value being written */
} workload;

static void workload_init(workload *w, uint64_t seed)
{
    static const struct {
        const char *b;
        size_t n;
    } fixed[] = {{"", 0}, {"\xff\xff", 2}, {"\0", 1}, {"key", 3}, {"key\0", 4}};
    tu_rng_init(&w->rng, seed);
    w->vbuf = malloc(VBUF_MAX);
    assert_non_null(w->vbuf);
    for (int i = 0; i < POOL; i++) {
        unsigned char *k = w->key[i];
        if (i < 5) { /* empty, 0xff 0xff, 0x00, a prefix of the next */
            memcpy(k, fixed[i].b, fixed[i].n);
            w->klen[i] = fixed[i].n;
        } else if (i % 3 == 1) { /* binary, starting and holding 00/ff */
            w->klen[i] = 2 + (size_t)tu_rng_uniform(&w->rng, KEY_MAX - 2);
            tu_rng_bytes(&w->rng, k, w->klen[i]);
            k[0] = (i & 4) ? 0xff : 0x00;
            k[w->klen[i] / 2] = (i & 8) ? 0x00 : 0xff;
        } else { /* text, some followed by ff 00 */
            w->klen[i] = (size_t)snprintf((char *)k, KEY_MAX, "k%05d", i);
            if (i % 3 == 2) {
                k[w->klen[i]++] = 0xff;
                k[w->klen[i]++] = 0x00;
            }
        }
    }
}

static size_t rand_value(workload *w, size_t lo, size_t hi)
{
    size_t n = lo + (size_t)tu_rng_uniform(&w->rng, hi - lo + 1);
    tu_rng_bytes(&w->rng, w->vbuf, n);
    return n;
}

/* Deletes (30%) or puts (an empty value one time in ten) a pool key. */
static void random_op(target *t, workload *w, int in_batch)
{
    int i = (int)tu_rng_uniform(&w->rng, POOL);
    int r = (int)tu_rng_uniform(&w->rng, 100);
    size_t vl = r < 40 ? 0 : rand_value(w, 1, 200);
    t_op(t, in_batch, w->key[i], w->klen[i], w->vbuf, vl, r >= 30);
}

/* nops random puts, deletes and batches of both over the pool, plus keys
 * only this session (tag) writes, so every session's data must survive:
 * values of more than 32 KiB (one inside a batch with a delete), one of
 * more than 100 KiB, and a few small ones. */
static void run_workload(target *t, workload *w, int nops, int tag)
{
    char k[64];
    int n;
    for (int i = 0; i < nops; i++) {
        if (i % (nops / 4 + 1) == 3) {
            n = snprintf(k, sizeof k, "big-%d-%d", tag, i);
            t_op(t, 0, k, (size_t)n, w->vbuf, rand_value(w, 33000, 80000), 1);
        }
        if (tu_rng_uniform(&w->rng, 100) < 35) {
            for (int j = 1 + (int)tu_rng_uniform(&w->rng, 16); j > 0; j--)
                random_op(t, w, 1);
            t_commit(t);
        } else {
            random_op(t, w, 0);
        }
    }
    n = snprintf(k, sizeof k, "huge-%d", tag);
    t_op(t, 0, k, (size_t)n, w->vbuf, rand_value(w, 100 * 1024 + 1, VBUF_MAX),
         1);
    random_op(t, w, 1);
    n = snprintf(k, sizeof k, "big-batch-%d", tag);
    t_op(t, 1, k, (size_t)n, w->vbuf, rand_value(w, 40000, 60000), 1);
    t_op(t, 1, w->key[5], w->klen[5], NULL, 0, 0);
    t_commit(t);
    for (int i = 0; i < 5; i++) {
        n = snprintf(k, sizeof k, "uniq-%d-%d", tag, i);
        t_op(t, 0, k, (size_t)n, w->vbuf, rand_value(w, 0, 50), 1);
    }
}

/* ---------------------------------------------------------------------- */
/* Readers                                                                  */

static void fail_key(const mentry *e, const char *what)
{
    char hex[2 * KEY_MAX + 1] = "";
    for (size_t i = 0; i < e->klen && i < KEY_MAX; i++)
        snprintf(hex + 2 * i, 3, "%02x", e->key[i]);
    fail_msg("key %s (%zu bytes): %s", hex, e->klen, what);
}

static void verify_cairn(const char *dir, const model *m)
{
    cairn_db *db = cdb_open(dir, 0);
    for (size_t i = 0; i < m->n; i++) {
        const mentry *e = &m->e[i];
        void *v = (void *)1;
        size_t vl = 1;
        int rc = cairn_db_get(db, NULL, e->key, e->klen, &v, &vl);
        if (!e->live && (rc != CAIRN_NOTFOUND || v != NULL))
            fail_key(e, "deleted key found by cairn");
        if (e->live && rc != 0)
            fail_key(e, cairn_errmsg());
        if (e->live && (v == NULL || vl != e->vlen || memcmp(v, e->val, vl)))
            fail_key(e, "cairn returned the wrong value");
        cairn_free(v);
    }
    assert_int_equal(cairn_db_close(db), 0);
}

/* Every model key through leveldb_get, then the whole database forwards
 * and backwards: exactly the live keys, in order, with their values. */
static void verify_leveldb(const char *dir, const model *m)
{
    leveldb_t *db = ldb_open(dir, 0);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(ro, 1);
    char *err = NULL;
    size_t live = 0, kl, vl;
    for (size_t i = 0; i < m->n; i++) {
        const mentry *e = &m->e[i];
        char *v = leveldb_get(db, ro, (const char *)e->key, e->klen, &vl, &err);
        ldb_check(err, "get");
        if (!e->live && v != NULL)
            fail_key(e, "deleted key found by LevelDB");
        if (e->live && (v == NULL || vl != e->vlen || memcmp(v, e->val, vl)))
            fail_key(e, "LevelDB returned the wrong value");
        leveldb_free(v);
        live += e->live != 0;
    }
    leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
    for (int fwd = 1; fwd >= 0; fwd--) {
        size_t seen = 0, i = fwd ? 0 : m->n;
        if (fwd)
            leveldb_iter_seek_to_first(it);
        else
            leveldb_iter_seek_to_last(it);
        for (; leveldb_iter_valid(it); seen++) {
            if (fwd)
                while (i < m->n && !m->e[i].live)
                    i++;
            else
                while (i > 0 && !m->e[i - 1].live)
                    i--;
            assert_true(fwd ? i < m->n : i > 0);
            const mentry *e = &m->e[fwd ? i++ : --i];
            const char *k = leveldb_iter_key(it, &kl);
            const char *v = leveldb_iter_value(it, &vl);
            if (keycmp(k, kl, e->key, e->klen) != 0)
                fail_key(e, "LevelDB iteration: key missing or misplaced");
            if (vl != e->vlen || memcmp(v, e->val, vl) != 0)
                fail_key(e, "LevelDB iteration: wrong value");
            if (fwd)
                leveldb_iter_next(it);
            else
                leveldb_iter_prev(it);
        }
        assert_int_equal(seen, live);
    }
    leveldb_iter_get_error(it, &err);
    ldb_check(err, "iterator");
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(ro);
    leveldb_close(db);
}

/* How many names in dir end in suffix, and the highest leading number
 * among them (for "NNNNNN.log"). */
static int count_suffix(const char *dir, const char *suffix, unsigned long *hi)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    size_t sl = strlen(suffix);
    struct dirent *de;
    *hi = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0) {
            unsigned long num = strtoul(de->d_name, NULL, 10);
            *hi = num > *hi ? num : *hi;
            n++;
        }
    }
    closedir(d);
    return n;
}

/* The hand-over precondition: LevelDB left no table for cairn to read. */
static void assert_no_tables(const char *dir)
{
    unsigned long hi;
    if (count_suffix(dir, ".ldb", &hi) + count_suffix(dir, ".sst", &hi) > 0)
        fail_msg("test precondition broken: LevelDB wrote a table in %s", dir);
}

/* ---------------------------------------------------------------------- */
/* The scenarios                                                            */

typedef struct scenario {
    const char *name;
    int ldb_writes;     /* LevelDB writes the first session */
    int cairn_sessions; /* then cairn writes this many, one open each */
    int sync;
} scenario;

static void test_scenario(void **state)
{
    const scenario *sc = *state;
    int nops = (int)((sc->sync ? 120 : 700) * tu_scale());
    nops = nops < 40 ? 40 : nops;
    workload w;
    workload_init(&w, tu_seed(sc->name));
    char *dir = tu_tempdir("compat");
    model m = {NULL, 0, 0};
    target t;
    if (sc->ldb_writes) {
        target_open(&t, &m, 0, dir, 1, sc->sync);
        run_workload(&t, &w, nops, 0);
        target_close(&t);
        assert_no_tables(dir);
        verify_cairn(dir, &m);
        verify_cairn(dir, &m); /* cairn's own reopen keeps LevelDB's log */
    }
    for (int s = 1; s <= sc->cairn_sessions; s++) {
        target_open(&t, &m, 1, dir, !sc->ldb_writes && s == 1, sc->sync);
        if (sc->ldb_writes && s == 1) {
            /* Overwrite and delete LevelDB's keys, alternately. */
            int k = 0;
            for (size_t i = 0; i < m.n && k < 40; i++)
                if (m.e[i].live)
                    t_op(&t, 0, m.e[i].key, m.e[i].klen, "cairn", 5,
                         k++ % 2 == 0);
            assert_true(k >= 2);
        }
        run_workload(&t, &w, nops / 2, s);
        target_close(&t);
    }
    if (sc->cairn_sessions > 0) {
        verify_cairn(dir, &m);
        verify_leveldb(dir, &m);
    }
    model_fini(&m);
    free(w.vbuf);
    tu_rmtree(dir);
    free(dir);
}

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
    assert_true(count_suffix(dir, ".log", &num) >= 1);
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
static void both_op(target *t, size_t *off, const void *k, size_t kl,
                    const void *v, size_t vl, int live)
{
    t_op(&t[0], 0, k, kl, v, vl, live);
    t_op(&t[1], 0, k, kl, v, vl, live);
    *off = sim_record(*off, 12 + 1 + varint_len(kl) + kl +
                                (live ? varint_len(vl) + vl : 0));
}

static void both_batch(target *t, size_t *off, const unsigned char *v)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            t_op(&t[j], 1, i == 1 ? "b1" : "b0", 2, v, (size_t)i * 10, i != 1);
    *off = sim_record(*off, cairn_batch_approximate_size(t[1].cb));
    t_commit(&t[0]);
    t_commit(&t[1]);
}

/* A put after which exactly r bytes remain in the current block. */
static void put_leaving(target *t, size_t *off, size_t r,
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
    model m = {NULL, 0, 0};
    target t[2];

    /* A new, empty cairn database opens in LevelDB. */
    snprintf(dc, sizeof dc, "%s/empty", dir);
    assert_int_equal(cairn_db_close(cdb_open(dc, 1)), 0);
    check_current(dc);
    verify_leveldb(dc, &m);

    snprintf(da, sizeof da, "%s/leveldb", dir);
    snprintf(dc, sizeof dc, "%s/cairn", dir);
    unsigned char *v = malloc(VBUF_MAX);
    assert_non_null(v);
    for (size_t i = 0; i < VBUF_MAX; i++)
        v[i] = (unsigned char)(i * 131 + (i >> 9));
    target_open(&t[0], &m, 0, da, 1, 0);
    target_open(&t[1], &m, 1, dc, 1, 0);
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
    target_close(&t[0]);
    target_close(&t[1]);
    assert_no_tables(da);
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
    verify_cairn(da, &m);
    verify_leveldb(dc, &m);
    free(la);
    free(lc);
    free(v);
    model_fini(&m);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    static const scenario sc[] = {
        {"leveldb_to_cairn_nosync", 1, 0, 0},
        {"leveldb_to_cairn_sync", 1, 0, 1},
        {"cairn_to_leveldb_nosync", 0, 3, 0},
        {"cairn_to_leveldb_sync", 0, 3, 1},
        {"round_trip_nosync", 1, 2, 0},
        {"round_trip_sync", 1, 2, 1},
    };
    /* Named after the scenario, with it as the test's state. */
#define SCENARIO(i)                                                            \
    {                                                                          \
        .name = sc[i].name, .test_func = test_scenario,                        \
        .initial_state = (void *)&sc[i]                                        \
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_log_bytes),
        SCENARIO(0),
        SCENARIO(1),
        SCENARIO(2),
        SCENARIO(3),
        SCENARIO(4),
        SCENARIO(5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
