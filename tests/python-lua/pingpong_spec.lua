-- Lua and Python on one file: a lua5.4 process (this one) and a python3
-- process (tests/python-lua/partner.py, through the Python binding) map the
-- same file and wait/wake on the same words.
local futex = require "futex"
local H = require "helpers" -- tests/lua/helpers.lua, on LUA_PATH_5_4
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

local function partner(role, path, n) return H.python(HERE .. "/partner.py", role, path, n) end

describe("Lua and Python over one futex.map file", function()
  local path, r
  before_each(function()
    path = H.tmpname()
    r = assert(futex.map(path, 4096))
  end)
  after_each(function()
    r:close()
    os.remove(path)
  end)

  -- Lua's side of each game, and the role partner.py plays against it.
  for _, game in ipairs({ { "Lua", H.lead, "pong" }, { "Python", H.follow, "ping" } }) do
    local leader, lua_side, python_role = game[1], game[2], game[3]
    it("ping-pong 10,000 times, " .. leader .. " leading", function()
      local c, n = r:cell(0), 10000
      local py = partner(python_role, path, n)
      lua_side(c, n)
      local out, ok = H.finish(py)
      assert.is_true(ok, out)
      assert.are.equal(2 * n, c:load())
    end)
  end

  it("add to one counter at once, and Python's wake ends Lua's wait", function()
    local count, done, n = r:cell(4), r:cell(8), 100000
    local py = partner("add", path, n)
    for _ = 1, n do count:fetch_add(1) end
    local d = futex.deadline(20)
    while done:load() == 0 do
      assert.is_true(d:wait(done, 0), "python never said done")
    end
    local out, ok = H.finish(py)
    assert.is_true(ok, out)
    assert.are.equal(2 * n, count:load())
  end)
end)
