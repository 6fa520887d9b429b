/* futex_watcher: bad input, the fd with a real poll(), fire / ready / re-arm
 * / remove, no change lost between re-arms, 1,000 idle registrations using
 * no CPU, and a word another process changes. */
#include "test.h"

static int supported(void)
{
    futex_watcher *w = NULL;
    int rc = futex_watcher_create(&w);
    if (rc == -ENOTSUP) {
        CHECK(w == NULL);
        return 0;
    }
    CHECK_EQ(rc, 0);
    futex_watcher_destroy(w);
    return 1;
}

static futex_watcher *make(void)
{
    futex_watcher *w = NULL;
    CHECK_EQ(futex_watcher_create(&w), 0);
    CHECK(w != NULL);
    CHECK(futex_watcher_fd(w) >= 0);
    return w;
}

TEST(watcher_bad_args, ANY)
{
    CHECK_EQ(futex_watcher_create(NULL), -EINVAL);
    CHECK_EQ(futex_watcher_fd(NULL), -EINVAL);
    uint32_t word = 0;
    CHECK_EQ(futex_watcher_add(NULL, &word, 0, 0), -EINVAL);
    CHECK_EQ(futex_watcher_rearm(NULL, 0, 0), -EINVAL);
    CHECK_EQ(futex_watcher_remove(NULL, 0), -EINVAL);
    CHECK_EQ(futex_watcher_ready(NULL, NULL, 0), -EINVAL);
    futex_watcher_destroy(NULL);
    if (!supported()) {
        /* Said where there is no fd or no thread to wait in. */
        CHECK(strcmp(futex_backend(), "single") == 0 || strcmp(futex_backend(), "windows") == 0 ||
              strcmp(futex_backend(), "wasm") == 0);
        return;
    }
    futex_watcher *w = make();
    CHECK_EQ(futex_watcher_add(w, NULL, 0, 0), -EINVAL);
    CHECK_EQ(futex_watcher_add(w, (const uint32_t *)(const void *)((const char *)&word + 2), 0, 0), -EINVAL);
    CHECK_EQ(futex_watcher_add(w, &word, 0, FUTEX_NOSPIN), -EINVAL);
    if (!(futex_capabilities() & FUTEX_CAP_SHARED))
        CHECK_EQ(futex_watcher_add(w, &word, 0, FUTEX_SHARED), -ENOTSUP);
    CHECK_EQ(futex_watcher_rearm(w, 0, 0), -EINVAL); /* nothing registered yet */
    CHECK_EQ(futex_watcher_remove(w, -1), -EINVAL);
    int id = futex_watcher_add(w, &word, 0, 0);
    CHECK(id >= 0);
    CHECK_EQ(futex_watcher_rearm(w, id + 1, 0), -EINVAL);
    CHECK_EQ(futex_watcher_remove(w, id), 0);
    CHECK_EQ(futex_watcher_remove(w, id), -EINVAL); /* twice */
    CHECK_EQ(futex_watcher_rearm(w, id, 0), -EINVAL);
    int ids[1];
    CHECK_EQ(futex_watcher_ready(w, NULL, 1), -EINVAL);
    CHECK_EQ(futex_watcher_ready(w, ids, 1), 0);
    futex_watcher_destroy(w);
}

#if !defined(_WIN32)
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* Is the fd readable within ms (poll(2), as an event loop does)? */
static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int rc;
    while ((rc = poll(&p, 1, ms)) < 0 && errno == EINTR) {
    }
    CHECK(rc >= 0);
    return rc == 1 && (p.revents & POLLIN);
}

TEST(watcher_poll_fires, FORK)
{
    if (!supported())
        return;
    futex_watcher *w = make();
    int fd = futex_watcher_fd(w);
    uint32_t words[3] = {10, 20, 30};
    int id[3];
    for (int i = 0; i < 3; i++)
        CHECK((id[i] = futex_watcher_add(w, &words[i], words[i], 0)) >= 0);
    CHECK(!readable(fd, 50));
    futex_store(&words[1], 21);
    futex_wake(&words[1], 1, FUTEX_PRIVATE);
    CHECK(readable(fd, 10000));
    int got[4];
    CHECK_EQ(futex_watcher_ready(w, got, 4), 1);
    CHECK_EQ(got[0], id[1]);
    CHECK(!readable(fd, 0)); /* drained */
    /* Fired means disarmed: another change of it says nothing... */
    futex_store(&words[1], 22);
    futex_wake(&words[1], 1, FUTEX_PRIVATE);
    CHECK(!readable(fd, 50));
    /* ...while the others still watch. Two at once: both reported. */
    futex_store(&words[0], 11);
    futex_store(&words[2], 31);
    futex_wake(&words[0], 1, FUTEX_PRIVATE);
    futex_wake(&words[2], 1, FUTEX_PRIVATE);
    int seen0 = 0, seen2 = 0;
    for (int k = 0; k < 100 && !(seen0 && seen2); k++) {
        CHECK(readable(fd, 10000));
        int n = futex_watcher_ready(w, got, 4);
        for (int j = 0; j < n; j++) {
            CHECK(got[j] == id[0] || got[j] == id[2]);
            seen0 |= got[j] == id[0];
            seen2 |= got[j] == id[2];
        }
    }
    CHECK(seen0 && seen2);
    CHECK(!readable(fd, 0));
    futex_watcher_destroy(w);
}

TEST(watcher_wake_alone_fires, FORK)
{
    if (!supported())
        return;
    futex_watcher *w = make();
    uint32_t word = 5;
    int id = futex_watcher_add(w, &word, 5, 0);
    CHECK(!readable(futex_watcher_fd(w), 50));
    futex_wake(&word, FUTEX_ALL, FUTEX_PRIVATE);
    CHECK(readable(futex_watcher_fd(w), 10000));
    int got;
    CHECK_EQ(futex_watcher_ready(w, &got, 1), 1);
    CHECK_EQ(got, id);
    futex_watcher_destroy(w);
}

TEST(watcher_rearm_and_remove, FORK)
{
    if (!supported())
        return;
    futex_watcher *w = make();
    int fd = futex_watcher_fd(w);
    uint32_t a = 1, b = 1;
    /* Already different: fires at once. */
    int ia = futex_watcher_add(w, &a, 0, 0);
    CHECK(readable(fd, 10000));
    int got[2];
    CHECK_EQ(futex_watcher_ready(w, got, 2), 1);
    CHECK_EQ(got[0], ia);
    /* Re-armed with the old value while the word moved on: fires at once
     * (the change between the arms is not lost). */
    CHECK_EQ(futex_watcher_rearm(w, ia, 0), 0);
    CHECK(readable(fd, 10000));
    /* Re-arming a fired id not yet read withdraws it from ready. */
    CHECK_EQ(futex_watcher_rearm(w, ia, 1), 0);
    CHECK(!readable(fd, 50));
    CHECK_EQ(futex_watcher_ready(w, got, 2), 0);
    futex_store(&a, 2);
    futex_wake(&a, 1, FUTEX_PRIVATE);
    CHECK(readable(fd, 10000));
    CHECK_EQ(futex_watcher_ready(w, got, 2), 1);
    CHECK_EQ(got[0], ia);
    /* A removed registration never fires; its id is reused. */
    int ib = futex_watcher_add(w, &b, 1, 0);
    CHECK(ib >= 0 && ib != ia);
    CHECK_EQ(futex_watcher_remove(w, ib), 0);
    futex_store(&b, 2);
    futex_wake(&b, 1, FUTEX_PRIVATE);
    CHECK(!readable(fd, 100));
    CHECK_EQ(futex_watcher_ready(w, got, 2), 0);
    CHECK_EQ(futex_watcher_add(w, &b, 2, 0), ib);
    /* Removing a fired id not yet read withdraws it too. */
    futex_store(&b, 3);
    futex_wake(&b, 1, FUTEX_PRIVATE);
    CHECK(readable(fd, 10000));
    CHECK_EQ(futex_watcher_remove(w, ib), 0);
    CHECK(!readable(fd, 0));
    CHECK_EQ(futex_watcher_ready(w, got, 2), 0);
    futex_watcher_destroy(w);
}

/* ---- no change lost between re-arms -------------------------------------- */

typedef struct {
    uint32_t word, ack;
    uint32_t rounds;
} pp_arg;

static void *producer(void *p)
{
    pp_arg *a = p;
    for (uint32_t i = 1; i <= a->rounds; i++) {
        futex_store(&a->word, i);
        futex_wake(&a->word, 1, FUTEX_PRIVATE);
        uint32_t v;
        while ((v = futex_load(&a->ack)) != i)
            futex_wait(&a->ack, v, 0);
    }
    return NULL;
}

/* A producer thread changes a word `rounds` times, each time waiting for our
 * acknowledgement; we learn of each change only through the fd. A change
 * lost between ready() and the re-arm would hang here (and fail by the
 * poll's timeout). `idle` more registrations that never change put the
 * word among several hundred (Linux: io_uring's FUTEX_WAITV groups, or the
 * library's own multi-wait). */
static void no_lost_change(uint32_t rounds, uint32_t idle)
{
    futex_watcher *w = make();
    int fd = futex_watcher_fd(w);
    uint32_t *others = calloc(idle + 1, sizeof *others);
    CHECK(others != NULL);
    for (uint32_t i = 0; i < idle; i++)
        CHECK(futex_watcher_add(w, &others[i], 0, 0) >= 0);
    pp_arg a;
    memset(&a, 0, sizeof a);
    a.rounds = rounds;
    int id = futex_watcher_add(w, &a.word, 0, 0);
    pthread_t t = spawn(producer, &a);
    uint32_t seen = 0;
    while (seen < a.rounds) {
        CHECK(readable(fd, 20000));
        int got;
        if (futex_watcher_ready(w, &got, 1) == 0)
            continue; /* nothing but a stale token */
        CHECK_EQ(got, id);
        uint32_t v = futex_load(&a.word);
        CHECK_EQ(v, seen + 1); /* one change per round, none skipped */
        seen = v;
        CHECK_EQ(futex_watcher_rearm(w, id, v), 0);
        futex_store(&a.ack, v);
        futex_wake(&a.ack, 1, FUTEX_PRIVATE);
    }
    join(t);
    futex_watcher_destroy(w);
    free(others);
}

TEST(watcher_no_lost_change, FORK)
{
    if (!supported())
        return;
    no_lost_change(2000, 0);
    no_lost_change(300, 300);
}

/* ---- 1,000 idle registrations ---------------------------------------------- */

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    CHECK_EQ(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void idle_watch(unsigned flags, uint32_t count)
{
    futex_watcher *w = make();
    uint32_t *words = calloc(count, sizeof *words);
    CHECK(words != NULL);
    for (uint32_t i = 0; i < count; i++)
        CHECK_EQ(futex_watcher_add(w, &words[i], 0, flags), (int)i);
    sleep_ms(200); /* let the helper arm them all */
    uint64_t c0 = cpu_ns(), t0 = now_ns();
    CHECK(!readable(futex_watcher_fd(w), 1000));
    uint64_t cpu = cpu_ns() - c0, wall = now_ns() - t0;
    printf("[%u registrations: %.2f ms CPU over %.0f ms] ", count, cpu / 1e6, wall / 1e6);
    /* Generous: no polling loop burns under 5% of a CPU at idle, and a
     * busy one burns about 100%. */
    CHECK(cpu < wall / 20);
    /* And every one of them still watches: the last and the first fire. */
    uint32_t pick[2] = {count - 1, 0};
    for (int k = 0; k < 2; k++) {
        futex_store(&words[pick[k]], 1);
        futex_wake(&words[pick[k]], 1, flags);
        CHECK(readable(futex_watcher_fd(w), 10000));
        int got;
        CHECK_EQ(futex_watcher_ready(w, &got, 1), 1);
        CHECK_EQ(got, (int)pick[k]);
    }
    futex_watcher_destroy(w);
    free(words);
}

TEST(watcher_idle_1000_no_cpu, FORK)
{
    if (!supported())
        return;
    idle_watch(FUTEX_PRIVATE, 1000);
    /* Shared words: in one FUTEX_WAITV, in several through io_uring (Linux
     * 6.7+), or re-checked in slices where wakes from other processes cannot
     * be seen otherwise (a few ms of CPU a second: within the bound). */
    if (futex_capabilities() & FUTEX_CAP_SHARED) {
        idle_watch(FUTEX_SHARED, FUTEX_WAITV_LIMIT - 1);
        idle_watch(FUTEX_SHARED, 1000);
    }
}

/* ---- remove, then unmap ---------------------------------------------------- */

TEST(watcher_remove_then_unmap, FORK)
{
    /* Once futex_watcher_remove returns the word may go: the helper must not
     * be left in a wait that reads it (re-check slices read shared words
     * over and over; 200 words put Linux on them too). A read of the unmapped
     * page would kill the process. */
    if (!supported())
        return;
    unsigned flags = (futex_capabilities() & FUTEX_CAP_SHARED) ? FUTEX_SHARED : FUTEX_PRIVATE;
    futex_watcher *w = make();
    for (int round = 0; round < 20; round++) {
        uint32_t count = round % 2 ? 200 : 4;
        uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        CHECK(m != MAP_FAILED);
        int id[200];
        for (uint32_t i = 0; i < count; i++)
            CHECK((id[i] = futex_watcher_add(w, &m[i], 0, flags)) >= 0);
        sleep_ms(5); /* the helper is in a wait over them now, or about to be */
        for (uint32_t i = 0; i < count; i++)
            CHECK_EQ(futex_watcher_remove(w, id[i]), 0);
        CHECK_EQ(munmap(m, 4096), 0);
    }
    sleep_ms(50); /* slices of any wait still holding a word would fault now */
    uint32_t word = 0;
    int id = futex_watcher_add(w, &word, 0, 0);
    futex_store(&word, 1);
    futex_wake(&word, 1, FUTEX_PRIVATE);
    CHECK(readable(futex_watcher_fd(w), 10000));
    int got;
    CHECK_EQ(futex_watcher_ready(w, &got, 1), 1);
    CHECK_EQ(got, id);
    futex_watcher_destroy(w);
}

/* ---- many registrations come and go ---------------------------------------- */

TEST(watcher_many_come_and_go, FORK)
{
    /* 1,000 armed registrations removed while the helper waits on them, then
     * as many added again: a removed one never fires; freed ids are reused,
     * each once (no two live registrations share an id); a word among the
     * new ones fires as its own id. */
    if (!supported())
        return;
    enum { N = 1000 };
    futex_watcher *w = make();
    int fd = futex_watcher_fd(w);
    uint32_t *words = calloc(N, sizeof *words);
    int *id = calloc(N, sizeof *id);
    char *seen = calloc(2 * N, 1);
    CHECK(words != NULL && id != NULL && seen != NULL);
    for (int i = 0; i < N; i++)
        CHECK((id[i] = futex_watcher_add(w, &words[i], 0, 0)) >= 0);
    sleep_ms(20); /* the helper waits over them now, or is about to */
    for (int i = 0; i < N; i++)
        CHECK_EQ(futex_watcher_remove(w, id[i]), 0);
    for (int i = 0; i < N; i += 97) {
        futex_store(&words[i], 1);
        futex_wake(&words[i], 1, FUTEX_PRIVATE);
    }
    CHECK(!readable(fd, 100));
    for (int i = 0; i < N; i++) {
        futex_store(&words[i], 0);
        CHECK((id[i] = futex_watcher_add(w, &words[i], 0, 0)) >= 0);
        CHECK(id[i] < N); /* a freed id, not a new one */
        CHECK(!seen[id[i]]);
        seen[id[i]] = 1;
    }
    futex_store(&words[N / 2], 1);
    futex_wake(&words[N / 2], 1, FUTEX_PRIVATE);
    CHECK(readable(fd, 10000));
    int got[2];
    CHECK_EQ(futex_watcher_ready(w, got, 2), 1);
    CHECK_EQ(got[0], id[N / 2]);
    futex_watcher_destroy(w);
    free(words), free(id), free(seen);
}

/* ---- the primitives' announcements ------------------------------------------ */

TEST(watcher_mutex_announce, FORK)
{
    futex_mutex m;
    memset(&m, 0, sizeof m);
    futex_waitv_item it;
    CHECK_EQ(futex_mutex_announce(NULL, 0, &it), -EINVAL);
    CHECK_EQ(futex_mutex_announce(&m, 0, NULL), -EINVAL);
    CHECK_EQ(futex_mutex_announce(&m, 0x100, &it), -EINVAL);
    CHECK_EQ(futex_mutex_withdraw(&m, 0, 4), -EINVAL);
    CHECK_EQ(futex_mutex_announce(&m, 0, &it), -EAGAIN); /* free: take it instead */
    CHECK_EQ(m.u32_[0], 0u);                                /* and nothing written */
    if (!supported())
        return;
    futex_watcher *w = make();
    int fd = futex_watcher_fd(w);
    CHECK_EQ(futex_mutex_lock(&m, 0), 0);
    uint32_t held = m.u32_[0];
    CHECK_EQ(futex_mutex_announce(&m, 0, &it), 0);
    CHECK(it.word == &m.u32_[0]);
    CHECK_EQ(it.expected, held | 0x80000000u); /* the WAITERS bit, in the word as registered */
    CHECK_EQ(m.u32_[0], it.expected);
    int id = futex_watcher_add(w, it.word, it.expected, it.flags);
    CHECK(id >= 0);
    CHECK(!readable(fd, 50));
    /* The unlock sees WAITERS and wakes: the watcher learns of it (on an
     * exact OS wait only through that wake). */
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
    CHECK(readable(fd, 10000));
    int got;
    CHECK_EQ(futex_watcher_ready(w, &got, 1), 1);
    CHECK_EQ(got, id);
    CHECK_EQ(futex_watcher_remove(w, id), 0);
    CHECK_EQ(futex_mutex_trylock(&m, 0), 0);
    CHECK_EQ(m.u32_[0] & 0x80000000u, 0u);
    CHECK_EQ(futex_mutex_withdraw(&m, 0, FUTEX_WITHDRAW_TOOK), 0);
    CHECK_EQ(m.u32_[0] & 0x80000000u, 0x80000000u); /* kept for the sleepers behind us */
    CHECK_EQ(futex_mutex_withdraw(&m, 0, FUTEX_WITHDRAW_PASS_ON), 0);
    CHECK_EQ(futex_mutex_unlock(&m, 0), 0);
    futex_watcher_destroy(w);
}

TEST(watcher_sem_announce, FORK)
{
    futex_sem s;
    memset(&s, 0, sizeof s);
    futex_waitv_item it;
    CHECK_EQ(futex_sem_announce(NULL, 0, &it), -EINVAL);
    CHECK_EQ(futex_sem_announce(&s, 0, NULL), -EINVAL);
    CHECK_EQ(futex_sem_withdraw(&s, 0, FUTEX_WITHDRAW_TOOK), -EINVAL);
    CHECK_EQ(s.u32_[1], 0u);
    if (!supported())
        return;
    futex_watcher *w = make();
    int fd = futex_watcher_fd(w);
    CHECK_EQ(futex_sem_announce(&s, 0, &it), 0);
    CHECK(it.word == &s.u32_[0]);
    CHECK_EQ(it.expected, 0u);
    CHECK_EQ(s.u32_[1], 1u); /* counted: a post wakes */
    int id = futex_watcher_add(w, it.word, it.expected, it.flags);
    CHECK(id >= 0);
    CHECK(!readable(fd, 50));
    CHECK_EQ(futex_sem_post(&s, 1, 0), 0);
    CHECK(readable(fd, 10000));
    int got;
    CHECK_EQ(futex_watcher_ready(w, &got, 1), 1);
    CHECK_EQ(got, id);
    CHECK_EQ(futex_watcher_remove(w, id), 0);
    CHECK_EQ(futex_sem_withdraw(&s, 0, FUTEX_WITHDRAW_PASS_ON), 0);
    CHECK_EQ(s.u32_[1], 0u);
    CHECK_EQ(futex_sem_trywait(&s), 0);
    futex_watcher_destroy(w);
}

TEST(watcher_event_announce, FORK)
{
    futex_event e;
    memset(&e, 0, sizeof e);
    futex_waitv_item it;
    CHECK_EQ(futex_event_announce(NULL, 0, NULL, &it), -EINVAL);
    CHECK_EQ(futex_event_announce(&e, 0, NULL, NULL), -EINVAL);
    CHECK_EQ(futex_event_set(&e, 0), 0);
    CHECK_EQ(futex_event_announce(&e, 0, NULL, &it), -EAGAIN); /* set: nothing to wait for */
    CHECK_EQ(futex_event_clear(&e), 0);
    CHECK_EQ(futex_event_announce(&e, 0, NULL, &it), 0);
    CHECK(it.word == &e.u32_[0]);
    CHECK_EQ(it.expected & 3u, 2u); /* WAITERS, not SET */
    uint32_t since = it.expected;
    CHECK_EQ(futex_event_announce(&e, 0, &since, &it), 0); /* nothing happened since */
    CHECK_EQ(it.expected, since);
    if (supported()) {
        futex_watcher *w = make();
        int id = futex_watcher_add(w, it.word, it.expected, it.flags);
        CHECK(id >= 0);
        CHECK(!readable(futex_watcher_fd(w), 50));
        CHECK_EQ(futex_event_set(&e, 0), 0);
        CHECK(readable(futex_watcher_fd(w), 10000));
        futex_watcher_destroy(w);
    } else {
        CHECK_EQ(futex_event_set(&e, 0), 0);
    }
    CHECK_EQ(futex_event_clear(&e), 0);
    /* Set and cleared since the first announcement: over. */
    CHECK_EQ(futex_event_announce(&e, 0, &since, &it), -EAGAIN);
    CHECK_EQ(futex_event_announce(&e, 0, NULL, &it), 0);
}

/* ---- another process ------------------------------------------------------- */

static void watch_other_process(uint32_t count)
{
    uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    futex_watcher *w = make();
    int fd = futex_watcher_fd(w);
    int id[1024];
    for (uint32_t i = 0; i < count; i++)
        CHECK((id[i] = futex_watcher_add(w, &m[i], 0, FUTEX_SHARED)) >= 0);
    CHECK(!readable(fd, 50));
    for (uint32_t round = 0; round < 3; round++) {
        uint32_t target = (round * 37 + count / 2 + 1) % count;
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            /* The child never touches the watcher: it only changes and wakes. */
            sleep_ms(50);
            futex_store(&m[target], round + 1);
            futex_wake(&m[target], 1, FUTEX_SHARED);
            _exit(0);
        }
        CHECK(readable(fd, 20000));
        int got[4];
        CHECK_EQ(futex_watcher_ready(w, got, 4), 1);
        CHECK_EQ(got[0], id[target]);
        CHECK_EQ(futex_watcher_rearm(w, id[target], round + 1), 0);
        int status;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    futex_watcher_destroy(w);
    munmap(m, 4096);
}

TEST(watcher_cross_process, FORK)
{
    if (!supported() || !(futex_capabilities() & FUTEX_CAP_SHARED))
        return;
    watch_other_process(4);
    /* More than one kernel FUTEX_WAITV takes: the library's own multi-wait,
     * which must re-check shared words that another process wakes. */
    watch_other_process(FUTEX_WAITV_LIMIT + 72);
}

TEST_MAIN(watcher_bad_args, watcher_poll_fires, watcher_wake_alone_fires, watcher_rearm_and_remove,
          watcher_no_lost_change, watcher_idle_1000_no_cpu, watcher_remove_then_unmap, watcher_many_come_and_go,
          watcher_mutex_announce, watcher_sem_announce, watcher_event_announce, watcher_cross_process)
#else
TEST_MAIN(watcher_bad_args)
#endif
