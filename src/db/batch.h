/*
 * batch.h: the engine's side of cairn_batch, LevelDB's WriteBatch.
 *
 *   fixed64 sequence | fixed32 count | entries
 *   entry: 0x01 varstring key varstring value   (put)
 *        | 0x00 varstring key                    (delete)
 *
 * The public functions (cairn_batch_*) are in batch.c too. Engine code
 * works on the encoded bytes (`rep`), so that a group of batches can be
 * concatenated without copying into batch objects, and so the caller's
 * batch is never modified: the sequence a group receives is passed to the
 * memtable insert explicitly rather than written into the caller's header.
 */
#ifndef CAIRN_DB_BATCH_H
#define CAIRN_DB_BATCH_H

#include "cairn.h"
#include "mem/memtable.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/slice.h"

#include <stdint.h>

#define CAIRN__BATCH_HEADER 12

struct cairn_batch {
    cairn__buf rep; /* always >= 12 bytes once created */
};

static inline uint32_t cairn__batch_rep_count(cairn__slice rep)
{
    return cairn__decode_fixed32(rep.data + 8);
}
static inline uint64_t cairn__batch_rep_seq(cairn__slice rep)
{
    return cairn__decode_fixed64(rep.data);
}

/* Handler for a walk over entries; non-zero return stops the walk. */
typedef struct cairn__batch_handler {
    void *ctx;
    int (*put)(void *ctx, cairn__slice key, cairn__slice value);
    int (*del)(void *ctx, cairn__slice key);
} cairn__batch_handler;

/* Walks rep's entries in order. CAIRN_CORRUPTION with LevelDB's message
 * ("malformed WriteBatch (too small)", "bad WriteBatch Put", "bad WriteBatch
 * Delete", "unknown WriteBatch tag", "WriteBatch has wrong count") on a
 * malformed encoding; entries before the bad one have been handed to h. */
int cairn__batch_rep_iterate(cairn__slice rep,
                             const cairn__batch_handler *h) CAIRN_WUR;

/* Checks the whole encoding without side effects. */
int cairn__batch_rep_validate(cairn__slice rep) CAIRN_WUR;

/* Inserts rep's entries into m with sequence numbers first_seq,
 * first_seq + 1, ... (one per entry, in order), ignoring rep's own header
 * sequence. rep must have been validated. */
int cairn__batch_rep_insert(cairn__slice rep, uint64_t first_seq,
                            cairn__memtable *m) CAIRN_WUR;
/* The same, in two steps: builds the entries in m's arena and appends
 * their handles to *pending; cairn__memtable_link(m, pending) adds them
 * later, possibly on another thread (memtable.h M4). */
int cairn__batch_rep_prepare(cairn__slice rep, uint64_t first_seq,
                             cairn__memtable *m, cairn__buf *pending) CAIRN_WUR;

/* Appends src's entries to the group buffer dst (a rep), adding the counts.
 * dst must already hold a 12-byte header. */
int cairn__batch_rep_append(cairn__buf *dst, cairn__slice src) CAIRN_WUR;

/* Writes a fresh 12-byte header (seq, count 0) into b, which it resets. */
int cairn__batch_rep_reset(cairn__buf *b, uint64_t seq) CAIRN_WUR;

void cairn__batch_rep_set_seq(cairn__buf *b, uint64_t seq);
void cairn__batch_rep_set_count(cairn__buf *b, uint32_t count);

#endif
