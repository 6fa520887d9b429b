/*
 * tests/emul/darwin: stands in for the SDK's <Availability.h> on Linux.
 *
 * On Darwin, __builtin_available(macOS 14.4, iOS 17.4, *) is a clang builtin
 * that compares the running OS version (read once by compiler-rt's
 * __isOSVersionAtLeast) with the versions named. Here it becomes a call into
 * the shim, which answers for the macOS version the suite emulates (the
 * shim's compile definition FUTEX_EMUL_MACOS, e.g. 110000 for 11.0), so the
 * backend's unchanged source takes the os_sync, __ulock_wait2 or __ulock_wait
 * path exactly as it would on that release.
 */
#ifndef FUTEX_EMUL_AVAILABILITY_H
#define FUTEX_EMUL_AVAILABILITY_H

int futex_emul_darwin_available(const char *platforms);
#define __builtin_available(...) futex_emul_darwin_available(#__VA_ARGS__)

#endif
