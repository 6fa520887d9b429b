-- One futex Mutex shared by a lua5.4 process (this one) and a python3
-- process (tests/python-lua/sync_partner.py): the same 64 bytes of one file,
-- the same lock word, owner death seen across the two languages.
local futex = require "futex"
local H = require "helpers" -- tests/lua/helpers.lua, on LUA_PATH_5_4
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

local function partner(role, path, n) return H.python(HERE .. "/sync_partner.py", role, path, n) end

describe("a Mutex shared by Lua and Python", function()
  local path, r
  before_each(function()
    path = H.tmpname()
    r = assert(futex.map(path, 4096))
  end)
  after_each(function()
    r:close()
    os.remove(path)
  end)

  it("guards a non-atomic counter that both increment", function()
    local m, counter, n = r:mutex(0), r:cell(512), 20000
    local py = partner("race", path, n)
    assert(r:barrier(600, 2):wait(20), "python never came") -- start together
    for _ = 1, n do
      assert(m:acquire(20) == true, "the mutex was never free")
      counter:store(counter:load() + 1) -- read, then store: only the mutex makes it safe
      m:release()
    end
    local out, ok = H.finish(py)
    assert.is_true(ok, out)
    assert.are.equal(2 * n, counter:load())
  end)

  it("tells Lua when the Python holder was killed, and Python sees Lua's repair", function()
    local m = r:mutex(0)
    local out, ok, how, code = H.finish(partner("die", path, 0))
    assert.are.equal("signal", how, out)
    assert.are.equal(9, code)
    assert.is_true(r:event(576):is_set())
    local got, why = m:acquire(5)
    assert.is_true(got)
    assert.are.equal("owner died", why)
    assert.is_true(m:consistent())
    assert.is_true(m:release())
    -- Repaired: a Python process uses it again without being told anything.
    out, ok = H.finish(partner("count", path, 10))
    assert.is_true(ok, out)
    assert.are.equal(10, r:cell(512):load())
  end)
end)
