/*
 * ldb_log.c: see ldb_log.h. Test-only code.
 */
#include "ldb_log.h"

#include "compat_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define LDB_BUFFER (256u * 1024u * 1024u)
#define KEY_MAX    32 /* key bytes shown in a failure */

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

void ldbl_model_set(ldbl_model *m, const void *k, size_t kl, const void *v,
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
        m->e[lo] = (ldbl_entry){xdup(k, kl), NULL, kl, 0, 0};
    }
    ldbl_entry *e = &m->e[lo];
    free(e->val);
    e->val = live ? xdup(v, vl) : NULL;
    e->vlen = live ? vl : 0;
    e->live = live;
}

void ldbl_model_fini(ldbl_model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].key);
        free(m->e[i].val);
    }
    free(m->e);
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
    compat_ldb_check(err, "open");
    assert_non_null(db);
    return db;
}

cairn_db *ldbl_cdb_open(const char *dir, int create)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_paranoid_checks(o, 1), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(o, dir, &db);
    cairn_options_destroy(o);
    compat_cairn_ok(rc, dir);
    return db;
}

void ldbl_target_open(ldbl_target *t, ldbl_model *m, int is_cairn,
                      const char *dir, int create, int sync)
{
    memset(t, 0, sizeof *t);
    t->is_cairn = is_cairn;
    t->m = m;
    if (is_cairn) {
        t->cdb = ldbl_cdb_open(dir, create);
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

void ldbl_target_close(ldbl_target *t)
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

void ldbl_t_op(ldbl_target *t, int in_batch, const void *k, size_t kl,
               const void *v, size_t vl, int live)
{
    ldbl_model_set(t->m, k, kl, v, vl, live);
    char *err = NULL;
    if (t->is_cairn && in_batch)
        compat_cairn_ok(live ? cairn_batch_put(t->cb, k, kl, v, vl)
                             : cairn_batch_delete(t->cb, k, kl),
                        "batch");
    else if (t->is_cairn)
        compat_cairn_ok(live ? cairn_db_put(t->cdb, t->cwo, k, kl, v, vl)
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
    compat_ldb_check(err, "write");
}

void ldbl_t_commit(ldbl_target *t)
{
    char *err = NULL;
    if (t->is_cairn) {
        compat_cairn_ok(cairn_db_write(t->cdb, t->cwo, t->cb),
                        "cairn_db_write");
        compat_cairn_ok(cairn_batch_clear(t->cb), "cairn_batch_clear");
    } else {
        leveldb_write(t->ldb, t->lwo, t->lb, &err);
        compat_ldb_check(err, "write batch");
        leveldb_writebatch_clear(t->lb);
    }
}

static void fail_key(const ldbl_entry *e, const char *what)
{
    char hex[2 * KEY_MAX + 1] = "";
    for (size_t i = 0; i < e->klen && i < KEY_MAX; i++)
        snprintf(hex + 2 * i, 3, "%02x", e->key[i]);
    fail_msg("key %s (%zu bytes): %s", hex, e->klen, what);
}

void ldbl_verify_cairn(const char *dir, const ldbl_model *m)
{
    cairn_db *db = ldbl_cdb_open(dir, 0);
    for (size_t i = 0; i < m->n; i++) {
        const ldbl_entry *e = &m->e[i];
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

void ldbl_verify_leveldb(const char *dir, const ldbl_model *m)
{
    leveldb_t *db = ldb_open(dir, 0);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(ro, 1);
    char *err = NULL;
    size_t live = 0, kl, vl;
    for (size_t i = 0; i < m->n; i++) {
        const ldbl_entry *e = &m->e[i];
        char *v = leveldb_get(db, ro, (const char *)e->key, e->klen, &vl, &err);
        compat_ldb_check(err, "get");
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
            const ldbl_entry *e = &m->e[fwd ? i++ : --i];
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
    compat_ldb_check(err, "iterator");
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(ro);
    leveldb_close(db);
}

int ldbl_count_suffix(const char *dir, const char *suffix, unsigned long *hi)
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

void ldbl_assert_no_tables(const char *dir)
{
    unsigned long hi;
    if (ldbl_count_suffix(dir, ".ldb", &hi) +
            ldbl_count_suffix(dir, ".sst", &hi) >
        0)
        fail_msg("test precondition broken: LevelDB wrote a table in %s", dir);
}
