-- cell:wait_until (the wait loop in C), cell:store_and_wake and
-- cell:add_and_wake: results, timeouts, bad input that touches nothing, and
-- a ping-pong between two lua5.4 processes made of them.
local futex = require "futex"
-- A case that needs a second process sharing the words exists only where the
-- backend reaches other processes (not on the posix parking lot).
local it_cross = futex.capabilities & futex.CAP_SHARED ~= 0 and it or function() end
local H = require "helpers"

local function raises(pattern, fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.is_truthy(tostring(err):find(pattern), tostring(err))
end

describe("cell:wait_until", function()
  it("is true at once when the cell holds the value, false at the deadline", function()
    local c = futex.anon(4):cell(0)
    c:store(5)
    assert.is_true(c:wait_until(5))
    assert.is_true(c:wait_until(5, 0))
    assert.is_false(c:wait_until(6, 0)) -- 0 only checks
    local t0 = futex.monotonic()
    assert.is_false(c:wait_until(6, 0.05))
    assert.is_true(futex.monotonic() - t0 >= 0.05) -- never early
    assert.are.equal(5, c:load())
  end)

  it_cross("waits past the values it does not want, in another process", function()
    -- The child answers each odd value with the next even one: the parent's
    -- wait_until(2i+2) sees 2i+1 (its own store) first and must wait past it.
    local path = H.tmpname()
    local r <close> = assert(futex.map(path, 4096))
    local c = r:cell(0)
    local n = 2000
    local child = H.spawn("pong-helpers", path, n)
    for i = 0, n - 1 do
      local old, _ = c:add_and_wake(1)
      assert.are.equal(2 * i, old)
      assert.is_true(c:wait_until(2 * i + 2, 20), "stuck at " .. c:load())
    end
    local out, ok = H.finish(child)
    assert.is_true(ok, out)
    assert.are.equal(2 * n, c:load())
    os.remove(path)
  end)
end)

describe("cell:store_and_wake and cell:add_and_wake", function()
  it("store or add, then wake", function()
    local c = futex.anon(4):cell(0)
    local woken = c:store_and_wake(7)
    assert.is_true(woken == nil or woken == 0) -- nobody waits; nil where the OS does not count
    assert.are.equal(7, c:load())
    local old, n = c:add_and_wake(3, 5)
    assert.are.equal(7, old)
    assert.is_true(n == nil or n == 0)
    assert.are.equal(10, c:load())
    assert.are.equal(10, (c:add_and_wake(0xFFFFFFFF - 9))) -- wraps modulo 2^32
    assert.are.equal(0, c:load())
  end)

  it("refuses bad input and touches nothing", function()
    local c = futex.anon(4):cell(0)
    c:store(4)
    raises("value out of range", function() c:store_and_wake(-1) end)
    raises("value out of range", function() c:add_and_wake(0x100000000) end)
    raises("wake count must be >= 0", function() c:store_and_wake(9, -1) end)
    raises("wake count must be >= 0", function() c:add_and_wake(9, -1) end)
    raises("number has no integer representation", function() c:store_and_wake(1.5) end)
    raises("value out of range", function() c:wait_until(-1) end)
    raises("timeout must be a non%-negative", function() c:wait_until(1, -1) end)
    raises("timeout must be a non%-negative", function() c:wait_until(1, 0 / 0) end)
    assert.are.equal(4, c:load())
  end)

  it("names the adaptive spin as the default setting", function()
    assert.are.equal(0xFFFFFFFF, futex.SPIN_ADAPTIVE)
    assert.are.equal(futex.SPIN_ADAPTIVE, futex.get_spin())
  end)
end)
