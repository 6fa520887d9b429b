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
 * Spin-then-park. Before sleeping in the OS, a wait re-checks the word up to
 * `iterations` times, so a partner that answers within a microsecond or two
 * is seen without a sleep. All but the last few re-checks follow a CPU pause
 * hint; the last 4 (half, below 8) follow a yield of the CPU (sched_yield),
 * which lets a partner sharing our CPU run. The default, 16, was chosen in
 * bench/ (about 3 µs of CPU before a long wait parks). The count is
 * process-wide; 0 turns spinning off, as does FUTEX_NOSPIN per call. On a
 * single CPU no wait spins. futex_get_spin returns the count as set.
 * A spin cannot see a signal, so one wait spins at most 65536 times (about
 * 2 ms) whatever the count, and never past its deadline.
 */
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
 * not yet returned by futex_watcher_ready is withdrawn. Once it returns the
 * watcher never reads the word again: its memory may be unmapped. (If the
 * helper's current wait holds the word, that means waiting for the helper
 * to leave it: one thread wake-up.) 0, or -EINVAL. */
FUTEX_EXTERN int futex_watcher_remove(futex_watcher *w, int id);

/* Moves up to max ids that fired into ids[] (oldest first) and returns how
 * many (0 if none; never blocks). The fd stops being readable once every
 * fired id has been returned. -EINVAL for a NULL w, or NULL ids with max > 0. */
FUTEX_EXTERN int futex_watcher_ready(futex_watcher *w, int *ids, uint32_t max);

#ifdef __cplusplus
}
#endif

#endif /* LIBFUTEX_FUTEX_H */
