/*
 * The C part of `make demo`: a parent and a forked child ping-pong over one
 * word in a MAP_SHARED mapping for a few seconds, and print round trips per
 * second. Usage: futex_demo [seconds] [--nospin]
 */
#include "futex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Wait until *word holds something other than `seen`; returns the new value. */
static uint32_t await_change(uint32_t *word, uint32_t seen, unsigned flags)
{
    uint32_t v;
    while ((v = futex_load(word)) == seen) {
        int rc = futex_wait(word, seen, FUTEX_SHARED | flags);
        if (rc != 0 && rc != -EAGAIN && rc != -EINTR) {
            fprintf(stderr, "futex_wait: %s\n", futex_strerror(rc));
            exit(1);
        }
    }
    return v;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    unsigned flags = argc > 2 && strcmp(argv[2], "--nospin") == 0 ? FUTEX_NOSPIN : 0;
    if (!(futex_capabilities() & FUTEX_CAP_SHARED)) {
        fprintf(stderr, "backend %s cannot wait across processes\n", futex_backend());
        return 1;
    }
    /* word[0]: the ball (odd: the child's turn, even: the parent's); word[1]: stop. */
    uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (word == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        uint32_t v = 0;
        for (;;) {
            v = await_change(&word[0], v, flags);
            if (futex_load(&word[1]))
                _exit(0);
            futex_store(&word[0], ++v); /* odd -> even: back to the parent */
            futex_wake(&word[0], 1, FUTEX_SHARED);
        }
    }
    uint64_t start = futex_monotonic_ns(), end = start + (uint64_t)(seconds * 1e9), trips = 0;
    uint32_t v = 0;
    while (futex_monotonic_ns() < end) {
        futex_store(&word[0], ++v); /* even -> odd: the child's turn */
        futex_wake(&word[0], 1, FUTEX_SHARED);
        v = await_change(&word[0], v, flags);
        trips++;
    }
    double took = (double)(futex_monotonic_ns() - start) / 1e9;
    futex_store(&word[1], 1);
    futex_store(&word[0], ++v);
    futex_wake(&word[0], 1, FUTEX_SHARED);
    int status;
    waitpid(pid, &status, 0);
    printf("C      %-7s 2 processes, 1 shared word: %9.0f round trips/s (%.2f us each)%s\n", futex_backend(),
           (double)trips / took, took * 1e6 / (double)trips, flags ? " [no spin]" : "");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
