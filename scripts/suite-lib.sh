# Sourced by tests/suites/*.sh: what every suite script shares.
#
# ctest_label <build-dir> <label> [<name>]
#   Runs the ctest tests labelled exactly <label>, shows the failures, and
#   prints "<name>: P passed, F failed" (name defaults to the label). Sets
#   CT_PASS and CT_FAIL; a ctest run that counted nothing is one failure.
ctest_label() {
  local dir=$1 label=$2 name=${3:-$2} out total failed
  out=$(cd "$dir" && ctest -j2 -L "^${label}\$" --output-on-failure --timeout 180 2>&1)
  # ctest closes with "100% tests passed out of T" or "P% tests passed, F tests failed out of T".
  total=$(sed -nE 's/.*tests passed.* out of ([0-9]+).*/\1/p' <<<"$out")
  failed=$(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of.*/\1/p' <<<"$out")
  failed=${failed:-0}
  if [ -z "$total" ]; then
    echo "$out" | tail -20; total=1; failed=1
  elif [ "$failed" -ne 0 ]; then
    echo "$out" | grep -vE '^ +(Start|[0-9]+/[0-9]+ Test)' | tail -60
  fi
  CT_PASS=$((total - failed)); CT_FAIL=$failed
  echo "$name: $CT_PASS passed, $CT_FAIL failed"
}
