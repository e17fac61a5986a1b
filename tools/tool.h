/*
 * tool.h: what the files of the `cairn` command-line tool share.
 *
 * The tool is a client of the library like any other: it includes only
 * include/cairn.h (never a src/ header), so it exercises exactly the public
 * API an embedding program would use.
 *
 * Files: cairn.c (command table, help, put/get/delete/dump, main),
 * common.c (argument parsing, hex, opening and closing a database),
 * scan.c (`cairn scan`), admin.c (`cairn stats`, `cairn compact`),
 * demo.c and demo_work.c (`cairn demo`).
 *
 * Exit codes, for every command:
 *   0  success;
 *   1  the engine reported an error, a looked-up key is absent, or the
 *      demo's verification found a mismatch;
 *   2  the command line was wrong (usage printed on stderr).
 */
#ifndef CAIRN_TOOL_H
#define CAIRN_TOOL_H

#include "cairn.h"

#include <stddef.h>
#include <stdint.h>

#define TOOL_EXIT_OK    0
#define TOOL_EXIT_FAIL  1
#define TOOL_EXIT_USAGE 2

/* A parse result besides 0 and TOOL_EXIT_USAGE: help was asked for. */
#define TOOL_HELP 3

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

/* One option a command accepts. A flag sets *flag to 1; an option with a
 * value (given as "--name V" or "--name=V") sets *value to V. Both stay
 * untouched when the option is absent. */
typedef struct tool_opt {
    const char *name; /* "--from" */
    int *flag;        /* for a flag, else NULL */
    char **value;     /* for an option with a value, else NULL */
} tool_opt;

/* Parses argv (argv[0] is the command) against opts and exactly npos
 * positional arguments, named by names[] in messages, stored in pos[].
 * The rules of cairn.c's header apply: options anywhere, "--" ends them,
 * "--help"/"-h" before a "--" wins. Giving an option twice is a mistake.
 * Returns 0, TOOL_HELP, or TOOL_EXIT_USAGE after printing the problem. */
int tool_parse_args(int argc, char **argv, const tool_opt *opts, size_t nopts,
                    const char *const *names, int npos, char **pos);

/* Turns a key or value argument into bytes in place, decoding hex when
 * `hex` is set (an even number of 0-9a-fA-F digits). Bad hex is a usage
 * error (message and usage printed, TOOL_EXIT_USAGE returned). */
int tool_arg_bytes(const char *cmd, const char *what, char *arg, int hex,
                   size_t *len);

/* Opens the database in `path` (creating it when `create`), printing the
 * library's message on failure: TOOL_EXIT_OK or TOOL_EXIT_FAIL. */
int tool_open_db(const char *path, int create, cairn_db **db);

/* Closes db after an operation that ended with exit status `status` (its
 * message already printed if it failed); a failing close is reported too
 * and turns the status into a failure. */
int tool_close_db(cairn_db *db, int status);

/* Flushes stdout; on a write error prints "cairn: writing to stdout: ..."
 * and returns TOOL_EXIT_FAIL, else `status`. */
int tool_finish_stdout(int status);

/* The commands living outside cairn.c; argv[0] is the command's name. */
int tool_demo(int argc, char **argv);
int tool_scan(int argc, char **argv);
int tool_stats(int argc, char **argv);
int tool_compact(int argc, char **argv);

#ifdef CAIRN_TOOL_HAVE_BENCH
/* The benchmark driver (bench/bench.c), linked in when the build defines
 * CAIRN_TOOL_HAVE_BENCH; argv[0] is "bench". Returns an exit code. */
int cairn_bench_main(int argc, char **argv);
#endif

#endif
