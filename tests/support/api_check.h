/*
 * api_check.h: how the bad-input tests of include/cairn.h
 * (tests/db/test_api_badinput*.c) call a function and check that it was
 * refused, and the fixture they share.
 *
 * "Refused" means: the documented code, a message of the call's own in
 * cairn_errmsg(), and no change to the object involved (each test checks
 * that last point itself). The message check primes the thread's message
 * with a known failure first (api_prime), so a call that returns the right
 * code but leaves a stale message is caught. Failures abort the test
 * (cmocka asserts); the macros want <cmocka.h>.
 */
#ifndef CAIRN_TEST_API_CHECK_H
#define CAIRN_TEST_API_CHECK_H

#include "cairn.h"

#include <stddef.h>

#define KEY_OVER   ((size_t)CAIRN_MAX_KEY_SIZE + 1)
#define VALUE_OVER ((size_t)CAIRN_MAX_VALUE_SIZE + 1)

/* Leaves a known message in the thread; alt picks a second one (for the
 * test of the first primer itself). */
void api_prime(int alt);
/* The thread's message must be new since api_prime and, when named is not
 * NULL, contain it; call and line name the call in a failure. */
void api_check_msg(const char *named, const char *call, int line);
/* got must be want, with a message as api_check_msg requires. */
void api_check_err(int want, int got, const char *named, const char *call,
                   int line);

#define EXPECT_ERR_ALT(alt, code, named, call)                                 \
    do {                                                                       \
        api_prime(alt);                                                        \
        int expect_rc_ = (call);                                               \
        api_check_err((code), expect_rc_, (named), #call, __LINE__);           \
    } while (0)
#define EXPECT_ERR_P(alt, code, call)       EXPECT_ERR_ALT(alt, code, NULL, call)
#define EXPECT_ERR_NAMED(code, named, call) EXPECT_ERR_ALT(0, code, named, call)
#define EXPECT_ERR(code, call)              EXPECT_ERR_NAMED(code, NULL, call)
#define EXPECT_INVALID(call)                EXPECT_ERR(CAIRN_INVALID, call)
#define EXPECT_NULL_MSG(ptr, call)          /* a pointer-returning call refused */ \
    do {                                                                           \
        api_prime(0);                                                              \
        ptr = (call);                                                              \
        if (ptr != NULL)                                                           \
            fail_msg("line %d: %s returned non-NULL", __LINE__, #call);            \
        api_check_msg(NULL, #call, __LINE__);                                      \
    } while (0)

#define OK(call)                                                               \
    do {                                                                       \
        int ok_rc_ = (call);                                                   \
        if (ok_rc_ != 0)                                                       \
            fail_msg("line %d: %s: %s: %s", __LINE__, #call,                   \
                     cairn_errname(ok_rc_), cairn_errmsg());                   \
    } while (0)

/* A fresh in-memory environment and options that use it. */
typedef struct api_fixture {
    cairn_env *env;
    cairn_options *opt; /* create_if_missing, no info log */
} api_fixture;

/* cmocka setup and teardown of an api_fixture. */
int api_setup(void **state);
int api_teardown(void **state);

/* Opens name with opt; must succeed. */
cairn_db *api_open(const cairn_options *opt, const char *name);
/* Key k must hold value v, or be absent (and get must set the value
 * pointer to NULL) when v is NULL. */
void api_check_value(cairn_db *db, const void *k, size_t kl, const void *v,
                     size_t vl);
/* The same for NUL-terminated k and v, read through ro (which may carry a
 * snapshot). */
void api_check_str(cairn_db *db, const cairn_readoptions *ro, const char *k,
                   const char *v);
/* Writes n keys "k00000".. with values of vlen (at most 512) bytes. */
void api_fill(cairn_db *db, int n, size_t vlen);

#endif
