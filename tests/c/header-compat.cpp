// The public header compiles as C++ (extern "C", no C-only syntax), in one
// translation unit with <linux/futex.h>; this program links and calls it.
#if defined(__linux__)
#include <linux/futex.h>
#endif
#include "futex.h"

#include <cerrno>

int main()
{
    uint32_t w = 1;
    futex_deadline d;
    futex_deadline_init(&d, 1000);
    return futex_timed_wait(&w, 2, 10, FUTEX_PRIVATE) == -EAGAIN && futex_deadline_wait(&d, &w, 1, 0) == -ETIMEDOUT ? 0 : 1;
}
