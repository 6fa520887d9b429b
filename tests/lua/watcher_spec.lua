local H = require "helpers"
-- Waits on many words: futex.wait_any (futex_waitv), the watcher (a file
-- descriptor any loop can poll, with w:wait polling it itself), and the
-- coroutine helper that runs many awaits under one loop, within this
-- process and with a second lua5.4 changing the words.
local futex = require "futex"
-- A case that needs a second process sharing the words exists only where the
-- backend reaches other processes (not on the posix parking lot).
local it_cross = futex.capabilities & futex.CAP_SHARED ~= 0 and it or function() end

describe("futex.wait_any", function()
  it("returns the index of the word that differs, without sleeping", function()
    local r <close> = futex.anon(64)
    local a, b, c = r:cell(0), r:cell(4), r:cell(8)
    c:store(5)
    assert.are.equal(3, futex.wait_any({ a, 0 }, { b, 0 }, { c, 0 }))
    assert.are.equal(2, futex.wait_any({ a, 0 }, { b, 7 }, { c, 5 }))
  end)

  it("times out (never early) when nothing changes", function()
    local r <close> = futex.anon(64)
    local t0 = futex.monotonic()
    assert.is_false(futex.wait_any({ r:cell(0), 0 }, { r:cell(4), 0 }, 0.1))
    assert.is_true(futex.monotonic() - t0 >= 0.1)
    assert.is_false(futex.wait_any({ r:cell(0), 0 }, 0)) -- 0: check only
  end)

  it_cross("wakes for a change of any of 128 words made by another process", function()
    local path = H.tmpname()
    local r <close> = assert(futex.map(path, 4096))
    local child = H.spawn("setter", path, 128)
    local pairs_ = {}
    for i = 1, 128 do pairs_[i] = { r:cell(4 * i), 0 } end
    pairs_[#pairs_ + 1] = 20 -- timeout
    r:cell(0):store(1)
    r:cell(0):wake_all()
    local i = futex.wait_any(table.unpack(pairs_))
    assert.is_number(i)
    assert.is_true(i >= 1 and i <= 128)
    local out, ok = H.finish(child)
    assert.is_true(ok, out)
    assert.are.equal(1, r:cell(4 * i):load()) -- a woken index: its word did change here
    os.remove(path)
  end)

  it("rejects bad arguments", function()
    local r <close> = futex.anon(64)
    local c = r:cell(0)
    assert.has_error(function() futex.wait_any() end)
    assert.has_error(function() futex.wait_any(5) end)
    assert.has_error(function() futex.wait_any({ c }) end)
    assert.has_error(function() futex.wait_any({ c, -1 }) end)
    assert.has_error(function() futex.wait_any({ c, 2 ^ 32 }) end)
    assert.has_error(function() futex.wait_any({ 1, 0 }) end)
    assert.has_error(function() futex.wait_any({ c, 0 }, -1) end)
    local many = {}
    for i = 1, 129 do many[i] = { c, 1 } end
    assert.has_error(function() futex.wait_any(table.unpack(many)) end)
  end)
end)

describe("futex.watcher", function()
  it("has an fd that poll(2) sees readable only once a cell fired", function()
    local r <close> = futex.anon(64)
    local a, b = r:cell(0), r:cell(4)
    local w <close> = futex.watcher()
    assert.is_true(math.type(w:fd()) == "integer" and w:fd() >= 0)
    w:add(a, 0)
    w:add(b, 0)
    assert.is_false(w:wait(0.05))
    assert.are.same({}, w:ready())
    b:store(2)
    b:wake()
    assert.is_true(w:wait(10))
    local got = w:ready()
    assert.are.equal(1, #got)
    assert.are.equal(b, got[1])
    assert.is_false(w:wait(0)) -- drained, and b is disarmed until added again
    w:add(b, 2) -- re-arm with the value seen
    assert.is_false(w:wait(0.02))
    w:add(a, 7) -- a holds 0: fires at once
    assert.is_true(w:wait(10))
    assert.are.equal(a, w:ready()[1])
  end)

  it("timeouts of w:wait are never early", function()
    local w <close> = futex.watcher()
    local t0 = futex.monotonic()
    assert.is_false(w:wait(0.1))
    assert.is_true(futex.monotonic() - t0 >= 0.1)
  end)

  it("remove: a removed cell never fires, and its region may close", function()
    local r = futex.anon(64)
    local a = r:cell(0)
    local w <close> = futex.watcher()
    w:add(a, 0)
    assert.has_error(function() r:close() end) -- the helper thread reads the word
    assert.is_true(w:remove(a))
    assert.is_false(w:remove(a))
    a:store(1)
    a:wake()
    assert.is_false(w:wait(0.05))
    r:close()
  end)

  it_cross("sees words changed by another process", function()
    local path = H.tmpname()
    local r <close> = assert(futex.map(path, 4096))
    local w <close> = futex.watcher()
    local n = 200 -- past one futex_waitv's 128 words
    local cells = {}
    for i = 1, n do cells[i] = r:cell(4 * i); w:add(cells[i], 0) end
    local child = H.spawn("setter", path, n)
    r:cell(0):store(1)
    r:cell(0):wake_all()
    local seen, d = {}, futex.deadline(20)
    local count = 0
    while count < n and w:wait(d:remaining()) do
      for _, c in ipairs(w:ready()) do
        if not seen[c] then seen[c] = true; count = count + 1 end
      end
    end
    assert.are.equal(n, count)
    local out, ok = H.finish(child)
    assert.is_true(ok, out)
    for _, c in ipairs(cells) do w:remove(c) end
    os.remove(path)
  end)

  it("is closed by close and by <close>", function()
    local w = futex.watcher()
    w:close()
    assert.has_error(function() w:fd() end)
    w:close() -- twice is fine
  end)
end)

describe("the watcher's coroutine helper", function()
  it("runs many awaits under one loop; each resumes when its cell changes", function()
    local r <close> = futex.anon(4 * 101)
    local w <close> = futex.watcher()
    local results, order = {}, {}
    for i = 1, 100 do
      w:spawn(function()
        local ok = w:await(r:cell(4 * i), 0, 20)
        results[i] = ok
        order[#order + 1] = i
      end)
    end
    assert.are.equal(0, #order) -- all suspended
    -- Change them from the same script between steps: 50 now, 50 later.
    for i = 1, 50 do r:cell(4 * i):store(1); r:cell(4 * i):wake() end
    local d = futex.deadline(20)
    while #order < 50 and not d:expired() do w:step(1) end
    assert.are.equal(50, #order)
    for i = 51, 100 do r:cell(4 * i):store(1); r:cell(4 * i):wake() end
    w:run()
    assert.are.equal(100, #order)
    for i = 1, 100 do assert.is_true(results[i]) end
  end)

  it("returns at once when the word already differs, and false at its timeout", function()
    local r <close> = futex.anon(8)
    local w <close> = futex.watcher()
    r:cell(0):store(3)
    local res = {}
    w:spawn(function() res.now = w:await(r:cell(0), 0) end)
    assert.is_true(res.now) -- finished within spawn: it never yielded
    local t0 = futex.monotonic()
    w:spawn(function() res.late = w:await(r:cell(4), 0, 0.1) end)
    w:run()
    assert.is_false(res.late)
    assert.is_true(futex.monotonic() - t0 >= 0.1)
  end)

  it_cross("resumes coroutines from another process's stores", function()
    local path = H.tmpname()
    local r <close> = assert(futex.map(path, 4096))
    local w <close> = futex.watcher()
    local done = 0
    for i = 1, 20 do
      w:spawn(function()
        assert(w:await(r:cell(4 * i), 0, 20))
        done = done + 1
      end)
    end
    local child = H.spawn("setter", path, 20)
    r:cell(0):store(1)
    r:cell(0):wake_all()
    w:run()
    assert.are.equal(20, done)
    local out, ok = H.finish(child)
    assert.is_true(ok, out)
    os.remove(path)
  end)

  it("await outside a coroutine is an error", function()
    local r <close> = futex.anon(4)
    local w <close> = futex.watcher()
    assert.has_error(function() w:await(r:cell(0), 0) end)
  end)
end)
