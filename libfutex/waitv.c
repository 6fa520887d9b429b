/*
 * futex_waitv: waiting on many words at once.
 *
 * The front layer checks the arguments and the words, then asks the backend
 * (futex__os_waitv: Linux's FUTEX_WAITV). Where the backend has no
 * multi-word wait (-ENOSYS), or for more words than it takes, the library
 * waits on its own, as a parking lot does (Linux's futex hash, Zig's
 * PosixImpl), on top of the backend's single-word wait:
 *
 *   - the waiter links one node per word into a process-local table of
 *     buckets, hashed by the word's address, all pointing at one waiter
 *     record that holds a private `state` word;
 *   - it sleeps in futex__os_wait_until on `state`;
 *   - futex_wake first calls futex__waitv_wake, which looks the woken word up
 *     in the table, claims each waiter it finds by a CAS of `state` from
 *     WAITING to (index + 1), and wakes it on `state`.
 *
 * A claim is the one decision point: a waiter is woken by at most one wake
 * (a second wake on another of its words fails the CAS and goes on to wake
 * somebody else, so it is never wasted), and a waiter that times out or is
 * interrupted cancels by a CAS from WAITING to CANCELLED: if that fails, a
 * wake got there first and its index is the result.
 *
 * No lock is ever held while taking another, except the backend's own
 * futex__os_wake (a leaf) inside a bucket lock: a waiter links and unlinks
 * its nodes one bucket at a time.
 *
 * Wakes from other processes never pass through this table: see the
 * re-check slices in futex.h. Static names here carry a wv_ prefix so that a
 * unity build of all the core's files has no clashes.
 */
#include "futex.h"

#include "atomic.h"
#include "backend.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(_WIN32) && !defined(__wasm__)
#include <pthread.h>
#include <stdlib.h>
#define WV_FORK_SAFE 1
#endif

/* ---- a small lock on the backend's own futex ------------------------------
 * Drepper's three-state mutex ("Futexes Are Tricky"): 0 free, 1 locked,
 * 2 locked with (maybe) sleepers. Built on futex__os_wait_until so that the table
 * needs nothing the backend does not already have. Private: the table is
 * process-local. */

static void wv_lock(uint32_t *l)
{
    uint32_t c = 0;
    /* Acquire: the bucket's list, written under the lock, must be visible. */
    if (futex__atomic_cas(l, &c, 1, FUTEX__ACQUIRE))
        return;
    if (c != 2)
        c = futex__atomic_exchange(l, 2, FUTEX__ACQUIRE); /* acquire: as above */
    while (c != 0) {
        /* Any result (woken, EAGAIN, EINTR) means: try again. */
        (void)futex__os_wait_until(l, 2, FUTEX_FOREVER, 0);
        c = futex__atomic_exchange(l, 2, FUTEX__ACQUIRE);
    }
}

static void wv_unlock(uint32_t *l)
{
    /* Release: publishes our writes to the list to the next owner. */
    if (futex__atomic_fetch_sub(l, 1, FUTEX__RELEASE) != 1) {
        futex__atomic_store(l, 0, FUTEX__RELEASE);
        (void)futex__os_wake(l, 1, 0); /* a failure to wake a private word of ours cannot happen */
    }
}

/* ---- the table ------------------------------------------------------------ */

#define WV_BUCKET_BITS 6
#define WV_BUCKETS (1u << WV_BUCKET_BITS)

/* A waiter's state: waiting, cancelled, or (index + 1) of the word that woke it. */
#define WV_WAITING 0u
#define WV_CANCELLED UINT32_MAX

struct futex__waitv_waiter {
    uint32_t state; /* WV_WAITING, WV_CANCELLED, or index + 1 of the word that woke it */
};

typedef struct wv_bucket {
    uint32_t lock;
    futex__waitv_node *head, *tail;
    char pad[64 - sizeof(uint32_t) - 2 * sizeof(void *)]; /* one cache line each */
} wv_bucket;

static wv_bucket wv_buckets[WV_BUCKETS];

/* Multi-waiters announced in this process, linked or about to be. futex_wake
 * reads it first, so a process that never multi-waits pays one load. */
static uint32_t wv_pending; /* a count of threads: 32 bits are plenty */

static wv_bucket *wv_bucket_of(uintptr_t address)
{
    /* Fibonacci hashing, as posix.c: spreads 4-aligned addresses evenly. */
    uint64_t h = (uint64_t)(address >> 2) * UINT64_C(0x9E3779B97F4A7C15);
    return &wv_buckets[h >> (64 - WV_BUCKET_BITS)];
}

#if defined(WV_FORK_SAFE)
/* A child forked while another thread held a bucket lock, or had nodes
 * linked, would inherit the lock held forever and nodes on stacks of threads
 * it does not have: it starts from an empty table instead. */
static void wv_fork_child(void)
{
    for (unsigned i = 0; i < WV_BUCKETS; i++) {
        wv_buckets[i].lock = 0;
        wv_buckets[i].head = wv_buckets[i].tail = NULL;
    }
    futex__atomic_store(&wv_pending, 0, FUTEX__RELAXED);
}
static pthread_once_t wv_once = PTHREAD_ONCE_INIT;
static void wv_init(void)
{
    if (pthread_atfork(NULL, NULL, wv_fork_child) != 0)
        abort(); /* ENOMEM at startup: without the handler a child could deadlock */
}
#endif

static void wv_link(futex__waitv_node *n)
{
    wv_bucket *b = wv_bucket_of(n->address);
    wv_lock(&b->lock);
    n->next = NULL;
    n->prev = b->tail;
    if (b->tail)
        b->tail->next = n;
    else
        b->head = n;
    b->tail = n;
    n->queued = 1;
    wv_unlock(&b->lock);
}

static void wv_unlink_locked(wv_bucket *b, futex__waitv_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        b->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        b->tail = n->prev;
    n->queued = 0;
}

/* Unlinks the node if a waker has not. Always takes the bucket lock, even for
 * an unlinked node: a waker that claimed us through this bucket may still be
 * waking our `state` under that lock, and our record must outlive that. */
static void wv_unlink(futex__waitv_node *n)
{
    wv_bucket *b = wv_bucket_of(n->address);
    wv_lock(&b->lock);
    if (n->queued)
        wv_unlink_locked(b, n);
    wv_unlock(&b->lock);
}

int futex__waitv_announced(void)
{
#if defined(FUTEX__UNDER_TSAN)
    /* TSan does not model fences; the RMW gives the same store-load order
     * (at a cost the fence avoids), so TSan checks the real protocol. */
    return futex__atomic_fetch_add(&wv_pending, 0, FUTEX__SEQ_CST) != 0;
#else
    return futex__atomic_load(&wv_pending, FUTEX__RELAXED) != 0; /* relaxed: the caller fenced */
#endif
}

uint32_t futex__waitv_wake(const uint32_t *word, uint32_t max_waiters)
{
    /* The caller's store to the word must be ordered before this load, else
     *   T1 (waker): reads wv_pending == 0 early
     *   T2 (waiter): announces, links, reads the old value, sleeps
     *   T1: stores the new value and returns: T2 is never woken.
     * A SeqCst fence is the store-load barrier (see posix.c's wake). */
#if !defined(FUTEX__UNDER_TSAN)
    futex__atomic_fence(FUTEX__SEQ_CST); /* under TSan, futex__waitv_announced's RMW orders it */
#endif
    if (!futex__waitv_announced())
        return 0;

    uintptr_t address = (uintptr_t)word;
    wv_bucket *b = wv_bucket_of(address);
    uint32_t woken = 0;
    wv_lock(&b->lock);
    for (futex__waitv_node *n = b->head, *next; n != NULL && woken < max_waiters; n = next) {
        next = n->next;
        if (n->address != address)
            continue;
        uint32_t expect = WV_WAITING;
        /* AcqRel: release so the waiter, seeing its index, sees everything
         * the waking thread did before futex_wake; a failure (already claimed
         * or cancelled) leaves the node for its owner to unlink (it needs no
         * order, but atomic.h's failure order is acquire: stronger, harmless). */
        if (!futex__atomic_cas(&n->owner->state, &expect, n->index + 1, FUTEX__ACQ_REL))
            continue;
        wv_unlink_locked(b, n);
        /* Under the bucket lock: the owner takes this lock before it returns
         * (wv_unlink), so `state` is still alive. The result does not matter:
         * the owner re-reads `state` whatever its wait returns. */
        (void)futex__os_wake(&n->owner->state, 1, 0);
        woken++;
    }
    wv_unlock(&b->lock);
    return woken;
}

/* The first index whose word differs from its expected value, or n. SeqCst
 * loads: in the waiter they must not be satisfied before its announcement
 * and links are visible (the other half of the fence in futex__waitv_wake). */
static uint32_t wv_first_changed(const futex_waitv_item *items, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (futex__atomic_load(items[i].word, FUTEX__SEQ_CST) != items[i].expected)
            return i;
    return n;
}

/* The library's own multi-wait (see the top of this file). */
static int wv_wait(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns, futex__waitv_node *nodes,
                   uint32_t *changed)
{
#if defined(WV_FORK_SAFE)
    pthread_once(&wv_once, wv_init);
#endif
    struct futex__waitv_waiter self;
    self.state = WV_WAITING;
    int sliced = 0;
    for (uint32_t i = 0; i < n; i++)
        sliced |= (items[i].flags & FUTEX_SHARED) != 0;
    /* A wake from another process never passes through this table, so
     * shared words are re-checked. Not FUTEX_CAP_WAITV_EXACT: on Linux that
     * bit speaks of the kernel's FUTEX_WAITV, and we are here for more words
     * than it takes. A backend without FUTEX_CAP_SHARED has no shared words. */
    sliced = sliced && (futex__os_caps() & FUTEX_CAP_SHARED) != 0;

    /* Announce before linking and checking: the waker's half of this is the
     * fence in futex__waitv_wake. SeqCst puts the increment in one total
     * order with that fence. */
    futex__atomic_fetch_add(&wv_pending, 1, FUTEX__SEQ_CST);
    for (uint32_t i = 0; i < n; i++) {
        nodes[i].address = (uintptr_t)items[i].word;
        nodes[i].owner = &self;
        nodes[i].index = i;
        wv_link(&nodes[i]);
    }

    int rc;
    uint32_t first = wv_first_changed(items, n);
    if (first < n) {
        rc = -EAGAIN; /* a word changed before we were linked: its wake may have missed us */
        *changed = first;
    } else {
        uint64_t slice = 100000u; /* 0.1 ms, doubling to FUTEX_WAITV_SLICE_NS */
        for (;;) {
            uint64_t until = deadline_ns;
            if (sliced) {
                uint64_t left = futex__remaining_ns(deadline_ns);
                if (left > slice)
                    until = futex_monotonic_ns() + slice;
                slice = slice * 2 > FUTEX_WAITV_SLICE_NS ? FUTEX_WAITV_SLICE_NS : slice * 2;
            }
            rc = futex__os_wait_until(&self.state, WV_WAITING, until, 0);
            /* Acquire: pairs with the waker's AcqRel claim. */
            if (futex__atomic_load(&self.state, FUTEX__ACQUIRE) != WV_WAITING)
                break; /* claimed: the result is decided below */
            if (rc == 0 || rc == -EAGAIN || rc == -ETIMEDOUT) {
                /* Woken spuriously (or on an old value), or a slice or the
                 * deadline ended: look at the words ourselves. */
                if (sliced && (first = wv_first_changed(items, n)) < n) {
                    rc = -EAGAIN; /* another process changed a shared word */
                    *changed = first;
                    break;
                }
                if (futex__remaining_ns(deadline_ns) == 0) {
                    rc = -ETIMEDOUT; /* our clock agrees: the deadline passed */
                    break;
                }
                continue;
            }
            break; /* -EINTR (a handler ran), -EDEADLK (single: nobody can wake us), or an OS error */
        }
    }

    /* Cancel, unless a wake claimed us first: then the wake is the result. */
    uint32_t expect = WV_WAITING;
    /* Acquire on failure: we read the claimer's index and must see its writes. */
    if (!futex__atomic_cas(&self.state, &expect, WV_CANCELLED, FUTEX__ACQUIRE)) {
        rc = (int)(expect - 1);
        *changed = expect - 1;
    }
    for (uint32_t i = 0; i < n; i++)
        wv_unlink(&nodes[i]);
    /* Relaxed: the count only gates wakers' fast path; nobody waits on it. */
    futex__atomic_fetch_sub(&wv_pending, 1, FUTEX__RELAXED);
    return rc;
}

int futex__waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns, futex__waitv_node *nodes,
                 uint32_t *changed)
{
    for (;;) {
        int rc = futex__os_waitv_until(items, n, deadline_ns);
        if (rc == -ENOSYS)
            break; /* no multi-word wait in the OS: ours below */
        if (rc >= 0) {
            *changed = (uint32_t)rc; /* the kernel's index of the woken word */
            return rc;
        }
        if (rc == -EAGAIN) {
            /* The OS does not say which word differed: find it. If none
             * differs any more (changed and changed back), the wait is
             * as if it had started now: wait again. */
            uint32_t first = wv_first_changed(items, n);
            if (first < n) {
                *changed = first;
                return -EAGAIN;
            }
            continue;
        }
        /* Believe a timeout only when our own clock agrees, as futex.c does. */
        if (rc == -ETIMEDOUT && futex__remaining_ns(deadline_ns) != 0)
            continue;
        return rc; /* -ETIMEDOUT, -EINTR, -EFAULT, ... */
    }
    if (n == 1) {
        /* One word needs no table: the backend's own wait, as futex_wait. */
        for (;;) {
            int rc = futex__os_wait_until(items[0].word, items[0].expected, deadline_ns, items[0].flags & FUTEX_SHARED);
            if (rc == 0 || rc == -EAGAIN)
                *changed = 0; /* woken (or spuriously), or the word differed */
            if (rc == 0)
                return 0;
            if (rc == -ETIMEDOUT && futex__remaining_ns(deadline_ns) != 0)
                continue; /* a clamped timeout: our clock says wait on */
            return rc;
        }
    }
    futex__waitv_node stack_nodes[FUTEX_WAITV_LIMIT];
    if (nodes == NULL) {
        if (n > FUTEX_WAITV_LIMIT)
            return -EINVAL; /* a caller past the limit must provide the nodes */
        nodes = stack_nodes;
    }
    return wv_wait(items, n, deadline_ns, nodes, changed);
}

int futex_waitv(const futex_waitv_item *items, uint32_t n, const futex_deadline *deadline, unsigned flags,
                uint32_t *changed)
{
    if (items == NULL || n == 0 || n > FUTEX_WAITV_LIMIT || (flags & ~FUTEX_NOSPIN) != 0)
        return -EINVAL;
    unsigned caps = futex_capabilities();
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t *w = items[i].word;
        if (w == NULL || ((uintptr_t)w & 3u) != 0 || (items[i].flags & ~FUTEX_SHARED) != 0)
            return -EINVAL;
    }
    for (uint32_t i = 0; i < n; i++)
        if ((items[i].flags & FUTEX_SHARED) && !(caps & FUTEX_CAP_SHARED))
            return -ENOTSUP; /* after every -EINVAL: a bad call is reported as such first */
    uint32_t dummy;
    if (changed == NULL)
        changed = &dummy;
    uint32_t first = wv_first_changed(items, n);
    if (first < n) {
        *changed = first;
        return -EAGAIN;
    }
    uint64_t deadline_ns = deadline == NULL ? FUTEX_FOREVER : deadline->at_ns;
    if (futex__remaining_ns(deadline_ns) == 0)
        return -ETIMEDOUT; /* expired: only check, never enter the OS */
    return futex__waitv(items, n, deadline_ns, NULL, changed);
}
