/*
 * test_api_badinput.c: every function of include/cairn.h against the bad
 * inputs the header promises to refuse, and the edge cases it promises to
 * accept.
 *
 * What "refused" means here: the documented code (CAIRN_INVALID unless the
 * header names another), a message of the call's own in cairn_errmsg(), no
 * change to the object involved, and nothing ASan or UBSan can see. The
 * message check primes the thread's message with a known failure first, so
 * a call that returns the right code but leaves a stale message is caught.
 * Over-long lengths are passed with a pointer to a one-byte buffer: the
 * engine must check the length before it reads, and ASan reports it if not.
 *
 * Databases live in cairn_env_mem_create() environments, so the tests are
 * hermetic; only cairn_db_destroy and cairn_dump_file with a NULL option or
 * env touch the real file system, inside a fresh temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "cairn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_OVER   ((size_t)CAIRN_MAX_KEY_SIZE + 1)
#define VALUE_OVER ((size_t)CAIRN_MAX_VALUE_SIZE + 1)

static const char one[1] = {'x'}; /* the buffer behind over-long lengths */
static char primed[1024];

/* Leaves a known message in the thread (alt picks a second one, for the
 * test of the first primer itself). */
static void prime(int alt)
{
    if (alt)
        (void)cairn_writeoptions_set_sync(NULL, 1);
    else
        (void)cairn_readoptions_set_fill_cache(NULL, 1);
    snprintf(primed, sizeof primed, "%s", cairn_errmsg());
    assert_true(primed[0] != '\0');
}

static void check_err(int want, int got, const char *call, int line)
{
    const char *msg = cairn_errmsg();
    if (got != want)
        fail_msg("line %d: %s returned %s, expected %s (message \"%s\")", line,
                 call, cairn_errname(got), cairn_errname(want), msg);
    if (msg == NULL || msg[0] == '\0' || strcmp(msg, primed) == 0)
        fail_msg("line %d: %s set no message of its own (\"%s\")", line, call,
                 msg ? msg : "(null)");
}

#define EXPECT_ERR_P(alt, code, call)                                          \
    do {                                                                       \
        prime(alt);                                                            \
        int expect_rc_ = (call);                                               \
        check_err((code), expect_rc_, #call, __LINE__);                        \
    } while (0)
#define EXPECT_ERR(code, call) EXPECT_ERR_P(0, code, call)
#define EXPECT_INVALID(call)   EXPECT_ERR(CAIRN_INVALID, call)

/* A fresh in-memory environment and options that use it. */
typedef struct fixture {
    cairn_env *env;
    cairn_options *opt; /* create_if_missing, no info log */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->env = cairn_env_mem_create();
    f->opt = cairn_options_create();
    assert_non_null(f->env);
    assert_non_null(f->opt);
    assert_int_equal(cairn_options_set_env(f->opt, f->env), 0);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 1), 0);
    assert_int_equal(cairn_options_set_info_log(f->opt, 0), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cairn_options_destroy(f->opt);
    cairn_env_destroy(f->env);
    free(f);
    return 0;
}

static cairn_db *open_db(fixture *f, const char *name)
{
    cairn_db *db = NULL;
    int rc = cairn_db_open(f->opt, name, &db);
    if (rc != 0)
        fail_msg("open %s: %s: %s", name, cairn_errname(rc), cairn_errmsg());
    assert_non_null(db);
    return db;
}

/* key must hold value, or be absent when value is NULL. */
static void check_value(cairn_db *db, const void *k, size_t kl, const void *v,
                        size_t vl)
{
    void *got = (void *)one;
    size_t len = 99;
    int rc = cairn_db_get(db, NULL, k, kl, &got, &len);
    if (v == NULL) {
        assert_int_equal(rc, CAIRN_NOTFOUND);
        assert_null(got);
        return;
    }
    if (rc != 0)
        fail_msg("get: %s: %s", cairn_errname(rc), cairn_errmsg());
    assert_non_null(got);
    assert_int_equal(len, vl);
    if (vl > 0)
        assert_memory_equal(got, v, vl);
    cairn_free(got);
}

/* ---------------------------------------------------------------------- */
/* Codes, names, versions, NULL destroyers                                 */

static const struct {
    int code;
    const char *name, *msg;
} codes[] = {
#define CODE_ROW(name, value, msg) {CAIRN_##name, "CAIRN_" #name, msg},
    CAIRN_ERROR_MAP(CODE_ROW)
#undef CODE_ROW
};

static void test_error_names(void **state)
{
    (void)state;
    size_t n = sizeof codes / sizeof codes[0];
    assert_int_equal(n, 11);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(codes[i].code, -(int)(i + 1));
        assert_string_equal(cairn_strerror(codes[i].code), codes[i].msg);
        assert_string_equal(cairn_errname(codes[i].code), codes[i].name);
    }
    assert_string_equal(cairn_errname(CAIRN_OK), "CAIRN_OK");
    assert_non_null(cairn_strerror(CAIRN_OK));
    assert_true(cairn_strerror(CAIRN_OK)[0] != '\0');
    static const int unknown[] = {1, 2, -12, -100, 12, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(cairn_strerror(unknown[i]), "unknown error");
        assert_string_equal(cairn_errname(unknown[i]), "CAIRN_UNKNOWN");
    }
    assert_non_null(cairn_errmsg());
    assert_int_equal(cairn_version_major(), CAIRN_VERSION_MAJOR);
    assert_int_equal(cairn_version_minor(), CAIRN_VERSION_MINOR);
}

static void test_null_destroyers(void **state)
{
    (void)state;
    cairn_options_destroy(NULL);
    cairn_readoptions_destroy(NULL);
    cairn_writeoptions_destroy(NULL);
    cairn_batch_destroy(NULL);
    cairn_env_destroy(NULL);
    cairn_free(NULL);
    assert_int_equal(cairn_db_close(NULL), 0);
    /* The default env is static: destroying it is a no-op, and it still
     * works afterwards. */
    cairn_env *def = cairn_env_default();
    assert_non_null(def);
    cairn_env_destroy(def);
    assert_ptr_equal(cairn_env_default(), def);
    char *dir = tu_tempdir("badinput-env");
    char path[4200];
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(cairn_db_destroy(NULL, path), 0);
    tu_rmtree(dir);
    free(dir);
}

/* ---------------------------------------------------------------------- */
/* Options                                                                  */

static void test_options(void **state)
{
    (void)state;
    EXPECT_INVALID(cairn_options_set_create_if_missing(NULL, 1));
    EXPECT_INVALID(cairn_options_set_error_if_exists(NULL, 1));
    EXPECT_INVALID(cairn_options_set_paranoid_checks(NULL, 1));
    EXPECT_INVALID(cairn_options_set_write_buffer_size(NULL, 1u << 20));
    EXPECT_INVALID(cairn_options_set_env(NULL, NULL));
    EXPECT_INVALID(cairn_options_set_info_log(NULL, 0));
    EXPECT_INVALID(cairn_readoptions_set_verify_checksums(NULL, 1));
    EXPECT_ERR_P(1, CAIRN_INVALID, cairn_readoptions_set_fill_cache(NULL, 0));
    EXPECT_INVALID(cairn_writeoptions_set_sync(NULL, 1));

    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    static const size_t bad[] = {
        0, 1, 64 * 1024 - 1, (1u << 30) + 1, SIZE_MAX / 2, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_INVALID(cairn_options_set_write_buffer_size(o, bad[i]));
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 1u << 30), 0);
    assert_int_equal(cairn_options_set_env(o, NULL), 0);
    assert_int_equal(cairn_options_set_create_if_missing(o, -1), 0);
    cairn_options_destroy(o);

    cairn_readoptions *ro = cairn_readoptions_create();
    cairn_writeoptions *wo = cairn_writeoptions_create();
    assert_non_null(ro);
    assert_non_null(wo);
    assert_int_equal(cairn_readoptions_set_verify_checksums(ro, 2), 0);
    assert_int_equal(cairn_readoptions_set_fill_cache(ro, 0), 0);
    assert_int_equal(cairn_writeoptions_set_sync(wo, 1), 0);
    cairn_readoptions_destroy(ro);
    cairn_writeoptions_destroy(wo);
}

/* ---------------------------------------------------------------------- */
/* Batches                                                                  */

/* The batch's bytes, to show that a refused call changed nothing. */
typedef struct snap {
    unsigned char b[256];
    size_t len;
    uint32_t count;
} snap;

static void take(const cairn_batch *b, snap *s)
{
    const void *p = cairn_batch_data(b, &s->len);
    assert_non_null(p);
    assert_true(s->len <= sizeof s->b);
    memcpy(s->b, p, s->len);
    s->count = cairn_batch_count(b);
}

static void same(const cairn_batch *b, const snap *s)
{
    size_t len;
    const void *p = cairn_batch_data(b, &len);
    assert_int_equal(len, s->len);
    assert_int_equal(cairn_batch_approximate_size(b), s->len);
    assert_memory_equal(p, s->b, len);
    assert_int_equal(cairn_batch_count(b), s->count);
}

static void test_batch_args(void **state)
{
    (void)state;
    size_t len = 7;
    EXPECT_INVALID(cairn_batch_clear(NULL));
    EXPECT_INVALID(cairn_batch_put(NULL, "k", 1, "v", 1));
    EXPECT_INVALID(cairn_batch_delete(NULL, "k", 1));
    EXPECT_INVALID(cairn_batch_iterate(NULL, NULL, NULL, NULL));
    EXPECT_INVALID(cairn_batch_set_data(NULL, "", 0));
    assert_int_equal(cairn_batch_count(NULL), 0);
    assert_int_equal(cairn_batch_approximate_size(NULL), 0);
    assert_null(cairn_batch_data(NULL, &len));
    assert_int_equal(len, 0);
    assert_null(cairn_batch_data(NULL, NULL));

    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    EXPECT_INVALID(cairn_batch_append(NULL, b));
    EXPECT_INVALID(cairn_batch_append(b, NULL));
    assert_int_equal(cairn_batch_put(b, "k1", 2, "v1", 2), 0);
    assert_int_equal(cairn_batch_delete(b, "k2", 2), 0);
    snap s;
    take(b, &s);
    EXPECT_INVALID(cairn_batch_put(b, NULL, 1, "v", 1));
    EXPECT_INVALID(cairn_batch_put(b, "k", 1, NULL, 1));
    EXPECT_INVALID(cairn_batch_put(b, NULL, SIZE_MAX, NULL, SIZE_MAX));
    EXPECT_INVALID(cairn_batch_put(b, one, KEY_OVER, "v", 1));
    EXPECT_INVALID(cairn_batch_put(b, "k", 1, one, VALUE_OVER));
    EXPECT_INVALID(cairn_batch_put(b, one, SIZE_MAX, "v", 1));
    EXPECT_INVALID(cairn_batch_put(b, one, SIZE_MAX - 8, "v", 1));
    EXPECT_INVALID(cairn_batch_put(b, "k", 1, one, SIZE_MAX));
    EXPECT_INVALID(cairn_batch_put(b, "k", 1, one, SIZE_MAX - 4));
    EXPECT_INVALID(cairn_batch_delete(b, NULL, 1));
    EXPECT_INVALID(cairn_batch_delete(b, one, KEY_OVER));
    EXPECT_INVALID(cairn_batch_delete(b, one, SIZE_MAX));
    EXPECT_INVALID(cairn_batch_set_data(b, NULL, 5));
    EXPECT_INVALID(cairn_batch_set_data(b, one, SIZE_MAX));
    EXPECT_INVALID(cairn_batch_set_data(b, one, SIZE_MAX / 2 + 1));
    same(b, &s);
    assert_non_null(cairn_batch_data(b, NULL));

    /* NULL with length 0 is an empty key or value; self-append doubles. */
    assert_int_equal(cairn_batch_put(b, NULL, 0, NULL, 0), 0);
    assert_int_equal(cairn_batch_delete(b, NULL, 0), 0);
    assert_int_equal(cairn_batch_count(b), 4);
    size_t before = cairn_batch_approximate_size(b);
    assert_int_equal(cairn_batch_append(b, b), 0);
    assert_int_equal(cairn_batch_count(b), 8);
    assert_int_equal(cairn_batch_approximate_size(b), 2 * before - 12);
    /* set_data from the batch's own bytes keeps them. */
    take(b, &s);
    const void *own = cairn_batch_data(b, &len);
    assert_int_equal(cairn_batch_set_data(b, own, len), 0);
    same(b, &s);
    assert_int_equal(cairn_batch_clear(b), 0);
    assert_int_equal(cairn_batch_count(b), 0);
    assert_int_equal(cairn_batch_approximate_size(b), 12);
    cairn_batch_destroy(b);
}

/* Malformed encodings: each gives CAIRN_CORRUPTION and changes nothing. */
static void test_batch_set_data_garbage(void **state)
{
    (void)state;
#define HDR(count) "\0\0\0\0\0\0\0\0" count "\0\0\0"
#define CASE(lit)                                                              \
    {                                                                          \
        lit, sizeof(lit) - 1                                                   \
    }
    static const struct {
        const char *p;
        size_t n;
    } bad[] = {
        CASE(HDR("\1")),                             /* count 1, no entry */
        CASE(HDR("\0") "\0\1k"),                     /* count too low */
        CASE(HDR("\377") "\0\1k"),                   /* count too high */
        CASE(HDR("\1") "\2\1k"),                     /* unknown tag */
        CASE(HDR("\1") "\1\5k"),                     /* key past the end */
        CASE(HDR("\1") "\1\1k\11v"),                 /* value past the end */
        CASE(HDR("\1") "\1\1k"),                     /* value missing */
        CASE(HDR("\1") "\0"),                        /* delete without key */
        CASE(HDR("\1") "\0\x80\x80\x80\x80\x80\1k"), /* 6-byte varint */
        CASE(HDR("\1") "\0\1k\x7f"),                 /* a trailing tag */
        CASE("\0\0\0\0\0\0\0\0\0\0\0"),              /* 11 bytes */
        CASE(""),
    };
#undef CASE
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_batch_put(b, "a", 1, "1", 1), 0);
    snap s;
    take(b, &s);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* Copied to the heap at its exact size, so ASan sees over-reads. */
        void *p = malloc(bad[i].n + 1);
        assert_non_null(p);
        memcpy(p, bad[i].p, bad[i].n);
        EXPECT_ERR(CAIRN_CORRUPTION, cairn_batch_set_data(b, p, bad[i].n));
        same(b, &s);
        free(p);
    }
    EXPECT_ERR(CAIRN_CORRUPTION, cairn_batch_set_data(b, NULL, 0));
    same(b, &s);

    /* Random bytes, and a valid encoding with a few bytes changed or cut
     * off: either accepted whole or refused with no change. */
    cairn_batch *src = cairn_batch_create();
    assert_non_null(src);
    assert_int_equal(cairn_batch_put(src, "key", 3, "value", 5), 0);
    assert_int_equal(cairn_batch_delete(src, "gone", 4), 0);
    assert_int_equal(cairn_batch_put(src, "", 0, "", 0), 0);
    size_t vlen;
    const void *valid = cairn_batch_data(src, &vlen);
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("batch_set_data_garbage"));
    unsigned char buf[64];
    int accepted = 0;
    for (int i = 0; i < (int)(3000 * tu_scale()) + 60; i++) {
        size_t n = (size_t)tu_rng_uniform(&rng, sizeof buf);
        tu_rng_bytes(&rng, buf, n);
        if (i % 3 != 0) {
            memcpy(buf, valid, vlen);
            n = vlen - (size_t)tu_rng_uniform(&rng, 3);
            for (int k = (int)tu_rng_uniform(&rng, 3); k > 0; k--)
                buf[tu_rng_uniform(&rng, n)] ^= (unsigned char)(1 + i % 255);
        }
        void *p = malloc(n + 1);
        assert_non_null(p);
        memcpy(p, buf, n);
        int rc = cairn_batch_set_data(b, p, n);
        if (rc == 0) {
            take(b, &s);
            assert_int_equal(s.len, n);
            assert_memory_equal(s.b, p, n);
            accepted++;
        } else {
            assert_int_equal(rc, CAIRN_CORRUPTION);
            same(b, &s);
        }
        free(p);
    }
    assert_true(accepted > 0);
    /* A valid encoding from elsewhere is taken as is. */
    assert_int_equal(cairn_batch_set_data(b, HDR("\0"), 12), 0);
    assert_int_equal(cairn_batch_count(b), 0);
    assert_int_equal(cairn_batch_set_data(b, valid, vlen), 0);
    assert_int_equal(cairn_batch_count(b), 3);
#undef HDR
    cairn_batch_destroy(src);
    cairn_batch_destroy(b);
}

typedef struct walk {
    char log[64];
    size_t n;
    int stop_at; /* 1-based entry whose callback returns stop_rc */
    int stop_rc;
} walk;

static int walk_step(walk *w, char kind, const void *k, size_t kl)
{
    assert_true(kl == 1 && k != NULL);
    w->log[w->n++] = kind;
    w->log[w->n++] = *(const char *)k;
    w->log[w->n] = '\0';
    return (int)(w->n / 2) == w->stop_at ? w->stop_rc : 0;
}

static int on_put(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
    assert_true(vl == 0 || (v != NULL && vl == 1));
    return walk_step(ctx, 'P', k, kl);
}

static int on_del(void *ctx, const void *k, size_t kl)
{
    return walk_step(ctx, 'D', k, kl);
}

static void test_batch_iterate(void **state)
{
    (void)state;
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_batch_put(b, "a", 1, "1", 1), 0);
    assert_int_equal(cairn_batch_delete(b, "b", 1), 0);
    assert_int_equal(cairn_batch_put(b, "c", 1, NULL, 0), 0);
    assert_int_equal(cairn_batch_delete(b, "d", 1), 0);
    walk w = {"", 0, 0, 0};
    assert_int_equal(cairn_batch_iterate(b, &w, NULL, NULL), 0);
    assert_int_equal(cairn_batch_iterate(b, &w, on_put, on_del), 0);
    assert_string_equal(w.log, "PaDbPcDd");
    w = (walk){"", 0, 0, 0};
    assert_int_equal(cairn_batch_iterate(b, &w, on_put, NULL), 0);
    assert_string_equal(w.log, "PaPc");
    w = (walk){"", 0, 0, 0};
    assert_int_equal(cairn_batch_iterate(b, &w, NULL, on_del), 0);
    assert_string_equal(w.log, "DbDd");
    /* A callback's non-zero value stops the walk and is returned. */
    w = (walk){"", 0, 2, 42};
    assert_int_equal(cairn_batch_iterate(b, &w, on_put, on_del), 42);
    assert_string_equal(w.log, "PaDb");
    w = (walk){"", 0, 3, -77};
    assert_int_equal(cairn_batch_iterate(b, &w, on_put, on_del), -77);
    assert_string_equal(w.log, "PaDbPc");
    w = (walk){"", 0, 1, CAIRN_CORRUPTION};
    assert_int_equal(cairn_batch_iterate(b, &w, NULL, on_del),
                     CAIRN_CORRUPTION);
    assert_string_equal(w.log, "Db");
    cairn_batch_destroy(b);
}

/* ---------------------------------------------------------------------- */
/* Databases                                                                */

static void test_open_args(void **state)
{
    fixture *f = *state;
    cairn_db *db = (cairn_db *)one; /* must come back NULL */
    EXPECT_INVALID(cairn_db_open(f->opt, "/db", NULL));
    EXPECT_INVALID(cairn_db_open(NULL, "/db", &db));
    assert_null(db);
    db = (cairn_db *)one;
    EXPECT_INVALID(cairn_db_open(f->opt, NULL, &db));
    assert_null(db);
    db = (cairn_db *)one;
    EXPECT_INVALID(cairn_db_open(f->opt, "", &db));
    assert_null(db);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 0), 0);
    db = (cairn_db *)one;
    EXPECT_INVALID(cairn_db_open(f->opt, "/db", &db));
    assert_null(db);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 1), 0);

    cairn_db *first = open_db(f, "/db");
    db = (cairn_db *)one;
    EXPECT_ERR(CAIRN_LOCKED, cairn_db_open(f->opt, "/db", &db));
    assert_null(db);
    assert_int_equal(cairn_db_close(first), 0);
    assert_int_equal(cairn_options_set_error_if_exists(f->opt, 1), 0);
    db = (cairn_db *)one;
    EXPECT_ERR(CAIRN_EXISTS, cairn_db_open(f->opt, "/db", &db));
    assert_null(db);
    assert_int_equal(cairn_options_set_error_if_exists(f->opt, 0), 0);
}

static void test_db_call_args(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, "/db");
    char buf[600];
    /* A fresh handle has no message; NULL handles have none either. */
    assert_int_equal(cairn_db_errmsg(db, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    buf[0] = 'x';
    assert_int_equal(cairn_db_errmsg(NULL, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);

    EXPECT_INVALID(cairn_db_put(NULL, NULL, "k", 1, "v", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, NULL, 1, "v", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, NULL, 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, one, KEY_OVER, "w", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, one, VALUE_OVER));
    EXPECT_INVALID(cairn_db_put(db, NULL, one, SIZE_MAX, "w", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, one, SIZE_MAX - 7, "w", 1));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, one, SIZE_MAX));
    EXPECT_INVALID(cairn_db_put(db, NULL, "k", 1, one, SIZE_MAX - 4));
    EXPECT_INVALID(cairn_db_delete(NULL, NULL, "k", 1));
    EXPECT_INVALID(cairn_db_delete(db, NULL, NULL, 1));
    EXPECT_INVALID(cairn_db_delete(db, NULL, one, KEY_OVER));
    EXPECT_INVALID(cairn_db_delete(db, NULL, one, SIZE_MAX));
    EXPECT_INVALID(cairn_db_write(NULL, NULL, NULL));
    EXPECT_INVALID(cairn_db_write(db, NULL, NULL));

    void *v = NULL;
    size_t vl = 0;
    EXPECT_INVALID(cairn_db_get(NULL, NULL, "k", 1, &v, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, "k", 1, NULL, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, "k", 1, &v, NULL));
    EXPECT_INVALID(cairn_db_get(db, NULL, "k", 1, NULL, NULL));
    EXPECT_INVALID(cairn_db_get(db, NULL, NULL, 1, &v, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, one, KEY_OVER, &v, &vl));
    EXPECT_INVALID(cairn_db_get(db, NULL, one, SIZE_MAX, &v, &vl));
    assert_null(v);
    check_value(db, "k", 1, "v", 1); /* untouched by all of the above */

    /* The handle kept the last failure; errmsg truncates and reports the
     * full length. */
    size_t full = cairn_db_errmsg(db, NULL, 0);
    assert_true(full > 0);
    assert_int_equal(cairn_db_errmsg(db, buf, sizeof buf), full);
    assert_int_equal(strlen(buf), full < sizeof buf ? full : sizeof buf - 1);
    char small[5] = "abcd";
    assert_int_equal(cairn_db_errmsg(db, small, 1), full);
    assert_string_equal(small, "");
    assert_int_equal(cairn_db_errmsg(db, small, sizeof small), full);
    assert_int_equal(strlen(small), full < 4 ? full : 4);
    assert_memory_equal(small, buf, strlen(small));

    /* NULL options objects mean the defaults. */
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_batch_delete(b, "k", 1), 0);
    assert_int_equal(cairn_db_write(db, NULL, b), 0);
    cairn_batch_destroy(b);
    check_value(db, "k", 1, NULL, 0);
    assert_int_equal(cairn_db_close(db), 0);
}

/* A closed handle is answered with CAIRN_CLOSED, close included. */
static void test_closed_handle(void **state)
{
    fixture *f = *state;
    cairn_db *db = open_db(f, "/db");
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    assert_int_equal(cairn_db_close(db), 0);
    void *v = NULL;
    size_t vl = 0;
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_put(db, NULL, "k", 1, "v", 1));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_delete(db, NULL, "k", 1));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_write(db, NULL, b));
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_get(db, NULL, "k", 1, &v, &vl));
    assert_null(v);
    EXPECT_ERR(CAIRN_CLOSED, cairn_db_close(db));
    cairn_batch_destroy(b);
    /* The database itself is fine. */
    cairn_db *again = open_db(f, "/db");
    assert_int_equal(cairn_db_close(again), 0);
}

static void test_destroy_args(void **state)
{
    fixture *f = *state;
    EXPECT_INVALID(cairn_db_destroy(f->opt, NULL));
    EXPECT_INVALID(cairn_db_destroy(f->opt, ""));
    EXPECT_INVALID(cairn_db_destroy(NULL, NULL));
    assert_int_equal(cairn_db_destroy(f->opt, "/never-created"), 0);
    cairn_db *db = open_db(f, "/db");
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);
    EXPECT_ERR(CAIRN_LOCKED, cairn_db_destroy(f->opt, "/db"));
    check_value(db, "k", 1, "v", 1);
    assert_int_equal(cairn_db_close(db), 0);
    assert_int_equal(cairn_db_destroy(f->opt, "/db"), 0);
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 0), 0);
    EXPECT_INVALID(cairn_db_open(f->opt, "/db", &db));
    assert_int_equal(cairn_options_set_create_if_missing(f->opt, 1), 0);
}

typedef struct printer {
    int lines;
    int rc; /* what print returns */
} printer;

static int print_line(void *ctx, const char *line)
{
    printer *p = ctx;
    assert_non_null(line);
    p->lines++;
    return p->rc;
}

static void test_dump_args(void **state)
{
    fixture *f = *state;
    printer p = {0, 0};
    cairn_db *db = open_db(f, "/db");
    assert_int_equal(cairn_db_put(db, NULL, "k", 1, "v", 1), 0);
    assert_int_equal(cairn_db_close(db), 0);

    EXPECT_INVALID(cairn_dump_file(f->env, NULL, print_line, &p));
    EXPECT_INVALID(cairn_dump_file(f->env, "/db/000001.log", NULL, &p));
    EXPECT_ERR(CAIRN_NOTFOUND,
               cairn_dump_file(f->env, "/db/999999.log", print_line, &p));
    EXPECT_ERR(CAIRN_NOTFOUND, cairn_dump_file(f->env, "/nodir/MANIFEST-000001",
                                               print_line, &p));
    static const char *const unknown[] = {
        "/db/CURRENT", "/db/LOCK",   "/db/notes.txt", "/db/", "",
        "MANIFEST-",   "/db/12x.log"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        EXPECT_ERR(CAIRN_NOTSUP,
                   cairn_dump_file(f->env, unknown[i], print_line, &p));
    assert_int_equal(p.lines, 0);

    char *dir = tu_tempdir("badinput-dump");
    char path[4200];
    snprintf(path, sizeof path, "%s/000007.log", dir);
    EXPECT_ERR(CAIRN_NOTFOUND, cairn_dump_file(NULL, path, print_line, &p));
    tu_rmtree(dir);
    free(dir);

    /* The log holding the put is one of the first few numbers; a print
     * that returns non-zero stops the dump at once with its value. */
    int found = 0;
    for (int n = 1; n < 20 && !found; n++) {
        snprintf(path, sizeof path, "/db/%06d.log", n);
        p = (printer){0, 0};
        int rc = cairn_dump_file(f->env, path, print_line, &p);
        if (rc == CAIRN_NOTFOUND)
            continue;
        assert_int_equal(rc, 0);
        if (p.lines < 2)
            continue; /* an empty log: just its summary */
        found = 1;
        p = (printer){0, 7};
        assert_int_equal(cairn_dump_file(f->env, path, print_line, &p), 7);
        assert_int_equal(p.lines, 1);
    }
    assert_true(found);
}

/* Valid extremes that must work: empty keys and values, a 1 MiB key, an
 * 8 MiB value, also after the log is replayed. */
static void test_edges_succeed(void **state)
{
    fixture *f = *state;
    size_t big_k = 1u << 20, big_v = 8u << 20;
    unsigned char *k = malloc(big_k), *v = malloc(big_v);
    assert_non_null(k);
    assert_non_null(v);
    for (size_t i = 0; i < big_v; i++)
        v[i] = (unsigned char)(i * 7 + (i >> 13));
    memcpy(k, v + 1, big_k);
    cairn_db *db = open_db(f, "/db");
    for (int round = 0; round < 2; round++) {
        if (round == 0) {
            assert_int_equal(cairn_db_put(db, NULL, NULL, 0, "e", 1), 0);
            assert_int_equal(cairn_db_put(db, NULL, "z", 1, NULL, 0), 0);
            assert_int_equal(cairn_db_put(db, NULL, k, big_k, "K", 1), 0);
            assert_int_equal(cairn_db_put(db, NULL, "V", 1, v, big_v), 0);
            assert_int_equal(cairn_db_put(db, NULL, "gone", 4, v, big_v), 0);
            assert_int_equal(cairn_db_delete(db, NULL, "gone", 4), 0);
        }
        check_value(db, NULL, 0, "e", 1);
        check_value(db, "z", 1, "", 0); /* non-NULL pointer, length 0 */
        check_value(db, k, big_k, "K", 1);
        check_value(db, "V", 1, v, big_v);
        check_value(db, "gone", 4, NULL, 0);
        assert_int_equal(cairn_db_close(db), 0);
        db = open_db(f, "/db"); /* round 1 reads the replayed log */
    }
    assert_int_equal(cairn_db_delete(db, NULL, NULL, 0), 0);
    check_value(db, NULL, 0, NULL, 0);
    assert_int_equal(cairn_db_close(db), 0);
    free(k);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_null_destroyers),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_batch_args),
        cmocka_unit_test(test_batch_set_data_garbage),
        cmocka_unit_test(test_batch_iterate),
        cmocka_unit_test_setup_teardown(test_open_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_call_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges_succeed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
