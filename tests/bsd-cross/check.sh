#!/usr/bin/env bash
# The BSD backends compiled for their real targets, warnings as errors:
#   - zig cc (PyPI ziglang) with the libc headers zig ships: FreeBSD, NetBSD
#     and OpenBSD, each on x86_64, x86 (32-bit) and aarch64;
#   - DragonFly, for which zig has no headers: gcc against DragonFly's own
#     prototypes of umtx_sleep/umtx_wakeup (dragonfly/unistd.h), with
#     __DragonFly__ defined and __linux__ not.
# Each check compiles libfutex/futex.c and libfutex/backend.c with -c, then
# asserts with nm that backend.o calls the OS primitive it should (so the
# selector picked that backend). Prints one "ok"/"not ok" line per check and
# ends with "bsd-cross: N passed, N failed" (per OS: "bsd-cross-<os>: ...").
set -uo pipefail
cd "$(dirname "$0")/../.."
out=build/bsd-cross
mkdir -p "$out"
CFLAGS=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
        -Wcast-qual -Werror)
zigcc() { python3 -m ziglang cc "$@"; }

pass=0; fail=0
declare -A os_pass os_fail
# check <os> <name> <symbol> <compiler and flags...>
check() {
  local os=$1 name=$2 sym=$3; shift 3
  local dir=$out/$name log=$out/$name.log ok=1
  mkdir -p "$dir"
  { "$@" "${CFLAGS[@]}" -c libfutex/futex.c -o "$dir/futex.o" &&
    "$@" "${CFLAGS[@]}" -c libfutex/backend.c -o "$dir/backend.o" &&
    "$@" "${CFLAGS[@]}" -c libfutex/waitv.c -o "$dir/waitv.o" &&
    "$@" "${CFLAGS[@]}" -c libfutex/watcher.c -o "$dir/watcher.o"; } >"$log" 2>&1 || ok=0
  if [ "$ok" = 1 ] && ! nm "$dir/backend.o" | grep -qE "^ +U $sym\$"; then
    echo "backend.o does not call $sym:" >>"$log"; nm "$dir/backend.o" >>"$log"; ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "ok - $name (backend.o calls $sym)"
    pass=$((pass + 1)); os_pass[$os]=$(( ${os_pass[$os]:-0} + 1 ))
  else
    echo "not ok - $name"; sed 's/^/    /' "$log" | tail -30
    fail=$((fail + 1)); os_fail[$os]=$(( ${os_fail[$os]:-0} + 1 ))
  fi
}

for arch in x86_64 x86 aarch64; do
  check freebsd "$arch-freebsd" _umtx_op zigcc -target "$arch-freebsd"
  check netbsd "$arch-netbsd" syscall zigcc -target "$arch-netbsd"
  check openbsd "$arch-openbsd" futex zigcc -target "$arch-openbsd"
done
check dragonfly dragonfly-prototypes umtx_sleep \
  gcc -U__linux__ -U__linux -Ulinux -U__gnu_linux__ -D__DragonFly__=1 -Itests/bsd-cross/dragonfly

for os in freebsd openbsd dragonfly netbsd; do
  echo "bsd-cross-$os: ${os_pass[$os]:-0} passed, ${os_fail[$os]:-0} failed"
done
echo "bsd-cross: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
