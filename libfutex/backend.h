/*
 * The backend contract: everything one OS backend (libfutex/backend/<os>.c)
 * implements, and everything the front layer (futex.c) promises it.
 *
 * The front layer has already, before any call below:
 *   - checked that word is non-NULL and 4-byte aligned;
 *   - reduced flags to 0 or FUTEX_SHARED (plus FUTEX__UNTIMED for a wait),
 *     and passes FUTEX_SHARED only when futex__os_caps() has FUTEX_CAP_SHARED;
 *   - turned "no deadline" into a far finite one: deadline_ns is never
 *     FUTEX_FOREVER;
 *   - handled the fast paths: a word that differs from expected, a zero
 *     timeout, a deadline already passed, and a wake of 0 never get here;
 *   - done any spinning.
 *
 * A backend may therefore assume max_waiters >= 1 and, for a finite
 * deadline, that it was in the future a moment ago.
 */
#ifndef LIBFUTEX_BACKEND_H
#define LIBFUTEX_BACKEND_H

#include "futex.h"

#include <errno.h>
#include <stdint.h>

/* Some libcs (older MinGW, wasi) lack these; keep the result set the same everywhere. */
#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

/* Set in a wait's flags when the caller gave no deadline. deadline_ns is
 * then a finite one far ahead (see futex.c: an untimed OS wait would be
 * restarted after SA_RESTART handlers), and the front layer waits again each
 * time it passes; a backend that nothing could ever wake reports -EDEADLK. */
#define FUTEX__UNTIMED 0x100u

/*
 * Block while *word == expected until woken, a signal, or the monotonic
 * clock reaches deadline_ns (FUTEX_FOREVER: no deadline).
 *
 * Returns 0 (woken or spurious), -EAGAIN (the word differed), -EINTR (a
 * signal interrupted the wait), -ETIMEDOUT, or another -errno the OS gave
 * for the word (-EFAULT for unmapped memory, ...). Any errno the backend
 * does not expect is handed back as it is, never abort(): a seccomp filter
 * or a newer kernel can return anything, and a library never kills its host.
 *
 * -ETIMEDOUT may be returned early, for instance when the OS cannot take a
 * timeout as long as asked: the front layer reads the clock and waits again
 * if the deadline has not passed, so backends clamp freely.
 */
int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags);

/* futex__os_wait for the core's own waits (futex.c, waitv.c): deadline_ns may
 * be FUTEX_FOREVER, which goes to the backend as a far deadline with
 * FUTEX__UNTIMED, as every public wait does. flags: 0 or FUTEX_SHARED. One
 * OS wait: -ETIMEDOUT of a far deadline means "wait again". */
int futex__os_wait_until(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags);

/* Wake up to max_waiters (>= 1) waiters: the count where the OS gives it,
 * FUTEX_UNCOUNTED where it does not, or a -errno. */
int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags);

/* FUTEX_CAP_* bits; called often, so cheap after its first call. */
unsigned futex__os_caps(void);

/* The backend's name, as futex_backend() returns it. */
extern const char futex__os_name[];

/* The front layer's monotonic clock, for backends that hand the OS a
 * relative timeout: nanoseconds left until deadline_ns, 0 if passed. */
uint64_t futex__remaining_ns(uint64_t deadline_ns);

/*
 * Block while every items[i].word == items[i].expected (n >= 1), until one
 * is woken, a signal, or deadline_ns. n > FUTEX_WAITV_LIMIT comes only from
 * the watcher (with no deadline); a backend may answer it with -ENOSYS.
 *
 * The front layer (waitv.c) has checked every word and flag as for
 * futex__os_wait (item flags reduced to 0 or FUTEX_SHARED), and found every
 * word holding its expected value a moment ago.
 *
 * Returns the index of the woken word (>= 0), -EAGAIN (a word differed; the
 * front layer finds which), -EINTR, -ETIMEDOUT (early is allowed, as for
 * futex__os_wait), another -errno of the OS, or -ENOSYS: the OS has no
 * multi-word wait (here or on this kernel), and the front layer uses its own
 * (waitv.c). Backends without one define this as `return -ENOSYS`.
 */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns);

/* futex__os_wait and futex__os_waitv as the core calls them (futex.c):
 * a sleep on a private word is counted, so that futex_wake skips the OS
 * while nobody sleeps. Every sleep that a futex_wake must reach goes
 * through these. */
int futex__os_waitv_until(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns);

/* waitv.c: whether any thread is announced in the library's own
 * multi-wait (the caller has made the SeqCst fence; under TSan it is an
 * RMW instead). */
int futex__waitv_announced(void);

/* waitv.c: wakes up to max_waiters of the library's own multi-waiters on
 * word and returns how many; futex_wake calls it before the OS wake. */
uint32_t futex__waitv_wake(const uint32_t *word, uint32_t max_waiters);

/* One word's link in the multi-wait table (waitv.c); public only so that a
 * caller waiting on more than FUTEX_WAITV_LIMIT words (the watcher) can
 * provide the storage. */
typedef struct futex__waitv_node {
    struct futex__waitv_node *prev, *next; /* the bucket's list; bucket lock */
    uintptr_t address;                     /* the word's address */
    struct futex__waitv_waiter *owner;     /* the waiter it belongs to */
    uint32_t index;                        /* the word's index in the waiter's items */
    int queued;                            /* bucket lock: cleared by whoever unlinks it */
} futex__waitv_node;

/* futex_waitv without its argument checks and with no limit on n, for a
 * deadline_ns that had not passed: nodes holds n links (or is NULL when n <=
 * FUTEX_WAITV_LIMIT, and they go on the stack). Results as futex_waitv, the
 * index in *changed (non-NULL). */
int futex__waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns, futex__waitv_node *nodes,
                 uint32_t *changed);

/* The front layer's spin phase (futex_set_spin): re-checks *word for a short
 * while, never past deadline_ns (FUTEX_FOREVER: none); 1 if it stopped
 * holding `expected`, -1 if the deadline passed, 0 if it still holds it (or
 * spinning is off). For sync.c, which spins before it announces a waiter.
 * *began: when an adaptive spin that gave up began, else 0; the caller hands
 * it to futex__spin_slept with the result of the sleep that follows, so that
 * the learned spin sees its near misses as futex_wait's does. */
int futex__spin(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, uint64_t *began);
void futex__spin_slept(uint64_t began, int rc);

#if defined(FUTEX_TEST_HOOKS)
/* Test builds only (the C suites' libraries): when set, the parking lot
 * calls it in a waiter whose sleep timed out, before that waiter takes the
 * bucket lock to cancel -- the window in which a wake may still take it. A
 * test parks the waiter there and wakes it, so the race happens every time
 * instead of once in many thousand tries. */
extern void (*futex__test_lot_timed_out)(void);
#endif

#endif /* LIBFUTEX_BACKEND_H */
