/*
 * Test-only stand-in for OpenBSD's <sys/futex.h> (sys/sys/futex.h,
 * https://man.openbsd.org/futex.2): the values and the libc prototype.
 * futex() itself is tests/emul/openbsd/futex.c.
 */
#ifndef FUTEX_EMUL_SYS_FUTEX_H
#define FUTEX_EMUL_SYS_FUTEX_H

#include <stdint.h>
#include <time.h>

int futex(volatile uint32_t *, int, int, const struct timespec *, volatile uint32_t *);

#define FUTEX_OP_MASK 0x007f

#define FUTEX_WAIT 1
#define FUTEX_WAKE 2
#define FUTEX_REQUEUE 3

#define FUTEX_FLAG_MASK 0xff80

#define FUTEX_PRIVATE_FLAG 0x0080

#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_REQUEUE_PRIVATE (FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG)

#endif
