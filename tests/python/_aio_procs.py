"""Child-process halves of test_async.py: kept free of pytest, so that
`spawn` children import only this, futex and the standard library."""
import time

import futex


def release_words(cells, go, delay):
    """Wait for the parent's go (a Cell set to 1), then store 1 into each
    cell of `cells` and wake it."""
    while go.load() == 0:
        go.wait(0, timeout=10.0)
    time.sleep(delay)
    for c in cells:
        c.store(1)
        c.wake()


def post_and_set(sem, event, delay):
    """A Semaphore post and an Event set from another process."""
    time.sleep(delay)
    sem.release()
    event.set()
