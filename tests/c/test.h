/*
 * A minimal harness for the C suite. Each test-<area>.c declares tests with
 *
 *     TEST(name, NEEDS...) { ... CHECK(...); CHECK_EQ(a, b); ... }
 *
 * and ends with TEST_MAIN(name, name, ...). The executable runs the test
 * named by argv[1] (ctest runs each test on its own, with a timeout), or every
 * test when run with no argument. A failed check prints where and exits 1.
 * tests/c/CMakeLists.txt reads the TEST( lines to register the tests.
 */
#ifndef FUTEX_TEST_H
#define FUTEX_TEST_H

#include "futex.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <time.h>
#include <unistd.h>
#endif
#include <pthread.h>

#define TEST(name, ...) static void name(void)

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                                   \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_EQ(a, b)                                                                                                 \
    do {                                                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                            \
        if (a_ != b_) {                                                                                                \
            fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_);     \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

static inline int test_run(int argc, char **argv, const test_case *tests, size_t n)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        printf("%s (backend %s) ... ", tests[i].name, futex_backend());
        tests[i].fn();
        printf("ok\n");
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(none)");
        return 2;
    }
    return 0;
}

#define TEST_ENTRY(name) {#name, name},
#define TEST_MAIN(...)                                                                                                 \
    int main(int argc, char **argv)                                                                                    \
    {                                                                                                                  \
        static const test_case tests_[] = {FOR_EACH_TEST(__VA_ARGS__)};                                                \
        return test_run(argc, argv, tests_, sizeof tests_ / sizeof tests_[0]);                                         \
    }
/* Up to 32 tests per file. */
#define FE_1(x) TEST_ENTRY(x)
#define FE_2(x, ...) TEST_ENTRY(x) FE_1(__VA_ARGS__)
#define FE_3(x, ...) TEST_ENTRY(x) FE_2(__VA_ARGS__)
#define FE_4(x, ...) TEST_ENTRY(x) FE_3(__VA_ARGS__)
#define FE_5(x, ...) TEST_ENTRY(x) FE_4(__VA_ARGS__)
#define FE_6(x, ...) TEST_ENTRY(x) FE_5(__VA_ARGS__)
#define FE_7(x, ...) TEST_ENTRY(x) FE_6(__VA_ARGS__)
#define FE_8(x, ...) TEST_ENTRY(x) FE_7(__VA_ARGS__)
#define FE_9(x, ...) TEST_ENTRY(x) FE_8(__VA_ARGS__)
#define FE_10(x, ...) TEST_ENTRY(x) FE_9(__VA_ARGS__)
#define FE_11(x, ...) TEST_ENTRY(x) FE_10(__VA_ARGS__)
#define FE_12(x, ...) TEST_ENTRY(x) FE_11(__VA_ARGS__)
#define FE_13(x, ...) TEST_ENTRY(x) FE_12(__VA_ARGS__)
#define FE_14(x, ...) TEST_ENTRY(x) FE_13(__VA_ARGS__)
#define FE_15(x, ...) TEST_ENTRY(x) FE_14(__VA_ARGS__)
#define FE_16(x, ...) TEST_ENTRY(x) FE_15(__VA_ARGS__)
#define FE_17(x, ...) TEST_ENTRY(x) FE_16(__VA_ARGS__)
#define FE_18(x, ...) TEST_ENTRY(x) FE_17(__VA_ARGS__)
#define FE_19(x, ...) TEST_ENTRY(x) FE_18(__VA_ARGS__)
#define FE_20(x, ...) TEST_ENTRY(x) FE_19(__VA_ARGS__)
#define FE_21(x, ...) TEST_ENTRY(x) FE_20(__VA_ARGS__)
#define FE_22(x, ...) TEST_ENTRY(x) FE_21(__VA_ARGS__)
#define FE_23(x, ...) TEST_ENTRY(x) FE_22(__VA_ARGS__)
#define FE_24(x, ...) TEST_ENTRY(x) FE_23(__VA_ARGS__)
#define FE_25(x, ...) TEST_ENTRY(x) FE_24(__VA_ARGS__)
#define FE_26(x, ...) TEST_ENTRY(x) FE_25(__VA_ARGS__)
#define FE_27(x, ...) TEST_ENTRY(x) FE_26(__VA_ARGS__)
#define FE_28(x, ...) TEST_ENTRY(x) FE_27(__VA_ARGS__)
#define FE_29(x, ...) TEST_ENTRY(x) FE_28(__VA_ARGS__)
#define FE_30(x, ...) TEST_ENTRY(x) FE_29(__VA_ARGS__)
#define FE_31(x, ...) TEST_ENTRY(x) FE_30(__VA_ARGS__)
#define FE_32(x, ...) TEST_ENTRY(x) FE_31(__VA_ARGS__)
#define FE_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define FOR_EACH_TEST(...) FE_PICK(__VA_ARGS__, FE_32, FE_31, FE_30, FE_29, FE_28, FE_27, FE_26, FE_25, FE_24, FE_23, FE_22, FE_21, FE_20, FE_19, FE_18, FE_17, FE_16, FE_15, FE_14, FE_13, FE_12, FE_11, FE_10, FE_9, FE_8, FE_7, FE_6, FE_5, FE_4, FE_3, FE_2, FE_1, )(__VA_ARGS__)

/* ---- helpers ------------------------------------------------------------ */

static inline uint64_t now_ns(void) { return futex_monotonic_ns(); }

static inline void sleep_ms(unsigned ms)
{
#if defined(_WIN32)
    Sleep(ms);
#else
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
#endif
}

static inline pthread_t spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, fn, arg), 0);
    return t;
}

static inline void join(pthread_t t) { CHECK_EQ(pthread_join(t, NULL), 0); }

/* Does futex_wake report exact counts on this backend? */
static inline int counts_wakes(void) { return (futex_capabilities() & FUTEX_CAP_WAKE_COUNT) != 0; }

/* The caller's kernel thread id where /proc can tell its state, else 0. */
static inline long self_tid(void)
{
#if defined(__linux__)
    return (long)gettid();
#else
    return 0;
#endif
}

/* Is thread `tid` of this process asleep (Linux: state S in /proc)? */
static inline int is_sleeping(long tid)
{
#if defined(__linux__)
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'S';
#else
    (void)tid;
    return 1;
#endif
}

/* Wait (up to ~20 s) until `n` threads have bumped `arrived` just before
 * waiting and, where /proc tells, all of `tids` are asleep; then give them a
 * moment more to be queued. Wake probes would disturb them, so we watch. */
static inline void settle_tids(const uint32_t *arrived, uint32_t n, const long *tids)
{
    for (int i = 0; i < 20000 && futex_load(arrived) < n; i++)
        sleep_ms(1);
    CHECK_EQ(futex_load(arrived), n);
    for (uint32_t k = 0; tids != NULL && k < n; k++)
        for (int i = 0; i < 20000 && tids[k] != 0 && !is_sleeping(tids[k]); i++)
            sleep_ms(1);
    sleep_ms(tids != NULL && tids[0] != 0 ? 20 : 200);
}

static inline void settle(const uint32_t *arrived, uint32_t n) { settle_tids(arrived, n, NULL); }

#endif
