/*
 * tests/emul/darwin: stands in for the SDK's <mach/mach_time.h> on Linux.
 * mach_absolute_time() counts ticks of 125/3 ns, Apple silicon's timebase,
 * so that a backend mixing ticks and nanoseconds fails its timeout tests.
 */
#ifndef FUTEX_EMUL_MACH_TIME_H
#define FUTEX_EMUL_MACH_TIME_H

#include <stdint.h>

typedef int kern_return_t;
#define KERN_SUCCESS 0

struct mach_timebase_info {
    uint32_t numer;
    uint32_t denom;
};
typedef struct mach_timebase_info *mach_timebase_info_t;
typedef struct mach_timebase_info mach_timebase_info_data_t;

kern_return_t mach_timebase_info(mach_timebase_info_t info);
uint64_t mach_absolute_time(void);

#endif
