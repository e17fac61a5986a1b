/*
 * write_stats_util.h: counters read back from a database's
 * cairn.write-stats property, for tests.
 */
#ifndef CAIRN_TEST_WRITE_STATS_UTIL_H
#define CAIRN_TEST_WRITE_STATS_UTIL_H

#include "cairn.h"

#include <stdint.h>

/* The spare-log counters ("spare logs: made M, taken T, failed F"); fails
 * the test if the property or the line is missing. */
void ws_spare_counts(cairn_db *db, uint64_t *made, uint64_t *taken,
                     uint64_t *failed);

/* 1 once the spare-log failure counter is above zero, waiting up to
 * timeout_ms for it (a failure is counted a moment after the failing
 * operation returns, on the flushing thread); 0 if it stays at zero. */
int ws_wait_spare_failed(cairn_db *db, int timeout_ms);
/* 1 once at least n spare logs have been made, waiting up to timeout_ms;
 * 0 if not. After open, waiting for the first one leaves the flushing
 * thread with nothing to do until the next memtable switch, so a fault
 * armed then is the writers' own. */
int ws_wait_spares_made(cairn_db *db, uint64_t n, int timeout_ms);
/* How many of the spares made were zero-filled ("..., zero-filled Z" on
 * the same line); fails the test if the counter is missing. */
uint64_t ws_spares_zeroed(cairn_db *db);

#endif
