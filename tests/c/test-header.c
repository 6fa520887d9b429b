/* The public header shares a translation unit with the OS's own futex
 * header: no FUTEX_* name of ours is defined by <linux/futex.h>. Compiled as
 * C11 here, and as C99 and C++ by tests/c/CMakeLists.txt. */
#if defined(__linux__)
#include <linux/futex.h>
#endif
#include "futex.h"

#include "test.h"

TEST(header_coexists, ANY)
{
#if defined(__linux__)
    /* Both sets of names are usable side by side, with their own values. */
    CHECK_EQ(FUTEX_WAIT, 0);
    CHECK_EQ(FUTEX_WAKE, 1);
    CHECK(FUTEX_PRIVATE_FLAG == 128);
#endif
    CHECK_EQ(FUTEX_PRIVATE, 0);
    CHECK_EQ(FUTEX_SHARED, 1);
    CHECK(FUTEX_FOREVER == UINT64_MAX);
    CHECK(sizeof(futex_deadline) == 8);
}

TEST_MAIN(header_coexists)
