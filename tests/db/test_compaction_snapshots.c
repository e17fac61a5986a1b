/*
 * test_compaction_snapshots.c: snapshots across compactions, through the
 * public API (plus the table reader to count what compaction kept).
 *
 * A randomized model test (seeded, replayable with CAIRN_TEST_SEED)
 * forces flushes and range compactions between its steps while up to four
 * snapshots are held; reads and scans at each snapshot must show exactly
 * its state. A deterministic companion counts table entries: a held
 * snapshot keeps old versions on disk, and once it is released a
 * compaction that reaches every file leaves exactly one entry per live
 * key and no tombstones. Everything runs in the in-memory env.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "cairn.h"
#include "env/env.h"
#include "table/table.h"
#include "util/ikey.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "compaction_util.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tcount {
    long entries, tombstones;
} tcount;

/* Adds the entries of table number num in /db to c. */
static void count_table(cairn_env *env, uint64_t num, tcount *c)
{
    char path[64];
    snprintf(path, sizeof path, "/db/%06" PRIu64 ".ldb", num);
    uint64_t size;
    ct_ok(env->ops->file_size(env, path, &size), path);
    cairn__file *f;
    ct_ok(env->ops->open_read(env, path, &f), path);
    cairn__table_options topt;
    cairn__table_options_default(&topt);
    cairn__table *t;
    ct_ok(cairn__table_open(&topt, f, size, path, &t), "table open");
    cairn__table_read_options ro = {1, 0, 0};
    cairn__iter *it;
    ct_ok(cairn__table_iter(t, &ro, &it), "table iter");
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it)) {
        cairn__pikey pk;
        memset(&pk, 0, sizeof pk);
        assert_true(cairn__ikey_parse(cairn__iter_key(it), &pk));
        c->entries++;
        c->tombstones += pk.type == CAIRN__TYPE_DELETION;
    }
    ct_ok(cairn__iter_status(it), "table iter status");
    cairn__iter_destroy(it);
    cairn__table_close(t);
    ct_ok(cairn__file_close(f), "close table");
}

/* Entries in every table of the current version ("cairn.sstables" lines
 * read " <number>:<size>[...]"). */
static tcount count_entries(cairn_env *env, cairn_db *db)
{
    tcount c = {0, 0};
    char *s = cairn_db_property(db, "cairn.sstables");
    assert_non_null(s);
    for (char *p = s; (p = strchr(p, '\n')) != NULL;) {
        char *end;
        p++;
        if (*p != ' ')
            continue;
        uint64_t num = strtoull(p + 1, &end, 10);
        if (*end == ':')
            count_table(env, num, &c);
    }
    cairn_free(s);
    return c;
}

#define MK     160
#define MSNAPS 4

typedef struct msnap {
    const cairn_snapshot *s;
    cairn_readoptions *ro;
    uint32_t m[MK];
} msnap;

typedef struct mrun {
    uint64_t seed;
    tu_rng rng;
    cairn_db *db;
    uint32_t cur[MK]; /* value id per key, 0: absent */
    msnap snaps[MSNAPS];
    int nsnaps;
    uint32_t next_id;
    long step;
    const char *op;
    unsigned char val[700];
} mrun;

static size_t mkey(int i, char *out)
{
    return (size_t)snprintf(out, 8, "m%04d", i);
}

/* Value id: "v<id>|" then random bytes; its length is a function of id. */
static size_t mval(const mrun *r, uint32_t id, unsigned char *out)
{
    uint64_t h = (r->seed ^ id) * 0x9E3779B97F4A7C15ULL;
    size_t len = 12 + (size_t)((h >> 20) % 600);
    snprintf((char *)out, 13, "v%010" PRIu32 "|", id);
    tu_rng g;
    tu_rng_init(&g, r->seed * 31u + id);
    tu_rng_bytes(&g, out + 12, len - 12);
    return len;
}

static void mcheck_get(mrun *r, const cairn_readoptions *ro, const uint32_t *m,
                       int i, const char *view)
{
    char k[8];
    void *v = NULL;
    size_t vl = 0;
    int rc = cairn_db_get(r->db, ro, k, mkey(i, k), &v, &vl);
    if (m[i] == 0 && rc == CAIRN_NOTFOUND)
        return;
    if (m[i] == 0 || rc != 0)
        fail_msg("step %ld (%s), %s, key %s: expected id %" PRIu32
                 ", got %s '%.12s'",
                 r->step, r->op, view, k, m[i], cairn_errname(rc),
                 rc == 0 ? (const char *)v : "");
    size_t el = mval(r, m[i], r->val);
    if (vl != el || memcmp(v, r->val, el) != 0)
        fail_msg("step %ld (%s), %s, key %s: expected id %" PRIu32
                 " (%zu bytes), got '%.12s' (%zu bytes)",
                 r->step, r->op, view, k, m[i], el, (const char *)v, vl);
    cairn_free(v);
}

/* A full scan, forward or backward, against model m. */
static void mcheck_scan(mrun *r, const cairn_readoptions *ro, const uint32_t *m,
                        int backward, const char *view)
{
    cairn_iter *it = cairn_db_iter_create(r->db, ro);
    assert_non_null(it);
    int i = backward ? MK - 1 : 0;
    backward ? cairn_iter_seek_last(it) : cairn_iter_seek_first(it);
    for (;; backward ? cairn_iter_prev(it) : cairn_iter_next(it)) {
        while (i >= 0 && i < MK && m[i] == 0)
            i += backward ? -1 : 1;
        int want = i >= 0 && i < MK;
        if (!want || !cairn_iter_valid(it)) {
            ct_ok(cairn_iter_status(it), "scan status");
            if (want || cairn_iter_valid(it))
                fail_msg("step %ld (%s), %s scan %s: %s", r->step, r->op, view,
                         backward ? "backward" : "forward",
                         want ? "ended early" : "yields extra keys");
            break;
        }
        char k[8];
        size_t kl = mkey(i, k), gl, vl;
        const void *g = cairn_iter_key(it, &gl);
        const void *v = cairn_iter_value(it, &vl);
        size_t el = mval(r, m[i], r->val);
        if (gl != kl || memcmp(g, k, kl) != 0 || vl != el ||
            memcmp(v, r->val, el) != 0)
            fail_msg("step %ld (%s), %s scan: expected %s = id %" PRIu32
                     ", got '%.*s' = '%.12s'",
                     r->step, r->op, view, k, m[i], (int)gl, (const char *)g,
                     (const char *)v);
        i += backward ? -1 : 1;
    }
    cairn_iter_destroy(it);
}

static void mcheck_all(mrun *r)
{
    for (int i = 0; i < MK; i++)
        mcheck_get(r, NULL, r->cur, i, "current");
    mcheck_scan(r, NULL, r->cur, 0, "current");
    for (int s = 0; s < r->nsnaps; s++) {
        for (int i = 0; i < MK; i++)
            mcheck_get(r, r->snaps[s].ro, r->snaps[s].m, i, "snapshot");
        mcheck_scan(r, r->snaps[s].ro, r->snaps[s].m, s & 1, "snapshot");
    }
}

static void mput(mrun *r, cairn_batch *b, int i)
{
    char k[8];
    uint32_t id = ++r->next_id;
    size_t vl = mval(r, id, r->val);
    ct_ok(b ? cairn_batch_put(b, k, mkey(i, k), r->val, vl)
            : cairn_db_put(r->db, NULL, k, mkey(i, k), r->val, vl),
          "put");
    r->cur[i] = id;
}

static void mdel(mrun *r, cairn_batch *b, int i)
{
    char k[8];
    ct_ok(b ? cairn_batch_delete(b, k, mkey(i, k))
            : cairn_db_delete(r->db, NULL, k, mkey(i, k)),
          "delete");
    r->cur[i] = 0;
}

static void take_snap(mrun *r)
{
    msnap *s = &r->snaps[r->nsnaps++];
    s->s = cairn_db_create_snapshot(r->db);
    s->ro = cairn_readoptions_create();
    assert_non_null(s->s);
    assert_non_null(s->ro);
    ct_ok(cairn_readoptions_set_snapshot(s->ro, s->s), "set snapshot");
    memcpy(s->m, r->cur, sizeof s->m);
}

static void release_snap(mrun *r, int s)
{
    cairn_db_release_snapshot(r->db, r->snaps[s].s);
    cairn_readoptions_destroy(r->snaps[s].ro);
    r->snaps[s] = r->snaps[--r->nsnaps];
}

/* One random step. */
static void mstep(mrun *r)
{
    tu_rng *g = &r->rng;
    unsigned p = (unsigned)tu_rng_uniform(g, 100);
    int i = (int)tu_rng_uniform(g, MK);
    msnap *sn = r->nsnaps ? &r->snaps[tu_rng_uniform(g, r->nsnaps)] : NULL;
    if (p < 28) {
        r->op = "put";
        mput(r, NULL, i);
    } else if (p < 38) {
        r->op = "delete";
        mdel(r, NULL, i);
    } else if (p < 46) {
        r->op = "batch";
        cairn_batch *b = cairn_batch_create();
        assert_non_null(b);
        for (int n = 2 + (int)tu_rng_uniform(g, 5); n > 0; n--) {
            i = (int)tu_rng_uniform(g, MK);
            tu_rng_uniform(g, 3) ? mput(r, b, i) : mdel(r, b, i);
        }
        ct_ok(cairn_db_write(r->db, NULL, b), "write batch");
        cairn_batch_destroy(b);
    } else if (p < 54) {
        r->op = "get";
        mcheck_get(r, NULL, r->cur, i, "current");
    } else if (p < 59 && r->nsnaps < MSNAPS) {
        r->op = "snapshot";
        take_snap(r);
    } else if (p < 63 && sn != NULL) {
        r->op = "release";
        release_snap(r, (int)(sn - r->snaps));
    } else if (p < 71 && sn != NULL) {
        r->op = "get at snapshot";
        for (int n = 0; n < 8; n++)
            mcheck_get(r, sn->ro, sn->m, (int)tu_rng_uniform(g, MK),
                       "snapshot");
    } else if (p < 74 && sn != NULL) {
        r->op = "scan at snapshot";
        mcheck_scan(r, sn->ro, sn->m, (int)tu_rng_uniform(g, 2), "snapshot");
    } else if (p < 76) {
        r->op = "scan";
        mcheck_scan(r, NULL, r->cur, (int)tu_rng_uniform(g, 2), "current");
    } else if (p < 86) {
        r->op = "compact_range";
        char a[8], b[8];
        int j = (int)tu_rng_uniform(g, MK);
        size_t al = mkey(i < j ? i : j, a), bl = mkey(i < j ? j : i, b);
        int open_lo = tu_rng_uniform(g, 6) == 0;
        int open_hi = tu_rng_uniform(g, 6) == 0;
        ct_ok(cairn_db_compact_range(r->db, open_lo ? NULL : a,
                                     open_lo ? 0 : al, open_hi ? NULL : b,
                                     open_hi ? 0 : bl),
              "compact_range");
    } else if (p < 92) {
        r->op = "flush";
        ct_ok(cairn_db_flush(r->db), "flush");
    } else {
        r->op = "compact all";
        ct_ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    }
}

static void model_snapshots(void **state)
{
    (void)state;
    mrun *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->seed = tu_seed("compaction/model_snapshots");
    tu_rng_init(&r->rng, r->seed);
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    r->db = ct_open_db(env, 64 * KIB, CAIRN_COMPRESSION_SNAPPY);
    long nsteps = (long)(4000 * tu_scale());
    for (r->step = 0; r->step < nsteps; r->step++) {
        mstep(r);
        if (r->step % 500 == 499) {
            r->op = "periodic check";
            mcheck_all(r);
        }
    }
    r->op = "final check";
    ct_ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    mcheck_all(r);
    while (r->nsnaps > 0)
        release_snap(r, r->nsnaps - 1);
    /* Touch both ends so the next compaction rewrites every file (a
     * range compaction leaves alone bottom-level files nothing above
     * overlaps, as LevelDB's does), then nothing obsolete may remain. */
    mput(r, NULL, 0);
    mput(r, NULL, MK - 1);
    ct_ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    long live = 0;
    for (int i = 0; i < MK; i++)
        live += r->cur[i] != 0;
    tcount c = count_entries(env, r->db);
    fprintf(stderr, "model: %ld steps, %ld live keys, %ld table entries\n",
            nsteps, live, c.entries);
    assert_int_equal(c.entries, live);
    assert_int_equal(c.tombstones, 0);
    r->op = "after release";
    mcheck_all(r);
    ct_ok(cairn_db_close(r->db), "close");
    cairn_env_destroy(env);
    free(r);
}

/* Touches both ends of the key table and compacts everything, so that
 * every table is rewritten (see model_snapshots). */
static tcount compact_everything(mrun *r, cairn_env *env)
{
    mput(r, NULL, 0);
    mput(r, NULL, MK - 1);
    ct_ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    mcheck_all(r);
    return count_entries(env, r->db);
}

static void snapshot_versions(void **state)
{
    (void)state;
    mrun *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->seed = tu_seed("compaction/snapshot_versions");
    r->op = "snapshot_versions";
    cairn_env *env = cairn_env_mem_create();
    assert_non_null(env);
    r->db = ct_open_db(env, 64 * KIB, CAIRN_COMPRESSION_NONE);
    long s1_values = MK, s2_values = 0, cur_values = 0;
    for (int i = 0; i < MK; i++)
        mput(r, NULL, i);
    take_snap(r); /* S1: every key at its first value */
    for (int i = 0; i < MK; i++) {
        if (i % 3 == 0) {
            mdel(r, NULL, i);
        } else {
            mput(r, NULL, i);
            s2_values++;
        }
    }
    ct_ok(cairn_db_flush(r->db), "flush");
    take_snap(r); /* S2: a third deleted, the rest at a second value */
    for (int i = 0; i < MK; i++) {
        if (i % 3 == 1) {
            mdel(r, NULL, i);
        } else if (i % 3 == 2) {
            mput(r, NULL, i);
            cur_values++;
        }
    }
    ct_ok(cairn_db_compact_range(r->db, NULL, 0, NULL, 0), "compact all");
    ct_ok(cairn_db_compact_range(r->db, "m0040", 5, "m0090", 5), "compact");
    tcount held = compact_everything(r, env);
    cur_values += 2;
    /* Every value some view can see must still be on disk. */
    if (held.entries < s1_values + s2_values + cur_values)
        fail_msg("with two snapshots held: %ld table entries, but the views "
                 "see %ld distinct values",
                 held.entries, s1_values + s2_values + cur_values);

    /* S1 released: each key's first value is hidden, below S2, by a newer
     * entry, so the rewrite must drop all MK of them (the two new puts add
     * two entries). */
    release_snap(r, 0);
    tcount mid = compact_everything(r, env);
    if (mid.entries > held.entries - MK + 2)
        fail_msg("after releasing the older snapshot: %ld entries, expected "
                 "at most %ld",
                 mid.entries, held.entries - MK + 2);

    release_snap(r, 0);
    tcount last = compact_everything(r, env);
    long live = 0;
    for (int i = 0; i < MK; i++)
        live += r->cur[i] != 0;
    fprintf(stderr,
            "snapshot versions: %ld entries with two snapshots, %ld with "
            "one, %ld with none (%ld live keys)\n",
            held.entries, mid.entries, last.entries, live);
    assert_int_equal(last.entries, live);
    assert_int_equal(last.tombstones, 0);
    ct_ok(cairn_db_close(r->db), "close");
    cairn_env_destroy(env);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_versions),
        cmocka_unit_test(model_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
