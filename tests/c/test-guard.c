/* Fault guards: a word whose file another process shrank faults (SIGBUS);
 * inside futex_guard_begin/end that is -EFAULT and the process goes on,
 * while a fault anywhere else still reaches the handler installed before
 * (or the default, which kills). */
#include "test.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* An 8 KiB file, mapped shared; the word at 4100 is on the second page. */
static uint32_t *map_file(int *fd_out, unsigned char **base)
{
    char path[] = "/tmp/futex-guard-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK_EQ(ftruncate(fd, 8192), 0);
    void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    *fd_out = fd;
    *base = p;
    return (uint32_t *)(void *)((unsigned char *)p + 4100);
}

TEST(shrunk_file_is_efault, FORK)
{
    int fd;
    unsigned char *base;
    uint32_t *w = map_file(&fd, &base);
    CHECK_EQ(futex_guard_begin(w), 0);
    futex_store(w, 7);
    CHECK_EQ(futex_load(w), 7);
    CHECK_EQ(futex_guard_end(), 0);
    CHECK_EQ(ftruncate(fd, 0), 0); /* what another process can do */
    CHECK_EQ(futex_guard_begin(w), 0);
    (void)futex_fetch_add(w, 1); /* faults: completes on a zero page */
    CHECK_EQ(futex_guard_end(), -EFAULT);
    /* Later operations fail at once, without touching the page; a wait too. */
    CHECK_EQ(futex_guard_begin(w), -EFAULT);
    CHECK_EQ(futex_guard_begin(w + 1), -EFAULT); /* the same page */
    /* The first page, still backed by nothing either: a wait on it faults in
     * the front layer's check, and nothing is left locked (a second wait on
     * the parking lot's bucket would hang). */
    uint32_t *w0 = (uint32_t *)(void *)base;
    for (int i = 0; i < 2; i++) {
        int begin = futex_guard_begin(w0);
        if (begin == 0) {
            int rc = futex_timed_wait(w0, 0, 1000000u, FUTEX_NOSPIN);
            CHECK(rc == -ETIMEDOUT || rc == -EAGAIN);
            CHECK_EQ(futex_guard_end(), -EFAULT);
        } else {
            CHECK_EQ(begin, -EFAULT);
        }
    }
    futex_guard_forget(base, 8192); /* the mapping goes; its address may come back */
    CHECK_EQ(futex_guard_begin(w), 0);
    CHECK_EQ(futex_guard_end(), 0);
    munmap(base, 8192);
    close(fd);
}

static sigjmp_buf escape;
static void previous_handler(int sig)
{
    (void)sig;
    siglongjmp(escape, 1);
}

TEST(fault_elsewhere_reaches_previous_handler, FORK)
{
    /* A program's own SIGBUS handler, installed before libfutex's, still
     * sees a fault outside a guard (and inside one on another page). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = previous_handler;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGBUS, &sa, NULL), 0);
    int fd;
    unsigned char *base;
    uint32_t *w = map_file(&fd, &base);
    CHECK_EQ(futex_guard_begin(w), 0); /* installs libfutex's handler */
    CHECK_EQ(futex_guard_end(), 0);
    CHECK_EQ(ftruncate(fd, 0), 0);
    volatile int reached = 0;
    if (sigsetjmp(escape, 1) == 0)
        (void)*(volatile uint32_t *)(void *)base; /* unguarded: not ours */
    else
        reached = 1;
    CHECK(reached);
    reached = 0;
    CHECK_EQ(futex_guard_begin(w), 0); /* guarding page 2, faulting on page 1 */
    if (sigsetjmp(escape, 1) == 0)
        (void)*(volatile uint32_t *)(void *)base;
    else
        reached = 1;
    futex_guard_end();
    CHECK(reached);
    munmap(base, 8192);
    close(fd);
}

TEST(fault_elsewhere_stays_fatal, FORK)
{
    /* With no handler before ours, an unguarded fault kills as it always did. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int fd;
        unsigned char *base;
        uint32_t *w = map_file(&fd, &base);
        futex_guard_begin(w);
        futex_guard_end();
        if (ftruncate(fd, 0) != 0)
            _exit(2);
        (void)*(volatile uint32_t *)(void *)base;
        _exit(0); /* survived a fault nobody guarded: wrong */
    }
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    /* Killed by the SIGBUS -- or, under a sanitizer, whose handler came
     * before ours, reported by it and exited: never survived. */
    CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
    if (WIFSIGNALED(status))
        CHECK_EQ(WTERMSIG(status), SIGBUS);
}

TEST_MAIN(shrunk_file_is_efault, fault_elsewhere_reaches_previous_handler, fault_elsewhere_stays_fatal)
#else
int main(void) { return 0; }
#endif
