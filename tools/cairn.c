/*
 * cairn.c: the `cairn` command-line tool: one small command per public
 * operation (put, get, delete), a range scan (scan.c), statistics and
 * manual compaction (admin.c), a file dump for looking inside a database
 * directory, the demo workload (demo.c) that `make demo` runs, and the
 * benchmark driver when the build links it in (CAIRN_TOOL_HAVE_BENCH).
 * This file holds the command table with every command's help, main(),
 * and the small commands.
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
static int cmd_bench(int argc, char **argv);
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
    {"scan",
     "<db> [--prefix P] [--from K] [--to K] [--limit N] [--hex] [--reverse]\n"
     "       [--keys-only]",
     "print keys and values in order",
     "Prints \"key => value\" for every key of the database in directory\n"
     "<db>, in key order, one per line. Bytes outside printable ASCII, and\n"
     "the backslash, are written as \\xNN. Never creates a database.\n"
     "Data blocks are read with their checksums verified; damage met on\n"
     "the way ends the scan with exit status 1 after what was read.\n"
     "  --prefix P   only keys that start with P\n"
     "  --from K     only keys >= K\n"
     "  --to K       only keys < K (the range [from, to) is half-open)\n"
     "  --limit N    print at most N entries (N >= 1)\n"
     "  --hex        P, K are given, and keys and values printed, as hex\n"
     "  --reverse    print in descending key order (the same entries,\n"
     "               starting from the end of the range)\n"
     "  --keys-only  print only the keys\n",
     tool_scan},
    {"stats", "<db> [--property NAME]", "print the database's statistics",
     "Opens the database in <db> and prints its properties: cairn.stats\n"
     "(files, sizes and compaction work per level), the file count of\n"
     "every level, a summary of cairn.sstables (files and bytes per level),\n"
     "cairn.approximate-memory-usage and cairn.write-stats. Never creates a\n"
     "database. The numbers of compaction and write work cover this\n"
     "process only (the open's own recovery and flushes).\n"
     "  --property NAME  print only that property's value (e.g.\n"
     "               cairn.sstables, cairn.num-files-at-level0); an unknown\n"
     "               name exits 1\n",
     tool_stats},
    {"compact", "<db> [--from K] [--to K] [--hex]",
     "compact a key range (or everything) and show the levels",
     "Writes the memtable out and compacts every level overlapping the\n"
     "user-key range [from, to] (both ends included, as compact_range\n"
     "works on whole files; without them, everything) down as far as it\n"
     "goes, then prints the number of files at each level. Never creates a\n"
     "database.\n"
     "  --from K     start of the range (default: the first key)\n"
     "  --to K       end of the range (default: the last key)\n"
     "  --hex        K is given as hexadecimal\n",
     tool_compact},
    {"dump", "<file>", "print the contents of one database file",
     "Decodes one file of a database directory and prints it: NNNNNN.log\n"
     "(every batch with its sequence and entries), MANIFEST-NNNNNN (every\n"
     "version edit), NNNNNN.ldb or NNNNNN.sst (every entry of the table,\n"
     "as 'key' @ seq : val|del => 'value', checksums verified). Damage is\n"
     "printed as \"!!! ...\" lines; a log or MANIFEST dump goes on after\n"
     "it and exits 0, a table dump stops at a bad block, prints its summary\n"
     "and exits 1. Works on LevelDB's files too.\n",
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
    {"bench", "[benchmark flags]", "run the benchmark driver",
     "Runs the benchmark driver (the same as build/release/bench/cairn_bench)\n"
     "with the given flags; 'cairn bench --help' lists them when the driver\n"
     "is built in. A build without the driver says so and exits 2; use the\n"
     "stand-alone cairn_bench program then.\n",
     cmd_bench},
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

/* ---------------------------------------------------------------------- */
/* put, get, delete                                                         */

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
    if ((st = tool_arg_bytes(cmd, "key", pos[1], (opts & OPT_HEX) != 0,
                             &klen)) != 0)
        return st;
    if (is_put && (st = tool_arg_bytes(cmd, "value", pos[2],
                                       (opts & OPT_HEX) != 0, &vlen)) != 0)
        return st;

    cairn_writeoptions *wo = cairn_writeoptions_create();
    if (wo == NULL)
        return tool_engine_error(CAIRN_NOMEM, "out of memory");
    cairn_db *db = NULL;
    int create = is_put && !(opts & OPT_NO_CREATE);
    int rc = cairn_writeoptions_set_sync(wo, (opts & OPT_SYNC) != 0);
    if (rc != 0) {
        st = tool_engine_error(rc, cairn_errmsg());
    } else if ((st = tool_open_db(pos[0], create, &db)) == TOOL_EXIT_OK) {
        rc = is_put ? cairn_db_put(db, wo, pos[1], klen, pos[2], vlen)
                    : cairn_db_delete(db, wo, pos[1], klen);
        if (rc != 0)
            st = tool_engine_error(rc, cairn_errmsg());
        st = tool_close_db(db, st);
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
    if ((st = tool_arg_bytes(argv[0], "key", pos[1], (opts & OPT_HEX) != 0,
                             &klen)) != 0)
        return st;
    cairn_db *db = NULL;
    if ((st = tool_open_db(pos[0], 0, &db)) != TOOL_EXIT_OK)
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
    return tool_close_db(db, st);
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
    if (out_errno != 0) {
        fprintf(stderr, "cairn: writing to stdout: %s\n", strerror(out_errno));
        return TOOL_EXIT_FAIL;
    }
    /* The lines printed before a failure (a damaged table's entries and
     * summary) are part of the answer: flush them before the error. */
    if (rc != 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cairn_errmsg());
        if (tool_finish_stdout(TOOL_EXIT_OK) != TOOL_EXIT_OK)
            return TOOL_EXIT_FAIL;
        return tool_engine_error(rc, msg);
    }
    return tool_finish_stdout(TOOL_EXIT_OK);
}

/* ---------------------------------------------------------------------- */

static int cmd_demo(int argc, char **argv)
{
    return tool_demo(argc, argv);
}

/* The driver parses its own flags, its help included; only a build
 * without it answers --help here (the rule that help always works). */
static int cmd_bench(int argc, char **argv)
{
#ifdef CAIRN_TOOL_HAVE_BENCH
    return cairn_bench_main(argc, argv);
#else
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return tool_show_help("bench");
    fprintf(stderr, "cairn: this build has no benchmark driver; use "
                    "build/release/bench/cairn_bench\n");
    return TOOL_EXIT_USAGE;
#endif
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
