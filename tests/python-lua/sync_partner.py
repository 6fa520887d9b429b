"""The Python side of tests/python-lua/sync_spec.lua: one futex.Mutex shared by a
Python and a Lua process.

    python3 tests/python-lua/sync_partner.py ROLE PATH N

PATH is a file the Lua side made with futex.map(PATH, 4096): a Mutex at
offset 0, a counter Cell at 512, an Event at 576.
  count: N times, under the Mutex, a non-atomic read-then-store of the counter
  race:  count, after meeting the Lua side at a Barrier at 600 (so both count at once)
  die:   take the Mutex, set the Event, and be killed holding it (SIGKILL)
Exits 0 when its role went as expected, 1 with a message otherwise.
"""
import mmap
import os
import signal
import sys

import futex


def main():
    role, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 4096)
    m, counter, held = futex.Mutex(mm, 0), futex.Cell(mm, 512), futex.Event(mm, 576)
    if role == "race" and futex.Barrier(mm, 600, 2).wait(20) < 0:
        sys.exit("unreachable: an arrival index is >= 0")
    if role in ("count", "race"):
        for _ in range(n):
            if not m.acquire(timeout=20):
                sys.exit("python count: the mutex was never free")
            try:
                counter.store(counter.load() + 1)
            finally:
                m.release()
    elif role == "die":
        m.acquire()
        held.set()
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        sys.exit(f"unknown role {role}")
    counter.release()


main()
