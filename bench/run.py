"""Runs every benchmark, prints one table, writes bench/results.{txt,json,png}.

Started by bench/run.sh (which installs and builds what this needs). Every group compares
peers on one workload: its rows run interleaved (ours, peer, peer, ..., ours, peer, ...), so
a burst of load elsewhere on the machine lands on all of them alike. A ping-pong group runs
RUNS times (a run: one or more interleaved rounds, samples pooled), and every run is shown:
each row's median in each run, the median of those medians and the worst run. Ratios are
taken within a run (row over the group's reference row, ours, in the same run), and a goal
is judged on its worst run.

    python3 bench/run.py [--quick] [--only SUBSTRING[,SUBSTRING...]]

--only runs the groups whose id contains one of the substrings (and judges only their goals);
it writes no results file.
"""

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

if "--help" in sys.argv or "-h" in sys.argv:
    sys.exit(__doc__)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
QUICK = "--quick" in sys.argv
ONLY = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
ROUNDS = 1 if QUICK else 5  # interleaved rounds, pooled, of a group that is not a ping-pong
RUNS = 2 if QUICK else 5  # runs of every ping-pong group, each shown and judged
PP = "2000" if QUICK else "3000"  # C ping-pong round trips per process
# Linux places a ping-pong pair on one CPU or on two at random, and a process keeps the
# placement it started with (0.4 µs vs 5 µs here): each run of an unpinned C ping-pong pools
# several short rounds, so it samples both placements as they come.
PP_ROUNDS = 1 if QUICK else 3
# The other ping-pong groups (pinned, one CPU, the interpreters') pool 3 interleaved rounds a
# run too: a round trip of 0.3-1 µs moves by a third from one process to the next with where
# the host places the vCPUs, so a run of one process per row was decided by one placement.
PIN_ROUNDS = 1 if QUICK else 3
PY_PP = "1000" if QUICK else "4000"  # Python and Lua round trips per run

C = os.path.join(OUT, "bench")
CPOSIX = os.path.join(OUT, "bench-posix")
ZIG = os.path.join(OUT, "zig-pingpong")
PY = [sys.executable, os.path.join(HERE, "py", "pybench.py")]
LUA = ["lua5.4", os.path.join(HERE, "lua", "pingpong.lua")]
PY_ENV = {"PYTHONPATH": os.path.join(OUT, "py")}
LUA_ENV = {"LUA_CPATH": ";".join([os.path.join(OUT, "cmake", "bindings", "lua", "?.so"),
                                   os.path.join(OUT, "lua", "?.so")]) + ";;"}  # futex; benchfloor (bench/c/floor.c)

SPINS = [0, 4, 8, 16, 32, 64, 128, 256]
PY_SPINS = [16, 64, 256, 1024]  # the fixed counts a Python pair was measured with before
DEFAULT_SPIN = "adaptive"  # futex_set_spin's default: FUTEX_SPIN_ADAPTIVE
BUDGET_US = 10.0  # FUTEX_SPIN_BUDGET_NS: the CPU a wait nobody ends may burn before it parks


LIB = "libfutex"
PEERS = {
    "ours": LIB,
    "ours-nospin": "libfutex FUTEX_NOSPIN",
    "raw": "raw futex(2), no spin",
    "raw-day": "raw futex(2), no spin, deadline a day ahead",
    "raw-spin1000": "raw futex(2) + 1000-pause spin",
    "atomic": "libstdc++ atomic::wait/notify_one",
    "condvar": "pthread mutex + condvar pair",
    "eventfd": "eventfd pair",
    "pipe": "pipe pair",
    "zig": "Zig std.Io futexWait/futexWake",
    "posix": "libfutex, posix parking-lot backend",
    "posix-nospin": "libfutex, posix backend, FUTEX_NOSPIN",
}


def row(key, label, cmd, env=None):
    return {"key": key, "label": label, "cmd": cmd, "env": env or {}}


def turns(rows, cmd):
    """Rows that take turns in one pair of threads or processes: `cmd` runs them all and prints
    one RESULT line per row, in order; it is the first row's command, and the others have none.
    Rows of separate processes each get their own placement (one CPU or two, near or far
    vCPUs: 2-10x on a round trip), so two code paths are compared in turns, under one."""
    rows = [dict(r) for r in rows]
    rows[0]["cmd"], rows[0]["turns"] = cmd, [r["key"] for r in rows]
    for r in rows[1:]:
        r["cmd"] = None
    return rows


def take_turns(rows, keys, cmd):
    """turns() for the rows named by keys (in their order in rows: cmd's RESULT lines come in
    that order), left where they are in rows."""
    at = [i for i, r in enumerate(rows) if r["key"] in keys]
    assert [rows[i]["key"] for i in at] == list(keys), keys
    for i, r in zip(at, turns([rows[i] for i in at], cmd)):
        rows[i] = r
    return rows


FLOOR_LABEL = "C floor: libfutex, the same 2 processes"
FLOOR_NOTE = ("the plain loop, the helpers, the two futex primitives and the C floor (bench/c/floor.c) take turns "
              "in one pair of processes, 100 round trips each")


def c_rows(case_args, keys, posix=True):
    """A row per IMPL of bench (the linux backend) and, with posix, the same case on bench-posix."""
    rows = [row(k, PEERS[k], [C] + case_args(k)) for k in keys]
    if posix:
        rows.append(row("posix", PEERS["posix"], [CPOSIX] + case_args("ours")))
    return rows


def nospin_raw_turns(rows, mode):
    """FUTEX_NOSPIN, the raw system call and the raw call on a deadline a day ahead take turns
    in one pair: the goal between the first two compares the library's sleep path with the
    bare one, not two placements, and the third shows what the day-ahead deadline costs. A
    posix-nospin row (the posix backend's FUTEX_NOSPIN) joins them."""
    i = [r["key"] for r in rows].index("ours-nospin")
    assert rows[i + 1]["key"] == "raw"
    rows.insert(i + 2, row("raw-day", PEERS["raw-day"], None, rows[i]["env"]))
    keys = ("ours-nospin", "raw", "raw-day") + (("posix-nospin",) if any(r["key"] == "posix-nospin" for r in rows)
                                               else ())
    return take_turns(rows, keys, [C, "pingpong", mode, ",".join(keys), PP])


def atomic_turns(rows):
    """libfutex and libstdc++'s atomic::wait take turns in one pair of threads (the goal
    between them compares two waits, not two placements); so does a posix row (the posix
    backend, whose goal is against libfutex's linux one)."""
    keys = ("ours", "atomic") + (("posix",) if any(r["key"] == "posix" for r in rows) else ())
    return take_turns(rows, keys, [C, "pingpong", "threads", ",".join(keys), PP])


NOSPIN_NOTE = ("FUTEX_NOSPIN and the raw futex(2) rows take turns in one pair, 100 round trips each, "
               "so that they meet the same placement")
ATOMIC_NOTE = NOSPIN_NOTE + "; so do libfutex and libstdc++"
POSIX_NOTE = ATOMIC_NOTE + ", and each with the posix backend's row of the same setting"
# A spin setting may fall into a state it then keeps (both sides asleep at every hand-off, each
# wake-up a halted vCPU's): the sweeps' turns are long enough for that to show.
SWEEP_TURN = "1000"
SWEEP_NOTE = "the default and every fixed count take turns in one pair, 1,000 round trips each"


def groups():
    g = []
    pp_peers = ["ours", "ours-nospin", "raw", "raw-spin1000", "atomic", "condvar", "eventfd", "pipe"]
    thr = c_rows(lambda k: ["pingpong", "threads", k, PP], pp_peers)
    thr.insert(-1, row("zig", PEERS["zig"], [ZIG], {"BENCH_ROUNDS": PP}))
    thr.append(row("posix-nospin", PEERS["posix-nospin"], None))
    g.append({"id": "c-pp-threads", "title": "C ping-pong, 2 threads", "unit": "µs/round trip",
              "rows": atomic_turns(nospin_raw_turns(thr, "threads")), "runs": RUNS, "rounds": PP_ROUNDS, "note": POSIX_NOTE})
    prc = c_rows(lambda k: ["pingpong", "procs", k, PP], [p for p in pp_peers if p != "atomic"], posix=False)
    g.append({"id": "c-pp-procs", "title": "C ping-pong, 2 processes (fork + MAP_SHARED)", "unit": "µs/round trip",
              "rows": nospin_raw_turns(prc, "procs"), "runs": RUNS, "rounds": PP_ROUNDS,
              "note": "libstdc++ atomic::wait and Zig's futex use FUTEX_PRIVATE: their wakes cannot reach "
                      "another process, so they have no cross-process row; " + NOSPIN_NOTE})
    pinned = {"BENCH_PIN": "1"}
    for mode in ("threads", "procs"):
        g.append({"id": f"c-pp-pinned-{mode}", "title": f"C ping-pong, 2 {mode} pinned to CPUs 0 and 1",
                  "unit": "µs/round trip", "runs": RUNS, "rounds": PIN_ROUNDS,
                  "rows": (atomic_turns if mode == "threads" else lambda r: r)(
                      nospin_raw_turns([row(k, PEERS[k], [C, "pingpong", mode, k, PP], pinned)
                                        for k in ("ours", "ours-nospin", "raw", "raw-spin1000")
                                        + (("atomic", "posix", "posix-nospin") if mode == "threads" else ())], mode)),
                  "note": "pinning takes the scheduler's placement out; " + (POSIX_NOTE if mode == "threads"
                                                                            else NOSPIN_NOTE)})
    same = {"BENCH_PIN": "same"}
    g.append({"id": "c-pp-onecpu-threads", "title": "C ping-pong, 2 threads both pinned to CPU 0",
              "unit": "µs/round trip", "runs": RUNS, "rounds": PIN_ROUNDS,
              "rows": atomic_turns(nospin_raw_turns([row(k, PEERS[k], [C, "pingpong", "threads", k, PP], same)
                                        for k in ("ours", "ours-nospin", "raw", "raw-spin1000", "atomic", "condvar",
                                                  "eventfd")], "threads")),
              "note": "on one CPU a waiter's partner runs only once the waiter yields or sleeps; " + ATOMIC_NOTE})
    crowd = ["ours", "ours-nospin", "raw", "atomic", "condvar"]
    for n in (8, 64):
        g.append({"id": f"c-wakeone-{n}", "title": f"C wake-one throughput, {n} parked threads",
                  "unit": "µs/wake(1)", "rows": c_rows(lambda k, n=n: ["wakeone", k, str(n)], crowd)})
    for n in (2, 8, 64):
        g.append({"id": f"c-broadcast-{n}", "title": f"C broadcast latency, wake(all) to the last of {n} threads",
                  "unit": "µs", "rows": c_rows(lambda k, n=n: ["broadcast", k, str(n)], crowd)})
    wn = [row("ours", LIB + " (private)", [C, "wakenobody", "ours"]),
          row("ours-shared", LIB + " FUTEX_SHARED", [C, "wakenobody", "ours-shared"]),
          row("raw", PEERS["raw"] + " (private)", [C, "wakenobody", "raw"]),
          row("atomic", PEERS["atomic"], [C, "wakenobody", "atomic"]),
          row("condvar", "pthread_cond_signal", [C, "wakenobody", "condvar"]),
          row("posix", PEERS["posix"], [CPOSIX, "wakenobody", "ours"])]
    g.append({"id": "c-wakenobody", "title": "C wake with nobody waiting", "unit": "ns/call", "rows": wn})
    g.append({"id": "c-fetchadd", "title": "C uncontended fetch_add", "unit": "ns/op",
              "rows": [row("ours", "futex_fetch_add (a call)", [C, "fetchadd", "ours"]),
                       row("inline", "__atomic_fetch_add inlined", [C, "fetchadd", "inline"]),
                       row("atomic", "std::atomic<unsigned>::fetch_add", [C, "fetchadd", "atomic"])]})
    wv = []
    for exe, key, label in ((C, "", LIB), (CPOSIX, "posix-", "posix backend")):
        wv.append(row(key + "wait", f"{label}: futex_wait, 1 word", [exe, "waitv", "wait", "1", PP]))
        for n in (1, 64):
            wv.append(row(f"{key}waitv{n}", f"{label}: futex_waitv, {n} word{'s' if n > 1 else ''}",
                          [exe, "waitv", "waitv", str(n), PP]))
    g.append({"id": "c-waitv", "title": "C futex_waitv against futex_wait: ping-pong, 2 threads, FUTEX_NOSPIN",
              "unit": "µs/round trip", "rows": wv, "runs": RUNS, "rounds": PP_ROUNDS,
              "note": "the turn word is the last of the N; the others never change. Linux: the kernel's "
                      "FUTEX_WAITV; posix: the library's own multi-wait over the parking lot"})
    for t in (2, 8):
        g.append({"id": f"c-hash-{t}", "title": f"Many addresses: {t} threads x 1,024 words, wait on a stale value",
                  "unit": "ns/op/thread",
                  "rows": [row("ours", "libfutex, linux backend (kernel hash)", [C, "hash", str(t)]),
                           row("posix", PEERS["posix"], [CPOSIX, "hash", str(t)])]})
    for mode in ("threads", "procs"):
        for pin_mode, where in (("1", "on CPUs 0 and 1"), ("same", "both on CPU 0")):
            env = {"BENCH_PIN": pin_mode, "BENCH_TURN": SWEEP_TURN}
            rows = [row("ours", f"{LIB}, default (adaptive spin)", None, env)]
            rows += [row(f"spin{s}", f"spin {s}", None, env) for s in SPINS]
            impls = ",".join(["ours"] + [f"ours-spin{s}" for s in SPINS])
            g.append({"id": f"spin-pp-{mode}-{'two' if pin_mode == '1' else 'one'}cpu",
                      "title": f"Spin count sweep: C ping-pong, 2 {mode} {where}", "unit": "µs/round trip",
                      "rows": turns(rows, [C, "pingpong", mode, impls, PP]), "runs": RUNS, "rounds": PIN_ROUNDS,
                      "note": SWEEP_NOTE})
    rows = [row("ours", "default (adaptive), after waits nobody ends", [C, "parkcost", "adaptive"])]
    rows += [row(f"spin{s}", f"spin {s}", [C, "parkcost", str(s)]) for s in SPINS]
    g.append({"id": "spin-park", "title": "CPU a 200 µs wait on an unchanging word burns (spin, then sleep)",
              "unit": "µs CPU", "rows": rows, "runs": RUNS, "rounds": 1,
              "note": "the spin's own cost is a row's median minus spin 0's in the same run"})
    g.append({"id": "spin-park-worst", "title": "CPU a wait nobody ends burns before it parks, at the widest "
              "learned spin", "unit": "µs CPU", "runs": RUNS, "rounds": 1,
              "rows": [row("ours", "default (adaptive), taught its widest spin",
                           [C, "parkcost", "adaptive-worst"])],
              "note": "each sample: a 200 µs wait's CPU minus the same wait's with FUTEX_NOSPIN, both right "
                      "after 50 waits on a partner that answers 40 µs late (what makes the spin grow)"})
    g.append({"id": "c-lock", "title": "C uncontended lock + unlock", "unit": "ns/pair",
              "rows": turns([row("ours", "futex_mutex, FUTEX_SHARED", None),
                             row("ours-private", "futex_mutex, FUTEX_PRIVATE", None),
                             row("robust-pthread", "robust process-shared pthread_mutex_t", None),
                             row("pthread", "process-shared pthread_mutex_t", None)],
                            [C, "lockunlock", "ours,ours-private,robust-pthread,pthread"])
              + [row("posix", "futex_mutex, posix backend", [CPOSIX, "lockunlock", "ours-private"])],
              "note": "the four locks of the linux build take turns in one process, a batch of 10,000 each"})
    hand = [row("event", "two futex_event (set / wait + clear)", None),
            row("sem", "two futex_sem (post / wait)", None),
            row("ours", "raw Cell words (futex_wait / futex_wake)", None)]
    g.append({"id": "c-handoff-procs", "title": "C handoff through the primitives, 2 processes",
              "unit": "µs/round trip", "rows": turns(hand, [C, "pingpong", "procs", "event,sem,ours", PP]),
              "runs": RUNS, "rounds": PP_ROUNDS,
              "note": "a partner still spinning is never announced as a waiter, so it costs no wake call; "
                      "the three take turns in one pair, 100 round trips each"})
    g.append({"id": "c-handoff-pinned", "title": "C handoff through the primitives, 2 processes pinned to CPUs 0 and 1",
              "unit": "µs/round trip", "runs": RUNS, "rounds": PIN_ROUNDS,
              "rows": turns([dict(r, env={"BENCH_PIN": "1"}) for r in hand],
                            [C, "pingpong", "procs", "event,sem,ours", PP]),
              "note": "the three take turns in one pair, 100 round trips each"})
    g.append({"id": "c-ownerdeath", "title": "Mutex owner-death detection: death to a blocked waiter holding the lock",
              "unit": "µs",
              "rows": [row("procs", "linux backend, SIGKILLed process (kernel robust list)",
                           [C, "ownerdeath", "procs", "20"]),
                       row("threads", "linux backend, exited thread (kernel robust list)",
                           [C, "ownerdeath", "threads", "20"]),
                       row("posix", "posix backend, exited thread (liveness check per 100 ms slice)",
                           [CPOSIX, "ownerdeath", "threads", "5"])]})
    # ours, helpers, ours-event, ours-sem and c take turns (take_turns, below): their command is one.
    pyrows = [row("ours", "futex.Cell over SharedMemory, plain loop", None, PY_ENV),
              row("helpers", "futex.Cell, add_and_wake + wait_until", None, PY_ENV),
              row("ours-nospin", "futex.Cell, wait(spin=False)", PY + ["pingpong", "ours-nospin", PY_PP], PY_ENV),
              row("semaphore", "multiprocessing.Semaphore pair", PY + ["pingpong", "semaphore", PY_PP], PY_ENV),
              row("event", "multiprocessing.Event pair", PY + ["pingpong", "event", PY_PP], PY_ENV),
              row("pipe", "multiprocessing.Pipe", PY + ["pingpong", "pipe", PY_PP], PY_ENV),
              row("posix_ipc", "posix_ipc.Semaphore pair", PY + ["pingpong", "posix_ipc", PY_PP], PY_ENV),
              row("eventfd", "os.eventfd pair", PY + ["pingpong", "eventfd", PY_PP], PY_ENV),
              row("fastipc", "fastipc FutexWord", PY + ["pingpong", "fastipc", PY_PP], PY_ENV),
              row("fastipc-event", "fastipc NamedEvent pair", PY + ["pingpong", "fastipc-event", PY_PP], PY_ENV),
              row("fastipc-sem", "fastipc NamedSemaphore pair", PY + ["pingpong", "fastipc-sem", PY_PP], PY_ENV),
              row("ours-event", "two futex.Event (set / wait + clear)", None, PY_ENV),
              row("ours-sem", "two futex.Semaphore (release / acquire)", None, PY_ENV),
              row("c", FLOOR_LABEL, None, PY_ENV)]
    pyrows = take_turns(pyrows, ("ours", "helpers", "ours-event", "ours-sem", "c"),
                        PY + ["pingpong", "ours+ours-helpers+ours-event+ours-sem+c", PY_PP])
    g.append({"id": "py-pp", "title": "Python ping-pong, 2 processes", "unit": "µs/round trip", "rows": pyrows,
              "runs": RUNS, "rounds": PIN_ROUNDS, "note": FLOOR_NOTE})
    g.append({"id": "py-pp-pinned", "title": "Python ping-pong, 2 processes pinned to CPUs 0 and 1",
              "unit": "µs/round trip",
              "rows": [dict(r, env=dict(r["env"], BENCH_PIN="1")) for r in pyrows
                       if r["key"] in ("ours", "helpers", "semaphore", "event", "fastipc-event", "fastipc-sem",
                                       "ours-event", "ours-sem", "pipe", "c")],
              "runs": RUNS, "rounds": PIN_ROUNDS,
              "note": "unpinned, Linux mostly runs the two Python processes on one CPU, where no spin can help; "
                      + FLOOR_NOTE})
    pin_py = dict(PY_ENV, BENCH_PIN="1")
    g.append({"id": "spin-py-pinned", "title": "Spin count sweep: Python ping-pong (plain loop), pinned to CPUs 0 and 1",
              "unit": "µs/round trip", "runs": RUNS, "rounds": PIN_ROUNDS,
              "rows": turns([row("ours", "default (adaptive spin)", None, dict(pin_py, BENCH_TURN=SWEEP_TURN))]
                            + [row(f"spin{n}", f"spin {n}", None, pin_py) for n in PY_SPINS],
                            PY + ["pingpong", "+".join(["ours@adaptive"] + [f"ours@{n}" for n in PY_SPINS]), PY_PP]),
              "note": SWEEP_NOTE})
    g.append({"id": "py-call", "title": "Python uncontended call", "unit": "ns/call",
              "note": "the first three take turns in one process, a batch each",
              "rows": turns([row("ours", "Cell.fetch_add(1)", None, PY_ENV),
                             row("load", "Cell.load()", None, PY_ENV),
                             row("bit_length", "int.bit_length() (floor: a C method call)", None, PY_ENV)],
                            PY + ["call", "fetch_add,load,bit_length"]) + [
                       row("atomics", "atomics atomicview fetch_add(1)", PY + ["call", "atomics"], PY_ENV),
                       row("atomicshm", "atomicshm AtomicU32.fetch_add(1)", PY + ["call", "atomicshm"], PY_ENV)]})
    g.append({"id": "py-lock", "title": "Python uncontended `with m: pass`", "unit": "ns/call",
              "note": "all but fastipc's take turns in one process, a batch each",
              "rows": turns([row("ours", "futex.Mutex", None, PY_ENV),
                             row("lock", "threading.Lock", None, PY_ENV),
                             row("mplock", "multiprocessing.Lock", None, PY_ENV),
                             row("floor", "no-op C __enter__/__exit__ (the with statement's own cost)", None,
                                 PY_ENV)],
                            PY + ["call", "with-mutex,with-lock,with-mplock,with-noop"])
              + [row("fastipc", "fastipc NamedMutex", PY + ["call", "with-fastipc"], PY_ENV)]})
    aio_n = "2000" if QUICK else "10000"
    g.append({"id": "py-aio-many", "title": f"Python asyncio: {aio_n} pending waits on {aio_n} words, released by another process",
              "unit": "ms until all resumed",
              "rows": [row("async", "Cell.wait_async (one watcher, its fd on loop.add_reader)",
                           PY + ["aio", "many-async", aio_n], PY_ENV),
                       row("executor", "loop.run_in_executor(None, cell.wait, ...), the default executor",
                           PY + ["aio", "many-executor", aio_n], PY_ENV)]})
    g.append({"id": "py-aio-memory", "title": "Python asyncio: heap per pending Cell.wait_async", "unit": "bytes/wait",
              "rows": [row("async", "its future + registration (tracemalloc; no task around it)",
                           PY + ["aio", "memory-async", aio_n], PY_ENV)]})
    g.append({"id": "py-aio-latency", "title": "Python asyncio: wake-to-resume latency", "unit": "µs",
              "rows": [row("async", "Cell.wait_async woken by store + wake from another process",
                           PY + ["aio", "latency-async", "300"], PY_ENV),
                       row("event", "asyncio.Event set via call_soon_threadsafe from a thread",
                           PY + ["aio", "latency-event", "300"], PY_ENV)]})
    tmp = tempfile.mkdtemp(prefix="futex-bench-")
    # The plain loop, the helpers, the two primitives and the C floor take turns (one command);
    # the pipe pair runs apart.
    lua_rows = [row("ours", "futex.map cells, plain loop", None),
                row("helpers", "futex.map cells, add_and_wake + wait_until", None),
                row("event", "two region:event (set / wait + clear)", None),
                row("sem", "two region:semaphore (release / acquire)", None),
                row("pipe", "pipe pair (io.popen + FIFO)", LUA + ["pipe", tmp, PY_PP]),
                row("c", FLOOR_LABEL, None)]
    lua_turns = LUA + ["futex+helpers+event+sem+c", os.path.join(tmp, "map"), PY_PP]
    for gid, title, env, pre in (("lua-pp", "", LUA_ENV, []),
                                 ("lua-pp-pinned", " pinned to CPUs 0 and 1", dict(LUA_ENV, BENCH_PIN="1"),
                                  ["taskset", "-c", "0"])):  # the child pins itself to CPU 1
        rows = [dict(r, env=env, cmd=r["cmd"] and pre + r["cmd"]) for r in lua_rows]
        g.append({"id": gid, "title": f"Lua ping-pong, 2 lua5.4 processes{title}", "unit": "µs/round trip",
                  "runs": RUNS, "rounds": PIN_ROUNDS, "note": FLOOR_NOTE,
                  "rows": take_turns(rows, ("ours", "helpers", "event", "sem", "c"), pre + lua_turns)})
    return g


def run_one(r):
    """The samples of each RESULT line the row's command printed (one per row it takes turns
    with), or None and why not."""
    env = dict(os.environ)
    env.update(r["env"])
    try:
        p = subprocess.run(r["cmd"], capture_output=True, text=True, timeout=180, env=env)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    got = []
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        if line.startswith("RESULT"):
            got.append([float(x) for x in line.split()[2:]])
        if line.startswith("SKIP"):
            return None, line[5:]
    if len(got) == len(r.get("turns", [r["key"]])):
        return got, None
    return None, f"exit {p.returncode}, {len(got)} results: {(p.stderr or p.stdout).strip()[-200:]}"


def pct(sorted_v, q):
    if not sorted_v:
        return math.nan
    i = min(len(sorted_v) - 1, max(0, int(math.ceil(q * len(sorted_v))) - 1))
    return sorted_v[i]


def median(v):
    v = sorted(x for x in v if not math.isnan(x))
    if not v:
        return math.nan
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def measure(g):
    """Runs the group: `runs` runs (1 for groups that are not ping-pong), each of `rounds`
    interleaved rounds pooled. Per row: the median of each run ("runs"), the median of those
    ("median"), the worst run ("worst": the highest median), the p99 of all samples, and the
    per-run ratios to the reference row."""
    runs, rounds = g.get("runs", 1), g.get("rounds", ROUNDS)
    per_run = {r["key"]: [] for r in g["rows"]}
    pooled = {r["key"]: [] for r in g["rows"]}
    errors = {}
    for _ in range(runs):
        samples = {r["key"]: [] for r in g["rows"]}
        for _ in range(rounds):
            for r in g["rows"]:
                keys = r.get("turns", [r["key"]])
                if r["cmd"] is None or r["key"] in errors:
                    continue  # a row that takes its turns in another row's command
                got, err = run_one(r)
                for i, k in enumerate(keys):
                    if got is None:
                        errors[k] = err
                    else:
                        samples[k].extend(got[i])
        for k, v in samples.items():
            v.sort()
            per_run[k].append(pct(v, 0.5))
            pooled[k].extend(v)
    ref = per_run.get("ours", [math.nan] * runs)
    out = []
    for r in g["rows"]:
        meds = per_run[r["key"]]
        v = sorted(pooled[r["key"]])
        ratios = [m / q if q and not math.isnan(m) and not math.isnan(q) else math.nan for m, q in zip(meds, ref)]
        out.append({"key": r["key"], "label": r["label"], "n": len(v), "runs": meds, "median": median(meds),
                    "worst": max(meds) if meds and not any(math.isnan(m) for m in meds) else math.nan,
                    "p99": pct(v, 0.99), "ratios": ratios, "ratio": median(ratios),
                    "error": errors.get(r["key"])})
    return out


def fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "python": platform.python_version(), "load_at_start": os.getloadavg()[0],
            "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def runs_of(results, gid, key):
    """A row's per-run medians (NaN where the row or group is missing)."""
    for g in results:
        if g["id"] == gid:
            for r in g["rows"]:
                if r["key"] == key:
                    return r["runs"]
    return [math.nan]


def goals(results):
    """Every goal as {goal, runs, median, worst, status}: `runs` is the goal's value in each run
    (a ratio of two rows of one group in the same run); it is met when its worst run is within
    the limit (value <= limit for sense "<=", >= for ">="). A ratio of sense "info" has no
    limit: it is shown (status "info", worst = its highest run) but not judged."""
    out = []

    def ratio(gid, a_key, b_key):
        a, b = runs_of(results, gid, a_key), runs_of(results, gid, b_key)
        return [x / y if y else math.nan for x, y in zip(a, b)]

    def best_fixed(gid, keys):
        """The default against the best fixed count: the one count whose runs have the
        lowest median, in each run. (The fastest count of each run is shown as info: with
        round trips of 0.1-0.2 µs, the fastest of several rows in one run is mostly the
        row whose processes landed on the closest vCPUs.)"""
        rows = [runs_of(results, gid, k) for k in keys]
        ours = runs_of(results, gid, "ours")
        if not rows:
            return [math.nan]
        best = min(rows, key=median)
        return [o / b for o, b in zip(ours, best)]

    def fastest_fixed(gid, keys):
        rows = [runs_of(results, gid, k) for k in keys]
        ours = runs_of(results, gid, "ours")
        return [o / min(col) for o, col in zip(ours, zip(*rows))] if rows else [math.nan]

    # The goals of the adaptive spin and the one-call helpers.
    out.append(("Python pinned ping-pong, add_and_wake + wait_until / C", ratio("py-pp-pinned", "helpers", "c"),
                1.5, "<="))
    out.append(("Python pinned ping-pong, plain load/wait/store/wake loop / C", ratio("py-pp-pinned", "ours", "c"),
                2.5, "<="))
    out.append(("Lua pinned ping-pong, add_and_wake + wait_until / C", ratio("lua-pp-pinned", "helpers", "c"), 1.3,
                "<="))
    out.append(("Lua pinned ping-pong, plain loop / C", ratio("lua-pp-pinned", "ours", "c"), 1.3, "<="))
    for gid in ("spin-pp-threads-twocpu", "spin-pp-threads-onecpu", "spin-pp-procs-twocpu", "spin-pp-procs-onecpu"):
        out.append((f"default spin / best fixed count, {gid[5:]}", best_fixed(gid, [f"spin{n}" for n in SPINS]),
                    1.2, "<="))
        out.append((f"default spin / fastest fixed count of each run, {gid[5:]}",
                    fastest_fixed(gid, [f"spin{n}" for n in SPINS]), None, "info"))
    out.append(("default spin / best fixed count, Python pinned", best_fixed("spin-py-pinned",
                                                                             [f"spin{n}" for n in PY_SPINS]), 1.2, "<="))
    out.append(("CPU µs a wait nobody ends burns before parking, widest learned spin",
                runs_of(results, "spin-park-worst", "ours"), BUDGET_US, "<="))
    # C must not regress.
    for mode, gid in (("threads", "c-pp-threads"), ("processes", "c-pp-procs")):
        out.append((f"C ping-pong {mode}: libfutex / libstdc++ atomic::wait", ratio(gid, "ours", "atomic"), 1.0,
                    "<="))
        out.append((f"C ping-pong {mode}: libfutex / Zig futex", ratio(gid, "ours", "zig"), 1.0, "<="))
        if mode == "threads":
            for pg, where in (("c-pp-pinned-threads", "on 2 CPUs"), ("c-pp-onecpu-threads", "on 1 CPU")):
                out.append((f"C ping-pong threads {where}: libfutex / libstdc++ atomic::wait",
                            ratio(pg, "ours", "atomic"), 1.0, "<="))
        out.append((f"C ping-pong {mode}: FUTEX_NOSPIN / raw futex(2)", ratio(gid, "ours-nospin", "raw"), 1.05, "<="))
        out.append((f"C ping-pong {mode}: FUTEX_NOSPIN / raw futex(2) on a deadline a day ahead",
                    ratio(gid, "ours-nospin", "raw-day"), None, "info"))
        pg = "c-pp-pinned-" + ("threads" if mode == "threads" else "procs")
        out.append((f"C ping-pong {mode}, pinned: FUTEX_NOSPIN / raw futex(2)", ratio(pg, "ours-nospin", "raw"),
                    1.05, "<="))
    for key, what in (("raw", "raw futex(2)"), ("raw-day", "raw futex(2) on a deadline a day ahead")):
        out.append((f"C ping-pong threads on 1 CPU: FUTEX_NOSPIN / {what}",
                    ratio("c-pp-onecpu-threads", "ours-nospin", key), None, "info"))
    out.append(("posix parking lot / linux backend, pp-threads pinned", ratio("c-pp-pinned-threads", "posix", "ours"),
                1.5, "<="))
    out.append(("posix / linux backend, FUTEX_NOSPIN, pp-threads pinned",
                ratio("c-pp-pinned-threads", "posix-nospin", "ours-nospin"), 1.5, "<="))
    for gid in ("c-pp-threads", "c-wakeone-8", "c-wakeone-64", "c-broadcast-8", "c-broadcast-64", "c-hash-2",
                "c-hash-8"):
        out.append((f"posix parking lot / linux backend, {gid[2:]}", ratio(gid, "posix", "ours"), 1.5, "<="))
    out.append(("C lock+unlock: futex_mutex / robust pthread_mutex_t", ratio("c-lock", "ours", "robust-pthread"), 1.2,
                "<="))
    # The primitives' hand-off goal (<= 0.6 x the raw Cell) is set on the pinned pair: unpinned,
    # Linux mostly runs both processes on one CPU, where every hand-off switches processes
    # whatever the word holds, so those ratios are shown, not judged.
    for gid, judged in (("c-handoff-procs", False), ("c-handoff-pinned", True)):
        for k in ("event", "sem"):
            out.append((f"C handoff {gid[10:]}: two {k}s / raw Cell ping-pong", ratio(gid, k, "ours"),
                        *((0.6, "<=") if judged else (None, "info"))))
    out.append(("Mutex owner death seen by a blocked waiter (linux, process), µs", runs_of(results, "c-ownerdeath",
                                                                                          "procs"), 1e6, "<="))
    # Informational, no goal: what a futex_waitv over 1 and 64 words costs against a futex_wait.
    for pre, where in (("", "linux"), ("posix-", "posix")):
        for n in (1, 64):
            out.append((f"C futex_waitv, {n} word{'s' if n > 1 else ''} / futex_wait ({where})",
                        ratio("c-waitv", f"{pre}waitv{n}", f"{pre}wait"), None, "info"))
    for gid, where in (("py-pp", ""), ("py-pp-pinned", ", pinned")):
        out.append((f"Python ping-pong{where}: multiprocessing.Semaphore / futex.Cell", ratio(gid, "semaphore", "ours"),
                    5.0, ">="))
        out.append((f"Python ping-pong{where}: multiprocessing.Pipe / futex.Cell", ratio(gid, "pipe", "ours"), 20.0,
                    ">="))
    out.append(("Python ping-pong: futex.Cell plain loop / C libfutex", ratio("py-pp", "ours", "c"), 1.5, "<="))
    out.append(("Python `with m:` futex.Mutex / threading.Lock", ratio("py-lock", "ours", "lock"), 1.3, "<="))
    out.append(("Python `with m:` multiprocessing.Lock / futex.Mutex", ratio("py-lock", "mplock", "ours"), 5.0, ">="))
    # The most any lock could reach against multiprocessing.Lock: one that cost nothing.
    out.append(("Python `with m:` multiprocessing.Lock / a no-op context manager", ratio("py-lock", "mplock", "floor"),
                None, "info"))
    out.append(("Python asyncio, many waits: run_in_executor / wait_async", ratio("py-aio-many", "executor", "async"),
                5.0, ">="))
    out.append(("Python asyncio, wake-to-resume: wait_async from a process / asyncio.Event from a thread",
                ratio("py-aio-latency", "async", "event"), 2.0, "<="))
    for gid, where in (("py-pp", ""), ("py-pp-pinned", ", pinned")):
        out.append((f"Python handoff{where}: multiprocessing.Event pair / futex.Event pair",
                    ratio(gid, "event", "ours-event"), 5.0, ">="))
        out.append((f"Python handoff{where}: multiprocessing.Semaphore pair / futex.Semaphore pair",
                    ratio(gid, "semaphore", "ours-sem"), 5.0, ">="))
        for k in ("event", "sem"):
            out.append((f"Python handoff{where}: two futex {k}s / raw Cell ping-pong", ratio(gid, "ours-" + k, "ours"),
                        *((0.6, "<=") if where else (None, "info"))))
    out.append(("Python Cell.fetch_add / int.bit_length", ratio("py-call", "ours", "bit_length"), 1.3, "<="))
    out.append(("Lua ping-pong: futex.map plain loop / C libfutex", ratio("lua-pp", "ours", "c"), 1.3, "<="))
    out.append(("Lua ping-pong: pipe pair / futex.map", ratio("lua-pp", "pipe", "ours"), 5.0, ">="))
    for gid, where in (("lua-pp", ""), ("lua-pp-pinned", ", pinned")):
        for k in ("event", "sem"):
            out.append((f"Lua handoff{where}: pipe pair / two futex {k}s", ratio(gid, "pipe", k), 5.0, ">="))
            out.append((f"Lua handoff{where}: two futex {k}s / raw cell ping-pong", ratio(gid, k, "ours"),
                        *((0.6, "<=") if where else (None, "info"))))
    out.append(("Lua ping-pong, pinned: pipe pair / futex.map", ratio("lua-pp-pinned", "pipe", "ours"), 5.0, ">="))
    res = []
    for text, runs, limit, sense in out:
        runs = [float(x) for x in runs]
        if not runs or any(math.isnan(x) for x in runs):
            worst, status = math.nan, "n/a"
        elif sense == "info":
            worst, status = max(runs), "info"
        else:
            worst = max(runs) if sense == "<=" else min(runs)
            status = "MET" if (worst <= limit if sense == "<=" else worst >= limit) else "MISSED"
        res.append({"goal": text if sense == "info" else f"{text} {sense} {limit:g}", "text": text, "limit": limit,
                    "sense": sense, "runs": runs,
                    "median": median(runs), "worst": worst, "status": status})
    return res


def plot(results, gl, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    plain = FuncFormatter(lambda x, _: f"{x:g}")
    shown = [g for g in results if any(not math.isnan(r["median"]) for r in g["rows"])]
    judged = [x for x in gl if x["status"] in ("MET", "MISSED")]
    cols = 3
    rows = (len(shown) + cols - 1) // cols
    summary_h = max(3.0, 0.24 * len(judged) + 1.2)
    fig = plt.figure(figsize=(19, summary_h + 3.1 * rows))
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[summary_h] + [3.1] * rows)

    # The summary: each goal's worst run and median run, as a fraction of its goal (1 = the
    # goal line; a ">=" goal is turned over so that left of the line is met for every goal).
    ax = fig.add_subplot(grid[0, :2])
    for i, x in enumerate(judged):
        y = len(judged) - 1 - i
        frac = (lambda v: v / x["limit"]) if x["sense"] == "<=" else (lambda v: x["limit"] / v)
        color = "tab:green" if x["status"] == "MET" else "tab:red"
        ax.barh(y, frac(x["worst"]), color=color, alpha=0.8)
        ax.plot([frac(x["median"])], [y], marker="o", color="black", markersize=4)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(judged)))
    ax.set_yticklabels([x["goal"] for x in judged][::-1], fontsize=7)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.set_xlabel("value / goal (bar: worst run, dot: median run; left of the line = met; "
                  "green met, red missed)", fontsize=8)
    ax.set_title(f"Goals, judged on the worst of {RUNS} runs", fontsize=10)

    # The CPU a wait nobody ends burns before it parks, per run.
    ax = fig.add_subplot(grid[0, 2])
    park = next((x for x in gl if x["text"].startswith("CPU µs")), None)
    if park and park["runs"]:
        color = "tab:green" if park["status"] == "MET" else "tab:red"
        ax.bar(range(1, len(park["runs"]) + 1), park["runs"], color=color)
        ax.set_xticks(range(1, len(park["runs"]) + 1))
        ax.axhline(BUDGET_US, color="black", linewidth=1, label=f"budget {BUDGET_US:g} µs")
        ax.set_xlabel("run", fontsize=8)
        ax.set_ylabel("CPU µs before parking", fontsize=8)
        ax.legend(fontsize=7)
    ax.set_title("CPU a wait nobody ends burns before it parks\n(widest learned spin, median of each run)",
                 fontsize=9)

    for i, g in enumerate(shown):
        ax = fig.add_subplot(grid[1 + i // cols, i % cols])
        rs = [r for r in g["rows"] if not math.isnan(r["median"])]
        ys = range(len(rs))
        labels = [r["label"] for r in rs][::-1]
        med = [r["median"] for r in rs][::-1]
        colors = ["tab:orange" if r["key"] == "ours" else "tab:blue" for r in rs][::-1]
        ax.barh(ys, med, color=colors)
        for y, r in zip(ys, rs[::-1]):
            ax.scatter(r["runs"], [y] * len(r["runs"]), marker="|", color="black", s=60)
        ax.set_yticks(list(ys))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(NullFormatter())
        allv = med + [v for r in rs for v in r["runs"] if not math.isnan(v)]
        ax.set_xlim(left=min(allv) / 3, right=max(allv) * 1.5)
        ax.set_title(g["title"], fontsize=8)
        n = len(rs[0]["runs"]) if rs else 0
        what = f"bar: median of {n} runs' medians, ticks: each run" if n > 1 else "median"
        ax.set_xlabel(f"{g['unit']} ({what}; log)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


LINES = []


def say(text=""):
    """Prints a line of the report and keeps it for bench/results.txt."""
    print(text, flush=True)
    LINES.extend(text.split("\n"))


def main():
    mach = machine()
    say(f"machine: {mach['nproc']} CPUs, {mach['cpu']}, Linux {mach['kernel']}, Python {mach['python']}, "
        f"load {mach['load_at_start']:.2f} at start, {mach['date_utc']}; default spin: {DEFAULT_SPIN}; "
        f"ping-pong groups: {RUNS} runs each, {PIN_ROUNDS} pooled interleaved rounds a run; "
        f"others: {ROUNDS} pooled rounds")
    results = []
    t_start = time.time()
    for g in groups():
        if ONLY and not any(o in g["id"] for o in ONLY):
            continue
        t0 = time.time()
        rows = measure(g)
        results.append({"id": g["id"], "title": g["title"], "unit": g["unit"], "note": g.get("note"), "rows": rows})
        say(f"\n{g['title']} ({g['unit']}; {time.time() - t0:.0f} s)")
        multi = len(rows[0]["runs"]) > 1
        if multi:
            say(f"  {'':46s} {'median':>8s} {'worst':>8s} {'p99':>8s} {'x ours':>7s} {'worst x':>7s}  each run's median")
        else:
            say(f"  {'':46s} {'median':>8s} {'p99':>8s} {'x ours':>7s}")
        for r in rows:
            extra = f"  [{r['error']}]" if r["error"] else ""
            if multi:
                worst_x = max(r["ratios"]) if not any(math.isnan(x) for x in r["ratios"]) else math.nan
                each = " ".join(fmt(m) for m in r["runs"])
                say(f"  {r['label'][:46]:46s} {fmt(r['median']):>8s} {fmt(r['worst']):>8s} {fmt(r['p99']):>8s} "
                    f"{fmt(r['ratio']):>7s} {fmt(worst_x):>7s}  {each}{extra}")
            else:
                say(f"  {r['label'][:46]:46s} {fmt(r['median']):>8s} {fmt(r['p99']):>8s} {fmt(r['ratio']):>7s}{extra}")
        if g.get("note"):
            say(f"  note: {g['note']}")
    gl = goals(results)
    if ONLY:
        gl = [x for x in gl if x["status"] != "n/a"]  # only the goals of the groups run
    if gl:
        say(f"\nGoals (a ratio of two rows in one run; judged on the worst of the runs; info: shown, not judged)")
        w = max(len(x["goal"]) for x in gl)
        say(f"  {'':6s} {'':{w}s} {'worst':>7s} {'median':>7s}  each run")
        for x in gl:
            each = " ".join(fmt(v) for v in x["runs"])
            say(f"  {x['status']:6s} {x['goal']:{w}s} {fmt(x['worst']):>7s} {fmt(x['median']):>7s}  {each}")
    say(f"\ntotal {time.time() - t_start:.0f} s")
    doc = {"machine": mach, "default_spin": DEFAULT_SPIN, "runs": RUNS, "rounds": ROUNDS, "quick": QUICK,
           "groups": results, "goals": gl}
    if not ONLY:
        with open(os.path.join(HERE, "results.json"), "w") as f:
            json.dump(doc, f, indent=1, allow_nan=True)
        with open(os.path.join(HERE, "results.txt"), "w") as f:
            f.write("\n".join(LINES) + "\n")
        try:
            plot(results, gl, os.path.join(HERE, "results.png"))
        except ImportError:
            print("matplotlib missing: no results.png")
        print("wrote bench/results.txt, bench/results.json and bench/results.png")


if __name__ == "__main__":
    main()
