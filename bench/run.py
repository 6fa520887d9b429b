"""Runs every benchmark, prints one table, writes bench/results.{txt,json,png}.

Started by bench/run.sh (which installs and builds what this needs). Every group compares
peers on one workload within this one run: the runs of a group are interleaved (ours, peer,
peer, ..., ours, peer, ...) for ROUNDS rounds and their samples pooled, so that a burst of
load elsewhere on the machine lands on all of them alike. The ratio column is each row's
median over the median of the group's reference row (ours), measured the same way.

    python3 bench/run.py [--quick] [--only SUBSTRING]
"""

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
QUICK = "--quick" in sys.argv
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
ROUNDS = 1 if QUICK else 5
PP = "2000" if QUICK else "3000"  # C ping-pong round trips per run
# Linux places a ping-pong pair on one CPU or on two at random, and a run keeps the placement
# it started with (0.4 µs vs 5 µs here): many short runs sample both as they come.
PP_ROUNDS = 1 if QUICK else 15
PY_PP = "1000" if QUICK else "4000"  # Python and Lua round trips per run

C = os.path.join(OUT, "bench")
CPOSIX = os.path.join(OUT, "bench-posix")
ZIG = os.path.join(OUT, "zig-pingpong")
PY = [sys.executable, os.path.join(HERE, "py", "pybench.py")]
LUA = ["lua5.4", os.path.join(HERE, "lua", "pingpong.lua")]
PY_ENV = {"PYTHONPATH": os.path.join(OUT, "py")}
LUA_ENV = {"LUA_CPATH": os.path.join(OUT, "cmake", "bindings", "lua", "?.so") + ";;"}

SPINS = [0, 4, 8, 16, 32, 64, 128, 256]


def default_spin():
    """The library's default spin count, as futex_get_spin() reports it in the built bench."""
    try:
        return int(subprocess.run([C, "spin"], capture_output=True, text=True, check=True).stdout)
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"run.py: {C} spin did not report the default spin count ({e}); run bench/run.sh")


DEFAULT_SPIN = default_spin()

LIB = "libfutex"
PEERS = {
    "ours": LIB,
    "ours-nospin": "libfutex FUTEX_NOSPIN",
    "raw": "raw futex(2), no spin",
    "raw-spin1000": "raw futex(2) + 1000-pause spin",
    "atomic": "libstdc++ atomic::wait/notify_one",
    "condvar": "pthread mutex + condvar pair",
    "eventfd": "eventfd pair",
    "pipe": "pipe pair",
    "zig": "Zig std.Io futexWait/futexWake",
    "posix": "libfutex, posix parking-lot backend",
}


def row(key, label, cmd, env=None):
    return {"key": key, "label": label, "cmd": cmd, "env": env or {}}


def c_rows(case_args, keys, posix=True):
    rows = [row(k, PEERS[k], [C] + case_args(k)) for k in keys]
    if posix:
        rows.append(row("posix", PEERS["posix"], [CPOSIX] + case_args("ours")))
    return rows


def groups():
    g = []
    pp_peers = ["ours", "ours-nospin", "raw", "raw-spin1000", "atomic", "condvar", "eventfd", "pipe"]
    thr = c_rows(lambda k: ["pingpong", "threads", k, PP], pp_peers)
    thr.insert(-1, row("zig", PEERS["zig"], [ZIG], {"BENCH_ROUNDS": PP}))
    thr.append(row("posix-nospin", "libfutex, posix backend, FUTEX_NOSPIN",
                   [CPOSIX, "pingpong", "threads", "ours-nospin", PP]))
    g.append({"id": "c-pp-threads", "title": "C ping-pong, 2 threads", "unit": "µs/round trip", "rows": thr,
              "rounds": PP_ROUNDS})
    prc = c_rows(lambda k: ["pingpong", "procs", k, PP], [p for p in pp_peers if p != "atomic"], posix=False)
    g.append({"id": "c-pp-procs", "title": "C ping-pong, 2 processes (fork + MAP_SHARED)", "unit": "µs/round trip",
              "rows": prc, "rounds": PP_ROUNDS,
              "note": "libstdc++ atomic::wait and Zig's futex use FUTEX_PRIVATE: their wakes cannot reach "
                      "another process, so they have no cross-process row"})
    pinned = {"BENCH_PIN": "1"}
    for mode in ("threads", "procs"):
        g.append({"id": f"c-pp-pinned-{mode}", "title": f"C ping-pong, 2 {mode} pinned to CPUs 0 and 1",
                  "unit": "µs/round trip", "rounds": PP_ROUNDS,
                  "rows": [row(k, PEERS[k], [C, "pingpong", mode, k, PP], pinned)
                           for k in ("ours", "ours-nospin", "raw", "raw-spin1000")
                           + (("atomic",) if mode == "threads" else ())]
                          + ([row("posix", PEERS["posix"], [CPOSIX, "pingpong", mode, "ours", PP], pinned),
                              row("posix-nospin", "libfutex, posix backend, FUTEX_NOSPIN",
                                  [CPOSIX, "pingpong", mode, "ours-nospin", PP], pinned)] if mode == "threads" else []),
                  "note": "pinning takes the scheduler's placement out: the FUTEX_NOSPIN vs raw goal is read here"})
    same = {"BENCH_PIN": "same"}
    g.append({"id": "c-pp-onecpu-threads", "title": "C ping-pong, 2 threads both pinned to CPU 0",
              "unit": "µs/round trip", "rounds": PP_ROUNDS,
              "rows": [row(k, PEERS[k], [C, "pingpong", "threads", k, PP], same)
                       for k in ("ours", "ours-nospin", "raw", "raw-spin1000", "atomic", "condvar", "eventfd")],
              "note": "on one CPU a waiter's partner runs only once the waiter yields or sleeps"})
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
    for exe, key, label in ((C, "", LIB), (CPOSIX, "posix-", PEERS["posix"])):
        wv.append(row(key + "wait", f"{label}: futex_wait, 1 word", [exe, "waitv", "wait", "1", PP]))
        for n in (1, 64):
            wv.append(row(f"{key}waitv{n}", f"{label}: futex_waitv, {n} word{'s' if n > 1 else ''}",
                          [exe, "waitv", "waitv", str(n), PP]))
    g.append({"id": "c-waitv", "title": "C futex_waitv against futex_wait: ping-pong, 2 threads, FUTEX_NOSPIN",
              "unit": "µs/round trip", "rows": wv, "rounds": PP_ROUNDS,
              "note": "the turn word is the last of the N; the others never change. Linux: the kernel's "
                      "FUTEX_WAITV; posix: the library's own multi-wait over the parking lot"})
    for t in (2, 8):
        g.append({"id": f"c-hash-{t}", "title": f"Many addresses: {t} threads x 1,024 words, wait on a stale value",
                  "unit": "ns/op/thread",
                  "rows": [row("ours", "libfutex, linux backend (kernel hash)", [C, "hash", str(t)]),
                           row("posix", PEERS["posix"], [CPOSIX, "hash", str(t)])]})
    for mode in ("threads", "procs"):
        for pin_mode, where in (("1", "on CPUs 0 and 1"), ("same", "both on CPU 0")):
            env = {"BENCH_PIN": pin_mode}
            rows = [row("ours", f"{LIB}, default spin {DEFAULT_SPIN}", [C, "pingpong", mode, "ours", PP], env)]
            rows += [row(f"spin{s}", f"spin {s}", [C, "pingpong", mode, f"ours-spin{s}", PP], env) for s in SPINS
                     if s != DEFAULT_SPIN]
            g.append({"id": f"spin-pp-{mode}-{'two' if pin_mode == '1' else 'one'}cpu",
                      "title": f"Spin count sweep: C ping-pong, 2 {mode} {where}", "unit": "µs/round trip",
                      "rows": rows, "rounds": 5})
    rows = [row("ours", f"spin {DEFAULT_SPIN} (default)", [C, "parkcost", str(DEFAULT_SPIN)])]
    rows += [row(f"spin{s}", f"spin {s}", [C, "parkcost", str(s)]) for s in SPINS if s != DEFAULT_SPIN]
    g.append({"id": "spin-park", "title": "CPU a 200 µs wait on an unchanging word burns (spin, then sleep)",
              "unit": "µs CPU", "rows": rows,
              "note": "the spin's own cost is each row's median minus spin 0's"})
    g.append({"id": "c-lock", "title": "C uncontended lock + unlock", "unit": "ns/pair",
              "rows": [row("ours", "futex_mutex, FUTEX_SHARED", [C, "lockunlock", "ours"]),
                       row("ours-private", "futex_mutex, FUTEX_PRIVATE", [C, "lockunlock", "ours-private"]),
                       row("robust-pthread", "robust process-shared pthread_mutex_t", [C, "lockunlock",
                                                                                        "robust-pthread"]),
                       row("pthread", "process-shared pthread_mutex_t", [C, "lockunlock", "pthread"]),
                       row("posix", "futex_mutex, posix backend", [CPOSIX, "lockunlock", "ours-private"])]})
    hand = [row("event", "two futex_event (set / wait + clear)", [C, "pingpong", "procs", "event", PP]),
            row("sem", "two futex_sem (post / wait)", [C, "pingpong", "procs", "sem", PP]),
            row("ours", "raw Cell words (futex_wait / futex_wake)", [C, "pingpong", "procs", "ours", PP])]
    g.append({"id": "c-handoff-procs", "title": "C handoff through the primitives, 2 processes",
              "unit": "µs/round trip", "rows": hand, "rounds": PP_ROUNDS,
              "note": "a partner still spinning is never announced as a waiter, so it costs no wake call"})
    g.append({"id": "c-handoff-pinned", "title": "C handoff through the primitives, 2 processes pinned to CPUs 0 and 1",
              "unit": "µs/round trip", "rounds": PP_ROUNDS,
              "rows": [dict(r, env={"BENCH_PIN": "1"}) for r in hand]})
    g.append({"id": "c-ownerdeath", "title": "Mutex owner-death detection: death to a blocked waiter holding the lock",
              "unit": "µs",
              "rows": [row("procs", "linux backend, SIGKILLed process (kernel robust list)",
                           [C, "ownerdeath", "procs", "20"]),
                       row("threads", "linux backend, exited thread (kernel robust list)",
                           [C, "ownerdeath", "threads", "20"]),
                       row("posix", "posix backend, exited thread (liveness check per 100 ms slice)",
                           [CPOSIX, "ownerdeath", "threads", "5"])]})
    pyrows = [row("ours", "futex.Cell over SharedMemory", PY + ["pingpong", "ours", PY_PP], PY_ENV),
              row("ours-nospin", "futex.Cell, wait(spin=False)", PY + ["pingpong", "ours-nospin", PY_PP], PY_ENV),
              row("semaphore", "multiprocessing.Semaphore pair", PY + ["pingpong", "semaphore", PY_PP], PY_ENV),
              row("event", "multiprocessing.Event pair", PY + ["pingpong", "event", PY_PP], PY_ENV),
              row("pipe", "multiprocessing.Pipe", PY + ["pingpong", "pipe", PY_PP], PY_ENV),
              row("posix_ipc", "posix_ipc.Semaphore pair", PY + ["pingpong", "posix_ipc", PY_PP], PY_ENV),
              row("eventfd", "os.eventfd pair", PY + ["pingpong", "eventfd", PY_PP], PY_ENV),
              row("fastipc", "fastipc FutexWord", PY + ["pingpong", "fastipc", PY_PP], PY_ENV),
              row("ours-event", "two futex.Event (set / wait + clear)", PY + ["pingpong", "ours-event", PY_PP],
                  PY_ENV),
              row("ours-sem", "two futex.Semaphore (release / acquire)", PY + ["pingpong", "ours-sem", PY_PP],
                  PY_ENV),
              row("c", "C floor: libfutex, 2 processes", [C, "pingpong", "procs", "ours", PP])]
    g.append({"id": "py-pp", "title": "Python ping-pong, 2 processes", "unit": "µs/round trip", "rows": pyrows})
    g.append({"id": "py-pp-pinned", "title": "Python ping-pong, 2 processes pinned to CPUs 0 and 1",
              "unit": "µs/round trip",
              "rows": [dict(r, env=dict(r["env"], BENCH_PIN="1")) for r in pyrows
                       if r["key"] in ("ours", "semaphore", "event", "ours-event", "ours-sem", "pipe", "c")],
              "note": "unpinned, Linux mostly runs the two Python processes on one CPU, where no spin can help"})
    g.append({"id": "py-call", "title": "Python uncontended call", "unit": "ns/call",
              "rows": [row("ours", "Cell.fetch_add(1)", PY + ["call", "fetch_add"], PY_ENV),
                       row("load", "Cell.load()", PY + ["call", "load"], PY_ENV),
                       row("bit_length", "int.bit_length() (floor: a C method call)", PY + ["call", "bit_length"],
                           PY_ENV),
                       row("atomics", "atomics atomicview fetch_add(1)", PY + ["call", "atomics"], PY_ENV),
                       row("atomicshm", "atomicshm AtomicU32.fetch_add(1)", PY + ["call", "atomicshm"], PY_ENV)]})
    g.append({"id": "py-lock", "title": "Python uncontended `with m: pass`", "unit": "ns/call",
              "rows": [row("ours", "futex.Mutex", PY + ["call", "with-mutex"], PY_ENV),
                       row("lock", "threading.Lock", PY + ["call", "with-lock"], PY_ENV),
                       row("mplock", "multiprocessing.Lock", PY + ["call", "with-mplock"], PY_ENV)]})
    aio_n = "2000" if QUICK else "10000"
    g.append({"id": "py-aio-many", "title": f"Python asyncio: {aio_n} pending waits on {aio_n} words, released by another process",
              "unit": "ms until all resumed",
              "rows": [row("async", "Cell.wait_async (one watcher, its fd on loop.add_reader)",
                           PY + ["aio", "many-async", aio_n], PY_ENV),
                       row("executor", "loop.run_in_executor(None, cell.wait, ...), the default executor",
                           PY + ["aio", "many-executor", aio_n], PY_ENV)]})
    g.append({"id": "py-aio-memory", "title": "Python asyncio: heap per pending Cell.wait_async", "unit": "bytes/wait",
              "rows": [row("async", "task + future + registration (tracemalloc)",
                           PY + ["aio", "memory-async", aio_n], PY_ENV)]})
    g.append({"id": "py-aio-latency", "title": "Python asyncio: wake-to-resume latency", "unit": "µs",
              "rows": [row("async", "Cell.wait_async woken by store + wake from another process",
                           PY + ["aio", "latency-async", "300"], PY_ENV),
                       row("event", "asyncio.Event set via call_soon_threadsafe from a thread",
                           PY + ["aio", "latency-event", "300"], PY_ENV)]})
    tmp = tempfile.mkdtemp(prefix="futex-bench-")
    g.append({"id": "lua-pp", "title": "Lua ping-pong, 2 lua5.4 processes", "unit": "µs/round trip",
              "rows": [row("ours", "futex.map cells", LUA + ["futex", os.path.join(tmp, "map"), PY_PP], LUA_ENV),
                       row("event", "two region:event (set / wait + clear)",
                           LUA + ["event", os.path.join(tmp, "map-event"), PY_PP], LUA_ENV),
                       row("sem", "two region:semaphore (release / acquire)",
                           LUA + ["sem", os.path.join(tmp, "map-sem"), PY_PP], LUA_ENV),
                       row("pipe", "pipe pair (io.popen + FIFO)", LUA + ["pipe", tmp, PY_PP], LUA_ENV),
                       row("c", "C floor: libfutex, 2 processes", [C, "pingpong", "procs", "ours", PP])]})
    pin_lua = dict(LUA_ENV, BENCH_PIN="1")
    g.append({"id": "lua-pp-pinned", "title": "Lua ping-pong, 2 lua5.4 processes pinned to CPUs 0 and 1",
              "unit": "µs/round trip",
              "rows": [row("ours", "futex.map cells", ["taskset", "-c", "0"] + LUA
                           + ["futex", os.path.join(tmp, "map"), PY_PP], pin_lua),
                       row("pipe", "pipe pair (io.popen + FIFO)", ["taskset", "-c", "0"] + LUA + ["pipe", tmp, PY_PP],
                           pin_lua),
                       row("c", "C floor: libfutex, 2 processes", [C, "pingpong", "procs", "ours", PP],
                           {"BENCH_PIN": "1"})]})
    return g


def run_one(r):
    env = dict(os.environ)
    env.update(r["env"])
    try:
        p = subprocess.run(r["cmd"], capture_output=True, text=True, timeout=180, env=env)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        if line.startswith("RESULT"):
            return [float(x) for x in line.split()[2:]], None
        if line.startswith("SKIP"):
            return None, line[5:]
    return None, f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-200:]}"


def pct(sorted_v, q):
    if not sorted_v:
        return math.nan
    i = min(len(sorted_v) - 1, max(0, int(math.ceil(q * len(sorted_v))) - 1))
    return sorted_v[i]


def measure(g):
    samples = {r["key"]: [] for r in g["rows"]}
    errors = {}
    for _ in range(g.get("rounds", ROUNDS)):
        for r in g["rows"]:
            if r["key"] in errors:
                continue
            s, err = run_one(r)
            if s is None:
                errors[r["key"]] = err
            else:
                samples[r["key"]].extend(s)
    ref = None
    out = []
    for r in g["rows"]:
        v = sorted(samples[r["key"]])
        med, p99 = pct(v, 0.5), pct(v, 0.99)
        if r["key"] == "ours":
            ref = med
        out.append({"key": r["key"], "label": r["label"], "n": len(v), "median": med, "p99": p99,
                    "error": errors.get(r["key"])})
    for o in out:
        o["ratio"] = o["median"] / ref if ref and not math.isnan(o["median"]) else math.nan
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


def by(results, gid, key):
    for g in results:
        if g["id"] == gid:
            for r in g["rows"]:
                if r["key"] == key:
                    return r["median"]
    return math.nan


def goals(results):
    """The bench's goals (the speeds the library promises against its peers), each as (text, value, limit, sense): met when value <= limit
    (sense "<=") or value >= limit (sense ">=")."""
    out = []

    def ratio(a_gid, a_key, b_gid, b_key):
        return by(results, a_gid, a_key) / by(results, b_gid, b_key)

    for mode, gid in (("threads", "c-pp-threads"), ("processes", "c-pp-procs")):
        out.append((f"C ping-pong {mode}: libfutex / libstdc++ atomic::wait", ratio(gid, "ours", gid, "atomic"), 1.0,
                    "<="))
        out.append((f"C ping-pong {mode}: libfutex / Zig futex", ratio(gid, "ours", gid, "zig"), 1.0, "<="))
        if mode == "threads":
            for pg, where in (("c-pp-pinned-threads", "on 2 CPUs"), ("c-pp-onecpu-threads", "on 1 CPU")):
                out.append((f"C ping-pong threads {where}: libfutex / libstdc++ atomic::wait",
                            ratio(pg, "ours", pg, "atomic"), 1.0, "<="))
        out.append((f"C ping-pong {mode}: FUTEX_NOSPIN / raw futex(2)", ratio(gid, "ours-nospin", gid, "raw"), 1.05,
                    "<="))
        pg = "c-pp-pinned-" + ("threads" if mode == "threads" else "procs")
        out.append((f"C ping-pong {mode}, pinned: FUTEX_NOSPIN / raw futex(2)", ratio(pg, "ours-nospin", pg, "raw"),
                    1.05, "<="))
    out.append(("posix parking lot / linux backend, pp-threads pinned",
                ratio("c-pp-pinned-threads", "posix", "c-pp-pinned-threads", "ours"), 1.5, "<="))
    out.append(("posix / linux backend, FUTEX_NOSPIN, pp-threads pinned",
                ratio("c-pp-pinned-threads", "posix-nospin", "c-pp-pinned-threads", "ours-nospin"), 1.5, "<="))
    for gid in ("c-pp-threads", "c-wakeone-8", "c-wakeone-64", "c-broadcast-8", "c-broadcast-64", "c-hash-2",
                "c-hash-8"):
        out.append((f"posix parking lot / linux backend, {gid[2:]}", ratio(gid, "posix", gid, "ours"), 1.5, "<="))
    out.append(("Python ping-pong: multiprocessing.Semaphore / futex.Cell", ratio("py-pp", "semaphore", "py-pp", "ours"),
                5.0, ">="))
    out.append(("Python ping-pong: multiprocessing.Pipe / futex.Cell", ratio("py-pp", "pipe", "py-pp", "ours"), 20.0,
                ">="))
    out.append(("Python ping-pong: futex.Cell / C libfutex", ratio("py-pp", "ours", "py-pp", "c"), 1.5, "<="))
    out.append(("Python ping-pong, pinned: multiprocessing.Semaphore / futex.Cell",
                ratio("py-pp-pinned", "semaphore", "py-pp-pinned", "ours"), 5.0, ">="))
    out.append(("Python ping-pong, pinned: multiprocessing.Pipe / futex.Cell",
                ratio("py-pp-pinned", "pipe", "py-pp-pinned", "ours"), 20.0, ">="))
    out.append(("Python ping-pong, pinned: futex.Cell / C libfutex", ratio("py-pp-pinned", "ours", "py-pp-pinned", "c"),
                1.5, "<="))
    out.append(("Python `with m:` futex.Mutex / threading.Lock", ratio("py-lock", "ours", "py-lock", "lock"), 1.3,
                "<="))
    out.append(("Python `with m:` multiprocessing.Lock / futex.Mutex", ratio("py-lock", "mplock", "py-lock", "ours"),
                5.0, ">="))
    for gid in ("py-pp", "py-pp-pinned"):
        where = ", pinned" if gid.endswith("pinned") else ""
        out.append((f"Python handoff{where}: multiprocessing.Event pair / futex.Event pair",
                    ratio(gid, "event", gid, "ours-event"), 5.0, ">="))
        out.append((f"Python handoff{where}: multiprocessing.Semaphore pair / futex.Semaphore pair",
                    ratio(gid, "semaphore", gid, "ours-sem"), 5.0, ">="))
        for k in ("event", "sem"):
            out.append((f"Python handoff{where}: two futex {k}s / raw Cell ping-pong",
                        ratio(gid, "ours-" + k, gid, "ours"), 0.6, "<="))
    out.append(("Python asyncio, many waits: run_in_executor / wait_async",
                ratio("py-aio-many", "executor", "py-aio-many", "async"), 5.0, ">="))
    out.append(("Python asyncio, wake-to-resume: wait_async from a process / asyncio.Event from a thread",
                ratio("py-aio-latency", "async", "py-aio-latency", "event"), 2.0, "<="))
    out.append(("Python Cell.fetch_add / int.bit_length", ratio("py-call", "ours", "py-call", "bit_length"), 1.3, "<="))
    out.append(("Lua ping-pong: futex.map / C libfutex", ratio("lua-pp", "ours", "lua-pp", "c"), 1.3, "<="))
    out.append(("Lua ping-pong: pipe pair / futex.map", ratio("lua-pp", "pipe", "lua-pp", "ours"), 5.0, ">="))
    for k in ("event", "sem"):
        out.append((f"Lua handoff: pipe pair / two futex {k}s", ratio("lua-pp", "pipe", "lua-pp", k), 5.0, ">="))
        out.append((f"Lua handoff: two futex {k}s / raw cell ping-pong", ratio("lua-pp", k, "lua-pp", "ours"), 0.6,
                    "<="))
    out.append(("Lua ping-pong, pinned: futex.map / C libfutex", ratio("lua-pp-pinned", "ours", "lua-pp-pinned", "c"),
                1.3, "<="))
    out.append(("Lua ping-pong, pinned: pipe pair / futex.map", ratio("lua-pp-pinned", "pipe", "lua-pp-pinned", "ours"),
                5.0, ">="))
    out.append(("C lock+unlock: futex_mutex / robust pthread_mutex_t",
                ratio("c-lock", "ours", "c-lock", "robust-pthread"), 1.2, "<="))
    for gid in ("c-handoff-procs", "c-handoff-pinned"):
        for k in ("event", "sem"):
            out.append((f"C handoff {gid[10:]}: two {k}s / raw Cell ping-pong", ratio(gid, k, gid, "ours"), 0.6, "<="))
    out.append(("Mutex owner death seen by a blocked waiter (linux, process), µs", by(results, "c-ownerdeath", "procs"),
                1e6, "<="))
    res = []
    for text, v, limit, sense in out:
        if math.isnan(v):
            status = "n/a"
        else:
            status = "MET" if (v <= limit if sense == "<=" else v >= limit) else "MISSED"
        res.append({"goal": f"{text} {sense} {limit}", "value": v, "status": status})
    return res


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [g for g in results if any(not math.isnan(r["median"]) for r in g["rows"])]
    cols = 3
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(19, 3.1 * rows), squeeze=False)
    for ax, g in zip(axes.flat, shown):
        rs = [r for r in g["rows"] if not math.isnan(r["median"])]
        labels = [r["label"] for r in rs][::-1]
        med = [r["median"] for r in rs][::-1]
        p99 = [r["p99"] for r in rs][::-1]
        colors = ["tab:orange" if r["key"] == "ours" else "tab:blue" for r in rs][::-1]
        ax.barh(range(len(rs)), med, color=colors)
        ax.scatter(p99, range(len(rs)), marker="|", color="black", s=80, label="p99")
        ax.set_yticks(range(len(rs)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xscale("log")
        # Bars on a log axis grow from its left edge: put it well below the smallest median.
        ax.set_xlim(left=min(med) / 3, right=max(p99 + med) * 1.5)
        ax.set_title(g["title"], fontsize=8)
        ax.set_xlabel(g["unit"] + " (median bar, p99 tick; log)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


LINES = []


def say(text=""):
    """Prints a line of the report and keeps it for bench/results.txt."""
    print(text, flush=True)
    LINES.extend(text.split("\n"))


def main():
    mach = machine()
    say(f"machine: {mach['nproc']} CPUs, {mach['cpu']}, Linux {mach['kernel']}, Python {mach['python']}, "
          f"load {mach['load_at_start']:.2f} at start, {mach['date_utc']}; default spin {DEFAULT_SPIN}; "
          f"{ROUNDS} interleaved round(s) per group, {PP_ROUNDS} for C ping-pong")
    results = []
    t_start = time.time()
    for g in groups():
        if ONLY and ONLY not in g["id"]:
            continue
        t0 = time.time()
        rows = measure(g)
        results.append({"id": g["id"], "title": g["title"], "unit": g["unit"], "note": g.get("note"), "rows": rows})
        say(f"\n{g['title']} ({g['unit']}; {time.time() - t0:.0f} s)")
        say(f"  {'':46s} {'median':>9s} {'p99':>9s} {'x ours':>7s}")
        for r in rows:
            extra = f"  [{r['error']}]" if r["error"] else ""
            say(f"  {r['label'][:46]:46s} {fmt(r['median']):>9s} {fmt(r['p99']):>9s} {fmt(r['ratio']):>7s}{extra}")
        if g.get("note"):
            say(f"  note: {g['note']}")
    gl = goals(results) if not ONLY else []
    if gl:
        say("\nGoals (ratios of medians in this run)")
        for x in gl:
            say(f"  {x['status']:6s} {x['goal']:72s} {fmt(x['value']):>7s}")
    say(f"\ntotal {time.time() - t_start:.0f} s")
    doc = {"machine": mach, "default_spin": DEFAULT_SPIN, "rounds": ROUNDS, "quick": QUICK, "groups": results,
           "goals": gl}
    if not ONLY:
        with open(os.path.join(HERE, "results.json"), "w") as f:
            json.dump(doc, f, indent=1, allow_nan=True)
        with open(os.path.join(HERE, "results.txt"), "w") as f:
            f.write("\n".join(LINES) + "\n")
        try:
            plot(results, os.path.join(HERE, "results.png"))
        except ImportError:
            print("matplotlib missing: no results.png")
        print("wrote bench/results.txt, bench/results.json and bench/results.png")


if __name__ == "__main__":
    main()
