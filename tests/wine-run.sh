#!/usr/bin/env bash
# The emulator ctest runs each Windows test under (CMAKE_CROSSCOMPILING_EMULATOR):
#   wine-run.sh <wine> <prog.exe> [args...]
# It runs wine once more when wine exits non-zero before the program printed
# anything. Every test prints its own name before it does anything else
# (tests/c/test.h, stdout unbuffered), so an empty stdout means the .exe never
# reached main: wine failing to start it, as a fresh machine's ctest once saw
# (4 ms, no output, no message, in about 2,500 starts). A test that ran and
# failed has printed its name, so it is never run again.
set -u
wine=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
for attempt in 1 2 3; do
    "$wine" "$@" | tee "$out"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ] || [ -s "$out" ]; then
        exit "$rc"
    fi
    echo "wine-run.sh: $wine exited $rc before $1 printed anything (start $attempt of 3)" >&2
done
exit "$rc"
