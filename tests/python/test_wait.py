"""Wait and wake semantics, timeouts and deadlines, and the thread tests
ported from the C suite (ring, barrier). No test asserts speed: times are
checked only where the contract fixes them (never early) or bounded
generously where something must happen at all."""
import math
import sys
import threading
import time

import futex
import pytest
from _util import PATIENCE, Waiters, barrier_rounds, later, store_and_wake, wait_for_value, wait_until

COUNTED = bool(futex.capabilities & futex.CAP_WAKE_COUNT)


def count(n):
    """What wake() returns for n woken on this backend."""
    return n if COUNTED else None


def test_not_equal_returns_at_once():
    c = futex.Cell()
    c.store(1)
    fallback = later(PATIENCE, c.wake_all)  # ends a wait that wrongly blocked, so the test fails, not hangs
    try:
        t0 = time.monotonic()
        for timeout in (None, 0, 0.5, math.inf):
            assert c.wait(0, timeout) is True
            assert c.wait(0, timeout, spin=False) is True
        assert time.monotonic() - t0 < PATIENCE
    finally:
        fallback.cancel()


def test_zero_timeout_only_checks():
    c = futex.Cell()
    assert c.wait(0, 0) is False
    assert c.wait(0, 0.0) is False
    assert c.wait(1, 0) is True
    assert futex.Deadline(0).expired
    assert futex.Deadline(0).wait(c, 0) is False
    assert futex.Deadline(0).remaining == 0.0


@pytest.mark.parametrize("timeout", [1e-9, 0.001, 0.01, 0.05, 0.2])
def test_timeouts_are_never_early(timeout):
    c = futex.Cell()
    for spin in (True, False):
        t0 = time.monotonic_ns()
        assert c.wait(0, timeout, spin=spin) is False
        assert time.monotonic_ns() - t0 >= math.ceil(timeout * 1e9)


def test_deadline_loop_is_never_early():
    # Spurious returns (here: wakes with no change) must not stretch or
    # shorten the total: the deadline is absolute.
    c = futex.Cell()
    t0 = time.monotonic_ns()
    d = futex.Deadline(0.3)
    stop = threading.Event()

    def nag():
        while not stop.is_set():
            c.wake_all()
            time.sleep(0.01)

    t = threading.Thread(target=nag)
    t.start()
    try:
        wakeups = 0
        while d.wait(c, 0):
            wakeups += 1
        elapsed = time.monotonic_ns() - t0
    finally:
        stop.set()
        t.join()
    assert elapsed >= 300_000_000
    assert d.expired and d.remaining == 0.0
    assert wakeups >= 1  # the nagging did wake us, and we went back to sleep


def test_deadline_properties():
    d = futex.Deadline(100)
    assert not d.expired and 99 < d.remaining <= 100
    assert "remaining" in repr(d)
    never = futex.Deadline()
    assert never.remaining is None and not never.expired and "never" in repr(never)
    assert futex.Deadline(None).remaining is None
    assert futex.Deadline(math.inf).remaining is None
    # One rule for every huge timeout, however spelled: past 2**64 ns it never expires.
    for huge in (1e12, 1e300, 10**30, 10**400):
        assert futex.Deadline(huge).remaining is None, huge
    assert 1.69e10 < futex.Deadline(1.7e10).remaining <= 1.7e10  # below it: finite, as asked


@pytest.mark.parametrize("timeout", [None, math.inf, 1e12, 10**12, 1e300, 10**400])
def test_huge_timeouts_wait_until_woken(timeout):
    c = futex.Cell()
    w = Waiters(c, 1, timeout=timeout)
    time.sleep(0.2)
    assert w.finished() == 0  # huge means huge, not "overflowed to zero"
    store_and_wake(c, 1)
    w.join()
    assert w.results == [True]


def test_woken_wait_returns_true():
    c = futex.Cell()
    later(0.05, store_and_wake, c, 1)
    assert c.wait(0, PATIENCE) is True
    assert c.load() == 1


def test_wake_counts_are_exact():
    n = 6
    c = futex.Cell()
    w = Waiters(c, n)
    assert c.wake(0) == 0  # a no-op, even with waiters
    time.sleep(0.2)
    assert w.finished() == 0
    # A waiter that has announced itself may not be parked in the OS yet;
    # a wake that finds fewer wakes fewer and the late one parks after.
    # So: every wake returns at most what it asked for, and exactly that
    # many waiters return - never one more - until all have.
    woken = 0
    end = time.monotonic() + PATIENCE
    while woken < n:
        assert time.monotonic() < end, "waiters never parked"
        r = c.wake(2)
        if not COUNTED:
            assert r is None
            woken = n if w.finished() == n else woken
            time.sleep(0.01)
            continue
        assert 0 <= r <= 2
        woken += r
        wait_until(lambda: w.finished() == woken, what=f"{woken} waiters to return")
        time.sleep(0.05)
        assert w.finished() == woken, "a wake woke more waiters than it reported"
    w.join()
    assert w.results == [True] * n
    assert c.wake() == count(0)  # nobody left


def test_wake_all_wakes_everyone():
    n = 5
    c = futex.Cell()
    w = Waiters(c, n)
    time.sleep(0.2)
    woken = 0
    end = time.monotonic() + PATIENCE
    while w.finished() < n:
        assert time.monotonic() < end
        r = c.wake_all()
        woken += r if COUNTED else 0
        time.sleep(0.01)
    w.join()
    if COUNTED:
        assert woken == n
    assert w.results == [True] * n


def test_wake_with_nobody():
    c = futex.Cell(bytearray(8), 4, shared=False)
    assert c.wake() == count(0)
    assert c.wake(100) == count(0)
    assert c.wake_all() == count(0)
    assert c.wake(0) == 0


def test_a_wait_releases_the_gil():
    # The helper thread can only set the value if the waiting thread let go
    # of the GIL; otherwise this wait runs to its timeout and returns False.
    c = futex.Cell()
    later(0.1, store_and_wake, c, 1)
    assert c.wait(0, PATIENCE) is True

    # And a pure-Python thread keeps running throughout a long wait.
    ticks = 0
    stop = threading.Event()

    def spin():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        assert c.wait(1, 0.3) is False
        mid = ticks
        assert c.wait(1, 0.3) is False
    finally:
        stop.set()
        t.join()
    assert mid > 0 and ticks > mid


def test_ring_of_threads():
    # The C suite's signaling test: 4 paddles in a circle, each waiting for
    # its own cell to move, then hitting the next one.
    n, rounds = 4, 200
    buf = bytearray(4 * n)
    cells = [futex.Cell(buf, 4 * i, shared=False) for i in range(n)]
    errors = []

    def paddle(i):
        try:
            me, nxt = cells[i], cells[(i + 1) % n]
            for current in range(rounds):
                wait_for_value(me, current + 1)
                nxt.fetch_add(1)
                nxt.wake()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=paddle, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    cells[0].fetch_add(1)
    cells[0].wake()
    for t in threads:
        t.join(PATIENCE * 2)
        assert not t.is_alive()
    assert errors == []
    assert [c.load() for c in cells] == [rounds + 1] + [rounds] * (n - 1)


def test_barrier_of_threads():
    # The C suite's broadcasting test, reusable across rounds: nobody
    # passes round r before everyone has arrived at it.
    n, rounds = 4, 50
    buf = bytearray(8 + 4 * n)
    count, gen = futex.Cell(buf, 0, shared=False), futex.Cell(buf, 4, shared=False)
    slots = [futex.Cell(buf, 8 + 4 * i, shared=False) for i in range(n)]
    errors = []

    def run(i):
        try:
            barrier_rounds(count, gen, slots, i, rounds)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE * 2)
        assert not t.is_alive()
    assert errors == []
    assert gen.load() == rounds


def test_many_threads_hammer_one_cell():
    # Cells are safe from many threads at once: no lost updates.
    c = futex.Cell()
    n, k = 4, 20000

    def add():
        for _ in range(k):
            c.fetch_add(1)

    threads = [threading.Thread(target=add) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.load() == n * k


def test_release_during_a_wait_keeps_the_memory():
    # release() from another thread while a wait is blocked: the wait keeps
    # the export until it returns, so the memory cannot vanish under it.
    import mmap

    m = mmap.mmap(-1, 4096)
    c = futex.Cell(m, 0, shared=False)
    w = Waiters(c, 1)
    time.sleep(0.1)
    c.release()
    with pytest.raises(ValueError):
        c.load()
    with pytest.raises(BufferError):
        m.close()  # the blocked wait still pins it
    m[0:4] = (1).to_bytes(4, sys.byteorder)
    futex.Cell(m, 0, shared=c.shared).wake_all()  # another cell on the same word wakes it
    w.join()
    assert w.results == [True]
    m.close()  # the last user dropped the export
