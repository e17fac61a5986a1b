/*
 * batch_util.h: helpers for the write batch tests (tests/unit/test_batch.c,
 * test_batch_errors.c): batches built and printed the way LevelDB's
 * write_batch_test prints them, fingerprints to prove a refused call
 * changed nothing, and checks of codes and messages. Failures abort the
 * test (cmocka asserts).
 */
#ifndef CAIRN_TEST_BATCH_UTIL_H
#define CAIRN_TEST_BATCH_UTIL_H

#include "cairn.h"
#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Appends to a NUL-terminated growable string. */
void bt_sappend(cairn__buf *s, const void *p, size_t n);
void bt_sappends(cairn__buf *s, const char *text);
/* cairn_batch_iterate callbacks that print "Put(k, v)" and "Delete(k)"
 * to the cairn__buf ctx. */
int bt_rec_put(void *ctx, const void *key, size_t keylen, const void *val,
               size_t vallen);
int bt_rec_del(void *ctx, const void *key, size_t keylen);
/* The batch's entries in batch order, "Put(k, v)Delete(k)...", followed by
 * "ParseError()" if the walk failed (LevelDB's test does the same). The
 * caller frees the result. */
char *bt_batch_contents(const cairn_batch *b);
/* The batch's contents must be want. */
void bt_expect_batch(const cairn_batch *b, const char *want);

/* A fingerprint of a batch's bytes, to prove a failed call changed
 * nothing. */
uint64_t bt_snap(const cairn_batch *b);
/* rc must be want, and the thread message must mention `what` (unless
 * NULL). */
void bt_expect_rc(int rc, int want, const char *what);

/* A new batch; put and delete of NUL-terminated strings, which must
 * succeed. */
cairn_batch *bt_new_batch(void);
void bt_put(cairn_batch *b, const char *k, const char *v);
void bt_del(cairn_batch *b, const char *k);
/* cairn__batch_rep_validate of the n bytes at p. */
int bt_validate(const char *p, size_t n);

#endif
