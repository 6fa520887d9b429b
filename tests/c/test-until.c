/* Waits whose loop runs in the core (futex_wait_until, futex_wait_past),
 * the store/add-then-wake calls, and the adaptive spin's budget: whatever it
 * learns, a wait spins at most FUTEX_SPIN_BUDGET_NS, and one nobody ends
 * goes to sleep instead of burning its timeout. */
#include "test.h"

static const uint64_t MS = 1000000u;

/* The core's test hook: the window the next adaptive spin would use. */
uint32_t futex__spin_window_ns(void);

/* The blocking policy: -EINTR means "run your handlers, call again". */
static int until(const futex_deadline *d, const uint32_t *w, uint32_t want)
{
    int rc;
    unsigned flags = 0;
    while ((rc = futex_wait_until(d, w, want, flags)) == -EINTR)
        flags = FUTEX_NOSPIN;
    return rc;
}

static int past(const futex_deadline *d, const uint32_t *w, const uint32_t *vals, uint32_t n, uint32_t *seen)
{
    int rc;
    while ((rc = futex_wait_past(d, w, vals, n, 0, seen)) == -EINTR) {
    }
    return rc;
}

typedef struct {
    uint32_t word, go;
    uint32_t steps[4];
    unsigned nsteps;
} stepper;

/* Waits for `go`, then stores each step (waking after each) a little apart,
 * so the waiter sees values it must wait past. */
static void *step(void *arg)
{
    stepper *s = arg;
    futex_deadline forever;
    futex_deadline_init(&forever, FUTEX_FOREVER);
    CHECK_EQ(until(&forever, &s->go, 1), 0);
    for (unsigned i = 0; i < s->nsteps; i++) {
        sleep_ms(5);
        int rc = futex_store_wake(&s->word, s->steps[i], FUTEX_ALL, FUTEX_PRIVATE);
        CHECK(rc >= 0 || rc == FUTEX_UNCOUNTED);
    }
    return NULL;
}

TEST(wait_until_sees_the_value, THREADS)
{
    /* 1 -> 2 -> 3 -> 7: the wait passes 2 and 3 (woken each time) and
     * returns only once the word holds 7. */
    stepper s = {1, 0, {2, 3, 7}, 3};
    pthread_t t = spawn(step, &s);
    futex_deadline d;
    futex_deadline_init(&d, 20000 * MS);
    futex_store_wake(&s.go, 1, 1, FUTEX_PRIVATE);
    CHECK_EQ(until(&d, &s.word, 7), 0);
    CHECK_EQ(futex_load(&s.word), 7);
    join(t);
    CHECK_EQ(until(&d, &s.word, 7), 0); /* already there: at once */
}

TEST(wait_past_a_set, THREADS)
{
    /* Waiting past {1, 2}: the store of 2 is still in the set; 9 is not. */
    static const uint32_t locked[] = {1, 2};
    stepper s = {1, 0, {2, 9}, 2};
    pthread_t t = spawn(step, &s);
    futex_deadline d;
    futex_deadline_init(&d, 20000 * MS);
    uint32_t seen = 0;
    futex_store_wake(&s.go, 1, 1, FUTEX_PRIVATE);
    CHECK_EQ(past(&d, &s.word, locked, 2, &seen), 0);
    CHECK_EQ(seen, 9);
    join(t);
    /* The empty set: the word is outside it at once. */
    seen = 0;
    CHECK_EQ(futex_wait_past(&d, &s.word, NULL, 0, 0, &seen), 0);
    CHECK_EQ(seen, 9);
}

TEST(helper_waits_time_out, ANY)
{
    uint32_t w = 1;
    static const uint32_t one[] = {1};
    for (unsigned flags = 0; flags <= FUTEX_NOSPIN; flags += FUTEX_NOSPIN) {
        futex_deadline d;
        uint64_t t0 = now_ns(); /* before the deadline starts: the wait is measured from no later */
        futex_deadline_init(&d, 30 * MS);
        CHECK_EQ(until(&d, &w, 2), -ETIMEDOUT);
        CHECK(now_ns() - t0 >= 30 * MS); /* never early */
        CHECK_EQ(past(&d, &w, one, 1, NULL), -ETIMEDOUT);
        /* An expired deadline only checks. */
        futex_deadline_init(&d, 0);
        CHECK_EQ(futex_wait_until(&d, &w, 2, flags), -ETIMEDOUT);
        CHECK_EQ(futex_wait_until(&d, &w, 1, flags), 0);
    }
}

TEST(helpers_refuse_bad_input, ANY)
{
    uint32_t buf[2] = {5, 5};
    const uint32_t *odd = (const uint32_t *)(const void *)((const char *)buf + 1);
    futex_deadline d;
    futex_deadline_init(&d, FUTEX_FOREVER);
    CHECK_EQ(futex_wait_until(NULL, &buf[0], 5, 0), -EINVAL);
    CHECK_EQ(futex_wait_until(&d, NULL, 5, 0), -EINVAL);
    CHECK_EQ(futex_wait_until(&d, odd, 5, 0), -EINVAL);
    CHECK_EQ(futex_wait_until(&d, &buf[0], 4, 0x80), -EINVAL);
    CHECK_EQ(futex_wait_past(&d, &buf[0], NULL, 1, 0, NULL), -EINVAL);
    CHECK_EQ(futex_wait_past(NULL, &buf[0], buf, 1, 0, NULL), -EINVAL);
    /* A refused store or add touches nothing. */
    CHECK_EQ(futex_store_wake(&buf[0], 9, 1, 0x80), -EINVAL);
    uint32_t old = 77;
    CHECK_EQ(futex_add_wake(&buf[0], 9, 1, 0x80, &old), -EINVAL);
    CHECK_EQ(futex_store_wake(NULL, 9, 1, 0), -EINVAL);
    CHECK_EQ(futex_add_wake((uint32_t *)(uintptr_t)odd, 9, 1, 0, &old), -EINVAL);
    CHECK_EQ(buf[0], 5);
    CHECK_EQ(buf[1], 5);
    CHECK_EQ(old, 77);
    if (!(futex_capabilities() & FUTEX_CAP_SHARED))
        CHECK_EQ(futex_store_wake(&buf[0], 9, 1, FUTEX_SHARED), -ENOTSUP);
    CHECK_EQ(buf[0], 5);
}

typedef struct {
    uint32_t word, arrived;
    long tid;
    int rc;
} sleeper;

static void *sleep_on_zero(void *arg)
{
    sleeper *s = arg;
    s->tid = self_tid();
    futex_fetch_add(&s->arrived, 1);
    do
        s->rc = futex_wait(&s->word, 0, FUTEX_NOSPIN);
    while (futex_load(&s->word) == 0);
    return NULL;
}

TEST(store_and_add_then_wake, THREADS)
{
    uint32_t w = 3, old = 0;
    /* Nobody sleeps on it: an exact 0 on every backend, known without the OS. */
    CHECK_EQ(futex_add_wake(&w, 4, 1, FUTEX_PRIVATE, &old), 0);
    CHECK_EQ(old, 3);
    CHECK_EQ(w, 7);
    CHECK_EQ(futex_add_wake(&w, UINT32_MAX, 0, FUTEX_PRIVATE, NULL), 0); /* wraps; wake of 0 */
    CHECK_EQ(w, 6);
    /* A parked waiter is woken by the one call. */
    for (int add = 0; add <= 1; add++) {
        sleeper s;
        memset(&s, 0, sizeof s);
        long tids[1];
        pthread_t t = spawn(sleep_on_zero, &s);
        for (int i = 0; i < 20000 && futex_load(&s.arrived) == 0; i++)
            sleep_ms(1);
        tids[0] = s.tid;
        settle_tids(&s.arrived, 1, tids);
        int rc = add ? futex_add_wake(&s.word, 1, 1, FUTEX_PRIVATE, NULL) : futex_store_wake(&s.word, 1, 1, FUTEX_PRIVATE);
        if (counts_wakes())
            CHECK_EQ(rc, 1);
        else
            CHECK_EQ(rc, FUTEX_UNCOUNTED);
        join(t);
        CHECK_EQ(s.word, 1);
    }
}

/* ---- the adaptive spin ------------------------------------------------- */

typedef struct {
    uint32_t word, stop;
} late_partner;

/* Answers each wait about 40 µs late: after the spin has given up, long
 * before a millisecond -- the case that teaches the spin to last longer. */
static void *answer_late(void *arg)
{
    late_partner *p = arg;
    for (uint32_t i = 0; !futex_load(&p->stop); i++) {
        uint64_t t0 = now_ns();
        while (now_ns() - t0 < 40000u) {
        }
        futex_store_wake(&p->word, i + 1, 1, FUTEX_PRIVATE);
    }
    return NULL;
}

static uint64_t thread_cpu_ns(void)
{
#if defined(CLOCK_THREAD_CPUTIME_ID)
    struct timespec ts;
    CHECK_EQ(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#else
    return 0;
#endif
}

TEST(adaptive_spin_stays_in_budget, THREADS)
{
    CHECK_EQ(futex_get_spin(), FUTEX_SPIN_ADAPTIVE); /* the default */
    CHECK(futex__spin_window_ns() <= FUTEX_SPIN_BUDGET_NS);
    /* Teach it the worst: partners that answer just after it parks. */
    late_partner p = {0, 0};
    pthread_t t = spawn(answer_late, &p);
    uint32_t widest = 0;
    for (int i = 0; i < 300; i++) {
        uint32_t v = futex_load(&p.word);
        futex_timed_wait(&p.word, v, 100 * MS, 0);
        uint32_t w = futex__spin_window_ns();
        CHECK(w <= FUTEX_SPIN_BUDGET_NS);
        if (w > widest)
            widest = w;
    }
    futex_store(&p.stop, 1);
    join(t);
    printf("(widest window %u ns) ", widest);
    /* A wait nobody ends parks: it spins for one window at most, then
     * sleeps, so its CPU time is a sliver of its 300 ms -- 100 ms is a
     * bound no loaded machine approaches, yet a spin that ran on to the
     * deadline (or past the budget for long) would cross it. */
    uint32_t w = 1;
    uint64_t cpu0 = thread_cpu_ns(), t0 = now_ns();
    CHECK_EQ(futex_timed_wait(&w, 1, 300 * MS, 0), -ETIMEDOUT);
    uint64_t cpu = thread_cpu_ns() - cpu0;
    CHECK(now_ns() - t0 >= 300 * MS);
    CHECK(cpu < 100 * MS);
    CHECK(futex__spin_window_ns() <= FUTEX_SPIN_BUDGET_NS);
}

TEST(spin_settings_override, ANY)
{
    /* A fixed count and 0 override the adaptive spin; FUTEX_SPIN_ADAPTIVE
     * restores it. Every setting still times out on time. */
    static const uint32_t settings[] = {0, 16, FUTEX_SPIN_ADAPTIVE};
    uint32_t old = futex_get_spin(), w = 1;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        futex_set_spin(settings[i]);
        CHECK_EQ(futex_get_spin(), settings[i]);
        uint64_t t0 = now_ns();
        CHECK_EQ(futex_timed_wait(&w, 1, 5 * MS, 0), -ETIMEDOUT);
        CHECK(now_ns() - t0 >= 5 * MS);
    }
    futex_set_spin(old);
}

TEST_MAIN(wait_until_sees_the_value, wait_past_a_set, helper_waits_time_out, helpers_refuse_bad_input,
          store_and_add_then_wake, adaptive_spin_stays_in_budget, spin_settings_override)
