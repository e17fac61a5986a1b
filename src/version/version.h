/*
 * version.h: versions (the set of table files per level) and the version
 * set, which owns the MANIFEST (docs/format.md "MANIFEST", docs/design.md
 * "Versions").
 *
 * A version is an immutable snapshot of which table files make up each of
 * the 7 levels. Readers and iterators pin the version they started with
 * (ref/unref), so a file stays on disk while anything might read it. Each
 * change is a VersionEdit appended to the MANIFEST and synced before the
 * new version is installed (log_and_apply).
 *
 * Threads: every function here requires the db mutex (passed in where it is
 * released during I/O) unless it says otherwise.
 *
 * Invariants:
 *  V1. Files in levels >= 1 are sorted by smallest key and do not overlap.
 *  V2. Level-0 files may overlap; a larger file number is newer.
 *  V3. The MANIFEST record naming an edit is durable before the version
 *      that includes the edit is installed; a file dropped by an edit is
 *      deleted only after that.
 *  V4. next_file is greater than every file number in use or named on disk.
 */
#ifndef CAIRN_VERSION_VERSION_H
#define CAIRN_VERSION_VERSION_H

#include "env/env.h"
#include "env/infolog.h"
#include "util/port.h"
#include "version/edit.h"
#include "iter/iter.h"
#include "wal/log.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct cairn__vset cairn__vset;

typedef struct cairn__version {
    cairn__vset *vset;
    int refs;                                    /* Locked: db mutex */
    struct cairn__version *prev, *next;          /* Locked: live-version list */
    cairn__file_meta **files[CAIRN__NUM_LEVELS]; /* Immutable after install */
    size_t nfiles[CAIRN__NUM_LEVELS];
    /* Compaction hints, computed when the version is built. */
    double compaction_score;
    int compaction_level;
    cairn__file_meta *file_to_compact; /* Locked: db mutex */
    int file_to_compact_level;         /* Locked: db mutex */
} cairn__version;

struct cairn__vset {
    cairn_env *env;           /* Immutable */
    const char *dbname;       /* Immutable, borrowed from the db */
    cairn__infolog *info;     /* Immutable, borrowed */
    uint64_t next_file;       /* Locked: db mutex */
    uint64_t manifest_number; /* Locked: db mutex */
    uint64_t log_number;      /* Locked: db mutex */
    uint64_t prev_log_number; /* Locked: db mutex */
    /* Atomic: the newest sequence visible to readers. Stored with release
     * by the write leader after the memtable insert of a group; loaded with
     * acquire by readers, which then see every entry up to it. */
    _Atomic uint64_t last_seq;
    cairn__version *current; /* Locked: db mutex */
    cairn__version dummy;    /* Locked: head of the live list */
    cairn__buf compact_pointer[CAIRN__NUM_LEVELS]; /* Locked: db mutex */
    cairn__file *manifest;          /* Locked: db mutex (NULL until opened) */
    cairn__log_writer manifest_log; /* Locked: db mutex */
    uint64_t manifest_size;         /* Locked: bytes written so far */
};

int cairn__vset_create(cairn_env *env, const char *dbname, cairn__infolog *info,
                       cairn__vset **out) CAIRN_WUR;
void cairn__vset_destroy(cairn__vset *vs);

/* Creates a new database's MANIFEST-000001 and CURRENT (LevelDB's NewDB). */
int cairn__vset_create_new_db(cairn__vset *vs) CAIRN_WUR;

/* Reads CURRENT and replays the MANIFEST into the current version.
 * CAIRN_CORRUPTION for any damage (the MANIFEST is never partly trusted),
 * CAIRN_INVALID for a comparator mismatch. */
int cairn__vset_recover(cairn__vset *vs) CAIRN_WUR;

/* Appends the edit to the MANIFEST (starting a new MANIFEST with a
 * snapshot record if none is open, then pointing CURRENT at it), syncs it,
 * and installs the resulting version. The edit gets the log number, next
 * file and last sequence filled in. mu is released during file I/O; the
 * caller must ensure only one log_and_apply runs at a time. On failure the
 * version set is unchanged and a half-created MANIFEST is removed. */
int cairn__vset_log_and_apply(cairn__vset *vs, cairn__edit *edit,
                              cairn__mutex *mu) CAIRN_WUR;

static inline uint64_t cairn__vset_new_file_number(cairn__vset *vs)
{
    return vs->next_file++;
}
/* Gives back a number from new_file_number that was never used. */
void cairn__vset_reuse_file_number(cairn__vset *vs, uint64_t n);
void cairn__vset_mark_file_number_used(cairn__vset *vs, uint64_t n);

static inline uint64_t cairn__vset_last_seq(cairn__vset *vs)
{
    return atomic_load_explicit(&vs->last_seq, memory_order_acquire);
}
static inline void cairn__vset_set_last_seq(cairn__vset *vs, uint64_t s)
{
    atomic_store_explicit(&vs->last_seq, s, memory_order_release);
}

void cairn__version_ref(cairn__version *v);
void cairn__version_unref(cairn__version *v);

/* Number of files at a level of the current version. */
size_t cairn__vset_num_files(const cairn__vset *vs, int level);

/* Calls fn for every file number referenced by any live version. */
void cairn__vset_live_files(cairn__vset *vs,
                            void (*fn)(void *ctx, uint64_t number), void *ctx);

/* ---------------------------------------------------------------------- */
/* Reading through a version (version_read.c). These need no lock: a
 * version is immutable once installed and the caller holds a reference. */

struct cairn__table_cache;
struct cairn__table_read_options;

/* The file a get charged a seek to (LevelDB's seek-triggered compaction):
 * the first file consulted when more than one was. */
typedef struct cairn__get_stats {
    cairn__file_meta *seek_file;
    int seek_file_level;
} cairn__get_stats;

/* Looks user_key up as of `snapshot` in the version's tables: level 0
 * newest file first, then one file per deeper level. *found: 0 none, 1 a
 * value (copied into value), 2 a deletion. */
int cairn__version_get(cairn__version *v, struct cairn__table_cache *tc,
                       const struct cairn__table_read_options *ro,
                       cairn__slice user_key, uint64_t snapshot,
                       cairn__buf *value, int *found,
                       cairn__get_stats *stats) CAIRN_WUR;

/* Appends to *iters (growing it) one iterator per level-0 file and one
 * concatenating iterator per non-empty deeper level. On failure the
 * iterators appended so far stay in the array for the caller to destroy. */
int cairn__version_add_iters(cairn__version *v, struct cairn__table_cache *tc,
                             const struct cairn__table_read_options *ro,
                             cairn__iter ***iters, size_t *n,
                             size_t *cap) CAIRN_WUR;

/* A concatenating iterator over a sorted, non-overlapping list of files
 * (a level >= 1, or one compaction input list). The list and its metas
 * must outlive the iterator (they belong to a pinned version). */
int cairn__version_files_iter(cairn__file_meta **files, size_t n,
                              struct cairn__table_cache *tc,
                              const struct cairn__table_read_options *ro,
                              cairn__iter **out) CAIRN_WUR;

/* 1 if any file in level overlaps the user-key range [smallest, largest];
 * a NULL bound is open. */
int cairn__version_overlap_in_level(const cairn__version *v, int level,
                                    const cairn__slice *smallest,
                                    const cairn__slice *largest);

/* Where a flushed memtable's table goes (LevelDB's
 * PickLevelForMemTableOutput): level 0 if it overlaps level 0, else as
 * deep as level 2 while it overlaps nothing in the next level and the
 * level after that overlaps at most 10 x max_file_size bytes. */
int cairn__version_pick_level_for_memtable_output(const cairn__version *v,
                                                  cairn__slice smallest,
                                                  cairn__slice largest,
                                                  uint64_t max_file_size);

/* Approximate bytes of table data before ikey in this version. */
uint64_t cairn__version_approximate_offset(cairn__version *v,
                                           struct cairn__table_cache *tc,
                                           cairn__slice ikey);

/* Read sampling (iterators): charges a seek to the first file holding
 * ikey's user key when two or more do; returns 1 when that file should now
 * be compacted. mu held. */
int cairn__version_record_read_sample(cairn__version *v, cairn__slice ikey);

/* Total bytes of the files at a level. */
uint64_t cairn__version_level_bytes(const cairn__version *v, int level);

/* Frees a file_meta's keys and the struct itself. */
void cairn__file_meta_free(cairn__file_meta *f);

#endif
