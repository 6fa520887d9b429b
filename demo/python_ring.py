"""A producer and consumers in separate processes, passing messages through
a ring buffer in multiprocessing.shared_memory.SharedMemory. Every wait is a
futex wait on a word of that memory: consumers sleep on `head` when the
ring is empty, the producer sleeps on a slot's sequence word when it is
full. Prints messages per second; checks every message arrived exactly once.

    python3 demo/python_ring.py [--seconds 3] [--consumers 2]
"""
import argparse
import multiprocessing
import struct
import sys
import time
from multiprocessing import shared_memory

import futex

SLOTS = 256  # ring capacity
MSG = 60  # payload bytes per slot
# Layout: a header of cells, one sequence word per slot, then the payloads.
HEAD, TAIL, DONE = 0, 4, 8  # published, claimed, producer finished
STATS = 16  # per consumer: count at STATS + 8*i, checksum at STATS + 8*i + 4
SEQ = 128
DATA = SEQ + 4 * SLOTS
SIZE = DATA + MSG * SLOTS
MAX_CONSUMERS = (SEQ - STATS) // 8
PATIENCE = 10.0  # no single wait should take this long; if one does, fail loudly


class Ring:
    """The shared ring, attached in any process. Slot s at position p is
    free for the producer when seq[s] == p and full for a consumer when
    seq[s] == p + 1 (Vyukov's bounded queue, with futex waits instead of
    spinning)."""

    def __init__(self, name=None):
        if name is None:
            self.shm = shared_memory.SharedMemory(create=True, size=SIZE)
        else:
            # Attaching registers the name with the resource tracker again;
            # multiprocessing children share the parent's tracker, whose set
            # holds it once, so the parent's unlink() settles it for all.
            self.shm = shared_memory.SharedMemory(name=name)
        buf = self.shm.buf
        self.head, self.tail, self.done = futex.Cell(buf, HEAD), futex.Cell(buf, TAIL), futex.Cell(buf, DONE)
        self.seq = [futex.Cell(buf, SEQ + 4 * s) for s in range(SLOTS)]
        self.buf = buf

    def stat(self, i):
        return futex.Cell(self.buf, STATS + 8 * i), futex.Cell(self.buf, STATS + 8 * i + 4)

    def close(self):
        for c in (self.head, self.tail, self.done, *self.seq):
            c.release()
        self.buf = None
        self.shm.close()


def wait_while(cell, value):
    """Block while cell holds value; a timeout means a bug, not slowness."""
    d = futex.Deadline(PATIENCE)
    while cell.load() == value:
        if not d.wait(cell, value):
            raise SystemExit(f"stuck: cell at offset {cell.offset} stayed {value}")


def produce(name, seconds):
    ring = Ring(name)
    end = time.monotonic() + seconds
    pos = 0
    while time.monotonic() < end:
        for _ in range(1000):  # check the clock every 1000 messages
            s = pos % SLOTS
            seq = ring.seq[s]
            while (v := seq.load()) != pos:  # the slot's last message is not consumed yet
                wait_while(seq, v)
            struct.pack_into(f"<I{MSG - 4}s", ring.buf, DATA + MSG * s, pos, b"message %d" % pos)
            seq.store(pos + 1)
            pos += 1
            ring.head.store(pos)
            ring.head.wake()  # one sleeping consumer is enough for one message
    ring.done.store(1)
    ring.head.wake_all()  # everyone: time to drain and leave
    ring.close()


def consume(name, me):
    ring = Ring(name)
    count_cell, sum_cell = ring.stat(me)
    count = checksum = 0
    while True:
        t = ring.tail.load()
        h = ring.head.load()
        if t == h:  # empty
            if ring.done.load():
                break
            ring.head.wait(h, 0.2)  # bounded, so a finished producer is noticed
            continue
        if ring.tail.compare_exchange(t, t + 1) != t:
            continue  # another consumer claimed position t
        s = t % SLOTS
        seq = ring.seq[s]
        while seq.load() != t + 1:  # published before head moved, so only a formality
            wait_while(seq, seq.load())
        pos, text = struct.unpack_from(f"<I{MSG - 4}s", ring.buf, DATA + MSG * s)
        if pos != t or text.rstrip(b"\0") != b"message %d" % t:
            raise SystemExit(f"consumer {me}: slot {s} held {pos}/{text!r}, expected message {t}")
        seq.store(t + SLOTS)  # free for the producer's next lap
        seq.wake()
        count += 1
        checksum = (checksum + t) & 0xFFFFFFFF
    count_cell.store(count & 0xFFFFFFFF)
    sum_cell.store(checksum)
    count_cell.release()
    sum_cell.release()
    ring.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--consumers", type=int, default=2)
    args = ap.parse_args()
    if not 1 <= args.consumers <= MAX_CONSUMERS:
        ap.error(f"--consumers must be in 1..{MAX_CONSUMERS}")

    print(f"futex {futex.__version__} ({futex.backend} backend): 1 producer, {args.consumers} consumers, "
          f"{SLOTS}-slot ring in SharedMemory, {args.seconds:g} s")
    ring = Ring()
    for s in range(SLOTS):
        ring.seq[s].store(s)  # slot s is free for position s
    ctx = multiprocessing.get_context("spawn")  # separate processes on every OS
    procs = [ctx.Process(target=produce, args=(ring.shm.name, args.seconds))]
    procs += [ctx.Process(target=consume, args=(ring.shm.name, i)) for i in range(args.consumers)]
    for p in procs:
        p.start()
    try:
        start = last_t = time.monotonic()
        last_n = 0
        while any(p.is_alive() for p in procs):
            time.sleep(0.5)
            now, n = time.monotonic(), ring.tail.load()
            if now - start > args.seconds + PATIENCE * 2:
                raise SystemExit("demo did not finish")
            if n != last_n:
                print(f"  {now - start:5.1f} s  {(n - last_n) / (now - last_t):>12,.0f} msgs/s")
            last_t, last_n = now, n
        elapsed = time.monotonic() - start
        bad = [p.exitcode for p in procs if p.exitcode != 0]
        if bad:
            raise SystemExit(f"a process failed: exit codes {[p.exitcode for p in procs]}")
        total = ring.head.load()
        counts, sums = [], 0
        for i in range(args.consumers):
            c, s = ring.stat(i)
            counts.append(c.load())
            sums = (sums + s.load()) & 0xFFFFFFFF
            c.release()
            s.release()
        if sum(counts) != total or sums != (total * (total - 1) // 2) & 0xFFFFFFFF:
            raise SystemExit(f"lost or repeated messages: produced {total}, consumed {counts}")
        print(f"{total:,} messages in {elapsed:.1f} s ({total / elapsed:,.0f} msgs/s, start-up included), "
              f"per consumer {counts}: each delivered exactly once")
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        ring.close()
        ring.shm.unlink()


if __name__ == "__main__":
    sys.exit(main())
