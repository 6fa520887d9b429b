/* The public header compiles as strict C99 with every warning. */
#include "futex.h"

int main(void)
{
    uint32_t w = 0;
    return futex_wake(&w, 0, FUTEX_PRIVATE) == 0 && futex_load(&w) == 0 ? 0 : 1;
}
