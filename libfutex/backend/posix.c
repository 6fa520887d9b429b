/*
 * POSIX parking lot: futex semantics from pthread mutexes and condition
 * variables, for systems with no futex call. After Linux's own futex hash
 * table, Go's sema.go and Amanieu's parking_lot, by way of Zig's
 * std.Thread.Futex (PosixImpl):
 *
 *   - a fixed table of cache-line-aligned buckets, picked by Fibonacci
 *     hashing of the word's address;
 *   - in each bucket one FIFO queue of waiters, so waiters on one address are
 *     woken in the order they came;
 *   - a per-bucket count of pending waiters, so a wake with nobody waiting
 *     takes no lock;
 *   - each waiter sleeps on its own event (mutex + condvar + state) on its
 *     own stack, and wakers set events after leaving the bucket lock.
 *
 * Process-private only: the queues live in this process's memory, so
 * FUTEX_SHARED is refused by the front layer (no FUTEX_CAP_SHARED).
 */
#include "../atomic.h"
#include "../backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

const char futex__os_name[] = "posix";

/* 128, not 64: x86's adjacent-line prefetcher pulls lines in pairs, and
 * Apple's and POWER's lines are 128 bytes. */
#define CACHE_LINE 128
#define BUCKET_BITS 8
#define BUCKETS (1u << BUCKET_BITS)

enum { EMPTY, WAITING, NOTIFIED };

typedef struct waiter {
    struct waiter *prev, *next; /* the bucket's FIFO queue; bucket lock */
    struct waiter *woken_next;  /* a waker's private list, after dequeueing */
    uintptr_t address;          /* bucket lock */
    int queued;                 /* bucket lock: cleared by whoever dequeues it */
    int state;                  /* event mutex: EMPTY, WAITING or NOTIFIED */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
} waiter;

typedef struct bucket {
    pthread_mutex_t lock;
    uint32_t pending; /* atomic: waiters announced in this bucket, queued or about to be */
    waiter *head, *tail;
} __attribute__((aligned(CACHE_LINE))) bucket;

static bucket buckets[BUCKETS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- fork ----------------------------------------------------------------
 * A child forked while another thread held a bucket lock would inherit it
 * locked forever, and queues of waiters that are threads it does not have.
 * So the child starts from fresh locks and empty queues. Nothing needs
 * holding across the fork: whatever state another thread left a queue in is
 * thrown away whole (and 256 locks held at once would exceed TSan's limit). */

static void fork_child(void)
{
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    for (unsigned i = 0; i < BUCKETS; i++) {
        buckets[i].lock = fresh; /* not pthread_mutex_init: that may not be given a locked mutex */
        buckets[i].head = buckets[i].tail = NULL;
        futex__atomic_store(&buckets[i].pending, 0, FUTEX__RELAXED);
    }
}

static void init_buckets(void)
{
    for (unsigned i = 0; i < BUCKETS; i++)
        pthread_mutex_init(&buckets[i].lock, NULL);
    if (pthread_atfork(NULL, NULL, fork_child) != 0)
        abort(); /* ENOMEM at startup: without the handlers fork could deadlock */
}

/* Fibonacci hashing (Knuth; parking_lot.rs): multiplying by 2^64/phi spreads
 * even the low-entropy, 4-aligned addresses evenly over the top bits. */
static bucket *bucket_of(uintptr_t address)
{
    uint64_t h = (uint64_t)(address >> 2) * UINT64_C(0x9E3779B97F4A7C15);
    return &buckets[h >> (64 - BUCKET_BITS)];
}

/* ---- events ------------------------------------------------------------- */

static void event_init(waiter *w)
{
    pthread_mutex_init(&w->mutex, NULL);
#if defined(__APPLE__)
    pthread_cond_init(&w->cond, NULL); /* no setclock: timed waits use the _relative_np form */
#else
    /* Time out on CLOCK_MONOTONIC: the default (CLOCK_REALTIME) would let a
     * change of the wall clock stretch or cut a wait. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
#endif
    w->state = EMPTY;
}

static void event_destroy(waiter *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mutex);
}

static int cond_wait_until(waiter *w, uint64_t deadline_ns)
{
    if (deadline_ns == FUTEX_FOREVER)
        return pthread_cond_wait(&w->cond, &w->mutex);
    struct timespec ts;
#if defined(__APPLE__)
    uint64_t t = futex__remaining_ns(deadline_ns);
#else
    uint64_t t = deadline_ns;
#endif
    uint64_t sec = t / 1000000000u;
    /* 2^31 s fits every time_t; a clamped wait times out early and the
     * front layer waits again. */
    ts.tv_sec = (time_t)(sec > 0x7FFFFFFFu ? 0x7FFFFFFFu : sec);
    ts.tv_nsec = (long)(t % 1000000000u);
#if defined(__APPLE__)
    return pthread_cond_timedwait_relative_np(&w->cond, &w->mutex, &ts);
#else
    return pthread_cond_timedwait(&w->cond, &w->mutex, &ts);
#endif
}

/* 0 once notified; -ETIMEDOUT if the deadline came first. */
static int event_wait(waiter *w, uint64_t deadline_ns)
{
    int rc = 0;
    pthread_mutex_lock(&w->mutex);
    if (w->state != NOTIFIED) {
        w->state = WAITING;
        for (;;) {
            int e = cond_wait_until(w, deadline_ns);
            if (w->state == NOTIFIED)
                break; /* a notification wins over a timeout that raced it */
            if (e == ETIMEDOUT) {
                w->state = EMPTY; /* so a late event_set does not signal for nothing */
                rc = -ETIMEDOUT;
                break;
            }
            /* 0: a spurious condvar wakeup; wait again. */
        }
    }
    pthread_mutex_unlock(&w->mutex);
    return rc;
}

static void event_set(waiter *w)
{
    pthread_mutex_lock(&w->mutex);
    int old = w->state;
    w->state = NOTIFIED;
    /* Signal under the mutex: once the waiter sees NOTIFIED it may return and
     * free the event, so we must be done with it before unlocking. */
    if (old == WAITING)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

/* ---- the queue (bucket lock held) --------------------------------------- */

static void enqueue(bucket *b, waiter *w)
{
    w->next = NULL;
    w->prev = b->tail;
    if (b->tail)
        b->tail->next = w;
    else
        b->head = w;
    b->tail = w;
    w->queued = 1;
}

static void dequeue(bucket *b, waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        b->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        b->tail = w->prev;
    w->queued = 0;
}

/* ---- wait and wake ------------------------------------------------------ */

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    (void)flags; /* FUTEX_SHARED never reaches us: we lack FUTEX_CAP_SHARED */
    pthread_once(&once, init_buckets);
    uintptr_t address = (uintptr_t)word;
    bucket *b = bucket_of(address);

    /* Announce the waiter before checking the word. Were the announcement
     * ordered after the check, a wakeup could be lost:
     *   T1: reads *word == expected
     *   T2: stores a new value; futex_wake sees pending == 0 and returns
     *   T1: bumps pending, sleeps, and nobody ever wakes it.
     * SeqCst puts this increment in one total order with the waker's
     * fence + load of pending. */
    futex__atomic_fetch_add(&b->pending, 1, FUTEX__SEQ_CST);

    waiter w;
    event_init(&w);
    w.address = address;

    pthread_mutex_lock(&b->lock);
    /* SeqCst, not relaxed: on weakly ordered CPUs a relaxed load may be
     * satisfied before the increment above is visible, reopening the race. */
    if (futex__atomic_load(word, FUTEX__SEQ_CST) != expected) {
        pthread_mutex_unlock(&b->lock);
        /* Relaxed: the count only gates wakers' fast path; nobody waits on it. */
        futex__atomic_fetch_sub(&b->pending, 1, FUTEX__RELAXED);
        event_destroy(&w);
        return -EAGAIN;
    }
    enqueue(b, &w);
    pthread_mutex_unlock(&b->lock);

    int rc = event_wait(&w, deadline_ns);
    if (rc == -ETIMEDOUT) {
#if defined(FUTEX_TEST_HOOKS)
        if (futex__test_lot_timed_out != NULL)
            futex__test_lot_timed_out(); /* a test lands a wake here */
#endif
        pthread_mutex_lock(&b->lock);
        int cancelled = w.queued;
        if (cancelled)
            dequeue(b, &w);
        pthread_mutex_unlock(&b->lock);
        if (cancelled) {
            futex__atomic_fetch_sub(&b->pending, 1, FUTEX__RELAXED); /* relaxed: as above */
        } else {
            /* We lost the race: a waker dequeued us before we could cancel
             * and will set our event. Wait for that, or the waker would
             * touch this stack frame after we return. The wake is ours, so
             * report it rather than the timeout. */
            event_wait(&w, FUTEX_FOREVER);
            rc = 0;
        }
    }
    event_destroy(&w);
    return rc;
}

static uint32_t pending_after_fence(bucket *b)
{
#if defined(FUTEX__UNDER_TSAN)
    /* TSan does not model fences; the RMW gives the same store-load order
     * (at the cost the fence avoids), so TSan checks the real protocol. */
    return futex__atomic_fetch_add(&b->pending, 0, FUTEX__SEQ_CST);
#else
    futex__atomic_fence(FUTEX__SEQ_CST);
    return futex__atomic_load(&b->pending, FUTEX__RELAXED);
#endif
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    (void)flags;
    pthread_once(&once, init_buckets);
    uintptr_t address = (uintptr_t)word;
    bucket *b = bucket_of(address);

    /* The caller's store to the word must come before this load of pending,
     * else (T2 reads pending == 0 early; T1 announces, sees the old value,
     * sleeps; T2 stores) the wakeup is lost. A release load does not exist
     * in C11, and fetch_add(0) would take the cache line from the waiters,
     * so: a SeqCst fence (a store-load barrier), then a plain load. */
    if (pending_after_fence(b) == 0)
        return 0;

    waiter *list = NULL, **tail = &list;
    int woken = 0;
    pthread_mutex_lock(&b->lock);
    for (waiter *w = b->head, *next; w != NULL && (uint32_t)woken < max_waiters; w = next) {
        next = w->next;
        if (w->address != address)
            continue;
        dequeue(b, w);
        w->woken_next = NULL;
        *tail = w;
        tail = &w->woken_next;
        woken++;
    }
    pthread_mutex_unlock(&b->lock);
    if (woken == 0)
        return 0;
    futex__atomic_fetch_sub(&b->pending, (uint32_t)woken, FUTEX__RELAXED); /* relaxed: a fast-path hint */

    /* Set the events outside the bucket lock, so the woken threads do not
     * wake only to block on it. Read the link first: once set, a waiter may
     * return and its stack is gone. */
    for (waiter *w = list, *next; w != NULL; w = next) {
        next = w->woken_next;
        event_set(w);
    }
    return woken;
}

unsigned futex__os_caps(void)
{
#if defined(__APPLE__)
    return FUTEX_CAP_WAKE_COUNT;
#else
    return FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_ABSOLUTE_DEADLINE; /* the condvar takes the monotonic deadline */
#endif
}

/* futex_waitv: the parking lot's queues are this process's: the front layer's own
 * multi-wait (waitv.c) sleeps in futex__os_wait on a private word and
 * futex_wake finds it in a process-local table; exact: every wait and wake is in this process, so every wake
 * passes the multi-wait table. */
int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    (void)items, (void)n, (void)deadline_ns;
    return -ENOSYS;
}
