-- Lua and Python on one file: a lua5.4 process (this one) and a python3
-- process (tests/cross/partner.py, through the Python binding) map the
-- same file and wait/wake on the same words.
local futex = require "futex"

local PYTHON = os.getenv("FUTEX_TEST_PYTHON") or "python3"

local function tmpfile()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function partner(role, path, n)
  return assert(io.popen(("%s tests/cross/partner.py %s %q %d 2>&1"):format(PYTHON, role, path, n), "r"))
end

local function finish(p)
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

describe("Lua and Python over one futex.map file", function()
  local path, r
  before_each(function()
    path = tmpfile()
    r = assert(futex.map(path, 4096))
  end)
  after_each(function()
    r:close()
    os.remove(path)
  end)

  it("ping-pong 10,000 times, Lua leading", function()
    local c, n = r:cell(0), 10000
    local py = partner("pong", path, n)
    for i = 1, n do
      c:store(2 * i - 1)
      c:wake()
      local d = futex.deadline(20)
      while c:load() ~= 2 * i do
        assert.is_true(d:wait(c, 2 * i - 1), "no pong " .. i)
      end
    end
    local ok, out = finish(py)
    assert.is_true(ok, out)
    assert.are.equal(2 * n, c:load())
  end)

  it("ping-pong 10,000 times, Python leading", function()
    local c, n = r:cell(0), 10000
    local py = partner("ping", path, n)
    for i = 1, n do
      local d = futex.deadline(20)
      while c:load() ~= 2 * i - 1 do
        assert.is_true(d:wait(c, 2 * i - 2), "no ping " .. i)
      end
      c:store(2 * i)
      c:wake()
    end
    local ok, out = finish(py)
    assert.is_true(ok, out)
    assert.are.equal(2 * n, c:load())
  end)

  it("add to one counter at once, and Python's wake ends Lua's wait", function()
    local count, done, n = r:cell(4), r:cell(8), 100000
    local py = partner("add", path, n)
    for _ = 1, n do count:fetch_add(1) end
    local d = futex.deadline(20)
    while done:load() == 0 do
      assert.is_true(d:wait(done, 0), "python never said done")
    end
    local ok, out = finish(py)
    assert.is_true(ok, out)
    assert.are.equal(2 * n, count:load())
  end)
end)
