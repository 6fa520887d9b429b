#!/usr/bin/env bash
# The BSD backends (libfutex/backend/{freebsd,openbsd,dragonfly,netbsd}.c,
# unchanged), each proven two ways:
#   1. its own source runs the whole C suite on Linux against an emulation of
#      its OS call (tests/emul/<os>/: _umtx_op, futex, umtx_sleep/umtx_wakeup,
#      __futex; netbsd-9 is the same netbsd.c without SYS___futex, i.e. the
#      parking-lot fallback);
#   2. it compiles for its real target with warnings as errors
#      (tests/bsd-cross/check.sh: zig cc for FreeBSD, NetBSD, OpenBSD;
#      DragonFly's declared prototypes with gcc).
# One line per backend, "<os>: N passed, N failed" (emulated suite plus its
# cross-compiles), then "bsd: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/need.sh apt cmake
bash scripts/need.sh apt gcc make binutils linux-libc-dev
py=$(bash scripts/venv.sh)  # zig comes from PyPI ziglang, in build/venv
export ZIG_GLOBAL_CACHE_DIR=$PWD/build/zig-cache ZIG_LOCAL_CACHE_DIR=$PWD/build/zig-cache
. scripts/suite-lib.sh

dir=build/emul-bsd
oses="freebsd openbsd dragonfly netbsd"
mkdir -p build

declare -A os_pass os_fail os_note
for os in $oses; do os_pass[$os]=0; os_fail[$os]=0; os_note[$os]=""; done

# 1. The emulated C suites.
built=1
if ! cmake -S . -B "$dir" -DFUTEX_WERROR=ON -DFUTEX_BUILD_LUA=OFF -DFUTEX_BUILD_EMUL=ON \
       -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir.configure.log" 2>&1 ||
   ! cmake --build "$dir" -j2 --target $(for os in $oses; do echo "emul-$os"; done) >"$dir.build.log" 2>&1; then
  tail -40 "$dir.configure.log" "$dir.build.log"
  built=0
fi
# suite_of <label>: the os a ctest label belongs to (netbsd-9 is netbsd's).
for label in freebsd openbsd dragonfly netbsd netbsd-9; do
  os=${label%%-*}
  if [ "$built" = 0 ]; then
    os_fail[$os]=$(( ${os_fail[$os]} + 1 )); os_note[$os]+=" $label: not built;"; continue
  fi
  ctest_label "$dir" "$label" "  $label (emulated C suite)"
  os_pass[$os]=$(( ${os_pass[$os]} + CT_PASS )); os_fail[$os]=$(( ${os_fail[$os]} + CT_FAIL ))
  os_note[$os]+=" C suite on the emulation ($label): $CT_PASS/$((CT_PASS + CT_FAIL));"
done

# 2. The cross-compiles.
cross=$(bash tests/bsd-cross/check.sh 2>&1)
echo "$cross" | grep -v '^bsd-cross' | sed 's/^/  /'
for os in $oses; do
  line=$(grep -E "^bsd-cross-$os: " <<<"$cross")
  p=$(sed -nE 's/.*: ([0-9]+) passed.*/\1/p' <<<"$line"); f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
  [ -n "$p" ] || { p=0; f=1; }
  os_pass[$os]=$(( ${os_pass[$os]} + p )); os_fail[$os]=$(( ${os_fail[$os]} + f ))
  os_note[$os]+=" cross-compiles: $p/$((p + f))"
done

pass=0; fail=0
for os in $oses; do
  echo "$os: ${os_pass[$os]} passed, ${os_fail[$os]} failed (${os_note[$os]# })"
  pass=$((pass + ${os_pass[$os]})); fail=$((fail + ${os_fail[$os]}))
done
echo "bsd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
