#!/usr/bin/env bash
# The Python binding: build and install `futex` with `pip install .`, run
# tests/python with pytest, then build an sdist, install it with the posix
# parking-lot backend forced, and run the in-process tests against that too.
# Ends with "python: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_CACHE_DIR=$PWD/build/pip-cache
export PYTHONDONTWRITEBYTECODE=1
passed=0; failed=0
out=build/python-test; rm -rf "$out"; mkdir -p "$out"

report() { echo "python: $passed passed, $failed failed"; [ "$failed" -eq 0 ] && exit 0 || exit 1; }
fail() { echo "50-python: $*" >&2; failed=$((failed + 1)); }

# A fresh Debian machine may lack the compiler; scripts/venv.sh makes build/venv
# (with the headers and python3-venv from apt when missing) and prints its python.
command -v cc >/dev/null 2>&1 || bash scripts/need.sh apt gcc libc6-dev
py=$(bash scripts/venv.sh) || { fail "could not make build/venv"; report; }

# Warnings are errors for our own C (the pip build is lenient for users).
if cc -std=c11 -fsyntax-only -D_GNU_SOURCE -DFUTEX_EXTERN= -Wall -Wextra -Wpedantic -Wshadow \
     -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Werror -Ilibfutex \
     -I"$("$py" -P -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" bindings/python/_futex.c; then
  passed=$((passed + 1))
else
  fail "bindings/python/_futex.c has warnings"
fi

# run_pytest NAME [ENV...] -- PYTEST ARGS: adds the junit counts (a skip counts as a failure: we have none).
run_pytest() {
  local name=$1; shift
  local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  # timeout: a deadlock is the failure to expect; it must not hang `make test`.
  env "${envs[@]}" timeout 240 "$py" -P -m pytest -q -p no:cacheprovider --junitxml="$out/$name.xml" "$@"
  local rc=$?
  local counts
  counts=$("$py" -P - "$out/$name.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 1"); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
n = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get(k, 0)) for s in suites for k in ("failures", "errors", "skipped"))
print(n - bad, bad)
PY
)
  local p=${counts% *} f=${counts#* }
  passed=$((passed + p)); failed=$((failed + f))
  # Exit 5 is "no tests collected"; any other non-zero with no failure counted is a crash.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "pytest $name exited $rc"; fi
  [ "$p" -gt 0 ] || fail "pytest $name ran no tests"
}

# 1. What a user does: pip install . and run everything.
if "$py" -P -m pip install -q . >"$out/pip.log" 2>&1; then
  (cd "$out" && "$py" -P -c 'import futex; print("futex", futex.__version__, "backend", futex.backend)')
  run_pytest installed -- tests/python
else
  cat "$out/pip.log"; fail "pip install . failed"
fi

# 2. The sdist builds on its own (it carries the core sources); install it
#    with the posix parking-lot backend forced, which has neither
#    cross-process waits nor interruptible ones (so waits run in slices).
#    test_process.py needs FUTEX_CAP_SHARED, so it is not part of this run.
#    (No build isolation here: step 1 already showed the isolated build works.)
if "$py" -P -m build --no-isolation --sdist --outdir "$out/dist" . >"$out/sdist.log" 2>&1 &&
   FUTEX_BACKEND=posix "$py" -P -m pip install -q --no-build-isolation --no-deps --target "$out/posix" \
     "$out"/dist/libfutex-*.tar.gz >>"$out/sdist.log" 2>&1; then
  run_pytest posix FUTEX_EXPECT_BACKEND=posix PYTHONPATH="$PWD/$out/posix" -- \
    tests/python/test_ops.py tests/python/test_wait.py tests/python/test_signals.py \
    -k "not test_ops_match_the_model"  # the atomics are the front layer's, the same on every backend
else
  cat "$out/sdist.log"; fail "sdist build or posix install failed"
fi

report
