-- Lua ping-pong between two lua5.4 processes, run by bench/run.py:
--
--   lua5.4 pingpong.lua KIND[+KIND...] PATH [rounds]
--       in futex.map(PATH), one or several of: futex (two cells: add 1 and wake, then wait),
--       helpers (the same in two calls a side: add_and_wake, wait_until), event (two futex
--       events: set, then wait + clear), sem (two futex semaphores: release, then acquire), c
--       (bench/c/floor.c's C loop on the futex cells, the module benchfloor: the pair's C
--       floor). Several take turns in one pair, 100 round trips each (BENCH_TURN), one RESULT
--       line each, in order.
--   lua5.4 pingpong.lua pipe DIR [rounds]     a pipe each way: the child's stdin (io.popen) and a FIFO in DIR
--
-- The parent starts the child itself (io.popen) and prints "RESULT us <µs per round trip>...",
-- timed with futex.monotonic() for both, so the clock costs the same on each side.
local futex = require "futex"


local impl, path, rounds, role = arg[1], arg[2], tonumber(arg[3] or "10000"), arg[4]
local WARM = 500
local total = WARM + rounds
local me = arg[0]

-- Formats after the loop: a string.format per round trip would delay the next post, and
-- the partner would be timed in a later phase of its spin than C's is.
local function report(seconds)
  for i, t in ipairs(seconds) do seconds[i] = string.format("%.4g", t * 1e6) end
  print("RESULT us " .. table.concat(seconds, " "))
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- BENCH_PIN=1: run.py starts the parent on CPU 0 (taskset); the child goes to CPU 1.
local function child_cmd()
  local pin = os.getenv("BENCH_PIN") == "1" and "taskset -c 1 " or ""
  return string.format("%s%s %s %s %s %d child", pin, q(arg[-1] or "lua5.4"), q(me), impl, q(path), rounds)
end

-- The loops look each method up once, as a hot Lua loop keeps its functions in locals and as
-- bench/py/pybench.py binds its methods once (add = c.fetch_add): a call then costs the same
-- in both interpreters' rows, not an extra metatable lookup through __index in Lua's.
local function event_wait(wait, clear)
  return function(e) wait(e); clear(e) end -- the other side sets it again only after we answer
end

-- The row of turn t among k (0-based): each cycle of k turns is a shuffle of the k rows, by
-- the generator of bench/c/bench.cpp's turn_of (the same on both sides), so that no row
-- always follows the same one.
local function turn_order(t, k)
  local perm, x = {}, ((t // k) * 2654435761 + 1) & 0xFFFFFFFF
  for i = 0, k - 1 do perm[i] = i end
  for i = k - 1, 1, -1 do
    x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
    local j = (x >> 8) % (i + 1)
    perm[i], perm[j] = perm[j], perm[i]
  end
  return perm[t % k]
end

local KINDS = {futex = true, helpers = true, event = true, sem = true, c = true}
local kinds, known, with_c = {}, true, false
for k in impl:gmatch("[^+]+") do
  kinds[#kinds + 1] = k
  known, with_c = known and KINDS[k] ~= nil, with_c or k == "c"
end

if known and #kinds > 0 then
  local TURN = tonumber(os.getenv("BENCH_TURN") or "100")
  local r = futex.map(path, 4096)
  local c0, c1 = r:cell(0), r:cell(128)
  local floor = with_c and require "benchfloor"
  local page = floor and floor.map(path)
  local parent = role ~= "child"
  -- The parent stores value 0 into the semaphores (the creator) before starting the child.
  local v = parent and 0 or nil
  local e0, s0 = r:event(256), r:semaphore(512, v)
  local prim = {event = {e0, r:event(384), e0.set, event_wait(e0.wait, e0.clear)},
                sem = {s0, r:semaphore(640, v), s0.release, s0.acquire}}
  local add_and_wake, wait_until = c0.add_and_wake, c0.wait_until
  local fetch_add, wake, load, wait = c0.fetch_add, c0.wake, c0.load, c0.wait
  -- Both sides meet at these before each turn (bench.cpp's turn_gate says why).
  local mine, theirs = r:cell(768), r:cell(896)
  if not parent then mine, theirs = theirs, mine end
  -- futex, helpers and c carry the same count on the two cells: i round trips so far.
  local warm = math.ceil(WARM / TURN) * #kinds -- whole turns each, the warm-up first
  local turns = warm + math.ceil(rounds / TURN) * #kinds
  local i, us, child = 0, {}, nil
  for k = 1, #kinds do us[k] = {} end
  if parent then
    c0:store(0); c1:store(0); mine:store(0); theirs:store(0)
    prim.event[1]:clear(); prim.event[2]:clear()
    child = assert(io.popen(child_cmd(), "r"))
  end
  local now = futex.monotonic
  for t = 0, turns - 1 do
    if t == warm and parent and floor then floor.result() end -- the C floor's warm-up samples
    local k = turn_order(t, #kinds) + 1
    local kind, got = kinds[k], t >= warm and us[k] or {}
    mine:store_and_wake(t + 1)
    theirs:wait_until(t + 1)
    if kind == "c" then
      floor.turn(page, 0, i, TURN, parent)
      i = i + TURN
    elseif prim[kind] and parent then
      local p0, p1, post, pwait = table.unpack(prim[kind])
      for _ = 1, TURN do
        local t0 = now()
        post(p0)
        pwait(p1)
        local t1 = now()
        got[#got + 1] = t1 - t0
      end
    elseif prim[kind] then
      local p0, p1, post, pwait = table.unpack(prim[kind])
      for _ = 1, TURN do
        pwait(p0)
        post(p1)
      end
    elseif kind == "helpers" and parent then
      for _ = 1, TURN do
        local t0 = now()
        add_and_wake(c0, 1)
        wait_until(c1, i + 1)
        local t1 = now()
        got[#got + 1] = t1 - t0
        i = i + 1
      end
    elseif kind == "helpers" then
      for _ = 1, TURN do
        wait_until(c0, i + 1)
        add_and_wake(c1, 1)
        i = i + 1
      end
    elseif parent then
      for _ = 1, TURN do
        local t0 = now()
        fetch_add(c0, 1)
        wake(c0, 1)
        while load(c1) == i do wait(c1, i) end
        local t1 = now()
        got[#got + 1] = t1 - t0
        i = i + 1
      end
    else
      for _ = 1, TURN do
        while load(c0) == i do wait(c0, i) end
        fetch_add(c1, 1)
        wake(c1, 1)
        i = i + 1
      end
    end
  end
  if not parent then os.exit(0) end
  child:close()
  r:close()
  for k, kind in ipairs(kinds) do
    if kind == "c" then print(floor.result()) else report(us[k]) end
  end
elseif impl == "pipe" then
  local fifo = path .. "/back.fifo"
  if role == "child" then
    local out = assert(io.open(fifo, "w"))
    out:setvbuf("no")
    io.stdin:setvbuf("no")
    for _ = 1, total do
      assert(io.stdin:read(1))
      out:write("x")
    end
    os.exit(0)
  end
  os.remove(fifo)
  assert(os.execute("mkfifo " .. q(fifo)))
  local to_child = assert(io.popen(child_cmd(), "w"))
  to_child:setvbuf("no")
  local from_child = assert(io.open(fifo, "r"))
  from_child:setvbuf("no")
  local now = futex.monotonic
  local us = {}
  for i = 0, total - 1 do
    local t0 = now()
    to_child:write("x")
    assert(from_child:read(1))
    local t1 = now()
    if i >= WARM then us[#us + 1] = t1 - t0 end
  end
  to_child:close()
  from_child:close()
  os.remove(fifo)
  report(us)
else
  error("usage: lua5.4 pingpong.lua futex|helpers|event|sem|c[+...]|pipe PATH [rounds]")
end
