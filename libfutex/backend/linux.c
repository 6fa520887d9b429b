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
    default: return (int)rc;                 /* undocumented (-EACCES, -ENOMEM from a seccomp filter): handed back, never fatal */
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
    default: return (int)rc;      /* undocumented (a seccomp filter's -EACCES, ...): handed back, never fatal */
    }
}

unsigned futex__os_caps(void)
{
    return FUTEX_CAP_SHARED | FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_ABSOLUTE_DEADLINE | FUTEX_CAP_INTERRUPTIBLE;
}
