/*
 * Linux: the futex(2) system call.
 * https://man7.org/linux/man-pages/man2/futex.2.html
 *
 * FUTEX_PRIVATE_FLAG unless the word is shared: private futexes are hashed
 * by (mm, address) without touching page tables, which is faster.
 *
 * Finite deadlines go to the kernel as they are, with FUTEX_WAIT_BITSET and
 * an absolute CLOCK_MONOTONIC time (Linux 2.6.25+): a loop of waits on one
 * deadline cannot drift, and a signal or spurious return never stretches it.
 */
#include "../backend.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

const char futex__os_name[] = "linux";

/* The kernel's timespec. On 32-bit systems glibc's may be the 64-bit one
 * while SYS_futex takes 32-bit seconds, so use futex_time64 (Linux 5.1+)
 * there and spell the layout out ourselves. */
#if defined(SYS_futex_time64) && UINTPTR_MAX == 0xffffffffu
#define FUTEX_SYSCALL SYS_futex_time64
typedef int64_t ksec;
typedef struct { ksec tv_sec; int64_t tv_nsec; } ktimespec;
#define KSEC_MAX INT64_MAX
#else
#define FUTEX_SYSCALL SYS_futex
typedef long ksec;
typedef struct { ksec tv_sec; long tv_nsec; } ktimespec;
#define KSEC_MAX LONG_MAX
#endif

static long sys_futex(const uint32_t *word, int op, uint32_t val, const ktimespec *ts, uint32_t val3)
{
    long rc = syscall(FUTEX_SYSCALL, word, op, val, ts, (uint32_t *)0, val3);
    return rc < 0 ? -errno : rc;
}

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    int priv = (flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG;
    long rc;
    if (deadline_ns == FUTEX_FOREVER) {
        rc = sys_futex(word, FUTEX_WAIT | priv, expected, NULL, 0);
    } else {
        /* Seconds past the kernel's range are clamped; the kernel itself
         * clamps anything past KTIME_MAX (year 2262). The front layer waits
         * again if a clamped deadline passes early. */
        uint64_t sec = deadline_ns / 1000000000u;
        ktimespec ts;
        ts.tv_sec = sec > (uint64_t)KSEC_MAX ? (ksec)KSEC_MAX : (ksec)sec;
        ts.tv_nsec = (long)(deadline_ns % 1000000000u);
        /* Without FUTEX_CLOCK_REALTIME, an absolute BITSET wait is on CLOCK_MONOTONIC. */
        rc = sys_futex(word, FUTEX_WAIT_BITSET | priv, expected, &ts, FUTEX_BITSET_MATCH_ANY);
    }
    switch (rc) {
    case 0: return 0;                        /* woken by a wake, or spuriously */
    case -EAGAIN: return -EAGAIN;            /* *word != expected when the kernel looked */
    case -EINTR: return -EINTR;              /* a signal handler ran; the bindings need to know */
    case -ETIMEDOUT: return -ETIMEDOUT;      /* the absolute deadline passed */
    case -EFAULT: return -EFAULT;            /* the word is not mapped: the caller's bug, reported */
    case -ENOSYS: return -ENOSYS;            /* no futex here (seccomp, or an emulator that lacks it) */
    case -EINVAL: return -EINVAL;            /* the word is also used as a PI futex, or a kernel too old for BITSET */
    case -EPERM: return -EPERM;              /* a sandbox refused the operation */
    default: abort();                        /* futex(2) documents no other error for WAIT */
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int priv = (flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG;
    /* The kernel reads the count as an int: anything larger means all. */
    uint32_t n = max_waiters > (uint32_t)INT32_MAX ? (uint32_t)INT32_MAX : max_waiters;
    long rc = sys_futex(word, FUTEX_WAKE | priv, n, NULL, 0);
    if (rc >= 0)
        return (int)rc; /* the number of waiters woken */
    switch (rc) {
    case -EFAULT: return -EFAULT; /* a shared word not mapped: the caller's bug, reported */
    case -EINVAL: return -EINVAL; /* the word is in use as a PI futex */
    case -ENOSYS: return -ENOSYS; /* no futex here */
    case -EPERM: return -EPERM;   /* a sandbox refused the operation */
    default: abort();             /* futex(2) documents no other error for WAKE */
    }
}

static int waitv_native(void);

unsigned futex__os_caps(void)
{
    return FUTEX_CAP_SHARED | FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_ABSOLUTE_DEADLINE | FUTEX_CAP_INTERRUPTIBLE |
           (waitv_native() ? FUTEX_CAP_WAITV_NATIVE : 0u);
}

/* ---- futex_waitv(2), Linux 5.16+ -------------------------------------------
 * https://docs.kernel.org/userspace-api/futex2.html
 * Declared here rather than taken from <linux/futex.h>, which gained it only
 * in 5.16's headers: the number is 449 on every architecture, and the
 * timeout is always the 64-bit __kernel_timespec. */
#include <time.h> /* CLOCK_MONOTONIC, the clock the deadline is on */

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define WAITV_SIZE_U32 0x02u  /* FUTEX2_SIZE_U32 */
#define WAITV_PRIVATE 128u    /* FUTEX2_PRIVATE, the same bit as FUTEX_PRIVATE_FLAG */

struct kwaitv {
    uint64_t val;   /* the expected value, zero-extended */
    uint64_t uaddr; /* the word's address */
    uint32_t flags; /* FUTEX2_SIZE_U32 [| FUTEX2_PRIVATE] */
    uint32_t reserved;
};
struct ktimespec64 {
    int64_t tv_sec;
    int64_t tv_nsec;
};

static long sys_waitv(struct kwaitv *w, uint32_t n, const struct ktimespec64 *ts)
{
#if defined(FUTEX_TEST_NO_WAITV)
    /* Test builds only (the linux-nowaitv suite): act as a kernel older than
     * 5.16, so that the fallback runs through the whole suite on this one. */
    (void)w, (void)n, (void)ts;
    return -ENOSYS;
#else
    long rc = syscall(SYS_futex_waitv, w, n, 0u, ts, CLOCK_MONOTONIC);
    return rc < 0 ? -errno : rc;
#endif
}

/* 1 once FUTEX_WAITV is known to work, -1 once it is known to be missing, 0
 * before the first look. Relaxed: racing threads only store the same answer. */
static int waitv_state;

static int waitv_native(void)
{
    int s = __atomic_load_n(&waitv_state, __ATOMIC_RELAXED);
    if (s == 0) {
        /* n == 0 is refused with EINVAL by a kernel that has the call, after
         * the ENOSYS of one that does not: a probe that never sleeps. */
        long rc = sys_waitv(NULL, 0, NULL);
        s = rc == -ENOSYS || rc == -EPERM ? -1 : 1; /* EPERM: a sandbox forbids it; use ours */
        __atomic_store_n(&waitv_state, s, __ATOMIC_RELAXED);
    }
    return s > 0;
}

int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    if (!waitv_native())
        return -ENOSYS; /* the front layer's own multi-wait takes over */
    struct kwaitv w[FUTEX_WAITV_LIMIT];
    for (uint32_t i = 0; i < n; i++) {
        w[i].val = items[i].expected;
        w[i].uaddr = (uint64_t)(uintptr_t)items[i].word;
        w[i].flags = WAITV_SIZE_U32 | ((items[i].flags & FUTEX_SHARED) ? 0u : WAITV_PRIVATE);
        w[i].reserved = 0;
    }
    struct ktimespec64 ts, *tsp = NULL;
    if (deadline_ns != FUTEX_FOREVER) {
        /* Absolute on CLOCK_MONOTONIC, the front layer's clock: no drift. */
        ts.tv_sec = (int64_t)(deadline_ns / 1000000000u);
        ts.tv_nsec = (int64_t)(deadline_ns % 1000000000u);
        tsp = &ts;
    }
    long rc = sys_waitv(w, n, tsp);
    if (rc >= 0)
        return (int)rc; /* the index of the word whose wake ended the wait */
    switch (rc) {
    case -EAGAIN: return -EAGAIN;       /* a word differed when the kernel looked (it does not say which) */
    case -EINTR: return -EINTR;         /* a handler without SA_RESTART ran (with it, the kernel restarts) */
    case -ETIMEDOUT: return -ETIMEDOUT; /* the absolute deadline passed */
    case -EFAULT: return -EFAULT;       /* a word is not mapped: the caller's bug, reported */
    case -ENOMEM: return -ENOMEM;       /* the kernel could not allocate the wait */
    case -ENOSYS: /* removed since the probe (a sandbox changed): forget it, use ours */
    case -EPERM:  /* a sandbox refused it */
        __atomic_store_n(&waitv_state, -1, __ATOMIC_RELAXED);
        return -ENOSYS;
    default: return (int)rc; /* EINVAL (a timeout past the kernel's range) or an unknown errno: reported */
    }
}
