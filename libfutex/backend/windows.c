/*
 * Windows 8+: WaitOnAddress, WakeByAddressSingle, WakeByAddressAll
 * (<synchapi.h>, link synchronization.lib / -lsynchronization).
 * https://learn.microsoft.com/windows/win32/api/synchapi/nf-synchapi-waitonaddress
 * https://learn.microsoft.com/windows/win32/api/synchapi/nf-synchapi-wakebyaddresssingle
 *
 * These wake only threads of the calling process ("another thread in the same
 * process signals that the value at Address has changed"), so there is no
 * FUTEX_CAP_SHARED and the front layer answers FUTEX_SHARED with -ENOTSUP.
 *
 * Timeouts are whole milliseconds (a DWORD, INFINITE = 0xFFFFFFFF), rounded
 * up here so that a wait never ends before its deadline; one longer than
 * INFINITE - 1 ms (~49.7 days) is cut to that and, when it ends, the front
 * layer sees time left and waits again.
 *
 * Wakes: one or all, never a count: futex_wake returns FUTEX_UNCOUNTED, and
 * a max_waiters above 1 wakes every waiter (a spurious wakeup for the extra
 * ones, which every futex user tolerates).
 *
 * Not interruptible: WaitOnAddress is not an alertable wait, and Windows has
 * no signal handlers that could interrupt one.
 */
/* WaitOnAddress is declared for _WIN32_WINNT >= Windows 8. */
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0602
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0602
#endif

#include "../backend.h"

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

const char futex__os_name[] = "windows";

/* WaitOnAddress takes a non-const pointer but only reads through it. Going
 * through uintptr_t drops the const without a -Wcast-qual cast. */
static void *addr_of(const uint32_t *word) { return (void *)(uintptr_t)word; }

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    (void)flags; /* only FUTEX_PRIVATE reaches us: no FUTEX_CAP_SHARED */
    DWORD ms = INFINITE;
    if (deadline_ns != FUTEX_FOREVER) {
        uint64_t left = futex__remaining_ns(deadline_ns);
        if (left == 0)
            return -ETIMEDOUT;
        uint64_t up = left / 1000000u + (left % 1000000u != 0); /* round up: >= 1 ms, never early */
        ms = up >= INFINITE ? INFINITE - 1 : (DWORD)up;
    }
    if (WaitOnAddress(addr_of(word), &expected, sizeof expected, ms))
        return 0; /* woken, spuriously woken, or *word != expected on entry: Windows does not say which */
    DWORD err = GetLastError();
    switch (err) {
    case ERROR_TIMEOUT: return -ETIMEDOUT; /* ms passed (maybe our capped ms: the front layer re-checks) */
    default: return -EIO;                  /* undocumented: reported as an I/O error, never fatal */
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    (void)flags;
    if (max_waiters == 1)
        WakeByAddressSingle(addr_of(word));
    else
        WakeByAddressAll(addr_of(word)); /* no "wake n": more than one means all */
    return FUTEX_UNCOUNTED;              /* both return void: no count, and no error */
}

unsigned futex__os_caps(void) { return 0; }

/* futex_waitv: WaitOnAddress takes one address: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; exact, as every wait here is process-private. */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
