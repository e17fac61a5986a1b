/*
 * edit.h: VersionEdit, one MANIFEST record (docs/format.md "MANIFEST").
 *
 * Tags (varint32), each followed by its fields:
 *   1 comparator      varstring
 *   2 log number      varint64
 *   3 next file       varint64
 *   4 last sequence   varint64
 *   5 compact pointer varint32 level, varstring internal key
 *   6 deleted file    varint32 level, varint64 number
 *   7 new file        varint32 level, varint64 number, varint64 size,
 *                     varstring smallest ikey, varstring largest ikey
 *   9 prev log number varint64
 * Encoding order: 1, 2, 9, 3, 4, 5s, 6s (sorted by level, number), 7s.
 * Levels must be < 7. Unknown tags, truncation and trailing bytes are
 * CAIRN_CORRUPTION.
 */
#ifndef CAIRN_VERSION_EDIT_H
#define CAIRN_VERSION_EDIT_H

#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stdint.h>

#define CAIRN__NUM_LEVELS 7

typedef struct cairn__file_meta {
    int refs;          /* Locked: db mutex (versions sharing it) */
    int allowed_seeks; /* Locked: db mutex */
    uint64_t number;
    uint64_t file_size;
    cairn__buf smallest; /* internal key */
    cairn__buf largest;  /* internal key */
} cairn__file_meta;

typedef struct cairn__edit_file {
    int level;
    cairn__file_meta meta; /* refs unused here */
} cairn__edit_file;

typedef struct cairn__edit_deleted {
    int level;
    uint64_t number;
} cairn__edit_deleted;

typedef struct cairn__edit_pointer {
    int level;
    cairn__buf key;
} cairn__edit_pointer;

typedef struct cairn__edit {
    int has_comparator;
    cairn__buf comparator;
    int has_log_number;
    uint64_t log_number;
    int has_prev_log_number;
    uint64_t prev_log_number;
    int has_next_file;
    uint64_t next_file;
    int has_last_seq;
    uint64_t last_seq;
    cairn__edit_pointer *pointers;
    size_t npointers;
    cairn__edit_deleted *deleted;
    size_t ndeleted;
    cairn__edit_file *files;
    size_t nfiles;
} cairn__edit;

void cairn__edit_init(cairn__edit *e);
void cairn__edit_fini(cairn__edit *e);
/* Back to empty (fini + init). */
void cairn__edit_clear(cairn__edit *e);

int cairn__edit_set_comparator(cairn__edit *e, const char *name) CAIRN_WUR;
void cairn__edit_set_log_number(cairn__edit *e, uint64_t n);
void cairn__edit_set_prev_log_number(cairn__edit *e, uint64_t n);
void cairn__edit_set_next_file(cairn__edit *e, uint64_t n);
void cairn__edit_set_last_seq(cairn__edit *e, uint64_t s);
int cairn__edit_add_pointer(cairn__edit *e, int level,
                            cairn__slice ikey) CAIRN_WUR;
/* Records a deletion; a repeated (level, number) is stored once. */
int cairn__edit_delete_file(cairn__edit *e, int level,
                            uint64_t number) CAIRN_WUR;
int cairn__edit_add_file(cairn__edit *e, int level, uint64_t number,
                         uint64_t size, cairn__slice smallest,
                         cairn__slice largest) CAIRN_WUR;

/* Appends the encoding to out. */
int cairn__edit_encode(const cairn__edit *e, cairn__buf *out) CAIRN_WUR;
/* Parses src into e (which is cleared first). CAIRN_CORRUPTION with
 * "VersionEdit: <what>" on bad input. */
int cairn__edit_decode(cairn__edit *e, cairn__slice src) CAIRN_WUR;

/* A readable one-line-per-field description (for `cairn dump`). */
int cairn__edit_debug_string(const cairn__edit *e, cairn__buf *out) CAIRN_WUR;

#endif
