-- A partner process for the specs: lua5.4 tests/lua/child.lua <role> args...
-- Exits 0 when its role went as expected, 1 with a message otherwise.
local futex = require "futex"
local role, path = arg[1], arg[2]

local function fail(msg)
  io.stderr:write("child ", role, ": ", msg, "\n")
  os.exit(1)
end

if role == "pong" then
  -- Follows the parent's ping-pong for n rounds.
  local r <close> = assert(futex.map(path, 4096))
  local ok, err = pcall(require("helpers").follow, r:cell(0), tonumber(arg[3]))
  if not ok then fail(err) end
  os.exit(0)
elseif role == "waiter" then
  -- Announces itself in cell 4, waits once on cell 0 (which stays 0), and
  -- counts in cell 8 that a wake, not a timeout, ended the wait.
  futex.set_spin(0) -- park at once
  local r <close> = assert(futex.map(path, 4096))
  local word, ready, woken = r:cell(0), r:cell(4), r:cell(8)
  ready:fetch_add(1)
  ready:wake_all()
  if not word:wait(0, 20) then fail("never woken") end
  woken:fetch_add(1)
  os.exit(0)
elseif role == "pong-helpers" then
  -- The ping-pong's answering side in two calls a round: wait for 2i+1, answer 2i+2.
  local r <close> = assert(futex.map(path, 4096))
  local c = r:cell(0)
  for i = 0, tonumber(arg[3]) - 1 do
    if not c:wait_until(2 * i + 1, 20) then fail("stuck at " .. c:load()) end
    c:store_and_wake(2 * i + 2)
  end
  os.exit(0)
elseif role == "setter" then
  -- Waits for the parent's go (cell 0 becomes 1), then stores 1 into each of
  -- the n cells at 4, 8, ... and wakes it.
  local r <close> = assert(futex.map(path, 4096))
  local n = tonumber(arg[3])
  if not require("helpers").await(r:cell(0), 1, 20) then fail("no go") end
  for i = 1, n do
    local c = r:cell(4 * i)
    c:store(1)
    c:wake()
  end
  os.exit(0)
else
  fail("unknown role " .. tostring(role))
end
