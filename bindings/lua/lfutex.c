/*
 * The Lua 5.4 module: require "futex".
 *
 *   futex.map(path, size [, options]) / futex.anon(size)
 *                                              -> region   (shared memory, unmapped by close/__close/__gc)
 *   region:cell(offset)                        -> cell     (an atomic u32 word in the region)
 *   cell:load/store/exchange/compare_exchange/fetch_*, cell:wait/wake/wake_all
 *   cell:wait_until(value [, timeout])         -> true, or false at the deadline (the loop runs in C)
 *   cell:store_and_wake(value [, n])           -> woken count (nil: the OS does not say)
 *   cell:add_and_wake(delta [, n])             -> old value, woken count
 *   futex.deadline(timeout)                    -> deadline (wait/remaining/expired)
 *   region:mutex/semaphore/event/condition/barrier(offset, ...)
 *                                              -> the synchronization primitives (see below)
 *   futex.wait_any({cell, v}, ... [, timeout])  -> index of a word that changed, or false
 *   futex.watcher()                            -> watcher  (an fd a loop polls; a coroutine helper)
 *
 * A thin binding: atomics, deadlines and error texts are the core's. This
 * file only converts arguments, owns the mappings, and decides how a wait
 * hands control back to Lua when a signal arrives (see wait_on).
 *
 * No mutable statics: several Lua states (Lanes, effil) may load the module
 * in one process, and each keeps its metatables in its own registry.
 */
#include "futex.h"

#include <lauxlib.h>
#include <lua.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__GNUC__)
#define EXPORT __attribute__((visibility("default")))
#else
#define EXPORT
#endif

EXPORT int luaopen_futex(lua_State *L);

#define REGION "futex.region"
#define CELL "futex.cell"
#define DEADLINE "futex.deadline"

#define NS_PER_S 1e9

typedef struct region {
    unsigned char *base; /* NULL until mapped, and again once closed */
    size_t size;
    unsigned flags; /* FUTEX_SHARED where the backend can reach other processes */
    int broken;     /* a cell operation found the file shrunk under the mapping */
    int watched;    /* cells registered with a watcher: the mapping must stay */
    lua_State *main; /* the main thread of the Lua state that made it (see hooks_from) */
} region;

typedef struct cell {
    region *r; /* kept alive by the cell's user value, which is the region */
    size_t offset;
    int finalized; /* its __gc ran: never the last cell again (see selfcell) */
} cell;

/* The cells the cell methods last found to be cells: one set per Lua
 * state, a userdata the methods hold as upvalue 3 (see open_cells). Four,
 * replaced in turn: a ping-pong uses two, a lock or a queue a few. */
#define LAST_CELLS 4
typedef struct lastcell {
    const cell *c[LAST_CELLS];
    unsigned next; /* the slot the next new cell takes */
} lastcell;

/* ---- argument conversion ------------------------------------------------ */

/* A u32: an integer (or an integral float, as math.tointeger) in [0, 2^32).
 * lua_tointegerx first: luaL_checkinteger's extra call costs every cell
 * operation; it runs only to raise its error. */
static uint32_t checkvalue(lua_State *L, int arg)
{
    int isnum;
    lua_Integer v = lua_tointegerx(L, arg, &isnum);
    if (!isnum)
        v = luaL_checkinteger(L, arg); /* raises "number expected" or "no integer representation" */
    luaL_argcheck(L, v >= 0 && v <= (lua_Integer)UINT32_MAX, arg, "value out of range [0, 2^32)");
    return (uint32_t)v;
}

/* A wake count: nil for 1, past 2^32 for all. As checkvalue, the integer
 * is taken by lua_tointegerx; luaL_checkinteger only raises its error. */
static uint32_t checkcount(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return 1;
    int isnum;
    lua_Integer n = lua_tointegerx(L, arg, &isnum);
    if (!isnum)
        n = luaL_checkinteger(L, arg);
    luaL_argcheck(L, n >= 0, arg, "wake count must be >= 0");
    return n > (lua_Integer)UINT32_MAX ? FUTEX_ALL : (uint32_t)n;
}

/* Seconds, nil for forever, to nanoseconds by the core's one rule
 * (futex_seconds_to_ns: rounded up; math.huge and past ~584 years never end). */
static uint64_t checktimeout(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg))
        return FUTEX_FOREVER;
    uint64_t ns = 0;
    luaL_argcheck(L, futex_seconds_to_ns((double)luaL_checknumber(L, arg), &ns) == 0, arg,
                  "timeout must be a non-negative number of seconds");
    return ns;
}

static region *checkregion(lua_State *L, int arg)
{
    region *r = (region *)luaL_checkudata(L, arg, REGION);
    if (r->base == NULL)
        luaL_error(L, "region is closed");
    return r;
}

static cell *checkcell(lua_State *L, int arg)
{
    cell *c = (cell *)luaL_checkudata(L, arg, CELL);
    if (c->r->base == NULL)
        luaL_error(L, "region is closed");
    return c;
}

/* Whether c is one of the cells selfcell remembers. */
static int remembered(const lastcell *last, const cell *c)
{
    for (int i = 0; i < LAST_CELLS; i++)
        if (last->c[i] == c)
            return 1;
    return 0;
}

/* luaL_checkudata(L, 1, tname) for a method whose upvalue 2 is its class's
 * metatable address: the same test and error, without the registry lookup
 * by name. */
static void *selfof(lua_State *L, const char *tname)
{
    void *u = lua_touserdata(L, 1);
    int same = 0;
    if (u != NULL && lua_getmetatable(L, 1)) {
        same = lua_topointer(L, -1) == lua_touserdata(L, lua_upvalueindex(2));
        lua_pop(L, 1);
    }
    if (!same)
        luaL_typeerror(L, 1, tname);
    return u;
}

/* checkcell for the cell methods (upvalues: see open_cells). The same test
 * as luaL_checkudata, and the same error, but luaL_checkudata looks the
 * metatable up by name in the registry (a string hash and a table search):
 * that was half of cell:load()'s own cost. Here the metatable's address
 * is an upvalue, and a self that is one of the last cells seen skips even
 * that: a loop calls a few cells' methods over and over. A cell is
 * forgotten by its __gc before its memory can be reused, and a cell whose
 * __gc ran (a finalizer may resurrect it) is never remembered again, so
 * every address compared is a live cell's. (debug.setmetatable can break
 * this, as it can break luaL_checkudata's test: the debug library is
 * outside Lua's safety.) */
static cell *selfcell(lua_State *L)
{
    cell *c = (cell *)lua_touserdata(L, 1);
    lastcell *last = (lastcell *)lua_touserdata(L, lua_upvalueindex(3));
    if (c == NULL || !remembered(last, c)) {
        selfof(L, CELL);
        if (!c->finalized) {
            last->c[last->next] = c;
            last->next = (last->next + 1) % LAST_CELLS;
        }
    }
    if (c->r->base == NULL)
        luaL_error(L, "region is closed");
    return c;
}

/* __gc (upvalue 1: the lastcell) */
static int cell_gc(lua_State *L)
{
    cell *c = (cell *)luaL_checkudata(L, 1, CELL);
    lastcell *last = (lastcell *)lua_touserdata(L, lua_upvalueindex(1));
    c->finalized = 1;
    for (int i = 0; i < LAST_CELLS; i++)
        if (last->c[i] == c)
            last->c[i] = NULL;
    return 0;
}

static uint32_t *wordof(const cell *c) { return (uint32_t *)(void *)(c->r->base + c->offset); }

/* Every operation on a cell's word runs between guard() and unguard()
 * (futex_guard_begin/end): when another process shrank the file under the
 * region, the SIGBUS becomes this error instead of a dead process, and the
 * region stays broken. Nothing between the two may raise a Lua error. */
static int shrunk(lua_State *L)
{
    return luaL_error(L, "futex: %s", futex_strerror(-EFAULT));
}

static uint32_t *guard(lua_State *L, const cell *c)
{
    if (c->r->broken || futex_guard_begin(wordof(c)) < 0) {
        c->r->broken = 1;
        shrunk(L);
    }
    return wordof(c);
}

static void unguard(lua_State *L, const cell *c)
{
    if (futex_guard_end() < 0) {
        c->r->broken = 1; /* the operation ran on zeros: its result is meaningless */
        shrunk(L);
    }
}

/* ---- waiting ------------------------------------------------------------- */

/* The hooks of the running thread and of the main thread when a wait began.
 * lua5.4's SIGINT handler (and luaposix's) arm a hook on the main thread,
 * which only runs once that thread is back in the VM. */
typedef struct hooks {
    lua_State *main;
    lua_Hook own, main_hook;
} hooks;

/* With the main thread known (a region keeps its state's: see newregion),
 * saving the hooks is two loads, not a registry lookup per wait. */
static void hooks_from(lua_State *L, lua_State *main, hooks *h)
{
    h->main = main;
    h->own = lua_gethook(L);
    h->main_hook = lua_gethook(main);
}

static lua_State *main_thread(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State *main = lua_tothread(L, -1);
    lua_pop(L, 1);
    return main;
}

static void hooks_save(lua_State *L, hooks *h) { hooks_from(L, main_thread(L), h); }

static int hooks_changed(lua_State *L, const hooks *h)
{
    return lua_gethook(L) != h->own || lua_gethook(h->main) != h->main_hook;
}

/* A signal hook armed on the main thread while a coroutine waited would only
 * run after the coroutine yields, which a wait loop never does: arm the same
 * hook on the coroutine, so Ctrl-C ends a wait inside a coroutine too. */
static void hooks_follow(lua_State *L, const hooks *h)
{
    lua_Hook m = lua_gethook(h->main);
    if (L != h->main && m != NULL && m != h->main_hook && lua_gethook(L) == h->own)
        lua_sethook(L, m, lua_gethookmask(h->main), lua_gethookcount(h->main));
}

/* One wait until *d, returned to Lua as a boolean: false only when the
 * deadline has passed. The core's interruptible wait returns -EINTR when a
 * signal handler ran (or, where the OS wait cannot see signals, after each
 * slice): if the handler armed a hook (lua5.4's SIGINT, luaposix), return a
 * spurious wake so the VM runs it before the caller's loop waits again;
 * otherwise wait on, on the same deadline. */
static int wait_on(lua_State *L, const cell *c, uint32_t expected, const futex_deadline *d)
{
    hooks h;
    hooks_from(L, c->r->main, &h);
    unsigned flags = c->r->flags;
    int rc;
    uint32_t *w = guard(L, c);
    while ((rc = futex_deadline_wait_intr(d, w, expected, flags)) == -EINTR) {
        if (hooks_changed(L, &h))
            break;
        flags |= FUTEX_NOSPIN; /* spun once already */
    }
    unguard(L, c);
    switch (rc) {
    case 0:       /* woken, or a spurious wake: the caller re-checks the word */
    case -EAGAIN: /* the word did not hold expected: nothing to wait for */
        lua_pushboolean(L, 1);
        return 1;
    case -EINTR: /* a signal's hook is armed: back to the VM so it runs */
        hooks_follow(L, &h);
        lua_pushboolean(L, 1);
        return 1;
    case -ETIMEDOUT: /* the core checked its clock: the deadline passed */
        lua_pushboolean(L, 0);
        return 1;
    default: /* -EFAULT, -ENOSYS, -EPERM, -EDEADLK, ...: the OS refused; say why */
        return luaL_error(L, "futex wait: %s", futex_strerror(rc));
    }
}

/* ---- cells ---------------------------------------------------------------- */

static int cell_load(lua_State *L)
{
    cell *c = selfcell(L);
    uint32_t v = futex_load(guard(L, c));
    unguard(L, c);
    lua_pushinteger(L, v);
    return 1;
}

static int cell_store(lua_State *L)
{
    cell *c = selfcell(L);
    uint32_t v = checkvalue(L, 2);
    futex_store(guard(L, c), v);
    unguard(L, c);
    return 0;
}

static int cell_compare_exchange(lua_State *L)
{
    cell *c = selfcell(L);
    uint32_t expected = checkvalue(L, 2), desired = checkvalue(L, 3);
    uint32_t old = futex_compare_exchange(guard(L, c), expected, desired);
    unguard(L, c);
    lua_pushinteger(L, old);
    return 1;
}

/* The read-modify-write ops share one shape: (cell, value) -> old value. */
#define CELL_RMW(op)                                                                                             \
    static int cell_##op(lua_State *L)                                                                          \
    {                                                                                                            \
        cell *c = selfcell(L);                                                                                   \
        uint32_t v = checkvalue(L, 2);                                                                           \
        uint32_t old = futex_##op(guard(L, c), v);                                                               \
        unguard(L, c);                                                                                           \
        lua_pushinteger(L, old);                                                                                 \
        return 1;                                                                                                \
    }
CELL_RMW(exchange)
CELL_RMW(fetch_add)
CELL_RMW(fetch_sub)
CELL_RMW(fetch_and)
CELL_RMW(fetch_or)
CELL_RMW(fetch_xor)

static int cell_wait(lua_State *L)
{
    cell *c = selfcell(L);
    uint32_t expected = checkvalue(L, 2);
    uint64_t timeout = checktimeout(L, 3);
    futex_deadline d; /* timeout 0 is a deadline already passed: the core only checks the word */
    futex_deadline_init(&d, timeout);
    return wait_on(L, c, expected, &d);
}

static int wake(lua_State *L, const cell *c, uint32_t n)
{
    int rc = futex_wake(guard(L, c), n, c->r->flags);
    unguard(L, c);
    if (rc == FUTEX_UNCOUNTED)
        lua_pushnil(L); /* the OS woke them without saying how many */
    else if (rc >= 0)
        lua_pushinteger(L, rc);
    else
        return luaL_error(L, "futex wake: %s", futex_strerror(rc));
    return 1;
}

static int cell_wake(lua_State *L)
{
    cell *c = selfcell(L);
    return wake(L, c, checkcount(L, 2));
}

static int cell_wake_all(lua_State *L) { return wake(L, selfcell(L), FUTEX_ALL); }

/* ---- waits whose loop runs in C, and store/add-then-wake ----------------- */

/* Lets the hooks a signal handler armed (lua5.4's SIGINT, luaposix) run now,
 * inside this call: running a line of Lua fires call, count and line hooks
 * alike. A hook that raises (Ctrl-C's "interrupted!") ends the call here. */
static void run_noop(lua_State *L)
{
    if (luaL_loadstring(L, "return") != LUA_OK)
        lua_error(L);
    lua_call(L, 0, 0);
}

/* cell:wait_until(value [, timeout]) -> true once the cell holds value, false
 * at the deadline. The loop runs in the core (futex_wait_until); when a
 * signal's hook is armed it runs here and the wait goes on, on the same
 * deadline, so true always means the value was seen. */
static int cell_wait_until(lua_State *L)
{
    cell *c = selfcell(L);
    uint32_t want = checkvalue(L, 2);
    uint64_t timeout = checktimeout(L, 3);
    /* A partner that answered already (a ping-pong's usual case) is seen
     * before the deadline and the hooks are set up for a wait. */
    uint32_t now = futex_load(guard(L, c));
    unguard(L, c);
    if (now == want) {
        lua_pushboolean(L, 1);
        return 1;
    }
    futex_deadline d;
    futex_deadline_init(&d, timeout);
    unsigned flags = c->r->flags;
    for (;;) {
        hooks h;
        hooks_from(L, c->r->main, &h);
        int rc;
        uint32_t *w = guard(L, c);
        while ((rc = futex_wait_until(&d, w, want, flags)) == -EINTR) {
            flags |= FUTEX_NOSPIN; /* spun once already */
            if (hooks_changed(L, &h))
                break;
        }
        unguard(L, c);
        switch (rc) {
        case 0: /* the core saw the word hold want */
            lua_pushboolean(L, 1);
            return 1;
        case -ETIMEDOUT: /* the core checked its clock: the deadline passed */
            lua_pushboolean(L, 0);
            return 1;
        case -EINTR: /* a signal's hook is armed: run it, then wait on */
            hooks_follow(L, &h);
            run_noop(L);
            continue;
        default: /* -EFAULT, -ENOSYS, -EPERM, -EDEADLK, ...: the OS refused; say why */
            return luaL_error(L, "futex wait_until: %s", futex_strerror(rc));
        }
    }
}

/* Both return the wake's result as cell:wake does; add_and_wake first the
 * old value. Arguments are checked before the word is touched. */
static int change_and_wake(lua_State *L, int add)
{
    cell *c = selfcell(L);
    uint32_t v = checkvalue(L, 2);
    uint32_t max = checkcount(L, 3), old = 0;
    uint32_t *w = guard(L, c);
    int rc = add ? futex_add_wake(w, v, max, c->r->flags, &old) : futex_store_wake(w, v, max, c->r->flags);
    unguard(L, c);
    if (rc < 0 && rc != FUTEX_UNCOUNTED)
        return luaL_error(L, "futex wake: %s", futex_strerror(rc));
    if (add)
        lua_pushinteger(L, old);
    if (rc == FUTEX_UNCOUNTED)
        lua_pushnil(L); /* the OS woke them without saying how many */
    else
        lua_pushinteger(L, rc);
    return add ? 2 : 1;
}

static int cell_store_and_wake(lua_State *L) { return change_and_wake(L, 0); }
static int cell_add_and_wake(lua_State *L) { return change_and_wake(L, 1); }

static int cell_tostring(lua_State *L)
{
    cell *c = (cell *)luaL_checkudata(L, 1, CELL);
    if (c->r->base == NULL)
        lua_pushfstring(L, CELL " (offset %I, closed)", (lua_Integer)c->offset);
    else if (c->r->broken || futex_guard_begin(wordof(c)) < 0)
        lua_pushfstring(L, CELL " (offset %I, file shrank)", (lua_Integer)c->offset);
    else {
        uint32_t v = futex_load(wordof(c));
        if (futex_guard_end() < 0) {
            c->r->broken = 1;
            lua_pushfstring(L, CELL " (offset %I, file shrank)", (lua_Integer)c->offset);
        } else {
            lua_pushfstring(L, CELL " (offset %I, value %I)", (lua_Integer)c->offset, (lua_Integer)v);
        }
    }
    return 1;
}

/* ---- regions -------------------------------------------------------------- */

static int region_cell(lua_State *L)
{
    region *r = checkregion(L, 1);
    lua_Integer off = luaL_checkinteger(L, 2);
    luaL_argcheck(L, off >= 0 && (size_t)off <= r->size - 4, 2, "offset outside the region");
    luaL_argcheck(L, off % 4 == 0, 2, "offset must be a multiple of 4");
    cell *c = (cell *)lua_newuserdatauv(L, sizeof *c, 1);
    c->r = r;
    c->offset = (size_t)off;
    c->finalized = 0;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1); /* the cell keeps its region (and so the mapping) alive */
    luaL_setmetatable(L, CELL);
    return 1;
}

static int region_close(lua_State *L)
{
    region *r = (region *)luaL_checkudata(L, 1, REGION);
    if (r->base != NULL && r->watched > 0) /* a watcher's helper thread reads its words */
        return luaL_error(L, "region is watched: remove its cells from the watcher first");
    if (r->base != NULL) {
        if (r->broken) /* the address may be mapped again: forget its dead pages */
            futex_guard_forget(r->base, r->size);
        /* munmap only fails for arguments we made ourselves. */
        munmap(r->base, r->size);
        r->base = NULL;
    }
    return 0;
}

static int region_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)checkregion(L, 1)->size);
    return 1;
}

static int region_tostring(lua_State *L)
{
    region *r = (region *)luaL_checkudata(L, 1, REGION);
    if (r->base == NULL)
        lua_pushliteral(L, REGION " (closed)");
    else
        lua_pushfstring(L, REGION " (%I bytes at %p)", (lua_Integer)r->size, (void *)r->base);
    return 1;
}

/* The region's userdata, made before mapping so that a memory error cannot
 * leak a mapping. */
static region *newregion(lua_State *L, size_t size)
{
    region *r = (region *)lua_newuserdatauv(L, sizeof *r, 0);
    r->base = NULL;
    r->broken = 0;
    r->watched = 0;
    r->main = main_thread(L); /* fixed for the state's life, which the region cannot outlive */
    r->size = size;
    r->flags = (futex_capabilities() & FUTEX_CAP_SHARED) ? FUTEX_SHARED : FUTEX_PRIVATE;
    luaL_setmetatable(L, REGION);
    return r;
}

static size_t checksize(lua_State *L, int arg)
{
    lua_Integer size = luaL_checkinteger(L, arg);
    luaL_argcheck(L, size >= 4, arg, "size must be at least 4 bytes");
    luaL_argcheck(L, (lua_Unsigned)size <= (SIZE_MAX >> 1), arg, "size too large"); /* 32-bit size_t */
    return (size_t)size;
}

/* An optional boolean field of the options table at arg (absent: dflt). */
static int optflag(lua_State *L, int arg, const char *name, int dflt)
{
    if (lua_isnoneornil(L, arg))
        return dflt;
    lua_getfield(L, arg, name);
    int v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* nil, "path: message", errno, as io.open; the fd closed and a file this
 * call created removed first, so a failed map leaves nothing behind. */
static int map_fail(lua_State *L, const char *path, int fd, int created, int err, const char *why)
{
    if (fd >= 0)
        close(fd);
    if (created)
        unlink(path);
    if (why == NULL) {
        errno = err;
        return luaL_fileresult(L, 0, path);
    }
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, why);
    lua_pushinteger(L, err);
    return 3;
}

/* futex.map(path, size [, options]): a MAP_SHARED mapping of a file that
 * other processes map too. It never follows a symlink at the last path
 * component (ELOOP), maps only regular files, and refuses a file another user
 * owns (EPERM) unless options.shared_with_others; options.exclusive creates
 * the file and fails (EEXIST) if it exists. On a backend that cannot wait
 * across processes (no CAP_SHARED) it refuses (ENOTSUP) unless
 * options.shared == false asks for a process-private region. */
static int f_map(lua_State *L)
{
    size_t len;
    const char *path = luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, strlen(path) == len, 1, "path contains a \\0 byte");
    size_t size = checksize(L, 2);
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    int shared = optflag(L, 3, "shared", 1);
    int others = optflag(L, 3, "shared_with_others", 0);
    int exclusive = optflag(L, 3, "exclusive", 0);
    if (shared && !(futex_capabilities() & FUTEX_CAP_SHARED)) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s (%s); pass {shared = false} for a process-private region", path,
                        futex_strerror(-ENOTSUP), futex_backend());
        lua_pushinteger(L, ENOTSUP);
        return 3;
    }
    region *r = newregion(L, size);
    r->flags = shared ? FUTEX_SHARED : FUTEX_PRIVATE;
    /* O_NOFOLLOW: a symlink planted where we expect our file must not
     * redirect the map (and its ftruncate) to someone else's file.
     * O_NONBLOCK: opening a FIFO planted there must not hang; it is refused
     * below. O_CLOEXEC: children started with io.popen must not inherit it. */
    int oflags = O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (exclusive ? O_EXCL : 0);
    int created = 0;
    int fd = open(path, oflags | O_EXCL, 0600);
    if (fd >= 0)
        created = 1;
    else if (errno == EEXIST && !exclusive)
        fd = open(path, oflags & ~O_CREAT, 0600);
    if (fd < 0)
        return map_fail(L, path, -1, 0, errno, NULL);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return map_fail(L, path, fd, created, errno, NULL);
    if (!S_ISREG(st.st_mode))
        return map_fail(L, path, fd, created, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "not a regular file");
    if (st.st_uid != geteuid() && !others)
        return map_fail(L, path, fd, created, EPERM,
                        "owned by another user (pass {shared_with_others = true} to map it anyway)");
    /* Grow only: a partner may already use a larger file. Two processes that
     * grow one file at once to different sizes race; map with one size. */
    if ((uintmax_t)st.st_size < (uintmax_t)size && ftruncate(fd, (off_t)size) != 0)
        return map_fail(L, path, fd, created, errno, NULL);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return map_fail(L, path, fd, created, errno, NULL);
    r->base = (unsigned char *)p;
    close(fd); /* the mapping outlives the descriptor */
    return 1;
}

static int f_anon(lua_State *L)
{
    size_t size = checksize(L, 1);
    region *r = newregion(L, size);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return luaL_fileresult(L, 0, NULL);
    r->base = (unsigned char *)p;
    return 1;
}

/* ---- deadlines ------------------------------------------------------------ */

static int f_deadline(lua_State *L)
{
    uint64_t timeout = checktimeout(L, 1);
    futex_deadline *d = (futex_deadline *)lua_newuserdatauv(L, sizeof *d, 0);
    futex_deadline_init(d, timeout);
    luaL_setmetatable(L, DEADLINE);
    return 1;
}

static futex_deadline *checkdeadline(lua_State *L, int arg)
{
    return (futex_deadline *)luaL_checkudata(L, arg, DEADLINE);
}

static int deadline_wait(lua_State *L)
{
    futex_deadline *d = checkdeadline(L, 1);
    cell *c = checkcell(L, 2);
    uint32_t expected = checkvalue(L, 3);
    return wait_on(L, c, expected, d);
}

static int deadline_remaining(lua_State *L)
{
    uint64_t ns = futex_deadline_remaining_ns(checkdeadline(L, 1));
    if (ns == FUTEX_FOREVER)
        lua_pushnil(L); /* never expires */
    else
        lua_pushnumber(L, (lua_Number)ns / NS_PER_S);
    return 1;
}

static int deadline_expired(lua_State *L)
{
    lua_pushboolean(L, futex_deadline_remaining_ns(checkdeadline(L, 1)) == 0);
    return 1;
}

static int deadline_tostring(lua_State *L)
{
    uint64_t ns = futex_deadline_remaining_ns(checkdeadline(L, 1));
    if (ns == FUTEX_FOREVER)
        lua_pushliteral(L, DEADLINE " (never)");
    else
        lua_pushfstring(L, DEADLINE " (%f s left)", (lua_Number)ns / NS_PER_S);
    return 1;
}

/* ---- synchronization primitives ------------------------------------------ */

/* region:mutex/semaphore/event/condition/barrier(off, ...) -> an object at
 * that offset of the region, with the core's layout, so a C program and a
 * Python process can use the same one in the same file. Like a cell, each
 * keeps its region alive (user value 1); a condition also keeps its mutex
 * (user value 2).
 *
 * Results, in Lua's conventions: bad arguments and misuse (re-acquiring
 * your own mutex, releasing one you do not hold, a semaphore released past
 * its bound, wait/notify without the mutex) raise errors; a timeout is
 * false; failures of the OS or of the shared state return nil, message,
 * errno. Owner death: acquire (and condition wait) return true, "owner died"
 * with the mutex held. */

typedef struct prim {
    region *r;
    size_t offset;
} prim;

#define MUTEX "futex.mutex"
#define SEMAPHORE "futex.semaphore"
#define EVENT "futex.event"
#define CONDITION "futex.condition"
#define BARRIER "futex.barrier"

static void *memof(const prim *p) { return (void *)(p->r->base + p->offset); }

static prim *checkprim(lua_State *L, int arg, const char *tname)
{
    prim *p = (prim *)luaL_checkudata(L, arg, tname);
    if (p->r->base == NULL)
        luaL_error(L, "region is closed");
    return p;
}

/* checkprim for the methods' self (argument 1), by selfof: upvalue 2 of
 * every method is its class's metatable (see newprimclass). A hand-off
 * makes two or three of these calls a side, as cells do. */
static prim *selfprim(lua_State *L, const char *tname)
{
    prim *p = (prim *)selfof(L, tname);
    if (p->r->base == NULL)
        luaL_error(L, "region is closed");
    return p;
}

/* region:<kind>(off, ...) common part: size/align checks, the userdata. */
static prim *newprim(lua_State *L, const char *tname, size_t size, size_t align, int nuv)
{
    region *r = checkregion(L, 1);
    lua_Integer off = luaL_checkinteger(L, 2);
    luaL_argcheck(L, off >= 0 && r->size >= size && (size_t)off <= r->size - size, 2, "offset outside the region");
    luaL_argcheck(L, (size_t)off % align == 0, 2, "offset not aligned for this primitive");
    prim *p = (prim *)lua_newuserdatauv(L, sizeof *p, nuv);
    p->r = r;
    p->offset = (size_t)off;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1); /* keeps the region (and so the mapping) alive */
    luaL_setmetatable(L, tname);
    return p;
}

/* nil, message, errno: a failure of the OS or of the shared state. */
static int failure(lua_State *L, int rc)
{
    lua_pushnil(L);
    lua_pushstring(L, futex_strerror(rc));
    lua_pushinteger(L, -rc);
    return 3;
}

/* The one blocking policy of the primitives. Sleeps in the core until the
 * deadline (FUTEX_FOREVER never expires); after -EINTR it goes
 * back through the VM -- it calls a Lua no-op, which fires the call and
 * count hooks a signal handler (lua.c's, luaposix's) armed -- and, unless
 * the hook raised, calls the core again with the same deadline. The core
 * left the primitive consistent for that (not taken / mutex re-held /
 * barrier ticket kept). If the hook raises, on_raise(p, arg) undoes what
 * must be (a barrier is broken, as in Python) before the error propagates.
 *
 * A handler that runs while the core is between two sleeps (a mutex
 * waiter's liveness check) gives no -EINTR; so calls that a timeout leaves
 * unchanged (sliceable: mutex, semaphore, condition; an event only where
 * a signal cannot end the OS wait, since a set and clear between two
 * slices would be missed) sleep one futex_deadline_slice at a time and look for a newly
 * armed hook in between, as cell waits do on backends without
 * FUTEX_CAP_INTERRUPTIBLE. */
typedef int (*blocking_call)(const prim *p, const futex_deadline *d, void *arg);

static int block(lua_State *L, blocking_call call, const prim *p, void *arg, uint64_t timeout_ns, int sliceable,
                 void (*on_raise)(const prim *, void *))
{
    futex_deadline d; /* FUTEX_FOREVER: one that never expires */
    futex_deadline_init(&d, timeout_ns);
    hooks h;
    hooks_from(L, p->r->main, &h); /* the region knows its main thread: no registry lookup */
    for (;;) {
        futex_deadline slice = d;
        int sliced = sliceable ? futex_deadline_slice(&d, &slice) : 0;
        int rc = call(p, &slice, arg);
        if (rc == -ETIMEDOUT && sliced) {
            if (!hooks_changed(L, &h))
                continue; /* only our slice ended, and no signal's hook waits */
            rc = -EINTR;
        }
        if (rc != -EINTR)
            return rc;
        hooks_follow(L, &h);
        lua_pushvalue(L, lua_upvalueindex(1)); /* the no-op */
        if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
            if (on_raise != NULL)
                on_raise(p, arg);
            return lua_error(L); /* the hook's error (lua.c: "interrupted!") */
        }
        hooks_from(L, p->r->main, &h); /* the hook ran and did not raise: watch for the next one */
    }
}

/* ---- mutex ---- */

static int region_mutex(lua_State *L)
{
    newprim(L, MUTEX, FUTEX_MUTEX_SIZE, FUTEX_MUTEX_ALIGN, 1);
    return 1;
}

static int call_mutex_lock(const prim *p, const futex_deadline *d, void *arg)
{
    (void)arg;
    return futex_mutex_timedlock((futex_mutex *)memof(p), d, p->r->flags);
}

/* Results of a lock (acquire, and a condition wait's re-lock). */
static int lock_result(lua_State *L, int rc)
{
    switch (rc) {
    case 0:
        lua_pushboolean(L, 1);
        return 1;
    case -EOWNERDEAD: /* held: repair, then consistent() */
        lua_pushboolean(L, 1);
        lua_pushliteral(L, "owner died");
        return 2;
    case -EBUSY:     /* a try (timeout 0) found it held */
    case -ETIMEDOUT: /* the core checked that the deadline passed */
        lua_pushboolean(L, 0);
        return 1;
    case -EDEADLK:
        return luaL_error(L, "mutex already held by this thread (it is not recursive)");
    default: /* -ENOTRECOVERABLE, -ENOTSUP, -EINVAL, OS errors */
        return failure(L, rc);
    }
}

static int mutex_acquire(lua_State *L)
{
    prim *p = selfprim(L, MUTEX);
    uint64_t timeout = checktimeout(L, 2);
    /* First without a deadline: the uncontended path makes no clock call. */
    int rc = futex_mutex_trylock((futex_mutex *)memof(p), p->r->flags);
    if (rc == -EBUSY && timeout != 0)
        rc = block(L, call_mutex_lock, p, NULL, timeout, 1, NULL);
    return lock_result(L, rc);
}

static int mutex_release(lua_State *L)
{
    prim *p = selfprim(L, MUTEX);
    int rc = futex_mutex_unlock((futex_mutex *)memof(p), p->r->flags);
    if (rc == -EPERM)
        return luaL_error(L, "release of a mutex not held by this thread");
    if (rc < 0)
        return failure(L, rc); /* -ENOTRECOVERABLE: released, and now unusable */
    lua_pushboolean(L, 1);
    return 1;
}

static int mutex_consistent(lua_State *L)
{
    prim *p = selfprim(L, MUTEX);
    int rc = futex_mutex_consistent((futex_mutex *)memof(p));
    if (rc == -EPERM)
        return luaL_error(L, "consistent: the mutex is not held by this thread");
    if (rc == -EINVAL)
        return luaL_error(L, "consistent: the mutex is not inconsistent (no owner died)");
    lua_pushboolean(L, 1);
    return 1;
}

static int mutex_locked(lua_State *L)
{
    lua_pushboolean(L, futex_mutex_locked((futex_mutex *)memof(selfprim(L, MUTEX))) == 1);
    return 1;
}

static int mutex_is_owned(lua_State *L)
{
    lua_pushboolean(L, futex_mutex_is_owned((futex_mutex *)memof(selfprim(L, MUTEX))) == 1);
    return 1;
}

/* A held mutex is linked into its holder thread's robust list (the linux
 * backend), which the core and the kernel write through; once this
 * userdata goes, its region may be unmapped. Collected while we hold it:
 * release it, which unlinks it. */
static int mutex_gc(lua_State *L)
{
    prim *p = (prim *)luaL_checkudata(L, 1, MUTEX);
    if (p->r->base != NULL && futex_mutex_is_owned((futex_mutex *)memof(p)) == 1)
        (void)futex_mutex_unlock((futex_mutex *)memof(p), p->r->flags);
    return 0;
}

static int prim_tostring(lua_State *L)
{
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__name");
    prim *p = (prim *)lua_touserdata(L, 1);
    lua_pushfstring(L, "%s (offset %I%s)", lua_tostring(L, -1), (lua_Integer)p->offset,
                    p->r->base == NULL ? ", closed" : "");
    return 1;
}

/* ---- semaphore ---- */

static int region_semaphore(lua_State *L)
{
    int create = !lua_isnoneornil(L, 3);
    lua_Integer value = luaL_optinteger(L, 3, 0), bound = luaL_optinteger(L, 4, 0);
    luaL_argcheck(L, value >= 0 && value <= (lua_Integer)FUTEX_SEM_VALUE_MAX, 3, "value out of range");
    luaL_argcheck(L, bound >= 0 && bound <= (lua_Integer)FUTEX_SEM_VALUE_MAX, 4, "bound out of range");
    luaL_argcheck(L, bound == 0 || value <= bound, 4, "value is past the bound");
    luaL_argcheck(L, create || bound == 0, 4, "a bound is stored with a value");
    prim *p = newprim(L, SEMAPHORE, FUTEX_SEM_SIZE, FUTEX_SEM_ALIGN, 1);
    if (create)
        futex_sem_init((futex_sem *)memof(p), (uint32_t)value, (uint32_t)bound); /* arguments checked above */
    return 1;
}

static int call_sem_wait(const prim *p, const futex_deadline *d, void *arg)
{
    (void)arg;
    return futex_sem_wait((futex_sem *)memof(p), d, p->r->flags);
}

static int sem_acquire(lua_State *L)
{
    prim *p = selfprim(L, SEMAPHORE);
    uint64_t timeout = checktimeout(L, 2);
    int rc = futex_sem_trywait((futex_sem *)memof(p));
    if (rc == -EAGAIN && timeout != 0)
        rc = block(L, call_sem_wait, p, NULL, timeout, 1, NULL);
    if (rc == 0 || rc == -EAGAIN || rc == -ETIMEDOUT) {
        lua_pushboolean(L, rc == 0);
        return 1;
    }
    return failure(L, rc);
}

static int sem_release(lua_State *L)
{
    prim *p = selfprim(L, SEMAPHORE);
    lua_Integer n = luaL_optinteger(L, 2, 1);
    luaL_argcheck(L, n >= 1 && n <= (lua_Integer)FUTEX_SEM_VALUE_MAX, 2, "count must be >= 1");
    int rc = futex_sem_post((futex_sem *)memof(p), (uint32_t)n, p->r->flags);
    if (rc == -EOVERFLOW)
        return luaL_error(L, "semaphore released too many times (past its bound)");
    if (rc < 0)
        return failure(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int sem_get_value(lua_State *L)
{
    lua_pushinteger(L, futex_sem_getvalue((futex_sem *)memof(selfprim(L, SEMAPHORE))));
    return 1;
}

static int sem_bound(lua_State *L)
{
    int b = futex_sem_bound((futex_sem *)memof(selfprim(L, SEMAPHORE)));
    if ((uint32_t)b == FUTEX_SEM_VALUE_MAX)
        lua_pushnil(L); /* unbounded */
    else
        lua_pushinteger(L, b);
    return 1;
}

/* ---- event ---- */

static int region_event(lua_State *L)
{
    newprim(L, EVENT, FUTEX_EVENT_SIZE, FUTEX_EVENT_ALIGN, 1);
    return 1;
}

static int call_event_wait(const prim *p, const futex_deadline *d, void *arg)
{
    (void)arg;
    return futex_event_wait((futex_event *)memof(p), d, p->r->flags);
}

static int event_set(lua_State *L)
{
    prim *p = selfprim(L, EVENT);
    int rc = futex_event_set((futex_event *)memof(p), p->r->flags);
    if (rc < 0)
        return failure(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int event_clear(lua_State *L)
{
    futex_event_clear((futex_event *)memof(selfprim(L, EVENT)));
    lua_pushboolean(L, 1);
    return 1;
}

static int event_is_set(lua_State *L)
{
    lua_pushboolean(L, futex_event_is_set((futex_event *)memof(selfprim(L, EVENT))) == 1);
    return 1;
}

static int event_wait(lua_State *L)
{
    prim *p = selfprim(L, EVENT);
    uint64_t timeout = checktimeout(L, 2);
    int rc = 0; /* set already: no need to sleep */
    if (futex_event_is_set((futex_event *)memof(p)) != 1)
        rc = block(L, call_event_wait, p, NULL, timeout, !(futex_capabilities() & FUTEX_CAP_INTERRUPTIBLE), NULL);
    if (rc == 0 || rc == -ETIMEDOUT) {
        lua_pushboolean(L, rc == 0);
        return 1;
    }
    return failure(L, rc);
}

/* ---- condition ---- */

static int region_condition(lua_State *L)
{
    prim *m = checkprim(L, 3, MUTEX);
    luaL_argcheck(L, m->r->flags == checkregion(L, 1)->flags, 3, "the mutex's region must be as shared as this one");
    newprim(L, CONDITION, FUTEX_COND_SIZE, FUTEX_COND_ALIGN, 2);
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, -2, 2); /* keeps the mutex (and its region) alive */
    return 1;
}

/* The condition's mutex, from user value 2 (pushed nowhere: it is kept). */
static prim *mutexof(lua_State *L, int arg)
{
    lua_getiuservalue(L, arg, 2);
    prim *m = (prim *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (m->r->base == NULL)
        luaL_error(L, "the mutex's region is closed");
    return m;
}

typedef struct cond_wait_arg {
    prim *m;
} cond_wait_arg;

static int call_cond_wait(const prim *p, const futex_deadline *d, void *arg)
{
    prim *m = ((cond_wait_arg *)arg)->m;
    return futex_cond_wait((futex_cond *)memof(p), (futex_mutex *)memof(m), d, p->r->flags);
}

static int cond_wait(lua_State *L)
{
    prim *p = selfprim(L, CONDITION);
    uint64_t timeout = checktimeout(L, 2);
    cond_wait_arg a = {mutexof(L, 1)};
    if (futex_mutex_is_owned((futex_mutex *)memof(a.m)) != 1)
        return luaL_error(L, "condition wait without its mutex held");
    int rc = block(L, call_cond_wait, p, &a, timeout, 1, NULL);
    if (rc == -EPERM) /* the mutex was let go by a hook: misuse */
        return luaL_error(L, "condition wait without its mutex held");
    return lock_result(L, rc); /* true (notified), false (timeout; held), true, "owner died" */
}

static int cond_notify_n(lua_State *L, int all)
{
    prim *p = selfprim(L, CONDITION);
    lua_Integer n = all ? 0 : luaL_optinteger(L, 2, 1);
    luaL_argcheck(L, n >= 0, 2, "count must be >= 0");
    if (futex_mutex_is_owned((futex_mutex *)memof(mutexof(L, 1))) != 1)
        return luaL_error(L, "condition notify without its mutex held");
    int rc = all ? futex_cond_notify_all((futex_cond *)memof(p), p->r->flags)
                 : futex_cond_notify((futex_cond *)memof(p), n > (lua_Integer)UINT32_MAX ? UINT32_MAX : (uint32_t)n,
                                     p->r->flags);
    if (rc < 0)
        return failure(L, rc);
    lua_pushinteger(L, rc); /* how many were designated */
    return 1;
}

static int cond_notify(lua_State *L) { return cond_notify_n(L, 0); }
static int cond_notify_all(lua_State *L) { return cond_notify_n(L, 1); }

static int cond_mutex(lua_State *L)
{
    selfprim(L, CONDITION);
    lua_getiuservalue(L, 1, 2);
    return 1;
}

/* ---- barrier ---- */

static int region_barrier(lua_State *L)
{
    lua_Integer parties = luaL_optinteger(L, 3, 0);
    luaL_argcheck(L, lua_isnoneornil(L, 3) || (parties >= 1 && parties <= (lua_Integer)FUTEX_BARRIER_PARTIES_MAX),
                  3, "parties out of range [1, 65535]");
    prim *p = newprim(L, BARRIER, FUTEX_BARRIER_SIZE, FUTEX_BARRIER_ALIGN, 1);
    futex_barrier *b = (futex_barrier *)memof(p);
    /* The core sets up all-zero memory or attaches, atomically; no parties
     * only attaches. */
    int rc = parties != 0 ? futex_barrier_init(b, (uint32_t)parties) : 0;
    luaL_argcheck(L, rc != -EEXIST, 3, "the barrier there has another party count");
    int have = futex_barrier_parties(b);
    luaL_argcheck(L, rc != -EINVAL && have >= 0, 2,
                  "the memory there holds no barrier (parties 0 with a state, or a party count past 65535)");
    luaL_argcheck(L, have != 0, 3, "the barrier is not initialised: give parties");
    return 1;
}

static int call_barrier_wait(const prim *p, const futex_deadline *d, void *ticket)
{
    return futex_barrier_wait((futex_barrier *)memof(p), (uint32_t *)ticket, d, p->r->flags);
}

/* A hook raised while we waited: we will not come back, so the barrier is
 * broken for the others (as threading's is by an exception in wait). */
static void barrier_give_up(const prim *p, void *ticket)
{
    (void)ticket;
    futex_barrier_abort((futex_barrier *)memof(p), p->r->flags);
}

static int barrier_wait(lua_State *L)
{
    prim *p = selfprim(L, BARRIER);
    uint64_t timeout = checktimeout(L, 2);
    uint32_t ticket = 0; /* our place across -EINTR: a re-call resumes, never arrives twice */
    int rc = block(L, call_barrier_wait, p, &ticket, timeout, 0, barrier_give_up);
    if (rc >= 0) {
        lua_pushinteger(L, rc); /* the arrival index, 0-based as in C and Python */
        return 1;
    }
    if (rc == -ECANCELED || rc == -ETIMEDOUT) {
        lua_pushnil(L);
        lua_pushliteral(L, "broken");
        lua_pushinteger(L, -rc);
        return 3;
    }
    return failure(L, rc);
}

/* reset, abort and parties fail only on memory that no longer holds a
 * barrier (a stray write over its party count): nil, message, errno. */
static int barrier_reset(lua_State *L)
{
    prim *p = selfprim(L, BARRIER);
    int rc = futex_barrier_reset((futex_barrier *)memof(p), p->r->flags);
    return rc < 0 ? failure(L, rc) : 0;
}

static int barrier_abort(lua_State *L)
{
    prim *p = selfprim(L, BARRIER);
    int rc = futex_barrier_abort((futex_barrier *)memof(p), p->r->flags);
    return rc < 0 ? failure(L, rc) : 0;
}

static int barrier_parties(lua_State *L)
{
    int n = futex_barrier_parties((futex_barrier *)memof(selfprim(L, BARRIER)));
    if (n < 0)
        return failure(L, n);
    lua_pushinteger(L, n);
    return 1;
}

static int barrier_n_waiting(lua_State *L)
{
    lua_pushinteger(L, futex_barrier_n_waiting((futex_barrier *)memof(selfprim(L, BARRIER))));
    return 1;
}

static int barrier_broken(lua_State *L)
{
    lua_pushboolean(L, futex_barrier_broken((futex_barrier *)memof(selfprim(L, BARRIER))) == 1);
    return 1;
}

/* The primitives' classes. Every method gets the Lua no-op as upvalue 1,
 * which block() calls to let hooks run. */
static void newprimclass(lua_State *L, const char *name, const luaL_Reg *methods)
{
    static const luaL_Reg meta[] = {{"__tostring", prim_tostring}, {NULL, NULL}};
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    lua_pushvalue(L, -3); /* upvalue 1: the no-op, below the metatable */
    lua_pushlightuserdata(L, (void *)(uintptr_t)lua_topointer(L, -3)); /* 2: the metatable (selfprim) */
    luaL_setfuncs(L, methods, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

static void open_primitives(lua_State *L)
{
    static const luaL_Reg mutex_methods[] = {{"acquire", mutex_acquire},       {"release", mutex_release},
                                             {"consistent", mutex_consistent}, {"locked", mutex_locked},
                                             {"is_owned", mutex_is_owned},     {NULL, NULL}};
    static const luaL_Reg sem_methods[] = {{"acquire", sem_acquire},
                                           {"release", sem_release},
                                           {"get_value", sem_get_value},
                                           {"bound", sem_bound},
                                           {NULL, NULL}};
    static const luaL_Reg event_methods[] = {
        {"set", event_set}, {"clear", event_clear}, {"is_set", event_is_set}, {"wait", event_wait}, {NULL, NULL}};
    static const luaL_Reg cond_methods[] = {{"wait", cond_wait},
                                            {"notify", cond_notify},
                                            {"notify_all", cond_notify_all},
                                            {"mutex", cond_mutex},
                                            {NULL, NULL}};
    static const luaL_Reg barrier_methods[] = {{"wait", barrier_wait},           {"reset", barrier_reset},
                                               {"abort", barrier_abort},         {"parties", barrier_parties},
                                               {"n_waiting", barrier_n_waiting}, {"broken", barrier_broken},
                                               {NULL, NULL}};
    /* A Lua function, not a C one: running it executes a VM instruction, so
     * count hooks fire as well as call hooks. */
    if (luaL_loadstring(L, "return") != LUA_OK)
        lua_error(L);
    newprimclass(L, MUTEX, mutex_methods);
    luaL_getmetatable(L, MUTEX);
    lua_pushcfunction(L, mutex_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    newprimclass(L, SEMAPHORE, sem_methods);
    newprimclass(L, EVENT, event_methods);
    newprimclass(L, CONDITION, cond_methods);
    newprimclass(L, BARRIER, barrier_methods);
    lua_pop(L, 1);
}

/* ---- many words: wait_any and the watcher ---------------------------------
 *
 *   futex.wait_any({cell, expected}, ... [, timeout])
 *        -> index of a word that changed or was woken (1-based), or false at the timeout
 *   futex.watcher() -> w:   w:add(cell, expected), w:remove(cell), w:fd(),
 *        w:ready() -> {cells that fired}, w:wait([timeout]) -> readable?,
 *        and the coroutine helper w:spawn(fn, ...), w:await(cell, expected [, timeout]),
 *        w:step([timeout]), w:run() (written in Lua, below).
 */

#define WATCHER "futex.watcher"

/* Calls the Lua no-op at upvalue 1 so that a signal's hook (armed while we
 * slept) runs now; its error propagates. Then watch for the next one. */
static void run_hooks(lua_State *L, hooks *h)
{
    hooks_follow(L, h);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 0); /* lua.c's hook raises "interrupted!" here */
    hooks_save(L, h);
}

static int f_wait_any(lua_State *L)
{
    int top = lua_gettop(L);
    int n = top;
    uint64_t timeout_ns = FUTEX_FOREVER;
    if (n > 0 && !lua_istable(L, n)) { /* a trailing timeout (or nil) */
        timeout_ns = checktimeout(L, n);
        n--;
    }
    luaL_argcheck(L, n >= 1, 1, "expected at least one {cell, expected} pair");
    luaL_argcheck(L, (unsigned)n <= FUTEX_WAITV_LIMIT, n, "too many words (at most 128)");
    futex_waitv_item items[FUTEX_WAITV_LIMIT];
    for (int i = 1; i <= n; i++) {
        luaL_checktype(L, i, LUA_TTABLE);
        lua_rawgeti(L, i, 1);
        cell *c = (cell *)luaL_testudata(L, -1, CELL);
        luaL_argcheck(L, c != NULL, i, "expected {cell, expected}");
        if (c->r->base == NULL)
            luaL_error(L, "region is closed");
        if (c->r->broken)
            shrunk(L);
        lua_rawgeti(L, i, 2);
        lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
        luaL_argcheck(L, v >= 0 && v <= (lua_Integer)UINT32_MAX, i, "expected value out of range [0, 2^32)");
        items[i - 1].word = wordof(c);
        items[i - 1].expected = (uint32_t)v;
        items[i - 1].flags = c->r->flags;
        lua_pop(L, 2); /* the cells stay referenced by the argument tables */
    }
    futex_deadline d;
    futex_deadline_init(&d, timeout_ns);
    hooks h;
    hooks_save(L, &h);
    int rc;
    for (;;) {
        /* Slices: Linux restarts FUTEX_WAITV after an SA_RESTART handler
         * (lua5.4's SIGINT), so only a slice's end lets us look at the hooks. */
        futex_deadline slice = d;
        int sliced = futex_deadline_slice(&d, &slice);
        uint32_t changed = 0;
        rc = futex_waitv(items, (uint32_t)n, &slice, 0, &changed);
        if (rc >= 0 || rc == -EAGAIN) {
            lua_pushinteger(L, (lua_Integer)changed + 1); /* woken, or it differed: re-check the words */
            return 1;
        }
        if (rc == -ETIMEDOUT && !sliced) {
            lua_pushboolean(L, 0); /* the core checked the caller's deadline passed */
            return 1;
        }
        if (rc != -ETIMEDOUT && rc != -EINTR)
            return luaL_error(L, "futex wait_any: %s", futex_strerror(rc));
        if (hooks_changed(L, &h))
            run_hooks(L, &h); /* a signal's hook: run it; if it returns, wait on */
    }
}

/* The watcher's userdata; its user value is a table:
 *   [cell] = id, ["#" .. id] = cell (the registered cells, kept alive). */
typedef struct lwatcher {
    futex_watcher *w;
} lwatcher;

static lwatcher *checkwatcher(lua_State *L, int arg)
{
    lwatcher *o = (lwatcher *)luaL_checkudata(L, arg, WATCHER);
    if (o->w == NULL)
        luaL_error(L, "watcher is closed");
    return o;
}

static int f_watcher(lua_State *L)
{
    lwatcher *o = (lwatcher *)lua_newuserdatauv(L, sizeof *o, 1);
    o->w = NULL;
    lua_newtable(L);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, WATCHER);
    int rc = futex_watcher_create(&o->w);
    if (rc < 0)
        return luaL_error(L, "futex watcher: %s", futex_strerror(rc));
    return 1;
}

/* Every registered cell's region counts it (region.watched), so that
 * region:close() cannot unmap a word the helper thread still reads. */
static void unwatch_region(lua_State *L, int cell_idx)
{
    cell *c = (cell *)lua_touserdata(L, cell_idx);
    c->r->watched--;
}

static int watcher_close(lua_State *L)
{
    lwatcher *o = (lwatcher *)luaL_checkudata(L, 1, WATCHER);
    if (o->w == NULL)
        return 0;
    futex_watcher_destroy(o->w); /* the helper is gone: no word is read any more */
    o->w = NULL;
    lua_getiuservalue(L, 1, 1);
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TUSERDATA)
            unwatch_region(L, -2);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setiuservalue(L, 1, 1);
    return 0;
}

/* w:add(cell, expected): registers the cell (re-arms it with the new
 * expected value if it is registered already). It fires once the word no
 * longer holds expected or is woken -- at once if it differs already. */
static int watcher_add(lua_State *L)
{
    lwatcher *o = checkwatcher(L, 1);
    cell *c = checkcell(L, 2);
    uint32_t expected = checkvalue(L, 3);
    if (c->r->broken)
        shrunk(L);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) == LUA_TNUMBER) {
        int rc = futex_watcher_rearm(o->w, (int)lua_tointeger(L, -1), expected);
        if (rc < 0)
            return luaL_error(L, "futex watcher: %s", futex_strerror(rc));
        return 0;
    }
    lua_pop(L, 1);
    int id = futex_watcher_add(o->w, wordof(c), expected, c->r->flags);
    if (id < 0)
        return luaL_error(L, "futex watcher: %s", futex_strerror(id));
    c->r->watched++;
    lua_pushvalue(L, 2);
    lua_pushinteger(L, id);
    lua_rawset(L, -3);
    lua_pushinteger(L, id);
    lua_pushvalue(L, 2);
    lua_rawset(L, -3);
    return 0;
}

/* w:remove(cell) -> whether it was registered. Once it returns, the word is
 * never read again by the watcher. */
static int watcher_remove(lua_State *L)
{
    lwatcher *o = checkwatcher(L, 1);
    luaL_checkudata(L, 2, CELL);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNUMBER) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_Integer id = lua_tointeger(L, -1);
    lua_pop(L, 1);
    int rc = futex_watcher_remove(o->w, (int)id);
    if (rc < 0)
        return luaL_error(L, "futex watcher: %s", futex_strerror(rc));
    unwatch_region(L, 2);
    lua_pushvalue(L, 2);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pushnil(L);
    lua_rawseti(L, -2, id);
    lua_pushboolean(L, 1);
    return 1;
}

static int watcher_fd(lua_State *L)
{
    lua_pushinteger(L, futex_watcher_fd(checkwatcher(L, 1)->w));
    return 1;
}

/* w:ready() -> a list of the cells that fired since the last call (each
 * stays registered, disarmed until w:add re-arms it); drains the fd. */
static int watcher_ready(lua_State *L)
{
    lwatcher *o = checkwatcher(L, 1);
    lua_getiuservalue(L, 1, 1);
    lua_newtable(L);
    int ids[64], n, k = 0;
    while ((n = futex_watcher_ready(o->w, ids, 64)) > 0) {
        for (int i = 0; i < n; i++)
            if (lua_rawgeti(L, -2, ids[i]) == LUA_TUSERDATA)
                lua_rawseti(L, -2, ++k);
            else
                lua_pop(L, 1); /* removed meanwhile */
        if (n < 64)
            break;
    }
    if (n < 0)
        return luaL_error(L, "futex watcher: %s", futex_strerror(n));
    return 1;
}

/* w:wait([timeout]) -> true once the fd is readable (a cell fired), false at
 * the timeout. Blocks in poll(2), which a signal always ends (EINTR, never
 * restarted): a signal's hook then runs, and the wait goes on. */
static int watcher_wait(lua_State *L)
{
    lwatcher *o = checkwatcher(L, 1);
    futex_deadline d;
    futex_deadline_init(&d, checktimeout(L, 2));
    struct pollfd p = {.fd = futex_watcher_fd(o->w), .events = POLLIN, .revents = 0};
    hooks h;
    hooks_save(L, &h);
    for (;;) {
        uint64_t ns = futex_deadline_remaining_ns(&d);
        /* Whole milliseconds rounded up, so poll never ends before the deadline. */
        int ms = ns == FUTEX_FOREVER ? -1 : ns / 1000000u >= INT32_MAX ? INT32_MAX : (int)((ns + 999999u) / 1000000u);
        int rc = poll(&p, 1, ms);
        if (rc > 0) {
            lua_pushboolean(L, 1);
            return 1;
        }
        if (rc == 0 && futex_deadline_remaining_ns(&d) == 0) {
            lua_pushboolean(L, 0);
            return 1;
        }
        if (rc < 0 && errno != EINTR && errno != EAGAIN)
            return luaL_error(L, "futex watcher: poll: %s", strerror(errno));
        if (hooks_changed(L, &h))
            run_hooks(L, &h);
    }
}

static int watcher_tostring(lua_State *L)
{
    lwatcher *o = (lwatcher *)luaL_checkudata(L, 1, WATCHER);
    if (o->w == NULL)
        lua_pushliteral(L, "futex.watcher (closed)");
    else
        lua_pushfstring(L, "futex.watcher (fd %d)", futex_watcher_fd(o->w));
    return 1;
}

/* The coroutine helper, on top of the methods above: one loop runs many
 * coroutines, each awaiting a cell. */
static const char watcher_lua[] =
    "local M, futex_deadline = ...\n"
    "local create, resume, running, yield, status = coroutine.create, coroutine.resume, coroutine.running,\n"
    "  coroutine.yield, coroutine.status\n"
    "local state = setmetatable({}, {__mode = 'k'})\n"
    "local function st(w)\n"
    "  local s = state[w]\n"
    "  if not s then s = {waiting = {}, timers = {}, live = 0}; state[w] = s end\n"
    "  return s\n"
    "end\n"
    "local function go(w, co, ...)\n"
    "  local s = st(w)\n"
    "  local ok, err = resume(co, ...)\n"
    "  if status(co) == 'dead' then s.live = s.live - 1 end\n"
    "  if not ok then error(err, 0) end\n"
    "end\n"
    "-- w:spawn(fn, ...): runs fn(...) in a new coroutine until it first awaits.\n"
    "function M:spawn(fn, ...)\n"
    "  local s = st(self)\n"
    "  s.live = s.live + 1\n"
    "  go(self, create(fn), ...)\n"
    "end\n"
    "-- w:await(cell, expected [, timeout]) inside a coroutine of w: as cell:wait,\n"
    "-- true once the word differs (at once, without yielding) or is woken,\n"
    "-- false after timeout seconds; the loop (w:step / w:run) runs meanwhile.\n"
    "function M:await(cell, expected, timeout)\n"
    "  local co, main = running()\n"
    "  if main then error('await: call it from a coroutine (w:spawn)', 2) end\n"
    "  if cell:load() ~= expected then return true end\n"
    "  local d = timeout and futex_deadline(timeout)\n"
    "  if d and d:expired() then return false end\n"
    "  local s = st(self)\n"
    "  local list = s.waiting[cell]\n"
    "  if not list then list = {}; s.waiting[cell] = list end\n"
    "  list[co] = true\n"
    "  if d then s.timers[co] = d end\n"
    "  self:add(cell, expected)\n"
    "  local fired = yield()\n"
    "  list[co], s.timers[co] = nil, nil\n"
    "  if next(list) == nil then s.waiting[cell] = nil; self:remove(cell) end\n"
    "  return fired\n"
    "end\n"
    "-- w:step([timeout]): waits (at most timeout, and until the nearest await\n"
    "-- deadline) for cells to fire and resumes their coroutines. Returns how\n"
    "-- many coroutines are still alive.\n"
    "function M:step(timeout)\n"
    "  local s = st(self)\n"
    "  local wait = timeout\n"
    "  for _, d in pairs(s.timers) do\n"
    "    local r = d:remaining()\n"
    "    if r and (wait == nil or r < wait) then wait = r end\n"
    "  end\n"
    "  if self:wait(wait) then\n"
    "    local wake = {}\n"
    "    for _, cell in ipairs(self:ready()) do\n"
    "      for co in pairs(s.waiting[cell] or {}) do wake[#wake + 1] = co end\n"
    "    end\n"
    "    for _, co in ipairs(wake) do if status(co) == 'suspended' then go(self, co, true) end end\n"
    "  end\n"
    "  local late = {}\n"
    "  for co, d in pairs(s.timers) do if d:expired() then late[#late + 1] = co end end\n"
    "  for _, co in ipairs(late) do if s.timers[co] and status(co) == 'suspended' then go(self, co, false) end end\n"
    "  return s.live\n"
    "end\n"
    "-- w:run(): steps until every coroutine spawned on w has finished.\n"
    "function M:run()\n"
    "  while st(self).live > 0 do self:step() end\n"
    "end\n"
    ;

static int watcher_gc(lua_State *L) { return watcher_close(L); }

static void open_watcher(lua_State *L)
{
    static const luaL_Reg methods[] = {{"add", watcher_add},     {"remove", watcher_remove}, {"fd", watcher_fd},
                                       {"ready", watcher_ready}, {"wait", watcher_wait},     {"close", watcher_close},
                                       {NULL, NULL}};
    static const luaL_Reg meta[] = {
        {"__gc", watcher_gc}, {"__close", watcher_close}, {"__tostring", watcher_tostring}, {NULL, NULL}};
    luaL_newmetatable(L, WATCHER);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    if (luaL_loadstring(L, "return") != LUA_OK) /* the no-op of run_hooks, as the primitives' */
        lua_error(L);
    luaL_setfuncs(L, methods, 1);
    /* The Lua half: chunk(methods, deadline constructor). */
    if (luaL_loadbuffer(L, watcher_lua, sizeof watcher_lua - 1, "=futex.watcher") != LUA_OK)
        lua_error(L);
    lua_pushvalue(L, -2);
    lua_pushcfunction(L, f_deadline);
    lua_call(L, 2, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* ---- module --------------------------------------------------------------- */

static int f_set_spin(lua_State *L)
{
    futex_set_spin(checkvalue(L, 1));
    return 0;
}

static int f_get_spin(lua_State *L)
{
    lua_pushinteger(L, futex_get_spin());
    return 1;
}

static int f_monotonic(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)futex_monotonic_ns() / NS_PER_S);
    return 1;
}

/* Every method gets the class's metatable as upvalue 1: the cell methods
 * check their self against it (selfcell). */
static void newclass(lua_State *L, const char *name, const luaL_Reg *methods, const luaL_Reg *meta)
{
    luaL_newmetatable(L, name); /* sets __name, which error messages and tostring use */
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* The cell class. Its methods' upvalues, for selfcell: 1 the metatable
 * (which keeps it alive, so its address is never reused), 2 that address
 * as a light userdata, 3 the state's lastcell, which __gc also holds. */
static void open_cells(lua_State *L, const luaL_Reg *methods, const luaL_Reg *meta)
{
    luaL_newmetatable(L, CELL);
    luaL_setfuncs(L, meta, 0);
    lastcell *last = (lastcell *)lua_newuserdatauv(L, sizeof *last, 0);
    memset(last, 0, sizeof *last);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, cell_gc, 1);
    lua_setfield(L, -3, "__gc");
    lua_newtable(L);                /* metatable, lastcell, methods */
    lua_pushvalue(L, -3);           /* upvalue 1 */
    lua_pushlightuserdata(L, (void *)(uintptr_t)lua_topointer(L, -1)); /* 2 */
    lua_pushvalue(L, -4);           /* 3 */
    luaL_setfuncs(L, methods, 3);
    lua_setfield(L, -3, "__index");
    lua_pop(L, 2);
}

EXPORT int luaopen_futex(lua_State *L)
{
    static const luaL_Reg region_methods[] = {{"cell", region_cell},
                                              {"mutex", region_mutex},
                                              {"semaphore", region_semaphore},
                                              {"event", region_event},
                                              {"condition", region_condition},
                                              {"barrier", region_barrier},
                                              {"close", region_close},
                                              {NULL, NULL}};
    static const luaL_Reg region_meta[] = {{"__len", region_len},
                                           {"__close", region_close},
                                           {"__gc", region_close},
                                           {"__tostring", region_tostring},
                                           {NULL, NULL}};
    static const luaL_Reg cell_methods[] = {
        {"load", cell_load},           {"store", cell_store},         {"exchange", cell_exchange},
        {"compare_exchange", cell_compare_exchange},                  {"fetch_add", cell_fetch_add},
        {"fetch_sub", cell_fetch_sub}, {"fetch_and", cell_fetch_and}, {"fetch_or", cell_fetch_or},
        {"fetch_xor", cell_fetch_xor}, {"wait", cell_wait},           {"wake", cell_wake},
        {"wake_all", cell_wake_all},   {"wait_until", cell_wait_until},
        {"store_and_wake", cell_store_and_wake},                      {"add_and_wake", cell_add_and_wake},
        {NULL, NULL}};
    static const luaL_Reg cell_meta[] = {{"__tostring", cell_tostring}, {NULL, NULL}};
    static const luaL_Reg deadline_methods[] = {
        {"wait", deadline_wait}, {"remaining", deadline_remaining}, {"expired", deadline_expired}, {NULL, NULL}};
    static const luaL_Reg deadline_meta[] = {{"__tostring", deadline_tostring}, {NULL, NULL}};
    static const luaL_Reg funcs[] = {{"map", f_map},           {"anon", f_anon},         {"deadline", f_deadline},
                                     {"set_spin", f_set_spin}, {"get_spin", f_get_spin}, {"monotonic", f_monotonic},
                                     {NULL, NULL}};

    newclass(L, REGION, region_methods, region_meta);
    open_cells(L, cell_methods, cell_meta);
    newclass(L, DEADLINE, deadline_methods, deadline_meta);
    open_primitives(L);
    open_watcher(L);

    luaL_newlib(L, funcs);
    if (luaL_loadstring(L, "return") != LUA_OK) /* wait_any's no-op, for signal hooks */
        lua_error(L);
    lua_pushcclosure(L, f_wait_any, 1);
    lua_setfield(L, -2, "wait_any");
    lua_pushcfunction(L, f_watcher);
    lua_setfield(L, -2, "watcher");
    lua_pushstring(L, futex_backend());
    lua_setfield(L, -2, "backend");
    lua_pushliteral(L, FUTEX_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, futex_capabilities());
    lua_setfield(L, -2, "capabilities");
    static const struct {
        const char *name;
        unsigned bit;
    } caps[] = {{"CAP_SHARED", FUTEX_CAP_SHARED},
                {"CAP_WAKE_COUNT", FUTEX_CAP_WAKE_COUNT},
                {"CAP_ABSOLUTE_DEADLINE", FUTEX_CAP_ABSOLUTE_DEADLINE},
                {"CAP_INTERRUPTIBLE", FUTEX_CAP_INTERRUPTIBLE},
                {"CAP_WAITV_NATIVE", FUTEX_CAP_WAITV_NATIVE},
                {"CAP_WAITV_EXACT", FUTEX_CAP_WAITV_EXACT}};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        lua_pushinteger(L, caps[i].bit);
        lua_setfield(L, -2, caps[i].name);
    }
    /* futex.SIZE.mutex, futex.ALIGN.mutex, ...: the primitives' layouts. */
    static const struct {
        const char *name;
        int size, align;
    } layouts[] = {{"mutex", FUTEX_MUTEX_SIZE, FUTEX_MUTEX_ALIGN},
                   {"semaphore", FUTEX_SEM_SIZE, FUTEX_SEM_ALIGN},
                   {"event", FUTEX_EVENT_SIZE, FUTEX_EVENT_ALIGN},
                   {"condition", FUTEX_COND_SIZE, FUTEX_COND_ALIGN},
                   {"barrier", FUTEX_BARRIER_SIZE, FUTEX_BARRIER_ALIGN}};
    lua_createtable(L, 0, 5);
    lua_createtable(L, 0, 5);
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        lua_pushinteger(L, layouts[i].size);
        lua_setfield(L, -3, layouts[i].name);
        lua_pushinteger(L, layouts[i].align);
        lua_setfield(L, -2, layouts[i].name);
    }
    lua_setfield(L, -3, "ALIGN");
    lua_setfield(L, -2, "SIZE");
    lua_pushinteger(L, FUTEX_SPIN_ADAPTIVE); /* set_spin's default: the learned, timed spin */
    lua_setfield(L, -2, "SPIN_ADAPTIVE");
    return 1;
}
