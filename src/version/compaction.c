/*
 * compaction.c: picking compactions; see compaction.h for the policy.
 */
#include "version/compaction.h"

#include "util/ikey.h"

#include <stdlib.h>
#include <string.h>

#define L0_COMPACTION_TRIGGER 4
/* Grandparent bytes one output may overlap before it is cut, and the cap
 * on a grown compaction's inputs, as multiples of max_file_size. */
#define GRANDPARENT_FACTOR 10
#define EXPANDED_FACTOR    25

double cairn__max_bytes_for_level(int level)
{
    double result = 10.0 * 1048576.0;
    while (level > 1) {
        result *= 10;
        level--;
    }
    return result;
}

void cairn__version_finalize(cairn__version *v)
{
    int best_level = -1;
    double best_score = -1;
    /* The last level is never a compaction source. */
    for (int level = 0; level < CAIRN__NUM_LEVELS - 1; level++) {
        double score;
        if (level == 0)
            score = (double)v->nfiles[0] / L0_COMPACTION_TRIGGER;
        else
            score = (double)cairn__version_level_bytes(v, level) /
                    cairn__max_bytes_for_level(level);
        if (score > best_score) {
            best_level = level;
            best_score = score;
        }
    }
    v->compaction_level = best_level;
    v->compaction_score = best_score;
}

int cairn__vset_needs_compaction(const cairn__vset *vs)
{
    const cairn__version *v = vs->current;
    return v->compaction_score >= 1 || v->file_to_compact != NULL;
}

static cairn__slice ukey(const cairn__buf *ikey)
{
    return cairn__slice_make(ikey->data, ikey->len - 8);
}

/* A growable array of file pointers. */
typedef struct fvec {
    cairn__file_meta **v;
    size_t n, cap;
} fvec;

static int fvec_push(fvec *f, cairn__file_meta *m)
{
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        cairn__file_meta **p = realloc(f->v, ncap * sizeof *p);
        if (p == NULL)
            return cairn__err(CAIRN_NOMEM, "compaction inputs");
        f->v = p;
        f->cap = ncap;
    }
    f->v[f->n++] = m;
    return 0;
}

int cairn__version_overlapping_inputs(const cairn__version *v, int level,
                                      const cairn__slice *begin,
                                      const cairn__slice *end,
                                      cairn__file_meta ***files, size_t *n)
{
    cairn__buf b = CAIRN__BUF_INIT, e = CAIRN__BUF_INIT;
    int has_b = begin != NULL, has_e = end != NULL;
    fvec out = {NULL, 0, 0};
    int rc = 0;
    if (has_b)
        CAIRN_TRY_GOTO(rc, cairn__buf_append(&b, begin->data, begin->size),
                       fail);
    if (has_e)
        CAIRN_TRY_GOTO(rc, cairn__buf_append(&e, end->data, end->size), fail);
restart:
    out.n = 0;
    for (size_t i = 0; i < v->nfiles[level]; i++) {
        cairn__file_meta *f = v->files[level][i];
        cairn__slice fs = ukey(&f->smallest), fl = ukey(&f->largest);
        if (has_b && cairn__slice_compare(fl, cairn__buf_slice(&b)) < 0)
            continue;
        if (has_e && cairn__slice_compare(fs, cairn__buf_slice(&e)) > 0)
            continue;
        CAIRN_TRY_GOTO(rc, fvec_push(&out, f), fail);
        if (level == 0) {
            /* Level-0 files overlap each other: widen the range to this
             * file's and start over, until nothing more is pulled in. */
            if (has_b && cairn__slice_compare(fs, cairn__buf_slice(&b)) < 0) {
                cairn__buf_clear(&b);
                CAIRN_TRY_GOTO(rc, cairn__buf_append(&b, fs.data, fs.size),
                               fail);
                goto restart;
            }
            if (has_e && cairn__slice_compare(fl, cairn__buf_slice(&e)) > 0) {
                cairn__buf_clear(&e);
                CAIRN_TRY_GOTO(rc, cairn__buf_append(&e, fl.data, fl.size),
                               fail);
                goto restart;
            }
        }
    }
    *files = out.v;
    *n = out.n;
    cairn__buf_fini(&b);
    cairn__buf_fini(&e);
    return 0;
fail:
    free(out.v);
    cairn__buf_fini(&b);
    cairn__buf_fini(&e);
    return rc;
}

/* Smallest and largest internal keys over a set of files. */
static void get_range(cairn__file_meta *const *f, size_t n,
                      cairn__slice *smallest, cairn__slice *largest)
{
    for (size_t i = 0; i < n; i++) {
        cairn__slice s = cairn__buf_slice(&f[i]->smallest);
        cairn__slice l = cairn__buf_slice(&f[i]->largest);
        if (i == 0 || cairn__ikey_compare(s, *smallest) < 0)
            *smallest = s;
        if (i == 0 || cairn__ikey_compare(l, *largest) > 0)
            *largest = l;
    }
}

static void get_range2(const cairn__compaction *c, cairn__slice *smallest,
                       cairn__slice *largest)
{
    cairn__slice s0, l0, s1, l1;
    get_range(c->inputs[0], c->ninputs[0], &s0, &l0);
    *smallest = s0;
    *largest = l0;
    if (c->ninputs[1] > 0) {
        get_range(c->inputs[1], c->ninputs[1], &s1, &l1);
        if (cairn__ikey_compare(s1, *smallest) < 0)
            *smallest = s1;
        if (cairn__ikey_compare(l1, *largest) > 0)
            *largest = l1;
    }
}

/* Adds to files the level files whose smallest user key equals the
 * current largest user key of the set, so that the entries of one user key
 * are never split between this compaction and a later one (LevelDB's
 * AddBoundaryInputs): splitting would let an older version in a lower
 * level resurface over a newer one. */
static int add_boundary_inputs(const cairn__version *v, int level, fvec *files)
{
    if (files->n == 0)
        return 0;
    cairn__slice smallest, largest;
    get_range(files->v, files->n, &smallest, &largest);
    for (;;) {
        cairn__file_meta *best = NULL;
        for (size_t i = 0; i < v->nfiles[level]; i++) {
            cairn__file_meta *f = v->files[level][i];
            cairn__slice fs = cairn__buf_slice(&f->smallest);
            if (cairn__ikey_compare(fs, largest) > 0 &&
                cairn__slice_equal(cairn__ikey_user(fs),
                                   cairn__ikey_user(largest))) {
                if (best == NULL ||
                    cairn__ikey_compare(fs, cairn__buf_slice(&best->smallest)) <
                        0)
                    best = f;
            }
        }
        if (best == NULL)
            return 0;
        CAIRN_TRY(fvec_push(files, best));
        largest = cairn__buf_slice(&best->largest);
    }
}

static uint64_t total_bytes(cairn__file_meta *const *f, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += f[i]->file_size;
    return sum;
}

static int compaction_new(cairn__vset *vs, int level, uint64_t max_file_size,
                          cairn__compaction **out)
{
    cairn__compaction *c = calloc(1, sizeof *c);
    if (c == NULL)
        return cairn__err(CAIRN_NOMEM, "compaction");
    c->level = level;
    c->max_output_file_size = max_file_size;
    c->input_version = vs->current;
    cairn__version_ref(c->input_version);
    cairn__edit_init(&c->edit);
    *out = c;
    return 0;
}

void cairn__compaction_free(cairn__compaction *c)
{
    if (c == NULL)
        return;
    cairn__version_unref(c->input_version);
    cairn__edit_fini(&c->edit);
    free(c->inputs[0]);
    free(c->inputs[1]);
    free(c->grandparents);
    free(c);
}

/* Fills inputs[1], grows inputs[0] when that is free, finds grandparents
 * and advances the level's compaction pointer. */
static int setup_other_inputs(cairn__vset *vs, cairn__compaction *c)
{
    const cairn__version *v = c->input_version;
    int level = c->level;
    fvec in0 = {c->inputs[0], c->ninputs[0], c->ninputs[0]};
    CAIRN_TRY(add_boundary_inputs(v, level, &in0));
    c->inputs[0] = in0.v;
    c->ninputs[0] = in0.n;

    cairn__slice smallest, largest;
    get_range(c->inputs[0], c->ninputs[0], &smallest, &largest);
    cairn__slice us = cairn__ikey_user(smallest),
                 ul = cairn__ikey_user(largest);
    CAIRN_TRY(cairn__version_overlapping_inputs(v, level + 1, &us, &ul,
                                                &c->inputs[1], &c->ninputs[1]));
    /* Boundary files at level+1 too (LevelDB after 1.23): if the versions
     * of one user key span two level+1 files and only one were an input,
     * a tombstone could be dropped over the value in the other. */
    fvec in1 = {c->inputs[1], c->ninputs[1], c->ninputs[1]};
    CAIRN_TRY(add_boundary_inputs(v, level + 1, &in1));
    c->inputs[1] = in1.v;
    c->ninputs[1] = in1.n;

    cairn__slice all_start, all_limit;
    get_range2(c, &all_start, &all_limit);

    /* Try to grow the level inputs without changing the level+1 inputs. */
    if (c->ninputs[1] > 0) {
        cairn__slice as = cairn__ikey_user(all_start);
        cairn__slice al = cairn__ikey_user(all_limit);
        cairn__file_meta **exp0 = NULL;
        size_t nexp0 = 0;
        CAIRN_TRY(cairn__version_overlapping_inputs(v, level, &as, &al, &exp0,
                                                    &nexp0));
        fvec e0 = {exp0, nexp0, nexp0};
        int rc = add_boundary_inputs(v, level, &e0);
        if (rc != 0) {
            free(e0.v);
            return rc;
        }
        uint64_t in1_size = total_bytes(c->inputs[1], c->ninputs[1]);
        uint64_t exp0_size = total_bytes(e0.v, e0.n);
        if (e0.n > c->ninputs[0] &&
            in1_size + exp0_size < EXPANDED_FACTOR * c->max_output_file_size) {
            cairn__slice ns, nl;
            get_range(e0.v, e0.n, &ns, &nl);
            cairn__slice nus = cairn__ikey_user(ns), nul = cairn__ikey_user(nl);
            cairn__file_meta **exp1 = NULL;
            size_t nexp1 = 0;
            rc = cairn__version_overlapping_inputs(v, level + 1, &nus, &nul,
                                                   &exp1, &nexp1);
            if (rc != 0) {
                free(e0.v);
                return rc;
            }
            if (nexp1 == c->ninputs[1]) {
                free(c->inputs[0]);
                c->inputs[0] = e0.v;
                c->ninputs[0] = e0.n;
                e0.v = NULL;
                free(c->inputs[1]);
                c->inputs[1] = exp1;
                c->ninputs[1] = nexp1;
                exp1 = NULL;
                get_range2(c, &all_start, &all_limit);
            }
            free(exp1);
        }
        free(e0.v);
    }

    /* Growing may have replaced the level+1 set: keep its boundaries. */
    fvec in1b = {c->inputs[1], c->ninputs[1], c->ninputs[1]};
    CAIRN_TRY(add_boundary_inputs(v, level + 1, &in1b));
    c->inputs[1] = in1b.v;
    c->ninputs[1] = in1b.n;
    get_range2(c, &all_start, &all_limit);

    if (level + 2 < CAIRN__NUM_LEVELS) {
        cairn__slice as = cairn__ikey_user(all_start);
        cairn__slice al = cairn__ikey_user(all_limit);
        CAIRN_TRY(cairn__version_overlapping_inputs(
            v, level + 2, &as, &al, &c->grandparents, &c->ngrandparents));
    }

    /* The next compaction of this level starts after these inputs; the
     * pointer is updated now (not when the compaction succeeds) so that a
     * failing range does not block the rest of the level. */
    get_range(c->inputs[0], c->ninputs[0], &smallest, &largest);
    cairn__buf *ptr = &vs->compact_pointer[level];
    cairn__buf_clear(ptr);
    CAIRN_TRY(cairn__buf_append(ptr, largest.data, largest.size));
    return cairn__edit_add_pointer(&c->edit, level, largest);
}

int cairn__vset_pick_compaction(cairn__vset *vs, uint64_t max_file_size,
                                cairn__compaction **out)
{
    cairn__version *cur = vs->current;
    cairn__compaction *c = NULL;
    int rc;
    *out = NULL;
    if (cur->compaction_score >= 1) {
        int level = cur->compaction_level;
        CAIRN_TRY(compaction_new(vs, level, max_file_size, &c));
        fvec in0 = {NULL, 0, 0};
        cairn__buf *ptr = &vs->compact_pointer[level];
        for (size_t i = 0; i < cur->nfiles[level]; i++) {
            cairn__file_meta *f = cur->files[level][i];
            if (ptr->len == 0 ||
                cairn__ikey_compare(cairn__buf_slice(&f->largest),
                                    cairn__buf_slice(ptr)) > 0) {
                CAIRN_TRY_GOTO(rc, fvec_push(&in0, f), fail);
                break;
            }
        }
        if (in0.n == 0 && cur->nfiles[level] > 0)
            CAIRN_TRY_GOTO(rc, fvec_push(&in0, cur->files[level][0]), fail);
        c->inputs[0] = in0.v;
        c->ninputs[0] = in0.n;
    } else if (cur->file_to_compact != NULL) {
        CAIRN_TRY(
            compaction_new(vs, cur->file_to_compact_level, max_file_size, &c));
        fvec in0 = {NULL, 0, 0};
        CAIRN_TRY_GOTO(rc, fvec_push(&in0, cur->file_to_compact), fail);
        c->inputs[0] = in0.v;
        c->ninputs[0] = in0.n;
    } else {
        return 0;
    }
    if (c->ninputs[0] == 0) {
        cairn__compaction_free(c);
        return 0;
    }
    if (c->level == 0) {
        /* Widen to every level-0 file overlapping the chosen one. */
        cairn__slice s, l;
        get_range(c->inputs[0], c->ninputs[0], &s, &l);
        cairn__slice us = cairn__ikey_user(s), ul = cairn__ikey_user(l);
        free(c->inputs[0]);
        c->inputs[0] = NULL;
        c->ninputs[0] = 0;
        CAIRN_TRY_GOTO(
            rc,
            cairn__version_overlapping_inputs(c->input_version, 0, &us, &ul,
                                              &c->inputs[0], &c->ninputs[0]),
            fail);
    }
    CAIRN_TRY_GOTO(rc, setup_other_inputs(vs, c), fail);
    *out = c;
    return 0;
fail:
    cairn__compaction_free(c);
    return rc;
}

int cairn__vset_compact_range(cairn__vset *vs, int level,
                              const cairn__slice *begin,
                              const cairn__slice *end, uint64_t max_file_size,
                              cairn__compaction **out)
{
    *out = NULL;
    cairn__file_meta **files = NULL;
    size_t n = 0;
    CAIRN_TRY(cairn__version_overlapping_inputs(vs->current, level, begin, end,
                                                &files, &n));
    if (n == 0) {
        free(files);
        return 0;
    }
    /* Bound one step of a manual compaction (never at level 0, whose
     * files overlap and must go together). */
    if (level > 0) {
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            total += files[i]->file_size;
            if (total >= max_file_size) {
                n = i + 1;
                break;
            }
        }
    }
    cairn__compaction *c = NULL;
    int rc = compaction_new(vs, level, max_file_size, &c);
    if (rc != 0) {
        free(files);
        return rc;
    }
    c->manual = 1;
    c->inputs[0] = files;
    c->ninputs[0] = n;
    rc = setup_other_inputs(vs, c);
    if (rc != 0) {
        cairn__compaction_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int cairn__compaction_is_trivial_move(const cairn__compaction *c)
{
    return !c->manual && c->ninputs[0] == 1 && c->ninputs[1] == 0 &&
           total_bytes(c->grandparents, c->ngrandparents) <=
               GRANDPARENT_FACTOR * c->max_output_file_size;
}

int cairn__compaction_add_input_deletions(cairn__compaction *c)
{
    for (int which = 0; which < 2; which++)
        for (size_t i = 0; i < c->ninputs[which]; i++)
            CAIRN_TRY(cairn__edit_delete_file(&c->edit, c->level + which,
                                              c->inputs[which][i]->number));
    return 0;
}

int cairn__compaction_is_base_level_for_key(const cairn__compaction *c,
                                            cairn__compaction_cursor *cur,
                                            cairn__slice user_key)
{
    const cairn__version *v = c->input_version;
    for (int level = c->level + 2; level < CAIRN__NUM_LEVELS; level++) {
        while (cur->level_ptrs[level] < v->nfiles[level]) {
            cairn__file_meta *f = v->files[level][cur->level_ptrs[level]];
            if (cairn__slice_compare(user_key, ukey(&f->largest)) <= 0) {
                /* The key is at or before this file's end. */
                if (cairn__slice_compare(user_key, ukey(&f->smallest)) >= 0)
                    return 0;
                break;
            }
            cur->level_ptrs[level]++;
        }
    }
    return 1;
}

int cairn__compaction_should_stop_before(const cairn__compaction *c,
                                         cairn__compaction_cursor *cur,
                                         cairn__slice ikey)
{
    while (cur->grandparent_index < c->ngrandparents &&
           cairn__ikey_compare(
               ikey, cairn__buf_slice(
                         &c->grandparents[cur->grandparent_index]->largest)) >
               0) {
        if (cur->seen_key)
            cur->overlapped_bytes +=
                c->grandparents[cur->grandparent_index]->file_size;
        cur->grandparent_index++;
    }
    cur->seen_key = 1;
    if (cur->overlapped_bytes > GRANDPARENT_FACTOR * c->max_output_file_size) {
        cur->overlapped_bytes = 0;
        return 1;
    }
    return 0;
}

uint64_t cairn__compaction_input_bytes(const cairn__compaction *c, int which)
{
    return total_bytes(c->inputs[which], c->ninputs[which]);
}

int cairn__version_update_stats(cairn__version *v, cairn__file_meta *f,
                                int level)
{
    if (f == NULL)
        return 0;
    f->allowed_seeks--;
    if (f->allowed_seeks <= 0 && v->file_to_compact == NULL) {
        v->file_to_compact = f;
        v->file_to_compact_level = level;
        return 1;
    }
    return 0;
}
