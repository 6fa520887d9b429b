#!/usr/bin/env bash
# The MSVC path of libfutex/atomic.h (the Interlocked* intrinsics), proven as
# far as a Linux machine can:
#   msvc-path.sh clang <src> <build>  compiles tests/atomics/msvc-probe.c (every
#       operation, every order) with clang in MSVC mode for x64, x86 and ARM64,
#       warnings as errors, and checks the x64 object uses locked instructions;
#       and compiles the header unforced, as clang-cl would (the __atomic path).
#   msvc-path.sh wine <src> <build>   builds the C suite with mingw-w64 and
#       FUTEX_ATOMIC_MSVC (mingw-w64's <intrin.h> has the same intrinsics) and
#       runs its windows tests under wine.
#   msvc-path.sh raw <src> <build>    no atomics outside libfutex/atomic.h.
set -uo pipefail
mode=$1 src=$(cd "$2" && pwd)
mkdir -p "$3" && out=$(cd "$3" && pwd)
fail=0
flags=(-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Werror)

case $mode in
clang)
  for target in x86_64 i686 aarch64; do
    obj=$out/msvc-probe-$target.obj
    if clang --target=$target-pc-windows-msvc -fms-extensions -fms-compatibility -ffreestanding \
         -DFUTEX_ATOMIC_MSVC "${flags[@]}" -O2 -I"$src/libfutex" \
         -c "$src/tests/atomics/msvc-probe.c" -o "$obj"; then
      echo "msvc: clang --target=$target-pc-windows-msvc compiles the Interlocked path: ok"
    else
      echo "msvc: clang --target=$target-pc-windows-msvc: FAILED"; fail=1
    fi
  done
  # Every read-modify-write of the probe must be a locked instruction.
  objdump=$(command -v llvm-objdump || command -v x86_64-w64-mingw32-objdump)
  locked=$("$objdump" -d "$out/msvc-probe-x86_64.obj" 2>/dev/null | grep -cE '\block\b|\bxchg')
  if [ "${locked:-0}" -ge 30 ]; then
    echo "msvc: the x64 probe has $locked locked instructions: ok"
  else
    echo "msvc: the x64 probe has ${locked:-0} locked instructions, expected at least 30: FAILED"; fail=1
  fi
  if printf '#include "atomic.h"\n#ifndef FUTEX__ATOMIC_GNUC\n#error clang-cl should take the __atomic path\n#endif\n' |
     clang --target=x86_64-pc-windows-msvc -fms-extensions -fms-compatibility -ffreestanding "${flags[@]}" \
       -I"$src/libfutex" -fsyntax-only -x c -; then
    echo "msvc: clang-cl's default (__atomic) path compiles: ok"
  else
    echo "msvc: clang-cl's default path: FAILED"; fail=1
  fi
  ;;
wine)
  dir=$out/windows-msvc-atomics
  export WINEPREFIX=${WINEPREFIX:-$out/wineprefix} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  mkdir -p "$WINEPREFIX"
  if ! cmake -S "$src" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$src/cmake-toolchains/mingw-w64-x86_64.cmake" \
         -DFUTEX_WERROR=ON -DFUTEX_BUILD_LUA=OFF -DFUTEX_BUILD_EMUL=OFF -DCMAKE_C_FLAGS=-DFUTEX_ATOMIC_MSVC \
         >"$dir.configure.log" 2>&1 || ! cmake --build "$dir" -j2 >"$dir.build.log" 2>&1; then
    tail -40 "$dir.configure.log" "$dir.build.log"
    echo "msvc: mingw-w64 build with FUTEX_ATOMIC_MSVC: FAILED"; exit 1
  fi
  # The same flags must really select the path the suite claims to test.
  if ! x86_64-w64-mingw32-gcc -DFUTEX_ATOMIC_MSVC "${flags[@]}" -I"$src/libfutex" \
       -c "$src/tests/atomics/msvc-probe.c" -o "$dir/msvc-probe.o"; then
    echo "msvc: mingw-w64 with FUTEX_ATOMIC_MSVC does not take the Interlocked path: FAILED"; exit 1
  fi
  echo "msvc: mingw-w64 build with FUTEX_ATOMIC_MSVC (the Interlocked path): ok"
  wine=$(command -v /usr/lib/wine/wine64 wine64 wine 2>/dev/null | head -n1)
  # wine's first start creates its prefix; not on the clock of a test.
  timeout 300 "$wine" "$dir/tests/c/test-windows-api.exe" introspection >/dev/null 2>&1 || true
  (cd "$dir" && ctest -L windows --timeout 120 --output-on-failure) >"$dir.ctest.log" 2>&1
  rc=$?
  grep -E "tests passed|tests failed|Failed|\*\*\*" "$dir.ctest.log" | sed 's/^/msvc: wine: /'
  if [ $rc -ne 0 ] || ! grep -q "100% tests passed" "$dir.ctest.log"; then
    tail -40 "$dir.ctest.log"; fail=1
  fi
  ;;
raw)
  # Every atomic goes through libfutex/atomic.h, or MSVC cannot build it:
  # no compiler-specific atomics anywhere else in the library or bindings.
  hits=$(cd "$src" && grep -nE '(^|[^A-Za-z0-9_])(__atomic_|__sync_|_Interlocked|_Atomic)|<stdatomic\.h>' \
           libfutex/*.c libfutex/*.h libfutex/backend/*.c bindings/python/*.c bindings/lua/*.c | grep -v '^libfutex/atomic\.h:')
  if [ -z "$hits" ]; then
    echo "msvc: no atomics outside libfutex/atomic.h: ok"
  else
    echo "$hits"; echo "msvc: atomics outside libfutex/atomic.h (use its futex__atomic_* instead): FAILED"; fail=1
  fi
  ;;
*)
  echo "usage: msvc-path.sh clang|wine|raw <source dir> <build dir>"; exit 2 ;;
esac
[ $fail -eq 0 ] && echo "msvc: $mode: all checks passed"
exit $fail
