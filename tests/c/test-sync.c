/* The synchronization primitives: each one's semantics alone, across
 * threads, and across processes (fork over a MAP_SHARED mapping); bad input;
 * and no lost wakeup in Semaphore and Condition stresses where timeouts race
 * posts and notifies. Owner death is in test-robust.c. */
#include "test.h"

#if !defined(_WIN32)
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#endif

static int can_share(void) { return (futex_capabilities() & FUTEX_CAP_SHARED) != 0; }

static futex_deadline in_ms(uint64_t ms)
{
    futex_deadline d;
    futex_deadline_init(&d, ms * 1000000u);
    return d;
}

uint32_t futex__spin_window_ns(void); /* futex.c: the adaptive spin's next window, for tests */

/* ---- layout, zero state, bad input --------------------------------------- */

TEST(layout_and_bad_input, ANY)
{
    CHECK_EQ(sizeof(futex_mutex), FUTEX_MUTEX_SIZE);
    CHECK_EQ(sizeof(futex_sem), FUTEX_SEM_SIZE);
    CHECK_EQ(sizeof(futex_event), FUTEX_EVENT_SIZE);
    CHECK_EQ(sizeof(futex_cond), FUTEX_COND_SIZE);
    CHECK_EQ(sizeof(futex_barrier), FUTEX_BARRIER_SIZE);
    CHECK_EQ(_Alignof(futex_mutex), FUTEX_MUTEX_ALIGN);
    CHECK_EQ(_Alignof(futex_sem), FUTEX_SEM_ALIGN);

    /* All zeros is ready: unlocked, count 0, unset. */
    static futex_mutex m;
    static futex_sem s;
    static futex_event e;
    static futex_barrier b;
    static futex_cond c;
    CHECK_EQ(futex_mutex_locked(&m), 0);
    CHECK_EQ(futex_sem_getvalue(&s), 0);
    CHECK_EQ(futex_sem_bound(&s), FUTEX_SEM_VALUE_MAX);
    CHECK_EQ(futex_sem_trywait(&s), -EAGAIN);
    CHECK_EQ(futex_event_is_set(&e), 0);
    CHECK_EQ(futex_barrier_parties(&b), 0);

    /* NULL and misaligned pointers: -EINVAL, and the memory beside is untouched. */
    static union {
        uint64_t align;
        unsigned char bytes[2 * FUTEX_MUTEX_SIZE];
    } buf;
    memset(buf.bytes, 0xA5, sizeof buf.bytes);
    futex_mutex *bad_m = (futex_mutex *)(void *)(buf.bytes + 4);
    CHECK_EQ(futex_mutex_lock(NULL, 0), -EINVAL);
    CHECK_EQ(futex_mutex_lock(bad_m, 0), -EINVAL);
    CHECK_EQ(futex_mutex_trylock(bad_m, 0), -EINVAL);
    CHECK_EQ(futex_mutex_unlock(bad_m, 0), -EINVAL);
    CHECK_EQ(futex_mutex_consistent(bad_m), -EINVAL);
    CHECK_EQ(futex_mutex_locked(bad_m), -EINVAL);
    CHECK_EQ(futex_sem_post((futex_sem *)(void *)(buf.bytes + 2), 1, 0), -EINVAL);
    CHECK_EQ(futex_sem_wait(NULL, NULL, 0), -EINVAL);
    CHECK_EQ(futex_event_set((futex_event *)(void *)(buf.bytes + 1), 0), -EINVAL);
    CHECK_EQ(futex_event_wait(NULL, NULL, 0), -EINVAL);
    CHECK_EQ(futex_cond_notify(NULL, 1, 0), -EINVAL);
    CHECK_EQ(futex_cond_wait(&c, bad_m, NULL, 0), -EINVAL);
    CHECK_EQ(futex_barrier_wait(NULL, NULL, NULL, 0), -EINVAL);
    for (size_t i = 0; i < sizeof buf.bytes; i++)
        CHECK_EQ(buf.bytes[i], 0xA5);

    /* Unknown flags: -EINVAL, nothing changed. */
    CHECK_EQ(futex_mutex_lock(&m, 0x100), -EINVAL);
    CHECK_EQ(futex_mutex_locked(&m), 0);
    CHECK_EQ(futex_sem_post(&s, 1, 0x100), -EINVAL);
    CHECK_EQ(futex_sem_getvalue(&s), 0);
    CHECK_EQ(futex_event_set(&e, 0x100), -EINVAL);
    CHECK_EQ(futex_event_is_set(&e), 0);

    /* A barrier that was never given its parties; bad party counts. */
    CHECK_EQ(futex_barrier_wait(&b, NULL, NULL, 0), -EINVAL);
    CHECK_EQ(futex_barrier_init(&b, 0), -EINVAL);
    CHECK_EQ(futex_barrier_init(&b, FUTEX_BARRIER_PARTIES_MAX + 1), -EINVAL);
    CHECK_EQ(futex_barrier_init(&b, 1), 0);
    CHECK_EQ(futex_barrier_wait(&b, NULL, NULL, 0), 0); /* one party: released at once, index 0 */
    uint32_t bogus = 5;
    CHECK_EQ(futex_barrier_wait(&b, &bogus, NULL, 0), -EINVAL); /* not a ticket it gave */

    /* Setting up is "initialise if still all zeros": the same count
     * attaches, another is -EEXIST, and neither touches the state. */
    static futex_barrier b2;
    CHECK_EQ(futex_barrier_abort(&b2, 0), -EINVAL); /* not set up: nothing but init writes zeros */
    CHECK_EQ(futex_barrier_reset(&b2, 0), -EINVAL);
    CHECK_EQ(b2.u32_[0], 0);
    CHECK_EQ(b2.u32_[1], 0);
    CHECK_EQ(futex_barrier_init(&b2, 2), 0);
    CHECK_EQ(futex_barrier_abort(&b2, 0), 0);
    CHECK_EQ(futex_barrier_broken(&b2), 1);
    CHECK_EQ(futex_barrier_init(&b2, 2), 0); /* attaches: still broken, not reset */
    CHECK_EQ(futex_barrier_broken(&b2), 1);
    uint32_t state = b2.u32_[1];
    CHECK_EQ(futex_barrier_init(&b2, 3), -EEXIST);
    CHECK_EQ(futex_barrier_parties(&b2), 2);
    CHECK_EQ(b2.u32_[1], state);
    memset(&b2, 0, sizeof b2);
    b2.u32_[1] = 7; /* parties 0 with a state: neither zeros nor a barrier */
    CHECK_EQ(futex_barrier_init(&b2, 2), -EINVAL);
    CHECK_EQ(b2.u32_[0], 0);
    CHECK_EQ(b2.u32_[1], 7);

    /* Shared use where the backend cannot: refused before anything changes. */
    if (!can_share()) {
        CHECK_EQ(futex_mutex_lock(&m, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_mutex_locked(&m), 0);
        CHECK_EQ(futex_mutex_trylock(&m, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_sem_post(&s, 1, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_sem_getvalue(&s), 0);
        CHECK_EQ(futex_sem_wait(&s, NULL, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_event_set(&e, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_event_is_set(&e), 0);
        CHECK_EQ(futex_cond_notify(&c, 1, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_barrier_abort(&b, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_barrier_broken(&b), 0);
    }
}

/* ---- Mutex, one thread ---------------------------------------------------- */

TEST(mutex_single_thread, ANY)
{
    static futex_mutex m;
    CHECK_EQ(futex_mutex_unlock(&m, 0), -EPERM); /* not held */
    CHECK_EQ(futex_mutex_is_owned(&m), 0);
    CHECK_EQ(futex_mutex_lock(&m, 0), 0);
    CHECK_EQ(futex_mutex_locked(&m), 1);
    CHECK_EQ(futex_mutex_is_owned(&m), 1);
    CHECK_EQ(futex_mutex_lock(&m, 0), -EDEADLK); /* relocking our own never hangs */
    futex_deadline d = in_ms(10);
    CHECK_EQ(futex_mutex_timedlock(&m, &d, 0), -EDEADLK);
    CHECK_EQ(futex_mutex_trylock(&m, 0), -EBUSY);
    CHECK_EQ(futex_mutex_consistent(&m), -EINVAL); /* nothing to repair */
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
    CHECK_EQ(futex_mutex_locked(&m), 0);
    CHECK_EQ(futex_mutex_consistent(&m), -EPERM);
    CHECK_EQ(futex_mutex_trylock(&m, 0), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), -EPERM); /* twice */
    CHECK_EQ(m.u32_[0], 0); /* the word is free again: no waiter bit left behind */
}

/* ---- Mutex, threads -------------------------------------------------------- */

#define MT_THREADS 4
#define MT_ROUNDS 20000

typedef struct {
    futex_mutex m;
    uint32_t inside; /* threads inside the critical section: never above 1 */
    uint64_t counter;
    uint32_t violations;
} mt_arg;

static void *mt_worker(void *p)
{
    mt_arg *a = p;
    for (int i = 0; i < MT_ROUNDS; i++) {
        int rc = (i % 3 == 2) ? futex_mutex_trylock(&a->m, 0) : futex_mutex_lock(&a->m, 0);
        if (rc == -EBUSY)
            continue;
        CHECK_EQ(rc, 0);
        if (futex_fetch_add(&a->inside, 1) != 0)
            futex_fetch_add(&a->violations, 1);
        a->counter++; /* plain: the mutex alone protects it */
        futex_fetch_sub(&a->inside, 1);
        CHECK_EQ(futex_mutex_unlock(&a->m, 0), 0);
    }
    return NULL;
}

TEST(mutex_threads_exclusive, THREADS)
{
    static mt_arg a;
    pthread_t t[MT_THREADS];
    for (int i = 0; i < MT_THREADS; i++)
        t[i] = spawn(mt_worker, &a);
    for (int i = 0; i < MT_THREADS; i++)
        join(t[i]);
    CHECK_EQ(a.violations, 0);
    /* Every lock() and every successful trylock() counted once. */
    CHECK(a.counter >= (uint64_t)MT_THREADS * (MT_ROUNDS - MT_ROUNDS / 3));
    CHECK(a.counter <= (uint64_t)MT_THREADS * MT_ROUNDS);
    CHECK_EQ(a.m.u32_[0], 0); /* free, and no stale waiter bit */
}

typedef struct {
    futex_mutex m;
    uint32_t step;
    int rc_unlock, rc_try, rc_timed, rc_lock;
    uint64_t waited_ns;
} other_arg;

static void *other_thread(void *p)
{
    other_arg *a = p;
    a->rc_unlock = futex_mutex_unlock(&a->m, 0);
    a->rc_try = futex_mutex_trylock(&a->m, 0);
    uint64_t t0 = now_ns(); /* before the deadline starts: the wait is measured from no later */
    futex_deadline d = in_ms(50);
    a->rc_timed = futex_mutex_timedlock(&a->m, &d, 0);
    a->waited_ns = now_ns() - t0;
    futex_store(&a->step, 1);
    futex_wake(&a->step, 1, 0);
    a->rc_lock = futex_mutex_lock(&a->m, 0); /* blocks until main unlocks */
    CHECK_EQ(futex_mutex_unlock(&a->m, 0), 0);
    return NULL;
}

TEST(mutex_other_thread, THREADS)
{
    static other_arg a;
    CHECK_EQ(futex_mutex_lock(&a.m, 0), 0);
    pthread_t t = spawn(other_thread, &a);
    while (futex_load(&a.step) == 0)
        futex_wait(&a.step, 0, 0);
    CHECK_EQ(a.rc_unlock, -EPERM); /* not the owner: nothing changed */
    CHECK_EQ(a.rc_try, -EBUSY);
    CHECK_EQ(a.rc_timed, -ETIMEDOUT);
    CHECK(a.waited_ns >= 50000000u); /* never early */
    CHECK_EQ(futex_mutex_is_owned(&a.m), 1);
    sleep_ms(20);
    CHECK_EQ(futex_mutex_unlock(&a.m, 0), 0); /* wakes the blocked lock() */
    join(t);
    CHECK_EQ(a.rc_lock, 0);
    CHECK_EQ(futex_mutex_locked(&a.m), 0);
}

/* ---- Semaphore ---------------------------------------------------------------- */

TEST(sem_single_thread, ANY)
{
    static futex_sem s;
    CHECK_EQ(futex_sem_init(&s, 3, 2), -EINVAL); /* value above the bound */
    CHECK_EQ(futex_sem_init(&s, 0, FUTEX_SEM_VALUE_MAX + 1u), -EINVAL);
    CHECK_EQ(futex_sem_init(&s, 1, 2), 0);
    CHECK_EQ(futex_sem_bound(&s), 2);
    CHECK_EQ(futex_sem_getvalue(&s), 1);
    CHECK_EQ(futex_sem_post(&s, 1, 0), 0);
    CHECK_EQ(futex_sem_post(&s, 1, 0), -EOVERFLOW); /* a release too many: value unchanged */
    CHECK_EQ(futex_sem_getvalue(&s), 2);
    CHECK_EQ(futex_sem_post(&s, 0, 0), -EINVAL);
    CHECK_EQ(futex_sem_trywait(&s), 0);
    CHECK_EQ(futex_sem_wait(&s, NULL, 0), 0);
    CHECK_EQ(futex_sem_trywait(&s), -EAGAIN);
    uint64_t t0 = now_ns(); /* before the deadline starts: the wait is measured from no later */
    futex_deadline d = in_ms(30);
    CHECK_EQ(futex_sem_wait(&s, &d, 0), -ETIMEDOUT);
    CHECK(now_ns() - t0 >= 30000000u);
    futex_deadline past = in_ms(0);
    CHECK_EQ(futex_sem_wait(&s, &past, 0), -ETIMEDOUT);
    CHECK_EQ(futex_sem_post(&s, 2, 0), 0); /* post(n) */
    CHECK_EQ(futex_sem_getvalue(&s), 2);
    CHECK_EQ(s.u32_[1], 0); /* no waiter left announced */

    /* Unbounded (all-zero) semaphore: up to FUTEX_SEM_VALUE_MAX. */
    static futex_sem u;
    CHECK_EQ(futex_sem_post(&u, FUTEX_SEM_VALUE_MAX, 0), 0);
    CHECK_EQ(futex_sem_post(&u, 1, 0), -EOVERFLOW);
    CHECK_EQ(futex_sem_getvalue(&u), (int)FUTEX_SEM_VALUE_MAX);
}

/* Producers post units one or a few at a time; consumers take them, half
 * with untimed waits, half with tiny deadlines that keep racing the posts.
 * A lost wakeup leaves an untimed consumer asleep beside a unit: the test
 * then hangs and ctest's timeout fails it. Every unit is taken exactly once. */
#define SEM_PRODUCERS 3
#define SEM_CONSUMERS 4
#define SEM_UNITS 20000u /* per producer */

typedef struct {
    futex_sem s;
    uint32_t taken, timeouts, produced_done;
} sem_arg;

static void *sem_producer(void *p)
{
    sem_arg *a = p;
    uint32_t left = SEM_UNITS, k = 0;
    while (left > 0) {
        uint32_t n = (k++ % 4) + 1;
        if (n > left)
            n = left;
        CHECK_EQ(futex_sem_post(&a->s, n, 0), 0);
        left -= n;
        if (k % 256 == 0)
            sleep_ms(1); /* let the consumers run dry and sleep, so posts must wake them */
    }
    return NULL;
}

static void *sem_consumer_untimed(void *p)
{
    sem_arg *a = p;
    for (uint32_t i = 0; i < SEM_PRODUCERS * SEM_UNITS / SEM_CONSUMERS; i++) {
        CHECK_EQ(futex_sem_wait(&a->s, NULL, 0), 0);
        futex_fetch_add(&a->taken, 1);
    }
    return NULL;
}

static void *sem_consumer_timed(void *p)
{
    sem_arg *a = p;
    uint32_t got = 0, k = 0;
    while (got < SEM_PRODUCERS * SEM_UNITS / SEM_CONSUMERS) {
        futex_deadline d;
        futex_deadline_init(&d, (k++ % 3) * 20000u); /* 0, 20 and 40 µs */
        int rc = futex_sem_wait(&a->s, &d, 0);
        if (rc == -ETIMEDOUT) {
            futex_fetch_add(&a->timeouts, 1);
            continue;
        }
        CHECK_EQ(rc, 0);
        got++;
        futex_fetch_add(&a->taken, 1);
    }
    return NULL;
}

TEST(sem_stress_no_lost_wakeup, THREADS)
{
    static sem_arg a;
    pthread_t p[SEM_PRODUCERS], c[SEM_CONSUMERS];
    for (int i = 0; i < SEM_CONSUMERS; i++)
        c[i] = spawn(i % 2 ? sem_consumer_timed : sem_consumer_untimed, &a);
    for (int i = 0; i < SEM_PRODUCERS; i++)
        p[i] = spawn(sem_producer, &a);
    for (int i = 0; i < SEM_PRODUCERS; i++)
        join(p[i]);
    for (int i = 0; i < SEM_CONSUMERS; i++)
        join(c[i]);
    CHECK_EQ(a.taken, SEM_PRODUCERS * SEM_UNITS);
    CHECK_EQ(futex_sem_getvalue(&a.s), 0); /* nothing taken twice, nothing left */
    CHECK_EQ(a.s.u32_[1], 0);              /* every announced waiter left */
    printf("(%u timeouts raced posts) ", (unsigned)a.timeouts);
}

/* ---- Event -------------------------------------------------------------------- */

typedef struct {
    futex_event e;
    uint32_t arrived, returned;
    int rc[8];
    long tids[8];
    uint32_t timeout_ms;
} ev_arg;

static ev_arg ev;

static void *ev_waiter(void *p)
{
    int i = (int)(intptr_t)p;
    ev.tids[i] = self_tid();
    futex_fetch_add(&ev.arrived, 1);
    if (ev.timeout_ms) {
        futex_deadline d = in_ms(ev.timeout_ms);
        ev.rc[i] = futex_event_wait(&ev.e, &d, 0);
    } else {
        ev.rc[i] = futex_event_wait(&ev.e, NULL, 0);
    }
    futex_fetch_add(&ev.returned, 1);
    return NULL;
}

TEST(event_single_thread, ANY)
{
    static futex_event e;
    uint64_t t0 = now_ns(); /* before the deadline starts: the wait is measured from no later */
    futex_deadline d = in_ms(20);
    CHECK_EQ(futex_event_wait(&e, &d, 0), -ETIMEDOUT);
    CHECK(now_ns() - t0 >= 20000000u);
    CHECK_EQ(futex_event_set(&e, 0), 0);
    CHECK_EQ(futex_event_is_set(&e), 1);
    CHECK_EQ(futex_event_set(&e, 0), 0); /* idempotent */
    CHECK_EQ(futex_event_wait(&e, NULL, 0), 0);
    CHECK_EQ(futex_event_clear(&e), 0);
    CHECK_EQ(futex_event_is_set(&e), 0);
    CHECK_EQ(futex_event_clear(&e), 0);
    futex_deadline past = in_ms(0);
    CHECK_EQ(futex_event_wait(&e, &past, 0), -ETIMEDOUT);
}

/* set() then clear() at once: every waiter that was waiting returns 0, as
 * threading.Event.wait returns True even if the flag was cleared before it
 * woke. A wait that only looks at the flag would time out. */
TEST(event_set_clear_wakes_all, THREADS)
{
    pthread_t t[6];
    /* Rounds, because a woken waiter that runs before the clear() passes
     * even with a wait that only looks at the flag. */
    for (int round = 0; round < 10; round++) {
        memset(&ev, 0, sizeof ev);
        ev.timeout_ms = 0; /* untimed: a waiter that misses the set sleeps for good (ctest's timeout) */
        for (int i = 0; i < 6; i++)
            t[i] = spawn(ev_waiter, (void *)(intptr_t)i);
        settle_tids(&ev.arrived, 6, ev.tids);
        CHECK_EQ(futex_load(&ev.returned), 0);
        CHECK_EQ(futex_event_set(&ev.e, 0), 0);
        CHECK_EQ(futex_event_clear(&ev.e), 0);
        for (int i = 0; i < 6; i++)
            join(t[i]);
        for (int i = 0; i < 6; i++)
            CHECK_EQ(ev.rc[i], 0);
        CHECK_EQ(futex_event_is_set(&ev.e), 0);
    }

    /* Timed waiters, woken by one set long before their deadline. */
    memset(&ev, 0, sizeof ev);
    ev.timeout_ms = 60000;
    for (int i = 0; i < 4; i++)
        t[i] = spawn(ev_waiter, (void *)(intptr_t)i);
    settle_tids(&ev.arrived, 4, ev.tids);
    CHECK_EQ(futex_load(&ev.returned), 0); /* still waiting: nothing set */
    CHECK_EQ(futex_event_set(&ev.e, 0), 0);
    for (int i = 0; i < 4; i++)
        join(t[i]);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(ev.rc[i], 0);
}

/* ---- Condition ------------------------------------------------------------------ */

typedef struct {
    futex_mutex m;
    futex_cond c;
    uint32_t arrived, woke;
    int rc[8];
    long tids[8];
} cv_arg;

static cv_arg cv;

static void *cv_waiter(void *p)
{
    int i = (int)(intptr_t)p;
    cv.tids[i] = self_tid();
    CHECK_EQ(futex_mutex_lock(&cv.m, 0), 0);
    futex_fetch_add(&cv.arrived, 1);
    futex_deadline d = in_ms(20000);
    cv.rc[i] = futex_cond_wait(&cv.c, &cv.m, &d, 0);
    CHECK_EQ(futex_mutex_is_owned(&cv.m), 1); /* the mutex is back */
    futex_fetch_add(&cv.woke, 1);
    CHECK_EQ(futex_mutex_unlock(&cv.m, 0), 0);
    return NULL;
}

TEST(cond_semantics, THREADS)
{
    memset(&cv, 0, sizeof cv);
    /* Without the mutex: -EPERM, nothing registered. */
    CHECK_EQ(futex_cond_wait(&cv.c, &cv.m, NULL, 0), -EPERM);
    CHECK_EQ(cv.c.u32_[1], 0);
    /* Nobody waiting: notify designates none. */
    CHECK_EQ(futex_cond_notify(&cv.c, 1, 0), 0);
    CHECK_EQ(futex_cond_notify_all(&cv.c, 0), 0);
    CHECK_EQ(cv.c.u32_[0], 0); /* and does not even bump the sequence */
    /* A timed wait times out with the mutex held again. */
    CHECK_EQ(futex_mutex_lock(&cv.m, 0), 0);
    uint64_t t0 = now_ns(); /* before the deadline starts: the wait is measured from no later */
    futex_deadline d = in_ms(30);
    CHECK_EQ(futex_cond_wait(&cv.c, &cv.m, &d, 0), -ETIMEDOUT);
    CHECK(now_ns() - t0 >= 30000000u);
    CHECK_EQ(futex_mutex_is_owned(&cv.m), 1);
    CHECK_EQ(futex_mutex_unlock(&cv.m, 0), 0);
    CHECK_EQ(cv.c.u32_[1], 0); /* it left the waiter count */

    /* Five waiters: notify(2) wakes exactly two, notify_all the other three. */
    pthread_t t[5];
    for (int i = 0; i < 5; i++)
        t[i] = spawn(cv_waiter, (void *)(intptr_t)i);
    settle_tids(&cv.arrived, 5, cv.tids);
    for (int i = 0; i < 200 && (futex_load(&cv.c.u32_[1]) & 0xFFFF) < 5; i++)
        sleep_ms(5);
    CHECK_EQ(futex_mutex_lock(&cv.m, 0), 0);
    CHECK_EQ(futex_cond_notify(&cv.c, 2, 0), 2);
    CHECK_EQ(futex_mutex_unlock(&cv.m, 0), 0);
    for (int i = 0; i < 2000 && futex_load(&cv.woke) < 2; i++)
        sleep_ms(1);
    sleep_ms(100); /* time for a third to wake wrongly */
    CHECK_EQ(futex_load(&cv.woke), 2);
    CHECK_EQ(futex_mutex_lock(&cv.m, 0), 0);
    CHECK_EQ(futex_cond_notify_all(&cv.c, 0), 3);
    CHECK_EQ(futex_mutex_unlock(&cv.m, 0), 0);
    for (int i = 0; i < 5; i++)
        join(t[i]);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(cv.rc[i], 0);
    CHECK_EQ(cv.c.u32_[1], 0);
}

/* A notify wakes only threads that were waiting when it was made. A waiter
 * that comes later must not take a wakeup an earlier notify owes another:
 * a thread notified and back in its next wait before the others ran took
 * theirs, so notify(3) woke 2 of the 3 it chose (CPython's test_notify saw
 * it). Here the earlier waiter is one killed inside futex_cond_wait, which
 * stays counted (futex.h): the wakeup designating it stays owed to it. */
static struct {
    futex_mutex m;
    futex_cond c;
    uint32_t arrived;
    int rc;
} lw;

static void *lw_waiter(void *p)
{
    (void)p;
    CHECK_EQ(futex_mutex_lock(&lw.m, 0), 0);
    futex_fetch_add(&lw.arrived, 1);
    futex_deadline d = in_ms(20000);
    lw.rc = futex_cond_wait(&lw.c, &lw.m, &d, 0);
    CHECK_EQ(futex_mutex_unlock(&lw.m, 0), 0);
    return NULL;
}

TEST(cond_late_waiter_takes_no_earlier_wakeup, THREADS)
{
    memset(&lw, 0, sizeof lw);
    lw.c.u32_[1] = 1; /* one waiter counted: a thread killed inside its wait */
    CHECK_EQ(futex_mutex_lock(&lw.m, 0), 0);
    CHECK_EQ(futex_cond_notify(&lw.c, 1, 0), 1); /* designates it */
    futex_deadline d = in_ms(20);
    CHECK_EQ(futex_cond_wait(&lw.c, &lw.m, &d, 0), -ETIMEDOUT); /* not ours to take */
    CHECK_EQ(lw.c.u32_[1], 0x10001u);                             /* still owed to it */
    CHECK_EQ(futex_mutex_unlock(&lw.m, 0), 0);

    /* A notify made while a thread waits counts it and wakes it. */
    pthread_t t = spawn(lw_waiter, NULL);
    while (futex_load(&lw.arrived) == 0)
        sleep_ms(1);
    CHECK_EQ(futex_mutex_lock(&lw.m, 0), 0); /* it is registered once we hold the mutex */
    CHECK_EQ(futex_cond_notify(&lw.c, 1, 0), 1);
    CHECK_EQ(futex_mutex_unlock(&lw.m, 0), 0);
    join(t);
    CHECK_EQ(lw.rc, 0);
    CHECK_EQ(lw.c.u32_[1] & 0xFFFFu, 1u); /* only the dead one is left counted */
}

/* A waiter that waits in short slices, calling again after each -ETIMEDOUT
 * (as a binding does to look at its signals), stays counted for the whole
 * of its wait as seen by a notifier holding the mutex: each slice that ends
 * while the notifier holds it waits for the mutex still counted, so
 * notify_all under the mutex reaches every waiter. (A waiter that left the
 * count before re-taking the mutex was missed by that notify, and a
 * "wait until notified" loop then slept on past it.) */
#define SL_WAITERS 4

static struct {
    futex_mutex m;
    futex_cond c;
    uint32_t arrived, slices;
    int rc[SL_WAITERS];
} sl;

static void *sl_waiter(void *p)
{
    int i = (int)(intptr_t)p, rc;
    CHECK_EQ(futex_mutex_lock(&sl.m, 0), 0);
    futex_fetch_add(&sl.arrived, 1);
    for (;;) {
        futex_deadline d = in_ms(1);
        if ((rc = futex_cond_wait(&sl.c, &sl.m, &d, 0)) != -ETIMEDOUT)
            break;
        futex_fetch_add(&sl.slices, 1);
    }
    sl.rc[i] = rc;
    CHECK_EQ(futex_mutex_unlock(&sl.m, 0), 0);
    return NULL;
}

TEST(cond_sliced_waiters_stay_counted, THREADS)
{
    for (int round = 0; round < 5; round++) {
        memset(&sl, 0, sizeof sl);
        pthread_t t[SL_WAITERS];
        for (int i = 0; i < SL_WAITERS; i++)
            t[i] = spawn(sl_waiter, (void *)(intptr_t)i);
        /* Every waiter in, and slicing: some slices have already ended. */
        while (futex_load(&sl.arrived) < SL_WAITERS || futex_load(&sl.slices) < 2 * SL_WAITERS)
            sleep_ms(1);
        CHECK_EQ(futex_mutex_lock(&sl.m, 0), 0);
        sleep_ms(20); /* every waiter's 1 ms slice ends while we hold the mutex */
        CHECK_EQ(futex_cond_notify_all(&sl.c, 0), SL_WAITERS);
        CHECK_EQ(futex_mutex_unlock(&sl.m, 0), 0);
        for (int i = 0; i < SL_WAITERS; i++)
            join(t[i]);
        for (int i = 0; i < SL_WAITERS; i++)
            CHECK_EQ(sl.rc[i], 0); /* notified, not timed out */
        CHECK_EQ(sl.c.u32_[1], 0); /* every waiter left the count */
    }
}

/* A bounded queue under one mutex with two conditions (not empty, not full).
 * Consumers and producers wait with short deadlines half of the time, so
 * timeouts keep racing notifies; a lost wakeup leaves an untimed waiter
 * asleep forever (ctest's timeout). Every item is consumed exactly once. */
#define CQ_CAP 8
#define CQ_ITEMS 20000u /* per producer */
#define CQ_PROD 2
#define CQ_CONS 3

typedef struct {
    futex_mutex m;
    futex_cond not_empty, not_full;
    uint32_t buf[CQ_CAP], head, count, done_producers;
    uint64_t sum_in, sum_out;
    uint32_t consumed, timeouts, timed_waits; /* under the mutex */
} cq_arg;

static cq_arg cq;

static int cq_wait(futex_cond *c, int timed)
{
    if (!timed)
        return futex_cond_wait(c, &cq.m, NULL, 0);
    /* 0, 5 and 30 µs: a notify that counts a waiter now reaches it well
     * within 30 µs, so the shorter deadlines keep timeouts racing notifies. */
    static const uint32_t us[3] = {0, 5, 30};
    futex_deadline d;
    futex_deadline_init(&d, us[cq.timed_waits++ % 3] * 1000u);
    int rc = futex_cond_wait(c, &cq.m, &d, 0);
    if (rc == -ETIMEDOUT)
        cq.timeouts++;
    return rc == -ETIMEDOUT ? 0 : rc;
}

static void *cq_producer(void *p)
{
    int timed = (int)(intptr_t)p;
    for (uint32_t i = 1; i <= CQ_ITEMS; i++) {
        CHECK_EQ(futex_mutex_lock(&cq.m, 0), 0);
        while (cq.count == CQ_CAP)
            CHECK_EQ(cq_wait(&cq.not_full, timed), 0);
        cq.buf[(cq.head + cq.count) % CQ_CAP] = i;
        cq.count++;
        cq.sum_in += i;
        futex_cond_notify(&cq.not_empty, 1, 0);
        CHECK_EQ(futex_mutex_unlock(&cq.m, 0), 0);
    }
    CHECK_EQ(futex_mutex_lock(&cq.m, 0), 0);
    cq.done_producers++;
    futex_cond_notify_all(&cq.not_empty, 0);
    CHECK_EQ(futex_mutex_unlock(&cq.m, 0), 0);
    return NULL;
}

static void *cq_consumer(void *p)
{
    int timed = (int)(intptr_t)p;
    CHECK_EQ(futex_mutex_lock(&cq.m, 0), 0);
    for (;;) {
        while (cq.count == 0 && cq.done_producers < CQ_PROD)
            CHECK_EQ(cq_wait(&cq.not_empty, timed), 0);
        if (cq.count == 0)
            break;
        cq.sum_out += cq.buf[cq.head];
        cq.head = (cq.head + 1) % CQ_CAP;
        cq.count--;
        cq.consumed++;
        futex_cond_notify(&cq.not_full, 1, 0);
    }
    CHECK_EQ(futex_mutex_unlock(&cq.m, 0), 0);
    return NULL;
}

TEST(cond_stress_no_lost_wakeup, THREADS)
{
    memset(&cq, 0, sizeof cq);
    pthread_t p[CQ_PROD], c[CQ_CONS];
    for (int i = 0; i < CQ_CONS; i++)
        c[i] = spawn(cq_consumer, (void *)(intptr_t)(i % 2));
    for (int i = 0; i < CQ_PROD; i++)
        p[i] = spawn(cq_producer, (void *)(intptr_t)(i % 2));
    for (int i = 0; i < CQ_PROD; i++)
        join(p[i]);
    for (int i = 0; i < CQ_CONS; i++)
        join(c[i]);
    CHECK_EQ(cq.consumed, CQ_PROD * CQ_ITEMS);
    CHECK_EQ(cq.sum_out, cq.sum_in);
    CHECK_EQ(cq.not_empty.u32_[1], 0);
    CHECK_EQ(cq.not_full.u32_[1], 0);
    CHECK(cq.timeouts > 0); /* timeouts raced notifies, or the stress proved less */
    printf("(%u timeouts raced notifies) ", (unsigned)cq.timeouts);
}

/* ---- Barrier ---------------------------------------------------------------------- */

#define BR_PARTIES 4
#define BR_ROUNDS 300

typedef struct {
    futex_barrier b;
    uint32_t seen[BR_ROUNDS][BR_PARTIES]; /* how often each index was returned per round */
    uint32_t phase[BR_PARTIES];
    uint32_t errors;
} br_arg;

static br_arg br;

static void *br_worker(void *p)
{
    int me = (int)(intptr_t)p;
    for (int r = 0; r < BR_ROUNDS; r++) {
        br.phase[me] = (uint32_t)r; /* plain: the barrier orders it */
        int idx = futex_barrier_wait(&br.b, NULL, NULL, 0);
        CHECK(idx >= 0 && idx < BR_PARTIES);
        futex_fetch_add(&br.seen[r][idx], 1);
        /* After the barrier every party has written round r. */
        for (int k = 0; k < BR_PARTIES; k++)
            if (br.phase[k] < (uint32_t)r)
                futex_fetch_add(&br.errors, 1);
        CHECK(futex_barrier_wait(&br.b, NULL, NULL, 0) >= 0); /* nobody runs ahead into round r+1 */
    }
    return NULL;
}

TEST(barrier_rounds, THREADS)
{
    memset(&br, 0, sizeof br);
    CHECK_EQ(futex_barrier_init(&br.b, BR_PARTIES), 0);
    CHECK_EQ(futex_barrier_parties(&br.b), BR_PARTIES);
    pthread_t t[BR_PARTIES];
    for (int i = 0; i < BR_PARTIES; i++)
        t[i] = spawn(br_worker, (void *)(intptr_t)i);
    for (int i = 0; i < BR_PARTIES; i++)
        join(t[i]);
    CHECK_EQ(br.errors, 0);
    for (int r = 0; r < BR_ROUNDS; r++)
        for (int k = 0; k < BR_PARTIES; k++)
            CHECK_EQ(br.seen[r][k], 1); /* each arrival index exactly once per round */
    CHECK_EQ(futex_barrier_n_waiting(&br.b), 0);
    CHECK_EQ(futex_barrier_broken(&br.b), 0);
}

/* Setting up a barrier that others set up at the same time, and already
 * wait on, loses nobody's arrival. First made certain: a set-up that comes
 * after an arrival (the late one of two racing set-ups) leaves it counted;
 * then raced: SU_THREADS threads that each set up and wait on each of
 * SU_ROUNDS fresh barriers at once. */
#define SU_THREADS 4
#define SU_ROUNDS 200
static struct {
    futex_barrier b[SU_ROUNDS];
    uint32_t go;
    uint32_t sum[SU_ROUNDS];
    uint32_t errors;
} su;

static void setup_and_wait_all(futex_barrier *b, uint32_t *sum, uint32_t *errors, uint32_t parties, unsigned flags)
{
    for (int r = 0; r < SU_ROUNDS; r++) {
        if (futex_barrier_init(&b[r], parties) != 0)
            futex_fetch_add(errors, 1);
        /* Generous: a lost arrival leaves the others here until this passes. */
        futex_deadline d;
        futex_deadline_init(&d, 20000000000u);
        int idx = futex_barrier_wait(&b[r], NULL, &d, flags);
        if (idx < 0)
            futex_fetch_add(errors, 1);
        else
            futex_fetch_add(&sum[r], (uint32_t)idx);
    }
}

static void *su_worker(void *p)
{
    (void)p;
    while (futex_load(&su.go) == 0)
        futex_wait(&su.go, 0, 0);
    setup_and_wait_all(su.b, su.sum, &su.errors, SU_THREADS, 0);
    return NULL;
}

typedef struct {
    futex_barrier *b;
    uint32_t timeout_ms;
    int rc;
    uint32_t started;
} bw_arg;

static void *bw_waiter(void *p)
{
    bw_arg *a = p;
    futex_fetch_add(&a->started, 1);
    if (a->timeout_ms) {
        futex_deadline d = in_ms(a->timeout_ms);
        a->rc = futex_barrier_wait(a->b, NULL, &d, 0);
    } else {
        a->rc = futex_barrier_wait(a->b, NULL, NULL, 0);
    }
    return NULL;
}

static void wait_n_waiting(futex_barrier *b, int n)
{
    for (int i = 0; i < 20000 && futex_barrier_n_waiting(b) != n; i++)
        sleep_ms(1);
    CHECK_EQ(futex_barrier_n_waiting(b), n);
}

/* A primitive's spin learns from the sleep that follows it, as futex_wait's
 * does: a partner that answers a little after the spin gave up (here 40 µs,
 * far below a millisecond) lengthens the next spins. Without that lesson a
 * pair whose answers had once come late slept on every hand-off for good. */
typedef struct {
    futex_sem s;
    uint32_t stop;
} late_poster;

static void yield_now(void)
{
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}

static void *post_late(void *arg)
{
    late_poster *p = arg;
    while (!futex_load(&p->stop)) {
        if (futex_load(&p->s.u32_[1]) == 0) { /* the layout's waiter count: its spin gave up */
            yield_now();
            continue;
        }
        uint64_t t0 = now_ns();
        while (now_ns() - t0 < 40000u) {
        }
        CHECK_EQ(futex_sem_post(&p->s, 1, 0), 0);
        while (futex_sem_getvalue(&p->s) != 0) /* taken: the waiter left the count before it took */
            yield_now();
    }
    return NULL;
}

/* Each sleep that ends soon after the spin gave up pushes the window up; a
 * sleep that the load stretches (a busy machine, wine's thread wake-ups)
 * pulls it down again. So the waits go on until the window has risen well
 * above the floor, up to 600 of them: without the lesson it never rises. */
TEST(sync_sleep_teaches_spin, THREADS)
{
    CHECK_EQ(futex_get_spin(), FUTEX_SPIN_ADAPTIVE); /* the default */
    /* Waits nobody ends pull the estimate down to the floor's window. */
    uint32_t w = 1;
    for (int i = 0; i < 40; i++)
        CHECK_EQ(futex_timed_wait(&w, 1, 2000000u, 0), -ETIMEDOUT);
    uint32_t before = futex__spin_window_ns(), peak = before;
    static late_poster p;
    memset(&p, 0, sizeof p);
    pthread_t t = spawn(post_late, &p);
    int waits = 0;
    while (waits < 600 && peak <= before + 1000u) {
        CHECK_EQ(futex_sem_wait(&p.s, NULL, 0), 0);
        waits++;
        uint32_t now = futex__spin_window_ns();
        CHECK(now <= FUTEX_SPIN_BUDGET_NS);
        if (now > peak)
            peak = now;
    }
    futex_store(&p.stop, 1);
    join(t);
    printf("(window %u -> %u ns in %d waits) ", before, peak, waits);
    CHECK(peak > before + 1000u); /* near misses pushed it up */
}

TEST(barrier_setup_race, THREADS)
{
    static futex_barrier b;
    memset(&b, 0, sizeof b);
    CHECK_EQ(futex_barrier_init(&b, 2), 0);
    bw_arg a = {&b, 20000, -1, 0};
    pthread_t t = spawn(bw_waiter, &a);
    wait_n_waiting(&b, 1);
    CHECK_EQ(futex_barrier_init(&b, 2), 0); /* the late set-up: must not forget the waiter */
    CHECK_EQ(futex_barrier_n_waiting(&b), 1);
    CHECK_EQ(futex_barrier_init(&b, 3), -EEXIST);
    CHECK_EQ(futex_barrier_n_waiting(&b), 1);
    CHECK_EQ(futex_barrier_wait(&b, NULL, NULL, 0), 1); /* the second of two: releases it */
    join(t);
    CHECK_EQ(a.rc, 0);

    memset(&su, 0, sizeof su);
    pthread_t w[SU_THREADS];
    for (int i = 0; i < SU_THREADS; i++)
        w[i] = spawn(su_worker, NULL);
    futex_store(&su.go, 1);
    futex_wake(&su.go, FUTEX_ALL, 0);
    for (int i = 0; i < SU_THREADS; i++)
        join(w[i]);
    CHECK_EQ(su.errors, 0);
    for (int r = 0; r < SU_ROUNDS; r++)
        CHECK_EQ(su.sum[r], SU_THREADS * (SU_THREADS - 1) / 2); /* indexes 0..n-1, each once */
}

TEST(barrier_break_abort_reset, THREADS)
{
    static futex_barrier b;
    CHECK_EQ(futex_barrier_init(&b, 3), 0);

    /* A timeout breaks it for everyone: the one that timed out gets
     * -ETIMEDOUT, the other waiter -ECANCELED, later arrivals -ECANCELED. */
    bw_arg w1 = {&b, 0, 1, 0}, w2 = {&b, 100, 1, 0};
    pthread_t t1 = spawn(bw_waiter, &w1);
    wait_n_waiting(&b, 1);
    pthread_t t2 = spawn(bw_waiter, &w2);
    join(t2);
    join(t1);
    CHECK_EQ(w2.rc, -ETIMEDOUT);
    CHECK_EQ(w1.rc, -ECANCELED);
    CHECK_EQ(futex_barrier_broken(&b), 1);
    CHECK_EQ(futex_barrier_wait(&b, NULL, NULL, 0), -ECANCELED);
    CHECK_EQ(futex_barrier_n_waiting(&b), 0);

    /* reset: usable again, whole rounds work. */
    CHECK_EQ(futex_barrier_reset(&b, 0), 0);
    CHECK_EQ(futex_barrier_broken(&b), 0);
    bw_arg a1 = {&b, 0, 9, 0}, a2 = {&b, 0, 9, 0};
    t1 = spawn(bw_waiter, &a1);
    t2 = spawn(bw_waiter, &a2);
    wait_n_waiting(&b, 2);
    int last = futex_barrier_wait(&b, NULL, NULL, 0);
    join(t1);
    join(t2);
    CHECK_EQ(last, 2);
    CHECK_EQ(a1.rc + a2.rc, 1); /* indexes 0 and 1 */

    /* abort wakes a blocked waiter with -ECANCELED; broken until reset. */
    t1 = spawn(bw_waiter, &a1);
    wait_n_waiting(&b, 1);
    CHECK_EQ(futex_barrier_abort(&b, 0), 0);
    join(t1);
    CHECK_EQ(a1.rc, -ECANCELED);
    CHECK_EQ(futex_barrier_broken(&b), 1);
    CHECK_EQ(futex_barrier_reset(&b, 0), 0);

    /* reset with waiters: they get -ECANCELED, and the barrier then works. */
    t1 = spawn(bw_waiter, &a1);
    t2 = spawn(bw_waiter, &a2);
    wait_n_waiting(&b, 2);
    CHECK_EQ(futex_barrier_reset(&b, 0), 0);
    join(t1);
    join(t2);
    CHECK_EQ(a1.rc, -ECANCELED);
    CHECK_EQ(a2.rc, -ECANCELED);
    CHECK_EQ(futex_barrier_broken(&b), 0);
    CHECK_EQ(futex_barrier_n_waiting(&b), 0);
    t1 = spawn(bw_waiter, &a1);
    t2 = spawn(bw_waiter, &a2);
    wait_n_waiting(&b, 2);
    CHECK_EQ(futex_barrier_wait(&b, NULL, NULL, 0), 2);
    join(t1);
    join(t2);
    CHECK_EQ(a1.rc + a2.rc, 1);
}

/* ---- signals ----------------------------------------------------------------------- */

#if !defined(_WIN32)
static void on_usr1(int sig) { (void)sig; }

typedef struct {
    futex_barrier b;
    long tid;
    uint32_t ready;
    int rc_first, rc_resumed;
} sig_arg;

static sig_arg sg;

static void *sig_barrier_waiter(void *p)
{
    (void)p;
    sg.tid = self_tid();
    futex_store(&sg.ready, 1);
    uint32_t ticket = 0;
    int rc = futex_barrier_wait(&sg.b, &ticket, NULL, 0);
    sg.rc_first = rc;
    if (rc == -EINTR) {
        CHECK(ticket != 0);
        futex_store(&sg.ready, 2);
        rc = futex_barrier_wait(&sg.b, &ticket, NULL, 0); /* resumes: does not arrive twice */
    }
    sg.rc_resumed = rc;
    return NULL;
}

/* A signal ends a barrier wait with -EINTR and a ticket (where the backend
 * reports signals), still counted as arrived; resuming with the ticket keeps
 * that arrival, so the main thread's arrival completes the round as index 1.
 * Arriving twice would complete the round without the main thread, which
 * would then wait alone (and the test hang). */
TEST(signal_resume_barrier, THREADS, FORK)
{
    if (!(futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE))
        return; /* the wait goes on through signals: covered by the rounds test */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    memset(&sg, 0, sizeof sg);
    CHECK_EQ(futex_barrier_init(&sg.b, 2), 0);
    pthread_t t = spawn(sig_barrier_waiter, NULL);
    for (int i = 0; i < 20000 && futex_barrier_n_waiting(&sg.b) != 1; i++)
        sleep_ms(1);
    CHECK_EQ(futex_barrier_n_waiting(&sg.b), 1);
    sleep_ms(20);
    pthread_kill(t, SIGUSR1);
    for (int i = 0; i < 20000 && futex_load(&sg.ready) != 2; i++)
        sleep_ms(1);
    CHECK_EQ(sg.rc_first, -EINTR);
    CHECK_EQ(futex_barrier_n_waiting(&sg.b), 1); /* still counted while interrupted */
    CHECK_EQ(futex_barrier_wait(&sg.b, NULL, NULL, 0), 1);
    join(t);
    CHECK_EQ(sg.rc_resumed, 0);
}

/* Each blocking call ends with -EINTR when a signal handler runs while it
 * sleeps (where the backend reports signals), leaving its state as a call
 * again expects: the semaphore untaken, the condition's mutex held again and
 * the waiter count back to 0. */
typedef struct {
    futex_sem s;
    futex_event e;
    futex_mutex m;
    futex_cond c;
    long tid;
    uint32_t phase;
    int rc_sem, rc_event, rc_cond, owned_after_cond;
} intr_arg;

static intr_arg ia;

static void *intr_waiter(void *p)
{
    (void)p;
    ia.tid = self_tid();
    futex_store(&ia.phase, 1);
    ia.rc_sem = futex_sem_wait(&ia.s, NULL, 0);
    futex_store(&ia.phase, 2);
    ia.rc_event = futex_event_wait(&ia.e, NULL, 0);
    CHECK_EQ(futex_mutex_lock(&ia.m, 0), 0);
    futex_store(&ia.phase, 3);
    ia.rc_cond = futex_cond_wait(&ia.c, &ia.m, NULL, 0);
    ia.owned_after_cond = futex_mutex_is_owned(&ia.m);
    CHECK_EQ(futex_mutex_unlock(&ia.m, 0), 0);
    futex_store(&ia.phase, 4);
    return NULL;
}

/* Wait until the waiter reached `phase` and sleeps, then signal it. */
static void interrupt_at(pthread_t t, uint32_t phase)
{
    for (int i = 0; i < 20000 && futex_load(&ia.phase) != phase; i++)
        sleep_ms(1);
    CHECK_EQ(futex_load(&ia.phase), phase);
    for (int i = 0; i < 20000 && ia.tid != 0 && !is_sleeping(ia.tid); i++)
        sleep_ms(1);
    sleep_ms(30);
    pthread_kill(t, SIGUSR1);
}

TEST(signal_ends_waits, THREADS, FORK)
{
    if (!(futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE))
        return; /* the waits go on through signals: nothing to check here */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    memset(&ia, 0, sizeof ia);
    pthread_t t = spawn(intr_waiter, NULL);
    interrupt_at(t, 1);
    interrupt_at(t, 2);
    interrupt_at(t, 3);
    join(t);
    CHECK_EQ(ia.rc_sem, -EINTR);
    CHECK_EQ(futex_sem_getvalue(&ia.s), 0);
    CHECK_EQ(ia.s.u32_[1], 0); /* it left the waiter count */
    CHECK_EQ(ia.rc_event, -EINTR);
    CHECK_EQ(ia.rc_cond, -EINTR);
    CHECK_EQ(ia.owned_after_cond, 1);
    CHECK_EQ(ia.c.u32_[1], 0);
    CHECK_EQ(futex_mutex_locked(&ia.m), 0);
}
#endif

/* ---- across processes ------------------------------------------------------------- */

#if !defined(_WIN32)
typedef struct {
    futex_mutex m;
    futex_event ping, pong;
    futex_sem a, b;
    futex_barrier bar;
    futex_cond c;
    uint64_t counter;
    uint32_t inside, violations, flag;
} xp_shared;

#define XP_ROUNDS 3000

static void xp_child(xp_shared *x)
{
    alarm(60);
    for (int i = 0; i < XP_ROUNDS; i++) {
        if (futex_mutex_lock(&x->m, FUTEX_SHARED) != 0)
            _exit(10);
        if (futex_fetch_add(&x->inside, 1) != 0)
            futex_fetch_add(&x->violations, 1);
        x->counter++;
        futex_fetch_sub(&x->inside, 1);
        if (futex_mutex_unlock(&x->m, FUTEX_SHARED) != 0)
            _exit(11);
    }
    /* Event ping-pong: answer each ping with a pong. */
    for (int i = 0; i < 500; i++) {
        if (futex_event_wait(&x->ping, NULL, FUTEX_SHARED) != 0)
            _exit(12);
        futex_event_clear(&x->ping);
        futex_event_set(&x->pong, FUTEX_SHARED);
    }
    /* Semaphore ping-pong. */
    for (int i = 0; i < 500; i++) {
        if (futex_sem_wait(&x->a, NULL, FUTEX_SHARED) != 0)
            _exit(13);
        if (futex_sem_post(&x->b, 1, FUTEX_SHARED) != 0)
            _exit(14);
    }
    /* Condition: set the flag under the mutex and notify. */
    if (futex_mutex_lock(&x->m, FUTEX_SHARED) != 0)
        _exit(15);
    x->flag = 1;
    futex_cond_notify_all(&x->c, FUTEX_SHARED);
    futex_mutex_unlock(&x->m, FUTEX_SHARED);
    /* Barrier with the parent. */
    int idx = futex_barrier_wait(&x->bar, NULL, NULL, FUTEX_SHARED);
    if (idx < 0)
        _exit(16);
    _exit(0);
}

TEST(across_processes, FORK)
{
    xp_shared *x = mmap(NULL, sizeof(xp_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(x != MAP_FAILED);
    if (!can_share()) {
        CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_event_wait(&x->ping, NULL, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_sem_wait(&x->a, NULL, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_barrier_wait(&x->bar, NULL, NULL, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(x->m.u32_[0], 0);
        munmap(x, sizeof *x);
        return;
    }
    CHECK_EQ(futex_barrier_init(&x->bar, 2), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        xp_child(x);
    for (int i = 0; i < XP_ROUNDS; i++) {
        CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), 0);
        if (futex_fetch_add(&x->inside, 1) != 0)
            futex_fetch_add(&x->violations, 1);
        x->counter++;
        futex_fetch_sub(&x->inside, 1);
        CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), 0);
    }
    for (int i = 0; i < 500; i++) {
        CHECK_EQ(futex_event_set(&x->ping, FUTEX_SHARED), 0);
        CHECK_EQ(futex_event_wait(&x->pong, NULL, FUTEX_SHARED), 0);
        CHECK_EQ(futex_event_clear(&x->pong), 0);
    }
    for (int i = 0; i < 500; i++) {
        CHECK_EQ(futex_sem_post(&x->a, 1, FUTEX_SHARED), 0);
        CHECK_EQ(futex_sem_wait(&x->b, NULL, FUTEX_SHARED), 0);
    }
    CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), 0);
    while (!x->flag)
        CHECK_EQ(futex_cond_wait(&x->c, &x->m, NULL, FUTEX_SHARED), 0);
    CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), 0);
    CHECK(futex_barrier_wait(&x->bar, NULL, NULL, FUTEX_SHARED) >= 0);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_EQ(x->violations, 0);
    CHECK_EQ(x->counter, 2 * XP_ROUNDS);
    CHECK_EQ(futex_sem_getvalue(&x->a), 0);
    CHECK_EQ(futex_sem_getvalue(&x->b), 0);
    CHECK_EQ(futex_mutex_locked(&x->m), 0);
    munmap(x, sizeof *x);
}

/* The racing set-ups of barrier_setup_race, by processes over a shared
 * mapping: each of SU_THREADS forked children sets up and waits on every
 * fresh barrier at once. */
TEST(barrier_setup_race_processes, FORK)
{
    typedef struct {
        futex_barrier b[SU_ROUNDS];
        uint32_t sum[SU_ROUNDS];
        uint32_t go;
        uint32_t errors;
    } shared;
    shared *x = mmap(NULL, sizeof(shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(x != MAP_FAILED);
    if (!can_share()) {
        CHECK_EQ(futex_barrier_init(&x->b[0], 2), 0); /* memory only: no wait needed */
        CHECK_EQ(futex_barrier_wait(&x->b[0], NULL, NULL, FUTEX_SHARED), -ENOTSUP);
        munmap(x, sizeof *x);
        return;
    }
    pid_t pid[SU_THREADS];
    for (int i = 0; i < SU_THREADS; i++) {
        pid[i] = fork();
        CHECK(pid[i] >= 0);
        if (pid[i] == 0) {
            alarm(120);
            while (futex_load(&x->go) == 0)
                futex_wait(&x->go, 0, FUTEX_SHARED);
            setup_and_wait_all(x->b, x->sum, &x->errors, SU_THREADS, FUTEX_SHARED);
            _exit(0);
        }
    }
    futex_store(&x->go, 1);
    futex_wake(&x->go, FUTEX_ALL, FUTEX_SHARED);
    for (int i = 0; i < SU_THREADS; i++) {
        int status;
        CHECK_EQ(waitpid(pid[i], &status, 0), pid[i]);
        CHECK(WIFEXITED(status));
        CHECK_EQ(WEXITSTATUS(status), 0);
    }
    CHECK_EQ(x->errors, 0);
    for (int r = 0; r < SU_ROUNDS; r++)
        CHECK_EQ(x->sum[r], SU_THREADS * (SU_THREADS - 1) / 2);
    munmap(x, sizeof *x);
}
#endif

/* ---- arbitrary bytes ------------------------------------------------------
 * Shared memory is written by whoever maps it: a neighbour's stray write, a
 * primitive attached at the wrong offset, a file of other data. Over any
 * bytes at all, every call returns one of its documented results, never
 * sleeps past an expired deadline, and never touches memory outside the
 * primitive (each one sits in a heap block of exactly its size: ASan's
 * variant sees a byte past it). */
static uint64_t garbage_rng = 0x9E3779B97F4A7C15u;

static void fill_garbage(void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        garbage_rng ^= garbage_rng << 13, garbage_rng ^= garbage_rng >> 7, garbage_rng ^= garbage_rng << 17;
        /* Often all-zero or all-one bytes: the edges of every field. */
        unsigned pick = (unsigned)(garbage_rng >> 60);
        b[i] = pick < 3 ? 0 : pick < 5 ? 0xFF : (unsigned char)(garbage_rng >> 24);
    }
}

static void *exact_block(size_t size, size_t align)
{
    void *p = NULL;
#if defined(_WIN32)
    p = _aligned_malloc(size, align);
#else
    CHECK_EQ(posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size), 0);
#endif
    CHECK(p != NULL);
    return p;
}

static void free_block(void *p)
{
#if defined(_WIN32)
    _aligned_free(p);
#else
    free(p);
#endif
}

#define ONE_OF2(rc, a, b) CHECK((rc) == (a) || (rc) == (b))
#define ONE_OF3(rc, a, b, c) CHECK((rc) == (a) || (rc) == (b) || (rc) == (c))
#define ONE_OF4(rc, a, b, c, e) CHECK((rc) == (a) || (rc) == (b) || (rc) == (c) || (rc) == (e))

static void garbage_mutex(const futex_deadline *past)
{
    futex_mutex *m = exact_block(sizeof *m, FUTEX_MUTEX_ALIGN);
    fill_garbage(m, sizeof *m);
    ONE_OF2(futex_mutex_locked(m), 0, 1);
    ONE_OF2(futex_mutex_is_owned(m), 0, 1); /* random bytes are not this thread's id and start time */
    int rc = futex_mutex_trylock(m, 0);
    ONE_OF4(rc, 0, -EOWNERDEAD, -ENOTRECOVERABLE, -EBUSY);
    int held = rc == 0 || rc == -EOWNERDEAD;
    CHECK_EQ(futex_mutex_is_owned(m), held);
    int rc2 = futex_mutex_timedlock(m, past, 0);
    if (held)
        CHECK_EQ(rc2, -EDEADLK);
    else
        ONE_OF4(rc2, 0, -EOWNERDEAD, -ENOTRECOVERABLE, -ETIMEDOUT);
    if (!held && (rc2 == 0 || rc2 == -EOWNERDEAD)) {
        held = 1;
        rc = rc2;
    }
    if (held) {
        if (rc == -EOWNERDEAD)
            CHECK_EQ(futex_mutex_consistent(m), 0);
        else
            CHECK_EQ(futex_mutex_consistent(m), -EINVAL);
        CHECK_EQ(futex_mutex_unlock(m, 0), 0); /* and out of the kernel's robust list before the free */
        CHECK_EQ(futex_mutex_is_owned(m), 0);
    } else {
        CHECK_EQ(futex_mutex_unlock(m, 0), -EPERM);
        CHECK_EQ(futex_mutex_consistent(m), -EPERM);
    }
    free_block(m);
}

static void garbage_sem(const futex_deadline *past)
{
    futex_sem *s = exact_block(sizeof *s, FUTEX_SEM_ALIGN);
    fill_garbage(s, sizeof *s);
    int v = futex_sem_getvalue(s), bound = futex_sem_bound(s);
    CHECK(v >= 0 && (uint32_t)v <= FUTEX_SEM_VALUE_MAX);
    CHECK(bound >= 1 && (uint32_t)bound <= FUTEX_SEM_VALUE_MAX);
    uint32_t raw = s->u32_[0];
    futex_sem before = *s;
    int rc = futex_sem_post(s, 1, 0);
    if (raw >= (uint32_t)bound) {
        CHECK_EQ(rc, -EOVERFLOW); /* at or past its bound already: nothing changed */
        CHECK(memcmp(&before, s, sizeof before) == 0);
    } else {
        CHECK_EQ(rc, 0);
        CHECK_EQ(s->u32_[0], raw + 1);
    }
    ONE_OF2(futex_sem_trywait(s), 0, -EAGAIN);
    ONE_OF2(futex_sem_wait(s, past, 0), 0, -ETIMEDOUT);
    free_block(s);
}

static void garbage_event(const futex_deadline *past)
{
    futex_event *e = exact_block(sizeof *e, FUTEX_EVENT_ALIGN);
    fill_garbage(e, sizeof *e);
    ONE_OF2(futex_event_is_set(e), 0, 1);
    ONE_OF2(futex_event_wait(e, past, 0), 0, -ETIMEDOUT);
    CHECK_EQ(futex_event_clear(e), 0);
    CHECK_EQ(futex_event_is_set(e), 0);
    CHECK_EQ(futex_event_wait(e, past, 0), -ETIMEDOUT);
    CHECK_EQ(futex_event_set(e, 0), 0);
    CHECK_EQ(futex_event_is_set(e), 1);
    CHECK_EQ(futex_event_wait(e, past, 0), 0);
    free_block(e);
}

static void garbage_cond(const futex_deadline *past)
{
    futex_cond *c = exact_block(sizeof *c, FUTEX_COND_ALIGN);
    futex_mutex m;
    memset(&m, 0, sizeof m);
    fill_garbage(c, sizeof *c);
    CHECK_EQ(futex_mutex_lock(&m, 0), 0);
    ONE_OF3(futex_cond_wait(c, &m, past, 0), 0, -ETIMEDOUT, -EAGAIN);
    CHECK_EQ(futex_mutex_is_owned(&m), 1); /* back with the mutex held, whatever the bytes said */
    CHECK(futex_cond_notify(c, 1, 0) >= 0);
    CHECK(futex_cond_notify_all(c, 0) >= 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
    free_block(c);
}

static void garbage_barrier(const futex_deadline *past)
{
    futex_barrier *b = exact_block(sizeof *b, FUTEX_BARRIER_ALIGN);
    fill_garbage(b, sizeof *b);
    uint32_t raw = b->u32_[0];
    int parties = futex_barrier_parties(b); /* never a count that reads as an errno */
    CHECK_EQ(parties, raw > FUTEX_BARRIER_PARTIES_MAX ? -EINVAL : (int)raw);
    CHECK(futex_barrier_n_waiting(b) >= 0);
    ONE_OF2(futex_barrier_broken(b), 0, 1);
    ONE_OF3(futex_barrier_init(b, 3), 0, -EEXIST, -EINVAL);
    uint32_t ticket = 0;
    int rc = futex_barrier_wait(b, &ticket, past, 0);
    CHECK(rc >= 0 || rc == -ECANCELED || rc == -ETIMEDOUT || rc == -EINVAL);
    ONE_OF2(futex_barrier_abort(b, 0), 0, -EINVAL);
    ONE_OF2(futex_barrier_reset(b, 0), 0, -EINVAL);
    free_block(b);
}

TEST(primitives_over_arbitrary_bytes, ANY)
{
    futex_deadline past = in_ms(0);
    uint64_t t0 = now_ns();
    for (int round = 0; round < 2000; round++) {
        garbage_mutex(&past);
        garbage_sem(&past);
        garbage_event(&past);
        garbage_cond(&past);
        garbage_barrier(&past);
    }
    /* Every deadline had passed: nothing may have slept (generous bound). */
    CHECK(now_ns() - t0 < UINT64_C(20000000000));
}

#if !defined(_WIN32)
TEST_MAIN(layout_and_bad_input, mutex_single_thread, mutex_threads_exclusive, mutex_other_thread, sem_single_thread,
          sem_stress_no_lost_wakeup, event_single_thread, event_set_clear_wakes_all, cond_semantics, cond_late_waiter_takes_no_earlier_wakeup,
          cond_sliced_waiters_stay_counted,
          cond_stress_no_lost_wakeup, barrier_rounds, barrier_setup_race, barrier_break_abort_reset,
          signal_resume_barrier, signal_ends_waits, across_processes, barrier_setup_race_processes,
          sync_sleep_teaches_spin, primitives_over_arbitrary_bytes)
#else
TEST_MAIN(layout_and_bad_input, mutex_single_thread, mutex_threads_exclusive, mutex_other_thread, sem_single_thread,
          sem_stress_no_lost_wakeup, event_single_thread, event_set_clear_wakes_all, cond_semantics, cond_late_waiter_takes_no_earlier_wakeup,
          cond_sliced_waiters_stay_counted,
          cond_stress_no_lost_wakeup, barrier_rounds, barrier_setup_race, barrier_break_abort_reset,
          sync_sleep_teaches_spin, primitives_over_arbitrary_bytes)
#endif
