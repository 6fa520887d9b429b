/* Signals: where the OS tells (FUTEX_CAP_INTERRUPTIBLE) a handled signal
 * ends a wait with -EINTR, even under SA_RESTART for a finite deadline, so
 * the bindings can run their handlers; elsewhere the wait goes on to its
 * real result. */
#include "test.h"

#if !defined(_WIN32)
#include <signal.h>

/* An atomic int rather than volatile sig_atomic_t: the handler runs on the
 * waiter's thread and the main thread reads it. Lock-free, so handler-safe. */
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
    uint64_t timeout;
    long tid;
    int rc;
} sig_arg;

static void *waiter(void *arg)
{
    sig_arg *a = arg;
    a->tid = self_tid();
    futex_fetch_add(&a->arrived, 1);
    a->rc = futex_timed_wait(&a->word, 0, a->timeout, FUTEX_NOSPIN);
    futex_store(&a->done, 1);
    return NULL;
}

/* Starts a waiter, signals it once it sleeps, and returns its result. */
static int signalled_wait(uint64_t timeout, int wake_after)
{
    sig_arg a;
    memset(&a, 0, sizeof a);
    a.timeout = timeout;
    __atomic_store_n(&handled, 0, __ATOMIC_SEQ_CST);
    pthread_t t = spawn(waiter, &a);
    settle_tids(&a.arrived, 1, &a.tid);
    CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
    for (int i = 0; i < 5000 && !__atomic_load_n(&handled, __ATOMIC_SEQ_CST); i++)
        sleep_ms(1);
    CHECK(__atomic_load_n(&handled, __ATOMIC_SEQ_CST));
    if (wake_after) {
        sleep_ms(50);
        CHECK_EQ(futex_load(&a.done), 0); /* the signal did not end the wait */
        futex_store(&a.word, 1);
        futex_wake(&a.word, 1, FUTEX_PRIVATE);
    }
    join(t);
    return a.rc;
}

TEST(signal_interrupts_wait, FORK)
{
    install(0);
    uint64_t forever = strcmp(futex_backend(), "single") == 0 ? 10000000000ull : FUTEX_FOREVER;
    if (futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE) {
        CHECK_EQ(signalled_wait(forever, 0), -EINTR);
    } else {
        int rc = signalled_wait(forever, 1);
        CHECK(rc == 0 || rc == -EAGAIN);
    }
}

TEST(signal_with_restart_and_deadline, FORK)
{
    /* SA_RESTART (lua5.4's SIGINT handler uses it) must not make a finite
     * wait invisible to the caller: it still returns so hooks can run. */
    install(1);
    if (futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE) {
        CHECK_EQ(signalled_wait(10000000000ull, 0), -EINTR);
    } else {
        int rc = signalled_wait(10000000000ull, 1);
        CHECK(rc == 0 || rc == -EAGAIN);
    }
}

TEST_MAIN(signal_interrupts_wait, signal_with_restart_and_deadline)

#else
int main(void) { return 0; }
#endif
