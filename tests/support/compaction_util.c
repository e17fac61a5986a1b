/*
 * compaction_util.c: see compaction_util.h. Test-only code.
 */
/* Engine headers before cmocka.h, whose skip() macro would clash. */
#include "compaction_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Random bytes that values are cut from: incompressible and cheap. */
static unsigned char g_pool[POOL_BYTES];

int ct_pool_setup(void **state)
{
    (void)state;
    tu_rng r;
    tu_rng_init(&r, 0x5eedf00dULL);
    tu_rng_bytes(&r, g_pool, sizeof g_pool);
    return 0;
}

void ct_ok(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %s: %s", what, cairn_errname(rc), cairn_errmsg());
}

void ct_shuffle(tu_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)tu_rng_uniform(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

cairn_db *ct_open_db(cairn_env *env, size_t wbuf, int compression)
{
    cairn_options *o = cairn_options_create();
    assert_non_null(o);
    ct_ok(cairn_options_set_create_if_missing(o, 1), "create_if_missing");
    ct_ok(cairn_options_set_env(o, env), "env");
    ct_ok(cairn_options_set_write_buffer_size(o, wbuf), "write buffer");
    ct_ok(cairn_options_set_compression(o, compression), "compression");
    cairn_db *db = NULL;
    ct_ok(cairn_db_open(o, "/db", &db), "open");
    cairn_options_destroy(o);
    return db;
}

long ct_level_files(cairn_db *db, int level)
{
    char name[48];
    snprintf(name, sizeof name, "cairn.num-files-at-level%d", level);
    char *v = cairn_db_property(db, name);
    if (v == NULL)
        return -1;
    long n = strtol(v, NULL, 10);
    cairn_free(v);
    return n;
}

size_t ct_make_value(uint32_t id, uint32_t ver, size_t len, unsigned char *out)
{
    snprintf((char *)out, 17, "%08" PRIx32 "%08" PRIx32, id, ver);
    size_t off =
        ((size_t)id * 7919u + (size_t)ver * 104729u) % (POOL_BYTES - len);
    memcpy(out + 16, g_pool + off, len);
    return 16 + len;
}

size_t ct_key_of(uint32_t id, char *out)
{
    return (size_t)snprintf(out, 16, "key%08" PRIu32, id);
}

void ct_put_version(cairn_db *db, uint32_t id, uint32_t ver, size_t len,
                    unsigned char *buf)
{
    char k[16];
    size_t kl = ct_key_of(id, k);
    ct_ok(cairn_db_put(db, NULL, k, kl, buf, ct_make_value(id, ver, len, buf)),
          "put");
}

void ct_expect_version(cairn_db *db, const cairn_readoptions *ro, uint32_t id,
                       uint32_t ver, size_t len, unsigned char *buf)
{
    char k[16];
    size_t kl = ct_key_of(id, k), vl;
    void *v = NULL;
    int rc = cairn_db_get(db, ro, k, kl, &v, &vl);
    if (ver == 0) {
        if (rc != CAIRN_NOTFOUND)
            fail_msg("key %" PRIu32 ": expected absent, got %s", id,
                     cairn_errname(rc));
        return;
    }
    ct_ok(rc, "get");
    size_t el = ct_make_value(id, ver, len, buf);
    if (vl != el || memcmp(v, buf, el) != 0)
        fail_msg("key %" PRIu32 ": expected version %" PRIu32 " (%zu bytes),"
                 " got %zu bytes starting '%.16s'",
                 id, ver, el, vl, (const char *)v);
    cairn_free(v);
}
