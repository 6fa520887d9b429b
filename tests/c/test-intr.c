/* The blocking-wait policy: every wait ends for a signal (SA_RESTART or
 * not, timed or not), futex_deadline_wait_intr hands the caller -EINTR at
 * least once a slice where the OS wait cannot see signals, the spin phase
 * is capped and bounded by the deadline, seconds convert by one rule, and
 * the front layer never believes an OS timeout its clock denies. */
#include "test.h"

#include <math.h>

static const uint64_t MS = 1000000u;

#if !defined(_WIN32)
#include <signal.h>

static int handled;
static void on_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&handled, 1, __ATOMIC_SEQ_CST);
}

static void install(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
}

typedef struct {
    uint32_t word, arrived, done;
    long tid;
    int rc, intr_returns;
    int use_intr; /* futex_deadline_wait_intr in a loop until the handler ran */
} sig_arg;

static void *waiter(void *arg)
{
    sig_arg *a = arg;
    a->tid = self_tid();
    futex_fetch_add(&a->arrived, 1);
    if (!a->use_intr) {
        a->rc = futex_wait(&a->word, 0, FUTEX_NOSPIN); /* untimed */
    } else {
        futex_deadline forever;
        futex_deadline_init(&forever, FUTEX_FOREVER);
        do {
            a->rc = futex_deadline_wait_intr(&forever, &a->word, 0, FUTEX_NOSPIN);
            if (a->rc == -EINTR)
                a->intr_returns++;
        } while (a->rc == -EINTR && !__atomic_load_n(&handled, __ATOMIC_SEQ_CST));
    }
    futex_store(&a->done, 1);
    return NULL;
}

/* Starts a waiter, signals it once asleep, and gives it 3 s to come back
 * (a wait the kernel restarted would sleep on: then wake it, so the test
 * fails on its result instead of hanging). Returns whether it came back. */
static int signal_and_watch(sig_arg *a)
{
    __atomic_store_n(&handled, 0, __ATOMIC_SEQ_CST);
    pthread_t t = spawn(waiter, a);
    settle_tids(&a->arrived, 1, &a->tid);
    CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
    int back = 0;
    for (int i = 0; i < 3000 && !(back = (int)futex_load(&a->done)); i++)
        sleep_ms(1);
    CHECK(__atomic_load_n(&handled, __ATOMIC_SEQ_CST));
    if (!back) {
        futex_store(&a->word, 1);
        futex_wake(&a->word, FUTEX_ALL, FUTEX_PRIVATE);
    }
    join(t);
    return back;
}

TEST(untimed_wait_under_sa_restart, THREADS, FORK)
{
    /* The kernel restarts an untimed FUTEX_WAIT after a SA_RESTART handler
     * (Python's and lua5.4's SIGINT handlers are such): the front layer must
     * hand the OS a deadline so the wait returns -EINTR instead. */
    install(1);
    sig_arg a;
    memset(&a, 0, sizeof a);
    int back = signal_and_watch(&a);
    if (futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE) {
        CHECK(back);
        CHECK_EQ(a.rc, -EINTR);
    } else {
        CHECK(!back); /* the OS wait cannot see it: it waited on to the wake */
        CHECK(a.rc == 0 || a.rc == -EAGAIN);
    }
}

TEST(intr_wait_sees_every_signal, THREADS, FORK)
{
    /* futex_deadline_wait_intr returns for a signal on every backend: where
     * the OS wait cannot see it, within one slice. */
    install(1);
    sig_arg a;
    memset(&a, 0, sizeof a);
    a.use_intr = 1;
    CHECK(signal_and_watch(&a));
    CHECK_EQ(a.rc, -EINTR);
    CHECK(a.intr_returns >= 1);
}
#endif

TEST(intr_wait_slices_and_times_out, ANY)
{
    /* No signal at all: an interruptible OS wait runs to the deadline in one
     * call; elsewhere the caller gets -EINTR once per slice to look at its
     * signals, and the deadline still ends the loop, never early. */
    uint32_t w = 0;
    futex_deadline d;
    uint64_t t0 = now_ns();
    futex_deadline_init(&d, 3 * FUTEX_SLICE_NS);
    int rc, intr = 0;
    while ((rc = futex_deadline_wait_intr(&d, &w, 0, 0)) == -EINTR)
        intr++;
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK(now_ns() - t0 >= 3 * FUTEX_SLICE_NS);
    if (futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE)
        CHECK_EQ(intr, 0);
    else
        CHECK(intr >= 2);
    CHECK_EQ(futex_deadline_wait_intr(NULL, &w, 0, 0), -EINVAL);
    CHECK_EQ(futex_deadline_wait_intr(&d, &w, 1, 0), -EAGAIN);
}

TEST(huge_spin_is_capped_and_bounded, ANY)
{
    /* 4e9 re-checks would take minutes and hide Ctrl-C; a 1 ms wait must
     * still end in about 1 ms (1 s of slack for a loaded machine). */
    uint32_t old = futex_get_spin(), w = 1;
    futex_set_spin(UINT32_MAX - 1); /* the largest count (UINT32_MAX is FUTEX_SPIN_ADAPTIVE) */
    CHECK_EQ(futex_get_spin(), UINT32_MAX - 1);
    uint64_t t0 = now_ns();
    CHECK_EQ(futex_timed_wait(&w, 1, 1 * MS, 0), -ETIMEDOUT);
    uint64_t took = now_ns() - t0;
    futex_set_spin(old);
    CHECK(took >= 1 * MS);
    CHECK(took < 1000 * MS);
}

typedef struct {
    uint32_t word, arrived;
    long tid;
    int rc;
} parker;

static void *spinning_waiter(void *arg)
{
    parker *p = arg;
    p->tid = self_tid();
    futex_fetch_add(&p->arrived, 1);
    p->rc = futex_wait(&p->word, 0, 0); /* untimed, with the spin */
    return NULL;
}

TEST(huge_spin_parks_soon, THREADS)
{
    /* An untimed wait has no deadline to bound its spin: only the cap keeps
     * set_spin(huge) from spinning for minutes, blind to signals. Where /proc
     * tells (Linux), the waiter must be asleep within 3 s. */
    uint32_t old = futex_get_spin();
    futex_set_spin(UINT32_MAX - 1); /* the largest count */
    parker p;
    memset(&p, 0, sizeof p);
    pthread_t t = spawn(spinning_waiter, &p);
    while (futex_load(&p.arrived) == 0)
        sleep_ms(1);
    int asleep = 0;
    for (int i = 0; i < 3000 && !(asleep = is_sleeping(p.tid)); i++)
        sleep_ms(1);
    futex_store(&p.word, 1);
    futex_wake(&p.word, FUTEX_ALL, FUTEX_PRIVATE);
    join(t);
    futex_set_spin(old);
    CHECK(asleep);
    CHECK(p.rc == 0 || p.rc == -EAGAIN);
}

TEST(seconds_to_ns, ANY)
{
    uint64_t ns = 7;
    CHECK_EQ(futex_seconds_to_ns(0.0, &ns), 0);
    CHECK_EQ(ns, 0);
    CHECK_EQ(futex_seconds_to_ns(-0.0, &ns), 0);
    CHECK_EQ(ns, 0);
    CHECK_EQ(futex_seconds_to_ns(1e-12, &ns), 0);
    CHECK_EQ(ns, 1); /* rounded up, never down to "check only" */
    CHECK_EQ(futex_seconds_to_ns(1.5, &ns), 0);
    CHECK_EQ(ns, 1500000000);
    CHECK_EQ(futex_seconds_to_ns(2.5e-9, &ns), 0);
    CHECK_EQ(ns, 3);
    /* Finite below 2^64 ns, never past it: one rule for every huge time. */
    CHECK_EQ(futex_seconds_to_ns(1.8e10, &ns), 0);
    CHECK(ns == UINT64_C(18000000000000000000));
    static const double never[] = {18446744073.709553, 1e12, 1e300, INFINITY};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        ns = 0;
        CHECK_EQ(futex_seconds_to_ns(never[i], &ns), 0);
        CHECK(ns == FUTEX_FOREVER);
    }
    static const double bad[] = {-1e-300, -1.0, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ns = 42;
        CHECK_EQ(futex_seconds_to_ns(bad[i], &ns), -EINVAL);
        CHECK_EQ(ns, 42); /* untouched */
    }
    CHECK_EQ(futex_seconds_to_ns(1.0, NULL), -EINVAL);
}

#if defined(__linux__)
/* The BSD emulations (tests/emul/freebsd/linux-futex.h) define this knob:
 * that many timed OS waits return ETIMEDOUT at once. Elsewhere it is absent. */
extern int futex_emul_early_timeouts __attribute__((weak));
#endif

TEST(early_os_timeout_is_rewaited, ANY)
{
    /* An OS that ends a timed wait early (a clamped or rounded timeout) must
     * not end ours early: the front layer reads its own clock and waits
     * again. With the emulations' knob set, every suite that has it proves
     * the re-wait; elsewhere this is a plain never-early check. */
    uint32_t w = 1;
#if defined(__linux__)
    if (&futex_emul_early_timeouts != NULL)
        __atomic_store_n(&futex_emul_early_timeouts, 5, __ATOMIC_SEQ_CST);
#endif
    for (unsigned flags = 0; flags <= FUTEX_NOSPIN; flags += FUTEX_NOSPIN) {
        uint64_t t0 = now_ns();
        CHECK_EQ(futex_timed_wait(&w, 1, 30 * MS, flags), -ETIMEDOUT);
        CHECK(now_ns() - t0 >= 30 * MS);
    }
#if defined(__linux__)
    if (&futex_emul_early_timeouts != NULL)
        CHECK_EQ(__atomic_load_n(&futex_emul_early_timeouts, __ATOMIC_SEQ_CST), 0); /* the knob was used */
#endif
}

#if !defined(_WIN32)
TEST_MAIN(untimed_wait_under_sa_restart, intr_wait_sees_every_signal, intr_wait_slices_and_times_out,
          huge_spin_is_capped_and_bounded, huge_spin_parks_soon, seconds_to_ns, early_os_timeout_is_rewaited)
#else
TEST_MAIN(intr_wait_slices_and_times_out, huge_spin_is_capped_and_bounded, huge_spin_parks_soon, seconds_to_ns,
          early_os_timeout_is_rewaited)
#endif
