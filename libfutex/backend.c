/*
 * The one place that picks the backend. A build forces one by defining
 * FUTEX_BACKEND_<NAME> (CMake: -DFUTEX_BACKEND=name); otherwise the platform
 * decides. Adding an OS is a new backend/<os>.c and one line here.
 */
#if defined(FUTEX_BACKEND_LINUX)
#include "backend/linux.c"
#elif defined(FUTEX_BACKEND_POSIX)
#include "backend/posix.c"
#elif defined(FUTEX_BACKEND_SINGLE)
#include "backend/single.c"
#elif defined(FUTEX_BACKEND_DARWIN)
#include "backend/darwin.c"
#elif defined(FUTEX_BACKEND_WINDOWS)
#include "backend/windows.c"
#elif defined(FUTEX_BACKEND_FREEBSD)
#include "backend/freebsd.c"
#elif defined(FUTEX_BACKEND_OPENBSD)
#include "backend/openbsd.c"
#elif defined(FUTEX_BACKEND_DRAGONFLY)
#include "backend/dragonfly.c"
#elif defined(FUTEX_BACKEND_NETBSD)
#include "backend/netbsd.c"
#elif defined(FUTEX_BACKEND_WASM)
#include "backend/wasm.c"
#elif defined(__wasm__) && !defined(__wasm_atomics__)
#include "backend/single.c" /* wasm without the atomics feature has no threads */
#elif defined(__wasm__)
#include "backend/wasm.c"
#elif defined(_WIN32)
#include "backend/windows.c"
#elif defined(__APPLE__)
#include "backend/darwin.c"
#elif defined(__linux__)
#include "backend/linux.c"
#elif defined(__FreeBSD__)
#include "backend/freebsd.c"
#elif defined(__OpenBSD__)
#include "backend/openbsd.c"
#elif defined(__DragonFly__)
#include "backend/dragonfly.c"
#elif defined(__NetBSD__)
#include "backend/netbsd.c"
#elif defined(__unix__) || defined(_POSIX_VERSION)
#include "backend/posix.c"
#else
#error "libfutex: no backend for this platform; build with -DFUTEX_BACKEND_SINGLE for a single-threaded one"
#endif
