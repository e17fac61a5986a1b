/*
 * test_env_posix_log.c: the POSIX env's memory-mapped log file
 * (src/env/env_posix_log.c): records written through it read back exactly
 * with LevelDB's reader rules; a process that dies without closing leaves
 * a zero tail that the reader skips silently (no damage reported), and a
 * database whose writer was killed reopens under paranoid checks with
 * every acknowledged write; seal, then appends, read back the same; a log
 * opened with zero_fill has its blocks written (no unwritten extents) and
 * zeros, yet starts empty.
 */
#include "env/env.h"
#include "wal/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int damage_reports;

static void count_damage(void *ctx, uint64_t offset, size_t bytes,
                         const char *reason)
{
    (void)ctx;
    (void)offset;
    (void)bytes;
    (void)reason;
    damage_reports++;
}

static void make_record(char *buf, size_t n, int i)
{
    for (size_t k = 0; k < n; k++)
        buf[k] = (char)('a' + (i + (int)k) % 26);
}

static size_t record_len(int i)
{
    return (size_t)(i * 37 % 5000) + 1;
}

/* Opens path as a log through the default env, with a writer on it. */
static cairn__file *open_log_writer(const char *path, cairn__log_writer *w)
{
    cairn__file *f;
    assert_int_equal(cairn__env_open_log(cairn_env_default(), path, 0, &f), 0);
    cairn__log_writer_init(w, f, 0);
    return f;
}

/* Writes nrec records to path through the env's log file, syncing after
 * every sync_every-th (0: never); closes it only if close_it (a child that
 * exits without closing leaves the zero tail). */
static void write_records_sync(const char *path, int nrec, int close_it,
                               int sync_every)
{
    cairn__log_writer w;
    cairn__file *f = open_log_writer(path, &w);
    char *buf = malloc(5001);
    for (int i = 0; i < nrec; i++) {
        make_record(buf, record_len(i), i);
        assert_int_equal(cairn__log_add_record(&w, buf, record_len(i)), 0);
        if (sync_every > 0 && i % sync_every == sync_every - 1)
            assert_int_equal(cairn__file_sync(f), 0);
    }
    free(buf);
    if (close_it)
        assert_int_equal(cairn__file_close(f), 0);
    else
        _exit(0); /* no close: the mapping's zero tail stays */
}

static void write_records(const char *path, int nrec, int close_it)
{
    write_records_sync(path, nrec, close_it, 0);
}

static void read_back(const char *path, int nrec)
{
    cairn_env *env = cairn_env_default();
    cairn__file *f;
    assert_int_equal(env->ops->open_read(env, path, &f), 0);
    cairn__log_reader r;
    damage_reports = 0;
    assert_int_equal(cairn__log_reader_init(&r, f, count_damage, NULL, 1, 0),
                     0);
    char *want = malloc(5001);
    int i = 0;
    cairn__slice rec;
    while (cairn__log_read_record(&r, &rec) == 1) {
        assert_true(i < nrec);
        make_record(want, record_len(i), i);
        assert_int_equal(rec.size, record_len(i));
        assert_memory_equal(rec.data, want, rec.size);
        i++;
    }
    assert_int_equal(i, nrec);
    assert_int_equal(damage_reports, 0);
    free(want);
    cairn__log_reader_fini(&r);
    assert_int_equal(cairn__file_close(f), 0);
}

static void test_clean_close_exact_size(void **state)
{
    (void)state;
    char *dir = tu_tempdir("plog");
    char path[4200];
    snprintf(path, sizeof path, "%s/000001.log", dir);
    /* Enough to cross several 1 MiB chunks. */
    write_records(path, 2000, 1);
    read_back(path, 2000);
    /* A closed log has no zero tail: its size is what was written. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size % (1 << 20) != 0);
    tu_rmtree(dir);
    free(dir);
}

static void test_exit_without_close(void **state)
{
    (void)state;
    char *dir = tu_tempdir("plog");
    char path[4200];
    snprintf(path, sizeof path, "%s/000002.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        write_records(path, 1500, 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The file still ends in preallocated zeros ... */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size % (1 << 20), 0);
    /* ... which the reader skips without reporting damage. */
    read_back(path, 1500);
    tu_rmtree(dir);
    free(dir);
}

/* Until its first sync the file's pages are prefaulted ahead of the data
 * (env_posix_log.c); after it they are not. Records written before,
 * across and after the change read back exactly, from a closed file and
 * from one whose writer exited without closing (its prefaulted pages past
 * the data must read as the zero tail). */
static void test_sync_midway(void **state)
{
    (void)state;
    char *dir = tu_tempdir("plog");
    char path[4200];
    snprintf(path, sizeof path, "%s/000003.log", dir);
    write_records_sync(path, 1200, 1, 700);
    read_back(path, 1200);
    snprintf(path, sizeof path, "%s/000004.log", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        write_records_sync(path, 900, 0, 500);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    read_back(path, 900);
    /* Syncs from the first record on: never prefaulted. */
    snprintf(path, sizeof path, "%s/000005.log", dir);
    write_records_sync(path, 300, 1, 1);
    read_back(path, 300);
    tu_rmtree(dir);
    free(dir);
}

/* Kilobytes of path's pages this process maps with huge pages
 * (FilePmdMapped in /proc/self/smaps, summed over path's mappings), or
 * -1 if the kernel does not report it. *mapped says whether path is
 * mapped at all. */
static long huge_kb(const char *path, int *mapped)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL)
        return -1;
    char line[4400];
    int in = 0, seen_key = 0;
    long kb = 0;
    *mapped = 0;
    size_t plen = strlen(path);
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        unsigned long lo, hi;
        char perms[8];
        long v;
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3) {
            /* A mapping's header: "start-end perms offset dev inode path". */
            in = n >= plen && strcmp(line + n - plen, path) == 0;
            if (in)
                *mapped = 1;
        } else if (sscanf(line, "FilePmdMapped: %ld kB", &v) == 1) {
            seen_key = 1;
            if (in)
                kb += v;
        }
    }
    fclose(f);
    return seen_key ? kb : -1;
}

/* Until its first sync the file is mapped asking for huge pages; from the
 * first sync on, no huge page of it stays mapped (each sync would write
 * the whole 2 MiB back): the rest of that chunk is written through
 * pwrite and the next chunk is mapped with small pages. Where the kernel
 * grants no huge pages for this file system only the second half can be
 * checked; either way every record reads back. */
static void test_huge_pages_until_first_sync(void **state)
{
    (void)state;
    char *dir = tu_tempdir("plog");
    char path[4200];
    snprintf(path, sizeof path, "%s/000007.log", dir);
    cairn__log_writer w;
    cairn__file *f = open_log_writer(path, &w);
    char *buf = malloc(5001);
    int i = 0;
    uint64_t size = 0;
    for (; size < ((uint64_t)1 << 20); i++) {
        make_record(buf, record_len(i), i);
        assert_int_equal(cairn__log_add_record(&w, buf, record_len(i)), 0);
        assert_int_equal(cairn__file_size(f, &size), 0);
    }
    int mapped;
    long before = huge_kb(path, &mapped);
    assert_true(mapped);
    if (before <= 0)
        print_message("no huge pages granted for %s here (FilePmdMapped "
                      "%ld); checking the synced half only\n",
                      dir, before);
    assert_int_equal(cairn__file_sync(f), 0);
    /* The rest of the first chunk, then well into the second. */
    for (; size < ((uint64_t)3 << 20); i++) {
        make_record(buf, record_len(i), i);
        assert_int_equal(cairn__log_add_record(&w, buf, record_len(i)), 0);
        assert_int_equal(cairn__file_size(f, &size), 0);
        if (size < ((uint64_t)2 << 20) - 8192) {
            long kb = huge_kb(path, &mapped);
            assert_true(kb <= 0);
        }
    }
    long after = huge_kb(path, &mapped);
    assert_true(mapped); /* the second chunk, mapped again */
    assert_true(after <= 0);
    assert_int_equal(cairn__file_sync(f), 0);
    free(buf);
    assert_int_equal(cairn__file_close(f), 0);
    read_back(path, i);
    tu_rmtree(dir);
    free(dir);
}

/* seal (the hint a memtable switch gives before syncing the old log)
 * unmaps the chunk being written; the data stays, a sync after it works,
 * and an append after it maps the chunk again where it left off, in the
 * middle of a chunk as well as at its start. */
static void test_seal(void **state)
{
    (void)state;
    char *dir = tu_tempdir("plog");
    char path[4200];
    snprintf(path, sizeof path, "%s/000006.log", dir);
    cairn__log_writer w;
    cairn__file *f = open_log_writer(path, &w);
    assert_non_null(f->ops->seal);
    char *buf = malloc(5001);
    for (int i = 0; i < 1100; i++) {
        make_record(buf, record_len(i), i);
        assert_int_equal(cairn__log_add_record(&w, buf, record_len(i)), 0);
        if (i % 97 == 0) {
            cairn__file_seal(f);
            if (i % 2 == 0)
                assert_int_equal(cairn__file_sync(f), 0);
        }
    }
    cairn__file_seal(f);
    assert_int_equal(cairn__file_sync(f), 0);
    cairn__file_seal(f); /* twice: nothing left to unmap */
    free(buf);
    assert_int_equal(cairn__file_close(f), 0);
    read_back(path, 1100);
    tu_rmtree(dir);
    free(dir);
}

/* Bytes of [0, len) that the file system holds as allocated but never
 * written (FIEMAP_EXTENT_UNWRITTEN, as fallocate leaves them), from the
 * extents on disk; -1 where FIEMAP is not answered (tmpfs, for one). */
static long long unwritten_bytes(const char *path, uint64_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct fiemap *fm =
        calloc(1, sizeof *fm + 256 * sizeof(struct fiemap_extent));
    assert_non_null(fm);
    fm->fm_start = 0;
    fm->fm_length = len;
    fm->fm_extent_count = 256;
    int rc = ioctl(fd, FS_IOC_FIEMAP, fm);
    close(fd);
    if (rc != 0) {
        free(fm);
        return -1;
    }
    long long n = 0;
    for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
        const struct fiemap_extent *e = &fm->fm_extents[i];
        if (!(e->fe_flags & FIEMAP_EXTENT_UNWRITTEN) || e->fe_logical >= len)
            continue;
        uint64_t end = e->fe_logical + e->fe_length;
        n += (long long)((end < len ? end : len) - e->fe_logical);
    }
    free(fm);
    return n;
}

/* A log opened with zero_fill: empty, its first zero_fill bytes (rounded
 * up to whole chunks) allocated, written with zeros and synced, so none of
 * them is an unwritten extent any more; records then written over them
 * read back, and a clean close trims the zeros. A log opened without it,
 * on the same file system, does hold unwritten blocks: the check can
 * fail. */
static void test_zero_fill(void **state)
{
    (void)state;
    char *dir = tu_tempdir("plogzf");
    char plain[4200], filled[4200];
    snprintf(plain, sizeof plain, "%s/000001.log", dir);
    snprintf(filled, sizeof filled, "%s/000002.log", dir);
    const uint64_t len = (uint64_t)3 << 20, rounded = (uint64_t)4 << 20;
    cairn_env *env = cairn_env_default();

    cairn__file *f;
    assert_int_equal(cairn__env_open_log(env, plain, 0, &f), 0);
    long long plain_unwritten = unwritten_bytes(plain, (uint64_t)2 << 20);
    assert_int_equal(cairn__file_close(f), 0);

    assert_int_equal(cairn__env_open_log(env, filled, len, &f), 0);
    uint64_t size = 1;
    assert_int_equal(cairn__file_size(f, &size), 0);
    assert_int_equal(size, 0);
    struct stat st;
    assert_int_equal(stat(filled, &st), 0);
    assert_int_equal((uint64_t)st.st_size, rounded);
    assert_true((uint64_t)st.st_blocks * 512 >= rounded);
    if (plain_unwritten < 0) {
        print_message("FIEMAP not answered here: extents not checked\n");
    } else if (plain_unwritten == 0) {
        print_message("no unwritten extents on this file system: not "
                      "checked\n");
    } else {
        assert_int_equal(unwritten_bytes(filled, rounded), 0);
    }
    char *zeros = calloc(1, rounded), *got = malloc(rounded);
    assert_non_null(zeros);
    assert_non_null(got);
    int fd = open(filled, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, got, rounded, 0), (ssize_t)rounded);
    close(fd);
    assert_memory_equal(got, zeros, rounded);
    free(zeros);
    free(got);

    /* Records over the zeros, synced now and then, past the filled part
     * (5 MiB of records): they read back, and the close trims to them. */
    cairn__log_writer w;
    cairn__log_writer_init(&w, f, 0);
    char *buf = malloc(5001);
    int nrec = 2100;
    for (int i = 0; i < nrec; i++) {
        make_record(buf, record_len(i), i);
        assert_int_equal(cairn__log_add_record(&w, buf, record_len(i)), 0);
        if (i % 100 == 99)
            assert_int_equal(cairn__file_sync(f), 0);
    }
    free(buf);
    assert_int_equal(cairn__file_size(f, &size), 0);
    assert_true(size > rounded);
    assert_int_equal(cairn__file_close(f), 0);
    assert_int_equal(stat(filled, &st), 0);
    assert_int_equal((uint64_t)st.st_size, size);
    read_back(filled, nrec);
    tu_rmtree(dir);
    free(dir);
}

/* The killed writer of test_killed_db_reopens_paranoid: non-sync puts,
 * each reported once acknowledged. */
static void plain_writer(int ack_fd, void *arg)
{
    const char *path = arg;
    cairn_options *o = cairn_options_create();
    cairn_options_set_create_if_missing(o, 1);
    cairn_db *db;
    if (cairn_db_open(o, path, &db) != 0)
        _exit(3);
    for (int i = 0;; i++) {
        char k[32], v[64];
        int kl = snprintf(k, sizeof k, "k%08d", i);
        int vl = snprintf(v, sizeof v, "v%d", i);
        if (cairn_db_put(db, NULL, k, (size_t)kl, v, (size_t)vl) != 0)
            _exit(4);
        if (write(ack_fd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(5);
    }
}

/* A killed writer's database reopens under paranoid checks with every
 * acknowledged write (the child reports acknowledgements through a pipe). */
static void test_killed_db_reopens_paranoid(void **state)
{
    (void)state;
    char *dir = tu_tempdir("plogdb");
    char path[4200];
    snprintf(path, sizeof path, "%s/db", dir);
    int killed;
    int last = tu_kill_writer(plain_writer, path, 3001, &killed);
    assert_true(killed);
    cairn_options *o = cairn_options_create();
    cairn_options_set_paranoid_checks(o, 1);
    cairn_db *db;
    assert_int_equal(cairn_db_open(o, path, &db), 0);
    for (int k = 0; k <= last; k++) {
        char key[32], v[64];
        int kl = snprintf(key, sizeof key, "k%08d", k);
        int vl = snprintf(v, sizeof v, "v%d", k);
        void *got;
        size_t n;
        assert_int_equal(cairn_db_get(db, NULL, key, (size_t)kl, &got, &n), 0);
        assert_int_equal(n, (size_t)vl);
        assert_memory_equal(got, v, n);
        cairn_free(got);
    }
    assert_int_equal(cairn_db_close(db), 0);
    cairn_options_destroy(o);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_close_exact_size),
        cmocka_unit_test(test_exit_without_close),
        cmocka_unit_test(test_sync_midway),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_huge_pages_until_first_sync),
        cmocka_unit_test(test_killed_db_reopens_paranoid),
        cmocka_unit_test(test_zero_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
