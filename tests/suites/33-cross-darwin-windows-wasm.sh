#!/usr/bin/env bash
# Real cross-compiles with zig (PyPI ziglang), warnings as errors:
#   - libfutex/futex.c + backend.c for x86_64-macos, aarch64-macos (also with
#     an 10.15 / 11.0 deployment target, where every __builtin_available check
#     stays a run-time check), x86_64-windows-gnu, wasm32-wasi with
#     -matomics -mbulk-memory (backend wasm) and without (backend single);
#   - every C suite test file linked against them for the macOS and Windows
#     targets (libSystem / api-ms-win-core-synch-l1-2-0 imports resolved);
#   - zig's Windows test binaries then run under wine64 for each test the
#     windows suite registers (needs ANY or THREADS), where wine is installed.
# One line per compile/link/run step that fails, then "cross: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/need.sh pip ziglang

dir=build/cross
mkdir -p "$dir"
warn="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Werror"
pass=0; fail=0
step() { # step <name> <command...>: run, count, show the output on failure
  local name=$1; shift
  if out=$("$@" 2>&1); then pass=$((pass + 1)); else
    echo "$out" | tail -20; echo "FAILED: $name"; fail=$((fail + 1)); return 1; fi
}
zcc() { python3 -m ziglang cc "$@"; }

for t in x86_64-macos aarch64-macos x86_64-macos.10.15 aarch64-macos.11.0 x86_64-windows-gnu; do
  for f in futex backend; do
    step "$t: compile $f.c" zcc -target "$t" $warn -Ilibfutex -c "libfutex/$f.c" -o "$dir/$t-$f.o"
  done
done
for m in "wasm32-wasi-atomics:-matomics -mbulk-memory" "wasm32-wasi-single:"; do
  for f in futex backend; do
    step "${m%%:*}: compile $f.c" zcc -target wasm32-wasi ${m#*:} $warn -Ilibfutex -c "libfutex/$f.c" -o "$dir/${m%%:*}-$f.o"
  done
done

files=$(ls tests/c/test-*.c | sed -E 's|.*/test-(.*)\.c|\1|')
for t in x86_64-macos.10.15 aarch64-macos x86_64-windows-gnu; do
  ext=""; libs=""
  [[ $t == *windows* ]] && ext=.exe libs=-lapi-ms-win-core-synch-l1-2-0  # zig's name for synchronization.lib
  for f in $files; do
    step "$t: link test-$f" zcc -target "$t" -O2 $warn -Ilibfutex -Itests/c libfutex/futex.c libfutex/backend.c libfutex/sync.c \
      "tests/c/test-$f.c" -o "$dir/$t-test-$f$ext" $libs
  done
done

wine=$(command -v /usr/lib/wine/wine64 wine64 wine 2>/dev/null | head -n1)
if [ -n "$wine" ]; then
  export WINEPREFIX=$PWD/build/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  mkdir -p "$WINEPREFIX"
  for f in $files; do
    exe="$dir/x86_64-windows-gnu-test-$f.exe"
    [ -f "$exe" ] || continue
    for name in $(sed -nE 's/^TEST\(([a-z0-9_]+), *(ANY|THREADS)\).*/\1/p' "tests/c/test-$f.c"); do
      step "zig windows: $f.$name under wine" timeout 120 "$wine" "$exe" "$name"
    done
  done
else
  echo "cross: wine not installed, zig's Windows binaries only linked"
fi

echo "cross: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
