/*
 * filename.c: the names of the files in a database directory, and the one
 * place that rewrites CURRENT.
 *
 * Names are LevelDB 1.23's exactly (filename.h), because a directory must
 * be usable by either engine:
 *
 *   NNNNNN.log  NNNNNN.ldb  NNNNNN.sst  NNNNNN.dbtmp  MANIFEST-NNNNNN
 *   CURRENT  LOCK  LOG  LOG.old
 *
 * where NNNNNN is the number in decimal, zero-padded to at least six
 * digits. Parsing is LevelDB's ParseFileName: a number is any run of
 * decimal digits whose value fits in 64 bits (leading zeros allowed, no
 * sign, at least one digit), and nothing may follow a recognised suffix.
 * Names that do not parse are not ours; garbage collection leaves them.
 *
 * CURRENT holds "MANIFEST-NNNNNN\n" (16 bytes for a six-digit number). It is
 * replaced through a temporary file so that a crash leaves either the old
 * or the new contents, never a torn file:
 *   1. write NNNNNN.dbtmp (NNNNNN = the manifest's number) and sync it;
 *   2. rename it over CURRENT;
 *   3. sync the directory, so the rename itself survives power loss (a step
 *      LevelDB 1.23 leaves to the next MANIFEST sync; see its issue #195).
 * If step 1 or 2 fails the temporary file is removed. If step 3 fails the
 * rename has happened but may not be durable, and the error is returned.
 *
 * Threads: the name functions touch only their arguments. set_current_file
 * is called by the one thread installing a new MANIFEST (the version set,
 * with the db mutex released, as LevelDB's LogAndApply does).
 */
#include "db/filename.h"

#include "env/env.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Replaces out's contents with the formatted text, NUL-terminated. */
static int set_name(cairn__buf *out, const char *fmt, ...) CAIRN_PRINTF(2, 3);

static int set_name(cairn__buf *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return cairn__err(CAIRN_INVALID, "cannot format a file name");
    cairn__buf_clear(out);
    CAIRN_TRY(cairn__buf_reserve(out, (size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf(out->data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out->len = (size_t)n;
    return 0;
}

static int numbered(cairn__buf *out, const char *dir, uint64_t n,
                    const char *suffix)
{
    if (dir == NULL)
        return cairn__err(CAIRN_INVALID, "file name: directory is NULL");
    return set_name(out, "%s/%06" PRIu64 ".%s", dir, n, suffix);
}

static int fixed(cairn__buf *out, const char *dir, const char *name)
{
    if (dir == NULL)
        return cairn__err(CAIRN_INVALID, "file name: directory is NULL");
    return set_name(out, "%s/%s", dir, name);
}

int cairn__filename_log(cairn__buf *out, const char *dir, uint64_t n)
{
    return numbered(out, dir, n, "log");
}

int cairn__filename_table(cairn__buf *out, const char *dir, uint64_t n)
{
    return numbered(out, dir, n, "ldb");
}

int cairn__filename_sst(cairn__buf *out, const char *dir, uint64_t n)
{
    return numbered(out, dir, n, "sst");
}

int cairn__filename_temp(cairn__buf *out, const char *dir, uint64_t n)
{
    return numbered(out, dir, n, "dbtmp");
}

int cairn__filename_descriptor(cairn__buf *out, const char *dir, uint64_t n)
{
    if (dir == NULL)
        return cairn__err(CAIRN_INVALID, "file name: directory is NULL");
    return set_name(out, "%s/MANIFEST-%06" PRIu64, dir, n);
}

int cairn__filename_current(cairn__buf *out, const char *dir)
{
    return fixed(out, dir, "CURRENT");
}

int cairn__filename_lock(cairn__buf *out, const char *dir)
{
    return fixed(out, dir, "LOCK");
}

int cairn__filename_info_log(cairn__buf *out, const char *dir)
{
    return fixed(out, dir, "LOG");
}

int cairn__filename_old_info_log(cairn__buf *out, const char *dir)
{
    return fixed(out, dir, "LOG.old");
}

/* Consumes a run of decimal digits that fits in uint64 (LevelDB's
 * ConsumeDecimalNumber). Returns 1 and advances *p past the digits; 0 if
 * there is no digit or the value overflows. */
static int consume_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
        s++;
    }
    if (s == *p)
        return 0;
    *p = s;
    *out = v;
    return 1;
}

int cairn__filename_parse(const char *name, uint64_t *number,
                          enum cairn__file_type *type)
{
    static const char manifest[] = "MANIFEST-";
    uint64_t n = 0;
    enum cairn__file_type t;
    if (name == NULL)
        return 0;
    if (strcmp(name, "CURRENT") == 0) {
        t = CAIRN__FILE_CURRENT;
    } else if (strcmp(name, "LOCK") == 0) {
        t = CAIRN__FILE_LOCK;
    } else if (strcmp(name, "LOG") == 0 || strcmp(name, "LOG.old") == 0) {
        t = CAIRN__FILE_INFO_LOG;
    } else if (strncmp(name, manifest, sizeof manifest - 1) == 0) {
        const char *p = name + sizeof manifest - 1;
        if (!consume_number(&p, &n) || *p != '\0')
            return 0;
        t = CAIRN__FILE_DESCRIPTOR;
    } else {
        const char *p = name;
        if (!consume_number(&p, &n))
            return 0;
        if (strcmp(p, ".log") == 0)
            t = CAIRN__FILE_LOG;
        else if (strcmp(p, ".sst") == 0 || strcmp(p, ".ldb") == 0)
            t = CAIRN__FILE_TABLE;
        else if (strcmp(p, ".dbtmp") == 0)
            t = CAIRN__FILE_TEMP;
        else
            return 0;
    }
    if (number != NULL)
        *number = n;
    if (type != NULL)
        *type = t;
    return 1;
}

int cairn__set_current_file(struct cairn_env *env, const char *dir,
                            uint64_t manifest_number)
{
    if (env == NULL || dir == NULL)
        return cairn__err(CAIRN_INVALID, "set current file: %s is NULL",
                          env == NULL ? "env" : "directory");
    cairn__buf tmp = CAIRN__BUF_INIT;
    cairn__buf cur = CAIRN__BUF_INIT;
    cairn__buf contents = CAIRN__BUF_INIT;
    cairn__file *f = NULL;
    int created = 0;
    int rc;
    CAIRN_TRY_GOTO(rc, cairn__filename_temp(&tmp, dir, manifest_number), out);
    CAIRN_TRY_GOTO(rc, cairn__filename_current(&cur, dir), out);
    /* The manifest's bare name, then a newline (no directory prefix). */
    CAIRN_TRY_GOTO(
        rc, set_name(&contents, "MANIFEST-%06" PRIu64 "\n", manifest_number),
        out);

    CAIRN_TRY_GOTO(rc, env->ops->open_write(env, tmp.data, &f), out);
    created = 1;
    CAIRN_TRY_GOTO(rc, cairn__file_append(f, contents.data, contents.len), out);
    CAIRN_TRY_GOTO(rc, cairn__file_sync(f), out);
    rc = cairn__file_close(f);
    f = NULL;
    if (rc != 0)
        goto out;
    CAIRN_TRY_GOTO(rc, env->ops->rename(env, tmp.data, cur.data), out);
    created = 0; /* the temporary file is now CURRENT */
    rc = env->ops->sync_dir(env, dir);

out:
    if (rc != 0 && (f != NULL || created)) {
        /* Clean up; the first error is the one reported, so the thread
         * message is saved and put back in case the close or remove fails
         * too and overwrites it. */
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        if (f != NULL)
            (void)cairn__file_close(f);
        if (created)
            (void)env->ops->remove(env, tmp.data);
        cairn__errmsg_restore(msg);
    }
    cairn__buf_fini(&tmp);
    cairn__buf_fini(&cur);
    cairn__buf_fini(&contents);
    return rc;
}
