/*
 * Test-only: the system's <sys/syscall.h> plus what NetBSD 10's adds for
 * the futex call, SYS___futex (166 on NetBSD). Linux's syscall 166 is
 * something else entirely, so syscall() is routed to the emulation
 * (tests/emul/netbsd/futex.c), which serves SYS___futex and nothing else.
 *
 * With FUTEX_EMUL_NETBSD_9 defined this is NetBSD 9: no SYS___futex, and the
 * netbsd backend falls back to the parking lot.
 */
#pragma GCC system_header /* #include_next is a GNU extension: no -Wpedantic note for it */
#include_next <sys/syscall.h>

#ifndef FUTEX_EMUL_SYS_SYSCALL_H
#define FUTEX_EMUL_SYS_SYSCALL_H
#if !defined(FUTEX_EMUL_NETBSD_9)
#define SYS___futex 166
long futex_emul_netbsd_syscall(long number, ...);
#define syscall futex_emul_netbsd_syscall
#endif
#endif
