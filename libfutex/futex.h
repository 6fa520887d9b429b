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
/* The string is made from the three numbers above, the version's one home:
 * CMake and setup.py read those lines, nothing reads this one. */
#define FUTEX__STRINGIFY(x) #x
#define FUTEX__VERSION_STRING(a, b, c) FUTEX__STRINGIFY(a) "." FUTEX__STRINGIFY(b) "." FUTEX__STRINGIFY(c)
#define FUTEX_VERSION FUTEX__VERSION_STRING(FUTEX_VERSION_MAJOR, FUTEX_VERSION_MINOR, FUTEX_VERSION_PATCH)

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
 * returned before timeout_ns has passed, nor once the word no longer holds
 * `expected` (then -EAGAIN: a wake that met the deadline is never lost).
 * All other results as futex_wait.
 */
FUTEX_EXTERN int futex_timed_wait(const uint32_t *word, uint32_t expected, uint64_t timeout_ns,
                                  unsigned flags);

/*
 * futex_wake — wake up to max_waiters threads blocked in a wait on `word`.
 *
 * Returns the number woken (0 if none were waiting) where futex_capabilities
 * has FUTEX_CAP_WAKE_COUNT, else FUTEX_UNCOUNTED after a successful wake.
 * max_waiters == 0 returns 0 without entering the OS; FUTEX_ALL wakes all.
 * So does a FUTEX_PRIVATE word that no thread of this process sleeps on (on
 * every backend: the library counts its sleepers, as libstdc++'s
 * atomic::notify does), so a wake that finds nobody costs a few ns, not a
 * system call; a FUTEX_SHARED word always goes to the OS, which alone knows
 * the other processes' sleepers. Where the OS can only wake one or all
 * (darwin, windows), max_waiters > 1 wakes all. -EINVAL, -ENOTSUP, -EFAULT,
 * -EPERM, -ENOSYS and any other OS -errno as futex_wait.
 *
 * Store the new value before waking (any atomic store; the wake orders it
 * before its own check for sleepers): a waiter that has not yet blocked sees
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
 * futex_deadline_slice — the same policy for a blocking call other than a
 * wait on one word (a Mutex, Semaphore or Condition of this library, whose
 * sleeps a signal may fall between): sets *slice to the part of *d the next
 * call should block for, at most FUTEX_SLICE_NS, and returns 1 when *slice
 * ends before *d -- then a -ETIMEDOUT from that call means "look at the
 * signals and call again with the same d" -- or 0 when *slice is *d. A call
 * that a timeout changes (a Barrier, which it breaks) is not to be sliced.
 */
FUTEX_EXTERN int futex_deadline_slice(const futex_deadline *d, futex_deadline *slice);

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
 * The synchronization primitives (below) spin and learn the same way: the
 * spin before a waiter announces itself, and the sleep after it, teach the
 * one estimate -- so a pair that once answered late (a preempted partner, a
 * halted CPU's slow wakeup) spins long enough again to stop sleeping.
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

/* The backend in use: the name of its file in libfutex/backend/ ("linux"
 * for backend/linux.c, "posix", "darwin", "windows", ...). */
FUTEX_EXTERN const char *futex_backend(void);

/* FUTEX_CAP_* bits of the backend in use, decided at run time. */
FUTEX_EXTERN unsigned futex_capabilities(void);

/* A static English description of a result: "woken", "value changed",
 * "timed out", ... for 0, FUTEX_UNCOUNTED and each -errno result. */
FUTEX_EXTERN const char *futex_strerror(int result);

/* ==== Waiting on many words: futex_waitv and the watcher =====================
 *
 * futex_waitv sleeps until any one of up to FUTEX_WAITV_LIMIT words changes or
 * is woken. A futex_watcher does the same on behalf of an event loop: a helper
 * thread sleeps in futex_waitv and makes a file descriptor readable.
 *
 * How each backend waits on many words (futex_capabilities tells at run time):
 *   - linux >= 5.16: the kernel's FUTEX_WAITV (FUTEX_CAP_WAITV_NATIVE). Every
 *     wake, from any process, reaches the waiter at once. More than
 *     FUTEX_WAITV_LIMIT words (only a watcher asks for that): one FUTEX_WAITV
 *     per 128 words through io_uring (Linux 6.7+; a ring made for the wait,
 *     every request cancelled and reaped before it returns), just as exact.
 *     Kernels without FUTEX_WAITV (ENOSYS), and many words where io_uring or
 *     its FUTEX_WAITV is missing or forbidden, use the library's own
 *     multi-wait below.
 *   - every other backend, and the cases above: the library's multi-wait
 *     (one word: the backend's single-word wait, as futex_wait). The
 *     waiter links one record per word into a process-local table and sleeps
 *     on a private word of its own; futex_wake looks the woken word up in
 *     that table (one atomic load when no multi-wait is pending anywhere in
 *     the process) and wakes the waiters it finds, counting them against
 *     max_waiters. Cost: one lock/unlock of a table bucket per word on entry
 *     and again on exit, and a table lookup in futex_wake while any
 *     multi-wait is pending. Wakes from this process, private or shared,
 *     reach the waiter at once.
 *     Wakes from OTHER processes do not pass through this table. So while
 *     a multi-wait holds a FUTEX_SHARED word, it re-checks every word in
 *     slices: 0.1 ms after it starts sleeping, then doubling up to
 *     FUTEX_WAITV_SLICE_NS (10 ms). Guarantee: a change made by another
 *     process to a FUTEX_SHARED word is seen at most FUTEX_WAITV_SLICE_NS
 *     (plus scheduling delay) after the store, whether or not that process
 *     calls futex_wake; a wake from another process that leaves the value as
 *     it was (or an A -> B -> A change within one slice) is not seen. A wait
 *     whose words are all private never re-checks: it sleeps until woken.
 *     On backends without FUTEX_CAP_SHARED (posix, windows, wasm, single)
 *     every wake passes through the table, so they are exact
 *     (FUTEX_CAP_WAITV_EXACT) and never slice.
 */

/* futex_capabilities() bits for futex_waitv. */
#define FUTEX_CAP_WAITV_NATIVE 16u /* the OS waits on the words itself (Linux FUTEX_WAITV) */
#define FUTEX_CAP_WAITV_EXACT 32u  /* every wake, from any process, reaches futex_waitv at once (no re-check slices) */

/* The most words one futex_waitv takes (Linux's own limit, so that every
 * backend accepts the same calls). */
#define FUTEX_WAITV_LIMIT 128u

/* The longest re-check slice of a multi-wait on FUTEX_SHARED words where the
 * wait is not exact (see above): 10 ms. */
#define FUTEX_WAITV_SLICE_NS 10000000u

/* One word of a futex_waitv. */
struct futex_waitv_item {
    const uint32_t *word; /* non-NULL, 4-byte aligned */
    uint32_t expected;    /* sleep while *word == expected */
    unsigned flags;       /* FUTEX_PRIVATE or FUTEX_SHARED, per word */
};
typedef struct futex_waitv_item futex_waitv_item;

/*
 * futex_waitv — block while every items[i].word holds items[i].expected.
 *
 * Checks the words in order and, if all hold their expected values, sleeps
 * until one of:
 *   - a futex_wake on one of the words wakes it    -> that word's index (>= 0)
 *   - a spurious wakeup (fallback paths only)      -> some index (>= 0)
 *   - a signal handler ran (FUTEX_CAP_INTERRUPTIBLE) -> -EINTR
 *   - the deadline passed                          -> -ETIMEDOUT
 * Signals: as futex_wait, except that Linux's FUTEX_WAITV
 * (FUTEX_CAP_WAITV_NATIVE) is restarted by the kernel after a handler
 * installed with SA_RESTART, even with a deadline: a caller that must regain
 * control to run such a handler's work (lua5.4's SIGINT) waits in slices
 * there, as on backends without FUTEX_CAP_INTERRUPTIBLE.
 * As with futex_wait, an index result says nothing certain about the words:
 * re-check them -- all of them. Linux's FUTEX_WAITV counts a wake that
 * reaches a waiter another word's wake has just ended (before it left its
 * other words' queues) as a wake; a user who wakes one waiter at a time
 * and finds two words changed must pass the second wake on. (The library's
 * own multi-wait never spends a wake on an ended waiter.)
 *
 * -EAGAIN: a word did not hold its expected value, at entry or when the OS
 * or a re-check slice looked; *changed (if not NULL) is set to its index
 * (the lowest such index at entry). On an index result *changed is set to
 * that index too; on other results it is left alone.
 *
 * deadline: NULL waits forever; an expired deadline only checks the words
 * (-EAGAIN or -ETIMEDOUT) and never enters the OS. -ETIMEDOUT is never
 * returned before the deadline.
 *
 * Errors that touch nothing: -EINVAL for a NULL items, n == 0,
 * n > FUTEX_WAITV_LIMIT, a NULL or misaligned word, an unknown item flag, or a
 * call flag other than FUTEX_NOSPIN (accepted; futex_waitv never spins);
 * -ENOTSUP for a FUTEX_SHARED word where the backend lacks FUTEX_CAP_SHARED;
 * -EDEADLK on the single-threaded backend when no deadline is given. The OS
 * may also report -EFAULT (a word not mapped) or -ENOMEM.
 */
FUTEX_EXTERN int futex_waitv(const futex_waitv_item *items, uint32_t n, const futex_deadline *deadline,
                             unsigned flags, uint32_t *changed);

/*
 * futex_watcher — readiness through a file descriptor, for event loops.
 *
 * Register (word, expected, flags) triples; each gets an id. The watcher's fd
 * becomes readable once any armed registration's word no longer holds its
 * expected value, or is woken by futex_wake; that registration then "fires":
 * it is disarmed (it cannot fire again until re-armed) and its id is queued
 * for futex_watcher_ready. A change must be followed by futex_wake, as for
 * futex_wait (on non-exact backends a change of a FUTEX_SHARED word by
 * another process is also seen within FUTEX_WAITV_SLICE_NS without a wake).
 *
 * One helper thread per watcher, with every signal blocked, sleeps in a
 * multi-wait over a private control word plus every armed registration;
 * changing the registrations bumps the control word and wakes it to re-arm.
 * It signals an eventfd (Linux) or a pipe (other POSIX systems). An idle
 * watcher uses no CPU, however many registrations it holds (on a non-exact
 * backend, or on Linux past FUTEX_WAITV_LIMIT - 1 armed registrations
 * without io_uring's FUTEX_WAITV, a FUTEX_SHARED registration makes it
 * re-check in slices, see above).
 *
 * Thread-safe: every function may be called from any thread. A forked child
 * has no helper thread: it must not use (nor destroy) its parent's watchers.
 * Windows (no fd that a generic loop polls for both sockets and events) and
 * the single-threaded backend (no thread to wait in) return -ENOTSUP from
 * futex_watcher_create.
 */
typedef struct futex_watcher futex_watcher;

/* Creates a watcher and its helper thread in *out. 0, or: -EINVAL (NULL out),
 * -ENOTSUP (see above), -ENOMEM, -EMFILE / -ENFILE (no fd left), -EAGAIN (no
 * thread could be started). *out is untouched on failure. */
FUTEX_EXTERN int futex_watcher_create(futex_watcher **out);

/* Stops the helper thread, closes the fd and frees the watcher (NULL: no-op).
 * No other call on w may run or follow. */
FUTEX_EXTERN void futex_watcher_destroy(futex_watcher *w);

/* The fd to poll for reading (the same for the watcher's life), or -EINVAL
 * for a NULL w. Do not read or close it: futex_watcher_ready drains it. */
FUTEX_EXTERN int futex_watcher_fd(const futex_watcher *w);

/* Registers and arms a word: the id (>= 0) on success. If *word already
 * differs from expected it fires at once. The same word may be registered
 * more than once. -EINVAL (NULL w, NULL or misaligned word, unknown flag),
 * -ENOTSUP (FUTEX_SHARED without FUTEX_CAP_SHARED), -ENOMEM. */
FUTEX_EXTERN int futex_watcher_add(futex_watcher *w, const uint32_t *word, uint32_t expected, unsigned flags);

/* Re-arms registration id with a new expected value (fired or not; a fired
 * id not yet returned by futex_watcher_ready is withdrawn from it). Fires at
 * once if the word already differs: no change between two arms is lost.
 * 0, or -EINVAL (NULL w, unknown id). */
FUTEX_EXTERN int futex_watcher_rearm(futex_watcher *w, int id, uint32_t expected);

/* Unregisters id (which may then be reused by futex_watcher_add); a fired id
 * not yet returned by futex_watcher_ready is withdrawn. Once it returns
 * nothing in this process reads the word again: its memory may be unmapped.
 * Where the OS waits on all the words itself (FUTEX_CAP_WAITV_EXACT on
 * Linux, and io_uring's FUTEX_WAITV past FUTEX_WAITV_LIMIT registrations)
 * it returns at once: the helper's wait may keep the word's address until
 * its next round, but the kernel reads a word only as it enters a wait (an
 * unmapped one is an -EFAULT there, which fires every registration
 * spuriously, never a fault), and a wake of the address only wakes the
 * helper early. Elsewhere the library's own multi-wait reads the words, so
 * if the helper's current wait holds the word it waits for the helper to
 * leave it (one thread wake-up, ~0.1 ms). 0, or -EINVAL. */
FUTEX_EXTERN int futex_watcher_remove(futex_watcher *w, int id);

/* Moves up to max ids that fired into ids[] (oldest first) and returns how
 * many (0 if none; never blocks). The fd stops being readable once every
 * fired id has been returned. -EINVAL for a NULL w, or NULL ids with max > 0. */
FUTEX_EXTERN int futex_watcher_ready(futex_watcher *w, int *ids, uint32_t max);
/* ==== Synchronization primitives ==========================================
 *
 * Mutex, Semaphore, Event, Condition and Barrier, built on the words above.
 * Each lives in caller-provided memory (a MAP_SHARED mapping, a Python
 * SharedMemory, a Lua futex.map region), and:
 *   - is ready when that memory is all zeros: unlocked / count 0 and
 *     unbounded / unset / no waiters (a Barrier also needs its party count,
 *     futex_barrier_init);
 *   - has the size and alignment below (FUTEX_*_SIZE, FUTEX_*_ALIGN), and a
 *     pointer that is NULL or not aligned gets -EINVAL and touches nothing;
 *   - has ONE layout, documented byte by byte below, so that a C program, a
 *     Python process and a Lua process can use the same object in the same
 *     file at once (the bindings compile this same core). Every field is a
 *     native-endian uint32_t or uint64_t; a reserved byte must stay zero.
 *
 * flags: FUTEX_PRIVATE (only threads of one process) or FUTEX_SHARED (the
 * object may be in memory shared between processes), optionally |
 * FUTEX_NOSPIN. All users of one object must pass the same choice. Where the
 * backend lacks FUTEX_CAP_SHARED, FUTEX_SHARED gets -ENOTSUP and touches
 * nothing, exactly as futex_wait does. An unknown flag bit is -EINVAL.
 *
 * Speed: an uncontended lock/unlock, post/trywait and set never enter the
 * OS. Waiters announce themselves in the object's words (after their spin
 * phase), and an unlock/post/set/notify makes a wake system call only when
 * one is announced, so a partner that is still spinning costs no wake.
 *
 * Deadlines: every blocking call takes `const futex_deadline *d`; NULL waits
 * forever. Build one with futex_deadline_init and pass the same one again
 * after -EINTR so that re-waits never stretch the total time.
 *
 * Signals: a blocking call returns -EINTR when a signal handler ran while it
 * slept (on every backend: the wait sleeps in slices where the OS would
 * restart it). State is left consistent for a call again with the same
 * deadline: a Mutex or Semaphore is not taken, a Condition wait has re-taken
 * its mutex, a Barrier wait can resume through its ticket.
 *
 * Who can die: a Mutex knows its owner (a thread) and recovers when it dies,
 * see below. A Semaphore, an Event, a Condition and a Barrier cannot know
 * who "held" them: a process killed between a wait and its post never posts,
 * so the others' waits end only by their deadlines. Use deadlines there.
 */

/* ---- Mutex ---------------------------------------------------------------
 *
 * A robust, error-checking, non-recursive mutex owned by a thread.
 *
 * Layout (64 bytes, 8-aligned):
 *   bytes  0..3   uint32 word: bits 0..29 the owner's thread id (0: unlocked;
 *                 0x3FFFFFFF: not recoverable), bit 30 OWNER_DIED (the owner
 *                 died, or the holder was told so and has not yet called
 *                 futex_mutex_consistent), bit 31 WAITERS (someone may sleep
 *                 in the OS: unlock must wake). The Linux robust-futex word.
 *   bytes  4..7   uint32 owner id as published by the holder after it locked
 *                 (a copy of bits 0..29; tells a checker that 16..23 are its)
 *   bytes  8..11  uint32 owner's process id
 *   bytes 12..15  uint32 owner's pid namespace (Linux: low 32 bits of the
 *                 inode of /proc/self/ns/pid; 0 elsewhere)
 *   bytes 16..23  uint64 owner's start time (OS ticks, for PID reuse; 0 unknown)
 *   bytes 24..39  two pointers {prev, next}: the holder's entry in its
 *                 thread's robust list (Linux/glibc, 64-bit); meaningful only
 *                 inside the holder's process while it holds the lock
 *   bytes 40..43  uint32 1 when the holder entered the mutex in its kernel
 *                 robust list (so the kernel marks its death), else 0;
 *                 published with the owner fields
 *   bytes 44..63  reserved
 *
 * Thread ids: the kernel TID on Linux, thr_self on FreeBSD, getthrid on
 * OpenBSD, pthread_threadid_np (low 30 bits) on macOS, GetCurrentThreadId on
 * Windows; elsewhere a value made from the process id and a per-process
 * thread counter. Across processes they assume one PID namespace.
 *
 * Owner death (no timeout needed by anyone):
 *   - The next locker gets the lock and -EOWNERDEAD. It repairs the data the
 *     mutex protects and calls futex_mutex_consistent, then uses it as usual.
 *     If it unlocks without futex_mutex_consistent (or dies too), the next
 *     one is told again; after an unlock without it the mutex is permanently
 *     unusable: every lock gets -ENOTRECOVERABLE (POSIX robust mutexes).
 *   - linux backend with glibc on a 64-bit CPU: the mutex is entered into the
 *     thread's kernel robust list (the one glibc registers, beside glibc's own
 *     robust pthread mutexes), so at the owner's exit the kernel marks the
 *     word OWNER_DIED and wakes a waiter: detection takes as long as the
 *     exit (measured 50-250 us, a thread or a SIGKILLed process). The
 *     word is then waited on with process-shared futex calls even for
 *     FUTEX_PRIVATE, because that is how the kernel wakes it.
 *     While a thread holds the mutex, its memory must stay mapped in that
 *     thread's process (as for a pthread mutex): the entry lives in it, and
 *     unlinking a neighbour entry writes to it. Unmap only unlocked mutexes.
 *   - Everywhere, and as the fallback: a waiter sleeps in slices of
 *     FUTEX_MUTEX_CHECK_NS and, after each, checks that the owner is alive
 *     (Linux: /proc/<tid>/stat exists, is no zombie, and its start time,
 *     field 22, is the published one -- guarding against TID reuse;
 *     FreeBSD/macOS/NetBSD/OpenBSD/DragonFly: the owner process exists and its
 *     kinfo_proc start time matches; Windows: the owner thread has not
 *     exited). So a waiter blocked when the owner dies gets the lock within
 *     one slice plus a check (at most ~100 ms; measured 80 ms median on the
 *     posix backend). futex_mutex_trylock checks at once, but believes an
 *     answer "alive" for FUTEX_MUTEX_TRYLOCK_CHECK_NS (1 ms) while the word
 *     and the owner fields stay the same, per calling thread: a polling
 *     trylock asks the OS at most once a millisecond and sees a death
 *     within that. A holder that published "robust" (bytes 40..43) is not
 *     checked by trylock at all: the kernel marks its death in the word (a
 *     thread holding more than 2048 robust mutexes at once, glibc's
 *     included, may overflow the kernel's walk: blocked waiters' checks
 *     still find such a death). The non-Linux
 *     checks see the death of the owner's process, not of one thread in a
 *     live process. A holder that died between taking the word and
 *     publishing the owner fields (a few instructions) is counted dead when
 *     the word is still the same and still unpublished one check later (so
 *     a process SIGSTOPped in exactly that window would lose the lock). An
 *     owner in another pid namespace (a container sharing the memory) is
 *     never judged by /proc: only the kernel's robust list recovers it.
 */
#define FUTEX_MUTEX_SIZE 64
#define FUTEX_MUTEX_ALIGN 8
#define FUTEX_MUTEX_CHECK_NS 100000000u /* liveness check period of a blocked waiter */
#define FUTEX_MUTEX_TRYLOCK_CHECK_NS 1000000u /* how long trylock believes a holder it found alive */

typedef union futex_mutex {
    uint32_t u32_[FUTEX_MUTEX_SIZE / 4];
    uint64_t align_[FUTEX_MUTEX_SIZE / 8];
} futex_mutex;

/*
 * futex_mutex_lock / futex_mutex_timedlock — take the mutex, sleeping while
 * another thread holds it (until *d for timedlock; d NULL: forever).
 *   0                 taken
 *   -EOWNERDEAD       taken, but the previous owner died holding it: repair,
 *                     then futex_mutex_consistent
 *   -ENOTRECOVERABLE  not taken: the mutex was unlocked while inconsistent
 *   -EDEADLK          not taken: the calling thread holds it already
 *   -ETIMEDOUT        not taken by *d (timedlock; also lock with a finite d)
 *   -EINTR            not taken: a signal handler ran; call again
 *   -EINVAL           NULL/misaligned m or an unknown flag;
 *                     -ENOTSUP as above
 * Acquire ordering: what the previous holder wrote before unlocking is seen.
 */
FUTEX_EXTERN int futex_mutex_lock(futex_mutex *m, unsigned flags);
FUTEX_EXTERN int futex_mutex_timedlock(futex_mutex *m, const futex_deadline *d, unsigned flags);

/*
 * futex_mutex_trylock — take the mutex if nobody holds it, never sleeping.
 * A held mutex whose owner is dead is taken (-EOWNERDEAD).
 *   0, -EOWNERDEAD, -ENOTRECOVERABLE, -EINVAL, -ENOTSUP  as futex_mutex_lock
 *   -EBUSY            held by a live thread (the caller included); a
 *                     holder this thread found alive less than
 *                     FUTEX_MUTEX_TRYLOCK_CHECK_NS ago, unchanged since, is
 *                     not asked about again (see Owner death)
 */
FUTEX_EXTERN int futex_mutex_trylock(futex_mutex *m, unsigned flags);

/*
 * futex_mutex_unlock — release the mutex held by the calling thread, waking
 * one waiter if any is announced. Release ordering.
 *   0                 released
 *   -ENOTRECOVERABLE  released, but it was inconsistent (-EOWNERDEAD without
 *                     futex_mutex_consistent): now permanently unusable, and
 *                     every waiter is woken to be told so
 *   -EPERM            the calling thread does not hold it: nothing changed
 *   -EINVAL, -ENOTSUP as futex_mutex_lock
 */
FUTEX_EXTERN int futex_mutex_unlock(futex_mutex *m, unsigned flags);

/*
 * futex_mutex_consistent — after -EOWNERDEAD, declare the protected state
 * repaired, so the mutex is usable again after the next unlock.
 *   0        done
 *   -EPERM   the calling thread does not hold it
 *   -EINVAL  it is not inconsistent (no -EOWNERDEAD was given), or bad m
 */
FUTEX_EXTERN int futex_mutex_consistent(futex_mutex *m);

/* 1 if some thread holds m (or it is not recoverable), 0 if not; -EINVAL for a
 * bad m. A snapshot: it may change at once. */
FUTEX_EXTERN int futex_mutex_locked(const futex_mutex *m);

/* 1 if the calling thread holds m, 0 if not; -EINVAL for a bad m. */
FUTEX_EXTERN int futex_mutex_is_owned(const futex_mutex *m);

/* ---- Semaphore -------------------------------------------------------------
 *
 * Layout (16 bytes, 4-aligned):
 *   bytes 0..3   uint32 value (0 .. bound)
 *   bytes 4..7   uint32 number of waiters announced (about to sleep or asleep)
 *   bytes 8..11  uint32 bound: the largest value a post may reach; 0 means
 *                FUTEX_SEM_VALUE_MAX (all-zero memory: value 0, unbounded)
 *   bytes 12..15 reserved
 * A waiter killed while announced leaves the waiter count high for good: later
 * posts then make a (needless, harmless) wake call each.
 */
#define FUTEX_SEM_SIZE 16
#define FUTEX_SEM_ALIGN 4
#define FUTEX_SEM_VALUE_MAX 0x7FFFFFFFu

typedef union futex_sem {
    uint32_t u32_[FUTEX_SEM_SIZE / 4];
} futex_sem;

/* Stores value and bound (0: FUTEX_SEM_VALUE_MAX) for a creator; not atomic
 * against other users. -EINVAL if value > bound or bound > FUTEX_SEM_VALUE_MAX,
 * or for a bad s; 0 otherwise. */
FUTEX_EXTERN int futex_sem_init(futex_sem *s, uint32_t value, uint32_t bound);

/* Add n (>= 1) to the value and wake up to n announced waiters.
 *   0           done
 *   -EOVERFLOW  value + n would pass the bound: nothing changed (a bounded
 *               semaphore released too often)
 *   -EINVAL     n == 0 or bad s/flags; -ENOTSUP as above */
FUTEX_EXTERN int futex_sem_post(futex_sem *s, uint32_t n, unsigned flags);

/* Take one unit, sleeping while the value is 0 (until *d; NULL: forever).
 *   0 taken; -ETIMEDOUT; -EINTR (not taken: call again); -EINVAL; -ENOTSUP */
FUTEX_EXTERN int futex_sem_wait(futex_sem *s, const futex_deadline *d, unsigned flags);

/* Take one unit if the value is > 0: 0, or -EAGAIN (it was 0), -EINVAL. */
FUTEX_EXTERN int futex_sem_trywait(futex_sem *s);

/* The value now (>= 0), or -EINVAL for a bad s. */
FUTEX_EXTERN int futex_sem_getvalue(const futex_sem *s);

/* The bound (FUTEX_SEM_VALUE_MAX when the bound field is 0), or -EINVAL. */
FUTEX_EXTERN int futex_sem_bound(const futex_sem *s);

/* ---- Event -----------------------------------------------------------------
 *
 * A flag that threads wait to see set (threading.Event).
 * Layout (4 bytes, 4-aligned): uint32 word: bit 0 SET, bit 1 WAITERS (someone
 * may sleep: set must wake), bits 2..31 a count of set() calls that found the
 * flag unset (so a wait that began before a set returns 0 even if the flag was
 * cleared again before it woke).
 */
#define FUTEX_EVENT_SIZE 4
#define FUTEX_EVENT_ALIGN 4

typedef union futex_event {
    uint32_t u32_[FUTEX_EVENT_SIZE / 4];
} futex_event;

/* Set the flag and wake every waiter (a wake call only if one announced):
 * 0, -EINVAL, -ENOTSUP. */
FUTEX_EXTERN int futex_event_set(futex_event *e, unsigned flags);
/* Clear the flag: 0, -EINVAL. */
FUTEX_EXTERN int futex_event_clear(futex_event *e);
/* 1 if set, 0 if not, -EINVAL. */
FUTEX_EXTERN int futex_event_is_set(const futex_event *e);
/* Wait until the flag is set, or was set since the call began.
 *   0 set; -ETIMEDOUT; -EINTR (call again); -EINVAL; -ENOTSUP */
FUTEX_EXTERN int futex_event_wait(futex_event *e, const futex_deadline *d, unsigned flags);

/* ---- Condition ---------------------------------------------------------------
 *
 * A condition variable used with a futex_mutex (threading.Condition). Waits
 * and notifies are made with that mutex held.
 * Layout (8 bytes, 4-aligned):
 *   bytes 0..3  uint32 sequence: bumped by every notify that designates a
 *               waiter; waiters sleep on it, so a notify between a waiter's
 *               unlock and its sleep changes it and nothing is lost
 *   bytes 4..7  uint32 bits 0..15 waiters, bits 16..31 wakeups owed to them
 *               (never more than waiters: notify(n) wakes at most n)
 * At most 65535 waiters at once (-EAGAIN past that). Every waiter uses the
 * same mutex. A notify wakes only threads that were waiting when it was
 * made (as threading.Condition): one that starts waiting later -- even one
 * just notified and back in its next wait -- never takes a wakeup meant for
 * them. A waiter killed inside futex_cond_wait stays counted: a notify may
 * then designate it, and that wakeup is lost with it, or taken by a waiter
 * of a later notify (which then wakes one more than asked).
 */
#define FUTEX_COND_SIZE 8
#define FUTEX_COND_ALIGN 4

typedef union futex_cond {
    uint32_t u32_[FUTEX_COND_SIZE / 4];
} futex_cond;

/*
 * futex_cond_wait — with m held: release m, sleep until notified (or *d),
 * take m again. Only a notify ends it with 0 (no spurious wakeups).
 *   0                 notified; m held
 *   -ETIMEDOUT        *d passed (and no notify was owed to it); m held
 *   -EINTR            a signal handler ran; m held; not notified (it stays
 *                     counted until m is re-taken, so a notify made under m
 *                     while it waited ends it with 0 instead)
 *   -EOWNERDEAD       m was re-taken from a dead owner (it may or may not
 *                     have been notified: check the predicate); m held
 *   -ENOTRECOVERABLE  m cannot be re-taken; m not held
 *   -EPERM            the calling thread does not hold m: nothing changed
 *   -EAGAIN           65535 waiters already: nothing changed
 *   -EINVAL, -ENOTSUP as above
 */
FUTEX_EXTERN int futex_cond_wait(futex_cond *c, futex_mutex *m, const futex_deadline *d, unsigned flags);

/* Wake up to n waiters (n == 0: none). Returns how many were designated
 * (>= 0; no wake call when 0), -EINVAL, -ENOTSUP. */
FUTEX_EXTERN int futex_cond_notify(futex_cond *c, uint32_t n, unsigned flags);
/* Wake every waiter: the count designated, -EINVAL, -ENOTSUP. */
FUTEX_EXTERN int futex_cond_notify_all(futex_cond *c, unsigned flags);

/* ---- Barrier -------------------------------------------------------------------
 *
 * threading.Barrier: `parties` threads meet, each wait returns its arrival
 * index (0 for the first, parties-1 for the last, which releases the rest).
 * A barrier is broken by abort, by a wait that times out, or by a reset with
 * waiters (those waiters get -ECANCELED); it stays broken until reset.
 * Layout (8 bytes, 4-aligned):
 *   bytes 0..3  uint32 parties (0: not set up -> -EINVAL; set once, by
 *               futex_barrier_init, and never changed after)
 *   bytes 4..7  uint32 state: bits 0..15 waiting, bits 16..29 generation,
 *               bit 30 RESETTING (reset waits for broken waiters to leave),
 *               bit 31 BROKEN
 * A waiter killed inside wait never leaves: its generation completes or is
 * broken as usual, but a reset of that broken generation then waits for it,
 * and later waits end by their deadline.
 */
#define FUTEX_BARRIER_SIZE 8
#define FUTEX_BARRIER_ALIGN 4
#define FUTEX_BARRIER_PARTIES_MAX 65535u

typedef union futex_barrier {
    uint32_t u32_[FUTEX_BARRIER_SIZE / 4];
} futex_barrier;

/*
 * futex_barrier_init — set up all-zero memory as a barrier of `parties`
 * (1 .. FUTEX_BARRIER_PARTIES_MAX), or attach to the one set up there: one
 * atomic "initialise if still all zeros", so any number of threads and
 * processes may call it at once, and waits that have begun are never reset.
 *   0          set up now, or set up already with the same parties (its
 *              state untouched)
 *   -EEXIST    set up already with another party count: nothing changed
 *   -EINVAL    NULL/misaligned b, parties 0 or past the maximum, or memory
 *              that is neither zeros nor a barrier (parties 0 with a state
 *              not 0, or a party count past the maximum)
 * Every other Barrier call gets -EINVAL on memory not yet set up, and
 * touches nothing. To set up a used barrier again, zero its 8 bytes while
 * nobody uses it.
 */
FUTEX_EXTERN int futex_barrier_init(futex_barrier *b, uint32_t parties);

/*
 * futex_barrier_wait — arrive and sleep until all parties have arrived.
 * ticket: NULL, or a uint32_t the caller sets to 0 before the first call; on
 * -EINTR it holds the caller's place, and a call again with it resumes the
 * same wait instead of arriving twice (with NULL, signals do not end the
 * wait). Give up for good after -EINTR with futex_barrier_abort.
 *   >= 0         the arrival index
 *   -ECANCELED   the barrier is or became broken (abort, reset, a timeout)
 *   -ETIMEDOUT   *d passed: this call broke the barrier for everyone
 *   -EINTR       a signal handler ran (ticket given); call again with it
 *   -EINVAL      bad b/flags or not set up (parties 0); -ENOTSUP as above
 */
FUTEX_EXTERN int futex_barrier_wait(futex_barrier *b, uint32_t *ticket, const futex_deadline *d, unsigned flags);

/* Break the barrier: current and later waits get -ECANCELED until reset.
 * 0, -EINVAL (also: not set up), -ENOTSUP. */
FUTEX_EXTERN int futex_barrier_abort(futex_barrier *b, unsigned flags);
/* Return to the empty, unbroken state; waits in progress get -ECANCELED (and
 * new arrivals wait until they have left). 0, -EINVAL (also: not set up),
 * -ENOTSUP. */
FUTEX_EXTERN int futex_barrier_reset(futex_barrier *b, unsigned flags);
/* The party count (0: not set up), the number waiting now, 1 if broken else
 * 0; or -EINVAL (a bad b; for the count also bytes that are no barrier's). */
FUTEX_EXTERN int futex_barrier_parties(const futex_barrier *b);
FUTEX_EXTERN int futex_barrier_n_waiting(const futex_barrier *b);
FUTEX_EXTERN int futex_barrier_broken(const futex_barrier *b);

/* ---- Waiting from an event loop --------------------------------------------
 *
 * An event loop waits on a Mutex, Semaphore or Event through a futex_watcher
 * instead of a blocked thread. A sleeping waiter announces itself in the
 * primitive's words (so an unlock, post or set knows to wake); these calls
 * make that announcement for the loop and give the item to register:
 *
 *   for (;;) {
 *       if (futex_mutex_trylock(m, fl) == 0) { if (fired) futex_mutex_withdraw(m, fl, FUTEX_WITHDRAW_TOOK); break; }
 *       if (futex_mutex_announce(m, fl, &it) == -EAGAIN) continue;     free now: try again
 *       id = futex_watcher_add(w, it.word, it.expected, it.flags);
 *       ... the loop waits for id to fire (fired = 1), or gives up ...
 *       futex_watcher_remove(w, id);           (and, giving up after a fire
 *       may have been consumed: futex_mutex_withdraw(m, fl, FUTEX_WITHDRAW_PASS_ON))
 *   }
 *
 * A Semaphore announcement is a count: every futex_sem_announce is matched
 * by one futex_sem_withdraw once its registration is removed. A Mutex's and
 * an Event's live in their word and need no withdrawal. Results: 0 (item
 * filled), -EAGAIN (nothing to wait for: try to take again), -EINVAL (bad
 * pointer, flag or how), -ENOTSUP (FUTEX_SHARED where the OS cannot). */

/* Withdraw `how`: the waiter leaves without taking although its registration
 * may have fired (timed out, cancelled): hand the wake on to the next. */
#define FUTEX_WITHDRAW_PASS_ON 1u
/* The waiter took the mutex after its registration fired: keep the WAITERS
 * bit, as a waiter that slept does, so the unlock wakes the next sleeper. */
#define FUTEX_WITHDRAW_TOOK 2u

/* Sets the mutex's WAITERS bit; item: its word as now (with the bit), and
 * the flags its waits use. -EAGAIN if the mutex is free. */
FUTEX_EXTERN int futex_mutex_announce(futex_mutex *m, unsigned flags, futex_waitv_item *item);
/* how: 0, FUTEX_WITHDRAW_PASS_ON (wakes one waiter) or FUTEX_WITHDRAW_TOOK
 * (with the mutex held). 0, -EINVAL, -ENOTSUP. */
FUTEX_EXTERN int futex_mutex_withdraw(futex_mutex *m, unsigned flags, unsigned how);
/* Counts one more announced waiter; item: the value word, expected 0 (it
 * fires at once if a unit is there). 0, -EINVAL, -ENOTSUP. */
FUTEX_EXTERN int futex_sem_announce(futex_sem *s, unsigned flags, futex_waitv_item *item);
/* Counts the waiter out; how: 0 or FUTEX_WITHDRAW_PASS_ON (wakes one sleeper
 * if units are left). 0, -EINVAL, -ENOTSUP. */
FUTEX_EXTERN int futex_sem_withdraw(futex_sem *s, unsigned flags, unsigned how);
/* Sets the event's WAITERS bit; item: its word as now. since: NULL on a
 * wait's first call, then the item->expected that call gave: -EAGAIN if the
 * event is set, or was set (and maybe cleared) since then. */
FUTEX_EXTERN int futex_event_announce(futex_event *e, unsigned flags, const uint32_t *since, futex_waitv_item *item);


#ifdef __cplusplus
}
#endif

#endif /* LIBFUTEX_FUTEX_H */
