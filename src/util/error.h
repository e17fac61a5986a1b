/*
 * error.h: how engine code reports failures.
 *
 * Every fallible internal function returns int: 0 on success or a negative
 * CAIRN_* code (include/cairn.h). Detail goes into a thread-local message set
 * by cairn__err(); the public API layer copies it into the database handle's
 * last-error buffer before returning. Corruption is always raised through
 * CAIRN_CORRUPT so that the message carries the source file and line that
 * found it (SQLite's habit), which makes a damaged-file report traceable.
 *
 * Rules (docs/design.md "Errors"):
 *  1. The first error wins: cleanup code never overwrites rc once set.
 *  2. Nothing here allocates; messages are truncated to CAIRN__ERRMSG_MAX.
 */
#ifndef CAIRN_UTIL_ERROR_H
#define CAIRN_UTIL_ERROR_H

#include "cairn.h"

#include <stdarg.h>

#define CAIRN__ERRMSG_MAX 512

#if defined(__GNUC__)
#define CAIRN_WUR          __attribute__((warn_unused_result))
#define CAIRN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CAIRN_UNUSED       __attribute__((unused))
#define CAIRN_LIKELY(x)    __builtin_expect(!!(x), 1)
#define CAIRN_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#else
#define CAIRN_WUR
#define CAIRN_PRINTF(a, b)
#define CAIRN_UNUSED
#define CAIRN_LIKELY(x)   (x)
#define CAIRN_UNLIKELY(x) (x)
#endif

/* Sets the calling thread's message to the formatted text and returns code.
 * Use as: return cairn__err(CAIRN_INVALID, "key too long (%zu bytes)", n); */
int cairn__err(int code, const char *fmt, ...) CAIRN_PRINTF(2, 3);

/* As cairn__err, with "file:line: " of the caller prepended. */
int cairn__err_at(int code, const char *file, int line, const char *fmt, ...)
    CAIRN_PRINTF(4, 5);

/* Maps an errno value to a code (ENOSPC/EDQUOT -> CAIRN_NOSPC, ENOMEM ->
 * CAIRN_NOMEM, ENOENT -> CAIRN_NOTFOUND, everything else -> CAIRN_IO), sets
 * the message "<what> <path>: <strerror>" and returns the code. */
int cairn__err_errno(int errnum, const char *what, const char *path);

/* Prefixes the current thread message with "<prefix>: " (used to add
 * context such as a file name as an error travels up). Returns code. */
int cairn__err_wrap(int code, const char *fmt, ...) CAIRN_PRINTF(2, 3);

/* The calling thread's current message (never NULL). */
const char *cairn__errmsg_get(void);
void cairn__errmsg_clear(void);
/* Puts back a message saved earlier (so cleanup cannot replace it). */
void cairn__errmsg_restore(const char *msg);

/* Raises CAIRN_CORRUPTION with the location of the check that failed. */
#define CAIRN_CORRUPT(...)                                                     \
    cairn__err_at(CAIRN_CORRUPTION, __FILE__, __LINE__, __VA_ARGS__)

/* The two control-flow helpers allowed by STYLE.md. */
#define CAIRN_TRY(expr)                                                        \
    do {                                                                       \
        int cairn_try_rc_ = (expr);                                            \
        if (cairn_try_rc_ != 0)                                                \
            return cairn_try_rc_;                                              \
    } while (0)
#define CAIRN_TRY_GOTO(rc, expr, label)                                        \
    do {                                                                       \
        (rc) = (expr);                                                         \
        if ((rc) != 0)                                                         \
            goto label;                                                        \
    } while (0)

#endif
