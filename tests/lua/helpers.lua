-- Shared by the specs, as `require "helpers"`: the driver (ctest, through
-- tests/lua/CMakeLists.txt) puts this directory on LUA_PATH_5_4 and the
-- futex.so under test on LUA_CPATH_5_4. Files beside this one are found from
-- its own path, so the specs run from any working directory.
local futex = require "futex"

local H = {}

H.DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
H.LUA = os.getenv("FUTEX_TEST_LUA") or "lua5.4"
H.CHILD = H.DIR .. "/child.lua"

-- Sleeps by waiting on a private word nobody changes (Lua has no sleep).
local clock = futex.anon(4):cell(0)
function H.sleep(seconds)
  while clock:wait(0, seconds) do end
end

function H.tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

-- Starts `lua5.4 <this directory>/child.lua args...` reading its stdout.
function H.spawn(...)
  local args = { H.LUA, H.CHILD }
  for _, a in ipairs({ ... }) do args[#args + 1] = string.format("%q", tostring(a)) end
  return assert(io.popen(table.concat(args, " ") .. " 2>&1", "r"))
end

-- Starts `<python> <script> role path n` (FUTEX_TEST_PYTHON: the venv the
-- driver installed the module into), reading its stdout and stderr; exec, so
-- the process popen reports is python itself.
H.PYTHON = os.getenv("FUTEX_TEST_PYTHON") or "python3"
function H.python(script, role, path, n)
  return assert(io.popen(("exec %s %q %s %q %d 2>&1"):format(H.PYTHON, script, role, path, n), "r"))
end

-- Reads a child's whole output and its exit status.
function H.finish(p)
  local out = p:read("a")
  local ok, how, code = p:close()
  return out, ok, how, code
end

-- Waits (bounded) until cell holds want; returns whether it did.
function H.await(cell, want, seconds)
  local d = futex.deadline(seconds or 10)
  while true do
    local v = cell:load()
    if v == want then return true end
    if not d:wait(cell, v) then return cell:load() == want end
  end
end

-- The two sides of a ping-pong of n rounds on cell c (holding 0 at first):
-- the leader stores 2i-1 and waits for 2i, the follower answers 2i-1 with
-- 2i. Each raises if its partner is silent for `patience` seconds.
function H.lead(c, n, patience)
  for i = 1, n do
    c:store(2 * i - 1)
    c:wake()
    local d = futex.deadline(patience or 20)
    while c:load() ~= 2 * i do
      if not d:wait(c, 2 * i - 1) then error(("no answer to %d, value %d"):format(i, c:load())) end
    end
  end
end

function H.follow(c, n, patience)
  for i = 1, n do
    local d = futex.deadline(patience or 20)
    while c:load() ~= 2 * i - 1 do
      if not d:wait(c, 2 * i - 2) then error(("no ping %d, value %d"):format(i, c:load())) end
    end
    c:store(2 * i)
    c:wake()
  end
end

return H
