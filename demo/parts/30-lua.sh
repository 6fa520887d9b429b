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
# The Python module, into build/venv (never the system's python): partner.py runs with its python.
py=$(bash scripts/venv.sh)
(cd build && "$py" -m pip install -q --disable-pip-version-check "$root") || exit 1
export PATH=$root/build/venv/bin:$PATH

echo "== Lua: a python3 producer and a lua5.4 consumer share a ring in one file"
LUA_CPATH_5_4="$root/build/lua/bindings/lua/?.so;;" lua5.4 demo/lua_ring_consumer.lua 2
