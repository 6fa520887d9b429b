#!/usr/bin/env bash
# `make test`: runs every suite script in tests/suites/ in order. Each suite
# installs what it needs (scripts/need.sh), runs, and ends its output with a
# line "<suite>: N passed, N failed". This sums them into one closing line
# and fails if any suite failed or printed no such line.
set -uo pipefail
cd "$(dirname "$0")/.."
total_pass=0; total_fail=0; bad=()
log_dir=build/test-logs; mkdir -p "$log_dir"
for suite in tests/suites/*.sh; do
  name=$(basename "$suite" .sh)
  echo "=== $name"
  start=$(date +%s)
  bash "$suite" 2>&1 | tee "$log_dir/$name.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed' "$log_dir/$name.log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "$name: printed no 'N passed, N failed' line (exit $rc)"
    bad+=("$name"); total_fail=$((total_fail + 1)); continue
  fi
  p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
    bad+=("$name")
    [ "$f" -eq 0 ] && total_fail=$((total_fail + 1))  # a suite that exited non-zero counts as a failure
  fi
  echo "=== $name done in $(( $(date +%s) - start ))s: $line"
done
[ ${#bad[@]} -eq 0 ] || echo "failed suites: ${bad[*]}"
echo "$total_pass passed, $total_fail failed"
[ ${#bad[@]} -eq 0 ]
