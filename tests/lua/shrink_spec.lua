-- A region whose file another process shrinks: every cell operation raises
-- an error that says the file shrank, and keeps raising, instead of the
-- process dying of SIGBUS. Each case runs in a child lua5.4, so a
-- regression fails the spec instead of killing busted. (A fault outside a
-- cell operation staying fatal is tests/c/test-guard.c's: Lua code cannot
-- touch the mapping any other way.)
local H = require "helpers"

local function child(body)
  local script = H.tmpname() .. ".lua"
  local f = assert(io.open(script, "w"))
  f:write([[
local futex = require "futex"
local p = os.tmpname()
local opts = { shared = futex.capabilities & futex.CAP_SHARED ~= 0 }
local r = assert(futex.map(p, 8192, opts))
local c = r:cell(4100)
c:store(5)
assert(c:load() == 5)
assert(os.execute("truncate -s 0 " .. p)) -- as any process that can write the file may
os.remove(p)
]], body, "\n")
  f:close()
  local pipe = assert(io.popen(H.LUA .. " " .. script .. " 2>&1"))
  local out = pipe:read("a")
  local ok, how, code = pipe:close()
  os.remove(script)
  return out, ok, how, code
end

describe("a region whose file shrank", function()
  it("raises from every cell operation, again and again, and the process goes on", function()
    local out, ok = child([[
local ops = {
  function() return c:load() end, function() c:store(1) end, function() return c:exchange(1) end,
  function() return c:compare_exchange(0, 1) end, function() return c:fetch_add(1) end,
  function() return c:fetch_sub(1) end, function() return c:fetch_and(1) end,
  function() return c:fetch_or(1) end, function() return c:fetch_xor(1) end,
  function() return c:wait(0) end, function() return c:wait(0, 0.01) end,
  function() return futex.deadline(1):wait(c, 0) end, function() return c:wake() end,
  function() return c:wake_all() end, function() return r:cell(4104):load() end,
}
for round = 1, 2 do
  for i, op in ipairs(ops) do
    local good, err = pcall(op)
    assert(not good, "op " .. i .. " did not fail")
    assert(tostring(err):find("shrank", 1, true), err)
  end
end
assert(tostring(c):find("file shrank", 1, true))
r:close()
print("alive")
]])
    assert.are.equal("alive\n", out)
    assert.is_true(ok)
  end)

end)
