/*
 * compaction.h: choosing what to compact (LevelDB 1.23's leveled policy,
 * facts section 8) and the bookkeeping a running compaction needs.
 *
 * Scores (computed when a version is built, cairn__version_finalize):
 * level 0 scores its file count / 4 (many small overlapping files hurt
 * reads more than their bytes suggest); level L >= 1 scores its bytes /
 * (10 MiB x 10^(L-1)). The highest score >= 1 is compacted first; without
 * one, a file whose allowed seeks ran out is (seek compaction).
 *
 * Picking a size compaction: the first file of the level after the
 * level's compaction pointer (round robin through the key space, the
 * pointer saved in the MANIFEST); at level 0, widened to every level-0
 * file overlapping it, repeatedly. Then boundary files (same user key on
 * both sides of the cut) are added, the overlapping files of level+1
 * found, the level inputs grown when that does not add level+1 files and
 * stays under 25 x max_file_size, and the grandparents (level+2 files
 * overlapping the whole range) recorded, to cut outputs that would make a
 * later compaction too expensive.
 *
 * Threads: everything here runs under the db mutex except the
 * per-key checks (is_base_level_for_key, should_stop_before), which read
 * only the compaction's own pinned input version and write only the
 * caller's cursor: subcompactions call them at once, each on its own.
 */
#ifndef CAIRN_VERSION_COMPACTION_H
#define CAIRN_VERSION_COMPACTION_H

#include "version/version.h"

#include <stdint.h>

typedef struct cairn__compaction {
    int level; /* inputs[0] level; outputs go to +1 */
    uint64_t max_output_file_size;
    cairn__version *input_version; /* pinned */
    cairn__edit edit;              /* deletions of inputs, new pointer */
    cairn__file_meta **inputs[2];  /* level, level + 1 */
    size_t ninputs[2];
    cairn__file_meta **grandparents;
    size_t ngrandparents;
    int manual;
} cairn__compaction;

/* Where one pass over (a key range of) a compaction's inputs has got to,
 * for the per-key checks below. Each pass has its own, zeroed at its
 * start: the subcompactions of one compaction (compact.c) run at once,
 * each over its own range. */
typedef struct cairn__compaction_cursor {
    /* For should_stop_before. */
    size_t grandparent_index;
    int seen_key;
    uint64_t overlapped_bytes;
    /* For is_base_level_for_key: a position per level. */
    size_t level_ptrs[CAIRN__NUM_LEVELS];
} cairn__compaction_cursor;

/* Computes v's compaction score and level (mu held). */
void cairn__version_finalize(cairn__version *v);

/* 1 if the current version wants a size or seek compaction. */
int cairn__vset_needs_compaction(const cairn__vset *vs);

/* Picks the next automatic compaction, or sets *out NULL when there is
 * none. mu held. */
int cairn__vset_pick_compaction(cairn__vset *vs, uint64_t max_file_size,
                                cairn__compaction **out) CAIRN_WUR;

/* A compaction of the files at `level` overlapping the user-key range
 * [begin, end] (NULL = open end), or *out NULL if none overlap. To keep a
 * manual compaction's size bounded, a level >= 1 is cut after about
 * max_file_size bytes of inputs; the caller loops. mu held. */
int cairn__vset_compact_range(cairn__vset *vs, int level,
                              const cairn__slice *begin,
                              const cairn__slice *end, uint64_t max_file_size,
                              cairn__compaction **out) CAIRN_WUR;

/* A single input file, nothing to merge with at level+1, and little
 * grandparent overlap: the file can be moved down by a MANIFEST edit. */
int cairn__compaction_is_trivial_move(const cairn__compaction *c);

/* Adds a deletion of every input to c->edit. */
int cairn__compaction_add_input_deletions(cairn__compaction *c) CAIRN_WUR;

/* 1 if no level below level+1 can hold user_key, so a tombstone for it
 * may be dropped. Calls on one cursor must come in increasing key order. */
int cairn__compaction_is_base_level_for_key(const cairn__compaction *c,
                                            cairn__compaction_cursor *cur,
                                            cairn__slice user_key);

/* 1 if the current output should be finished before ikey because it
 * already overlaps too many grandparent bytes (10 x max_file_size).
 * Calls on one cursor must come in increasing key order. */
int cairn__compaction_should_stop_before(const cairn__compaction *c,
                                         cairn__compaction_cursor *cur,
                                         cairn__slice ikey);

/* Total bytes of the inputs at which = 0 (level) or 1 (level + 1). */
uint64_t cairn__compaction_input_bytes(const cairn__compaction *c, int which);

/* Releases the input version and frees c (mu held). NULL is ignored. */
void cairn__compaction_free(cairn__compaction *c);

/* Files of level overlapping [begin, end] (user keys; NULL = open), with
 * level 0 widened to everything transitively overlapping. *files is
 * malloc'd (free it); the metas are borrowed from v. */
int cairn__version_overlapping_inputs(const cairn__version *v, int level,
                                      const cairn__slice *begin,
                                      const cairn__slice *end,
                                      cairn__file_meta ***files,
                                      size_t *n) CAIRN_WUR;

/* Seek accounting after a get that consulted more than one file: charges
 * the first file; returns 1 if it should now be compacted. mu held. */
int cairn__version_update_stats(cairn__version *v, cairn__file_meta *f,
                                int level);

/* The level limit in bytes for level >= 1. */
double cairn__max_bytes_for_level(int level);

#endif
