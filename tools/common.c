/*
 * common.c: the pieces every command of the `cairn` tool shares: the
 * option parser of the newer commands (scan, stats, compact), numbers and
 * hex on the command line, and opening and closing a database with the
 * library's message printed on failure.
 *
 * The parser follows the command-line rules written at the top of cairn.c
 * (options anywhere, "--" ends them, help wins, every mistake is a usage
 * error before anything is opened), so a user cannot tell which commands
 * use it and which use put/get's older bit-set parser.
 */
#include "cairn.h"

#include "tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    /* strtoull accepts leading blanks and a minus sign (and wraps the
     * value); a count given as " -3" is a mistake, so only digits pass. */
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The option `arg` names, or NULL; *inline_value gets the text after '='
 * for "--name=V" (NULL otherwise). */
static const tool_opt *match_option(const tool_opt *opts, size_t nopts,
                                    char *arg, char **inline_value)
{
    *inline_value = NULL;
    for (size_t k = 0; k < nopts; k++) {
        size_t len = strlen(opts[k].name);
        if (strncmp(arg, opts[k].name, len) != 0)
            continue;
        if (arg[len] == '\0')
            return &opts[k];
        if (arg[len] == '=' && opts[k].value != NULL) {
            *inline_value = arg + len + 1;
            return &opts[k];
        }
    }
    return NULL;
}

int tool_parse_args(int argc, char **argv, const tool_opt *opts, size_t nopts,
                    const char *const *names, int npos, char **pos)
{
    const char *cmd = argv[0];
    int got = 0, options_done = 0;
    /* Which options were seen, to refuse repeats; commands have few. */
    unsigned char seen[32] = {0};
    if (nopts > sizeof seen)
        return tool_usage_error(cmd, "%s: too many options", cmd);
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return TOOL_HELP;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] == '-') {
            char *val;
            const tool_opt *o = match_option(opts, nopts, a, &val);
            if (o == NULL)
                return tool_usage_error(cmd, "%s: unknown option '%s'", cmd, a);
            size_t k = (size_t)(o - opts);
            if (seen[k])
                return tool_usage_error(cmd, "%s: %s given twice", cmd,
                                        o->name);
            seen[k] = 1;
            if (o->flag != NULL) {
                *o->flag = 1;
                continue;
            }
            if (val == NULL) {
                if (i + 1 >= argc)
                    return tool_usage_error(cmd, "%s: %s needs a value", cmd,
                                            o->name);
                val = argv[++i];
            }
            *o->value = val;
            continue;
        }
        if (got == npos)
            return tool_usage_error(cmd, "%s: unexpected argument '%s'", cmd,
                                    a);
        pos[got++] = a;
    }
    if (got < npos)
        return tool_usage_error(cmd, "%s: missing <%s>", cmd, names[got]);
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex text in place (the bytes never outgrow the text). Returns
 * the byte count, or -1 for an odd length or a non-hex character. */
static long hex_decode_inplace(char *s)
{
    size_t n = strlen(s);
    if (n % 2 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        s[i / 2] = (char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

int tool_arg_bytes(const char *cmd, const char *what, char *arg, int hex,
                   size_t *len)
{
    if (!hex) {
        *len = strlen(arg);
        return 0;
    }
    long n = hex_decode_inplace(arg);
    if (n < 0)
        return tool_usage_error(cmd,
                                "%s: <%s> is not valid hex (an even "
                                "number of 0-9a-f digits)",
                                cmd, what);
    *len = (size_t)n;
    return 0;
}

int tool_open_db(const char *path, int create, cairn_db **db)
{
    cairn_options *opt = cairn_options_create();
    if (opt == NULL)
        return tool_engine_error(CAIRN_NOMEM, "out of memory");
    int rc = cairn_options_set_create_if_missing(opt, create);
    if (rc == 0)
        rc = cairn_db_open(opt, path, db);
    if (rc != 0)
        tool_engine_error(rc, cairn_errmsg());
    cairn_options_destroy(opt);
    return rc != 0 ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
}

int tool_close_db(cairn_db *db, int status)
{
    int rc = cairn_db_close(db);
    if (rc != 0) {
        tool_engine_error(rc, cairn_errmsg());
        return TOOL_EXIT_FAIL;
    }
    return status;
}

int tool_finish_stdout(int status)
{
    /* ferror catches a write that failed earlier in a buffered stream
     * whose later flushes happened to succeed. */
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "cairn: writing to stdout: %s\n",
                strerror(errno != 0 ? errno : EIO));
        return TOOL_EXIT_FAIL;
    }
    return status;
}
