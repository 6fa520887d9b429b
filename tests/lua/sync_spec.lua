-- The synchronization primitives from Lua: region:mutex/semaphore/event/
-- condition/barrier, in one process and across lua5.4 processes mapping the
-- same file, owner death by SIGKILL, Ctrl-C in a blocked acquire, bad input.
local futex = require "futex"
local H = require "helpers"

local EOWNERDEAD_TEXT = "owner died"

-- Starts `lua5.4 <script> <path>` where the script is `body` after a
-- preamble that maps path as r; returns the pipe and the pid. The script
-- prints "ready" (flushed) when told to by calling ready().
local function child(path, body)
  local script = H.tmpname() .. ".lua"
  local f = assert(io.open(script, "w"))
  f:write('local futex = require "futex"\n',
          'local r = assert(futex.map(arg[1], 4096))\n',
          'local function ready() io.stdout:write("ready\\n"); io.stdout:flush() end\n',
          body, '\n')
  f:close()
  local p = assert(io.popen(("echo $$; exec %s %s %q 2>&1"):format(H.LUA, script, path), "r"))
  local pid = tonumber(p:read("l"))
  return { pipe = p, pid = pid, script = script }
end

local function expect_ready(c)
  local line = c.pipe:read("l")
  if line ~= "ready" then -- (only then: the rest of the output ends when the child does)
    error("child said: " .. tostring(line) .. "\n" .. (c.pipe:read("a") or ""))
  end
end

local function finish(c)
  local out = c.pipe:read("a")
  local ok, how, code = c.pipe:close()
  os.remove(c.script)
  return ok, out, how, code
end

local function kill9(c)
  assert.is_true(os.execute(("kill -KILL %d"):format(c.pid)))
  finish(c)
end

describe("futex primitives in one process", function()
  local r
  before_each(function() r = assert(futex.anon(4096)) end)
  after_each(function() r:close() end)

  it("report their sizes and alignments", function()
    assert.are.same({ mutex = 64, semaphore = 16, event = 4, condition = 8, barrier = 8 }, futex.SIZE)
    assert.are.equal(8, futex.ALIGN.mutex)
    assert.are.equal(4, futex.ALIGN.event)
  end)

  it("mutex: acquire, locked, release; a try of a held mutex is false", function()
    local m = r:mutex(0)
    assert.is_false(m:locked())
    assert.is_true(m:acquire())
    assert.is_true(m:locked())
    assert.is_true(m:is_owned())
    assert.is_true(m:release())
    assert.is_false(m:locked())
    assert.is_true(m:acquire(0))
    assert.is_true(m:release())
  end)

  it("mutex: re-acquiring your own raises instead of hanging, releasing an unheld one raises", function()
    local m = r:mutex(0)
    assert.is_true(m:acquire())
    assert.has_error(function() m:acquire() end, "mutex already held by this thread (it is not recursive)")
    assert.has_error(function() m:acquire(0.1) end)
    assert.is_true(m:release())
    assert.has_error(function() m:release() end, "release of a mutex not held by this thread")
    assert.has_error(function() m:consistent() end)
  end)

  it("semaphore: value, bound, timeout", function()
    local s = r:semaphore(64, 2, 2)
    assert.are.equal(2, s:get_value())
    assert.are.equal(2, s:bound())
    assert.is_true(s:acquire())
    assert.is_true(s:acquire(0))
    assert.is_false(s:acquire(0))
    local t0 = futex.monotonic()
    assert.is_false(s:acquire(0.1))
    assert.is_true(futex.monotonic() - t0 >= 0.1)
    assert.is_true(s:release(2))
    assert.has_error(function() s:release() end, "semaphore released too many times (past its bound)")
    assert.are.equal(2, s:get_value())
    -- Attaching (no value) keeps what is there; zeros are value 0, unbounded.
    assert.are.equal(2, r:semaphore(64):get_value())
    assert.is_nil(r:semaphore(80):bound())
    assert.are.equal(0, r:semaphore(80):get_value())
  end)

  it("event: set, clear, wait with and without timeout", function()
    local e = r:event(0)
    assert.is_false(e:is_set())
    assert.is_false(e:wait(0))
    assert.is_false(e:wait(0.05))
    e:set()
    assert.is_true(e:is_set())
    assert.is_true(e:wait())
    e:clear()
    assert.is_false(e:is_set())
  end)

  it("condition: a wait times out with the mutex held again; misuse raises", function()
    local m = r:mutex(0)
    local c = r:condition(64, m)
    assert.are.equal(m, c:mutex())
    assert.has_error(function() c:wait(0.01) end, "condition wait without its mutex held")
    assert.has_error(function() c:notify() end, "condition notify without its mutex held")
    assert.is_true(m:acquire())
    assert.is_false(c:wait(0.05))
    assert.is_true(m:is_owned())
    assert.are.equal(0, c:notify())
    assert.are.equal(0, c:notify_all())
    assert.is_true(m:release())
  end)

  it("barrier: one party passes at once; a timeout breaks it; reset mends it", function()
    local b1 = r:barrier(0, 1)
    assert.are.equal(0, b1:wait())
    local b = r:barrier(8, 2)
    assert.are.equal(2, b:parties())
    local ok, msg, errno = b:wait(0.05)
    assert.is_nil(ok)
    assert.are.equal("broken", msg)
    assert.is_number(errno)
    assert.is_true(b:broken())
    assert.is_nil((b:wait(1))) -- broken until reset
    b:reset()
    assert.is_false(b:broken())
    assert.are.equal(0, b:n_waiting())
    b:abort()
    assert.is_true(b:broken())
  end)
end)

describe("futex primitives: bad input", function()
  local r
  before_each(function() r = assert(futex.anon(4096)) end)
  after_each(function() r:close() end)

  it("is refused with an error and touches nothing", function()
    assert.has_error(function() r:mutex(4) end)      -- misaligned (8)
    assert.has_error(function() r:mutex(4096 - 32) end) -- past the end
    assert.has_error(function() r:mutex(-8) end)
    assert.has_error(function() r:event(4096) end)
    assert.has_error(function() r:semaphore(0, -1) end)
    assert.has_error(function() r:semaphore(0, 3, 2) end) -- value past the bound
    assert.has_error(function() r:semaphore(0, nil, 2) end) -- a bound without a value
    assert.has_error(function() r:barrier(0) end)           -- all zeros and no parties
    assert.has_error(function() r:barrier(0, 0) end)
    assert.has_error(function() r:barrier(0, 70000) end)
    assert.has_error(function() r:condition(0, "not a mutex") end)
    assert.has_error(function() r:mutex(0):acquire(-1) end)
    assert.has_error(function() r:mutex(0):acquire(0 / 0) end)
    assert.has_error(function() r:semaphore(16):release(0) end)
    for i = 0, 4095 do assert.are.equal(0, r:cell(i - i % 4):load()) end
    local b = r:barrier(0, 3)
    local ok, err = pcall(r.barrier, r, 0, 4)
    assert.is_false(ok)
    assert.truthy(err:find("another party count", 1, true))
    assert.are.equal(3, r:barrier(0):parties())
    -- Setting up is the core's "initialise if still all zeros": the same
    -- count attaches without a reset; memory that is neither zeros nor a
    -- barrier is refused and left as it was.
    b:abort()
    assert.is_true(r:barrier(0, 3):broken())
    assert.has_error(function() r:barrier(0, 4) end)
    assert.is_true(b:broken())
    r:cell(12):store(7) -- parties 0 (at 8), a state (at 12)
    ok, err = pcall(r.barrier, r, 8, 2)
    assert.is_false(ok)
    assert.truthy(err:find("holds no barrier", 1, true))
    assert.are.equal(0, r:cell(8):load())
    assert.are.equal(7, r:cell(12):load())
    -- A party count no set-up stores (as an int, it would read as an errno).
    r:cell(8):store(0xFFFFFFEA)
    r:cell(12):store(0)
    for _, parties in ipairs({ 2, false }) do
      ok, err = pcall(r.barrier, r, 8, parties or nil)
      assert.is_false(ok)
      assert.truthy(err:find("holds no barrier", 1, true))
    end
    assert.are.equal(0xFFFFFFEA, r:cell(8):load())
    -- The same count written over a barrier in use: its calls say so, none reads it as a count.
    local used = r:barrier(16, 2)
    r:cell(16):store(0xFFFFFFEA)
    for _, call in ipairs({ used.parties, used.abort, used.reset, function(x) return x:wait(0) end }) do
      local res, msg, code = call(used)
      assert.is_nil(res)
      assert.are.equal("string", type(msg))
      assert.are.equal(22, code)
    end
    assert.are.equal(0xFFFFFFEA, r:cell(16):load())
  end)

  it("refuses a method called on another kind of object, touching nothing", function()
    -- A primitive's method must take only its own kind as self: a
    -- semaphore's layout read as an event's (or a cell, or a table) would
    -- write outside what the caller gave it.
    local e, s, m = r:event(0), r:semaphore(64, 0), r:mutex(128)
    local c = r:cell(256)
    local cases = {
      { e.set, s, "futex.event expected, got futex.semaphore" },
      { e.wait, m, "futex.event expected, got futex.mutex" },
      { s.release, e, "futex.semaphore expected, got futex.event" },
      { s.acquire, c, "futex.semaphore expected, got futex.cell" },
      { m.acquire, {}, "futex.mutex expected, got table" },
      { m.release, nil, "futex.mutex expected, got nil" },
      { r:barrier(192, 2).wait, s, "futex.barrier expected, got futex.semaphore" },
      { r:condition(320, m).notify, m, "futex.condition expected, got futex.mutex" },
    }
    for _, k in ipairs(cases) do
      local ok, err = pcall(k[1], k[2])
      assert.is_false(ok)
      assert.truthy(err:find(k[3], 1, true), err)
    end
    assert.is_false(e:is_set())
    assert.are.equal(0, s:get_value())
    assert.is_false(m:locked())
    for off = 0, 188, 4 do assert.are.equal(0, r:cell(off):load(), off) end
  end)

  it("raises once the region is closed", function()
    local m = r:mutex(0)
    r:close()
    assert.has_error(function() m:acquire() end, "region is closed")
    r = assert(futex.anon(4096))
  end)
end)

-- The rest needs a second process sharing the primitives: not on a backend
-- that cannot reach other processes (the posix parking lot), where these
-- cases do not exist -- as process_spec, which the posix run leaves out.
if futex.capabilities & futex.CAP_SHARED ~= 0 then
describe("futex primitives across lua5.4 processes", function()
  local path, r
  before_each(function()
    path = H.tmpname()
    r = assert(futex.map(path, 4096))
  end)
  after_each(function()
    r:close()
    os.remove(path)
  end)

  it("a mutex held by another process is not ours to take, and is handed over on release", function()
    local m = r:mutex(0)
    local c = child(path, [[
      local m = r:mutex(0)
      assert(m:acquire() == true)
      ready()
      r:event(64):wait(20)
      assert(m:release())
    ]])
    expect_ready(c)
    assert.is_false(m:acquire(0))
    assert.is_false(m:acquire(0.05))
    r:event(64):set()
    assert.is_true(m:acquire(20))
    assert.is_true(m:release())
    local ok, out = finish(c)
    assert.is_true(ok, out)
  end)

  it("owner death: the next acquirer gets the lock and is told; without consistent() it becomes unusable", function()
    local m = r:mutex(0)
    local c = child(path, [[
      assert(r:mutex(0):acquire() == true)
      ready()
      r:event(64):wait(60)
    ]])
    expect_ready(c)
    kill9(c)
    local ok, why = m:acquire(5)
    assert.is_true(ok)
    assert.are.equal(EOWNERDEAD_TEXT, why)
    assert.is_true(m:is_owned())
    -- Released without consistent(): permanently unusable.
    local rel, msg, errno = m:release()
    assert.is_nil(rel)
    assert.is_string(msg)
    assert.is_number(errno)
    local a, amsg, aerr = m:acquire(0.1)
    assert.is_nil(a)
    assert.are.equal(msg, amsg)
    assert.are.equal(errno, aerr)
  end)

  it("owner death: consistent() repairs it, and a blocked acquirer gets it within a second", function()
    local m = r:mutex(0)
    local c = child(path, [[
      assert(r:mutex(0):acquire() == true)
      ready()
      r:event(64):wait(60)
    ]])
    expect_ready(c)
    -- Kill it while we are blocked in an untimed acquire.
    local t0
    assert.is_true(os.execute(("(sleep 0.3; kill -KILL %d) &"):format(c.pid)))
    t0 = futex.monotonic()
    local ok, why = m:acquire()
    local waited = futex.monotonic() - t0
    finish(c)
    assert.is_true(ok)
    assert.are.equal(EOWNERDEAD_TEXT, why)
    -- 0.3 s until the kill, then at most a second to notice it.
    assert.is_true(waited < 0.3 + 1.0 + 0.5, ("took %.3f s"):format(waited))
    assert.is_true(m:consistent())
    assert.is_true(m:release())
    assert.are.same({ true }, { m:acquire(0) })
    assert.is_true(m:release())
  end)

  it("semaphores and events hand over between processes", function()
    local c = child(path, [[
      local ping, pong = r:semaphore(0), r:semaphore(16)
      local e = r:event(32)
      for i = 1, 200 do
        assert(ping:acquire(20), "no ping")
        pong:release()
      end
      e:set()
    ]])
    local ping, pong = r:semaphore(0), r:semaphore(16)
    for i = 1, 200 do
      ping:release()
      assert.is_true(pong:acquire(20))
    end
    assert.is_true(r:event(32):wait(20))
    local ok, out = finish(c)
    assert.is_true(ok, out)
  end)

  it("a condition notify reaches a waiter in another process", function()
    local m, cv, flag = r:mutex(0), nil, r:cell(128)
    cv = r:condition(64, m)
    local c = child(path, [[
      local m = r:mutex(0)
      local cv = r:condition(64, m)
      local flag = r:cell(128)
      assert(m:acquire(20))
      ready()
      while flag:load() == 0 do assert(cv:wait(20), "not notified") end
      assert(m:release())
    ]])
    expect_ready(c)
    assert.is_true(m:acquire(20)) -- the child is in wait (it let the mutex go)
    flag:store(1)
    cv:notify()
    assert.is_true(m:release())
    local ok, out = finish(c)
    assert.is_true(ok, out)
  end)

  it("a barrier meets across processes, each with its arrival index", function()
    local b = r:barrier(0, 3)
    local kids = {}
    for i = 1, 2 do
      kids[i] = child(path, [[
        local b = r:barrier(0)
        local idx = assert(b:wait(20))
        print("index " .. idx)
      ]])
    end
    local mine = assert(b:wait(20))
    local seen = { [mine] = true }
    for i = 1, 2 do
      local ok, out = finish(kids[i])
      assert.is_true(ok, out)
      seen[tonumber(out:match("index (%d+)"))] = true
    end
    assert.are.same({ [0] = true, [1] = true, [2] = true }, seen)
  end)
end)

describe("SIGINT in a blocked mutex acquire", function()
  it("ends the lua5.4 process with 'interrupted!' promptly", function()
    local path = H.tmpname()
    local r = assert(futex.map(path, 4096))
    local m = r:mutex(0)
    assert.is_true(m:acquire())
    local c = child(path, [[
      ready()
      r:mutex(0):acquire()
      print("acquired")
    ]])
    expect_ready(c)
    H.sleep(0.2) -- let it block
    local t0 = futex.monotonic()
    assert.is_true(os.execute(("kill -INT %d; (sleep 5; kill -KILL %d) 2>/dev/null &"):format(c.pid, c.pid)))
    local ok, out = finish(c)
    local took = futex.monotonic() - t0
    assert.is_true(m:release())
    r:close()
    os.remove(path)
    assert.is_falsy(ok)
    assert.is_truthy(out:find("interrupted!", 1, true), out)
    assert.is_nil(out:find("acquired", 1, true))
    assert.is_true(took < 1.5, ("took %.3f s"):format(took))
  end)
end)
end
