-- Regions and cells: every atomic op (with wraparound), #r, close, <close>,
-- lifetime through the garbage collector, tostring, module fields.
local futex = require "futex"
local H = require "helpers"

local MAX = 0xFFFFFFFF

describe("the module", function()
  it("names its backend, version and capabilities", function()
    -- The suite says which backend it built (CMake -DFUTEX_BACKEND=...).
    local backend = os.getenv("FUTEX_TEST_BACKEND") or "linux"
    local caps = {
      linux = futex.CAP_SHARED | futex.CAP_WAKE_COUNT | futex.CAP_ABSOLUTE_DEADLINE | futex.CAP_INTERRUPTIBLE,
      posix = futex.CAP_WAKE_COUNT | futex.CAP_ABSOLUTE_DEADLINE,
    }
    assert.are.equal(backend, futex.backend)
    -- The four bits the module names (futex_waitv's two bits come from the kernel and are the C suite's).
    assert.are.equal(caps[backend], futex.capabilities & 15)
    assert.are.same({ 1, 2, 4, 8 }, { futex.CAP_SHARED, futex.CAP_WAKE_COUNT, futex.CAP_ABSOLUTE_DEADLINE,
                                      futex.CAP_INTERRUPTIBLE })
  end)

  it("has the header's version, as does the rockspec", function()
    -- The driver passes the version CMake read from the header's numbers.
    local v = os.getenv("FUTEX_TEST_VERSION")
    assert.is_truthy(v, "FUTEX_TEST_VERSION is not set (ctest sets it)")
    assert.are.equal(v, futex.version)
    local f = io.open(H.DIR .. "/../../futex-" .. v .. "-1.rockspec")
    assert.is_truthy(f, "no rockspec named for version " .. v)
    assert.is_truthy(f:read("a"):find('version = "' .. v .. '%-1"'))
    f:close()
  end)

  it("exports only luaopen_futex and does not link liblua", function()
    local so = assert(package.searchpath("futex", package.cpath))
    local p = io.popen("nm -D --defined-only " .. so)
    local symbols = {}
    for line in p:lines() do symbols[#symbols + 1] = line:match("%S+$") end
    assert.is_truthy(p:close())
    assert.are.same({ "luaopen_futex" }, symbols)
    p = io.popen("readelf -d " .. so)
    local needed = p:read("a")
    p:close()
    assert.is_truthy(needed:find("NEEDED", 1, true))
    assert.is_nil(needed:find("liblua", 1, true))
  end)

  it("sets and reports the spin count", function()
    local old = futex.get_spin()
    futex.set_spin(0)
    assert.are.equal(0, futex.get_spin())
    futex.set_spin(1000)
    assert.are.equal(1000, futex.get_spin())
    futex.set_spin(old)
  end)

  it("reads a monotonic clock in seconds", function()
    local a = futex.monotonic()
    H.sleep(0.05)
    local b = futex.monotonic()
    -- Seconds, not ms or ns: a 50 ms sleep reads as 0.05 (slack for load).
    assert.is_true(b - a >= 0.05 and b - a < 5, ("slept 0.05 s, clock moved %g"):format(b - a))
  end)
end)

describe("a cell", function()
  local r, c
  before_each(function()
    r = futex.anon(64)
    c = r:cell(12)
  end)
  after_each(function() r:close() end)

  it("starts at zero and loads what was stored", function()
    assert.are.equal(0, c:load())
    c:store(42)
    assert.are.equal(42, c:load())
    c:store(MAX)
    assert.are.equal(MAX, c:load())
    c:store(2.0) -- an integral float is an integer, as math.tointeger says
    assert.are.equal(2, c:load())
    assert.are.equal(math.type(c:load()), "integer")
  end)

  it("exchanges and returns the old value", function()
    c:store(7)
    assert.are.equal(7, c:exchange(MAX))
    assert.are.equal(MAX, c:load())
  end)

  it("compare_exchanges only on a match, returning the old value", function()
    c:store(5)
    assert.are.equal(5, c:compare_exchange(5, 6))
    assert.are.equal(6, c:load())
    assert.are.equal(6, c:compare_exchange(5, 9))
    assert.are.equal(6, c:load())
  end)

  it("adds and subtracts modulo 2^32", function()
    c:store(MAX)
    assert.are.equal(MAX, c:fetch_add(1))
    assert.are.equal(0, c:load())
    assert.are.equal(0, c:fetch_sub(1))
    assert.are.equal(MAX, c:load())
    c:store(10)
    assert.are.equal(10, c:fetch_add(MAX)) -- + (2^32 - 1) is - 1
    assert.are.equal(9, c:load())
    assert.are.equal(9, c:fetch_sub(MAX))
    assert.are.equal(10, c:load())
  end)

  it("ands, ors and xors", function()
    c:store(0xF0F0F0F0)
    assert.are.equal(0xF0F0F0F0, c:fetch_and(0xFF00FF00))
    assert.are.equal(0xF000F000, c:load())
    assert.are.equal(0xF000F000, c:fetch_or(0x0000000F))
    assert.are.equal(0xF000F00F, c:load())
    assert.are.equal(0xF000F00F, c:fetch_xor(MAX))
    assert.are.equal(0x0FFF0FF0, c:load())
  end)

  it("shares its word with other cells at the same offset, and only that word", function()
    local same, before, after = r:cell(12), r:cell(8), r:cell(16)
    c:store(0xDEADBEEF)
    assert.are.equal(0xDEADBEEF, same:load())
    assert.are.equal(0, before:load())
    assert.are.equal(0, after:load())
  end)

  it("prints its offset and value", function()
    c:store(3)
    assert.are.equal("futex.cell (offset 12, value 3)", tostring(c))
  end)
end)

describe("a region", function()
  it("has a length in bytes", function()
    local r = futex.anon(4096)
    assert.are.equal(4096, #r)
    assert.is_truthy(tostring(r):find("^futex%.region %(4096 bytes at "))
    r:close()
  end)

  it("hands out cells at every aligned offset up to its end", function()
    local r = futex.anon(16)
    for off = 0, 12, 4 do r:cell(off):store(off + 1) end
    for off = 0, 12, 4 do assert.are.equal(off + 1, r:cell(off):load()) end
    r:close()
  end)

  it("refuses every use after close, and closes twice harmlessly", function()
    local r = futex.anon(64)
    local c = r:cell(0)
    r:close()
    r:close()
    assert.has_error(function() return #r end, "region is closed")
    assert.has_error(function() r:cell(0) end, "region is closed")
    for _, op in ipairs({ "load", "store", "exchange", "fetch_add", "fetch_sub", "fetch_and", "fetch_or",
                          "fetch_xor", "wake", "wake_all" }) do
      assert.has_error(function() c[op](c, 1) end, "region is closed")
    end
    assert.has_error(function() c:compare_exchange(0, 1) end, "region is closed")
    assert.has_error(function() c:wait(0, 0) end, "region is closed")
    assert.has_error(function() futex.deadline(1):wait(c, 0) end, "region is closed")
    assert.are.equal("futex.region (closed)", tostring(r))
    assert.are.equal("futex.cell (offset 0, closed)", tostring(c))
  end)

  it("works in a finalizer that runs after the cell's own __gc", function()
    -- The cell methods remember the last cell they checked, and forget it in
    -- its __gc; a finalizer may still use the cell afterwards (Lua runs
    -- finalizers in reverse order of marking: the cell's first here).
    local r = futex.anon(64)
    local seen = {}
    for round = 1, 50 do
      local holder = setmetatable({}, { __gc = function(self)
        self.c:store(round)
        seen[round] = self.c:load()
      end })
      holder.c = r:cell(4 * (round % 16))
      holder = nil
      collectgarbage("collect")
      collectgarbage("collect")
      assert.are.equal(round, seen[round])
      -- Other userdata, which may take the freed cells' memory, stay refused.
      local f = io.tmpfile()
      assert.is_false(pcall(r:cell(0).load, f))
      f:close()
    end
    r:close()
  end)

  it("is closed at the end of a <close> scope", function()
    local outer
    do
      local r <close> = futex.anon(64)
      outer = r
      r:cell(0):store(1)
    end
    assert.has_error(function() return #outer end, "region is closed")
  end)

  it("is closed when a <close> scope ends with an error", function()
    local outer
    local ok = pcall(function()
      local r <close> = futex.anon(64)
      outer = r
      error("boom")
    end)
    assert.is_false(ok)
    assert.has_error(function() return #outer end, "region is closed")
  end)

  it("stays mapped while a cell uses it, though the region itself is unreachable", function()
    local cells = {}
    for i = 1, 8 do
      local c = futex.map(H.tmpname(), 4096, { shared = false }):cell(4 * i) -- any backend
      c:store(i)
      cells[i] = c
    end
    for _ = 1, 3 do collectgarbage("collect") end
    -- New mappings would reuse unmapped addresses: make some, then check.
    local others = {}
    for i = 1, 8 do others[i] = futex.anon(4096); others[i]:cell(4 * i):store(100 + i) end
    for i = 1, 8 do
      assert.are.equal(i, cells[i]:load())
      assert.are.equal(i + 1, cells[i]:fetch_add(1) + 1)
    end
    for i = 1, 8 do others[i]:close() end
  end)

  it("is unmapped by the collector once nothing refers to it", function()
    -- Many short-lived 1 MiB regions: without __gc unmapping them the
    -- address space (and this test) would grow by a GiB.
    for i = 1, 1024 do
      futex.anon(1 << 20):cell(0):store(i)
      if i % 64 == 0 then collectgarbage("collect") end
    end
    local maps = 0
    for line in io.lines("/proc/self/maps") do
      if line:find("/dev/zero", 1, true) then maps = maps + 1 end -- how MAP_SHARED anonymous memory shows
    end
    assert.is_true(maps < 900, "mappings were not released: " .. maps)
  end)
end)

describe("futex.map on a backend", function()
  it("maps a file for other processes only where waits reach them, else refuses as Python does", function()
    local p = H.tmpname()
    local r, msg, err = futex.map(p, 4096)
    if futex.capabilities & futex.CAP_SHARED ~= 0 then
      assert.is_truthy(r, msg)
      r:close()
    else
      assert.is_nil(r)
      assert.are.equal(95, err) -- ENOTSUP on Linux
      assert.is_truthy(msg:find("shared = false", 1, true), msg)
      assert.is_nil(io.open(p), "a refused map must not leave its file behind")
    end
    -- Asked for, a process-private region works everywhere.
    local priv = assert(futex.map(p, 4096, { shared = false }))
    local c = priv:cell(0)
    c:store(3)
    assert.is_true(c:wait(2, 0))
    assert.is_false(c:wait(3, 0.001))
    priv:close()
    os.remove(p)
  end)

  it("bounds a huge spin by the wait's deadline", function()
    local old = futex.get_spin()
    local c = futex.anon(4):cell(0)
    futex.set_spin(0xFFFFFFFE) -- the largest count (0xFFFFFFFF is SPIN_ADAPTIVE): minutes uncapped
    local t0 = futex.monotonic()
    local timed_out = not c:wait(0, 0.001)
    local took = futex.monotonic() - t0
    futex.set_spin(old)
    assert.is_true(timed_out)
    assert.is_true(took >= 0.001 and took < 1.0, ("took %g s"):format(took))
  end)
end)
