/*
 * The C benchmarks: libfutex and its peers on one workload each, in one
 * binary so that every peer is built with the same compiler and flags.
 *
 *   bench pingpong  threads|procs IMPL[,IMPL...] [rounds]
 *                                                 µs per round trip, one sample per round trip; several
 *                                                 IMPLs take turns in the same pair, 100 round trips each,
 *                                                 and print one RESULT line each, in order
 *   bench wakeone   IMPL N                        µs per wake(1) with N parked waiters, one sample per round
 *   bench broadcast IMPL N                        µs from wake(all) until the last of N waiters runs
 *   bench wakenobody IMPL                         ns per wake with nobody waiting (batches of 1000)
 *   bench fetchadd  IMPL                          ns per uncontended fetch_add (batches of 10000)
 *   bench parkcost  SPIN                          CPU µs a 200 µs wait burns (it spins, then sleeps);
 *                                                 SPIN: a count, adaptive, or adaptive-worst (the spin's
 *                                                 own CPU at its widest; see parkcost)
 *   bench hash      T                             ns per backend wait that finds a stale value, T threads x 1024 words
 *   bench spin                                    prints the library's default spin count (futex_get_spin())
 *   bench waitv     wait|waitv N [rounds]         µs per round trip of 2 threads, each sleeping in futex_wait on
 *                                                 the turn word, or in futex_waitv over N words with it last
 *   bench lockunlock LOCK[,LOCK...]               ns per uncontended lock + unlock (batches of 10000; several
 *                                                 LOCKs take turns, a batch each, one RESULT line each)
 *   bench ownerdeath threads|procs [runs]         µs from the holder's death (exit / SIGKILL) until a waiter blocked
 *                                                 in an untimed futex_mutex_lock has the lock
 *
 * IMPL: ours (this binary's backend, default: the adaptive spin), ours-spinN (futex_set_spin(N)), ours-nospin
 * (FUTEX_NOSPIN), posix and posix-nospin (ours and ours-nospin through the posix parking lot's
 * copy, threads only: see posix_futex_wait), raw (futex(2), no spin), raw-day (futex(2) on a deadline a day ahead, as the
 * library's untimed sleep), raw-spin1000, atomic (libstdc++ std::atomic wait /
 * notify), condvar (mutex + condvar pair), eventfd (a pair), pipe (a pair), inline (fetchadd:
 * the __atomic builtin inlined), event (two futex_event: set / wait + clear), sem (two futex_sem:
 * post / wait).
 * LOCK: ours (futex_mutex, FUTEX_SHARED), ours-private (futex_mutex, FUTEX_PRIVATE),
 * robust-pthread (a process-shared robust pthread_mutex_t), pthread (a process-shared one).
 *
 * Each run prints one line: "RESULT <unit> <sample> <sample> ...". bench/run.py pools
 * the samples of interleaved runs and computes the median and the 99th percentile.
 * Built by bench/run.sh with the library compiled in (-DFUTEX_BACKEND_POSIX for bench-posix),
 * and beside it, in both, the posix backend's copy with its symbols prefixed posix_.
 */
#include "futex.h"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern "C" int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags);

/* The posix parking lot's wait, wake and spin setting, from a second copy of the library
 * built with -DFUTEX_BACKEND_POSIX whose symbols bench/run.sh prefixes with posix_: with
 * both backends in one binary, the two take turns in one pair of threads (a backend in a
 * binary of its own got its own placement, and the ratio between them moved from 0.04 to
 * 20 between runs). Their declarations are futex.h's. */
extern "C" int posix_futex_wait(const uint32_t *word, uint32_t expected, unsigned flags);
extern "C" int posix_futex_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags);
extern "C" void posix_futex_set_spin(uint32_t iterations);

static uint64_t now_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

[[noreturn]] static void die(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void print_samples(const char *unit, const std::vector<double> &v)
{
    printf("RESULT %s", unit);
    for (double x : v)
        printf(" %.4g", x);
    printf("\n");
    fflush(stdout);
}

static inline void pause_cpu() { __builtin_ia32_pause(); }

/* ---- the raw system call ---------------------------------------------------------------- */

static long raw_wait(uint32_t *w, uint32_t v, bool shared)
{
    return syscall(SYS_futex, w, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, v, nullptr, nullptr, 0);
}
/* As the library sleeps when no deadline is given: on a deadline a day ahead, so that a
 * signal handler installed with SA_RESTART still ends the sleep (-EINTR); the kernel arms
 * a timer for it on every sleep. */
static long raw_wait_day(uint32_t *w, uint32_t v, bool shared)
{
    uint64_t at = now_ns() + 86400ull * 1000000000u;
    struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
    return syscall(SYS_futex, w, shared ? FUTEX_WAIT_BITSET : FUTEX_WAIT_BITSET_PRIVATE, v, &ts, nullptr,
                   FUTEX_BITSET_MATCH_ANY);
}
static long raw_wake(uint32_t *w, int n, bool shared)
{
    return syscall(SYS_futex, w, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

/* ---- implementations ---------------------------------------------------------------------
 * A "channel" is two one-way directions. post(d) tells the other side; wait(d) returns once
 * the other side has posted on d one more time than this side has seen. Every direction has
 * one poster and one waiter, so `seen` (the waiter's count) needs no sharing -- but each on
 * a cache line of its own: two threads of one process write them on every round trip, and
 * the two counts on one line (as they were) cost the threads' hand-off a transfer of that
 * line each way, and the Impl's other fields with it (pinned threads: 0.16-0.19 us a round
 * trip against 0.11-0.14 with the counts apart). */
struct alignas(128) Count {
    uint32_t v = 0;
};

enum Kind { OURS, OURS_NOSPIN, RAW, RAW_DAY, RAW_SPIN, ATOMIC, CONDVAR, EVENTFD, PIPE, EVENT, SEM };

struct alignas(128) Dir {
    uint32_t word;
    char pad1[124];
    std::atomic<unsigned> aword;
    char pad2[124];
    pthread_mutex_t m;
    pthread_cond_t c;
    uint32_t count;
    futex_event ev; /* EVENT: one direction's event */
    futex_sem sem;  /* SEM: one direction's semaphore */
};

struct Shared {
    Dir dir[2];
    alignas(128) uint32_t gen;   /* wakeone/broadcast: the generation waiters wait on */
    alignas(128) std::atomic<unsigned> agen;
    alignas(128) uint32_t arrived;
    alignas(128) uint32_t done;
    alignas(128) uint32_t round; /* wakeone/broadcast: the round the main thread has opened */
    alignas(128) futex_mutex mtx; /* lockunlock, ownerdeath */
    pthread_mutex_t m;
    pthread_cond_t c;
};

struct Impl {
    Kind kind = OURS;
    bool shared = false; /* across processes */
    unsigned flags = 0;
    /* OURS and OURS_NOSPIN: this binary's backend, or the posix copy's (posix, posix-nospin) */
    int (*wait_fn)(const uint32_t *, uint32_t, unsigned) = futex_wait;
    int (*wake_fn)(const uint32_t *, uint32_t, unsigned) = futex_wake;
    uint32_t spin = FUTEX_SPIN_ADAPTIVE; /* futex_set_spin, applied at each of its turns in a ping-pong */
    Count seen[2];
    Count *seen_of = nullptr; /* taking turns: the counts of the word rows' first (see pingpong) */
    int fd[2][2] = {{-1, -1}, {-1, -1}}; /* eventfd: fd[d][0]; pipe: fd[d][0] read, fd[d][1] write */
    Shared *s = nullptr;

    void post(int d)
    {
        Dir &x = s->dir[d];
        switch (kind) {
        case OURS:
        case OURS_NOSPIN:
            futex_fetch_add(&x.word, 1);
            wake_fn(&x.word, 1, flags);
            break;
        case RAW:
        case RAW_DAY:
        case RAW_SPIN:
            __atomic_fetch_add(&x.word, 1, __ATOMIC_SEQ_CST);
            raw_wake(&x.word, 1, shared);
            break;
        case ATOMIC:
            x.aword.fetch_add(1);
            x.aword.notify_one();
            break;
        case CONDVAR:
            pthread_mutex_lock(&x.m);
            x.count++;
            pthread_cond_signal(&x.c);
            pthread_mutex_unlock(&x.m);
            break;
        case EVENTFD: {
            uint64_t one = 1;
            if (write(fd[d][0], &one, 8) != 8)
                die("eventfd write");
            break;
        }
        case PIPE: {
            char c = 1;
            if (write(fd[d][1], &c, 1) != 1)
                die("pipe write");
            break;
        }
        case EVENT:
            if (futex_event_set(&x.ev, flags) != 0)
                die("futex_event_set");
            break;
        case SEM:
            if (futex_sem_post(&x.sem, 1, flags) != 0)
                die("futex_sem_post");
            break;
        }
    }

    void wait(int d)
    {
        Dir &x = s->dir[d];
        uint32_t v = (seen_of != nullptr ? seen_of : seen)[d].v++;
        switch (kind) {
        case OURS:
        case OURS_NOSPIN:
            while (futex_load(&x.word) == v)
                wait_fn(&x.word, v, flags);
            break;
        case RAW_SPIN:
            for (int i = 0; i < 1000 && __atomic_load_n(&x.word, __ATOMIC_RELAXED) == v; i++)
                pause_cpu();
            /* fall through */
        case RAW:
            while (__atomic_load_n(&x.word, __ATOMIC_SEQ_CST) == v)
                raw_wait(&x.word, v, shared);
            break;
        case RAW_DAY:
            while (__atomic_load_n(&x.word, __ATOMIC_SEQ_CST) == v)
                raw_wait_day(&x.word, v, shared);
            break;
        case ATOMIC:
            while (x.aword.load() == v)
                x.aword.wait(v);
            break;
        case CONDVAR:
            pthread_mutex_lock(&x.m);
            while (x.count == v)
                pthread_cond_wait(&x.c, &x.m);
            pthread_mutex_unlock(&x.m);
            break;
        case EVENTFD: {
            uint64_t n;
            if (read(fd[d][0], &n, 8) != 8)
                die("eventfd read");
            break;
        }
        case PIPE: {
            char c;
            if (read(fd[d][0], &c, 1) != 1)
                die("pipe read");
            break;
        }
        case EVENT:
            /* One poster per direction, and it posts again only after our
             * answer: clearing after the wait loses nothing. */
            while (futex_event_wait(&x.ev, nullptr, flags) == -EINTR) {
            }
            futex_event_clear(&x.ev);
            break;
        case SEM:
            while (futex_sem_wait(&x.sem, nullptr, flags) == -EINTR) {
            }
            break;
        }
    }
};

static Shared *new_shared(bool pshared)
{
    void *p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    Shared *s = new (p) Shared();
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_condattr_init(&ca);
    if (pshared) {
        pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    }
    for (Dir &d : s->dir) {
        pthread_mutex_init(&d.m, &ma);
        pthread_cond_init(&d.c, &ca);
    }
    pthread_mutex_init(&s->m, &ma);
    pthread_cond_init(&s->c, &ca);
    return s;
}

/* Parses IMPL; spin counts go to futex_set_spin. */
static Impl make_impl(const std::string &name, bool procs)
{
    Impl im;
    im.shared = procs;
    im.flags = procs ? FUTEX_SHARED : FUTEX_PRIVATE;
    if (name == "ours") {
        im.kind = OURS;
    } else if (name.rfind("ours-spin", 0) == 0) {
        im.kind = OURS;
        im.spin = (uint32_t)strtoul(name.c_str() + 9, nullptr, 10);
        futex_set_spin(im.spin);
    } else if (name == "ours-nospin") {
        im.kind = OURS_NOSPIN;
        im.flags |= FUTEX_NOSPIN;
    } else if (name == "posix" || name == "posix-nospin") {
        if (procs) {
            fprintf(stderr, "bench: the posix parking lot reaches no other process\n");
            exit(2);
        }
        im.kind = name == "posix" ? OURS : OURS_NOSPIN;
        if (im.kind == OURS_NOSPIN)
            im.flags |= FUTEX_NOSPIN;
        im.wait_fn = posix_futex_wait;
        im.wake_fn = posix_futex_wake;
    } else if (name == "raw") {
        im.kind = RAW;
    } else if (name == "raw-day") {
        im.kind = RAW_DAY;
    } else if (name == "raw-spin1000") {
        im.kind = RAW_SPIN;
    } else if (name == "atomic") {
        im.kind = ATOMIC;
    } else if (name == "condvar") {
        im.kind = CONDVAR;
    } else if (name == "event") {
        im.kind = EVENT;
    } else if (name == "sem") {
        im.kind = SEM;
    } else if (name == "eventfd") {
        im.kind = EVENTFD;
        for (auto &f : im.fd)
            if ((f[0] = eventfd(0, 0)) < 0)
                die("eventfd");
    } else if (name == "pipe") {
        im.kind = PIPE;
        for (auto &f : im.fd)
            if (pipe(f) != 0)
                die("pipe");
    } else {
        fprintf(stderr, "bench: unknown impl %s\n", name.c_str());
        exit(2);
    }
    im.s = new_shared(procs);
    return im;
}

/* ---- ping-pong ---------------------------------------------------------------------------- */

/* BENCH_PIN=1 pins the two sides to CPUs 0 and 1, BENCH_PIN=same both to CPU 0: the two
 * placements Linux picks between for a ping-pong pair, each measured on its own. */
static void pin(int cpu)
{
    const char *e = getenv("BENCH_PIN");
    if (e == nullptr || (strcmp(e, "1") != 0 && strcmp(e, "same") != 0))
        return;
    if (strcmp(e, "same") == 0)
        cpu = 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* Several IMPLs take turns in one pair of threads or processes, TURN round trips each: the
 * rows then share one placement. Which CPUs a pair lands on (one or two, near or far vCPUs)
 * moves a round trip by 2-10x between processes, so rows run in separate processes compare
 * placements as much as code; a comparison of two code paths (FUTEX_NOSPIN against the raw
 * system call, the default spin against fixed counts) runs them in turns instead. */
static long TURN = 100; /* BENCH_TURN overrides it (the spin sweeps: see bench/README.md) */

struct PongArg {
    std::vector<Impl> *ims;
    long turns;     /* in all, warm-up included */
    uint32_t *gate; /* turn_gate's two words, shared */
};

/* Both sides meet here, awake, before each turn: a turn whose sides slept at every hand-off
 * would otherwise hand the next one a partner asleep on a halted vCPU, whose wake-up (tens of
 * µs here) outlasts any spin, so the next turn would start in that state, whatever its own
 * setting would have kept; each turn starts as a fresh pair of spinning waiters does. The
 * wait spins (yielding: on one CPU the partner must run). Not among rows that never spin
 * (FUTEX_NOSPIN, the raw system call): their steady state is both sides asleep, and a pair
 * started awake may stay so by chance (each wait finding the answer there already). */
static void turn_gate(uint32_t *gate, int side, long t)
{
    if (gate == nullptr)
        return;
    __atomic_store_n(&gate[side * 32], (uint32_t)t + 1, __ATOMIC_SEQ_CST);
    for (int i = 0; __atomic_load_n(&gate[(1 - side) * 32], __ATOMIC_SEQ_CST) < (uint32_t)t + 1; i++) {
        if (i % 16 == 15)
            sched_yield();
        else
            pause_cpu();
    }
}

/* The IMPL of turn t: each cycle of k turns is a shuffle of the k IMPLs, the same on both
 * sides (a fixed generator, as bench/py/pybench.py's and bench/lua/pingpong.lua's), so that
 * no IMPL always follows the same one: a turn right after one whose sides slept at every
 * hand-off was measured up to a fifth faster. Its spin setting is applied as it starts (each
 * side sets its own process's; in one process both set the same value). */
static Impl &turn_of(std::vector<Impl> &ims, long t)
{
    size_t k = ims.size(), perm[64];
    if (k > 64) {
        fprintf(stderr, "bench: at most 64 IMPLs take turns\n");
        exit(2);
    }
    uint32_t x = (uint32_t)(t / (long)k) * 2654435761u + 1u;
    for (size_t i = 0; i < k; i++)
        perm[i] = i;
    for (size_t i = k - 1; i > 0; i--) {
        x = x * 1664525u + 1013904223u;
        size_t j = (x >> 8) % (i + 1), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    Impl &im = ims[perm[t % (long)k]];
    if (k > 1) {
        futex_set_spin(im.spin);
        posix_futex_set_spin(im.spin);
    }
    return im;
}

static void *ponger(void *p)
{
    PongArg *a = (PongArg *)p;
    pin(1);
    for (long t = 0; t < a->turns; t++) {
        Impl &im = turn_of(*a->ims, t);
        turn_gate(a->gate, 1, t);
        for (long i = 0; i < TURN; i++) {
            im.wait(0);
            im.post(1);
        }
    }
    return nullptr;
}

static void pingpong(bool procs, const std::string &names, long n)
{
    std::vector<Impl> ims;
    for (size_t at = 0; at <= names.size();) {
        size_t comma = names.find(',', at);
        if (comma == std::string::npos)
            comma = names.size();
        ims.push_back(make_impl(names.substr(at, comma - at), procs));
        at = comma + 1;
    }
    if (const char *e = getenv("BENCH_TURN"))
        TURN = atol(e) > 0 ? atol(e) : TURN;
    /* IMPLs taking turns use the same memory: where a word lies decides what moving its
     * cache line between two CPUs costs here (the third of four mappings of the same IMPL
     * ran 0.14 us a round trip, the others 0.18-0.19), so rows on memory of their own
     * compared pages as much as code. The rows on the bare word also share its counts. */
    Impl *words = nullptr;
    for (Impl &im : ims) {
        bool word = im.kind == OURS || im.kind == OURS_NOSPIN || im.kind == RAW || im.kind == RAW_DAY ||
                    im.kind == RAW_SPIN;
        if (word && words == nullptr)
            words = &im;
        else if (word)
            im.seen_of = words->seen;
        if (&im != &ims[0] && im.kind != CONDVAR && im.kind != ATOMIC)
            im.s = ims[0].s; /* each kind uses its own fields of the one Shared */
    }
    long k = (long)ims.size();
    long warm = (n / 10 + TURN - 1) / TURN * k; /* whole turns, so every IMPL warms alike */
    long turns = warm + (n + TURN - 1) / TURN * k;
    void *gate = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (gate == MAP_FAILED)
        die("mmap");
    bool spins = false;
    for (const Impl &im : ims)
        spins = spins || !(im.kind == OURS_NOSPIN || im.kind == RAW || im.kind == RAW_DAY ||
                           (im.kind == OURS && im.spin == 0));
    PongArg a{&ims, turns, spins ? (uint32_t *)gate : nullptr};
    pthread_t t;
    pid_t child = -1;
    if (procs) {
        child = fork();
        if (child < 0)
            die("fork");
        if (child == 0) {
            ponger(&a);
            _exit(0);
        }
    } else if (pthread_create(&t, nullptr, ponger, &a) != 0) {
        die("pthread_create");
    }
    pin(0);
    std::vector<std::vector<double>> us(ims.size());
    for (auto &v : us)
        v.reserve((size_t)n + (size_t)TURN);
    for (long tn = 0; tn < turns; tn++) {
        Impl &im = turn_of(ims, tn);
        turn_gate(a.gate, 0, tn);
        std::vector<double> *got = tn >= warm ? &us[(size_t)(&im - ims.data())] : nullptr;
        for (long i = 0; i < TURN; i++) {
            uint64_t t0 = now_ns();
            im.post(0);
            im.wait(1);
            uint64_t t1 = now_ns();
            if (got != nullptr)
                got->push_back((double)(t1 - t0) / 1000.0);
        }
    }
    if (procs) {
        int st;
        waitpid(child, &st, 0);
    } else {
        pthread_join(t, nullptr);
    }
    for (auto &v : us)
        print_samples("us", v);
}

/* ---- wake-one and broadcast, N threads ---------------------------------------------------- */

struct Crowd {
    Impl *im;
    int n;
    int rounds;
    std::vector<uint64_t> woke_at; /* broadcast: when each waiter ran again */
};

struct CrowdArg {
    Crowd *c;
    int id;
};

/* Waits until the generation moves past g. */
static void crowd_wait(Impl *im, uint32_t g)
{
    Shared *s = im->s;
    switch (im->kind) {
    case OURS:
    case OURS_NOSPIN:
        while (futex_load(&s->gen) == g)
            im->wait_fn(&s->gen, g, im->flags);
        break;
    case RAW:
    case RAW_SPIN:
        while (__atomic_load_n(&s->gen, __ATOMIC_SEQ_CST) == g)
            raw_wait(&s->gen, g, false);
        break;
    case RAW_DAY:
        while (__atomic_load_n(&s->gen, __ATOMIC_SEQ_CST) == g)
            raw_wait_day(&s->gen, g, false);
        break;
    case ATOMIC:
        while (s->agen.load() == g)
            s->agen.wait(g);
        break;
    case CONDVAR:
        pthread_mutex_lock(&s->m);
        while (s->gen == g)
            pthread_cond_wait(&s->c, &s->m);
        pthread_mutex_unlock(&s->m);
        break;
    default:
        fprintf(stderr, "bench: impl not supported for this case\n");
        exit(2);
    }
}

static void crowd_advance(Impl *im)
{
    Shared *s = im->s;
    if (im->kind == CONDVAR) {
        pthread_mutex_lock(&s->m);
        s->gen++;
        pthread_mutex_unlock(&s->m);
    } else if (im->kind == ATOMIC) {
        s->agen.fetch_add(1);
    } else {
        __atomic_fetch_add(&s->gen, 1, __ATOMIC_SEQ_CST);
    }
}

/* Wakes one waiter (all: every waiter). Returns how many the primitive says it woke, or 1
 * where it does not say. */
static int crowd_wake(Impl *im, bool all)
{
    Shared *s = im->s;
    switch (im->kind) {
    case OURS:
    case OURS_NOSPIN: {
        int r = im->wake_fn(&s->gen, all ? FUTEX_ALL : 1, im->flags);
        return r == FUTEX_UNCOUNTED ? 1 : r;
    }
    case RAW:
    case RAW_DAY:
    case RAW_SPIN:
        return (int)raw_wake(&s->gen, all ? INT_MAX : 1, false);
    case ATOMIC:
        if (all)
            s->agen.notify_all();
        else
            s->agen.notify_one();
        return 1;
    case CONDVAR:
        pthread_mutex_lock(&s->m);
        if (all)
            pthread_cond_broadcast(&s->c);
        else
            pthread_cond_signal(&s->c);
        pthread_mutex_unlock(&s->m);
        return 1;
    default:
        return 0;
    }
}

static void *crowd_member(void *p)
{
    CrowdArg *a = (CrowdArg *)p;
    Crowd *c = a->c;
    Shared *s = c->im->s;
    for (int r = 0; r < c->rounds; r++) {
        uint32_t g = (uint32_t)r;
        /* Never park for round r+1 while round r's wakes are still being sent: a wake(1)
         * would then wake us instead of a waiter of round r. */
        while (__atomic_load_n(&s->round, __ATOMIC_SEQ_CST) < (uint32_t)r)
            sched_yield();
        __atomic_fetch_add(&s->arrived, 1, __ATOMIC_SEQ_CST);
        crowd_wait(c->im, g);
        c->woke_at[(size_t)a->id] = now_ns();
        __atomic_fetch_add(&s->done, 1, __ATOMIC_SEQ_CST);
    }
    return nullptr;
}

static void settle(uint32_t *counter, uint32_t target)
{
    while (__atomic_load_n(counter, __ATOMIC_SEQ_CST) != target)
        sched_yield();
}

static void crowd(const std::string &name, int n, bool broadcast)
{
    Impl im = make_impl(name, false);
    Crowd c{&im, n, broadcast ? (n > 8 ? 60 : 150) : (n > 8 ? 40 : 150), std::vector<uint64_t>((size_t)n)};
    std::vector<pthread_t> ts((size_t)n);
    std::vector<CrowdArg> args((size_t)n);
    for (int i = 0; i < n; i++) {
        args[(size_t)i] = CrowdArg{&c, i};
        if (pthread_create(&ts[(size_t)i], nullptr, crowd_member, &args[(size_t)i]) != 0)
            die("pthread_create");
    }
    std::vector<double> us;
    Shared *s = im.s;
    for (int r = 0; r < c.rounds; r++) {
        settle(&s->arrived, (uint32_t)(n * (r + 1)));
        /* Give the waiters time to get past any spin phase and park in the OS. */
        struct timespec nap = {0, 3000000};
        nanosleep(&nap, nullptr);
        uint64_t t0 = now_ns(), t1;
        crowd_advance(&im);
        if (broadcast) {
            crowd_wake(&im, true);
            settle(&s->done, (uint32_t)(n * (r + 1)));
            t1 = t0;
            for (uint64_t w : c.woke_at)
                t1 = w > t1 ? w : t1;
        } else {
            /* Count wakes that woke someone: a waiter that had not parked yet is not a wake. */
            for (int woken = 0; woken < n;) {
                int k = crowd_wake(&im, false);
                woken += k > 0 ? k : 0;
                if (k <= 0 && __atomic_load_n(&s->done, __ATOMIC_SEQ_CST) == (uint32_t)(n * (r + 1)))
                    break;
            }
            t1 = now_ns();
            /* A notify that found nobody parked (atomic, condvar) would leave one behind. */
            while (__atomic_load_n(&s->done, __ATOMIC_SEQ_CST) != (uint32_t)(n * (r + 1))) {
                crowd_wake(&im, true);
                sched_yield();
            }
        }
        __atomic_store_n(&s->round, (uint32_t)(r + 1), __ATOMIC_SEQ_CST);
        us.push_back((double)(t1 - t0) / 1000.0 / (broadcast ? 1 : n));
    }
    for (pthread_t t : ts)
        pthread_join(t, nullptr);
    print_samples("us", us);
}

/* ---- wake with nobody waiting, uncontended fetch_add -------------------------------------- */

static void wakenobody(const std::string &name)
{
    bool shared = name.size() > 7 && name.compare(name.size() - 7, 7, "-shared") == 0;
    std::string base = shared ? name.substr(0, name.size() - 7) : name;
    Impl im = make_impl(base, shared);
    Shared *s = im.s;
    std::vector<double> ns;
    const int batch = 1000;
    for (int k = 0; k < 300; k++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < batch; i++) {
            switch (im.kind) {
            case OURS:
            case OURS_NOSPIN: im.wake_fn(&s->gen, 1, im.flags); break;
            case RAW:
            case RAW_DAY: raw_wake(&s->gen, 1, shared); break;
            case ATOMIC: s->agen.notify_one(); break;
            case CONDVAR: pthread_cond_signal(&s->c); break;
            case EVENTFD: {
                uint64_t one = 1;
                if (write(im.fd[0][0], &one, 8) != 8)
                    die("eventfd write");
                break;
            }
            default: fprintf(stderr, "bench: impl not supported for this case\n"); exit(2);
            }
        }
        ns.push_back((double)(now_ns() - t0) / batch);
    }
    print_samples("ns", ns);
}

static void fetchadd(const std::string &name)
{
    Impl im = make_impl(name == "inline" ? "ours" : name, false);
    Shared *s = im.s;
    std::vector<double> ns;
    const int batch = 10000;
    for (int k = 0; k < 300; k++) {
        uint64_t t0 = now_ns();
        if (name == "ours") {
            for (int i = 0; i < batch; i++)
                futex_fetch_add(&s->gen, 1);
        } else if (name == "inline") {
            for (int i = 0; i < batch; i++)
                __atomic_fetch_add(&s->gen, 1, __ATOMIC_SEQ_CST);
        } else if (name == "atomic") {
            for (int i = 0; i < batch; i++)
                s->agen.fetch_add(1);
        } else {
            fprintf(stderr, "bench: impl not supported for this case\n");
            exit(2);
        }
        ns.push_back((double)(now_ns() - t0) / batch);
    }
    print_samples("ns", ns);
}

/* ---- the CPU a long wait burns before it parks ---------------------------------------------
 * A 200 µs timed wait on a word nobody changes: it spins, gives up, and sleeps until the
 * timeout. Its thread CPU time minus that of the same wait with spin 0 is what spinning costs
 * a waiter that was going to sleep anyway.
 *
 * SPIN: a count (futex_set_spin), "adaptive" (the default, after a run of waits nobody ends:
 * the learned spin's steady state for an idle waiter), or "adaptive-worst": before each
 * measured wait, 50 waits on a partner that answers 40 µs late -- just after the spin gives
 * up -- teach the spin to last as long as it ever will; its samples are the spin's own CPU
 * (the wait's CPU minus that of the same wait with FUTEX_NOSPIN, taught the same way). */
struct LatePartner {
    std::atomic<uint32_t> stop{0};
    uint32_t word = 0;
};

static void *answer_late(void *p)
{
    LatePartner *lp = (LatePartner *)p;
    for (uint32_t i = 1; !lp->stop.load(); i++) {
        uint64_t t0 = now_ns();
        while (now_ns() - t0 < 40000u) {
        }
        futex_store_wake(&lp->word, i, 1, FUTEX_PRIVATE);
    }
    return nullptr;
}

static void parkcost(const char *spin)
{
    bool worst = strcmp(spin, "adaptive-worst") == 0;
    if (worst || strcmp(spin, "adaptive") == 0)
        futex_set_spin(FUTEX_SPIN_ADAPTIVE);
    else
        futex_set_spin((uint32_t)strtoul(spin, nullptr, 10));
    LatePartner lp;
    pthread_t t{};
    if (worst)
        pthread_create(&t, nullptr, answer_late, &lp);
    uint32_t word = 0;
    std::vector<double> us;
    for (int k = 0; k < 400; k++) {
        if (!worst) {
            uint64_t c0 = thread_cpu_ns();
            futex_timed_wait(&word, 0, 200000, FUTEX_PRIVATE);
            us.push_back((double)(thread_cpu_ns() - c0) / 1000.0);
            continue;
        }
        /* Taught, the same wait with its spin and then without (FUTEX_NOSPIN), each right
         * after the teaching: the sample is the difference, the spin's own CPU, with the
         * partner thread's load on the machine the same on both sides. */
        double cpu[2];
        for (int nospin = 0; nospin < 2; nospin++) {
            for (int j = 0; j < 50; j++)
                futex_timed_wait(&lp.word, futex_load(&lp.word), 100000000u, FUTEX_PRIVATE);
            uint64_t c0 = thread_cpu_ns();
            futex_timed_wait(&word, 0, 200000, FUTEX_PRIVATE | (nospin ? FUTEX_NOSPIN : 0));
            cpu[nospin] = (double)(thread_cpu_ns() - c0) / 1000.0;
        }
        us.push_back(cpu[0] - cpu[1]);
    }
    if (worst) {
        lp.stop.store(1);
        pthread_join(t, nullptr);
    }
    print_samples("us", us);
}

/* ---- many addresses: the backend's hash table and bucket locks ----------------------------
 * As perf bench futex hash: each thread cycles over its own 1,024 words, asking the backend
 * to wait on a value the word does not hold. The kernel (or the parking lot) hashes the
 * address, locks the bucket, compares and returns EAGAIN. */

struct HashArg {
    int id;
    std::vector<double> ns;
    uint64_t stop_at;
};

static void *hasher(void *p)
{
    HashArg *a = (HashArg *)p;
    std::vector<uint32_t> words(1024 + 32);
    uint32_t *w = words.data();
    while (now_ns() < a->stop_at) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < 1024; i++)
            futex__os_wait(&w[i], 1, FUTEX_FOREVER, 0); /* the words hold 0: EAGAIN */
        a->ns.push_back((double)(now_ns() - t0) / 1024);
    }
    return nullptr;
}

static void hash(int threads)
{
    std::vector<HashArg> args((size_t)threads);
    std::vector<pthread_t> ts((size_t)threads);
    uint64_t stop = now_ns() + 300000000u;
    for (int i = 0; i < threads; i++) {
        args[(size_t)i].id = i;
        args[(size_t)i].stop_at = stop;
        pthread_create(&ts[(size_t)i], nullptr, hasher, &args[(size_t)i]);
    }
    std::vector<double> all;
    for (int i = 0; i < threads; i++) {
        pthread_join(ts[(size_t)i], nullptr);
        all.insert(all.end(), args[(size_t)i].ns.begin(), args[(size_t)i].ns.end());
    }
    print_samples("ns", all);
}

/* ---- futex_waitv against futex_wait --------------------------------------------------------- */

struct WaitvArg {
    uint32_t *turn;
    uint32_t *idle; /* n - 1 words nobody changes, ahead of the turn word in every futex_waitv */
    int n;          /* 0: futex_wait on the turn word alone */
    long rounds;
};

/* Sleeps until *turn == want. FUTEX_NOSPIN on both sides: the sleep and the
 * wake are what is measured, not the spin that would hide them. */
static void waitv_until(WaitvArg *a, uint32_t want)
{
    std::vector<futex_waitv_item> items((size_t)(a->n > 0 ? a->n : 1));
    for (int i = 0; i + 1 < a->n; i++)
        items[(size_t)i] = futex_waitv_item{&a->idle[i], 0, FUTEX_PRIVATE};
    uint32_t v;
    while ((v = futex_load(a->turn)) != want) {
        if (a->n == 0) {
            futex_wait(a->turn, v, FUTEX_NOSPIN);
        } else {
            items[(size_t)a->n - 1] = futex_waitv_item{a->turn, v, FUTEX_PRIVATE};
            futex_waitv(items.data(), (uint32_t)a->n, nullptr, FUTEX_NOSPIN, nullptr);
        }
    }
}

static void *waitv_ponger(void *p)
{
    WaitvArg *a = (WaitvArg *)p;
    for (long i = 0; i < a->rounds; i++) {
        waitv_until(a, 1);
        futex_store(a->turn, 0);
        futex_wake(a->turn, 1, FUTEX_PRIVATE);
    }
    return nullptr;
}

static void waitv_pingpong(const std::string &how, int n, long rounds)
{
    if ((how != "wait" && how != "waitv") || (how == "waitv" && (n < 1 || n > (int)FUTEX_WAITV_LIMIT))) {
        fprintf(stderr, "bench: waitv wait|waitv N (1 <= N <= %u)\n", FUTEX_WAITV_LIMIT);
        exit(2);
    }
    static uint32_t turn;
    std::vector<uint32_t> idle(FUTEX_WAITV_LIMIT, 0);
    long warm = rounds / 10 + 100;
    WaitvArg a{&turn, idle.data(), how == "wait" ? 0 : n, warm + rounds};
    pthread_t t;
    if (pthread_create(&t, nullptr, waitv_ponger, &a) != 0)
        die("pthread_create");
    std::vector<double> us;
    us.reserve((size_t)rounds);
    for (long i = 0; i < warm + rounds; i++) {
        uint64_t t0 = now_ns();
        futex_store(&turn, 1);
        futex_wake(&turn, 1, FUTEX_PRIVATE);
        waitv_until(&a, 0);
        uint64_t t1 = now_ns();
        if (i >= warm)
            us.push_back((double)(t1 - t0) / 1000.0);
    }
    pthread_join(t, nullptr);
    print_samples("us", us);
}

/* ---- the Mutex: uncontended cost, owner-death detection ------------------------------------ */

/* Several LOCKs take turns, a batch each, in one process: the rows then share one CPU and
 * its state (frequency, the host's neighbours) from batch to batch. */
static void lockunlock(const std::string &names)
{
    struct Lock {
        std::string name;
        Shared *s;
        unsigned flags;
        bool ours;
        std::vector<double> ns;
    };
    std::vector<Lock> locks;
    for (size_t at = 0; at <= names.size();) {
        size_t comma = names.find(',', at);
        if (comma == std::string::npos)
            comma = names.size();
        std::string name = names.substr(at, comma - at);
        at = comma + 1;
        Shared *s = new_shared(true);
        if (name == "robust-pthread") {
            pthread_mutexattr_t ma;
            pthread_mutexattr_init(&ma);
            pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
            pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
            pthread_mutex_init(&s->m, &ma);
        } /* "pthread": new_shared made it process-shared already */
        bool ours = name.rfind("ours", 0) == 0;
        if (!ours && name != "pthread" && name != "robust-pthread") {
            fprintf(stderr, "bench: unknown lock %s\n", name.c_str());
            exit(2);
        }
        locks.push_back({name, s, name == "ours-private" ? FUTEX_PRIVATE : FUTEX_SHARED, ours, {}});
    }
    const int batch = 10000;
    for (int k = 0; k < 300; k++) {
        for (Lock &l : locks) {
            futex_mutex *m = &l.s->mtx;
            pthread_mutex_t *pm = &l.s->m;
            uint64_t t0 = now_ns();
            if (l.ours) {
                for (int i = 0; i < batch; i++) {
                    futex_mutex_lock(m, l.flags);
                    futex_mutex_unlock(m, l.flags);
                }
            } else {
                for (int i = 0; i < batch; i++) {
                    pthread_mutex_lock(pm);
                    pthread_mutex_unlock(pm);
                }
            }
            l.ns.push_back((double)(now_ns() - t0) / batch);
        }
    }
    for (Lock &l : locks)
        print_samples("ns", l.ns);
}

struct DeathArg {
    futex_mutex *m;
    uint32_t *ready;
    uint64_t died_at;
};

static void *hold_and_exit(void *p)
{
    DeathArg *a = (DeathArg *)p;
    futex_mutex_lock(a->m, FUTEX_PRIVATE);
    futex_store(a->ready, 1);
    usleep(20000); /* the main thread blocks in lock meanwhile */
    a->died_at = now_ns();
    return nullptr; /* exits holding it */
}

static void ownerdeath(bool procs, int runs)
{
    Shared *s = new_shared(true);
    std::vector<double> us;
    for (int r = 0; r < runs; r++) {
        s->mtx = futex_mutex(); /* all zeros: unlocked */
        futex_mutex *m = &s->mtx;
        uint32_t *ready = &s->arrived;
        futex_store(ready, 0);
        uint64_t died_at = 0;
        int rc;
        if (procs) {
            if (!(futex_capabilities() & FUTEX_CAP_SHARED)) {
                printf("SKIP the %s backend has no cross-process waits\n", futex_backend());
                return;
            }
            pid_t pid = fork();
            if (pid < 0)
                die("fork");
            if (pid == 0) {
                futex_mutex_lock(m, FUTEX_SHARED);
                futex_store(ready, 1);
                for (;;)
                    pause();
            }
            while (futex_load(ready) == 0)
                usleep(100);
            pthread_t t;
            struct K {
                pid_t pid;
                uint64_t at;
            } k{pid, 0};
            pthread_create(
                &t, nullptr,
                [](void *p) -> void * {
                    K *kk = (K *)p;
                    usleep(20000);
                    kk->at = now_ns();
                    kill(kk->pid, SIGKILL);
                    return nullptr;
                },
                &k);
            rc = futex_mutex_lock(m, FUTEX_SHARED);
            uint64_t got = now_ns();
            pthread_join(t, nullptr);
            waitpid(pid, nullptr, 0);
            died_at = k.at;
            us.push_back((double)(got - died_at) / 1000.0);
        } else {
            DeathArg a{m, ready, 0};
            pthread_t t;
            pthread_create(&t, nullptr, hold_and_exit, &a);
            while (futex_load(ready) == 0)
                usleep(100);
            rc = futex_mutex_lock(m, FUTEX_PRIVATE);
            uint64_t got = now_ns();
            pthread_join(t, nullptr);
            us.push_back((double)(got - a.died_at) / 1000.0);
        }
        if (rc != -EOWNERDEAD) {
            fprintf(stderr, "bench: ownerdeath: lock gave %d\n", rc);
            exit(2);
        }
        futex_mutex_consistent(m);
        futex_mutex_unlock(m, procs ? FUTEX_SHARED : FUTEX_PRIVATE);
    }
    print_samples("us", us);
}

int main(int argc, char **argv)
{
    if (argc == 2 && std::string(argv[1]) == "spin") {
        // bench/run.py labels the default row with this: the library's own answer.
        printf("%u\n", futex_get_spin());
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: bench CASE ARGS... (see the top of bench/c/bench.cpp)\n");
        return 2;
    }
    std::string c = argv[1];
    if (c == "pingpong" && argc >= 4)
        pingpong(std::string(argv[2]) == "procs", argv[3], argc > 4 ? atol(argv[4]) : 20000);
    else if (c == "wakeone" && argc >= 4)
        crowd(argv[2], atoi(argv[3]), false);
    else if (c == "broadcast" && argc >= 4)
        crowd(argv[2], atoi(argv[3]), true);
    else if (c == "wakenobody")
        wakenobody(argv[2]);
    else if (c == "fetchadd")
        fetchadd(argv[2]);
    else if (c == "parkcost")
        parkcost(argv[2]);
    else if (c == "hash")
        hash(atoi(argv[2]));
    else if (c == "waitv" && argc >= 4)
        waitv_pingpong(argv[2], atoi(argv[3]), argc > 4 ? atol(argv[4]) : 20000);
    else if (c == "lockunlock")
        lockunlock(argv[2]);
    else if (c == "ownerdeath")
        ownerdeath(std::string(argv[2]) == "procs", argc > 3 ? atoi(argv[3]) : 20);
    else {
        fprintf(stderr, "bench: bad arguments\n");
        return 2;
    }
    return 0;
}
