/* Processes: FUTEX_SHARED ping-pong between a parent and a forked child over
 * an anonymous shared mapping and over a file both map on their own; and a
 * fork while other threads hold the library's locks. */
#include "test.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PINGS 10000

static void check_child(pid_t pid)
{
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

/* The parent writes odd values and the child even ones; each waits for the
 * other's before writing its next. A value out of turn means a lost or
 * doubled wakeup. */
static void pingpong(uint32_t *word, const char *path)
{
    futex_store(word, 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(60); /* a lost wakeup kills the child instead of hanging it */
        uint32_t *w = word;
        if (path != NULL) {
            /* Map the file again: another virtual address for the same page. */
            int fd = open(path, O_RDWR);
            if (fd < 0)
                _exit(10);
            void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED)
                _exit(11);
            close(fd);
            w = (uint32_t *)m + 1;
        }
        /* The child answers each odd value with the next even one. */
        for (uint32_t i = 0; i < PINGS; i++) {
            uint32_t want = 2 * i + 1;
            uint32_t v;
            while ((v = futex_load(w)) != want) {
                if (v != want - 1)
                    _exit(20);
                int rc = futex_wait(w, v, FUTEX_SHARED);
                if (rc != 0 && rc != -EAGAIN && rc != -EINTR)
                    _exit(21);
            }
            futex_store(w, want + 1);
            int n = futex_wake(w, 1, FUTEX_SHARED);
            if (n < 0 && n != FUTEX_UNCOUNTED)
                _exit(22);
        }
        _exit(0);
    }
    for (uint32_t i = 0; i < PINGS; i++) {
        uint32_t mine = 2 * i + 1;
        CHECK_EQ(futex_load(word), mine - 1);
        futex_store(word, mine);
        int n = futex_wake(word, 1, FUTEX_SHARED);
        CHECK(n >= 0 || n == FUTEX_UNCOUNTED);
        uint32_t v;
        while ((v = futex_load(word)) == mine) {
            int rc = futex_wait(word, mine, FUTEX_SHARED);
            CHECK(rc == 0 || rc == -EAGAIN || rc == -EINTR);
        }
        CHECK_EQ(v, mine + 1);
    }
    check_child(pid);
    CHECK_EQ(futex_load(word), 2 * PINGS);
}

TEST(pingpong_anonymous, FORK)
{
    uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (futex_capabilities() & FUTEX_CAP_SHARED) {
        pingpong(m, NULL);
    } else {
        m[0] = 5;
        CHECK_EQ(futex_wait(m, 5, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(futex_wake(m, 1, FUTEX_SHARED), -ENOTSUP);
        CHECK_EQ(m[0], 5);
    }
    munmap(m, 4096);
}

TEST(pingpong_file, FORK)
{
    char path[] = "/tmp/libfutex-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, 4096), 0);
    uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    close(fd);
    if (futex_capabilities() & FUTEX_CAP_SHARED) {
        pingpong(m + 1, path);
    } else {
        CHECK_EQ(futex_timed_wait(m + 1, 0, 1000, FUTEX_SHARED), -ENOTSUP);
    }
    munmap(m, 4096);
    unlink(path);
}

#define CHURN_WORDS 1024 /* enough to land in every bucket of the parking lot */

typedef struct {
    uint32_t words[CHURN_WORDS];
    uint32_t stop;
} churn_arg;

static void *churn(void *arg)
{
    churn_arg *c = arg;
    for (unsigned i = 0; !futex_load(&c->stop); i++) {
        uint32_t *w = &c->words[(i * 7) % CHURN_WORDS];
        futex_timed_wait(w, 0, 1000, FUTEX_NOSPIN);
        futex_wake(w, FUTEX_ALL, FUTEX_PRIVATE);
    }
    return NULL;
}

TEST(fork_while_locked, FORK, THREADS)
{
    /* Two threads keep taking and releasing the library's internal locks
     * (the parking lot's buckets) while the main thread forks. A child that
     * inherited a held lock would hang in its first wait or wake. */
    static churn_arg c;
    memset(&c, 0, sizeof c);
    /* The parking lot sets itself up (pthread_once) in its first wait: done
     * here, before any fork. glibc's pthread_once survives a fork in its
     * middle, TSan's does not (the child waits for a setup that no thread of
     * its own runs). */
    CHECK_EQ(futex_timed_wait(&c.stop, 0, 1, FUTEX_NOSPIN), -ETIMEDOUT);
    pthread_t t1 = spawn(churn, &c), t2 = spawn(churn, &c);
    for (int i = 0; i < 150; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(5);
            uint32_t x = 0;
            for (int k = 0; k < CHURN_WORDS; k++) {
                if (futex_timed_wait(&c.words[k], 0, 1, FUTEX_NOSPIN) != -ETIMEDOUT)
                    _exit(1);
                int n = futex_wake(&c.words[k], FUTEX_ALL, FUTEX_PRIVATE);
                if (n < 0 && n != FUTEX_UNCOUNTED)
                    _exit(2);
            }
            _exit(futex_timed_wait(&x, 0, 1000, FUTEX_PRIVATE) == -ETIMEDOUT ? 0 : 3);
        }
        check_child(pid);
    }
    futex_store(&c.stop, 1);
    join(t1);
    join(t2);
}

TEST_MAIN(pingpong_anonymous, pingpong_file, fork_while_locked)

#else
int main(void) { return 0; }
#endif
