#!/usr/bin/env python3
"""make mutants: apply each mutation of mutants.py to a scratch copy of the
tree, rebuild the tests that concern it, and run them. A mutation the tests
fail on is caught; one they pass is a survivor. The working tree is only
read: every edit happens in a temporary directory, removed at the end even
on Ctrl-C. Exits 1 if any mutation survived (or the unmutated tests fail).

    python3 tests/mutants/run.py [NAME ...]     (default: every mutation)
"""
import os
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


def main(names):
    chosen = [m for m in MUTANTS if not names or m["name"] in names]
    if names and len(chosen) != len(names):
        sys.exit(f"unknown mutation in {names}; known: {[m['name'] for m in MUTANTS]}")
    start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="futex-mutants-")
    try:
        src, build = os.path.join(scratch, "src"), os.path.join(scratch, "build")
        copy_tree(src)
        rc, out = run(["cmake", "-S", src, "-B", build, "-DFUTEX_BUILD_LUA=OFF", "-DCMAKE_BUILD_TYPE=Debug"], src)
        if rc != 0:
            sys.exit(out + "\nmutants: cmake configure failed")
        targets = sorted({t for m in chosen for t in m["targets"]})
        rc, out = run(["cmake", "--build", build, "-j2", "--target", *targets], src)
        if rc != 0:
            sys.exit(out + "\nmutants: the unmutated tree does not build")
        # The tests must pass before any mutation, or "caught" means nothing.
        regex = "|".join(f"({m['tests']})" for m in chosen)
        rc, out = ctest(build, regex)
        if rc != 0:
            sys.exit(out + "\nmutants: the unmutated tests fail")
        survivors = []
        for m in chosen:
            path = os.path.join(src, m["file"])
            with open(path) as f:
                pristine = f.read()
            if pristine.count(m["old"]) != 1:
                print(f"INVALID  {m['name']}: its text occurs {pristine.count(m['old'])} times in {m['file']}")
                survivors.append(m["name"])
                continue
            t0 = time.monotonic()
            try:
                with open(path, "w") as f:
                    f.write(pristine.replace(m["old"], m["new"]))
                rc, out = run(["cmake", "--build", build, "-j2", "--target", *m["targets"]], src)
                if rc != 0:
                    print(f"INVALID  {m['name']}: the mutated tree does not build\n{out[-2000:]}")
                    survivors.append(m["name"])
                    continue
                rc, out = ctest(build, m["tests"])
            finally:
                with open(path, "w") as f:
                    f.write(pristine)
            took = time.monotonic() - t0
            if rc != 0:
                print(f"caught   {m['name']} ({took:.0f} s)")
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
