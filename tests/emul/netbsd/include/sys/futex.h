/*
 * Test-only stand-in for NetBSD 10's <sys/futex.h> (sys/sys/futex.h): the
 * Linux-compatible op values and flags. The call is tests/emul/netbsd/futex.c,
 * reached through syscall(SYS___futex, ...) (see sys/syscall.h here).
 */
#ifndef FUTEX_EMUL_SYS_FUTEX_H
#define FUTEX_EMUL_SYS_FUTEX_H

#include <time.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_FD 2
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12

#define FUTEX_PRIVATE_FLAG (1 << 7)
#define FUTEX_CLOCK_REALTIME (1 << 8)
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

#define FUTEX_BITSET_MATCH_ANY ((int)0xffffffff)

#endif
