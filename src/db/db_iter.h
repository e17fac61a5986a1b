/*
 * db_iter.h: the user's view of the database through an iterator
 * (LevelDB's DBIter).
 *
 * The engine merges its memtables and tables into one internal iterator
 * whose keys are internal keys (util/ikey.h) in internal-key order. A db
 * iterator wraps it and shows what a reader at snapshot sequence S sees:
 *  - entries with a sequence above S are invisible;
 *  - for each user key only the newest visible entry counts, and a
 *    deletion there makes the key absent;
 *  - key() is the USER key and value() its value.
 * It implements iter/iter.h in full: seek_first, seek_last, seek (to the
 * first user key >= target), next and prev, with a change of direction
 * allowed at any entry.
 *
 * Errors: status() is the first error met, either the internal iterator's
 * own or one found here: CAIRN_CORRUPTION for an internal key that does not
 * parse (LevelDB's "corrupted internal key in DBIter"), CAIRN_NOMEM when
 * copying a key or value fails. An error is sticky: the iterator becomes
 * invalid and every later seek leaves it invalid, so a reader never sees a
 * view with silent holes in it.
 *
 * One thread at a time per iterator (iter.h). The db iterator takes no
 * locks; whatever the internal iterator reads must stay alive until
 * destroy, which is what the cleanup callback is for.
 */
#ifndef CAIRN_DB_DB_ITER_H
#define CAIRN_DB_DB_ITER_H

#include "iter/iter.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

/* Average bytes read between two read samples (LevelDB's kReadBytesPeriod).
 * Each gap is drawn uniformly from [0, 2 * CAIRN__READ_BYTES_PERIOD). */
#define CAIRN__READ_BYTES_PERIOD (1024 * 1024)

/* The read-sampling hook for seek-triggered compaction (LevelDB's
 * RecordReadSample). Bytes read are counted as key size plus value size of
 * every internal entry the iterator examines, visible or not; each time the
 * count crosses the next random gap, sample is called with the internal key
 * of the entry that crossed it (well formed: it has parsed) and that
 * entry's size in bytes. The key slice lives only during the call. It runs
 * on the iterating thread, with whatever locks the caller of the moving
 * function holds (the engine holds none). */
typedef void (*cairn__db_iter_sample_fn)(void *ctx, cairn__slice ikey,
                                         size_t bytes);

/* Wraps `internal` into a db iterator reading at snapshot_seq.
 *
 *  internal      an iterator over internal keys in internal-key order.
 *                Owned from this call on: it is destroyed with the db
 *                iterator, or before returning if the call fails.
 *  snapshot_seq  the highest visible sequence number; values above
 *                CAIRN__MAX_SEQ are treated as CAIRN__MAX_SEQ (everything
 *                visible).
 *  sample        the read-sampling hook above, or NULL for none.
 *  sample_ctx    passed to sample.
 *  cleanup       called once, when the db iterator is destroyed, after the
 *                internal iterator has been destroyed (the database uses it
 *                to unpin memtables and versions). Also called, in the same
 *                order, if this call fails, so the caller releases its pins
 *                in one place either way. May be NULL.
 *  cleanup_arg   passed to cleanup.
 *  out           receives the new iterator (NULL on failure). Destroy it
 *                with cairn__iter_destroy.
 *
 * Returns 0 or CAIRN_NOMEM. */
int cairn__db_iter_create(cairn__iter *internal, uint64_t snapshot_seq,
                          cairn__db_iter_sample_fn sample, void *sample_ctx,
                          void (*cleanup)(void *arg), void *cleanup_arg,
                          cairn__iter **out) CAIRN_WUR;

#endif
