/*
 * infolog.c: the human-readable info log, <db>/LOG (see infolog.h).
 *
 * Opening rotates an existing LOG to LOG.old through the env (one
 * generation, as LevelDB keeps), then creates a fresh LOG. A failed
 * rotation is not an error: open_write then truncates the old LOG, and
 * losing old log lines must never stop a database from opening.
 *
 * A line is "YYYY/MM/DD-HH:MM:SS.uuuuuu <thread-id-hex> message\n" in local
 * time, the layout of LevelDB's PosixLogger, so tools that read LevelDB's
 * LOG read ours. Each line is formatted outside the lock, then appended and
 * flushed under log->mu in one go, so lines never interleave and each one
 * reaches the OS before printf returns (it survives the process dying).
 *
 * Logging is best effort and must not disturb the caller: write errors are
 * dropped, and the calling thread's error message is put back afterwards,
 * because the engine logs on its error paths after the message is set.
 */
#include "env/infolog.h"
#include "util/port.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cairn__infolog {
    cairn_env *env;
    cairn__mutex mu;
    cairn__file *f; /* Locked: mu */
};

int cairn__infolog_open(cairn_env *env, const char *dbdir, cairn__infolog **out)
{
    size_t n = strlen(dbdir);
    char *path = malloc(n + sizeof "/LOG");
    char *old = malloc(n + sizeof "/LOG.old");
    cairn__infolog *log = calloc(1, sizeof *log);
    int rc;

    *out = NULL;
    if (path == NULL || old == NULL || log == NULL) {
        rc = cairn__err(CAIRN_NOMEM, "info log for %s: out of memory", dbdir);
        goto err;
    }
    snprintf(path, n + sizeof "/LOG", "%s/LOG", dbdir);
    snprintf(old, n + sizeof "/LOG.old", "%s/LOG.old", dbdir);
    CAIRN_TRY_GOTO(rc, cairn__mutex_init(&log->mu), err);
    if (env->ops->exists(env, path))
        (void)env->ops->rename(env, path, old);
    rc = env->ops->open_write(env, path, &log->f);
    if (rc != 0) {
        cairn__mutex_fini(&log->mu);
        goto err;
    }
    log->env = env;
    free(path);
    free(old);
    *out = log;
    return 0;
err:
    free(path);
    free(old);
    free(log);
    return rc;
}

void cairn__infolog_close(cairn__infolog *log)
{
    if (log == NULL)
        return;
    (void)cairn__file_close(log->f);
    cairn__mutex_fini(&log->mu);
    free(log);
}

/* The calling thread's id as a number, for the line header. pthread_t is
 * an integer or a pointer on every platform we build on; its bytes are
 * copied rather than cast so that either works. */
static unsigned long long thread_id(void)
{
    pthread_t self = pthread_self();
    unsigned long long id = 0;
    memcpy(&id, &self, sizeof self < sizeof id ? sizeof self : sizeof id);
    return id;
}

void cairn__infolog_printf(cairn__infolog *log, const char *fmt, ...)
{
    char saved[CAIRN__ERRMSG_MAX];
    char stack[512];
    char *line = stack;
    va_list ap;

    if (log == NULL)
        return;
    snprintf(saved, sizeof saved, "%s", cairn__errmsg_get());

    uint64_t now = log->env->ops->now_micros(log->env);
    time_t secs = (time_t)(now / 1000000u);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    localtime_r(&secs, &tm);
    int head = snprintf(
        stack, sizeof stack, "%04d/%02d/%02d-%02d:%02d:%02d.%06d %llx ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, (int)(now % 1000000u), thread_id());
    if (head < 0 || (size_t)head >= sizeof stack)
        return;

    va_start(ap, fmt);
    int body = vsnprintf(stack + head, sizeof stack - (size_t)head, fmt, ap);
    va_end(ap);
    if (body < 0)
        return;
    size_t len = (size_t)head + (size_t)body;
    if (len + 2 > sizeof stack) {
        /* Too long for the stack buffer: format again into the heap. */
        line = malloc(len + 2);
        if (line == NULL)
            return;
        memcpy(line, stack, (size_t)head);
        va_start(ap, fmt);
        vsnprintf(line + head, (size_t)body + 1, fmt, ap);
        va_end(ap);
    }
    if (len == (size_t)head || line[len - 1] != '\n')
        line[len++] = '\n';

    cairn__mutex_lock(&log->mu);
    if (cairn__file_append(log->f, line, len) == 0)
        (void)cairn__file_flush(log->f);
    cairn__mutex_unlock(&log->mu);

    if (line != stack)
        free(line);
    cairn__errmsg_restore(saved);
}
