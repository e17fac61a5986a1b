/*
 * options.h: the knobs of table building and reading, shared by
 * table_builder.h and table.h. The database fills these from its own
 * options (it clips block_size to LevelDB's [1 KiB, 4 MiB]; the table
 * layer accepts any size >= 1 so that tests can make many tiny blocks).
 */
#ifndef CAIRN_TABLE_OPTIONS_H
#define CAIRN_TABLE_OPTIONS_H

#include "cache/cache.h"
#include "table/format.h"

#include <stddef.h>

typedef struct cairn__table_options {
    /* A data block is cut once its estimated size reaches this. */
    size_t block_size;
    /* Keys between restart points in data and metaindex blocks (the index
     * block always uses 1). */
    int restart_interval;
    /* CAIRN__SNAPPY_COMPRESSION or CAIRN__NO_COMPRESSION. */
    int compression;
    /* Bloom filter bits per key: builders write a filter and readers use
     * one when > 0 (10 is the usual choice); 0 means no filter. */
    int bloom_bits_per_key;
    /* Readers verify the checksums of the index, metaindex and filter
     * blocks when they open a table. */
    int paranoid_checks;
    /* Readers keep data blocks here when non-NULL. Borrowed: it must
     * outlive every table opened with it. */
    cairn__cache *block_cache;
    /* The table cache opens files with the env's open_random (a memory
     * mapping in the POSIX env) instead of open_read. */
    int mmap_reads;
} cairn__table_options;

/* LevelDB 1.23's defaults: 4096, 16, Snappy, no filter, not paranoid, no
 * cache. */
static inline void cairn__table_options_default(cairn__table_options *o)
{
    o->block_size = 4096;
    o->restart_interval = 16;
    o->compression = CAIRN__SNAPPY_COMPRESSION;
    o->bloom_bits_per_key = 0;
    o->paranoid_checks = 0;
    o->block_cache = NULL;
    o->mmap_reads = 0;
}

typedef struct cairn__table_read_options {
    /* Verify the checksum of every data block read from the file. */
    int verify_checksums;
    /* Put blocks read from the file into the block cache. */
    int fill_cache;
    /* Iterators only: read the file ahead in chunks of this many bytes
     * instead of one pread per block (0: off). For scans that visit every
     * block in order, such as compaction inputs: a system call per 4 KiB
     * block costs more than the block's whole decoding. Ignored for a
     * mapped file, whose blocks are decoded in place. */
    size_t readahead;
} cairn__table_read_options;

#endif
