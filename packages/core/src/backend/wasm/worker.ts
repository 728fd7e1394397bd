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
 *   [LOG_BASE, SLOTS_BASE)  completion log of row blocks
 *   SLOTS_BASE + w·SLOT     per-worker words (S.*)
 *
 * A job. Sharing rows of C (MODE 0), B is packed into a shared buffer in
 * PACK_TASKS tasks (depth slices of B × groups of its column panels) that
 * any thread claims: the main thread wakes the workers first, then stages B
 * in row slices (published in B_ROWS), then A in row slices (published in
 * A_ROWS), so the workers pack B while it is being staged and start on the
 * first rows of A early; the main thread then takes whatever packing is
 * left. Sharing columns (MODE 1), B is staged before the workers are woken
 * and each thread packs just the columns of B it claimed. Small products
 * are not packed (gemmv, MODE 2 by rows / 3 by columns): the main thread
 * wakes the workers first, then stages B (and packs its last partial
 * panel) and A, publishing A_ROWS only once B is in place. The rows or
 * columns of C are shared out by guided self-scheduling: each claim (a CAS
 * on NEXT) takes ≈ remaining / DIV, at least MINB, so blocks shrink towards
 * the end and the threads finish together; a thread that starts late or
 * runs slow (a busy machine, a sluggish wake-up) simply claims less. The
 * main thread copies finished row blocks of C out between its own blocks.
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
  A_ROWS: 3, // rows of A staged so far (the main thread stages A progressively)
  TOTAL: 4, // rows (MODE 0) or columns (MODE 1) of C to share out
  NEXT: 5, // first row / column not yet claimed
  FAILED: 6,
  PACK_NEXT: 7, // packing of B (MODE 0): first task not yet claimed
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
  MODE: 19, // C shared by 0 rows / 1 columns (B packed), 2 rows / 3 columns (in place, gemmv)
  MINB: 20, // smallest block (a multiple of UNIT)
  WS: 21,
  WSSTRIDE: 22,
  B: 23,
  BRS: 24,
  BCS: 25,
  UNIT: 26, // MR (rows) or NR (columns)
  DIV: 27, // a claim takes ≈ remaining / DIV
  BLOCKS: 28, // blocks computed, all threads (statistics)
  LOG_LEN: 29, // entries claimed in the completion log
  CE: 30, // in place: C's partial panel
  CERS: 31, // … and its row stride (NR elements)
  PACK_DONE: 32, // packing tasks finished
  PACK_TASKS: 33, // packing tasks: depth slices of B × groups of its column panels
  PACK_GROUPS: 34,
  B_ROWS: 35, // rows of B staged so far (MODE 0 stages B progressively, after waking the workers)
  B_SLICE: 36, // rows of B per packing task
  NR: 37 // columns of a B panel
} as const
export const GLOBAL_WORDS = 40

/**
 * Completion log (MODE 0): LOG_CAP entries [firstRow, rows] at LOG_BASE; an
 * entry is valid once its `rows` word is non-zero. The main thread copies
 * finished rows of C out of wasm memory while the others still compute.
 */
export const LOG_BASE = GLOBAL_WORDS
export const LOG_CAP = 256
/** Per-worker words start here. */
export const SLOTS_BASE = LOG_BASE + 2 * LOG_CAP

/** Per-worker words, at SLOTS_BASE + index · SLOT. */
export const S = { SEQ: 0, STATE: 1, CMD: 2 } as const
export const SLOT = 16

/** Written to A_ROWS / B_ROWS / PACK_DONE / NEXT by a failing thread so that nobody waits forever. */
export const RELEASE = 1 << 30 // above any row / column count that fits the 2 GiB memory

/**
 * `(ex, ctrl, tid, onBlock?) => number`: claims and computes blocks of the
 * job in `ctrl` with the wasm exports `ex` (`tid` picks the A-packing
 * workspace; `onBlock` runs after each block — the main thread copies
 * finished rows out there); returns how many blocks this thread computed.
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
  return function runJob(ex, ctrl, tid, onBlock) {
    const f64 = ctrl[${G.OP}] === 1;
    const gemm = f64 ? ex.gemmp_f64 : ex.gemmp_f32;
    const gemmv = f64 ? ex.gemmv_f64 : ex.gemmv_f32;
    const a = ctrl[${G.A}], aRs = ctrl[${G.ARS}], aCs = ctrl[${G.ACS}];
    const bp = ctrl[${G.BP}], kp = ctrl[${G.KP}], c = ctrl[${G.C}], ldc = ctrl[${G.LDC}];
    const m = ctrl[${G.M}], k = ctrl[${G.K}], n = ctrl[${G.N}], elt = ctrl[${G.ELT}];
    const total = ctrl[${G.TOTAL}], mode = ctrl[${G.MODE}], minB = ctrl[${G.MINB}];
    const unit = ctrl[${G.UNIT}], div = ctrl[${G.DIV}];
    const wa = ctrl[${G.WS}] + tid * ctrl[${G.WSSTRIDE}];
    const packB = f64 ? ex.packB_f64 : ex.packB_f32;
    const b = ctrl[${G.B}], bRs = ctrl[${G.BRS}], bCs = ctrl[${G.BCS}];
    const ce = ctrl[${G.CE}], ceRs = ctrl[${G.CERS}];
    if (mode === 0) {
      // rows of C: every block reads all of B, packed once, task by task, by whichever thread is free
      const tasks = ctrl[${G.PACK_TASKS}], groups = ctrl[${G.PACK_GROUPS}], slice = ctrl[${G.B_SLICE}], nr = ctrl[${G.NR}];
      const panels = Math.ceil(n / nr), per = Math.ceil(panels / groups), pstride = kp * nr * elt;
      let t;
      while ((t = Atomics.add(ctrl, ${G.PACK_NEXT}, 1)) < tasks) {
        const p0 = ((t / groups) | 0) * slice, p1 = Math.min(k, p0 + slice);
        const j0 = (t % groups) * per, j1 = Math.min(panels, j0 + per);
        if (waitUntil(ctrl, ${G.B_ROWS}, p1) >= ${RELEASE}) return 0;
        if (j0 < j1) packB(b + p0 * bRs + j0 * nr * bCs, bRs, bCs, p1 - p0, (p1 === k ? kp : p1) - p0, Math.min(n, j1 * nr) - j0 * nr, bp + (j0 * kp + p0) * nr * elt, pstride);
        if (Atomics.add(ctrl, ${G.PACK_DONE}, 1) === tasks - 1) Atomics.notify(ctrl, ${G.PACK_DONE});
      }
      if (waitUntil(ctrl, ${G.PACK_DONE}, tasks) >= ${RELEASE}) return 0;
    }
    let done = 0;
    let cur = Atomics.load(ctrl, ${G.NEXT});
    while (cur < total) {
      const size = Math.max(minB, Math.ceil((total - cur) / div / unit) * unit);
      const seen = Atomics.compareExchange(ctrl, ${G.NEXT}, cur, cur + size);
      if (seen !== cur) { cur = seen; continue; }
      const w = Math.min(size, total - cur);
      const byRows = mode === 0 || mode === 2;
      if (waitUntil(ctrl, ${G.A_ROWS}, byRows ? cur + w : m) >= ${RELEASE}) break;
      if (mode === 3) {
        // in place, columns of C (B's last partial panel is packed at bp)
        gemmv(a, aRs, aCs, b + cur * bCs, bRs, bp, c + cur * elt, ldc, m, k, w, ce);
      } else if (byRows) {
        if (mode === 0) gemm(a + cur * aRs, aRs, aCs, bp, kp, c + cur * ldc, ldc, w, k, n, wa);
        else gemmv(a + cur * aRs, aRs, aCs, b, bRs, bp, c + cur * ldc, ldc, w, k, n, ce + cur * ceRs);
        const e = Atomics.add(ctrl, ${G.LOG_LEN}, 1);
        if (e < ${LOG_CAP}) {
          ctrl[${LOG_BASE} + 2 * e] = cur;
          Atomics.store(ctrl, ${LOG_BASE} + 2 * e + 1, w);
        }
      } else {
        // columns of C: each thread packs just the columns of B it claimed (in parallel)
        packB(b + cur * bCs, bRs, bCs, k, kp, w, bp + cur * kp * elt, 0);
        gemm(a, aRs, aCs, bp + cur * kp * elt, kp, c + cur * elt, ldc, m, k, w, wa);
      }
      done++;
      if (onBlock !== undefined) onBlock();
      cur = Atomics.load(ctrl, ${G.NEXT});
    }
    Atomics.add(ctrl, ${G.BLOCKS}, done);
    return done;
  };
})()`

/** Marks the job failed and releases the B_ROWS / PACK_DONE / A_ROWS barriers (used on errors). */
export const failSource = `(function (ctrl) {
  Atomics.store(ctrl, ${G.FAILED}, 1);
  Atomics.store(ctrl, ${G.NEXT}, ${RELEASE});
  Atomics.store(ctrl, ${G.PACK_NEXT}, ${RELEASE});
  Atomics.store(ctrl, ${G.A_ROWS}, ${RELEASE});
  Atomics.notify(ctrl, ${G.A_ROWS});
  Atomics.store(ctrl, ${G.B_ROWS}, ${RELEASE});
  Atomics.notify(ctrl, ${G.B_ROWS});
  Atomics.store(ctrl, ${G.PACK_DONE}, ${RELEASE});
  Atomics.notify(ctrl, ${G.PACK_DONE});
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
const base = ${SLOTS_BASE} + index * ${SLOT};
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
export type RunJob = (ex: unknown, ctrl: Int32Array, tid: number, onBlock?: () => void) => number
export const compileDriver = (): { readonly runJob: RunJob; readonly fail: (ctrl: Int32Array) => void } | undefined => {
  try {
    const runJob = new Function(`return ${driverSource}`)() as RunJob
    const fail = new Function(`return ${failSource}`)() as (ctrl: Int32Array) => void
    return { runJob, fail }
  } catch {
    return undefined
  }
}
