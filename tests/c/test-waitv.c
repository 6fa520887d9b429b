/* futex_waitv: bad arguments, -EAGAIN with the index, deadlines, each word
 * waking the wait with its own index, 128 words, wakes shared with plain
 * waiters and never wasted, signals, and other processes' wakes. */
#include "test.h"

#if !defined(_WIN32)
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#endif

#define MAXW FUTEX_WAITV_LIMIT

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static int is_single(void) { return strcmp(futex_backend(), "single") == 0; }

static void fill(futex_waitv_item *items, uint32_t *words, uint32_t n, unsigned flags)
{
    for (uint32_t i = 0; i < n; i++) {
        items[i].word = &words[i];
        items[i].expected = words[i];
        items[i].flags = flags;
    }
}

TEST(waitv_bad_args, ANY)
{
    uint32_t words[MAXW + 1] = {0};
    futex_waitv_item items[MAXW + 1];
    fill(items, words, MAXW + 1, FUTEX_PRIVATE);
    futex_deadline d;
    futex_deadline_init(&d, 0);
    uint32_t changed = 77;
    CHECK_EQ(futex_waitv(NULL, 1, &d, 0, &changed), -EINVAL);
    CHECK_EQ(futex_waitv(items, 0, &d, 0, &changed), -EINVAL);
    CHECK_EQ(futex_waitv(items, MAXW + 1, &d, 0, &changed), -EINVAL);
    CHECK_EQ(futex_waitv(items, 2, &d, FUTEX_SHARED, &changed), -EINVAL); /* per-word flag as a call flag */
    CHECK_EQ(futex_waitv(items, 2, &d, 8u, &changed), -EINVAL);
    items[1].word = NULL;
    CHECK_EQ(futex_waitv(items, 2, &d, 0, &changed), -EINVAL);
    items[1].word = (const uint32_t *)(const void *)((const char *)&words[1] + 1);
    CHECK_EQ(futex_waitv(items, 2, &d, 0, &changed), -EINVAL);
    items[1].word = &words[1];
    items[1].flags = FUTEX_NOSPIN; /* not a per-word flag */
    CHECK_EQ(futex_waitv(items, 2, &d, 0, &changed), -EINVAL);
    items[1].flags = FUTEX_SHARED;
    int rc = futex_waitv(items, 2, &d, FUTEX_NOSPIN, &changed);
    CHECK_EQ(rc, (futex_capabilities() & FUTEX_CAP_SHARED) ? -ETIMEDOUT : -ENOTSUP);
    CHECK_EQ(changed, 77); /* no result touched it */
    /* An error comes before the check of the words: nothing is looked at. */
    words[0] = 5;
    items[1].flags = 3u;
    CHECK_EQ(futex_waitv(items, 2, &d, 0, &changed), -EINVAL);
    CHECK_EQ(changed, 77);
    /* The single backend cannot be woken: no deadline is a deadlock. */
    if (is_single()) {
        words[0] = 0;
        fill(items, words, 3, FUTEX_PRIVATE);
        CHECK_EQ(futex_waitv(items, 3, NULL, 0, &changed), -EDEADLK);
    }
    /* Exactness: native implies exact, and a backend without cross-process
     * waits sees every wake in-process. */
    unsigned caps = futex_capabilities();
    if (caps & FUTEX_CAP_WAITV_NATIVE)
        CHECK(caps & FUTEX_CAP_WAITV_EXACT);
    if (!(caps & FUTEX_CAP_SHARED))
        CHECK(caps & FUTEX_CAP_WAITV_EXACT);
    if (strcmp(futex_backend(), "linux") != 0)
        CHECK(!(caps & FUTEX_CAP_WAITV_NATIVE));
}

TEST(waitv_eagain_index, ANY)
{
    uint32_t words[MAXW];
    for (uint32_t i = 0; i < MAXW; i++)
        words[i] = i * 3u;
    futex_waitv_item items[MAXW];
    fill(items, words, MAXW, FUTEX_PRIVATE);
    uint32_t changed = 999;
    items[5].expected++;
    items[90].expected++;
    CHECK_EQ(futex_waitv(items, MAXW, NULL, 0, &changed), -EAGAIN);
    CHECK_EQ(changed, 5); /* the lowest index that differs */
    items[5].expected--;
    changed = 999;
    CHECK_EQ(futex_waitv(items, MAXW, NULL, 0, &changed), -EAGAIN);
    CHECK_EQ(changed, 90);
    CHECK_EQ(futex_waitv(items, MAXW, NULL, 0, NULL), -EAGAIN); /* changed is optional */
    items[90].expected--;
    items[MAXW - 1].expected = 12345;
    CHECK_EQ(futex_waitv(items, MAXW, NULL, 0, &changed), -EAGAIN);
    CHECK_EQ(changed, MAXW - 1);
}

TEST(waitv_timeouts_never_early, ANY)
{
    uint32_t words[4] = {1, 2, 3, 4};
    futex_waitv_item items[4];
    fill(items, words, 4, FUTEX_PRIVATE);
    futex_deadline d;
    /* An expired deadline only checks. */
    futex_deadline_init(&d, 0);
    uint64_t t0 = now_ns();
    CHECK_EQ(futex_waitv(items, 4, &d, 0, NULL), -ETIMEDOUT);
    uint64_t limits[] = {1000000u, 20000000u, 120000000u};
    for (unsigned k = 0; k < 6; k++) {
        t0 = now_ns(); /* before the deadline starts: the wait is measured from no later */
        futex_deadline_init(&d, limits[k % 3]);
        CHECK_EQ(futex_waitv(items, k < 3 ? 4 : 1, &d, 0, NULL), -ETIMEDOUT);
        CHECK(now_ns() - t0 >= limits[k % 3]);
        CHECK_EQ(futex_deadline_remaining_ns(&d), 0);
    }
    /* With all 128 words, and shared ones where the backend has them (the
     * fallback re-checks them in slices: still never early). */
    uint32_t many[MAXW] = {0};
    futex_waitv_item mitems[MAXW];
    fill(mitems, many, MAXW, (futex_capabilities() & FUTEX_CAP_SHARED) ? FUTEX_SHARED : FUTEX_PRIVATE);
    t0 = now_ns();
    futex_deadline_init(&d, 30000000u);
    CHECK_EQ(futex_waitv(mitems, MAXW, &d, 0, NULL), -ETIMEDOUT);
    CHECK(now_ns() - t0 >= 30000000u);
}

/* ---- threads ---------------------------------------------------------------- */

typedef struct {
    uint32_t *words;
    uint32_t n;
    unsigned flags;
    uint32_t expected; /* every word's expected value */
    uint64_t timeout;  /* FUTEX_FOREVER or ns */
    uint32_t arrived, done;
    long tid;
    int rc;
    uint32_t changed;
} wv_arg;

static void *waitv_thread(void *p)
{
    wv_arg *a = p;
    futex_waitv_item items[MAXW];
    for (uint32_t i = 0; i < a->n; i++) {
        items[i].word = &a->words[i];
        items[i].expected = a->expected; /* not the words' values now: they may have changed already */
        items[i].flags = a->flags;
    }
    futex_deadline d;
    futex_deadline_init(&d, a->timeout);
    a->tid = self_tid();
    futex_fetch_add(&a->arrived, 1);
    a->changed = 12345;
    a->rc = futex_waitv(items, a->n, &d, 0, &a->changed);
    futex_store(&a->done, 1);
    return NULL;
}

static pthread_t start_waitv(wv_arg *a, uint32_t *words, uint32_t n, unsigned flags)
{
    memset(a, 0, sizeof *a);
    a->words = words;
    a->n = n;
    a->flags = flags;
    a->expected = words[0];
    a->timeout = 60000000000ull; /* a lost wakeup fails the test instead of hanging it */
    pthread_t t = spawn(waitv_thread, a);
    settle_tids(&a->arrived, 1, &a->tid);
    return t;
}

/* The waiter ended for word i: woken with its index, or (if it looked after
 * the store) -EAGAIN with its index. */
static void check_woke_at(const wv_arg *a, uint32_t i)
{
    CHECK(a->rc == (int)i || a->rc == -EAGAIN);
    CHECK_EQ(a->changed, i);
}

TEST(waitv_each_word_wakes, THREADS)
{
    uint32_t n = 8;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t words[8] = {0};
        wv_arg a;
        pthread_t t = start_waitv(&a, words, n, FUTEX_PRIVATE);
        CHECK_EQ(futex_load(&a.done), 0);
        futex_store(&words[i], 1);
        int woken = futex_wake(&words[i], 1, FUTEX_PRIVATE);
        join(t);
        check_woke_at(&a, i);
        CHECK_EQ(a.rc, (int)i); /* it was asleep: a wake, not a late look */
        if (counts_wakes())
            CHECK_EQ(woken, 1);
    }
}

TEST(waitv_wake_without_change, THREADS)
{
    /* A wake alone ends the wait, as for futex_wait, and names its word. */
    uint32_t words[3] = {7, 7, 7};
    wv_arg a;
    pthread_t t = start_waitv(&a, words, 3, FUTEX_PRIVATE);
    int woken = futex_wake(&words[2], FUTEX_ALL, FUTEX_PRIVATE);
    join(t);
    CHECK_EQ(a.rc, 2);
    CHECK_EQ(a.changed, 2);
    if (counts_wakes())
        CHECK_EQ(woken, 1);
    /* One word (the backends' single-word wait on the fallback paths). */
    t = start_waitv(&a, words, 1, FUTEX_PRIVATE);
    woken = futex_wake(&words[0], 1, FUTEX_PRIVATE);
    join(t);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(a.changed, 0);
    if (counts_wakes())
        CHECK_EQ(woken, 1);
}

TEST(waitv_128_words, THREADS)
{
    static uint32_t words[MAXW];
    uint32_t which[] = {MAXW - 1, 0, 64};
    for (unsigned k = 0; k < 3; k++) {
        memset(words, 0, sizeof words);
        wv_arg a;
        pthread_t t = start_waitv(&a, words, MAXW, FUTEX_PRIVATE);
        futex_store(&words[which[k]], 9);
        futex_wake(&words[which[k]], 1, FUTEX_PRIVATE);
        join(t);
        CHECK_EQ(a.rc, (int)which[k]);
        CHECK_EQ(a.changed, which[k]);
    }
}

TEST(waitv_wakes_never_wasted, THREADS)
{
    /* Two multi-waiters on words A and B, and a plain waiter on B. A wake of
     * one on A wakes one multi-waiter; then a wake of FUTEX_ALL on B must end
     * the other two -- and with a count, a wake of one on B wakes exactly one
     * of them: a waiter already woken never takes a wake from another. */
    uint32_t words[2] = {0, 0};
    wv_arg a1, a2;
    pthread_t t1 = start_waitv(&a1, words, 2, FUTEX_PRIVATE);
    pthread_t t2 = start_waitv(&a2, words, 2, FUTEX_PRIVATE);
    int woken = futex_wake(&words[0], 1, FUTEX_PRIVATE);
    if (counts_wakes())
        CHECK_EQ(woken, 1);
    for (int i = 0; i < 10000 && futex_load(&a1.done) + futex_load(&a2.done) < 1; i++)
        sleep_ms(1);
    if (counts_wakes()) {
        sleep_ms(50);
        CHECK_EQ(futex_load(&a1.done) + futex_load(&a2.done), 1); /* one wake, one waiter */
    }
    woken = futex_wake(&words[1], 1, FUTEX_PRIVATE);
    if (counts_wakes())
        CHECK_EQ(woken, 1); /* the other one: the woken one is no longer queued */
    join(t1);
    join(t2);
    wv_arg *first = a1.rc == 0 ? &a1 : &a2, *second = first == &a1 ? &a2 : &a1;
    if (counts_wakes()) {
        CHECK_EQ(first->rc, 0);
        CHECK_EQ(second->rc, 1);
    } else {
        CHECK(a1.rc == 0 || a1.rc == 1);
        CHECK(a2.rc == 0 || a2.rc == 1);
    }
}

typedef struct {
    uint32_t *word;
    uint32_t arrived, done;
    long tid;
    int rc;
} plain_arg;

static void *plain_thread(void *p)
{
    plain_arg *a = p;
    a->tid = self_tid();
    futex_fetch_add(&a->arrived, 1);
    a->rc = futex_timed_wait(a->word, 0, 60000000000ull, FUTEX_NOSPIN);
    futex_store(&a->done, 1);
    return NULL;
}

TEST(waitv_with_plain_waiters, THREADS)
{
    /* futex_wake(ALL) reaches plain waiters and multi-waiters on one word
     * alike, and counts both. */
    uint32_t words[3] = {0, 0, 0};
    plain_arg p;
    memset(&p, 0, sizeof p);
    p.word = &words[1];
    pthread_t tp = spawn(plain_thread, &p);
    settle_tids(&p.arrived, 1, &p.tid);
    wv_arg a;
    pthread_t ta = start_waitv(&a, words, 3, FUTEX_PRIVATE);
    int woken = futex_wake(&words[1], FUTEX_ALL, FUTEX_PRIVATE);
    join(tp);
    join(ta);
    CHECK_EQ(p.rc, 0);
    CHECK_EQ(a.rc, 1);
    if (counts_wakes())
        CHECK_EQ(woken, 2);
}

TEST(waitv_many_threads_stress, THREADS)
{
    /* Rounds of 4 multi-waiters on 16 words, each woken by a change of a
     * random word: every round ends, each waiter with an index in range. */
    for (int round = 0; round < 50; round++) {
        uint32_t words[16] = {0};
        wv_arg a[4];
        pthread_t t[4];
        for (int k = 0; k < 4; k++) {
            memset(&a[k], 0, sizeof a[k]);
            a[k].words = words;
            a[k].n = 16;
            a[k].timeout = 60000000000ull;
            t[k] = spawn(waitv_thread, &a[k]);
        }
        uint32_t w = (uint32_t)(round * 7) % 16;
        futex_store(&words[w], 1);
        futex_wake(&words[w], FUTEX_ALL, FUTEX_PRIVATE);
        for (int k = 0; k < 4; k++) {
            join(t[k]);
            check_woke_at(&a[k], w);
        }
    }
}

/* ---- timeouts racing wakes ---------------------------------------------------
 * A producer hands out tokens one at a time, each with a wake of ONE waiter.
 * A consumer takes them, sleeping in futex_waitv with no deadline. A
 * distractor sleeps in futex_waitv on the same words with a 5 µs deadline,
 * over and over, so that wakes keep meeting a waiter that is timing out; when
 * it is woken (an index result) it passes the wake on, as a condition
 * variable's waiter must, and never takes a token. A wake spent on the
 * distractor that it then reports as a timeout would leave the consumer
 * asleep with a token waiting: the producer's wait for the token to be taken
 * has a deadline and fails the test. */
typedef struct {
    uint32_t tokens, taken, stop;
    uint32_t got, passed; /* tokens the consumer took; wakes the distractor passed on */
} race;

static void *consumer(void *p)
{
    race *r = p;
    futex_waitv_item items[2] = {{&r->tokens, 0, FUTEX_PRIVATE}, {&r->stop, 0, FUTEX_PRIVATE}};
    while (!futex_load(&r->stop)) {
        uint32_t v = futex_load(&r->tokens);
        if (v > 0) {
            futex_store(&r->tokens, v - 1); /* the only taker */
            r->got++;
            futex_fetch_add(&r->taken, 1);
            futex_wake(&r->taken, 1, FUTEX_PRIVATE);
            continue;
        }
        int rc = futex_waitv(items, 2, NULL, FUTEX_NOSPIN, NULL);
        CHECK(rc == 0 || rc == 1 || rc == -EAGAIN || rc == -EINTR);
    }
    return NULL;
}

static void *distractor(void *p)
{
    race *r = p;
    while (!futex_load(&r->stop)) {
        futex_waitv_item items[2] = {{&r->tokens, futex_load(&r->tokens), FUTEX_PRIVATE},
                                     {&r->stop, 0, FUTEX_PRIVATE}};
        futex_deadline d;
        futex_deadline_init(&d, 5000u);
        int rc = futex_waitv(items, 2, &d, FUTEX_NOSPIN, NULL);
        if (rc == 0) {
            r->passed++;
            futex_wake(&r->tokens, 1, FUTEX_PRIVATE); /* not ours to take: pass it on */
        }
        CHECK(rc == 0 || rc == 1 || rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EINTR);
    }
    return NULL;
}

TEST(waitv_timeouts_race_wakes, THREADS)
{
    race r;
    memset(&r, 0, sizeof r);
    pthread_t t1 = spawn(consumer, &r);
    pthread_t t2 = spawn(distractor, &r);
    uint32_t rounds = 20000;
    for (uint32_t i = 0; i < rounds; i++) {
        futex_fetch_add(&r.tokens, 1);
        futex_wake(&r.tokens, 1, FUTEX_PRIVATE);
        uint32_t v;
        uint64_t t0 = now_ns();
        while ((v = futex_load(&r.taken)) == i) {
            futex_timed_wait(&r.taken, v, 1000000000u, 0);
            CHECK(now_ns() - t0 < 20000000000ull); /* the token was never taken: a lost wake */
        }
    }
    futex_store(&r.stop, 1);
    futex_wake(&r.stop, FUTEX_ALL, FUTEX_PRIVATE);
    join(t1);
    join(t2);
    CHECK_EQ(futex_load(&r.taken), rounds);
    CHECK_EQ(r.got, rounds);
    printf("[the distractor passed on %u wakes] ", r.passed);
}

#if !defined(_WIN32)
static int handled;
static void on_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&handled, 1, __ATOMIC_SEQ_CST);
}

/* Signals a futex_waitv over 4 words once it sleeps; returns its result.
 * keeps_waiting: the signal must not end it (then it is woken at word 3). */
static int signalled_waitv(int restart, uint64_t timeout, int keeps_waiting)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    __atomic_store_n(&handled, 0, __ATOMIC_SEQ_CST);
    uint32_t words[4] = {0};
    wv_arg a;
    memset(&a, 0, sizeof a);
    a.words = words;
    a.n = 4;
    a.timeout = timeout;
    pthread_t t = spawn(waitv_thread, &a);
    settle_tids(&a.arrived, 1, &a.tid);
    CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
    if (keeps_waiting) {
        /* The handler runs at once, except under TSan, which defers it to
         * the thread's next return to user space: wait a while, not for it. */
        for (int i = 0; i < 5000 && !__atomic_load_n(&handled, __ATOMIC_SEQ_CST); i++)
            sleep_ms(1);
#if !defined(UNDER_TSAN)
        CHECK(__atomic_load_n(&handled, __ATOMIC_SEQ_CST)); /* the signal did arrive while it slept */
#endif
        sleep_ms(50);
        CHECK_EQ(futex_load(&a.done), 0);
        futex_store(&words[3], 1);
        futex_wake(&words[3], 1, FUTEX_PRIVATE);
        join(t);
        check_woke_at(&a, 3);
    } else {
        join(t);
        CHECK(__atomic_load_n(&handled, __ATOMIC_SEQ_CST)); /* the handler ran, and ended the wait */
    }
    return a.rc;
}

TEST(waitv_signal, FORK)
{
    /* A handler without SA_RESTART ends the wait with -EINTR where the OS
     * tells (Linux's FUTEX_WAITV too); elsewhere the wait goes on. */
    uint64_t forever = is_single() ? 20000000000ull : FUTEX_FOREVER;
    int interruptible = (futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE) != 0;
    int rc = signalled_waitv(0, forever, !interruptible);
    if (interruptible)
        CHECK_EQ(rc, -EINTR);
}

TEST(waitv_signal_restart_deadline, FORK)
{
    /* Under SA_RESTART with a finite deadline futex_wait returns -EINTR
     * where the OS tells (test-signal.c); so does the library's own
     * multi-wait, which sleeps in that same wait. Linux's FUTEX_WAITV is
     * restarted by the kernel instead (it returns ERESTARTSYS): as futex.h
     * says, the wait goes on there. */
    unsigned caps = futex_capabilities();
    int eintr = (caps & FUTEX_CAP_INTERRUPTIBLE) && !(caps & FUTEX_CAP_WAITV_NATIVE);
    int rc = signalled_waitv(1, 20000000000ull, !eintr);
    if (eintr)
        CHECK_EQ(rc, -EINTR);
}

/* A child waits on 4 shared words; the parent changes one and wakes it. The
 * child's exit status is its result's index (or 100 + index for -EAGAIN). */
static void cross_process(int wake)
{
    if (!(futex_capabilities() & FUTEX_CAP_SHARED)) {
        uint32_t w = 0;
        futex_waitv_item it = {&w, 0, FUTEX_SHARED};
        CHECK_EQ(futex_waitv(&it, 1, NULL, 0, NULL), -ENOTSUP);
        return;
    }
    uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    uint32_t *words = m, *arrived = m + 16;
    for (int round = 0; round < 4; round++) {
        uint32_t target = (uint32_t)(round * 3 + 1) % 4;
        memset(m, 0, 4096);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(60);
            futex_waitv_item items[4];
            fill(items, words, 4, FUTEX_SHARED);
            futex_fetch_add(arrived, 1);
            uint32_t changed = 99;
            int rc = futex_waitv(items, 4, NULL, 0, &changed);
            _exit(rc >= 0 ? (int)changed : rc == -EAGAIN ? 100 + (int)changed : 200);
        }
        while (futex_load(arrived) == 0)
            sleep_ms(1);
        sleep_ms(100); /* let it fall asleep */
        uint64_t t0 = now_ns();
        futex_store(&words[target], 1);
        if (wake)
            futex_wake(&words[target], 1, FUTEX_SHARED);
        int status;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        uint64_t took = now_ns() - t0;
        CHECK(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        if (futex_capabilities() & FUTEX_CAP_WAITV_NATIVE)
            CHECK_EQ(code, (int)target); /* the kernel's wake, with its index */
        else
            CHECK(code == (int)target || code == 100 + (int)target); /* or a re-check slice */
        (void)took;
    }
    munmap(m, 4096);
}

TEST(waitv_cross_process, FORK) { cross_process(1); }

TEST(waitv_cross_process_store_only, FORK)
{
    /* Non-exact backends promise to see another process's change within a
     * re-check slice even without a wake; exact ones only wake on a wake, so
     * this is asked of the non-exact ones only. */
    if ((futex_capabilities() & FUTEX_CAP_SHARED) && !(futex_capabilities() & FUTEX_CAP_WAITV_EXACT))
        cross_process(0);
}

TEST_MAIN(waitv_bad_args, waitv_eagain_index, waitv_timeouts_never_early, waitv_each_word_wakes,
          waitv_wake_without_change, waitv_128_words, waitv_wakes_never_wasted, waitv_with_plain_waiters,
          waitv_many_threads_stress, waitv_timeouts_race_wakes, waitv_signal,
          waitv_signal_restart_deadline, waitv_cross_process, waitv_cross_process_store_only)
#else
TEST_MAIN(waitv_bad_args, waitv_eagain_index, waitv_timeouts_never_early, waitv_each_word_wakes,
          waitv_wake_without_change, waitv_128_words, waitv_wakes_never_wasted, waitv_with_plain_waiters,
          waitv_many_threads_stress, waitv_timeouts_race_wakes)
#endif
