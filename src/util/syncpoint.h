/*
 * syncpoint.h: named points in the engine where a test may run code of
 * its own (RocksDB's sync points, reduced to one hook), so that a test can
 * put another thread's work exactly inside a window that timing alone
 * reaches once in thousands of runs (tests/db/test_group_commit.c).
 *
 * One hook for the whole process. With no hook a point costs one atomic
 * load; points sit on slow paths (stalls) and on batch-wait's writer exit,
 * never on the default write path.
 */
#ifndef CAIRN_UTIL_SYNCPOINT_H
#define CAIRN_UTIL_SYNCPOINT_H

typedef void (*cairn__sync_point_fn)(const char *point, void *arg);

/* Installs fn with arg, passed to every call; NULL removes the hook. It
 * may be installed or removed while points run (a thread that already
 * saw the old hook may still call it), but not replaced by another
 * non-NULL one: remove first, with no thread left at a point. arg must
 * outlive every call. */
void cairn__sync_point_set(cairn__sync_point_fn fn, void *arg);
/* Calls the hook, if any, with the point's name. Any thread. */
void cairn__sync_point(const char *point);

#endif
