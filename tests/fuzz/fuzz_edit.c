/*
 * fuzz_edit.c: libFuzzer target for the VersionEdit decoder
 * (src/version/edit.c), which reads every record of a MANIFEST.
 *
 * Each input is decoded as one edit. Decoding must give 0 or
 * CAIRN_CORRUPTION and nothing else, and a failed decode leaves the edit
 * empty. When it succeeds, the edit is encoded, decoded again and encoded
 * again: the two encodings must be identical (encoding is canonical, so a
 * field lost or altered by the decoder shows up as a difference), and the
 * second decode must agree with the first on every scalar and list length.
 * The debug string is produced too, since tools print damaged MANIFESTs.
 *
 * Build and run (clang), where $UTIL lists every .c file in src/util:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iinclude -Isrc $UTIL src/version/edit.c \
 *     tests/fuzz/fuzz_edit.c -o fuzz_edit && ./fuzz_edit -max_total_time=60
 * With -DCAIRN_FUZZ_STANDALONE any C compiler builds a driver that runs the
 * files named on its command line once each.
 */
#include "version/edit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_edit: %s:%d: %s\n", __FILE__, __LINE__,      \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void same_edit(const cairn__edit *a, const cairn__edit *b)
{
    CHECK(a->has_comparator == b->has_comparator);
    CHECK(a->comparator.len == b->comparator.len);
    CHECK(a->comparator.len == 0 ||
          memcmp(a->comparator.data, b->comparator.data, a->comparator.len) ==
              0);
    CHECK(a->has_log_number == b->has_log_number &&
          a->log_number == b->log_number);
    CHECK(a->has_prev_log_number == b->has_prev_log_number &&
          a->prev_log_number == b->prev_log_number);
    CHECK(a->has_next_file == b->has_next_file && a->next_file == b->next_file);
    CHECK(a->has_last_seq == b->has_last_seq && a->last_seq == b->last_seq);
    CHECK(a->npointers == b->npointers);
    CHECK(a->ndeleted == b->ndeleted);
    CHECK(a->nfiles == b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        CHECK(a->files[i].level == b->files[i].level);
        CHECK(a->files[i].level >= 0 && a->files[i].level < CAIRN__NUM_LEVELS);
        CHECK(a->files[i].meta.number == b->files[i].meta.number);
        CHECK(a->files[i].meta.file_size == b->files[i].meta.file_size);
        CHECK(a->files[i].meta.smallest.len >= 8);
        CHECK(a->files[i].meta.largest.len >= 8);
    }
    for (size_t i = 0; i < a->ndeleted; i++) {
        CHECK(a->deleted[i].level == b->deleted[i].level);
        CHECK(a->deleted[i].number == b->deleted[i].number);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cairn__edit e, d;
    cairn__buf enc1 = CAIRN__BUF_INIT, enc2 = CAIRN__BUF_INIT;
    cairn__buf dbg = CAIRN__BUF_INIT;
    cairn__edit_init(&e);
    cairn__edit_init(&d);

    int rc = cairn__edit_decode(&e, cairn__slice_make(data, size));
    CHECK(rc == 0 || rc == CAIRN_CORRUPTION || rc == CAIRN_NOMEM);
    if (rc == CAIRN_CORRUPTION) {
        CHECK(strstr(cairn__errmsg_get(), "VersionEdit: ") != NULL);
        CHECK(!e.has_comparator && !e.has_log_number && e.nfiles == 0 &&
              e.ndeleted == 0 && e.npointers == 0);
    }
    if (rc == 0 && cairn__edit_encode(&e, &enc1) == 0) {
        CHECK(cairn__edit_decode(&d, cairn__buf_slice(&enc1)) == 0);
        same_edit(&e, &d);
        if (cairn__edit_encode(&d, &enc2) == 0) {
            CHECK(enc1.len == enc2.len);
            CHECK(enc1.len == 0 || memcmp(enc1.data, enc2.data, enc1.len) == 0);
        }
        /* Canonical form is never longer than the input: decoding can only
         * drop repeated fields and duplicate deletions. */
        CHECK(enc1.len <= size);
        rc = cairn__edit_debug_string(&d, &dbg);
        CHECK(rc == 0 || rc == CAIRN_NOMEM);
    }
    cairn__buf_fini(&dbg);
    cairn__buf_fini(&enc1);
    cairn__buf_fini(&enc2);
    cairn__edit_fini(&e);
    cairn__edit_fini(&d);
    return 0;
}

#ifdef CAIRN_FUZZ_STANDALONE
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
