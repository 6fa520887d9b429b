"""Waits whose loop runs in C (Cell.wait_until) and the one-call hand-offs
(Cell.store_and_wake, Cell.add_and_wake): results, timeouts, signals, bad
input that touches nothing, and a cross-thread ping-pong made of them."""
import os
import signal
import threading
import time

import futex
import pytest
from _util import PATIENCE, Waiters, later, wait_until

PROMPT = 1.5  # a signal ends a wait this soon, with slack for a loaded machine


def test_wait_until_already_there_and_timeouts():
    c = futex.Cell()
    c.store(5)
    assert c.wait_until(5) is True
    assert c.wait_until(5, 0) is True
    assert c.wait_until(6, 0) is False  # 0 only checks
    for spin in (True, False):
        t0 = time.monotonic()
        assert c.wait_until(6, 0.05, spin=spin) is False
        assert time.monotonic() - t0 >= 0.05  # never early
    assert c.load() == 5


def test_wait_until_passes_other_values():
    # The cell goes 0 -> 1 -> 2 -> 3, each with a wake: wait_until(3)
    # returns only at 3, never at the values it waits past.
    c = futex.Cell()

    def steps():
        for v in (1, 2, 3):
            time.sleep(0.01)
            c.store_and_wake(v)

    t = threading.Thread(target=steps)
    t.start()
    assert c.wait_until(3, PATIENCE) is True
    assert c.load() == 3
    t.join()


def test_store_and_add_then_wake():
    c = futex.Cell()
    w = Waiters(c, 1, expected=0)
    wait_until(lambda: w.ready == 1, what="the waiter")
    time.sleep(0.05)  # let it sleep in the OS
    woken = c.store_and_wake(7)
    assert woken in (1, None)  # None where the OS does not count
    w.join()
    assert w.results == [True]
    assert c.load() == 7
    assert c.add_and_wake(3) == 7
    assert c.add_and_wake(2**32 - 10, n=0) == 10  # wraps modulo 2**32
    assert c.load() == 0
    assert c.store_and_wake(1, n=2**40) in (0, None)  # n past 2**32: everyone


def test_ping_pong_of_helpers():
    # Two calls a side: the whole hand-off in C.
    c = futex.Cell()
    rounds = 2000

    def pong():
        for i in range(rounds):
            assert c.wait_until(2 * i + 1, PATIENCE)
            c.store_and_wake(2 * i + 2)

    t = threading.Thread(target=pong)
    t.start()
    for i in range(rounds):
        c.add_and_wake(1)
        assert c.wait_until(2 * i + 2, PATIENCE)
    t.join()
    assert c.load() == 2 * rounds


@pytest.mark.parametrize("timeout", [None, PATIENCE * 10])
def test_sigint_ends_wait_until(timeout):
    c = futex.Cell()
    fallback = later(PATIENCE, c.store_and_wake, 1)
    sent = []

    def fire():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    later(0.2, fire)
    try:
        with pytest.raises(KeyboardInterrupt):
            c.wait_until(1, timeout)
        got = time.monotonic()
    finally:
        fallback.cancel()
    assert c.load() == 0, "the wait ended by the fallback, not the signal"
    assert got - sent[0] < PROMPT


def test_quiet_handler_keeps_waiting_on_the_same_deadline():
    c = futex.Cell()
    ran = []
    old = signal.signal(signal.SIGUSR1, lambda *a: ran.append(1))
    try:
        later(0.05, os.kill, os.getpid(), signal.SIGUSR1)
        t0 = time.monotonic()
        assert c.wait_until(1, 0.3) is False
        took = time.monotonic() - t0
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert ran == [1]
    assert 0.3 <= took < 0.3 + PATIENCE


def test_bad_input_touches_nothing():
    c = futex.Cell()
    c.store(4)
    for bad, exc in ((-1, OverflowError), (2**32, OverflowError), (1.5, TypeError), ("1", TypeError)):
        with pytest.raises(exc):
            c.wait_until(bad, 0)
        with pytest.raises(exc):
            c.store_and_wake(bad)
        with pytest.raises(exc):
            c.add_and_wake(bad)
    with pytest.raises(ValueError):
        c.store_and_wake(9, n=-1)
    with pytest.raises(ValueError):
        c.add_and_wake(9, -1)
    with pytest.raises(TypeError):
        c.store_and_wake(9, n=1.0)
    for t in (-1, float("nan")):
        with pytest.raises(ValueError):
            c.wait_until(5, t)
    with pytest.raises(TypeError):
        c.wait_until(5, "1")
    with pytest.raises(TypeError):
        c.wait_until()
    with pytest.raises(TypeError):
        c.wait_until(4, None, True)  # spin is keyword-only
    with pytest.raises(TypeError):
        c.wait_until(4, value=4)  # given twice
    with pytest.raises(TypeError):
        c.store_and_wake(9, nn=1)  # no such keyword
    with pytest.raises(TypeError):
        c.add_and_wake()
    assert c.wait_until(value=4, timeout=0, spin=False) is True  # every argument by keyword
    assert c.load() == 4  # nothing stored, nothing added
    c.release()
    for call in (lambda: c.wait_until(4), lambda: c.store_and_wake(1), lambda: c.add_and_wake(1)):
        with pytest.raises(ValueError):
            call()


def test_adaptive_spin_is_the_default():
    assert futex.SPIN_ADAPTIVE == 2**32 - 1
    old = futex.get_spin()
    try:
        futex.set_spin(16)
        assert futex.get_spin() == 16
        futex.set_spin(futex.SPIN_ADAPTIVE)
        assert futex.get_spin() == futex.SPIN_ADAPTIVE
    finally:
        futex.set_spin(old)
