/*
 * OpenBSD: futex(2), through libc's futex() wrapper: OpenBSD has removed
 * syscall(2), so the wrapper is the only way in.
 * https://man.openbsd.org/futex.2
 * Declarations: <sys/futex.h> (FUTEX_WAIT, FUTEX_WAKE, FUTEX_PRIVATE_FLAG);
 * behaviour checked against sys/kern/sys_futex.c (futex_wait, futex_wake).
 *
 * FUTEX_PRIVATE_FLAG unless the word is shared: without it the kernel looks
 * the address up in the VM map, and a MAP_SHARED mapping is keyed by its
 * backing object so other processes meet on the same queue.
 *
 * The timeout is relative (the kernel rounds it up to whole ticks), so each
 * call gets the time left until the deadline: a spurious return costs a
 * re-computation, never a stretched wait, because the deadline stays fixed.
 *
 * Results: futex() returns -1 and sets errno, but the first releases with
 * futex(2) returned the error number itself. A positive result from a wait
 * can only be such an error number, so both conventions are read alike.
 */
#include "../backend.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/futex.h>
#include <time.h>

const char futex__os_name[] = "openbsd";

#define TIME_T_MAX ((time_t)(sizeof(time_t) == 8 ? INT64_MAX : INT32_MAX))

/* futex() takes a volatile uint32_t * even for a wait that only reads. */
static volatile uint32_t *uaddr(const uint32_t *word) { return (volatile uint32_t *)(uintptr_t)word; }

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    int op = FUTEX_WAIT | ((flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG);
    struct timespec ts, *tsp = NULL;
    if (deadline_ns != FUTEX_FOREVER) {
        uint64_t left = futex__remaining_ns(deadline_ns);
        if (left == 0)
            return -ETIMEDOUT; /* passed since the front layer looked; a zero timeout would say the same */
        uint64_t sec = left / 1000000000u;
        /* The kernel clamps to its own maximum sleep; we only keep tv_sec
         * in range. A clamped wait ends early and the front layer re-waits. */
        ts.tv_sec = sec > (uint64_t)TIME_T_MAX ? TIME_T_MAX : (time_t)sec;
        ts.tv_nsec = (long)(left % 1000000000u);
        tsp = &ts;
    }
    /* The kernel compares the word with val as 32 bits: the int conversion
     * is only a change of type. */
    int rc = futex(uaddr(word), op, (int)expected, tsp, NULL);
    if (rc == 0)
        return 0; /* woken by FUTEX_WAKE, or spuriously */
    switch (rc == -1 ? errno : rc) {
    case EAGAIN: return -EAGAIN;       /* *word != expected when the kernel looked */
    case ETIMEDOUT: return -ETIMEDOUT; /* the relative timeout ran out */
    case EINTR: return -EINTR;         /* a signal handler ran (no SA_RESTART) */
    case ECANCELED: return -EINTR;     /* a signal handler ran under SA_RESTART: still a signal, and the caller's to see */
    case EFAULT: return -EFAULT;       /* the word is not mapped: the caller's bug, reported */
    case ENOSYS: return -ENOSYS;       /* a kernel that predates FUTEX_PRIVATE_FLAG rejects the op */
    case EINVAL: return -EINVAL;       /* an invalid timespec: ours are in range, so a kernel's refusal */
    default: return -errno;            /* undocumented (pledge, a newer kernel): handed back, never fatal */
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int op = FUTEX_WAKE | ((flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG);
    /* val is an int: INT_MAX is "all" for any real number of threads. */
    int n = max_waiters > (uint32_t)INT_MAX ? INT_MAX : (int)max_waiters;
    int rc = futex(uaddr(word), op, n, NULL, NULL);
    if (rc >= 0)
        return rc; /* the number of threads woken */
    switch (errno) {
    case ENOSYS: return -ENOSYS; /* a kernel that predates FUTEX_PRIVATE_FLAG rejects the op */
    case EFAULT: return -EFAULT; /* not documented for WAKE; reported, not hidden, should a kernel fault */
    default: return -errno;      /* undocumented: handed back, never fatal */
    }
}

unsigned futex__os_caps(void)
{
    /* No FUTEX_CAP_ABSOLUTE_DEADLINE: the kernel only takes a relative timeout. */
    return FUTEX_CAP_SHARED | FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_INTERRUPTIBLE;
}

/* futex_waitv: futex(2) here has no wait on several addresses: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; shared words re-checked in slices (futex.h). */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
