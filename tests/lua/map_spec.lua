-- futex.map never follows a link or takes over someone else's file: no
-- symlink at the last component (ELOOP), regular files only, another user's
-- file only when asked ({shared_with_others = true}), {exclusive = true}
-- creates or fails, a "\0" in the path is an argument error, and a map that
-- fails after creating its file removes it.
local futex = require "futex"
local H = require "helpers"

local ELOOP, EEXIST, EISDIR, EINVAL, EPERM = 40, 17, 21, 22, 1
local opts = { shared = futex.capabilities & futex.CAP_SHARED ~= 0 }
local function with(extra)
  local t = { shared = opts.shared }
  for k, v in pairs(extra) do t[k] = v end
  return t
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

describe("futex.map", function()
  it("refuses a symlink at the last component, and leaves its target alone", function()
    local target, link = H.tmpname(), H.tmpname()
    write(target, "precious")
    assert.is_true(os.execute(("ln -s %s %s"):format(target, link)))
    local r, msg, err = futex.map(link, 4096, opts)
    assert.is_nil(r)
    assert.are.equal(ELOOP, err, msg)
    assert.are.equal("precious", read(target)) -- not grown, not overwritten
    -- A dangling link is refused too, and creates nothing where it points.
    os.remove(target)
    r, msg, err = futex.map(link, 4096, opts)
    assert.is_nil(r)
    assert.are.equal(ELOOP, err, msg)
    assert.is_false(exists(target))
    os.remove(link)
  end)

  it("maps regular files only", function()
    local dir = H.tmpname()
    assert.is_true(os.execute("mkdir " .. dir))
    local r, msg, err = futex.map(dir, 4096, opts)
    assert.is_nil(r)
    assert.is_truthy(err == EISDIR or err == EINVAL, msg)
    os.execute("rmdir " .. dir)
    local fifo = H.tmpname()
    assert.is_true(os.execute("mkfifo " .. fifo))
    r, msg, err = futex.map(fifo, 4096, opts) -- must neither hang on open nor map it
    assert.is_nil(r)
    assert.are.equal(EINVAL, err)
    assert.is_truthy(msg:find("not a regular file", 1, true), msg)
    assert.is_true(os.execute("test -p " .. fifo)) -- not ours to remove (opening it would block)
    os.remove(fifo)
  end)

  it("creates exclusively when asked", function()
    local p = H.tmpname()
    local r = assert(futex.map(p, 4096, with({ exclusive = true })))
    r:close()
    local again, msg, err = futex.map(p, 4096, with({ exclusive = true }))
    assert.is_nil(again)
    assert.are.equal(EEXIST, err, msg)
    assert.are.equal(4096, #read(p)) -- the existing file is untouched
    local shared = assert(futex.map(p, 4096, opts)) -- without the option, an existing file is fine
    shared:close()
    os.remove(p)
  end)

  it("treats a \\0 in the path as an argument error", function()
    local dir = H.tmpname()
    assert.is_true(os.execute("mkdir " .. dir))
    assert.has_error(function() futex.map(dir .. "/a\0b", 4096, opts) end,
                     "bad argument #1 to 'map' (path contains a \\0 byte)")
    assert.is_false(exists(dir .. "/a"))
    os.execute("rmdir " .. dir)
  end)

  it("removes the file it created when the map then fails", function()
    local p = H.tmpname()
    local r, msg = futex.map(p, 1 << 47, opts) -- past the file size limit: ftruncate fails
    assert.is_nil(r, "a 128 TiB file was mapped")
    assert.is_truthy(msg)
    assert.is_false(exists(p), "the failed map left its file behind")
    -- A file that existed before is never removed by a failure.
    write(p, "")
    r = futex.map(p, 1 << 47, opts)
    assert.is_nil(r)
    assert.is_true(exists(p))
    os.remove(p)
  end)

  it("checks its options table", function()
    assert.has_error(function() futex.map(H.tmpname(), 4096, "exclusive") end)
  end)

  it("refuses a file another user owns unless shared_with_others", function()
    -- Needs a file owned by someone else that we can open: root can make one.
    local p = H.tmpname()
    write(p, "")
    local chowned = os.execute(("chown nobody %s 2>/dev/null"):format(p))
    if chowned then
      local r, msg, err = futex.map(p, 4096, opts)
      assert.is_nil(r)
      assert.are.equal(EPERM, err)
      assert.is_truthy(msg:find("shared_with_others", 1, true), msg)
      assert.are.equal(0, #read(p)) -- not grown
      r = assert(futex.map(p, 4096, with({ shared_with_others = true })))
      r:close()
    else
      -- Not root: our own file is ours, and the option changes nothing for it.
      local r = assert(futex.map(p, 4096, opts))
      r:close()
      assert.are.equal(4096, #read(p))
    end
    os.remove(p)
  end)
end)
