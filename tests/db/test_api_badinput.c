/*
 * test_api_badinput.c: every function of include/cairn.h against the bad
 * inputs the header promises to refuse, and the edge cases it promises to
 * accept: codes and names, options and batches here; databases in
 * test_api_badinput_db.c.
 *
 * What "refused" means here: the documented code (CAIRN_INVALID unless the
 * header names another), a message of the call's own in cairn_errmsg(), no
 * change to the object involved, and nothing ASan or UBSan can see. The
 * message check (tests/support/api_check.h) primes the thread's message
 * with a known failure first, so a call that returns the right code but
 * leaves a stale message is caught. Over-long lengths are passed with a
 * pointer to a one-byte buffer: the engine must check the length before it
 * reads, and ASan reports it if not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "api_check.h"
#include "testutil.h"

#include "cairn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char one[1] = {'x'}; /* the buffer behind over-long lengths */

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_null_destroyers),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_batch_args),
        cmocka_unit_test(test_batch_set_data_garbage),
        cmocka_unit_test(test_batch_iterate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
