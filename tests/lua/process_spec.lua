-- Between lua5.4 processes over futex.map: ping-pong, exact wake counts with
-- parked waiters, the created file's mode, and io.open-style OS errors.
local futex = require "futex"
local H = require "helpers"

describe("futex.map between processes", function()
  it("ping-pongs 10,000 times with a second lua5.4", function()
    local path = H.tmpname()
    local r <close> = assert(futex.map(path, 4096))
    local c = r:cell(0)
    local n = 10000
    local child = H.spawn("pong", path, n)
    H.lead(c, n)
    local out, ok = H.finish(child)
    assert.is_true(ok, out)
    assert.are.equal(2 * n, c:load())
    os.remove(path)
  end)

  local function parked_waiters(wake_fn, per_call_max)
    local path = H.tmpname()
    local r <close> = assert(futex.map(path, 4096))
    local word, ready, woken = r:cell(0), r:cell(4), r:cell(8)
    local kids = {}
    for i = 1, 3 do kids[i] = H.spawn("waiter", path) end
    assert.is_true(H.await(ready, 3), "the waiters did not start")
    -- A waiter that announced itself may not have parked yet: a wake finds
    -- only those parked, so wake until all three were counted. Each result
    -- must stay within what was asked and what is left.
    local total, d = 0, futex.deadline(20)
    while total < 3 do
      local n = wake_fn(word)
      assert.are.equal("integer", math.type(n)) -- Linux counts its wakes
      assert.is_true(n >= 0 and n <= per_call_max and n <= 3 - total, "woke " .. n)
      total = total + n
      if total < 3 then
        assert.is_false(d:expired(), "only " .. total .. " woken")
        H.sleep(0.01)
      end
    end
    for i = 1, 3 do
      local out, ok = H.finish(kids[i])
      assert.is_true(ok, out)
    end
    assert.are.equal(3, woken:load()) -- every counted wake woke a process, and no more
    assert.are.equal(0, word:wake_all())
    os.remove(path)
  end

  it("wake(1) wakes exactly one parked process per waiter", function()
    parked_waiters(function(w) return w:wake(1) end, 1)
  end)

  it("wake(2) never reports more than two", function()
    parked_waiters(function(w) return w:wake(2) end, 2)
  end)

  it("wake_all wakes every parked process", function()
    parked_waiters(function(w) return w:wake_all() end, 3)
  end)

  it("creates files with mode 0600 and grows them to the size asked", function()
    local path = H.tmpname()
    local r = assert(futex.map(path, 10000))
    local p = io.popen("stat -c '%a %s' " .. path)
    local mode, size = p:read("l"):match("(%d+) (%d+)")
    p:close()
    assert.are.equal("600", mode)
    assert.are.equal("10000", size)
    r:close()
    -- A smaller mapping of a bigger file leaves the file as it is.
    local small = assert(futex.map(path, 64))
    assert.are.equal(64, #small)
    small:close()
    local f = assert(io.open(path, "rb"))
    assert.are.equal(10000, f:seek("end"))
    f:close()
    os.remove(path)
  end)

  it("maps an existing file's contents", function()
    local path = H.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(string.pack("<I4I4", 0xCAFEF00D, 7))
    f:close()
    local r <close> = assert(futex.map(path, 8))
    assert.are.equal(0xCAFEF00D, r:cell(0):load())
    assert.are.equal(7, r:cell(4):load())
    r:cell(4):store(8)
    r:close()
    f = assert(io.open(path, "rb"))
    local _, b = string.unpack("<I4I4", f:read("a"))
    f:close()
    assert.are.equal(8, b)
    os.remove(path)
  end)

  it("returns nil, message, errno for a path in no directory, like io.open", function()
    local path = "/nonexistent-futex-dir/x"
    local r, msg, errno = futex.map(path, 4096)
    local _, io_msg, io_errno = io.open(path, "w")
    assert.is_nil(r)
    assert.are.equal(io_msg, msg)
    assert.are.equal(io_errno, errno)
    assert.are.equal(2, errno) -- ENOENT
  end)

  it("futex.anon returns nil, message, errno when the OS has no memory for it", function()
    local r, msg, errno = futex.anon(1 << 60) -- an exbibyte
    assert.is_nil(r)
    assert.are.equal("Cannot allocate memory", msg)
    assert.are.equal(12, errno) -- ENOMEM
  end)

  it("returns nil, message, errno for a directory", function()
    local r, msg, errno = futex.map("/tmp", 4096)
    assert.is_nil(r)
    assert.are.equal("/tmp: Is a directory", msg)
    assert.are.equal(21, errno) -- EISDIR
  end)
end)
