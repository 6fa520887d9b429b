"""The Python half of `make demo`'s Lua part: produces into a ring that
demo/lua_ring_consumer.lua (a lua5.4 process) consumes, over one mapped file.

    python3 demo/lua_pair_producer.py PATH SECONDS

Layout of PATH (u32 words, little-endian as the machine):
  0  head: messages published, mod 2^31; bit 31 set on the last publish
  4  tail: messages consumed, mod 2^31 (the consumer's)
  64 SLOTS slots; message i holds i mod 2^31 in slot i % SLOTS
Every change the consumer waits for is a change of the head word, so no
wake can be lost between its check and its wait.
"""
import mmap
import struct
import sys
import time

import futex

SLOTS, BASE, BATCH = 1024, 64, 64
MASK, DONE = 0x7FFFFFFF, 0x80000000


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    with open(path, "r+b") as f:
        mm = mmap.mmap(f.fileno(), BASE + 4 * SLOTS)
    try:
        with futex.Cell(mm, 0) as head, futex.Cell(mm, 4) as tail:
            produce(mm, head, tail, seconds)
    finally:
        mm.close()


def produce(mm, head, tail, seconds):
    pack = struct.Struct("=I").pack_into
    i, end = 0, time.monotonic() + seconds
    while True:
        t = tail.load()
        while (i - t) & MASK > SLOTS - BATCH:  # no room for a batch: wait for the consumer
            if not tail.wait(t, 10.0):
                sys.exit("producer: the consumer stopped")
            t = tail.load()
        for k in range(i, i + BATCH):
            pack(mm, BASE + 4 * (k % SLOTS), k & MASK)
        i = (i + BATCH) & MASK
        last = time.monotonic() >= end
        # The store publishes the slots (sequentially consistent), then wakes.
        head.store(i | DONE if last else i)
        head.wake()
        if last:
            return


if __name__ == "__main__":
    main()
