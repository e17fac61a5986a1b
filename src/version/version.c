/*
 * version.c: versions, the version builder and the MANIFEST.
 *
 * A new version is built by applying an edit to a base: each level's files
 * are the base's, minus the edit's deletions, plus its additions, sorted by
 * smallest internal key (ties by file number). File metadata is shared
 * between versions through a reference count.
 *
 * MANIFEST protocol (invariant V3 of version.h):
 *   1. If no MANIFEST is open, create MANIFEST-<manifest_number>, write a
 *      snapshot record (comparator, compact pointers, every live file).
 *   2. Append the edit, sync the MANIFEST (and, for a new one, sync the
 *      directory so its entry is durable).
 *   3. For a new MANIFEST, point CURRENT at it (temp file, sync, rename,
 *      directory sync).
 *   4. Only then install the version.
 * On failure a newly created MANIFEST is removed and forgotten, so the next
 * edit starts afresh; CURRENT keeps naming the old, intact one.
 */
#include "version/version.h"

#include "db/filename.h"
#include "version/compaction.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest CURRENT accepted (a name plus newline; anything longer is
 * damage, not a name). */
#define MAX_CURRENT_SIZE 4096

void cairn__file_meta_free(cairn__file_meta *f)
{
    if (f == NULL)
        return;
    cairn__buf_fini(&f->smallest);
    cairn__buf_fini(&f->largest);
    free(f);
}

static void file_unref(cairn__file_meta *f)
{
    if (--f->refs <= 0)
        cairn__file_meta_free(f);
}

static cairn__version *version_new(cairn__vset *vs)
{
    cairn__version *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->vset = vs;
    v->prev = v->next = v;
    v->compaction_level = -1;
    v->file_to_compact_level = -1;
    return v;
}

static void version_free(cairn__version *v)
{
    /* Unlink from the live list. */
    v->prev->next = v->next;
    v->next->prev = v->prev;
    for (int l = 0; l < CAIRN__NUM_LEVELS; l++) {
        for (size_t i = 0; i < v->nfiles[l]; i++)
            file_unref(v->files[l][i]);
        free(v->files[l]);
    }
    free(v);
}

void cairn__version_ref(cairn__version *v)
{
    v->refs++;
}

void cairn__version_unref(cairn__version *v)
{
    if (v != NULL && --v->refs == 0)
        version_free(v);
}

static void append_version(cairn__vset *vs, cairn__version *v)
{
    if (vs->current != NULL)
        cairn__version_unref(vs->current);
    vs->current = v;
    cairn__version_ref(v);
    v->prev = vs->dummy.prev;
    v->next = &vs->dummy;
    v->prev->next = v;
    v->next->prev = v;
}

int cairn__vset_create(cairn_env *env, const char *dbname, cairn__infolog *info,
                       cairn__vset **out)
{
    *out = NULL;
    cairn__vset *vs = calloc(1, sizeof *vs);
    if (vs == NULL)
        return cairn__err(CAIRN_NOMEM, "version set");
    vs->env = env;
    vs->dbname = dbname;
    vs->info = info;
    vs->next_file = 2;
    atomic_init(&vs->last_seq, 0);
    vs->dummy.prev = vs->dummy.next = &vs->dummy;
    for (int l = 0; l < CAIRN__NUM_LEVELS; l++)
        cairn__buf_init(&vs->compact_pointer[l]);
    cairn__version *v = version_new(vs);
    if (v == NULL) {
        free(vs);
        return cairn__err(CAIRN_NOMEM, "version");
    }
    append_version(vs, v);
    *out = vs;
    return 0;
}

void cairn__vset_destroy(cairn__vset *vs)
{
    if (vs == NULL)
        return;
    cairn__version_unref(vs->current);
    /* Any version still live here was leaked by a reader; free them so the
     * files' metadata does not leak too. */
    while (vs->dummy.next != &vs->dummy)
        version_free(vs->dummy.next);
    for (int l = 0; l < CAIRN__NUM_LEVELS; l++)
        cairn__buf_fini(&vs->compact_pointer[l]);
    if (vs->manifest != NULL)
        (void)cairn__file_close(vs->manifest);
    free(vs);
}

void cairn__vset_reuse_file_number(cairn__vset *vs, uint64_t n)
{
    if (vs->next_file == n + 1)
        vs->next_file = n;
}

void cairn__vset_mark_file_number_used(cairn__vset *vs, uint64_t n)
{
    if (vs->next_file <= n)
        vs->next_file = n + 1;
}

size_t cairn__vset_num_files(const cairn__vset *vs, int level)
{
    return vs->current->nfiles[level];
}

void cairn__vset_live_files(cairn__vset *vs,
                            void (*fn)(void *ctx, uint64_t number), void *ctx)
{
    for (cairn__version *v = vs->dummy.next; v != &vs->dummy; v = v->next)
        for (int l = 0; l < CAIRN__NUM_LEVELS; l++)
            for (size_t i = 0; i < v->nfiles[l]; i++)
                fn(ctx, v->files[l][i]->number);
}

/* ---------------------------------------------------------------------- */
/* Building a version from a base and edits.                               */

static int file_cmp(const void *pa, const void *pb)
{
    const cairn__file_meta *a = *(cairn__file_meta *const *)pa;
    const cairn__file_meta *b = *(cairn__file_meta *const *)pb;
    int r = cairn__ikey_compare(cairn__buf_slice(&a->smallest),
                                cairn__buf_slice(&b->smallest));
    if (r != 0)
        return r;
    return a->number < b->number ? -1 : a->number > b->number;
}

static int edit_deletes(const cairn__edit *e, int level, uint64_t number)
{
    for (size_t i = 0; i < e->ndeleted; i++)
        if (e->deleted[i].level == level && e->deleted[i].number == number)
            return 1;
    return 0;
}

static int copy_meta(const cairn__file_meta *src, cairn__file_meta **out)
{
    cairn__file_meta *f = calloc(1, sizeof *f);
    if (f == NULL)
        return cairn__err(CAIRN_NOMEM, "file metadata");
    f->refs = 1;
    f->number = src->number;
    f->file_size = src->file_size;
    /* One seek costs about as much as compacting 16 KiB (LevelDB). */
    uint64_t seeks = src->file_size / 16384;
    f->allowed_seeks =
        seeks < 100 ? 100 : (seeks > INT32_MAX ? INT32_MAX : (int)seeks);
    if (cairn__buf_append(&f->smallest, src->smallest.data,
                          src->smallest.len) ||
        cairn__buf_append(&f->largest, src->largest.data, src->largest.len)) {
        cairn__file_meta_free(f);
        return cairn__err(CAIRN_NOMEM, "file metadata");
    }
    *out = f;
    return 0;
}

/* Checks invariant V1 for levels >= 1 of a freshly built version. */
static int check_levels(const cairn__version *v)
{
    for (int l = 1; l < CAIRN__NUM_LEVELS; l++) {
        for (size_t i = 1; i < v->nfiles[l]; i++) {
            cairn__slice prev_largest =
                cairn__buf_slice(&v->files[l][i - 1]->largest);
            cairn__slice smallest = cairn__buf_slice(&v->files[l][i]->smallest);
            if (cairn__ikey_compare(prev_largest, smallest) >= 0)
                return CAIRN_CORRUPT(
                    "overlapping files %llu and %llu in level %d",
                    (unsigned long long)v->files[l][i - 1]->number,
                    (unsigned long long)v->files[l][i]->number, l);
        }
    }
    return 0;
}

/* Applies edit to base, producing a new unlinked version in *out. */
static int build_version(cairn__vset *vs, const cairn__version *base,
                         const cairn__edit *e, cairn__version **out)
{
    int rc = 0;
    cairn__version *v = version_new(vs);
    if (v == NULL)
        return cairn__err(CAIRN_NOMEM, "version");
    for (size_t i = 0; i < e->nfiles; i++) {
        const cairn__edit_file *nf = &e->files[i];
        if (nf->meta.smallest.len < 8 || nf->meta.largest.len < 8) {
            rc = CAIRN_CORRUPT("file %llu has malformed key bounds",
                               (unsigned long long)nf->meta.number);
            goto err;
        }
    }
    for (int l = 0; l < CAIRN__NUM_LEVELS; l++) {
        size_t cap = base->nfiles[l];
        for (size_t i = 0; i < e->nfiles; i++)
            cap += e->files[i].level == l;
        if (cap == 0)
            continue;
        v->files[l] = malloc(cap * sizeof *v->files[l]);
        if (v->files[l] == NULL) {
            rc = cairn__err(CAIRN_NOMEM, "version files");
            goto err;
        }
        for (size_t i = 0; i < base->nfiles[l]; i++) {
            cairn__file_meta *f = base->files[l][i];
            if (edit_deletes(e, l, f->number))
                continue;
            f->refs++;
            v->files[l][v->nfiles[l]++] = f;
        }
        for (size_t i = 0; i < e->nfiles; i++) {
            if (e->files[i].level != l ||
                edit_deletes(e, l, e->files[i].meta.number))
                continue;
            cairn__file_meta *f = NULL;
            CAIRN_TRY_GOTO(rc, copy_meta(&e->files[i].meta, &f), err);
            v->files[l][v->nfiles[l]++] = f;
        }
        qsort(v->files[l], v->nfiles[l], sizeof *v->files[l], file_cmp);
    }
    CAIRN_TRY_GOTO(rc, check_levels(v), err);
    cairn__version_finalize(v);
    *out = v;
    return 0;
err:
    v->prev = v->next = v;
    version_free(v);
    return rc;
}

/* Keeps compaction pointers and numbers from an edit (recovery and apply). */
static int absorb_pointers(cairn__vset *vs, const cairn__edit *e)
{
    for (size_t i = 0; i < e->npointers; i++) {
        cairn__buf *p = &vs->compact_pointer[e->pointers[i].level];
        cairn__buf_clear(p);
        CAIRN_TRY(cairn__buf_append(p, e->pointers[i].key.data,
                                    e->pointers[i].key.len));
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Recovery                                                                */

/* Damage in the MANIFEST. Any damage followed by a good record is fatal:
 * the MANIFEST is never partly trusted. Damage with nothing good after it
 * is the record whose append was cut short by a crash or power loss: each
 * edit is synced before anything depends on it (version.h V3), so only
 * the last, unfinished one can be torn, and ignoring it loses nothing
 * acknowledged (the flush or compaction it described is simply redone). */
typedef struct manifest_report {
    int pending;
    char msg[CAIRN__ERRMSG_MAX];
    const char *path;
} manifest_report;

static void manifest_damage(void *ctx, uint64_t offset, size_t bytes,
                            const char *reason)
{
    manifest_report *r = ctx;
    if (!r->pending) {
        r->pending = 1;
        snprintf(r->msg, sizeof r->msg, "%s offset %llu: %s (%zu bytes)",
                 r->path, (unsigned long long)offset, reason, bytes);
    }
}

static int read_current(cairn__vset *vs, cairn__buf *manifest_path,
                        uint64_t *manifest_number)
{
    cairn__buf path = CAIRN__BUF_INIT;
    char *data = NULL;
    size_t len = 0;
    int rc;
    CAIRN_TRY_GOTO(rc, cairn__filename_current(&path, vs->dbname), out);
    rc =
        cairn__env_read_file(vs->env, path.data, MAX_CURRENT_SIZE, &data, &len);
    if (rc != 0)
        goto out;
    if (len == 0 || data[len - 1] != '\n') {
        rc = CAIRN_CORRUPT("CURRENT file does not end with newline");
        goto out;
    }
    data[len - 1] = '\0';
    enum cairn__file_type type;
    if (strchr(data, '/') != NULL ||
        !cairn__filename_parse(data, manifest_number, &type) ||
        type != CAIRN__FILE_DESCRIPTOR) {
        rc = CAIRN_CORRUPT("CURRENT names '%.64s', not a MANIFEST", data);
        goto out;
    }
    CAIRN_TRY_GOTO(
        rc,
        cairn__filename_descriptor(manifest_path, vs->dbname, *manifest_number),
        out);
    if (!vs->env->ops->exists(vs->env, manifest_path->data))
        rc = CAIRN_CORRUPT("CURRENT points to a non-existent file %s", data);
out:
    free(data);
    cairn__buf_fini(&path);
    return rc;
}

int cairn__vset_recover(cairn__vset *vs)
{
    cairn__buf path = CAIRN__BUF_INIT;
    cairn__file *file = NULL;
    cairn__log_reader reader;
    int reader_ok = 0;
    cairn__edit edit;
    cairn__edit_init(&edit);
    int have_log = 0, have_prev = 0, have_next = 0, have_seq = 0;
    uint64_t log_number = 0, prev_log = 0, next_file = 0, last_seq = 0;
    uint64_t manifest_number = 0;
    int rc;

    CAIRN_TRY_GOTO(rc, read_current(vs, &path, &manifest_number), out);
    CAIRN_TRY_GOTO(rc, vs->env->ops->open_read(vs->env, path.data, &file), out);
    manifest_report rep;
    rep.pending = 0;
    rep.msg[0] = '\0';
    rep.path = path.data;
    CAIRN_TRY_GOTO(
        rc, cairn__log_reader_init(&reader, file, manifest_damage, &rep, 1, 0),
        out);
    reader_ok = 1;

    cairn__version *v = vs->current;
    cairn__version_ref(v);
    for (;;) {
        cairn__slice rec;
        int got = cairn__log_read_record(&reader, &rec);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0) {
            if (rep.pending)
                cairn__infolog_printf(vs->info,
                                      "MANIFEST ends in a torn record, "
                                      "ignored: %s",
                                      rep.msg);
            break;
        }
        if (rep.pending) {
            rc = cairn__err(CAIRN_CORRUPTION, "%s", rep.msg);
            break;
        }
        rc = cairn__edit_decode(&edit, rec);
        if (rc != 0) {
            cairn__err_wrap(
                rc, "%s offset %llu", path.data,
                (unsigned long long)cairn__log_reader_last_offset(&reader));
            break;
        }
        if (edit.has_comparator &&
            (edit.comparator.len != strlen(CAIRN__COMPARATOR_NAME) ||
             memcmp(edit.comparator.data, CAIRN__COMPARATOR_NAME,
                    edit.comparator.len) != 0)) {
            rc = cairn__err(
                CAIRN_INVALID, "%.*s does not match existing comparator %s",
                (int)(edit.comparator.len > 200 ? 200 : edit.comparator.len),
                edit.comparator.data, CAIRN__COMPARATOR_NAME);
            break;
        }
        cairn__version *nv;
        rc = build_version(vs, v, &edit, &nv);
        if (rc != 0) {
            cairn__err_wrap(rc, "%s", path.data);
            break;
        }
        nv->refs = 1;
        nv->prev = nv->next = nv;
        /* Keep only the newest intermediate version alive. */
        cairn__version_unref(v);
        v = nv;
        if ((rc = absorb_pointers(vs, &edit)) != 0)
            break;
        if (edit.has_log_number) {
            have_log = 1;
            log_number = edit.log_number;
        }
        if (edit.has_prev_log_number) {
            have_prev = 1;
            prev_log = edit.prev_log_number;
        }
        if (edit.has_next_file) {
            have_next = 1;
            next_file = edit.next_file;
        }
        if (edit.has_last_seq) {
            have_seq = 1;
            last_seq = edit.last_seq;
        }
    }
    if (rc == 0) {
        if (!have_next)
            rc = CAIRN_CORRUPT("%s: no meta-nextfile entry in descriptor",
                               path.data);
        else if (!have_log)
            rc = CAIRN_CORRUPT("%s: no meta-lognumber entry in descriptor",
                               path.data);
        else if (!have_seq)
            rc = CAIRN_CORRUPT(
                "%s: no last-sequence-number entry in descriptor", path.data);
        else if (last_seq > CAIRN__MAX_SEQ)
            rc = CAIRN_CORRUPT("%s: last sequence %llu out of range", path.data,
                               (unsigned long long)last_seq);
    }
    if (rc != 0) {
        if (v != vs->current) {
            v->prev = v->next = v;
            cairn__version_unref(v);
        } else {
            cairn__version_unref(v);
        }
        goto out;
    }
    if (!have_prev)
        prev_log = 0;
    if (v != vs->current) {
        /* Install: v has refs 1 from the loop; append_version adds its own. */
        append_version(vs, v);
        cairn__version_unref(v);
    } else {
        cairn__version_unref(v);
    }
    vs->manifest_number = next_file;
    vs->next_file = next_file + 1;
    vs->log_number = log_number;
    vs->prev_log_number = prev_log;
    atomic_store_explicit(&vs->last_seq, last_seq, memory_order_relaxed);
    cairn__vset_mark_file_number_used(vs, log_number);
    cairn__vset_mark_file_number_used(vs, prev_log);
    cairn__vset_mark_file_number_used(vs, manifest_number);
    /* Every file a version names must be below next_file (V4). */
    for (int l = 0; l < CAIRN__NUM_LEVELS; l++)
        for (size_t i = 0; i < vs->current->nfiles[l]; i++)
            cairn__vset_mark_file_number_used(vs,
                                              vs->current->files[l][i]->number);
    if (vs->next_file <= vs->manifest_number)
        vs->next_file = vs->manifest_number + 1;
out:
    if (reader_ok)
        cairn__log_reader_fini(&reader);
    if (file != NULL)
        (void)cairn__file_close(file);
    cairn__edit_fini(&edit);
    cairn__buf_fini(&path);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */

int cairn__vset_create_new_db(cairn__vset *vs)
{
    int naming = 0;
    cairn__edit e;
    cairn__edit_init(&e);
    cairn__buf rec = CAIRN__BUF_INIT, path = CAIRN__BUF_INIT;
    cairn__file *f = NULL;
    int rc;
    CAIRN_TRY_GOTO(rc, cairn__edit_set_comparator(&e, CAIRN__COMPARATOR_NAME),
                   out);
    cairn__edit_set_log_number(&e, 0);
    cairn__edit_set_next_file(&e, 2);
    cairn__edit_set_last_seq(&e, 0);
    CAIRN_TRY_GOTO(rc, cairn__edit_encode(&e, &rec), out);
    CAIRN_TRY_GOTO(rc, cairn__filename_descriptor(&path, vs->dbname, 1), out);
    CAIRN_TRY_GOTO(rc, vs->env->ops->open_write(vs->env, path.data, &f), out);
    cairn__log_writer w;
    cairn__log_writer_init(&w, f, 0);
    CAIRN_TRY_GOTO(rc, cairn__log_add_record(&w, rec.data, rec.len), out);
    CAIRN_TRY_GOTO(rc, cairn__file_sync(f), out);
    rc = cairn__file_close(f);
    f = NULL;
    if (rc != 0)
        goto out;
    /* MANIFEST-000001, and its directory entry, are durable before
     * CURRENT names it. */
    CAIRN_TRY_GOTO(rc, vs->env->ops->sync_dir(vs->env, vs->dbname), out);
    naming = 1;
    rc = cairn__set_current_file(vs->env, vs->dbname, 1);
out:
    if (f != NULL)
        (void)cairn__file_close(f);
    /* Once CURRENT may have been renamed into place, the MANIFEST it may
     * name must stay, whatever failed after the rename. */
    if (rc != 0 && !naming && path.data != NULL) {
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        (void)vs->env->ops->remove(vs->env, path.data);
        cairn__errmsg_restore(msg);
    }
    cairn__edit_fini(&e);
    cairn__buf_fini(&rec);
    cairn__buf_fini(&path);
    return rc;
}

/* The first record of a new MANIFEST: everything needed to rebuild the
 * current state without older MANIFESTs. */
static int write_snapshot(cairn__vset *vs, cairn__log_writer *w)
{
    cairn__edit e;
    cairn__edit_init(&e);
    cairn__buf rec = CAIRN__BUF_INIT;
    int rc;
    CAIRN_TRY_GOTO(rc, cairn__edit_set_comparator(&e, CAIRN__COMPARATOR_NAME),
                   out);
    for (int l = 0; l < CAIRN__NUM_LEVELS; l++)
        if (vs->compact_pointer[l].len > 0)
            CAIRN_TRY_GOTO(
                rc,
                cairn__edit_add_pointer(
                    &e, l, cairn__buf_slice(&vs->compact_pointer[l])),
                out);
    for (int l = 0; l < CAIRN__NUM_LEVELS; l++) {
        for (size_t i = 0; i < vs->current->nfiles[l]; i++) {
            const cairn__file_meta *f = vs->current->files[l][i];
            CAIRN_TRY_GOTO(rc,
                           cairn__edit_add_file(&e, l, f->number, f->file_size,
                                                cairn__buf_slice(&f->smallest),
                                                cairn__buf_slice(&f->largest)),
                           out);
        }
    }
    CAIRN_TRY_GOTO(rc, cairn__edit_encode(&e, &rec), out);
    rc = cairn__log_add_record(w, rec.data, rec.len);
out:
    cairn__edit_fini(&e);
    cairn__buf_fini(&rec);
    return rc;
}

int cairn__vset_log_and_apply(cairn__vset *vs, cairn__edit *e, cairn__mutex *mu)
{
    cairn__mutex_assert_held(mu);
    if (!e->has_log_number)
        cairn__edit_set_log_number(e, vs->log_number);
    if (!e->has_prev_log_number)
        cairn__edit_set_prev_log_number(e, vs->prev_log_number);
    cairn__edit_set_next_file(e, vs->next_file);
    cairn__edit_set_last_seq(
        e, atomic_load_explicit(&vs->last_seq, memory_order_acquire));

    cairn__version *v = NULL;
    cairn__buf rec = CAIRN__BUF_INIT, path = CAIRN__BUF_INIT;
    int rc, new_manifest = 0, naming = 0;
    CAIRN_TRY_GOTO(rc, build_version(vs, vs->current, e, &v), out);
    CAIRN_TRY_GOTO(rc, cairn__edit_encode(e, &rec), out);

    if (vs->manifest == NULL) {
        /* Start a new MANIFEST; this happens under the mutex, which is fine
         * because it is rare (open, and after a failed MANIFEST write). */
        new_manifest = 1;
        vs->manifest_number = cairn__vset_new_file_number(vs);
        cairn__edit_set_next_file(e, vs->next_file);
        cairn__buf_clear(&rec);
        CAIRN_TRY_GOTO(rc, cairn__edit_encode(e, &rec), out);
        CAIRN_TRY_GOTO(
            rc,
            cairn__filename_descriptor(&path, vs->dbname, vs->manifest_number),
            out);
        CAIRN_TRY_GOTO(
            rc, vs->env->ops->open_write(vs->env, path.data, &vs->manifest),
            out);
        cairn__log_writer_init(&vs->manifest_log, vs->manifest, 0);
        CAIRN_TRY_GOTO(rc, write_snapshot(vs, &vs->manifest_log), out);
    }

    /* The edit record and its sync happen without the db mutex: only one
     * log_and_apply runs at a time (callers serialise), and nothing else
     * touches the MANIFEST writer. */
    cairn__mutex_unlock(mu);
    rc = 0;
    /* Tables the edit names must have durable directory entries before
     * the MANIFEST does (the files themselves were synced by their
     * writers): one directory sync covers every new table of the edit. */
    if (e->nfiles > 0 && !new_manifest)
        rc = vs->env->ops->sync_dir(vs->env, vs->dbname);
    if (rc == 0)
        rc = cairn__log_add_record(&vs->manifest_log, rec.data, rec.len);
    if (rc == 0)
        rc = cairn__file_sync(vs->manifest);
    if (rc == 0 && new_manifest)
        rc = vs->env->ops->sync_dir(vs->env, vs->dbname);
    if (rc == 0 && new_manifest) {
        naming = 1;
        rc = cairn__set_current_file(vs->env, vs->dbname, vs->manifest_number);
    }
    cairn__mutex_lock(mu);
    if (rc != 0)
        goto out;

    CAIRN_TRY_GOTO(rc, absorb_pointers(vs, e), out);
    append_version(vs, v);
    v = NULL;
    vs->log_number = e->log_number;
    vs->prev_log_number = e->prev_log_number;
out:
    if (v != NULL) {
        v->prev = v->next = v;
        version_free(v);
    }
    if (rc != 0 && new_manifest) {
        if (vs->manifest != NULL)
            (void)cairn__file_close(vs->manifest);
        vs->manifest = NULL;
        /* Once CURRENT may have been renamed to name it, the new MANIFEST
         * must stay. */
        if (!naming && path.data != NULL) {
            char msg[CAIRN__ERRMSG_MAX];
            snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
            (void)vs->env->ops->remove(vs->env, path.data);
            cairn__errmsg_restore(msg);
        }
    } else if (rc != 0 && vs->manifest != NULL) {
        /* The MANIFEST may now end in a torn record; never append after
         * it. The next edit writes a fresh MANIFEST. */
        (void)cairn__file_close(vs->manifest);
        vs->manifest = NULL;
    }
    cairn__buf_fini(&rec);
    cairn__buf_fini(&path);
    return rc;
}
