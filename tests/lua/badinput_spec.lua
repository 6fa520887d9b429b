-- Bad input raises "bad argument #n to 'name' (...)" and changes nothing.
-- (Through a method call Lua numbers arguments after self: c:store(x) is
-- argument #1 to 'store'.)
local futex = require "futex"

local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "did not raise")
  assert.is_truthy(tostring(err):find(pattern), ("%q does not match %q"):format(tostring(err), pattern))
end

describe("bad input", function()
  local r, c, guard_lo, guard_hi
  before_each(function()
    r = futex.anon(64)
    guard_lo, c, guard_hi = r:cell(4), r:cell(8), r:cell(12)
    guard_lo:store(0x11111111)
    c:store(5)
    guard_hi:store(0x22222222)
  end)
  after_each(function()
    -- Nothing changed: not the cell, not its neighbours.
    assert.are.equal(5, c:load())
    assert.are.equal(0x11111111, guard_lo:load())
    assert.are.equal(0x22222222, guard_hi:load())
    r:close()
  end)

  it("offsets: misaligned, negative, past the end, not integers", function()
    raises("bad argument #1 to 'cell' %(offset must be a multiple of 4%)", function() r:cell(2) end)
    raises("bad argument #1 to 'cell' %(offset outside the region%)", function() r:cell(-4) end)
    raises("bad argument #1 to 'cell' %(offset outside the region%)", function() r:cell(64) end)
    raises("bad argument #1 to 'cell' %(offset outside the region%)", function() r:cell(61) end)
    raises("bad argument #1 to 'cell' %(offset outside the region%)", function() r:cell(math.mininteger) end)
    raises("bad argument #1 to 'cell' %(number has no integer representation%)", function() r:cell(4.5) end)
    raises("bad argument #1 to 'cell' %(number expected, got no value%)", function() r:cell() end)
  end)

  it("values: negative, 2^32 and up, fractions, non-numbers", function()
    local cases = {
      { "-1", "value out of range %[0, 2%^32%)" },
      { "1 << 32", "value out of range" },
      { "math.maxinteger", "value out of range" },
      { "0.5", "number has no integer representation" },
      { "0 / 0", "number has no integer representation" },
      { "{}", "number expected, got table" },
      { "", "number expected, got no value" },
    }
    for _, op in ipairs({ "store", "exchange", "fetch_add", "fetch_sub", "fetch_and", "fetch_or", "fetch_xor" }) do
      for _, case in ipairs(cases) do
        -- Compiled as written, so that Lua names the method as in user code.
        local call = assert(load("local c = ...; c:" .. op .. "(" .. case[1] .. ")"))
        raises("bad argument #1 to '" .. op .. "' %(" .. case[2], call, c)
      end
    end
    raises("bad argument #1 to 'compare_exchange' %(value out of range", function() c:compare_exchange(-1, 6) end)
    raises("bad argument #2 to 'compare_exchange' %(value out of range", function() c:compare_exchange(5, 1 << 32) end)
    raises("bad argument #1 to 'wait' %(value out of range", function() c:wait(-1, 0) end)
  end)

  it("timeouts: negative, NaN, non-numbers", function()
    raises("bad argument #2 to 'wait' %(timeout must be a non%-negative number of seconds%)", function() c:wait(5, -1) end)
    raises("bad argument #2 to 'wait' %(timeout must be a non%-negative", function() c:wait(5, -math.huge) end)
    raises("bad argument #2 to 'wait' %(timeout must be a non%-negative", function() c:wait(5, 0 / 0) end)
    raises("bad argument #2 to 'wait' %(number expected, got string%)", function() c:wait(5, "soon") end)
    raises("bad argument #1 to 'deadline' %(timeout must be a non%-negative", function() futex.deadline(-0.5) end)
    raises("bad argument #1 to 'deadline' %(timeout must be a non%-negative", function() futex.deadline(0 / 0) end)
  end)

  it("wake counts: negative, not integers", function()
    raises("bad argument #1 to 'wake' %(wake count must be >= 0%)", function() c:wake(-1) end)
    raises("bad argument #1 to 'wake' %(number has no integer representation%)", function() c:wake(1.5) end)
  end)

  it("the wrong kind of object", function()
    local d = futex.deadline(1)
    raises("bad argument #1 to 'load' %(futex.cell expected, got futex.region%)", function() c.load(r) end)
    raises("bad argument #1 to 'cell' %(futex.region expected, got futex.cell%)", function() r.cell(c, 0) end)
    raises("bad argument #1 to 'wait' %(futex.cell expected, got number%)", function() d:wait(0, 0) end)
    raises("bad argument #1 to 'wait' %(futex.deadline expected, got futex.cell%)", function() d.wait(c, c, 0) end)
  end)

  it("the wrong kind of object, right after the method saw a real cell", function()
    -- The cell methods remember the last cell they checked: each other
    -- object is still checked in full.
    for _, op in ipairs({"load", "wake", "wait_until", "add_and_wake", "fetch_add"}) do
      assert(pcall(c[op], c, 0, 0), op) -- adds 0, wakes 0, waits 0 s: c keeps its 5
      local f = c[op]
      raises("bad argument #1 to 'f' %(futex.cell expected, got futex.region%)", function() f(r, 5) end)
      raises("bad argument #1 to 'f' %(futex.cell expected, got FILE%*%)", function() f(io.stdout, 5) end)
      raises("bad argument #1 to 'f' %(futex.cell expected, got nil%)", function() f(nil, 5) end)
    end
  end)

  it("sizes: zero, too small, negative, not integers", function()
    raises("bad argument #2 to 'map' %(size must be at least 4 bytes%)", function() futex.map("/tmp/never-created", 0) end)
    raises("bad argument #2 to 'map' %(size must be at least 4 bytes%)", function() futex.map("/tmp/never-created", -4096) end)
    raises("bad argument #1 to 'anon' %(size must be at least 4 bytes%)", function() futex.anon(3) end)
    raises("bad argument #1 to 'anon' %(number has no integer representation%)", function() futex.anon(4096.5) end)
    raises("bad argument #1 to 'map' %(string expected, got nil%)", function() futex.map(nil, 4096) end)
    assert.is_nil(io.open("/tmp/never-created")) -- a refused map creates no file
  end)

  it("spin counts out of range", function()
    local old = futex.get_spin()
    raises("bad argument #1 to 'set_spin' %(value out of range", function() futex.set_spin(-1) end)
    assert.are.equal(old, futex.get_spin())
  end)
end)
