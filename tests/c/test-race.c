/* A wake that races a waiter's deadline: where futex_wake counts the
 * waiters it woke, each of them must report the wake (0), never
 * -ETIMEDOUT. A waiter that was dequeued by a wake but reports a timeout has
 * swallowed that wake: a semaphore built on top loses a post, and the
 * waiter that should have had it sleeps on. */
#include "test.h"

#define ROUNDS 3000
#define DEADLINE_NS 200000u /* 0.2 ms: the wake lands around it */

typedef struct {
    uint32_t word, arrived;
    int rc;
} racer;

static void *timed_waiter(void *arg)
{
    racer *r = arg;
    futex_fetch_add(&r->arrived, 1);
    r->rc = futex_timed_wait(&r->word, 0, DEADLINE_NS, FUTEX_NOSPIN);
    return NULL;
}

static void spin_ns(uint64_t ns)
{
    uint64_t end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

TEST(counted_wake_is_reported, THREADS)
{
    int counted = 0, timed_out = 0;
    for (int i = 0; i < ROUNDS; i++) {
        racer r;
        memset(&r, 0, sizeof r);
        pthread_t t = spawn(timed_waiter, &r);
        while (futex_load(&r.arrived) == 0) {
        }
        /* Land the wake before, around and after the deadline. */
        spin_ns((uint64_t)(i % 40) * (DEADLINE_NS / 16));
        int n = futex_wake(&r.word, 1, FUTEX_PRIVATE);
        join(t);
        CHECK(r.rc == 0 || r.rc == -ETIMEDOUT);
        if (!counts_wakes()) {
            /* Nothing says which waiter the wake took; the semaphore test
             * below covers these backends. (0: the waiter had left its
             * sleep, so the wake did not ask the OS.) */
            CHECK(n == FUTEX_UNCOUNTED || n == 0);
            timed_out += r.rc == -ETIMEDOUT;
            counted += r.rc == 0;
            continue;
        }
        CHECK(n == 0 || n == 1);
        if (n == 1) {
            counted++;
            CHECK_EQ(r.rc, 0); /* the wake took it: it must say so */
        } else {
            timed_out += r.rc == -ETIMEDOUT;
        }
    }
    /* Both sides of the race happened, or the test proved nothing. */
    CHECK(counted > 0);
    CHECK(timed_out > 0);
}

/* The same race, landed every time: the parking lot's test hook holds the
 * waiter between its timeout and its cancel while the wake dequeues it.
 * The wake counts it (1), so it must report the wake (0). */
#if defined(FUTEX_TEST_HOOKS)
extern void (*futex__test_lot_timed_out)(void);

static uint32_t parked, released;

static void hold_after_timeout(void)
{
    futex_store(&parked, 1);
    while (futex_load(&released) == 0)
        sleep_ms(1); /* not a futex wait: we are inside one */
}
#endif

TEST(wake_in_cancel_window_is_reported, FIFO)
{
#if !defined(FUTEX_TEST_HOOKS)
    CHECK(!"the suite's library is built without FUTEX_TEST_HOOKS");
#else
    futex__test_lot_timed_out = hold_after_timeout;
    for (int i = 0; i < 20; i++) {
        racer r;
        memset(&r, 0, sizeof r);
        futex_store(&parked, 0);
        futex_store(&released, 0);
        pthread_t t = spawn(timed_waiter, &r);
        while (futex_load(&parked) == 0)
            sleep_ms(1);
        int n = futex_wake(&r.word, 1, FUTEX_PRIVATE); /* it is still queued: this takes it */
        futex_store(&released, 1);
        join(t);
        CHECK_EQ(n, 1);
        CHECK_EQ(r.rc, 0);
    }
    futex__test_lot_timed_out = NULL;
#endif
}

/* A counting semaphore over one word, trusting the library's results: a
 * timed acquire gives up on -ETIMEDOUT. */
typedef struct {
    uint32_t count, arrived;
} sema;

typedef struct {
    sema *s;
    uint64_t timeout;
    int got;
} acquirer;

static int sema_acquire(sema *s, uint64_t timeout_ns)
{
    futex_deadline d;
    futex_deadline_init(&d, timeout_ns);
    for (;;) {
        uint32_t v = futex_load(&s->count);
        if (v > 0) {
            if (futex_compare_exchange(&s->count, v, v - 1) == v)
                return 0;
            continue;
        }
        if (futex_deadline_wait(&d, &s->count, 0, FUTEX_NOSPIN) == -ETIMEDOUT)
            return -ETIMEDOUT;
    }
}

static void sema_post(sema *s)
{
    futex_fetch_add(&s->count, 1);
    futex_wake(&s->count, 1, FUTEX_PRIVATE);
}

static void *sema_waiter(void *arg)
{
    acquirer *a = arg;
    futex_fetch_add(&a->s->arrived, 1);
    a->got = sema_acquire(a->s, a->timeout) == 0;
    return NULL;
}

#define T_DEADLINE_NS 2000000u /* 2 ms */

TEST(semaphore_keeps_every_post, THREADS)
{
    /* Each round: a timed waiter T racing its deadline, then a patient
     * waiter U (10 s: a hang made finite), asleep behind it, share one
     * post. Whoever the wake picks, the post must not vanish: if T did not
     * take it, U must, without another post. A wake swallowed by a T that
     * reports -ETIMEDOUT leaves U asleep with the count at 1. */
    int t_got = 0, u_got_first = 0;
    for (int i = 0; i < 300; i++) {
        sema s;
        memset(&s, 0, sizeof s);
        acquirer t = {&s, T_DEADLINE_NS, 0}, u = {&s, 10000000000ull, 0};
        uint64_t t0 = now_ns();
        pthread_t tt = spawn(sema_waiter, &t);
        while (futex_load(&s.arrived) < 1) {
        }
        pthread_t ut = spawn(sema_waiter, &u);
        while (futex_load(&s.arrived) < 2) {
        }
        /* Post around T's deadline: a little before to a little after. */
        uint64_t at = T_DEADLINE_NS - T_DEADLINE_NS / 8 + (uint64_t)(i % 16) * (T_DEADLINE_NS / 64);
        while (now_ns() - t0 < at) {
        }
        sema_post(&s);
        join(tt);
        if (t.got) {
            t_got++;
            sema_post(&s); /* U's own post */
        } else {
            u_got_first++;
        }
        join(ut);
        CHECK(u.got);
        CHECK_EQ(futex_load(&s.count), 0);
    }
    fprintf(stderr, "T took the post %d times, U %d times\n", t_got, u_got_first);
}

TEST_MAIN(counted_wake_is_reported, wake_in_cancel_window_is_reported, semaphore_keeps_every_post)
