/*
 * version_read.c: reads through a version's table files.
 *
 * Point lookups follow LevelDB's order (facts 8.6): level-0 files whose
 * user-key range holds the key, newest (largest number) first, because
 * level-0 files overlap; then, in each deeper level, the one file whose
 * range may hold the key, found by binary search on largest keys. The
 * first entry found for the user key at or below the snapshot decides.
 *
 * Iteration opens every level-0 file and one concatenating iterator per
 * deeper level, whose index is the level's sorted file list (a "level
 * iterator": key = the file's largest internal key, value = number and
 * size), so a scan opens deeper files only as it reaches them.
 */
#include "version/version.h"

#include "db/table_cache.h"
#include "iter/two_level.h"
#include "util/ikey.h"

#include <stdlib.h>
#include <string.h>

uint64_t cairn__version_level_bytes(const cairn__version *v, int level)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < v->nfiles[level]; i++)
        sum += v->files[level][i]->file_size;
    return sum;
}

static cairn__slice ukey_of(const cairn__buf *ikey)
{
    return cairn__slice_make(ikey->data, ikey->len - 8);
}

/* Index of the first file in a sorted level whose largest key >= ikey. */
static size_t find_file(cairn__file_meta *const *files, size_t n,
                        cairn__slice ikey)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cairn__ikey_compare(cairn__buf_slice(&files[mid]->largest), ikey) <
            0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct get_state {
    cairn__slice user_key;
    cairn__buf *value;
    int found; /* 0 none, 1 value, 2 deletion, -1 corrupt key */
} get_state;

static int save_value(void *arg, cairn__slice ikey, cairn__slice value)
{
    get_state *g = arg;
    cairn__pikey pk;
    if (!cairn__ikey_parse(ikey, &pk)) {
        g->found = -1;
        return 0;
    }
    if (!cairn__slice_equal(pk.user_key, g->user_key))
        return 0;
    if (pk.type == CAIRN__TYPE_VALUE) {
        cairn__buf_clear(g->value);
        int rc = cairn__buf_append(g->value, value.data, value.size);
        if (rc != 0)
            return rc;
        g->found = 1;
    } else {
        g->found = 2;
    }
    return 0;
}

static int cmp_by_number_desc(const void *a, const void *b)
{
    const cairn__file_meta *x = *(cairn__file_meta *const *)a;
    const cairn__file_meta *y = *(cairn__file_meta *const *)b;
    return x->number > y->number ? -1 : x->number < y->number;
}

/* Searches one file; returns 1 when the search is decided. */
static int search_file(cairn__table_cache *tc,
                       const struct cairn__table_read_options *ro,
                       cairn__file_meta *f, cairn__slice ikey, get_state *g,
                       int *rc)
{
    g->found = 0;
    *rc = cairn__table_cache_get(tc, ro, f->number, f->file_size, ikey,
                                 save_value, g);
    if (*rc != 0)
        return 1;
    if (g->found == -1) {
        *rc = CAIRN_CORRUPT("corrupted internal key in table %06llu",
                            (unsigned long long)f->number);
        return 1;
    }
    return g->found != 0;
}

int cairn__version_get(cairn__version *v, struct cairn__table_cache *tc,
                       const struct cairn__table_read_options *ro,
                       cairn__slice user_key, uint64_t snapshot,
                       cairn__buf *value, int *found, cairn__get_stats *stats)
{
    cairn__buf lookup = CAIRN__BUF_INIT;
    cairn__file_meta **l0 = NULL;
    int rc = 0;
    *found = 0;
    stats->seek_file = NULL;
    stats->seek_file_level = -1;
    cairn__file_meta *last_read = NULL;
    int last_level = -1;
    CAIRN_TRY_GOTO(
        rc,
        cairn__ikey_append(&lookup, user_key, snapshot, CAIRN__TYPE_FOR_SEEK),
        out);
    cairn__slice ikey = cairn__buf_slice(&lookup);
    get_state g = {user_key, value, 0};

    /* Level 0: every file whose range holds the key, newest first. */
    size_t n0 = 0;
    if (v->nfiles[0] > 0) {
        l0 = malloc(v->nfiles[0] * sizeof *l0);
        if (l0 == NULL) {
            rc = cairn__err(CAIRN_NOMEM, "level-0 lookup");
            goto out;
        }
    }
    for (size_t i = 0; i < v->nfiles[0]; i++) {
        cairn__file_meta *f = v->files[0][i];
        if (cairn__slice_compare(user_key, ukey_of(&f->smallest)) >= 0 &&
            cairn__slice_compare(user_key, ukey_of(&f->largest)) <= 0)
            l0[n0++] = f;
    }
    if (n0 > 1)
        qsort(l0, n0, sizeof *l0, cmp_by_number_desc);
    for (int level = 0; level < CAIRN__NUM_LEVELS; level++) {
        cairn__file_meta *one[1];
        cairn__file_meta **cand;
        size_t ncand;
        if (level == 0) {
            cand = l0;
            ncand = n0;
        } else {
            size_t idx = find_file(v->files[level], v->nfiles[level], ikey);
            if (idx >= v->nfiles[level])
                continue;
            cairn__file_meta *f = v->files[level][idx];
            if (cairn__slice_compare(user_key, ukey_of(&f->smallest)) < 0)
                continue;
            one[0] = f;
            cand = one;
            ncand = 1;
        }
        for (size_t i = 0; i < ncand; i++) {
            /* Charge a seek to the first file read when a second is
             * needed. */
            if (last_read != NULL && stats->seek_file == NULL) {
                stats->seek_file = last_read;
                stats->seek_file_level = last_level;
            }
            last_read = cand[i];
            last_level = level;
            if (search_file(tc, ro, cand[i], ikey, &g, &rc)) {
                if (rc == 0)
                    *found = g.found;
                goto out;
            }
        }
    }
out:
    free(l0);
    cairn__buf_fini(&lookup);
    return rc;
}

int cairn__version_overlap_in_level(const cairn__version *v, int level,
                                    const cairn__slice *smallest,
                                    const cairn__slice *largest)
{
    for (size_t i = 0; i < v->nfiles[level]; i++) {
        const cairn__file_meta *f = v->files[level][i];
        if (smallest != NULL &&
            cairn__slice_compare(*smallest, ukey_of(&f->largest)) > 0)
            continue; /* f is entirely before the range */
        if (largest != NULL &&
            cairn__slice_compare(*largest, ukey_of(&f->smallest)) < 0)
            continue; /* f is entirely after the range */
        return 1;
    }
    return 0;
}

static uint64_t overlap_bytes(const cairn__version *v, int level,
                              cairn__slice smallest, cairn__slice largest)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < v->nfiles[level]; i++) {
        const cairn__file_meta *f = v->files[level][i];
        if (cairn__slice_compare(smallest, ukey_of(&f->largest)) > 0 ||
            cairn__slice_compare(largest, ukey_of(&f->smallest)) < 0)
            continue;
        sum += f->file_size;
    }
    return sum;
}

#define MAX_MEM_COMPACT_LEVEL 2

int cairn__version_pick_level_for_memtable_output(const cairn__version *v,
                                                  cairn__slice smallest,
                                                  cairn__slice largest,
                                                  uint64_t max_file_size)
{
    int level = 0;
    if (cairn__version_overlap_in_level(v, 0, &smallest, &largest))
        return 0;
    while (level < MAX_MEM_COMPACT_LEVEL) {
        if (cairn__version_overlap_in_level(v, level + 1, &smallest, &largest))
            break;
        if (level + 2 < CAIRN__NUM_LEVELS &&
            overlap_bytes(v, level + 2, smallest, largest) > 10 * max_file_size)
            break;
        level++;
    }
    return level;
}

/* ---------------------------------------------------------------------- */
/* Level iterators                                                         */

/* Iterates a level's file list: key = largest ikey, value = 16 bytes of
 * fixed64 number | fixed64 size. */
typedef struct files_iter {
    cairn__iter base;
    cairn__file_meta **files; /* borrowed from a pinned version */
    size_t n;
    size_t pos; /* n = invalid */
    char val[16];
} files_iter;

static int f_valid(cairn__iter *it)
{
    files_iter *f = (files_iter *)it;
    return f->pos < f->n;
}
static void f_first(cairn__iter *it)
{
    ((files_iter *)it)->pos = 0;
}
static void f_last(cairn__iter *it)
{
    files_iter *f = (files_iter *)it;
    f->pos = f->n ? f->n - 1 : 0;
    if (f->n == 0)
        f->pos = 0;
}
static void f_seek(cairn__iter *it, cairn__slice t)
{
    files_iter *f = (files_iter *)it;
    f->pos = find_file(f->files, f->n, t);
}
static void f_next(cairn__iter *it)
{
    ((files_iter *)it)->pos++;
}
static void f_prev(cairn__iter *it)
{
    files_iter *f = (files_iter *)it;
    f->pos = f->pos == 0 ? f->n : f->pos - 1;
}
static cairn__slice f_key(cairn__iter *it)
{
    files_iter *f = (files_iter *)it;
    return cairn__buf_slice(&f->files[f->pos]->largest);
}
static cairn__slice f_value(cairn__iter *it)
{
    files_iter *f = (files_iter *)it;
    cairn__encode_fixed64(f->val, f->files[f->pos]->number);
    cairn__encode_fixed64(f->val + 8, f->files[f->pos]->file_size);
    return cairn__slice_make(f->val, 16);
}
static int f_status(cairn__iter *it)
{
    (void)it;
    return 0;
}
static void f_destroy(cairn__iter *it)
{
    free(it);
}

static const cairn__iter_ops files_ops = {
    f_valid, f_first, f_last,  f_seek,   f_next,
    f_prev,  f_key,   f_value, f_status, f_destroy,
};

typedef struct level_arg {
    cairn__table_cache *tc;
    struct cairn__table_read_options ro;
} level_arg;

static int open_level_file(void *arg, cairn__slice index_value,
                           cairn__iter **out)
{
    level_arg *la = arg;
    if (index_value.size != 16)
        return CAIRN_CORRUPT("bad file entry in level iterator");
    return cairn__table_cache_iter(
        la->tc, &la->ro, cairn__decode_fixed64(index_value.data),
        cairn__decode_fixed64(index_value.data + 8), out);
}

static int push_iter(cairn__iter ***iters, size_t *n, size_t *cap,
                     cairn__iter *it)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        cairn__iter **p = realloc(*iters, ncap * sizeof *p);
        if (p == NULL) {
            cairn__iter_destroy(it);
            return cairn__err(CAIRN_NOMEM, "iterator list");
        }
        *iters = p;
        *cap = ncap;
    }
    (*iters)[(*n)++] = it;
    return 0;
}

int cairn__version_files_iter(cairn__file_meta **files, size_t n,
                              struct cairn__table_cache *tc,
                              const struct cairn__table_read_options *ro,
                              cairn__iter **out)
{
    files_iter *fi = calloc(1, sizeof *fi);
    level_arg *la = calloc(1, sizeof *la);
    if (fi == NULL || la == NULL) {
        free(fi);
        free(la);
        return cairn__err(CAIRN_NOMEM, "level iterator");
    }
    fi->base.ops = &files_ops;
    fi->files = files;
    fi->n = n;
    fi->pos = n;
    la->tc = tc;
    la->ro = *ro;
    return cairn__iter_two_level(&fi->base, open_level_file, la, free, out);
}

int cairn__version_add_iters(cairn__version *v, struct cairn__table_cache *tc,
                             const struct cairn__table_read_options *ro,
                             cairn__iter ***iters, size_t *n, size_t *cap)
{
    for (size_t i = 0; i < v->nfiles[0]; i++) {
        cairn__iter *it;
        CAIRN_TRY(cairn__table_cache_iter(tc, ro, v->files[0][i]->number,
                                          v->files[0][i]->file_size, &it));
        CAIRN_TRY(push_iter(iters, n, cap, it));
    }
    for (int level = 1; level < CAIRN__NUM_LEVELS; level++) {
        if (v->nfiles[level] == 0)
            continue;
        cairn__iter *it;
        CAIRN_TRY(cairn__version_files_iter(v->files[level], v->nfiles[level],
                                            tc, ro, &it));
        CAIRN_TRY(push_iter(iters, n, cap, it));
    }
    return 0;
}

uint64_t cairn__version_approximate_offset(cairn__version *v,
                                           struct cairn__table_cache *tc,
                                           cairn__slice ikey)
{
    uint64_t result = 0;
    for (int level = 0; level < CAIRN__NUM_LEVELS; level++) {
        for (size_t i = 0; i < v->nfiles[level]; i++) {
            cairn__file_meta *f = v->files[level][i];
            if (cairn__ikey_compare(cairn__buf_slice(&f->largest), ikey) <= 0) {
                result += f->file_size; /* entirely before ikey */
            } else if (cairn__ikey_compare(cairn__buf_slice(&f->smallest),
                                           ikey) > 0) {
                /* Entirely after; in sorted levels, so is the rest. */
                if (level > 0)
                    break;
            } else {
                result += cairn__table_cache_approximate_offset(
                    tc, f->number, f->file_size, ikey);
            }
        }
    }
    return result;
}

int cairn__version_record_read_sample(cairn__version *v, cairn__slice ikey)
{
    cairn__pikey pk;
    if (!cairn__ikey_parse(ikey, &pk))
        return 0;
    /* The first file consulted (level 0 newest first, then one file per
     * level) is charged when at least two files hold the key. */
    cairn__file_meta *first = NULL;
    int first_level = -1, matches = 0;
    for (int level = 0; level < CAIRN__NUM_LEVELS && matches < 2; level++) {
        if (level == 0) {
            cairn__file_meta *best = NULL;
            for (size_t i = 0; i < v->nfiles[0]; i++) {
                cairn__file_meta *f = v->files[0][i];
                if (cairn__slice_compare(pk.user_key, ukey_of(&f->smallest)) >=
                        0 &&
                    cairn__slice_compare(pk.user_key, ukey_of(&f->largest)) <=
                        0) {
                    matches++;
                    if (best == NULL || f->number > best->number)
                        best = f;
                }
            }
            if (best != NULL) {
                first = best;
                first_level = 0;
            }
            continue;
        }
        size_t idx = find_file(v->files[level], v->nfiles[level], ikey);
        if (idx >= v->nfiles[level])
            continue;
        cairn__file_meta *f = v->files[level][idx];
        if (cairn__slice_compare(pk.user_key, ukey_of(&f->smallest)) < 0)
            continue;
        if (matches++ == 0) {
            first = f;
            first_level = level;
        }
    }
    if (matches < 2 || first == NULL)
        return 0;
    first->allowed_seeks--;
    if (first->allowed_seeks <= 0 && v->file_to_compact == NULL) {
        v->file_to_compact = first;
        v->file_to_compact_level = first_level;
        return 1;
    }
    return 0;
}
