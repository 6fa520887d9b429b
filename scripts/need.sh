#!/usr/bin/env bash
# Installs the Debian packages a README command needs and the machine lacks,
# and nothing else (apt-get update only if one is missing):
#   scripts/need.sh apt PKG...
# Python packages never come through here: they go into build/venv
# (scripts/venv.sh), never into the system's or any other interpreter.
# Safe to run again and again: a machine that has everything returns at once.
set -euo pipefail
kind=${1:?usage: need.sh apt PKG...}; shift
case "$kind" in
apt)
  missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && exit 0
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "need.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null
  # With recommends: the set this project was verified with (wine64, for one, works best with them).
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  ;;
*) echo "need.sh: unknown kind $kind" >&2; exit 2 ;;
esac
