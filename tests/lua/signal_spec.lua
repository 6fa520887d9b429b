-- Ctrl-C: SIGINT to a lua5.4 process blocked in a forever-wait loop ends it
-- with "interrupted!" promptly, wherever the loop waits.
local futex = require "futex"
local H = dofile("tests/lua/helpers.lua")

-- Starts lua5.4 running `body` (c is a cell holding 0) through a shell that
-- prints the pid before exec-ing it; returns the pipe and pid once the
-- script says it is about to wait.
local function start(body)
  local script = H.tmpname() .. ".lua"
  local f = assert(io.open(script, "w"))
  f:write('local futex = require "futex"\n',
          'local c = futex.anon(4):cell(0)\n',
          'io.stdout:write("waiting\\n"); io.stdout:flush()\n',
          body, '\n',
          'print("loop ended")\n')
  f:close()
  local p = assert(io.popen("echo $$; exec " .. H.LUA .. " " .. script .. " 2>&1", "r"))
  local pid = tonumber(p:read("l"))
  assert.are.equal("waiting", p:read("l"))
  return p, pid, script
end

local function interrupt(body)
  local p, pid, script = start(body)
  H.sleep(0.2) -- let it reach the wait and park
  local t0 = futex.monotonic()
  assert.is_true(os.execute("kill -INT " .. pid))
  local out = p:read("a") -- EOF once the process is gone
  local took = futex.monotonic() - t0
  local ok, how, code = p:close()
  os.remove(script)
  assert.is_truthy(out:find("interrupted!", 1, true), "output: " .. out)
  assert.is_nil(out:find("loop ended", 1, true))
  assert.is_falsy(ok)
  assert.are.equal("exit", how)
  assert.are.equal(1, code)
  assert.is_true(took < 0.5, ("took %.3f s"):format(took))
end

describe("SIGINT", function()
  it("ends a forever-wait loop", function()
    interrupt("while true do c:wait(0) end")
  end)

  it("ends a loop of long timed waits", function()
    interrupt("while true do c:wait(0, 1000) end")
  end)

  it("ends a loop on a Deadline that never expires", function()
    interrupt("local d = futex.deadline() while d:wait(c, 0) do end")
  end)

  it("ends a forever-wait loop inside a coroutine", function()
    interrupt("coroutine.wrap(function() while true do c:wait(0) end end)()")
  end)

  it("lets a pcall in the loop see the interruption as an error", function()
    interrupt("while true do local ok, e = pcall(c.wait, c, 0) if not ok then error(e, 0) end end")
  end)
end)
