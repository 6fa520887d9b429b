-- The Lua half of `make demo`'s Lua part: consumes what a Python producer
-- (demo/lua_pair_producer.py) writes into a ring in one mapped file, checks
-- every message, and prints the rate.
--
--   lua5.4 demo/lua_ring_consumer.lua [SECONDS]
local futex = require "futex"

local SLOTS, BASE = 1024, 64
local MASK, DONE = 0x7FFFFFFF, 0x80000000
local seconds = tonumber(arg[1]) or 2

local path = os.tmpname()
local r <close> = assert(futex.map(path, BASE + 4 * SLOTS))
local head, tail = r:cell(0), r:cell(4)
local slots = {}
for k = 0, SLOTS - 1 do slots[k] = r:cell(BASE + 4 * k) end

local python = os.getenv("PYTHON") or "python3"
local producer = assert(io.popen(("%s demo/lua_pair_producer.py %q %s"):format(python, path, seconds), "r"))

local got, waits, t0 = 0, 0, futex.monotonic()
while true do
  local w = head:load()
  local h = w & MASK
  while got ~= h do
    local v = slots[got % SLOTS]:load()
    if v ~= got then error(("message %d read as %d"):format(got, v)) end
    got = (got + 1) & MASK
  end
  tail:store(got)
  tail:wake() -- the producer may be waiting for room
  if w & DONE ~= 0 then break end
  -- Empty: sleep until the head word moves (bounded, in case Python died).
  waits = waits + 1
  if not head:wait(w, 10) then error("the producer stopped") end
end
local took = futex.monotonic() - t0
local ok, how, code = producer:close()
os.remove(path)
if not ok then error(("the producer failed (%s %s)"):format(how, code)) end
print(("lua consumer: %d messages from a python producer in %.2f s (%.0f msg/s), all in order; slept %d times")
      :format(got, took, got / took, waits))
