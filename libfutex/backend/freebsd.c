/*
 * FreeBSD: the _umtx_op(2) system call.
 * https://man.freebsd.org/cgi/man.cgi?query=_umtx_op&sektion=2
 * Declarations: <sys/umtx.h> (UMTX_OP_*, struct _umtx_time, UMTX_ABSTIME);
 * behaviour checked against sys/kern/kern_umtx.c (do_wait, kern_umtx_wake,
 * umtx_copyin_umtx_time).
 *
 * UMTX_OP_WAIT_UINT_PRIVATE / UMTX_OP_WAKE_PRIVATE key the word by (process,
 * address) and skip the VM map lookup; FUTEX_SHARED uses the plain
 * UMTX_OP_WAIT_UINT / UMTX_OP_WAKE, which find the backing VM object of a
 * shared mapping so that other processes meet on the same queue.
 *
 * Finite deadlines go to the kernel as they are: a struct _umtx_time with
 * UMTX_ABSTIME on CLOCK_MONOTONIC. The kernel tells which layout uaddr2
 * points to from the size passed in uaddr: a size up to sizeof(struct
 * timespec) means a bare *relative* timespec on CLOCK_REALTIME, so the size
 * is not optional.
 *
 * Two quirks shape the code. A word that no longer holds the value makes the
 * wait return 0, not an error (do_wait only sleeps "if (tmp == id)"), so the
 * front layer sees a spurious wakeup and re-reads the word. And the wake
 * reports no count: it returns 0 however many it woke.
 */
#include "../backend.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/umtx.h>
#include <time.h>

const char futex__os_name[] = "freebsd";

/* time_t is 32 bits on FreeBSD/i386, 64 elsewhere. */
#define TIME_T_MAX ((time_t)(sizeof(time_t) == 8 ? INT64_MAX : INT32_MAX))

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    int op = (flags & FUTEX_SHARED) ? UMTX_OP_WAIT_UINT : UMTX_OP_WAIT_UINT_PRIVATE;
    /* The kernel compares the 32-bit word with the whole u_long: pass the
     * value zero-extended, or a word >= 2^31 would never match. */
    u_long val = (u_long)expected;
    /* Through uintptr_t: the kernel only reads the word, but the prototype
     * takes a plain void *. */
    void *obj = (void *)(uintptr_t)word;
    int rc;
    if (deadline_ns == FUTEX_FOREVER) {
        rc = _umtx_op(obj, op, val, NULL, NULL);
    } else {
        struct _umtx_time tm;
        uint64_t sec = deadline_ns / 1000000000u;
        /* Clamped to time_t; the kernel itself treats anything past 2^31
         * seconds of uptime as "no timeout". Either way a clamped deadline
         * lies centuries ahead and the front layer re-waits if it ends. */
        tm._timeout.tv_sec = sec > (uint64_t)TIME_T_MAX ? TIME_T_MAX : (time_t)sec;
        tm._timeout.tv_nsec = (long)(deadline_ns % 1000000000u);
        tm._flags = UMTX_ABSTIME;
        tm._clockid = CLOCK_MONOTONIC;
        rc = _umtx_op(obj, op, val, (void *)(uintptr_t)sizeof tm, &tm);
    }
    if (rc == 0)
        return 0; /* woken, spurious, or the word already differed (FreeBSD does not say which) */
    switch (errno) {
    case EINTR: return -EINTR;         /* a signal handler ran: the kernel turns even ERESTART into EINTR */
    case ETIMEDOUT: return -ETIMEDOUT; /* the absolute deadline passed */
    case EFAULT: return -EFAULT;       /* the word (or, shared, its mapping) is not mapped */
    case ENOSYS: return -ENOSYS;       /* no _umtx_op here: a jail/emulator without it */
    case EINVAL: return -EINVAL;       /* a bad op, clock or timespec: ours are built in range, so a kernel's refusal */
    default: return -errno;            /* undocumented (capsicum, a newer kernel): handed back, never fatal */
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int op = (flags & FUTEX_SHARED) ? UMTX_OP_WAKE : UMTX_OP_WAKE_PRIVATE;
    /* kern_umtx_wake takes the count as an int: UINT32_MAX would arrive as
     * -1 and wake only one, so "all" is INT_MAX. */
    u_long n = max_waiters > (uint32_t)INT_MAX ? (u_long)INT_MAX : (u_long)max_waiters;
    if (_umtx_op((void *)(uintptr_t)word, op, n, NULL, NULL) == 0)
        return FUTEX_UNCOUNTED; /* the kernel returns 0 however many it woke */
    switch (errno) {
    case EFAULT: return -EFAULT; /* a shared word whose mapping is gone: the caller's bug, reported */
    case ENOSYS: return -ENOSYS; /* no _umtx_op here */
    default: return -errno;      /* EINVAL (a bad op: ours are constants) or undocumented: handed back */
    }
}

unsigned futex__os_caps(void)
{
    return FUTEX_CAP_SHARED | FUTEX_CAP_ABSOLUTE_DEADLINE | FUTEX_CAP_INTERRUPTIBLE;
}

/* futex_waitv: _umtx_op has no wait on several addresses: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; shared words re-checked in slices (futex.h). */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
