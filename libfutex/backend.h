/*
 * The backend contract: everything one OS backend (libfutex/backend/<os>.c)
 * implements, and everything the front layer (futex.c) promises it.
 *
 * The front layer has already, before any call below:
 *   - checked that word is non-NULL and 4-byte aligned;
 *   - reduced flags to 0 or FUTEX_SHARED, and passes FUTEX_SHARED only when
 *     futex__os_caps() has FUTEX_CAP_SHARED;
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

/*
 * Block while *word == expected until woken, a signal, or the monotonic
 * clock reaches deadline_ns (FUTEX_FOREVER: no deadline).
 *
 * Returns 0 (woken or spurious), -EAGAIN (the word differed), -EINTR (a
 * signal interrupted the wait), -ETIMEDOUT, or another -errno the OS gave
 * for the word (-EFAULT for unmapped memory, ...).
 *
 * -ETIMEDOUT may be returned early, for instance when the OS cannot take a
 * timeout as long as asked: the front layer reads the clock and waits again
 * if the deadline has not passed, so backends clamp freely.
 */
int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags);

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

/* The front layer's spin phase (futex_set_spin): re-checks *word for a short
 * while; 1 if it stopped holding `expected`, 0 if it still does (or spinning
 * is off). For sync.c, which spins before it announces a waiter. */
int futex__spin(const uint32_t *word, uint32_t expected);

#endif /* LIBFUTEX_BACKEND_H */
