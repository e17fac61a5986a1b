/*
 * admin.c: `cairn stats` and `cairn compact`, the two commands that look
 * at (and reshape) a database's levels rather than its keys.
 *
 * stats prints, in sections headed "== <what> ==":
 *   cairn.stats                 as the library formats it;
 *   files per level             "level N: F files", from
 *                               cairn.num-files-at-level<N>, and a total;
 *   table files                 "level N: F files, B bytes" per non-empty
 *                               level and a total, summed from the lines
 *                               of cairn.sstables (" number:size[...]"
 *                               under "--- level N ---"); should that text
 *                               ever not look like this, it is printed as
 *                               it is rather than misread;
 *   cairn.approximate-memory-usage, cairn.write-stats.
 * With --property NAME it prints just that property's value.
 *
 * compact calls cairn_db_compact_range over the given range (or all of
 * the database) and then prints the "files per level" section.
 *
 * Both open the database like any client (never creating one): the open
 * replays the log into a table, so even a database last closed with
 * unflushed writes shows them in the counts, and the work counters of
 * cairn.stats and cairn.write-stats cover only this short-lived process.
 */
#include "cairn.h"

#include "tool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Levels named by cairn.num-files-at-level<N> (cairn.h: 0..6). */
#define TOOL_LEVELS 7

/* Fetches a property; NULL (with the error printed) when it fails. */
static char *get_property(cairn_db *db, const char *name)
{
    char *v = cairn_db_property(db, name);
    if (v == NULL)
        tool_engine_error(CAIRN_NOTFOUND, cairn_errmsg());
    return v;
}

/* Prints text, adding the final newline it may lack. */
static void print_text(const char *text)
{
    size_t n = strlen(text);
    fputs(text, stdout);
    if (n > 0 && text[n - 1] != '\n')
        putchar('\n');
}

static const char *files_word(uint64_t n)
{
    return n == 1 ? "file" : "files";
}

/* "level N: F files" for every level, then the total. */
static int print_levels(cairn_db *db)
{
    uint64_t total = 0;
    for (int l = 0; l < TOOL_LEVELS; l++) {
        char name[64];
        snprintf(name, sizeof name, "cairn.num-files-at-level%d", l);
        char *v = get_property(db, name);
        if (v == NULL)
            return TOOL_EXIT_FAIL;
        uint64_t n = 0;
        int ok = tool_parse_u64(v, 0, UINT64_MAX, &n) == 0;
        if (ok)
            printf("level %d: %" PRIu64 " %s\n", l, n, files_word(n));
        else
            printf("level %d: %s\n", l, v); /* not a number: show it */
        total += n;
        cairn_free(v);
    }
    printf("total: %" PRIu64 " %s\n", total, files_word(total));
    return TOOL_EXIT_OK;
}

/* Sums cairn.sstables per level; 0, or -1 when a line is not understood. */
static int summarize_sstables(const char *text, uint64_t files[TOOL_LEVELS],
                              uint64_t bytes[TOOL_LEVELS])
{
    int level = -1;
    const char *p = text;
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        char line[128];
        /* Only the start of a line matters: its level or number:size. */
        snprintf(line, sizeof line, "%.*s", (int)(len < 127 ? len : 127), p);
        int l;
        uint64_t number, size;
        char tail;
        if (sscanf(line, "--- level %d --%c", &l, &tail) == 2) {
            if (l < 0 || l >= TOOL_LEVELS)
                return -1;
            level = l;
        } else if (sscanf(line, " %" SCNu64 ":%" SCNu64 "%c", &number, &size,
                          &tail) == 3 &&
                   tail == '[' && level >= 0) {
            files[level]++;
            bytes[level] += size;
        } else if (len != 0) {
            return -1;
        }
        p += len + (eol != NULL);
    }
    return 0;
}

static int print_sstables_summary(cairn_db *db)
{
    char *v = get_property(db, "cairn.sstables");
    if (v == NULL)
        return TOOL_EXIT_FAIL;
    uint64_t files[TOOL_LEVELS] = {0}, bytes[TOOL_LEVELS] = {0};
    if (summarize_sstables(v, files, bytes) != 0) {
        print_text(v);
        cairn_free(v);
        return TOOL_EXIT_OK;
    }
    cairn_free(v);
    uint64_t nf = 0, nb = 0;
    for (int l = 0; l < TOOL_LEVELS; l++) {
        nf += files[l];
        nb += bytes[l];
        if (files[l] != 0)
            printf("level %d: %" PRIu64 " %s, %" PRIu64 " bytes\n", l, files[l],
                   files_word(files[l]), bytes[l]);
    }
    printf("total: %" PRIu64 " %s, %" PRIu64 " bytes\n"
           "(every file: --property cairn.sstables)\n",
           nf, files_word(nf), nb);
    return TOOL_EXIT_OK;
}

/* Prints "== title ==" and the property's text. */
static int print_section(cairn_db *db, const char *title, const char *name,
                         const char *unit)
{
    char *v = get_property(db, name);
    if (v == NULL)
        return TOOL_EXIT_FAIL;
    printf("== %s ==\n", title);
    if (unit != NULL)
        printf("%s %s\n", v, unit);
    else
        print_text(v);
    cairn_free(v);
    return TOOL_EXIT_OK;
}

static int print_all(cairn_db *db)
{
    int st = print_section(db, "cairn.stats", "cairn.stats", NULL);
    if (st == TOOL_EXIT_OK) {
        printf("== files per level (cairn.num-files-at-level<N>) ==\n");
        st = print_levels(db);
    }
    if (st == TOOL_EXIT_OK) {
        printf("== table files (summary of cairn.sstables) ==\n");
        st = print_sstables_summary(db);
    }
    if (st == TOOL_EXIT_OK)
        st = print_section(db, "cairn.approximate-memory-usage",
                           "cairn.approximate-memory-usage", "bytes");
    /* cairn.stats already ends with the write path's statistics
     * (cairn.write-stats), so they are not printed twice. */
    return st;
}

int tool_stats(int argc, char **argv)
{
    static const char *const names[] = {"db"};
    char *pos[1], *prop = NULL;
    const tool_opt opts[] = {{"--property", NULL, &prop}};
    int st = tool_parse_args(argc, argv, opts, 1, names, 1, pos);
    if (st == TOOL_HELP)
        return tool_show_help("stats");
    if (st != 0)
        return st;
    if (prop != NULL && prop[0] == '\0')
        return tool_usage_error("stats", "stats: --property needs a name");
    cairn_db *db = NULL;
    if ((st = tool_open_db(pos[0], 0, &db)) != TOOL_EXIT_OK)
        return st;
    if (prop != NULL) {
        char *v = get_property(db, prop);
        if (v == NULL) {
            st = TOOL_EXIT_FAIL;
        } else {
            print_text(v);
            cairn_free(v);
        }
    } else {
        st = print_all(db);
    }
    return tool_close_db(db, tool_finish_stdout(st));
}

int tool_compact(int argc, char **argv)
{
    static const char *const names[] = {"db"};
    char *pos[1], *from = NULL, *to = NULL;
    int hex = 0;
    const tool_opt opts[] = {
        {"--from", NULL, &from},
        {"--to", NULL, &to},
        {"--hex", &hex, NULL},
    };
    int st = tool_parse_args(argc, argv, opts, 3, names, 1, pos);
    if (st == TOOL_HELP)
        return tool_show_help("compact");
    if (st != 0)
        return st;
    size_t from_len = 0, to_len = 0;
    if (from != NULL &&
        (st = tool_arg_bytes("compact", "from", from, hex, &from_len)) != 0)
        return st;
    if (to != NULL &&
        (st = tool_arg_bytes("compact", "to", to, hex, &to_len)) != 0)
        return st;
    cairn_db *db = NULL;
    if ((st = tool_open_db(pos[0], 0, &db)) != TOOL_EXIT_OK)
        return st;
    /* NULL ends are open; a given end, even an empty one, is a key. */
    int rc = cairn_db_compact_range(db, from, from_len, to, to_len);
    if (rc != 0)
        st = tool_engine_error(rc, cairn_errmsg());
    else
        st = tool_finish_stdout(print_levels(db));
    return tool_close_db(db, st);
}
