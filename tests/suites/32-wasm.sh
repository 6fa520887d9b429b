#!/usr/bin/env bash
# The wasm backend for real: libfutex + tests/wasm/wasm-tests.c built with zig
# for wasm32-wasi with atomics, bulk memory and one shared imported memory,
# run by Node (tests/wasm/run.mjs) on the main thread and in worker_threads
# sharing that memory: waits, timeouts, deadlines, exact wake counts, a worker
# waking the main thread, two workers ping-ponging. Then the single-threaded
# wasm32 build (no atomics: backend "single") as a WASI command under node:wasi.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/need.sh pip ziglang
command -v node >/dev/null || bash scripts/need.sh apt nodejs

dir=build/wasm
mkdir -p "$dir"
zcc() { python3 -m ziglang cc -target wasm32-wasi -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow \
          -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Werror -Ilibfutex "$@"; }
node_flags=--no-warnings
[ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ] && node_flags="$node_flags --experimental-wasi-unstable-preview1"

pass=0; fail=0
# Threads: shared memory imported from JS; each worker instance gets its own
# shadow stack through the exported __stack_pointer (see wasm-tests.c).
if zcc -matomics -mbulk-memory -mexec-model=reactor libfutex/futex.c libfutex/backend.c libfutex/waitv.c libfutex/watcher.c tests/wasm/wasm-tests.c \
     -o "$dir/tests.wasm" \
     -Wl,--shared-memory,--import-memory,--max-memory=8388608,-z,stack-size=262144,--export=__stack_pointer \
     >"$dir/build.log" 2>&1; then
  out=$(timeout 170 node $node_flags tests/wasm/run.mjs "$dir/tests.wasm" 2>&1)
  echo "$out"
  line=$(grep -E '^wasm: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    echo "wasm-threads: $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
  else
    echo "wasm-threads: 0 passed, 1 failed"; fail=$((fail + 1))
  fi
else
  cat "$dir/build.log"; echo "wasm-threads: 0 passed, 1 failed"; fail=$((fail + 1))
fi

# No atomics: backend.c selects single.c; a WASI command under node:wasi.
if zcc libfutex/futex.c libfutex/backend.c libfutex/waitv.c libfutex/watcher.c tests/wasm/single-test.c -o "$dir/single.wasm" >"$dir/build-single.log" 2>&1; then
  out=$(timeout 60 node $node_flags tests/wasm/run.mjs --command "$dir/single.wasm" 2>&1); rc=$?
  echo "$out"
  p=$(grep -c ': ok$' <<<"$out"); f=$(grep -c 'FAILED' <<<"$out")
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  echo "wasm-single: $p passed, $f failed"
  pass=$((pass + p)); fail=$((fail + f))
else
  cat "$dir/build-single.log"; echo "wasm-single: 0 passed, 1 failed"; fail=$((fail + 1))
fi

echo "wasm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
