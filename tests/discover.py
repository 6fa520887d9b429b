"""Lists the test cases of a runner that can name them, as ctest tests.

ctest runs this when it reads the test list (tests/<family>/CMakeLists.txt
registers it with TEST_INCLUDE_FILES, as CMake's gtest_discover_tests does),
so a new test function, parametrization or spec file shows up with no
registration anywhere. It writes a CMake script of add_test() and
set_tests_properties() calls, one test per case, each running that one case:

  discover.py OUT pytest PREFIX LABELS CWD ENV -- PYTHON PYTEST-ARGS...
  discover.py OUT busted PREFIX LABELS CWD ENV -- BUSTED-COMMAND... -- SPEC...

ENV is "NAME=value NAME=value" (values without spaces: a checkout path with
a space in it is not supported), given to both the
listing and every test through `env`, so that Lua's ";;" search paths need
no escaping in a CMake list. A listing that fails or finds nothing becomes
one failing test, PREFIX.discover, that shows why.
"""
import hashlib
import os
import re
import subprocess
import sys


def q(s):
    """A CMake bracket argument: taken verbatim, never split at ';'."""
    n = 1
    while "]" + "=" * n + "]" in s:
        n += 1
    return "[" + "=" * n + "[" + s + "]" + "=" * n + "]"


def short(name, limit=100):
    """A test name ctest can print on one line: a long parameter part
    (a 300-digit timeout) is cut, with a hash of the whole keeping it unique."""
    if len(name) <= limit:
        return name
    return name[: limit - 12] + "..." + hashlib.sha1(name.encode()).hexdigest()[:8] + "]"


def add(out, name, cmd, cwd, labels, timeout, extra=""):
    out.append("add_test(%s %s)" % (q(name), " ".join(q(c) for c in cmd)))
    out.append('set_tests_properties(%s PROPERTIES WORKING_DIRECTORY %s LABELS "%s" TIMEOUT %d %s)'
               % (q(name), q(cwd), labels, timeout, extra))


def failed(out, prefix, labels, cwd, why):
    add(out, prefix + ".discover", ["sh", "-c", 'printf "%s\\n" "$1"; exit 1', "sh", why], cwd, labels, 30)


def main():
    argv = sys.argv[1:]
    path, kind, prefix, labels, cwd, env = argv[:6]
    rest = argv[7:]  # after the first "--"
    env = env.split()
    environ = dict(os.environ, **dict(e.split("=", 1) for e in env))
    envcmd = ["env"] + env
    out = []
    if kind == "pytest":
        python, args = rest[0], rest[1:]
        cmd = [python, "-P", "-m", "pytest"]
        r = subprocess.run(cmd + ["--collect-only", "-q"] + args, cwd=cwd, env=environ,
                           capture_output=True, text=True)
        # The node ids come first, one a line, up to the first blank line (a
        # warnings summary after it names node ids too).
        ids = []
        for line in r.stdout.splitlines():
            if not line.strip():
                break
            if "::" in line:
                ids.append(line.strip())
        if r.returncode != 0 or not ids:
            failed(out, prefix, labels, cwd, "pytest --collect-only exited %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for nodeid in ids:
            # A skip counts as a failure: no test here may be skipped to get green.
            add(out, prefix + "." + short(nodeid.split("/")[-1]), envcmd + cmd + ["-q", os.path.join(root, nodeid)],
                cwd, labels, 240, 'FAIL_REGULAR_EXPRESSION "[0-9]+ skipped"')
    elif kind == "busted":
        i = rest.index("--")
        busted, specs = rest[:i], rest[i + 1:]
        r = subprocess.run(busted + ["--list"] + specs, cwd=cwd, env=environ, capture_output=True, text=True)
        cases = []
        for line in r.stdout.splitlines():
            m = re.match(r"^(.*?\.lua):\d+: (.*)$", line)
            if m:
                spec = m.group(1)
                if spec.startswith("..."):
                    # busted shortens a long path to "...<its tail>": the spec we passed that ends so.
                    spec = next((s for s in specs if s.endswith(spec[3:])), spec)
                cases.append((spec, m.group(2)))
        if r.returncode != 0 or not cases:
            failed(out, prefix, labels, cwd, "busted --list exited %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
        for spec, name in cases:
            # --filter takes a Lua pattern: escape its magic characters and anchor it, so
            # that exactly this case runs; TAP must then report exactly one test, passed.
            pattern = "^" + re.sub(r"([\^$()%.\[\]*+\-?])", r"%\1", name) + "$"
            add(out, "%s.%s: %s" % (prefix, os.path.basename(spec)[: -len("_spec.lua")], name),
                envcmd + busted + ["-o", "TAP", "--filter=" + pattern, spec], cwd, labels, 240,
                'PASS_REGULAR_EXPRESSION "(^|\\n)ok 1 - " FAIL_REGULAR_EXPRESSION "not ok|(^|\\n)ok 2 "')
    else:
        sys.exit("discover.py: unknown kind " + kind)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


main()
