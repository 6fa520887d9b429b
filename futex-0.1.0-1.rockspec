-- `luarocks --lua-version 5.4 make` builds futex.so from this working tree
-- with CMake (any C compiler CMake knows) and installs only the Lua module.
-- The version is FUTEX_VERSION in libfutex/futex.h; tests/lua checks that
-- they agree.
rockspec_format = "3.0"
package = "futex"
version = "0.1.0-1"
source = {
   -- The working tree: `luarocks make` builds from the checkout and packs
   -- with `luarocks pack futex` from the tree it installed into. The project
   -- has no public repository or release URL yet, and this says so rather
   -- than naming a made-up one (hence no description.homepage either).
   url = "file://.",
}
description = {
   summary = "Wait and wake on a 32-bit word in memory shared between threads and processes",
   detailed = [[
futex.map(path, size) and futex.anon(size) map shared memory; region:cell(offset)
gives an atomic u32 with load/store/exchange/compare_exchange/fetch_*, wait and
wake, so Lua processes (and Python ones, through the Python binding) can block
on a value until a partner changes it. The libfutex core is compiled in.
]],
   license = "MIT",
   maintainer = "the libfutex authors",
   labels = { "concurrency", "ipc", "shared-memory", "synchronization", "futex", "ffi" },
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
-- The module maps memory with mmap(2): POSIX systems only (CMake skips it on
-- Windows). Built and tested on Linux; the other systems are built by the
-- C suite's cross-compiles, not through LuaRocks.
supported_platforms = { "unix" }
build = {
   -- CMake over the project's own CMakeLists.txt (as effil does), so the
   -- module gets the flags every other build uses (the core compiled in with
   -- hidden visibility, only luaopen_futex exported, -pthread where needed)
   -- from whichever compiler CMake finds. No liblua on the link line: the
   -- interpreter exports the Lua API.
   type = "cmake",
   variables = {
      CMAKE_BUILD_TYPE = "Release",
      CMAKE_INSTALL_PREFIX = "$(PREFIX)",
      FUTEX_LUA_INCLUDE_DIR = "$(LUA_INCDIR)",
      FUTEX_LUA_CMOD_DIR = "$(LIBDIR)",
      FUTEX_BUILD_LUA = "ON",
      FUTEX_BUILD_TESTS = "OFF",
      FUTEX_BUILD_EMUL = "OFF",
      FUTEX_INSTALL_LIBRARY = "OFF",
   },
}
