/*
 * api.c: the public functions of include/cairn.h that take a database or an
 * options object: argument validation, handle lifetime, and the per-handle
 * error message. Engine work is delegated to db.c, write.c and read.c.
 *
 * Handle lifetime: every call on a cairn_db enters (inflight + 1) and
 * leaves; close marks the handle closing, waits for inflight to drain, then
 * tears the engine down. The closed shell is kept in a small ring of
 * tombstones so that a call on a recently closed handle is answered with
 * CAIRN_CLOSED instead of touching freed memory ("use after close where
 * detectable"); the oldest tombstones are freed as the ring turns over.
 */
#include "db/db_impl.h"

#include "db/batch.h"
#include "util/ikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WRITE_BUFFER (4u * 1024u * 1024u)
#define MIN_WRITE_BUFFER     (64u * 1024u)
#define MAX_WRITE_BUFFER     (1024u * 1024u * 1024u)

int cairn_version_major(void)
{
    return CAIRN_VERSION_MAJOR;
}
int cairn_version_minor(void)
{
    return CAIRN_VERSION_MINOR;
}

const char *cairn_errmsg(void)
{
    return cairn__errmsg_get();
}

void cairn_free(void *p)
{
    free(p);
}

/* ---------------------------------------------------------------------- */
/* Options                                                                 */

cairn_options *cairn_options_create(void)
{
    cairn_options *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    o->write_buffer_size = DEFAULT_WRITE_BUFFER;
    o->info_log = 1;
    o->block_size = 4096;
    o->block_restart_interval = 16;
    o->max_file_size = 2u << 20;
    o->compression = CAIRN_COMPRESSION_SNAPPY;
    o->bloom_bits_per_key = 0;
    o->max_open_files = 1000;
    o->mmap_reads = 1;
    o->cache = NULL;
    o->max_immutable_memtables = 2;
    o->memtable_shards = 0;
    o->memtable_filter = 1;
    o->background_threads = 1;
    o->max_subcompactions = 0;
    o->spare_log = 1;
    o->commit_policy = CAIRN_COMMIT_LEADER;
    o->commit_wait_us = 100;
    o->commit_wait_bytes = 64u << 10;
    o->commit_wait_nonsync = 0;
    /* The measured best for the write buffer size (cairn.h). */
    o->wait_strategy = CAIRN_WAIT_AUTO;
    o->spin_ns = 20000;
    o->group_max_bytes = 1u << 20;
    o->group_small_leader = 128u << 10;
    o->l0_slowdown_trigger = 8;
    o->l0_stop_trigger = 12;
    o->slowdown_micros = 1000;
    return o;
}

void cairn_options_destroy(cairn_options *opt)
{
    free(opt);
}

#define CHECK_HANDLE(h, what)                                                  \
    do {                                                                       \
        if ((h) == NULL)                                                       \
            return cairn__err(CAIRN_INVALID, "%s: NULL " what, __func__);      \
    } while (0)

int cairn_options_set_create_if_missing(cairn_options *opt, int v)
{
    CHECK_HANDLE(opt, "options");
    opt->create_if_missing = v != 0;
    return 0;
}

int cairn_options_set_error_if_exists(cairn_options *opt, int v)
{
    CHECK_HANDLE(opt, "options");
    opt->error_if_exists = v != 0;
    return 0;
}

int cairn_options_set_paranoid_checks(cairn_options *opt, int v)
{
    CHECK_HANDLE(opt, "options");
    opt->paranoid_checks = v != 0;
    return 0;
}

int cairn_options_set_write_buffer_size(cairn_options *opt, size_t bytes)
{
    CHECK_HANDLE(opt, "options");
    if (bytes < MIN_WRITE_BUFFER || bytes > MAX_WRITE_BUFFER)
        return cairn__err(CAIRN_INVALID,
                          "write_buffer_size %zu outside [%u, %u]", bytes,
                          MIN_WRITE_BUFFER, MAX_WRITE_BUFFER);
    opt->write_buffer_size = bytes;
    return 0;
}

int cairn_options_set_env(cairn_options *opt, cairn_env *env)
{
    CHECK_HANDLE(opt, "options");
    opt->env = env;
    return 0;
}

int cairn_options_set_info_log(cairn_options *opt, int enabled)
{
    CHECK_HANDLE(opt, "options");
    opt->info_log = enabled != 0;
    return 0;
}

int cairn_options_set_block_size(cairn_options *opt, size_t bytes)
{
    CHECK_HANDLE(opt, "options");
    if (bytes < 1024 || bytes > (4u << 20))
        return cairn__err(CAIRN_INVALID,
                          "block_size %zu outside [1 KiB, 4 MiB]", bytes);
    opt->block_size = bytes;
    return 0;
}

/* Sets *field to n if lo <= n <= hi; otherwise CAIRN_INVALID, with a
 * message naming the option and the value, and *field is left alone. */
static int set_int_in(int *field, const char *name, int n, int lo, int hi)
{
    if (n < lo || n > hi)
        return cairn__err(CAIRN_INVALID, "%s %d outside [%d, %d]", name, n, lo,
                          hi);
    *field = n;
    return 0;
}

int cairn_options_set_block_restart_interval(cairn_options *opt, int n)
{
    CHECK_HANDLE(opt, "options");
    return set_int_in(&opt->block_restart_interval, "block_restart_interval", n,
                      1, 65536);
}

int cairn_options_set_max_file_size(cairn_options *opt, size_t bytes)
{
    CHECK_HANDLE(opt, "options");
    if (bytes < (1u << 20) || bytes > (1u << 30))
        return cairn__err(CAIRN_INVALID,
                          "max_file_size %zu outside [1 MiB, 1 GiB]", bytes);
    opt->max_file_size = bytes;
    return 0;
}

int cairn_options_set_compression(cairn_options *opt, int type)
{
    CHECK_HANDLE(opt, "options");
    if (type != CAIRN_COMPRESSION_NONE && type != CAIRN_COMPRESSION_SNAPPY)
        return cairn__err(CAIRN_INVALID, "unknown compression type %d", type);
    opt->compression = type;
    return 0;
}

int cairn_options_set_bloom_bits_per_key(cairn_options *opt, int bits)
{
    CHECK_HANDLE(opt, "options");
    if (bits < 0 || bits > 64)
        return cairn__err(CAIRN_INVALID,
                          "bloom bits per key %d outside [0, 64]", bits);
    opt->bloom_bits_per_key = bits;
    return 0;
}

int cairn_options_set_max_open_files(cairn_options *opt, int n)
{
    CHECK_HANDLE(opt, "options");
    if (n < 74 || n > 50000)
        return cairn__err(CAIRN_INVALID,
                          "max_open_files %d outside [74, 50000]", n);
    opt->max_open_files = n;
    return 0;
}

int cairn_options_set_mmap_reads(cairn_options *opt, int v)
{
    CHECK_HANDLE(opt, "options");
    opt->mmap_reads = v != 0;
    return 0;
}

int cairn_options_set_cache(cairn_options *opt, cairn_cache *cache)
{
    CHECK_HANDLE(opt, "options");
    opt->cache = cache;
    return 0;
}

int cairn_options_set_commit_policy(cairn_options *opt, int policy)
{
    CHECK_HANDLE(opt, "options");
    if (policy != CAIRN_COMMIT_LEADER && policy != CAIRN_COMMIT_BATCH_WAIT)
        return cairn__err(CAIRN_INVALID, "unknown commit policy %d", policy);
    opt->commit_policy = policy;
    return 0;
}

int cairn_options_set_commit_wait(cairn_options *opt, uint64_t wait_us,
                                  size_t wait_bytes, int nonsync)
{
    CHECK_HANDLE(opt, "options");
    if (wait_us < 1 || wait_us > 1000000)
        return cairn__err(CAIRN_INVALID,
                          "commit wait %llu us outside [1, 1000000]",
                          (unsigned long long)wait_us);
    if (wait_bytes < 1 || wait_bytes > (64u << 20))
        return cairn__err(CAIRN_INVALID,
                          "commit wait bytes %zu outside [1, 64 MiB]",
                          wait_bytes);
    opt->commit_wait_us = wait_us;
    opt->commit_wait_bytes = wait_bytes;
    opt->commit_wait_nonsync = nonsync != 0;
    return 0;
}

int cairn_options_set_wait_strategy(cairn_options *opt, int strategy,
                                    uint64_t spin_ns)
{
    CHECK_HANDLE(opt, "options");
    if (strategy != CAIRN_WAIT_BLOCK && strategy != CAIRN_WAIT_SPIN &&
        strategy != CAIRN_WAIT_ADAPTIVE && strategy != CAIRN_WAIT_AUTO)
        return cairn__err(CAIRN_INVALID, "unknown wait strategy %d", strategy);
    if (spin_ns > 10000000)
        return cairn__err(CAIRN_INVALID, "spin_ns %llu above 10 ms",
                          (unsigned long long)spin_ns);
    opt->wait_strategy = strategy;
    opt->spin_ns = spin_ns;
    return 0;
}

int cairn_options_set_group_limits(cairn_options *opt, size_t max_bytes,
                                   size_t small_leader)
{
    CHECK_HANDLE(opt, "options");
    if (max_bytes < 4096 || max_bytes > (64u << 20) || small_leader > max_bytes)
        return cairn__err(CAIRN_INVALID,
                          "group limits %zu / %zu outside 4 KiB .. 64 MiB",
                          max_bytes, small_leader);
    opt->group_max_bytes = max_bytes;
    opt->group_small_leader = small_leader;
    return 0;
}

int cairn_options_set_max_immutable_memtables(cairn_options *opt, int n)
{
    CHECK_HANDLE(opt, "options");
    return set_int_in(&opt->max_immutable_memtables, "max_immutable_memtables",
                      n, 1, CAIRN__MAX_IMM);
}

int cairn_options_set_memtable_shards(cairn_options *opt, int n)
{
    CHECK_HANDLE(opt, "options");
    return set_int_in(&opt->memtable_shards, "memtable_shards", n, 0,
                      CAIRN__MEMTABLE_MAX_SHARDS);
}

int cairn_options_set_memtable_filter(cairn_options *opt, int on)
{
    CHECK_HANDLE(opt, "options");
    return set_int_in(&opt->memtable_filter, "memtable_filter", on, 0, 1);
}

int cairn_options_set_background_threads(cairn_options *opt, int n)
{
    CHECK_HANDLE(opt, "options");
    return set_int_in(&opt->background_threads, "background_threads", n, 1, 2);
}

int cairn_options_set_max_subcompactions(cairn_options *opt, int n)
{
    CHECK_HANDLE(opt, "options");
    return set_int_in(&opt->max_subcompactions, "max_subcompactions", n, 0,
                      CAIRN__MAX_SUBCOMPACTIONS);
}

int cairn_options_set_spare_log(cairn_options *opt, int on)
{
    CHECK_HANDLE(opt, "options");
    return set_int_in(&opt->spare_log, "spare_log", on, 0, 1);
}

int cairn_options_set_l0_triggers(cairn_options *opt, int slowdown, int stop,
                                  uint64_t slowdown_us)
{
    CHECK_HANDLE(opt, "options");
    if (slowdown < 1 || stop < slowdown || stop > 1000 || slowdown_us > 1000000)
        return cairn__err(CAIRN_INVALID,
                          "level-0 triggers %d / %d / %llu us out of range",
                          slowdown, stop, (unsigned long long)slowdown_us);
    opt->l0_slowdown_trigger = slowdown;
    opt->l0_stop_trigger = stop;
    opt->slowdown_micros = slowdown_us;
    return 0;
}

cairn_cache *cairn_cache_create_lru(size_t capacity)
{
    cairn_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (cairn__cache_create(capacity, &c->c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void cairn_cache_destroy(cairn_cache *cache)
{
    if (cache == NULL)
        return;
    cairn__cache_destroy(cache->c);
    free(cache);
}

cairn_readoptions *cairn_readoptions_create(void)
{
    cairn_readoptions *o = calloc(1, sizeof *o);
    if (o != NULL)
        o->fill_cache = 1;
    return o;
}

void cairn_readoptions_destroy(cairn_readoptions *ro)
{
    free(ro);
}

int cairn_readoptions_set_verify_checksums(cairn_readoptions *ro, int v)
{
    CHECK_HANDLE(ro, "read options");
    ro->verify_checksums = v != 0;
    return 0;
}

int cairn_readoptions_set_fill_cache(cairn_readoptions *ro, int v)
{
    CHECK_HANDLE(ro, "read options");
    ro->fill_cache = v != 0;
    return 0;
}

int cairn_readoptions_set_snapshot(cairn_readoptions *ro,
                                   const cairn_snapshot *snap)
{
    CHECK_HANDLE(ro, "read options");
    ro->snapshot = snap;
    return 0;
}

cairn_writeoptions *cairn_writeoptions_create(void)
{
    return calloc(1, sizeof(cairn_writeoptions));
}

void cairn_writeoptions_destroy(cairn_writeoptions *wo)
{
    free(wo);
}

int cairn_writeoptions_set_sync(cairn_writeoptions *wo, int v)
{
    CHECK_HANDLE(wo, "write options");
    wo->sync = v != 0;
    return 0;
}

int cairn_writeoptions_set_no_slowdown(cairn_writeoptions *wo, int v)
{
    CHECK_HANDLE(wo, "write options");
    wo->no_slowdown = v != 0;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Handle lifetime                                                         */

#define TOMBSTONES 256
static pthread_mutex_t tomb_mu = PTHREAD_MUTEX_INITIALIZER;
static cairn_db *tombs[TOMBSTONES];
static size_t tomb_next;

static void bury(cairn_db *db)
{
    pthread_mutex_lock(&tomb_mu);
    cairn_db *old = tombs[tomb_next];
    tombs[tomb_next] = db;
    tomb_next = (tomb_next + 1) % TOMBSTONES;
    pthread_mutex_unlock(&tomb_mu);
    free(old);
}

/* Copies the thread's message into the handle (for cairn_db_errmsg). */
int cairn__api_record(cairn_db *db, int rc)
{
    if (rc != 0 && rc != CAIRN_NOTFOUND) {
        cairn__mutex_lock(&db->errmu);
        snprintf(db->errmsg, sizeof db->errmsg, "%s", cairn__errmsg_get());
        cairn__mutex_unlock(&db->errmu);
    }
    return rc;
}

int cairn__api_enter(cairn_db *db, const char *fn)
{
    if (db == NULL)
        return cairn__err(CAIRN_INVALID, "%s: NULL database handle", fn);
    uint64_t magic = atomic_load(&db->magic);
    if (magic == CAIRN__DB_DEAD)
        return cairn__err(CAIRN_CLOSED, "%s: database handle used after close",
                          fn);
    if (magic != CAIRN__DB_MAGIC)
        return cairn__err(CAIRN_INVALID, "%s: not a database handle", fn);
    /* seq_cst pairs with close(): either close sees our inflight count
     * and waits for us, or we see its closing flag and back out. */
    atomic_int *inflight = &db->inflight[cairn__thread_stripe()].n;
    atomic_fetch_add(inflight, 1);
    if (atomic_load(&db->closing)) {
        atomic_fetch_sub(inflight, 1);
        return cairn__err(CAIRN_CLOSED, "%s: database is closing", fn);
    }
    return 0;
}

int cairn__api_leave(cairn_db *db, int rc)
{
    cairn__api_record(db, rc);
    atomic_fetch_sub(&db->inflight[cairn__thread_stripe()].n, 1);
    return rc;
}

static int check_bytes(const void *p, size_t n, size_t max, const char *what,
                       const char *fn)
{
    if (p == NULL && n != 0)
        return cairn__err(CAIRN_INVALID, "%s: NULL %s with length %zu", fn,
                          what, n);
    if (n > max)
        return cairn__err(CAIRN_INVALID,
                          "%s: %s of %zu bytes exceeds the maximum %zu", fn,
                          what, n, max);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Database calls                                                          */

int cairn_db_open(const cairn_options *opt, const char *name, cairn_db **dbp)
{
    if (dbp == NULL)
        return cairn__err(CAIRN_INVALID, "cairn_db_open: NULL result pointer");
    *dbp = NULL;
    if (opt == NULL)
        return cairn__err(CAIRN_INVALID, "cairn_db_open: NULL options");
    if (name == NULL || name[0] == '\0')
        return cairn__err(CAIRN_INVALID, "cairn_db_open: empty database name");
    if (strlen(name) > 4000)
        return cairn__err(CAIRN_INVALID,
                          "cairn_db_open: database name too long");
    return cairn__db_open(opt, name, dbp);
}

int cairn_db_close(cairn_db *db)
{
    if (db == NULL)
        return 0;
    uint64_t magic = atomic_load(&db->magic);
    if (magic == CAIRN__DB_DEAD)
        return cairn__err(CAIRN_CLOSED,
                          "cairn_db_close: database handle used after close");
    if (magic != CAIRN__DB_MAGIC)
        return cairn__err(CAIRN_INVALID,
                          "cairn_db_close: not a database handle");
    int expected = 0;
    if (!atomic_compare_exchange_strong(&db->closing, &expected, 1))
        return cairn__err(CAIRN_CLOSED, "cairn_db_close: already closing");
    for (;;) {
        int busy = 0;
        for (int i = 0; i < CAIRN__STRIPES; i++)
            busy += atomic_load(&db->inflight[i].n);
        if (busy == 0)
            break;
        db->env->ops->sleep_micros(db->env, 100);
    }
    /* No call is in flight and none can start: count what still pins the
     * engine. Freeing it under a live iterator would crash later. */
    cairn__mutex_lock(&db->mu);
    int snaps = db->live_snapshots;
    cairn__mutex_unlock(&db->mu);
    int iters = atomic_load(&db->live_iters);
    if (snaps > 0 || iters > 0) {
        atomic_store(&db->closing, 0);
        return cairn__api_record(
            db, cairn__err(CAIRN_BUSY,
                           "cairn_db_close: %d iterators and %d "
                           "snapshots are still live",
                           iters, snaps));
    }
    int rc = cairn__db_close(db);
    atomic_store(&db->magic, CAIRN__DB_DEAD);
    bury(db);
    return rc;
}

/* Encodes a one-entry batch (a put, or a delete when val is NULL and
 * is_put 0) and writes it. Small batches are built on the stack: a put of
 * a short key and value costs no allocation. */
static int write_one(cairn_db *db, const cairn_writeoptions *wo, int is_put,
                     const void *key, size_t keylen, const void *val,
                     size_t vallen)
{
    char stackbuf[512];
    size_t need = CAIRN__BATCH_HEADER + 1 + 2 * CAIRN__MAX_VARINT32 + keylen +
                  (is_put ? vallen : 0);
    char *buf = stackbuf;
    if (need > sizeof stackbuf) {
        buf = malloc(need);
        if (buf == NULL)
            return cairn__err(CAIRN_NOMEM, "batch of %zu bytes", need);
    }
    cairn__encode_fixed64(buf, 0);
    cairn__encode_fixed32(buf + 8, 1);
    char *p = buf + CAIRN__BATCH_HEADER;
    *p++ = (char)(is_put ? CAIRN__TYPE_VALUE : CAIRN__TYPE_DELETION);
    p = cairn__encode_varint32(p, (uint32_t)keylen);
    if (keylen > 0)
        memcpy(p, key, keylen);
    p += keylen;
    if (is_put) {
        p = cairn__encode_varint32(p, (uint32_t)vallen);
        if (vallen > 0)
            memcpy(p, val, vallen);
        p += vallen;
    }
    int rc = cairn__db_write(db, wo, cairn__slice_make(buf, (size_t)(p - buf)));
    if (buf != stackbuf)
        free(buf);
    return rc;
}

int cairn_db_put(cairn_db *db, const cairn_writeoptions *wo, const void *key,
                 size_t keylen, const void *val, size_t vallen)
{
    int rc = cairn__api_enter(db, __func__);
    if (rc != 0)
        return rc;
    if ((rc = check_bytes(key, keylen, CAIRN_MAX_KEY_SIZE, "key", __func__)) !=
            0 ||
        (rc = check_bytes(val, vallen, CAIRN_MAX_VALUE_SIZE, "value",
                          __func__)) != 0)
        return cairn__api_leave(db, rc);
    return cairn__api_leave(db, write_one(db, wo, 1, key, keylen, val, vallen));
}

int cairn_db_delete(cairn_db *db, const cairn_writeoptions *wo, const void *key,
                    size_t keylen)
{
    int rc = cairn__api_enter(db, __func__);
    if (rc != 0)
        return rc;
    if ((rc = check_bytes(key, keylen, CAIRN_MAX_KEY_SIZE, "key", __func__)) !=
        0)
        return cairn__api_leave(db, rc);
    return cairn__api_leave(db, write_one(db, wo, 0, key, keylen, NULL, 0));
}

int cairn_db_write(cairn_db *db, const cairn_writeoptions *wo,
                   const cairn_batch *batch)
{
    int rc = cairn__api_enter(db, __func__);
    if (rc != 0)
        return rc;
    if (batch == NULL)
        return cairn__api_leave(
            db, cairn__err(CAIRN_INVALID, "cairn_db_write: NULL batch"));
    if (batch->rep.len < CAIRN__BATCH_HEADER)
        return cairn__api_leave(
            db,
            cairn__err(CAIRN_INVALID, "cairn_db_write: uninitialised batch"));
    return cairn__api_leave(
        db, cairn__db_write(db, wo, cairn__buf_slice(&batch->rep)));
}

int cairn_db_get(cairn_db *db, const cairn_readoptions *ro, const void *key,
                 size_t keylen, void **valp, size_t *vallen)
{
    if (valp != NULL)
        *valp = NULL;
    if (vallen != NULL)
        *vallen = 0;
    int rc = cairn__api_enter(db, __func__);
    if (rc != 0)
        return rc;
    if (valp == NULL || vallen == NULL)
        return cairn__api_leave(
            db, cairn__err(CAIRN_INVALID, "cairn_db_get: NULL result pointer"));
    if ((rc = check_bytes(key, keylen, CAIRN_MAX_KEY_SIZE, "key", __func__)) !=
        0)
        return cairn__api_leave(db, rc);
    if (ro != NULL && ro->snapshot != NULL && ro->snapshot->db != db)
        return cairn__api_leave(
            db,
            cairn__err(CAIRN_INVALID,
                       "cairn_db_get: snapshot belongs to another database"));
    cairn__buf val = CAIRN__BUF_INIT;
    rc = cairn__db_get(db, ro, cairn__slice_make(key, keylen), &val);
    if (rc == 0) {
        /* Hand over the buffer itself; a zero-length value still gets a
         * real allocation so success always means non-NULL. */
        if (val.data == NULL && (rc = cairn__buf_reserve(&val, 1)) != 0)
            return cairn__api_leave(db, rc);
        *valp = val.data;
        *vallen = val.len;
        return cairn__api_leave(db, 0);
    }
    cairn__buf_fini(&val);
    return cairn__api_leave(db, rc);
}

size_t cairn_db_errmsg(cairn_db *db, char *buf, size_t cap)
{
    if (db == NULL || atomic_load(&db->magic) != CAIRN__DB_MAGIC) {
        if (buf != NULL && cap > 0)
            buf[0] = '\0';
        return 0;
    }
    cairn__mutex_lock(&db->errmu);
    size_t n = strlen(db->errmsg);
    if (buf != NULL && cap > 0) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(buf, db->errmsg, k);
        buf[k] = '\0';
    }
    cairn__mutex_unlock(&db->errmu);
    return n;
}

int cairn_db_destroy(const cairn_options *opt, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return cairn__err(CAIRN_INVALID,
                          "cairn_db_destroy: empty database name");
    return cairn__db_destroy(opt, name);
}
