/*
 * The wasm backend's tests, run under Node (tests/wasm/run.mjs): this file
 * and the library are one wasm32 module with a shared, imported memory;
 * run.mjs instantiates it on the main thread and in worker_threads, all on
 * the same memory, and calls the exports below. Each export is one step of a
 * test; the orchestration (who waits, who wakes, what to expect) is in
 * run.mjs. Results are futex results (0, counts, -errno); t_errno gives the
 * errno values of this libc (WASI's differ from Linux's).
 */
#include "futex.h"

#include <errno.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* The exports (declared first for -Wmissing-prototypes). */
uint32_t *t_word(int i);
unsigned char *t_stack_top(int i);
int t_errno(int which);
int t_uncounted(void);
const char *t_backend(void);
unsigned t_caps(void);
uint64_t t_now(void);
int t_wait(const uint32_t *w, uint32_t expected, unsigned flags);
int t_timed_wait(const uint32_t *w, uint32_t expected, uint64_t timeout_ns, unsigned flags);
int t_deadline_wait(const uint32_t *w, uint32_t expected, uint64_t timeout_ns);
int t_wake(const uint32_t *w, uint32_t n, unsigned flags);
int t_wait_change(const uint32_t *w, uint32_t expected);
int t_pingpong(uint32_t *turn, uint32_t *count, uint32_t me, uint32_t rounds);
int t_waitv(int first, uint32_t n, uint64_t timeout_ns);

/* Futex words for the tests, each on its own 64-byte line. */
static uint32_t words[16][16] __attribute__((aligned(64)));

/* One shadow stack per worker instance. Every instance of the module starts
 * with the same __stack_pointer, so run.mjs points each worker's at its own
 * region before calling anything that may use the stack. */
#define STACK_SIZE (64 * 1024)
#define STACKS 8
static unsigned char stacks[STACKS][STACK_SIZE] __attribute__((aligned(16)));

EXPORT(t_word) uint32_t *t_word(int i) { return words[i]; }
EXPORT(t_stack_top) unsigned char *t_stack_top(int i) { return stacks[i] + STACK_SIZE; }

EXPORT(t_errno) int t_errno(int which)
{
    switch (which) {
    case 0: return EAGAIN;
    case 1: return ETIMEDOUT;
    case 2: return ENOTSUP;
    case 3: return EINVAL;
    case 4: return EDEADLK;
    default: return 0;
    }
}

EXPORT(t_uncounted) int t_uncounted(void) { return FUTEX_UNCOUNTED; }
EXPORT(t_backend) const char *t_backend(void) { return futex_backend(); }
EXPORT(t_caps) unsigned t_caps(void) { return futex_capabilities(); }
EXPORT(t_now) uint64_t t_now(void) { return futex_monotonic_ns(); }

EXPORT(t_wait) int t_wait(const uint32_t *w, uint32_t expected, unsigned flags)
{
    return futex_wait(w, expected, flags);
}

EXPORT(t_timed_wait) int t_timed_wait(const uint32_t *w, uint32_t expected, uint64_t timeout_ns, unsigned flags)
{
    return futex_timed_wait(w, expected, timeout_ns, flags);
}

/* Waits on one deadline across spurious wakeups, as users should. */
EXPORT(t_deadline_wait) int t_deadline_wait(const uint32_t *w, uint32_t expected, uint64_t timeout_ns)
{
    futex_deadline d;
    futex_deadline_init(&d, timeout_ns);
    int rc;
    do
        rc = futex_deadline_wait(&d, w, expected, FUTEX_PRIVATE);
    while (rc == 0 && futex_load(w) == expected);
    return rc;
}

EXPORT(t_wake) int t_wake(const uint32_t *w, uint32_t n, unsigned flags) { return futex_wake(w, n, flags); }

/* Waits (forever, across spurious wakeups) until *w != expected. */
EXPORT(t_wait_change) int t_wait_change(const uint32_t *w, uint32_t expected)
{
    while (futex_load(w) == expected) {
        int rc = futex_wait(w, expected, FUTEX_PRIVATE);
        if (rc != 0 && rc != -EAGAIN)
            return rc;
    }
    return 0;
}

/* Two players pass the turn in *turn back and forth `rounds` times each:
 * player `me` waits for its turn, bumps *count, hands the turn over, wakes
 * the other. Returns 0, or the first unexpected futex result. */
EXPORT(t_pingpong) int t_pingpong(uint32_t *turn, uint32_t *count, uint32_t me, uint32_t rounds)
{
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t v;
        while ((v = futex_load(turn)) != me) {
            int rc = futex_wait(turn, v, FUTEX_PRIVATE);
            if (rc != 0 && rc != -EAGAIN)
                return rc;
        }
        futex_fetch_add(count, 1);
        futex_store(turn, 1 - me);
        int n = futex_wake(turn, 1, FUTEX_PRIVATE);
        if (n < 0 || n > 1)
            return n < 0 ? n : -1000 - n;
    }
    return 0;
}

/* futex_waitv on t_word(first) .. t_word(first + n - 1), each expected 0:
 * the index woken, -ETIMEDOUT, ..., or -10000 - index for -EAGAIN. */
EXPORT(t_waitv) int t_waitv(int first, uint32_t n, uint64_t timeout_ns)
{
    futex_waitv_item items[16];
    for (uint32_t i = 0; i < n && i < 16; i++) {
        items[i].word = words[first + (int)i];
        items[i].expected = 0;
        items[i].flags = FUTEX_PRIVATE;
    }
    futex_deadline d;
    futex_deadline_init(&d, timeout_ns);
    uint32_t changed = 0;
    int rc = futex_waitv(items, n, &d, 0, &changed);
    return rc == -EAGAIN ? -10000 - (int)changed : rc;
}
