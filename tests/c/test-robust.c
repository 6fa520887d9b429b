/* Owner death of a futex_mutex: a thread or process that dies holding it
 * (exit or SIGKILL, at random points of its lock/unlock loop) never strands
 * the others; the next locker is told (-EOWNERDEAD), repairs, and calls
 * futex_mutex_consistent, or the mutex becomes unusable (-ENOTRECOVERABLE);
 * a waiter blocked when the owner dies gets the lock within 1 s; and all of
 * it coexists with glibc's robust pthread mutexes in the same thread. */
#include "test.h"

/* ---- a thread that exits holding it ------------------------------------------ */

#if defined(__linux__) || defined(_WIN32)
static futex_mutex thread_m;

static void *take_and_exit(void *p)
{
    (void)p;
    CHECK_EQ(futex_mutex_lock(&thread_m, 0), 0);
    return NULL; /* exits holding it */
}
#endif

/* A thread's death is seen on Linux (the robust list, or its tid's /proc
 * entry; the emulated OS backends run here on Linux too) and on Windows
 * (the thread id's exit code). */
TEST(owner_death_thread, THREADS)
{
#if defined(__linux__) || defined(_WIN32)
    memset(&thread_m, 0, sizeof thread_m);
    join(spawn(take_and_exit, NULL));
    uint32_t word = thread_m.u32_[0];
#if defined(__GLIBC__) && UINTPTR_MAX == UINT64_MAX
    if (strcmp(futex_backend(), "linux") == 0) {
        /* The kernel walked the dead thread's robust list and marked the
         * word before anyone looked: no tid, OWNER_DIED. */
        CHECK_EQ(word & 0x3FFFFFFFu, 0);
        CHECK(word & 0x40000000u);
    }
#endif
    (void)word;
    CHECK_EQ(futex_mutex_lock(&thread_m, 0), -EOWNERDEAD);
    CHECK_EQ(futex_mutex_consistent(&thread_m), 0);
    CHECK_EQ(futex_mutex_unlock(&thread_m, 0), 0);
    CHECK_EQ(futex_mutex_lock(&thread_m, 0), 0);
    CHECK_EQ(futex_mutex_unlock(&thread_m, 0), 0);
#endif
}

/* A polling trylock on a mutex a live thread holds: -EBUSY every time, and
 * the holder's death still seen (futex.h: trylock believes "alive" for at
 * most FUTEX_MUTEX_TRYLOCK_CHECK_NS; a holder in its kernel robust list,
 * which the layout's bytes 40..43 say, is reported by the kernel). */
#if defined(__linux__) || defined(_WIN32)
static futex_mutex poll_m;
static uint32_t poll_held, poll_go;

static void *hold_until_go(void *p)
{
    (void)p;
    CHECK_EQ(futex_mutex_lock(&poll_m, 0), 0);
    futex_store(&poll_held, 1);
    futex_wake(&poll_held, 1, 0);
    while (futex_load(&poll_go) == 0)
        futex_wait(&poll_go, 0, 0);
    return NULL; /* exits holding it */
}
#endif

TEST(trylock_poll_sees_death, THREADS)
{
#if defined(__linux__) || defined(_WIN32)
    memset(&poll_m, 0, sizeof poll_m);
    poll_held = poll_go = 0;
    pthread_t t = spawn(hold_until_go, NULL);
    while (futex_load(&poll_held) == 0)
        futex_wait(&poll_held, 0, 0);
    uint32_t robust = 0;
#if defined(__linux__) && defined(__GLIBC__) && UINTPTR_MAX == UINT64_MAX
    robust = strcmp(futex_backend(), "linux") == 0;
#endif
    CHECK_EQ(poll_m.u32_[10], robust); /* published with the owner fields */
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(futex_mutex_trylock(&poll_m, 0), -EBUSY);
    futex_store(&poll_go, 1);
    futex_wake(&poll_go, 1, 0);
    join(t);
    int rc = -EBUSY;
    uint64_t until = now_ns() + 10000000000u; /* generous: a trylock only sees it, nobody waits */
    while (rc == -EBUSY && now_ns() < until)
        rc = futex_mutex_trylock(&poll_m, 0);
    CHECK_EQ(rc, -EOWNERDEAD);
    CHECK_EQ(futex_mutex_consistent(&poll_m), 0);
    CHECK_EQ(futex_mutex_unlock(&poll_m, 0), 0);
#endif
}

/* A dead thread whose id the OS gave to us (Windows reuses thread ids at
 * once, Linux after pid_max): its lock is not ours. Made here by changing
 * the published start time (bytes 16..23 of the layout) to another thread's. */
TEST(reused_thread_id, ANY)
{
    static futex_mutex m;
    CHECK_EQ(futex_mutex_lock(&m, 0), 0);
    m.u32_[4] ^= 0x5A5A5A5Au; /* the holder's start time, now a predecessor's */
    CHECK_EQ(futex_mutex_is_owned(&m), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), -EPERM);
    CHECK_EQ(futex_mutex_consistent(&m), -EPERM);
    CHECK_EQ(futex_mutex_lock(&m, 0), -EOWNERDEAD); /* not -EDEADLK: the holder is gone */
    CHECK_EQ(futex_mutex_is_owned(&m), 1);
    CHECK_EQ(futex_mutex_lock(&m, 0), -EDEADLK); /* now it is ours */
    CHECK_EQ(futex_mutex_consistent(&m), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
    CHECK_EQ(futex_mutex_trylock(&m, 0), 0);
    m.u32_[4] ^= 0x5A5A5A5Au;
    CHECK_EQ(futex_mutex_trylock(&m, 0), -EOWNERDEAD);
    CHECK_EQ(futex_mutex_consistent(&m), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
}

/* A word whose holder never published its fields (it died right after
 * taking the word) is taken once it stays so for a check period; and on
 * Linux a holder of another pid namespace is never judged by /proc. The
 * holder is made up in the documented layout: a thread id nobody has. */
TEST(unpublished_and_foreign_owner, ANY)
{
    static futex_mutex m;
    m.u32_[0] = 0x3FFFFFF0u; /* held by "thread 0x3FFFFFF0", which does not exist */
    m.u32_[1] = 0;           /* ... and has not published itself */
    uint64_t t0 = now_ns(); /* before the first look, which may start the check period */
    CHECK_EQ(futex_mutex_trylock(&m, 0), -EBUSY); /* unpublished: cannot tell yet */
    CHECK_EQ(futex_mutex_lock(&m, 0), -EOWNERDEAD);
    CHECK(now_ns() - t0 >= FUTEX_MUTEX_CHECK_NS); /* not at the first look */
    CHECK_EQ(futex_mutex_consistent(&m), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
#if defined(__linux__)
    /* Published, but from another pid namespace: the tid means nothing here. */
    memset(&m, 0, sizeof m);
    m.u32_[0] = 0x3FFFFFF0u;
    m.u32_[1] = 0x3FFFFFF0u;
    m.u32_[3] = 12345u; /* not our namespace */
    futex_deadline d;
    futex_deadline_init(&d, 3 * (uint64_t)FUTEX_MUTEX_CHECK_NS);
    CHECK_EQ(futex_mutex_timedlock(&m, &d, 0), -ETIMEDOUT);
    CHECK_EQ(futex_mutex_trylock(&m, 0), -EBUSY);
    m.u32_[3] = 0; /* a holder that did not say: judged here, and dead */
    CHECK_EQ(futex_mutex_trylock(&m, 0), -EOWNERDEAD);
    CHECK_EQ(futex_mutex_consistent(&m), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
#endif
}

#if !defined(_WIN32)
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

static int can_share(void) { return (futex_capabilities() & FUTEX_CAP_SHARED) != 0; }

static void *shared_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

static void reap(pid_t pid)
{
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
}

/* Fork a child that takes m (shared) and sets *ready, then dies: by _exit
 * without unlocking, or by SIGKILL from us. */
static pid_t child_holding(futex_mutex *m, uint32_t *ready, int kill_it)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(60);
        if (futex_mutex_lock(m, FUTEX_SHARED) != 0)
            _exit(3);
        futex_store(ready, 1);
        futex_wake(ready, 1, FUTEX_SHARED);
        if (!kill_it)
            _exit(0); /* dies holding it */
        for (;;)
            pause();
    }
    while (futex_load(ready) == 0)
        futex_wait(ready, 0, FUTEX_SHARED);
    if (kill_it)
        kill(pid, SIGKILL);
    return pid;
}

typedef struct {
    futex_mutex m;
    uint32_t ready;
    uint32_t data; /* what the mutex protects */
} one;

TEST(owner_death_process, FORK)
{
    one *x = shared_map(sizeof(one));
    if (!can_share()) {
        CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(x->m.u32_[0], 0);
        return;
    }
    for (int kill_it = 0; kill_it < 2; kill_it++) {
        memset(x, 0, sizeof *x);
        pid_t pid = child_holding(&x->m, &x->ready, kill_it);
        reap(pid);
        /* The next locker gets it, told that the owner died. */
        CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), -EOWNERDEAD);
        CHECK_EQ(futex_mutex_is_owned(&x->m), 1);
        CHECK_EQ(futex_mutex_locked(&x->m), 1);
        CHECK_EQ(futex_mutex_consistent(&x->m), 0);
        CHECK_EQ(futex_mutex_consistent(&x->m), -EINVAL); /* once is enough */
        CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), 0);
        /* Repaired: an ordinary mutex again. */
        CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), 0);
        CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), 0);
        CHECK_EQ(futex_mutex_trylock(&x->m, FUTEX_SHARED), 0);
        CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), 0);
    }
    munmap(x, sizeof *x);
}

TEST(not_recoverable, FORK)
{
    one *x = shared_map(sizeof(one));
    if (!can_share()) {
        CHECK_EQ(futex_mutex_trylock(&x->m, FUTEX_SHARED), -ENOTSUP);
        return;
    }
    reap(child_holding(&x->m, &x->ready, 1));
    /* trylock notices the dead owner at once (nobody sleeps to notice). */
    CHECK_EQ(futex_mutex_trylock(&x->m, FUTEX_SHARED), -EOWNERDEAD);
    /* Unlock without consistent(): released, and unusable for good. */
    CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), -ENOTRECOVERABLE);
    CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), -ENOTRECOVERABLE);
    CHECK_EQ(futex_mutex_trylock(&x->m, FUTEX_SHARED), -ENOTRECOVERABLE);
    futex_deadline d;
    futex_deadline_init(&d, 10000000u);
    CHECK_EQ(futex_mutex_timedlock(&x->m, &d, FUTEX_SHARED), -ENOTRECOVERABLE);
    CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), -EPERM);
    CHECK_EQ(futex_mutex_consistent(&x->m), -EPERM);
    CHECK_EQ(futex_mutex_locked(&x->m), 1);
    /* A child process is told the same. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(futex_mutex_lock(&x->m, FUTEX_SHARED) == -ENOTRECOVERABLE ? 0 : 1);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    munmap(x, sizeof *x);
}

/* ---- a blocked waiter gets the lock within 1 s ------------------------------- */

typedef struct {
    pid_t victim;
    uint64_t killed_at;
} killer_arg;

static void *killer(void *p)
{
    killer_arg *k = p;
    sleep_ms(300); /* the main thread is asleep in futex_mutex_lock by now */
    k->killed_at = now_ns();
    kill(k->victim, SIGKILL);
    return NULL;
}

TEST(blocked_waiter_gets_lock, THREADS, FORK)
{
    one *x = shared_map(sizeof(one));
    if (!can_share()) {
        CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), -ENOTSUP);
        return;
    }
    uint64_t worst = 0;
    for (int run = 0; run < 3; run++) {
        memset(x, 0, sizeof *x);
        killer_arg k;
        memset(&k, 0, sizeof k);
        futex_store(&x->ready, 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(60);
            if (futex_mutex_lock(&x->m, FUTEX_SHARED) != 0)
                _exit(3);
            futex_store(&x->ready, 1);
            for (;;)
                pause();
        }
        while (futex_load(&x->ready) == 0)
            sleep_ms(1);
        k.victim = pid;
        pthread_t t = spawn(killer, &k);
        int rc = futex_mutex_lock(&x->m, FUTEX_SHARED); /* untimed: only owner death ends it */
        uint64_t got_at = now_ns();
        join(t);
        uint64_t latency = got_at - k.killed_at;
        reap(pid);
        CHECK_EQ(rc, -EOWNERDEAD);
        CHECK(latency < 1000000000u);
        if (latency > worst)
            worst = latency;
        CHECK_EQ(futex_mutex_consistent(&x->m), 0);
        CHECK_EQ(futex_mutex_unlock(&x->m, FUTEX_SHARED), 0);
    }
    printf("(detection latency up to %.3f ms) ", (double)worst / 1e6);
    munmap(x, sizeof *x);
}

/* ---- SIGKILL at random points, many runs --------------------------------------- */

typedef struct {
    futex_mutex m;
    uint32_t holder;     /* pid inside the critical section, 0 outside */
    uint32_t a, b;       /* the protected invariant: a == b outside the section */
    uint32_t violations; /* two holders at once, or a broken invariant not reported */
    uint32_t recoveries, stop, survivor_rounds;
} rk_shared;

/* One lock/unlock round: the same in the victims, the survivor and the parent. */
static int rk_round(rk_shared *x, uint32_t me, const futex_deadline *d)
{
    int rc = futex_mutex_timedlock(&x->m, d, FUTEX_SHARED);
    if (rc == -EOWNERDEAD) {
        /* The dead holder may have been anywhere: repair the invariant. */
        x->b = x->a;
        futex_exchange(&x->holder, me);
        futex_fetch_add(&x->recoveries, 1);
        if (futex_mutex_consistent(&x->m) != 0)
            futex_fetch_add(&x->violations, 1);
    } else if (rc == 0) {
        if (futex_exchange(&x->holder, me) != 0)
            futex_fetch_add(&x->violations, 1); /* someone else is inside, or died unreported */
        if (x->a != x->b)
            futex_fetch_add(&x->violations, 1); /* a half-done update nobody was told of */
    } else {
        return rc;
    }
    x->a++;
    for (volatile int i = 0; i < 50; i++) {
    }
    x->b++;
    if (futex_load(&x->holder) != me)
        futex_fetch_add(&x->violations, 1);
    futex_store(&x->holder, 0);
    rc = futex_mutex_unlock(&x->m, FUTEX_SHARED);
    return rc == 0 ? 0 : rc;
}

TEST(random_kill_never_two_holders, FORK)
{
    rk_shared *x = shared_map(sizeof(rk_shared));
    if (!can_share()) {
        CHECK_EQ(futex_mutex_lock(&x->m, FUTEX_SHARED), -ENOTSUP);
        return;
    }
    int runs = strcmp(futex_backend(), "linux") == 0 ? 200 : 60;
    srand((unsigned)now_ns());
    /* A survivor keeps contending with untimed locks through every death. */
    pid_t survivor = fork();
    CHECK(survivor >= 0);
    if (survivor == 0) {
        alarm(100);
        uint32_t me = (uint32_t)getpid();
        while (!futex_load(&x->stop)) {
            if (rk_round(x, me, NULL) != 0)
                _exit(1);
            futex_fetch_add(&x->survivor_rounds, 1);
        }
        _exit(0);
    }
    /* Until some kill has landed inside the lock too (nearly always within
     * the first runs), so that the recovery is always exercised. */
    int r = 0;
    for (; r < runs || (futex_load(&x->recoveries) == 0 && r < 10 * runs); r++) {
        pid_t victim = fork();
        CHECK(victim >= 0);
        if (victim == 0) {
            alarm(100);
            uint32_t me = (uint32_t)getpid();
            for (;;)
                if (rk_round(x, me, NULL) != 0)
                    _exit(1);
        }
        /* 0 .. 2 ms: before its first lock, inside, in the middle of a lock
         * or unlock word change, after it. */
        struct timespec ts = {0, (long)(rand() % 2000) * 1000L};
        nanosleep(&ts, NULL);
        kill(victim, SIGKILL);
        int status;
        CHECK_EQ(waitpid(victim, &status, 0), victim);
        CHECK(WIFSIGNALED(status)); /* killed, not failed */
        /* We contend too, with a generous deadline: a hang is a failure. */
        futex_deadline d;
        futex_deadline_init(&d, 10000000000u);
        CHECK_EQ(rk_round(x, (uint32_t)getpid(), &d), 0);
    }
    futex_store(&x->stop, 1);
    int status;
    CHECK_EQ(waitpid(survivor, &status, 0), survivor);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(x->violations, 0);
    CHECK(x->recoveries > 0); /* some kills did land inside */
    CHECK(x->survivor_rounds > 0);
    CHECK_EQ(futex_mutex_locked(&x->m), 0);
    printf("(%d kills, %u inside the lock) ", r, (unsigned)x->recoveries);
    munmap(x, sizeof *x);
}

/* ---- with glibc's robust mutexes in the same thread ---------------------------- */

#if defined(__GLIBC__) /* glibc's robust list is the one we share; other libcs have their own */
typedef struct {
    pthread_mutex_t ga, gb; /* glibc robust, process-shared */
    futex_mutex m;
    uint32_t ready;
} mix;

static void robust_init(pthread_mutex_t *g)
{
    pthread_mutexattr_t at;
    CHECK_EQ(pthread_mutexattr_init(&at), 0);
    CHECK_EQ(pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST), 0);
    CHECK_EQ(pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED), 0);
    CHECK_EQ(pthread_mutex_init(g, &at), 0);
    pthread_mutexattr_destroy(&at);
}

/* Interleave glibc's entries and ours in this thread's robust list, and
 * unlink from the middle both ways: glibc unlinks ga through our entry's
 * fields, we unlink ours through glibc's. Ends holding all three. */
static int mix_lock_all(mix *x, unsigned flags)
{
    if (pthread_mutex_lock(&x->ga) != 0 || futex_mutex_lock(&x->m, flags) != 0 || pthread_mutex_lock(&x->gb) != 0)
        return 1;
    for (int i = 0; i < 100; i++) {
        if (pthread_mutex_unlock(&x->ga) != 0 || pthread_mutex_lock(&x->ga) != 0)
            return 2;
        if (futex_mutex_unlock(&x->m, flags) != 0 || futex_mutex_lock(&x->m, flags) != 0)
            return 3;
    }
    return 0;
}

static void check_all_dead(mix *x, unsigned flags)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10; /* a corrupted list would leave glibc's mutexes unmarked: no hang, a failure */
    CHECK_EQ(pthread_mutex_timedlock(&x->ga, &ts), EOWNERDEAD);
    CHECK_EQ(pthread_mutex_timedlock(&x->gb, &ts), EOWNERDEAD);
    futex_deadline d;
    futex_deadline_init(&d, 10000000000u);
    CHECK_EQ(futex_mutex_timedlock(&x->m, &d, flags), -EOWNERDEAD);
    CHECK_EQ(pthread_mutex_consistent(&x->ga), 0);
    CHECK_EQ(pthread_mutex_consistent(&x->gb), 0);
    CHECK_EQ(futex_mutex_consistent(&x->m), 0);
    CHECK_EQ(pthread_mutex_unlock(&x->ga), 0);
    CHECK_EQ(pthread_mutex_unlock(&x->gb), 0);
    CHECK_EQ(futex_mutex_unlock(&x->m, flags), 0);
}

static void *mix_thread(void *p)
{
    CHECK_EQ(mix_lock_all(p, 0), 0);
    return NULL; /* exits holding all three */
}

#if defined(__linux__)
/* This thread's robust list is empty again: every entry we linked we unlinked. */
static void check_list_empty(void)
{
    void **head = NULL;
    size_t len = 0;
    CHECK_EQ(syscall(SYS_get_robust_list, 0, &head, &len), 0);
    CHECK(head != NULL);
    CHECK(*head == (void *)head);
}
#endif

#endif

TEST(glibc_robust_coexist, THREADS, FORK)
{
#if defined(__GLIBC__)
    mix *x = shared_map(sizeof(mix));
    robust_init(&x->ga);
    robust_init(&x->gb);

    /* In this thread: lock and unlock in every order, the list ends empty. */
    CHECK_EQ(mix_lock_all(x, 0), 0);
    CHECK_EQ(pthread_mutex_unlock(&x->ga), 0);
    CHECK_EQ(futex_mutex_unlock(&x->m, 0), 0);
    CHECK_EQ(pthread_mutex_unlock(&x->gb), 0);
#if defined(__linux__)
    check_list_empty();
#endif

    /* A thread that exits holding both kinds: both are recovered. */
    join(spawn(mix_thread, x));
    check_all_dead(x, 0);
#if defined(__linux__)
    check_list_empty();
#endif

    /* A process killed holding both kinds. */
    if (can_share()) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(60);
            if (mix_lock_all(x, FUTEX_SHARED) != 0)
                _exit(1);
            futex_store(&x->ready, 1);
            for (;;)
                pause();
        }
        while (futex_load(&x->ready) == 0)
            sleep_ms(1);
        kill(pid, SIGKILL);
        reap(pid);
        check_all_dead(x, FUTEX_SHARED);
    }
    munmap(x, sizeof *x);
#endif
}

/* ---- signals ------------------------------------------------------------------- */

static void on_usr1(int sig) { (void)sig; }

typedef struct {
    futex_mutex m;
    uint32_t started;
    int rc;
} sig_lock;

static sig_lock sl;

static void *sig_locker(void *p)
{
    (void)p;
    futex_store(&sl.started, 1);
    sl.rc = futex_mutex_lock(&sl.m, 0);
    return NULL;
}

/* A signal ends a blocked lock with -EINTR (where the backend reports
 * signals), without the lock; a call again then takes it. */
TEST(mutex_lock_eintr, THREADS, FORK)
{
    if (!(futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    memset(&sl, 0, sizeof sl);
    CHECK_EQ(futex_mutex_lock(&sl.m, 0), 0);
    pthread_t t = spawn(sig_locker, NULL);
    while (!futex_load(&sl.started))
        sleep_ms(1);
    sleep_ms(50);
    pthread_kill(t, SIGUSR1);
    join(t);
    CHECK_EQ(sl.rc, -EINTR);
    CHECK_EQ(futex_mutex_is_owned(&sl.m), 1); /* still ours: the interrupted lock took nothing */
    CHECK_EQ(futex_mutex_unlock(&sl.m, 0), 0);
    CHECK_EQ(futex_mutex_locked(&sl.m), 0);
}

TEST_MAIN(owner_death_process, not_recoverable, owner_death_thread, reused_thread_id, unpublished_and_foreign_owner,
          blocked_waiter_gets_lock, random_kill_never_two_holders, glibc_robust_coexist, mutex_lock_eintr,
          trylock_poll_sees_death)

#else
TEST_MAIN(owner_death_thread, reused_thread_id, unpublished_and_foreign_owner, trylock_poll_sees_death)
#endif
