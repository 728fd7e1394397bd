/**
 * WebAssembly SIMD matmul with an optional worker pool.
 *
 * The module is generated at run time (matmulKernel.ts / emitter.ts) and
 * instantiated once on one linear memory that is reused (and grown) across
 * calls. Operands are staged into a scratch region of that memory
 * (kernels.ts) with `TypedArray.set` (one memcpy when the view is dense
 * enough, per-row/column copies or a gather otherwise) — or read in place
 * when they already live there — packed and multiplied inside wasm, and the
 * result is copied out.
 *
 * Small products (few rows of C, or a small A) with B's columns contiguous
 * are not packed at all: gemmv reads A and B where they are staged (only B's
 * last partial column panel is packed), which saves the packing passes that
 * cost as much as a sizeable part of such a product.
 *
 * Large products are shared between the calling thread and `worker_threads`
 * that use the same (shared) memory: B is packed once into a shared buffer
 * (or read in place), then row (or column) blocks of C are claimed
 * dynamically with Atomics, so a late or slow thread just takes fewer
 * blocks. The call stays synchronous (Atomics.wait). Without shared memory
 * or workers everything runs on the calling thread.
 */
import { buildMatmulModule, defaultShapes, roundUp, workspaceBytes, type KernelShape, type MatmulExports } from "./matmulKernel.js"
import { WorkerPool, hardwareThreads } from "./pool.js"
import { G, LOG_BASE, LOG_CAP } from "./worker.js"
import { copyRows as copyRowsKernel, isResident, scratch } from "./kernels.js"

// ---- minimal WebAssembly typings (the project's lib has no DOM types) ---------
interface WasmMemory {
  readonly buffer: ArrayBufferLike
  grow(pages: number): number
}
export interface WasmApi {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object
  Instance: new (module: object, imports: object) => { readonly exports: unknown }
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory
}

const PAGE = 65536
/** Memory cap (2 GiB): keeps every byte address a non-negative i32. */
const MAX_PAGES = 32768
const MAX_BYTES = MAX_PAGES * PAGE
/** Products with fewer multiply-adds are declined (a JS loop is as fast there). */
const MIN_WORK = 512
/** Products with at least this many multiply-adds use the worker pool. */
const THREAD_MIN_WORK = 1 << 21
/** From this size on, a call waits (≤ 1 s) for workers that are still starting. */
const WAIT_FOR_WORKERS_WORK = 1 << 29
const ALIGN = 64
/**
 * gemmv (nothing packed) is used when B's columns are contiguous and C has
 * few rows, or A is small (a transposed A read in place touches a cache line
 * per depth step, so it gets the smaller limit). Kernel times, one thread,
 * f32, packB + gemmp vs gemmv: 32×784·784×100 137 / 123 µs, 784×32ᵀ·32×100
 * 132 / 126, 128×784·784×100 498 / 473, 784×128ᵀ·128×100 491 / 501, 128³
 * 99 / 100, 32×1024·1024×1024 2.17 / 1.86 ms; packing wins from 256×256ᵀ
 * (0.82 / 0.93 ms), 1000×64ᵀ·64×1000 (3.0 / 3.5 ms) and 512³ on.
 */
const INPLACE_MAX_ROWS = 64
const INPLACE_MAX_A_BYTES = 1 << 17
const INPLACE_MAX_A_ROWMAJOR_BYTES = 1 << 19
let inPlaceEnabled = true

interface Engine {
  readonly memory: WasmMemory
  readonly module: object
  readonly exports: MatmulExports
  readonly shared: boolean
  readonly fma: boolean
  f32: Float32Array
  f64: Float64Array
  u8: Uint8Array
}

type FloatArray = Float32Array | Float64Array

let engine: Engine | null | undefined
let threads = 0 // 0 = not chosen yet (defaults to the hardware thread count)
let pool: WorkerPool | undefined
const stats = { calls: 0, threaded: 0, workerBlocks: 0, redone: 0, inPlace: 0 }

/**
 * Counters for tests and diagnostics: products computed, how many went through
 * the pool, how many blocks of C the workers computed, how many products
 * had to be redone on the calling thread after a worker failure, and how many
 * were computed without packing (gemmv).
 */
export const wasmMatmulStats = (): {
  readonly calls: number
  readonly threaded: number
  readonly workerBlocks: number
  readonly redone: number
  readonly inPlace: number
} => ({ ...stats })

/**
 * Tests and benchmarks: `false` sends every product through the packed
 * path (packB + gemmp), `true` (the default) lets small ones skip packing.
 */
export const setInPlaceProducts = (enabled: boolean): void => {
  inPlaceEnabled = enabled
}

const wasmApi = (): WasmApi | undefined => (globalThis as { WebAssembly?: WasmApi }).WebAssembly

const refreshViews = (e: Engine): void => {
  e.f32 = new Float32Array(e.memory.buffer)
  e.f64 = new Float64Array(e.memory.buffer)
  e.u8 = new Uint8Array(e.memory.buffer)
}

interface Staged {
  /** element index of operand[0,0] */
  readonly base: number
  readonly rs: number
  readonly cs: number
}

type StagePlan =
  | { readonly kind: "span"; readonly lo: number; readonly size: number }
  | { readonly kind: "rows" | "cols" | "gather"; readonly size: number }

/** Decides how to bring a strided rows×cols operand into wasm memory. */
const planStage = (src: FloatArray, off: number, rs: number, cs: number, rows: number, cols: number): StagePlan | undefined => {
  if (!Number.isInteger(off) || !Number.isInteger(rs) || !Number.isInteger(cs)) return undefined
  const dr = (rows - 1) * rs
  const dc = (cols - 1) * cs
  const lo = off + Math.min(0, dr) + Math.min(0, dc)
  const hi = off + Math.max(0, dr) + Math.max(0, dc)
  if (lo < 0 || hi >= src.length) return undefined
  const dense = rows * cols
  const span = hi - lo + 1
  if (span <= 2 * dense + 4096) return { kind: "span", lo, size: span }
  if (cs === 1) return { kind: "rows", size: dense }
  if (rs === 1) return { kind: "cols", size: dense }
  return { kind: "gather", size: dense }
}

/** Where operand[0,0] lands, and its strides, once staged at element index `dst`. */
const stagedLayout = (plan: StagePlan, dst: number, off: number, rs: number, cs: number, rows: number, cols: number): Staged => {
  switch (plan.kind) {
    case "span":
      return { base: dst + (off - plan.lo), rs, cs }
    case "rows":
    case "gather":
      return { base: dst, rs: cols, cs: 1 }
    case "cols":
      return { base: dst, rs: 1, cs: rows }
  }
}

/** Whether rows [r0, r1) can be staged on their own (rows do not interleave in the source). */
const rowsSeparable = (plan: StagePlan, rs: number, cs: number, cols: number): boolean =>
  plan.kind === "rows" || plan.kind === "gather" || (plan.kind === "span" && cs > 0 && rs >= cs * cols)

/**
 * Copies rows [r0, r1) of the operand into wasm memory at the layout given by
 * stagedLayout (the whole operand when its rows are not separable).
 */
const stageRows = (
  plan: StagePlan,
  view: FloatArray,
  dst: number,
  src: FloatArray,
  off: number,
  rs: number,
  cs: number,
  rows: number,
  cols: number,
  r0: number,
  r1: number
): void => {
  switch (plan.kind) {
    case "span": {
      if ((r0 === 0 && r1 === rows) || !rowsSeparable(plan, rs, cs, cols)) {
        view.set(src.subarray(plan.lo, plan.lo + plan.size), dst)
      } else {
        const from = off + r0 * rs
        view.set(src.subarray(from, off + (r1 - 1) * rs + (cols - 1) * cs + 1), dst + (from - plan.lo))
      }
      return
    }
    case "rows":
      for (let i = r0; i < r1; i++) view.set(src.subarray(off + i * rs, off + i * rs + cols), dst + i * cols)
      return
    case "cols":
      for (let j = 0; j < cols; j++) view.set(src.subarray(off + j * cs, off + j * cs + rows), dst + j * rows)
      return
    case "gather":
      for (let i = r0; i < r1; i++) {
        const s = off + i * rs
        const d = dst + i * cols
        for (let j = 0; j < cols; j++) view[d + j] = src[s + j * cs]
      }
      return
  }
}

const ensureBytes = (e: Engine, bytes: number): boolean => {
  if (bytes > MAX_BYTES) return false
  const have = e.memory.buffer.byteLength
  if (have < bytes) {
    try {
      e.memory.grow(Math.ceil((bytes - have) / PAGE))
    } catch {
      return false
    }
  }
  if (e.f32.buffer.byteLength < bytes) refreshViews(e)
  return true
}

/** Multiplies a small integer-valued problem (partial tiles) and checks the exact answer. */
const selfTest = (e: Engine): boolean => {
  const m = 5
  const k = 3
  const n = 9
  for (const dt of ["f32", "f64"] as const) {
    const elt = dt === "f32" ? 4 : 8
    const s = dt === "f32" ? defaultShapes.f32 : defaultShapes.f64
    const NR = s.nv * (16 / elt)
    const kp = roundUp(k, s.unroll)
    const ldc = roundUp(n, NR)
    const bpAt = roundUp(ALIGN + workspaceBytes(s, elt), ALIGN)
    const aAt = roundUp(bpAt + ldc * kp * elt, ALIGN)
    const bAt = aAt + ALIGN * 2
    const cAt = bAt + ALIGN * 8
    if (!ensureBytes(e, cAt + roundUp(m, s.mr) * (ldc + NR) * elt)) return false
    const v = dt === "f32" ? e.f32 : e.f64
    for (let i = 0; i < m * k; i++) v[aAt / elt + i] = (i % 7) - 3
    for (let i = 0; i < k * n; i++) v[bAt / elt + i] = (i % 5) - 2
    const x = e.exports
    const check = (): boolean => {
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let acc = 0
          for (let p = 0; p < k; p++) acc += (((i * k + p) % 7) - 3) * (((p * n + j) % 5) - 2)
          if (v[cAt / elt + i * ldc + j] !== acc) return false
        }
      return true
    }
    ;(dt === "f32" ? x.packB_f32 : x.packB_f64)(bAt, n * elt, elt, k, kp, n, bpAt, 0)
    ;(dt === "f32" ? x.gemmp_f32 : x.gemmp_f64)(aAt, k * elt, elt, bpAt, kp, cAt, ldc * elt, m, k, n, ALIGN)
    if (!check()) return false
    // in place: B's last partial panel packed at bpAt
    const full = n - (n % NR)
    ;(dt === "f32" ? x.packB_f32 : x.packB_f64)(bAt + full * elt, n * elt, elt, k, k, n - full, bpAt, 0)
    v.fill(Number.NaN, cAt / elt, cAt / elt + roundUp(m, s.mr) * ldc)
    const ceAt = cAt + roundUp(m, s.mr) * ldc * elt
    ;(dt === "f32" ? x.gemmv_f32 : x.gemmv_f64)(aAt, k * elt, elt, bAt, n * elt, bpAt, cAt, ldc * elt, m, k, n, ceAt)
    if (!check()) return false
  }
  return true
}

const tryEngine = (W: WasmApi, shared: boolean, fma: boolean): Engine | undefined => {
  try {
    if (shared && typeof SharedArrayBuffer === "undefined") return undefined
    const bytes = buildMatmulModule({ f32: defaultShapes.f32, f64: defaultShapes.f64, fma, shared, maxPages: MAX_PAGES })
    if (!W.validate(bytes)) return undefined
    const memory = new W.Memory(shared ? { initial: 16, maximum: MAX_PAGES, shared: true } : { initial: 16, maximum: MAX_PAGES })
    const module = new W.Module(bytes)
    const instance = new W.Instance(module, { env: { memory } })
    const e: Engine = {
      memory,
      module,
      exports: instance.exports as MatmulExports,
      shared,
      fma,
      f32: new Float32Array(0),
      f64: new Float64Array(0),
      u8: new Uint8Array(0)
    }
    refreshViews(e)
    return selfTest(e) ? e : undefined
  } catch {
    return undefined
  }
}

const getEngine = (): Engine | null => {
  if (engine !== undefined) return engine
  engine = null
  const W = wasmApi()
  if (W === undefined) return engine
  // shared memory first (threads), fused multiply-add first (speed)
  for (const [shared, fma] of [
    [true, true],
    [true, false],
    [false, true],
    [false, false]
  ] as const) {
    const e = tryEngine(W, shared, fma)
    if (e !== undefined) {
      engine = e
      break
    }
  }
  return engine
}

/**
 * The engine's linear memory, for the other kernel modules (kernels.ts, whose
 * block allocator hands out all of it above the self-test's bytes). Only the
 * calling thread touches it between matmul calls (the workers run inside
 * `matmulWasm` only).
 */
export interface EngineMemory {
  readonly api: WasmApi
  readonly memory: object
  readonly shared: boolean
  readonly maxPages: number
  /** grows the memory to at least `bytes` (false past the cap); then views() covers it */
  ensure(bytes: number): boolean
  views(): { readonly f32: Float32Array; readonly f64: Float64Array; readonly u8: Uint8Array }
}

let engineMemory: EngineMemory | null | undefined

/** The engine's memory, or null without WebAssembly SIMD. */
export const getEngineMemory = (): EngineMemory | null => {
  if (engineMemory !== undefined) return engineMemory
  const e = getEngine()
  const api = wasmApi()
  engineMemory =
    e === null || api === undefined
      ? null
      : { api, memory: e.memory, shared: e.shared, maxPages: MAX_PAGES, ensure: (bytes) => ensureBytes(e, bytes), views: () => e }
  return engineMemory
}

/** true when WebAssembly SIMD compiled and validated here */
export const wasmAvailable = (): boolean => getEngine() !== null

const threadSetting = (): number => {
  if (threads === 0) threads = hardwareThreads()
  return threads
}

/**
 * number of threads used for large products (1 disables the pool). Clamped to
 * [1, os.availableParallelism()]; the default is availableParallelism().
 * Setting 1 also stops the workers.
 */
export const setThreads = (n: number): void => {
  threads = Math.min(hardwareThreads(), Math.max(1, Math.floor(Number.isFinite(n) ? n : 1)))
  if (threads === 1 && pool !== undefined) {
    pool.shutdown()
    pool = undefined
  }
}

const getPool = (e: Engine, workers: number): WorkerPool | undefined => {
  if (!e.shared || workers < 1) return undefined
  if (pool === undefined || pool.capacity < workers) {
    pool?.shutdown()
    pool = WorkerPool.create(e.module, e.memory, Math.max(workers, hardwareThreads() - 1))
  }
  pool?.ensure(workers)
  return pool
}

/**
 * Starts the worker pool for the current thread setting and blocks up to
 * `timeoutMs` until it is ready; returns the number of threads (including the
 * caller) a large product will use. Products issued while the workers are
 * still starting simply run on the calling thread, so this is only needed by
 * benchmarks and tests that want the threaded path from the first call.
 */
export const warmUpThreads = (timeoutMs = 5000): number => {
  const e = getEngine()
  const t = threadSetting()
  if (e === null || t <= 1) return 1
  const p = getPool(e, t - 1)
  return p === undefined ? 1 : 1 + p.waitReady(t - 1, timeoutMs)
}

/** What the helpers of one `matmulWasm` call need. */
interface Call {
  readonly elt: number
  readonly m: number
  readonly k: number
  readonly n: number
  readonly kp: number
  readonly ldc: number
  readonly inPlace: boolean
  readonly fullN: number
  readonly residentB: boolean
  readonly planB: StagePlan
  readonly view: FloatArray
  readonly bAt: number
  readonly bpAt: number
  readonly cAt: number
  readonly wsAt: number
  readonly denseAt: number
  readonly sb: Staged
  readonly b: FloatArray
  readonly bOffset: number
  readonly bRowStride: number
  readonly bColStride: number
  readonly c: FloatArray
  readonly cOffset: number
  readonly packB: (...args: Array<number>) => void
  readonly gemm: (...args: Array<number>) => void
  readonly gemmv: (...args: Array<number>) => void
  readonly rowCopy: ((...args: Array<number>) => void) | undefined
  readonly residentC: boolean
}

/** Stages B (unless resident); in place, also packs B's last partial panel over the depth (zero-padded columns). */
const stageB = (t: Call): void => {
  const { elt, sb } = t
  if (!t.residentB) stageRows(t.planB, t.view, t.bAt / elt, t.b, t.bOffset, t.bRowStride, t.bColStride, t.k, t.n, 0, t.k)
  if (t.inPlace && t.fullN < t.n) t.packB((sb.base + t.fullN * sb.cs) * elt, sb.rs * elt, sb.cs * elt, t.k, t.k, t.n - t.fullN, t.bpAt, 0)
}

/** The whole product on this thread. */
const single = (t: Call, sa: Staged): void => {
  const { elt, sb } = t
  if (t.inPlace) {
    t.gemmv(sa.base * elt, sa.rs * elt, sa.cs * elt, sb.base * elt, sb.rs * elt, t.bpAt, t.cAt, t.ldc * elt, t.m, t.k, t.n, t.wsAt)
  } else {
    t.packB(sb.base * elt, sb.rs * elt, sb.cs * elt, t.k, t.kp, t.n, t.bpAt, 0)
    t.gemm(sa.base * elt, sa.rs * elt, sa.cs * elt, t.bpAt, t.kp, t.cAt, t.ldc * elt, t.m, t.k, t.n, t.wsAt)
  }
}

/** Copies rows r0..r1 of C out of the scratch region. */
const copyRows = (t: Call, r0: number, r1: number): void => {
  const { elt, n, ldc, c, cOffset, cAt, rowCopy, view } = t
  const cBase = cAt / elt
  if (ldc === n) c.set(view.subarray(cBase + r0 * n, cBase + r1 * n), cOffset + r0 * n)
  else if (rowCopy !== undefined && t.residentC) rowCopy(cAt + r0 * ldc * elt, ldc * elt, c.byteOffset + (cOffset + r0 * n) * elt, n * elt, n * elt, r1 - r0)
  else if (rowCopy !== undefined) {
    rowCopy(cAt + r0 * ldc * elt, ldc * elt, t.denseAt + r0 * n * elt, n * elt, n * elt, r1 - r0)
    c.set(view.subarray(t.denseAt / elt + r0 * n, t.denseAt / elt + r1 * n), cOffset + r0 * n)
  } else for (let i = r0; i < r1; i++) c.set(view.subarray(cBase + i * ldc, cBase + i * ldc + n), cOffset + i * n)
}

/** Copies out the row blocks the threads have logged as finished since the last drain. */
const drain = (t: Call, g: Int32Array, log: { done: number }): void => {
  while (log.done < LOG_CAP) {
    const w = Atomics.load(g, LOG_BASE + 2 * log.done + 1)
    if (w === 0) return
    const r0 = g[LOG_BASE + 2 * log.done]
    copyRows(t, r0, r0 + w)
    log.done++
  }
}

/** C[m×n] (+)= A[m×k] · B[k×n]; each operand given as (array, offset, rowStride, colStride) in elements, so transposed operands (colStride ≠ 1) are allowed; C is row-major contiguous at cOffset with row stride n. Returns false if it declines (e.g. too small, unsupported layout) so the caller falls back to JS. Synchronous. */
export const matmulWasm = (
  a: Float32Array | Float64Array,
  aOffset: number,
  aRowStride: number,
  aColStride: number,
  b: Float32Array | Float64Array,
  bOffset: number,
  bRowStride: number,
  bColStride: number,
  c: Float32Array | Float64Array,
  cOffset: number,
  m: number,
  k: number,
  n: number
): boolean => {
  if (!Number.isInteger(m) || !Number.isInteger(k) || !Number.isInteger(n) || m < 0 || k < 0 || n < 0) return false
  if (!Number.isInteger(cOffset) || cOffset < 0 || cOffset + m * n > c.length) return false
  if (m === 0 || n === 0) return true
  if (k === 0) {
    c.fill(0, cOffset, cOffset + m * n)
    return true
  }
  const work = m * k * n
  if (work < MIN_WORK) return false
  const isF32 = c instanceof Float32Array
  if (!isF32 && !(c instanceof Float64Array)) return false
  const e = getEngine()
  if (e === null) return false
  const elt = isF32 ? 4 : 8
  const shape: KernelShape = isF32 ? defaultShapes.f32 : defaultShapes.f64
  const MR = shape.mr
  const NR = shape.nv * (16 / elt)
  const planA = planStage(a, aOffset, aRowStride, aColStride, m, k)
  const planB = planStage(b, bOffset, bRowStride, bColStride, k, n)
  if (planA === undefined || planB === undefined) return false

  // ---- threads ---------------------------------------------------------------------
  let nThreads = 1
  let p: WorkerPool | undefined
  const wanted = threadSetting()
  if (wanted > 1 && work >= THREAD_MIN_WORK && e.shared) {
    p = getPool(e, wanted - 1)
    if (p !== undefined) {
      let ready = p.ready()
      if (ready < wanted - 1 && work >= WAIT_FOR_WORKERS_WORK) ready = p.waitReady(wanted - 1, 1000)
      nThreads = 1 + Math.min(wanted - 1, ready)
    }
  }

  // ---- memory layout (bytes): A workspaces (packed) or C's partial panel (in place) |
  //      packed B or B's partial panel | staged B | C | staged A | dense C (packed, rows padded)
  const wsBytes = roundUp(workspaceBytes(shape, elt), ALIGN)
  const kp = roundUp(k, shape.unroll)
  // operands that already live in the engine's memory (a compiled program's intermediates) are read in place
  const residentA = isResident(a)
  const residentB = isResident(b)
  // small products with B's columns contiguous: nothing packed but B's last partial panel (gemmv)
  const aCsStaged = residentA ? aColStride : stagedLayout(planA, 0, aOffset, aRowStride, aColStride, m, k).cs
  const bCsStaged = residentB ? bColStride : stagedLayout(planB, 0, bOffset, bRowStride, bColStride, k, n).cs
  const aBytes = m * k * elt
  const inPlace =
    inPlaceEnabled &&
    bCsStaged === 1 &&
    (m <= INPLACE_MAX_ROWS || aBytes <= INPLACE_MAX_A_BYTES || (aCsStaged === 1 && aBytes <= INPLACE_MAX_A_ROWMAJOR_BYTES))
  const fullN = n - (n % NR) // columns in full NR panels
  // C's row stride in the scratch region: dense in place (gemmv puts its partial panel aside
  // in `ce`), else padded to whole panels
  const ldc = inPlace ? n : roundUp(n, NR)
  const ceBytes = inPlace && fullN < n ? roundUp(m, MR) * NR * elt : 0
  // offsets inside the scratch region, made absolute below
  const bpRel = roundUp(ALIGN + (inPlace ? ceBytes : nThreads * wsBytes), ALIGN)
  const bRel = roundUp(bpRel + (inPlace ? (fullN < n ? NR * k : 0) : roundUp(n, NR) * kp) * elt, ALIGN)
  const cRel = roundUp(bRel + (residentB ? 0 : planB.size) * elt, ALIGN)
  const aRel = roundUp(cRel + roundUp(m, MR) * ldc * elt, ALIGN)
  const denseRel = roundUp(aRel + (residentA ? 0 : planA.size) * elt, ALIGN)
  const region = scratch(denseRel + (ldc === n ? 0 : m * n * elt))
  if (region === undefined) return false
  const wsAt = region.base + ALIGN // A workspaces (packed), C's partial panel (in place)
  const bpAt = region.base + bpRel
  const bAt = region.base + bRel
  const cAt = region.base + cRel
  const aAt = region.base + aRel
  const denseAt = region.base + denseRel
  const view: FloatArray = isF32 ? region.f32 : region.f64
  // where B and A are read from (B staged now, or after the workers are woken; A all at once or in row slices)
  const sb: Staged = residentB ? { base: b.byteOffset / elt + bOffset, rs: bRowStride, cs: bColStride } : stagedLayout(planB, bAt / elt, bOffset, bRowStride, bColStride, k, n)
  const sa: Staged = residentA ? { base: a.byteOffset / elt + aOffset, rs: aRowStride, cs: aColStride } : stagedLayout(planA, aAt / elt, aOffset, aRowStride, aColStride, m, k)
  const x = e.exports
  // one record of the call for the helpers below (module functions, not closures: under tsx every
  // named closure costs a __name call, ≈ 0.3 µs, on each of the many products of a training step)
  const call: Call = {
    elt, m, k, n, kp, ldc, inPlace, fullN, residentB, planB, view, bAt, bpAt, cAt, wsAt, denseAt, sb, b, bOffset, bRowStride, bColStride, c, cOffset,
    packB: isF32 ? x.packB_f32 : x.packB_f64,
    gemm: isF32 ? x.gemmp_f32 : x.gemmp_f64,
    gemmv: isF32 ? x.gemmv_f32 : x.gemmv_f64,
    // C's rows are ldc (a multiple of NR) apart in the scratch region: rows are copied out one memory.copy each
    // (straight into C when it lives in the engine's memory, else packed into a dense region, then one set)
    rowCopy: ldc === n ? undefined : copyRowsKernel(),
    residentC: isResident(c)
  }

  if (nThreads > 1 && p !== undefined) {
    // Job: rows (or columns) of C are claimed by whichever thread is free. Sharing rows,
    // B is packed once by the first thread to claim it (usually a worker, while A is
    // staged here); sharing columns, each thread packs the columns of B it claimed.
    // In place (gemmv) nothing is packed: B is staged after the workers are woken
    // (their wake-up takes longer), before the first rows of A are published.
    const g = p.ctrl
    const unitsM = Math.ceil(m / MR)
    const unitsN = Math.ceil(n / NR)
    // Packed: share rows of C (B packed once; finished rows copied out meanwhile) unless C has
    // few rows: then packing B costs about as much as the product, so share columns and let
    // each thread pack its own. In place: every thread reads all of B (sharing rows) or all of
    // A (sharing columns), so share rows when A is the larger (m ≥ n; 128×784·784×100: 354 µs
    // by rows, 377 by columns), else columns (32×784·784×100: 131 vs 145) unless too few.
    const rows = inPlace ? m >= n || (unitsN < 2 * nThreads && unitsM > unitsN) : unitsM >= unitsN || m >= 96
    const unit = rows ? MR : NR
    // guided self-scheduling: claims of ≈ remaining / (2·threads), at least
    // one register tile and ~32k multiply-adds
    const minBlock = unit * Math.max(1, Math.ceil(32768 / (unit * k * (rows ? n : m))))
    g[G.OP] = isF32 ? 0 : 1
    g[G.A_ROWS] = 0
    g[G.FAILED] = 0
    g[G.A] = sa.base * elt
    g[G.ARS] = sa.rs * elt
    g[G.ACS] = sa.cs * elt
    g[G.B] = sb.base * elt
    g[G.BRS] = sb.rs * elt
    g[G.BCS] = sb.cs * elt
    g[G.BP] = bpAt
    g[G.KP] = kp
    g[G.C] = cAt
    g[G.LDC] = ldc * elt
    g[G.M] = m
    g[G.K] = k
    g[G.N] = n
    g[G.ELT] = elt
    g[G.MODE] = (inPlace ? 2 : 0) + (rows ? 0 : 1)
    g[G.TOTAL] = rows ? m : n
    g[G.NEXT] = 0
    g[G.UNIT] = unit
    g[G.DIV] = 2 * nThreads
    g[G.MINB] = minBlock
    g[G.BLOCKS] = 0
    g[G.LOG_LEN] = 0
    g[G.WS] = wsAt
    g[G.WSSTRIDE] = wsBytes
    g[G.CE] = wsAt
    g[G.CERS] = NR * elt
    // packing B (sharing rows): tasks of a depth slice × a group of column panels, one group per
    // thread; B staged in slices (≥ k/4 rows, so ≤ 4) when it is not resident and its rows separate
    const sliceB = residentB || !rowsSeparable(planB, bRowStride, bColStride, n) ? k : Math.max(Math.ceil(k / 4), Math.ceil(65536 / n))
    g[G.PACK_NEXT] = 0
    g[G.PACK_DONE] = 0
    g[G.PACK_GROUPS] = nThreads
    g[G.PACK_TASKS] = Math.ceil(k / sliceB) * nThreads
    g[G.B_SLICE] = sliceB
    g[G.NR] = NR
    const packedRows = !inPlace && rows
    g[G.B_ROWS] = packedRows && !residentB ? 0 : k
    if (!inPlace && !rows) stageB(call) // sharing columns: each thread packs its columns of the staged B
    p.post(nThreads - 1) // its Atomics.store publishes the plain writes above
    if (inPlace) stageB(call) // published with the first rows of A
    else if (packedRows && !residentB) {
      // the workers pack each slice of B as it lands
      for (let r0 = 0; r0 < k; r0 += sliceB) {
        const r1 = Math.min(k, r0 + sliceB)
        stageRows(planB, view, bAt / elt, b, bOffset, bRowStride, bColStride, k, n, r0, r1)
        Atomics.store(g, G.B_ROWS, r1)
        Atomics.notify(g, G.B_ROWS)
      }
    }

    // stage A, in row slices when possible so that workers can start on the first rows
    // (a slice is ≥ m/4 rows — the first claim is ≈ m/4 — to keep the futex wake-ups few)
    const slice = rows && rowsSeparable(planA, aRowStride, aColStride, k) ? roundUp(Math.max(Math.ceil(m / 4), Math.ceil(65536 / k)), MR) : m
    for (let r0 = 0; r0 < m; r0 += slice) {
      const r1 = Math.min(m, r0 + slice)
      if (!residentA) stageRows(planA, view, aAt / elt, a, aOffset, aRowStride, aColStride, m, k, r0, r1)
      Atomics.store(g, G.A_ROWS, r1)
      Atomics.notify(g, G.A_ROWS)
    }

    // compute, copying finished row blocks of C out in between
    const log = { done: 0 }
    let ok = true
    let mine = 0
    try {
      mine = p.runJob(x, g, 0, rows ? () => drain(call, g, log) : undefined)
    } catch {
      ok = false
      p.fail(g)
    }
    p.finish(rows && ok ? () => drain(call, g, log) : undefined)
    stats.threaded++
    stats.workerBlocks += Atomics.load(g, G.BLOCKS) - mine
    const entries = Atomics.load(g, G.LOG_LEN)
    if (!ok || Atomics.load(g, G.FAILED) !== 0) {
      // redo everything on this thread (a genuine wasm error then surfaces as an exception)
      stats.redone++
      single(call, sa)
      copyRows(call, 0, m)
    } else if (!rows || entries > LOG_CAP) {
      copyRows(call, 0, m)
    } else {
      drain(call, g, log)
    }
    for (let i = 0; i < Math.min(entries, LOG_CAP); i++) g[LOG_BASE + 2 * i + 1] = 0 // clear the log for the next job
  } else {
    stageB(call)
    if (!residentA) stageRows(planA, view, aAt / elt, a, aOffset, aRowStride, aColStride, m, k, 0, m)
    single(call, sa)
    copyRows(call, 0, m)
  }
  stats.calls++
  if (inPlace) stats.inPlace++
  return true
}
