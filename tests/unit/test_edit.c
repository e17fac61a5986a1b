/*
 * test_edit.c: VersionEdit encoding and decoding (src/version/edit.c).
 *
 * Checks LevelDB 1.23's version_edit_test round trip (numbers around 2^50
 * and every field), the exact NewDB MANIFEST record of the shared facts'
 * Appendix A, the fixed field order and the sorted set of deleted files,
 * each decode error LevelDB reports (unknown tag, level >= 7, truncated
 * field, trailing garbage), and a damage sweep in which every truncation
 * and every single-bit or whole-byte flip of a full encoding must decode
 * cleanly or give CAIRN_CORRUPTION, never crash (ASan gives this teeth).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "util/coding.h"
#include "util/ikey.h"
#include "version/edit.h"

#include <stdlib.h>
#include <string.h>

/* An internal key "user@seq:type" in a buffer the caller frees. */
static cairn__buf ikey(const char *user, uint64_t seq, int type)
{
    cairn__buf b = CAIRN__BUF_INIT;
    assert_int_equal(cairn__ikey_append(&b, cairn__slice_str(user), seq, type),
                     0);
    return b;
}

static void msg_has(const char *what)
{
    const char *m = cairn__errmsg_get();
    if (strstr(m, what) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", m, what);
}

/* Fills e with LevelDB's version_edit_test edit: every field type, numbers
 * near 2^50 so that every varint is long. */
static void fill_big(cairn__edit *e)
{
    const uint64_t big = UINT64_C(1) << 50;
    for (int i = 0; i < 4; i++) {
        cairn__buf s = ikey("foo", big + 500 + (uint64_t)i, CAIRN__TYPE_VALUE);
        cairn__buf l =
            ikey("zoo", big + 600 + (uint64_t)i, CAIRN__TYPE_DELETION);
        cairn__buf x = ikey("x", big + 900 + (uint64_t)i, CAIRN__TYPE_VALUE);
        assert_int_equal(cairn__edit_add_file(e, 3, big + 300 + (uint64_t)i,
                                              big + 400 + (uint64_t)i,
                                              cairn__buf_slice(&s),
                                              cairn__buf_slice(&l)),
                         0);
        assert_int_equal(cairn__edit_delete_file(e, 4, big + 700 + (uint64_t)i),
                         0);
        assert_int_equal(cairn__edit_add_pointer(e, i, cairn__buf_slice(&x)),
                         0);
        cairn__buf_fini(&s);
        cairn__buf_fini(&l);
        cairn__buf_fini(&x);
    }
    assert_int_equal(cairn__edit_set_comparator(e, "foo"), 0);
    cairn__edit_set_log_number(e, big + 100);
    cairn__edit_set_next_file(e, big + 200);
    cairn__edit_set_last_seq(e, big + 1000);
    cairn__edit_set_prev_log_number(e, big + 50);
}

static void encode(const cairn__edit *e, cairn__buf *out)
{
    cairn__buf_clear(out);
    assert_int_equal(cairn__edit_encode(e, out), 0);
}

/* ---------------------------------------------------------------------- */

static void test_round_trip_big(void **state)
{
    (void)state;
    const uint64_t big = UINT64_C(1) << 50;
    cairn__edit e, d;
    cairn__edit_init(&e);
    cairn__edit_init(&d);
    fill_big(&e);
    cairn__buf enc = CAIRN__BUF_INIT, enc2 = CAIRN__BUF_INIT;
    encode(&e, &enc);
    assert_int_equal(cairn__edit_decode(&d, cairn__buf_slice(&enc)), 0);
    encode(&d, &enc2);
    assert_int_equal(enc.len, enc2.len);
    assert_memory_equal(enc.data, enc2.data, enc.len);

    /* And field by field, so that a symmetric encode/decode bug that loses
     * a field cannot pass. */
    assert_true(d.has_comparator && d.has_log_number && d.has_prev_log_number &&
                d.has_next_file && d.has_last_seq);
    assert_int_equal(d.comparator.len, 3);
    assert_memory_equal(d.comparator.data, "foo", 3);
    assert_string_equal(d.comparator.data, "foo");
    assert_true(d.log_number == big + 100);
    assert_true(d.prev_log_number == big + 50);
    assert_true(d.next_file == big + 200);
    assert_true(d.last_seq == big + 1000);
    assert_int_equal(d.nfiles, 4);
    assert_int_equal(d.ndeleted, 4);
    assert_int_equal(d.npointers, 4);
    for (int i = 0; i < 4; i++) {
        const cairn__edit_file *f = &d.files[i];
        assert_int_equal(f->level, 3);
        assert_true(f->meta.number == big + 300 + (uint64_t)i);
        assert_true(f->meta.file_size == big + 400 + (uint64_t)i);
        cairn__pikey pk = {{NULL, 0}, 0, 0};
        assert_true(
            cairn__ikey_parse(cairn__buf_slice(&f->meta.smallest), &pk));
        assert_true(cairn__slice_equal(pk.user_key, cairn__slice_str("foo")));
        assert_true(pk.seq == big + 500 + (uint64_t)i);
        assert_int_equal(pk.type, CAIRN__TYPE_VALUE);
        assert_true(cairn__ikey_parse(cairn__buf_slice(&f->meta.largest), &pk));
        assert_true(cairn__slice_equal(pk.user_key, cairn__slice_str("zoo")));
        assert_true(pk.seq == big + 600 + (uint64_t)i);
        assert_int_equal(pk.type, CAIRN__TYPE_DELETION);
        assert_int_equal(d.deleted[i].level, 4);
        assert_true(d.deleted[i].number == big + 700 + (uint64_t)i);
        assert_int_equal(d.pointers[i].level, i);
        assert_true(
            cairn__ikey_parse(cairn__buf_slice(&d.pointers[i].key), &pk));
        assert_true(pk.seq == big + 900 + (uint64_t)i);
    }
    cairn__buf_fini(&enc);
    cairn__buf_fini(&enc2);
    cairn__edit_fini(&e);
    cairn__edit_fini(&d);
    cairn__edit_fini(NULL);
}

static void test_newdb_bytes(void **state)
{
    (void)state;
    static const char want[] = "\x01\x1a"
                               "leveldb.BytewiseComparator"
                               "\x02\x00"
                               "\x03\x02"
                               "\x04\x00";
    cairn__edit e;
    cairn__edit_init(&e);
    /* Set in a different order from the encoding's, on purpose. */
    cairn__edit_set_last_seq(&e, 0);
    cairn__edit_set_next_file(&e, 2);
    cairn__edit_set_log_number(&e, 0);
    assert_int_equal(cairn__edit_set_comparator(&e, CAIRN__COMPARATOR_NAME), 0);
    cairn__buf enc = CAIRN__BUF_INIT;
    encode(&e, &enc);
    assert_int_equal(enc.len, 34);
    assert_memory_equal(enc.data, want, 34);
    /* Appending keeps what the buffer held. */
    assert_int_equal(cairn__edit_encode(&e, &enc), 0);
    assert_int_equal(enc.len, 68);
    assert_memory_equal(enc.data + 34, want, 34);
    cairn__edit d;
    cairn__edit_init(&d);
    assert_int_equal(cairn__edit_decode(&d, cairn__slice_make(want, 34)), 0);
    assert_true(d.has_comparator && d.has_log_number && d.has_next_file &&
                d.has_last_seq);
    assert_false(d.has_prev_log_number);
    assert_string_equal(d.comparator.data, CAIRN__COMPARATOR_NAME);
    assert_true(d.log_number == 0 && d.next_file == 2 && d.last_seq == 0);
    assert_int_equal(d.nfiles + d.ndeleted + d.npointers, 0);
    cairn__buf_fini(&enc);
    cairn__edit_fini(&e);
    cairn__edit_fini(&d);
}

static void test_field_order(void **state)
{
    (void)state;
    cairn__edit e;
    cairn__edit_init(&e);
    cairn__buf k = ikey("k", 1, CAIRN__TYPE_VALUE);
    /* Lists first, scalars last, deletions out of order and repeated. */
    assert_int_equal(cairn__edit_add_file(&e, 1, 8, 100, cairn__buf_slice(&k),
                                          cairn__buf_slice(&k)),
                     0);
    assert_int_equal(cairn__edit_delete_file(&e, 2, 5), 0);
    assert_int_equal(cairn__edit_delete_file(&e, 1, 9), 0);
    assert_int_equal(cairn__edit_delete_file(&e, 2, 3), 0);
    assert_int_equal(cairn__edit_delete_file(&e, 1, 9), 0);
    assert_int_equal(e.ndeleted, 3);
    assert_int_equal(cairn__edit_add_pointer(&e, 6, cairn__buf_slice(&k)), 0);
    cairn__edit_set_last_seq(&e, 9);
    cairn__edit_set_next_file(&e, 7);
    cairn__edit_set_prev_log_number(&e, 4);
    cairn__edit_set_log_number(&e, 5);
    assert_int_equal(cairn__edit_set_comparator(&e, "c"), 0);
    cairn__buf enc = CAIRN__BUF_INIT;
    encode(&e, &enc);
    static const char want[] =
        "\x01\x01"
        "c"            /* comparator */
        "\x02\x05"     /* log number */
        "\x09\x04"     /* prev log number */
        "\x03\x07"     /* next file */
        "\x04\x09"     /* last sequence */
        "\x05\x06\x09" /* compact pointer L6, 9-byte key */
        "k\x01\x01\0\0\0\0\0\0"
        "\x06\x01\x09"         /* deleted (1, 9) */
        "\x06\x02\x03"         /* deleted (2, 3) */
        "\x06\x02\x05"         /* deleted (2, 5) */
        "\x07\x01\x08\x64\x09" /* new file L1 #8 100 bytes */
        "k\x01\x01\0\0\0\0\0\0"
        "\x09"
        "k\x01\x01\0\0\0\0\0\0";
    assert_int_equal(enc.len, sizeof want - 1);
    assert_memory_equal(enc.data, want, sizeof want - 1);
    cairn__buf_fini(&enc);
    cairn__buf_fini(&k);
    cairn__edit_fini(&e);
}

static void test_clear_and_reuse(void **state)
{
    (void)state;
    cairn__edit e;
    cairn__edit_init(&e);
    fill_big(&e);
    cairn__edit_clear(&e);
    assert_false(e.has_comparator || e.has_log_number ||
                 e.has_prev_log_number || e.has_next_file || e.has_last_seq);
    assert_int_equal(e.nfiles + e.ndeleted + e.npointers, 0);
    cairn__buf enc = CAIRN__BUF_INIT;
    encode(&e, &enc);
    assert_int_equal(enc.len, 0);
    /* An empty encoding decodes to an empty edit. */
    assert_int_equal(cairn__edit_decode(&e, cairn__slice_make("", 0)), 0);
    /* Many entries grow the lists past their first capacities. */
    cairn__buf k = ikey("key", 3, CAIRN__TYPE_VALUE);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(cairn__edit_add_file(&e, i % 7, (uint64_t)i, 1,
                                              cairn__buf_slice(&k),
                                              cairn__buf_slice(&k)),
                         0);
        assert_int_equal(cairn__edit_delete_file(&e, i % 7, (uint64_t)(99 - i)),
                         0);
        assert_int_equal(
            cairn__edit_add_pointer(&e, i % 7, cairn__buf_slice(&k)), 0);
    }
    assert_int_equal(e.nfiles, 100);
    assert_int_equal(e.ndeleted, 100);
    for (size_t i = 1; i < e.ndeleted; i++)
        assert_true(e.deleted[i - 1].level < e.deleted[i].level ||
                    (e.deleted[i - 1].level == e.deleted[i].level &&
                     e.deleted[i - 1].number < e.deleted[i].number));
    encode(&e, &enc);
    cairn__edit d;
    cairn__edit_init(&d);
    assert_int_equal(cairn__edit_decode(&d, cairn__buf_slice(&enc)), 0);
    assert_int_equal(d.nfiles, 100);
    assert_int_equal(d.ndeleted, 100);
    assert_int_equal(d.npointers, 100);
    for (int i = 0; i < 100; i++)
        assert_true(d.files[i].meta.number == (uint64_t)i);
    cairn__edit_fini(&d);
    cairn__buf_fini(&k);
    cairn__buf_fini(&enc);
    cairn__edit_fini(&e);
}

static void test_bad_levels_on_build(void **state)
{
    (void)state;
    cairn__edit e;
    cairn__edit_init(&e);
    cairn__buf k = ikey("k", 1, CAIRN__TYPE_VALUE);
    cairn__slice ks = cairn__buf_slice(&k);
    assert_int_equal(cairn__edit_add_file(&e, 7, 1, 1, ks, ks), CAIRN_INVALID);
    assert_int_equal(cairn__edit_add_file(&e, -1, 1, 1, ks, ks), CAIRN_INVALID);
    assert_int_equal(cairn__edit_delete_file(&e, 7, 1), CAIRN_INVALID);
    assert_int_equal(cairn__edit_add_pointer(&e, 7, ks), CAIRN_INVALID);
    msg_has("level 7");
    assert_int_equal(e.nfiles + e.ndeleted + e.npointers, 0);
    assert_int_equal(cairn__edit_add_file(&e, 6, 1, 1, ks, ks), 0);
    cairn__buf_fini(&k);
    cairn__edit_fini(&e);
}

/* ---------------------------------------------------------------------- */
/* Decode errors                                                            */

static void expect_corrupt(const char *bytes, size_t n, const char *what)
{
    cairn__edit e;
    cairn__edit_init(&e);
    /* Start from a full edit: a failed decode must leave it empty, not
     * half old and half new. */
    fill_big(&e);
    cairn__errmsg_clear();
    assert_int_equal(cairn__edit_decode(&e, cairn__slice_make(bytes, n)),
                     CAIRN_CORRUPTION);
    msg_has("VersionEdit: ");
    msg_has(what);
    assert_false(e.has_comparator || e.has_log_number || e.has_next_file);
    assert_int_equal(e.nfiles + e.ndeleted + e.npointers, 0);
    cairn__edit_fini(&e);
}

static void test_decode_errors(void **state)
{
    (void)state;
    /* Tag 8 (retired), tag 0, tag 10: unknown. */
    expect_corrupt("\x08\x00", 2, "unknown tag");
    expect_corrupt("\x00", 1, "unknown tag");
    expect_corrupt("\x0a\x00", 2, "unknown tag");
    expect_corrupt("\x02\x05\x08", 3, "unknown tag");
    /* Level 7 anywhere a level appears. */
    expect_corrupt("\x06\x07\x01", 3, "deleted file");
    expect_corrupt("\x05\x07\x08"
                   "k\x01\0\0\0\0\0\0",
                   11, "compaction pointer");
    expect_corrupt("\x07\x07\x01\x01\x09"
                   "k\x01\0\0\0\0\0\0\0\x09"
                   "k\x01\0\0\0\0\0\0\0",
                   24, "new-file entry");
    /* Truncated fields, each named. */
    expect_corrupt("\x01\x05"
                   "abc",
                   5, "comparator name");
    expect_corrupt("\x02", 1, "log number");
    expect_corrupt("\x02\x80", 2, "log number");
    expect_corrupt("\x09", 1, "previous log number");
    expect_corrupt("\x03\xff\xff", 3, "next file number");
    expect_corrupt("\x04", 1, "last sequence number");
    expect_corrupt("\x06\x01", 2, "deleted file");
    expect_corrupt("\x07\x01\x01\x01\x09"
                   "k\x01\0\0\0\0\0\0\0\x09"
                   "k\x01\0\0",
                   19, "new-file entry");
    /* An internal key too short to hold a tag. */
    expect_corrupt("\x05\x01\x03"
                   "abc",
                   6, "compaction pointer");
    expect_corrupt("\x07\x01\x01\x01\x00\x00", 6, "new-file entry");
    /* A varint64 over ten bytes. */
    expect_corrupt("\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12,
                   "log number");
    /* Trailing garbage: a tag that is not a complete varint. */
    expect_corrupt("\x02\x05\x80", 3, "invalid tag");
    expect_corrupt("\x02\x05\xff\xff\xff\xff\xff\x01", 8, "invalid tag");
    /* The location of the check is in the message. */
    expect_corrupt("\x08", 1, "edit.c:");
    /* Level 6 is the deepest and is fine. */
    cairn__edit e;
    cairn__edit_init(&e);
    assert_int_equal(
        cairn__edit_decode(&e, cairn__slice_make("\x06\x06\x01", 3)), 0);
    assert_int_equal(e.ndeleted, 1);
    assert_int_equal(e.deleted[0].level, 6);
    cairn__edit_fini(&e);
}

static void test_repeated_tags(void **state)
{
    (void)state;
    /* Scalars may repeat (the last wins); deletions, in any order, come out
     * sorted by (level, number) with duplicates collapsed. */
    static const char bytes[] = "\x02\x05\x02\x07"
                                "\x06\x02\x05\x06\x01\x09\x06\x02\x03"
                                "\x06\x01\x09\x06\x02\x05\x06\x01\x03"
                                "\x01\x01"
                                "a\x01\x01"
                                "b";
    cairn__edit e;
    cairn__edit_init(&e);
    assert_int_equal(
        cairn__edit_decode(&e, cairn__slice_make(bytes, sizeof bytes - 1)), 0);
    assert_true(e.log_number == 7);
    assert_string_equal(e.comparator.data, "b");
    static const int want[][2] = {{1, 3}, {1, 9}, {2, 3}, {2, 5}};
    assert_int_equal(e.ndeleted, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(e.deleted[i].level, want[i][0]);
        assert_true(e.deleted[i].number == (uint64_t)want[i][1]);
    }
    /* The set stays usable for later additions. */
    assert_int_equal(cairn__edit_delete_file(&e, 1, 5), 0);
    assert_int_equal(cairn__edit_delete_file(&e, 2, 3), 0);
    assert_int_equal(e.ndeleted, 5);
    assert_true(e.deleted[1].level == 1 && e.deleted[1].number == 5);
    cairn__edit_fini(&e);
}

static void test_debug_string(void **state)
{
    (void)state;
    cairn__edit e;
    cairn__edit_init(&e);
    assert_int_equal(cairn__edit_set_comparator(&e, CAIRN__COMPARATOR_NAME), 0);
    cairn__edit_set_log_number(&e, 12);
    cairn__edit_set_prev_log_number(&e, 11);
    cairn__edit_set_next_file(&e, 13);
    cairn__edit_set_last_seq(&e, 99);
    cairn__buf s = CAIRN__BUF_INIT, l = CAIRN__BUF_INIT;
    assert_int_equal(cairn__ikey_append(&s, cairn__slice_make("a\0b", 3), 5,
                                        CAIRN__TYPE_VALUE),
                     0);
    l = ikey("zz", 6, CAIRN__TYPE_DELETION);
    assert_int_equal(cairn__edit_add_file(&e, 2, 17, 4096, cairn__buf_slice(&s),
                                          cairn__buf_slice(&l)),
                     0);
    assert_int_equal(cairn__edit_delete_file(&e, 1, 3), 0);
    assert_int_equal(cairn__edit_add_pointer(&e, 0, cairn__buf_slice(&l)), 0);
    cairn__buf out = CAIRN__BUF_INIT;
    assert_int_equal(cairn__edit_debug_string(&e, &out), 0);
    assert_int_equal(cairn__buf_append(&out, "", 1), 0);
    const char *t = out.data;
    assert_non_null(strstr(t, "Comparator: 'leveldb.BytewiseComparator'\n"));
    assert_non_null(strstr(t, "LogNumber: 12\n"));
    assert_non_null(strstr(t, "PrevLogNumber: 11\n"));
    assert_non_null(strstr(t, "NextFile: 13\n"));
    assert_non_null(strstr(t, "LastSeq: 99\n"));
    assert_non_null(strstr(t, "CompactPointer: L0 'zz' @ 6 : deletion\n"));
    assert_non_null(strstr(t, "RemoveFile: L1 #3\n"));
    assert_non_null(strstr(t, "AddFile: L2 #17 4096 bytes 'a\\x00b' @ 5 : "
                              "value .. 'zz' @ 6 : deletion\n"));
    assert_true(strncmp(t, "VersionEdit {\n", 14) == 0);
    assert_string_equal(t + strlen(t) - 2, "}\n");
    cairn__buf_fini(&out);
    cairn__buf_fini(&s);
    cairn__buf_fini(&l);
    cairn__edit_fini(&e);
}

/* ---------------------------------------------------------------------- */
/* Damage sweep                                                             */

/* Decodes len bytes from a private exact-size copy (so ASan sees any read
 * past the end). If they decode, encoding and decoding again is stable. */
static int check_damaged(const char *p, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, p, len);
    cairn__edit e;
    cairn__edit_init(&e);
    int rc = cairn__edit_decode(&e, cairn__slice_make(copy, len));
    assert_true(rc == 0 || rc == CAIRN_CORRUPTION);
    if (rc == 0) {
        cairn__buf a = CAIRN__BUF_INIT, b = CAIRN__BUF_INIT;
        cairn__edit d;
        cairn__edit_init(&d);
        encode(&e, &a);
        assert_int_equal(cairn__edit_decode(&d, cairn__buf_slice(&a)), 0);
        encode(&d, &b);
        assert_int_equal(a.len, b.len);
        if (a.len > 0)
            assert_memory_equal(a.data, b.data, a.len);
        cairn__buf dbg = CAIRN__BUF_INIT;
        assert_int_equal(cairn__edit_debug_string(&d, &dbg), 0);
        cairn__buf_fini(&dbg);
        cairn__edit_fini(&d);
        cairn__buf_fini(&a);
        cairn__buf_fini(&b);
    }
    cairn__edit_fini(&e);
    free(copy);
    return rc;
}

static void test_damage(void **state)
{
    (void)state;
    cairn__edit e;
    cairn__edit_init(&e);
    fill_big(&e);
    cairn__buf enc = CAIRN__BUF_INIT;
    encode(&e, &enc);
    cairn__edit_fini(&e);
    const char *p = enc.data;
    size_t len = enc.len;
    int ok = 0, bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        if (check_damaged(p, cut) == 0)
            ok++;
        else
            bad++;
    }
    /* Cuts at field boundaries decode (a shorter edit), the rest do not. */
    assert_true(ok > 1);
    assert_true(bad > 1);
    assert_int_equal(check_damaged(p, len), 0);
    char *work = malloc(len);
    assert_non_null(work);
    ok = bad = 0;
    static const unsigned char masks[] = {0x01, 0x02, 0x04, 0x08, 0x10,
                                          0x20, 0x40, 0x80, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(work, p, len);
            work[i] = (char)(work[i] ^ masks[m]);
            if (check_damaged(work, len) == 0)
                ok++;
            else
                bad++;
        }
    }
    assert_true(ok > 0);
    assert_true(bad > 0);
    free(work);
    cairn__buf_fini(&enc);
}

static void test_random_bytes(void **state)
{
    (void)state;
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("edit_random_bytes"));
    /* Random bytes drawn mostly from the valid tags and small numbers so
     * that decoding gets deep, not just refused at the first byte. */
    char buf[64];
    int rounds = (int)(20000 * tu_scale()) + 10;
    for (int r = 0; r < rounds; r++) {
        size_t n = (size_t)tu_rng_uniform(&rng, sizeof buf + 1);
        for (size_t i = 0; i < n; i++)
            buf[i] = tu_rng_uniform(&rng, 2) ? (char)tu_rng_uniform(&rng, 12)
                                             : (char)tu_rng_next(&rng);
        check_damaged(buf, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_big),
        cmocka_unit_test(test_newdb_bytes),
        cmocka_unit_test(test_field_order),
        cmocka_unit_test(test_clear_and_reuse),
        cmocka_unit_test(test_bad_levels_on_build),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_repeated_tags),
        cmocka_unit_test(test_debug_string),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
