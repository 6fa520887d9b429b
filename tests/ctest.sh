#!/usr/bin/env bash
# `make test`'s last step: one ctest run over the test preset (every family,
# the variants included), its log in build/test/ctest.log, then one closing
# line "N passed, N failed" from ctest's own count. Exits non-zero on any
# failure. Arguments go to ctest (e.g. -L python, -R '^linux\.').
set -uo pipefail
cd "$(dirname "$0")/.."
log=build/test/ctest.log junit=build/test/ctest-junit.xml
rm -f "$junit"
ctest --preset test --no-label-summary --output-junit "$PWD/$junit" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# The count comes from the JUnit file's <testsuite> attributes, whose form is
# the same in every ctest; the closing sentence of its log is not (3.x says
# "0 tests failed out of T", 4.x leaves that clause out when nothing failed).
head=$(tr '\n\t' '  ' < "$junit" 2>/dev/null | grep -o '<testsuite[[:space:]][^>]*>' | head -n1)
attr() { printf '%s\n' "$head" | sed -nE "s/.*[[:space:]]$1=\"([0-9]+)\".*/\1/p"; }
total=$(attr tests) failures=$(attr failures) skipped=$(attr skipped) disabled=$(attr disabled)
if [ -z "$total" ] || [ -z "$failures" ]; then
    echo "tests/ctest.sh: ctest wrote no JUnit summary ($junit)" >&2
    total=1 failures=1
fi
# A test that did not run (skipped, disabled) did not pass.
failed=$((failures + ${skipped:-0} + ${disabled:-0}))
echo "$((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ] || [ "$rc" -ne 0 ] || rc=1
exit "$rc"
