/*
 * Test-only: what the four BSD emulations (tests/emul/{freebsd,openbsd,
 * dragonfly,netbsd}) build their OS's call from. Each shim implements one
 * BSD primitive with that OS's signature, units, flags and errno
 * conventions on top of the Linux futex(2) call below.
 *
 * Include this before the BSD header that declares the emulated call (see
 * the end of this file).
 *
 * Every emulated sleep is a *timed* Linux wait (a far-future deadline stands
 * in for "no timeout"): a timed futex wait ends with EINTR whenever a signal
 * handler runs, SA_RESTART or not, so each shim sees every signal and can
 * answer as its OS does (FreeBSD and DragonFly: EINTR; OpenBSD: EINTR or
 * ECANCELED; NetBSD: EINTR or a silent restart).
 */
#ifndef FUTEX_EMUL_LINUX_FUTEX_H
#define FUTEX_EMUL_LINUX_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LX_NS 1000000000LL

/* Linux futex(2): the count or 0, or -errno. */
static inline long lx_futex(const volatile void *uaddr, int op, uint32_t val, const struct timespec *ts,
                            uint32_t val3)
{
    long rc = syscall(SYS_futex, uaddr, op, val, ts, (uint32_t *)0, val3);
    return rc < 0 ? -errno : rc;
}

static inline struct timespec lx_now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts;
}

/* base + ns, saturating far in the future (Linux clamps to KTIME_MAX anyway). */
static inline struct timespec lx_add_ns(struct timespec base, uint64_t ns)
{
    uint64_t sec = ns / LX_NS;
    if (sec > (uint64_t)INT32_MAX * 4)
        sec = (uint64_t)INT32_MAX * 4;
    base.tv_sec += (time_t)sec;
    base.tv_nsec += (long)(ns % LX_NS);
    if (base.tv_nsec >= LX_NS) {
        base.tv_sec++;
        base.tv_nsec -= LX_NS;
    }
    return base;
}

/* A timespec as nanoseconds, saturating. */
static inline uint64_t lx_ns_of(const struct timespec *ts)
{
    if ((uint64_t)ts->tv_sec > (UINT64_MAX - (uint64_t)ts->tv_nsec) / LX_NS)
        return UINT64_MAX;
    return (uint64_t)ts->tv_sec * LX_NS + (uint64_t)ts->tv_nsec;
}

/* Test knob: while positive, each timed wait returns ETIMEDOUT at once and
 * counts it down -- an OS ending a wait early, as a clamped or rounded
 * timeout does -- so the C suite can prove the front layer waits again
 * (tests/c/test-intr.c). Defined here because each emulation includes this
 * header from exactly one file. */
int futex_emul_early_timeouts;

/* Block while *uaddr == val until woken, a signal, or the absolute time *abs
 * on `clock` (CLOCK_MONOTONIC or CLOCK_REALTIME; NULL: a century away).
 * 0, -EAGAIN, -ETIMEDOUT, -EINTR or -EFAULT. */
static inline long lx_wait_until(const volatile void *uaddr, uint32_t val, int private_, clockid_t clock,
                                 const struct timespec *abs)
{
    struct timespec far;
    int left = __atomic_load_n(&futex_emul_early_timeouts, __ATOMIC_SEQ_CST);
    while (abs != NULL && left > 0)
        if (__atomic_compare_exchange_n(&futex_emul_early_timeouts, &left, left - 1, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return -ETIMEDOUT;
    if (abs == NULL) {
        far = lx_add_ns(lx_now(CLOCK_MONOTONIC), (uint64_t)100 * 365 * 86400 * LX_NS);
        abs = &far;
        clock = CLOCK_MONOTONIC;
    }
    int op = FUTEX_WAIT_BITSET | (private_ ? FUTEX_PRIVATE_FLAG : 0) |
             (clock == CLOCK_REALTIME ? FUTEX_CLOCK_REALTIME : 0);
    return lx_futex(uaddr, op, val, abs, FUTEX_BITSET_MATCH_ANY);
}

/* Wake up to n (>= 1) waiters: the count woken, or -errno. */
static inline long lx_wake(const volatile void *uaddr, int n, int private_)
{
    return lx_futex(uaddr, FUTEX_WAKE | (private_ ? FUTEX_PRIVATE_FLAG : 0), (uint32_t)n, NULL, 0);
}

/* After a wait ended with EINTR: did the handler that ran ask for
 * SA_RESTART? Linux does not say which signal it was, so this answers for
 * the handlers installed: yes if there is at least one and all of them have
 * SA_RESTART (a test installs one handler at a time). */
static inline int lx_handlers_restart(void)
{
    int any = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) != 0)
            continue; /* glibc's internal signals refuse the query */
        int handled = (sa.sa_flags & SA_SIGINFO) ? sa.sa_sigaction != NULL
                                                 : sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
        if (!handled)
            continue;
        if (!(sa.sa_flags & SA_RESTART))
            return 0;
        any = 1;
    }
    return any;
}

/* The errno convention every BSD call uses: -1 and errno. */
static inline int lx_fail(int e)
{
    errno = e;
    return -1;
}

/* The BSD headers a shim includes after this one define some of
 * <linux/futex.h>'s names with their own values (OpenBSD's FUTEX_WAIT is 1,
 * Linux's 0). The functions above have expanded Linux's already; from here
 * on the names are free for the BSD's. */
#undef FUTEX_WAIT
#undef FUTEX_WAKE
#undef FUTEX_FD
#undef FUTEX_REQUEUE
#undef FUTEX_CMP_REQUEUE
#undef FUTEX_WAKE_OP
#undef FUTEX_LOCK_PI
#undef FUTEX_UNLOCK_PI
#undef FUTEX_TRYLOCK_PI
#undef FUTEX_WAIT_BITSET
#undef FUTEX_WAKE_BITSET
#undef FUTEX_WAIT_REQUEUE_PI
#undef FUTEX_CMP_REQUEUE_PI
#undef FUTEX_PRIVATE_FLAG
#undef FUTEX_CLOCK_REALTIME
#undef FUTEX_CMD_MASK
#undef FUTEX_BITSET_MATCH_ANY
#undef FUTEX_WAIT_PRIVATE
#undef FUTEX_WAKE_PRIVATE
#undef FUTEX_REQUEUE_PRIVATE

#endif
