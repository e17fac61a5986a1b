/*
 * group_log.c: see group_log.h. Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "group_log.h"

#include "db/batch.h"
#include "db/db_impl.h"
#include "env/env.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One put of key with a value sized so the batch encodes to `size` bytes:
 * 12 header + 1 tag + 1 + key + 2 (varint of value length) + value. */
cairn_batch *gl_sized_batch(const char *key, size_t size)
{
    size_t fixed = 12 + 1 + 1 + strlen(key) + 2;
    assert_true(size >= fixed + 128 && size < fixed + 16384);
    cairn_batch *b = make_batch(key, size - fixed);
    assert_int_equal(cairn_batch_approximate_size(b), size);
    return b;
}

/* Runs the standard scenario: jobs[0] leads and blocks at the gate, the
 * others queue behind it in order, then the gate opens. */
void gl_run_queued(gate_env *g, cairn_db *db, job *jobs, int n,
                   cairn_batch **batches, const int *sync)
{
    gate_close(g, GATE_FLUSH);
    start_job(&jobs[0], db, batches[0], sync[0], 0);
    gate_wait_blocked(g, GATE_FLUSH, 1);
    for (int i = 1; i < n; i++) {
        start_job(&jobs[i], db, batches[i], sync[i], 0);
        wait_queued(db, (size_t)i + 1);
    }
    gate_open(g, GATE_FLUSH);
    for (int i = 0; i < n; i++)
        if (join_job(&jobs[i]) != 0)
            fail_msg("writer %d: %s", i, jobs[i].msg);
}

static int collect_key(void *ctx, cairn__slice key, cairn__slice value)
{
    (void)value;
    gl_record *r = ctx;
    size_t len = strlen(r->keys);
    snprintf(r->keys + len, sizeof r->keys - len, "%s%.*s", len ? "," : "",
             (int)key.size, key.data);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every record of every log in the database, oldest log first. */
size_t gl_read_logs(gate_env *g, gl_record *out, size_t cap)
{
    cairn_env *env = g->inner;
    cairn__strlist names = {0};
    assert_int_equal(env->ops->list(env, DBNAME, &names), 0);
    qsort(names.names, names.n, sizeof names.names[0], by_name);
    size_t n = 0;
    for (size_t i = 0; i < names.n; i++) {
        if (!gate_is_log(names.names[i]))
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s/%s", DBNAME, names.names[i]);
        cairn__file *f = NULL;
        assert_int_equal(env->ops->open_read(env, path, &f), 0);
        cairn__log_reader r;
        assert_int_equal(cairn__log_reader_init(&r, f, NULL, NULL, 1, 0), 0);
        cairn__slice rec;
        int got;
        while ((got = cairn__log_read_record(&r, &rec)) == 1) {
            assert_true(n < cap);
            assert_true(rec.size >= CAIRN__BATCH_HEADER);
            memset(&out[n], 0, sizeof out[n]);
            out[n].seq = cairn__batch_rep_seq(rec);
            out[n].count = cairn__batch_rep_count(rec);
            cairn__batch_handler h = {&out[n], collect_key, NULL};
            assert_int_equal(cairn__batch_rep_iterate(rec, &h), 0);
            n++;
        }
        assert_int_equal(got, 0);
        cairn__log_reader_fini(&r);
        assert_int_equal(cairn__file_close(f), 0);
    }
    cairn__strlist_fini(&names);
    return n;
}

/* Checks that the log's records, from the one holding first_key on, are
 * exactly `want` (each a comma-separated key list), with consecutive
 * sequence numbers. */
void gl_expect_groups(gate_env *g, const char *const *want, size_t nwant)
{
    gl_record recs[64];
    size_t n = gl_read_logs(g, recs, 64);
    size_t start = 0;
    while (start < n && strcmp(recs[start].keys, want[0]) != 0)
        start++;
    if (n - start != nwant) {
        for (size_t i = 0; i < n; i++)
            print_message("record %zu: seq %llu count %u keys %s\n", i,
                          (unsigned long long)recs[i].seq, recs[i].count,
                          recs[i].keys);
        fail_msg("expected %zu records from \"%s\" on, found %zu", nwant,
                 want[0], n - start);
    }
    for (size_t i = 0; i < nwant; i++) {
        const gl_record *r = &recs[start + i];
        if (strcmp(r->keys, want[i]) != 0)
            fail_msg("record %zu: keys \"%s\", expected \"%s\"", i, r->keys,
                     want[i]);
        if (i > 0)
            assert_int_equal(r->seq, recs[start + i - 1].seq +
                                         recs[start + i - 1].count);
    }
}

void gl_destroy_batches(cairn_batch **b, int n)
{
    for (int i = 0; i < n; i++)
        cairn_batch_destroy(b[i]);
}

/* The number after `label` in cairn.write-stats. */
uint64_t gl_write_stat(cairn_db *db, const char *label)
{
    char *s = cairn_db_property(db, "cairn.write-stats");
    assert_non_null(s);
    const char *p = strstr(s, label);
    if (p == NULL)
        fail_msg("no \"%s\" in write-stats:\n%s", label, s);
    unsigned long long v = 0;
    assert_int_equal(sscanf(p + strlen(label), " %llu", &v), 1);
    cairn_free(s);
    return v;
}
