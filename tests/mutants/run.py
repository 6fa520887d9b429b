#!/usr/bin/env python3
"""make mutants: apply each mutation of mutants.py to a scratch copy of the
tree, rebuild the tests that concern it, and run them. A mutation the tests
fail on is caught; one they pass is a survivor. The working tree is only
read: every edit happens in a temporary directory, removed at the end even
on Ctrl-C. Exits 1 if any mutation survived (or the unmutated tests fail).

    python3 tests/mutants/run.py [NAME ...]     (default: every mutation)

MUTANTS_SHOW=1 prints the end of the output of the tests that caught each.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from mutants import MUTANTS  # noqa: E402


def run(cmd, cwd, quiet=True, timeout=None):
    out = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE if quiet else None,
                         stderr=subprocess.STDOUT if quiet else None, text=True, timeout=timeout)
    return out.returncode, (out.stdout or "")


def copy_tree(dst):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           stdout=subprocess.PIPE, check=True).stdout.decode().split("\0")
    for f in files:
        if not f or f.startswith("build/") or not os.path.isfile(os.path.join(ROOT, f)):
            continue
        os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))


def ctest(build, regex):
    # A deadlock is a way to be caught: each test gets 60 s, not ctest's 120.
    return run(["ctest", "-j2", "--timeout", "60", "--output-on-failure", "-R", regex], build)


# ---- the bindings: built from the scratch copy as users build them -- the
# Python package by pip through setup.py, the Lua module by the project's
# CMake target -- and run under pytest (the tree's build/venv, only read)
# and busted.


def venv_python():
    rc, out = run(["bash", os.path.join(ROOT, "scripts", "venv.sh")], ROOT)
    if rc != 0:
        sys.exit(out + "\nmutants: scripts/venv.sh could not make build/venv")
    return out.strip().splitlines()[-1]


def build_binding(kind, src, build, out, py):
    """Builds the binding of `kind` from src; out is the directory the tests
    import it from (Python: the package; Lua: the module's directory)."""
    if kind == "python":
        shutil.rmtree(os.path.join(out, "futex"), ignore_errors=True)
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        # From out, with -P: in src, its build/ folder would import as pip's `build`.
        p = subprocess.run([py, "-P", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--upgrade",
                            "--target", out, src], cwd=out, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        return p.returncode, p.stdout
    rc, text = run(["cmake", "--build", build, "-j2", "--target", "futex_lua"], src)
    if rc == 0:
        found = [os.path.join(d, "futex.so") for d, _, files in os.walk(os.path.join(build, "bindings"))
                 if "futex.so" in files]
        if len(found) != 1:
            return 1, f"{text}\nfutex_lua built {found}, not one futex.so"
        shutil.copy2(found[0], os.path.join(out, "futex.so"))
    return rc, text


def run_binding(m, src, out, py):
    """(returncode, output) of the binding tests of mutation m: pytest node
    ids, or a busted spec file and --filter pattern. A test that hangs is
    caught: 300 s for them all."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", FUTEX_TEST_PYTHON=py, FUTEX_TEST_BACKEND="linux")
    if m["kind"] == "python":
        env["PYTHONPATH"] = out
        cmd = [py, "-P", "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
               *[os.path.join(src, "tests", "python", t) for t in m["tests"]]]
    else:
        env["LUA_PATH_5_4"] = os.path.join(src, "tests", "lua", "?.lua") + ";;"
        env["LUA_CPATH_5_4"] = os.path.join(out, "?.so") + ";;"
        spec, pattern = m["tests"]
        cmd = ["lua5.4", shutil.which("busted") or "busted", "--filter=" + pattern,
               os.path.join(src, "tests", "lua", spec)]
    try:
        p = subprocess.run(cmd, cwd=out, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
    except subprocess.TimeoutExpired:
        return 1, "timed out"
    # busted passes when its filter matches nothing: no case ran is no check.
    if p.returncode == 0 and m["kind"] == "lua" and re.search(r"^0 successes", p.stdout, re.M):
        return 2, p.stdout + "\nno busted case matched " + pattern
    return p.returncode, p.stdout


def main(names):
    chosen = [m for m in MUTANTS if not names or m["name"] in names]
    if names and len(chosen) != len(names):
        sys.exit(f"unknown mutation in {names}; known: {[m['name'] for m in MUTANTS]}")
    start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="futex-mutants-")
    try:
        src, build = os.path.join(scratch, "src"), os.path.join(scratch, "build")
        copy_tree(src)
        core = [m for m in chosen if m.get("kind", "c") == "c"]
        bound = [m for m in chosen if m.get("kind", "c") != "c"]
        lua = "ON" if any(m["kind"] == "lua" for m in bound) else "OFF"
        rc, out = run(["cmake", "-S", src, "-B", build, f"-DFUTEX_BUILD_LUA={lua}", "-DCMAKE_BUILD_TYPE=Debug"], src)
        if rc != 0:
            sys.exit(out + "\nmutants: cmake configure failed")
        py = venv_python() if any(m["kind"] == "python" for m in bound) else None
        outs = {}
        for kind in sorted({m["kind"] for m in bound}):
            outs[kind] = os.path.join(scratch, kind)
            os.makedirs(outs[kind])
            rc, out = build_binding(kind, src, build, outs[kind], py)
            if rc != 0:
                sys.exit(out + f"\nmutants: the unmutated {kind} binding does not build")
        # The tests must pass before any mutation, or "caught" means nothing.
        for m in bound:
            rc, out = run_binding(m, src, outs[m["kind"]], py)
            if rc != 0:
                sys.exit(out + f"\nmutants: the unmutated tests of {m['name']} fail")
        targets = sorted({t for m in core for t in m["targets"]})
        if core:
            rc, out = run(["cmake", "--build", build, "-j2", "--target", *targets], src)
            if rc != 0:
                sys.exit(out + "\nmutants: the unmutated tree does not build")
            regex = "|".join(f"({m['tests']})" for m in core)
            rc, out = ctest(build, regex)
            if rc != 0:
                sys.exit(out + "\nmutants: the unmutated tests fail")
        survivors = []
        for m in chosen:
            path = os.path.join(src, m["file"])
            with open(path) as f:
                pristine = f.read()
            edits = [(m["old"], m["new"])] + ([m["also"]] if "also" in m else [])
            bad = [old for old, _ in edits if pristine.count(old) != 1]
            if bad:
                print(f"INVALID  {m['name']}: {bad[0]!r} occurs {pristine.count(bad[0])} times in {m['file']}")
                survivors.append(m["name"])
                continue
            mutated = pristine
            for old, new in edits:
                mutated = mutated.replace(old, new)
            t0 = time.monotonic()
            try:
                with open(path, "w") as f:
                    f.write(mutated)
                if m.get("kind", "c") == "c":
                    rc, out = run(["cmake", "--build", build, "-j2", "--target", *m["targets"]], src)
                else:
                    rc, out = build_binding(m["kind"], src, build, outs[m["kind"]], py)
                if rc != 0:
                    print(f"INVALID  {m['name']}: the mutated tree does not build\n{out[-2000:]}")
                    survivors.append(m["name"])
                    continue
                if m.get("kind", "c") == "c":
                    rc, out = ctest(build, m["tests"])
                else:
                    rc, out = run_binding(m, src, outs[m["kind"]], py)
            finally:
                with open(path, "w") as f:
                    f.write(pristine)
            took = time.monotonic() - t0
            if rc != 0:
                print(f"caught   {m['name']} ({took:.0f} s)")
                if os.environ.get("MUTANTS_SHOW"):  # how it was caught: the end of the tests' output
                    print("    " + out[-1500:].replace("\n", "\n    "))
            else:
                print(f"SURVIVED {m['name']} ({took:.0f} s): {m['why']}; tests {m['tests']} still pass")
                survivors.append(m["name"])
        # Leave the scratch build as the tree is: unmutated.
        print(f"mutants: {len(chosen) - len(survivors)} caught, {len(survivors)} survived "
              f"in {time.monotonic() - start:.0f} s")
        return 1 if survivors else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def interrupted(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    # Ctrl-C, or a TERM from a CI runner: unwind, so the scratch copy goes.
    # (SIGINT explicitly: a shell starts background jobs with it ignored.)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
