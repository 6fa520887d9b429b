/* Compiled by msvc-path.sh for a Windows target with the MSVC atomics forced
 * (or with clang in MSVC mode, where they are chosen by _MSC_VER): every
 * operation of libfutex/atomic.h with every order it accepts, so a missing
 * intrinsic, a wrong cast or a type error in that path fails the build. */
#include "atomic.h"

#if !defined(FUTEX__ATOMIC_MSVC)
#error "atomic.h did not choose its MSVC path"
#endif

uint32_t probe(uint32_t *p, uintptr_t *u);
uint32_t probe(uint32_t *p, uintptr_t *u)
{
    static const int orders[] = {FUTEX__RELAXED, FUTEX__ACQUIRE, FUTEX__RELEASE, FUTEX__ACQ_REL, FUTEX__SEQ_CST};
    uint32_t sum = futex__atomic_load_relaxed(p);
    for (unsigned i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        int o = orders[i];
        uint32_t expected = 1;
        if (o != FUTEX__RELEASE && o != FUTEX__ACQ_REL)
            sum += futex__atomic_load(p, o);
        if (o != FUTEX__ACQUIRE && o != FUTEX__ACQ_REL)
            futex__atomic_store(p, sum, o);
        sum += futex__atomic_exchange(p, 2, o);
        sum += (uint32_t)futex__atomic_cas(p, &expected, 3, o) + expected;
        sum += futex__atomic_fetch_add(p, 1, o) + futex__atomic_fetch_sub(p, 1, o);
        sum += futex__atomic_fetch_and(p, 7, o) + futex__atomic_fetch_or(p, 8, o) + futex__atomic_fetch_xor(p, 9, o);
        futex__atomic_fence(o);
        uintptr_t uexpected = 1;
        if (o != FUTEX__RELEASE && o != FUTEX__ACQ_REL)
            sum += (uint32_t)futex__atomic_load_uptr(u, o);
        if (o != FUTEX__ACQUIRE && o != FUTEX__ACQ_REL)
            futex__atomic_store_uptr(u, (uintptr_t)sum, o);
        sum += (uint32_t)futex__atomic_cas_uptr(u, &uexpected, 3, o) + (uint32_t)uexpected;
    }
    futex__signal_fence();
    futex__cpu_relax();
    return sum;
}
