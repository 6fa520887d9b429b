-- `luarocks --lua-version 5.4 make` builds futex.so from this working tree and
-- installs it where lua5.4 finds it with no path set. The version is
-- FUTEX_VERSION in libfutex/futex.h; tests/lua checks that they agree.
rockspec_format = "3.0"
package = "futex"
version = "0.1.0-1"
source = {
   -- Placeholder until the first release is published; `luarocks make`
   -- builds from the checkout and never fetches it.
   url = "git+https://github.com/libfutex/libfutex.git",
   tag = "v0.1.0",
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
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   -- "command", not "builtin": builtin cannot pass -fvisibility=hidden, and
   -- the core must be compiled in hidden so that only luaopen_futex is
   -- exported (as the CMake build does). The build goes to build/luarocks so
   -- that no futex.so lands in the root, where Python's `import futex` or
   -- Lua's "./?.so" would pick it up. No liblua on the link line: the
   -- interpreter exports the Lua API.
   type = "command",
   build_command = [[mkdir -p build/luarocks && $(CC) $(CFLAGS) -std=c11 -fvisibility=hidden -DFUTEX_EXTERN= -D_GNU_SOURCE -I$(LUA_INCDIR) -Ilibfutex bindings/lua/lfutex.c libfutex/futex.c libfutex/backend.c libfutex/sync.c $(LIBFLAG) -pthread -o build/luarocks/futex.so]],
   install = {
      lib = { futex = "build/luarocks/futex.so" },
   },
}
