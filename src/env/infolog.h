/*
 * infolog.h: the human-readable info log, <db>/LOG.
 *
 * At open the previous LOG is renamed to LOG.old (one rotation, as LevelDB).
 * Each line is "YYYY/MM/DD-HH:MM:SS.uuuuuu <thread-id-hex> message". Lines
 * are flushed to the OS at once, so they survive a crash of the process.
 * A NULL log accepts every call and writes nothing, so callers need no
 * checks when logging is disabled.
 *
 * Threads: any thread may log; lines never interleave (one mutex).
 */
#ifndef CAIRN_ENV_INFOLOG_H
#define CAIRN_ENV_INFOLOG_H

#include "env/env.h"

typedef struct cairn__infolog cairn__infolog;

/* Rotates <dbdir>/LOG to LOG.old and opens a fresh LOG. */
int cairn__infolog_open(cairn_env *env, const char *dbdir,
                        cairn__infolog **out) CAIRN_WUR;
void cairn__infolog_close(cairn__infolog *log);
void cairn__infolog_printf(cairn__infolog *log, const char *fmt, ...)
    CAIRN_PRINTF(2, 3);

#endif
