/*
 * The C floor of the Python and Lua ping-pongs, run inside their own two processes, in
 * turns with them (bench/py/pybench.py, bench/lua/pingpong.lua): the interpreter's round
 * trips and C's then meet the same placement, as the rows of one C group do (bench.cpp's
 * pingpong with several IMPLs). A pair of processes lands on near or far vCPUs, or on one,
 * and a round trip of 0.3-1 us moves by a third with it; a C floor in processes of its own
 * compared the interpreter with another placement as much as with C.
 *
 * The loop is bench.cpp's OURS across processes: add 1 and wake, then wait until the
 * partner's word moves past what we saw. Built twice by bench/run.sh from this file:
 * floor.so, a plain shared library for Python's ctypes, and benchfloor.so
 * (-DBENCH_FLOOR_LUA), a Lua module.
 */
#include "futex.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void post(uint32_t *w)
{
    futex_fetch_add(w, 1);
    futex_wake(w, 1, FUTEX_SHARED);
}

static void wait_past(const uint32_t *w, uint32_t seen)
{
    while (futex_load(w) == seen)
        futex_wait(w, seen, FUTEX_SHARED);
}

/* n round trips on w[0] (parent to child) and w[32] (128 bytes on: child to parent), both
 * holding `start`, the round trips they carried before. The parent stores each round
 * trip's microseconds in us[0..n). */
void bench_floor(uint32_t *w, uint32_t start, uint32_t n, int parent, double *us)
{
    for (uint32_t i = start; i != start + n; i++) {
        if (parent) {
            uint64_t t0 = now_ns();
            post(&w[0]);
            wait_past(&w[32], i);
            uint64_t t1 = now_ns();
            us[i - start] = (double)(t1 - t0) / 1000.0;
        } else {
            wait_past(&w[0], i);
            post(&w[32]);
        }
    }
}

#ifdef BENCH_FLOOR_LUA
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* benchfloor.map(path) -> the file's first page, mapped shared (a light userdata). */
static int lmap(lua_State *L)
{
    int fd = open(luaL_checkstring(L, 1), O_RDWR);
    if (fd < 0)
        return luaL_error(L, "benchfloor: cannot open %s", lua_tostring(L, 1));
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return luaL_error(L, "benchfloor: mmap failed");
    lua_pushlightuserdata(L, p);
    return 1;
}

static double *samples;
static size_t nsamples, cap;

/* benchfloor.turn(page, offset, start, n, parent): n round trips; the parent's samples
 * are kept for result(). */
static int lturn(lua_State *L)
{
    uint8_t *page = (uint8_t *)lua_touserdata(L, 1);
    lua_Integer off = luaL_checkinteger(L, 2), start = luaL_checkinteger(L, 3), n = luaL_checkinteger(L, 4);
    int parent = lua_toboolean(L, 5);
    luaL_argcheck(L, page != NULL && off >= 0 && off % 4 == 0 && off + 132 <= 4096, 2, "bad offset");
    luaL_argcheck(L, n >= 0 && n < 1000000, 4, "bad count");
    if (nsamples + (size_t)n > cap) {
        cap = (nsamples + (size_t)n) * 2;
        samples = (double *)realloc(samples, cap * sizeof *samples);
        if (samples == NULL)
            return luaL_error(L, "benchfloor: out of memory");
    }
    bench_floor((uint32_t *)(void *)(page + off), (uint32_t)start, (uint32_t)n, parent, samples + nsamples);
    if (parent)
        nsamples += (size_t)n;
    return 0;
}

/* benchfloor.result() -> "RESULT us <sample>...", and forgets the samples. */
static int lresult(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "RESULT us");
    for (size_t i = 0; i < nsamples; i++) {
        char s[32];
        int k = snprintf(s, sizeof s, " %.4g", samples[i]);
        luaL_addlstring(&b, s, (size_t)k);
    }
    luaL_pushresult(&b);
    nsamples = 0;
    return 1;
}

int luaopen_benchfloor(lua_State *L)
{
    static const luaL_Reg f[] = {{"map", lmap}, {"turn", lturn}, {"result", lresult}, {NULL, NULL}};
    luaL_newlib(L, f);
    return 1;
}
#endif
