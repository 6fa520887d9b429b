/* An outside program built against an installed libfutex: found by
 * pkg-config or by CMake's find_package(futex). */
#include <futex.h>

#include <errno.h>
#include <stdio.h>

int main(void)
{
    uint32_t word = 1;
    int rc = futex_timed_wait(&word, 1, 1000000, FUTEX_PRIVATE);
    printf("libfutex %s, backend %s: timed wait -> %s\n", FUTEX_VERSION, futex_backend(), futex_strerror(rc));
    return rc == -ETIMEDOUT && futex_wake(&word, 1, FUTEX_PRIVATE) == 0 ? 0 : 1;
}
