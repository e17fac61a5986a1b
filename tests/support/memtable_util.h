/*
 * memtable_util.h: memtables for the unit tests of the memtable and the
 * db iterator (tests/unit/test_memtable*.c, test_db_iter*.c). Failures
 * abort the test (cmocka asserts).
 */
#ifndef CAIRN_TEST_MEMTABLE_UTIL_H
#define CAIRN_TEST_MEMTABLE_UTIL_H

#include "iter/iter.h"
#include "mem/memtable.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* A new, empty memtable (one reference, the caller's). */
cairn__memtable *mt_new_mem(void);
/* Adds (seq, type, k) => v; must succeed. */
void mt_add(cairn__memtable *m, uint64_t seq, int type, cairn__slice k,
            cairn__slice v);
/* A db iterator at snap over the n (at most 3) memtables merged. The
 * memtable iterators hold their own references, so the caller may unref. */
cairn__iter *mt_open_mems(cairn__memtable **mems, size_t n, uint64_t snap);

/* s must be the n bytes at want. */
void mt_assert_slice(cairn__slice s, const void *want, size_t n);
/* Looks key up at snapshot and checks the outcome: want_found as in
 * memtable.h, want the value when want_found is 1. */
void mt_check_get(cairn__memtable *m, cairn__slice key, uint64_t snapshot,
                  int want_found, cairn__slice want);

#endif
