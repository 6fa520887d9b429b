#!/usr/bin/env bash
# The C suite through the backends this machine runs natively (linux, posix,
# single) with warnings as errors, then linux and posix again under
# ASan+UBSan and under TSan. One line per backend and build, then the total.
set -uo pipefail
cd "$(dirname "$0")/../.."
command -v cmake >/dev/null || bash scripts/need.sh pip cmake
bash scripts/need.sh apt gcc g++ make linux-libc-dev
. scripts/suite-lib.sh

pass=0; fail=0
# run_suite <build-dir> <tag> <cmake args...>: configure, build, and run each
# label of interest as its own ctest run so every backend gets its own line.
run_suite() {
  local dir=$1 tag=$2; shift 2
  local labels=$1; shift
  if ! cmake -S . -B "$dir" -DFUTEX_WERROR=ON -DFUTEX_BUILD_LUA=OFF -DFUTEX_BUILD_EMUL=OFF "$@" >"$dir.configure.log" 2>&1 ||
     ! cmake --build "$dir" -j2 >"$dir.build.log" 2>&1; then
    cat "$dir.configure.log" "$dir.build.log" 2>/dev/null | tail -40
    echo "$tag: 0 passed, 1 failed"; fail=$((fail + 1)); return
  fi
  for label in $labels; do
    ctest_label "$dir" "$label" "$label${tag:+-$tag}"
    pass=$((pass + CT_PASS)); fail=$((fail + CT_FAIL))
  done
}

mkdir -p build
run_suite build/c "" "linux linux-nowaitv posix single header"
# Sanitizers: halt on the first report so a finding fails its test.
export ASAN_OPTIONS=abort_on_error=0:halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_suite build/c-asan asan "linux linux-nowaitv posix" -DFUTEX_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
run_suite build/c-tsan tsan "linux linux-nowaitv posix" -DFUTEX_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug

echo "c: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
