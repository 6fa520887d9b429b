#!/usr/bin/env bash
# `make demo`, Python part: a producer and consumers in separate processes
# sharing a ring buffer in SharedMemory, with futex waits on head and slot
# words. Installs the package into build/venv first.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== python: ring buffer across processes (demo/python_ring.py)"
# Into build/venv (scripts/venv.sh), never the system's python. pip runs from
# build/: in the root, python would import CMake's build/ folder as "build".
py=$(bash scripts/venv.sh)
echo "installing the futex package into build/venv (pip install .)"
(cd build && PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CACHE_DIR=$PWD/pip-cache "$py" -m pip install -q ..)
timeout 60 "$py" -P demo/python_ring.py --seconds 3 --consumers 2
