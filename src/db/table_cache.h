/*
 * table_cache.h: open table files, kept in an LRU cache keyed by file
 * number, so that reads do not reopen a file (and re-read its index) each
 * time. At most `entries` tables are open at once (max_open_files - 10,
 * as LevelDB leaves room for logs and the MANIFEST).
 *
 * Tables are opened as NNNNNN.ldb, falling back to the legacy NNNNNN.sst.
 * A failed open is not cached, so a transient error is retried later.
 *
 * Threads: every function may be called from any thread; the cache does
 * its own locking. An iterator pins its table until it is destroyed.
 */
#ifndef CAIRN_DB_TABLE_CACHE_H
#define CAIRN_DB_TABLE_CACHE_H

#include "env/env.h"
#include "iter/iter.h"
#include "table/options.h"
#include "table/table.h"

#include <stdint.h>

typedef struct cairn__table_cache cairn__table_cache;

/* topt is copied (its block cache is borrowed). dbname is borrowed. */
int cairn__table_cache_create(cairn_env *env, const char *dbname,
                              const cairn__table_options *topt, size_t entries,
                              cairn__table_cache **out) CAIRN_WUR;
void cairn__table_cache_destroy(cairn__table_cache *tc);

/* cairn__table_get on file `number` (of file_size bytes). */
int cairn__table_cache_get(cairn__table_cache *tc,
                           const cairn__table_read_options *ro, uint64_t number,
                           uint64_t file_size, cairn__slice ikey,
                           cairn__table_get_fn fn, void *arg) CAIRN_WUR;

/* An iterator over file `number`; it keeps the table open until it is
 * destroyed. */
int cairn__table_cache_iter(cairn__table_cache *tc,
                            const cairn__table_read_options *ro,
                            uint64_t number, uint64_t file_size,
                            cairn__iter **out) CAIRN_WUR;

/* The approximate offset of ikey within file `number` (0 if it cannot be
 * opened). */
uint64_t cairn__table_cache_approximate_offset(cairn__table_cache *tc,
                                               uint64_t number,
                                               uint64_t file_size,
                                               cairn__slice ikey);

/* Closes file `number` if it is cached (after the file is deleted). */
/* cairn__table_index_sample on file `number` (no keys if it cannot be
 * opened). */
void cairn__table_cache_index_sample(cairn__table_cache *tc, uint64_t number,
                                     uint64_t file_size, size_t max,
                                     void (*fn)(void *arg, cairn__slice ikey),
                                     void *arg);

void cairn__table_cache_evict(cairn__table_cache *tc, uint64_t number);

#endif
