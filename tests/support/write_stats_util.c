/*
 * write_stats_util.c: see write_stats_util.h.
 */
#include "write_stats_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void ws_spare_counts(cairn_db *db, uint64_t *made, uint64_t *taken,
                     uint64_t *failed)
{
    char *p = cairn_db_property(db, "cairn.write-stats");
    if (p == NULL)
        fail_msg("cairn.write-stats: %s", cairn_errmsg());
    const char *line = strstr(p, "spare logs: made ");
    if (line == NULL || sscanf(line,
                               "spare logs: made %" SCNu64 ", taken %" SCNu64
                               ", failed %" SCNu64,
                               made, taken, failed) != 3)
        fail_msg("cairn.write-stats has no spare-log counters:\n%s", p);
    cairn_free(p);
}

uint64_t ws_spares_zeroed(cairn_db *db)
{
    char *p = cairn_db_property(db, "cairn.write-stats");
    if (p == NULL)
        fail_msg("cairn.write-stats: %s", cairn_errmsg());
    const char *line = strstr(p, "spare logs: made ");
    const char *z = line != NULL ? strstr(line, ", zero-filled ") : NULL;
    uint64_t n = 0;
    if (z == NULL || sscanf(z, ", zero-filled %" SCNu64, &n) != 1)
        fail_msg("cairn.write-stats has no zero-filled spare counter:\n%s", p);
    cairn_free(p);
    return n;
}

/* Waits up to timeout_ms until the counter at index which (0 made,
 * 1 taken, 2 failed) reaches at least n. */
static int wait_count(cairn_db *db, int which, uint64_t n, int timeout_ms)
{
    for (int i = 0;; i++) {
        uint64_t c[3];
        ws_spare_counts(db, &c[0], &c[1], &c[2]);
        if (c[which] >= n)
            return 1;
        if (i >= timeout_ms)
            return 0;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

int ws_wait_spare_failed(cairn_db *db, int timeout_ms)
{
    return wait_count(db, 2, 1, timeout_ms);
}

int ws_wait_spares_made(cairn_db *db, uint64_t n, int timeout_ms)
{
    return wait_count(db, 0, n, timeout_ms);
}
