/*
 * env_posix_log.c: the POSIX env's write-ahead log file, written through a
 * shared memory mapping.
 *
 * Why: a non-sync write must reach the operating system before it is
 * acknowledged, so that it survives the process being killed. With write(2)
 * that costs a system call per write group, which on a virtual machine is
 * the largest single cost of a small write. Bytes copied into a MAP_SHARED
 * mapping of the file are in the kernel's page cache the moment the copy
 * ends: a killed process loses nothing, and no system call is made. sync()
 * is fdatasync(2), which writes back pages dirtied through the mapping as
 * well as by write(2); so sync writes keep their power-loss guarantee.
 *
 * Layout: the file grows in CHUNK-sized steps. Each step first allocates
 * the blocks with fallocate(2), so a later store into the mapping can never
 * meet a full disk (which would raise SIGBUS instead of returning an
 * error): a full disk is reported by append() as CAIRN_NOSPC. The chunk is
 * then mapped and filled by memcpy. close() unmaps and truncates the file
 * to the bytes written. After a crash the file may end in up to one chunk
 * of zeros; the log reader (LevelDB's rules) treats a zero record header as
 * preallocated space and skips it silently, as LevelDB does, so the zero
 * tail is invisible to cairn and to LevelDB.
 *
 * Huge pages: on a virtual machine the first store into each 4 KiB page
 * of a fresh mapping costs an exit to the hypervisor even after the page
 * has been faulted in (measured here: about 5.6 us a page, 190 ns of
 * every 131-byte write, the largest single cost of a non-sync write,
 * paid while every other writer waits for the leader). Until the file is
 * first synced, chunks are therefore mapped at 2 MiB-aligned addresses
 * with MADV_HUGEPAGE: where the kernel and file system give the page
 * cache huge pages (ext4 on Linux 6.16 and later, for instance), a chunk
 * is one page and the cost is gone (the copy of a write fell from about
 * 190 to 4 ns). Elsewhere the request does nothing. A huge page is dirty
 * as a whole, so syncs would write all 2 MiB back every time; after the
 * first sync the chunk in use is written with pwrite(2) and later chunks
 * are mapped with 4 KiB pages (leave_huge).
 *
 * Logs that are synced: opened with zero_fill (the write path asks for it
 * once writes have synced the log, docs/design.md), the file's first
 * zero_fill bytes are written with zeros and synced before it is used,
 * and it is not prefaulted. fdatasync into blocks that fallocate left
 * unwritten, or past the end of the file, must also commit the file
 * system's journal, which on ext4 is a kernel thread's turn and waits for
 * a core when every core is busy. Into blocks already written it writes
 * the data alone. Measured with a probe (one thread appending and
 * syncing, 2026-11-25): 8 KiB appends made 2700 syncs a second into
 * fallocated blocks against 4200 into zeroed ones, and 4 KiB appends with
 * two threads spinning beside it 980 against 1640.
 *
 * If the file system cannot fallocate, the env falls back to the ordinary
 * buffered writable file (cairn__posix_open_log returns CAIRN_NOTSUP and
 * the caller opens it the usual way).
 *
 * Threads: one thread at a time per handle (the write leader).
 */
#include "env/env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Bytes mapped at a time: one huge page. */
#define CHUNK ((size_t)2 << 20)

/* Pages prefaulted at a time ahead of the appends (see lf_append). */
#define PREFAULT ((size_t)64 << 10)

typedef struct log_file {
    cairn__file base;
    int fd;
    char *path;
    char *map;        /* the current chunk's mapping, or NULL */
    uint64_t map_off; /* file offset of the mapping (CHUNK-aligned) */
    uint64_t size;    /* bytes appended */
    int last_errno;   /* errno of the last failed fallocate/mmap */
    /* Pages below this offset are mapped writable; UINT64_MAX once
     * prefaulting has stopped for the current chunk. */
    uint64_t faulted;
    int no_prefault; /* madvise(MADV_POPULATE_WRITE) is not available */
    /* Set by lf_sync (which runs alongside appends): the file is synced,
     * so pages dirtied ahead of the data would be written back for
     * nothing at every sync; stop prefaulting. */
    _Atomic int synced;
    int huge;   /* the current chunk's mapping asked for huge pages */
    int direct; /* the current chunk is written with pwrite, not mapped */
} log_file;

static int unsupported(cairn__file *f)
{
    log_file *lf = (log_file *)f;
    return cairn__err(CAIRN_INVALID, "%s: log files are write-only", lf->path);
}

static int lf_pread(cairn__file *f, uint64_t off, size_t n, char *buf,
                    size_t *got)
{
    (void)off;
    (void)n;
    (void)buf;
    *got = 0;
    return unsupported(f);
}

static int lf_read(cairn__file *f, size_t n, char *buf, size_t *got)
{
    (void)n;
    (void)buf;
    *got = 0;
    return unsupported(f);
}

static int lf_skip(cairn__file *f, uint64_t n)
{
    (void)n;
    return unsupported(f);
}

/* Maps the chunk at off. Until the file is first synced the mapping is
 * CHUNK-aligned and asks for huge pages (see the header); after that it
 * is an ordinary one. */
static void *map_window(log_file *lf, uint64_t off)
{
    lf->huge = 0;
    if (atomic_load_explicit(&lf->synced, memory_order_relaxed))
        return mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, lf->fd,
                    (off_t)off);
    /* An aligned address: reserve twice the span, map the file over the
     * aligned middle and give back the rest. */
    size_t span = 2 * CHUNK;
    char *r = mmap(NULL, span, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return MAP_FAILED;
    char *a = (char *)(((uintptr_t)r + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1));
    void *m = mmap(a, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                   lf->fd, (off_t)off);
    if (m == MAP_FAILED) {
        int e = errno;
        munmap(r, span);
        errno = e;
        return MAP_FAILED;
    }
    if (a > r)
        munmap(r, (size_t)(a - r));
    if (a + CHUNK < r + span)
        munmap(a + CHUNK, (size_t)(r + span - (a + CHUNK)));
#ifdef MADV_HUGEPAGE
    /* Only a request: without huge pages for this file system or with
     * them turned off, the pages stay 4 KiB and nothing else changes. */
    lf->huge = madvise(m, CHUNK, MADV_HUGEPAGE) == 0;
#endif
    return m;
}

/* Allocates len bytes at off (fallocate, so that stores into a mapping
 * can never meet a full disk; see the header). The errno is kept in
 * last_errno: open tells "cannot preallocate here" from a real failure. */
static int allocate(log_file *lf, uint64_t off, uint64_t len)
{
    int e;
    do {
        e = fallocate(lf->fd, 0, (off_t)off, (off_t)len) == 0 ? 0 : errno;
    } while (e == EINTR);
    if (e != 0) {
        lf->last_errno = e;
        return cairn__err_errno(e, "fallocate", lf->path);
    }
    return 0;
}

/* Allocates and maps the chunk starting at off. */
static int map_chunk(log_file *lf, uint64_t off)
{
    if (lf->map != NULL) {
        munmap(lf->map, CHUNK);
        lf->map = NULL;
        /* The chunk is full and never written again: start its
         * writeback now. Otherwise a log that is never synced by a
         * write is written back all at once by the fdatasync at the
         * memtable switch, with every writer queued behind it (measured:
         * 8.5 ms a switch for a 4 MiB log, 4.7 ms with this). A synced
         * file is kept clean by its syncs. Only a hint: errors are left
         * to the next sync. Starting writeback of pages still mapped is
         * much worse: each one is write-protected again (page_mkclean,
         * a TLB shootdown of the other core), and a start every 256 KiB
         * of appends cut fillrandom by 30% at 1 and 64 threads for 25%
         * less time in switches. After munmap there is nothing to
         * write-protect. */
        if (!atomic_load_explicit(&lf->synced, memory_order_relaxed))
            (void)sync_file_range(lf->fd, (off_t)lf->map_off, (off_t)CHUNK,
                                  SYNC_FILE_RANGE_WRITE);
    }
    CAIRN_TRY(allocate(lf, off, CHUNK));
    lf->map_off = off;
    if (atomic_load_explicit(&lf->synced, memory_order_relaxed) &&
        lf->size > off) {
        /* Appends resume in a chunk written before (after seal) in a
         * synced file: its pages may be huge ones (leave_huge). */
        lf->huge = 0;
        lf->direct = 1;
        return 0;
    }
    lf->direct = 0;
    void *m = map_window(lf, off);
    if (m == MAP_FAILED) {
        lf->last_errno = errno;
        return cairn__err_errno(errno, "mmap", lf->path);
    }
    lf->map = m;
    lf->map_off = off;
    lf->faulted = off;
    return 0;
}

/* The file has been synced while its chunk is mapped with huge pages.
 * Stores through such a mapping dirty the whole 2 MiB page, and every
 * later fdatasync would write all of it back (measured: about 600 syncs
 * a second against 3500 for 4 KiB pages). Written with pwrite(2) instead,
 * only the blocks written are dirtied, so the rest of the chunk goes that
 * way, a system call per group, which a synced log can afford; the next
 * chunk is mapped with 4 KiB pages. */
static void leave_huge(log_file *lf)
{
    munmap(lf->map, CHUNK);
    lf->map = NULL;
    lf->huge = 0;
    lf->direct = 1;
}

/* Writes n bytes at *off with pwrite(2), moving *off past what was
 * written (on failure too, so a log's size counts only bytes written). */
static int write_at(log_file *lf, const char *data, size_t n, uint64_t *off)
{
    while (n > 0) {
        ssize_t k = pwrite(lf->fd, data, n, (off_t)*off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return cairn__err_errno(errno, "pwrite", lf->path);
        }
        data += k;
        n -= (size_t)k;
        *off += (uint64_t)k;
    }
    return 0;
}

/* Maps the pages of the next PREFAULT bytes writable with one system
 * call. Without it the first store into each 4 KiB page of the mapping
 * takes a page fault, and on a virtual machine each fault is an exit to
 * the hypervisor: measured, the log's faults were the largest single cost
 * of a non-sync write. The pages become dirty, so a sync would write them
 * back; a file that has been synced once is therefore not prefaulted any
 * more (sync writes pay the faults, which are small against a sync).
 * Failure is harmless: the stores then fault as before. */
static void prefault(log_file *lf)
{
    if (lf->no_prefault ||
        atomic_load_explicit(&lf->synced, memory_order_relaxed)) {
        lf->faulted = UINT64_MAX; /* no more calls until the next chunk */
        return;
    }
#ifdef MADV_POPULATE_WRITE
    uint64_t end = lf->map_off + CHUNK;
    uint64_t from = lf->faulted;
    size_t len = end - from < PREFAULT ? (size_t)(end - from) : PREFAULT;
    if (len == 0)
        return;
    if (madvise(lf->map + (from - lf->map_off), len, MADV_POPULATE_WRITE) !=
            0 &&
        errno != EINTR && errno != EAGAIN) {
        lf->no_prefault = 1; /* old kernel, or not for this mapping */
        return;
    }
    lf->faulted = from + len;
#else
    lf->no_prefault = 1;
#endif
}

static int lf_append(cairn__file *f, const char *data, size_t n)
{
    log_file *lf = (log_file *)f;
    while (n > 0) {
        if ((lf->map == NULL && !lf->direct) || lf->size >= lf->map_off + CHUNK)
            CAIRN_TRY(map_chunk(lf, lf->size - lf->size % CHUNK));
        else if (lf->huge &&
                 atomic_load_explicit(&lf->synced, memory_order_relaxed))
            leave_huge(lf);
        size_t at = (size_t)(lf->size - lf->map_off);
        size_t k = CHUNK - at < n ? CHUNK - at : n;
        if (lf->direct) {
            CAIRN_TRY(write_at(lf, data, k, &lf->size));
        } else {
            if (lf->size + k > lf->faulted)
                prefault(lf);
            memcpy(lf->map + at, data, k);
            lf->size += k;
        }
        data += k;
        n -= k;
    }
    return 0;
}

/* The bytes are in the page cache already: nothing to hand over. */
static int lf_flush(cairn__file *f)
{
    (void)f;
    return 0;
}

static int lf_sync(cairn__file *f)
{
    log_file *lf = (log_file *)f;
    atomic_store_explicit(&lf->synced, 1, memory_order_relaxed);
    /* Never retried: after a failure the kernel may have dropped the
     * dirty pages (see env_posix.c). */
    if (fdatasync(lf->fd) != 0)
        return cairn__err_errno(errno, "fdatasync", lf->path);
    return 0;
}

static int lf_size(cairn__file *f, uint64_t *size)
{
    *size = ((log_file *)f)->size;
    return 0;
}

static int lf_close(cairn__file *f)
{
    log_file *lf = (log_file *)f;
    int rc = 0;
    if (lf->map != NULL)
        munmap(lf->map, CHUNK);
    /* Drop the allocated zero tail, so a cleanly closed log is exactly
     * its records. */
    if (ftruncate(lf->fd, (off_t)lf->size) != 0)
        rc = cairn__err_errno(errno, "ftruncate", lf->path);
    if (close(lf->fd) != 0 && rc == 0 && errno != EINTR)
        rc = cairn__err_errno(errno, "close", lf->path);
    free(lf->path);
    free(lf);
    return rc;
}

/* No more appends: unmap the chunk being written (see cairn__file_ops).
 * A later append would map it again. */
static void lf_seal(cairn__file *f)
{
    log_file *lf = (log_file *)f;
    if (lf->map != NULL) {
        munmap(lf->map, CHUNK);
        lf->map = NULL;
    }
}

/* Writes zeros over the first len bytes (whole chunks) and syncs them,
 * before anything is mapped (see "Logs that are synced"). Written with
 * pwrite, the pages are ordinary ones: a chunk faulted in as a huge page
 * first would be dirtied whole by the first store, and written back
 * whole by the first sync. */
static int zero_fill(log_file *lf, uint64_t len)
{
    static const char zeros[64 << 10];
    len = (len + CHUNK - 1) / CHUNK * CHUNK;
    CAIRN_TRY(allocate(lf, 0, len));
    for (uint64_t off = 0; off < len;)
        CAIRN_TRY(write_at(lf, zeros,
                           len - off < sizeof zeros ? (size_t)(len - off)
                                                    : sizeof zeros,
                           &off));
    if (fdatasync(lf->fd) != 0)
        return cairn__err_errno(errno, "fdatasync", lf->path);
    /* Its pages would be dirtied ahead of the data, for every sync to
     * write back: as for a synced file (prefault). */
    lf->no_prefault = 1;
    return 0;
}

/* lf_sync touches nothing but the descriptor, so it is safe while the
 * leader appends. */
static const cairn__file_ops log_file_ops = {
    lf_pread, lf_read,  lf_skip, lf_append, lf_flush, lf_sync,
    lf_size,  lf_close, lf_sync, NULL,      lf_seal,
};

int cairn__posix_open_log(const char *path, uint64_t zero_fill_len,
                          cairn__file **out);
int cairn__posix_open_log(const char *path, uint64_t zero_fill_len,
                          cairn__file **out)
{
    *out = NULL;
    log_file *lf = calloc(1, sizeof *lf);
    if (lf == NULL)
        return cairn__err(CAIRN_NOMEM, "open %s: out of memory", path);
    lf->path = strdup(path);
    if (lf->path == NULL) {
        free(lf);
        return cairn__err(CAIRN_NOMEM, "open %s: out of memory", path);
    }
    do {
        lf->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    } while (lf->fd < 0 && errno == EINTR);
    if (lf->fd < 0) {
        int rc = cairn__err_errno(errno, "open", path);
        free(lf->path);
        free(lf);
        return rc;
    }
    lf->base.ops = &log_file_ops;
    int rc = zero_fill_len > 0 ? zero_fill(lf, zero_fill_len) : 0;
    if (rc == 0)
        rc = map_chunk(lf, 0);
    if (rc != 0) {
        /* No fallocate here (or no mapping): the caller falls back to a
         * plain file. */
        int e = lf->last_errno;
        (void)lf_close(&lf->base);
        if (e == EOPNOTSUPP || e == ENOSYS || e == EINVAL || e == ENODEV)
            return cairn__err(CAIRN_NOTSUP, "%s: cannot map the log", path);
        return rc;
    }
    /* Fault in the first pages now (unless zero-filled): a spare log is
     * opened by the flushing thread, and the first huge page (0.6-4 ms
     * here) is then off the write path. */
    prefault(lf);
    *out = &lf->base;
    return 0;
}
