/*
 * scan.c: `cairn scan`, an ordered walk over a database through the
 * public iterator, printing one line per entry:
 *
 *   key => value        (bytes outside printable ASCII, and '\', as \xNN)
 *   6b6579 => 76616c    (--hex: both as lowercase hex)
 *   key                 (--keys-only)
 *
 * The escaping keeps every entry on one line and makes the text
 * reversible: a backslash in the data is always written \x5c, so a "\x"
 * in the output always starts an escape. Only " => " inside a key is
 * ambiguous; --hex is the unambiguous form for binary data.
 *
 * Which entries: the range is computed once as bounds [lo, hi) before the
 * walk. --from K gives lo = K and --to K gives hi = K; --prefix P gives
 * [P, successor(P)), where the successor is P with its trailing 0xff
 * bytes dropped and its last byte incremented (no upper bound when P is
 * all 0xff bytes), because in bytewise order the keys starting with P are
 * exactly those. Given together, the options intersect. A forward scan
 * seeks to lo and stops at the first key >= hi; a reverse scan seeks to
 * hi, steps back once, and stops at the first key < lo, so both print the
 * same entries, and --limit N keeps the first N in the printed order.
 *
 * Reads verify data-block checksums, so a damaged table shows up as an
 * iterator error: the lines before it are printed (and flushed), then the
 * error, and the exit status is 1.
 */
#include "cairn.h"

#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bound {
    const char *data;
    size_t len;
    int set;
} bound;

static int key_compare(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r != 0)
        return r;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Narrows b to the larger (want_max) or smaller of itself and (p, n). */
static void narrow(bound *b, const char *p, size_t n, int want_max)
{
    if (!b->set) {
        b->data = p, b->len = n, b->set = 1;
        return;
    }
    int r = key_compare(p, n, b->data, b->len);
    if (want_max ? r > 0 : r < 0)
        b->data = p, b->len = n;
}

/* The smallest key greater than every key starting with p[0..n), written
 * to out (n bytes of room); returns its length, or -1 when none exists
 * (p is empty or all 0xff bytes). */
static long prefix_successor(const char *p, size_t n, char *out)
{
    size_t len = n;
    while (len > 0 && (unsigned char)p[len - 1] == 0xff)
        len--;
    if (len == 0)
        return -1;
    memcpy(out, p, len);
    out[len - 1] = (char)((unsigned char)out[len - 1] + 1);
    return (long)len;
}

static void put_escaped(const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            putchar(c);
        } else {
            putchar('\\');
            putchar('x');
            putchar(hex[c >> 4]);
            putchar(hex[c & 0xf]);
        }
    }
}

static void put_hex(const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        putchar(hex[p[i] >> 4]);
        putchar(hex[p[i] & 0xf]);
    }
}

typedef struct scan_cfg {
    bound lo, hi;
    uint64_t limit; /* 0: no limit */
    int hex, reverse, keys_only;
} scan_cfg;

/* Walks the iterator over [lo, hi) and prints. Returns the exit status,
 * having printed any error. */
static int walk(cairn_iter *it, const scan_cfg *c)
{
    if (!c->reverse) {
        if (c->lo.set)
            cairn_iter_seek(it, c->lo.data, c->lo.len);
        else
            cairn_iter_seek_first(it);
    } else if (c->hi.set) {
        cairn_iter_seek(it, c->hi.data, c->hi.len);
        if (cairn_iter_valid(it))
            cairn_iter_prev(it);
        else if (cairn_iter_status(it) == 0)
            cairn_iter_seek_last(it); /* every key is below hi */
    } else {
        cairn_iter_seek_last(it);
    }
    uint64_t shown = 0;
    while (cairn_iter_valid(it) && (c->limit == 0 || shown < c->limit)) {
        size_t klen, vlen;
        const unsigned char *k = cairn_iter_key(it, &klen);
        const bound *stop = c->reverse ? &c->lo : &c->hi;
        if (stop->set) {
            int r = key_compare((const char *)k, klen, stop->data, stop->len);
            if (c->reverse ? r < 0 : r >= 0)
                break;
        }
        if (c->hex)
            put_hex(k, klen);
        else
            put_escaped(k, klen);
        if (!c->keys_only) {
            const unsigned char *v = cairn_iter_value(it, &vlen);
            fputs(" => ", stdout);
            if (c->hex)
                put_hex(v, vlen);
            else
                put_escaped(v, vlen);
        }
        putchar('\n');
        /* A closed pipe or a full disk: no point reading further. */
        if (ferror(stdout))
            return tool_finish_stdout(TOOL_EXIT_FAIL);
        shown++;
        if (c->reverse)
            cairn_iter_prev(it);
        else
            cairn_iter_next(it);
    }
    int rc = cairn_iter_status(it);
    if (rc != 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cairn_errmsg());
        if (tool_finish_stdout(TOOL_EXIT_OK) != TOOL_EXIT_OK)
            return TOOL_EXIT_FAIL;
        return tool_engine_error(rc, msg);
    }
    return tool_finish_stdout(TOOL_EXIT_OK);
}

/* Reads the options into c; prefix successor storage goes to *succ (the
 * caller frees it). Returns 0, TOOL_HELP or TOOL_EXIT_USAGE. */
static int parse(int argc, char **argv, scan_cfg *c, char **db, char **succ)
{
    static const char *const names[] = {"db"};
    char *prefix = NULL, *from = NULL, *to = NULL, *limit = NULL;
    const tool_opt opts[] = {
        {"--prefix", NULL, &prefix},
        {"--from", NULL, &from},
        {"--to", NULL, &to},
        {"--limit", NULL, &limit},
        {"--hex", &c->hex, NULL},
        {"--reverse", &c->reverse, NULL},
        {"--keys-only", &c->keys_only, NULL},
    };
    int st = tool_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0],
                             names, 1, db);
    if (st != 0)
        return st;
    size_t n;
    if (limit != NULL && tool_parse_u64(limit, 1, UINT64_MAX, &c->limit) != 0)
        return tool_usage_error("scan",
                                "scan: --limit needs a whole number >= 1, "
                                "not '%s'",
                                limit);
    if (from != NULL) {
        if ((st = tool_arg_bytes("scan", "from", from, c->hex, &n)) != 0)
            return st;
        narrow(&c->lo, from, n, 1);
    }
    if (to != NULL) {
        if ((st = tool_arg_bytes("scan", "to", to, c->hex, &n)) != 0)
            return st;
        narrow(&c->hi, to, n, 0);
    }
    if (prefix != NULL) {
        if ((st = tool_arg_bytes("scan", "prefix", prefix, c->hex, &n)) != 0)
            return st;
        narrow(&c->lo, prefix, n, 1);
        *succ = malloc(n + 1);
        if (*succ == NULL)
            return tool_engine_error(CAIRN_NOMEM, "out of memory");
        long slen = prefix_successor(prefix, n, *succ);
        if (slen >= 0)
            narrow(&c->hi, *succ, (size_t)slen, 0);
    }
    return 0;
}

int tool_scan(int argc, char **argv)
{
    scan_cfg c;
    memset(&c, 0, sizeof c);
    char *db_path = NULL, *succ = NULL;
    cairn_readoptions *ro = NULL;
    cairn_db *db = NULL;
    int st = parse(argc, argv, &c, &db_path, &succ);
    if (st == TOOL_HELP) {
        st = tool_show_help("scan");
        goto out;
    }
    if (st != 0)
        goto out;
    if ((ro = cairn_readoptions_create()) == NULL) {
        st = tool_engine_error(CAIRN_NOMEM, "out of memory");
        goto out;
    }
    int rc = cairn_readoptions_set_verify_checksums(ro, 1);
    if (rc == 0)
        rc = cairn_readoptions_set_fill_cache(ro, 0); /* one pass only */
    if (rc != 0) {
        st = tool_engine_error(rc, cairn_errmsg());
    } else if ((st = tool_open_db(db_path, 0, &db)) == TOOL_EXIT_OK) {
        cairn_iter *it = cairn_db_iter_create(db, ro);
        if (it == NULL) {
            st = tool_engine_error(CAIRN_NOMEM, cairn_errmsg());
        } else {
            st = walk(it, &c);
            cairn_iter_destroy(it);
        }
        st = tool_close_db(db, st);
    }
out:
    cairn_readoptions_destroy(ro);
    free(succ);
    return st;
}
