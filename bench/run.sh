#!/usr/bin/env bash
# `make bench`: installs what the benchmarks need, builds them, runs them all (bench/run.py),
# and leaves bench/results.json and bench/results.png. Takes ~5-10 minutes; not part of
# `make test`. Pass --quick for a smoke run with tiny iteration counts.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"

bash scripts/need.sh apt gcc g++ cmake lua5.4 liblua5.4-dev
# Python packages go into build/venv (scripts/venv.sh), never the system's python.
py=$(bash scripts/venv.sh)
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CACHE_DIR=$PWD/build/pip-cache
export ZIG_GLOBAL_CACHE_DIR=$PWD/build/zig-cache ZIG_LOCAL_CACHE_DIR=$PWD/build/zig-cache
(cd build && "$py" -m pip install -q matplotlib posix-ipc)
# Peers that may not build on every machine: the bench skips them if they are missing.
for p in fastipc atomics atomicshm; do
  (cd build && "$py" -m pip install -q "$p") >/dev/null 2>&1 || echo "run.sh: $p did not install; its rows are skipped" >&2
done

# The C benches: the library compiled in, once per backend.
CFLAGS=(-O2 -D_GNU_SOURCE -std=c11)
for backend in linux posix; do
  def=""; [ "$backend" = posix ] && def=-DFUTEX_BACKEND_POSIX
  gcc "${CFLAGS[@]}" $def -c libfutex/libfutex.c -o "$out/libfutex-$backend.o"
done
# A second copy of the posix backend with every symbol it defines prefixed (posix_futex_wait):
# linked beside either backend, so a ping-pong's rows on the two backends take turns in one
# pair (bench.cpp's posix IMPLs).
nm -g --defined-only "$out/libfutex-posix.o" | awk '{print $3, "posix_" $3}' >"$out/posix-syms"
objcopy --redefine-syms="$out/posix-syms" "$out/libfutex-posix.o" "$out/libfutex-posix-prefixed.o"
for backend in linux posix; do
  exe=bench; [ "$backend" = posix ] && exe=bench-posix
  g++ -O2 -std=c++20 -Wall -Wextra -Ilibfutex bench/c/bench.cpp "$out/libfutex-$backend.o" \
    "$out/libfutex-posix-prefixed.o" -o "$out/$exe" -pthread
done

# The C floor of the Python and Lua ping-pongs, run in their own processes: for ctypes, and as
# a Lua module (bench/c/floor.c).
mkdir -p "$out/lua"
gcc "${CFLAGS[@]}" -fPIC -shared -Ilibfutex bench/c/floor.c libfutex/libfutex.c -o "$out/floor.so" -pthread
gcc "${CFLAGS[@]}" -fPIC -shared -DBENCH_FLOOR_LUA $(pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4) -Ilibfutex bench/c/floor.c \
  libfutex/libfutex.c -o "$out/lua/benchfloor.so" -pthread

# Zig's futex: a ReleaseFast build takes a minute the first time, so only when the source changed.
if [ ! -x "$out/zig-pingpong" ] || [ bench/zig/pingpong.zig -nt "$out/zig-pingpong" ]; then
  echo "run.sh: building bench/zig/pingpong.zig with $("$py" -P -m ziglang version)" >&2
  (cd "$out" && "$py" -P -m ziglang build-exe -O ReleaseFast ../zig/pingpong.zig -femit-bin=zig-pingpong) ||
    echo "run.sh: the Zig build failed; its row is skipped" >&2
fi

# The Python module, into a private directory: the bench measures this tree, not whatever
# version is installed.
"$py" -P -m pip install -q --no-deps --upgrade --target "$out/py" . 2>&1 | grep -v "^WARNING: Location" >&2 || true

# The Lua module.
cmake -S . -B "$out/cmake" -DFUTEX_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/cmake" --target futex_lua -j2 >/dev/null

"$py" -P bench/run.py "$@"
