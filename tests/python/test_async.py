"""asyncio waits: Cell.wait_async and the primitives' acquire_async /
wait_async, through one watcher per event loop (futex/_aio.py)."""
import asyncio
import multiprocessing
import os
import threading
import time
from multiprocessing import shared_memory

import pytest

import futex
import futex._aio as aio
from _aio_procs import post_and_set, release_words
from _util import PATIENCE

_loop_factory = asyncio.new_event_loop


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def loop_kind(request):
    """Every test runs on asyncio's default loop and on uvloop (a test
    dependency, scripts/requirements.txt)."""
    global _loop_factory
    if request.param == "uvloop":
        import uvloop  # installed with the tests: missing, the suite fails rather than skips
        _loop_factory = uvloop.new_event_loop
    else:
        _loop_factory = asyncio.new_event_loop
    yield request.param
    _loop_factory = asyncio.new_event_loop


def run(coro_fn, *args):
    with asyncio.Runner(loop_factory=_loop_factory) as r:
        return r.run(asyncio.wait_for(coro_fn(*args), PATIENCE * 3))


def os_threads():
    """Threads of this process as the OS counts them (the watcher's helper
    is a C thread that threading.active_count() does not see)."""
    return len(os.listdir("/proc/self/task"))


def pending(loop=None):
    """Registrations the running loop's watcher holds (0 if it has none)."""
    lw = aio._watchers.get(loop or asyncio.get_running_loop())
    return 0 if lw is None else lw.w.pending()


async def registered(n=1):
    """Returns once the running loop's watcher holds at least n registrations:
    the waits under test are pending, not just scheduled. Bounded like every
    test body, by run()'s wait_for."""
    while pending() < n:
        await asyncio.sleep(0.001)


def later(delay, fn, *args):
    t = threading.Timer(delay, fn, args)
    t.start()
    return t


def store_wake(cell, value):
    cell.store(value)
    cell.wake_all()


# ---- results match wait() ---------------------------------------------------


def test_already_differs_returns_without_suspending():
    async def main():
        c = futex.Cell()
        c.store(7)
        # An awaitable that never suspends finishes on its first send().
        with pytest.raises(StopIteration) as stop:
            c.wait_async(3).__await__().send(None)
        assert stop.value.value is True
        assert c.wait(3) is True  # wait() agrees
        assert pending() == 0

    run(main)


@pytest.mark.parametrize("timeout", [0, 0.0])
def test_zero_timeout_checks_only(timeout):
    async def main():
        c = futex.Cell()
        assert await c.wait_async(0, timeout=timeout) is False
        assert c.wait(0, timeout=timeout) is False
        assert await c.wait_async(1, timeout=timeout) is True
        assert c.wait(1, timeout=timeout) is True
        assert pending() == 0

    run(main)


def test_bad_arguments_as_wait():
    async def main():
        c = futex.Cell()
        for args, kw in [((-1,), {}), ((2**32,), {}), (("x",), {}), ((0,), {"timeout": -1}),
                         ((0,), {"timeout": float("nan")})]:
            with pytest.raises(Exception) as sync_err:
                c.wait(*args, **kw)
            with pytest.raises(type(sync_err.value)):
                await c.wait_async(*args, **kw)
        assert pending() == 0

    run(main)


def test_woken_by_thread_returns_true():
    async def main():
        c = futex.Cell()
        t = later(0.05, store_wake, c, 1)
        assert await c.wait_async(0, timeout=PATIENCE) is True
        t.join()
        assert pending() == 0

    run(main)


def test_wake_without_change_returns_true():
    """wait() returns True when woken even if the value is the same."""
    async def main():
        c = futex.Cell()
        task = asyncio.ensure_future(c.wait_async(0, timeout=PATIENCE))
        await registered()
        for _ in range(int(PATIENCE / 0.01)):
            c.wake_all()
            await asyncio.sleep(0.01)
            if task.done():
                break
        assert task.result() is True

    run(main)


@pytest.mark.parametrize("timeout", [0.01, 0.05, 0.2])
def test_timeout_never_early(timeout):
    async def main():
        c = futex.Cell()
        t0 = time.monotonic()
        assert await c.wait_async(0, timeout=timeout) is False
        assert time.monotonic() - t0 >= timeout
        assert pending() == 0

    run(main)


def test_released_cell_is_an_error():
    async def main():
        c = futex.Cell(bytearray(4), 0)
        c.release()
        with pytest.raises(ValueError):
            await c.wait_async(0)

    run(main)


def test_release_while_pending_is_deferred():
    """The watcher holds the cell in use: release() drops the export only
    after the wait ends, so the helper never reads an unmapped word."""
    async def main():
        buf = bytearray(4)
        c = futex.Cell(buf, 0)
        task = asyncio.ensure_future(c.wait_async(0, timeout=0.1))
        await registered()
        c.release()
        with pytest.raises(BufferError):
            buf.extend(b"x")  # still exported: the wait holds it
        assert await task is False
        buf.extend(b"x")  # now free

    run(main)


# ---- many waits, one thread --------------------------------------------------


def test_many_waits_add_at_most_one_thread():
    n = 250

    async def main():
        shm = bytearray(4 * n)
        cells = [futex.Cell(shm, 4 * i) for i in range(n)]
        before_os, before_py = os_threads(), threading.active_count()
        tasks = [asyncio.ensure_future(c.wait_async(0, timeout=PATIENCE)) for c in cells]
        await registered(n)
        assert os_threads() <= before_os + 1
        assert threading.active_count() <= before_py + 1
        later(0.01, lambda: [store_wake(c, 1) for c in cells])
        assert await asyncio.gather(*tasks) == [True] * n
        assert pending() == 0

    run(main)


# ---- a future, taken as a coroutine too --------------------------------------


def test_registers_at_the_call_and_needs_no_task():
    """In a running loop wait_async registers before it returns (as
    Atomics.waitAsync) and gives a future: ensure_future and gather take it
    as it is, with no task around it."""
    async def main():
        c = futex.Cell()
        w = c.wait_async(0, timeout=PATIENCE)
        assert pending() == 1  # registered, though nothing awaited it yet
        assert asyncio.isfuture(w) and asyncio.ensure_future(w) is w
        store_wake(c, 1)
        assert await asyncio.gather(w) == [True]
        assert pending() == 0

    run(main)


def test_taken_where_a_coroutine_is_asked_for():
    """create_task(), a TaskGroup and asyncio.run() take it as they took a
    coroutine; called outside a running loop it is a coroutine, which
    registers once it runs."""
    async def main():
        cells = [futex.Cell() for _ in range(3)]
        later(0.02, lambda: [store_wake(c, 1) for c in cells])
        t = asyncio.create_task(cells[0].wait_async(0, timeout=PATIENCE))
        async with asyncio.TaskGroup() as tg:
            u = tg.create_task(cells[1].wait_async(0, timeout=PATIENCE))
            v = tg.create_task(cells[2].wait_async(0, timeout=0))
        assert (await t, u.result(), v.result()) == (True, True, False)
        assert pending() == 0

    run(main)
    c = futex.Cell()
    coro = c.wait_async(0, timeout=PATIENCE)  # no loop runs here
    assert asyncio.iscoroutine(coro) and not asyncio.isfuture(coro)
    later(0.02, store_wake, c, 1)
    with asyncio.Runner(loop_factory=_loop_factory) as r:
        assert r.run(coro) is True


def test_fire_the_loop_has_not_read_beats_the_timeout():
    """The word changed and the helper fired before the deadline, but the
    loop was busy past it and serves the shared timer before the fd (asyncio
    and uvloop serve the fd first; the timer is called here as a loop that
    runs its timers first would): the wait still says True."""
    async def main():
        c = futex.Cell()
        w = c.wait_async(0, timeout=0.05)
        store_wake(c, 1)
        time.sleep(0.2)  # the loop is busy: both the fd and the timer are due
        loop = asyncio.get_running_loop()
        aio._watchers[loop]._on_timer(loop)
        assert w.result() is True
        assert pending() == 0

    run(main)


# ---- cancellation --------------------------------------------------------------


def test_cancel_leaves_nothing_registered():
    """Cancelling the waits themselves, or tasks that await them."""
    async def main():
        c = futex.Cell()
        waits = [c.wait_async(0) for _ in range(10)]
        tasks = waits + [asyncio.create_task(c.wait_async(0)) for _ in range(10)]
        await registered(20)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert all(t.cancelled() for t in tasks)
        assert pending() == 0
        assert not aio._watchers[asyncio.get_running_loop()].futures

    run(main)


def test_cancel_many_then_release_at_once():
    """Cancelling hundreds of pending waits (among them several helper
    rounds' worth, past one FUTEX_WAITV) unregisters every one before the
    tasks end: each cell's export is dropped by release() right away, so the
    buffer can be resized with no wait."""
    n = 300

    async def main():
        buf = bytearray(4 * n)
        cells = [futex.Cell(buf, 4 * i) for i in range(n)]
        tasks = [asyncio.ensure_future(c.wait_async(0, timeout=PATIENCE)) for c in cells]
        await registered(n)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert pending() == 0
        for c in cells:
            c.release()
        buf.extend(b"x")  # no export left: the watcher holds none of the cells

    run(main)


def test_timeouts_share_one_timer_in_deadline_order():
    """A wait made later with an earlier deadline ends at its own deadline,
    not at the earlier-made, later one's: the shared timer moves forward to
    the nearest deadline."""
    async def main():
        slow_cell, fast_cell = futex.Cell(), futex.Cell()
        slow = asyncio.ensure_future(slow_cell.wait_async(0, timeout=PATIENCE))
        await registered(1)
        t0 = time.monotonic()
        assert await fast_cell.wait_async(0, timeout=0.05) is False
        took = time.monotonic() - t0
        assert 0.05 <= took < PATIENCE / 2
        assert not slow.done()
        store_wake(slow_cell, 1)
        assert await slow is True
        assert pending() == 0

    run(main)


def test_cancelled_acquire_loses_no_unit():
    """A post that wakes the watcher for a task that is then cancelled before
    it runs: the unit stays in the semaphore, and another waiter gets it."""
    async def main():
        s = futex.Semaphore(value=0)
        a = asyncio.ensure_future(s.acquire_async())
        await registered()
        s.release()  # the wake goes to the watcher, on a's behalf
        a.cancel()   # before a runs again
        with pytest.raises(asyncio.CancelledError):
            await a
        assert pending() == 0
        assert s.get_value() == 1  # nothing was taken for the cancelled task
        assert await s.acquire_async(timeout=PATIENCE) is True
        assert s.get_value() == 0

    run(main)


def test_cancelled_acquire_passes_the_wake_on():
    """Semaphore post wakes ONE announced waiter. If the watcher consumed it
    for a task that is then cancelled, the next waiter still wakes: here a
    second loop's acquire_async, which (unlike a thread's acquire, which
    sleeps in 50 ms slices) never looks again unless woken."""
    s = futex.Semaphore(value=0)
    other, got = [], []

    def second_loop():
        async def take():
            other.append(asyncio.get_running_loop())
            got.append(await s.acquire_async())  # no deadline: only a wake ends it
        with asyncio.Runner(loop_factory=_loop_factory) as r:
            r.run(take())

    async def main():
        a = asyncio.ensure_future(s.acquire_async())
        await registered()
        th = threading.Thread(target=second_loop, daemon=True)
        th.start()
        while not other or pending(other[0]) == 0:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # its helper re-armed onto the word, behind ours
        s.release()  # one wake: to our watcher, the first in the queue
        a.cancel()
        await asyncio.gather(a, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, th.join, PATIENCE)
        if th.is_alive():
            s.release()  # let it finish before failing
        assert got == [True]
        assert s.get_value() == 0

    run(main)


def test_timeout_of_acquire_takes_nothing():
    async def main():
        s = futex.Semaphore(value=0)
        t0 = time.monotonic()
        assert await s.acquire_async(timeout=0.05) is False
        assert time.monotonic() - t0 >= 0.05
        assert pending() == 0
        assert s.get_value() == 0

    run(main)


# ---- the primitives ---------------------------------------------------------------


def test_semaphore_many_tasks_each_get_one_unit():
    async def main():
        s = futex.Semaphore(value=0)
        tasks = [asyncio.ensure_future(s.acquire_async(timeout=PATIENCE)) for _ in range(30)]
        await asyncio.sleep(0.01)
        for _ in range(30):
            later(0, s.release)
        assert await asyncio.gather(*tasks) == [True] * 30
        assert s.get_value() == 0
        assert pending() == 0

    run(main)


def test_semaphore_immediate():
    async def main():
        s = futex.Semaphore(value=2)
        assert await s.acquire_async() is True
        assert await s.acquire_async(timeout=0) is True
        assert await s.acquire_async(timeout=0) is False
        assert s.get_value() == 0

    run(main)


def test_event_wait_async():
    async def main():
        e = futex.Event()
        assert await e.wait_async(timeout=0.02) is False
        later(0.05, e.set)
        assert await e.wait_async(timeout=PATIENCE) is True
        assert await e.wait_async() is True  # set already
        assert pending() == 0

    run(main)


def test_event_set_and_cleared_while_waiting_counts():
    """As Event.wait: a set since the wait began returns True even if the
    flag was cleared again before the wait looked."""
    async def main():
        e = futex.Event()
        task = asyncio.ensure_future(e.wait_async(timeout=PATIENCE))
        await registered()
        e.set()
        e.clear()
        assert await task is True

    run(main)


def test_mutex_acquire_async_from_a_thread_holder():
    async def main():
        m = futex.Mutex()
        held, go = threading.Event(), threading.Event()

        def holder():
            with m:
                held.set()
                go.wait(PATIENCE)

        th = threading.Thread(target=holder)
        th.start()
        held.wait(PATIENCE)
        assert await m.acquire_async(timeout=0.05) is False
        task = asyncio.ensure_future(m.acquire_async(timeout=PATIENCE))
        await asyncio.sleep(0.02)
        assert not task.done()
        go.set()
        assert await task is True
        assert m.is_owned()
        m.release()
        th.join()
        assert pending() == 0

    run(main)


def test_mutex_tasks_of_one_loop_take_turns():
    async def main():
        m = futex.Mutex()
        order = []

        async def worker(i):
            assert await m.acquire_async(timeout=PATIENCE)
            order.append(i)
            await asyncio.sleep(0.005)
            order.append(i)
            m.release()

        await asyncio.gather(*(worker(i) for i in range(5)))
        assert sorted(order) == sorted(list(range(5)) * 2)
        assert all(order[k] == order[k + 1] for k in range(0, 10, 2))  # never interleaved
        assert not m.locked()

    run(main)


def test_mutex_release_wakes_a_thread_after_async_turn():
    """A task taking the mutex after a wake keeps WAITERS, so its release
    wakes a thread that slept behind it."""
    async def main():
        m = futex.Mutex()
        go = threading.Event()

        def first():
            with m:
                go.wait(PATIENCE)

        th1 = threading.Thread(target=first)
        th1.start()
        while not m.locked():
            await asyncio.sleep(0.001)
        task = asyncio.ensure_future(m.acquire_async(timeout=PATIENCE))
        await asyncio.sleep(0.02)
        got = []
        th2 = threading.Thread(target=lambda: (got.append(m.acquire(timeout=PATIENCE)), m.release()))
        th2.start()
        await asyncio.sleep(0.1)  # th2 sleeps in the OS behind th1
        go.set()
        assert await task is True  # the one wake of th1's unlock may have gone to either
        await asyncio.sleep(0.05)
        m.release()
        await asyncio.get_running_loop().run_in_executor(None, th2.join, PATIENCE)
        th1.join()
        assert got == [True]

    run(main)


def test_mutex_owner_died_while_awaiting():
    """A holder thread exits holding the mutex while a task awaits it: the
    task gets it with OwnerDiedError, as acquire() does."""
    async def main():
        m = futex.Mutex()
        go = threading.Event()
        th = threading.Thread(target=lambda: (m.acquire(), go.wait(PATIENCE)))
        th.start()
        while not m.locked():
            await asyncio.sleep(0.001)
        task = asyncio.ensure_future(m.acquire_async(timeout=PATIENCE))
        await asyncio.sleep(0.05)
        assert not task.done()
        go.set()  # the thread ends, still holding it
        with pytest.raises(futex.OwnerDiedError):
            await task
        assert m.is_owned()
        m.consistent()
        m.release()
        th.join()
        assert pending() == 0

    run(main)


# ---- across processes ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_words_released_by_another_process(method):
    n = 64
    shm = shared_memory.SharedMemory(create=True, size=4 * (n + 1))
    try:
        go = futex.Cell(shm, 0)
        cells = [futex.Cell(shm, 4 * (i + 1)) for i in range(n)]

        async def main():
            ctx = multiprocessing.get_context(method)
            p = ctx.Process(target=release_words, args=(cells, go, 0.05))
            p.start()
            tasks = [asyncio.ensure_future(c.wait_async(0, timeout=PATIENCE)) for c in cells]
            await registered(n)
            store_wake(go, 1)
            assert await asyncio.gather(*tasks) == [True] * n
            assert [c.load() for c in cells] == [1] * n
            await asyncio.get_running_loop().run_in_executor(None, p.join, PATIENCE)
            assert p.exitcode == 0

        run(main)
        for c in cells + [go]:
            c.release()
    finally:
        shm.close()
        shm.unlink()


def test_primitives_released_by_another_process():
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        s = futex.Semaphore(shm, 0, shared=True)
        e = futex.Event(shm, 16, shared=True)

        async def main():
            p = multiprocessing.get_context("spawn").Process(target=post_and_set, args=(s, e, 0.2))
            p.start()
            assert await s.acquire_async(timeout=PATIENCE) is True
            assert await e.wait_async(timeout=PATIENCE) is True
            await asyncio.get_running_loop().run_in_executor(None, p.join, PATIENCE)
            assert p.exitcode == 0
            assert s.get_value() == 0

        run(main)
        del s, e
    finally:
        shm.close()
        shm.unlink()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_leaves_the_parents_watcher_alone():
    """A child forked while a wait is pending inherits the loop's watcher but
    not its helper thread: closing it there must neither hang nor undo the
    parent's Semaphore announcement (in shared memory); the child can make
    its own loop and wait."""
    import mmap

    mem = mmap.mmap(-1, 4096)  # MAP_SHARED: the child's writes reach us

    async def main():
        s = futex.Semaphore(mem, 0)
        task = asyncio.ensure_future(s.acquire_async(timeout=PATIENCE))
        await registered()
        announced = int.from_bytes(mem[4:8], "little")
        assert announced == 1
        inherited = aio._watchers[asyncio.get_running_loop()]
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                inherited.w.close()  # as a GC of it would
                # A new loop (in a new thread: whether this thread's running
                # loop survives the fork differs between versions).
                c, res = futex.Cell(), []
                th = threading.Thread(target=lambda: res.append(asyncio.run(c.wait_async(0, timeout=0.05))))
                th.start()
                th.join(PATIENCE)
                code = 0 if res == [False] else 2
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        t0 = time.monotonic()
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - t0 > PATIENCE:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise AssertionError("the child hung closing its inherited watcher")
            await asyncio.sleep(0.01)
        assert os.waitstatus_to_exitcode(status) == 0
        assert int.from_bytes(mem[4:8], "little") == 1  # still announced: ours
        s.release()
        assert await task is True
        del s

    run(main)


def test_one_watcher_per_loop():
    async def one():
        c = futex.Cell()
        later(0.02, store_wake, c, 1)
        await c.wait_async(0, timeout=PATIENCE)
        return aio._watchers[asyncio.get_running_loop()]

    async def main():
        c = futex.Cell()
        later(0.02, store_wake, c, 1)
        await c.wait_async(0, timeout=PATIENCE)
        lw = aio._watchers[asyncio.get_running_loop()]
        assert await one() is lw
        return lw

    a = run(main)
    b = run(main)
    assert a is not b  # a new loop, a new watcher
