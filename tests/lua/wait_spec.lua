-- Wait and wake within one process: returns, timeouts, wake counts with
-- nobody waiting, Deadline loops, and coroutines sharing futex.anon memory.
local futex = require "futex"

describe("cell:wait", function()
  local r, c
  before_each(function()
    r = futex.anon(64)
    c = r:cell(0)
    c:store(1)
  end)
  after_each(function() r:close() end)

  it("returns true at once when the word does not hold expected", function()
    assert.is_true(c:wait(2))
    assert.is_true(c:wait(2, 10))
    assert.is_true(c:wait(2, 0))
  end)

  it("only checks with a zero timeout", function()
    local t0 = futex.monotonic()
    assert.is_false(c:wait(1, 0))
    assert.is_true(futex.monotonic() - t0 < 1)
  end)

  it("never times out early", function()
    for _, t in ipairs({ 0.001, 0.02, 0.05, 0.1 }) do
      local t0 = futex.monotonic()
      assert.is_false(c:wait(1, t))
      local took = futex.monotonic() - t0
      assert.is_true(took >= t, ("timeout %g s returned after %g s"):format(t, took))
    end
  end)

  it("takes integer and float timeouts alike", function()
    assert.is_false(c:wait(1, 0.0))
    assert.is_false(c:wait(1, 1e-9)) -- rounded up to 1 ns, never down to "check only"
    -- Fractions of a millisecond are kept, not truncated to whole ones.
    for _, t in ipairs({ 0.0015, 2e-3, 1 / 400 }) do
      local t0 = futex.monotonic()
      assert.is_false(c:wait(1, t))
      local took = futex.monotonic() - t0
      assert.is_true(took >= t, ("timeout %g s returned after %g s"):format(t, took))
    end
  end)

  it("returns true when the value changed before it could sleep, with any spin", function()
    for _, spin in ipairs({ 0, 100, 10000 }) do
      local old = futex.get_spin()
      futex.set_spin(spin)
      c:store(7)
      assert.is_true(c:wait(1, 5))
      futex.set_spin(old)
    end
  end)
end)

describe("cell:wake", function()
  local r, c
  before_each(function()
    r = futex.anon(64)
    c = r:cell(4)
  end)
  after_each(function() r:close() end)

  it("wakes nobody when nobody waits", function()
    assert.are.equal(0, c:wake())
    assert.are.equal(0, c:wake(1))
    assert.are.equal(0, c:wake(1000))
    assert.are.equal(0, c:wake(math.maxinteger))
    assert.are.equal(0, c:wake_all())
  end)

  it("wakes no one and touches nothing for n = 0", function()
    c:store(9)
    assert.are.equal(0, c:wake(0))
    assert.are.equal(9, c:load())
  end)
end)

describe("a Deadline", function()
  local r, c
  before_each(function()
    r = futex.anon(64)
    c = r:cell(8)
  end)
  after_each(function() r:close() end)

  it("bounds a loop of waits, however often they return", function()
    local d = futex.deadline(0.1)
    local t0 = futex.monotonic()
    local waits = 0
    while d:wait(c, 0) do
      waits = waits + 1
      assert.is_true(waits < 1000000, "the loop did not end")
    end
    local took = futex.monotonic() - t0
    assert.is_true(took >= 0.1 - 1e-3, "ended early: " .. took) -- t0 was read just after the deadline's start
    assert.is_true(took < 10, "ended late: " .. took)
    assert.is_true(d:expired())
    assert.are.equal(0, d:remaining())
    assert.is_false(d:wait(c, 0)) -- stays expired, without entering the OS
  end)

  it("counts down, and returns true when the word differs", function()
    local d = futex.deadline(100)
    assert.is_false(d:expired())
    local left = d:remaining()
    assert.is_true(left > 90 and left <= 100)
    c:store(3)
    assert.is_true(d:wait(c, 0))
    assert.is_false(d:expired())
  end)

  it("never expires without a timeout", function()
    local d = futex.deadline()
    assert.is_nil(d:remaining())
    assert.is_false(d:expired())
    assert.are.equal("futex.deadline (never)", tostring(d))
    assert.is_nil(futex.deadline(math.huge):remaining())
    c:store(1)
    assert.is_true(d:wait(c, 0))
  end)

  it("with a zero timeout is expired at once", function()
    local d = futex.deadline(0)
    assert.is_true(d:expired())
    assert.is_false(d:wait(c, 0))
    assert.is_true(d:wait(c, 1))
  end)
end)

describe("futex.anon between coroutines", function()
  it("passes values and turns through the shared cells", function()
    local r <close> = futex.anon(64)
    local turn, data = r:cell(0), r:cell(4)
    local function side(me, other, rounds)
      return coroutine.wrap(function()
        for i = 1, rounds do
          while turn:load() ~= me do
            assert.is_false(turn:wait(other, 0)) -- the other's turn: a check-only wait times out
            coroutine.yield()
          end
          assert.is_true(turn:wait(other)) -- my turn: returns at once, even with no timeout
          data:fetch_add(i)
          turn:store(other)
          turn:wake()
        end
        return "done"
      end)
    end
    local a, b = side(0, 1, 100), side(1, 0, 100)
    local ra, rb
    for _ = 1, 1000 do
      ra, rb = a(), b()
      if ra == "done" and rb == "done" then break end
    end
    assert.are.equal("done", ra)
    assert.are.equal("done", rb)
    assert.are.equal(2 * (100 * 101 // 2), data:load())
  end)

  it("lets one coroutine see what another stored, and wait on it", function()
    local r <close> = futex.anon(4096)
    local c = r:cell(4092)
    local producer = coroutine.create(function()
      for i = 1, 10 do c:store(i); c:wake(); coroutine.yield() end
    end)
    local seen = {}
    while coroutine.status(producer) ~= "dead" do
      assert(coroutine.resume(producer))
      local v = c:load()
      assert.is_true(c:wait(v - 1, 1)) -- the word moved on: returns at once
      assert.is_false(c:wait(v, 0))
      seen[#seen + 1] = v
    end
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10 }, seen)
  end)
end)
