/*
 * error.c: the error-code table and the thread-local error message.
 *
 * The message lives in thread-local storage so that concurrent calls on one
 * database never mix their details; the API layer (src/db/api.c) copies it
 * into the handle when a public call fails.
 */
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char tl_msg[CAIRN__ERRMSG_MAX];

const char *cairn_strerror(int code)
{
    switch (code) {
    case CAIRN_OK:
        return "success";
#define CAIRN_STRERROR_CASE_(name, value, msg)                                 \
    case CAIRN_##name:                                                         \
        return msg;
        CAIRN_ERROR_MAP(CAIRN_STRERROR_CASE_)
#undef CAIRN_STRERROR_CASE_
    default:
        return "unknown error";
    }
}

const char *cairn_errname(int code)
{
    switch (code) {
    case CAIRN_OK:
        return "CAIRN_OK";
#define CAIRN_ERRNAME_CASE_(name, value, msg)                                  \
    case CAIRN_##name:                                                         \
        return "CAIRN_" #name;
        CAIRN_ERROR_MAP(CAIRN_ERRNAME_CASE_)
#undef CAIRN_ERRNAME_CASE_
    default:
        return "CAIRN_UNKNOWN";
    }
}

const char *cairn__errmsg_get(void)
{
    return tl_msg;
}

void cairn__errmsg_clear(void)
{
    tl_msg[0] = '\0';
}

void cairn__errmsg_restore(const char *msg)
{
    if (msg != tl_msg)
        snprintf(tl_msg, sizeof tl_msg, "%s", msg);
}

static void set_msg(int code, const char *loc, const char *fmt, va_list ap)
{
    char body[CAIRN__ERRMSG_MAX];
    vsnprintf(body, sizeof body, fmt, ap);
    if (loc != NULL)
        snprintf(tl_msg, sizeof tl_msg, "%s: %s [%s]", cairn_strerror(code),
                 body, loc);
    else
        snprintf(tl_msg, sizeof tl_msg, "%s: %s", cairn_strerror(code), body);
}

int cairn__err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_msg(code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int cairn__err_at(int code, const char *file, int line, const char *fmt, ...)
{
    char loc[128];
    const char *base = strrchr(file, '/');
    snprintf(loc, sizeof loc, "%s:%d", base ? base + 1 : file, line);
    va_list ap;
    va_start(ap, fmt);
    set_msg(code, loc, fmt, ap);
    va_end(ap);
    return code;
}

int cairn__err_errno(int errnum, const char *what, const char *path)
{
    int code;
    switch (errnum) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        code = CAIRN_NOSPC;
        break;
    case ENOMEM:
        code = CAIRN_NOMEM;
        break;
    case ENOENT:
        code = CAIRN_NOTFOUND;
        break;
    default:
        code = CAIRN_IO;
        break;
    }
    char ebuf[128];
    const char *es = ebuf;
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    es = strerror_r(errnum, ebuf, sizeof ebuf);
#else
    if (strerror_r(errnum, ebuf, sizeof ebuf) != 0)
        snprintf(ebuf, sizeof ebuf, "errno %d", errnum);
#endif
    return cairn__err(code, "%s %s: %s", what ? what : "", path ? path : "",
                      es);
}

int cairn__err_wrap(int code, const char *fmt, ...)
{
    char prefix[CAIRN__ERRMSG_MAX];
    char old[CAIRN__ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tl_msg, sizeof old);
    snprintf(tl_msg, sizeof tl_msg, "%s: %s", prefix, old);
    return code;
}
