/*
 * Test-only: DragonFly's umtx_sleep(2) / umtx_wakeup(2) on the Linux futex
 * call, so the dragonfly backend's own source runs the C suite here. After
 * https://man.dragonflybsd.org/?command=umtx&section=2 and
 * sys/kern/kern_umtx.c; what the emulation keeps:
 *
 *   - timeouts in microseconds, 0 meaning none, and only 0..1000000
 *     accepted (the manual's limit; anything else is EINVAL);
 *   - EBUSY when the word differs, EINTR for every signal (the kernel breaks
 *     out "even if restartable"), EFAULT for a misaligned word, EINVAL for an
 *     address it cannot translate;
 *   - EWOULDBLOCK (EAGAIN) for a timeout, and also where no time ran out:
 *     an unlimited sleep refreshes every 2 s (kern.umtx_timeout_max), and
 *     every fifth sleep here comes back at once, as after a page-out or COW;
 *   - the sleep is rounded up to whole ticks (hz = 100 here);
 *   - waiters are keyed by physical address: always process-shared;
 *   - umtx_wakeup wakes one for a count of 1 and all otherwise, returning 0.
 */
#include <unistd.h>

#include "../common/linux-futex.h"

#include <stdlib.h>

#define TICK_NS (LX_NS / 100)
#define REFRESH_US 2000000 /* kern.umtx_timeout_max */

static unsigned sleeps; /* atomic: picks the sleeps that come back early */

int umtx_sleep(volatile const int *ptr, int value, int timeout)
{
    if (timeout < 0 || timeout > 1000000)
        return lx_fail(EINVAL);
    if ((uintptr_t)ptr & (sizeof(int) - 1))
        return lx_fail(EFAULT);
    uint64_t us = (timeout == 0 || timeout > REFRESH_US) ? REFRESH_US : (uint64_t)timeout;
    uint64_t ns = (us * 1000 + TICK_NS - 1) / TICK_NS * TICK_NS;
    if (__atomic_add_fetch(&sleeps, 1, __ATOMIC_RELAXED) % 5 == 0)
        ns = 0; /* the page moved: back at once, after the value check */
    struct timespec end = lx_add_ns(lx_now(CLOCK_MONOTONIC), ns);
    switch (lx_wait_until(ptr, (uint32_t)value, 0, CLOCK_MONOTONIC, &end)) {
    case 0: return 0;
    case -EAGAIN: return lx_fail(EBUSY);
    case -ETIMEDOUT: return lx_fail(EWOULDBLOCK);
    case -EINTR: return lx_fail(EINTR);
    case -EFAULT: return lx_fail(EINVAL); /* "can't translate" */
    default: abort();
    }
}

int umtx_wakeup(volatile const int *ptr, int count)
{
    if ((uintptr_t)ptr & (sizeof(int) - 1))
        return lx_fail(EFAULT);
    long rc = lx_wake(ptr, count == 1 ? 1 : INT_MAX, 0);
    if (rc == -EFAULT)
        return lx_fail(EINVAL); /* "can't translate" */
    if (rc < 0)
        abort();
    return 0;
}
