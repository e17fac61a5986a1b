/*
 * batch_util.c: see batch_util.h. Test-only code.
 */
#include "batch_util.h"

#include "db/batch.h"
#include "util/crc32c.h"
#include "util/error.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

void bt_sappend(cairn__buf *s, const void *p, size_t n)
{
    assert_int_equal(cairn__buf_reserve(s, n + 1), 0);
    assert_int_equal(cairn__buf_append(s, p, n), 0);
    s->data[s->len] = '\0';
}

void bt_sappends(cairn__buf *s, const char *text)
{
    bt_sappend(s, text, strlen(text));
}

int bt_rec_put(void *ctx, const void *key, size_t keylen, const void *val,
               size_t vallen)
{
    cairn__buf *s = ctx;
    bt_sappends(s, "Put(");
    bt_sappend(s, key, keylen);
    bt_sappends(s, ", ");
    bt_sappend(s, val, vallen);
    bt_sappends(s, ")");
    return 0;
}

int bt_rec_del(void *ctx, const void *key, size_t keylen)
{
    cairn__buf *s = ctx;
    bt_sappends(s, "Delete(");
    bt_sappend(s, key, keylen);
    bt_sappends(s, ")");
    return 0;
}

char *bt_batch_contents(const cairn_batch *b)
{
    cairn__buf s = CAIRN__BUF_INIT;
    bt_sappends(&s, "");
    int rc = cairn_batch_iterate(b, &s, bt_rec_put, bt_rec_del);
    if (rc != 0)
        bt_sappends(&s, "ParseError()");
    return s.data;
}

void bt_expect_batch(const cairn_batch *b, const char *want)
{
    char *got = bt_batch_contents(b);
    assert_string_equal(got, want);
    free(got);
}

uint64_t bt_snap(const cairn_batch *b)
{
    size_t len;
    const void *p = cairn_batch_data(b, &len);
    return ((uint64_t)len << 32) | cairn__crc32c(p, len);
}

void bt_expect_rc(int rc, int want, const char *what)
{
    assert_int_equal(rc, want);
    const char *m = cairn__errmsg_get();
    if (what != NULL && strstr(m, what) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", m, what);
}

cairn_batch *bt_new_batch(void)
{
    cairn_batch *b = cairn_batch_create();
    assert_non_null(b);
    return b;
}

void bt_put(cairn_batch *b, const char *k, const char *v)
{
    assert_int_equal(cairn_batch_put(b, k, strlen(k), v, strlen(v)), 0);
}

void bt_del(cairn_batch *b, const char *k)
{
    assert_int_equal(cairn_batch_delete(b, k, strlen(k)), 0);
}

int bt_validate(const char *p, size_t n)
{
    return cairn__batch_rep_validate(cairn__slice_make(p, n));
}
