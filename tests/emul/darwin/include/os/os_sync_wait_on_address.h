/*
 * tests/emul/darwin: the SDK's <os/os_sync_wait_on_address.h> (macOS 14.4),
 * https://developer.apple.com/documentation/os/os_sync_wait_on_address.
 * Same names, types and values; implemented by ../../shim.c on Linux futex.
 * Declared weak, as the SDK's availability macros make them for a deployment
 * target before 14.4.
 */
#ifndef FUTEX_EMUL_OS_SYNC_WAIT_ON_ADDRESS_H
#define FUTEX_EMUL_OS_SYNC_WAIT_ON_ADDRESS_H

#include <os/clock.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t os_sync_wait_on_address_flags_t;
enum { OS_SYNC_WAIT_ON_ADDRESS_NONE = 0x00000000, OS_SYNC_WAIT_ON_ADDRESS_SHARED = 0x00000001 };

typedef uint32_t os_sync_wake_by_address_flags_t;
enum { OS_SYNC_WAKE_BY_ADDRESS_NONE = 0x00000000, OS_SYNC_WAKE_BY_ADDRESS_SHARED = 0x00000001 };

/* Each returns the number of waiters still blocked (>= 0) when woken or when
 * *addr != value, else -1 with errno: EINVAL (bad addr, size, flags or clock;
 * a zero timeout or deadline), ENOMEM, EFAULT, EINTR, ETIMEDOUT. */
__attribute__((weak)) int os_sync_wait_on_address(void *addr, uint64_t value, size_t size,
                                                  os_sync_wait_on_address_flags_t flags);
__attribute__((weak)) int os_sync_wait_on_address_with_deadline(void *addr, uint64_t value, size_t size,
                                                                os_sync_wait_on_address_flags_t flags,
                                                                os_clockid_t clockid, uint64_t deadline);
__attribute__((weak)) int os_sync_wait_on_address_with_timeout(void *addr, uint64_t value, size_t size,
                                                               os_sync_wait_on_address_flags_t flags,
                                                               os_clockid_t clockid, uint64_t timeout_ns);

/* 0 on success, else -1 with errno: ENOENT (nobody was waiting), EINVAL. */
__attribute__((weak)) int os_sync_wake_by_address_any(void *addr, size_t size, os_sync_wake_by_address_flags_t flags);
__attribute__((weak)) int os_sync_wake_by_address_all(void *addr, size_t size, os_sync_wake_by_address_flags_t flags);

#endif
