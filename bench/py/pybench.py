"""Python benchmarks, run by bench/run.py (one case per process, like the C benches).

    python3 pybench.py pingpong IMPL [rounds]   µs per round trip between two processes
    python3 pybench.py call IMPL[,IMPL...]      ns per uncontended call (batches of up to 20,000; several
                                                take turns, a batch each, one RESULT line each)

Ping-pong IMPLs: ours (futex.Cell over SharedMemory, the plain load/wait + fetch_add/wake loop),
ours-helpers (add_and_wake + wait_until, two calls a side), ours-nospin (wait(spin=False)),
c (bench/c/floor.c's C loop through ctypes, the pair's C floor: after run.sh built it),
semaphore (multiprocessing.Semaphore pair), event (multiprocessing.Event pair), pipe
(multiprocessing.Pipe), posix_ipc (posix_ipc.Semaphore pair), eventfd (os.eventfd pair),
fastipc (fastipc's FutexWord), fastipc-sem / fastipc-event (two of fastipc's NamedSemaphore /
NamedEvent), ours-event / ours-sem (two futex.Event / futex.Semaphore over SharedMemory).
Call IMPLs: load, fetch_add (futex.Cell), bit_length (int.bit_length, the floor: a C method
call), atomics (atomics.atomicview fetch_add), atomicshm (atomicshm.AtomicU32 fetch_add),
with-mutex / with-lock / with-mplock / with-fastipc / with-noop (`with m: pass` on a
futex.Mutex, a threading.Lock, a multiprocessing.Lock, a fastipc NamedMutex, a context
manager that does nothing: the with statement's own floor).

    python3 pybench.py aio IMPL [n]             asyncio waits (see aio_many / aio_latency)

aio IMPLs: many-async / many-executor (ms until n waits on n words, all released by another
process, have resumed: Cell.wait_async vs loop.run_in_executor(None, cell.wait, ...)),
memory-async (bytes of Python heap per pending wait_async), latency-async (µs from a store +
wake in another process to the wait_async resuming), latency-event (µs from a thread's
call_soon_threadsafe(event.set) to an asyncio.Event waiter resuming).

Prints "RESULT <unit> <sample>...", or "SKIP <reason>" when a peer is not installed.
Ping-pong ours+ours-helpers+...+c (any of ours, ours-helpers, ours-event, ours-sem, c): those
take turns in one pair, 100 round trips each (BENCH_TURN), one RESULT line each; ours@16 runs
the plain loop with futex.set_spin(16) (ours@adaptive: the default), for the spin sweep.
BENCH_PIN=1 pins the two sides to CPUs 0 and 1.
"""

import functools
import multiprocessing as mp
import os
import sys
import time
from multiprocessing.shared_memory import SharedMemory

WARM = 500


def skip(why):
    print("SKIP", why)
    sys.exit(0)


def result(unit, samples):
    print("RESULT", unit, " ".join(f"{x:.4g}" for x in samples), flush=True)


# ---- ping-pong: each impl makes (post0, wait0, post1, wait1, cleanup) -------------------
# post(d) tells the other side; wait(d) returns once the other side has posted on d one
# more time than this side has seen. Only the parent's calls are timed.


def waiter(seen, d, load, wait):
    """wait(d) of a futex word: returns once the word has moved past the count seen[d]."""

    def wait_():
        v = seen[d]
        seen[d] = v + 1
        while load() == v:
            wait(v)

    return wait_


def closer(shm, exports, first=None):
    """The cleanup of a pair over SharedMemory: drop what holds its buffer, then unlink it."""

    def cleanup():
        if first:
            first()
        for x in exports:
            x.release()
        shm.close()
        shm.unlink()

    return cleanup


def futex_nospin_pair():
    """futex.Cell words waited on with wait(spin=False); the spinning kinds are pingpong_kinds'."""
    import futex

    shm = SharedMemory(create=True, size=256)
    cells = [futex.Cell(shm.buf, 0), futex.Cell(shm.buf, 128)]
    seen = [0, 0]

    def mk(d):
        c = cells[d]
        add, wake, load, wait = c.fetch_add, c.wake, c.load, c.wait

        def post():
            add(1)
            wake(1)

        return post, waiter(seen, d, load, functools.partial(wait, spin=False))

    (p0, w0), (p1, w1) = mk(0), mk(1)
    return p0, w0, p1, w1, closer(shm, cells)


def fastipc_pair():
    try:
        from fastipc._primitives import FutexWord
    except ImportError:
        skip("fastipc not installed")
    shm = SharedMemory(create=True, size=256)
    views = [shm.buf[0:4], shm.buf[128:132]]
    words = [FutexWord(v, shared=True) for v in views]
    seen = [0, 0]
    posted = [0, 0]

    def mk(d):
        w = words[d]
        store, wake, load, wait = w.store_release, w.wake, w.load_acquire, w.wait

        def post():
            posted[d] += 1
            store(posted[d])
            wake(1)

        return post, waiter(seen, d, load, wait)

    (p0, w0), (p1, w1) = mk(0), mk(1)
    return p0, w0, p1, w1, closer(shm, views, first=words.clear)


def fastipc_named(kind, make):
    """Two of fastipc's named primitives, unique to this process; cleanup unlinks them."""
    try:
        import fastipc
    except ImportError:
        skip("fastipc not installed")
    xs = [make(getattr(fastipc, kind), f"futexbench{os.getpid()}x{d}") for d in range(2)]

    def cleanup():
        for x in xs:
            x._shm.close()
            x._shm.unlink()

    return xs, cleanup


def fastipc_sem_pair():
    s, cleanup = fastipc_named("NamedSemaphore", lambda cls, name: cls(name, 0))
    return s[0].post1, s[0].wait, s[1].post1, s[1].wait, cleanup


def fastipc_event_pair():
    e, cleanup = fastipc_named("NamedEvent", lambda cls, name: cls(name))

    def mk(d):
        ev = e[d]

        def wait_():
            # Its wait returns on any wake of the word: look again, as a user must.
            while not ev.is_set():
                ev.wait()
            ev.clear()  # as event_pair

        return ev.set, wait_

    (p0, w0), (p1, w1) = mk(0), mk(1)
    return p0, w0, p1, w1, cleanup


def semaphore_pair():
    s = [mp.Semaphore(0), mp.Semaphore(0)]
    return s[0].release, s[0].acquire, s[1].release, s[1].acquire, lambda: None


def event_pair():
    e = [mp.Event(), mp.Event()]

    def mk(d):
        ev = e[d]

        def wait_():
            ev.wait()
            ev.clear()  # strict alternation: the other side sets it again only after we answer

        return ev.set, wait_

    (p0, w0), (p1, w1) = mk(0), mk(1)
    return p0, w0, p1, w1, lambda: None


def pipe_pair():
    a, b = mp.Pipe()
    # Direction 0: parent (a) -> child (b); direction 1: child (b) -> parent (a).
    return (lambda: a.send_bytes(b"x")), b.recv_bytes, (lambda: b.send_bytes(b"x")), a.recv_bytes, lambda: None


def posix_ipc_pair():
    try:
        import posix_ipc
    except ImportError:
        skip("posix_ipc not installed")
    s = [posix_ipc.Semaphore(None, posix_ipc.O_CREX, initial_value=0) for _ in range(2)]

    def cleanup():
        for x in s:
            x.unlink()

    return s[0].release, s[0].acquire, s[1].release, s[1].acquire, cleanup


def eventfd_pair():
    if not hasattr(os, "eventfd"):
        skip("os.eventfd needs Python 3.10+ on Linux")
    fds = [os.eventfd(0), os.eventfd(0)]
    w, r = os.eventfd_write, os.eventfd_read
    return (lambda: w(fds[0], 1)), (lambda: r(fds[0])), (lambda: w(fds[1], 1)), (lambda: r(fds[1])), lambda: None


PAIRS = {
    "ours-nospin": futex_nospin_pair,
    "semaphore": semaphore_pair,
    "event": event_pair,
    "pipe": pipe_pair,
    "posix_ipc": posix_ipc_pair,
    "eventfd": eventfd_pair,
    "fastipc": fastipc_pair,
    "fastipc-sem": fastipc_sem_pair,
    "fastipc-event": fastipc_event_pair,
}


def pin(cpu):
    """BENCH_PIN=1 pins the two sides to CPUs 0 and 1 (for studying the scheduler's part)."""
    if os.environ.get("BENCH_PIN") == "1":
        os.sched_setaffinity(0, {cpu})


# The round trips of one turn, when kinds take turns in one pair (pingpong_kinds).
TURN = int(os.environ.get("BENCH_TURN", "100"))  # run.py gives the spin sweeps longer turns


def turn_counts(rounds, k):
    """Turns in all and warm-up turns, for k settings or kinds taking turns: whole turns
    each, the warm-up (WARM round trips, rounded up) first."""
    warm = -(-WARM // TURN) * k
    return warm + -(-rounds // TURN) * k, warm


def turn_order(t, k):
    """The row of turn t among k: each cycle of k turns is a shuffle of the k rows, by the
    generator of bench.cpp's turn_of (the same on both sides), so that no row always follows
    the same one."""
    perm = list(range(k))
    x = ((t // k) * 2654435761 + 1) & 0xFFFFFFFF
    for i in range(k - 1, 0, -1):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        j = (x >> 8) % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm[t % k]


def turn_gate(gate, side, t):
    """Both sides meet here, awake, before turn t (bench.cpp's turn_gate says why)."""
    gate[side].store(t + 1)
    while gate[1 - side].load() < t + 1:
        os.sched_yield()


def ponger(wait0, post1, rounds):
    pin(1)
    for _ in range(rounds):
        wait0()
        post1()


def futex_cells(shm):
    import futex

    return futex.Cell(shm.buf, 0), futex.Cell(shm.buf, 128)


KINDS = ("ours", "ours-helpers", "ours-event", "ours-sem", "c")


def pingpong_kinds(kinds, rounds):
    """ours (the plain loop), ours-helpers, ours-event, ours-sem and c (bench/c/floor.c's C loop
    through ctypes: the same pair's C floor), one or several, take turns in one pair, TURN
    round trips each (turn_order: each cycle shuffled), on one segment: one RESULT line each,
    in order. KIND@N runs it with futex.set_spin(N) (@adaptive: the default) for its turns:
    the spin sweep. The plain loop, the helpers and the C floor use the same two cells, which
    carry i, the round trips so far; where a word lies moves a round trip by a fifth here
    (bench.cpp's pingpong)."""
    import ctypes

    import futex

    spins = [k.partition("@")[2] for k in kinds]
    spins = [None if not n else futex.SPIN_ADAPTIVE if n == "adaptive" else int(n) for n in spins]
    kinds = [k.partition("@")[0] for k in kinds]
    if "c" in kinds:
        floor = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out", "floor.so"))
        floor.bench_floor.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int,
                                      ctypes.c_void_p]
        floor.bench_floor.restype = None
    shm = SharedMemory(create=True, size=1024)
    c0, c1 = futex_cells(shm)
    ev = [futex.Event(shm, 256), futex.Event(shm, 384)]
    sem = [futex.Semaphore(shm, 512, value=0), futex.Semaphore(shm, 640, value=0)]
    gate = [futex.Cell(shm, 768), futex.Cell(shm, 896)]
    word = ctypes.c_uint32.from_buffer(shm.buf)  # the floor's view of the cells
    addr = ctypes.addressof(word)
    k = len(kinds)
    turns, warm = turn_counts(rounds, k)

    def event_wait(e):
        def wait_():
            e.wait()
            e.clear()  # as event_pair: the other side sets it again only after we answer

        return wait_

    def side(parent):
        pin(0 if parent else 1)
        us = [[] for _ in kinds]
        buf = (ctypes.c_double * TURN)()
        clock = time.perf_counter_ns
        me, other = (c0, c1) if parent else (c1, c0)
        add, wake, load, wait = me.fetch_add, me.wake, other.load, other.wait
        hpost, until = me.add_and_wake, other.wait_until
        d = 0 if parent else 1
        prim = {"ours-event": (ev[d].set, event_wait(ev[1 - d])),
                "ours-sem": (sem[d].release, sem[1 - d].acquire)}
        i = 0
        for t in range(turns):
            row = turn_order(t, k)
            kind, got = kinds[row], us[row] if t >= warm else []
            if spins[row] is not None:
                futex.set_spin(spins[row])
            turn_gate(gate, 1 - parent, t)
            if kind == "c":
                floor.bench_floor(addr, i, TURN, parent, buf)
                got.extend(x * 1000.0 for x in buf)  # µs to ns, as the others
                i += TURN
            elif kind == "ours-helpers" and parent:
                for _ in range(TURN):
                    t0 = clock()
                    hpost(1)
                    until(i + 1)
                    t1 = clock()
                    got.append(t1 - t0)
                    i += 1
            elif kind == "ours-helpers":
                for _ in range(TURN):
                    until(i + 1)
                    hpost(1)
                    i += 1
            elif kind == "ours" and parent:
                for _ in range(TURN):
                    t0 = clock()
                    add(1)
                    wake(1)
                    while load() == i:
                        wait(i)
                    t1 = clock()
                    got.append(t1 - t0)
                    i += 1
            elif kind == "ours":
                for _ in range(TURN):
                    while load() == i:
                        wait(i)
                    add(1)
                    wake(1)
                    i += 1
            elif parent:
                post, wait_ = prim[kind]
                for _ in range(TURN):
                    t0 = clock()
                    post()
                    wait_()
                    t1 = clock()
                    got.append(t1 - t0)
            else:
                post, wait_ = prim[kind]
                for _ in range(TURN):
                    wait_()
                    post()
        return us

    child = mp.get_context("fork").Process(target=side, args=(0,))
    child.start()
    us = side(1)
    child.join()
    del word
    for x in (c0, c1, *gate):
        x.release()
    shm.unlink()  # the Events and Semaphores hold the mapping until the process ends: unlink only
    for v in us:
        result("us", [x / 1000.0 for x in v])


def pingpong(impl, rounds):
    kinds = impl.split("+")
    if all(k.split("@")[0] in KINDS for k in kinds):
        return pingpong_kinds(kinds, rounds)
    post0, wait0, post1, wait1, cleanup = PAIRS[impl]()
    ctx = mp.get_context("fork")
    child = ctx.Process(target=ponger, args=(wait0, post1, WARM + rounds))
    child.start()
    pin(0)
    clock = time.perf_counter_ns
    us = []
    for i in range(WARM + rounds):
        t0 = clock()
        post0()
        wait1()
        t1 = clock()
        if i >= WARM:
            us.append(t1 - t0)  # ns; converted after the loop, to keep the loop short
    child.join()
    cleanup()
    result("us", [x / 1000.0 for x in us])


# ---- uncontended calls -------------------------------------------------------------------


def call_case(impl):
    """The call an IMPL times, its argument (None: none) and what to keep until the end."""
    keep = []
    if impl in ("load", "fetch_add"):
        import futex

        c = futex.Cell(bytearray(8), 0)
        keep.append(c)
        f, arg = (c.load, None) if impl == "load" else (c.fetch_add, 1)
    elif impl == "bit_length":
        f, arg = (12345).bit_length, None
    elif impl == "atomics":
        try:
            import atomics
        except ImportError:
            skip("atomics not installed")
        buf = bytearray(8)
        ctx = atomics.atomicview(buffer=memoryview(buf)[:4], atype=atomics.UINT)
        a = ctx.__enter__()
        keep.append(lambda: ctx.__exit__(None, None, None))
        f, arg = a.fetch_add, 1
    elif impl == "atomicshm":
        try:
            import atomicshm
        except ImportError:
            skip("atomicshm not installed")
        buf = bytearray(8)
        view = atomicshm.AtomicView(buf)
        keep.append((view, buf))
        f, arg = view.cell_u32(0).fetch_add, 1
    elif impl in ("with-mutex", "with-lock", "with-mplock", "with-fastipc", "with-noop"):
        if impl == "with-noop":

            class Noop:
                """A context manager whose methods are C builtins that do
                next to nothing: tuple() returns the empty tuple and
                slice(None, None, None) makes a small object."""

                __enter__ = tuple
                __exit__ = slice

            m = Noop()
        elif impl == "with-mutex":
            import futex

            m = futex.Mutex()
        elif impl == "with-fastipc":
            xs, cleanup = fastipc_named("NamedMutex", lambda cls, name: cls(name))
            m = xs[0]
            keep.append(cleanup)
        elif impl == "with-lock":
            import threading

            m = threading.Lock()
        else:
            m = mp.Lock()

        def f():
            with m:
                pass

        arg = None
    else:
        raise SystemExit(f"pybench: unknown impl {impl}")
    return f, arg, keep


def calls(impls):
    """IMPL[,IMPL...]: several take turns, a batch each, in one process (one RESULT line
    each, in order), so that they run on the same CPU state."""
    cases = [call_case(impl) for impl in impls.split(",")]
    clock = time.perf_counter_ns
    # Size each one's batches to ~2 ms, so that a slow peer does not take minutes.
    batches = []
    for f, arg, _ in cases:
        t0 = clock()
        for _ in range(1000):
            f() if arg is None else f(arg)
        per = max(1.0, (clock() - t0) / 1000)
        batches.append(max(100, min(20000, int(2e6 / per))))
    ns = [[] for _ in cases]
    for k in range(60):
        for (f, arg, _), batch, got in zip(cases, batches, ns):
            r = range(batch)
            if arg is None:
                t0 = clock()
                for _ in r:
                    f()
                t1 = clock()
            else:
                t0 = clock()
                for _ in r:
                    f(arg)
                t1 = clock()
            if k >= 5:
                got.append((t1 - t0) / batch)
    for _, _, keep in cases:
        for k in keep:
            if callable(k):
                k()
    for got in ns:
        result("ns", got)


# ---- asyncio -------------------------------------------------------------------------


def aio_releaser(shm_name, n, rounds):
    """The other process of aio_many: per round, wait for the go word (0) to
    reach the round's number, then store it into each of the n words and wake."""
    import futex

    shm = SharedMemory(name=shm_name)
    go = futex.Cell(shm, 0)
    cells = [futex.Cell(shm, 4 * (i + 1)) for i in range(n)]
    for r in range(1, rounds + 1):
        while go.load() < r:
            go.wait(go.load(), timeout=60)
        for c in cells:
            c.store(r)
            c.wake()
    for c in cells + [go]:
        c.release()
    shm.close()


def aio_many(impl, n, rounds=5):
    import asyncio

    import futex

    shm = SharedMemory(create=True, size=4 * (n + 1))
    go = futex.Cell(shm, 0)
    cells = [futex.Cell(shm, 4 * (i + 1)) for i in range(n)]
    child = mp.get_context("spawn").Process(target=aio_releaser, args=(shm.name, n, rounds))
    child.start()
    ms = []

    async def one(r):
        loop = asyncio.get_running_loop()
        if impl == "many-async":
            waits = [asyncio.ensure_future(c.wait_async(r - 1, timeout=60)) for c in cells]
        else:
            waits = [loop.run_in_executor(None, c.wait, r - 1, 60) for c in cells]
        await asyncio.sleep(0.2)  # every wait registered (or queued in the executor)
        t0 = time.perf_counter()
        go.store(r)
        go.wake()
        assert all(await asyncio.gather(*waits))
        ms.append((time.perf_counter() - t0) * 1e3)

    async def main():
        for r in range(1, rounds + 1):
            await one(r)

    asyncio.run(main())
    child.join()
    for c in cells + [go]:
        c.release()
    shm.close()
    shm.unlink()
    result("ms", ms)


def aio_memory(n):
    """Python heap per pending wait_async (tracemalloc; the C watcher's own
    table is a few words per registration and not counted)."""
    import asyncio
    import tracemalloc

    import futex

    buf = bytearray(4 * n)
    cells = [futex.Cell(buf, 4 * i) for i in range(n)]

    async def main():
        c0 = futex.Cell()
        await c0.wait_async(1)  # the loop's watcher exists before we measure
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        waits = [asyncio.ensure_future(c.wait_async(0)) for c in cells]
        await asyncio.sleep(0.2)
        used = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        for c in cells:
            c.store(1)
            c.wake()
        await asyncio.gather(*waits)
        return used / n

    result("bytes", [asyncio.run(main())])


def aio_latency_child(shm_name, rounds):
    """Per round i: wait until the parent's word 0 says i (it is waiting),
    sleep a little so it is asleep, write the time into word 2..3, store i into word 1 and wake."""
    import futex

    shm = SharedMemory(name=shm_name)
    ready, word = futex.Cell(shm, 0), futex.Cell(shm, 4)
    for i in range(1, rounds + 1):
        while ready.load() != i:
            ready.wait(ready.load(), timeout=60)
        time.sleep(0.001)
        shm.buf[8:16] = time.perf_counter_ns().to_bytes(8, "little")
        word.store(i)
        word.wake()
    ready.release()
    word.release()
    shm.close()


def aio_latency(impl, rounds):
    import asyncio
    import threading

    import futex

    us = []
    if impl == "latency-async":
        shm = SharedMemory(create=True, size=16)
        ready, word = futex.Cell(shm, 0), futex.Cell(shm, 4)
        child = mp.get_context("spawn").Process(target=aio_latency_child, args=(shm.name, rounds))
        child.start()

        async def main():
            for i in range(1, rounds + 1):
                ready.store(i)
                ready.wake()
                while word.load() != i:
                    await word.wait_async(i - 1, timeout=60)
                us.append((time.perf_counter_ns() - int.from_bytes(shm.buf[8:16], "little")) / 1e3)

        asyncio.run(main())
        child.join()
        ready.release()
        word.release()
        shm.close()
        shm.unlink()
    else:
        async def main():
            loop = asyncio.get_running_loop()
            for _ in range(rounds):
                ev = asyncio.Event()
                stamp = []

                def setter():
                    time.sleep(0.001)
                    stamp.append(time.perf_counter_ns())
                    loop.call_soon_threadsafe(ev.set)

                t = threading.Thread(target=setter)
                t.start()
                await ev.wait()
                now = time.perf_counter_ns()
                t.join()
                us.append((now - stamp[0]) / 1e3)

        asyncio.run(main())
    result("µs", us[len(us) // 10:])  # the first tenth warms up


def aio(impl, n):
    if impl in ("many-async", "many-executor"):
        aio_many(impl, n)
    elif impl == "memory-async":
        aio_memory(n)
    elif impl in ("latency-async", "latency-event"):
        aio_latency(impl, n)
    else:
        raise SystemExit(f"pybench: unknown aio impl {impl}")


def main():
    case, impl = sys.argv[1], sys.argv[2]
    if case == "pingpong":
        pingpong(impl, int(sys.argv[3]) if len(sys.argv) > 3 else 10000)
    elif case == "call":
        calls(impl)
    elif case == "aio":
        aio(impl, int(sys.argv[3]) if len(sys.argv) > 3 else 10000)
    else:
        raise SystemExit(f"pybench: unknown case {case}")


if __name__ == "__main__":
    main()
