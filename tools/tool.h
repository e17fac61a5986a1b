/*
 * tool.h: what the files of the `cairn` command-line tool share.
 *
 * The tool is a client of the library like any other: it includes only
 * include/cairn.h (never a src/ header), so it exercises exactly the public
 * API an embedding program would use.
 *
 * Exit codes, for every command:
 *   0  success;
 *   1  the engine reported an error, a looked-up key is absent, or the
 *      demo's verification found a mismatch;
 *   2  the command line was wrong (usage printed on stderr).
 */
#ifndef CAIRN_TOOL_H
#define CAIRN_TOOL_H

#include <stdint.h>

#define TOOL_EXIT_OK    0
#define TOOL_EXIT_FAIL  1
#define TOOL_EXIT_USAGE 2

/* Prints "cairn: <message>" and the usage of `cmd` (or of the whole tool
 * when cmd is NULL) on stderr; returns TOOL_EXIT_USAGE. */
int tool_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "cairn: <msg>" for a failed library call, where msg is the detail
 * the library saved (or the code's description when there is none);
 * returns TOOL_EXIT_FAIL. Pass the message saved right after the failing
 * call, since a later call (a close) may replace the thread's message. */
int tool_engine_error(int rc, const char *msg);

/* Parses a decimal integer in [min, max]; 0 on success, -1 otherwise. */
int tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Prints the help of command `name` on stdout; returns TOOL_EXIT_OK (or
 * TOOL_EXIT_USAGE for an unknown name). */
int tool_show_help(const char *name);

/* The demo: `cairn demo [options]`. argv[0] is "demo". */
int tool_demo(int argc, char **argv);

#endif
