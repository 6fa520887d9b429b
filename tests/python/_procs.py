"""Child-process halves of test_process.py. Kept free of pytest so that
`spawn` children import only this, futex and the standard library."""
import mmap
from multiprocessing import shared_memory

import futex
from _util import barrier_rounds, wait_for_value


class Region:
    """Attach to the parent's shared memory: ("shm", name) or ("file", path)."""

    def __init__(self, where):
        kind, name = where
        if kind == "shm":
            # Attaching registers the name with the resource tracker again;
            # multiprocessing children share the parent's tracker, whose set
            # holds it once, so the parent's unlink() settles it for all.
            self.shm = shared_memory.SharedMemory(name=name)
            self.buf, self.close_map = self.shm.buf, self.shm.close
        else:
            with open(name, "r+b") as f:
                self.map = mmap.mmap(f.fileno(), 0)
            self.buf, self.close_map = self.map, self.map.close

    def cell(self, offset):
        return futex.Cell(self.buf, offset)

    def close(self, *cells):
        for c in cells:
            c.release()
        self.buf = None
        self.close_map()


def pong(where, offset, rounds):
    """The answering side of the ping-pong: wait for 2i+1, answer 2i+2."""
    r = Region(where)
    c = r.cell(offset)
    for i in range(rounds):
        wait_for_value(c, 2 * i + 1)
        c.store(2 * i + 2)
        c.wake()
    r.close(c)


def barrier_party(where, me, parties, rounds):
    """One process of the 4-process barrier; see test_process.py."""
    r = Region(where)
    count, gen = r.cell(0), r.cell(4)
    slots = [r.cell(8 + 4 * i) for i in range(parties)]
    barrier_rounds(count, gen, slots, me, rounds)
    r.close(count, gen, *slots)
