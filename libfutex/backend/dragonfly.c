/*
 * DragonFly BSD: umtx_sleep(2) / umtx_wakeup(2).
 * https://man.dragonflybsd.org/?command=umtx&section=2
 * Declarations: <unistd.h> (int umtx_sleep(volatile const int *, int, int);
 * int umtx_wakeup(volatile const int *, int)); behaviour checked against
 * sys/kern/kern_umtx.c (sys_umtx_sleep, sys_umtx_wakeup).
 *
 * The kernel keys sleepers by the physical address of the word, so every
 * wait is process-shared: FUTEX_SHARED needs nothing more, and there is no
 * private variant to ask for.
 *
 * Timeouts are microseconds, 0 meaning none, and the manual limits them to
 * 0..1000000: longer waits are cut into slices of at most one second. Even
 * an unlimited sleep comes back with EWOULDBLOCK (EAGAIN) at the kernel's
 * refresh (kern.umtx_timeout_max, 2 s), and so does a sleep whose page moved
 * (a page-out or copy-on-write): EAGAIN is "look again", never a verdict.
 * Whether the deadline has passed is decided here on the monotonic clock,
 * as Zig's DragonflyImpl does, and a slice that ends early is simply waited
 * again.
 *
 * umtx_wakeup wakes one waiter for a count of 1 and every waiter otherwise
 * (0 is "all"), and never says how many it woke.
 */
#include "../backend.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

const char futex__os_name[] = "dragonfly";

/* umtx(2): "The timeout is limited to the range 0-1000000 microseconds." */
#define MAX_SLEEP_US 1000000

/* The word as umtx wants it: a (volatile const) int at the same address. */
static volatile const int *uaddr(const uint32_t *word) { return (volatile const int *)word; }

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    (void)flags; /* keyed by physical address: every wait already reaches other processes */
    for (;;) {
        int timeout_us = 0; /* no timeout (the kernel still returns EAGAIN at its refresh) */
        if (deadline_ns != FUTEX_FOREVER) {
            uint64_t left = futex__remaining_ns(deadline_ns);
            if (left == 0)
                return -ETIMEDOUT; /* decided on our monotonic clock, never on the kernel's EAGAIN */
            /* Round up: a timeout below 1 µs must not become 0, which is "forever". */
            uint64_t us = (left + 999u) / 1000u;
            timeout_us = us > MAX_SLEEP_US ? MAX_SLEEP_US : (int)us;
        }
        /* The kernel compares the word as an int: the conversion only changes the type. */
        if (umtx_sleep(uaddr(word), (int)expected, timeout_us) == 0)
            return 0; /* woken by umtx_wakeup (or by a fork, which wakes every sleeper) */
        switch (errno) {
        case EBUSY: return -EAGAIN; /* *word != expected when the kernel looked */
        case EINTR: return -EINTR;  /* a signal handler ran; the kernel breaks out even under SA_RESTART */
        case EAGAIN: continue;      /* EWOULDBLOCK: a slice ran out, the 2 s refresh, or the page moved: look again */
        case EINVAL: return -EFAULT; /* the kernel could not translate the address: not mapped (our timeouts are in range) */
        case EFAULT: return -EFAULT; /* misaligned or not mapped: the caller's bug, reported */
        case ENOSYS: return -ENOSYS; /* no umtx here (an emulator) */
        default: return -errno;      /* undocumented (a sandbox, a newer kernel): handed back, never fatal */
        }
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    (void)flags;
    /* 0 is "all"; any count above 1 wakes all anyway. */
    int count = max_waiters > (uint32_t)INT_MAX ? 0 : (int)max_waiters;
    if (umtx_wakeup(uaddr(word), count) == 0)
        return FUTEX_UNCOUNTED; /* "will generally return 0 unless the address is bad" */
    switch (errno) {
    case EINVAL: return -EFAULT; /* the address cannot be translated: not mapped */
    case EFAULT: return -EFAULT; /* misaligned or not mapped */
    case ENOSYS: return -ENOSYS; /* no umtx here */
    default: return -errno;      /* undocumented: handed back, never fatal */
    }
}

unsigned futex__os_caps(void)
{
    /* No wake count, and the kernel takes no deadline (one-second slices). */
    return FUTEX_CAP_SHARED | FUTEX_CAP_INTERRUPTIBLE;
}

/* futex_waitv: umtx_sleep takes one address: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; shared words re-checked in slices (futex.h). */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
