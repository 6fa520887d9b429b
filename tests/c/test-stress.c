/* Stress: a mutex built on the API keeps an exact count under contention,
 * and timed waits racing wakes (the parking lot's cancel path) neither lose
 * nor corrupt anything. */
#include "test.h"

#define MUTEX_THREADS 8
#define MUTEX_ITERS 100000

/* Drepper's "Futexes Are Tricky" mutex 2: 0 unlocked, 1 locked, 2 locked
 * with (possible) waiters. */
typedef struct {
    uint32_t state;
    uint64_t counter; /* guarded by state */
} word_mutex;

static void lock(word_mutex *m)
{
    uint32_t c = futex_compare_exchange(&m->state, 0, 1);
    if (c == 0)
        return;
    if (c != 2)
        c = futex_exchange(&m->state, 2);
    while (c != 0) {
        futex_wait(&m->state, 2, FUTEX_PRIVATE);
        c = futex_exchange(&m->state, 2);
    }
}

static void unlock(word_mutex *m)
{
    if (futex_fetch_sub(&m->state, 1) != 1) {
        futex_store(&m->state, 0);
        futex_wake(&m->state, 1, FUTEX_PRIVATE);
    }
}

static void *mutex_run(void *arg)
{
    word_mutex *m = arg;
    for (int i = 0; i < MUTEX_ITERS; i++) {
        lock(m);
        m->counter++; /* a plain increment: only the mutex keeps it exact */
        unlock(m);
    }
    return NULL;
}

TEST(mutex_counter, THREADS)
{
    word_mutex m = {0, 0};
    pthread_t threads[MUTEX_THREADS];
    for (int i = 0; i < MUTEX_THREADS; i++)
        threads[i] = spawn(mutex_run, &m);
    for (int i = 0; i < MUTEX_THREADS; i++)
        join(threads[i]);
    CHECK_EQ(m.counter, (uint64_t)MUTEX_THREADS * MUTEX_ITERS);
    CHECK_EQ(m.state, 0);
}

#define RACE_WAITERS 2
#define RACE_WAITS 50000 /* per waiter: 100,000 in all */

typedef struct {
    uint32_t word, stop, arrived;
    uint32_t woken, timed_out;
    long tid;
    int rc;
} race;

static void *race_waiter(void *arg)
{
    race *r = arg;
    for (int i = 0; i < RACE_WAITS; i++) {
        /* 0..15 µs: short enough that timeouts and wakes keep colliding. */
        int rc = futex_timed_wait(&r->word, 0, (uint64_t)(i % 16) * 1000u + 1, FUTEX_NOSPIN);
        CHECK(rc == 0 || rc == -ETIMEDOUT || rc == -EINTR);
        futex_fetch_add(rc == -ETIMEDOUT ? &r->timed_out : &r->woken, 1);
    }
    return NULL;
}

static void *race_waker(void *arg)
{
    race *r = arg;
    while (!futex_load(&r->stop)) {
        int n = futex_wake(&r->word, 1, FUTEX_PRIVATE);
        CHECK(n == 0 || n == 1 || n == FUTEX_UNCOUNTED);
    }
    return NULL;
}

static void *one_waiter(void *arg)
{
    race *r = arg;
    r->tid = self_tid();
    futex_fetch_add(&r->arrived, 1);
    r->rc = futex_wait(&r->word, 0, FUTEX_NOSPIN);
    return NULL;
}

TEST(timed_waits_race_wakes, THREADS)
{
    race r;
    memset(&r, 0, sizeof r);
    pthread_t waiters[RACE_WAITERS];
    for (int i = 0; i < RACE_WAITERS; i++)
        waiters[i] = spawn(race_waiter, &r);
    pthread_t waker = spawn(race_waker, &r);
    for (int i = 0; i < RACE_WAITERS; i++)
        join(waiters[i]);
    futex_store(&r.stop, 1);
    join(waker);
    CHECK_EQ(r.woken + r.timed_out, RACE_WAITERS * RACE_WAITS);
    CHECK(r.timed_out > 0);

    /* Afterwards the bookkeeping is intact: one parked waiter is found and
     * woken by exactly one wake. */
    pthread_t t = spawn(one_waiter, &r);
    settle_tids(&r.arrived, 1, &r.tid);
    int n = futex_wake(&r.word, FUTEX_ALL, FUTEX_PRIVATE);
    CHECK(counts_wakes() ? n == 1 : n == FUTEX_UNCOUNTED);
    join(t);
    CHECK_EQ(r.rc, 0);
}

TEST_MAIN(mutex_counter, timed_waits_race_wakes)
