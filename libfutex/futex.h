/*
 * libfutex — one portable futex API: wait on a 32-bit word until another
 * thread or process changes it and wakes you.
 *
 * This header is the whole public interface and its documentation. It needs
 * only <stdint.h>, compiles as C99 and C++, and uses no name that clashes
 * with <linux/futex.h> or OpenBSD's <sys/futex.h>.
 *
 * Results: every function that can fail returns 0 or a positive count on
 * success and a negative errno value (-EAGAIN, -EINVAL, ...) on failure, the
 * same set on every OS. Include <errno.h> to compare against them.
 */
#ifndef LIBFUTEX_FUTEX_H
#define LIBFUTEX_FUTEX_H

#include <stdint.h>

#define FUTEX_VERSION_MAJOR 0
#define FUTEX_VERSION_MINOR 1
#define FUTEX_VERSION_PATCH 0
#define FUTEX_VERSION "0.1.0"

/* FUTEX_EXTERN marks the public functions. A build that compiles the library
 * into something else (the Python and Lua modules) defines it as hidden. */
#ifndef FUTEX_EXTERN
#if defined(_WIN32) && defined(FUTEX_BUILDING_DLL)
#define FUTEX_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(FUTEX_USING_DLL)
#define FUTEX_EXTERN __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define FUTEX_EXTERN __attribute__((visibility("default")))
#else
#define FUTEX_EXTERN
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for every wait and wake. */
#define FUTEX_PRIVATE 0u /* only threads of one process use the word */
#define FUTEX_SHARED 1u  /* the word may sit in memory shared between processes */
#define FUTEX_NOSPIN 2u  /* wait: go to the OS at once, skipping the spin phase */

/* A timeout or deadline that never expires. */
#define FUTEX_FOREVER UINT64_MAX

/* futex_wake's max_waiters for "all of them". */
#define FUTEX_ALL UINT32_MAX

/* futex_wake's result where the OS wakes without saying how many it woke
 * (darwin, windows, freebsd, dragonfly). Distinct from every -errno value. */
#define FUTEX_UNCOUNTED (-0x10000)

/* futex_capabilities() bits, decided at run time by the backend in use. */
#define FUTEX_CAP_SHARED 1u            /* FUTEX_SHARED works: waits and wakes reach other processes */
#define FUTEX_CAP_WAKE_COUNT 2u        /* futex_wake returns the exact number woken */
#define FUTEX_CAP_ABSOLUTE_DEADLINE 4u /* the OS itself takes the deadline (no drift across re-waits) */
#define FUTEX_CAP_INTERRUPTIBLE 8u     /* a signal makes a blocked wait return -EINTR */

/*
 * futex_wait — block while *word == expected.
 *
 * Atomically (with respect to futex_wake on the same word) checks that *word
 * holds `expected` and, if so, sleeps until one of:
 *   - a futex_wake on the same word wakes it                   -> 0
 *   - a spurious wakeup (the OS may return for no reason)       -> 0
 *   - a signal handler ran (FUTEX_CAP_INTERRUPTIBLE)            -> -EINTR
 * Returns -EAGAIN at once if *word != expected, and -EAGAIN after blocking
 * where the OS reports that the value had changed. -EINTR comes after any
 * handler, SA_RESTART or not: the OS is handed a far deadline, never an
 * untimed wait that its kernel would silently restart.
 *
 * Because of spurious wakeups a 0 result says nothing about the word: always
 * re-check it in a loop, as with every futex.
 *
 * Errors that touch no memory: -EINVAL for a NULL or misaligned (not 4-byte)
 * word or an unknown flag; -ENOTSUP for FUTEX_SHARED where the backend cannot
 * reach other processes (see futex_capabilities); -EDEADLK on the
 * single-threaded backend, where nothing could ever change the word.
 *
 * Errors the OS gives: -EFAULT (the word is not mapped, or, for a word in a
 * shared file, the file shrank under it), -EPERM and -ENOSYS (a sandbox or
 * seccomp filter refused the call, or the kernel lacks it), and any other
 * -errno the OS returns (-EACCES, -ENOMEM, ... from a filter), handed back
 * as it is: the library never aborts on an OS result.
 *
 * Unless FUTEX_NOSPIN is given, the wait first re-checks the word for a short
 * while (futex_set_spin) before it sleeps in the OS.
 */
FUTEX_EXTERN int futex_wait(const uint32_t *word, uint32_t expected, unsigned flags);

/*
 * futex_timed_wait — futex_wait that gives up after timeout_ns nanoseconds
 * (measured on the monotonic clock) with -ETIMEDOUT.
 *
 * timeout_ns == 0 only checks the word (-EAGAIN if it differs, else
 * -ETIMEDOUT) and never enters the OS. FUTEX_FOREVER waits forever. A timeout
 * longer than the OS accepts is clamped and re-waited: -ETIMEDOUT is never
 * returned before timeout_ns has passed. All other results as futex_wait.
 */
FUTEX_EXTERN int futex_timed_wait(const uint32_t *word, uint32_t expected, uint64_t timeout_ns,
                                  unsigned flags);

/*
 * futex_wake — wake up to max_waiters threads blocked in a wait on `word`.
 *
 * Returns the number woken (0 if none were waiting) where futex_capabilities
 * has FUTEX_CAP_WAKE_COUNT, else FUTEX_UNCOUNTED after a successful wake.
 * max_waiters == 0 returns 0 without entering the OS; FUTEX_ALL wakes all.
 * Where the OS can only wake one or all (darwin, windows), max_waiters > 1
 * wakes all. -EINVAL, -ENOTSUP, -EFAULT, -EPERM, -ENOSYS and any other
 * OS -errno as futex_wait.
 *
 * Store the new value before waking: a waiter that has not yet blocked sees
 * the new value instead of sleeping, so no wakeup is lost.
 */
FUTEX_EXTERN int futex_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags);

/*
 * futex_deadline — an absolute deadline on the monotonic clock for a loop of
 * waits, so that spurious wakeups never stretch the total time waited. Where
 * the OS takes an absolute time (FUTEX_CAP_ABSOLUTE_DEADLINE) it is handed the
 * deadline itself and no re-computation can drift.
 */
struct futex_deadline {
    uint64_t at_ns; /* monotonic nanoseconds; FUTEX_FOREVER: never expires */
};
typedef struct futex_deadline futex_deadline;

/* Sets *d to expire expires_in_ns from now (FUTEX_FOREVER: never). A deadline
 * past the clock's range is clamped to the far future. */
FUTEX_EXTERN void futex_deadline_init(futex_deadline *d, uint64_t expires_in_ns);

/* futex_timed_wait until *d: -ETIMEDOUT once the deadline has passed
 * (without entering the OS if it already had), else as futex_wait.
 * -EINVAL also for a NULL d. */
FUTEX_EXTERN int futex_deadline_wait(const futex_deadline *d, const uint32_t *word, uint32_t expected,
                                     unsigned flags);

/* Nanoseconds left: 0 once expired, FUTEX_FOREVER for a deadline that never
 * expires (and for a NULL d). */
FUTEX_EXTERN uint64_t futex_deadline_remaining_ns(const futex_deadline *d);

/*
 * The blocking-call policy every binding (and any C caller that must react to
 * signals) uses, after CPython's acquire_timed(): wait on (word, expected)
 * until *d, and return -EINTR whenever the caller should look at its
 * signals -- then it runs its handlers and calls again with the same d, so
 * re-waits never stretch the total time:
 *
 *     while ((rc = futex_deadline_wait_intr(&d, w, v, flags)) == -EINTR)
 *         if (run_signal_handlers() failed) return that;
 *
 * Where a signal ends an OS wait (FUTEX_CAP_INTERRUPTIBLE) this is
 * futex_deadline_wait. Elsewhere the OS wait cannot see a signal, so it
 * blocks at most FUTEX_SLICE_NS and then returns -EINTR (the deadline not
 * yet passed): a signal is seen within one slice. Results otherwise as
 * futex_deadline_wait; -EINVAL for a NULL d.
 */
#define FUTEX_SLICE_NS 50000000u /* 50 ms */
FUTEX_EXTERN int futex_deadline_wait_intr(const futex_deadline *d, const uint32_t *word, uint32_t expected,
                                          unsigned flags);

/*
 * ---- Waits whose loop runs here, and store-or-add-then-wake --------------
 *
 * A waiter's whole loop ("while the word holds v: wait(v)") and a waker's
 * two steps (store, wake) as single calls, so a binding crosses into C once
 * per side of a hand-off instead of four times. They follow the blocking
 * policy of futex_deadline_wait_intr: a d passed in, -EINTR whenever the
 * caller should run its signal handlers and call again with the same d.
 */

/*
 * futex_wait_past — block while *word holds any of the `count` values in
 * `values`, until *d passes.
 *
 * Loads the word; if it holds none of the values, stores what it holds in
 * *seen (when seen is not NULL) and returns 0 -- at once if it already did.
 * Otherwise it waits on the value it holds (futex_deadline_wait_intr: spin,
 * then sleep) and looks again after every wake, spurious ones included, so
 * a 0 result means the word was seen outside the set. The load is
 * sequentially consistent, as futex_load.
 * Returns -ETIMEDOUT once *d has passed with the word still in the set
 * (after one check, without entering the OS, if it had passed on entry);
 * -EINTR as futex_deadline_wait_intr (call again with the same d, passing
 * FUTEX_NOSPIN, as the spin ran once already); -EINVAL for a NULL d, a NULL
 * `values` with count > 0, and everything futex_wait refuses (checked before
 * the word is touched); every other result as futex_wait. count == 0 is an
 * empty set: 0 at once. Locks and semaphores use it as "wait while locked"
 * ({LOCKED, CONTENDED}) or "wait while empty" ({0}).
 */
FUTEX_EXTERN int futex_wait_past(const futex_deadline *d, const uint32_t *word, const uint32_t *values,
                                 uint32_t count, unsigned flags, uint32_t *seen);

/*
 * futex_wait_until — block until *word == want, or until *d passes: the
 * same loop as futex_wait_past with the set "every value but want".
 * Returns 0 once the word was seen holding want, else as futex_wait_past.
 */
FUTEX_EXTERN int futex_wait_until(const futex_deadline *d, const uint32_t *word, uint32_t want, unsigned flags);

/*
 * futex_store_wake — futex_store(word, value), then futex_wake(word,
 * max_waiters, flags): the hand-off in one call, in the order that loses no
 * wakeup. futex_add_wake — futex_fetch_add(word, delta) (the old value in
 * *old when old is not NULL), then the wake.
 * Both return the wake's result (a count, FUTEX_UNCOUNTED, or -errno). The
 * arguments are checked first: for a NULL or misaligned word or a bad flag
 * they return -EINVAL (-ENOTSUP for FUTEX_SHARED as futex_wake) and store
 * nothing. An -errno from the OS's wake comes after the store: the word
 * holds the new value then.
 */
FUTEX_EXTERN int futex_store_wake(uint32_t *word, uint32_t value, uint32_t max_waiters, unsigned flags);
FUTEX_EXTERN int futex_add_wake(uint32_t *word, uint32_t delta, uint32_t max_waiters, unsigned flags,
                                uint32_t *old);

/*
 * Seconds (as a binding's users write timeouts) to the nanoseconds every
 * timeout and deadline here takes, with one rule for every binding: rounded
 * up, so a wait never ends before the time asked; infinity and anything at
 * or past 2^64 ns (~584 years) is FUTEX_FOREVER, never expiring; 0 is 0
 * (check only). Returns 0, or -EINVAL for NaN or a negative time (and a
 * NULL ns), leaving *ns untouched.
 */
FUTEX_EXTERN int futex_seconds_to_ns(double seconds, uint64_t *ns);

/* The monotonic clock the deadlines use, in nanoseconds from an arbitrary start. */
FUTEX_EXTERN uint64_t futex_monotonic_ns(void);

/*
 * Atomic operations on futex words. All are sequentially consistent, so a
 * store followed by futex_wake can never be reordered after the wake's check
 * for waiters. Arithmetic wraps modulo 2^32. Each returns the value the word
 * held before the operation (futex_load: the value it holds). The word must
 * be non-NULL and 4-byte aligned (these are not checked: they are the fast path).
 */
FUTEX_EXTERN uint32_t futex_load(const uint32_t *word);
FUTEX_EXTERN void futex_store(uint32_t *word, uint32_t value);
FUTEX_EXTERN uint32_t futex_exchange(uint32_t *word, uint32_t value);
FUTEX_EXTERN uint32_t futex_compare_exchange(uint32_t *word, uint32_t expected, uint32_t desired);
FUTEX_EXTERN uint32_t futex_fetch_add(uint32_t *word, uint32_t v);
FUTEX_EXTERN uint32_t futex_fetch_sub(uint32_t *word, uint32_t v);
FUTEX_EXTERN uint32_t futex_fetch_and(uint32_t *word, uint32_t v);
FUTEX_EXTERN uint32_t futex_fetch_or(uint32_t *word, uint32_t v);
FUTEX_EXTERN uint32_t futex_fetch_xor(uint32_t *word, uint32_t v);

/*
 * Fault guards: a word in a MAP_SHARED file mapping dies with a SIGBUS when
 * another process shrinks the file under it. Between futex_guard_begin(word)
 * and futex_guard_end() on one thread, such a fault on word's page does not
 * kill the process: a SIGBUS handler (installed at the first begin, chaining
 * to the handler it replaced for every other fault, so those stay as fatal
 * as before) maps a private zero page over the dead one, so the operation
 * completes harmlessly -- no lock is left held -- and futex_guard_end()
 * returns -EFAULT: its result is meaningless. From then on futex_guard_begin
 * on that page returns -EFAULT at once, until futex_guard_forget releases
 * the range (when its mapping goes away and the address may be reused).
 * Both bindings guard every cell operation this way. Calls do not nest; the
 * guard is per thread. Returns 0 or -EFAULT (begin also -ENOTSUP where no
 * signals exist: Windows, wasm, which have no such fault to catch).
 */
FUTEX_EXTERN int futex_guard_begin(const uint32_t *word);
FUTEX_EXTERN int futex_guard_end(void);
FUTEX_EXTERN void futex_guard_forget(const void *base, uint64_t len);

/*
 * Spin-then-park. Before sleeping in the OS, a wait re-checks the word for a
 * short while, so a partner that answers within a few microseconds is seen
 * without a sleep and the wakeup that follows one.
 *
 * By default (FUTEX_SPIN_ADAPTIVE) the spin is timed, not counted, and
 * learned: the process keeps one estimate of how long partners take to
 * answer, moved 1/8 of the way toward what each wait saw (after glibc's
 * adaptive mutex): an answer seen while spinning pulls it toward the time
 * it took; a spin that gave up just before a wake (the wait slept under a
 * millisecond) pushes it up; a long sleep or a timeout lets it decay. A
 * wait spins about twice the estimate plus 1 µs, never more than
 * FUTEX_SPIN_BUDGET_NS of CPU (10 µs) before it parks, whatever the CPU's
 * pause latency: the clock is read every few re-checks. The last quarter of
 * the spin yields the CPU (sched_yield), which lets a partner sharing our
 * CPU run; while answers come right after yields that ran other threads,
 * the whole spin yields. bench/ measures the CPU a wait nobody ends burns.
 *
 * futex_set_spin(n) overrides this with a fixed count of re-checks (the last
 * 4 -- half, below 8 -- after a yield, the rest after a CPU pause hint);
 * 0 turns spinning off, as does FUTEX_NOSPIN per call; FUTEX_SPIN_ADAPTIVE
 * restores the default. The setting is process-wide; futex_get_spin returns
 * it as set. On a single CPU no wait spins. A spin cannot see a signal, so
 * one wait re-checks at most 65536 times (about 2 ms) whatever the count,
 * and never spins past its deadline.
 */
#define FUTEX_SPIN_ADAPTIVE UINT32_MAX /* futex_set_spin: the learned, timed spin (the default) */
#define FUTEX_SPIN_BUDGET_NS 10000u    /* the most CPU an adaptive spin burns before it parks */
FUTEX_EXTERN void futex_set_spin(uint32_t iterations);
FUTEX_EXTERN uint32_t futex_get_spin(void);

/* The backend in use: "linux", "posix", "single", "darwin", "windows",
 * "freebsd", "openbsd", "dragonfly", "netbsd" or "wasm". */
FUTEX_EXTERN const char *futex_backend(void);

/* FUTEX_CAP_* bits of the backend in use, decided at run time. */
FUTEX_EXTERN unsigned futex_capabilities(void);

/* A static English description of a result: "woken", "value changed",
 * "timed out", ... for 0, FUTEX_UNCOUNTED and each -errno result. */
FUTEX_EXTERN const char *futex_strerror(int result);

#ifdef __cplusplus
}
#endif

#endif /* LIBFUTEX_FUTEX_H */
