/*
 * Single-threaded: for builds with no threads (SQLite's "noop" mutexes). No
 * other thread can change the word or wake us, so a wait with a deadline
 * sleeps until it, and a wait without one reports the deadlock instead of
 * hanging. A signal handler could still change the word, so the sleep ends
 * early on a signal and the front layer's caller re-checks.
 */
#include "../atomic.h"
#include "../backend.h"

#include <errno.h>
#include <stdint.h>
#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <time.h>
#endif

const char futex__os_name[] = "single";

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    if (flags & FUTEX__UNTIMED)
        return -EDEADLK; /* nothing can ever wake us: say so rather than hang */
    uint64_t left = futex__remaining_ns(deadline_ns);
#if defined(_WIN32)
    Sleep((DWORD)(left / 1000000u > 0x7FFFFFFEu ? 0x7FFFFFFEu : (left + 999999u) / 1000000u));
    (void)word, (void)expected;
    return -ETIMEDOUT; /* possibly clamped: the front layer checks the clock */
#else
    struct timespec ts;
    uint64_t sec = left / 1000000000u;
    /* Clamp to 2^31 s: fits any time_t; the front layer sleeps again. */
    ts.tv_sec = (time_t)(sec > 0x7FFFFFFFu ? 0x7FFFFFFFu : sec);
    ts.tv_nsec = (long)(left % 1000000000u);
    if (nanosleep(&ts, NULL) != 0)
        return errno == EINTR ? -EINTR : -errno; /* EINTR: a handler ran and may have changed the word */
    /* The word can only have changed in a signal handler, which would have cut the sleep short. */
    return futex__atomic_load(word, FUTEX__SEQ_CST) != expected ? -EAGAIN : -ETIMEDOUT;
#endif
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    (void)word, (void)max_waiters, (void)flags;
    return 0; /* there is never anyone else to wake */
}

unsigned futex__os_caps(void) { return FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_INTERRUPTIBLE; }

/* futex_waitv: nothing but a signal handler can change a word here: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; a deadline sleeps until it; no deadline is -EDEADLK. */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
