#!/usr/bin/env bash
# `make demo`, the Lua part: a python3 process produces into a ring in one
# mapped file and a lua5.4 process consumes it, through the two bindings'
# wait/wake on the same words. Runs about two seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash scripts/need.sh apt lua5.4 liblua5.4-dev gcc libc6-dev make
bash scripts/need.sh apt cmake
cmake -S . -B build/lua -DFUTEX_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/lua --target futex_lua -j2 >/dev/null
# The Python module, in build/venv (never the system's python; demo/parts/20-python.sh
# installs it there): the producer runs with that python. pip runs from build/:
# in the root, python would import CMake's build/ folder as the package "build".
py=$(bash scripts/venv.sh)
(cd build && "$py" -P -c 'import futex') 2>/dev/null ||
  (cd build && PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CACHE_DIR=$root/build/pip-cache "$py" -m pip install -q "$root") || exit 1

echo "== Lua: a python3 producer and a lua5.4 consumer share a ring in one file"
PYTHON="$py -P" LUA_CPATH_5_4="$root/build/lua/bindings/lua/?.so;;" lua5.4 demo/lua_ring_consumer.lua 2
