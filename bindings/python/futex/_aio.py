"""asyncio waits on futex words: Cell.wait_async, Mutex.acquire_async,
Semaphore.acquire_async and Event.wait_async.

One libfutex watcher per event loop: its helper thread (the only thread
added, however many waits are pending) sleeps on every registered word and
makes the watcher's fd readable; the loop reads the fd (``loop.add_reader``)
and resolves the futures of the registrations that fired. Works with any
loop that implements ``add_reader`` on a plain fd: asyncio's default
(selector) loop and uvloop. (asyncio's ProactorEventLoop on Windows has no
add_reader, and Windows has no watcher.)
"""
import asyncio
import weakref

from ._futex import Deadline, Mutex, _Watcher

_watchers = weakref.WeakKeyDictionary()  # loop -> _LoopWatcher


class _LoopWatcher:
    """The watcher of one loop: registration id -> the future it resolves."""

    def __init__(self, loop):
        self.w = _Watcher()
        self.futures = {}  # id -> the future its fire resolves
        self.late = set()  # ids that fired after their timer had resolved the future
        self.fd = self.w.fileno()
        loop.add_reader(self.fd, self._on_ready)
        # The loop may die before its watcher: drop the reader and stop the
        # helper thread when the loop is collected.
        weakref.finalize(loop, self.w.close)

    def _on_ready(self):
        for i in self.w.ready():
            fut = self.futures.get(i)
            if fut is None:
                continue
            if fut.done():
                self.late.add(i)  # its timer won the race: the wait looks here
            else:
                fut.set_result(True)

    async def wait(self, registration, deadline):
        """Waits until registration fires (True) or deadline passes (False).
        Unregisters it in every case, cancellation included. Leaving without
        a fire seen (timeout, cancel) hands a wake the watcher may have
        consumed on to the next waiter of a Mutex or Semaphore: the fire can
        be queued in the watcher and not yet read when the task is cancelled.

        One future per wait, resolved by the fd's reader (True) or by a timer
        (False). The loop's timers may fire early by its clock resolution, so
        a timeout is believed only once the Deadline (the core's clock) says
        it has passed; until then the wait goes on."""
        i, fired = registration, False
        loop = asyncio.get_running_loop()
        try:
            while True:
                fut = loop.create_future()
                self.futures[i] = fut
                timer = None
                if deadline is not None:
                    remaining = deadline.remaining
                    if remaining == 0.0:
                        return False
                    if remaining is not None:
                        timer = loop.call_later(remaining, _expire, fut)
                try:
                    fired = await fut
                finally:
                    if timer is not None:
                        timer.cancel()
                fired = fired or i in self.late
                if fired:
                    return True
        finally:
            del self.futures[i]
            self.late.discard(i)
            self.w.remove(i, not fired)


def _expire(fut):
    if not fut.done():
        fut.set_result(False)


def _watcher():
    loop = asyncio.get_running_loop()
    lw = _watchers.get(loop)
    if lw is None:
        lw = _watchers[loop] = _LoopWatcher(loop)
    return lw


def _deadline(timeout):
    return None if timeout is None else Deadline(timeout)


async def cell_wait_async(cell, expected, timeout=None):
    """await cell.wait_async(expected, timeout=None) -> bool: as cell.wait():
    True once the word no longer holds expected or is woken (at once, without
    suspending, when it already differs), False when timeout seconds passed."""
    d = _deadline(timeout)  # validates timeout as wait() does
    if cell.wait(expected, timeout=0):
        return True  # already differs (this also validates expected)
    if d is not None and d.expired:
        return False
    lw = _watcher()
    return await lw.wait(lw.w.add(cell, expected), d)


async def _acquire(prim, try_take, timeout):
    """The try-acquire loop: try; else announce as a waiter and register
    the word as it is now; try again when it fires."""
    d = _deadline(timeout)
    lw, woken = None, False
    while True:
        if try_take():
            if woken and isinstance(prim, Mutex):
                lw.w.took(prim)  # a Mutex taken by a woken waiter wakes the next at release
            return True
        if d is not None and d.expired:
            return False
        if lw is None:
            lw = _watcher()
        i, _ = lw.w.add_waiter(prim)
        if i is None:
            continue  # freed meanwhile: try again
        woken = await lw.wait(i, _slice(prim, d)) or woken


def _slice(prim, d):
    """A Mutex waiter re-tries every FUTEX_MUTEX_CHECK_NS (0.1 s), as the
    core's waiters do, so that try_take's liveness check recovers a mutex
    whose owner died without the kernel telling."""
    if not isinstance(prim, Mutex):
        return d
    if d is None or d.remaining is None or d.remaining > 0.1:
        return Deadline(0.1)
    return d


async def mutex_acquire_async(mutex, timeout=None):
    """await mutex.acquire_async(timeout=None) -> bool: take the mutex for
    the loop's thread (released by mutex.release() from that thread)."""
    return await _acquire(mutex, lambda: mutex.acquire(blocking=False), timeout)


async def sem_acquire_async(sem, timeout=None):
    """await sem.acquire_async(timeout=None) -> bool: take one unit."""
    return await _acquire(sem, lambda: sem.acquire(blocking=False), timeout)


async def event_wait_async(event, timeout=None):
    """await event.wait_async(timeout=None) -> bool: True once the event is
    set, or was set since the call began; False after timeout seconds."""
    d = _deadline(timeout)
    lw = None
    gen = None
    while True:
        if event.is_set():
            return True
        if d is not None and d.expired:
            return False
        if lw is None:
            lw = _watcher()
        i, word = lw.w.add_waiter(event)
        if gen is None:
            gen = word & ~3
        elif word & ~3 != gen:
            if i is not None:
                lw.w.remove(i)
            return True  # set (and cleared again) since we began
        if i is None:
            continue
        await lw.wait(i, d)
