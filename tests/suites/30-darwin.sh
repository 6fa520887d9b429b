#!/usr/bin/env bash
# The darwin backend (libfutex/backend/darwin.c, unchanged) through the whole C
# suite on Linux, against tests/emul/darwin: Darwin's os_sync_wait_on_address
# family, __ulock_wait2 and __ulock_wait emulated on futex(2). Three suites,
# one per path the backend picks at run time:
#   darwin         emulated macOS 14.4: os_sync_* (absolute mach_absolute_time deadlines)
#   darwin-ulock2  emulated macOS 11.0: __ulock_wait2 (64-bit ns timeouts)
#   darwin-ulock   emulated macOS 10.15: __ulock_wait (32-bit us timeouts)
# Then one line per suite showing the emulated calls the suite's binaries made.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/need.sh apt cmake
bash scripts/need.sh apt gcc make linux-libc-dev
. scripts/suite-lib.sh

dir=build/emul-darwin
suites="darwin darwin-ulock2 darwin-ulock"
mkdir -p build
if ! cmake -S . -B "$dir" -DFUTEX_WERROR=ON -DFUTEX_BUILD_LUA=OFF -DFUTEX_BUILD_EMUL=ON >"$dir.configure.log" 2>&1 ||
   ! cmake --build "$dir" -j2 --target $(for s in $suites; do for f in $(ls tests/c/test-*.c | sed -E 's|.*/test-(.*)\.c|\1|'); do
       echo "test-$s-$f"; done; done) >"$dir.build.log" 2>&1; then
  tail -40 "$dir.configure.log" "$dir.build.log"
  echo "darwin: 0 passed, 1 failed"; exit 1
fi

pass=0; fail=0
for s in $suites; do
  ctest_label "$dir" "$s"
  pass=$((pass + CT_PASS)); fail=$((fail + CT_FAIL))
done

# Evidence that each suite took its own path: the shim's call counts.
for s in $suites; do
  FUTEX_EMUL_DARWIN_TRACE=1 "$dir/tests/emul/darwin/test-$s-timeout" deadline_loop 2>&1 >/dev/null | sed "s/^/  $s timeout.deadline_loop: /"
  FUTEX_EMUL_DARWIN_TRACE=1 "$dir/tests/emul/darwin/test-$s-threads" broadcasting_barrier 2>&1 >/dev/null | sed "s/^/  $s threads.broadcasting_barrier: /"
done

echo "darwin: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
