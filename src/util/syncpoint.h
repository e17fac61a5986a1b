/*
 * syncpoint.h: named points in the engine where a test may run code of
 * its own (RocksDB's sync points, reduced to one hook), so that a test can
 * put another thread's work exactly inside a window that timing alone
 * reaches once in thousands of runs (tests/db/test_group_commit.c).
 *
 * One hook for the whole process, set by a test before it opens a
 * database and cleared after closing it. With no hook a point costs one
 * relaxed atomic load; points sit on slow paths only (stalls), never on a
 * write's common path.
 */
#ifndef CAIRN_UTIL_SYNCPOINT_H
#define CAIRN_UTIL_SYNCPOINT_H

typedef void (*cairn__sync_point_fn)(const char *point, void *arg);

/* Installs fn (NULL removes it); arg is passed to every call. Not while a
 * database that may reach a point is open. */
void cairn__sync_point_set(cairn__sync_point_fn fn, void *arg);
/* Calls the hook, if any, with the point's name. Any thread. */
void cairn__sync_point(const char *point);

#endif
