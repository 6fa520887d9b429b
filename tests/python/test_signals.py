"""Signals during a blocked wait: a handler that raises ends the wait with
its exception (Ctrl-C -> KeyboardInterrupt, promptly); one that does not
raise runs during the wait, and the wait goes on to its own result."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import futex
import pytest
from _util import PATIENCE, later, store_and_wake

# Ctrl-C must raise KeyboardInterrupt within 0.2 s, the delay a user still
# reads as "at once" (SLICE_NS in _futex.c is a quarter of it). Asserted with slack
# for a loaded shared machine; a wait that ignored the signal would instead
# run into the PATIENCE fallback below.
PROMPT = 1.5


def interrupt_later(delay):
    sent = []

    def fire():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    return sent, later(delay, fire)


@pytest.mark.parametrize("timeout", [None, PATIENCE * 10])
@pytest.mark.parametrize("spin", [True, False])
def test_sigint_raises_keyboard_interrupt(timeout, spin):
    c = futex.Cell()
    fallback = later(PATIENCE, store_and_wake, c, 1)  # if the signal is lost, the test fails instead of hanging
    sent, _ = interrupt_later(0.2)
    try:
        with pytest.raises(KeyboardInterrupt):
            c.wait(0, timeout, spin=spin)
        got = time.monotonic()
    finally:
        fallback.cancel()
    assert c.load() == 0, "the wait ended by the fallback, not the signal"
    assert got - sent[0] < PROMPT


def test_sigint_interrupts_a_deadline_wait():
    c = futex.Cell()
    fallback = later(PATIENCE, store_and_wake, c, 1)
    sent, _ = interrupt_later(0.2)
    try:
        with pytest.raises(KeyboardInterrupt):
            futex.Deadline().wait(c, 0)
        got = time.monotonic()
    finally:
        fallback.cancel()
    assert c.load() == 0 and got - sent[0] < PROMPT


class Counting:
    """A SIGUSR1 handler that records when it ran and does not raise."""

    def __init__(self):
        self.times = []
        self.old = signal.signal(signal.SIGUSR1, lambda *_: self.times.append(time.monotonic()))

    def restore(self):
        signal.signal(signal.SIGUSR1, self.old)


def test_quiet_handler_lets_the_wait_time_out():
    h = Counting()
    c = futex.Cell()
    try:
        t0 = time.monotonic_ns()
        later(0.1, os.kill, os.getpid(), signal.SIGUSR1)
        later(0.2, os.kill, os.getpid(), signal.SIGUSR1)
        assert c.wait(0, 0.6) is False
        elapsed = time.monotonic_ns() - t0
    finally:
        h.restore()
    assert elapsed >= 600_000_000  # re-waited for the rest, on the same deadline
    assert len(h.times) == 2


def test_handler_runs_during_the_wait():
    # The handler changes the word. If it ran only after the wait, the wait
    # would block until the fallback; run during it (interrupted, handler,
    # re-wait), the re-wait sees the new value and returns True.
    c = futex.Cell()
    old = signal.signal(signal.SIGUSR1, lambda *_: c.store(5))
    fallback = later(PATIENCE, store_and_wake, c, 9)
    try:
        later(0.1, os.kill, os.getpid(), signal.SIGUSR1)
        assert c.wait(0, PATIENCE * 2) is True
    finally:
        fallback.cancel()
        signal.signal(signal.SIGUSR1, old)
    assert c.load() == 5


def test_quiet_handler_lets_the_wait_be_woken():
    h = Counting()
    c = futex.Cell()
    try:
        t0 = time.monotonic()
        later(0.1, os.kill, os.getpid(), signal.SIGUSR1)
        later(0.4, store_and_wake, c, 7)
        assert c.wait(0) is True
        done = time.monotonic()
    finally:
        h.restore()
    assert c.load() == 7 and done - t0 >= 0.4
    assert len(h.times) == 1


def test_signal_while_waiting_in_another_thread():
    # Handlers run in the main thread only; a wait in another thread just
    # goes on, whatever the main thread does with the signal.
    h = Counting()
    c = futex.Cell()
    result = []
    t = threading.Thread(target=lambda: result.append(c.wait(0, 0.5)))
    try:
        t.start()
        time.sleep(0.1)
        signal.pthread_kill(t.ident, signal.SIGUSR1)
        time.sleep(0.1)  # the main thread runs the handler here
        t.join(PATIENCE)
    finally:
        h.restore()
    assert result == [False] and len(h.times) == 1


CHILD = textwrap.dedent(
    """
    import sys, futex
    c = futex.Cell()
    print("waiting", flush=True)
    try:
        c.wait(0)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
    """
)


def test_ctrl_c_in_a_child_python():
    # The user's view: a script blocked in wait() forever, and Ctrl-C.
    p = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "waiting\n"
        time.sleep(0.2)  # let it block in the OS
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        rc = p.wait(PATIENCE)
        got = time.monotonic()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 3 and p.stdout.read() == "interrupted\n"
    assert got - sent < PROMPT


def test_sigint_under_sa_restart_ends_an_untimed_wait():
    # siginterrupt(False) installs the handler with SA_RESTART: the kernel
    # restarts an untimed FUTEX_WAIT after it, so unless the core hands the
    # OS a deadline the wait would sleep on until the fallback wake.
    c = futex.Cell()
    old = signal.getsignal(signal.SIGINT)
    signal.siginterrupt(signal.SIGINT, False)
    fallback = later(PATIENCE, store_and_wake, c, 1)
    sent, _ = interrupt_later(0.2)
    try:
        with pytest.raises(KeyboardInterrupt):
            c.wait(0)
        got = time.monotonic()
    finally:
        fallback.cancel()
        signal.signal(signal.SIGINT, old)
    assert c.load() == 0, "the wait ended by the fallback, not the signal"
    assert got - sent[0] < PROMPT


def test_huge_spin_neither_stretches_a_timeout_nor_hides_ctrl_c():
    old = futex.get_spin()
    c = futex.Cell()
    try:
        futex.set_spin(2**32 - 2)  # the largest count (2**32 - 1 is SPIN_ADAPTIVE): minutes uncapped
        t0 = time.monotonic()
        assert c.wait(0, timeout=0.001) is False
        took = time.monotonic() - t0
        fallback = later(PATIENCE, store_and_wake, c, 1)
        sent, _ = interrupt_later(0.2)
        try:
            with pytest.raises(KeyboardInterrupt):
                c.wait(0)
            got = time.monotonic()
        finally:
            fallback.cancel()
    finally:
        futex.set_spin(old)
    assert took < 1.0  # about 1 ms; the slack is for a loaded machine
    assert c.load() == 0 and got - sent[0] < PROMPT
