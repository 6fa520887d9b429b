/*
 * Test-only: the system's <unistd.h> plus the two declarations DragonFly's
 * adds (include/unistd.h, __BSD_VISIBLE):
 *     int umtx_sleep(volatile const int *, int, int);
 *     int umtx_wakeup(volatile const int *, int);
 * implemented by tests/emul/dragonfly/umtx.c.
 */
#pragma GCC system_header /* #include_next is a GNU extension: no -Wpedantic note for it */
#include_next <unistd.h>

#ifndef FUTEX_EMUL_DRAGONFLY_UNISTD_H
#define FUTEX_EMUL_DRAGONFLY_UNISTD_H
int umtx_sleep(volatile const int *ptr, int value, int timeout);
int umtx_wakeup(volatile const int *ptr, int count);
#endif
