#!/usr/bin/env bash
# libfutex as a C user consumes it, one way per call, each linking the shared
# and the static library and running the result (consumer/consumer.c):
#
#   check.sh install          <src> <out>  build with the default prefix, then
#       `cmake --install --prefix <out>/prefix`: futex.pc names that prefix, the
#       SONAME and the CMake version file follow the 0.x minor-version rule
#   check.sh find_package     <src> <out>  find_package(futex) on that prefix
#   check.sh pkg-config       <src> <out>  cc $(pkg-config ...) on that prefix
#   check.sh abs-libdir       <src> <out>  an absolute CMAKE_INSTALL_LIBDIR
#   check.sh add_subdirectory <src> <out>  the source tree as a subproject
#   check.sh fetchcontent     <src> <out>  FetchContent from a local path
#   check.sh mingw-plain      <src> <out>  a cross build with only
#       CMAKE_SYSTEM_NAME=Windows and the mingw-w64 compiler (no toolchain
#       file) links everything; its futex.pc names -lsynchronization
set -uo pipefail
mode=$1 src=$(cd "$2" && pwd)
mkdir -p "$3" && out=$(cd "$3" && pwd)
prefix=$out/prefix
fails=0
ok() { echo "install: $mode: $*: ok"; }
bad() { echo "install: $mode: $*: FAILED"; fails=$((fails + 1)); }
# run NAME CMD...: the command's output goes to a log, shown on failure.
run() {
  local name=$1; shift
  if "$@" >"$out/$mode.$name.log" 2>&1; then return 0; fi
  tail -30 "$out/$mode.$name.log"; bad "$name ($*)"; echo "install: $mode: FAILED"; exit 1
}
version=$(sed -nE 's/^#define FUTEX_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)$/\2/p' "$src/libfutex/futex.h" | paste -sd.)
major=${version%%.*} rest=${version#*.} minor=${rest%%.*}

# links_shared EXE yes|no: does EXE load libfutex.so (ELF NEEDED)?
links_shared() {
  local needed
  needed=$(readelf -d "$1" | grep -c 'NEEDED.*libfutex\.so')
  if [ "$2" = yes ] && [ "$needed" -eq 1 ]; then ok "$(basename "$1") loads libfutex.so"
  elif [ "$2" = no ] && [ "$needed" -eq 0 ]; then ok "$(basename "$1") has libfutex linked in"
  else bad "$(basename "$1"): NEEDED libfutex.so x$needed, expected $2"; fi
}
# runs EXE: it waits, times out and wakes through the library.
runs() { if out_text=$("$@" 2>&1); then ok "$(basename "$1") runs: $out_text"; else bad "$(basename "$1") ($out_text)"; fi; }

# consumer KIND -D...: configure, build and run the consumer project.
consumer() {
  local kind=$1; shift
  local b=$out/consumer-$kind
  rm -rf "$b"
  run configure cmake -S "$src/tests/install/consumer" -B "$b" -DFUTEX_CONSUME="$kind" "$@"
  run build cmake --build "$b" -j2
  links_shared "$b/consumer_shared" yes
  links_shared "$b/consumer_static" no
  runs "$b/consumer_shared"
  runs "$b/consumer_static"
}

# version_compatible REQUEST: what find_package(futex REQUEST) would decide.
version_compatible() {
  # A script file: CMake before 3.27 cannot read one from a pipe.
  cat >"$out/version-probe.cmake" <<'CMAKE'
string(REPLACE "." ";" _parts "${PACKAGE_FIND_VERSION}.0.0")
list(GET _parts 0 PACKAGE_FIND_VERSION_MAJOR)
list(GET _parts 1 PACKAGE_FIND_VERSION_MINOR)
list(GET _parts 2 PACKAGE_FIND_VERSION_PATCH)
set(PACKAGE_FIND_VERSION_COUNT 2)
set(PACKAGE_FIND_VERSION_RANGE FALSE)
include(${FILE})
if(PACKAGE_VERSION_COMPATIBLE)
  message("yes")
else()
  message("no")
endif()
CMAKE
  cmake -DPACKAGE_FIND_VERSION="$1" -DFILE="$prefix/lib/cmake/futex/futexConfigVersion.cmake" -P "$out/version-probe.cmake"
}

# pc_consumer PKG_CONFIG_PATH: cc against futex.pc, shared and static.
pc_consumer() {
  export PKG_CONFIG_PATH=$1
  local libdir b=$out/pc-$mode
  mkdir -p "$b"
  libdir=$(pkg-config --variable=libdir futex)
  [ "$(pkg-config --modversion futex)" = "$version" ] && ok "pkg-config --modversion = $version" || bad "pkg-config --modversion"
  # shellcheck disable=SC2046
  run cc-shared cc "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs futex) -o "$b/consumer_shared"
  # Static: the same flags with libfutex.a chosen over libfutex.so, plus
  # Libs.private (pthread) as `pkg-config --static` gives them.
  # shellcheck disable=SC2046
  run cc-static cc "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs-only-L futex) \
    -Wl,-Bstatic -lfutex -Wl,-Bdynamic $(pkg-config --static --libs-only-l futex | sed 's/-lfutex//') -o "$b/consumer_static"
  links_shared "$b/consumer_shared" yes
  links_shared "$b/consumer_static" no
  LD_LIBRARY_PATH="$libdir" runs "$b/consumer_shared"
  runs "$b/consumer_static"
}

case $mode in
install)
  rm -rf "$out/lib" "$prefix"
  # No CMAKE_INSTALL_PREFIX: the configure-time prefix is /usr/local, and
  # --prefix at install time must win everywhere, futex.pc included.
  run configure cmake -S "$src" -B "$out/lib" -DFUTEX_BUILD_TESTS=OFF -DFUTEX_BUILD_LUA=OFF -DCMAKE_INSTALL_LIBDIR=lib
  run build cmake --build "$out/lib" -j2
  run install cmake --install "$out/lib" --prefix "$prefix"
  for f in include/futex.h lib/libfutex.a lib/libfutex.so lib/pkgconfig/futex.pc \
           lib/cmake/futex/futexConfig.cmake lib/cmake/futex/futexConfigVersion.cmake lib/cmake/futex/futexTargets.cmake; do
    [ -e "$prefix/$f" ] || bad "$f not installed"
  done
  [ "$(sed -n 's/^prefix=//p' "$prefix/lib/pkgconfig/futex.pc")" = "$prefix" ] &&
    ok "futex.pc: prefix=$prefix (the install-time prefix)" || bad "futex.pc prefix: $(grep ^prefix= "$prefix/lib/pkgconfig/futex.pc")"
  grep -q '^Libs.private: -lpthread' "$prefix/lib/pkgconfig/futex.pc" && ok "futex.pc: Libs.private -lpthread" || bad "futex.pc Libs.private"
  soname=$(readelf -d "$prefix/lib/libfutex.so" | sed -nE 's/.*Library soname: \[(.*)\]/\1/p')
  if [ "$major" = 0 ]; then want_soname=libfutex.so.$major.$minor; else want_soname=libfutex.so.$major; fi
  [ "$soname" = "$want_soname" ] && ok "SONAME $soname" || bad "SONAME $soname, expected $want_soname"
  # find_package(futex X): before 1.0 only the same minor is compatible.
  [ "$(version_compatible "$major.$minor" 2>&1)" = yes ] && ok "find_package(futex $major.$minor) accepts $version" ||
    bad "find_package(futex $major.$minor) refuses $version"
  [ "$(version_compatible "$major.$((minor + 1))" 2>&1)" = no ] && ok "find_package(futex $major.$((minor + 1))) refuses $version" ||
    bad "find_package(futex $major.$((minor + 1))) accepts $version"
  if [ "$major" = 0 ] && [ "$minor" -gt 0 ]; then
    [ "$(version_compatible "0.$((minor - 1))" 2>&1)" = no ] && ok "find_package(futex 0.$((minor - 1))) refuses $version (0.x: minor = ABI)" ||
      bad "find_package(futex 0.$((minor - 1))) accepts $version"
  fi
  ;;
find_package)
  consumer find_package -DCMAKE_PREFIX_PATH="$prefix" ;;
pkg-config)
  pc_consumer "$prefix/lib/pkgconfig" ;;
abs-libdir)
  rm -rf "$out/lib-abs" "$out/abs-prefix" "$out/abs-libdir"
  run configure cmake -S "$src" -B "$out/lib-abs" -DFUTEX_BUILD_TESTS=OFF -DFUTEX_BUILD_LUA=OFF \
    -DCMAKE_INSTALL_LIBDIR="$out/abs-libdir/lib64"
  run build cmake --build "$out/lib-abs" -j2
  run install cmake --install "$out/lib-abs" --prefix "$out/abs-prefix"
  pc=$out/abs-libdir/lib64/pkgconfig/futex.pc
  [ "$(sed -n 's/^libdir=//p' "$pc")" = "$out/abs-libdir/lib64" ] && ok "futex.pc: libdir=$out/abs-libdir/lib64 as given" ||
    bad "futex.pc libdir: $(grep ^libdir= "$pc")"
  [ "$(sed -n 's/^includedir=//p' "$pc")" = '${prefix}/include' ] && ok 'futex.pc: includedir=${prefix}/include' || bad "futex.pc includedir"
  pc_consumer "$out/abs-libdir/lib64/pkgconfig" ;;
add_subdirectory | fetchcontent)
  consumer "$mode" -DFUTEX_SOURCE_DIR="$src"
  grep -q "libfutex as a subproject: libraries only" "$out/$mode.configure.log" && ok "no tests, Lua module or demo built" ||
    bad "the subproject check did not run" ;;
mingw-plain)
  b=$out/mingw-plain
  rm -rf "$b" "$b-prefix"
  run configure cmake -S "$src" -B "$b" -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER=x86_64-w64-mingw32-gcc \
    -DFUTEX_BUILD_LUA=OFF -DFUTEX_BUILD_EMUL=OFF
  run build cmake --build "$b" -j2
  n=$(ls "$b"/tests/c/test-windows-*.exe 2>/dev/null | wc -l)
  [ "$n" -gt 0 ] && ok "the library and $n test programs link" || bad "no test programs built"
  run install cmake --install "$b" --prefix "$b-prefix"
  grep -q '^Libs.private: -lsynchronization' "$b-prefix/lib/pkgconfig/futex.pc" && ok "futex.pc: Libs.private -lsynchronization" ||
    bad "futex.pc on Windows: $(grep Libs "$b-prefix/lib/pkgconfig/futex.pc")" ;;
*)
  echo "usage: check.sh install|find_package|pkg-config|abs-libdir|add_subdirectory|fetchcontent|mingw-plain <src> <out>"; exit 2 ;;
esac
[ $fails -eq 0 ] && echo "install: $mode: passed" || echo "install: $mode: $fails FAILED"
[ $fails -eq 0 ]
