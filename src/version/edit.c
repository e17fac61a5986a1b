/*
 * edit.c: VersionEdit, the unit of change recorded in the MANIFEST. One
 * MANIFEST log record holds exactly one encoded edit.
 *
 * Byte layout (LevelDB 1.23, version_edit.cc): a sequence of varint32 tags,
 * each followed by its fields, as listed in edit.h. The encoder writes the
 * fields in LevelDB's fixed order (comparator, log number, prev log number,
 * next file, last sequence, compact pointers, deleted files, new files), so
 * that the bytes of an edit LevelDB would write are reproduced exactly; the
 * NewDB edit of a fresh database is
 *
 *   01 1a "leveldb.BytewiseComparator" 02 00 03 02 04 00
 *
 * The decoder accepts the tags in any order and any number of times (the
 * last scalar wins, lists accumulate), as LevelDB does. It rejects:
 *  - an unknown tag (8, the retired "large value ref", included);
 *  - a level >= 7;
 *  - a field cut short, with the name of the field in the message;
 *  - bytes after the last complete field that do not form a tag;
 *  - an internal key shorter than 8 bytes. LevelDB 1.23 only rejects an
 *    empty key here, but every later user of these keys (version set, table
 *    cache) needs the 8-byte tag, so refusing them at the door keeps a
 *    damaged MANIFEST from reaching code that would read out of bounds.
 * A failed decode leaves the edit empty, never half filled.
 * Lengths inside the bytes are checked against what is present before any
 * use, and the lists grow one entry per parsed field, so a hostile record
 * cannot make the decoder allocate more than a small multiple of its size.
 *
 * Deleted files are a set ordered by (level, number), kept sorted on insert,
 * which is both LevelDB's encoding order and what makes duplicates collapse.
 * The comparator name is stored with a NUL after its bytes (not counted in
 * len) so callers may treat it as a C string when it holds no NUL itself.
 *
 * Threads: an edit is a plain value owned by one thread at a time (the
 * version set builds edits under the db mutex and encodes them outside it).
 */
#include "version/edit.h"

#include "util/coding.h"
#include "util/ikey.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TAG_COMPARATOR = 1,
    TAG_LOG_NUMBER = 2,
    TAG_NEXT_FILE = 3,
    TAG_LAST_SEQ = 4,
    TAG_COMPACT_POINTER = 5,
    TAG_DELETED_FILE = 6,
    TAG_NEW_FILE = 7,
    /* 8 was "large value ref" and is rejected like any unknown tag. */
    TAG_PREV_LOG_NUMBER = 9,
};

void cairn__edit_init(cairn__edit *e)
{
    memset(e, 0, sizeof *e);
    cairn__buf_init(&e->comparator);
}

void cairn__edit_fini(cairn__edit *e)
{
    if (e == NULL)
        return;
    cairn__buf_fini(&e->comparator);
    for (size_t i = 0; i < e->npointers; i++)
        cairn__buf_fini(&e->pointers[i].key);
    free(e->pointers);
    free(e->deleted);
    for (size_t i = 0; i < e->nfiles; i++) {
        cairn__buf_fini(&e->files[i].meta.smallest);
        cairn__buf_fini(&e->files[i].meta.largest);
    }
    free(e->files);
    cairn__edit_init(e);
}

void cairn__edit_clear(cairn__edit *e)
{
    cairn__edit_fini(e);
}

/* The lists carry no capacity field: their capacity is implied by their
 * length, as the smallest power of two that is >= max(length, 4). So a list
 * of length n is full exactly when n is 0 or a power of two >= 4, and then
 * it doubles. */
static int grow(void **arr, size_t n, size_t elem)
{
    int full = n == 0 || (n >= 4 && (n & (n - 1)) == 0);
    if (!full)
        return 0;
    size_t ncap = n == 0 ? 4 : 2 * n;
    if (ncap > SIZE_MAX / elem)
        return cairn__err(CAIRN_NOMEM, "version edit list too long");
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return cairn__err(CAIRN_NOMEM,
                          "cannot grow version edit list to %zu entries", ncap);
    *arr = p;
    return 0;
}

static int set_bytes(cairn__buf *b, const void *p, size_t n)
{
    /* Reserve first so that a failure leaves the old contents. */
    cairn__buf nb;
    cairn__buf_init(&nb);
    int rc = cairn__buf_reserve(&nb, n + 1);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(nb.data, p, n);
    nb.data[n] = '\0';
    nb.len = n;
    cairn__buf_swap(b, &nb);
    cairn__buf_fini(&nb);
    return 0;
}

int cairn__edit_set_comparator(cairn__edit *e, const char *name)
{
    CAIRN_TRY(set_bytes(&e->comparator, name, strlen(name)));
    e->has_comparator = 1;
    return 0;
}

void cairn__edit_set_log_number(cairn__edit *e, uint64_t n)
{
    e->has_log_number = 1;
    e->log_number = n;
}

void cairn__edit_set_prev_log_number(cairn__edit *e, uint64_t n)
{
    e->has_prev_log_number = 1;
    e->prev_log_number = n;
}

void cairn__edit_set_next_file(cairn__edit *e, uint64_t n)
{
    e->has_next_file = 1;
    e->next_file = n;
}

void cairn__edit_set_last_seq(cairn__edit *e, uint64_t s)
{
    e->has_last_seq = 1;
    e->last_seq = s;
}

static int check_level(int level)
{
    if (level < 0 || level >= CAIRN__NUM_LEVELS)
        return cairn__err(CAIRN_INVALID, "version edit: level %d out of range",
                          level);
    return 0;
}

int cairn__edit_add_pointer(cairn__edit *e, int level, cairn__slice ikey)
{
    CAIRN_TRY(check_level(level));
    CAIRN_TRY(grow((void **)&e->pointers, e->npointers, sizeof *e->pointers));
    cairn__edit_pointer *p = &e->pointers[e->npointers];
    cairn__buf_init(&p->key);
    CAIRN_TRY(set_bytes(&p->key, ikey.data, ikey.size));
    p->level = level;
    e->npointers++;
    return 0;
}

static int deleted_cmp(const cairn__edit_deleted *a, int level, uint64_t n)
{
    if (a->level != level)
        return a->level < level ? -1 : 1;
    if (a->number != n)
        return a->number < n ? -1 : 1;
    return 0;
}

int cairn__edit_delete_file(cairn__edit *e, int level, uint64_t number)
{
    CAIRN_TRY(check_level(level));
    /* Binary search for the insertion point; equal entries are kept once. */
    size_t lo = 0, hi = e->ndeleted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = deleted_cmp(&e->deleted[mid], level, number);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    CAIRN_TRY(grow((void **)&e->deleted, e->ndeleted, sizeof *e->deleted));
    memmove(&e->deleted[lo + 1], &e->deleted[lo],
            (e->ndeleted - lo) * sizeof *e->deleted);
    e->deleted[lo].level = level;
    e->deleted[lo].number = number;
    e->ndeleted++;
    return 0;
}

/* The decoder's way in: append without ordering, and sort and collapse
 * duplicates once at the end (finish_deleted), so that a record with many
 * deletions in descending order costs n log n rather than n^2 moves. */
static int push_deleted(cairn__edit *e, int level, uint64_t number)
{
    CAIRN_TRY(grow((void **)&e->deleted, e->ndeleted, sizeof *e->deleted));
    e->deleted[e->ndeleted].level = level;
    e->deleted[e->ndeleted].number = number;
    e->ndeleted++;
    return 0;
}

static int deleted_qcmp(const void *a, const void *b)
{
    const cairn__edit_deleted *y = b;
    return deleted_cmp(a, y->level, y->number);
}

static void finish_deleted(cairn__edit *e)
{
    if (e->ndeleted < 2)
        return;
    qsort(e->deleted, e->ndeleted, sizeof *e->deleted, deleted_qcmp);
    size_t out = 1;
    for (size_t i = 1; i < e->ndeleted; i++)
        if (deleted_cmp(&e->deleted[out - 1], e->deleted[i].level,
                        e->deleted[i].number) != 0)
            e->deleted[out++] = e->deleted[i];
    /* Shrinking keeps the capacity rule of grow(): the array stays at least
     * as large as the capacity the new length implies. */
    e->ndeleted = out;
}

int cairn__edit_add_file(cairn__edit *e, int level, uint64_t number,
                         uint64_t size, cairn__slice smallest,
                         cairn__slice largest)
{
    CAIRN_TRY(check_level(level));
    CAIRN_TRY(grow((void **)&e->files, e->nfiles, sizeof *e->files));
    cairn__edit_file *f = &e->files[e->nfiles];
    memset(f, 0, sizeof *f);
    cairn__buf_init(&f->meta.smallest);
    cairn__buf_init(&f->meta.largest);
    int rc = set_bytes(&f->meta.smallest, smallest.data, smallest.size);
    if (rc == 0)
        rc = set_bytes(&f->meta.largest, largest.data, largest.size);
    if (rc != 0) {
        cairn__buf_fini(&f->meta.smallest);
        cairn__buf_fini(&f->meta.largest);
        return rc;
    }
    f->level = level;
    f->meta.number = number;
    f->meta.file_size = size;
    f->meta.allowed_seeks = 1 << 30; /* LevelDB's initial value */
    e->nfiles++;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Encoding                                                                 */

int cairn__edit_encode(const cairn__edit *e, cairn__buf *out)
{
    /* On failure out is put back to its original length, so the caller never
     * sees half an edit. */
    size_t start = out->len;
    int rc = 0;
    if (e->has_comparator) {
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_COMPARATOR), err);
        CAIRN_TRY_GOTO(rc,
                       cairn__put_length_prefixed(out, e->comparator.data,
                                                  e->comparator.len),
                       err);
    }
    if (e->has_log_number) {
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_LOG_NUMBER), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint64(out, e->log_number), err);
    }
    if (e->has_prev_log_number) {
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_PREV_LOG_NUMBER), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint64(out, e->prev_log_number), err);
    }
    if (e->has_next_file) {
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_NEXT_FILE), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint64(out, e->next_file), err);
    }
    if (e->has_last_seq) {
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_LAST_SEQ), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint64(out, e->last_seq), err);
    }
    for (size_t i = 0; i < e->npointers; i++) {
        const cairn__edit_pointer *p = &e->pointers[i];
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_COMPACT_POINTER), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, (uint32_t)p->level), err);
        CAIRN_TRY_GOTO(
            rc, cairn__put_length_prefixed(out, p->key.data, p->key.len), err);
    }
    for (size_t i = 0; i < e->ndeleted; i++) {
        const cairn__edit_deleted *d = &e->deleted[i];
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_DELETED_FILE), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, (uint32_t)d->level), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint64(out, d->number), err);
    }
    for (size_t i = 0; i < e->nfiles; i++) {
        const cairn__edit_file *f = &e->files[i];
        const cairn__file_meta *m = &f->meta;
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, TAG_NEW_FILE), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint32(out, (uint32_t)f->level), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint64(out, m->number), err);
        CAIRN_TRY_GOTO(rc, cairn__put_varint64(out, m->file_size), err);
        CAIRN_TRY_GOTO(
            rc,
            cairn__put_length_prefixed(out, m->smallest.data, m->smallest.len),
            err);
        CAIRN_TRY_GOTO(
            rc,
            cairn__put_length_prefixed(out, m->largest.data, m->largest.len),
            err);
    }
    return 0;
err:
    out->len = start;
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Decoding                                                                 */

static int get_level(cairn__slice *in, int *level)
{
    uint32_t v;
    if (!cairn__get_varint32(in, &v) || v >= CAIRN__NUM_LEVELS)
        return 0;
    *level = (int)v;
    return 1;
}

static int get_ikey(cairn__slice *in, cairn__slice *key)
{
    return cairn__get_length_prefixed(in, key) && key->size >= 8;
}

/* Parses the fields of one tag. Returns 0 on success, CAIRN_NOMEM, or 1
 * with *what naming the malformed field. */
static int decode_field(cairn__edit *e, uint32_t tag, cairn__slice *in,
                        const char **what)
{
    cairn__slice s, s2;
    uint64_t a, b;
    int level;
    switch (tag) {
    case TAG_COMPARATOR:
        *what = "comparator name";
        if (!cairn__get_length_prefixed(in, &s))
            return 1;
        CAIRN_TRY(set_bytes(&e->comparator, s.data, s.size));
        e->has_comparator = 1;
        return 0;
    case TAG_LOG_NUMBER:
        *what = "log number";
        if (!cairn__get_varint64(in, &a))
            return 1;
        cairn__edit_set_log_number(e, a);
        return 0;
    case TAG_PREV_LOG_NUMBER:
        *what = "previous log number";
        if (!cairn__get_varint64(in, &a))
            return 1;
        cairn__edit_set_prev_log_number(e, a);
        return 0;
    case TAG_NEXT_FILE:
        *what = "next file number";
        if (!cairn__get_varint64(in, &a))
            return 1;
        cairn__edit_set_next_file(e, a);
        return 0;
    case TAG_LAST_SEQ:
        *what = "last sequence number";
        if (!cairn__get_varint64(in, &a))
            return 1;
        cairn__edit_set_last_seq(e, a);
        return 0;
    case TAG_COMPACT_POINTER:
        *what = "compaction pointer";
        if (!get_level(in, &level) || !get_ikey(in, &s))
            return 1;
        return cairn__edit_add_pointer(e, level, s);
    case TAG_DELETED_FILE:
        *what = "deleted file";
        if (!get_level(in, &level) || !cairn__get_varint64(in, &a))
            return 1;
        return push_deleted(e, level, a);
    case TAG_NEW_FILE:
        *what = "new-file entry";
        if (!get_level(in, &level) || !cairn__get_varint64(in, &a) ||
            !cairn__get_varint64(in, &b) || !get_ikey(in, &s) ||
            !get_ikey(in, &s2))
            return 1;
        return cairn__edit_add_file(e, level, a, b, s, s2);
    default:
        *what = "unknown tag";
        return 1;
    }
}

int cairn__edit_decode(cairn__edit *e, cairn__slice src)
{
    cairn__edit_clear(e);
    cairn__slice in = src;
    int rc = 0;
    while (in.size > 0) {
        size_t off = src.size - in.size;
        uint32_t tag;
        const char *what = NULL;
        if (!cairn__get_varint32(&in, &tag)) {
            rc = CAIRN_CORRUPT("VersionEdit: invalid tag at offset %zu", off);
            goto err;
        }
        rc = decode_field(e, tag, &in, &what);
        if (rc == 1) {
            rc = CAIRN_CORRUPT("VersionEdit: %s (tag %u at offset %zu)", what,
                               (unsigned)tag, off);
            goto err;
        }
        if (rc != 0)
            goto err;
    }
    finish_deleted(e);
    return 0;
err:
    cairn__edit_clear(e);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Debug output                                                             */

static int appendf(cairn__buf *out, const char *fmt, ...) CAIRN_PRINTF(2, 3);

static int appendf(cairn__buf *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return cairn__err(CAIRN_INVALID, "bad format in debug string");
    CAIRN_TRY(cairn__buf_reserve(out, (size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf(out->data + out->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out->len += (size_t)n;
    return 0;
}

/* Printable ASCII as is, everything else (and the quote and backslash) as
 * \xNN, so binary keys stay on one line and unambiguous. */
static int append_escaped(cairn__buf *out, const char *p, size_t n)
{
    CAIRN_TRY(cairn__buf_append(out, "'", 1));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            CAIRN_TRY(cairn__buf_append(out, &p[i], 1));
        else
            CAIRN_TRY(appendf(out, "\\x%02x", (unsigned)c));
    }
    return cairn__buf_append(out, "'", 1);
}

/* An internal key as 'user key' @ seq : type, or escaped raw bytes when it
 * does not parse. */
static int append_ikey(cairn__buf *out, const cairn__buf *k)
{
    cairn__pikey pk;
    if (!cairn__ikey_parse(cairn__buf_slice(k), &pk)) {
        CAIRN_TRY(appendf(out, "(bad internal key) "));
        return append_escaped(out, k->data, k->len);
    }
    CAIRN_TRY(append_escaped(out, pk.user_key.data, pk.user_key.size));
    return appendf(out, " @ %llu : %s", (unsigned long long)pk.seq,
                   pk.type == CAIRN__TYPE_VALUE ? "value" : "deletion");
}

int cairn__edit_debug_string(const cairn__edit *e, cairn__buf *out)
{
    size_t start = out->len;
    int rc = 0;
    CAIRN_TRY_GOTO(rc, appendf(out, "VersionEdit {\n"), err);
    if (e->has_comparator) {
        CAIRN_TRY_GOTO(rc, appendf(out, "  Comparator: "), err);
        CAIRN_TRY_GOTO(
            rc, append_escaped(out, e->comparator.data, e->comparator.len),
            err);
        CAIRN_TRY_GOTO(rc, appendf(out, "\n"), err);
    }
    if (e->has_log_number)
        CAIRN_TRY_GOTO(rc,
                       appendf(out, "  LogNumber: %llu\n",
                               (unsigned long long)e->log_number),
                       err);
    if (e->has_prev_log_number)
        CAIRN_TRY_GOTO(rc,
                       appendf(out, "  PrevLogNumber: %llu\n",
                               (unsigned long long)e->prev_log_number),
                       err);
    if (e->has_next_file)
        CAIRN_TRY_GOTO(rc,
                       appendf(out, "  NextFile: %llu\n",
                               (unsigned long long)e->next_file),
                       err);
    if (e->has_last_seq)
        CAIRN_TRY_GOTO(
            rc,
            appendf(out, "  LastSeq: %llu\n", (unsigned long long)e->last_seq),
            err);
    for (size_t i = 0; i < e->npointers; i++) {
        CAIRN_TRY_GOTO(
            rc, appendf(out, "  CompactPointer: L%d ", e->pointers[i].level),
            err);
        CAIRN_TRY_GOTO(rc, append_ikey(out, &e->pointers[i].key), err);
        CAIRN_TRY_GOTO(rc, appendf(out, "\n"), err);
    }
    for (size_t i = 0; i < e->ndeleted; i++)
        CAIRN_TRY_GOTO(rc,
                       appendf(out, "  RemoveFile: L%d #%llu\n",
                               e->deleted[i].level,
                               (unsigned long long)e->deleted[i].number),
                       err);
    for (size_t i = 0; i < e->nfiles; i++) {
        const cairn__edit_file *f = &e->files[i];
        CAIRN_TRY_GOTO(rc,
                       appendf(out, "  AddFile: L%d #%llu %llu bytes ",
                               f->level, (unsigned long long)f->meta.number,
                               (unsigned long long)f->meta.file_size),
                       err);
        CAIRN_TRY_GOTO(rc, append_ikey(out, &f->meta.smallest), err);
        CAIRN_TRY_GOTO(rc, appendf(out, " .. "), err);
        CAIRN_TRY_GOTO(rc, append_ikey(out, &f->meta.largest), err);
        CAIRN_TRY_GOTO(rc, appendf(out, "\n"), err);
    }
    CAIRN_TRY_GOTO(rc, appendf(out, "}\n"), err);
    return 0;
err:
    out->len = start;
    return rc;
}
