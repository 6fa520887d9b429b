/* A library never aborts its host: an errno the OS was not documented to
 * return (a seccomp filter's EACCES or ENOMEM) comes back as that negative
 * errno, and futex_strerror names it. */
#include "test.h"

#if defined(__linux__)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* In a forked child: every futex(2) call fails with `err` from here on. */
static void deny_futex(int err)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        _exit(90);
}

/* In a forked child: make every futex(2) call fail with `err`, then call
 * the library. Exit 0 if both calls handed the errno back; any other exit
 * code says which did not; SIGABRT is the bug this guards against. */
static void child_under_filter(int err)
{
    deny_futex(err);
    uint32_t w = 0;
    /* A private word nobody sleeps on: the wake knows it without the OS. */
    if (futex_wake(&w, 1, FUTEX_PRIVATE) != 0)
        _exit(94);
    if (futex_wake(&w, 1, FUTEX_SHARED) != -err)
        _exit(91);
    if (futex_timed_wait(&w, 0, 1000000u, FUTEX_NOSPIN) != -err)
        _exit(92);
    if (futex_wait(&w, 0, FUTEX_NOSPIN) != -err)
        _exit(93);
    _exit(0);
}
#endif

TEST(unexpected_errno_is_returned, ANY)
{
    /* Every errno has a description that is not the generic one's, for the
     * ones a sandbox returns, and never a NULL. */
    static const int named[] = {EACCES, ENOMEM, EPERM, ENOSYS, EFAULT};
    const char *generic = futex_strerror(-4000);
    CHECK(generic != NULL && strstr(generic, "errno") != NULL);
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        CHECK(strcmp(futex_strerror(-named[i]), generic) != 0);
    CHECK(strstr(futex_strerror(-EACCES), "EACCES") != NULL);
    CHECK(strstr(futex_strerror(-ENOMEM), "ENOMEM") != NULL);
    CHECK(strstr(futex_strerror(-EFAULT), "shrank") != NULL);
#if defined(__linux__)
    /* Only the linux backend calls futex(2) itself: the parking lot's
     * condvars (glibc) and the BSD emulations are built on it too, and a
     * filter on them tests glibc and the emulation, not the backend. */
    if (strcmp(futex_backend(), "linux") != 0)
        return;
    static const int errs[] = {EACCES, ENOMEM, EBUSY};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            child_under_filter(errs[i]);
        int status = 0;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status))
            fprintf(stderr, "child for errno %d killed by signal %d\n", errs[i], WTERMSIG(status));
        CHECK(WIFEXITED(status));
        CHECK_EQ(WEXITSTATUS(status), 0);
    }
#endif
}

#if defined(__linux__)
static uint32_t asleep_word, asleep_many[2];

static void *sleep_on_one(void *arg)
{
    futex_store((uint32_t *)arg, (uint32_t)self_tid());
    CHECK_EQ(futex_wait(&asleep_word, 0, FUTEX_NOSPIN | FUTEX_PRIVATE), 0);
    return NULL;
}

static void *sleep_on_many(void *arg)
{
    futex_waitv_item items[2] = {{&asleep_many[0], 0, FUTEX_PRIVATE}, {&asleep_many[1], 0, FUTEX_PRIVATE}};
    futex_store((uint32_t *)arg, (uint32_t)self_tid());
    CHECK(futex_waitv(items, 2, NULL, FUTEX_NOSPIN, NULL) >= 0);
    return NULL;
}
#endif

TEST(forked_child_skips_parent_sleepers, THREADS)
{
    /* A child forked while its parent's threads sleep on private words (one
     * word, and a multi-word wait) has none of those threads: its private
     * wake, on those very words, knows there is nobody to wake without the
     * OS. Seen through a filter that fails every futex(2) call in the
     * child: a wake that went to the OS would return its errno. */
#if defined(__linux__)
    if (strcmp(futex_backend(), "linux") != 0)
        return; /* as above: only this backend's OS path is futex(2) itself */
    uint32_t tid[2] = {0, 0};
    pthread_t one, many;
    CHECK_EQ(pthread_create(&one, NULL, sleep_on_one, &tid[0]), 0);
    CHECK_EQ(pthread_create(&many, NULL, sleep_on_many, &tid[1]), 0);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 20000 && futex_load(&tid[k]) == 0; i++)
            sleep_ms(1);
        CHECK(futex_load(&tid[k]) != 0);
        for (int i = 0; i < 20000 && !is_sleeping((long)futex_load(&tid[k])); i++)
            sleep_ms(1);
    }
    sleep_ms(20);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        deny_futex(EACCES);
        _exit(futex_wake(&asleep_word, 1, FUTEX_PRIVATE) != 0       ? 1
              : futex_wake(&asleep_many[1], 1, FUTEX_PRIVATE) != 0 ? 2
                                                                    : 0);
    }
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    /* The parent's counts are its own: its wakes still reach its sleepers. */
    futex_store(&asleep_word, 1);
    CHECK_EQ(futex_wake(&asleep_word, 1, FUTEX_PRIVATE), 1);
    futex_store(&asleep_many[1], 1);
    CHECK_EQ(futex_wake(&asleep_many[1], 1, FUTEX_PRIVATE), 1);
    join(one);
    join(many);
#endif
}

TEST_MAIN(unexpected_errno_is_returned, forked_child_skips_parent_sleepers)
