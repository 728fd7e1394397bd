/**
 * Code shared by the main thread and the matmul workers, kept as JavaScript
 * source strings: the worker is started with `new Worker(source, { eval: true })`
 * (so it works unchanged from TypeScript sources under tsx / vitest and from
 * the tsup bundle in dist/), and the main thread compiles the very same job
 * driver with `new Function` when it uses the pool.
 *
 * Control block: an Int32Array over a SharedArrayBuffer.
 *
 *   [0, GLOBAL_WORDS)       one job description (G.*) shared by all threads
 *   GLOBAL_WORDS + w·SLOT   per-worker words (S.*)
 *
 * A job: B (staged before the workers are woken) is packed into a shared
 * buffer by whichever thread claims it first — usually a worker, while the
 * main thread is still staging A; then C is a list of blocks — CS rows each
 * (MODE 0) or CS columns (MODE 1) — that the threads claim with Atomics.add,
 * so a thread that starts late or runs slow (a busy machine, a sluggish
 * wake-up) simply takes fewer blocks.
 *
 * Joining is gated so the main thread never waits for a worker that has not
 * started: a woken worker first increments ACTIVE, then checks that GATE
 * still holds the job's sequence number; the main thread, when it runs out
 * of blocks, sets GATE to 0 and then waits for ACTIVE to drop to 0. With
 * sequentially consistent atomics either the worker sees the gate closed (and
 * touches nothing), or the main thread sees it active and waits for it.
 */

/** Global job words. Addresses and strides are in bytes. */
export const G = {
  OP: 0, // 0 = f32, 1 = f64
  GATE: 1, // sequence number of the open job, 0 when closed
  ACTIVE: 2, // workers inside the job
  A_READY: 3, // A staged and G.A… written
  NCHUNK: 4,
  CHUNK_NEXT: 5,
  FAILED: 6,
  PACK: 7, // packing of B: 0 unclaimed, 1 in progress, 2 done
  A: 8,
  ARS: 9,
  ACS: 10,
  BP: 11,
  KP: 12,
  C: 13,
  LDC: 14,
  M: 15,
  K: 16,
  N: 17,
  ELT: 18,
  MODE: 19,
  CS: 20,
  WS: 21,
  WSSTRIDE: 22,
  B: 23,
  BRS: 24,
  BCS: 25
} as const
export const GLOBAL_WORDS = 32

/** Per-worker words, at GLOBAL_WORDS + index · SLOT. */
export const S = { SEQ: 0, STATE: 1, CMD: 2 } as const
export const SLOT = 16

/** Written to A_READY / PACK by a failing thread so that nobody waits forever. */
export const RELEASE = 1 << 24

/**
 * `(ex, ctrl, tid) => number`: claims and computes blocks of the job in
 * `ctrl` with the wasm exports `ex` (`tid` picks the A-packing workspace);
 * returns how many blocks this thread computed.
 */
export const driverSource = `(function () {
  "use strict";
  const waitUntil = (ctrl, idx, atLeast) => {
    let spins = 0;
    let v;
    while ((v = Atomics.load(ctrl, idx)) < atLeast) {
      if (++spins > 2000) Atomics.wait(ctrl, idx, v, 2);
    }
    return v;
  };
  return function runJob(ex, ctrl, tid) {
    const f64 = ctrl[${G.OP}] === 1;
    const gemm = f64 ? ex.gemmp_f64 : ex.gemmp_f32;
    const bp = ctrl[${G.BP}], kp = ctrl[${G.KP}], c = ctrl[${G.C}], ldc = ctrl[${G.LDC}];
    const m = ctrl[${G.M}], k = ctrl[${G.K}], n = ctrl[${G.N}], elt = ctrl[${G.ELT}];
    if (Atomics.compareExchange(ctrl, ${G.PACK}, 0, 1) === 0) {
      (f64 ? ex.packB_f64 : ex.packB_f32)(ctrl[${G.B}], ctrl[${G.BRS}], ctrl[${G.BCS}], k, kp, n, bp);
      Atomics.store(ctrl, ${G.PACK}, 2);
      Atomics.notify(ctrl, ${G.PACK});
    }
    if (waitUntil(ctrl, ${G.PACK}, 2) !== 2) return 0;
    if (waitUntil(ctrl, ${G.A_READY}, 1) !== 1) return 0;
    const a = ctrl[${G.A}], aRs = ctrl[${G.ARS}], aCs = ctrl[${G.ACS}];
    const nChunk = ctrl[${G.NCHUNK}], mode = ctrl[${G.MODE}], cs = ctrl[${G.CS}];
    const wa = ctrl[${G.WS}] + tid * ctrl[${G.WSSTRIDE}];
    let done = 0;
    for (;; done++) {
      const i = Atomics.add(ctrl, ${G.CHUNK_NEXT}, 1);
      if (i >= nChunk) break;
      const s0 = i * cs;
      if (mode === 0) gemm(a + s0 * aRs, aRs, aCs, bp, kp, c + s0 * ldc, ldc, Math.min(cs, m - s0), k, n, wa);
      else gemm(a, aRs, aCs, bp + s0 * kp * elt, kp, c + s0 * elt, ldc, m, k, Math.min(cs, n - s0), wa);
    }
    return done;
  };
})()`

/** Marks the job failed and releases the PACK / A_READY barriers (used on errors). */
export const failSource = `(function (ctrl) {
  Atomics.store(ctrl, ${G.FAILED}, 1);
  Atomics.store(ctrl, ${G.CHUNK_NEXT}, ${RELEASE});
  Atomics.store(ctrl, ${G.A_READY}, ${RELEASE});
  Atomics.notify(ctrl, ${G.A_READY});
  Atomics.store(ctrl, ${G.PACK}, ${RELEASE});
  Atomics.notify(ctrl, ${G.PACK});
})`

/**
 * Worker program. workerData: { module, memory, control, index }. Between
 * jobs the worker sleeps in Atomics.wait: on a small machine a spinning
 * worker tends to end up sharing the main thread's core, which costs far
 * more than the 10–40 µs futex wake-up it would save.
 */
export const workerSource = `"use strict";
const { workerData } = require("node:worker_threads");
const { module, memory, control, index } = workerData;
const ctrl = new Int32Array(control);
const base = ${GLOBAL_WORDS} + index * ${SLOT};
const SEQ = base + ${S.SEQ}, STATE = base + ${S.STATE}, CMD = base + ${S.CMD};
const runJob = ${driverSource};
const fail = ${failSource};
const leave = () => {
  if (Atomics.sub(ctrl, ${G.ACTIVE}, 1) === 1) Atomics.notify(ctrl, ${G.ACTIVE});
};
let lastSeq = Atomics.load(ctrl, SEQ);
let inside = false;
process.on("exit", () => {
  if (inside) { fail(ctrl); inside = false; leave(); }
  Atomics.store(ctrl, STATE, -1);
  Atomics.notify(ctrl, STATE);
});
let ex;
try {
  ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  Atomics.store(ctrl, STATE, 1);
} catch (e) {
  Atomics.store(ctrl, STATE, -1);
}
Atomics.notify(ctrl, STATE);
if (ex !== undefined) {
  for (;;) {
    let s;
    while ((s = Atomics.load(ctrl, SEQ)) === lastSeq) Atomics.wait(ctrl, SEQ, lastSeq);
    lastSeq = s;
    if (Atomics.load(ctrl, CMD) < 0) break;
    Atomics.add(ctrl, ${G.ACTIVE}, 1);
    inside = true;
    if (Atomics.load(ctrl, ${G.GATE}) === s) {
      try {
        runJob(ex, ctrl, index + 1);
      } catch (e) {
        fail(ctrl);
      }
    }
    inside = false;
    leave();
  }
  Atomics.store(ctrl, STATE, -1);
}
`

/** The driver compiled for the main thread (needs `new Function`). */
export type RunJob = (ex: unknown, ctrl: Int32Array, tid: number) => number
export const compileDriver = (): { readonly runJob: RunJob; readonly fail: (ctrl: Int32Array) => void } | undefined => {
  try {
    const runJob = new Function(`return ${driverSource}`)() as RunJob
    const fail = new Function(`return ${failSource}`)() as (ctrl: Int32Array) => void
    return { runJob, fail }
  } catch {
    return undefined
  }
}
