/*
 * A minimal Lua host whose SIGINT handler is installed with SA_RESTART, as
 * lua.c's is where it uses signal() (glibc's signal() restarts; Debian's
 * lua5.4 uses sigaction without it). After such a handler Linux restarts an
 * untimed FUTEX_WAIT in the kernel, so only a timed wait comes back to Lua:
 * signal_spec.lua runs its Ctrl-C tests under this host to prove that the
 * module's forever-waits return anyway.
 *
 *   sa_restart_host script.lua    (prints "interrupted!" on SIGINT, like lua.c)
 */
#define _POSIX_C_SOURCE 200809L /* sigaction under -std=c11 */

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

static lua_State *host; /* the one state, for the handler (as lua.c's globalL) */

static void stop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

static void on_sigint(int sig)
{
    (void)sig;
    lua_sethook(host, stop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s script.lua\n", argv[0]);
        return 2;
    }
    host = luaL_newstate();
    luaL_openlibs(host);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART; /* the point of this host */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (luaL_dofile(host, argv[1]) != LUA_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(host, -1));
        return 1;
    }
    return 0;
}
