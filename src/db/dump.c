/*
 * dump.c: cairn_dump_file, the human-readable view of one database file
 * behind `cairn dump`. It is engine code (it reads through the env and the
 * engine's own decoders) so that what it shows is exactly what recovery
 * would see: the same log reader, the same damage rules, the same batch and
 * VersionEdit parsers.
 *
 * The kind of file comes from its name (cairn__filename_parse):
 *   NNNNNN.log       every record of the write-ahead log, as
 *                      record at offset 0 (39 bytes): seq 1, count 2
 *                        put 'k1' => 'v1'
 *                        del 'k2'
 *   MANIFEST-NNNNNN  every record, followed by its VersionEdit's lines;
 *   NNNNNN.ldb/.sst  a header line, then every entry in file order, as
 *                      table 000012.ldb: 2210 bytes, filter: bloom
 *                      'k1' @ 7 : val => 'v1'
 *                      'k2' @ 9 : del => ''
 *   anything else    CAIRN_NOTSUP.
 * Both log kinds end with one summary line:
 *   end: R records, D damaged regions (B bytes dropped)
 * and a table with:
 *   end: E entries (V values, X deletions), B data bytes, D damaged
 * where data bytes are the user keys' and values' bytes as stored.
 *
 * Damage is printed where it is met, as a line starting with "!!! ", and
 * the dump carries on wherever the format allows: the log reader resyncs
 * at the next block after a checksum or length error, a malformed batch or
 * edit costs only its own record. Such damage does not make a log dump
 * fail; it is visible in the output and in the summary. A table is read
 * the way a paranoid database reads it (index checksums checked at open,
 * every data block's checksum checked as it is read), through the same
 * reader, so a damaged table cannot be walked past its first bad block:
 * the dump prints what it read, the damage and the summary, and returns
 * the error (CAIRN_CORRUPTION also for an entry whose internal key does
 * not parse or that is out of order, which the dump shows and steps
 * over). Otherwise the call fails only for what stops the dump (the file
 * cannot be opened or read, memory runs out) or when print() returns
 * non-zero, whose value is then returned as is.
 *
 * Keys and values are quoted, with every byte outside printable ASCII, and
 * the quote and backslash themselves, written as \xNN, so a line is always
 * unambiguous and one line per entry. Keys longer than KEY_SHOWN bytes and
 * values longer than VALUE_SHOWN bytes are cut, with their full length
 * noted after the cut.
 *
 * Threads: no shared state; any thread may call this at any time, also on
 * a file a live database is writing (it then sees a prefix of the file,
 * and a torn tail is silent, as in recovery).
 */
#include "cairn.h"

#include "db/batch.h"
#include "db/filename.h"
#include "env/env.h"
#include "table/table.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/ikey.h"
#include "version/edit.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KEY_SHOWN   256
#define VALUE_SHOWN 128

typedef struct dumper {
    cairn_print_fn print;
    void *ctx;
    int print_rc;    /* first non-zero return of print; then silence */
    int nomem;       /* a line could not be built */
    cairn__buf line; /* the line being assembled */
    uint64_t records;
    uint64_t damaged; /* regions reported by the log reader or parsers */
    uint64_t dropped; /* bytes the log reader reported as dropped */
} dumper;

/* Appends formatted text to the current line; a failure is remembered in
 * d->nomem and checked once the line is emitted, which keeps the many small
 * appends below free of error plumbing. */
static void addf(dumper *d, const char *fmt, ...) CAIRN_PRINTF(2, 3);
static void addf(dumper *d, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
    if (cairn__buf_append(&d->line, tmp, len) != 0)
        d->nomem = 1;
}

/* Appends 'bytes' quoted and escaped, showing at most `shown` bytes. */
static void add_quoted(dumper *d, cairn__slice s, size_t shown)
{
    size_t n = s.size < shown ? s.size : shown;
    /* Worst case four output bytes per input byte, plus quotes and note. */
    if (cairn__buf_reserve(&d->line, 4 * n + 64) != 0) {
        d->nomem = 1;
        return;
    }
    char *out = d->line.data + d->line.len;
    *out++ = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.data[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            *out++ = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            *out++ = '\\';
            *out++ = 'x';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 0xf];
        }
    }
    if (n < s.size) {
        memcpy(out, "...", 3);
        out += 3;
    }
    *out++ = '\'';
    d->line.len = (size_t)(out - d->line.data);
    if (n < s.size)
        addf(d, " (%zu bytes)", s.size);
}

/* Hands the current line to print and starts the next one. Returns
 * non-zero once the dump must stop (print said so, or no memory). */
static int emit(dumper *d)
{
    if (d->print_rc == 0 && !d->nomem) {
        if (cairn__buf_append(&d->line, "", 1) != 0)
            d->nomem = 1;
        else
            d->print_rc = d->print(d->ctx, d->line.data);
    }
    cairn__buf_clear(&d->line);
    return d->print_rc != 0 || d->nomem;
}

/* The stop reason as a return code: print's own value wins. */
static int stop_code(dumper *d)
{
    if (d->print_rc != 0)
        return d->print_rc;
    if (d->nomem)
        return cairn__err(CAIRN_NOMEM, "dump: no memory for an output line");
    return 0;
}

/* Log reader damage callback: one line per dropped region. */
static void report_damage(void *ctx, uint64_t offset, size_t bytes,
                          const char *reason)
{
    dumper *d = ctx;
    d->damaged++;
    d->dropped += bytes;
    addf(d, "!!! damage at offset %llu: %s (%zu bytes dropped)",
         (unsigned long long)offset, reason, bytes);
    (void)emit(d);
}

/* ---------------------------------------------------------------------- */
/* Write-ahead log records: one WriteBatch each                             */

static int batch_put(void *ctx, cairn__slice key, cairn__slice value)
{
    dumper *d = ctx;
    addf(d, "  put ");
    add_quoted(d, key, KEY_SHOWN);
    addf(d, " => ");
    add_quoted(d, value, VALUE_SHOWN);
    return emit(d);
}

static int batch_del(void *ctx, cairn__slice key)
{
    dumper *d = ctx;
    addf(d, "  del ");
    add_quoted(d, key, KEY_SHOWN);
    return emit(d);
}

static int dump_batch(dumper *d, uint64_t off, cairn__slice rec)
{
    addf(d, "record at offset %llu (%zu bytes): ", (unsigned long long)off,
         rec.size);
    if (rec.size < CAIRN__BATCH_HEADER) {
        d->damaged++;
        addf(d, "too small for a batch");
        if (emit(d))
            return stop_code(d);
        addf(d, "!!! damage at offset %llu: log record too small",
             (unsigned long long)off);
        return emit(d) ? stop_code(d) : 0;
    }
    addf(d, "seq %llu, count %lu",
         (unsigned long long)cairn__batch_rep_seq(rec),
         (unsigned long)cairn__batch_rep_count(rec));
    if (emit(d))
        return stop_code(d);
    cairn__batch_handler h = {d, batch_put, batch_del};
    int rc = cairn__batch_rep_iterate(rec, &h);
    if (d->print_rc != 0 || d->nomem)
        return stop_code(d);
    if (rc == CAIRN_NOMEM)
        return rc;
    if (rc != 0) {
        /* A malformed batch: its readable entries were printed above;
         * recovery would drop the whole record the same way. */
        d->damaged++;
        addf(d, "!!! damage at offset %llu: %s (rest of record skipped)",
             (unsigned long long)off, cairn__errmsg_get());
        if (emit(d))
            return stop_code(d);
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* MANIFEST records: one VersionEdit each                                   */

static int dump_edit(dumper *d, uint64_t off, cairn__slice rec)
{
    cairn__edit e;
    cairn__buf text = CAIRN__BUF_INIT;
    int rc;
    addf(d, "record at offset %llu (%zu bytes):", (unsigned long long)off,
         rec.size);
    if (emit(d))
        return stop_code(d);
    cairn__edit_init(&e);
    rc = cairn__edit_decode(&e, rec);
    if (rc == CAIRN_NOMEM)
        goto out;
    if (rc != 0) {
        d->damaged++;
        addf(d, "!!! damage at offset %llu: %s", (unsigned long long)off,
             cairn__errmsg_get());
        rc = emit(d) ? stop_code(d) : 0;
        goto out;
    }
    CAIRN_TRY_GOTO(rc, cairn__edit_debug_string(&e, &text), out);
    /* The debug string is several '\n'-terminated lines; print each. */
    size_t start = 0;
    for (size_t i = 0; i <= text.len; i++) {
        if (i < text.len && text.data[i] != '\n')
            continue;
        if (i > start || i < text.len) {
            if (cairn__buf_append(&d->line, text.data + start, i - start) != 0)
                d->nomem = 1;
            if (emit(d)) {
                rc = stop_code(d);
                goto out;
            }
        }
        start = i + 1;
    }
out:
    cairn__buf_fini(&text);
    cairn__edit_fini(&e);
    return rc;
}

/* ---------------------------------------------------------------------- */

typedef int (*record_fn)(dumper *d, uint64_t off, cairn__slice rec);

static int dump_log_file(cairn_env *env, const char *path, dumper *d,
                         record_fn on_record)
{
    cairn__file *f = NULL;
    cairn__log_reader reader;
    int reader_ok = 0;
    int rc;
    CAIRN_TRY_GOTO(rc, env->ops->open_read(env, path, &f), out);
    CAIRN_TRY_GOTO(
        rc, cairn__log_reader_init(&reader, f, report_damage, d, 1, 0), out);
    reader_ok = 1;
    for (;;) {
        cairn__slice rec;
        int got = cairn__log_read_record(&reader, &rec);
        if (d->print_rc != 0 || d->nomem) {
            rc = stop_code(d);
            goto out;
        }
        if (got < 0) {
            rc = got;
            goto out;
        }
        if (got == 0)
            break;
        d->records++;
        CAIRN_TRY_GOTO(
            rc, on_record(d, cairn__log_reader_last_offset(&reader), rec), out);
    }
    addf(d, "end: %llu records, %llu damaged regions (%llu bytes dropped)",
         (unsigned long long)d->records, (unsigned long long)d->damaged,
         (unsigned long long)d->dropped);
    rc = emit(d) ? stop_code(d) : 0;
out:
    if (reader_ok)
        cairn__log_reader_fini(&reader);
    if (f != NULL) {
        /* A read-only close has nothing to lose; keep the first error. */
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        int crc = cairn__file_close(f);
        if (rc == 0)
            rc = crc;
        else
            cairn__errmsg_restore(msg);
    }
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Table files: every entry, in the order the file holds them               */

typedef struct table_walk {
    uint64_t entries, values, deletions, data_bytes;
    uint64_t bad;    /* entries shown as damaged (bad key, out of order) */
    cairn__buf prev; /* the previous well-formed internal key */
    int have_prev;
} table_walk;

/* Prints one entry; a key that does not parse, or that sorts before the
 * one printed before it, is printed as damage and counted in w->bad. */
static int table_entry(dumper *d, table_walk *w, cairn__slice ikey,
                       cairn__slice value)
{
    cairn__pikey pk;
    w->entries++;
    if (!cairn__ikey_parse(ikey, &pk)) {
        w->bad++;
        addf(d, "!!! damage: bad internal key ");
        add_quoted(d, ikey, KEY_SHOWN);
        addf(d, " => ");
        add_quoted(d, value, VALUE_SHOWN);
        return emit(d);
    }
    w->data_bytes += pk.user_key.size + value.size;
    if (pk.type == CAIRN__TYPE_VALUE)
        w->values++;
    else
        w->deletions++;
    if (w->have_prev &&
        cairn__ikey_compare(cairn__buf_slice(&w->prev), ikey) >= 0) {
        w->bad++;
        addf(d, "!!! damage: the next entry is out of order");
        if (emit(d))
            return 1;
    }
    cairn__buf_clear(&w->prev);
    if (cairn__buf_append(&w->prev, ikey.data, ikey.size) != 0) {
        d->nomem = 1;
        return 1;
    }
    w->have_prev = 1;
    add_quoted(d, pk.user_key, KEY_SHOWN);
    addf(d, " @ %llu : %s => ", (unsigned long long)pk.seq,
         pk.type == CAIRN__TYPE_VALUE ? "val" : "del");
    add_quoted(d, value, VALUE_SHOWN);
    return emit(d);
}

/* Walks the table with checksums verified. Returns 0, the error that
 * stopped the walk (already printed as damage), or a stop code. */
static int table_walk_all(dumper *d, table_walk *w, cairn__table *t)
{
    cairn__iter *it = NULL;
    cairn__table_read_options ro = {1, 0, 0}; /* verify, do not fill a cache */
    int rc = cairn__table_iter(t, &ro, &it);
    if (rc != 0)
        return rc;
    for (cairn__iter_seek_first(it); cairn__iter_valid(it);
         cairn__iter_next(it)) {
        if (table_entry(d, w, cairn__iter_key(it), cairn__iter_value(it))) {
            rc = stop_code(d);
            goto out;
        }
    }
    rc = cairn__iter_status(it);
    if (rc != 0 && rc != CAIRN_NOMEM) {
        /* The thread message names the block and the check that failed;
         * it must survive the printing so the caller can report it. */
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        addf(d, "!!! %s: %s (dump stopped)",
             rc == CAIRN_CORRUPTION ? "damage" : "error", msg);
        if (emit(d))
            rc = stop_code(d);
        else
            cairn__errmsg_restore(msg);
    }
out:
    cairn__iter_destroy(it);
    return rc;
}

static int dump_table_file(cairn_env *env, const char *path, const char *name,
                           dumper *d)
{
    cairn__file *f = NULL;
    cairn__table *t = NULL;
    table_walk w;
    uint64_t size = 0;
    int rc;
    memset(&w, 0, sizeof w);
    cairn__buf_init(&w.prev);
    CAIRN_TRY_GOTO(rc, env->ops->open_read(env, path, &f), out);
    CAIRN_TRY_GOTO(rc, env->ops->file_size(env, path, &size), out);
    /* Paranoid: the index and filter checksums are checked at open. The
     * bits per key only make the reader look for a bloom filter; reading
     * one does not depend on the value. */
    cairn__table_options topt;
    cairn__table_options_default(&topt);
    topt.paranoid_checks = 1;
    topt.bloom_bits_per_key = 10;
    rc = cairn__table_open(&topt, f, size, name, &t);
    if (rc == CAIRN_CORRUPTION) {
        char msg[CAIRN__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
        addf(d, "!!! damage: %s", msg);
        if (emit(d))
            rc = stop_code(d);
        else
            cairn__errmsg_restore(msg);
    }
    if (rc != 0)
        goto out;
    addf(d, "table %s: %llu bytes, filter: %s", name, (unsigned long long)size,
         cairn__table_has_filter(t) ? "bloom" : "none");
    if (emit(d)) {
        rc = stop_code(d);
        goto out;
    }
    rc = table_walk_all(d, &w, t);
    if (rc != 0 && (d->print_rc != 0 || d->nomem || rc == CAIRN_NOMEM))
        goto out;
    /* The summary is printed after damage too: it says how far the dump
     * got. A stopped walk keeps its own error and message. */
    char msg[CAIRN__ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", cairn__errmsg_get());
    addf(d,
         "end: %llu entries (%llu values, %llu deletions), %llu data "
         "bytes, %llu damaged",
         (unsigned long long)w.entries, (unsigned long long)w.values,
         (unsigned long long)w.deletions, (unsigned long long)w.data_bytes,
         (unsigned long long)(w.bad + (rc != 0)));
    if (emit(d)) {
        rc = stop_code(d);
        goto out;
    }
    if (rc != 0)
        cairn__errmsg_restore(msg);
    else if (w.bad != 0)
        rc = CAIRN_CORRUPT("%s: %llu damaged entries", name,
                           (unsigned long long)w.bad);
out:
    cairn__table_close(t);
    cairn__buf_fini(&w.prev);
    if (f != NULL) {
        /* As for logs: closing a read-only file keeps the first error. */
        char keep[CAIRN__ERRMSG_MAX];
        snprintf(keep, sizeof keep, "%s", cairn__errmsg_get());
        int crc = cairn__file_close(f);
        if (rc == 0)
            rc = crc;
        else
            cairn__errmsg_restore(keep);
    }
    return rc;
}

/* ---------------------------------------------------------------------- */

int cairn_dump_file(cairn_env *env, const char *path, cairn_print_fn print,
                    void *ctx)
{
    if (path == NULL || print == NULL)
        return cairn__err(CAIRN_INVALID, "cairn_dump_file: NULL %s",
                          path == NULL ? "path" : "print function");
    if (env == NULL)
        env = cairn_env_default();

    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    uint64_t number;
    enum cairn__file_type type;
    if (!cairn__filename_parse(base, &number, &type))
        return cairn__err(CAIRN_NOTSUP,
                          "%s: cannot tell the file's kind from its name "
                          "(expected NNNNNN.log, MANIFEST-NNNNNN, "
                          "NNNNNN.ldb or NNNNNN.sst)",
                          path);

    dumper d;
    memset(&d, 0, sizeof d);
    d.print = print;
    d.ctx = ctx;
    cairn__buf_init(&d.line);
    int rc;
    switch (type) {
    case CAIRN__FILE_LOG:
        rc = dump_log_file(env, path, &d, dump_batch);
        break;
    case CAIRN__FILE_DESCRIPTOR:
        rc = dump_log_file(env, path, &d, dump_edit);
        break;
    case CAIRN__FILE_TABLE:
        rc = dump_table_file(env, path, base, &d);
        break;
    default:
        rc = cairn__err(CAIRN_NOTSUP,
                        "%s: not a log, MANIFEST or table file; nothing to "
                        "decode",
                        path);
        break;
    }
    cairn__buf_fini(&d.line);
    if (rc == 0)
        cairn__errmsg_clear(); /* damage messages were printed, not failures */
    return rc;
}
