/*
 * Test-only stand-in for FreeBSD's <sys/umtx.h>: the declarations the
 * freebsd backend uses, with FreeBSD's values (sys/sys/umtx.h, sys/_umtx.h).
 * _umtx_op itself is tests/emul/freebsd/umtx_op.c.
 */
#ifndef FUTEX_EMUL_SYS_UMTX_H
#define FUTEX_EMUL_SYS_UMTX_H

#include <stdint.h>
#include <sys/types.h> /* u_long */
#include <time.h>

struct _umtx_time {
    struct timespec _timeout;
    uint32_t _flags;
    uint32_t _clockid;
};

#define UMTX_OP_WAIT 2
#define UMTX_OP_WAKE 3
#define UMTX_OP_WAIT_UINT 11
#define UMTX_OP_WAIT_UINT_PRIVATE 15
#define UMTX_OP_WAKE_PRIVATE 16

#define UMTX_ABSTIME 0x01

int _umtx_op(void *obj, int op, u_long val, void *uaddr, void *uaddr2);

#endif
