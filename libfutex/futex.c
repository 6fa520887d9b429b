/*
 * The front layer: argument checks, fast paths, spinning, deadlines and the
 * monotonic clock, and the atomics. Everything OS-specific is behind
 * backend.h; this file is the same on every platform but for the clock.
 */
#include "futex.h"

#include "backend.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sched.h> /* sched_yield, for the spin phase */
#include <time.h>
#include <unistd.h>
#endif

#if !defined(__GNUC__) && !defined(__clang__)
#error "libfutex needs the GCC/Clang __atomic builtins (gcc, clang, mingw-w64, zig cc)"
#endif

/* ---- atomics ------------------------------------------------------------
 * Every operation is SeqCst. A waker's store and its futex_wake must not be
 * reordered against a waiter's announce-then-check (see posix.c), and users
 * build locks from these without thinking about orders: the few nanoseconds
 * SeqCst costs over acquire/release buy a contract with no fine print. */

uint32_t futex_load(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }
void futex_store(uint32_t *word, uint32_t value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }
uint32_t futex_exchange(uint32_t *word, uint32_t value)
{
    return __atomic_exchange_n(word, value, __ATOMIC_SEQ_CST);
}
uint32_t futex_compare_exchange(uint32_t *word, uint32_t expected, uint32_t desired)
{
    /* On failure `expected` is overwritten with the current value, which is
     * the old value either way: strong CAS, so no spurious failure. */
    __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
}
uint32_t futex_fetch_add(uint32_t *word, uint32_t v) { return __atomic_fetch_add(word, v, __ATOMIC_SEQ_CST); }
uint32_t futex_fetch_sub(uint32_t *word, uint32_t v) { return __atomic_fetch_sub(word, v, __ATOMIC_SEQ_CST); }
uint32_t futex_fetch_and(uint32_t *word, uint32_t v) { return __atomic_fetch_and(word, v, __ATOMIC_SEQ_CST); }
uint32_t futex_fetch_or(uint32_t *word, uint32_t v) { return __atomic_fetch_or(word, v, __ATOMIC_SEQ_CST); }
uint32_t futex_fetch_xor(uint32_t *word, uint32_t v) { return __atomic_fetch_xor(word, v, __ATOMIC_SEQ_CST); }

/* ---- the monotonic clock ------------------------------------------------ */

uint64_t futex_monotonic_ns(void)
{
#if defined(_WIN32)
    /* QueryPerformanceFrequency is fixed at boot; split the conversion so
     * that counter * 1e9 cannot overflow 64 bits. */
    LARGE_INTEGER count, freq;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&freq);
    uint64_t c = (uint64_t)count.QuadPart, f = (uint64_t)freq.QuadPart;
    return (c / f) * 1000000000u + (c % f) * 1000000000u / f;
#else
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer on any system we build for. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

uint64_t futex__remaining_ns(uint64_t deadline_ns)
{
    if (deadline_ns == FUTEX_FOREVER)
        return FUTEX_FOREVER;
    uint64_t now = futex_monotonic_ns();
    return now >= deadline_ns ? 0 : deadline_ns - now;
}

/* now + timeout, saturating just below FUTEX_FOREVER: a huge finite timeout
 * stays finite (it still ends, in some centuries) instead of wrapping. */
static uint64_t deadline_after(uint64_t timeout_ns)
{
    if (timeout_ns == FUTEX_FOREVER)
        return FUTEX_FOREVER;
    uint64_t now = futex_monotonic_ns();
    return timeout_ns >= FUTEX_FOREVER - 1 - now ? FUTEX_FOREVER - 1 : now + timeout_ns;
}

/* ---- spin-then-park ----------------------------------------------------- */

/* Chosen by bench/ (bench/README.md has the data): 16 re-checks, 12 after a
 * pause and the last 4 after a yield. It is the smallest count that always
 * caught a partner spinning on another CPU (0.35 µs round trips, against 11 µs
 * for two sleeps); more pauses only cost more where the partner shares our
 * CPU; and a wait that ends up sleeping burns ~3 µs of CPU first. */
#define DEFAULT_SPIN 16u

static uint32_t spin_iterations = DEFAULT_SPIN;
static int cpu_count; /* 0 until first asked; races only write the same value */

void futex_set_spin(uint32_t iterations) { __atomic_store_n(&spin_iterations, iterations, __ATOMIC_RELAXED); }
uint32_t futex_get_spin(void) { return __atomic_load_n(&spin_iterations, __ATOMIC_RELAXED); }

static int cpus(void)
{
    int n = __atomic_load_n(&cpu_count, __ATOMIC_RELAXED);
    if (n == 0) {
#if defined(_WIN32)
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        n = (int)si.dwNumberOfProcessors;
#elif defined(_SC_NPROCESSORS_ONLN)
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
#else
        n = 2; /* unknown: assume another CPU may run the partner */
#endif
        __atomic_store_n(&cpu_count, n, __ATOMIC_RELAXED);
    }
    return n;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield");
#elif defined(__riscv)
    __asm__ __volatile__(".insn i 0x0F, 0, x0, x0, 0x010"); /* pause (Zihintpause), a no-op elsewhere */
#else
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/* The yields of a spin of n re-checks: the last 4 (the last n/2 for n < 8). */
#define SPIN_YIELDS(n) ((n) < 8u ? (n) / 2u : 4u)

/* Returns 1 if the word stopped holding `expected` while we spun.
 *
 * Two phases, because a partner that will change the word soon is in one of
 * two places. On another CPU, it answers within a few hundred nanoseconds,
 * and re-checking after a pause hint catches that. On our own CPU -- where
 * Linux tends to put a thread we just woke, since the waker is about to
 * sleep -- it cannot run at all while we spin; only yielding lets it run and
 * answer before we pay for a sleep and a wakeup. A yield with nothing else to
 * run returns at once, so the yields also extend the first case's window.
 * This is libstdc++'s atomic::wait shape (12 relaxes, then 4 yields). */
static int spin_until_changed(const uint32_t *word, uint32_t expected)
{
    uint32_t n = futex_get_spin();
    if (n == 0 || cpus() < 2)
        return 0; /* on one CPU the writer cannot run while we spin */
    uint32_t pauses = n - SPIN_YIELDS(n);
    for (uint32_t i = 0; i < n; i++) {
        if (i < pauses) {
            cpu_relax();
        } else {
#if defined(_WIN32)
            SwitchToThread();
#else
            sched_yield();
#endif
        }
        /* Relaxed is enough: spinning is only a hint. The caller re-reads the
         * word with its own ordering, and the OS wait re-checks it under the
         * kernel's lock if we give up. */
        if (__atomic_load_n(word, __ATOMIC_RELAXED) != expected)
            return 1;
    }
    return 0;
}

/* The spin phase alone, for sync.c: its primitives spin before announcing
 * themselves as waiters, so that a partner answering while we spin is never
 * made to pay for a wake system call. */
int futex__spin(const uint32_t *word, uint32_t expected) { return spin_until_changed(word, expected); }

/* ---- wait and wake ------------------------------------------------------ */

static int check_args(const uint32_t *word, unsigned flags)
{
    if (word == NULL || ((uintptr_t)word & 3u) != 0)
        return -EINVAL;
    if ((flags & ~(FUTEX_SHARED | FUTEX_NOSPIN)) != 0)
        return -EINVAL;
    if ((flags & FUTEX_SHARED) && !(futex__os_caps() & FUTEX_CAP_SHARED))
        return -ENOTSUP;
    return 0;
}

/* The one wait loop behind every public wait. Arguments are checked and the
 * word is known to hold `expected`. */
static int wait_until(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    if (!(flags & FUTEX_NOSPIN) && spin_until_changed(word, expected))
        return -EAGAIN;
    for (;;) {
        int rc = futex__os_wait(word, expected, deadline_ns, flags & FUTEX_SHARED);
        if (rc != -ETIMEDOUT)
            return rc;
        /* Believe a timeout only when our own clock agrees: the backend may
         * have clamped a long timeout, or the OS rounded it down. */
        if (futex__remaining_ns(deadline_ns) == 0)
            return -ETIMEDOUT;
    }
}

int futex_wait(const uint32_t *word, uint32_t expected, unsigned flags)
{
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc;
    if (futex_load(word) != expected)
        return -EAGAIN;
    return wait_until(word, expected, FUTEX_FOREVER, flags);
}

int futex_timed_wait(const uint32_t *word, uint32_t expected, uint64_t timeout_ns, unsigned flags)
{
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc;
    if (futex_load(word) != expected)
        return -EAGAIN;
    if (timeout_ns == 0)
        return -ETIMEDOUT; /* check only: never enter the OS */
    return wait_until(word, expected, deadline_after(timeout_ns), flags);
}

void futex_deadline_init(futex_deadline *d, uint64_t expires_in_ns)
{
    if (d != NULL)
        d->at_ns = deadline_after(expires_in_ns);
}

uint64_t futex_deadline_remaining_ns(const futex_deadline *d)
{
    return d == NULL ? FUTEX_FOREVER : futex__remaining_ns(d->at_ns);
}

int futex_deadline_wait(const futex_deadline *d, const uint32_t *word, uint32_t expected, unsigned flags)
{
    if (d == NULL)
        return -EINVAL;
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc;
    if (futex_load(word) != expected)
        return -EAGAIN;
    if (futex__remaining_ns(d->at_ns) == 0)
        return -ETIMEDOUT; /* expired: never enter the OS */
    return wait_until(word, expected, d->at_ns, flags);
}

int futex_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc;
    if (max_waiters == 0)
        return 0;
    return futex__os_wake(word, max_waiters, flags & FUTEX_SHARED);
}

/* ---- introspection ------------------------------------------------------ */

const char *futex_backend(void) { return futex__os_name; }
unsigned futex_capabilities(void) { return futex__os_caps(); }

const char *futex_strerror(int result)
{
    if (result >= 0)
        return "ok";
    if (result == FUTEX_UNCOUNTED)
        return "woken (the OS does not say how many)";
    switch (-result) {
    case EAGAIN: return "the word did not hold the expected value";
    case EINTR: return "interrupted by a signal";
    case ETIMEDOUT: return "timed out";
    case EINVAL: return "invalid argument (a NULL or misaligned word, an unknown flag, or a word the OS refuses)";
    case ENOTSUP: return "cross-process waits are not supported by this backend";
    case EDEADLK: return "would wait forever: nothing else can change the word";
    case EFAULT: return "the word is not in mapped memory";
    case ENOSYS: return "the OS has no futex call";
    case EOWNERDEAD: return "the previous owner died holding the mutex (now held: repair, then make it consistent)";
    case ENOTRECOVERABLE: return "the mutex is not recoverable: it was released while inconsistent";
    case EBUSY: return "the mutex is held";
    case EPERM: return "not permitted: the calling thread does not hold the mutex (or a sandbox refused the call)";
    case EOVERFLOW: return "the semaphore would pass its bound";
    case ECANCELED: return "the barrier is broken";
    default: return "unexpected error";
    }
}
