/*
 * test_mmap_reads.c: tables read through a memory mapping (mmap_reads 1,
 * the default) and through pread (0) on the POSIX env: the mapping is
 * really used (or not), both give the same answers, and a damaged table
 * gives the same CAIRN_CORRUPTION either way, with nothing crashing.
 */
#include "cairn.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 4000

static void key_of(int i, char *k, size_t *klen)
{
    *klen = (size_t)snprintf(k, 32, "key%08d", i * 7919 % 100000);
}

static void value_of(int i, char *v, size_t *vlen)
{
    *vlen = (size_t)snprintf(v, 128, "value-%d-%0*d", i, 60 + i % 40, i);
}

static cairn_db *open_db(const char *dir, int mmap_reads, int create)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    assert_int_equal(cairn_options_set_create_if_missing(o, create), 0);
    assert_int_equal(cairn_options_set_write_buffer_size(o, 64 * 1024), 0);
    assert_int_equal(cairn_options_set_mmap_reads(o, mmap_reads), 0);
    cairn_db *db = NULL;
    int rc = cairn_db_open(o, dir, &db);
    if (rc != 0)
        fail_msg("open: %s", cairn_errmsg());
    cairn_options_destroy(o);
    return db;
}

/* 1 if a table file of dir is mapped into this process. */
static int tables_mapped(const char *dir)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[8192];
    int found = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, dir) != NULL && strstr(line, ".ldb") != NULL)
            found = 1;
    fclose(f);
    return found;
}

static void fill(const char *dir)
{
    cairn_db *db = open_db(dir, 1, 1);
    for (int i = 0; i < NKEYS; i++) {
        char k[32], v[128];
        size_t kl, vl;
        key_of(i, k, &kl);
        value_of(i, v, &vl);
        assert_int_equal(cairn_db_put(db, NULL, k, kl, v, vl), 0);
    }
    assert_int_equal(cairn_db_compact_range(db, NULL, 0, NULL, 0), 0);
    assert_int_equal(cairn_db_close(db), 0);
}

/* What a database answers: each key's get status, and the scan's length
 * and final status. */
typedef struct answers {
    int get_rc[NKEYS];
    int scanned;
    int scan_rc;
} answers;

static void read_all(const char *dir, int mmap_reads, answers *a)
{
    cairn_db *db = open_db(dir, mmap_reads, 0);
    cairn_readoptions *ro = cairn_readoptions_create();
    assert_non_null(ro);
    assert_int_equal(cairn_readoptions_set_verify_checksums(ro, 1), 0);
    for (int i = 0; i < NKEYS; i++) {
        char k[32], v[128];
        size_t kl, vl;
        key_of(i, k, &kl);
        value_of(i, v, &vl);
        void *got = NULL;
        size_t glen = 0;
        a->get_rc[i] = cairn_db_get(db, ro, k, kl, &got, &glen);
        assert_true(a->get_rc[i] == 0 || a->get_rc[i] == CAIRN_CORRUPTION);
        if (a->get_rc[i] == 0) {
            assert_int_equal(glen, vl);
            assert_memory_equal(got, v, vl);
        } else {
            assert_non_null(strstr(cairn_errmsg(), ".ldb"));
        }
        cairn_free(got);
    }
    assert_int_equal(tables_mapped(dir), mmap_reads);
    cairn_iter *it = cairn_db_iter_create(db, ro);
    assert_non_null(it);
    a->scanned = 0;
    for (cairn_iter_seek_first(it); cairn_iter_valid(it); cairn_iter_next(it))
        a->scanned++;
    a->scan_rc = cairn_iter_status(it);
    cairn_iter_destroy(it);
    cairn_readoptions_destroy(ro);
    assert_int_equal(cairn_db_close(db), 0);
}

/* Flips one byte at offset off of the first table file of dir. */
static void damage_table(const char *dir, long off)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char path[4200] = {0};
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".ldb") != NULL) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            break;
        }
    closedir(d);
    assert_true(path[0] != '\0');
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fputc(c ^ 0x20, f), c ^ 0x20);
    assert_int_equal(fclose(f), 0);
}

static void test_same_answers(void **state)
{
    (void)state;
    char *dir = tu_tempdir("mmapreads");
    fill(dir);
    static answers m, p;
    read_all(dir, 1, &m);
    read_all(dir, 0, &p);
    for (int i = 0; i < NKEYS; i++) {
        assert_int_equal(m.get_rc[i], 0);
        assert_int_equal(p.get_rc[i], 0);
    }
    assert_int_equal(m.scanned, NKEYS);
    assert_int_equal(p.scanned, NKEYS);
    assert_int_equal(m.scan_rc, 0);
    assert_int_equal(p.scan_rc, 0);

    /* A flipped byte in the first data block: the same corruption both
     * ways, for the keys in that block and for the scan. */
    damage_table(dir, 100);
    read_all(dir, 1, &m);
    read_all(dir, 0, &p);
    int bad = 0;
    for (int i = 0; i < NKEYS; i++) {
        assert_int_equal(m.get_rc[i], p.get_rc[i]);
        bad += m.get_rc[i] != 0;
    }
    assert_true(bad > 0 && bad < NKEYS);
    assert_int_equal(m.scan_rc, CAIRN_CORRUPTION);
    assert_int_equal(p.scan_rc, CAIRN_CORRUPTION);
    assert_int_equal(m.scanned, p.scanned);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
