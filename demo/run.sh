#!/usr/bin/env bash
# `make demo`: processes coordinating over one shared mapping. The C part
# ping-pongs a word between two processes; each demo/parts/*.sh adds a
# language (Python's ring buffer, Lua consuming what Python produces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/need.sh apt cmake
bash scripts/need.sh apt gcc make
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DFUTEX_BUILD_TESTS=OFF -DFUTEX_BUILD_LUA=OFF >/dev/null
cmake --build build/demo -j2 --target futex_demo >/dev/null
echo "== C: two processes ping-pong one word in a MAP_SHARED mapping"
build/demo/futex_demo 2
build/demo/futex_demo 2 --nospin
for part in demo/parts/*.sh; do
  [ -e "$part" ] || continue
  bash "$part"
done
