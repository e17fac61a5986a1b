/*
 * filename.h: names of the files in a database directory (LevelDB's).
 *
 *   NNNNNN.log        write-ahead log          (%06llu, more digits if needed)
 *   NNNNNN.ldb        table (NNNNNN.sst also read and deleted, never written)
 *   MANIFEST-NNNNNN   descriptor
 *   CURRENT           name of the current MANIFEST + "\n"
 *   LOCK, LOG, LOG.old
 *   NNNNNN.dbtmp      temporary (CURRENT is written through one)
 */
#ifndef CAIRN_DB_FILENAME_H
#define CAIRN_DB_FILENAME_H

#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>

enum cairn__file_type {
    CAIRN__FILE_LOG,
    CAIRN__FILE_LOCK,
    CAIRN__FILE_TABLE,
    CAIRN__FILE_DESCRIPTOR,
    CAIRN__FILE_CURRENT,
    CAIRN__FILE_TEMP,
    CAIRN__FILE_INFO_LOG, /* LOG or LOG.old */
};

/* Each writes "<dir>/<name>" into out (replacing its contents) as a
 * NUL-terminated string; out->len excludes the NUL. */
int cairn__filename_log(cairn__buf *out, const char *dir, uint64_t n) CAIRN_WUR;
int cairn__filename_table(cairn__buf *out, const char *dir,
                          uint64_t n) CAIRN_WUR;
int cairn__filename_sst(cairn__buf *out, const char *dir, uint64_t n) CAIRN_WUR;
int cairn__filename_descriptor(cairn__buf *out, const char *dir,
                               uint64_t n) CAIRN_WUR;
int cairn__filename_current(cairn__buf *out, const char *dir) CAIRN_WUR;
int cairn__filename_lock(cairn__buf *out, const char *dir) CAIRN_WUR;
int cairn__filename_temp(cairn__buf *out, const char *dir,
                         uint64_t n) CAIRN_WUR;
int cairn__filename_info_log(cairn__buf *out, const char *dir) CAIRN_WUR;
int cairn__filename_old_info_log(cairn__buf *out, const char *dir) CAIRN_WUR;

/* Parses a bare name (no directory). Returns 1 and fills *number and *type
 * for a recognised name, 0 otherwise (LevelDB's ParseFileName rules: any
 * decimal that fits uint64, "MANIFEST-<digits>" exactly, CURRENT, LOCK,
 * LOG, LOG.old). */
int cairn__filename_parse(const char *name, uint64_t *number,
                          enum cairn__file_type *type);

/* Points CURRENT at MANIFEST-<manifest_number>: writes <n>.dbtmp, syncs it,
 * renames it over CURRENT and syncs the directory. Removes the temp file on
 * failure. */
struct cairn_env;
int cairn__set_current_file(struct cairn_env *env, const char *dir,
                            uint64_t manifest_number) CAIRN_WUR;

#endif
