/* The API's fast paths, results, bad input and atomics: the reference's smoke
 * test and then what users hit first. */
#include "test.h"

static uint32_t word_buf[4];

/* FUTEX_UNCOUNTED is no -errno (Linux's go to 4095): it cannot collide with
 * any error result. A fact of the header, checked when it compiles. */
_Static_assert(FUTEX_UNCOUNTED < -4095, "FUTEX_UNCOUNTED must not look like a -errno");

TEST(smoke, ANY)
{
    uint32_t w = 0;
    /* A wait on a value the word does not hold returns at once. */
    CHECK_EQ(futex_wait(&w, 0xdeadbeef, FUTEX_PRIVATE), -EAGAIN);
    CHECK_EQ(futex_timed_wait(&w, 0xdeadbeef, 0, FUTEX_PRIVATE), -EAGAIN);
    CHECK_EQ(futex_timed_wait(&w, 0xdeadbeef, FUTEX_FOREVER, FUTEX_PRIVATE), -EAGAIN);
    /* Timeouts on the value it holds. */
    CHECK_EQ(futex_timed_wait(&w, 0, 0, FUTEX_PRIVATE), -ETIMEDOUT);
    CHECK_EQ(futex_timed_wait(&w, 0, 1000000, FUTEX_PRIVATE), -ETIMEDOUT);
    CHECK_EQ(futex_timed_wait(&w, 0, 1, FUTEX_NOSPIN), -ETIMEDOUT);
    /* Wakes with nobody waiting. */
    CHECK_EQ(futex_wake(&w, 0, FUTEX_PRIVATE), 0);
    /* A private word: the library knows nobody sleeps on it, on every backend. */
    CHECK_EQ(futex_wake(&w, 1, FUTEX_PRIVATE), 0);
    CHECK_EQ(futex_wake(&w, FUTEX_ALL, FUTEX_PRIVATE), 0);
    CHECK_EQ(w, 0);
}

TEST(bad_input, ANY)
{
    /* A canary-filled buffer: the misaligned words point inside it, and no
     * call may change a byte of it. */
    unsigned char *bytes = (unsigned char *)word_buf;
    memset(word_buf, 0xA5, sizeof word_buf);
    const uint32_t *mis = (const uint32_t *)(const void *)(bytes + 1);
    const uint32_t *mis2 = (const uint32_t *)(const void *)(bytes + 6);
    futex_deadline d;
    futex_deadline_init(&d, 1000000);

    CHECK_EQ(futex_wait(NULL, 0, FUTEX_PRIVATE), -EINVAL);
    CHECK_EQ(futex_timed_wait(NULL, 0, 10, FUTEX_PRIVATE), -EINVAL);
    CHECK_EQ(futex_wake(NULL, 1, FUTEX_PRIVATE), -EINVAL);
    CHECK_EQ(futex_deadline_wait(&d, NULL, 0, FUTEX_PRIVATE), -EINVAL);
    CHECK_EQ(futex_deadline_wait(NULL, &word_buf[0], 0xA5A5A5A5u, FUTEX_PRIVATE), -EINVAL);

    CHECK_EQ(futex_wait(mis, 0xA5A5A5A5u, FUTEX_PRIVATE), -EINVAL);
    CHECK_EQ(futex_timed_wait(mis2, 0xA5A5A5A5u, FUTEX_FOREVER, FUTEX_SHARED), -EINVAL);
    CHECK_EQ(futex_wake(mis, FUTEX_ALL, FUTEX_PRIVATE), -EINVAL);
    CHECK_EQ(futex_deadline_wait(&d, mis2, 0, FUTEX_PRIVATE), -EINVAL);

    /* Unknown flags, even with a valid word. */
    CHECK_EQ(futex_wait(&word_buf[1], 0xA5A5A5A5u, 4u), -EINVAL);
    CHECK_EQ(futex_timed_wait(&word_buf[1], 0xA5A5A5A5u, 10, 0x80000000u), -EINVAL);
    CHECK_EQ(futex_wake(&word_buf[1], 1, 0x100u), -EINVAL);
    CHECK_EQ(futex_deadline_wait(&d, &word_buf[1], 0xA5A5A5A5u, 8u), -EINVAL);

    for (size_t i = 0; i < sizeof word_buf; i++)
        CHECK_EQ(bytes[i], 0xA5);

    /* futex_deadline_remaining_ns(NULL) is "never expires", not a crash. */
    CHECK(futex_deadline_remaining_ns(NULL) == FUTEX_FOREVER);
    futex_deadline_init(NULL, 5); /* ignored, not a crash */
}

TEST(shared_flag, ANY)
{
    uint32_t w = 7;
    if (futex_capabilities() & FUTEX_CAP_SHARED) {
        /* A shared wait on private memory is still a valid wait. */
        CHECK_EQ(futex_timed_wait(&w, 7, 1000000, FUTEX_SHARED), -ETIMEDOUT);
        CHECK_EQ(futex_wait(&w, 8, FUTEX_SHARED), -EAGAIN);
        int r = futex_wake(&w, 1, FUTEX_SHARED);
        CHECK(r == 0 || (!counts_wakes() && r == FUTEX_UNCOUNTED));
    } else {
        CHECK_EQ(futex_wait(&w, 7, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_timed_wait(&w, 7, 10, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_wake(&w, 1, FUTEX_SHARED), -ENOTSUP);
        futex_deadline d;
        futex_deadline_init(&d, 10);
        CHECK_EQ(futex_deadline_wait(&d, &w, 7, FUTEX_SHARED), -ENOTSUP);
    }
    CHECK_EQ(w, 7);
}

TEST(single_deadlock, ANY)
{
    uint32_t w = 3;
    if (strcmp(futex_backend(), "single") == 0) {
        CHECK_EQ(futex_wait(&w, 3, FUTEX_PRIVATE), -EDEADLK);
        CHECK_EQ(futex_timed_wait(&w, 3, FUTEX_FOREVER, FUTEX_PRIVATE), -EDEADLK);
        CHECK_EQ(futex_wait(&w, 4, FUTEX_PRIVATE), -EAGAIN); /* the value check still comes first */
    } else {
        /* Every threaded backend can be woken by another thread, so it
         * never refuses a wait as a deadlock (test-threads shows a forever
         * wait blocking until woken). */
        CHECK_EQ(futex_timed_wait(&w, 3, 1000000, FUTEX_PRIVATE), -ETIMEDOUT);
    }
}

TEST(atomics, ANY)
{
    uint32_t w = 0;
    futex_store(&w, 5);
    CHECK_EQ(futex_load(&w), 5);
    CHECK_EQ(futex_exchange(&w, 9), 5);
    CHECK_EQ(futex_compare_exchange(&w, 1, 2), 9); /* fails: old value returned, word unchanged */
    CHECK_EQ(w, 9);
    CHECK_EQ(futex_compare_exchange(&w, 9, 2), 9); /* succeeds */
    CHECK_EQ(w, 2);
    /* Arithmetic wraps modulo 2^32. */
    futex_store(&w, UINT32_MAX);
    CHECK_EQ(futex_fetch_add(&w, 2), UINT32_MAX);
    CHECK_EQ(w, 1);
    CHECK_EQ(futex_fetch_sub(&w, 3), 1);
    CHECK_EQ(w, UINT32_MAX - 1);
    CHECK_EQ(futex_fetch_and(&w, 0xF0F0F0F0u), UINT32_MAX - 1);
    CHECK_EQ(w, 0xF0F0F0F0u);
    CHECK_EQ(futex_fetch_or(&w, 0x0F), 0xF0F0F0F0u);
    CHECK_EQ(w, 0xF0F0F0FFu);
    CHECK_EQ(futex_fetch_xor(&w, 0xFFFFFFFFu), 0xF0F0F0FFu);
    CHECK_EQ(w, 0x0F0F0F00u);
}

TEST(introspection, ANY)
{
    /* The suite runs the backend it was built for (FUTEX_TEST_BACKEND: the
     * name of its file in libfutex/backend/, given by the build). */
    CHECK(strcmp(futex_backend(), FUTEX_TEST_BACKEND) == 0);
    unsigned caps = futex_capabilities();
    CHECK((caps & ~(FUTEX_CAP_SHARED | FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_ABSOLUTE_DEADLINE | FUTEX_CAP_INTERRUPTIBLE |
                    FUTEX_CAP_WAITV_NATIVE | FUTEX_CAP_WAITV_EXACT)) == 0);
    CHECK_EQ(caps, futex_capabilities()); /* decided once */
    CHECK(strcmp(futex_strerror(-ETIMEDOUT), "timed out") == 0);
    CHECK(strcmp(futex_strerror(-EAGAIN), futex_strerror(-EINTR)) != 0);
    /* The version string is the three numbers, as the packaging reads them. */
    char version[64];
    snprintf(version, sizeof version, "%d.%d.%d", FUTEX_VERSION_MAJOR, FUTEX_VERSION_MINOR, FUTEX_VERSION_PATCH);
    CHECK(strcmp(FUTEX_VERSION, version) == 0);
    /* The spin count is a process-wide setting that reads back. */
    uint32_t old = futex_get_spin();
    futex_set_spin(7);
    CHECK_EQ(futex_get_spin(), 7);
    futex_set_spin(old);
}

TEST_MAIN(smoke, bad_input, shared_flag, single_deadlock, atomics, introspection)
