/*
 * DragonFly BSD's declarations of the umtx calls, verbatim from its
 * include/unistd.h (__BSD_VISIBLE section), on top of the host's <unistd.h>:
 * zig ships no DragonFly libc headers, so tests/cross-compile/CMakeLists.txt compiles
 * the dragonfly backend against these prototypes with __DragonFly__ defined
 * and __linux__ not.
 */
#pragma GCC system_header /* #include_next is a GNU extension: no -Wpedantic note for it */
#include_next <unistd.h>

#ifndef FUTEX_CROSS_DRAGONFLY_UNISTD_H
#define FUTEX_CROSS_DRAGONFLY_UNISTD_H
int	umtx_sleep(volatile const int *, int , int);
int	umtx_wakeup(volatile const int *, int);
#endif
