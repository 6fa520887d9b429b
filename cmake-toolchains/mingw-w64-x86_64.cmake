# Cross-compile for 64-bit Windows with Debian's mingw-w64 (gcc-mingw-w64-x86-64)
# and run the results under wine64, so that `ctest` runs the C suite's windows
# suite against the real WaitOnAddress (wine implements it in ntdll).
#
#   cmake --preset mingw   (or -DCMAKE_TOOLCHAIN_FILE=cmake-toolchains/mingw-w64-x86_64.cmake)
#
# The posix thread model: the suite's tests use pthreads (winpthreads).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(_triple x86_64-w64-mingw32)
find_program(CMAKE_C_COMPILER NAMES ${_triple}-gcc-posix ${_triple}-gcc REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${_triple}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Static: the .exe files then need no libwinpthread-1.dll or libgcc DLL next to them under wine.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")

find_program(FUTEX_WINE NAMES wine64 wine PATHS /usr/lib/wine NO_DEFAULT_PATH)
if(NOT FUTEX_WINE)
  find_program(FUTEX_WINE NAMES wine64 wine)
endif()
if(FUTEX_WINE)
  # tests/wine-run.sh starts wine again when it fails before the program runs.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/../tests/wine-run.sh ${FUTEX_WINE})
endif()
