#!/usr/bin/env bash
# The Lua module (issue 4). Builds futex.so with CMake (warnings as errors)
# and with `luarocks --lua-version 5.4 make`, checks that the luarocks one
# loads with no path set, runs the busted specs in tests/lua/ against the
# CMake build, then again against a build forced onto the posix parking lot
# (the backend whose waits a signal does not interrupt). Ends with
# "lua: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash scripts/need.sh apt lua5.4 liblua5.4-dev lua-busted luarocks || exit 1
bash scripts/need.sh apt cmake || exit 1
bash scripts/need.sh apt gcc libc6-dev make binutils || exit 1

pass=0 fail=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
step() { # step NAME COMMAND...: one counted check; its output is shown only when it fails
  local name=$1; shift
  if "$@" >"$log" 2>&1; then
    pass=$((pass + 1)); echo "ok - $name"
  else
    fail=$((fail + 1)); echo "not ok - $name"; sed 's/^/    /' "$log"
  fi
}
# Runs busted on the specs; adds its TAP counts.
specs() { # specs LABEL CPATH BACKEND SPEC...
  local label=$1 cpath=$2 backend=$3; shift 3
  local out rc p f
  # LUA_CPATH_5_4 wins over LUA_CPATH and over the luarocks-installed copy.
  out=$(LUA_CPATH_5_4="$cpath;;" FUTEX_TEST_BACKEND=$backend busted --lua=lua5.4 -o TAP "$@" 2>&1); rc=$?
  sed "s/^/[$label] /" <<<"$out"
  p=$(grep -c '^ok ' <<<"$out"); f=$(grep -c '^not ok ' <<<"$out")
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail=$((fail + 1)); echo "not ok - [$label] busted exited $rc"; fi
  if [ "$p" -eq 0 ]; then fail=$((fail + 1)); echo "not ok - [$label] busted ran no tests"; fi
}

cmake_build() { # cmake_build DIR [CMAKE ARGS...]: only the Lua module's target
  local dir=$1; shift
  cmake -S . -B "$dir" -DFUTEX_BUILD_TESTS=OFF -DFUTEX_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" &&
    cmake --build "$dir" --target futex_lua -j2
}

step "cmake builds futex.so (-Werror)" cmake_build build/lua
# Into a rocks tree under build/, never the system's (and so without sudo).
rocks=$root/build/rocks
step "luarocks --lua-version 5.4 --tree build/rocks make builds and installs it" luarocks --lua-version 5.4 --tree "$rocks" make
# The paths `luarocks path` gives for that tree, from another directory: found where luarocks put it.
step "lua5.4 -e 'require \"futex\"' works after luarocks make" \
  env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 LUA_CPATH="$rocks/lib/lua/5.4/?.so" sh -c \
  'cd / && lua5.4 -e "local f = require \"futex\"; assert(f.version == \"$(sed -n "s/^#define FUTEX_VERSION \"\(.*\)\"/\1/p" '"$root"'/libfutex/futex.h)\"); assert(not package.searchpath(\"futex\", package.cpath):find(\"'"$root"'\", 1, true)); print(package.searchpath(\"futex\", package.cpath), f.version, f.backend)"'
step "the luarocks build exports only luaopen_futex" \
  sh -c '[ "$(nm -D --defined-only build/luarocks/futex.so | awk "{print \$3}")" = luaopen_futex ]'

specs linux "$root/build/lua/bindings/lua/?.so" linux tests/lua

step "cmake builds futex.so on the posix backend" cmake_build build/lua-posix -DFUTEX_BACKEND=posix
# The parking lot is process-private: the cross-process specs do not apply.
specs posix "$root/build/lua-posix/bindings/lua/?.so" posix \
  tests/lua/cell_spec.lua tests/lua/wait_spec.lua tests/lua/badinput_spec.lua tests/lua/signal_spec.lua

echo "lua: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
