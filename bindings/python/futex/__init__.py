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
    CAP_WAITV_EXACT,
    CAP_WAITV_NATIVE,
    CAP_SHARED,
    CAP_WAKE_COUNT,
    SPIN_ADAPTIVE,
    Barrier,
    Cell,
    Condition,
    Deadline,
    Event,
    Mutex,
    NotRecoverableError,
    OwnerDiedError,
    Semaphore,
    __version__,
    backend,
    capabilities,
    get_spin,
    set_spin,
)

__all__ = [
    "CAP_ABSOLUTE_DEADLINE",
    "CAP_INTERRUPTIBLE",
    "CAP_WAITV_EXACT",
    "CAP_WAITV_NATIVE",
    "CAP_SHARED",
    "CAP_WAKE_COUNT",
    "SPIN_ADAPTIVE",
    "Barrier",
    "Cell",
    "Condition",
    "Deadline",
    "Event",
    "Mutex",
    "NotRecoverableError",
    "OwnerDiedError",
    "Semaphore",
    "__version__",
    "backend",
    "capabilities",
    "get_spin",
    "set_spin",
]


def _attach(cls, name, offset, args, kwargs):
    """Unpickles a primitive (or Cell) made over a SharedMemory: attach the
    segment by name in this process and build the object over it there."""
    from multiprocessing import shared_memory

    try:
        # Python 3.13+: the creator's resource tracker owns the segment; an
        # attacher must not register it (or it is unlinked when we exit).
        shm = shared_memory.SharedMemory(name=name, track=False)
    except TypeError:
        # Before 3.13 attaching registers the name again; multiprocessing
        # children share the parent's tracker, which holds it once.
        shm = shared_memory.SharedMemory(name=name)
    return cls(shm, offset, *args, **kwargs)
