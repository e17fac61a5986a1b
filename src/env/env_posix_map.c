/*
 * env_posix_map.c: the POSIX env's random-access reader for table files,
 * over a read-only memory mapping of the whole file.
 *
 * Why: a point lookup reads one data block from each table it checks, and
 * with pread(2) each block is a system call, which on a virtual machine
 * costs more than decoding the block (a readrandom profile spent a quarter
 * of its time under pread). A table never changes once written, so the
 * file is mapped once when the table cache opens it; a read is then a copy
 * out of the page cache, and view() hands out the mapped bytes with no
 * copy at all.
 *
 * Limits, as LevelDB's mmap reader: at most MAX_MAPPED files are mapped
 * at once in the process. Beyond that, for an empty file, or where mmap
 * fails, cairn__posix_open_mapped returns CAIRN_NOTSUP and the caller
 * opens the ordinary read handle.
 *
 * What mapping gives up: a device read error, or a file truncated by
 * someone else while it is mapped, raises SIGBUS in the reading thread
 * instead of returning an error. cairn never truncates or rewrites a
 * table, and damaged bytes are still caught by the block checksums and
 * bounds checks. Where error returns matter more than speed,
 * cairn_options_set_mmap_reads(opt, 0) keeps pread.
 *
 * Threads: every operation but close may run from many threads at once
 * (they only read the mapping).
 */
#include "env/env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* LevelDB's limit for 64-bit builds; with 2 MiB tables, 2 GiB of address
 * space. */
#define MAX_MAPPED 1000

static atomic_int mapped_files;

typedef struct mapped_file {
    cairn__file base;
    const char *map;
    uint64_t size;
    uint64_t pos; /* for read() */
    char *path;
} mapped_file;

static int read_only(cairn__file *f)
{
    mapped_file *mf = (mapped_file *)f;
    return cairn__err(CAIRN_INVALID, "%s: handle is not open for writing",
                      mf->path);
}

/* The bytes of [off, off + n) that exist. */
static size_t avail(const mapped_file *mf, uint64_t off, size_t n)
{
    if (off >= mf->size)
        return 0;
    return mf->size - off < n ? (size_t)(mf->size - off) : n;
}

static int mf_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    mapped_file *mf = (mapped_file *)f;
    *got = avail(mf, off, n);
    if (*got > 0)
        memcpy(buf, mf->map + off, *got);
    return 0;
}

static int mf_view(cairn__file *f, uint64_t off, size_t n, const char **data,
                   size_t *got)
{
    mapped_file *mf = (mapped_file *)f;
    *got = avail(mf, off, n);
    *data = *got > 0 ? mf->map + off : NULL;
    return 0;
}

static int mf_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    mapped_file *mf = (mapped_file *)f;
    CAIRN_TRY(mf_pread(f, mf->pos, n, buf, got));
    mf->pos += *got;
    return 0;
}

static int mf_skip(cairn__file *f, uint64_t n)
{
    mapped_file *mf = (mapped_file *)f;
    mf->pos = n > UINT64_MAX - mf->pos ? UINT64_MAX : mf->pos + n;
    return 0;
}

static int mf_append(cairn__file *f, const char *data, size_t n)
{
    (void)data;
    (void)n;
    return read_only(f);
}

static int mf_flush(cairn__file *f)
{
    return read_only(f);
}

static int mf_size(cairn__file *f, uint64_t *size)
{
    *size = ((mapped_file *)f)->size;
    return 0;
}

static int mf_close(cairn__file *f)
{
    mapped_file *mf = (mapped_file *)f;
    int rc = 0;
    if (munmap((void *)mf->map, (size_t)mf->size) != 0)
        rc = cairn__err_errno(errno, "munmap", mf->path);
    atomic_fetch_sub_explicit(&mapped_files, 1, memory_order_relaxed);
    free(mf->path);
    free(mf);
    return rc;
}

static const cairn__file_ops mapped_file_ops = {
    .pread = mf_pread,
    .read = mf_read,
    .skip = mf_skip,
    .append = mf_append,
    .flush = mf_flush,
    .sync = mf_flush,
    .size = mf_size,
    .close = mf_close,
    .sync_flushed = NULL,
    .view = mf_view,
};

int cairn__posix_open_mapped(const char *path, cairn__file **out);

int cairn__posix_open_mapped(const char *path, cairn__file **out)
{
    *out = NULL;
    if (atomic_fetch_add_explicit(&mapped_files, 1, memory_order_relaxed) >=
        MAX_MAPPED) {
        atomic_fetch_sub_explicit(&mapped_files, 1, memory_order_relaxed);
        return cairn__err(CAIRN_NOTSUP, "%s: too many mapped files", path);
    }
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    int rc;
    if (fd < 0) {
        rc = cairn__err_errno(errno, "open", path);
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = cairn__err_errno(errno, "fstat", path);
        goto fail;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
        rc = cairn__err(CAIRN_NOTSUP, "%s: nothing to map", path);
        goto fail;
    }
    mapped_file *mf = calloc(1, sizeof *mf);
    char *p = strdup(path);
    void *m = mf != NULL && p != NULL
                  ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    if (m == MAP_FAILED) {
        free(mf);
        free(p);
        rc = cairn__err(CAIRN_NOTSUP, "%s: cannot map", path);
        goto fail;
    }
    /* The mapping keeps the file; the descriptor is not needed. */
    close(fd);
    mf->base.ops = &mapped_file_ops;
    mf->map = m;
    mf->size = (uint64_t)st.st_size;
    mf->path = p;
    *out = &mf->base;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    atomic_fetch_sub_explicit(&mapped_files, 1, memory_order_relaxed);
    return rc;
}
