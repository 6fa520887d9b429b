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
import heapq
import itertools
import weakref

from ._futex import Deadline, Mutex, _Watcher

_watchers = weakref.WeakKeyDictionary()  # loop -> _LoopWatcher


class _LoopWatcher:
    """The watcher of one loop: registration id -> the future it resolves.

    Timeouts share one loop timer, set for the earliest deadline, instead of
    a timer per wait: a wait that fires leaves its entry in the heap, and
    costs nothing more (a timer per wait cost a call_later, and a cancel on
    the path of every fired wait)."""

    def __init__(self, loop):
        self.w = _Watcher()
        self.futures = {}  # id -> the future its fire resolves
        self.late = set()  # ids that fired after their timer had resolved the future
        self.deadlines = []  # heap of (loop time, seq, future, Deadline)
        self.seq = itertools.count()
        self.timer = None  # the loop timer for deadlines[0], and when it is due
        self.timer_at = None
        self.fd = self.w.fileno()
        loop.add_reader(self.fd, self._on_ready)
        # The loop may die before its watcher: drop the reader and stop the
        # helper thread when the loop is collected.
        weakref.finalize(loop, self.w.close)

    def _on_ready(self):
        # Each fired id's future gets True; one its timer resolved already
        # goes into late, where its wait looks. A Cell wait's future is
        # unregistered there too: nothing else runs after it.
        self.w.resolve(self.futures, self.late, _CellWait)

    def drop(self, i):
        """Unregisters a Cell wait that ends other than by its fire."""
        del self.futures[i]
        self.w.remove(i)

    def _expire_at(self, loop, remaining, fut, deadline):
        at = loop.time() + remaining
        heap = self.deadlines
        if len(heap) > 64 and len(heap) > 2 * len(self.futures):
            # Mostly fired waits' entries: keep the heap in proportion.
            heap[:] = [e for e in heap if not e[2].done()]
            heapq.heapify(heap)
        heapq.heappush(heap, (at, next(self.seq), fut, deadline))
        if self.timer_at is None or at < self.timer_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = at
            self.timer = loop.call_at(at, self._on_timer, loop)

    def _on_timer(self, loop):
        """Resolves (False) the futures whose Deadline has passed. The loop's
        timers may fire early by its clock resolution, so a timeout is
        believed only once the Deadline (the core's clock) says so; until
        then its entry goes back, due again when the Deadline says."""
        heap, now = self.deadlines, loop.time()
        self.timer = self.timer_at = None
        # A fire the loop has not read yet is a result that came in time.
        self._on_ready()
        while heap and heap[0][0] <= now:
            _, _, fut, deadline = heapq.heappop(heap)
            if fut.done():
                continue
            remaining = deadline.remaining
            if remaining == 0.0:
                if type(fut) is _CellWait:
                    self.drop(fut._id)
                fut.set_result(False)
            else:
                heapq.heappush(heap, (now + remaining, next(self.seq), fut, deadline))
                break
        while heap and heap[0][2].done():
            heapq.heappop(heap)
        if heap:
            self.timer_at = heap[0][0]
            self.timer = loop.call_at(self.timer_at, self._on_timer, loop)

    def arm(self, i, deadline):
        """The future that registration i's fire resolves (True), or the
        shared timer (False, once deadline has passed); None if deadline has
        passed already. Every arm is followed by disarm."""
        if deadline is not None:
            remaining = deadline.remaining
            if remaining == 0.0:
                return None
        loop = asyncio.get_running_loop()
        fut = self.futures[i] = loop.create_future()
        if deadline is not None and remaining is not None:
            self._expire_at(loop, remaining, fut, deadline)
        return fut

    def disarm(self, i, fired):
        """Unregisters i, whatever ended its wait (cancellation included).
        Leaving without a fire seen (timeout, cancel) hands a wake the
        watcher may have consumed on to the next waiter of a Mutex or
        Semaphore: the fire can be queued in the watcher and not yet read
        when the task is cancelled."""
        self.futures.pop(i, None)
        if self.late:
            self.late.discard(i)
        self.w.remove(i, not fired)

    async def wait(self, i, deadline):
        """Waits until registration i fires (True) or deadline passes (False),
        and unregisters it."""
        fut, fired = self.arm(i, deadline), False
        try:
            if fut is not None:
                fired = await fut or i in self.late
            return fired
        finally:
            self.disarm(i, fired)


def _watcher(loop):
    lw = _watchers.get(loop)
    if lw is None:
        lw = _watchers[loop] = _LoopWatcher(loop)
    return lw


def _deadline(timeout):
    return None if timeout is None else Deadline(timeout)


class _CellWait(asyncio.Future):
    """The future of one pending Cell.wait_async. Its fire resolves it (and
    unregisters it, in the watcher's resolve), its timeout too (the shared
    timer); cancel() unregisters it. Being a future, a wait costs no task:
    await, gather() and wait_for() take it as it is. It also speaks the
    coroutine protocol (send, throw, close: those of `await fut`), so that
    create_task(), a TaskGroup and asyncio.run(), which ask for a coroutine,
    take it too."""

    __slots__ = ("_lw", "_id", "_it")

    def cancel(self, msg=None):
        if not self.done():
            self._lw.drop(self._id)
        return super().cancel(msg)

    def _awaiting(self):
        if self._it is None:
            self._it = self.__await__()
        return self._it

    def send(self, value):
        return self._awaiting().send(value)

    def throw(self, *exc):
        # The exception (a task's cancellation) leaves the await: the wait
        # is abandoned, as a coroutine's finally would abandon it.
        self.cancel()
        return self._awaiting().throw(*exc)

    def close(self):
        self.cancel()
        self._it = None


def _resolved(loop, result):
    fut = _CellWait(loop=loop)
    fut._lw = fut._id = fut._it = None
    fut.set_result(result)
    return fut


async def _in_loop(cell, expected, timeout):
    return await cell_wait_async(cell, expected, timeout)


def cell_wait_async(cell, expected, timeout=None):
    """cell.wait_async(expected, timeout=None) -> awaitable bool: as
    cell.wait(): True once the word no longer holds expected or is woken
    (at once, without suspending, when it already differs), False when
    timeout seconds passed. In a running loop it registers at the call, as
    Atomics.waitAsync does, and returns a future of that loop; cancelling
    it (or a task awaiting it) unregisters it. Called outside a loop, it
    returns a coroutine that does the same once it runs in one."""
    d = _deadline(timeout)  # validates timeout as wait() does
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        # Called before a loop runs (asyncio.run(cell.wait_async(0))): a
        # coroutine that waits once it runs in one.
        return _in_loop(cell, expected, timeout)
    if cell.wait(expected, timeout=0):
        return _resolved(loop, True)  # already differs (this also validates expected)
    remaining = None if d is None else d.remaining
    if remaining == 0.0:
        return _resolved(loop, False)
    lw = _watcher(loop)
    i = lw.w.add(cell, expected)
    fut = _CellWait(loop=loop)
    fut._lw, fut._id, fut._it = lw, i, None
    # The loop's thread is ours until we return: resolve cannot run before
    # the future is in futures, however soon the helper fires i.
    lw.futures[i] = fut
    if remaining is not None:
        lw._expire_at(loop, remaining, fut, d)
    return fut


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
            lw = _watcher(asyncio.get_running_loop())
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
    since = None  # the word as the first announcement saw it
    while True:
        if event.is_set():
            return True
        if d is not None and d.expired:
            return False
        if lw is None:
            lw = _watcher(asyncio.get_running_loop())
        i, word = lw.w.add_waiter(event, since)
        if i is None:
            return True  # set, or set (and cleared again) since we began
        if since is None:
            since = word
        await lw.wait(i, d)
