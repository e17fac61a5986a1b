/*
 * ldb_tables_model.c: keys, values, the writers and opening each engine
 * for the table-level compatibility scenario (ldb_tables.h). Test-only
 * code.
 */
#include "ldb_tables.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* ---------------------------------------------------------------------- */
/* Keys, values and the model                                               */

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

size_t ldbt_make_key(const ldbt_run *r, size_t id, unsigned char *k)
{
    uint64_t p = (uint64_t)id * 1000003u;
    k[0] = 'k';
    for (int i = 0; i < 6; i++)
        k[1 + i] = (unsigned char)(p >> (40 - 8 * i));
    uint64_t h = mix64(r->seed ^ ((uint64_t)id << 20));
    size_t n = 12 + (size_t)(h % 9);
    for (size_t i = 7; i < n; i++) {
        h = mix64(h + i);
        k[i] = (unsigned char)h;
    }
    return n;
}

void ldbt_make_value(const ldbt_run *r, size_t id, uint32_t gen, uint32_t vlen,
                     unsigned char *out)
{
    tu_rng g;
    unsigned char phrase[16];
    tu_rng_init(&g, mix64(r->seed ^ mix64(((uint64_t)id << 32) | gen)));
    if (gen & 1) {
        tu_rng_bytes(&g, out, vlen);
        return;
    }
    tu_rng_bytes(&g, phrase, sizeof phrase);
    for (uint32_t j = 0; j < vlen; j++)
        out[j] = j % 37 == 36 ? (unsigned char)tu_rng_next(&g) : phrase[j % 16];
}

/* ---------------------------------------------------------------------- */
/* Writers: LevelDB or cairn, keeping the model in step                     */

void ldbt_w_write(ldbt_run *r, ldbt_writer *w, size_t id, int live,
                  uint32_t vlen)
{
    unsigned char k[KEY_CAP];
    size_t kl = ldbt_make_key(r, id, k);
    char *err = NULL;
    if (live) {
        r->m[id] = (ldbt_slot){++r->gen, vlen, LIVE};
        ldbt_make_value(r, id, r->gen, vlen, r->vbuf);
    } else {
        r->m[id].state = DEAD;
    }
    if (w->cdb != NULL && w->in_batch)
        compat_cairn_ok(live ? cairn_batch_put(w->cb, k, kl, r->vbuf, vlen)
                             : cairn_batch_delete(w->cb, k, kl),
                        "cairn batch");
    else if (w->cdb != NULL)
        compat_cairn_ok(live ? cairn_db_put(w->cdb, NULL, k, kl, r->vbuf, vlen)
                             : cairn_db_delete(w->cdb, NULL, k, kl),
                        "cairn write");
    else if (w->in_batch && live)
        leveldb_writebatch_put(w->lb, (char *)k, kl, (char *)r->vbuf, vlen);
    else if (w->in_batch)
        leveldb_writebatch_delete(w->lb, (char *)k, kl);
    else if (live)
        leveldb_put(w->ldb, w->lwo, (char *)k, kl, (char *)r->vbuf, vlen, &err);
    else
        leveldb_delete(w->ldb, w->lwo, (char *)k, kl, &err);
    compat_ldb_check(err, "write");
}

static void w_commit(ldbt_writer *w)
{
    char *err = NULL;
    if (w->cdb != NULL) {
        compat_cairn_ok(cairn_db_write(w->cdb, NULL, w->cb), "cairn_db_write");
        compat_cairn_ok(cairn_batch_clear(w->cb), "cairn_batch_clear");
    } else {
        leveldb_write(w->ldb, w->lwo, w->lb, &err);
        compat_ldb_check(err, "write batch");
        leveldb_writebatch_clear(w->lb);
    }
    w->in_batch = 0;
}

uint32_t ldbt_value_len(ldbt_run *r, int big)
{
    uint64_t x = tu_rng_uniform(&r->rng, 3000);
    if (big || x == 0)
        return 33000u + (uint32_t)tu_rng_uniform(&r->rng, BIG_MAX - 33000u);
    if (x < 75)
        return 0;
    return 10u + (uint32_t)tu_rng_uniform(&r->rng, 291);
}

/* A new key (70%), an overwrite (18%), a delete of a written key (9%) or
 * of any key (3%). */
static void random_op(ldbt_run *r, ldbt_writer *w, int big)
{
    uint64_t x = tu_rng_uniform(&r->rng, 100);
    if (r->next_new < r->nids && (x < 70 || r->next_new == 0))
        ldbt_w_write(r, w, r->perm[r->next_new++], 1, ldbt_value_len(r, big));
    else if (x < 88 || big)
        ldbt_w_write(r, w, r->perm[tu_rng_uniform(&r->rng, r->next_new)], 1,
                     ldbt_value_len(r, big));
    else if (x < 97)
        ldbt_w_write(r, w, r->perm[tu_rng_uniform(&r->rng, r->next_new)], 0, 0);
    else
        ldbt_w_write(r, w, (size_t)tu_rng_uniform(&r->rng, r->nids), 0, 0);
}

void ldbt_workload(ldbt_run *r, ldbt_writer *w, size_t nops, int big)
{
    int single_big = big;
    for (size_t i = 0; i < nops;) {
        if (i == 0 || tu_rng_uniform(&r->rng, 10) == 0) {
            size_t n = 2 + (size_t)tu_rng_uniform(&r->rng, 40);
            w->in_batch = 1;
            for (size_t j = 0; j < n; j++)
                random_op(r, w, big && i == 0 && j == n / 2);
            w_commit(w);
            i += n;
        } else {
            random_op(r, w, single_big);
            single_big = 0;
            i++;
        }
    }
}

int ldbt_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* ---------------------------------------------------------------------- */
/* Opening each engine with the configuration's options                     */

void ldbt_ldb_open(ldbt_session *s, const ldbt_config *cfg, const char *dir,
                   int create)
{
    char *err = NULL;
    s->o = leveldb_options_create();
    leveldb_options_set_create_if_missing(s->o, (uint8_t)create);
    leveldb_options_set_paranoid_checks(s->o, 1);
    leveldb_options_set_write_buffer_size(s->o, LDB_BUFFER);
    leveldb_options_set_max_file_size(s->o, LDB_FILE);
    leveldb_options_set_compression(s->o, cfg->snappy
                                              ? leveldb_snappy_compression
                                              : leveldb_no_compression);
    s->fp = cfg->bloom ? leveldb_filterpolicy_create_bloom(10) : NULL;
    if (s->fp != NULL)
        leveldb_options_set_filter_policy(s->o, s->fp);
    s->ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(s->ro, 1);
    s->db = leveldb_open(s->o, dir, &err);
    compat_ldb_check(err, "open");
    assert_non_null(s->db);
}

void ldbt_ldb_close(ldbt_session *s)
{
    leveldb_close(s->db);
    leveldb_readoptions_destroy(s->ro);
    leveldb_options_destroy(s->o);
    if (s->fp != NULL)
        leveldb_filterpolicy_destroy(s->fp);
}

cairn_db *ldbt_cdb_open(const ldbt_config *cfg, const char *dir)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_paranoid_checks(o, 1), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, CAIRN_BUFFER), 0);
    assert_int_equal(
        cairn_options_set_compression(o, cfg->snappy ? CAIRN_COMPRESSION_SNAPPY
                                                     : CAIRN_COMPRESSION_NONE),
        0);
    assert_int_equal(
        cairn_options_set_bloom_bits_per_key(o, cfg->bloom ? 10 : 0), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(o, dir, &db);
    cairn_options_destroy(o);
    compat_cairn_ok(rc, "cairn_db_open");
    return db;
}

int ldbt_levels(leveldb_t *ldb, cairn_db *cdb, long n[NLEVELS])
{
    char name[64], line[128];
    int deep = 0, off = 0;
    for (int i = 0; i < NLEVELS; i++) {
        char *v;
        snprintf(name, sizeof name, "%s.num-files-at-level%d",
                 ldb != NULL ? "leveldb" : "cairn", i);
        v = ldb != NULL ? leveldb_property_value(ldb, name)
                        : cairn_db_property(cdb, name);
        if (v == NULL)
            fail_msg("property %s unknown", name);
        n[i] = strtol(v, NULL, 10);
        if (ldb != NULL)
            leveldb_free(v);
        else
            cairn_free(v);
        deep += i > 0 && n[i] > 0;
        off += snprintf(line + off, sizeof line - (size_t)off, " %ld", n[i]);
    }
    print_message("  %s files per level:%s\n", ldb ? "LevelDB" : "cairn", line);
    return deep;
}

void ldbt_watch_tables(cairn_db *db, ldbt_tables *t)
{
    char *text = cairn_db_property(db, "cairn.sstables"), *save = NULL;
    if (text == NULL)
        fail_msg("property cairn.sstables unknown");
    int level = -1;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned long long num;
        if (sscanf(line, "--- level %d", &level) == 1 ||
            sscanf(line, " %llu:", &num) != 1)
            continue;
        t->max = num > t->max ? num : t->max;
        if (level != 0 || num <= t->floor)
            continue;
        size_t i = 0;
        while (i < t->nflushed && t->seen[i] != num)
            i++;
        if (i == t->nflushed && i < sizeof t->seen / sizeof t->seen[0])
            t->seen[t->nflushed++] = num;
    }
    cairn_free(text);
}

int ldbt_rename_tables(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcmp(e->d_name + n - 4, ".ldb") != 0)
            continue;
        char a[4096], b[4096];
        snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
        snprintf(b, sizeof b, "%s/%.*s.sst", dir, (int)(n - 4), e->d_name);
        assert_int_equal(rename(a, b), 0);
        count++;
    }
    closedir(d);
    return count;
}
