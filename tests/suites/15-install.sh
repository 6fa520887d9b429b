#!/usr/bin/env bash
# Installs the library into a scratch prefix and builds an outside program
# against it three ways: pkg-config (shared), find_package(futex) with the
# shared and with the static library. Each must build and run.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/need.sh apt cmake
bash scripts/need.sh apt gcc make pkg-config
prefix=$(mktemp -d); out=build/install-test; rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
check() { local name=$1; shift; if "$@" >"$out/$name.log" 2>&1; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; tail -20 "$out/$name.log"; fi; }

check install bash -c "cmake -S . -B $out/lib -DFUTEX_BUILD_TESTS=OFF -DFUTEX_BUILD_LUA=OFF -DCMAKE_INSTALL_PREFIX=$prefix -DCMAKE_INSTALL_LIBDIR=lib &&
  cmake --build $out/lib -j2 && cmake --install $out/lib && test -f $prefix/include/futex.h && test -f $prefix/lib/pkgconfig/futex.pc"
check pkg-config bash -c "export PKG_CONFIG_PATH=$prefix/lib/pkgconfig;
  test \"\$(pkg-config --modversion futex)\" = \"\$(sed -nE 's/^#define FUTEX_VERSION \"(.*)\"/\\1/p' libfutex/futex.h)\" &&
  cc tests/install/consumer.c \$(pkg-config --cflags --libs futex) -o $out/consumer_pc && LD_LIBRARY_PATH=$prefix/lib $out/consumer_pc"
check find_package bash -c "cmake -S tests/install -B $out/consumer -DCMAKE_PREFIX_PATH=$prefix && cmake --build $out/consumer &&
  LD_LIBRARY_PATH=$prefix/lib $out/consumer/consumer_shared && $out/consumer/consumer_static"
rm -rf "$prefix"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
