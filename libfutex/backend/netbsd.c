/*
 * NetBSD 10+: the __futex system call, called as
 * syscall(SYS___futex, uaddr, op, val, timeout, uaddr2, val2, val3).
 * Declarations: <sys/futex.h> (Linux-compatible FUTEX_* values) and
 * <sys/syscall.h> (SYS___futex); there is no libc wrapper, and NetBSD's own
 * tests (tests/lib/libc/sys/t_futex_ops.c) call it the same way. Behaviour
 * checked against sys/kern/sys_futex.c (futex_func_wait, futex_func_wake).
 *
 * Older NetBSD has no futex call, and no SYS___futex in its headers: there
 * this file is the POSIX parking lot (posix.c), which then names itself
 * "posix" and reports its own capabilities.
 *
 * FUTEX_PRIVATE_FLAG unless the word is shared: private futexes are keyed by
 * (vmspace, address), shared ones by the backing VM object.
 *
 * Finite deadlines go to the kernel as they are, with FUTEX_WAIT_BITSET: its
 * timeout is absolute, on CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME is
 * set, so a loop of waits on one deadline cannot drift.
 *
 * Signals: the kernel ends a wait with EINTR, but under SA_RESTART it
 * restarts the call unseen (ERESTART), even for a finite deadline. A caller
 * could therefore never count on seeing a signal, so this backend does not
 * claim FUTEX_CAP_INTERRUPTIBLE and, for one consistent behaviour, waits
 * again after EINTR too: a signal never ends a wait here.
 */
#include <sys/syscall.h>

#if !defined(SYS___futex)
#include "posix.c"
#else

#include "../backend.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/futex.h>
#include <time.h>
#include <unistd.h>

const char futex__os_name[] = "netbsd";

static int sys_futex(const uint32_t *word, int op, int val, const struct timespec *ts, int val3)
{
    int rc = (int)syscall(SYS___futex, word, op, val, ts, (int *)0, 0, val3);
    return rc == -1 ? -errno : rc;
}

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    int priv = (flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG;
    struct timespec ts;
    if (deadline_ns != FUTEX_FOREVER) {
        /* time_t is 64 bits on every NetBSD port: no clamp needed before
         * year 292e9, and the kernel compares the timespec as it is. */
        ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
        ts.tv_nsec = (long)(deadline_ns % 1000000000u);
    }
    for (;;) {
        /* The kernel compares the word as an int: the conversion only changes the type. */
        int rc = deadline_ns == FUTEX_FOREVER
                     ? sys_futex(word, FUTEX_WAIT | priv, (int)expected, NULL, 0)
                     : sys_futex(word, FUTEX_WAIT_BITSET | priv, (int)expected, &ts, FUTEX_BITSET_MATCH_ANY);
        switch (rc) {
        case 0: return 0;                   /* woken by a wake, or the futex went away */
        case -EAGAIN: return -EAGAIN;       /* *word != expected when the kernel looked */
        case -ETIMEDOUT: return -ETIMEDOUT; /* the absolute deadline passed */
        case -EINTR: continue;              /* a signal handler ran: wait on, as SA_RESTART would (see above) */
        case -EFAULT: return -EFAULT;       /* the word (or, shared, its mapping) is not mapped */
        case -ENOMEM: return 0;             /* no memory for the kernel's wait record now: a spurious wakeup, retried by the caller */
        case -ENOSYS: return -ENOSYS;       /* a kernel without this op (compat layers) */
        case -EINVAL: return -EINVAL;       /* a misaligned word or a zero bitset, both excluded: a kernel's refusal */
        default: return rc;                 /* undocumented (a sandbox, a newer kernel): handed back, never fatal */
        }
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int priv = (flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG;
    /* A negative count is EINVAL: INT_MAX is "all". */
    int n = max_waiters > (uint32_t)INT_MAX ? INT_MAX : (int)max_waiters;
    int rc = sys_futex(word, FUTEX_WAKE | priv, n, NULL, 0);
    if (rc >= 0)
        return rc; /* the number of waiters woken */
    switch (rc) {
    case -EFAULT: return -EFAULT; /* a shared word whose mapping is gone: the caller's bug, reported */
    case -ENOSYS: return -ENOSYS; /* a kernel without this op */
    default: return rc;           /* EINVAL (excluded by our checks) or undocumented: handed back */
    }
}

unsigned futex__os_caps(void)
{
    return FUTEX_CAP_SHARED | FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_ABSOLUTE_DEADLINE;
}

/* futex_waitv: NetBSD's futex(2) has no FUTEX_WAITV: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; shared words re-checked in slices (futex.h). */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}

#endif /* SYS___futex */

