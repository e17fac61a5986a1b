/*
 * env_fault.h: the fault-injecting env, for tests only. This header is the
 * contract the durability and crash tests are written against; what it
 * promises here is what those tests may rely on.
 *
 * A fault env wraps a base env (not owned; it must outlive the fault env)
 * and passes every call through, while it
 *
 *  1. Counts operations by kind and can fail the Nth one. Kinds:
 *       WRITE   append and flush (close is never failed);
 *       SYNC    file sync and sync_dir;
 *       RENAME  rename;
 *       CREATE  open_write and open_append;
 *       REMOVE  remove and rmdir;
 *       READ    pread and read.
 *     An armed kind fails its Nth operation (1-based, counted from the arm
 *     call) with CAIRN_IO or CAIRN_NOSPC and the message "injected fault:
 *     <op> <path>". Once: only that operation fails. Persistent: it and
 *     every later operation of the kind fail until disarmed. A failing
 *     operation does nothing, with one exception: a failing append first
 *     appends min(partial, n) bytes, where partial is set by
 *     cairn__env_fault_set_partial (default 0, so by default a failed
 *     append appends nothing). A failed sync leaves the synced length where
 *     it was. The counts include failed operations.
 *
 *  2. Tracks durability, as a file system with ordered metadata would:
 *     - for every file written through it since the last reset, the length
 *       at its last successful sync and the length handed to the base env
 *       by its last successful flush (or sync, or close);
 *     - for every name created (open_write/open_append of a missing file)
 *       or changed by rename since the last sync_dir of its directory, what
 *       the name held when it was last durable: nothing, or the earlier
 *       content (of a rename target, or of a renamed source). The
 *       directory of "a/b" is "a", of "b" is "" and of "/b" is "/", and a
 *       sync_dir must name it in exactly that spelling.
 *     Files the fault env never wrote are durable as they are. Removes and
 *     mkdir are durable at once (a removed file never comes back).
 *
 *  3. Simulates power loss: cairn__env_fault_power_cut rewrites the base
 *     env's files as a crash would leave them. First, every handle still
 *     open is closed in the base env, and every written file is cut back
 *     to its flushed length (what was only in user-space buffers is lost
 *     in any crash). Then the bytes between the synced and the flushed
 *     length (the unsynced tail) are treated per the mode flags:
 *       DROP_UNSYNCED       the tail is removed (the file is truncated to
 *                           its synced length);
 *       KEEP_RANDOM_PREFIX  a random-length prefix of the tail is kept,
 *                           the rest removed (takes precedence over DROP);
 *       GARBLE_UNSYNCED     whatever is kept of the tail is overwritten,
 *                           per file at random with random bytes or zeros;
 *                           alone, it keeps the tail's full length;
 *       DELETE_UNSYNCED_ENTRIES  every name not made durable by sync_dir
 *                           reverts to its last durable state: a created
 *                           file is removed, a rename target gets its
 *                           earlier content back (or is removed if it did
 *                           not exist), and a renamed source is restored.
 *     With no flags the cut is a process crash: flushed data survives.
 *     Random choices come from seed, so a failing run can be replayed.
 *
 *     After a cut the env is dead: every operation on a handle opened
 *     before the cut (reads too) and every mutating env operation
 *     (open_write, open_append, remove, mkdir, rmdir, rename, sync_dir,
 *     lock) fails with CAIRN_IO "simulated power loss". Closing such a
 *     handle frees it and returns 0; unlock still works, so a database can
 *     be closed and its lock released. open_read, exists, list and
 *     file_size keep working, so a test can look at what is left.
 *     cairn__env_fault_reset revives the env and treats the current state
 *     as fully durable. The crash recipe for a test is: cut, close the
 *     database (ignoring its errors), reset, reopen.
 *
 * Threads: every file operation and every mutating env operation runs
 * under one mutex of the fault env, held across the call into the base
 * env, so a power cut never races a write; I/O through a fault env is
 * therefore serialised. exists, list, file_size, unlock and the clock,
 * sleep and thread calls pass straight through.
 */
#ifndef CAIRN_ENV_ENV_FAULT_H
#define CAIRN_ENV_ENV_FAULT_H

#include "env/env.h"

#include <stddef.h>
#include <stdint.h>

enum cairn__fault_kind {
    CAIRN__FAULT_WRITE,
    CAIRN__FAULT_SYNC,
    CAIRN__FAULT_RENAME,
    CAIRN__FAULT_CREATE,
    CAIRN__FAULT_REMOVE,
    CAIRN__FAULT_READ,
    CAIRN__FAULT_NKINDS
};

/* Power-cut mode flags, combinable with |. */
#define CAIRN__FAULT_DROP_UNSYNCED           0x1u
#define CAIRN__FAULT_GARBLE_UNSYNCED         0x2u
#define CAIRN__FAULT_KEEP_RANDOM_PREFIX      0x4u
#define CAIRN__FAULT_DELETE_UNSYNCED_ENTRIES 0x8u
/* What a real power loss may do at worst: drop unsynced data and entries. */
#define CAIRN__FAULT_POWER_LOSS                                                \
    (CAIRN__FAULT_DROP_UNSYNCED | CAIRN__FAULT_DELETE_UNSYNCED_ENTRIES)

/* Creates a fault env around base. Destroy it with cairn_env_destroy after
 * every handle and lock taken through it is closed. CAIRN_NOMEM. */
int cairn__env_fault_create(cairn_env *base, cairn_env **out) CAIRN_WUR;

/* Arms kind: its nth operation from now (nth >= 1) fails with code
 * (CAIRN_IO or CAIRN_NOSPC), and with persistent != 0 so does every later
 * one. Re-arming replaces the previous setting. CAIRN_INVALID for a bad
 * kind, nth or code. */
int cairn__env_fault_arm(cairn_env *env, enum cairn__fault_kind kind,
                         uint64_t nth, int code, int persistent) CAIRN_WUR;
/* Disarms one kind, or every kind (no failures are injected after it). */
void cairn__env_fault_disarm(cairn_env *env, enum cairn__fault_kind kind);
void cairn__env_fault_disarm_all(cairn_env *env);
/* How many bytes a failing append writes first (default 0). */
void cairn__env_fault_set_partial(cairn_env *env, size_t partial);
/* Operations of kind since the env was created, failed ones included. */
uint64_t cairn__env_fault_count(cairn_env *env, enum cairn__fault_kind kind);
/* How many operations have failed by injection since creation. */
uint64_t cairn__env_fault_injected(cairn_env *env);

/* Cuts the power (point 3 above). Returns the first error from the base env
 * while rewriting files (the env is dead even then). */
int cairn__env_fault_power_cut(cairn_env *env, unsigned modes,
                               uint64_t seed) CAIRN_WUR;
/* Revives the env after a cut; the current state becomes durable. Armed
 * failures stay armed. */
void cairn__env_fault_reset(cairn_env *env);
/* 1 between a power cut and the next reset. */
int cairn__env_fault_is_dead(cairn_env *env);

#endif
