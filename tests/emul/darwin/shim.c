/*
 * tests/emul/darwin: Darwin's wait-on-address calls, emulated on Linux
 * futex(2) so that libfutex/backend/darwin.c runs the whole C suite here.
 * Test-only; never part of the library.
 *
 * Followed, call by call:
 *   - __ulock_wait, __ulock_wait2, __ulock_wake: xnu bsd/sys/ulock.h and
 *     bsd/kern/sys_ulock.c (apple-oss-distributions/xnu).
 *   - os_sync_wait_on_address(_with_timeout/_with_deadline),
 *     os_sync_wake_by_address_any/all: the macOS 14.4 SDK's
 *     <os/os_sync_wait_on_address.h> and Apple's documentation.
 *   - mach_absolute_time, mach_timebase_info: <mach/mach_time.h>.
 *
 * The quirks a backend must survive are reproduced:
 *   - a wait whose word differs succeeds (returns the waiter count, here 0),
 *     it does not fail with EAGAIN;
 *   - a timeout of 0 means "forever" for __ulock_wait/__ulock_wait2, and is
 *     EINVAL for os_sync_wait_on_address_with_timeout (a deadline of 0 too);
 *   - __ulock_wait's timeout is 32-bit microseconds;
 *   - ULF_NO_ERRNO returns -errno, otherwise -1 with errno set;
 *   - a wake with nobody waiting fails with ENOENT;
 *   - os_sync deadlines are mach_absolute_time ticks, and ticks are 125/3 ns
 *     (Apple silicon), not nanoseconds;
 *   - the version: FUTEX_EMUL_MACOS (e.g. 140400, 110000, 101500) is the
 *     macOS release emulated. __builtin_available answers for it, and calling
 *     a function that release lacks aborts, as a NULL weak import would crash.
 * Not emulated (abort if used): 64-bit words, unfair-lock opcodes,
 * ULF_WAKE_THREAD. The count of remaining waiters is always reported as 0.
 */
#include <Availability.h>
#include <mach/mach_time.h>
#include <os/os_sync_wait_on_address.h>

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX_EMUL_MACOS
#define FUTEX_EMUL_MACOS 140400
#endif

/* xnu bsd/sys/ulock.h */
int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout);
int __ulock_wait2(uint32_t operation, void *addr, uint64_t value, uint64_t timeout, uint64_t value2);
int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);

#define UL_COMPARE_AND_WAIT 1
#define UL_UNFAIR_LOCK 2
#define UL_COMPARE_AND_WAIT_SHARED 3
#define UL_OPCODE_MASK 0x000000FFu
#define UL_FLAGS_MASK 0xFFFFFF00u
#define ULF_WAKE_ALL 0x00000100u
#define ULF_WAKE_THREAD 0x00000200u
#define ULF_WAKE_ALLOW_NON_OWNER 0x00000400u
#define ULF_WAIT_WORKQ_DATA_CONTENTION 0x00010000u
#define ULF_WAIT_CANCEL_POINT 0x00020000u
#define ULF_WAIT_ADAPTIVE_SPIN 0x00040000u
#define ULF_NO_ERRNO 0x01000000u
#define ULF_WAIT_MASK (ULF_NO_ERRNO | ULF_WAIT_WORKQ_DATA_CONTENTION | ULF_WAIT_CANCEL_POINT | ULF_WAIT_ADAPTIVE_SPIN)
#define ULF_WAKE_MASK (ULF_NO_ERRNO | ULF_WAKE_ALL | ULF_WAKE_THREAD | ULF_WAKE_ALLOW_NON_OWNER)

/* ---- call counts -----------------------------------------------------------
 * With FUTEX_EMUL_DARWIN_TRACE set in the environment, each process prints at
 * exit how often each call ran: the suite script uses it to show that each
 * emulated release really took its own path. */

enum { C_ULOCK_WAIT, C_ULOCK_WAIT2, C_ULOCK_WAKE, C_OS_WAIT, C_OS_WAIT_TIMEOUT, C_OS_WAIT_DEADLINE, C_OS_WAKE_ANY,
       C_OS_WAKE_ALL, C_COUNT };
static const char *const call_names[C_COUNT] = {
    "__ulock_wait", "__ulock_wait2", "__ulock_wake", "os_sync_wait_on_address",
    "os_sync_wait_on_address_with_timeout", "os_sync_wait_on_address_with_deadline",
    "os_sync_wake_by_address_any", "os_sync_wake_by_address_all"};
static unsigned long calls[C_COUNT];
static int trace_registered;

static void print_calls(void)
{
    fprintf(stderr, "tests/emul/darwin (macOS %d):", FUTEX_EMUL_MACOS);
    for (int i = 0; i < C_COUNT; i++)
        if (calls[i] != 0)
            fprintf(stderr, " %s=%lu", call_names[i], calls[i]);
    fprintf(stderr, "\n");
}

static void count(int call)
{
    __atomic_fetch_add(&calls[call], 1, __ATOMIC_RELAXED);
    if (!__atomic_exchange_n(&trace_registered, 1, __ATOMIC_RELAXED) && getenv("FUTEX_EMUL_DARWIN_TRACE") != NULL)
        atexit(print_calls);
}

static void not_emulated(const char *what)
{
    fprintf(stderr, "tests/emul/darwin: %s is not emulated\n", what);
    abort();
}

static void require_macos(long version, const char *fn)
{
    if (FUTEX_EMUL_MACOS < version) {
        /* On the real OS the weak import is NULL and the call would crash. */
        fprintf(stderr, "tests/emul/darwin: %s called on emulated macOS %d, which lacks it\n", fn,
                FUTEX_EMUL_MACOS);
        abort();
    }
}

/* ---- availability ------------------------------------------------------- */

/* "macOS 14.4, iOS 17.4, tvOS 17.4, watchOS 10.4, *": true if the emulated
 * macOS is at least the macOS version named; "*" alone stands for every
 * other platform and, on macOS, for any version. */
int futex_emul_darwin_available(const char *platforms)
{
    const char *p = strstr(platforms, "macOS");
    if (p == NULL)
        return 1;
    p += 5;
    while (*p == ' ')
        p++;
    char *end;
    long major = strtol(p, &end, 10), minor = 0, patch = 0;
    if (*end == '.') {
        minor = strtol(end + 1, &end, 10);
        if (*end == '.')
            patch = strtol(end + 1, &end, 10);
    }
    return FUTEX_EMUL_MACOS >= major * 10000 + minor * 100 + patch;
}

/* ---- mach time ----------------------------------------------------------- */

#define TB_NUMER 125u
#define TB_DENOM 3u

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

kern_return_t mach_timebase_info(mach_timebase_info_t info)
{
    info->numer = TB_NUMER;
    info->denom = TB_DENOM;
    return KERN_SUCCESS;
}

uint64_t mach_absolute_time(void)
{
    uint64_t ns = mono_ns();
    return ns / TB_NUMER * TB_DENOM + ns % TB_NUMER * TB_DENOM / TB_NUMER;
}

/* ---- the kernel side ------------------------------------------------------ */

/* Wait on a 32-bit word: relative timeout in ns (0: forever), or an
 * absolute CLOCK_MONOTONIC deadline (abs_ns != 0). Returns 0 or an errno,
 * with Darwin's meanings: a differing word is success. */
static int kwait(uint32_t *addr, uint64_t value, int shared, uint64_t timeout_ns, uint64_t abs_ns)
{
    if (value > UINT32_MAX)
        return 0; /* a 32-bit word never equals it: "the value differed", which is success */
    int priv = shared ? 0 : FUTEX_PRIVATE_FLAG;
    struct timespec ts, *tp = NULL;
    int op = FUTEX_WAIT | priv;
    uint32_t mask = 0;
    if (abs_ns != 0) {
        ts.tv_sec = (time_t)(abs_ns / 1000000000u);
        ts.tv_nsec = (long)(abs_ns % 1000000000u);
        tp = &ts;
        op = FUTEX_WAIT_BITSET | priv; /* absolute, on CLOCK_MONOTONIC */
        mask = FUTEX_BITSET_MATCH_ANY;
    } else if (timeout_ns != 0) {
        uint64_t sec = timeout_ns / 1000000000u;
        ts.tv_sec = (time_t)(sec > INT32_MAX ? INT32_MAX : sec);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        tp = &ts;
    }
    long rc = syscall(SYS_futex, addr, op, (uint32_t)value, tp, (uint32_t *)0, mask);
    if (rc == 0)
        return 0;
    switch (errno) {
    case EAGAIN: return 0;          /* xnu: value != expected returns the waiter count, no error */
    case EINTR: return EINTR;       /* xnu: THREAD_INTERRUPTED -> EINTR */
    case ETIMEDOUT: return ETIMEDOUT;
    case EFAULT: return EFAULT;     /* xnu: copyin failed */
    default: return errno;
    }
}

/* Wake one or all; ENOENT when nobody waits, as xnu's ull_get(ULL_MUST_EXIST). */
static int kwake(uint32_t *addr, int shared, int all)
{
    int priv = shared ? 0 : FUTEX_PRIVATE_FLAG;
    long rc = syscall(SYS_futex, addr, FUTEX_WAKE | priv, all ? INT_MAX : 1, (void *)0, (uint32_t *)0, 0);
    if (rc < 0)
        return errno;
    return rc == 0 ? ENOENT : 0;
}

/* ---- __ulock ------------------------------------------------------------- */

static int ulock_result(uint32_t operation, int err)
{
    if (err == 0)
        return 0; /* the number of other waiters: not tracked, 0 */
    if (operation & ULF_NO_ERRNO)
        return -err;
    errno = err;
    return -1;
}

static int ulock_wait_ns(uint32_t operation, void *addr, uint64_t value, uint64_t timeout_ns)
{
    uint32_t opcode = operation & UL_OPCODE_MASK, flags = operation & UL_FLAGS_MASK;
    if ((flags & ULF_WAIT_MASK) != flags)
        return ulock_result(operation, EINVAL);
    if (opcode != UL_COMPARE_AND_WAIT && opcode != UL_COMPARE_AND_WAIT_SHARED)
        not_emulated("a __ulock_wait opcode other than UL_COMPARE_AND_WAIT(_SHARED)");
    if (addr == NULL || ((uintptr_t)addr & 3u) != 0)
        return ulock_result(operation, EINVAL);
    return ulock_result(operation, kwait(addr, value, opcode == UL_COMPARE_AND_WAIT_SHARED, timeout_ns, 0));
}

int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout)
{
    count(C_ULOCK_WAIT);
    /* sys_ulock_wait: 32-bit microseconds, 0 = forever, widened to ns. */
    return ulock_wait_ns(operation, addr, value, (uint64_t)timeout * 1000u);
}

int __ulock_wait2(uint32_t operation, void *addr, uint64_t value, uint64_t timeout, uint64_t value2)
{
    count(C_ULOCK_WAIT2);
    require_macos(110000, "__ulock_wait2");
    (void)value2; /* only for UL_UNFAIR_LOCK64_SHARED */
    return ulock_wait_ns(operation, addr, value, timeout);
}

int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value)
{
    count(C_ULOCK_WAKE);
    uint32_t opcode = operation & UL_OPCODE_MASK, flags = operation & UL_FLAGS_MASK;
    (void)wake_value; /* only for ULF_WAKE_THREAD */
    if (opcode != UL_COMPARE_AND_WAIT && opcode != UL_COMPARE_AND_WAIT_SHARED)
        not_emulated("a __ulock_wake opcode other than UL_COMPARE_AND_WAIT(_SHARED)");
    if ((flags & ULF_WAKE_MASK) != flags)
        return ulock_result(operation, EINVAL);
    if (flags & ULF_WAKE_THREAD)
        not_emulated("ULF_WAKE_THREAD");
    if (flags & ULF_WAKE_ALLOW_NON_OWNER)
        return ulock_result(operation, EINVAL); /* only for UL_UNFAIR_LOCK */
    if (addr == NULL)
        return ulock_result(operation, EINVAL);
    return ulock_result(operation, kwake(addr, opcode == UL_COMPARE_AND_WAIT_SHARED, (flags & ULF_WAKE_ALL) != 0));
}

/* ---- os_sync ------------------------------------------------------------- */

static int os_sync_result(int err)
{
    if (err == 0)
        return 0;
    errno = err;
    return -1;
}

/* EINVAL for anything the header rules out. */
static int os_sync_check(const char *fn, void *addr, size_t size, uint32_t flags)
{
    require_macos(140400, fn);
    if (size == 8)
        not_emulated("os_sync on 64-bit values");
    if (size != 4 || addr == NULL || ((uintptr_t)addr & (size - 1)) != 0 || (flags & ~1u) != 0)
        return EINVAL;
    return 0;
}

int os_sync_wait_on_address(void *addr, uint64_t value, size_t size, os_sync_wait_on_address_flags_t flags)
{
    count(C_OS_WAIT);
    int err = os_sync_check("os_sync_wait_on_address", addr, size, flags);
    if (err == 0)
        err = kwait(addr, value, flags & OS_SYNC_WAIT_ON_ADDRESS_SHARED, 0, 0);
    return os_sync_result(err);
}

int os_sync_wait_on_address_with_timeout(void *addr, uint64_t value, size_t size,
                                         os_sync_wait_on_address_flags_t flags, os_clockid_t clockid,
                                         uint64_t timeout_ns)
{
    count(C_OS_WAIT_TIMEOUT);
    int err = os_sync_check("os_sync_wait_on_address_with_timeout", addr, size, flags);
    if (err == 0 && (clockid != OS_CLOCK_MACH_ABSOLUTE_TIME || timeout_ns == 0))
        err = EINVAL; /* the header: a timeout of 0 is invalid (it is not "poll", nor "forever") */
    if (err == 0)
        err = kwait(addr, value, flags & OS_SYNC_WAIT_ON_ADDRESS_SHARED, timeout_ns, 0);
    return os_sync_result(err);
}

int os_sync_wait_on_address_with_deadline(void *addr, uint64_t value, size_t size,
                                          os_sync_wait_on_address_flags_t flags, os_clockid_t clockid,
                                          uint64_t deadline)
{
    count(C_OS_WAIT_DEADLINE);
    int err = os_sync_check("os_sync_wait_on_address_with_deadline", addr, size, flags);
    if (err == 0 && (clockid != OS_CLOCK_MACH_ABSOLUTE_TIME || deadline == 0))
        err = EINVAL; /* a deadline of 0, like a timeout of 0, is rejected */
    if (err == 0) {
        /* Ticks back to CLOCK_MONOTONIC ns: the inverse of mach_absolute_time. */
        uint64_t ns = deadline > UINT64_MAX / TB_NUMER ? UINT64_MAX / 2 : deadline / TB_DENOM * TB_NUMER +
                                                                            deadline % TB_DENOM * TB_NUMER / TB_DENOM;
        err = kwait(addr, value, flags & OS_SYNC_WAIT_ON_ADDRESS_SHARED, 0, ns == 0 ? 1 : ns);
    }
    return os_sync_result(err);
}

int os_sync_wake_by_address_any(void *addr, size_t size, os_sync_wake_by_address_flags_t flags)
{
    count(C_OS_WAKE_ANY);
    int err = os_sync_check("os_sync_wake_by_address_any", addr, size, flags);
    if (err == 0)
        err = kwake(addr, flags & OS_SYNC_WAKE_BY_ADDRESS_SHARED, 0);
    return os_sync_result(err);
}

int os_sync_wake_by_address_all(void *addr, size_t size, os_sync_wake_by_address_flags_t flags)
{
    count(C_OS_WAKE_ALL);
    int err = os_sync_check("os_sync_wake_by_address_all", addr, size, flags);
    if (err == 0)
        err = kwake(addr, flags & OS_SYNC_WAKE_BY_ADDRESS_SHARED, 1);
    return os_sync_result(err);
}
