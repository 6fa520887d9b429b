#!/usr/bin/env bash
# `make bench`: installs what the benchmarks need, builds them, runs them all (bench/run.py),
# and leaves bench/results.json and bench/results.png. Takes ~5-10 minutes; not part of
# `make test`. Pass --quick for a smoke run with tiny iteration counts.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"

bash scripts/need.sh apt gcc g++ cmake lua5.4 liblua5.4-dev
bash scripts/need.sh pip matplotlib posix-ipc ziglang
# Peers that may not build on every machine: the bench skips them if they are missing.
for p in fastipc atomics atomicshm; do
  bash scripts/need.sh pip "$p" >/dev/null 2>&1 || echo "run.sh: $p did not install; its rows are skipped" >&2
done

# The C benches: the library compiled in, once per backend.
CFLAGS=(-O2 -D_GNU_SOURCE -std=c11)
for backend in linux posix; do
  def=""; [ "$backend" = posix ] && def=-DFUTEX_BACKEND_POSIX
  gcc "${CFLAGS[@]}" $def -c libfutex/futex.c -o "$out/futex-$backend.o"
  gcc "${CFLAGS[@]}" $def -c libfutex/backend.c -o "$out/backend-$backend.o"
  gcc "${CFLAGS[@]}" $def -c libfutex/sync.c -o "$out/sync-$backend.o"
done
g++ -O2 -std=c++20 -Wall -Wextra -Ilibfutex bench/c/bench.cpp "$out/futex-linux.o" "$out/backend-linux.o" \
  "$out/sync-linux.o" -o "$out/bench" -pthread
g++ -O2 -std=c++20 -Wall -Wextra -Ilibfutex bench/c/bench.cpp "$out/futex-posix.o" "$out/backend-posix.o" \
  "$out/sync-posix.o" -o "$out/bench-posix" -pthread

# Zig's futex: a ReleaseFast build takes a minute the first time, so only when the source changed.
if [ ! -x "$out/zig-pingpong" ] || [ bench/zig/pingpong.zig -nt "$out/zig-pingpong" ]; then
  echo "run.sh: building bench/zig/pingpong.zig with $(python3 -m ziglang version)" >&2
  (cd "$out" && python3 -m ziglang build-exe -O ReleaseFast ../zig/pingpong.zig -femit-bin=zig-pingpong) ||
    echo "run.sh: the Zig build failed; its row is skipped" >&2
fi

# The Python module, into a private directory: the bench measures this tree, not whatever
# version is installed.
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --upgrade \
  --target "$out/py" . 2>&1 | grep -v "^WARNING: Location" >&2 || true

# The Lua module.
cmake -S . -B "$out/cmake" -DFUTEX_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/cmake" --target futex_lua -j2 >/dev/null

python3 bench/run.py "$@"
