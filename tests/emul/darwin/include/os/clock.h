/* tests/emul/darwin: the SDK's <os/clock.h> (macOS 14.4): os_clockid_t. */
#ifndef FUTEX_EMUL_OS_CLOCK_H
#define FUTEX_EMUL_OS_CLOCK_H

#include <stdint.h>

typedef uint32_t os_clockid_t;
enum { OS_CLOCK_MACH_ABSOLUTE_TIME = 32 };

#endif
