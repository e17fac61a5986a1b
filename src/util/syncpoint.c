/*
 * syncpoint.c: see syncpoint.h.
 */
#include "util/syncpoint.h"

#include <stdatomic.h>
#include <stddef.h>

/* hook_arg is written only while hook is NULL, before the release store
 * that installs hook; a point that acquires a non-NULL hook sees it. */
static _Atomic(cairn__sync_point_fn) hook;
static void *hook_arg;

void cairn__sync_point_set(cairn__sync_point_fn fn, void *arg)
{
    if (fn == NULL) {
        atomic_store_explicit(&hook, NULL, memory_order_release);
        return;
    }
    hook_arg = arg;
    atomic_store_explicit(&hook, fn, memory_order_release);
}

void cairn__sync_point(const char *point)
{
    cairn__sync_point_fn fn = atomic_load_explicit(&hook, memory_order_acquire);
    if (fn != NULL)
        fn(point, hook_arg);
}
