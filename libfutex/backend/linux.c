/*
 * Linux: the futex(2) system call.
 * https://man7.org/linux/man-pages/man2/futex.2.html
 *
 * FUTEX_PRIVATE_FLAG unless the word is shared: private futexes are hashed
 * by (mm, address) without touching page tables, which is faster.
 *
 * Finite deadlines go to the kernel as they are, with FUTEX_WAIT_BITSET and
 * an absolute CLOCK_MONOTONIC time (Linux 2.6.25+): a loop of waits on one
 * deadline cannot drift, and a signal or spurious return never stretches it.
 */
#include "../atomic.h"
#include "../backend.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

const char futex__os_name[] = "linux";

/* The kernel's timespec. On 32-bit systems glibc's may be the 64-bit one
 * while SYS_futex takes 32-bit seconds, so use futex_time64 (Linux 5.1+)
 * there and spell the layout out ourselves. */
#if defined(SYS_futex_time64) && UINTPTR_MAX == 0xffffffffu
#define FUTEX_SYSCALL SYS_futex_time64
typedef int64_t ksec;
typedef struct { ksec tv_sec; int64_t tv_nsec; } ktimespec;
#define KSEC_MAX INT64_MAX
#else
#define FUTEX_SYSCALL SYS_futex
typedef long ksec;
typedef struct { ksec tv_sec; long tv_nsec; } ktimespec;
#define KSEC_MAX LONG_MAX
#endif

static long sys_futex(const uint32_t *word, int op, uint32_t val, const ktimespec *ts, uint32_t val3)
{
    long rc = syscall(FUTEX_SYSCALL, word, op, val, ts, (uint32_t *)0, val3);
    return rc < 0 ? -errno : rc;
}

int futex__os_wait(const uint32_t *word, uint32_t expected, uint64_t deadline_ns, unsigned flags)
{
    int priv = (flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG;
    long rc;
    if (deadline_ns == FUTEX_FOREVER) {
        rc = sys_futex(word, FUTEX_WAIT | priv, expected, NULL, 0);
    } else {
        /* Seconds past the kernel's range are clamped; the kernel itself
         * clamps anything past KTIME_MAX (year 2262). The front layer waits
         * again if a clamped deadline passes early. */
        uint64_t sec = deadline_ns / 1000000000u;
        ktimespec ts;
        ts.tv_sec = sec > (uint64_t)KSEC_MAX ? (ksec)KSEC_MAX : (ksec)sec;
        ts.tv_nsec = (long)(deadline_ns % 1000000000u);
        /* Without FUTEX_CLOCK_REALTIME, an absolute BITSET wait is on CLOCK_MONOTONIC. */
        rc = sys_futex(word, FUTEX_WAIT_BITSET | priv, expected, &ts, FUTEX_BITSET_MATCH_ANY);
    }
    switch (rc) {
    case 0: return 0;                        /* woken by a wake, or spuriously */
    case -EAGAIN: return -EAGAIN;            /* *word != expected when the kernel looked */
    case -EINTR: return -EINTR;              /* a signal handler ran; the bindings need to know */
    case -ETIMEDOUT: return -ETIMEDOUT;      /* the absolute deadline passed */
    case -EFAULT: return -EFAULT;            /* the word is not mapped: the caller's bug, reported */
    case -ENOSYS: return -ENOSYS;            /* no futex here (seccomp, or an emulator that lacks it) */
    case -EINVAL: return -EINVAL;            /* the word is also used as a PI futex, or a kernel too old for BITSET */
    case -EPERM: return -EPERM;              /* a sandbox refused the operation */
    default: return (int)rc;                 /* undocumented (-EACCES, -ENOMEM from a seccomp filter): handed back, never fatal */
    }
}

int futex__os_wake(const uint32_t *word, uint32_t max_waiters, unsigned flags)
{
    int priv = (flags & FUTEX_SHARED) ? 0 : FUTEX_PRIVATE_FLAG;
    /* The kernel reads the count as an int: anything larger means all. */
    uint32_t n = max_waiters > (uint32_t)INT32_MAX ? (uint32_t)INT32_MAX : max_waiters;
    long rc = sys_futex(word, FUTEX_WAKE | priv, n, NULL, 0);
    if (rc >= 0)
        return (int)rc; /* the number of waiters woken */
    switch (rc) {
    case -EFAULT: return -EFAULT; /* a shared word not mapped: the caller's bug, reported */
    case -EINVAL: return -EINVAL; /* the word is in use as a PI futex */
    case -ENOSYS: return -ENOSYS; /* no futex here */
    case -EPERM: return -EPERM;   /* a sandbox refused the operation */
    default: return (int)rc;      /* undocumented (a seccomp filter's -EACCES, ...): handed back, never fatal */
    }
}

static int waitv_native(void);

unsigned futex__os_caps(void)
{
    return FUTEX_CAP_SHARED | FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_ABSOLUTE_DEADLINE | FUTEX_CAP_INTERRUPTIBLE |
           (waitv_native() ? FUTEX_CAP_WAITV_NATIVE : 0u);
}

/* ---- futex_waitv(2), Linux 5.16+ -------------------------------------------
 * https://docs.kernel.org/userspace-api/futex2.html
 * Declared here rather than taken from <linux/futex.h>, which gained it only
 * in 5.16's headers: the number is 449 on every architecture, and the
 * timeout is always the 64-bit __kernel_timespec. */
#include <time.h> /* CLOCK_MONOTONIC, the clock the deadline is on */

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define WAITV_SIZE_U32 0x02u  /* FUTEX2_SIZE_U32 */
#define WAITV_PRIVATE 128u    /* FUTEX2_PRIVATE, the same bit as FUTEX_PRIVATE_FLAG */

struct kwaitv {
    uint64_t val;   /* the expected value, zero-extended */
    uint64_t uaddr; /* the word's address */
    uint32_t flags; /* FUTEX2_SIZE_U32 [| FUTEX2_PRIVATE] */
    uint32_t reserved;
};
struct ktimespec64 {
    int64_t tv_sec;
    int64_t tv_nsec;
};

static long sys_waitv(struct kwaitv *w, uint32_t n, const struct ktimespec64 *ts)
{
#if defined(FUTEX_TEST_NO_WAITV)
    /* Test builds only (the linux-nowaitv suite): act as a kernel older than
     * 5.16, so that the fallback runs through the whole suite on this one. */
    (void)w, (void)n, (void)ts;
    return -ENOSYS;
#else
    long rc = syscall(SYS_futex_waitv, w, n, 0u, ts, CLOCK_MONOTONIC);
    return rc < 0 ? -errno : rc;
#endif
}

/* 1 once FUTEX_WAITV is known to work, 2 once it is known to be missing, 0
 * before the first look. Relaxed: racing threads only store the same answer. */
#define KNOWN_WORKS 1u
#define KNOWN_MISSING 2u
static uint32_t waitv_state;

static int waitv_native(void)
{
    uint32_t s = futex__atomic_load(&waitv_state, FUTEX__RELAXED);
    if (s == 0) {
        /* n == 0 is refused with EINVAL by a kernel that has the call, after
         * the ENOSYS of one that does not: a probe that never sleeps. */
        long rc = sys_waitv(NULL, 0, NULL);
        s = rc == -ENOSYS || rc == -EPERM ? KNOWN_MISSING : KNOWN_WORKS; /* EPERM: a sandbox forbids it; use ours */
        futex__atomic_store(&waitv_state, s, FUTEX__RELAXED);
    }
    return s == KNOWN_WORKS;
}

static int uring_waitv(const futex_waitv_item *items, uint32_t n);

/* One word's entry in the kernel's layout. */
static void kwaitv_fill(struct kwaitv *k, const futex_waitv_item *item)
{
    k->val = item->expected;
    k->uaddr = (uint64_t)(uintptr_t)item->word;
    k->flags = WAITV_SIZE_U32 | ((item->flags & FUTEX_SHARED) ? 0u : WAITV_PRIVATE);
    k->reserved = 0;
}

int futex__os_waitv(const futex_waitv_item *items, uint32_t n, uint64_t deadline_ns)
{
    if (!waitv_native())
        return -ENOSYS; /* the front layer's own multi-wait takes over */
    if (n > FUTEX_WAITV_LIMIT) {
        /* More words than one FUTEX_WAITV takes (a watcher's): several of
         * them at once through io_uring, where it has them. */
        return deadline_ns == FUTEX_FOREVER ? uring_waitv(items, n) : -ENOSYS;
    }
    struct kwaitv w[FUTEX_WAITV_LIMIT];
    for (uint32_t i = 0; i < n; i++)
        kwaitv_fill(&w[i], &items[i]);
    struct ktimespec64 ts, *tsp = NULL;
    if (deadline_ns != FUTEX_FOREVER) {
        /* Absolute on CLOCK_MONOTONIC, the front layer's clock: no drift. */
        ts.tv_sec = (int64_t)(deadline_ns / 1000000000u);
        ts.tv_nsec = (int64_t)(deadline_ns % 1000000000u);
        tsp = &ts;
    }
    long rc = sys_waitv(w, n, tsp);
    if (rc >= 0)
        return (int)rc; /* the index of the word whose wake ended the wait */
    switch (rc) {
    case -EAGAIN: return -EAGAIN;       /* a word differed when the kernel looked (it does not say which) */
    case -EINTR: return -EINTR;         /* a handler without SA_RESTART ran (with it, the kernel restarts) */
    case -ETIMEDOUT: return -ETIMEDOUT; /* the absolute deadline passed */
    case -EFAULT: return -EFAULT;       /* a word is not mapped: the caller's bug, reported */
    case -ENOMEM: return -ENOMEM;       /* the kernel could not allocate the wait */
    case -ENOSYS: /* removed since the probe (a sandbox changed): forget it, use ours */
    case -EPERM:  /* a sandbox refused it */
        futex__atomic_store(&waitv_state, KNOWN_MISSING, FUTEX__RELAXED);
        return -ENOSYS;
    default: return (int)rc; /* EINVAL (a timeout past the kernel's range) or an unknown errno: reported */
    }
}

/* ---- more than FUTEX_WAITV_LIMIT words: io_uring, Linux 6.7+ ---------------
 * One FUTEX_WAITV request per group of up to 128 words on a ring made for
 * this wait, then one io_uring_enter that sleeps until the first completes;
 * then every other request is cancelled and reaped before we return, so no
 * request outlives the wait. Where io_uring or its FUTEX_WAITV is missing
 * (older kernels, io_uring_disabled, seccomp) this says -ENOSYS once and for
 * all, and the front layer's own multi-wait (with its re-check slices for
 * shared words) takes over. A wake of one waiter that reaches a request
 * after the first one completed is spent, as with FUTEX_WAITV itself. */
#if defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#include <linux/io_uring.h>
#endif
#endif
#include <string.h>

/* Built against kernel headers older than 5.19 (manylinux2014 has 3.10's):
 * no io_uring here, so many words take the front layer's own wait. */
#if !defined(IORING_ASYNC_CANCEL_ANY) || !defined(__NR_io_uring_setup)
static int uring_waitv(const futex_waitv_item *items, uint32_t n)
{
    (void)items, (void)n;
    return -ENOSYS;
}
#else
#include <sys/mman.h>

#define OP_FUTEX_WAITV 53 /* IORING_OP_FUTEX_WAITV: named only in headers from 6.7 on */
#define CANCEL_DATA UINT64_MAX
#define NONE_YET INT_MIN

typedef struct {
    int fd;
    unsigned char *sq, *cq;
    size_t sq_len, cq_len, sqes_len;
    struct io_uring_sqe *sqes;
    uint32_t *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask; /* the kernel's __u32 fields */
    struct io_uring_cqe *cqes;
    unsigned unsubmitted; /* queued entries the kernel has not taken yet */
} uring;

/* 0 before the first try, KNOWN_WORKS while it works, KNOWN_MISSING once it
 * did not. Relaxed: racing threads only store the same answer. */
static uint32_t uring_state;

static void uring_close(uring *r)
{
    if (r->sqes != NULL && (void *)r->sqes != MAP_FAILED)
        munmap(r->sqes, r->sqes_len);
    if (r->cq != NULL && r->cq != r->sq && (void *)r->cq != MAP_FAILED)
        munmap(r->cq, r->cq_len);
    if (r->sq != NULL && (void *)r->sq != MAP_FAILED)
        munmap(r->sq, r->sq_len);
    close(r->fd);
}

static int uring_open(uring *r, unsigned entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    memset(r, 0, sizeof *r);
    long fd = syscall(__NR_io_uring_setup, entries, &p);
    if (fd < 0)
        return -errno; /* ENOSYS, EPERM (io_uring_disabled, seccomp), ENOMEM, EMFILE */
    r->fd = (int)fd;
    r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) /* 5.4+: both rings in one mapping */
        r->sq_len = r->cq_len = r->sq_len > r->cq_len ? r->sq_len : r->cq_len;
    r->sq = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    r->cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? r->sq
                                                   : mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
                                                          MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if ((void *)r->sq == MAP_FAILED || (void *)r->cq == MAP_FAILED || (void *)r->sqes == MAP_FAILED) {
        uring_close(r);
        return -ENOMEM;
    }
    r->sq_tail = (uint32_t *)(r->sq + p.sq_off.tail);
    r->sq_mask = (uint32_t *)(r->sq + p.sq_off.ring_mask);
    r->sq_array = (uint32_t *)(r->sq + p.sq_off.array);
    r->cq_head = (uint32_t *)(r->cq + p.cq_off.head);
    r->cq_tail = (uint32_t *)(r->cq + p.cq_off.tail);
    r->cq_mask = (uint32_t *)(r->cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(r->cq + p.cq_off.cqes);
    return 0;
}

/* Queues one request. The kernel copies a FUTEX_WAITV's word list when it
 * takes the entry (uring_enter), so the caller's buffer is free after that. */
static void uring_queue(uring *r, const struct io_uring_sqe *sqe)
{
    unsigned tail = *r->sq_tail; /* only we write it */
    unsigned i = tail & *r->sq_mask;
    r->sqes[i] = *sqe;
    r->sq_array[i] = i;
    /* Release: the kernel must see the entry before the new tail. */
    futex__atomic_store(r->sq_tail, tail + 1, FUTEX__RELEASE);
    r->unsubmitted++;
}

/* Submits every queued entry and, with wait, sleeps until a completion is
 * there. 0, or -errno: EINTR (a signal), EAGAIN/ENOMEM (no memory now),
 * EBUSY (completions to reap first). */
static long uring_enter(uring *r, int wait)
{
    long rc = syscall(__NR_io_uring_enter, r->fd, r->unsubmitted, wait ? 1u : 0u,
                      wait ? IORING_ENTER_GETEVENTS : 0u, NULL, 0);
    if (rc < 0)
        return -errno;
    r->unsubmitted -= (unsigned)rc < r->unsubmitted ? (unsigned)rc : r->unsubmitted;
    return 0;
}

/* Hands each completion that is there to fn; returns how many. */
static long uring_reap(uring *r, void (*fn)(void *, const struct io_uring_cqe *), void *arg)
{
    long got = 0;
    /* Acquire: the entries before the kernel's tail are complete. */
    unsigned tail = futex__atomic_load(r->cq_tail, FUTEX__ACQUIRE);
    for (unsigned head = *r->cq_head; head != tail; head++, got++) {
        fn(arg, &r->cqes[head & *r->cq_mask]);
        /* Release: we are done with the entry before the kernel may reuse it. */
        futex__atomic_store(r->cq_head, head + 1, FUTEX__RELEASE);
    }
    return got;
}

typedef struct {
    uint32_t groups, done; /* FUTEX_WAITV requests, and how many have completed */
    int cancelled;         /* the cancel request completed */
    int rc;                /* the first result: index, -EAGAIN, ..., or NONE_YET */
    int unsupported;       /* a request failed with -EINVAL: no FUTEX_WAITV here */
} uring_wait;

static void uring_cqe(void *arg, const struct io_uring_cqe *c)
{
    uring_wait *u = arg;
    if (c->user_data == CANCEL_DATA) {
        u->cancelled = 1;
        return;
    }
    u->done++;
    if (c->res >= 0 && u->rc == NONE_YET)
        u->rc = (int)(c->user_data * FUTEX_WAITV_LIMIT) + c->res; /* woken: the word's index in all n */
    else if (c->res == -EAGAIN && u->rc == NONE_YET)
        u->rc = -EAGAIN; /* a word of this group differed when the kernel looked */
    else if (c->res == -EINVAL)
        u->unsupported = 1; /* an unknown opcode (before 6.7): nothing was queued */
    /* -ECANCELED: one we cancelled. Others (ENOMEM, EFAULT) end the wait below. */
    else if (c->res < 0 && c->res != -ECANCELED && u->rc == NONE_YET)
        u->rc = c->res;
}

static int uring_waitv(const futex_waitv_item *items, uint32_t n)
{
    if (futex__atomic_load(&uring_state, FUTEX__RELAXED) == KNOWN_MISSING)
        return -ENOSYS;
    uring_wait u = {(n + FUTEX_WAITV_LIMIT - 1) / FUTEX_WAITV_LIMIT, 0, 0, NONE_YET, 0};
    uring r;
    int rc = uring_open(&r, u.groups + 1);
    if (rc == -ENOSYS || rc == -EPERM) {
        futex__atomic_store(&uring_state, KNOWN_MISSING, FUTEX__RELAXED); /* no io_uring for us here, for good */
        return -ENOSYS;
    }
    if (rc != 0)
        return -ENOSYS; /* out of memory or fds for now: the front layer's own wait */
    struct io_uring_sqe sqe;
    struct kwaitv w[FUTEX_WAITV_LIMIT];
    uint32_t queued = 0;
    long erc = 0;
    for (uint32_t g = 0; g < u.groups; g++) {
        uint32_t first = g * FUTEX_WAITV_LIMIT, count = n - first < FUTEX_WAITV_LIMIT ? n - first : FUTEX_WAITV_LIMIT;
        for (uint32_t i = 0; i < count; i++)
            kwaitv_fill(&w[i], &items[first + i]);
        memset(&sqe, 0, sizeof sqe);
        sqe.opcode = OP_FUTEX_WAITV;
        sqe.addr = (uint64_t)(uintptr_t)w;
        sqe.len = count;
        sqe.user_data = g;
        uring_queue(&r, &sqe);
        queued++;
        /* Submit now: `w` is reused for the next group. */
        while ((erc = uring_enter(&r, 0)) == -EINTR) {
        }
        if (erc < 0)
            break; /* no memory now: stop, cancel what went in, and let the front layer wait */
        /* Stop early if a group already completed (-EAGAIN, woken, or no FUTEX_WAITV). */
        (void)uring_reap(&r, uring_cqe, &u);
        if (u.rc != NONE_YET || u.unsupported)
            break;
    }
    u.groups = queued;
    int interrupted = 0;
    while (erc == 0 && u.rc == NONE_YET && !u.unsupported && u.done < u.groups) {
        erc = uring_enter(&r, 1);
        if (erc == -EINTR)
            interrupted = 1; /* a handler ran: leave, as the single-group wait does */
        if (erc < 0)
            break;
        (void)uring_reap(&r, uring_cqe, &u);
    }
    if (u.done < u.groups) {
        /* Cancel what is still queued, and wait for every request to finish,
         * so that none outlives this call. A request the kernel has not
         * taken yet goes in first and is cancelled with the rest. */
        memset(&sqe, 0, sizeof sqe);
        sqe.opcode = IORING_OP_ASYNC_CANCEL;
        sqe.cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
        sqe.user_data = CANCEL_DATA;
        uring_queue(&r, &sqe);
        int failures = 0;
        while ((u.done < u.groups || !u.cancelled) && failures < 1000) {
            long e = uring_enter(&r, 1);
            /* EINTR: keep reaping, we must not leave them. Anything else
             * (no memory, over and over): give up after a while and let
             * closing the ring cancel them (asynchronously). */
            if (e < 0 && e != -EINTR)
                failures++;
            (void)uring_reap(&r, uring_cqe, &u);
        }
    }
    uring_close(&r);
    if (u.unsupported) {
        futex__atomic_store(&uring_state, KNOWN_MISSING, FUTEX__RELAXED); /* before 6.7: no FUTEX_WAITV in io_uring */
        return -ENOSYS;
    }
    futex__atomic_store(&uring_state, KNOWN_WORKS, FUTEX__RELAXED);
    if (u.rc != NONE_YET)
        return u.rc;
    if (interrupted)
        return -EINTR;
    return -ENOSYS; /* out of memory now: the front layer's own wait */
}
#endif /* IORING_ASYNC_CANCEL_ANY */
