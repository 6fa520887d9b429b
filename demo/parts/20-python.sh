#!/usr/bin/env bash
# `make demo`, Python part: a producer and consumers in separate processes
# sharing a ring buffer in SharedMemory, with futex waits on head and slot
# words. Installs the package first if this python cannot import it.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== python: ring buffer across processes (demo/python_ring.py)"
# Checked from / so that the installed package answers, not a source tree.
if ! (cd / && python3 -c 'import futex') 2>/dev/null; then
  echo "installing the futex package (pip install .)"
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
    python3 -m pip install -q .
fi
timeout 60 python3 demo/python_ring.py --seconds 3 --consumers 2
