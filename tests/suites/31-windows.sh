#!/usr/bin/env bash
# The windows backend for real: the C suite cross-compiled with mingw-w64
# (tests/windows/mingw-w64-x86_64.cmake) and every test run under wine64,
# whose ntdll implements WaitOnAddress/WakeByAddress*. The binaries import
# them from api-ms-win-core-synch-l1-2-0.dll; the script checks that too.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/need.sh apt cmake
bash scripts/need.sh apt gcc-mingw-w64-x86-64 wine64 make
. scripts/suite-lib.sh

dir=build/windows
mkdir -p build
# wine's first start creates its prefix (~30 s); keep it under build/ and reuse it.
export WINEPREFIX=$PWD/build/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$WINEPREFIX"
if ! cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=tests/windows/mingw-w64-x86_64.cmake -DFUTEX_WERROR=ON \
       -DFUTEX_BUILD_LUA=OFF -DFUTEX_BUILD_EMUL=OFF >"$dir.configure.log" 2>&1 ||
   ! cmake --build "$dir" -j2 >"$dir.build.log" 2>&1; then
  tail -40 "$dir.configure.log" "$dir.build.log"
  echo "windows: 0 passed, 1 failed"; exit 1
fi
imports=$(x86_64-w64-mingw32-objdump -p "$dir/tests/c/test-windows-threads.exe" 2>&1)
if ! grep -q WaitOnAddress <<<"$imports"; then
  echo "windows: the test binaries do not import WaitOnAddress"
  echo "windows: 0 passed, 1 failed"; exit 1
fi
# Start wine once before the clock of the first test runs.
wine=$(command -v /usr/lib/wine/wine64 wine64 wine 2>/dev/null | head -n1)
timeout 120 "$wine" "$dir/tests/c/test-windows-api.exe" introspection >/dev/null 2>&1 || true

ctest_label "$dir" windows
[ "$CT_FAIL" -eq 0 ]
