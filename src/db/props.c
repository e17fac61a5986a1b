/*
 * props.c: properties (cairn_db_property) and approximate sizes.
 *
 * Property names follow LevelDB's ("cairn." or "leveldb." prefix) with the
 * same text formats, so scripts written for LevelDB keep working.
 */
#include "db/db_impl.h"

#include "util/ikey.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int appendf(cairn__buf *b, const char *fmt, ...) CAIRN_PRINTF(2, 3);
static int appendf(cairn__buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return cairn__err(CAIRN_INVALID, "format error");
    return cairn__buf_append(
        b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void append_key(cairn__buf *b, cairn__slice ikey)
{
    cairn__pikey pk;
    if (!cairn__ikey_parse(ikey, &pk)) {
        (void)appendf(b, "(bad key)");
        return;
    }
    (void)appendf(b, "'");
    for (size_t i = 0; i < pk.user_key.size && i < 64; i++) {
        unsigned char c = (unsigned char)pk.user_key.data[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            (void)appendf(b, "%c", c);
        else
            (void)appendf(b, "\\x%02x", c);
    }
    (void)appendf(b, "%s' @ %" PRIu64 " : %d",
                  pk.user_key.size > 64 ? "..." : "", pk.seq, pk.type);
}

/* Builds the property text with mu held. Returns 1 if the name is known. */
static int property(cairn_db *db, const char *name, cairn__buf *out)
{
    cairn__version *v = db->vs->current;
    if (strncmp(name, "num-files-at-level", 18) == 0) {
        const char *p = name + 18;
        /* Exactly one decimal digit naming a level: no sign, spaces or
         * leading zeros. */
        if (p[0] < '0' || p[0] > '9' || p[1] != '\0')
            return 0;
        long level = p[0] - '0';
        if (level >= CAIRN__NUM_LEVELS)
            return 0;
        (void)appendf(out, "%zu", v->nfiles[level]);
        return 1;
    }
    if (strcmp(name, "stats") == 0) {
        (void)appendf(out, "                               Compactions\n"
                           "Level  Files Size(MB) Time(sec) Read(MB) "
                           "Write(MB) Count Parts\n"
                           "--------------------------------------------------"
                           "------------\n");
        uint64_t written = 0;
        for (int l = 0; l < CAIRN__NUM_LEVELS; l++) {
            const struct cairn__level_stats *st = &db->stats[l];
            written += st->bytes_written;
            if (v->nfiles[l] == 0 && st->micros == 0 && st->bytes_written == 0)
                continue;
            (void)appendf(
                out,
                "%3d %8zu %8.0f %9.2f %8.0f %9.0f %5" PRIu64 " %5" PRIu64 "\n",
                l, v->nfiles[l],
                (double)cairn__version_level_bytes(v, l) / 1048576.0,
                (double)st->micros / 1e6, (double)st->bytes_read / 1048576.0,
                (double)st->bytes_written / 1048576.0, st->count, st->parts);
        }
        /* Bytes written to tables (flushes and compactions) per byte
         * flushed from memtables. */
        (void)appendf(out, "Write amplification: %.2f\n",
                      db->bytes_user ? (double)written / (double)db->bytes_user
                                     : 0.0);
        if (cairn__write_stats_report(db->wstats, out) != 0)
            return 1; /* out of memory: a partial report */
        return 1;
    }
    if (strcmp(name, "sstables") == 0) {
        for (int l = 0; l < CAIRN__NUM_LEVELS; l++) {
            (void)appendf(out, "--- level %d ---\n", l);
            for (size_t i = 0; i < v->nfiles[l]; i++) {
                cairn__file_meta *f = v->files[l][i];
                (void)appendf(out, " %" PRIu64 ":%" PRIu64 "[", f->number,
                              f->file_size);
                append_key(out, cairn__buf_slice(&f->smallest));
                (void)appendf(out, " .. ");
                append_key(out, cairn__buf_slice(&f->largest));
                (void)appendf(out, "]\n");
            }
        }
        return 1;
    }
    if (strcmp(name, "write-stats") == 0) {
        if (cairn__write_stats_report(db->wstats, out) != 0)
            return 1; /* out of memory: a partial report */
        return 1;
    }
    if (strcmp(name, "approximate-memory-usage") == 0) {
        size_t total = cairn__cache_total_charge(db->block_cache);
        total += cairn__memtable_memory_usage(db->mem);
        for (int i = 0; i < db->nimm; i++)
            total += cairn__memtable_memory_usage(db->imm[i]);
        (void)appendf(out, "%zu", total);
        return 1;
    }
    return 0;
}

char *cairn_db_property(cairn_db *db, const char *name)
{
    if (cairn__api_enter(db, __func__) != 0)
        return NULL;
    if (name == NULL) {
        cairn__api_leave(db, cairn__err(CAIRN_INVALID, "NULL property name"));
        return NULL;
    }
    const char *short_name = NULL;
    if (strncmp(name, "cairn.", 6) == 0)
        short_name = name + 6;
    else if (strncmp(name, "leveldb.", 8) == 0)
        short_name = name + 8;
    cairn__buf out = CAIRN__BUF_INIT;
    int known = 0;
    if (short_name != NULL) {
        cairn__mutex_lock(&db->mu);
        known = property(db, short_name, &out);
        cairn__mutex_unlock(&db->mu);
    }
    if (!known || cairn__buf_append(&out, "", 1) != 0) {
        cairn__buf_fini(&out);
        cairn__api_leave(
            db, cairn__err(CAIRN_NOTFOUND, "unknown property '%.100s'", name));
        return NULL;
    }
    cairn__api_leave(db, 0);
    return out.data;
}

int cairn_db_approximate_sizes(cairn_db *db, int n, const void *const *start,
                               const size_t *start_len,
                               const void *const *limit,
                               const size_t *limit_len, uint64_t *sizes)
{
    int rc = cairn__api_enter(db, __func__);
    if (rc != 0)
        return rc;
    if (n < 0 ||
        (n > 0 && (start == NULL || start_len == NULL || limit == NULL ||
                   limit_len == NULL || sizes == NULL)))
        return cairn__api_leave(
            db, cairn__err(CAIRN_INVALID,
                           "approximate_sizes: bad arguments (n = %d, or a "
                           "NULL array)",
                           n));
    for (int i = 0; i < n; i++)
        if ((start[i] == NULL && start_len[i] != 0) ||
            (limit[i] == NULL && limit_len[i] != 0) ||
            start_len[i] > CAIRN_MAX_KEY_SIZE ||
            limit_len[i] > CAIRN_MAX_KEY_SIZE)
            return cairn__api_leave(
                db, cairn__err(CAIRN_INVALID, "approximate_sizes: bad range %d",
                               i));
    cairn__mutex_lock(&db->mu);
    cairn__version *v = db->vs->current;
    cairn__version_ref(v);
    cairn__mutex_unlock(&db->mu);
    cairn__buf k1 = CAIRN__BUF_INIT, k2 = CAIRN__BUF_INIT;
    for (int i = 0; i < n && rc == 0; i++) {
        cairn__buf_clear(&k1);
        cairn__buf_clear(&k2);
        rc = cairn__ikey_append(&k1, cairn__slice_make(start[i], start_len[i]),
                                CAIRN__MAX_SEQ, CAIRN__TYPE_FOR_SEEK);
        if (rc == 0)
            rc = cairn__ikey_append(&k2,
                                    cairn__slice_make(limit[i], limit_len[i]),
                                    CAIRN__MAX_SEQ, CAIRN__TYPE_FOR_SEEK);
        if (rc != 0)
            break;
        uint64_t a =
            cairn__version_approximate_offset(v, db->tc, cairn__buf_slice(&k1));
        uint64_t b =
            cairn__version_approximate_offset(v, db->tc, cairn__buf_slice(&k2));
        sizes[i] = b >= a ? b - a : 0;
    }
    cairn__buf_fini(&k1);
    cairn__buf_fini(&k2);
    cairn__mutex_lock(&db->mu);
    cairn__version_unref(v);
    cairn__mutex_unlock(&db->mu);
    return cairn__api_leave(db, rc);
}
