/*
 * The front layer: argument checks, fast paths, spinning, deadlines and the
 * monotonic clock, and the atomics. Everything OS-specific is behind
 * backend.h; this file is the same on every platform but for the clock.
 */
#include "futex.h"

#include "atomic.h"
#include "backend.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sched.h> /* sched_yield, for the spin phase */
#if !defined(__wasm__)
#include <pthread.h>  /* pthread_atfork: a forked child's sleeper counts */
#include <signal.h> /* the fault guards: wasm has neither signals nor mmap */
#include <sys/mman.h>
#endif
#include <time.h>
#include <unistd.h>
#endif

#if defined(FUTEX_TEST_HOOKS)
void (*futex__test_lot_timed_out)(void); /* see backend.h */
#endif

/* ---- atomics ------------------------------------------------------------
 * Every operation is SeqCst. A waker's store and its futex_wake must not be
 * reordered against a waiter's announce-then-check (see posix.c), and users
 * build locks from these without thinking about orders: the few nanoseconds
 * SeqCst costs over acquire/release buy a contract with no fine print. */

uint32_t futex_load(const uint32_t *word) { return futex__atomic_load(word, FUTEX__SEQ_CST); }
void futex_store(uint32_t *word, uint32_t value) { futex__atomic_store(word, value, FUTEX__SEQ_CST); }
uint32_t futex_exchange(uint32_t *word, uint32_t value) { return futex__atomic_exchange(word, value, FUTEX__SEQ_CST); }
uint32_t futex_compare_exchange(uint32_t *word, uint32_t expected, uint32_t desired)
{
    /* On failure `expected` is overwritten with the current value, which is
     * the old value either way: strong CAS, so no spurious failure. */
    futex__atomic_cas(word, &expected, desired, FUTEX__SEQ_CST);
    return expected;
}
uint32_t futex_fetch_add(uint32_t *word, uint32_t v) { return futex__atomic_fetch_add(word, v, FUTEX__SEQ_CST); }
uint32_t futex_fetch_sub(uint32_t *word, uint32_t v) { return futex__atomic_fetch_sub(word, v, FUTEX__SEQ_CST); }
uint32_t futex_fetch_and(uint32_t *word, uint32_t v) { return futex__atomic_fetch_and(word, v, FUTEX__SEQ_CST); }
uint32_t futex_fetch_or(uint32_t *word, uint32_t v) { return futex__atomic_fetch_or(word, v, FUTEX__SEQ_CST); }
uint32_t futex_fetch_xor(uint32_t *word, uint32_t v) { return futex__atomic_fetch_xor(word, v, FUTEX__SEQ_CST); }

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

/* The default is the adaptive, timed spin; futex_set_spin(n) fixes a count. */
static uint32_t spin_iterations = FUTEX_SPIN_ADAPTIVE;
static uint32_t cpu_count; /* 0 until first asked; races only write the same value */

void futex_set_spin(uint32_t iterations) { futex__atomic_store(&spin_iterations, iterations, FUTEX__RELAXED); }
uint32_t futex_get_spin(void) { return futex__atomic_load(&spin_iterations, FUTEX__RELAXED); }

static int cpus(void)
{
    int n = (int)futex__atomic_load(&cpu_count, FUTEX__RELAXED);
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
        futex__atomic_store(&cpu_count, (uint32_t)n, FUTEX__RELAXED);
    }
    return n;
}

static void yield_cpu(void)
{
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}

/* The yields of a spin of n re-checks: the last 4 (the last n/2 for n < 8). */
#define SPIN_YIELDS(n) ((n) < 8u ? (n) / 2u : 4u)

/* The most re-checks one wait makes, whatever futex_set_spin was given:
 * about 2 ms of pauses on current CPUs. A spin cannot see a signal, so an
 * uncapped count (set_spin(10**8)) would hold Ctrl-C off for a minute. */
#define SPIN_MAX 65536u
/* Every this many re-checks the spin reads the clock, so a timed wait never
 * spins past its deadline (a clock read costs ~20 ns: 1 in 64 is noise). */
#define SPIN_CLOCK_EVERY 64u

/* The fixed-count spin of futex_set_spin(n). Returns 1 if the word stopped
 * holding `expected` while we spun, -1 if the deadline passed first, else 0.
 *
 * Two phases, because a partner that will change the word soon is in one of
 * two places. On another CPU, it answers within a few hundred nanoseconds,
 * and re-checking after a pause hint catches that. On our own CPU -- where
 * Linux tends to put a thread we just woke, since the waker is about to
 * sleep -- it cannot run at all while we spin; only yielding lets it run and
 * answer before we pay for a sleep and a wakeup. A yield with nothing else to
 * run returns at once, so the yields also extend the first case's window.
 * This is libstdc++'s atomic::wait shape (12 relaxes, then 4 yields). */
static int spin_count(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, uint32_t n)
{
    if (n > SPIN_MAX)
        n = SPIN_MAX;
    uint32_t pauses = n - SPIN_YIELDS(n);
    for (uint32_t i = 0; i < n; i++) {
        if (i % SPIN_CLOCK_EVERY == SPIN_CLOCK_EVERY - 1 && deadline_ns != FUTEX_FOREVER &&
            futex__remaining_ns(deadline_ns) == 0)
            return -1;
        if (i < pauses) {
            futex__cpu_relax();
        } else {
            yield_cpu();
        }
        /* Relaxed is enough: spinning is only a hint. The caller re-reads the
         * word with its own ordering, and the OS wait re-checks it under the
         * kernel's lock if we give up. */
        if (futex__atomic_load_relaxed(word) != expected)
            return 1;
    }
    return 0;
}


/* ---- the adaptive spin --------------------------------------------------
 * One process-wide estimate of how long a partner takes to answer, in ns,
 * and whether partners seem to share our CPU (partner_here, below). Read
 * and written relaxed, without a CAS: they are hints, and an update lost to
 * a race only delays the learning by one wait.
 *
 * Waits write them as they end, so they sit on a cache line of their own
 * (padded on both sides: no alignment attribute needed), away from what
 * every wait reads (the spin setting, the CPU count), and are written only
 * when they change: two threads handing a word back and forth would
 * otherwise hand this line back and forth too, a cache miss on each side's
 * next wait (measured: a pinned thread ping-pong at 0.24-0.30 us against a
 * fixed count's 0.17-0.23). */
static struct {
    char before[64];
    uint32_t estimate_ns;
    uint32_t partner_here;
    char after[64];
} spin_learned = {{0}, 500u, 0u, {0}};

/* The shortest window: a C partner on another CPU answers in ~0.3 µs, and
 * the clock reads and the pause's latency make shorter windows meaningless. */
#define SPIN_FLOOR_NS 1000u
/* The longest window: the budget less the slack of the last pauses or yield,
 * which may run past the window's end before the clock is read again, and
 * of the clock reads themselves (bench/ measures the total: parkcost). */
#define SPIN_LIMIT_NS (FUTEX_SPIN_BUDGET_NS - 2000u)
/* A sleep shorter than this was ended by a partner that was nearly there:
 * a longer spin could have seen it. Longer sleeps were real waits. */
#define SPIN_NEAR_MISS_NS 1000000u
/* The clock is read every this many pauses: a read costs ~20-40 ns, a pause
 * 10-150 ns depending on the CPU, so the window ends within ~0.6 µs. */
#define SPIN_CLOCK_PAUSES 4u
/* The pauses before the spin reads the clock a second time: 0.2-0.6 µs on
 * current CPUs (a pinned C partner answers in 0.1-0.3 µs), 2.4 µs at an
 * extreme 150 ns a pause: a short window may be overrun by that much, far
 * inside the budget; a long one holds them. */
#define SPIN_UNTIMED_PAUSES 16u
/* The longest window whose untimed pauses run before the first clock read
 * (spin_adaptive): a learned estimate up to 0.5 us. */
#define SPIN_EARLY_WINDOW_NS 2000u

/* How long this wait spins: twice the estimate (the answers vary; glibc
 * spins up to twice its average too) plus the floor, within the budget. */
static uint32_t spin_window_ns(void)
{
    uint64_t w = 2u * (uint64_t)futex__atomic_load(&spin_learned.estimate_ns, FUTEX__RELAXED) + SPIN_FLOOR_NS;
    return w > SPIN_LIMIT_NS ? SPIN_LIMIT_NS : (uint32_t)w;
}

/* The window the next adaptive spin would use: for tests (tests/c), which
 * check that learning never takes it past the budget. */
uint32_t futex__spin_window_ns(void);
uint32_t futex__spin_window_ns(void) { return spin_window_ns(); }

/* A step of the estimate smaller than this is not written (see above): it
 * settles within 8 x this of a steady target, 0.1 us of a window of >= 1 us. */
#define SPIN_LEARN_GRAIN_NS 8

/* Moves the estimate 1/8 of the way toward target_ns (glibc's step). */
static void spin_learn(uint64_t target_ns)
{
    int64_t est = (int64_t)futex__atomic_load(&spin_learned.estimate_ns, FUTEX__RELAXED);
    int64_t t = target_ns > SPIN_LIMIT_NS ? SPIN_LIMIT_NS : (int64_t)target_ns;
    int64_t step = (t - est) / 8;
    if (step > -SPIN_LEARN_GRAIN_NS && step < SPIN_LEARN_GRAIN_NS)
        return;
    est += step;
    futex__atomic_store(&spin_learned.estimate_ns, (uint32_t)(est < 0 ? 0 : est), FUTEX__RELAXED);
}

/* partner_here's writes, only when it changes (see above). */
static void spin_set_partner_here(uint32_t here)
{
    if (futex__atomic_load(&spin_learned.partner_here, FUTEX__RELAXED) != here)
        futex__atomic_store(&spin_learned.partner_here, here, FUTEX__RELAXED);
}

/* A yield that returned after this long ran another thread on our CPU; one
 * that returned sooner ran nothing (a system call alone: 0.3-0.7 µs on
 * this VM). Between the two, it tells nothing. */
#define SPIN_SWITCHED_NS 1500u
#define SPIN_NOOP_YIELD_NS 1000u

/* spin_learned.partner_here is 1 while partners seem to share our CPU: the
 * last answer came right after
 * a yield that ran another thread here. Then a spin yields at once -- each
 * pause would only keep the partner from the CPU -- until an answer comes
 * while pausing, or after a yield that ran nothing (from another CPU).
 * Learned rather than yielding early in every spin: on a busy machine a
 * yield hands the CPU to whatever else is runnable, for a time slice, while
 * the partner on another CPU has answered. Relaxed: a hint, as the
 * estimate. */

/* The untimed pauses of spin_adaptive: 1 if the word stopped holding
 * `expected` during them (an answer that early teaches 0, and says the
 * partner runs on another CPU), else 0. */
static int spin_untimed(const uint32_t *word, uint32_t expected)
{
    for (uint32_t i = 0; i < SPIN_UNTIMED_PAUSES; i++) {
        futex__cpu_relax();
        /* Relaxed, as in spin_count: the caller re-reads with its own order. */
        if (futex__atomic_load_relaxed(word) != expected) {
            spin_learn(0);
            spin_set_partner_here(0); /* it answered from another CPU */
            return 1;
        }
    }
    return 0;
}

/* The spin of the default setting: re-check the word after a pause for
 * three quarters of the window, then after a yield until it ends (why both:
 * see spin_count) -- or after a yield from the start while partners seem to
 * share our CPU (spin_learned.partner_here), where each pause would only
 * keep the partner from running. Returns as spin_count; *began is when the
 * spin started, for learning from a sleep that follows.
 *
 * Pausing, the clock is read again only after SPIN_UNTIMED_PAUSES pauses:
 * a partner on another CPU often answers sooner, and the clock reads would
 * be a good part of such a wait (and come between the answer and our
 * seeing it). An answer that early teaches 0: sooner than the window's
 * floor, which covers it. With a short window and no deadline those pauses
 * come before the first clock read too (below). */
static int spin_adaptive(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, uint64_t *began)
{
    uint32_t window = spin_window_ns();
    int here = futex__atomic_load(&spin_learned.partner_here, FUTEX__RELAXED) != 0;
    /* A partner on another CPU that answers within the window's floor (a
     * hand-off between two spinning C threads: 0.1-0.3 us) is seen in the
     * first pauses, before any clock read: the read at the start was a
     * fifth of such a round trip (pinned threads, near vCPUs: 0.10 us
     * against 0.08 for a fixed count). The window then starts after those
     * pauses, so their time is outside it: only a window short enough that
     * both stay far inside the budget (SPIN_EARLY_WINDOW_NS plus 16 pauses,
     * 2.4 us at an extreme 150 ns a pause) runs them first; and only
     * without a deadline, which is checked on the clock. */
    int early = !here && window <= SPIN_EARLY_WINDOW_NS && deadline_ns == FUTEX_FOREVER;
    if (early && spin_untimed(word, expected))
        return 1;
    uint64_t t0 = futex_monotonic_ns(), now = t0;
    uint64_t end = t0 + window;
    uint64_t yield_at = here ? t0 : end - window / 4;
    *began = t0;
    /* The first pauses without the clock: unless they ran already, we yield
     * from the start, or a deadline falls inside the window (it is checked
     * on the clock). */
    int untimed = !early && yield_at != t0 && deadline_ns >= end;
    if (deadline_ns < end)
        end = deadline_ns; /* never spin past the deadline */
    if (untimed) {
        if (spin_untimed(word, expected))
            return 1;
        now = futex_monotonic_ns();
    }
    for (uint32_t i = 1;; i++) {
        int yielded = now >= yield_at;
        if (yielded) {
            yield_cpu();
        } else {
            futex__cpu_relax();
        }
        /* Relaxed, as in spin_count: the caller re-reads with its own order. */
        int answered = futex__atomic_load_relaxed(word) != expected;
        if (yielded || answered || i % SPIN_CLOCK_PAUSES == 0) {
            uint64_t before = now;
            now = futex_monotonic_ns();
            if (answered) {
                /* An answer seen while pausing teaches how long partners
                 * take. One seen after a yield may only have come because we
                 * gave our CPU to the partner: pausing longer would not have
                 * helped, so it teaches no time. Either way it may tell where
                 * the partner runs: here if the yield ran another thread,
                 * elsewhere if we paused or the yield ran nothing. */
                if (!yielded)
                    spin_learn(now - t0);
                if (!yielded || now - before < SPIN_NOOP_YIELD_NS)
                    spin_set_partner_here(0);
                else if (now - before > SPIN_SWITCHED_NS)
                    spin_set_partner_here(1);
                return 1;
            }
            if (now >= end)
                return now >= deadline_ns ? -1 : 0;
        }
    }
}

/* After a spin gave up and the wait slept: a wake soon after (the partner
 * was nearly there) lengthens the spin toward the window it just used, so a
 * partner a little slower than the estimate is caught next time; a long
 * sleep or a timeout (nobody was about to answer) lets the spin decay, so
 * waits nobody ends cost less. */
static void spin_learn_from_sleep(uint64_t began, int rc)
{
    uint64_t slept = futex_monotonic_ns() - began;
    if ((rc == 0 || rc == -EAGAIN) && slept < SPIN_NEAR_MISS_NS)
        spin_learn((uint64_t)spin_window_ns() + SPIN_FLOOR_NS);
    else
        spin_learn(0);
}

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

/* An untimed wait goes to the OS as a wait on a deadline this far ahead,
 * re-armed each time it passes. Linux (and FreeBSD, DragonFly, macOS)
 * restart an untimed wait after a signal handler installed with SA_RESTART
 * -- Python's, lua5.4's, most programs' -- so the caller would never see
 * -EINTR and Ctrl-C would wait for a wake; a timed wait returns -EINTR after
 * every handler. One wakeup a day per sleeping thread costs nothing. */
#define UNTIMED_SLICE_NS (86400ull * 1000000000u)

/* ---- sleepers on private words -------------------------------------------
 * futex_wake on a FUTEX_PRIVATE word skips the OS when no thread of this
 * process can be asleep on it, as libstdc++'s atomic notify does: a wake
 * that finds nobody costs a fence and three loads instead of a system call,
 * and a partner that is still spinning (a hand-off's usual case) is not
 * made to wait for our system call either. Every OS sleep of the core on a
 * private word (futex__os_wait_until, futex__os_waitv_until) counts itself
 * for its whole length, in a counter picked by the word's address, or in
 * one counter for every word when it sleeps on several at once.
 *
 * Dekker's pattern, as waitv.c's wv_pending:
 *   sleeper: count += 1 (SeqCst); fence; the OS reads the word, sleeps only if it holds `expected`
 *   waker:   stores the word, then futex_wake: fence; reads the counts
 * Either the waker reads the count and enters the OS, whose own protocol
 * then loses no wake, or the sleeper's fence comes after the waker's and
 * the OS reads the new value. Shared words are never skipped: a sleeper in
 * another process is not counted here. A forked child starts from zero (see
 * sleepers_fork_child). */
#define SLEEPER_BITS 6

typedef struct {
    uint32_t n;
    char pad[64 - sizeof(uint32_t)]; /* one cache line each: a waker reads one, sleepers write theirs */
} sleeper_count;

static sleeper_count sleepers[1u << SLEEPER_BITS];
static sleeper_count sleepers_multi; /* multi-word sleeps with a private word */

static uint32_t *sleeper_count_of(const uint32_t *word)
{
    /* Fibonacci hashing, as waitv.c and posix.c: spreads 4-aligned addresses evenly. */
    uint64_t h = (uint64_t)((uintptr_t)word >> 2) * UINT64_C(0x9E3779B97F4A7C15);
    return &sleepers[h >> (64 - SLEEPER_BITS)].n;
}

#if !defined(_WIN32) && !defined(__wasm__)
/* A forked child has one thread, the one that forked, which is not asleep:
 * the counts it inherits are other threads' sleeps, and would send every
 * private wake of the child to the OS for good (a process with a thread
 * asleep in a multi-word wait, as the watcher's, forks workers). It starts
 * from zero instead. (A fork from a signal handler that interrupted a sleep
 * leaves a count that wraps below zero: nonzero, so wakes enter the OS,
 * which is slower and never loses one.) */
static void sleepers_fork_child(void)
{
    for (unsigned i = 0; i < (1u << SLEEPER_BITS); i++)
        futex__atomic_store(&sleepers[i].n, 0, FUTEX__RELAXED);
    futex__atomic_store(&sleepers_multi.n, 0, FUTEX__RELAXED);
}
static uint32_t sleepers_handled; /* 1 once a thread took on registering the handler */

/* Not pthread_once: glibc's wakes its other callers through futex(2) and
 * aborts the host on an errno it did not expect (a seccomp filter's). A
 * thread that finds another registering goes on to sleep at once; a fork
 * in that moment only leaves the child counts to skip fewer wakes by. */
static void sleepers_register_fork_handler(void)
{
    /* Relaxed: the flag orders nothing but itself; the exchange picks one thread. */
    if (futex__atomic_load(&sleepers_handled, FUTEX__RELAXED) == 0 &&
        futex__atomic_exchange(&sleepers_handled, 1, FUTEX__RELAXED) == 0)
        (void)pthread_atfork(NULL, NULL, sleepers_fork_child); /* ENOMEM: a child makes more system calls */
}
#endif

static void sleep_begin(uint32_t *count)
{
#if !defined(_WIN32) && !defined(__wasm__)
    /* Before a count first leaves zero, the handler that clears them is registered. */
    sleepers_register_fork_handler();
#endif
    /* SeqCst, then the store-load fence: the OS's read of the word (not an
     * atomic of ours) must not be satisfied before the count is visible.
     * (TSan, which has no fences, sees no OS read either: the RMW is all it
     * can check.) */
    futex__atomic_fetch_add(count, 1, FUTEX__SEQ_CST);
#if !defined(FUTEX__UNDER_TSAN)
    futex__atomic_fence(FUTEX__SEQ_CST);
#endif
}

static void sleep_end(uint32_t *count)
{
    /* Relaxed: the count only gates wakers, and a waker that still sees us
     * after we left makes one system call too many, never one too few. */
    futex__atomic_fetch_sub(count, 1, FUTEX__RELAXED);
}

/* Whether a private word may have a sleeper to wake: its own count, the
 * multi-word sleepers', or the library's own multi-waiters (waitv.c). */
static int may_sleep_on(const uint32_t *word)
{
    uint32_t *own = sleeper_count_of(word);
#if defined(FUTEX__UNDER_TSAN)
    /* TSan does not model fences: SeqCst RMWs give it the same order. */
    return futex__atomic_fetch_add(own, 0, FUTEX__SEQ_CST) != 0 ||
           futex__atomic_fetch_add(&sleepers_multi.n, 0, FUTEX__SEQ_CST) != 0 || futex__waitv_announced();
#else
    /* The caller's store to the word must come before these loads: the
     * waker's half of the pattern above. */
    futex__atomic_fence(FUTEX__SEQ_CST);
    return futex__atomic_load(own, FUTEX__RELAXED) != 0 || futex__atomic_load(&sleepers_multi.n, FUTEX__RELAXED) != 0 ||
           futex__waitv_announced();
#endif
}

int futex__os_wait_until(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    unsigned os_flags = flags & FUTEX_SHARED;
    uint64_t os_deadline = deadline_ns;
    if (deadline_ns == FUTEX_FOREVER) {
        os_deadline = deadline_after(UNTIMED_SLICE_NS);
        os_flags |= FUTEX__UNTIMED;
    }
    if (os_flags & FUTEX_SHARED)
        return futex__os_wait(word, expected, os_deadline, os_flags);
    uint32_t *count = sleeper_count_of(word);
    sleep_begin(count);
    int rc = futex__os_wait(word, expected, os_deadline, os_flags);
    sleep_end(count);
    return rc;
}

int futex__os_waitv_until(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    int private_word = 0;
    for (uint32_t i = 0; i < n && !private_word; i++)
        private_word = !(items[i].flags & FUTEX_SHARED);
    if (!private_word)
        return futex__os_waitv(items, n, deadline_ns);
    sleep_begin(&sleepers_multi.n);
    int rc = futex__os_waitv(items, n, deadline_ns);
    sleep_end(&sleepers_multi.n);
    return rc;
}

/* The one wait loop behind every public wait. Arguments are checked and the
 * word is known to hold `expected`. */
/* The spin phase of a wait: 1 if the word stopped holding `expected`, -1 if
 * the deadline passed, 0 if the spin gave up (or does not run: FUTEX_NOSPIN,
 * a count of 0, one CPU -- where the writer cannot run while we spin).
 * *adaptive says whether the learned spin ran, and *began when, so that a
 * sleep that follows can teach it (spin_learn_from_sleep). */
static int spin_phase(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags, int *adaptive,
                      uint64_t *began)
{
    uint32_t n = futex_get_spin();
    *adaptive = !(flags & FUTEX_NOSPIN) && n == FUTEX_SPIN_ADAPTIVE && cpus() >= 2;
    *began = 0;
    if ((flags & FUTEX_NOSPIN) || n == 0 || cpus() < 2)
        return 0;
    int spun = *adaptive ? spin_adaptive(word, expected, deadline_ns, began) : spin_count(word, expected, deadline_ns, n);
    if (spun < 0 && *adaptive)
        spin_learn(0); /* the deadline came first: nobody answered */
    return spun;
}

/* The spin phase alone, for sync.c: its primitives spin before announcing
 * themselves as waiters, so that a partner answering while we spin is never
 * made to pay for a wake system call. */
int futex__spin(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, uint64_t *began)
{
    int adaptive;
    int spun = spin_phase(word, expected, deadline_ns, 0, &adaptive, began);
    if (!adaptive || spun != 0)
        *began = 0; /* nothing for a sleep to teach: a fixed count, or the spin ended it */
    return spun;
}

/* After futex__spin gave up and sync.c slept: the lesson wait_until draws.
 * Without it a primitive's spin never grew past a partner that answers a
 * little later than the estimate -- a pair whose wakes had once been slow
 * then slept on every hand-off, each side's spin ending just before the
 * other's answer. */
void futex__spin_slept(uint64_t began, int rc)
{
    if (began != 0 && rc != -EINTR)
        spin_learn_from_sleep(began, rc); /* -EINTR says nothing about the partner */
}

static int wait_until(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    int adaptive;
    uint64_t began;
    int spun = spin_phase(word, expected, deadline_ns, flags, &adaptive, &began);
    if (spun != 0)
        return spun > 0 ? -EAGAIN : -ETIMEDOUT; /* -1: the deadline passed while we spun */
    for (;;) {
        int rc = futex__os_wait_until(word, expected, deadline_ns, flags);
        /* Believe a timeout only when our own clock agrees: the backend may
         * have clamped a long timeout, or the OS rounded it down. */
        if (rc == -ETIMEDOUT && futex__remaining_ns(deadline_ns) != 0)
            continue;
        /* A wake may reach a waiter just as its deadline passes, and some
         * OSes then report the timeout yet count the wake as delivered
         * (WaitOnAddress under wine hands a WakeByAddressSingle to such a
         * waiter): the one waiter the waker woke would give up, and the
         * change it was woken for would wait for nobody. So a timeout is
         * reported only while the word still holds `expected`; otherwise
         * the caller is told it changed, and takes what was posted.
         * SeqCst: as the waker's store, which came before its wake. */
        if (rc == -ETIMEDOUT && futex__atomic_load(word, FUTEX__SEQ_CST) != expected)
            rc = -EAGAIN;
        if (adaptive && rc != -EINTR)
            spin_learn_from_sleep(began, rc); /* -EINTR says nothing about the partner */
        return rc;
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

int futex_seconds_to_ns(double seconds, uint64_t *ns)
{
    if (ns == NULL || !(seconds >= 0.0))
        return -EINVAL; /* negative, or NaN (every comparison with NaN is false) */
    double t = seconds * 1e9;
    /* 2^64 ns and beyond -- infinity, and any finite time past ~584 years --
     * is "never": one rule, however the caller spelled a huge timeout. */
    if (t >= 18446744073709551616.0) {
        *ns = FUTEX_FOREVER;
        return 0;
    }
    uint64_t whole = (uint64_t)t;
    /* Round up: a wait never ends before the time asked (1e-10 s is 1 ns). */
    *ns = (double)whole < t ? whole + 1 : whole;
    return 0;
}

int futex_deadline_wait_intr(const futex_deadline *d, const uint32_t *word, uint32_t expected, unsigned flags)
{
    if (d == NULL)
        return -EINVAL;
    if (futex__os_caps() & FUTEX_CAP_INTERRUPTIBLE)
        return futex_deadline_wait(d, word, expected, flags);
    /* The OS wait ignores signals: wait one slice of the deadline, then hand
     * the caller an -EINTR so it looks at its signals and calls again. */
    futex_deadline slice;
    if (!futex_deadline_slice(d, &slice))
        return futex_deadline_wait(d, word, expected, flags);
    int rc = futex_deadline_wait(&slice, word, expected, flags);
    return rc == -ETIMEDOUT ? -EINTR : rc;
}

int futex_deadline_slice(const futex_deadline *d, futex_deadline *slice)
{
    if (d == NULL || slice == NULL)
        return 0;
    futex_deadline_init(slice, FUTEX_SLICE_NS);
    if (slice->at_ns >= d->at_ns) {
        *slice = *d; /* the deadline comes first: one call to it */
        return 0;
    }
    return 1;
}

/* ---- waits whose loop runs here ---------------------------------------- */

/* Whether v is one of the values the caller waits past. */
static int in_set(uint32_t v, const uint32_t *values, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (values[i] == v)
            return 1;
    return 0;
}

/* The loop behind futex_wait_past and futex_wait_until: wait on whatever
 * the word holds while it is in the set (or, with `outside`, while it is
 * not), each wait by the one interruptible policy, so spinning, slicing,
 * deadlines and -EINTR are futex_deadline_wait_intr's and nothing else's. */
static int wait_while(const futex_deadline *d, const uint32_t *word, const uint32_t *values, uint32_t count,
                      int outside, unsigned flags, uint32_t *seen)
{
    if (d == NULL || (values == NULL && count > 0))
        return -EINVAL;
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc; /* before the word is touched */
    for (;;) {
        uint32_t v = futex_load(word);
        if (in_set(v, values, count) == outside) {
            if (seen != NULL)
                *seen = v;
            return 0;
        }
        rc = futex_deadline_wait_intr(d, word, v, flags);
        switch (rc) {
        case 0:       /* woken, or spuriously: look at the word again */
        case -EAGAIN: /* it changed before we slept: look again */
            continue;
        default: /* -ETIMEDOUT, -EINTR (the caller runs its handlers), an error */
            return rc;
        }
    }
}

int futex_wait_past(const futex_deadline *d, const uint32_t *word, const uint32_t *values, uint32_t count,
                    unsigned flags, uint32_t *seen)
{
    return wait_while(d, word, values, count, 0, flags, seen);
}

int futex_wait_until(const futex_deadline *d, const uint32_t *word, uint32_t want, unsigned flags)
{
    return wait_while(d, word, &want, 1, 1, flags, NULL);
}

int futex_store_wake(uint32_t *word, uint32_t value, uint32_t max_waiters, unsigned flags)
{
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc; /* nothing stored */
    futex_store(word, value); /* SeqCst: ordered before the wake's check for waiters */
    return futex_wake(word, max_waiters, flags);
}

int futex_add_wake(uint32_t *word, uint32_t delta, uint32_t max_waiters, unsigned flags, uint32_t *old)
{
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc; /* nothing added */
    uint32_t was = futex_fetch_add(word, delta); /* SeqCst, as futex_store_wake */
    if (old != NULL)
        *old = was;
    return futex_wake(word, max_waiters, flags);
}

int futex_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int rc = check_args(word, flags);
    if (rc != 0)
        return rc;
    if (max_waiters == 0)
        return 0;
    if (!(flags & FUTEX_SHARED) && !may_sleep_on(word))
        return 0; /* no thread of ours sleeps on it (see the sleepers above): an exact count */
    /* futex_waitv's own multi-waiters (waitv.c) count against max_waiters,
     * as Linux counts FUTEX_WAITV waiters: one load when there are none. */
    uint32_t multi = futex__waitv_wake(word, max_waiters);
    if (multi == max_waiters)
        return (int)(multi > (uint32_t)INT32_MAX ? (uint32_t)INT32_MAX : multi);
    rc = futex__os_wake(word, max_waiters - multi, flags & FUTEX_SHARED);
    return rc >= 0 && multi > 0 ? rc + (int)multi : rc;
}

/* ---- fault guards ------------------------------------------------------- */

#if defined(_WIN32) || defined(__wasm__)
int futex_guard_begin(const uint32_t *word)
{
    (void)word;
    return 0; /* no SIGBUS here: Windows refuses to shrink a mapped file */
}
int futex_guard_end(void) { return 0; }
void futex_guard_forget(const void *base, uint64_t len) { (void)base, (void)len; }
#else

/* Pages found dead, so later operations fail without touching them. A fixed
 * table: the signal handler cannot allocate. A page that does not fit is
 * still caught the next time it faults (its zero page is private memory,
 * so it would not fault again: the cells' own flags carry that case). */
#define BROKEN_MAX 64
static uintptr_t broken_pages[BROKEN_MAX]; /* 0: free slot */
static uintptr_t page_size;
static struct sigaction previous_bus;
static uint32_t guard_state; /* 0 none, 1 installing, 2 installed */

/* How many slots of broken_pages were ever filled: while 0 (nearly always),
 * a guard has no table to search. */
static uint32_t broken_count;

/* The page this thread guards right now (0: none) and whether it faulted.
 * Only this thread's own SIGBUS handler reads them, and a thread sees its
 * own stores in order: so relaxed atomics, with signal fences that keep the
 * compiler from moving them across the guarded operation even when
 * everything is inlined -- no fence the CPU executes (SeqCst stores cost
 * ~20 ns each here, most of a guarded call). */
/* Initial-exec TLS under glibc: the -fPIC default (general or local
 * dynamic) calls __tls_get_addr at every access, twice a guarded operation,
 * ~11 instructions each under callgrind. glibc keeps a reserve of static TLS
 * for modules that dlopen loads with initial-exec variables (these 12 bytes
 * are a small part of it); musl and bionic refuse such modules, so they keep
 * the default. */
#if defined(__GLIBC__) && defined(__PIC__) && (defined(__GNUC__) || defined(__clang__))
#define GUARD_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define GUARD_TLS _Thread_local
#endif
static GUARD_TLS uintptr_t guarded_page;
static GUARD_TLS uint32_t guard_hit;

static void chain_bus(int sig, siginfo_t *info, void *ctx)
{
    if (previous_bus.sa_flags & SA_SIGINFO) {
        previous_bus.sa_sigaction(sig, info, ctx);
    } else if (previous_bus.sa_handler == SIG_DFL || previous_bus.sa_handler == SIG_IGN) {
        /* Restore the default and return: the faulting instruction runs
         * again and the fault kills the process as it would have. (A
         * fault's SIGBUS cannot be ignored.) */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGBUS, &dfl, NULL);
    } else {
        previous_bus.sa_handler(sig);
    }
}

static void on_bus(int sig, siginfo_t *info, void *ctx)
{
    uintptr_t page = (uintptr_t)info->si_addr & ~(page_size - 1);
    if (page != 0 && page == futex__atomic_load_uptr(&guarded_page, FUTEX__SEQ_CST)) {
        /* Our word's page lost its file. Put private zeros in its place
         * (mmap is async-signal-safe in practice on every libc we build
         * for), so the instruction completes when we return. */
        void *p = mmap((void *)page, (size_t)page_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != MAP_FAILED) {
            for (unsigned i = 0; i < BROKEN_MAX; i++) {
                uintptr_t free_slot = 0;
                if (futex__atomic_cas_uptr(&broken_pages[i], &free_slot, page, FUTEX__SEQ_CST)) {
                    futex__atomic_fetch_add(&broken_count, 1, FUTEX__SEQ_CST);
                    break;
                }
            }
            futex__atomic_store(&guard_hit, 1, FUTEX__SEQ_CST);
            return;
        }
    }
    chain_bus(sig, info, ctx); /* a fault anywhere else is not ours */
}

static int guard_install(void)
{
    uint32_t state = futex__atomic_load(&guard_state, FUTEX__ACQUIRE);
    if (state == 2)
        return 0;
    uint32_t expected = 0;
    if (futex__atomic_cas(&guard_state, &expected, 1, FUTEX__ACQ_REL)) {
        long ps = sysconf(_SC_PAGESIZE);
        page_size = ps > 0 ? (uintptr_t)ps : 4096u;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_bus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        /* previous_bus is written before the handler can run: sigaction
         * fills it before installing ours. */
        sigaction(SIGBUS, &sa, &previous_bus);
        futex__atomic_store(&guard_state, 2, FUTEX__RELEASE);
        return 0;
    }
    while (futex__atomic_load(&guard_state, FUTEX__ACQUIRE) != 2)
        sched_yield(); /* another thread is installing it: a few microseconds */
    return 0;
}

int futex_guard_begin(const uint32_t *word)
{
    guard_install();
    uintptr_t page = (uintptr_t)word & ~(page_size - 1);
    /* Acquire, paired with the handler's SeqCst add after it filled the
     * slot: a count seen non-zero shows the slot filled. */
    if (futex__atomic_load(&broken_count, FUTEX__ACQUIRE) != 0)
        for (unsigned i = 0; i < BROKEN_MAX; i++)
            if (futex__atomic_load_uptr(&broken_pages[i], FUTEX__RELAXED) == page)
                return -EFAULT; /* found dead before: its zeros are not the file's */
    futex__atomic_store(&guard_hit, 0, FUTEX__RELAXED);
    futex__atomic_store_uptr(&guarded_page, page, FUTEX__RELAXED);
    futex__signal_fence(); /* before the guarded operation */
    return 0;
}

int futex_guard_end(void)
{
    futex__signal_fence(); /* after the guarded operation */
    futex__atomic_store_uptr(&guarded_page, 0, FUTEX__RELAXED);
    futex__signal_fence();
    return futex__atomic_load(&guard_hit, FUTEX__RELAXED) ? -EFAULT : 0;
}

void futex_guard_forget(const void *base, uint64_t len)
{
    uintptr_t lo = (uintptr_t)base, hi = lo + (uintptr_t)len;
    for (unsigned i = 0; i < BROKEN_MAX; i++) {
        uintptr_t p = futex__atomic_load_uptr(&broken_pages[i], FUTEX__RELAXED);
        if (p != 0 && p + page_size > lo && p < hi)
            futex__atomic_cas_uptr(&broken_pages[i], &p, 0, FUTEX__SEQ_CST);
    }
}
#endif

/* ---- introspection ------------------------------------------------------ */

const char *futex_backend(void) { return futex__os_name; }
unsigned futex_capabilities(void)
{
    unsigned caps = futex__os_caps();
    /* Without cross-process waits every wake passes through this process's
     * futex_wake, and so through waitv.c's table: multi-waits are exact. */
    if ((caps & FUTEX_CAP_WAITV_NATIVE) || !(caps & FUTEX_CAP_SHARED))
        caps |= FUTEX_CAP_WAITV_EXACT;
    return caps;
}

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
    case EFAULT: return "the word is not in mapped memory, or the shared file under it shrank (EFAULT)";
    case ENOSYS: return "the OS has no futex call (ENOSYS)";
    case EPERM: return "not permitted: the calling thread does not hold the mutex, or the OS refused (a sandbox or seccomp filter?) (EPERM)";
    case EACCES: return "the OS denied access (EACCES: a sandbox or seccomp filter?)";
    case ENOMEM: return "the OS is out of memory (ENOMEM)";
    case EBUSY: return "busy: the mutex is held, or the OS reports the word busy (EBUSY)";
    case EIO: return "an I/O error from the OS (EIO)";
    case ESRCH: return "the OS found no such process (ESRCH)";
    case EBADF: return "the OS reports a bad descriptor (EBADF)";
    case EOVERFLOW: return "the semaphore would pass its bound, or a value overflowed in the OS (EOVERFLOW)";
    case ERANGE: return "a value out of the OS's range (ERANGE)";
    case EINPROGRESS: return "the OS reports the operation in progress (EINPROGRESS)";
    case EOWNERDEAD: return "the previous owner died holding the mutex (now held: repair, then make it consistent)";
    case ENOTRECOVERABLE: return "the mutex is not recoverable: it was released while inconsistent";
    case ECANCELED: return "the barrier is broken";
    default: return "an error from the OS that libfutex does not name (see the errno value)";
    }
}
