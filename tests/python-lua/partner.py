"""The Python side of the cross-language tests (tests/python-lua/pingpong_spec.lua).

    python3 tests/python-lua/partner.py ROLE PATH N

PATH is a file the Lua side made with futex.map(PATH, 4096); this process
maps it with mmap and works on the same words through futex.Cell:
  offset 0: the ping-pong word; 4: a shared counter; 8: "done" flag.
Exits 0 when its role went as expected, 1 with a message otherwise.
"""
import mmap
import sys

import futex

TIMEOUT = 20.0


def pong(c, n, *_):
    """Answers each odd value 2i-1 that Lua stores with 2i."""
    for i in range(1, n + 1):
        d = futex.Deadline(TIMEOUT)
        while c.load() != 2 * i - 1:
            if not d.wait(c, 2 * i - 2):
                sys.exit(f"python pong: no ping {i}, value {c.load()}")
        c.store(2 * i)
        c.wake()


def ping(c, n, *_):
    """Leads: stores 2i-1, waits for Lua's 2i."""
    for i in range(1, n + 1):
        c.store(2 * i - 1)
        c.wake()
        d = futex.Deadline(TIMEOUT)
        while c.load() != 2 * i:
            if not d.wait(c, 2 * i - 1):
                sys.exit(f"python ping: no pong {i}, value {c.load()}")


def add(_c, n, count, done):
    """Adds 1 to the counter n times while Lua does too, then says done."""
    for _ in range(n):
        count.fetch_add(1)
    done.store(1)
    done.wake_all()


def main():
    role, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 4096)
    try:
        # The cells hold the mmap's buffer until the with ends: close it after.
        with futex.Cell(mm, 0) as c, futex.Cell(mm, 4) as count, futex.Cell(mm, 8) as done:
            {"pong": pong, "ping": ping, "add": add}[role](c, n, count, done)
    finally:
        mm.close()


if __name__ == "__main__":
    main()
