/*
 * test_env_posix_map.c: the POSIX env's mapped reader for table files
 * (src/env/env_posix_map.c, reached through cairn__env_open_random): reads
 * and views at every kind of offset, the write operations refused, the
 * fall-backs to the ordinary read handle (an empty file, the limit on
 * mapped files), and a missing file.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "env/env.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_BYTES 100000u
#define MAX_MAPPED 1000 /* env_posix_map.c */

static char pattern(uint64_t off)
{
    return (char)('a' + (off * 7 + off / 251) % 26);
}

/* Writes FILE_BYTES of pattern() (or none) to dir/name; returns the path. */
static char *make_file(const char *dir, const char *name, size_t bytes)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/%s", dir, name);
    cairn_env *env = cairn_env_default();
    cairn__file *f;
    assert_int_equal(env->ops->open_write(env, path, &f), 0);
    char *buf = malloc(bytes ? bytes : 1);
    assert_non_null(buf);
    for (size_t i = 0; i < bytes; i++)
        buf[i] = pattern(i);
    assert_int_equal(cairn__file_append(f, buf, bytes), 0);
    assert_int_equal(cairn__file_close(f), 0);
    free(buf);
    return path;
}

static void expect_bytes(const char *p, uint64_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(off + i))
            fail_msg("byte %llu differs", (unsigned long long)(off + i));
}

/* pread and view of [off, off + n) must give exactly the bytes there are. */
static void check_at(cairn__file *f, uint64_t off, size_t n)
{
    size_t want = off >= FILE_BYTES                ? 0
                  : FILE_BYTES - off < (uint64_t)n ? (size_t)(FILE_BYTES - off)
                                                   : n;
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    size_t got = 12345;
    assert_int_equal(cairn__file_pread(f, off, n, buf, &got), 0);
    assert_int_equal(got, want);
    expect_bytes(buf, off, got);
    const char *v = NULL;
    got = 12345;
    assert_int_equal(f->ops->view(f, off, n, &v, &got), 0);
    assert_int_equal(got, want);
    if (want > 0)
        expect_bytes(v, off, got);
    else
        assert_null(v);
    free(buf);
}

static void test_read_and_view(void **state)
{
    (void)state;
    char *dir = tu_tempdir("envmap");
    char *path = make_file(dir, "000007.ldb", FILE_BYTES);
    cairn__file *f;
    assert_int_equal(cairn__env_open_random(cairn_env_default(), path, &f), 0);
    assert_non_null(f->ops->view); /* mapped */
    uint64_t size = 0;
    assert_int_equal(cairn__file_size(f, &size), 0);
    assert_int_equal(size, FILE_BYTES);
    check_at(f, 0, 4096);
    check_at(f, 4095, 5000);
    check_at(f, FILE_BYTES - 10, 10);
    check_at(f, FILE_BYTES - 10, 4096); /* short: the end of the file */
    check_at(f, FILE_BYTES, 100);       /* at the end */
    check_at(f, FILE_BYTES + 1, 100);   /* past it */
    check_at(f, UINT64_MAX - 5, 100);   /* no overflow */
    check_at(f, 500, 0);
    /* Sequential reads and skips keep their own position. */
    char buf[64];
    size_t got;
    assert_int_equal(cairn__file_read(f, 10, buf, &got), 0);
    assert_int_equal(got, 10);
    expect_bytes(buf, 0, 10);
    assert_int_equal(cairn__file_skip(f, 1000), 0);
    assert_int_equal(cairn__file_read(f, 64, buf, &got), 0);
    assert_int_equal(got, 64);
    expect_bytes(buf, 1010, 64);
    assert_int_equal(cairn__file_skip(f, UINT64_MAX), 0);
    assert_int_equal(cairn__file_read(f, 64, buf, &got), 0);
    assert_int_equal(got, 0);
    /* A read handle refuses writes, with a message naming the file. */
    assert_int_equal(cairn__file_append(f, "x", 1), CAIRN_INVALID);
    assert_non_null(strstr(cairn_errmsg(), "000007.ldb"));
    assert_int_equal(cairn__file_flush(f), CAIRN_INVALID);
    assert_int_equal(cairn__file_sync(f), CAIRN_INVALID);
    assert_int_equal(cairn__file_close(f), 0);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_empty_and_missing(void **state)
{
    (void)state;
    char *dir = tu_tempdir("envmap");
    /* Nothing to map: the ordinary read handle, which works. */
    char *path = make_file(dir, "000008.ldb", 0);
    cairn__file *f;
    assert_int_equal(cairn__env_open_random(cairn_env_default(), path, &f), 0);
    char buf[8];
    size_t got = 1;
    assert_int_equal(cairn__file_pread(f, 0, sizeof buf, buf, &got), 0);
    assert_int_equal(got, 0);
    assert_int_equal(cairn__file_close(f), 0);
    /* A missing file is CAIRN_NOTFOUND, as from open_read. */
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/000009.ldb", dir);
    assert_int_equal(cairn__env_open_random(cairn_env_default(), missing, &f),
                     CAIRN_NOTFOUND);
    assert_non_null(strstr(cairn_errmsg(), "000009.ldb"));
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* Past MAX_MAPPED open mappings the env hands out ordinary read handles,
 * which read the same bytes; closing mapped handles frees their places. */
static void test_mapping_limit(void **state)
{
    (void)state;
    char *dir = tu_tempdir("envmap");
    char *path = make_file(dir, "000010.ldb", FILE_BYTES);
    enum { N = MAX_MAPPED + 8 };
    cairn__file **f = calloc(N, sizeof *f);
    assert_non_null(f);
    int mapped = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(
            cairn__env_open_random(cairn_env_default(), path, &f[i]), 0);
        mapped += f[i]->ops->view != NULL;
        char buf[16];
        size_t got = 0;
        assert_int_equal(cairn__file_pread(f[i], 777, sizeof buf, buf, &got),
                         0);
        assert_int_equal(got, sizeof buf);
        expect_bytes(buf, 777, got);
    }
    assert_int_equal(mapped, MAX_MAPPED);
    for (int i = 0; i < N; i++)
        assert_int_equal(cairn__file_close(f[i]), 0);
    cairn__file *again;
    assert_int_equal(cairn__env_open_random(cairn_env_default(), path, &again),
                     0);
    assert_non_null(again->ops->view);
    assert_int_equal(cairn__file_close(again), 0);
    free(f);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_and_view),
        cmocka_unit_test(test_empty_and_missing),
        cmocka_unit_test(test_mapping_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
