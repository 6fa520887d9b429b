/*
 * Test-only: NetBSD 10's __futex system call on the Linux one, so the
 * netbsd backend's own source runs the C suite here. The backend calls
 * syscall(SYS___futex, uaddr, op, val, timeout, uaddr2, val2, val3); our
 * sys/syscall.h routes that here. After sys/kern/sys_futex.c (do_futex,
 * futex_func_wait, futex_func_wake); what the emulation keeps:
 *
 *   - -1 and errno: EAGAIN (word differs), ETIMEDOUT, EINTR, EFAULT, EINVAL
 *     (a misaligned word, a zero bitset, a negative wake count), ENOSYS (an
 *     unknown op);
 *   - FUTEX_WAIT's timeout is relative, FUTEX_WAIT_BITSET's absolute, on
 *     CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME;
 *   - a signal whose handler has SA_RESTART restarts the call unseen
 *     (ERESTART), with a relative timeout counted again from the restart;
 *     without SA_RESTART the wait ends with EINTR;
 *   - wakes return the number woken;
 *   - FUTEX_PRIVATE_FLAG keys the word by process, else by mapping.
 * The requeue and wake-op calls are real but not emulated.
 */
#include <sys/syscall.h>
#undef syscall /* the Linux call, from here on */

#include "../common/linux-futex.h" /* first: then <sys/futex.h>'s names are NetBSD's */

#include <sys/futex.h>

#include <stdarg.h>
#include <stdlib.h>

static long futex_func_wait(int *uaddr, int val, int val3, const struct timespec *timeout, clockid_t clkid,
                            int absolute, int is_private)
{
    if (val3 == 0)
        return lx_fail(EINVAL);
    if ((uintptr_t)uaddr & 3)
        return lx_fail(EINVAL);
    for (;;) {
        struct timespec end, *endp = NULL;
        if (timeout != NULL) {
            end = absolute ? *timeout : lx_add_ns(lx_now(clkid), lx_ns_of(timeout));
            endp = &end;
        }
        switch (lx_wait_until(uaddr, (uint32_t)val, is_private, clkid, endp)) {
        case 0: return 0;
        case -EAGAIN: return lx_fail(EAGAIN);
        case -ETIMEDOUT: return lx_fail(ETIMEDOUT);
        case -EINTR:
            if (lx_handlers_restart())
                continue; /* ERESTART: the system call runs again */
            return lx_fail(EINTR);
        case -EFAULT: return lx_fail(EFAULT);
        case -EINVAL: return lx_fail(EINVAL); /* a timespec the kernel cannot use */
        default: abort();
        }
    }
}

static long futex_func_wake(int *uaddr, int val, int is_private)
{
    if (val < 0 || ((uintptr_t)uaddr & 3))
        return lx_fail(EINVAL);
    if (val == 0)
        return 0;
    long rc = lx_wake(uaddr, val, is_private);
    return rc < 0 ? lx_fail((int)-rc) : rc;
}

static long do_futex(int *uaddr, int op, int val, const struct timespec *timeout, int val3)
{
    int is_private = (op & FUTEX_PRIVATE_FLAG) != 0;
    clockid_t clkid = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT: return futex_func_wait(uaddr, val, FUTEX_BITSET_MATCH_ANY, timeout, clkid, 0, is_private);
    case FUTEX_WAIT_BITSET:
        if (val3 != FUTEX_BITSET_MATCH_ANY)
            abort(); /* partial bitsets are not emulated */
        return futex_func_wait(uaddr, val, val3, timeout, clkid, 1, is_private);
    case FUTEX_WAKE: return futex_func_wake(uaddr, val, is_private);
    case FUTEX_WAKE_BITSET:
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_WAKE_OP: abort(); /* real, but not emulated */
    default: return lx_fail(ENOSYS);
    }
}

long futex_emul_netbsd_syscall(long number, ...)
{
    if (number != SYS___futex)
        abort(); /* only the futex call is routed here */
    va_list ap;
    va_start(ap, number);
    int *uaddr = va_arg(ap, int *);
    int op = va_arg(ap, int);
    int val = va_arg(ap, int);
    const struct timespec *timeout = va_arg(ap, const struct timespec *);
    (void)va_arg(ap, int *); /* uaddr2: requeue and wake-op only */
    (void)va_arg(ap, int);   /* val2: likewise */
    int val3 = va_arg(ap, int);
    va_end(ap);
    return do_futex(uaddr, op, val, timeout, val3);
}
