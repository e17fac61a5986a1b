/*
 * cairn.c: the `cairn` command-line tool: one small command per public
 * operation (put, get, delete), a file dump for looking inside a database
 * directory, and the demo workload (demo.c) that `make demo` runs.
 *
 * Command-line rules, the same for every command:
 *  - Options are the exact words listed for the command ("--sync"); they
 *    may come before, between or after the positional arguments. "--" ends
 *    the options, so a key that starts with "--" can still be given.
 *  - "--help" or "-h" anywhere after a command (and before a "--") prints
 *    that command's help on stdout and exits 0, whatever else is there.
 *  - Any other mistake (unknown command or option, a missing or extra
 *    argument, bad hex, a bad number) prints "cairn: <what>" and the usage
 *    on stderr and exits 2 (tool.h), before the database is touched.
 *  - Keys and values are taken byte for byte as given; with --hex they are
 *    given (and get prints them) as hexadecimal.
 *  - A failing library call prints "cairn: <cairn_errmsg()>" and exits 1.
 *
 * Only include/cairn.h is used: the tool is an ordinary client of the
 * library.
 */
#include "cairn.h"

#include "tool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOOL_HELP 3 /* parse result: help was asked for */

typedef struct command {
    const char *name;
    const char *synopsis; /* arguments after "cairn <name>" */
    const char *summary;  /* one line for the command list */
    const char *details;  /* the rest of `cairn help <name>` */
    int (*run)(int argc, char **argv);
} command;

static int cmd_put(int argc, char **argv);
static int cmd_get(int argc, char **argv);
static int cmd_delete(int argc, char **argv);
static int cmd_dump(int argc, char **argv);
static int cmd_demo(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const command commands[] = {
    {"put", "<db> <key> <value> [--sync] [--hex] [--create | --no-create]",
     "set a key to a value",
     "Sets <key> to <value> in the database in directory <db>, creating the\n"
     "database if it does not exist yet (--create, the default; --no-create\n"
     "refuses instead).\n"
     "  --sync       return only once the write is durable (fdatasync)\n"
     "  --hex        <key> and <value> are given as hexadecimal\n",
     cmd_put},
    {"get", "<db> <key> [--hex]", "print the value of a key",
     "Prints the value of <key> exactly as stored (no newline is added\n"
     "unless stdout is a terminal). Exits 1 with \"not found\" on stderr\n"
     "when the key is absent. Never creates a database.\n"
     "  --hex        <key> is given, and the value printed, as hexadecimal\n",
     cmd_get},
    {"delete", "<db> <key> [--sync] [--hex]", "delete a key",
     "Deletes <key>; deleting an absent key is not an error. Never creates\n"
     "a database.\n"
     "  --sync       return only once the delete is durable (fdatasync)\n"
     "  --hex        <key> is given as hexadecimal\n",
     cmd_delete},
    {"dump", "<file>", "print the contents of one database file",
     "Decodes one file of a database directory and prints it: NNNNNN.log\n"
     "(every batch with its sequence and entries), MANIFEST-NNNNNN (every\n"
     "version edit). Damage is printed as \"!!! ...\" lines and the dump\n"
     "goes on. Works on LevelDB's files too.\n",
     cmd_dump},
    {"demo",
     "[--threads N] [--seconds S | --keys N] [--dir D] [--seed N] [--keep]",
     "run the concurrent workload and verify it after a reopen",
     "Creates a database in a fresh temporary directory, runs N threads\n"
     "(default 4) that write (puts, deletes, atomic batches, some sync\n"
     "writes) and read back their own keys for S seconds (default 3), then\n"
     "closes, reopens and checks every key against what each thread wrote.\n"
     "Prints a summary; exits 0 only if nothing mismatched.\n"
     "  --threads N  writer/reader threads, 1..64 (default 4)\n"
     "  --seconds S  run time in seconds, up to 3600 (default 3)\n"
     "  --keys N     instead of a time, stop each thread after N writes\n"
     "  --dir D      create the temporary directory under D (default\n"
     "               $TMPDIR or /tmp)\n"
     "  --seed N     seed of the random workload (default: time-based)\n"
     "  --keep       keep the database afterwards (it is always kept when\n"
     "               verification fails)\n",
     cmd_demo},
    {"help", "[<command>]", "show help for the tool or one command",
     "Without a command, lists the commands; with one, shows its help.\n",
     cmd_help},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_overview(FILE *out)
{
    fprintf(out, "usage: cairn <command> [arguments]\n"
                 "       cairn --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'cairn help <command>' for a command's options.\n"
                 "Exit status: 0 success, 1 error or key not found, 2 bad "
                 "usage.\n");
}

static void print_command_help(FILE *out, const command *c)
{
    fprintf(out, "usage: cairn %s %s\n\n%s", c->name, c->synopsis, c->details);
}

int tool_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("cairn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    const command *c = cmd != NULL ? find_command(cmd) : NULL;
    if (c != NULL)
        fprintf(stderr,
                "usage: cairn %s %s\nRun 'cairn help %s' for details.\n",
                c->name, c->synopsis, c->name);
    else
        print_overview(stderr);
    return TOOL_EXIT_USAGE;
}

int tool_engine_error(int rc, const char *msg)
{
    if (msg == NULL || msg[0] == '\0')
        msg = cairn_strerror(rc);
    fprintf(stderr, "cairn: %s\n", msg);
    return TOOL_EXIT_FAIL;
}

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

/* ---------------------------------------------------------------------- */
/* Arguments of put, get, delete and dump                                   */

enum { OPT_SYNC = 1, OPT_HEX = 2, OPT_CREATE = 4, OPT_NO_CREATE = 8 };

static const struct {
    const char *word;
    unsigned bit;
} simple_options[] = {
    {"--sync", OPT_SYNC},
    {"--hex", OPT_HEX},
    {"--create", OPT_CREATE},
    {"--no-create", OPT_NO_CREATE},
};

/* Splits argv (argv[0] is the command) into exactly `nwant` positional
 * arguments, named by `names` for messages, and the options in `allowed`.
 * Returns 0, TOOL_HELP, or TOOL_EXIT_USAGE after printing the problem. */
static int parse_simple(int argc, char **argv, unsigned allowed,
                        const char *const *names, int nwant, char **pos,
                        unsigned *opts)
{
    const char *cmd = argv[0];
    int npos = 0, options_done = 0;
    *opts = 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return TOOL_HELP;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] == '-') {
            unsigned bit = 0;
            for (size_t k = 0;
                 k < sizeof simple_options / sizeof simple_options[0]; k++)
                if (strcmp(a, simple_options[k].word) == 0)
                    bit = simple_options[k].bit;
            if ((bit & allowed) == 0)
                return tool_usage_error(cmd, "%s: unknown option '%s'", cmd, a);
            *opts |= bit;
            continue;
        }
        if (npos == nwant)
            return tool_usage_error(cmd, "%s: unexpected argument '%s'", cmd,
                                    a);
        pos[npos++] = argv[i];
    }
    if (npos < nwant)
        return tool_usage_error(cmd, "%s: missing <%s>", cmd, names[npos]);
    if ((*opts & OPT_CREATE) && (*opts & OPT_NO_CREATE))
        return tool_usage_error(cmd, "%s: --create and --no-create conflict",
                                cmd);
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

/* Turns a key or value argument into bytes, decoding hex when asked. */
static int arg_bytes(const char *cmd, const char *what, char *arg,
                     unsigned opts, size_t *len)
{
    if (!(opts & OPT_HEX)) {
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

/* ---------------------------------------------------------------------- */
/* put, get, delete                                                         */

/* Opens the database, printing the library's message on failure. */
static int open_db(const char *path, int create, cairn_db **db)
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

/* Closes db after an operation that ended with exit status `status` (its
 * message already printed if it failed); a failing close is reported too
 * and turns the status into a failure. */
static int close_db(cairn_db *db, int status)
{
    int rc = cairn_db_close(db);
    if (rc != 0) {
        tool_engine_error(rc, cairn_errmsg());
        return TOOL_EXIT_FAIL;
    }
    return status;
}

/* put and delete share everything but the call itself. */
static int do_write(int argc, char **argv, int is_put)
{
    static const char *const names[] = {"db", "key", "value"};
    char *pos[3];
    unsigned opts;
    const char *cmd = argv[0];
    unsigned allowed = OPT_SYNC | OPT_HEX;
    if (is_put)
        allowed |= OPT_CREATE | OPT_NO_CREATE;
    int st =
        parse_simple(argc, argv, allowed, names, is_put ? 3 : 2, pos, &opts);
    if (st == TOOL_HELP)
        return tool_show_help(cmd);
    if (st != 0)
        return st;
    size_t klen, vlen = 0;
    if ((st = arg_bytes(cmd, "key", pos[1], opts, &klen)) != 0)
        return st;
    if (is_put && (st = arg_bytes(cmd, "value", pos[2], opts, &vlen)) != 0)
        return st;

    cairn_writeoptions *wo = cairn_writeoptions_create();
    if (wo == NULL)
        return tool_engine_error(CAIRN_NOMEM, "out of memory");
    cairn_db *db = NULL;
    int create = is_put && !(opts & OPT_NO_CREATE);
    int rc = cairn_writeoptions_set_sync(wo, (opts & OPT_SYNC) != 0);
    if (rc != 0) {
        st = tool_engine_error(rc, cairn_errmsg());
    } else if ((st = open_db(pos[0], create, &db)) == TOOL_EXIT_OK) {
        rc = is_put ? cairn_db_put(db, wo, pos[1], klen, pos[2], vlen)
                    : cairn_db_delete(db, wo, pos[1], klen);
        if (rc != 0)
            st = tool_engine_error(rc, cairn_errmsg());
        st = close_db(db, st);
    }
    cairn_writeoptions_destroy(wo);
    return st;
}

static int cmd_put(int argc, char **argv)
{
    return do_write(argc, argv, 1);
}

static int cmd_delete(int argc, char **argv)
{
    return do_write(argc, argv, 0);
}

/* Writes the value raw (or as hex); a newline only for a terminal, so
 * `cairn get db k > file` stores exactly the value's bytes. */
static int print_value(const char *v, size_t n, int hex)
{
    int ok = 1;
    if (hex) {
        for (size_t i = 0; i < n && ok; i++)
            ok = printf("%02x", (unsigned)(unsigned char)v[i]) == 2;
        ok = ok && putchar('\n') != EOF;
    } else {
        ok = fwrite(v, 1, n, stdout) == n;
        if (ok && isatty(STDOUT_FILENO))
            ok = putchar('\n') != EOF;
    }
    if (fflush(stdout) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "cairn: writing to stdout: %s\n", strerror(errno));
        return TOOL_EXIT_FAIL;
    }
    return TOOL_EXIT_OK;
}

static int cmd_get(int argc, char **argv)
{
    static const char *const names[] = {"db", "key"};
    char *pos[2];
    unsigned opts;
    int st = parse_simple(argc, argv, OPT_HEX, names, 2, pos, &opts);
    if (st == TOOL_HELP)
        return tool_show_help("get");
    if (st != 0)
        return st;
    size_t klen;
    if ((st = arg_bytes(argv[0], "key", pos[1], opts, &klen)) != 0)
        return st;
    cairn_db *db = NULL;
    if ((st = open_db(pos[0], 0, &db)) != TOOL_EXIT_OK)
        return st;
    void *val = NULL;
    size_t vlen = 0;
    int rc = cairn_db_get(db, NULL, pos[1], klen, &val, &vlen);
    if (rc == CAIRN_NOTFOUND) {
        fprintf(stderr, "cairn: not found\n");
        st = TOOL_EXIT_FAIL;
    } else if (rc != 0) {
        st = tool_engine_error(rc, cairn_errmsg());
    } else {
        st = print_value(val, vlen, (opts & OPT_HEX) != 0);
    }
    cairn_free(val);
    return close_db(db, st);
}

/* ---------------------------------------------------------------------- */
/* dump                                                                     */

static int print_line(void *ctx, const char *line)
{
    int *failed = ctx;
    if (puts(line) == EOF) {
        *failed = errno != 0 ? errno : EIO;
        return 1; /* stops the dump; cairn_dump_file returns this value */
    }
    return 0;
}

static int cmd_dump(int argc, char **argv)
{
    static const char *const names[] = {"file"};
    char *pos[1];
    unsigned opts;
    int st = parse_simple(argc, argv, 0, names, 1, pos, &opts);
    if (st == TOOL_HELP)
        return tool_show_help("dump");
    if (st != 0)
        return st;
    int out_errno = 0;
    int rc = cairn_dump_file(NULL, pos[0], print_line, &out_errno);
    if (rc == 0 && fflush(stdout) != 0)
        out_errno = errno != 0 ? errno : EIO;
    if (out_errno != 0) {
        fprintf(stderr, "cairn: writing to stdout: %s\n", strerror(out_errno));
        return TOOL_EXIT_FAIL;
    }
    if (rc != 0)
        return tool_engine_error(rc, cairn_errmsg());
    return TOOL_EXIT_OK;
}

/* ---------------------------------------------------------------------- */

static int cmd_demo(int argc, char **argv)
{
    return tool_demo(argc, argv);
}

int tool_show_help(const char *name)
{
    const command *c = find_command(name);
    if (c == NULL)
        return tool_usage_error(NULL, "help: unknown command '%s'", name);
    print_command_help(stdout, c);
    return TOOL_EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
    if (argc <= 1) {
        print_overview(stdout);
        return TOOL_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return tool_show_help("help");
    if (argc > 2)
        return tool_usage_error("help", "help: unexpected argument '%s'",
                                argv[2]);
    return tool_show_help(argv[1]);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return tool_usage_error(NULL, "missing command");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(1, argv + 1);
    if (strcmp(name, "--version") == 0) {
        printf("cairn %d.%d.%d (library %d.%d)\n", CAIRN_VERSION_MAJOR,
               CAIRN_VERSION_MINOR, CAIRN_VERSION_PATCH, cairn_version_major(),
               cairn_version_minor());
        return TOOL_EXIT_OK;
    }
    const command *c = find_command(name);
    if (c == NULL)
        return tool_usage_error(NULL, "unknown command '%s'", name);
    return c->run(argc - 1, argv + 1);
}
