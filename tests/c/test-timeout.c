/* Timeouts and deadlines: never early, zero is check-only, huge ones neither
 * overflow nor end early, and the Deadline loop never over-waits. Upper
 * bounds are generous: only "not early" is exact. */
#include "test.h"

static const uint64_t MS = 1000000u;

TEST(never_early, ANY)
{
    static const uint64_t timeouts[] = {1, 1000, 1 * 1000000u, 5 * 1000000u, 20 * 1000000u, 50 * 1000000u};
    uint32_t w = 1;
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        for (unsigned flags = 0; flags <= FUTEX_NOSPIN; flags += FUTEX_NOSPIN) {
            uint64_t t0 = now_ns();
            CHECK_EQ(futex_timed_wait(&w, 1, timeouts[i], flags), -ETIMEDOUT);
            uint64_t took = now_ns() - t0;
            CHECK(took >= timeouts[i]);
            CHECK(took < timeouts[i] + 2000 * MS);
        }
    }
}

TEST(zero_timeout, ANY)
{
    uint32_t w = 4;
    uint64_t t0 = now_ns();
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(futex_timed_wait(&w, 4, 0, FUTEX_PRIVATE), -ETIMEDOUT);
        CHECK_EQ(futex_timed_wait(&w, 5, 0, FUTEX_PRIVATE), -EAGAIN);
    }
    /* 2000 check-only calls: far below one scheduler tick each. */
    CHECK(now_ns() - t0 < 1000 * MS);
    futex_deadline d;
    futex_deadline_init(&d, 0);
    CHECK_EQ(futex_deadline_remaining_ns(&d), 0);
    CHECK_EQ(futex_deadline_wait(&d, &w, 4, FUTEX_PRIVATE), -ETIMEDOUT);
    CHECK_EQ(futex_deadline_wait(&d, &w, 5, FUTEX_PRIVATE), -EAGAIN); /* the value is checked first */
}

typedef struct {
    uint32_t word;
    uint32_t arrived;
    uint32_t done;
    uint64_t timeout;
    int rc;
} huge_arg;

static void *huge_waiter(void *p)
{
    huge_arg *a = p;
    futex_fetch_add(&a->arrived, 1);
    int rc;
    do {
        rc = futex_timed_wait(&a->word, 0, a->timeout, FUTEX_PRIVATE);
    } while (rc == 0 && futex_load(&a->word) == 0); /* spurious: wait again */
    a->rc = rc;
    futex_store(&a->done, 1);
    return NULL;
}

TEST(huge_timeouts, THREADS)
{
    static const uint64_t timeouts[] = {UINT64_MAX - 1, UINT64_C(1) << 63, UINT64_C(1) << 40, UINT32_MAX * 1000000ull};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        huge_arg a = {0, 0, 0, timeouts[i], 99};
        pthread_t t = spawn(huge_waiter, &a);
        settle(&a.arrived, 1);
        sleep_ms(100);
        CHECK_EQ(futex_load(&a.done), 0); /* neither overflowed into the past nor returned early */
        futex_store(&a.word, 1);
        futex_wake(&a.word, 1, FUTEX_PRIVATE);
        join(t);
        CHECK(a.rc == 0 || a.rc == -EAGAIN);
    }
    futex_deadline d;
    futex_deadline_init(&d, UINT64_MAX - 1);
    CHECK(futex_deadline_remaining_ns(&d) > (UINT64_C(1) << 62)); /* clamped far away, not wrapped */
    CHECK(futex_deadline_remaining_ns(&d) != FUTEX_FOREVER);
    futex_deadline_init(&d, FUTEX_FOREVER);
    CHECK(futex_deadline_remaining_ns(&d) == FUTEX_FOREVER);
}

TEST(deadline_loop, ANY)
{
    /* The reference's test: wait on a deadline until it expires. */
    uint32_t w = 0;
    futex_deadline d;
    uint64_t t0 = now_ns();
    futex_deadline_init(&d, 100 * MS);
    int rc, rounds = 0;
    while ((rc = futex_deadline_wait(&d, &w, 0, FUTEX_PRIVATE)) != -ETIMEDOUT) {
        CHECK(rc == 0 || rc == -EINTR);
        rounds++;
    }
    uint64_t took = now_ns() - t0;
    CHECK(took >= 100 * MS);
    CHECK(took < 2100 * MS);
    CHECK_EQ(futex_deadline_remaining_ns(&d), 0);
    CHECK(rounds < 1000);
}

typedef struct {
    uint32_t word, stop;
    unsigned wakes;
} pester_arg;

static void *pester(void *p)
{
    pester_arg *a = p;
    while (!futex_load(&a->stop)) {
        futex_wake(&a->word, FUTEX_ALL, FUTEX_PRIVATE);
        a->wakes++;
        sleep_ms(1);
    }
    return NULL;
}

TEST(deadline_spurious, THREADS)
{
    /* A thread wakes the word every millisecond without changing it: each
     * wake is a spurious return for the loop, which must neither end early
     * nor add up the remaining time wrongly. */
    pester_arg a = {0, 0, 0};
    pthread_t t = spawn(pester, &a);
    futex_deadline d;
    uint64_t t0 = now_ns();
    futex_deadline_init(&d, 200 * MS);
    int rc, rounds = 0;
    while ((rc = futex_deadline_wait(&d, &a.word, 0, FUTEX_NOSPIN)) != -ETIMEDOUT) {
        CHECK(rc == 0 || rc == -EINTR);
        rounds++;
    }
    uint64_t took = now_ns() - t0;
    futex_store(&a.stop, 1);
    join(t);
    CHECK(took >= 200 * MS);
    CHECK(took < 2200 * MS);
    CHECK(rounds > 5); /* the wakes did reach the waiter */
}

TEST(deadline_remaining, ANY)
{
    futex_deadline d;
    futex_deadline_init(&d, 1000 * MS);
    uint64_t r = futex_deadline_remaining_ns(&d);
    CHECK(r <= 1000 * MS);
    CHECK(r > 500 * MS);
    sleep_ms(20);
    CHECK(futex_deadline_remaining_ns(&d) <= r - 20 * MS);
    futex_deadline_init(&d, 1);
    sleep_ms(1);
    CHECK_EQ(futex_deadline_remaining_ns(&d), 0);
}

TEST_MAIN(never_early, zero_timeout, huge_timeouts, deadline_loop, deadline_spurious, deadline_remaining)
