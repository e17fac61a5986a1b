/*
 * fault_db.c: see fault_db.h. Test-only code.
 */
/* Engine headers come before cmocka.h, whose skip() macro would clash. */
#include "fault_db.h"

#include "db/filename.h"
#include "env/env_fault.h"
#include "version/edit.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t fdb_seed;

size_t fdb_make_key(char *buf, int k)
{
    return (size_t)snprintf(buf, 16, "key%04d", k);
}

size_t fdb_make_value(char *buf, uint32_t id)
{
    int n = snprintf(buf, FDB_VAL_MAX, "v%" PRIu32 "|", id);
    size_t pad = 100 + (id * 2654435761u) % 250u;
    for (size_t p = 0; p < pad; p++)
        buf[(size_t)n + p] = (char)('a' + (id * 7 + p * p) % 26);
    return (size_t)n + pad;
}

fdb_envs fdb_envs_create(void)
{
    fdb_envs e;
    e.mem = cairn_env_mem_create();
    assert_non_null(e.mem);
    assert_int_equal(cairn__env_fault_create(e.mem, &e.fault), 0);
    return e;
}

void fdb_envs_destroy(fdb_envs *e)
{
    cairn_env_destroy(e->fault);
    cairn_env_destroy(e->mem);
}

int fdb_open_db(cairn_env *env, cairn_db **db)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, 1), 0);
    assert_int_equal(cairn_options_set_info_log(o, 0), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_block_size(o, 1024), 0);
    int rc = cairn_db_open(o, "/db", db);
    cairn_options_destroy(o);
    if (rc != 0)
        *db = NULL;
    return rc;
}

int fdb_db_equals(cairn_db *db, const fdb_model *m, char *why, size_t cap)
{
    char key[16], val[FDB_VAL_MAX];
    for (int k = 0; k < FDB_NKEYS; k++) {
        size_t kl = fdb_make_key(key, k);
        void *got = NULL;
        size_t len = 0;
        int rc = cairn_db_get(db, NULL, key, kl, &got, &len);
        size_t el = m->v[k] ? fdb_make_value(val, m->v[k]) : 0;
        int same = m->v[k] == 0
                       ? rc == CAIRN_NOTFOUND
                       : rc == 0 && len == el && memcmp(got, val, el) == 0;
        if (!same)
            snprintf(why, cap, "get %s: expected %s%" PRIu32 ", got %s", key,
                     m->v[k] ? "v" : "absent ", m->v[k], cairn_errname(rc));
        cairn_free(got);
        if (!same)
            return 0;
    }
    cairn_iter *it = cairn_db_iter_create(db, NULL);
    assert_non_null(it);
    int k = 0, same = 1;
    for (cairn_iter_seek_first(it); same && cairn_iter_valid(it);
         cairn_iter_next(it), k++) {
        while (k < FDB_NKEYS && m->v[k] == 0)
            k++;
        size_t gl, kl = k < FDB_NKEYS ? fdb_make_key(key, k) : 0;
        const void *g = cairn_iter_key(it, &gl);
        same = k < FDB_NKEYS && gl == kl && memcmp(g, key, kl) == 0;
    }
    while (same && k < FDB_NKEYS && m->v[k] == 0)
        k++;
    if (!same || k != FDB_NKEYS || cairn_iter_status(it) != 0) {
        snprintf(why, cap, "scan differs near key %d (status %s)", k,
                 cairn_errname(cairn_iter_status(it)));
        same = 0;
    }
    cairn_iter_destroy(it);
    return same;
}

static int has_table(const fdb_manifest *m, uint64_t n)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->tables[i] == n)
            return 1;
    return 0;
}

static void drop_table(fdb_manifest *m, uint64_t n)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (m->tables[i] == n)
            m->tables[i--] = m->tables[--m->ntables];
}

/* Replays the MANIFEST, as recovery would, into m. */
static void read_manifest(cairn_env *env, fdb_manifest *m, const char *label)
{
    memset(m, 0, sizeof *m);
    char *cur = NULL, path[64];
    size_t len;
    if (cairn__env_read_file(env, "/db/CURRENT", 4096, &cur, &len) != 0 ||
        strncmp(cur, "MANIFEST-", 9) != 0)
        fail_msg("%s: CURRENT unreadable: %s", label, cairn_errmsg());
    m->number = strtoull(cur + 9, NULL, 10);
    free(cur);
    snprintf(path, sizeof path, "/db/MANIFEST-%06" PRIu64, m->number);
    cairn__file *f;
    if (env->ops->open_read(env, path, &f) != 0)
        fail_msg("%s: %s named by CURRENT is missing", label, path);
    cairn__log_reader rd;
    assert_int_equal(cairn__log_reader_init(&rd, f, NULL, NULL, 1, 0), 0);
    cairn__edit e;
    cairn__edit_init(&e);
    cairn__slice rec;
    int rc;
    while ((rc = cairn__log_read_record(&rd, &rec)) == 1) {
        if (cairn__edit_decode(&e, rec) != 0)
            fail_msg("%s: bad MANIFEST record: %s", label, cairn_errmsg());
        if (e.has_log_number)
            m->log_number = e.log_number;
        if (e.has_prev_log_number)
            m->prev_log = e.prev_log_number;
        for (size_t i = 0; i < e.ndeleted; i++)
            drop_table(m, e.deleted[i].number);
        for (size_t i = 0; i < e.nfiles; i++) {
            assert_true(m->ntables < 512);
            m->tables[m->ntables++] = e.files[i].meta.number;
        }
    }
    assert_int_equal(rc, 0);
    cairn__edit_fini(&e);
    cairn__log_reader_fini(&rd);
    assert_int_equal(cairn__file_close(f), 0);
}

void fdb_version_tables(cairn_db *db, fdb_manifest *v)
{
    memset(v, 0, sizeof *v);
    char *s = cairn_db_property(db, "cairn.sstables");
    assert_non_null(s);
    for (char *p = s; (p = strchr(p, '\n')) != NULL;) {
        char *end;
        p++;
        uint64_t num = strtoull(p, &end, 10);
        if (*p == ' ' && *end == ':' && v->ntables < 512)
            v->tables[v->ntables++] = num;
    }
    cairn_free(s);
}

static void must_exist(cairn_env *env, const fdb_manifest *m, const char *whose,
                       const char *label, const char *when)
{
    char path[64];
    for (size_t i = 0; i < m->ntables; i++) {
        snprintf(path, sizeof path, "/db/%06" PRIu64 ".ldb", m->tables[i]);
        if (env->ops->exists(env, path) != 1)
            fail_msg("%s: %s: table %s named by %s was deleted (seed %" PRIu64
                     ")",
                     label, when, path, whose, fdb_seed);
    }
}

int fdb_check_files(cairn_env *env, const fdb_manifest *live, const char *label,
                    const char *when, char *list, size_t cap)
{
    fdb_manifest m;
    read_manifest(env, &m, label);
    must_exist(env, &m, "the MANIFEST", label, when);
    if (live != NULL)
        must_exist(env, live, "the running version", label, when);
    cairn__strlist names = {NULL, 0};
    assert_int_equal(env->ops->list(env, "/db", &names), 0);
    int extra = 0;
    list[0] = '\0';
    for (size_t i = 0; i < names.n; i++) {
        uint64_t n;
        enum cairn__file_type t;
        if (!cairn__filename_parse(names.names[i], &n, &t))
            continue;
        if ((t == CAIRN__FILE_TABLE && !has_table(&m, n) &&
             (live == NULL || !has_table(live, n))) ||
            (t == CAIRN__FILE_DESCRIPTOR && n != m.number) ||
            (t == CAIRN__FILE_LOG && n < m.log_number && n != m.prev_log) ||
            t == CAIRN__FILE_TEMP) {
            size_t used = strlen(list);
            snprintf(list + used, cap - used, " %s", names.names[i]);
            extra++;
        }
    }
    cairn__strlist_fini(&names);
    return extra;
}

void fdb_expect_model(cairn_db *db, const char *when, const char *label,
                      const void *ctx)
{
    char why[200];
    if (!fdb_db_equals(db, ctx, why, sizeof why))
        fail_msg("%s: %s: %s (seed %" PRIu64 ")", label, when, why, fdb_seed);
}

void fdb_recover(fdb_envs *e, fdb_check_fn *check, const void *ctx,
                 const char *label)
{
    cairn__env_fault_disarm_all(e->fault);
    cairn__env_fault_set_partial(e->fault, 0);
    cairn_db *db = NULL;
    int rc = fdb_open_db(e->fault, &db);
    if (rc != 0)
        fail_msg("%s: reopen with a healthy env: %s: %s (seed %" PRIu64 ")",
                 label, cairn_errname(rc), cairn_errmsg(), fdb_seed);
    check(db, "after reopen", label, ctx);
    rc = cairn_db_compact_range(db, NULL, 0, NULL, 0);
    if (rc != 0)
        fail_msg("%s: compaction after reopen: %s: %s", label,
                 cairn_errname(rc), cairn_errmsg());
    check(db, "after reopen and compaction", label, ctx);
    cairn_writeoptions *wo = cairn_writeoptions_create();
    assert_non_null(wo);
    assert_int_equal(cairn_writeoptions_set_sync(wo, 1), 0);
    assert_int_equal(cairn_db_put(db, wo, "after", 5, "ok", 2), 0);
    cairn_writeoptions_destroy(wo);
    assert_int_equal(cairn_db_close(db), 0);
    /* Checked once the handle is closed: before, a background compaction
     * may sit between its MANIFEST record and deleting its inputs. */
    char list[300];
    if (fdb_check_files(e->mem, NULL, label, "after a healthy reopen", list,
                        sizeof list) != 0)
        fail_msg("%s: obsolete files survived a healthy open and close:%s",
                 label, list);
}
