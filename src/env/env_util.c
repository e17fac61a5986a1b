/*
 * env_util.c: helpers shared by every env and by their callers: the name
 * list returned by list(), whole-file read and write, and the public
 * cairn_env_destroy.
 *
 * These are written only against the ops tables in env.h, so they work the
 * same on the POSIX, in-memory and fault-injecting envs; none of them keeps
 * state of its own.
 */
#include "env/env.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cairn__strlist_fini(cairn__strlist *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

int cairn__strlist_add(cairn__strlist *l, const char *name)
{
    size_t len = strlen(name);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return cairn__err(CAIRN_NOMEM, "cannot copy a file name");
    memcpy(copy, name, len + 1);
    /* Growing by one each time is quadratic only in the realloc copies,
     * which glibc mostly does in place; directories hold few names. */
    char **names = realloc(l->names, (l->n + 1) * sizeof *names);
    if (names == NULL) {
        free(copy);
        return cairn__err(CAIRN_NOMEM, "cannot grow a name list");
    }
    names[l->n++] = copy;
    l->names = names;
    return 0;
}

int cairn__env_read_file(cairn_env *env, const char *path, size_t max_size,
                         char **data, size_t *len)
{
    cairn__file *f = NULL;
    char *buf = NULL;
    size_t cap = 0;
    size_t used = 0;
    int rc;

    *data = NULL;
    *len = 0;
    CAIRN_TRY_GOTO(rc, env->ops->open_read(env, path, &f), err);
    for (;;) {
        /* Keep one spare byte beyond the data for the terminating NUL, and
         * read one byte past max_size so that an oversized file is seen. */
        if (cap - used < 2) {
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap < cap || ncap - 1 > max_size)
                ncap = max_size > SIZE_MAX - 2 ? SIZE_MAX : max_size + 2;
            if (ncap <= cap) {
                rc =
                    cairn__err(CAIRN_NOMEM, "%s: file too large to read", path);
                goto err;
            }
            char *nbuf = realloc(buf, ncap);
            if (nbuf == NULL) {
                rc = cairn__err(CAIRN_NOMEM, "reading %s: out of memory", path);
                goto err;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t got = 0;
        size_t want = cap - used - 1;
        CAIRN_TRY_GOTO(rc, cairn__file_read(f, want, buf + used, &got), err);
        used += got;
        if (used > max_size) {
            rc = CAIRN_CORRUPT("%s: larger than the %zu bytes allowed", path,
                               max_size);
            goto err;
        }
        if (got < want)
            break;
    }
    rc = cairn__file_close(f);
    f = NULL;
    if (rc != 0)
        goto err;
    if (buf == NULL) {
        buf = malloc(1);
        if (buf == NULL) {
            rc = cairn__err(CAIRN_NOMEM, "reading %s: out of memory", path);
            goto err;
        }
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return 0;
err:
    (void)cairn__file_close(f);
    free(buf);
    return rc;
}

int cairn__env_write_file(cairn_env *env, const char *path, const void *data,
                          size_t len, int sync)
{
    cairn__file *f = NULL;
    int rc;

    CAIRN_TRY(env->ops->open_write(env, path, &f));
    CAIRN_TRY_GOTO(rc, cairn__file_append(f, data, len), err);
    if (sync)
        CAIRN_TRY_GOTO(rc, cairn__file_sync(f), err);
    return cairn__file_close(f);
err:
    (void)cairn__file_close(f);
    return rc;
}

void cairn_env_destroy(cairn_env *env)
{
    /* The default env has no destroy op: it is static and lives as long as
     * the process, so destroying it is a no-op as cairn.h promises. */
    if (env == NULL || env->ops->destroy == NULL)
        return;
    env->ops->destroy(env);
}

void cairn__env_remove_quietly(cairn_env *env, const char *path)
{
    char msg[CAIRN__ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
    (void)env->ops->remove(env, path);
    cairn__errmsg_restore(msg);
}
