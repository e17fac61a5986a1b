/*
 * memtable_util.c: see memtable_util.h. Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "memtable_util.h"

#include "db/db_iter.h"
#include "iter/merge.h"
#include "util/buf.h"
#include "util/ikey.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

cairn__memtable *mt_new_mem(void)
{
    cairn__memtable *m = NULL;
    assert_int_equal(cairn__memtable_create(&m), 0);
    assert_non_null(m);
    return m;
}

void mt_add(cairn__memtable *m, uint64_t seq, int type, cairn__slice k,
            cairn__slice v)
{
    assert_int_equal(cairn__memtable_add(m, seq, type, k, v), 0);
}

cairn__iter *mt_open_mems(cairn__memtable **mems, size_t n, uint64_t snap)
{
    cairn__iter *children[3], *merged = NULL, *it = NULL;
    assert_true(n <= 3);
    for (size_t i = 0; i < n; i++)
        assert_non_null(children[i] = cairn__memtable_iter(mems[i]));
    assert_int_equal(
        cairn__iter_merge(cairn__ikey_compare, children, n, &merged), 0);
    assert_int_equal(
        cairn__db_iter_create(merged, snap, NULL, NULL, NULL, NULL, &it), 0);
    return it;
}

void mt_assert_slice(cairn__slice s, const void *want, size_t n)
{
    assert_int_equal(s.size, n);
    if (n > 0)
        assert_memory_equal(s.data, want, n);
}

void mt_check_get(cairn__memtable *m, cairn__slice key, uint64_t snapshot,
                  int want_found, cairn__slice want)
{
    cairn__buf v = CAIRN__BUF_INIT;
    /* Stale contents must be replaced, not appended to. */
    assert_int_equal(cairn__buf_append(&v, "stale", 5), 0);
    int found = -1;
    assert_int_equal(cairn__memtable_get(m, key, snapshot, &v, &found), 0);
    assert_int_equal(found, want_found);
    if (want_found == 1)
        mt_assert_slice(cairn__buf_slice(&v), want.data, want.size);
    cairn__buf_fini(&v);
}
