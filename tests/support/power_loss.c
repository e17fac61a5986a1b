/*
 * power_loss.c: see power_loss.h. Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "power_loss.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t pl_make_key(const pl_run *r, char *buf, int k)
{
    return (size_t)snprintf(buf, 16, "%s%02d", r->tun->key_prefix, k);
}

size_t pl_make_value(const pl_run *r, char *buf, uint32_t id)
{
    int n = snprintf(buf, 32, "v%" PRIu32 "|", id);
    uint32_t h = id * 2654435761u;
    size_t pad = h % r->tun->pad_mod;
    if ((h >> 8) % r->tun->big_one_in == 0)
        pad = 2000 + (h >> 12) % 40000;
    for (size_t p = 0; p < pad; p++)
        buf[(size_t)n + p] = (char)('a' + (h + p * 7) % 26);
    return (size_t)n + pad;
}

static void apply(pl_state *s, const pl_op *o)
{
    for (int j = 0; j < o->n; j++)
        s->v[o->key[j]] = o->del[j] ? 0 : o->opno * 8 + (uint32_t)j + 1;
}

static void gen_op(pl_run *r, pl_op *o)
{
    const pl_tuning *t = r->tun;
    unsigned p = (unsigned)tu_rng_uniform(&r->rng, 100);
    o->opno = r->next_opno++;
    o->sync = tu_rng_uniform(&r->rng, t->sync_one_in) == 0;
    o->kind = p < t->put_below      ? 0
              : p < t->delete_below ? 1
              : p < t->batch_below  ? 2
                                    : 3;
    o->n = o->kind == 2   ? 2 + (int)tu_rng_uniform(&r->rng, PL_MAX_ENTRIES - 1)
           : o->kind == 3 ? 0
                          : 1;
    if (o->kind == 3)
        o->sync = 1;
    for (int j = 0; j < o->n; j++) {
        o->key[j] = (int)tu_rng_uniform(&r->rng, (uint64_t)t->nkeys);
        o->del[j] =
            o->kind == 1 || (o->kind == 2 && tu_rng_uniform(&r->rng, 4) == 0);
    }
}

int pl_do_op(pl_run *r, const pl_op *o)
{
    const cairn_writeoptions *wo = o->sync ? r->sync : NULL;
    char key[16];
    if (o->kind == 0)
        return cairn_db_put(r->db, wo, key, pl_make_key(r, key, o->key[0]),
                            r->val, pl_make_value(r, r->val, o->opno * 8 + 1));
    if (o->kind == 1)
        return cairn_db_delete(r->db, wo, key, pl_make_key(r, key, o->key[0]));
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    for (int j = 0; j < o->n; j++) {
        size_t kl = pl_make_key(r, key, o->key[j]);
        uint32_t id = o->opno * 8 + (uint32_t)j + 1;
        int rc = o->del[j] ? cairn_batch_delete(b, key, kl)
                           : cairn_batch_put(b, key, kl, r->val,
                                             pl_make_value(r, r->val, id));
        assert_int_equal(rc, 0);
    }
    int rc = cairn_db_write(r->db, wo, b);
    cairn_batch_destroy(b);
    return rc;
}

int pl_step(pl_run *r)
{
    assert_true(r->nhist < PL_MAX_HIST);
    pl_op *o = &r->hist[r->nhist];
    gen_op(r, o);
    int rc = pl_do_op(r, o);
    o->acked = rc == 0;
    r->nhist++;
    if (rc == 0) {
        r->nacked = r->nhist;
        if (o->sync)
            r->must = r->nhist;
    }
    return rc;
}

uint64_t pl_failing_put(pl_run *r, int torn, size_t min_value, size_t *partial)
{
    uint64_t nth = 1;
    *partial = 0;
    if (torn) {
        nth = 1 + tu_rng_uniform(&r->rng, 2);
        *partial = nth == 1 ? 1 + tu_rng_uniform(&r->rng, 6)
                            : 1 + tu_rng_uniform(&r->rng, 60);
        cairn__env_fault_set_partial(r->fault, *partial);
    }
    assert_int_equal(
        cairn__env_fault_arm(r->fault,
                             torn ? CAIRN__FAULT_WRITE : CAIRN__FAULT_SYNC, nth,
                             CAIRN_IO, 0),
        0);
    assert_true(r->nhist < PL_MAX_HIST);
    pl_op *o = &r->hist[r->nhist];
    while (pl_make_value(r, r->val, r->next_opno * 8 + 1) < min_value)
        r->next_opno++;
    *o = (pl_op){.kind = 0, .sync = !torn, .n = 1, .opno = r->next_opno++};
    o->key[0] = (int)tu_rng_uniform(&r->rng, (uint64_t)r->tun->nkeys);
    int rc = pl_do_op(r, o);
    if (rc != CAIRN_IO)
        fail_msg("%s: the failing put gave %s (%s), not CAIRN_IO", r->where,
                 cairn_errname(rc), cairn_errmsg());
    r->nhist++;
    cairn__env_fault_disarm_all(r->fault);
    cairn__env_fault_set_partial(r->fault, 0);
    return nth;
}

void pl_run_ops(pl_run *r, int n)
{
    for (int i = 0; i < n && r->nhist < PL_MAX_HIST; i++) {
        int rc = pl_step(r);
        if (rc != 0)
            fail_msg("%s: op %" PRIu32 " failed: %s (%s)", r->where,
                     r->hist[r->nhist - 1].opno, cairn_errname(rc),
                     cairn_errmsg());
    }
}

const pl_tuning pl_tuning_small = {
    .nkeys = 32,
    .key_prefix = "k",
    .pad_mod = 80,
    .big_one_in = 16, /* spans log blocks */
    .sync_one_in = 5,
    .put_below = 45,
    .delete_below = 58,
    .batch_below = 95,
};

void pl_run_iter(pl_run *r, uint64_t seed, int it, uint64_t stride)
{
    char what[64];
    snprintf(what, sizeof what, "iteration %d", it);
    pl_run_init(r, &pl_tuning_small, seed + (uint64_t)it * stride, seed, what);
}

int pl_open(pl_run *r, int create, int paranoid)
{
    const pl_tuning *t = r->tun;
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_env(o, r->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_paranoid_checks(o, paranoid), 0);
    assert_int_equal(cairn_options_set_spare_log(o, !r->no_spare), 0);
    if (t->write_buffer_size != 0)
        assert_int_equal(
            cairn_options_set_write_buffer_size(o, t->write_buffer_size), 0);
    if (t->vary_compression)
        assert_int_equal(cairn_options_set_compression(
                             o, r->seed & 2 ? CAIRN_COMPRESSION_SNAPPY
                                            : CAIRN_COMPRESSION_NONE),
                         0);
    assert_int_equal(cairn_options_set_info_log(o, (int)(r->seed & 1)), 0);
    int rc = cairn_db_open(o, "/db", &r->db);
    cairn_options_destroy(o);
    return rc;
}

void pl_run_init(pl_run *r, const pl_tuning *t, uint64_t seed,
                 uint64_t test_seed, const char *what)
{
    assert_true(t->nkeys > 0 && t->nkeys <= PL_MAX_KEYS);
    memset(r, 0, sizeof *r);
    r->tun = t;
    r->seed = seed;
    tu_rng_init(&r->rng, seed);
    r->mem = cairn_env_mem_create();
    assert_non_null(r->mem);
    assert_int_equal(cairn__env_fault_create(r->mem, &r->fault), 0);
    r->env = r->fault;
    r->sync = cairn_writeoptions_create();
    assert_non_null(r->sync);
    assert_int_equal(cairn_writeoptions_set_sync(r->sync, 1), 0);
    r->val = malloc(PL_VAL_MAX);
    assert_non_null(r->val);
    snprintf(r->where, sizeof r->where, "%s (CAIRN_TEST_SEED=%" PRIu64 ")",
             what, test_seed);
}

void pl_run_fini(pl_run *r)
{
    if (r->db != NULL)
        assert_int_equal(cairn_db_close(r->db), 0);
    cairn_writeoptions_destroy(r->sync);
    if (r->env != r->fault)
        cairn_env_destroy(r->env);
    cairn_env_destroy(r->fault);
    cairn_env_destroy(r->mem);
    free(r->val);
}

void pl_revive(pl_run *r)
{
    (void)cairn_db_close(r->db); /* errors expected: the env is dead */
    r->db = NULL;
    cairn__env_fault_reset(r->fault);
}

void pl_cut(pl_run *r, unsigned modes)
{
    int rc = cairn__env_fault_power_cut(r->fault, modes, tu_rng_next(&r->rng));
    if (rc != 0)
        fail_msg("%s: power cut: %s (%s)", r->where, cairn_errname(rc),
                 cairn_errmsg());
    pl_revive(r);
}

void pl_reopen(pl_run *r, int paranoid, const char *when)
{
    int rc = pl_open(r, 0, paranoid);
    if (rc != 0)
        fail_msg("%s: %s: reopen (paranoid %d) failed: %s (%s)", r->where, when,
                 paranoid, cairn_errname(rc), cairn_errmsg());
}

/* Reads every key with get (and, when the tuning says so, scans: the two
 * must agree). A value that is not exactly one the workload wrote to that
 * key fails at once; the ids go to obs. */
static void observe(pl_run *r, pl_state *obs)
{
    const int nkeys = r->tun->nkeys;
    char key[16];
    memset(obs, 0, sizeof *obs);
    for (int k = 0; k < nkeys; k++) {
        void *got = NULL;
        size_t len = 0;
        int rc =
            cairn_db_get(r->db, NULL, key, pl_make_key(r, key, k), &got, &len);
        if (rc == CAIRN_NOTFOUND)
            continue;
        if (rc != 0)
            fail_msg("%s: get %s: %s (%s)", r->where, key, cairn_errname(rc),
                     cairn_errmsg());
        uint32_t id = 0;
        char head[24];
        size_t hl = len < sizeof head - 1 ? len : sizeof head - 1;
        memcpy(head, got, hl);
        head[hl] = '\0';
        if (sscanf(head, "v%" SCNu32 "|", &id) != 1 || id == 0 ||
            pl_make_value(r, r->val, id) != len ||
            memcmp(got, r->val, len) != 0)
            fail_msg("%s: key %s holds a value never written ('%.*s', %zu "
                     "bytes)",
                     r->where, key, (int)hl, head, len);
        obs->v[k] = id;
        cairn_free(got);
    }
    if (!r->tun->scan)
        return;
    cairn_iter *it = cairn_db_iter_create(r->db, NULL);
    assert_non_null(it);
    int k = 0;
    for (cairn_iter_seek_first(it); cairn_iter_valid(it); cairn_iter_next(it)) {
        size_t kl, vl;
        const char *kp = cairn_iter_key(it, &kl);
        const char *vp = cairn_iter_value(it, &vl);
        while (k < nkeys && obs->v[k] == 0)
            k++;
        size_t want = k < nkeys ? pl_make_key(r, key, k) : 0;
        if (k == nkeys || kl != want || memcmp(kp, key, kl) != 0)
            fail_msg("%s: scan yields key '%.*s' where gets give %s", r->where,
                     (int)(kl < 16 ? kl : 16), kp,
                     k < nkeys ? key : "no more keys");
        if (pl_make_value(r, r->val, obs->v[k]) != vl ||
            memcmp(vp, r->val, vl) != 0)
            fail_msg("%s: scan and get disagree on the value of %s", r->where,
                     key);
        k++;
    }
    assert_int_equal(cairn_iter_status(it), 0);
    while (k < nkeys && obs->v[k] == 0)
        k++;
    if (k < nkeys) {
        pl_make_key(r, key, k);
        fail_msg("%s: scan misses key %s, which get finds", r->where, key);
    }
    cairn_iter_destroy(it);
}

void pl_check_prefix(pl_run *r, int all, const char *when)
{
    pl_state obs, s = r->base;
    observe(r, &obs);
    int lo = all ? r->nacked : r->must, found = -1;
    for (int p = 0; p <= r->nhist; p++) {
        if (p >= lo && memcmp(&s, &obs, sizeof s) == 0) {
            found = p;
            break;
        }
        if (p < r->nhist)
            apply(&s, &r->hist[p]);
    }
    if (found < 0) {
        /* Name the first key that differs from the smallest allowed
         * prefix, to start the diagnosis. */
        pl_state m = r->base;
        for (int p = 0; p < lo; p++)
            apply(&m, &r->hist[p]);
        int k = 0;
        while (k < r->tun->nkeys - 1 && m.v[k] == obs.v[k])
            k++;
        char key[16];
        pl_make_key(r, key, k);
        fail_msg("%s: %s: recovered state is not the state after any prefix "
                 "of %d..%d of the %d ops (%d acknowledged, the last sync one "
                 "is #%d); e.g. key %s holds id %" PRIu32
                 ", prefix %d gives %" PRIu32,
                 r->where, when, lo, r->nhist, r->nhist, r->nacked, r->must,
                 key, obs.v[k], lo, m.v[k]);
    }
    r->base = obs;
    r->nhist = r->must = r->nacked = 0;
}
