#!/usr/bin/env bash
# scripts/venv.sh: makes build/venv, the one Python environment the tests and
# the demo use, and prints its python. Debian's python3 is "externally
# managed" (PEP 668): nothing is ever pip-installed into it, or into any
# other interpreter outside build/. The venv comes from the system
# `python3 -m venv` (apt python3-venv when that is missing) and gets
# scripts/requirements.txt; pip's cache stays under build/ too, so that the
# machine outside the checkout is left as it was. Safe to run again: an
# up-to-date venv returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD venv=$PWD/build/venv req=scripts/requirements.txt
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_CACHE_DIR=$root/build/pip-cache
# Run from build/: a python started in the checkout's root would import the
# root's build/ folder (CMake's output) as the namespace package "build".
mkdir -p build && cd build
# The extension needs Python.h; venv needs ensurepip (python3-venv on Debian).
python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
  bash "$root/scripts/need.sh" apt python3-dev >&2
python3 -c 'import ensurepip' 2>/dev/null || bash "$root/scripts/need.sh" apt python3-venv >&2
# CPython's own lock tests (test.lock_tests) are the contract tests/python
# holds the primitives to; Debian ships them apart from the interpreter.
python3 -c 'import test.lock_tests' 2>/dev/null ||
  bash "$root/scripts/need.sh" apt "libpython$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')-testsuite" >&2
if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
fi
if [ ! -f "$venv/.installed" ] || [ "$root/$req" -nt "$venv/.installed" ]; then
  echo "venv.sh: installing $(grep -v '^#' "$root/$req" | xargs) into build/venv" >&2
  "$venv/bin/python" -m pip install -q -r "$root/$req" >&2
  touch "$venv/.installed"
fi
echo "$venv/bin/python"
