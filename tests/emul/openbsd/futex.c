/*
 * Test-only: OpenBSD's futex(2) (the libc wrapper) on the Linux futex call,
 * so the openbsd backend's own source runs the C suite here. After
 * https://man.openbsd.org/futex.2 and sys/kern/sys_futex.c; what the
 * emulation keeps:
 *
 *   - -1 and errno: EAGAIN (word differs), ETIMEDOUT, EINTR, ECANCELED (a
 *     signal whose handler has SA_RESTART: futex_wait turns ERESTART into
 *     ECANCELED), EFAULT, EINVAL (a negative or out-of-range timeout),
 *     ENOSYS (an unknown op);
 *   - the timeout is relative, and a zero one is ETIMEDOUT at once; the
 *     sleep is rounded up to whole ticks (hz = 100 here);
 *   - FUTEX_WAKE takes val as uint32_t (a negative count wakes all) and
 *     returns the number woken;
 *   - FUTEX_PRIVATE_FLAG keys the word by process, else by mapping.
 * FUTEX_REQUEUE is not emulated (the backend never requeues).
 */
#include "../common/linux-futex.h" /* first: then <sys/futex.h>'s names are OpenBSD's */

#include <sys/futex.h>

#include <stdlib.h>

#define TICK_NS (LX_NS / 100)

static int futex_wait(volatile uint32_t *uaddr, uint32_t val, const struct timespec *timeout, int is_private)
{
    struct timespec end, *endp = NULL;
    if (timeout != NULL) {
        if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= LX_NS)
            return lx_fail(EINVAL);
        uint64_t nsecs = lx_ns_of(timeout);
        if (nsecs == 0)
            return lx_fail(ETIMEDOUT);
        if (nsecs < UINT64_MAX - TICK_NS)
            nsecs = (nsecs + TICK_NS - 1) / TICK_NS * TICK_NS;
        end = lx_add_ns(lx_now(CLOCK_MONOTONIC), nsecs);
        endp = &end;
    }
    switch (lx_wait_until(uaddr, val, is_private, CLOCK_MONOTONIC, endp)) {
    case 0: return 0;
    case -EAGAIN: return lx_fail(EAGAIN);
    case -ETIMEDOUT: return lx_fail(ETIMEDOUT);
    case -EINTR: return lx_fail(lx_handlers_restart() ? ECANCELED : EINTR);
    case -EFAULT: return lx_fail(EFAULT);
    default: abort();
    }
}

static int futex_wake(volatile uint32_t *uaddr, uint32_t n, int is_private)
{
    if (n == 0)
        return 0;
    long rc = lx_wake(uaddr, n > INT_MAX ? INT_MAX : (int)n, is_private);
    /* OpenBSD's wake never fails: an unmapped shared word just has no waiters. */
    return rc < 0 ? 0 : (int)rc;
}

int futex(volatile uint32_t *uaddr, int op, int val, const struct timespec *timeout, volatile uint32_t *uaddr2)
{
    (void)uaddr2; /* FUTEX_REQUEUE's target only */
    int is_private = (op & FUTEX_PRIVATE_FLAG) != 0;
    switch (op & FUTEX_OP_MASK) {
    case FUTEX_WAIT: return futex_wait(uaddr, (uint32_t)val, timeout, is_private);
    case FUTEX_WAKE: return futex_wake(uaddr, (uint32_t)val, is_private);
    case FUTEX_REQUEUE: abort(); /* real, but not emulated */
    default: return lx_fail(ENOSYS);
    }
}
