/*
 * format.h: the framing of a table file (LevelDB 1.23, facts section 6):
 * block handles, the footer, the block trailer, and reading one block.
 *
 *   BlockHandle  varint64 offset | varint64 size        (at most 20 bytes)
 *                size excludes the 5-byte trailer.
 *   trailer      byte type (0 none, 1 Snappy) | fixed32 masked crc32c of
 *                (block contents | type byte)
 *   footer       metaindex handle | index handle | zero padding to byte 40
 *                | fixed64 magic 0xdb4775248b80fb57     (exactly 48 bytes,
 *                the last 48 bytes of the file)
 *
 * Nothing here trusts a byte of the file: handles are checked against the
 * space before the footer before anything is read or allocated, a Snappy
 * block's claimed length is checked against both an absolute cap and the
 * most Snappy can expand its input, and every failure is CAIRN_CORRUPTION
 * naming the file and the offset.
 */
#ifndef CAIRN_TABLE_FORMAT_H
#define CAIRN_TABLE_FORMAT_H

#include "env/env.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/slice.h"

#include <stddef.h>
#include <stdint.h>

#define CAIRN__TABLE_MAGIC        UINT64_C(0xdb4775248b80fb57)
#define CAIRN__BLOCK_HANDLE_MAX   20
#define CAIRN__FOOTER_SIZE        48
#define CAIRN__BLOCK_TRAILER_SIZE 5

/* Block types of the trailer. 2 (Zstd) is post-1.23 and rejected. */
#define CAIRN__NO_COMPRESSION     0
#define CAIRN__SNAPPY_COMPRESSION 1

/* The largest block (after decompression) a reader accepts: one entry with
 * the largest key and value the API allows, plus framing. Bigger claims can
 * only come from damage. */
#define CAIRN__BLOCK_MAX                                                       \
    ((uint64_t)CAIRN_MAX_KEY_SIZE + CAIRN_MAX_VALUE_SIZE + 64 * 1024)

typedef struct cairn__block_handle {
    uint64_t offset;
    uint64_t size;
} cairn__block_handle;

/* Writes the handle at dst (room for CAIRN__BLOCK_HANDLE_MAX bytes) and
 * returns the pointer past it. */
char *cairn__block_handle_encode_to(char *dst, const cairn__block_handle *h);
int cairn__block_handle_append(cairn__buf *b,
                               const cairn__block_handle *h) CAIRN_WUR;
/* Consumes a handle from *in: 1 on success, 0 if malformed. */
int cairn__block_handle_decode(cairn__slice *in, cairn__block_handle *h);

typedef struct cairn__footer {
    cairn__block_handle metaindex;
    cairn__block_handle index;
} cairn__footer;

/* Fills the 48 bytes at dst. */
void cairn__footer_encode(const cairn__footer *f, char *dst);
/* Decodes the footer of a file of file_size bytes whose last
 * min(48, file_size) bytes are at src. CAIRN_CORRUPTION "file is too short
 * to be an sstable", "not an sstable (bad magic number)" or a bad handle;
 * name is used in messages. */
int cairn__footer_decode(const char *src, uint64_t file_size, const char *name,
                         cairn__footer *f) CAIRN_WUR;

/* Reads the block at h from file, whose blocks all lie in [0, limit) (the
 * file size minus the footer). Verifies the trailer's checksum if verify is
 * set and undoes compression. On success *data is a malloc'd buffer the
 * caller frees and *size the length of the block contents in it. Errors:
 * CAIRN_CORRUPTION naming `name` and the offset, CAIRN_IO, CAIRN_NOMEM. */
int cairn__block_read(cairn__file *file, uint64_t limit, const char *name,
                      const cairn__block_handle *h, int verify, char **data,
                      size_t *size) CAIRN_WUR;

/* A read-ahead window for one sequential reader of one file: the bytes
 * [off, off + len) of the file are in buf. */
typedef struct cairn__readahead {
    char *buf;
    size_t cap; /* chunk size: bytes read at a time */
    uint64_t off;
    size_t len;
} cairn__readahead;

/* cairn__block_read through the window ra: a block inside it is copied
 * from memory, else the window moves to the block's offset and reads
 * max(cap, block) bytes (never past limit + the trailer). Same results
 * and errors as cairn__block_read; a short read is reported the same
 * way. ra == NULL reads directly. A file that offers view() (a mapped
 * file) is never read through the window: its blocks are decoded in
 * place, which saves the window's copy (callgrind, a full compaction of
 * 300k puts: 1.615G instructions with the window, 1.576G without). */
int cairn__block_read_ahead(cairn__file *file, uint64_t limit, const char *name,
                            const cairn__block_handle *h, int verify,
                            cairn__readahead *ra, char **data,
                            size_t *size) CAIRN_WUR;
/* Frees the window's buffer. */
void cairn__readahead_fini(cairn__readahead *ra);

/* Masked crc32c of (contents | type), as stored in a trailer. */
uint32_t cairn__block_crc(const char *contents, size_t n, char type);

#endif
