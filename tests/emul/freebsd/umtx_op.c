/*
 * Test-only: FreeBSD's _umtx_op(2) for the wait/wake ops on the Linux
 * futex call, so the freebsd backend's own source runs the C suite here.
 * After https://man.freebsd.org/cgi/man.cgi?query=_umtx_op&sektion=2 and
 * sys/kern/kern_umtx.c; what the emulation keeps, with the kernel's names:
 *
 *   - the timeout's layout is chosen by the size passed in uaddr
 *     (umtx_copyin_umtx_time): up to sizeof(struct timespec) it is a bare
 *     relative timespec on CLOCK_REALTIME, above that a struct _umtx_time
 *     with _flags (UMTX_ABSTIME) and _clockid; a negative or out-of-range
 *     timespec is EINVAL;
 *   - do_wait reads the word as 32 bits but compares it with the whole
 *     u_long val, and a word that differs is no error: the wait returns 0;
 *   - every signal ends a wait with EINTR (ERESTART is turned into EINTR);
 *   - kern_umtx_wake takes the count as an int and wakes at least one
 *     (umtxq_signal stops "if (++ret >= n_wake)"), and returns 0, never a
 *     count;
 *   - the _PRIVATE ops key the word by process, the others by mapping.
 * Clocks other than CLOCK_REALTIME and CLOCK_MONOTONIC are not emulated.
 */
#include <sys/types.h>
#include <sys/umtx.h>

#include "../common/linux-futex.h"

#include <stdlib.h>

/* umtx_copyin_umtx_time: uaddr carries the size of what uaddr2 points to. */
static int copyin_umtx_time(const void *uaddr, const void *uaddr2, struct _umtx_time *tp)
{
    size_t size = (size_t)(uintptr_t)uaddr;
    if (size <= sizeof(tp->_timeout)) {
        memcpy(&tp->_timeout, uaddr2, sizeof tp->_timeout);
        tp->_flags = 0;
        tp->_clockid = CLOCK_REALTIME;
    } else {
        memcpy(tp, uaddr2, sizeof *tp);
    }
    if (tp->_timeout.tv_sec < 0 || tp->_timeout.tv_nsec < 0 || tp->_timeout.tv_nsec >= LX_NS)
        return EINVAL;
    return 0;
}

static int do_wait(void *obj, u_long id, void *uaddr, void *uaddr2, int is_private)
{
    struct timespec end, *endp = NULL;
    clockid_t clock = CLOCK_MONOTONIC;
    if (uaddr2 != NULL) {
        struct _umtx_time tm;
        int error = copyin_umtx_time(uaddr, uaddr2, &tm);
        if (error != 0)
            return lx_fail(error);
        if (tm._clockid != CLOCK_REALTIME && tm._clockid != CLOCK_MONOTONIC)
            abort(); /* a clock this emulation does not cover */
        clock = (clockid_t)tm._clockid;
        end = (tm._flags & UMTX_ABSTIME) ? tm._timeout : lx_add_ns(lx_now(clock), lx_ns_of(&tm._timeout));
        endp = &end;
    }
    /* "if (tmp == id)": a 32-bit word never equals a u_long with high bits. */
    if ((u_long)(uint32_t)id != id)
        return 0;
    switch (lx_wait_until(obj, (uint32_t)id, is_private, clock, endp)) {
    case 0: return 0;
    case -EAGAIN: return 0; /* the word differed: FreeBSD returns success */
    case -ETIMEDOUT: return lx_fail(ETIMEDOUT);
    case -EINTR: return lx_fail(EINTR); /* EINTR and ERESTART alike */
    case -EFAULT: return lx_fail(EFAULT);
    default: abort();
    }
}

static int kern_umtx_wake(void *uaddr, int n_wake, int is_private)
{
    long rc = lx_wake(uaddr, n_wake < 1 ? 1 : n_wake, is_private);
    if (rc == -EFAULT)
        return lx_fail(EFAULT); /* umtx_key_get: no mapping for a shared key */
    if (rc < 0)
        abort();
    return 0; /* never the count */
}

int _umtx_op(void *obj, int op, u_long val, void *uaddr, void *uaddr2)
{
    switch (op) {
    case UMTX_OP_WAIT_UINT: return do_wait(obj, val, uaddr, uaddr2, 0);
    case UMTX_OP_WAIT_UINT_PRIVATE: return do_wait(obj, val, uaddr, uaddr2, 1);
    case UMTX_OP_WAKE: return kern_umtx_wake(obj, (int)val, 0);
    case UMTX_OP_WAKE_PRIVATE: return kern_umtx_wake(obj, (int)val, 1);
    default: return lx_fail(EINVAL); /* as the kernel answers an op it does not know */
    }
}
