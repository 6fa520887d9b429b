/*
 * libfutex/atomic.h — every atomic operation of libfutex and its bindings,
 * on 32-bit words (and a few on pointer-width words). Internal: not
 * installed, not part of the API.
 *
 * Two implementations of one small set of operations:
 *
 *   GCC, Clang, mingw-w64, zig cc, clang-cl: the __atomic builtins, which
 *     take the memory order as an argument.
 *   MSVC (or any compiler with FUTEX_ATOMIC_MSVC defined, which the test
 *     suite uses to run this path under mingw-w64 and wine): the Interlocked*
 *     intrinsics of <intrin.h>, as mimalloc's include/mimalloc/atomic.h does.
 *     Every Interlocked read-modify-write is a full barrier, so it serves
 *     any order; plain loads and stores are volatile accesses plus the
 *     barrier the order needs.
 *
 * The operations (p is a uint32_t *, o one of the FUTEX__* orders below):
 *
 *   futex__atomic_load(p, o)              -> value
 *   futex__atomic_store(p, v, o)
 *   futex__atomic_exchange(p, v, o)       -> old value
 *   futex__atomic_cas(p, &expected, desired, o)
 *                                         -> 1 if *p held expected and now holds
 *                                            desired; else 0 and expected = *p.
 *                                            Strong (no spurious failure). The
 *                                            failure order is o without its
 *                                            release half.
 *   futex__atomic_fetch_add/_sub/_and/_or/_xor(p, v, o) -> old value
 *   futex__atomic_fence(o)                a thread fence
 *   futex__atomic_load_relaxed(p)         for spinning: a re-read with no order
 *   futex__signal_fence()                 a compiler-only barrier
 *   futex__cpu_relax()                    the CPU's spin-wait hint (pause, yield)
 *
 * A flag or a once-computed answer is a uint32_t too, so it uses the
 * operations above. Only a value that must hold an address is pointer-width,
 * and it gets just these three (p is a uintptr_t *, same orders):
 *
 *   futex__atomic_load_uptr(p, o)         -> value
 *   futex__atomic_store_uptr(p, v, o)
 *   futex__atomic_cas_uptr(p, &expected, desired, o)
 *                                         -> as futex__atomic_cas
 *
 * New code uses these, never __atomic_* or Interlocked* directly (ctest
 * -L msvc checks that, and tests/atomics/msvc-probe.c compiles every
 * operation on the MSVC path).
 *
 * Orders: FUTEX__RELAXED, FUTEX__ACQUIRE, FUTEX__RELEASE, FUTEX__ACQ_REL,
 * FUTEX__SEQ_CST, with C11's meanings. Pass a constant: the functions are
 * static inline, so the order folds away once inlined (an unfolded order is
 * treated as SEQ_CST by GCC, which is stronger, never weaker).
 */
#ifndef FUTEX_ATOMIC_H
#define FUTEX_ATOMIC_H

/* Built for ThreadSanitizer, which does not model fences: the core's
 * store-load patterns use SeqCst read-modify-writes there instead. */
#if defined(__SANITIZE_THREAD__)
#define FUTEX__UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FUTEX__UNDER_TSAN 1
#endif
#endif

#include <stdint.h>

#if defined(FUTEX_ATOMIC_MSVC) || (defined(_MSC_VER) && !defined(__clang__))
#define FUTEX__ATOMIC_MSVC 1
#elif defined(__GNUC__) || defined(__clang__)
#define FUTEX__ATOMIC_GNUC 1
#else
#error "libfutex/atomic.h: no atomics for this compiler (it knows the GCC/Clang __atomic builtins and MSVC's Interlocked* intrinsics)"
#endif

/* ======================================================================== */
#if defined(FUTEX__ATOMIC_GNUC)

#define FUTEX__RELAXED __ATOMIC_RELAXED
#define FUTEX__ACQUIRE __ATOMIC_ACQUIRE
#define FUTEX__RELEASE __ATOMIC_RELEASE
#define FUTEX__ACQ_REL __ATOMIC_ACQ_REL
#define FUTEX__SEQ_CST __ATOMIC_SEQ_CST

static inline uint32_t futex__atomic_load(const uint32_t *p, int o) { return __atomic_load_n(p, o); }
static inline void futex__atomic_store(uint32_t *p, uint32_t v, int o) { __atomic_store_n(p, v, o); }
static inline uint32_t futex__atomic_exchange(uint32_t *p, uint32_t v, int o) { return __atomic_exchange_n(p, v, o); }
static inline int futex__atomic_cas(uint32_t *p, uint32_t *expected, uint32_t desired, int o)
{
    /* A failed CAS stores nothing, so it cannot carry a release: drop that half. */
    int fail = o == FUTEX__ACQ_REL ? FUTEX__ACQUIRE : o == FUTEX__RELEASE ? FUTEX__RELAXED : o;
    return __atomic_compare_exchange_n(p, expected, desired, 0, o, fail);
}
static inline uint32_t futex__atomic_fetch_add(uint32_t *p, uint32_t v, int o) { return __atomic_fetch_add(p, v, o); }
static inline uint32_t futex__atomic_fetch_sub(uint32_t *p, uint32_t v, int o) { return __atomic_fetch_sub(p, v, o); }
static inline uint32_t futex__atomic_fetch_and(uint32_t *p, uint32_t v, int o) { return __atomic_fetch_and(p, v, o); }
static inline uint32_t futex__atomic_fetch_or(uint32_t *p, uint32_t v, int o) { return __atomic_fetch_or(p, v, o); }
static inline uint32_t futex__atomic_fetch_xor(uint32_t *p, uint32_t v, int o) { return __atomic_fetch_xor(p, v, o); }
static inline void futex__atomic_fence(int o) { __atomic_thread_fence(o); }
static inline void futex__signal_fence(void) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

static inline uintptr_t futex__atomic_load_uptr(const uintptr_t *p, int o) { return __atomic_load_n(p, o); }
static inline void futex__atomic_store_uptr(uintptr_t *p, uintptr_t v, int o) { __atomic_store_n(p, v, o); }
static inline int futex__atomic_cas_uptr(uintptr_t *p, uintptr_t *expected, uintptr_t desired, int o)
{
    /* The failure order as in futex__atomic_cas. */
    int fail = o == FUTEX__ACQ_REL ? FUTEX__ACQUIRE : o == FUTEX__RELEASE ? FUTEX__RELAXED : o;
    return __atomic_compare_exchange_n(p, expected, desired, 0, o, fail);
}

static inline void futex__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield");
#elif defined(__riscv)
    __asm__ __volatile__(".insn i 0x0F, 0, x0, x0, 0x010"); /* pause (Zihintpause), a no-op elsewhere */
#else
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/* ======================================================================== */
#else /* FUTEX__ATOMIC_MSVC */

#include <intrin.h>

#define FUTEX__RELAXED 0
#define FUTEX__ACQUIRE 2
#define FUTEX__RELEASE 3
#define FUTEX__ACQ_REL 4
#define FUTEX__SEQ_CST 5

#if defined(_M_X64) || defined(_M_IX86) || defined(__x86_64__) || defined(__i386__)
/* x86 is TSO: a load is already an acquire and a store a release, so those
 * need only stop the compiler from moving accesses across them. */
#define FUTEX__HW_FENCE() _ReadWriteBarrier()
#define FUTEX__TSO 1
#include <emmintrin.h> /* _mm_pause */
#elif defined(_M_ARM64) || defined(_M_ARM)
#define FUTEX__HW_FENCE() __dmb(0xB) /* _ARM64_BARRIER_ISH: a full barrier, inner shareable */
#else
#error "libfutex/atomic.h: the MSVC path knows x86, x64, ARM and ARM64"
#endif

/* Windows is LLP64 on every target: long is 32 bits, the width of the
 * Interlocked* functions. */
typedef char futex__long_is_32_bits[sizeof(long) == 4 ? 1 : -1];
#define FUTEX__L(p) ((volatile long *)(p))

/* A full barrier from a locked instruction on a private word: the MSVC
 * MemoryBarrier() shape, with no <windows.h>. */
static inline void futex__full_fence(void)
{
    volatile long dummy = 0;
    (void)_InterlockedExchange(&dummy, 0);
}

static inline uint32_t futex__atomic_load_relaxed(const uint32_t *p)
{
    /* An aligned 32-bit load is single-copy atomic on every Windows target. */
    return *(const volatile uint32_t *)p;
}

static inline uint32_t futex__atomic_load(const uint32_t *p, int o)
{
    /* A SEQ_CST load may be a plain load because every SEQ_CST store below
     * is a locked exchange (the standard x86 mapping); on ARM the barrier
     * before it orders it after earlier SEQ_CST stores. The word may be
     * read-only (a wait takes a const pointer), so no locked op here. */
#if !defined(FUTEX__TSO)
    if (o == FUTEX__SEQ_CST)
        FUTEX__HW_FENCE();
#endif
    uint32_t v = *(const volatile uint32_t *)p;
    if (o != FUTEX__RELAXED)
        FUTEX__HW_FENCE(); /* acquire: later accesses stay after the load */
    return v;
}

static inline void futex__atomic_store(uint32_t *p, uint32_t v, int o)
{
    if (o == FUTEX__SEQ_CST) {
        /* A store followed by a load of another word may swap on x86; the
         * exchange's full barrier forbids it. */
        (void)_InterlockedExchange(FUTEX__L(p), (long)v);
        return;
    }
    if (o != FUTEX__RELAXED)
        FUTEX__HW_FENCE(); /* release: earlier accesses stay before the store */
    *(volatile uint32_t *)p = v;
}

static inline uint32_t futex__atomic_exchange(uint32_t *p, uint32_t v, int o)
{
    (void)o; /* full barrier: serves every order */
    return (uint32_t)_InterlockedExchange(FUTEX__L(p), (long)v);
}

static inline int futex__atomic_cas(uint32_t *p, uint32_t *expected, uint32_t desired, int o)
{
    (void)o; /* full barrier: serves every order */
    uint32_t old = (uint32_t)_InterlockedCompareExchange(FUTEX__L(p), (long)desired, (long)*expected);
    if (old == *expected)
        return 1;
    *expected = old;
    return 0;
}

/* The read-modify-writes: each Interlocked call is a full barrier. */
static inline uint32_t futex__atomic_fetch_add(uint32_t *p, uint32_t v, int o)
{
    (void)o;
    return (uint32_t)_InterlockedExchangeAdd(FUTEX__L(p), (long)v);
}
static inline uint32_t futex__atomic_fetch_sub(uint32_t *p, uint32_t v, int o)
{
    (void)o; /* subtracting v is adding its two's complement, modulo 2^32 */
    return (uint32_t)_InterlockedExchangeAdd(FUTEX__L(p), (long)(0u - v));
}
static inline uint32_t futex__atomic_fetch_and(uint32_t *p, uint32_t v, int o)
{
    (void)o;
    return (uint32_t)_InterlockedAnd(FUTEX__L(p), (long)v);
}
static inline uint32_t futex__atomic_fetch_or(uint32_t *p, uint32_t v, int o)
{
    (void)o;
    return (uint32_t)_InterlockedOr(FUTEX__L(p), (long)v);
}
static inline uint32_t futex__atomic_fetch_xor(uint32_t *p, uint32_t v, int o)
{
    (void)o;
    return (uint32_t)_InterlockedXor(FUTEX__L(p), (long)v);
}

static inline void futex__atomic_fence(int o)
{
    if (o == FUTEX__SEQ_CST)
        futex__full_fence(); /* only a locked op orders a store before a later load */
    else if (o != FUTEX__RELAXED)
        FUTEX__HW_FENCE();
}

static inline void futex__signal_fence(void) { _ReadWriteBarrier(); }

/* Pointer-width words: the same mapping as the 32-bit ones above, through
 * the *Pointer intrinsics, which are 64-bit on x64 and ARM64 and 32-bit on
 * x86 and ARM -- the width of uintptr_t on each. */
typedef char futex__uptr_is_pointer_width[sizeof(uintptr_t) == sizeof(void *) ? 1 : -1];
#define FUTEX__P(p) ((void *volatile *)(p))

static inline uintptr_t futex__atomic_load_uptr(const uintptr_t *p, int o)
{
    /* As futex__atomic_load: an aligned pointer-width load is single-copy
     * atomic on every Windows target, and every SEQ_CST store is a locked
     * exchange. */
#if !defined(FUTEX__TSO)
    if (o == FUTEX__SEQ_CST)
        FUTEX__HW_FENCE();
#endif
    uintptr_t v = *(const volatile uintptr_t *)p;
    if (o != FUTEX__RELAXED)
        FUTEX__HW_FENCE(); /* acquire: later accesses stay after the load */
    return v;
}

static inline void futex__atomic_store_uptr(uintptr_t *p, uintptr_t v, int o)
{
    if (o == FUTEX__SEQ_CST) {
        (void)_InterlockedExchangePointer(FUTEX__P(p), (void *)v); /* full barrier: as futex__atomic_store */
        return;
    }
    if (o != FUTEX__RELAXED)
        FUTEX__HW_FENCE(); /* release: earlier accesses stay before the store */
    *(volatile uintptr_t *)p = v;
}

static inline int futex__atomic_cas_uptr(uintptr_t *p, uintptr_t *expected, uintptr_t desired, int o)
{
    (void)o; /* full barrier: serves every order */
    uintptr_t old = (uintptr_t)_InterlockedCompareExchangePointer(FUTEX__P(p), (void *)desired, (void *)*expected);
    if (old == *expected)
        return 1;
    *expected = old;
    return 0;
}

static inline void futex__cpu_relax(void)
{
#if defined(FUTEX__TSO)
    _mm_pause();
#else
    __yield();
#endif
}

#endif /* FUTEX__ATOMIC_MSVC */

#if defined(FUTEX__ATOMIC_GNUC)
static inline uint32_t futex__atomic_load_relaxed(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
#endif

#endif /* FUTEX_ATOMIC_H */
