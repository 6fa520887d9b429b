#!/usr/bin/env bash
# `make test`'s last step: one ctest run over the test preset (every family,
# the variants included), its log in build/test/ctest.log, then one closing
# line "N passed, N failed" from ctest's own count. Exits non-zero on any
# failure. Arguments go to ctest (e.g. -L python, -R '^linux\.').
set -uo pipefail
cd "$(dirname "$0")/.."
log=build/test/ctest.log
ctest --preset test --no-label-summary "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# ctest closes with "100% tests passed, 0 tests failed out of T" (or "P% ... F tests failed out of T").
total=$(sed -nE 's/.*tests passed, [0-9]+ tests? failed out of ([0-9]+).*/\1/p' "$log" | tail -n1)
failed=$(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of.*/\1/p' "$log" | tail -n1)
if [ -z "$total" ]; then total=1 failed=1; [ "$rc" -ne 0 ] || rc=1; fi
echo "$((total - failed)) passed, $failed failed"
exit "$rc"
