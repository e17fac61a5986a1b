/*
 * fuzz_batch.c: libFuzzer target for the WriteBatch decoder (src/db/batch.c),
 * which reads bytes straight from WAL records on disk.
 *
 * Every input is treated as a batch rep. The properties checked are those
 * batch.c promises (its invariants B1-B3):
 *  - validate and iterate agree, and return 0 or CAIRN_CORRUPTION only;
 *  - a valid rep walks exactly its header count of entries, every key and
 *    value lying inside the input;
 *  - set_data accepts exactly the valid reps, copies them byte for byte, and
 *    leaves the batch unchanged otherwise;
 *  - appending a valid batch to itself gives a valid batch of twice the
 *    count with the same walk repeated.
 * Reads outside the input are for the sanitizer to catch; a broken property
 * aborts.
 *
 * Build and run (clang), where $UTIL lists every .c file in src/util:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iinclude -Isrc $UTIL src/db/batch.c src/mem/memtable.c
 * src/mem/skiplist.c \
 *     src/iter/empty.c \
 *     tests/fuzz/fuzz_batch.c -o fuzz_batch && ./fuzz_batch -max_total_time=60
 * With -DCAIRN_FUZZ_STANDALONE any C compiler builds a driver that runs the
 * files named on its command line once each (to replay a crash or corpus).
 */
#include "util/coding.h"

#include "db/batch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_batch: %s:%d: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

typedef struct walk {
    const char *lo, *hi; /* the input, which every slice must lie within */
    uint64_t entries;
    uint64_t sum; /* touches every byte, so the sanitizer sees each read */
} walk;

static void touch(walk *w, cairn__slice s)
{
    CHECK(s.size == 0 || (s.data >= w->lo && s.data + s.size <= w->hi));
    for (size_t i = 0; i < s.size; i++)
        w->sum += (unsigned char)s.data[i];
}

static int on_put(void *ctx, cairn__slice key, cairn__slice value)
{
    walk *w = ctx;
    touch(w, key);
    touch(w, value);
    w->entries++;
    return 0;
}

static int on_del(void *ctx, cairn__slice key)
{
    walk *w = ctx;
    touch(w, key);
    w->entries++;
    return 0;
}

/* Counts entries through the public walk, for the self-append check. */
static int pub_put(void *ctx, const void *k, size_t kl, const void *v,
                   size_t vl)
{
    (void)k;
    (void)kl;
    (void)v;
    (void)vl;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int pub_del(void *ctx, const void *k, size_t kl)
{
    (void)k;
    (void)kl;
    (*(uint64_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    cairn__slice rep = cairn__slice_make(p, size);
    int rc = cairn__batch_rep_validate(rep);
    CHECK(rc == 0 || rc == CAIRN_CORRUPTION);

    walk w = {p, p + size, 0, 0};
    cairn__batch_handler h = {&w, on_put, on_del};
    CHECK(cairn__batch_rep_iterate(rep, &h) == rc);
    if (rc == 0)
        CHECK(w.entries == cairn__batch_rep_count(rep));

    cairn_batch *b = cairn_batch_create();
    if (b == NULL)
        return 0;
    CHECK(cairn_batch_put(b, "x", 1, "y", 1) == 0);
    size_t before = cairn_batch_approximate_size(b);
    CHECK(cairn_batch_set_data(b, data, size) == rc);
    if (rc != 0) {
        CHECK(cairn_batch_approximate_size(b) == before);
        CHECK(cairn_batch_count(b) == 1);
    } else {
        size_t len;
        const void *copy = cairn_batch_data(b, &len);
        CHECK(len == size && memcmp(copy, data, size) == 0);
        uint32_t count = cairn_batch_count(b);
        if (count < UINT32_MAX / 2 && cairn_batch_append(b, b) == 0) {
            CHECK(cairn_batch_count(b) == 2 * count);
            CHECK(cairn_batch_approximate_size(b) == 2 * size - 12);
            uint64_t n = 0;
            CHECK(cairn_batch_iterate(b, &n, pub_put, pub_del) == 0);
            CHECK(n == 2 * (uint64_t)count);
        }
    }
    cairn_batch_destroy(b);
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
