# Cross-compile with zig cc (PyPI ziglang, in build/venv: scripts/venv.sh
# makes it) for the target in FUTEX_ZIG_TARGET, which the zig-* presets set:
#
#   cmake --preset zig-windows     # x86_64-windows-gnu; ctest runs the suite under wine
#   cmake --preset zig-macos       # aarch64-macos; builds the library and the suite
#
# zig is one executable with the compiler as a subcommand; CMake wants one
# program per tool, so small wrappers (zig cc, zig ar, zig ranlib) are
# written into the build tree.
if(NOT FUTEX_ZIG_TARGET)
  set(FUTEX_ZIG_TARGET "$ENV{FUTEX_ZIG_TARGET}")
endif()
if(NOT FUTEX_ZIG_TARGET)
  message(FATAL_ERROR "cmake-toolchains/zig.cmake: set FUTEX_ZIG_TARGET (e.g. x86_64-windows-gnu)")
endif()
set(ENV{FUTEX_ZIG_TARGET} "${FUTEX_ZIG_TARGET}") # for the try_compile projects, which re-read this file
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FUTEX_ZIG_TARGET)

get_filename_component(_src "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
execute_process(COMMAND bash "${_src}/scripts/venv.sh" OUTPUT_VARIABLE _py OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND "${_py}" -P -c "import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))"
                OUTPUT_VARIABLE _zig OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT EXISTS "${_zig}")
  message(FATAL_ERROR "cmake-toolchains/zig.cmake: no zig in build/venv (ziglang)")
endif()

set(_wrap "${_src}/build/zig-wrappers/${FUTEX_ZIG_TARGET}")
file(MAKE_DIRECTORY "${_wrap}")
# zig's caches under build/, like everything the tests make.
set(_env "ZIG_GLOBAL_CACHE_DIR='${_src}/build/zig-cache' ZIG_LOCAL_CACHE_DIR='${_src}/build/zig-cache'")
file(WRITE "${_wrap}/cc" "#!/bin/sh\n${_env} exec '${_zig}' cc -target ${FUTEX_ZIG_TARGET} \"$@\"\n")
file(WRITE "${_wrap}/ar" "#!/bin/sh\n${_env} exec '${_zig}' ar \"$@\"\n")
file(WRITE "${_wrap}/ranlib" "#!/bin/sh\n${_env} exec '${_zig}' ranlib \"$@\"\n")
file(CHMOD "${_wrap}/cc" "${_wrap}/ar" "${_wrap}/ranlib" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CMAKE_C_COMPILER "${_wrap}/cc")
set(CMAKE_AR "${_wrap}/ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${_wrap}/ranlib" CACHE FILEPATH "zig ranlib")

if(FUTEX_ZIG_TARGET MATCHES "windows")
  set(CMAKE_SYSTEM_NAME Windows)
  set(FUTEX_WINDOWS_SYNCH_LIB api-ms-win-core-synch-l1-2-0 CACHE STRING "zig's name for synchronization.lib")
  find_program(FUTEX_WINE NAMES wine64 wine PATHS /usr/lib/wine NO_DEFAULT_PATH)
  if(NOT FUTEX_WINE)
    find_program(FUTEX_WINE NAMES wine64 wine)
  endif()
  if(FUTEX_WINE)
    # tests/wine-run.sh starts wine again when it fails before the program runs.
    set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/../tests/wine-run.sh ${FUTEX_WINE})
  endif()
elseif(FUTEX_ZIG_TARGET MATCHES "macos")
  set(CMAKE_SYSTEM_NAME Darwin)
elseif(FUTEX_ZIG_TARGET MATCHES "freebsd")
  set(CMAKE_SYSTEM_NAME FreeBSD)
elseif(FUTEX_ZIG_TARGET MATCHES "netbsd")
  set(CMAKE_SYSTEM_NAME NetBSD)
elseif(FUTEX_ZIG_TARGET MATCHES "openbsd")
  set(CMAKE_SYSTEM_NAME OpenBSD)
elseif(FUTEX_ZIG_TARGET MATCHES "wasm")
  set(CMAKE_SYSTEM_NAME WASI)
endif()
string(REGEX MATCH "^[a-z0-9_]+" CMAKE_SYSTEM_PROCESSOR "${FUTEX_ZIG_TARGET}")
