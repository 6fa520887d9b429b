/* Threads waking threads: the reference's signaling ring and broadcasting
 * barrier, exact wake counts, and the parking lot's FIFO order. */
#include "test.h"

#define RING 4
#define ROUNDS 2000

typedef struct paddle {
    uint32_t value;
    uint32_t current;
    struct paddle *next;
} paddle;

static void hit(paddle *p)
{
    futex_fetch_add(&p->value, 1);
    futex_wake(&p->value, 1, FUTEX_PRIVATE);
}

static void *paddle_run(void *arg)
{
    paddle *p = arg;
    while (p->current < ROUNDS) {
        uint32_t v;
        while ((v = futex_load(&p->value)) == p->current) {
            int rc = futex_wait(&p->value, p->current, FUTEX_PRIVATE);
            CHECK(rc == 0 || rc == -EAGAIN || rc == -EINTR);
        }
        CHECK_EQ(v, p->current + 1); /* exactly one hit per round: no lost or doubled wakeup */
        p->current = v;
        hit(p->next);
    }
    return NULL;
}

TEST(signaling_ring, THREADS)
{
    paddle paddles[RING];
    pthread_t threads[RING];
    memset(paddles, 0, sizeof paddles);
    for (int i = 0; i < RING; i++)
        paddles[i].next = &paddles[(i + 1) % RING];
    for (int i = 0; i < RING; i++)
        threads[i] = spawn(paddle_run, &paddles[i]);
    hit(&paddles[0]);
    for (int i = 0; i < RING; i++)
        join(threads[i]);
    for (int i = 0; i < RING; i++)
        CHECK_EQ(paddles[i].current, ROUNDS);
}

#define BARRIER_THREADS 6
#define BARRIERS 200

typedef struct {
    uint32_t count;
    uint32_t futex;
} barrier;

static barrier barriers[BARRIERS];
static uint32_t passed[BARRIERS];

static void barrier_wait(barrier *b)
{
    uint32_t count = futex_fetch_sub(&b->count, 1);
    CHECK(count >= 1 && count <= BARRIER_THREADS);
    if (count == 1) {
        /* The last one in opens the barrier for everyone. */
        futex_store(&b->futex, 1);
        futex_wake(&b->futex, FUTEX_ALL, FUTEX_PRIVATE);
        return;
    }
    while (futex_load(&b->futex) == 0)
        futex_wait(&b->futex, 0, FUTEX_PRIVATE);
}

static void *barrier_run(void *arg)
{
    (void)arg;
    for (int i = 0; i < BARRIERS; i++) {
        barrier_wait(&barriers[i]);
        /* Everyone has arrived at barrier i, so nobody is past barrier i+1. */
        futex_fetch_add(&passed[i], 1);
        if (i + 1 < BARRIERS)
            CHECK(futex_load(&barriers[i + 1].count) > 0);
    }
    return NULL;
}

TEST(broadcasting_barrier, THREADS)
{
    pthread_t threads[BARRIER_THREADS];
    for (int i = 0; i < BARRIERS; i++)
        barriers[i].count = BARRIER_THREADS, barriers[i].futex = 0, passed[i] = 0;
    for (int i = 0; i < BARRIER_THREADS; i++)
        threads[i] = spawn(barrier_run, NULL);
    for (int i = 0; i < BARRIER_THREADS; i++)
        join(threads[i]);
    for (int i = 0; i < BARRIERS; i++) {
        CHECK_EQ(barriers[i].count, 0);
        CHECK_EQ(passed[i], BARRIER_THREADS);
    }
}

#define PARKED 6

typedef struct {
    uint32_t word, arrived, returned, seq;
    long tids[PARKED];
    uint32_t order[PARKED]; /* order[i]: when waiter i returned (1-based) */
    int rcs[PARKED];
} park;

typedef struct {
    park *p;
    int index;
} park_arg;

static void *parked_waiter(void *arg)
{
    park_arg *a = arg;
    park *p = a->p;
    p->tids[a->index] = self_tid();
    futex_fetch_add(&p->arrived, 1);
    p->rcs[a->index] = futex_wait(&p->word, 0, FUTEX_NOSPIN);
    p->order[a->index] = futex_fetch_add(&p->seq, 1) + 1;
    futex_fetch_add(&p->returned, 1);
    return NULL;
}

/* Starts PARKED waiters on p->word; with `one_by_one`, each is asleep
 * before the next starts, so their arrival order is known. */
static void start_parked(park *p, park_arg *args, pthread_t *threads, int one_by_one)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < PARKED; i++) {
        args[i].p = p, args[i].index = i;
        threads[i] = spawn(parked_waiter, &args[i]);
        if (one_by_one)
            settle_tids(&p->arrived, (uint32_t)i + 1, p->tids);
    }
    if (!one_by_one)
        settle_tids(&p->arrived, PARKED, p->tids);
}

static void wait_returned(park *p, uint32_t n)
{
    for (int i = 0; i < 20000 && futex_load(&p->returned) < n; i++)
        sleep_ms(1);
    CHECK_EQ(futex_load(&p->returned), n);
}

TEST(wake_counts, THREADS)
{
    park p;
    park_arg args[PARKED];
    pthread_t threads[PARKED];
    start_parked(&p, args, threads, 0);
    CHECK_EQ(futex_load(&p.returned), 0); /* a forever wait blocks until woken */

    int r = futex_wake(&p.word, 2, FUTEX_PRIVATE);
    if (counts_wakes()) {
        CHECK_EQ(r, 2);
        wait_returned(&p, 2);
        sleep_ms(50);
        CHECK_EQ(futex_load(&p.returned), 2); /* and no more than 2 */
        CHECK_EQ(futex_wake(&p.word, FUTEX_ALL, FUTEX_PRIVATE), PARKED - 2);
    } else {
        CHECK_EQ(r, FUTEX_UNCOUNTED);
        r = futex_wake(&p.word, FUTEX_ALL, FUTEX_PRIVATE);
        /* 0: the first wake, which the OS may make a wake-all, woke every
         * one and they have left their sleep already. */
        CHECK(r == FUTEX_UNCOUNTED || r == 0);
    }
    wait_returned(&p, PARKED);
    for (int i = 0; i < PARKED; i++) {
        join(threads[i]);
        CHECK_EQ(p.rcs[i], 0); /* woken, not timed out or refused */
    }
    /* Nobody is left: a further wake finds no one. */
    r = futex_wake(&p.word, FUTEX_ALL, FUTEX_PRIVATE);
    CHECK(r == 0 || r == FUTEX_UNCOUNTED);
}

TEST(fifo_order, THREADS, FIFO)
{
    /* The parking lot wakes one address's waiters in arrival order. Each
     * waiter is parked before the next one starts. */
    park p;
    park_arg args[PARKED];
    pthread_t threads[PARKED];
    start_parked(&p, args, threads, 1);
    for (int i = 0; i < PARKED; i++) {
        CHECK_EQ(futex_wake(&p.word, 1, FUTEX_PRIVATE), 1);
        wait_returned(&p, (uint32_t)i + 1);
    }
    for (int i = 0; i < PARKED; i++) {
        join(threads[i]);
        CHECK_EQ(p.order[i], (uint32_t)i + 1);
    }
}

TEST(wake_other_address, THREADS)
{
    /* Wakes go to the word they name: a waiter on a neighbouring word (same
     * bucket or cache line) stays asleep. */
    park p;
    park_arg arg = {&p, 0};
    memset(&p, 0, sizeof p);
    uint32_t neighbours[2] = {0, 0};
    pthread_t t = spawn(parked_waiter, &arg);
    settle_tids(&p.arrived, 1, p.tids);
    for (int i = 0; i < 2; i++) {
        int r = futex_wake(&neighbours[i], FUTEX_ALL, FUTEX_PRIVATE);
        CHECK(r == 0 || r == FUTEX_UNCOUNTED);
    }
    sleep_ms(50);
    CHECK_EQ(futex_load(&p.returned), 0);
    futex_store(&p.word, 1);
    futex_wake(&p.word, 1, FUTEX_PRIVATE);
    join(t);
    CHECK(p.rcs[0] == 0 || p.rcs[0] == -EAGAIN);
}

/* Every wait sleeps (FUTEX_NOSPIN) and every wake is a private one, which
 * skips the OS when the library sees nobody asleep on the word: a sleeper
 * the skip overlooked would sleep to its deadline, which is long. Also
 * over several words at once (futex_waitv: the kernel's multi-wait on
 * Linux, the library's own elsewhere), woken through one of them.
 * Two threads that hand the word back and forth can go on for thousands of
 * volleys each finding the other's store as it enters the OS, never once
 * asleep: so every 50th volley waits until the partner sleeps (where /proc
 * tells) before it stores, and a wake that skipped it is lost for sure. */
#define VOLLEYS 3000

typedef struct volley {
    uint32_t turn, other, tid;
    int multi;
} volley;

static void await_turn(volley *v, uint32_t want)
{
    uint32_t now;
    while ((now = futex_load(&v->turn)) != want) {
        futex_deadline d;
        futex_deadline_init(&d, 5000000000u);
        int rc;
        if (v->multi) {
            futex_waitv_item items[2] = {{&v->other, 0, FUTEX_PRIVATE}, {&v->turn, now, FUTEX_PRIVATE}};
            rc = futex_waitv(items, 2, &d, FUTEX_NOSPIN, NULL);
        } else {
            rc = futex_deadline_wait(&d, &v->turn, now, FUTEX_NOSPIN);
        }
        CHECK(rc >= 0 || rc == -EAGAIN || rc == -EINTR || rc == -ETIMEDOUT);
        /* Woken, not left asleep to the deadline by a wake that never came
         * (then the core reports -EAGAIN, the word having changed). */
        CHECK(futex_deadline_remaining_ns(&d) > 0);
    }
}

static void *volley_back(void *arg)
{
    volley *v = arg;
    futex_store(&v->tid, (uint32_t)self_tid());
    for (uint32_t i = 0; i < VOLLEYS; i++) {
        await_turn(v, 2 * i + 1);
        futex_store(&v->turn, 2 * i + 2);
        futex_wake(&v->turn, 1, FUTEX_PRIVATE);
    }
    return NULL;
}

TEST(private_wakes_reach_every_sleeper, THREADS)
{
    for (int multi = 0; multi <= 1; multi++) {
        volley v = {0, 0, 0, multi};
        pthread_t t = spawn(volley_back, &v);
        for (int k = 0; k < 20000 && futex_load(&v.tid) == 0 && self_tid() != 0; k++)
            sleep_ms(1);
        for (uint32_t i = 0; i < VOLLEYS; i++) {
            for (int k = 0; i % 50 == 0 && k < 2000 && !is_sleeping((long)futex_load(&v.tid)); k++)
                sleep_ms(1);
            futex_store(&v.turn, 2 * i + 1);
            futex_wake(&v.turn, 1, FUTEX_PRIVATE);
            await_turn(&v, 2 * i + 2);
        }
        join(t);
    }
}

TEST_MAIN(signaling_ring, broadcasting_barrier, wake_counts, fifo_order, wake_other_address,
          private_wakes_reach_every_sleeper)
