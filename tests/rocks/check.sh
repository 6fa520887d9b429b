#!/usr/bin/env bash
# The Lua rock as a user gets it: from a clean copy of the tree (only files
# git tracks or would track), `luarocks lint` the rockspec, `luarocks make`
# it into a rocks tree under the build directory (never the system tree),
# `luarocks pack` the installed rock into a binary .rock, install that .rock
# into a second tree, and run tests/lua against the module found there.
#
#   check.sh <source dir> <build dir>
set -uo pipefail
src=$(cd "$1" && pwd)
mkdir -p "$2" && out=$(cd "$2" && pwd)
passed=0 failed=0
ok() { echo "rocks: $*: ok"; passed=$((passed + 1)); }
bad() { echo "rocks: $*: FAILED"; failed=$((failed + 1)); }
report() { echo "rocks: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
lr() { luarocks --lua-version 5.4 "$@"; }

tree=$out/tree rocks=$out/rocks rocks2=$out/rocks2 packdir=$out/pack
rm -rf "$tree" "$rocks" "$rocks2" "$packdir"
mkdir -p "$tree" "$packdir"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 cp --parents -t "$tree")
else
  (cd "$src" && tar --exclude=./build --exclude=./build.luarocks -cf - .) | tar -xf - -C "$tree"
fi
rockspec=$(cd "$tree" && ls futex-*.rockspec)
[ "$(echo "$rockspec" | wc -w)" -eq 1 ] && ok "one rockspec: $rockspec" || { bad "rockspecs: $rockspec"; report; }
version=$(sed -nE 's/^#define FUTEX_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)$/\2/p' "$tree/libfutex/futex.h" | paste -sd.)

(cd "$tree" && lr lint "$rockspec") >"$out/lint.log" 2>&1 && ok "luarocks lint $rockspec" || { cat "$out/lint.log"; bad "luarocks lint"; }
if (cd "$tree" && lr --tree "$rocks" make "$rockspec") >"$out/make.log" 2>&1; then
  ok "luarocks make --tree $rocks"
else
  tail -30 "$out/make.log"; bad "luarocks make"; report
fi
so=$rocks/lib/lua/5.4/futex.so
[ -f "$so" ] && ok "futex.so installed in the tree's lib/lua/5.4" || { bad "no $so"; report; }
left=$(find "$rocks" -name 'libfutex*' -o -name 'futex.h' -o -name 'futex.pc' | head -3)
[ -z "$left" ] && ok "only the Lua module installed (no C library, header or .pc)" || bad "installed C library files: $left"
exports=$(nm -D --defined-only "$so" | awk '{print $3}')
[ "$exports" = luaopen_futex ] && ok "futex.so exports only luaopen_futex" || bad "futex.so exports: $exports"

if (cd "$packdir" && lr --tree "$rocks" pack futex) >"$out/pack.log" 2>&1; then
  rock=$(ls "$packdir"/futex-*.rock 2>/dev/null | head -1)
  [ -n "$rock" ] && ok "luarocks pack: $(basename "$rock")" || { cat "$out/pack.log"; bad "luarocks pack made no .rock"; report; }
else
  cat "$out/pack.log"; bad "luarocks pack"; report
fi
listing=$(unzip -l "$rock")
grep -q ' lib/futex.so$' <<<"$listing" && grep -q " $rockspec\$" <<<"$listing" &&
  ok "the .rock holds lib/futex.so and $rockspec" || { echo "$listing"; bad "the .rock's contents"; }
if lr --tree "$rocks2" install "$rock" >"$out/install.log" 2>&1; then
  ok "luarocks install $(basename "$rock") into a second tree"
else
  cat "$out/install.log"; bad "luarocks install of the packed rock"; report
fi

# tests/lua, run from the clean tree (the specs start child.lua by relative
# path), with the module from the second tree first on cpath (the defaults
# after it hold busted's own C modules).
cpath="$rocks2/lib/lua/5.4/?.so"
found=$(cd / && LUA_CPATH_5_4="$cpath" lua5.4 -e 'local f = require "futex"
  print(package.searchpath("futex", package.cpath) .. " " .. f.version)')
[ "$found" = "$rocks2/lib/lua/5.4/futex.so $version" ] && ok "require \"futex\" loads $found" || bad "require gave: $found"
specs=$(cd "$tree" && LUA_PATH_5_4="$tree/tests/lua/?.lua;;" LUA_CPATH_5_4="$cpath;;" FUTEX_TEST_BACKEND=linux FUTEX_TEST_VERSION="$version" timeout 600 busted --lua=lua5.4 -o TAP tests/lua 2>&1)
rc=$?
p=$(grep -c '^ok ' <<<"$specs"); f=$(grep -c '^not ok ' <<<"$specs")
if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && [ "$p" -gt 0 ]; then
  ok "tests/lua against the packed rock: $p specs passed"
else
  grep -A8 '^not ok' <<<"$specs" | head -60; bad "tests/lua against the packed rock: $p passed, $f failed (busted exit $rc)"
fi
report
