// The wasm backend for real: tests/wasm/wasm-tests.c + libfutex, built for
// wasm32 with atomics and one shared, imported memory, run by Node: this
// file instantiates the module on the main thread and in worker_threads on
// the same WebAssembly.Memory, so memory.atomic.wait32/notify really block
// and wake threads.
//
//   node tests/wasm/run.mjs build/wasm/tests.wasm [--only TEST]
//   node tests/wasm/run.mjs --command build/wasm/single.wasm
//
// --command runs a WASI command (the single-threaded build, tests/wasm/
// single-test.c) under node:wasi and exits with its status.
//
// The module imports only two WASI calls, provided here: clock_time_get
// (futex_monotonic_ns; Node's hrtime is one monotonic clock for every thread)
// and sched_yield. Prints one line per test, then "wasm: N passed, N failed".
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';

const PAGES = 128; // 8 MiB: the link's --max-memory

function instantiate(module, memory) {
  const view = () => new DataView(memory.buffer);
  const wasi = {
    clock_time_get(id, precision, out) {
      view().setBigUint64(out, process.hrtime.bigint(), true); // every clock is the monotonic one here
      return 0;
    },
    sched_yield() { return 0; },
  };
  const instance = new WebAssembly.Instance(module, { env: { memory }, wasi_snapshot_preview1: wasi });
  return instance.exports;
}

// ---- worker: run one export and report what it returned --------------------
if (!isMainThread) {
  const { module, memory, stack, call, args } = workerData;
  const x = instantiate(module, memory);
  x.__stack_pointer.value = x.t_stack_top(stack); // our own shadow stack: see wasm-tests.c
  const i32 = new Int32Array(memory.buffer);
  const arrived = workerData.arrived;
  if (arrived !== undefined) Atomics.add(i32, arrived >> 2, 1);
  const t0 = process.hrtime.bigint();
  const rc = x[call](...args);
  parentPort.postMessage({ rc: typeof rc === 'bigint' ? Number(rc) : rc, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
  process.exit(0);
}

// ---- a plain WASI command ---------------------------------------------------------
if (process.argv[2] === '--command') {
  const { WASI } = await import('node:wasi');
  const wasi = new WASI({ version: 'preview1', args: [process.argv[3]], env: {}, returnOnExit: true });
  const module = new WebAssembly.Module(readFileSync(process.argv[3]));
  const instance = new WebAssembly.Instance(module, wasi.getImportObject());
  process.exit(wasi.start(instance));
}

// ---- main ---------------------------------------------------------------------
const module = new WebAssembly.Module(readFileSync(process.argv[2]));
const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
const x = instantiate(module, memory);
x._initialize();
const i32 = new Int32Array(memory.buffer);
const E = { AGAIN: x.t_errno(0), TIMEDOUT: x.t_errno(1), NOTSUP: x.t_errno(2), INVAL: x.t_errno(3) };
const CAP_SHARED = 1, CAP_WAKE_COUNT = 2, ALL = 0xffffffff;
const word = (i) => x.t_word(i);
const load = (addr) => Atomics.load(i32, addr >> 2);
const store = (addr, v) => Atomics.store(i32, addr >> 2, v);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let nextStack = 0;

// Start a worker that calls x[call](...args) on its own instance; resolves to {rc, ms}.
function spawn(call, args, arrived) {
  const stack = nextStack++ % 8;
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { module, memory, stack, call, args, arrived } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

// Wait until `n` workers have bumped the counter at `addr`, then give them a
// moment to block in memory.atomic.wait32.
function settle(addr, n) {
  for (let i = 0; i < 10000 && load(addr) < n; i++) sleep(1);
  if (load(addr) !== n) throw new Error(`only ${load(addr)} of ${n} workers arrived`);
  sleep(100);
}

function check(cond, what) { if (!cond) throw new Error(what); }

function cstring(ptr) {
  const u8 = new Uint8Array(memory.buffer);
  let s = '';
  while (u8[ptr]) s += String.fromCharCode(u8[ptr++]);
  return s;
}

function reset() { for (let i = 0; i < 16; i++) store(word(i), 0); }

const tests = {
  introspection() {
    check(cstring(x.t_backend()) === 'wasm', `backend is ${cstring(x.t_backend())}`);
    // FUTEX_CAP_WAITV_EXACT (32): no cross-process waits, so every wake passes futex_wake's multi-wait table.
    check(x.t_caps() === (CAP_WAKE_COUNT | 32), `caps ${x.t_caps()}: want exactly FUTEX_CAP_WAKE_COUNT | FUTEX_CAP_WAITV_EXACT`);
    check(x.t_wait(word(0), 0, 1) === -E.NOTSUP, 'FUTEX_SHARED wait is -ENOTSUP');
    check(x.t_wake(word(0), 1, 1) === -E.NOTSUP, 'FUTEX_SHARED wake is -ENOTSUP');
    check(x.t_wait(word(0) + 2, 0, 0) === -E.INVAL, 'misaligned word is -EINVAL');
  },
  value_differs() {
    store(word(0), 7);
    check(x.t_wait(word(0), 6, 0) === -E.AGAIN, 'wait on a differing word is -EAGAIN');
    check(x.t_timed_wait(word(0), 6, 1000000000n, 0) === -E.AGAIN, 'timed wait on a differing word is -EAGAIN');
    check(x.t_timed_wait(word(0), 7, 0n, 0) === -E.TIMEDOUT, 'zero timeout only checks');
  },
  timeout_never_early() {
    for (const ms of [1, 20, 120]) {
      const t0 = x.t_now();
      const rc = x.t_timed_wait(word(0), 0, BigInt(ms) * 1000000n, 0);
      const took = Number(x.t_now() - t0) / 1e6;
      check(rc === -E.TIMEDOUT, `timed wait of ${ms} ms returned ${rc}`);
      check(took >= ms, `timed wait of ${ms} ms returned after ${took.toFixed(3)} ms`);
      check(took < ms + 2000, `timed wait of ${ms} ms took ${took.toFixed(3)} ms`);
    }
  },
  deadline() {
    const t0 = x.t_now();
    check(x.t_deadline_wait(word(0), 0, 50000000n) === -E.TIMEDOUT, 'deadline wait times out');
    check(Number(x.t_now() - t0) >= 50e6, 'deadline wait not early');
  },
  async huge_timeouts() {
    // Timeouts past wait32's i64 range (clamped by the backend) and near the
    // top of u64 (saturated by the front layer) must block, not wrap into the
    // past: each waiter is still blocked after 100 ms and then woken.
    for (const ns of [(1n << 64n) - 2n, 1n << 63n, 1n << 40n]) {
      const arrived = word(1);
      store(arrived, 0);
      let done = false;
      const w = spawn('t_timed_wait', [word(0), 0, ns, 0], arrived).then((r) => { done = true; return r; });
      settle(arrived, 1);
      await new Promise((ok) => setTimeout(ok, 100));
      check(!done, `timeout of ${ns} ns returned early`);
      check(x.t_wake(word(0), 1, 0) === 1, `waiter with timeout ${ns} ns woken`);
      const r = await w;
      check(r.rc === 0, `waiter with timeout ${ns} ns returned ${r.rc}`);
    }
  },
  wake_nobody() {
    check(x.t_wake(word(0), 1, 0) === 0, 'wake with no waiter returns 0');
    check(x.t_wake(word(0), ALL, 0) === 0, 'wake all with no waiter returns 0');
    check(x.t_wake(word(0), 0, 0) === 0, 'wake of 0 returns 0');
  },
  async wake_counts() {
    // Three workers block on word 0; wake(1) wakes exactly one, wake(5) the other two.
    const arrived = word(1);
    const ws = [0, 1, 2].map(() => spawn('t_wait', [word(0), 0, 0], arrived));
    settle(arrived, 3);
    check(x.t_wake(word(0), 1, 0) === 1, 'wake(1) of 3 waiters returns 1');
    sleep(50);
    check(x.t_wake(word(0), 5, 0) === 2, 'wake(5) of 2 waiters returns 2');
    check(x.t_wake(word(0), ALL, 0) === 0, 'then nobody is left');
    for (const r of await Promise.all(ws)) check(r.rc === 0, `woken waiter returned ${r.rc}`);
  },
  waitv_checks() {
    // The library's own multi-wait over memory.atomic.wait32: -EAGAIN names
    // the word that differs, and a deadline is never early.
    store(word(9), 3);
    check(x.t_waitv(8, 4, 1000000000n) === -10001, 'waitv: word 1 differs');
    store(word(9), 0);
    const t0 = x.t_now();
    check(x.t_waitv(8, 4, 20000000n) === -E.TIMEDOUT, 'waitv times out');
    check(Number(x.t_now() - t0) >= 20e6, 'waitv timeout not early');
  },
  async waitv_woken() {
    // A worker waits on words 8..11; a wake of word 10 ends it with index 2
    // and counts it, and a wake of word 11 then finds nobody.
    const arrived = word(1);
    const w = spawn('t_waitv', [8, 4, 20000000000n], arrived);
    settle(arrived, 1);
    store(word(10), 1);
    check(x.t_wake(word(10), 1, 0) === 1, 'wake of a multi-waiter counts 1');
    const r = await w;
    check(r.rc === 2, `waitv woken by word 2 returned ${r.rc}`);
    check(x.t_wake(word(11), 1, 0) === 0, 'the woken multi-waiter left every word');
  },
  async wake_all() {
    const arrived = word(1);
    const ws = [0, 1, 2, 3].map(() => spawn('t_wait', [word(0), 0, 0], arrived));
    settle(arrived, 4);
    check(x.t_wake(word(0), ALL, 0) === 4, 'FUTEX_ALL wakes all 4');
    for (const r of await Promise.all(ws)) check(r.rc === 0, `woken waiter returned ${r.rc}`);
  },
  async worker_wakes_main() {
    // The main thread blocks in memory.atomic.wait32 (Node allows it) until a
    // worker, whose turn it is, hands the turn back and wakes it.
    store(word(2), 1);
    const waker = spawn('t_pingpong', [word(2), word(3), 1, 1]);
    check(x.t_wait_change(word(2), 1) === 0, 'main thread woken by a worker');
    check(load(word(2)) === 0 && load(word(3)) === 1, 'the worker handed the turn back');
    const r = await waker;
    check(r.rc === 0, `waker returned ${r.rc}`);
  },
  async timed_wait_woken() {
    // A worker's 10 s timed wait ends with 0 when we wake it, well before 10 s.
    const arrived = word(1);
    const w = spawn('t_timed_wait', [word(0), 0, 10000000000n, 0], arrived);
    settle(arrived, 1);
    store(word(0), 1);
    check(x.t_wake(word(0), 1, 0) === 1, 'wake reaches the timed waiter');
    const r = await w;
    check(r.rc === 0 && r.ms < 5000, `timed waiter returned ${r.rc} after ${r.ms} ms`);
  },
  async pingpong() {
    // Two workers pass a turn back and forth 20000 times on one word.
    const rounds = 10000;
    const [a, b] = await Promise.all([spawn('t_pingpong', [word(0), word(1), 0, rounds]),
      spawn('t_pingpong', [word(0), word(1), 1, rounds])]);
    check(a.rc === 0 && b.rc === 0, `players returned ${a.rc}, ${b.rc}`);
    check(load(word(1)) === 2 * rounds, `count ${load(word(1))}, want ${2 * rounds}`);
  },
};

// --only NAME runs that one test (ctest runs each as its own test).
const only = process.argv.indexOf('--only') > 0 ? process.argv[process.argv.indexOf('--only') + 1] : null;
if (only !== null && !(only in tests)) { console.log(`wasm: no test ${only}`); process.exit(1); }
let pass = 0, fail = 0;
for (const [name, fn] of Object.entries(tests)) {
  if (only !== null && name !== only) continue;
  reset();
  try {
    await Promise.race([fn(), new Promise((_, no) => setTimeout(() => no(new Error('timed out after 60 s')), 60000).unref())]);
    console.log(`wasm.${name}: ok`); pass++;
  } catch (e) {
    console.log(`wasm.${name}: FAILED: ${e.message}`); fail++;
  }
}
console.log(`wasm: ${pass} passed, ${fail} failed`);
process.exit(fail === 0 ? 0 : 1);
