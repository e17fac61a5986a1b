/*
 * syncpoint.c: see syncpoint.h.
 */
#include "util/syncpoint.h"

#include <stdatomic.h>
#include <stddef.h>

/* Written by cairn__sync_point_set while no point can run (syncpoint.h);
 * the release/acquire pair covers hook_arg too. */
static _Atomic(cairn__sync_point_fn) hook;
static void *hook_arg;

void cairn__sync_point_set(cairn__sync_point_fn fn, void *arg)
{
    hook_arg = arg;
    atomic_store_explicit(&hook, fn, memory_order_release);
}

void cairn__sync_point(const char *point)
{
    cairn__sync_point_fn fn = atomic_load_explicit(&hook, memory_order_acquire);
    if (fn != NULL)
        fn(point, hook_arg);
}
