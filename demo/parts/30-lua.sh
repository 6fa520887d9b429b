#!/usr/bin/env bash
# `make demo`, the Lua part: a python3 process produces into a ring in one
# mapped file and a lua5.4 process consumes it, through the two bindings'
# wait/wake on the same words. Runs about two seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash scripts/need.sh apt lua5.4 liblua5.4-dev gcc libc6-dev make
command -v cmake >/dev/null || bash scripts/need.sh pip cmake
cmake -S . -B build/lua -DFUTEX_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/lua --target futex_lua -j2 >/dev/null
(cd / && python3 -c "import futex") 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore .

echo "== Lua: a python3 producer and a lua5.4 consumer share a ring in one file"
LUA_CPATH_5_4="$root/build/lua/bindings/lua/?.so;;" lua5.4 demo/lua_ring_consumer.lua 2
