"""futex: wait on a 32-bit word in your own (shared) memory until another
thread or process changes it and wakes you. A binding of libfutex.

    import futex, mmap
    buf = mmap.mmap(-1, 4096)
    with futex.Cell(buf, 0) as c:
        while c.load() == 0:
            c.wait(0, timeout=1.0)
"""
from ._futex import (
    CAP_ABSOLUTE_DEADLINE,
    CAP_INTERRUPTIBLE,
    CAP_SHARED,
    CAP_WAKE_COUNT,
    SPIN_ADAPTIVE,
    Cell,
    Deadline,
    __version__,
    backend,
    capabilities,
    get_spin,
    set_spin,
)

__all__ = [
    "CAP_ABSOLUTE_DEADLINE",
    "CAP_INTERRUPTIBLE",
    "CAP_SHARED",
    "CAP_WAKE_COUNT",
    "SPIN_ADAPTIVE",
    "Cell",
    "Deadline",
    "__version__",
    "backend",
    "capabilities",
    "get_spin",
    "set_spin",
]
