-- Ctrl-C: SIGINT to a lua5.4 process blocked in a forever-wait loop ends it
-- with "interrupted!" promptly, wherever the loop waits. Again under
-- sa_restart_host.c, whose handler has SA_RESTART: the kernel restarts an
-- untimed wait after it, so this proves forever is a timed wait.
local futex = require "futex"
local H = require "helpers"

-- Starts lua5.4 running `body` (c is a cell holding 0) through a shell that
-- prints the pid before exec-ing it; returns the pipe and pid once the
-- script says it is about to wait.
local function start(interpreter, body)
  local script = H.tmpname() .. ".lua"
  local f = assert(io.open(script, "w"))
  f:write('local futex = require "futex"\n',
          'local c = futex.anon(4):cell(0)\n',
          'io.stdout:write("waiting\\n"); io.stdout:flush()\n',
          body, '\n',
          'print("loop ended")\n')
  f:close()
  local p = assert(io.popen("echo $$; exec " .. interpreter .. " " .. script .. " 2>&1", "r"))
  local pid = tonumber(p:read("l"))
  assert.are.equal("waiting", p:read("l"))
  return p, pid, script
end

local function interrupt(interpreter, body)
  local p, pid, script = start(interpreter, body)
  H.sleep(0.2) -- let it reach the wait and park
  local t0 = futex.monotonic()
  -- The watchdog ends a process the signal failed to stop, so the test
  -- fails on the time it took instead of hanging.
  assert.is_true(os.execute(("kill -INT %d; (sleep 5; kill -KILL %d) 2>/dev/null &"):format(pid, pid)))
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

local host = H.tmpname()

describe("SIGINT", function()
  setup(function()
    local cc = ("cc -std=c11 -O1 -o %s " .. H.DIR .. "/sa_restart_host.c $(pkg-config --cflags --libs lua5.4 2>/dev/null"
                .. " || echo -I/usr/include/lua5.4 -llua5.4) -lm"):format(host)
    assert.is_true(os.execute(cc), "cannot build the SA_RESTART host")
  end)
  teardown(function() os.remove(host) end)

  local loops = {
    { "a forever-wait loop", "while true do c:wait(0) end" },
    { "a loop of long timed waits", "while true do c:wait(0, 1000) end" },
    { "a loop on a Deadline that never expires", "local d = futex.deadline() while d:wait(c, 0) do end" },
    { "a wait_until with no timeout", "c:wait_until(1)" },
    { "a wait_until inside a coroutine", "coroutine.wrap(function() c:wait_until(1, 1000) end)()" },
    { "a forever-wait loop inside a coroutine", "coroutine.wrap(function() while true do c:wait(0) end end)()" },
    { "a pcall'd wait, which sees the interruption as an error",
      "while true do local ok, e = pcall(c.wait, c, 0) if not ok then error(e, 0) end end" },
    { "a futex.wait_any loop (FUTEX_WAITV, which the kernel restarts)",
      "local d = futex.anon(4):cell(0) while true do futex.wait_any({c, 0}, {d, 0}) end" },
    { "a watcher's w:wait loop (poll)", "local w = futex.watcher() w:add(c, 0) while true do w:wait() end" },
  }
  for _, loop in ipairs(loops) do
    it("ends " .. loop[1] .. " in lua5.4", function() interrupt(H.LUA, loop[2]) end)
    it("ends " .. loop[1] .. " under a handler with SA_RESTART", function() interrupt(host, loop[2]) end)
  end
end)
