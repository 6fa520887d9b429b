/*
 * The single-threaded wasm32 build (no -matomics: no threads, so backend.c
 * picks backend/single.c), run as a WASI command under Node's node:wasi by
 * tests/wasm/run.mjs --command. Prints one line per check and exits non-zero
 * on the first failure.
 */
#include "futex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failed;

static void check(int ok, const char *what)
{
    printf("wasm-single.%s: %s\n", what, ok ? "ok" : "FAILED");
    failed |= !ok;
}

int main(void)
{
    static uint32_t word;
    check(strcmp(futex_backend(), "single") == 0, "backend_is_single");
    check(futex_wait(&word, 1, 0) == -EAGAIN, "differing_word_is_eagain");
    check(futex_wait(&word, 0, FUTEX_NOSPIN) == -EDEADLK, "wait_forever_is_edeadlk");
    uint64_t t0 = futex_monotonic_ns();
    int rc = futex_timed_wait(&word, 0, 20000000u, 0);
    uint64_t took = futex_monotonic_ns() - t0;
    check(rc == -ETIMEDOUT && took >= 20000000u, "timed_wait_sleeps_then_times_out");
    check(futex_wake(&word, FUTEX_ALL, 0) == 0, "wake_finds_nobody");
    check(futex_fetch_add(&word, 5) == 0 && futex_load(&word) == 5, "atomics");
    return failed;
}
