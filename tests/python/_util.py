"""Helpers shared by the futex tests (and imported by their child
processes, so nothing here imports pytest). Every blocking step has a
timeout, so a deadlock fails a test instead of hanging the suite."""
import threading
import time

import futex

# A bound on any wait that should end quickly: generous because the test
# machine is shared, and reached only when something is broken.
PATIENCE = 20.0


def wait_for_value(cell, want, patience=PATIENCE):
    """Futex-wait until cell holds `want` (the usual re-check loop)."""
    d = futex.Deadline(patience)
    while (v := cell.load()) != want:
        if not d.wait(cell, v):
            raise AssertionError(f"cell stuck at {v}, wanted {want}")


def wait_until(pred, patience=PATIENCE, what="condition"):
    """Poll Python-level bookkeeping (thread counts), never the futex itself."""
    end = time.monotonic() + patience
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


class Waiters:
    """n threads, each doing one cell.wait(expected, timeout) and recording the result."""

    def __init__(self, cell, n, expected=0, timeout=PATIENCE):
        self.results = []
        self.ready = 0
        self.lock = threading.Lock()

        def run():
            with self.lock:
                self.ready += 1
            r = cell.wait(expected, timeout)
            with self.lock:
                self.results.append(r)

        self.threads = [threading.Thread(target=run, daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()
        wait_until(lambda: self.ready == n, what="waiters to start")

    def finished(self):
        with self.lock:
            return len(self.results)

    def join(self):
        for t in self.threads:
            t.join(PATIENCE)
            assert not t.is_alive(), "a waiter never returned"


def barrier_wait(count, gen, parties):
    """A reusable barrier on two cells: the last to arrive bumps the generation."""
    g = gen.load()
    if count.fetch_add(1) == parties - 1:
        count.store(0)
        gen.fetch_add(1)
        gen.wake_all()
    else:
        d = futex.Deadline(PATIENCE)
        while gen.load() == g:
            if not d.wait(gen, g):
                raise AssertionError("barrier timed out")


def barrier_rounds(count, gen, slots, me, rounds):
    """Party `me` of len(slots) goes through `rounds` barriers, checking
    that nobody passes round r before every party has arrived at it."""
    for r in range(rounds):
        slots[me].store(r + 1)
        barrier_wait(count, gen, len(slots))
        seen = [s.load() for s in slots]
        if min(seen) < r + 1:
            raise AssertionError(f"party {me}: passed barrier {r} early, saw {seen}")


def later(delay, fn, *args):
    """Run fn(*args) on a timer thread after `delay` seconds; returns the timer."""
    t = threading.Timer(delay, fn, args)
    t.daemon = True
    t.start()
    return t


def store_and_wake(cell, value):
    cell.store(value)
    cell.wake_all()
