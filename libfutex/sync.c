/*
 * The synchronization primitives of futex.h -- Mutex, Semaphore, Event,
 * Condition, Barrier -- built on the front layer's words, waits and spin.
 *
 * Every blocking call waits through futex_deadline_wait, so it inherits the
 * front layer's deadline handling and its -EINTR behaviour, and spins (the
 * front layer's futex__spin) BEFORE it announces itself as a waiter: a
 * partner that answers while we spin never sees an announced waiter and so
 * never makes a wake system call.
 *
 * Atomics: libfutex/atomic.h's, each with the order it needs and a line
 * saying why, so that MSVC builds this file too.
 */
#include "futex.h"

#include "atomic.h"
#include "backend.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#elif !defined(__wasm__)
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/stat.h>
#include <sys/syscall.h>
#elif (defined(__APPLE__) || defined(__FreeBSD__) || defined(__DragonFly__) || defined(__NetBSD__) ||               \
       defined(__OpenBSD__)) &&                                                                                    \
    (!defined(__has_include) || __has_include(<sys/sysctl.h>))
#define HAVE_KINFO_PROC 1 /* the process table tells a process's start time */
#include <sys/param.h>
#include <sys/sysctl.h>
#if defined(__FreeBSD__) || defined(__DragonFly__)
#include <sys/user.h>
#endif
#if defined(__FreeBSD__)
#include <sys/thr.h>
#endif
#if defined(__OpenBSD__) && !defined(SZOMB)
#define SZOMB 5 /* p_stat values of OpenBSD's <sys/proc.h>, which userland may not see */
#define SDEAD 6
#endif
#endif
#endif

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

/* ---- atomics ---------------------------------------------------------------
 * Named by what they are for; the order is in the name. */
static inline uint32_t load_relaxed(const uint32_t *w) { return futex__atomic_load(w, FUTEX__RELAXED); }
static inline uint32_t load_acquire(const uint32_t *w) { return futex__atomic_load(w, FUTEX__ACQUIRE); }
static inline uint32_t load_seq(const uint32_t *w) { return futex__atomic_load(w, FUTEX__SEQ_CST); }
static inline int cas_acquire(uint32_t *w, uint32_t *expected, uint32_t desired)
{
    /* Strong: a spurious failure would only cost a loop, but the callers
     * read a failure as "someone else changed the word". A failure needs no
     * order (the caller re-reads the word through the next CAS); atomic.h
     * gives it acquire, which is stronger. */
    return futex__atomic_cas(w, expected, desired, FUTEX__ACQUIRE);
}
static inline int cas_acq_rel(uint32_t *w, uint32_t *expected, uint32_t desired)
{
    return futex__atomic_cas(w, expected, desired, FUTEX__ACQ_REL); /* fails with acquire */
}
static inline int cas_seq(uint32_t *w, uint32_t *expected, uint32_t desired)
{
    return futex__atomic_cas(w, expected, desired, FUTEX__SEQ_CST); /* fails with seq_cst */
}

/* ---- common checks and waits ---------------------------------------------- */

#define ALIGNED(p, a) ((p) != NULL && ((uintptr_t)(p) & ((uintptr_t)(a)-1u)) == 0)

/* The flags every primitive takes, checked as futex_wait checks them, so that
 * -ENOTSUP comes before anything is touched. */
static int check_flags(unsigned flags)
{
    if ((flags & ~(FUTEX_SHARED | FUTEX_NOSPIN)) != 0)
        return -EINVAL; /* an unknown bit: refuse rather than guess */
    if (flags & FUTEX_SHARED) {
        /* The capabilities are decided once; keep them here, off the
         * uncontended lock/unlock path's calls. Relaxed: racing first calls
         * store the same value. */
        static uint32_t caps; /* FUTEX_CAP_* | 0x80000000 once known */
        uint32_t c = futex__atomic_load(&caps, FUTEX__RELAXED);
        if (c == 0) {
            c = (uint32_t)futex_capabilities() | 0x80000000u;
            futex__atomic_store(&caps, c, FUTEX__RELAXED);
        }
        if (!(c & FUTEX_CAP_SHARED))
            return -ENOTSUP; /* shared use where waits cannot cross processes */
    }
    return 0;
}

static inline uint64_t deadline_at(const futex_deadline *d) { return d == NULL ? FUTEX_FOREVER : d->at_ns; }

/* One sleep on *w == v until at_ns; the spin was done by the caller before
 * it announced itself, so never spin here. began: NULL, or the spin's start
 * from spin(), which the first sleep after that spin teaches (and clears).
 * Results as futex_deadline_wait. */
static int sleep_until(const uint32_t *w, uint32_t v, uint64_t at_ns, unsigned flags, uint64_t *began)
{
    futex_deadline dl;
    dl.at_ns = at_ns;
    int rc = futex_deadline_wait(&dl, w, v, (flags & FUTEX_SHARED) | FUTEX_NOSPIN);
    if (began != NULL && *began != 0) {
        futex__spin_slept(*began, rc);
        *began = 0;
    }
    return rc;
}

/* Spin (unless FUTEX_NOSPIN) while *w == v, never past the deadline: 1 if
 * it changed. *began: for the sleep that follows (sleep_until). */
static int spin(const uint32_t *w, uint32_t v, unsigned flags, uint64_t at_ns, uint64_t *began)
{
    *began = 0;
    return !(flags & FUTEX_NOSPIN) && futex__spin(w, v, at_ns, began) > 0;
}

/* futex_wake where the result is only informative: a failure here can only
 * be one the wait side sees too (-EFAULT), and the state change that the
 * wake announces has been made already. */
static void wake(const uint32_t *w, uint32_t n, unsigned flags) { (void)futex_wake(w, n, flags & FUTEX_SHARED); }

/* ======================================================================== *
 * Mutex                                                                     *
 * ======================================================================== */

/* The lock word: the Linux robust-futex format (robust-futex-ABI.rst). */
#define TID_MASK 0x3FFFFFFFu
#define OWNER_DIED 0x40000000u
#define WAITERS 0x80000000u
#define NOTRECOVERABLE TID_MASK /* no thread id is this large */

/* Fields, as uint32 indexes into the 64 bytes (see futex.h). */
#define M_WORD 0
#define M_OWNER 1
#define M_PID 2
#define M_NS 3 /* Linux: the holder's pid namespace (low 32 bits of /proc/self/ns/pid's inode) */
#define M_START 4 /* uint64 at byte 16 */
#define M_ROBUST 10 /* byte 40: 1 when the holder entered the mutex in its kernel robust list */

/* The start time as two uint32 halves (low at byte 16): each half is one
 * atomic access on every CPU, 32-bit ones included. A reader can see halves
 * of two publishes only in a holder's publish window, which owner_alive
 * re-checks before it calls anyone dead. */
static inline uint64_t load_start(const futex_mutex *m)
{
    return (uint64_t)load_relaxed(&m->u32_[M_START + 1]) << 32 | load_relaxed(&m->u32_[M_START]);
}
static inline void store_start(futex_mutex *m, uint64_t start)
{
    futex__atomic_store(&m->u32_[M_START], (uint32_t)start, FUTEX__RELAXED);
    futex__atomic_store(&m->u32_[M_START + 1], (uint32_t)(start >> 32), FUTEX__RELAXED);
}
#define M_NODE 32 /* byte offset of the robust-list entry's `next` pointer */

static inline uint32_t *mword(futex_mutex *m) { return &m->u32_[M_WORD]; }
static inline const uint32_t *cmword(const futex_mutex *m) { return &m->u32_[M_WORD]; }

/* ---- who am I --------------------------------------------------------------
 * A thread id (30 bits, non-zero, not NOTRECOVERABLE), this thread's start
 * time for the reuse guard, and our process id, cached per thread. fork gives
 * the child's one thread a new id while copying the cache, so a fork handler
 * clears the cache in the child. */

static _Thread_local uint32_t my_id;
static _Thread_local uint64_t my_start;
static _Thread_local uint32_t my_pid;
static _Thread_local uint32_t my_ns; /* Linux: our pid namespace's inode (low 32 bits); 0 unknown */

#if defined(__linux__)
/* /proc/<tid>/stat of any thread (the tid directories are not listed but can
 * be opened). 1: found (state and field 22, starttime, filled); 0: no such
 * thread; -1: cannot tell (no /proc, no permission). */
static int proc_stat(uint32_t tid, char *state, uint64_t *start)
{
    char path[48], buf[1024];
    snprintf(path, sizeof path, "/proc/%u/stat", (unsigned)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? 0 : -1; /* ENOENT: gone (or no /proc: see thread_alive) */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return n == 0 || errno == ESRCH ? 0 : -1; /* ESRCH: it exited between open and read */
    buf[n] = 0;
    /* The command name (field 2) may contain spaces and ')': skip to the last ')'. */
    const char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -1;
    p += 2;
    *state = *p;
    for (int field = 3; field < 22 && *p; p++)
        if (*p == ' ')
            field++;
    *start = strtoull(p, NULL, 10);
    return 1;
}
#endif

#if defined(HAVE_KINFO_PROC)
/* The process's start time in microseconds from kinfo_proc. 1: alive;
 * 0: cannot tell; -1: no such process or a zombie. */
static int bsd_proc(pid_t pid, uint64_t *start)
{
#if defined(__NetBSD__)
    struct kinfo_proc2 kp;
    int mib[6] = {CTL_KERN, KERN_PROC2, KERN_PROC_PID, (int)pid, (int)sizeof kp, 1};
    u_int miblen = 6;
#elif defined(__OpenBSD__)
    struct kinfo_proc kp;
    int mib[6] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid, (int)sizeof kp, 1};
    u_int miblen = 6;
#else
    struct kinfo_proc kp;
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid};
    u_int miblen = 4;
#endif
    size_t len = sizeof kp;
    memset(&kp, 0, sizeof kp);
    if (sysctl(mib, miblen, &kp, &len, NULL, 0) != 0)
        return errno == ESRCH ? -1 : 0; /* ESRCH: FreeBSD's answer for no such pid */
    if (len == 0)
        return -1; /* the others answer with no record */
#if defined(__APPLE__)
    if (kp.kp_proc.p_stat == SZOMB)
        return -1;
    *start = (uint64_t)kp.kp_proc.p_starttime.tv_sec * 1000000u + (uint64_t)kp.kp_proc.p_starttime.tv_usec;
#elif defined(__FreeBSD__)
    if (kp.ki_stat == SZOMB)
        return -1;
    *start = (uint64_t)kp.ki_start.tv_sec * 1000000u + (uint64_t)kp.ki_start.tv_usec;
#elif defined(__DragonFly__)
    if (kp.kp_stat == SZOMB)
        return -1;
    *start = (uint64_t)kp.kp_start.tv_sec * 1000000u + (uint64_t)kp.kp_start.tv_usec;
#else /* NetBSD, OpenBSD */
    if (kp.p_stat == SZOMB || kp.p_stat == SDEAD)
        return -1;
    *start = (uint64_t)kp.p_ustart_sec * 1000000u + (uint64_t)kp.p_ustart_usec;
#endif
    return 1;
}
#endif

#if defined(_WIN32)
static uint64_t win_thread_start(HANDLE h)
{
    FILETIME created, exited, kernel, user;
    if (!GetThreadTimes(h, &created, &exited, &kernel, &user))
        return 0;
    return ((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime;
}
#endif

#if !defined(_WIN32) && !defined(__wasm__)
static void forget_identity(void)
{
    /* Runs in the child of fork, in its only thread: its id and pid are new. */
    my_id = 0;
}
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) { (void)pthread_atfork(NULL, NULL, forget_identity); }
#endif

static uint32_t make_id(void)
{
#if defined(__linux__) && defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 30)
    return (uint32_t)gettid(); /* pid_max <= 2^22: fits the 30 bits */
#elif defined(__linux__)
    return (uint32_t)syscall(SYS_gettid);
#elif defined(_WIN32)
    return (uint32_t)GetCurrentThreadId() & TID_MASK;
#elif defined(__APPLE__)
    uint64_t t = 0;
    pthread_threadid_np(NULL, &t); /* system-wide, counts up from boot */
    return (uint32_t)(t & TID_MASK);
#elif defined(__FreeBSD__)
    long t = 0;
    thr_self(&t); /* system-wide, 100001 .. PID_MAX + NO_PID */
    return (uint32_t)t & TID_MASK;
#elif defined(__OpenBSD__)
    return (uint32_t)getthrid() & TID_MASK; /* system-wide */
#elif defined(__wasm__)
    static uint32_t counter;
    return ((futex__atomic_fetch_add(&counter, 1, FUTEX__RELAXED) + 1u) & 0xFFFFFu) + 1u;
#else
    /* NetBSD and DragonFly number LWPs per process: 20 bits of our pid and 10
     * of a per-process counter (1024 threads before it wraps). */
    static uint32_t counter;
    uint32_t n = futex__atomic_fetch_add(&counter, 1, FUTEX__RELAXED) + 1u; /* only uniqueness matters */
    return (((uint32_t)getpid() & 0xFFFFFu) << 10 | (n & 0x3FFu)) & TID_MASK;
#endif
}

static uint32_t self_id_slow(void)
{
#if !defined(_WIN32) && !defined(__wasm__)
    (void)pthread_once(&atfork_once, register_atfork);
#endif
    uint32_t id = make_id();
    if (id == 0 || id == NOTRECOVERABLE)
        id = 1; /* cannot happen with real tids; keeps the states apart if it did */
    uint64_t start = 0;
#if defined(__linux__)
    char state;
    if (proc_stat(id, &state, &start) != 1)
        start = 0;
    my_pid = (uint32_t)getpid();
    struct stat ns;
    my_ns = stat("/proc/self/ns/pid", &ns) == 0 ? (uint32_t)ns.st_ino : 0;
#elif defined(_WIN32)
    start = win_thread_start(GetCurrentThread());
    my_pid = (uint32_t)GetCurrentProcessId();
#elif defined(HAVE_KINFO_PROC)
    my_pid = (uint32_t)getpid();
    if (bsd_proc(getpid(), &start) != 1)
        start = 0;
#elif !defined(__wasm__)
    my_pid = (uint32_t)getpid();
#endif
    my_start = start;
    my_id = id;
    return id;
}

static inline uint32_t self_id(void)
{
    uint32_t id = my_id;
    return id != 0 ? id : self_id_slow();
}

/* ---- is the owner alive? --------------------------------------------------- */

/* 0 only when the owner is certainly gone; 1 when alive or when we cannot
 * tell (a wrong "dead" would give the lock to two threads at once; a wrong
 * "alive" only keeps waiting); OWNER_UNPUBLISHED when the holder has not yet
 * published its fields. `id` is from the lock word; the published fields are
 * believed only while the published id is that id, which the holder stores
 * last, after the others.
 *
 * Unpublished: a holder publishes within a microsecond of taking the word,
 * so a word that stays unpublished from one check to the next (100 ms) has
 * lost its holder in between: the caller counts it dead then. Before that,
 * nothing about the id can be trusted -- it may be a tid of another pid
 * namespace (a container sharing the memory), which /proc here knows
 * nothing of, or that names an unrelated thread. */
#define OWNER_UNPUBLISHED 2
static int owner_alive(const futex_mutex *m, uint32_t id)
{
    /* Acquire: pairs with the holder's release store of M_OWNER, so a
     * matching id means M_PID, M_NS and M_START below are the holder's. */
    int published = futex__atomic_load(&m->u32_[M_OWNER], FUTEX__ACQUIRE) == id;
    if (!published)
        return OWNER_UNPUBLISHED;
    uint64_t start = load_start(m);
#if defined(__linux__)
    uint32_t ns = load_relaxed(&m->u32_[M_NS]);
    if (ns != 0 && my_ns != 0 && ns != my_ns)
        return 1; /* a tid of another pid namespace: /proc here cannot judge it (the kernel's robust list can) */
    /* The id is a kernel tid: check the thread itself. */
    char state = 0;
    uint64_t now_start = 0;
    int r = proc_stat(id, &state, &now_start);
    if (r == 0) {
        /* No /proc/<tid>: gone -- unless /proc itself is missing. */
        static uint32_t proc_ok; /* 0 unknown, 1 no /proc, 2 /proc; races only store the same answer */
        uint32_t ok = futex__atomic_load(&proc_ok, FUTEX__RELAXED);
        if (ok == 0) {
            ok = access("/proc/self/stat", R_OK) == 0 ? 2u : 1u;
            futex__atomic_store(&proc_ok, ok, FUTEX__RELAXED);
        }
        if (ok == 2)
            return 0;
        /* kill(2) takes a tid too on Linux: ESRCH is "no such task". */
        return !(kill((pid_t)id, 0) != 0 && errno == ESRCH);
    }
    if (r < 0)
        return 1;
    if (state == 'Z' || state == 'X')
        return 0; /* killed, not yet reaped by its parent: dead for us */
    if (start != 0 && now_start != start) {
        /* The tid was reused by a thread born later -- or a holder with a
         * reused tid is between its CAS and its publish_owner, and the
         * fields are still the dead predecessor's. The /proc read took far
         * longer than a publish: look again before calling it dead. */
        if ((load_acquire(cmword(m)) & TID_MASK) == id && futex__atomic_load(&m->u32_[M_OWNER], FUTEX__ACQUIRE) == id &&
            load_start(m) == now_start)
            return 1;
        return 0;
    }
    return 1;
#elif defined(_WIN32)
    HANDLE h = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)id);
    if (h == NULL)
        return GetLastError() != ERROR_INVALID_PARAMETER; /* INVALID_PARAMETER: no such thread id */
    DWORD code = 0;
    int alive = !(GetExitCodeThread(h, &code) && code != STILL_ACTIVE);
    if (alive && start != 0 && win_thread_start(h) != start)
        alive = 0; /* the id was reused */
    CloseHandle(h);
    return alive;
#elif defined(__wasm__)
    (void)start;
    return 1; /* one process; threads cannot be killed alone */
#else
    /* The owner's process: only the published fields say which it is. */
    (void)start;
    pid_t pid = (pid_t)futex__atomic_load(&m->u32_[M_PID], FUTEX__RELAXED);
    if (pid <= 0)
        return 1;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 0;
#if defined(HAVE_KINFO_PROC)
    uint64_t now_start = 0;
    int r = bsd_proc(pid, &now_start);
    if (r < 0)
        return 0; /* gone or a zombie */
    if (r > 0 && start != 0 && now_start != start)
        return 0; /* the pid was reused */
#endif
    return 1;
#endif
}

/* Publish who holds m, after taking it: the fields a liveness check reads,
 * and whether the kernel will report our death itself (robust: we linked m
 * into our kernel robust list). The id goes last with release order, so a
 * checker that sees it sees the rest (pairs with owner_alive's acquire). */
static inline void publish_owner(futex_mutex *m, uint32_t id, uint32_t robust)
{
    if (load_relaxed(&m->u32_[M_OWNER]) == id && load_relaxed(&m->u32_[M_PID]) == my_pid &&
        load_relaxed(&m->u32_[M_NS]) == my_ns && load_relaxed(&m->u32_[M_ROBUST]) == robust &&
        load_start(m) == my_start)
        return; /* our own fields from the last time (the common relock): already right, and no store */
    store_start(m, my_start);
    futex__atomic_store(&m->u32_[M_PID], my_pid, FUTEX__RELAXED);
    futex__atomic_store(&m->u32_[M_NS], my_ns, FUTEX__RELAXED);
    futex__atomic_store(&m->u32_[M_ROBUST], robust, FUTEX__RELAXED);
    futex__atomic_store(&m->u32_[M_OWNER], id, FUTEX__RELEASE);
}

/* The word holds our id: is it really us, or a dead thread whose id the OS
 * gave to us (Windows reuses thread ids at once; Linux after pid_max)? Our
 * publish_owner ran before any lock call returned, so a true holder finds
 * its own fields; a predecessor's differ in start time (or pid). Relaxed:
 * only this thread writes these fields while it holds the word. */
static int fields_are_mine(const futex_mutex *m, uint32_t me)
{
    return load_relaxed(&m->u32_[M_OWNER]) == me && load_relaxed(&m->u32_[M_PID]) == my_pid &&
           load_start(m) == my_start;
}

/* ---- the kernel's robust list (Linux, glibc, 64-bit) ----------------------
 *
 * Why this way: the kernel keeps ONE robust-list head per thread, and glibc
 * has registered its own for every thread (set_robust_list at thread start)
 * to recover its robust pthread mutexes. Registering ours would unregister
 * glibc's, and FUTEX_LOCK_PI needs that same list to recover a dead owner.
 * So we enter our mutexes into glibc's list, exactly as glibc enters its own:
 * the list is doubly linked through {prev, next} pairs, every pointer points
 * at a `next` field, the lock word lies futex_offset bytes from it (-32 on
 * every 64-bit glibc: __lock at 0, __list.__next at 32 in pthread_mutex_t --
 * hence our layout), and the head's `prev` is the word before the head
 * (glibc's robust_prev). glibc's unlock unlinks its entries through their
 * neighbours' fields, which works for our entries because they have the same
 * shape, and vice versa. list_op_pending covers a death between taking the
 * word and linking the entry (and between unlinking and releasing). The
 * kernel, at the thread's exit, walks the list and for each word that still
 * holds the thread's tid sets OWNER_DIED (keeping WAITERS) and, if WAITERS
 * was set, wakes one waiter with a process-shared wake -- so our waits on the
 * mutex word are process-shared on this backend even for FUTEX_PRIVATE.
 *
 * Only the thread that holds a mutex touches its entry, and the list is the
 * thread's own: plain stores ordered by compiler barriers suffice, as in
 * glibc. Everything is checked at run time (get_robust_list, futex_offset),
 * and anything unexpected falls back to the liveness checks alone. */
#if defined(__linux__) && defined(__GLIBC__) && UINTPTR_MAX == UINT64_MAX && defined(SYS_get_robust_list)
#define ROBUST_LIST 1
struct robust_head {
    void *list;             /* the first entry's `next` field, or &list when empty */
    long futex_offset;      /* lock word address - entry address */
    void *list_op_pending;  /* an entry being locked or unlocked */
};
static _Thread_local struct robust_head *my_head; /* NULL: not known yet or unusable */
static _Thread_local int my_head_state;           /* 0 unknown, 1 usable, -1 unusable */
static uint32_t robust_backend;                   /* the linux backend is in use: 0 unknown, 1 no, 2 yes */

static struct robust_head *robust_head_slow(void)
{
    uint32_t on = futex__atomic_load(&robust_backend, FUTEX__RELAXED); /* races only store the same answer */
    if (on == 0) {
        on = strcmp(futex_backend(), "linux") == 0 ? 2u : 1u; /* the kernel's wake reaches only kernel futex waits */
        futex__atomic_store(&robust_backend, on, FUTEX__RELAXED);
    }
    struct robust_head *h = NULL;
    size_t len = 0;
    if (on == 2 && syscall(SYS_get_robust_list, 0, &h, &len) == 0 && h != NULL && len == sizeof(struct robust_head) &&
        h->futex_offset == -(long)M_NODE && h->list != NULL) {
        my_head = h;
        my_head_state = 1;
    } else {
        my_head_state = -1; /* no list, or not glibc's shape: liveness checks only */
    }
    return my_head_state > 0 ? my_head : NULL;
}

static inline struct robust_head *robust_head(void)
{
    return my_head_state > 0 ? my_head : my_head_state < 0 ? NULL : robust_head_slow();
}

#define barrier() futex__signal_fence() /* compiler-only: the kernel reads this list when we exit */
#define NEXT_OF(p) ((void **)((uintptr_t)(p) & ~(uintptr_t)1)) /* bit 0 marks glibc's PI entries */

static void robust_link(struct robust_head *h, futex_mutex *m)
{
    if (h == NULL)
        return; /* no usable list in this thread (or another backend): liveness checks only */
    void **node = (void **)((char *)m + M_NODE);
    if (node[0] != NULL) {
        /* Left linked by a holder that died (its pointers mean nothing
         * here), or -- a dead predecessor with our tid -- still in OUR list:
         * linking it twice would loop the list. Only after a death, so the
         * walk (bounded as the kernel's) costs nothing in the common case. */
        void **e = NEXT_OF(h->list);
        for (int i = 0; i < 2048 && e != (void **)&h->list; i++, e = NEXT_OF(*e))
            if (e == node)
                return;
    }
    void **first = NEXT_OF(h->list);
    first[-1] = node;        /* first->prev */
    node[0] = h->list;       /* node->next, keeping its PI bit */
    node[-1] = (void *)&h->list;
    barrier();               /* the entry is whole before the kernel can reach it */
    h->list = node;
}

static void robust_unlink(struct robust_head *h, futex_mutex *m)
{
    if (h == NULL)
        return; /* robust_link did not link it either */
    void **node = (void **)((char *)m + M_NODE);
    void **next = NEXT_OF(node[0]);
    void **prev = NEXT_OF(node[-1]);
    next[-1] = node[-1];
    prev[0] = node[0];
    barrier();               /* out of the list before the word is released */
    node[0] = node[-1] = NULL;
}

static inline void set_pending(struct robust_head *h, futex_mutex *m)
{
    if (h != NULL) {
        h->list_op_pending = (char *)m + M_NODE;
        barrier();
    }
}
static inline void clear_pending(struct robust_head *h)
{
    if (h != NULL) {
        barrier();
        h->list_op_pending = NULL;
    }
}
#else
struct robust_head;
static inline struct robust_head *robust_head(void) { return NULL; }
static inline void robust_link(struct robust_head *h, futex_mutex *m) { (void)h, (void)m; }
static inline void robust_unlink(struct robust_head *h, futex_mutex *m) { (void)h, (void)m; }
static inline void set_pending(struct robust_head *h, futex_mutex *m) { (void)h, (void)m; }
static inline void clear_pending(struct robust_head *h) { (void)h; }
#endif

/* The flags of waits and wakes on the mutex word: process-shared on the
 * linux backend (the kernel's owner-death wake is a shared one), else the
 * caller's. */
static unsigned mutex_wflags(unsigned flags)
{
#if defined(ROBUST_LIST)
    uint32_t on = futex__atomic_load(&robust_backend, FUTEX__RELAXED);
    if (on == 0) {
        on = strcmp(futex_backend(), "linux") == 0 ? 2u : 1u;
        futex__atomic_store(&robust_backend, on, FUTEX__RELAXED);
    }
    if (on == 2)
        return FUTEX_SHARED;
#endif
    return flags & FUTEX_SHARED;
}

static int check_mutex(const futex_mutex *m, unsigned flags)
{
    if (!ALIGNED(m, FUTEX_MUTEX_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    return check_flags(flags);
}

/* We hold m now (the word has our id): link it and say who we are. */
static inline void took(struct robust_head *h, futex_mutex *m, uint32_t me)
{
    robust_link(h, m);
    publish_owner(m, me, h != NULL); /* h: robust_link linked it, so the kernel reports our death */
}

/* One attempt on the word as last seen (*v). 0: taken; -EOWNERDEAD: taken
 * from a dead owner; -ENOTRECOVERABLE, -EDEADLK; 1: held by another thread;
 * 2: the word changed, look again; 3: held by a dead thread that had our id. `keep` is WAITERS for a thread that has
 * slept: others may still sleep, so the unlock must wake (as glibc does). */
static int attempt(futex_mutex *m, uint32_t *v, uint32_t me, uint32_t keep)
{
    uint32_t owner = *v & TID_MASK;
    if (owner == NOTRECOVERABLE)
        return -ENOTRECOVERABLE; /* unlocked while inconsistent: never usable again */
    if (owner == me && fields_are_mine(m, me))
        return -EDEADLK; /* ours already: blocking would wait for ourselves */
    if (owner == me)
        return 3; /* a dead predecessor with our id: its lock is to be taken from it */
    if (owner != 0)
        return 1;
    /* Free, or freed by the kernel/an unlock in cond_wait with OWNER_DIED
     * left set: take it and keep OWNER_DIED, which is then our
     * "inconsistent" state until futex_mutex_consistent. Acquire: the
     * previous holder's writes happen before ours. */
    uint32_t want = me | (*v & (OWNER_DIED | WAITERS)) | keep;
    if (!cas_acquire(mword(m), v, want))
        return 2;
    return (want & OWNER_DIED) ? -EOWNERDEAD : 0;
}

/* The owner `id` seen in *v is dead: take the word from it. 2 if the word
 * changed meanwhile (look again). */
static int take_from_dead(futex_mutex *m, uint32_t *v, uint32_t me)
{
    /* WAITERS: others may sleep behind the dead owner; our unlock must wake
     * them. Acquire: whatever the dead owner wrote is what we repair. */
    uint32_t want = me | OWNER_DIED | WAITERS;
    if (!cas_acquire(mword(m), v, want))
        return 2;
    return -EOWNERDEAD; /* ours now, with the dead owner's half-done state to repair */
}

static int lock(futex_mutex *m, uint64_t at_ns, unsigned flags)
{
    uint32_t me = self_id();
    unsigned wflags = mutex_wflags(flags);
    struct robust_head *h = robust_head();
    set_pending(h, m);
    uint32_t keep = 0;
    uint64_t check_at = 0;    /* when to check the owner's liveness next; 0: not set */
    uint32_t unpublished = 0; /* the word as last seen with its holder unpublished; 0: not so */
    uint64_t began = 0;       /* the spin's, for the first sleep to teach */
    int spun = 0, rc;
    uint32_t v = load_relaxed(mword(m));
    for (;;) {
        rc = attempt(m, &v, me, keep);
        if (rc == 2)
            continue; /* v was refreshed by the failed CAS */
        if (rc == 3) {
            rc = take_from_dead(m, &v, me);
            if (rc == 2)
                continue;
            break;
        }
        if (rc != 1)
            break;
        if (!spun) {
            spun = 1;
            if (spin(mword(m), v, flags, at_ns, &began)) {
                v = load_relaxed(mword(m));
                continue;
            }
        }
        /* Announce: set WAITERS before sleeping, so that the unlock, which
         * swaps the whole word, sees it and wakes. A CAS on the one word, so
         * the unlock either comes after it (and wakes) or before it (and our
         * CAS fails on the changed word). */
        if (!(v & WAITERS)) {
            if (!futex__atomic_cas(mword(m), &v, v | WAITERS, FUTEX__RELAXED))
                continue; /* relaxed: nothing but the word itself is published here */
            v |= WAITERS;
        }
        /* Sleep until the next liveness check at most, then check that the
         * owner lives: the only way to learn of a death the kernel did not
         * report. The check time is kept across wakeups, so that a waiter
         * woken again and again (by other waiters' changes, or spuriously)
         * still checks every FUTEX_MUTEX_CHECK_NS. */
        if (check_at == 0)
            check_at = futex_monotonic_ns() + FUTEX_MUTEX_CHECK_NS;
        int w = sleep_until(mword(m), v, check_at < at_ns ? check_at : at_ns, wflags, &began);
        keep = WAITERS;
        if (w == -ETIMEDOUT && futex__remaining_ns(at_ns) == 0) {
            rc = -ETIMEDOUT; /* the caller's deadline, not our check */
            break;
        }
        if ((w == -ETIMEDOUT || w == 0 || w == -EAGAIN) && futex__remaining_ns(check_at) == 0) {
            check_at = 0;
            v = load_relaxed(mword(m));
            uint32_t owner = v & TID_MASK;
            int alive = 1;
            if (owner != 0 && owner != NOTRECOVERABLE && owner != me) {
                alive = owner_alive(m, owner);
                if (alive == OWNER_UNPUBLISHED) {
                    /* The same word, still unpublished, a check period later:
                     * its holder died between taking it and publishing. */
                    alive = v != unpublished;
                    unpublished = v;
                } else {
                    unpublished = 0;
                }
            }
            if (!alive) {
                rc = take_from_dead(m, &v, me);
                if (rc != 2)
                    break;
            }
            continue;
        }
        if (w == -ETIMEDOUT)
            continue; /* defensive: the sleep ended at check_at, handled above */
        if (w == -EINTR) {
            rc = -EINTR; /* a signal handler ran: the caller decides whether to go on */
            break;
        }
        if (w != 0 && w != -EAGAIN) {
            rc = w; /* -EFAULT, -EDEADLK (single backend), ...: waiting cannot work */
            break;
        }
        v = load_relaxed(mword(m)); /* woken, spuriously or not, or the word moved: look again */
    }
    if (rc == 0 || rc == -EOWNERDEAD)
        took(h, m, me);
    clear_pending(h);
    return rc;
}

int futex_mutex_lock(futex_mutex *m, unsigned flags) { return futex_mutex_timedlock(m, NULL, flags); }

int futex_mutex_timedlock(futex_mutex *m, const futex_deadline *d, unsigned flags)
{
    int rc = check_mutex(m, flags);
    if (rc != 0)
        return rc;
    /* The fast path: a free word, taken with one CAS. Acquire: the previous
     * holder's writes are visible to us. */
    uint32_t me = self_id();
    struct robust_head *h = robust_head();
    uint32_t v = 0;
    set_pending(h, m);
    if (cas_acquire(mword(m), &v, me)) {
        took(h, m, me);
        clear_pending(h);
        return 0;
    }
    clear_pending(h);
    return lock(m, deadline_at(d), flags);
}

/* A polling trylock on a mutex held by a live thread must not ask the OS
 * (a /proc read, a sysctl) on every call: this thread remembers the last
 * holder it found alive -- the mutex, its word and every published field --
 * and believes it for FUTEX_MUTEX_TRYLOCK_CHECK_NS. Any change of the word
 * or the fields (a new holder, a new waiter bit) asks again at once. A
 * holder in its kernel robust list costs no check at all (owner_alive). */
static _Thread_local struct {
    const futex_mutex *m;
    uint32_t word, owner, pid, ns, robust;
    uint64_t start, until_ns;
} alive_seen;

/* The holder published that it linked m into its kernel robust list: its
 * death clears its id from the word and sets OWNER_DIED (which attempt
 * takes), so nothing is to be learned from the OS. Acquire: pairs with
 * publish_owner's release of the id, which makes the flag the holder's.
 * (A blocked waiter still checks every FUTEX_MUTEX_CHECK_NS: the kernel
 * walks at most 2048 entries of a list, glibc's own mutexes included.) */
static int kernel_reports(const futex_mutex *m, uint32_t v)
{
    return futex__atomic_load(&m->u32_[M_OWNER], FUTEX__ACQUIRE) == (v & TID_MASK) &&
           load_relaxed(&m->u32_[M_ROBUST]) == 1;
}

static int seen_alive_lately(const futex_mutex *m, uint32_t v)
{
    /* Relaxed: a cache key; a change we miss is caught within the period. */
    return alive_seen.m == m && alive_seen.word == v && alive_seen.owner == load_relaxed(&m->u32_[M_OWNER]) &&
           alive_seen.pid == load_relaxed(&m->u32_[M_PID]) && alive_seen.ns == load_relaxed(&m->u32_[M_NS]) &&
           alive_seen.robust == load_relaxed(&m->u32_[M_ROBUST]) && alive_seen.start == load_start(m) &&
           futex__remaining_ns(alive_seen.until_ns) != 0;
}

static void remember_alive(const futex_mutex *m, uint32_t v)
{
    alive_seen.m = m;
    alive_seen.word = v;
    alive_seen.owner = load_relaxed(&m->u32_[M_OWNER]);
    alive_seen.pid = load_relaxed(&m->u32_[M_PID]);
    alive_seen.ns = load_relaxed(&m->u32_[M_NS]);
    alive_seen.robust = load_relaxed(&m->u32_[M_ROBUST]);
    alive_seen.start = load_start(m);
    alive_seen.until_ns = futex_monotonic_ns() + FUTEX_MUTEX_TRYLOCK_CHECK_NS;
}

int futex_mutex_trylock(futex_mutex *m, unsigned flags)
{
    int rc = check_mutex(m, flags);
    if (rc != 0)
        return rc;
    uint32_t me = self_id();
    struct robust_head *h = robust_head();
    set_pending(h, m);
    uint32_t v = load_relaxed(mword(m));
    for (;;) {
        rc = attempt(m, &v, me, 0);
        if (rc == 2)
            continue;
        if (rc == 3) {
            rc = take_from_dead(m, &v, me);
            if (rc == 2)
                continue;
            break;
        }
        if (rc == -EDEADLK)
            rc = -EBUSY; /* trylock on our own: busy, as POSIX says */
        if (rc == 1) {
            /* Held: a dead owner's lock is taken at once (nobody else may be
             * waiting to notice), a live owner's is busy. */
            int alive = 1;
            if (!kernel_reports(m, v) && !seen_alive_lately(m, v)) {
                alive = owner_alive(m, v & TID_MASK);
                if (alive == 1)
                    remember_alive(m, v); /* only an answer of the OS starts the period, never the cache */
            }
            if (alive != 0) {
                rc = -EBUSY; /* alive, or not yet published: we cannot wait to find out */
            } else {
                rc = take_from_dead(m, &v, me);
                if (rc == 2)
                    continue;
            }
        }
        break;
    }
    if (rc == 0 || rc == -EOWNERDEAD)
        took(h, m, me);
    clear_pending(h);
    return rc;
}

/* Release m held by us. keep_dead: leave OWNER_DIED in the word for the next
 * taker (a Condition's wait with an inconsistent mutex) instead of making it
 * unrecoverable. */
static int unlock(futex_mutex *m, unsigned flags, int keep_dead)
{
    uint32_t me = self_id();
    uint32_t v = load_relaxed(mword(m));
    if ((v & TID_MASK) != me || !fields_are_mine(m, me))
        return -EPERM; /* not ours (free, not recoverable, or a dead thread's with our id): touch nothing */
    struct robust_head *h = robust_head();
    set_pending(h, m);
    robust_unlink(h, m);
    uint32_t next = 0;
    int rc = 0;
    if (v & OWNER_DIED) {
        if (keep_dead) {
            next = OWNER_DIED;
        } else {
            next = NOTRECOVERABLE; /* released while inconsistent: POSIX makes it unusable for good */
            rc = -ENOTRECOVERABLE;
        }
    }
    /* Release: our writes in the critical section happen before the next
     * holder's acquire. Exchange, not store: waiters may have set WAITERS
     * since we looked, and we must see it to wake them. */
    uint32_t old = futex__atomic_exchange(mword(m), next, FUTEX__RELEASE);
    clear_pending(h);
    if (next == NOTRECOVERABLE)
        wake(mword(m), FUTEX_ALL, mutex_wflags(flags)); /* every waiter must learn it */
    else if (old & WAITERS)
        wake(mword(m), 1, mutex_wflags(flags)); /* one taker is enough: it keeps WAITERS for the rest */
    return rc;
}

int futex_mutex_unlock(futex_mutex *m, unsigned flags)
{
    int rc = check_mutex(m, flags);
    return rc != 0 ? rc : unlock(m, flags, 0);
}

int futex_mutex_consistent(futex_mutex *m)
{
    if (!ALIGNED(m, FUTEX_MUTEX_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    uint32_t v = load_relaxed(mword(m));
    uint32_t me = self_id();
    if ((v & TID_MASK) != me || !fields_are_mine(m, me))
        return -EPERM; /* only the holder may vouch for the state */
    if (!(v & OWNER_DIED))
        return -EINVAL; /* nothing to make consistent */
    /* Relaxed: only we (the holder) change these bits now, and waiters only
     * add WAITERS; the unlock's release publishes the repair. */
    futex__atomic_fetch_and(mword(m), ~OWNER_DIED, FUTEX__RELAXED);
    return 0;
}

int futex_mutex_locked(const futex_mutex *m)
{
    if (!ALIGNED(m, FUTEX_MUTEX_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    return (load_relaxed(cmword(m)) & TID_MASK) != 0; /* a snapshot: no order needed */
}

int futex_mutex_is_owned(const futex_mutex *m)
{
    if (!ALIGNED(m, FUTEX_MUTEX_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    /* Relaxed: only this thread can put or remove its own id. */
    uint32_t me = self_id();
    return (load_relaxed(cmword(m)) & TID_MASK) == me && fields_are_mine(m, me);
}

/* ======================================================================== *
 * Semaphore                                                                 *
 * ======================================================================== */

#define S_VALUE 0
#define S_WAITERS 1
#define S_BOUND 2

static uint32_t sem_bound(const futex_sem *s)
{
    uint32_t b = load_relaxed(&s->u32_[S_BOUND]); /* set once by the creator */
    return b == 0 || b > FUTEX_SEM_VALUE_MAX ? FUTEX_SEM_VALUE_MAX : b;
}

int futex_sem_init(futex_sem *s, uint32_t value, uint32_t bound)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN) || bound > FUTEX_SEM_VALUE_MAX)
        return -EINVAL; /* misaligned, or a bound past what the value can hold */
    if (value > (bound == 0 ? FUTEX_SEM_VALUE_MAX : bound))
        return -EINVAL; /* a value the bound forbids */
    futex__atomic_store(&s->u32_[S_BOUND], bound, FUTEX__RELAXED);
    futex__atomic_store(&s->u32_[S_WAITERS], 0, FUTEX__RELAXED);
    futex__atomic_store(&s->u32_[S_VALUE], value, FUTEX__RELEASE); /* the bound is seen with the value */
    return 0;
}

int futex_sem_post(futex_sem *s, uint32_t n, unsigned flags)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN) || n == 0)
        return -EINVAL; /* misaligned, or a post of nothing (a caller's bug) */
    int rc = check_flags(flags);
    if (rc != 0)
        return rc;
    /* A guess, not a load: as in futex_event_set, a failed CAS reads the
     * value with its line owned, one transfer instead of two. A hand-off
     * finds the value at 0, the guess, and 0 -> 1 is within every bound
     * (>= 1), so that first CAS needs no read of the bound either (it shares
     * the value's line). */
    /* SeqCst (every CAS here): with the load of the waiter count below, a
     * Dekker pair against the waiter's "count++; load value". Either we see
     * its count or it sees our value; with weaker orders both could miss:
     *   poster: value = 1; n = waiters (0)   waiter: waiters = 1; v = value (0); sleep
     * and the waiter would sleep with a unit available. */
    uint32_t v = 0;
    if (n != 1 || !cas_seq(&s->u32_[S_VALUE], &v, 1)) {
        uint32_t bound = sem_bound(s); /* after a failed CAS: v is the value, its line ours */
        do {
            if (v > bound || n > bound - v)
                return -EOVERFLOW; /* past the bound (or memory already past it): nothing changed */
        } while (!cas_seq(&s->u32_[S_VALUE], &v, v + n));
    }
    uint32_t waiting = load_seq(&s->u32_[S_WAITERS]);
    if (waiting > 0)
        wake(&s->u32_[S_VALUE], n < waiting ? n : waiting, flags); /* only announced sleepers cost a call */
    return 0;
}

/* A waiter leaving without a unit: a post's wake may have picked it while it
 * was timing out; if units remain and others sleep, pass the wake on, or
 * they would sleep beside a unit:
 *   post: value=1, wake(1) -> us;  we: time out, leave;  B sleeps on. */
static void sem_pass_on(futex_sem *s, unsigned flags)
{
    if (load_seq(&s->u32_[S_VALUE]) > 0 && load_seq(&s->u32_[S_WAITERS]) > 0)
        wake(&s->u32_[S_VALUE], 1, flags);
}

/* Take one unit if there is one: 1 taken, 0 not. */
static int sem_take(futex_sem *s)
{
    uint32_t v = load_relaxed(&s->u32_[S_VALUE]);
    while (v > 0) {
        /* Acquire: what the poster wrote before posting is seen by the taker. */
        if (cas_acquire(&s->u32_[S_VALUE], &v, v - 1))
            return 1;
    }
    return 0;
}

int futex_sem_trywait(futex_sem *s)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    return sem_take(s) ? 0 : -EAGAIN; /* POSIX sem_trywait's answer for "would block" */
}

int futex_sem_wait(futex_sem *s, const futex_deadline *d, unsigned flags)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    int rc = check_flags(flags);
    if (rc != 0)
        return rc;
    if (sem_take(s))
        return 0;
    uint64_t began;
    if (spin(&s->u32_[S_VALUE], 0, flags, deadline_at(d), &began) && sem_take(s))
        return 0; /* a post came while we spun: no waiter announced, no wake made */
    uint64_t at_ns = deadline_at(d);
    for (;;) {
        /* SeqCst: the waiter half of the Dekker pair in futex_sem_post. */
        futex__atomic_fetch_add(&s->u32_[S_WAITERS], 1, FUTEX__SEQ_CST);
        uint32_t v = load_seq(&s->u32_[S_VALUE]);
        rc = v != 0 ? -EAGAIN : sleep_until(&s->u32_[S_VALUE], 0, at_ns, flags, &began);
        futex__atomic_fetch_sub(&s->u32_[S_WAITERS], 1, FUTEX__SEQ_CST);
        if (sem_take(s))
            return 0; /* even after a timeout or a signal: we have the unit, so we succeeded */
        if (rc == 0 || rc == -EAGAIN)
            continue; /* woken, but another taker won: wait again */
        sem_pass_on(s, flags); /* leaving without a unit */
        return rc; /* -ETIMEDOUT, -EINTR, or why waiting cannot work (-EDEADLK on single, -EFAULT) */
    }
}

int futex_sem_getvalue(const futex_sem *s)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    return (int)(load_relaxed(&s->u32_[S_VALUE]) & FUTEX_SEM_VALUE_MAX); /* a snapshot */
}

int futex_sem_bound(const futex_sem *s)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    return (int)sem_bound(s);
}

/* ======================================================================== *
 * Event                                                                     *
 * ======================================================================== */

#define E_SET 1u
#define E_WAITERS 2u
#define E_GEN 4u /* one set() that found the flag clear */

static int check_event(const futex_event *e, unsigned flags)
{
    if (!ALIGNED(e, FUTEX_EVENT_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    return check_flags(flags);
}

int futex_event_set(futex_event *e, unsigned flags)
{
    int rc = check_event(e, flags);
    if (rc != 0)
        return rc;
    uint32_t *w = &e->u32_[0];
    /* No load first: the CAS's own failure reads the word, and takes its
     * line for writing at the same time. A load would fetch the line shared
     * from the waiter that last cleared it, and the CAS fetch it again to
     * own it: two cross-CPU transfers on every hand-off instead of one.
     * Any guess is safe, as the new value is computed from what the CAS
     * compares against; 0 is an event's first value. */
    uint32_t v = 0;
    do {
        if (v & E_SET)
            return 0; /* set already: nobody can be asleep waiting for it */
        /* Release (acq_rel): what we wrote before set() is seen by a waiter
         * that sees the flag. WAITERS is cleared: we wake all of them now, and
         * any that sleep again re-announce. */
    } while (!cas_acq_rel(w, &v, ((v + E_GEN) | E_SET) & ~E_WAITERS));
    if (v & E_WAITERS)
        wake(w, FUTEX_ALL, flags);
    return 0;
}

int futex_event_clear(futex_event *e)
{
    if (!ALIGNED(e, FUTEX_EVENT_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    /* Release: clear() is ordered after what the caller did before it; it
     * wakes nobody (waiters wait for SET), and keeps WAITERS and the count. */
    futex__atomic_fetch_and(&e->u32_[0], ~E_SET, FUTEX__RELEASE);
    return 0;
}

int futex_event_is_set(const futex_event *e)
{
    if (!ALIGNED(e, FUTEX_EVENT_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    return (load_acquire(&e->u32_[0]) & E_SET) != 0; /* acquire: a true answer shows the setter's writes */
}

int futex_event_wait(futex_event *e, const futex_deadline *d, unsigned flags)
{
    int rc = check_event(e, flags);
    if (rc != 0)
        return rc;
    uint32_t *w = &e->u32_[0];
    /* Acquire: seeing SET (or a new count) shows what the setter wrote. */
    uint32_t v = load_acquire(w);
    uint32_t gen = v & ~(E_SET | E_WAITERS);
    int spun = 0;
    uint64_t began = 0; /* the spin's, for the first sleep to teach */
    uint64_t at_ns = deadline_at(d);
    for (;;) {
        if ((v & E_SET) || (v & ~(E_SET | E_WAITERS)) != gen)
            return 0; /* set now, or set (and maybe cleared) since we began */
        if (!spun) {
            spun = 1;
            if (spin(w, v, flags, at_ns, &began)) {
                v = load_acquire(w);
                continue;
            }
        }
        if (!(v & E_WAITERS)) {
            /* Announce on the word itself: set() swaps it whole, so it
             * either sees WAITERS or our CAS fails on its change. */
            if (!cas_acquire(w, &v, v | E_WAITERS))
                continue;
            v |= E_WAITERS;
        }
        rc = sleep_until(w, v, at_ns, flags, &began);
        if (rc != 0 && rc != -EAGAIN) {
            v = load_acquire(w);
            if ((v & E_SET) || (v & ~(E_SET | E_WAITERS)) != gen)
                return 0; /* it was set as we gave up: report it */
            return rc; /* -ETIMEDOUT, -EINTR (call again), or why waiting cannot work */
        }
        v = load_acquire(w);
    }
}

/* ======================================================================== *
 * Condition                                                                 *
 * ======================================================================== */

#define C_SEQ 0
#define C_COUNT 1
#define C_WAITER 1u       /* bits 0..15: waiters */
#define C_OWED 0x10000u   /* bits 16..31: wakeups owed to them */
#define C_WAITERS(c) ((c)&0xFFFFu)
#define C_OWEDN(c) ((c) >> 16)

/* Leave the waiter count after a timeout, an interruption or a failed
 * wait, with the mutex taken back first: we stay counted until then, so a
 * notify made under the mutex either counts us or comes after we left.
 * Leaving first opened a window -- we: time out, leave;  notifier: lock,
 * notify(all) counts one fewer, unlock;  we: lock, return, wait again --
 * in which a caller that waits in slices (to look at its signals) missed a
 * notify meant for every waiter. A wakeup still owed by a notify made since
 * we registered (the sequence moved) was meant for waiters counted with us:
 * take it (return 1). One owed by older notifies only is not ours, unless
 * every waiter still counted is owed one (then the count says one is). */
static int cond_leave(futex_cond *c, uint32_t s_reg)
{
    uint32_t *cnt = &c->u32_[C_COUNT];
    int ours = load_seq(&c->u32_[C_SEQ]) != s_reg;
    uint32_t v = load_seq(cnt);
    for (;;) {
        if (C_OWEDN(v) > 0 && (ours || C_OWEDN(v) == C_WAITERS(v))) {
            if (cas_seq(cnt, &v, v - C_OWED - C_WAITER))
                return 1;
        } else if (cas_seq(cnt, &v, v - C_WAITER)) {
            return 0;
        }
    }
}

int futex_cond_wait(futex_cond *c, futex_mutex *m, const futex_deadline *d, unsigned flags)
{
    if (!ALIGNED(c, FUTEX_COND_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    int rc = check_mutex(m, flags);
    if (rc != 0)
        return rc;
    if (futex_mutex_is_owned(m) != 1)
        return -EPERM; /* waiting needs the mutex held: nothing touched */
    uint32_t *cnt = &c->u32_[C_COUNT], *seq = &c->u32_[C_SEQ];
    /* Register while holding the mutex: a notify (made with the mutex held)
     * after this point counts us. SeqCst, with notify's: see below. */
    uint32_t v = load_seq(cnt);
    do {
        if (C_WAITERS(v) == 0xFFFFu)
            return -EAGAIN; /* the count would overflow into the owed field */
    } while (!cas_seq(cnt, &v, v + C_WAITER));
    /* The sequence as we registered, read with the mutex held: only a
     * notify that moves it past this counted us, so only such a notify's
     * wakeups are ours to take. A waiter that takes one owed by an older
     * notify steals it from the waiters that notify chose -- a thread
     * notified, woken, back in its next wait before the others ran took
     * theirs, and notify(3) then woke 2 of the 3 it counted. */
    uint32_t s_reg = load_seq(seq);
    unlock(m, flags, 1);
    uint64_t at_ns = deadline_at(d);
    int notified = 0;
    for (;;) {
        /* Read the sequence BEFORE looking for an owed wakeup: a notify that
         * comes after the look bumps it, and the sleep below then returns at
         * once instead of missing it:
         *   we: s = seq; owed? (0)   notify: owed = 1; seq++; wake   we: sleep(seq, s) -> EAGAIN
         * SeqCst on both sides (notify: owed, then seq) makes "we saw the old
         * owed count" imply "the seq bump comes after our read of s". */
        uint32_t s = load_seq(seq);
        v = load_seq(cnt);
        while (s != s_reg && C_OWEDN(v) > 0) {
            if (cas_seq(cnt, &v, v - C_OWED - C_WAITER)) {
                notified = 1;
                break;
            }
        }
        if (notified)
            break;
        rc = sleep_until(seq, s, at_ns, flags, NULL);
        if (rc == 0 || rc == -EAGAIN)
            continue;
        break; /* -ETIMEDOUT, -EINTR, or waiting cannot work: leave below */
    }
    /* Take the mutex back whatever happened, as pthread_cond_wait does; a
     * signal during this is not reported (we are not waiting for the
     * condition any more). */
    int lr;
    do
        lr = futex_mutex_lock(m, flags);
    while (lr == -EINTR);
    if (!notified)
        notified = cond_leave(c, s_reg); /* after the lock: see cond_leave */
    if (lr != 0)
        return lr; /* -EOWNERDEAD (held), -ENOTRECOVERABLE (not held), or a wait error */
    return notified ? 0 : rc;
}

int futex_cond_notify(futex_cond *c, uint32_t n, unsigned flags)
{
    if (!ALIGNED(c, FUTEX_COND_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    int rc = check_flags(flags);
    if (rc != 0)
        return rc;
    uint32_t *cnt = &c->u32_[C_COUNT];
    uint32_t v = load_seq(cnt), k;
    do {
        /* Waiters not yet owed a wakeup; none when memory not made by these calls owes more than it has. */
        uint32_t free_ = C_OWEDN(v) < C_WAITERS(v) ? C_WAITERS(v) - C_OWEDN(v) : 0;
        k = n < free_ ? n : free_;
        if (k == 0)
            return 0; /* nobody to wake: no system call */
        /* SeqCst: the owed count goes up before the sequence (see the waiter). */
    } while (!cas_seq(cnt, &v, v + k * C_OWED));
    futex__atomic_fetch_add(&c->u32_[C_SEQ], 1, FUTEX__SEQ_CST);
    wake(&c->u32_[C_SEQ], k, flags);
    return (int)k;
}

int futex_cond_notify_all(futex_cond *c, unsigned flags) { return futex_cond_notify(c, FUTEX_ALL, flags); }

/* ======================================================================== *
 * Barrier                                                                   *
 * ======================================================================== */

#define B_PARTIES 0
#define B_STATE 1
#define B_COUNT 0xFFFFu
#define B_GEN_ONE 0x10000u
#define B_GEN_MASK 0x3FFF0000u
#define B_RESETTING 0x40000000u
#define B_BROKEN 0x80000000u
#define TICKET_VALID 0x80000000u

/* Also refuses a barrier that was never set up (parties 0), so that nothing
 * but futex_barrier_init writes to all-zero memory: the state word stays 0
 * until parties is set, which is what makes init's "still all zeros" check
 * one CAS on parties. */
static int check_barrier(const futex_barrier *b, unsigned flags)
{
    if (!ALIGNED(b, FUTEX_BARRIER_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    int rc = check_flags(flags);
    if (rc != 0)
        return rc;
    uint32_t parties = futex__atomic_load(&b->u32_[B_PARTIES], FUTEX__ACQUIRE); /* pairs with init's CAS */
    if (parties == 0 || parties > FUTEX_BARRIER_PARTIES_MAX)
        return -EINVAL; /* not set up (all zeros), or not a barrier's word */
    return 0;
}

int futex_barrier_init(futex_barrier *b, uint32_t parties)
{
    if (!ALIGNED(b, FUTEX_BARRIER_ALIGN) || parties == 0 || parties > FUTEX_BARRIER_PARTIES_MAX)
        return -EINVAL; /* misaligned, or a party count the state word cannot hold */
    /* Set up only memory that is still all zeros, in one CAS on parties: a
     * second set-up racing the first must not reset the state the first
     * one's waiters already count in:
     *   A: init (state = 0, parties = 3), wait (state = 1)   B: init (state = 0) -- A's arrival lost
     * The state word of all-zero memory stays 0 until parties is set (every
     * other call refuses parties 0), so checking it before the CAS and
     * finding parties still 0 in the CAS means the whole barrier was zeros.
     * Acq_rel: a waiter that reads our parties (acquire) sees the zero state;
     * a failed CAS reads the parties another set-up stored (acquire). */
    if (load_acquire(&b->u32_[B_STATE]) != 0 && load_acquire(&b->u32_[B_PARTIES]) == 0)
        return -EINVAL; /* parties 0 with a state: not a barrier (nor zeros): touch nothing */
    uint32_t have = 0;
    if (cas_acq_rel(&b->u32_[B_PARTIES], &have, parties))
        return 0; /* we set it up */
    if (have == parties)
        return 0; /* set up already with the same count: attach, state untouched */
    if (have > FUTEX_BARRIER_PARTIES_MAX)
        return -EINVAL; /* a count no set-up stores: not a barrier's bytes; touch nothing */
    return -EEXIST; /* set up already with another party count: touch nothing */
}

static inline uint32_t next_gen(uint32_t v) { return (v + B_GEN_ONE) & B_GEN_MASK; }

/* A broken waiter of generation `gen` leaves: one fewer counted. The last one
 * out of a reset completes it: new generation, empty, unbroken. */
static void barrier_leave(futex_barrier *b, unsigned flags)
{
    uint32_t *st = &b->u32_[B_STATE];
    uint32_t v = load_relaxed(st), nv;
    do {
        nv = v - 1;
        if ((nv & B_COUNT) == 0 && (nv & B_RESETTING))
            nv = next_gen(v);
        /* Acq_rel: a reset that completes publishes the fresh state to the
         * arrivals waiting for it. */
    } while (!cas_acq_rel(st, &v, nv));
    if ((v & B_RESETTING) && (nv & B_COUNT) == 0)
        wake(st, FUTEX_ALL, flags); /* arrivals wait for the reset to finish */
}

/* Break generation `gen` (a timeout): 1 if we broke it, 0 if it ended first
 * (released or broken by someone else). */
static int barrier_break(futex_barrier *b, uint32_t gen, unsigned flags)
{
    uint32_t *st = &b->u32_[B_STATE];
    uint32_t v = load_relaxed(st);
    while ((v & B_GEN_MASK) == gen && !(v & B_BROKEN)) {
        if (cas_acq_rel(st, &v, v | B_BROKEN)) {
            wake(st, FUTEX_ALL, flags);
            return 1;
        }
    }
    return 0;
}

int futex_barrier_wait(futex_barrier *b, uint32_t *ticket, const futex_deadline *d, unsigned flags)
{
    int rc = check_barrier(b, flags);
    if (rc != 0)
        return rc; /* including parties 0: not set up */
    uint32_t parties = load_relaxed(&b->u32_[B_PARTIES]); /* set once; check_barrier acquired it */
    uint32_t *st = &b->u32_[B_STATE];
    uint64_t at_ns = deadline_at(d);
    uint32_t gen, idx;
    uint64_t began = 0; /* the spin's, for the first sleep to teach (none when resuming) */
    uint32_t v = load_acquire(st);
    if (ticket != NULL && *ticket != 0) {
        if (!(*ticket & TICKET_VALID))
            return -EINVAL; /* not a ticket this function gave */
        gen = *ticket & B_GEN_MASK;
        idx = *ticket & B_COUNT;
        *ticket = 0;
    } else {
        /* Arrive. */
        for (;;) {
            if (v & B_RESETTING) {
                /* A reset waits for broken waiters to leave; so do we. */
                rc = sleep_until(st, v, at_ns, flags, NULL);
                if (rc != 0 && rc != -EAGAIN)
                    return rc; /* -ETIMEDOUT, -EINTR (not arrived: call again), ... */
                v = load_acquire(st);
                continue;
            }
            if (v & B_BROKEN)
                return -ECANCELED; /* broken until reset */
            idx = v & B_COUNT;
            gen = v & B_GEN_MASK;
            if (idx + 1 >= parties) {
                /* The last: a new generation releases everyone. Acq_rel: the
                 * waiters' writes before arriving are seen by us, and ours by
                 * them (they acquire the new state). */
                if (cas_acq_rel(st, &v, next_gen(v))) {
                    if (idx > 0)
                        wake(st, FUTEX_ALL, flags);
                    return (int)idx;
                }
            } else if (cas_acq_rel(st, &v, v + 1)) {
                v += 1;
                break;
            }
        }
        if (spin(st, v, flags, deadline_at(d), &began))
            v = load_acquire(st);
    }
    for (;;) {
        if ((v & B_GEN_MASK) != gen)
            return (int)idx; /* a new generation: ours was released (a reset would wait for us to leave) */
        if (v & B_BROKEN) {
            barrier_leave(b, flags);
            return -ECANCELED; /* broken while we waited (abort, reset, a timeout) */
        }
        rc = sleep_until(st, v, at_ns, flags, &began);
        if (rc == -EINTR && ticket != NULL) {
            *ticket = TICKET_VALID | gen | idx; /* still counted: a call again resumes */
            return -EINTR; /* a signal handler ran: the caller resumes with the ticket */
        }
        if (rc == -ETIMEDOUT || (rc != 0 && rc != -EAGAIN && rc != -EINTR)) {
            /* Timed out (or waiting cannot work): break the barrier for
             * everyone, as threading.Barrier does, unless it was released
             * or broken meanwhile. */
            if (barrier_break(b, gen, flags)) {
                barrier_leave(b, flags);
                return rc;
            }
        }
        v = load_acquire(st);
    }
}

int futex_barrier_abort(futex_barrier *b, unsigned flags)
{
    int rc = check_barrier(b, flags);
    if (rc != 0)
        return rc;
    uint32_t *st = &b->u32_[B_STATE];
    uint32_t v = load_relaxed(st);
    while (!(v & B_BROKEN)) {
        if (cas_acq_rel(st, &v, v | B_BROKEN)) {
            wake(st, FUTEX_ALL, flags); /* waiters leave with -ECANCELED */
            break;
        }
    }
    return 0;
}

int futex_barrier_reset(futex_barrier *b, unsigned flags)
{
    int rc = check_barrier(b, flags);
    if (rc != 0)
        return rc;
    uint32_t *st = &b->u32_[B_STATE];
    uint32_t v = load_relaxed(st);
    for (;;) {
        if (v & B_RESETTING)
            return 0; /* a reset is under way already */
        /* Empty: a fresh generation at once. With waiters: break them, and
         * the last to leave finishes the reset (barrier_leave). */
        uint32_t nv = (v & B_COUNT) == 0 ? next_gen(v) : v | B_BROKEN | B_RESETTING;
        if (cas_acq_rel(st, &v, nv)) {
            if (nv & B_RESETTING)
                wake(st, FUTEX_ALL, flags);
            return 0;
        }
    }
}

int futex_barrier_parties(const futex_barrier *b)
{
    if (!ALIGNED(b, FUTEX_BARRIER_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    uint32_t parties = load_relaxed(&b->u32_[B_PARTIES]);
    return parties > FUTEX_BARRIER_PARTIES_MAX ? -EINVAL : (int)parties; /* past it: not a barrier's bytes */
}

int futex_barrier_n_waiting(const futex_barrier *b)
{
    if (!ALIGNED(b, FUTEX_BARRIER_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    uint32_t v = load_relaxed(&b->u32_[B_STATE]);
    return (v & (B_BROKEN | B_RESETTING)) ? 0 : (int)(v & B_COUNT); /* threading: 0 unless in the filling state */
}

int futex_barrier_broken(const futex_barrier *b)
{
    if (!ALIGNED(b, FUTEX_BARRIER_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    uint32_t v = load_relaxed(&b->u32_[B_STATE]);
    return (v & B_BROKEN) && !(v & B_RESETTING); /* a reset under way is no longer "broken" */
}

/* ======================================================================== *
 * Announcements for a watcher: an event loop's waiter                       *
 * ======================================================================== *
 * A thread that waits in futex_mutex_lock, futex_sem_wait or futex_event_wait
 * announces itself in the primitive's words before it sleeps, so that the
 * unlock, post or set knows to wake. A waiter that sleeps through a watcher
 * instead does the same here, and registers the item it is given. */

int futex_mutex_announce(futex_mutex *m, unsigned flags, futex_waitv_item *item)
{
    int rc = check_mutex(m, flags);
    if (rc != 0 || item == NULL)
        return rc != 0 ? rc : -EINVAL;
    uint32_t *w = mword(m);
    /* Acquire: seeing the word free shows what its last holder wrote. */
    uint32_t v = load_acquire(w);
    for (;;) {
        if ((v & TID_MASK) == 0)
            return -EAGAIN; /* free: nothing to wait for, take it */
        if (v & WAITERS)
            break;
        /* Announce on the word itself, as lock() does: the unlock exchanges
         * the whole word, so it either sees WAITERS or our CAS fails on its
         * change. Acquire on failure re-reads what an unlocker wrote. */
        if (cas_acquire(w, &v, v | WAITERS)) {
            v |= WAITERS;
            break;
        }
    }
    item->word = w;
    item->expected = v;
    item->flags = mutex_wflags(flags); /* as lock() waits: the kernel's owner-death wake is a shared one */
    return 0;
}

int futex_mutex_withdraw(futex_mutex *m, unsigned flags, unsigned how)
{
    int rc = check_mutex(m, flags);
    if (rc != 0 || (how & ~(FUTEX_WITHDRAW_PASS_ON | FUTEX_WITHDRAW_TOOK)) != 0)
        return rc != 0 ? rc : -EINVAL;
    if (how & FUTEX_WITHDRAW_TOOK) {
        /* As lock()'s `keep` for a thread that slept: the unlock that woke
         * us woke one waiter only, so our unlock must wake the next.
         * Relaxed: we hold the word; others only add WAITERS to it, and the
         * unlock's exchange reads it whole. */
        futex__atomic_fetch_or(mword(m), WAITERS, FUTEX__RELAXED);
    }
    if (how & FUTEX_WITHDRAW_PASS_ON)
        wake(mword(m), 1, mutex_wflags(flags)); /* the unlock woke one (us): the next re-checks instead */
    return 0;
}

int futex_sem_announce(futex_sem *s, unsigned flags, futex_waitv_item *item)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN) || item == NULL)
        return -EINVAL; /* NULL or misaligned: touch nothing */
    int rc = check_flags(flags);
    if (rc != 0)
        return rc;
    /* SeqCst: the waiter half of the Dekker pair in futex_sem_post (count
     * up, then the post reads the value): either the post sees our count
     * and wakes, or the registration sees its unit and fires at once. */
    futex__atomic_fetch_add(&s->u32_[S_WAITERS], 1, FUTEX__SEQ_CST);
    item->word = &s->u32_[S_VALUE];
    item->expected = 0; /* fires once a unit is there */
    item->flags = flags & FUTEX_SHARED;
    return 0;
}

int futex_sem_withdraw(futex_sem *s, unsigned flags, unsigned how)
{
    if (!ALIGNED(s, FUTEX_SEM_ALIGN))
        return -EINVAL; /* NULL or misaligned: touch nothing */
    int rc = check_flags(flags);
    if (rc != 0 || (how & ~FUTEX_WITHDRAW_PASS_ON) != 0)
        return rc != 0 ? rc : -EINVAL;
    /* SeqCst: as futex_sem_wait's withdrawal, the other half of the post's pair. */
    futex__atomic_fetch_sub(&s->u32_[S_WAITERS], 1, FUTEX__SEQ_CST);
    if (how & FUTEX_WITHDRAW_PASS_ON)
        sem_pass_on(s, flags); /* leaving without a unit, as futex_sem_wait does */
    return 0;
}

int futex_event_announce(futex_event *e, unsigned flags, const uint32_t *since, futex_waitv_item *item)
{
    int rc = check_event(e, flags);
    if (rc != 0 || item == NULL)
        return rc != 0 ? rc : -EINVAL;
    uint32_t *w = &e->u32_[0];
    /* Acquire: seeing SET (or a new count) shows what the setter wrote. */
    uint32_t v = load_acquire(w);
    for (;;) {
        if ((v & E_SET) || (since != NULL && (v & ~(E_SET | E_WAITERS)) != (*since & ~(E_SET | E_WAITERS))))
            return -EAGAIN; /* set now, or set (and maybe cleared) since the wait began */
        if (v & E_WAITERS)
            break;
        /* As futex_event_wait: set() swaps the word and clears WAITERS, so
         * it either sees ours or our CAS fails on its change. */
        if (cas_acquire(w, &v, v | E_WAITERS)) {
            v |= E_WAITERS;
            break;
        }
    }
    item->word = w;
    item->expected = v;
    item->flags = flags & FUTEX_SHARED;
    return 0;
}
