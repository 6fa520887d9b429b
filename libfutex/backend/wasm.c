/*
 * WebAssembly (wasm32 with the threads proposal: -matomics -mbulk-memory,
 * linked with a shared memory): memory.atomic.wait32 and memory.atomic.notify,
 * through clang's __builtin_wasm_memory_atomic_wait32/notify.
 * https://github.com/WebAssembly/threads/blob/main/proposals/threads/Overview.md#wait-and-notify-operators
 * https://webassembly.github.io/threads/core/exec/instructions.html
 *
 *   wait32(addr, expected, timeout_ns): timeout is a relative i64 in
 *     nanoseconds, negative for "forever"; returns 0 ("ok": woken),
 *     1 ("not-equal": *addr != expected) or 2 ("timed-out"). It traps on an
 *     unshared memory and where the embedder forbids blocking (a browser's
 *     main thread); Node allows it on every thread.
 *   notify(addr, count): wakes up to count waiters, returns how many it woke.
 *
 * One instance's memory is only shared with other agents of the same embedder
 * (Web Workers, Node worker_threads), so FUTEX_SHARED has nothing more to
 * offer: no FUTEX_CAP_SHARED, and the front layer returns -ENOTSUP for it.
 * A wasm build without atomics has no threads and gets backend/single.c.
 */
#include "../backend.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#if !defined(__wasm_atomics__)
#error "backend/wasm.c needs -matomics (and a shared memory); build single.c otherwise"
#endif

const char futex__os_name[] = "wasm";

/* The builtins take a non-const int *; wait32 only reads through it. Going
 * through uintptr_t drops the const without a -Wcast-qual cast. */
static int *addr_of(const uint32_t *word) { return (int *)(uintptr_t)word; }

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    (void)flags; /* only FUTEX_PRIVATE reaches us: no FUTEX_CAP_SHARED */
    long long timeout = -1; /* forever */
    if (deadline_ns != FUTEX_FOREVER) {
        uint64_t left = futex__remaining_ns(deadline_ns);
        if (left == 0)
            return -ETIMEDOUT;
        /* i64 ns reaches 292 years; past that we clamp and the front layer waits again. */
        timeout = left > (uint64_t)INT64_MAX ? INT64_MAX : (long long)left;
    }
    switch (__builtin_wasm_memory_atomic_wait32(addr_of(word), (int)expected, timeout)) {
    case 0: return 0;                   /* "ok": woken by a notify */
    case 1: return -EAGAIN;             /* "not-equal": *word != expected when it looked */
    case 2: return -ETIMEDOUT;          /* "timed-out": the (maybe clamped) timeout passed */
    default: abort();                   /* the instruction returns nothing else */
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    (void)flags;
    /* notify's count is a u32 where FUTEX_ALL (UINT32_MAX) already means
     * "all" in practice; the result is clamped into an int for our API. */
    unsigned woken = __builtin_wasm_memory_atomic_notify(addr_of(word), max_waiters);
    return woken > (unsigned)INT32_MAX ? INT32_MAX : (int)woken;
}

unsigned futex__os_caps(void) { return FUTEX_CAP_WAKE_COUNT; }

/* futex_waitv: memory.atomic.wait32 takes one address: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; exact, as every wait here is process-private. */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
