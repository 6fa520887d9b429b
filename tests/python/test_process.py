"""Cross-process waits and wakes over SharedMemory and over an mmap of a
file, with children started by fork and by spawn."""
import contextlib
import mmap
import multiprocessing

import futex
import pytest
from _procs import barrier_party, pong
from _util import PATIENCE, wait_for_value
from multiprocessing import shared_memory

SIZE = 4096


@contextlib.contextmanager
def region(kind, tmp_path):
    """Shared memory of SIZE zero bytes: yields (buffer, where-for-children)."""
    if kind == "shm":
        shm = shared_memory.SharedMemory(create=True, size=SIZE)
        try:
            shm.buf[:SIZE] = bytes(SIZE)
            yield shm.buf, ("shm", shm.name)
        finally:
            shm.close()
            shm.unlink()
    else:
        path = tmp_path / "region"
        path.write_bytes(bytes(SIZE))
        with open(path, "r+b") as f:
            m = mmap.mmap(f.fileno(), SIZE)
        try:
            yield m, ("file", str(path))
        finally:
            m.close()


def finish(procs):
    for p in procs:
        p.join(PATIENCE * 3)
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
        p.join()
    assert not alive, "a child hung"
    assert [p.exitcode for p in procs] == [0] * len(procs)


@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.parametrize("kind", ["shm", "file"])
def test_ping_pong_10000(method, kind, tmp_path):
    rounds, offset = 10_000, 64
    ctx = multiprocessing.get_context(method)
    with region(kind, tmp_path) as (buf, where):
        neighbours = futex.Cell(buf, offset - 4), futex.Cell(buf, offset + 4)
        for n in neighbours:
            n.store(0xDEADBEEF)
        c = futex.Cell(buf, offset)
        assert c.shared
        child = ctx.Process(target=pong, args=(where, offset, rounds))
        child.start()
        try:
            for i in range(rounds):
                c.store(2 * i + 1)
                c.wake()
                wait_for_value(c, 2 * i + 2)
        finally:
            finish([child])
        assert c.load() == 2 * rounds
        assert [n.load() for n in neighbours] == [0xDEADBEEF] * 2
        for cell in (c, *neighbours):
            cell.release()


@pytest.mark.parametrize("method, kind", [("spawn", "shm"), ("fork", "file")])
def test_barrier_of_4_processes(method, kind, tmp_path):
    parties, rounds = 4, 100
    ctx = multiprocessing.get_context(method)
    with region(kind, tmp_path) as (buf, where):
        procs = [ctx.Process(target=barrier_party, args=(where, i, parties, rounds)) for i in range(parties)]
        for p in procs:
            p.start()
        finish(procs)
        with futex.Cell(buf, 4) as gen:
            assert gen.load() == rounds


def test_wait_in_child_woken_by_parent(tmp_path):
    # A child blocked in a forever wait is woken by the parent's store + wake.
    ctx = multiprocessing.get_context("spawn")
    with region("shm", tmp_path) as (buf, where):
        c = futex.Cell(buf, 0)
        child = ctx.Process(target=pong, args=(where, 0, 1))
        child.start()
        c.store(1)
        assert c.wake() in (0, 1, None)
        wait_for_value(c, 2)
        finish([child])
        c.release()
