/*
 * power_loss.h: the workload, history and model check shared by the
 * power-loss tests (tests/crash/test_power_loss.c, test_power_loss_flush.c).
 *
 * A run is one database on a fault env (env/env_fault.h) over a memory
 * env, and the history of the writes made to it since its last verified
 * recovery. The workload is sync and non-sync puts, deletes, multi-entry
 * batches and empty sync batches on nkeys keys. Every value is unique
 * ("v<id>|" and padding derived from id, where id = opno * 8 + entry + 1),
 * so a stale, mixed or garbage value cannot pass for a written one.
 *
 * The prefix rule (pl_check_prefix). After a power cut and a reopen, the
 * database must hold exactly the state after some prefix P of the history,
 * where P includes every operation up to the last sync-acknowledged one (a
 * sync write, or an empty sync batch, makes all earlier writes durable).
 * With cut modes that lose no file data (pl_loses_data() false) P must
 * hold every acknowledged operation. An operation that failed (at the cut)
 * stays in the history as not acknowledged: it may be present, entirely,
 * or not at all.
 *
 * The tests differ in tuning (pl_tuning): key count and names, value
 * sizes, the operation mix, open options, and whether the check also scans.
 * Every random choice comes from the run's seed, in a fixed order, so a
 * failing run replays from the seed its messages name. Failures abort the
 * test (cmocka asserts).
 */
#ifndef CAIRN_TEST_POWER_LOSS_H
#define CAIRN_TEST_POWER_LOSS_H

#include "cairn.h"
#include "env/env_fault.h"

#include "testutil.h"

#include <stddef.h>
#include <stdint.h>

#define PL_MAX_KEYS    48
#define PL_MAX_ENTRIES 6
#define PL_MAX_HIST    512
#define PL_VAL_MAX     (48 * 1024)

/* The cut modes, short. */
#define PL_DROP    CAIRN__FAULT_DROP_UNSYNCED
#define PL_GARBLE  CAIRN__FAULT_GARBLE_UNSYNCED
#define PL_KEEP    CAIRN__FAULT_KEEP_RANDOM_PREFIX
#define PL_ENTRIES CAIRN__FAULT_DELETE_UNSYNCED_ENTRIES

/* 1 if a cut with these modes may lose file data (and so acknowledged,
 * unsynced writes); 0 for a process crash or reverted directory entries. */
#define pl_loses_data(modes) (((modes) & (PL_DROP | PL_GARBLE | PL_KEEP)) != 0)

typedef struct pl_tuning {
    int nkeys;              /* keys 0..nkeys-1; at most PL_MAX_KEYS */
    const char *key_prefix; /* key k is key_prefix then k in two digits */
    /* Value id pads "v<id>|" with h % pad_mod letters (h = id *
     * 2654435761), or, for one id in big_one_in, with 2000 + up to 40000
     * (spanning log blocks, filling write buffers). */
    uint32_t pad_mod, big_one_in;
    /* One op in sync_one_in is a sync write. Of p uniform in [0, 100):
     * p < put_below a put, < delete_below a delete, < batch_below a batch
     * of 2..PL_MAX_ENTRIES entries (a quarter of them deletes), else an
     * empty sync batch. */
    unsigned sync_one_in, put_below, delete_below, batch_below;
    size_t write_buffer_size; /* 0: the default */
    int vary_compression;     /* bit 1 of the seed picks snappy or none */
    int scan; /* the check also scans, which must agree with gets */
} pl_tuning;

typedef struct pl_op {
    int kind; /* 0 put, 1 delete, 2 batch, 3 empty sync batch */
    int sync;
    int acked; /* 0: failed (at the cut); may be present or not */
    int n;
    uint32_t opno;
    int key[PL_MAX_ENTRIES];
    int del[PL_MAX_ENTRIES];
} pl_op;

/* Key k holds 0 (absent) or the value id opno * 8 + j + 1. Entries from
 * nkeys on stay 0, so states compare whole. */
typedef struct pl_state {
    uint32_t v[PL_MAX_KEYS];
} pl_state;

typedef struct pl_run {
    const pl_tuning *tun;
    uint64_t seed;
    tu_rng rng;
    cairn_env *mem, *fault;
    /* What the database is opened on: the fault env, or a wrapper of it
     * that the run then owns (pl_run_fini destroys it first). */
    cairn_env *env;
    cairn_db *db;
    cairn_writeoptions *sync;
    char *val; /* PL_VAL_MAX bytes of scratch */
    uint32_t next_opno;
    pl_state base; /* verified state at the start of the history */
    pl_op hist[PL_MAX_HIST];
    int nhist;       /* ops in hist */
    int must;        /* ops of hist that are durable (up to the last sync) */
    int nacked;      /* ops of hist up to the last acknowledged one */
    char where[200]; /* for messages: what, and the test's seed */
    /* Opens without the spare log (cairn_options_set_spare_log), for a
     * test whose armed fault must hit the writer's own operation: the
     * flushing thread makes spares at times of its own. */
    int no_spare;
} pl_run;

/* Sets up r (no database open yet) with tuning t, which must outlive it,
 * and random choices from seed; messages name `what` and test_seed. */
void pl_run_init(pl_run *r, const pl_tuning *t, uint64_t seed,
                 uint64_t test_seed, const char *what);
/* pl_run_init for iteration it of a test's loop, with the small tuning:
 * the run's seed is seed + it * stride, and its messages say
 * "iteration <it>". */
void pl_run_iter(pl_run *r, uint64_t seed, int it, uint64_t stride);
/* Closes the database (which must succeed) and frees everything. */
void pl_run_fini(pl_run *r);

/* Few keys, values mostly short (one in 16 spans log blocks), a sync
 * write in five ops, and the default write buffer (flushes are rare). */
extern const pl_tuning pl_tuning_small;

/* Opens /db on r->env into r->db; returns cairn_db_open's code. Half the
 * seeds log, so the LOG's unsynced writes are cut too. */
int pl_open(pl_run *r, int create, int paranoid);

/* Key k into buf (16 bytes); its length. */
size_t pl_make_key(const pl_run *r, char *buf, int k);
/* The value of id into buf (PL_VAL_MAX bytes); its length. */
size_t pl_make_value(const pl_run *r, char *buf, uint32_t id);
/* Makes the writes of o; returns the write's code. */
int pl_do_op(pl_run *r, const pl_op *o);
/* Generates one random op, makes it and adds it to the history (as
 * acknowledged if it succeeded); returns its code. */
int pl_step(pl_run *r);
/* Runs up to n random ops; each must succeed. */
void pl_run_ops(pl_run *r, int n);

/* One put that fails with CAIRN_IO: torn (a WRITE fault on append 1, the
 * record header, or 2, the payload, leaving a random partial length) or,
 * if !torn, a sync put whose sync fails; its value is at least min_value
 * bytes. The fault is armed just before and disarmed after; the put stays
 * in the history as not acknowledged (it may be present, but only as a
 * whole). Returns the failing append's number (1 for a sync) and the
 * partial length in *partial. */
uint64_t pl_failing_put(pl_run *r, int torn, size_t min_value, size_t *partial);

/* Cuts the power with modes (random choices from the run), then
 * pl_revive. */
void pl_cut(pl_run *r, unsigned modes);
/* After a cut: closes the dead handle (its errors are expected) and
 * revives the env. */
void pl_revive(pl_run *r);
/* Opens the database again; the open must succeed. */
void pl_reopen(pl_run *r, int paranoid, const char *when);

/* Checks the prefix rule against the history, then makes the observed
 * state the new base and empties the history. all = 1: the cut lost no
 * file data, so every acknowledged op must be there. Every value read must
 * be exactly one the workload wrote. */
void pl_check_prefix(pl_run *r, int all, const char *when);

#endif
