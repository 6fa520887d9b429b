/*
 * Darwin (macOS, iOS, tvOS, watchOS, visionOS).
 *
 *   - macOS 14.4+ (iOS 17.4+ ...): the public os_sync_wait_on_address family,
 *     <os/os_sync_wait_on_address.h>,
 *     https://developer.apple.com/documentation/os/os_sync_wait_on_address
 *     (_with_deadline for finite deadlines, os_sync_wake_by_address_any/all).
 *   - macOS 11+: the private __ulock_wait2 (64-bit nanosecond timeout).
 *   - older: __ulock_wait (32-bit microsecond timeout).
 * The __ulock calls are declared in xnu's bsd/sys/ulock.h, which the SDK does
 * not ship; their behaviour is xnu's bsd/kern/sys_ulock.c
 * (https://github.com/apple-oss-distributions/xnu). libc++ (std::atomic::wait),
 * libdispatch and Zig's std.Thread.Futex use them on every macOS they support.
 *
 * The path is picked at run time with __builtin_available, so one binary built
 * for an old deployment target uses os_sync where the OS has it (its symbols
 * are weak imports there).
 *
 * Wakes: Darwin wakes one or all and never says how many, so futex_wake
 * returns FUTEX_UNCOUNTED, and a max_waiters above 1 wakes every waiter (a
 * spurious wakeup for the extra ones, which every futex user tolerates).
 *
 * A wait whose word already differs returns success with a waiter count on
 * every path, exactly like a wake: Darwin cannot report "value changed", so
 * such a wait returns 0 (spurious) here, never -EAGAIN.
 *
 * Deadlines: os_sync_wait_on_address_with_deadline takes an absolute
 * mach_absolute_time() deadline. The front layer's clock (CLOCK_MONOTONIC)
 * keeps counting while the machine sleeps and mach_absolute_time does not, so
 * the remaining time is carried over from one clock to the other at each call;
 * a system sleep during the wait can only make it end later, never early.
 */
#include "../atomic.h"
#include "../backend.h"

/* <Availability.h>: the deployment-target macros __builtin_available checks
 * against (tests/emul/darwin's copy emulates __builtin_available itself). */
#include <Availability.h>
#include <errno.h>
#include <mach/mach_time.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

const char futex__os_name[] = "darwin";

/* A weak import: the symbol resolves to NULL on an OS without it, instead of
 * the binary failing to load. Only ever called behind __builtin_available. */
#if defined(__APPLE__)
#define WEAK_IMPORT __attribute__((weak_import))
#else
#define WEAK_IMPORT __attribute__((weak)) /* ELF's spelling, for tests/emul/darwin */
#endif

/* ---- declarations the SDK may lack --------------------------------------- */

/* xnu bsd/sys/ulock.h (private: never in the SDK). */
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
extern int __ulock_wait2(uint32_t operation, void *addr, uint64_t value, uint64_t timeout_ns, uint64_t value2)
    WEAK_IMPORT;
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);

#define UL_COMPARE_AND_WAIT 1
#define UL_COMPARE_AND_WAIT_SHARED 3
#define ULF_WAKE_ALL 0x00000100
#define ULF_NO_ERRNO 0x01000000 /* return -errno instead of setting errno */

#if __has_include(<os/os_sync_wait_on_address.h>)
#include <os/os_sync_wait_on_address.h>
#else
/* SDKs before macOS 14.4 (and zig's bundled headers) lack the header; the
 * public ABI, from the macOS 14.4 SDK: the flag types and os_clockid_t are
 * uint32_t enums. Weak, so that the binary loads where they are missing. */
extern int os_sync_wait_on_address(void *addr, uint64_t value, size_t size, uint32_t flags)
    WEAK_IMPORT;
extern int os_sync_wait_on_address_with_deadline(void *addr, uint64_t value, size_t size, uint32_t flags,
                                                 uint32_t clockid, uint64_t deadline) WEAK_IMPORT;
extern int os_sync_wake_by_address_any(void *addr, size_t size, uint32_t flags) WEAK_IMPORT;
extern int os_sync_wake_by_address_all(void *addr, size_t size, uint32_t flags) WEAK_IMPORT;
#define OS_SYNC_WAIT_ON_ADDRESS_NONE 0u
#define OS_SYNC_WAIT_ON_ADDRESS_SHARED 1u
#define OS_SYNC_WAKE_BY_ADDRESS_NONE 0u
#define OS_SYNC_WAKE_BY_ADDRESS_SHARED 1u
#define OS_CLOCK_MACH_ABSOLUTE_TIME 32u
#endif

/* The calls take a non-const void * but never write through it. Going
 * through uintptr_t drops the const without a -Wcast-qual cast. */
static void *addr_of(const uint32_t *word) { return (void *)(uintptr_t)word; }

/* ---- mach_absolute_time ---------------------------------------------------- */

static uint32_t tb_numer, tb_denom; /* 0 until first asked; races only store the same values */

/* Ticks of mach_absolute_time after `ns` nanoseconds, rounded up so that
 * the OS never gives up before the front layer's deadline. Ticks are 1 ns on
 * Intel and 125/3 ns on Apple silicon. Returns 0 if it would not fit. */
static uint64_t ns_to_ticks(uint64_t ns)
{
    uint32_t numer = futex__atomic_load(&tb_numer, FUTEX__RELAXED);
    uint32_t denom = futex__atomic_load(&tb_denom, FUTEX__RELAXED);
    if (numer == 0 || denom == 0) {
        mach_timebase_info_data_t tb;
        if (mach_timebase_info(&tb) != KERN_SUCCESS || tb.numer == 0 || tb.denom == 0)
            abort(); /* mach_timebase_info cannot fail on a real system */
        numer = tb.numer, denom = tb.denom;
        futex__atomic_store(&tb_denom, denom, FUTEX__RELAXED);
        futex__atomic_store(&tb_numer, numer, FUTEX__RELAXED);
    }
    /* ticks = ceil(ns * denom / numer), split so no product overflows. */
    uint64_t whole = ns / numer, rest = ns % numer;
    if (whole > (UINT64_MAX >> 2) / denom)
        return 0;
    return whole * denom + (rest * denom + numer - 1) / numer;
}

/* ---- wait ------------------------------------------------------------------ */

/* The longest single os_sync deadline we compute, ~52 days: keeps the tick
 * arithmetic far from overflow. Longer waits return -ETIMEDOUT early and the
 * front layer, seeing time left, waits again. */
#define MAX_OS_SYNC_NS (UINT64_C(1) << 52)

/* Returns 0, or the -errno of a failed call, normalized below. */
static int os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    if (__builtin_available(macOS 14.4, iOS 17.4, tvOS 17.4, watchOS 10.4, *)) {
        uint32_t f = (flags & FUTEX_SHARED) ? OS_SYNC_WAIT_ON_ADDRESS_SHARED : OS_SYNC_WAIT_ON_ADDRESS_NONE;
        int rc;
        if (deadline_ns == FUTEX_FOREVER) {
            rc = os_sync_wait_on_address(addr_of(word), expected, sizeof *word, f);
        } else {
            uint64_t left = futex__remaining_ns(deadline_ns);
            if (left == 0)
                return -ETIMEDOUT;
            if (left > MAX_OS_SYNC_NS)
                left = MAX_OS_SYNC_NS;
            /* left >= 1 ns rounds up to >= 1 tick, so the deadline is never
             * 0, which os_sync rejects with EINVAL. */
            uint64_t deadline = mach_absolute_time() + ns_to_ticks(left);
            rc = os_sync_wait_on_address_with_deadline(addr_of(word), expected, sizeof *word, f,
                                                       OS_CLOCK_MACH_ABSOLUTE_TIME, deadline);
        }
        return rc >= 0 ? 0 : -errno; /* >= 0: the number of waiters still blocked */
    }

    uint32_t op = ((flags & FUTEX_SHARED) ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT) | ULF_NO_ERRNO;
    uint64_t left = 0; /* 0: no timeout, for both __ulock calls */
    if (deadline_ns != FUTEX_FOREVER) {
        left = futex__remaining_ns(deadline_ns);
        if (left == 0)
            return -ETIMEDOUT; /* and never pass 0: it would mean forever */
    }
    int rc;
    if (__builtin_available(macOS 11.0, iOS 14.0, tvOS 14.0, watchOS 7.0, *)) {
        rc = __ulock_wait2(op, addr_of(word), expected, left, 0);
    } else {
        /* 32-bit microseconds (~71 minutes), rounded up so we never wake
         * before the deadline; a longer wait is capped, and the -ETIMEDOUT
         * it ends with is re-checked by the front layer, which waits again. */
        uint64_t us = left / 1000u + (left % 1000u != 0);
        rc = __ulock_wait(op, addr_of(word), expected, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
    }
    return rc >= 0 ? 0 : rc; /* ULF_NO_ERRNO: -errno on failure, else the count of other waiters */
}

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    int rc = os_wait(word, expected, deadline_ns, flags);
    switch (rc) {
    case 0: return 0;                   /* woken, spuriously woken, or the word differed */
    case -EINTR: return -EINTR;         /* a signal handler ran (the wait is THREAD_ABORTSAFE) */
    case -ETIMEDOUT: return -ETIMEDOUT; /* the deadline, or our capped timeout, passed */
    case -EFAULT: return 0;   /* the word's page was paged out: the kernel reads it under a spinlock and
                               * cannot fault it in, so it returns for us to touch it and retry (libdispatch
                               * and pthread do the same); the front layer had just read it, so it is mapped */
    case -ENOMEM: return 0;   /* the kernel could not allocate its wait queue: return as a spurious wakeup */
    case -EINVAL: return -EINVAL; /* a FUTEX_SHARED word the kernel cannot find a VM object for */
    case -EDOM: return -EINVAL;   /* the word is also in use as a different kind of ulock (an os_unfair_lock) */
    default: return rc;           /* undocumented (a sandbox, a newer kernel): handed back, never fatal */
    }
}

/* ---- wake ------------------------------------------------------------------ */

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int rc;
    for (;;) {
        if (__builtin_available(macOS 14.4, iOS 17.4, tvOS 17.4, watchOS 10.4, *)) {
            uint32_t f = (flags & FUTEX_SHARED) ? OS_SYNC_WAKE_BY_ADDRESS_SHARED : OS_SYNC_WAKE_BY_ADDRESS_NONE;
            rc = max_waiters == 1 ? os_sync_wake_by_address_any(addr_of(word), sizeof *word, f)
                                  : os_sync_wake_by_address_all(addr_of(word), sizeof *word, f);
            rc = rc == 0 ? 0 : -errno;
        } else {
            uint32_t op = ((flags & FUTEX_SHARED) ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT) | ULF_NO_ERRNO;
            if (max_waiters > 1)
                op |= ULF_WAKE_ALL; /* no "wake n": more than one means all */
            rc = __ulock_wake(op, addr_of(word), 0);
            rc = rc >= 0 ? 0 : rc;
        }
        switch (rc) {
        case 0: return FUTEX_UNCOUNTED;       /* woke one or all, without saying how many */
        case -ENOENT: return FUTEX_UNCOUNTED; /* nobody was waiting: still a successful wake */
        case -EINTR: continue;                /* not produced by sys_ulock.c, but Zig and libdispatch retry it */
        case -EINVAL: return -EINVAL;         /* a FUTEX_SHARED word the kernel cannot find a VM object for */
        case -EDOM: return -EINVAL;           /* the word is in use as a different kind of ulock */
        default: return rc;                   /* EALREADY, ESRCH (ULF_WAKE_THREAD only) or newer: handed back */
        }
    }
}

/* ---- capabilities ------------------------------------------------------------ */

unsigned futex__os_caps(void)
{
    /* UL_COMPARE_AND_WAIT_SHARED and the _SHARED os_sync flags key the wait
     * on the VM object, so any process mapping the page meets it. */
    unsigned caps = FUTEX_CAP_SHARED | FUTEX_CAP_INTERRUPTIBLE;
    if (__builtin_available(macOS 14.4, iOS 17.4, tvOS 17.4, watchOS 10.4, *))
        caps |= FUTEX_CAP_ABSOLUTE_DEADLINE; /* os_sync_wait_on_address_with_deadline */
    return caps;
}

/* futex_waitv: Darwin has no wait on several addresses (os_sync_wait_on_address and
 * __ulock_wait take one): the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; shared words re-checked in slices (futex.h). */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
