#!/usr/bin/env bash
# Lua <-> Python over one mapped file (issues 3 and 4): builds the Lua module
# with CMake, installs the Python binding with `pip install .` if `import
# futex` fails, then runs the busted specs in tests/cross/ (which start
# tests/cross/partner.py). Ends with "python-lua: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash scripts/need.sh apt lua5.4 liblua5.4-dev lua-busted gcc libc6-dev make || exit 1
bash scripts/need.sh apt cmake || exit 1

fail=0
if ! cmake -S . -B build/lua -DFUTEX_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
   ! cmake --build build/lua --target futex_lua -j2 >/dev/null; then
  echo "not ok - building the Lua module"; fail=1
fi
# The Python module, into build/venv (never the system's python); partner.py
# then runs with the venv's python3, first on PATH. pip runs from build/: in
# the root, python would import CMake's build/ folder as a package "build".
py=$(bash scripts/venv.sh)
(cd build && "$py" -m pip install -q "$root") || { echo "not ok - pip install ."; fail=1; }
export PATH=$root/build/venv/bin:$PATH

out=$(LUA_CPATH_5_4="$root/build/lua/bindings/lua/?.so;;" busted --lua=lua5.4 -o TAP tests/cross 2>&1); rc=$?
echo "$out"
pass=$(grep -c '^ok ' <<<"$out"); f=$(grep -c '^not ok ' <<<"$out")
fail=$((fail + f))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then echo "not ok - busted exited $rc"; fail=$((fail + 1)); fi
if [ "$pass" -eq 0 ]; then echo "not ok - busted ran no tests"; fail=$((fail + 1)); fi
echo "python-lua: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
