/**
 * Max pooling over 2×2 windows at stride 2 without padding (the usual
 * pooling layer) as WebAssembly SIMD loops: `max_pool`, `pool_select` and
 * `pool_scatter`, bit-identical to the JavaScript kernels of cpu/pool.ts.
 *
 * The JavaScript loops branch on the data (which element is the maximum,
 * how many tie), so on real activations they mispredict at every window
 * (≈ 20 ns each). Here every window runs the same branch-free instructions:
 * compares give lane masks and `bitselect` picks.
 *
 * Layout: x (and t) are staged contiguously as [N, C, H, W]. The loops walk
 * output rows; one step takes L = 4 (float32) or 2 (float64) windows — two
 * v128 loads per input row, split by `i8x16.shuffle` into the windows' left
 * (even columns) and right (odd columns) elements. The last `OW mod L`
 * windows of a row run one at a time through the same instructions on a
 * splatted pair, so the tail cannot compute anything different. An odd last
 * row or column belongs to no window; pool_scatter writes 0 there.
 *
 * Exactness, rule by rule (a, b, c, d = top-left, top-right, bottom-left,
 * bottom-right, the order of the JavaScript loops):
 * - the maximum is `max4`'s ternary chain `a >= b ? a : b` …, which on
 *   non-NaN lanes is exactly `pmax` (`a < b ? b : a`, one maxps; f32x4.max
 *   would differ on ±0), and NaN if any element is NaN — the bits of the
 *   literal `NaN` the JavaScript stores;
 * - ties are lanes where `eq` holds (−0 equals +0, NaN equals nothing, as
 *   `===`), counted as floats (exact small integers);
 * - pool_scatter gives each tied maximum `g / count` in the lane type: for
 *   float32 that equals JavaScript's double quotient rounded to float32
 *   (rounding a quotient twice is innocuous when 53 ≥ 2·24 + 2), and g / 1
 *   is g, the JavaScript's `count === 1` store; the others get +0;
 * - pool_select sums in double like JavaScript: float32 lanes are promoted,
 *   summed from +0 in the loop's order and divided in float64, then demoted
 *   (round to nearest even, a Float32Array store). Untied elements add a
 *   masked +0, which leaves such a sum unchanged: it starts at +0, so it is
 *   never −0.
 */
import type { ConvParams } from "../cpu/conv.js"
import type { PoolImplementation } from "../cpu/pool.js"
import { adopt, isContiguous, sizeOf, takePooled } from "../cpu/types.js"
import type { Buffer, DType, View } from "../cpu/types.js"
import { forUp, type FunctionBuilder, type ModuleBuilder, Simd, ValType } from "./emitter.js"
import { alignUp, isResident, kernelExports, scratch } from "./kernels.js"

const { i32, v128 } = ValType

/** The byte lanes of elements `items` (of `elt` bytes) for `i8x16.shuffle`. */
const pick = (elt: number, items: ReadonlyArray<number>): Array<number> => items.flatMap((i) => Array.from({ length: elt }, (_, k) => i * elt + k))

interface Lanes {
  readonly elt: number
  readonly lanes: number
  readonly log2Elt: number
  readonly pmax: number
  readonly eq: number
  readonly ne: number
  readonly add: number
  readonly div: number
  readonly extract: number
  /** canonical NaN and 1 in every lane */
  readonly nan: Uint8Array
  readonly one: Uint8Array
  /** left / right elements of the windows from two vectors of one input row */
  readonly even: ReadonlyArray<number>
  readonly odd: ReadonlyArray<number>
  /** left and right results of the windows back into row order (first and second vector) */
  readonly zipLo: ReadonlyArray<number>
  readonly zipHi: ReadonlyArray<number>
  readonly store: (f: FunctionBuilder, offset: number) => void
  readonly zero: (f: FunctionBuilder) => void
  /** one element into every lane */
  readonly splat: (f: FunctionBuilder) => void
  /** the two elements of one tail window's row, into lanes 0 and 1 (and repeated) */
  readonly pair: (f: FunctionBuilder) => void
}

const f32Lanes: Lanes = {
  elt: 4,
  lanes: 4,
  log2Elt: 2,
  pmax: Simd.f32x4_pmax,
  eq: Simd.f32x4_eq,
  ne: Simd.f32x4_ne,
  add: Simd.f32x4_add,
  div: Simd.f32x4_div,
  extract: Simd.f32x4_extract_lane,
  nan: new Uint8Array(new Float32Array(4).fill(NaN).buffer),
  one: new Uint8Array(new Float32Array(4).fill(1).buffer),
  even: pick(4, [0, 2, 4, 6]),
  odd: pick(4, [1, 3, 5, 7]),
  zipLo: pick(4, [0, 4, 1, 5]),
  zipHi: pick(4, [2, 6, 3, 7]),
  store: (f, offset) => void f.f32Store(offset),
  zero: (f) => void f.f32Const(0),
  splat: (f) => void f.v128Load32Splat(0),
  pair: (f) => void f.v128Load64Splat(0)
}

const f64Lanes: Lanes = {
  elt: 8,
  lanes: 2,
  log2Elt: 3,
  pmax: Simd.f64x2_pmax,
  eq: Simd.f64x2_eq,
  ne: Simd.f64x2_ne,
  add: Simd.f64x2_add,
  div: Simd.f64x2_div,
  extract: Simd.f64x2_extract_lane,
  nan: new Uint8Array(new Float64Array(2).fill(NaN).buffer),
  one: new Uint8Array(new Float64Array(2).fill(1).buffer),
  even: pick(8, [0, 2]),
  odd: pick(8, [1, 3]),
  zipLo: pick(8, [0, 2]),
  zipHi: pick(8, [1, 3]),
  store: (f, offset) => void f.f64Store(offset),
  zero: (f) => void f.f64Const(0),
  splat: (f) => void f.v128Load64Splat(0),
  pair: (f) => void f.v128Load(0, 8)
}

/** The four elements of L windows (or, `tail`, of one) as v128 locals. */
interface Window {
  readonly a: number
  readonly b: number
  readonly c: number
  readonly d: number
}

/** The loop state a kernel's step sees. */
interface Walk {
  readonly f: FunctionBuilder
  readonly ln: Lanes
  /** byte address of the current window's top-left element of x */
  readonly xi: number
  readonly rowBytes: number
  /** canonical NaN and 1 in every lane */
  readonly nan: number
  readonly one: number
  /** four fresh v128 locals loaded with the windows' elements of the [N, C, H, W] array at xi + delta (delta a local, or none for x) */
  readonly load: (delta: number | undefined, tail: boolean) => Window
}

/**
 * Emits the loops of one kernel over `planes` (N·C) planes of H × W: for
 * every output row, full steps of L windows then single tail windows.
 * After each step xi moves on by the windows' width and every `dense`
 * pointer (walking a [N, C, OH, OW] array) by their element size.
 * `rowEnd` runs with xi at column 2·OW of the row pair, `planeEnd` with
 * the row pointer at row 2·OH.
 */
const walk = (
  f: FunctionBuilder,
  ln: Lanes,
  X: number,
  PLANES: number,
  H: number,
  W: number,
  dense: ReadonlyArray<number>,
  step: (w: Walk, tail: boolean) => void,
  rowEnd?: (w: Walk) => void,
  planeEnd?: (w: Walk, xRow: number) => void
): void => {
  const [oh, ow, owv, rowBytes, planeBytes, p, r, j, xPlane, xRow, xi, at] = Array.from({ length: 12 }, () => f.local(i32))
  const nan = f.local(v128)
  const one = f.local(v128)
  f.v128Const(ln.nan).set(nan)
  f.v128Const(ln.one).set(one)
  f.get(H).i32(1).shrU().set(oh)
  f.get(W).i32(1).shrU().tee(ow).i32(-ln.lanes).and().set(owv)
  f.get(W).i32(ln.log2Elt).shl().set(rowBytes)
  f.get(H).get(rowBytes).mul().set(planeBytes)
  const load = (delta: number | undefined, tail: boolean): Window => {
    const [a, b, c, d, v0, v1] = Array.from({ length: 6 }, () => f.local(v128))
    const row = (bottom: boolean, left: number, right: number) => {
      f.get(xi)
      if (delta !== undefined) f.get(delta).add()
      if (bottom) f.get(rowBytes).add()
      f.tee(at)
      if (tail) {
        ln.pair(f)
        f.tee(v0).set(v1)
      } else {
        f.v128Load(0, ln.elt).set(v0)
        f.get(at).v128Load(16, ln.elt).set(v1)
      }
      f.get(v0).get(v1).shuffle(ln.even).set(left)
      f.get(v0).get(v1).shuffle(ln.odd).set(right)
    }
    row(false, a, b)
    row(true, c, d)
    return { a, b, c, d }
  }
  const w: Walk = { f, ln, xi, rowBytes, nan, one, load }
  const advance = (tail: boolean) => {
    f.addConst(xi, tail ? 2 * ln.elt : 32)
    for (const q of dense) f.addConst(q, tail ? ln.elt : 16)
  }
  f.get(X).set(xPlane)
  f.i32(0).set(p)
  forUp(f, p, PLANES, 1, () => {
    f.get(xPlane).set(xRow)
    f.i32(0).set(r)
    forUp(f, r, oh, 1, () => {
      f.get(xRow).set(xi)
      f.i32(0).set(j)
      forUp(f, j, owv, ln.lanes, () => {
        step(w, false)
        advance(false)
      })
      forUp(f, j, ow, 1, () => {
        step(w, true)
        advance(true)
      })
      rowEnd?.(w)
      f.get(xRow).get(rowBytes).get(rowBytes).add().add().set(xRow)
    })
    planeEnd?.(w, xRow)
    f.get(xPlane).get(planeBytes).add().set(xPlane)
  })
}

/** `op(x, y)` into a fresh v128 local. */
const binary = (f: FunctionBuilder, op: number, x: number, y: number): number => {
  const t = f.local(v128)
  f.get(x).get(y).simd(op).set(t)
  return t
}

/** The windows' maxima (JavaScript's `max4` on non-NaN lanes) and the mask of windows holding a NaN. */
const max4 = (w: Walk, { a, b, c, d }: Window): { readonly m: number; readonly nanMask: number } => {
  const { f, ln } = w
  const m = binary(f, ln.pmax, binary(f, ln.pmax, a, b), binary(f, ln.pmax, c, d))
  const nanMask = f.local(v128)
  f.get(a).get(a).simd(ln.ne).get(b).get(b).simd(ln.ne).simd(Simd.v128_or)
  f.get(c).get(c).simd(ln.ne).get(d).get(d).simd(ln.ne).simd(Simd.v128_or)
  f.simd(Simd.v128_or).set(nanMask)
  return { m, nanMask }
}

/** Pushes `nanMask ? NaN : v`. */
const orNaN = (w: Walk, v: number, nanMask: number): void => {
  w.f.get(w.nan).get(v).get(nanMask).simd(Simd.v128_bitselect)
}

/** Stores lane 0 of the vector on the stack at [address on the stack below it] + offset. */
const storeLane0 = (w: Walk, offset: number): void => {
  w.f.simd(w.ln.extract).emit(0)
  w.ln.store(w.f, offset)
}

/** maxPool_<dt>(x, out, planes, h, w) */
const buildMaxPool = (mod: ModuleBuilder, name: string, ln: Lanes): void => {
  const { f } = mod.func(name, [i32, i32, i32, i32, i32], [])
  const [X, OUT, PLANES, H, W] = [0, 1, 2, 3, 4]
  walk(f, ln, X, PLANES, H, W, [OUT], (w, tail) => {
    const { m, nanMask } = max4(w, w.load(undefined, tail))
    f.get(OUT)
    orNaN(w, m, nanMask)
    if (tail) storeLane0(w, 0)
    else f.v128Store(0, ln.elt)
  })
}

/** The masks of the elements equal to the windows' maxima. */
const ties = (w: Walk, win: Window, m: number): Window => ({
  a: binary(w.f, w.ln.eq, win.a, m),
  b: binary(w.f, w.ln.eq, win.b, m),
  c: binary(w.f, w.ln.eq, win.c, m),
  d: binary(w.f, w.ln.eq, win.d, m)
})

/** Pushes the number of tied maxima per window (in the lane type). */
const countTies = (w: Walk, eq: Window): void => {
  const { f, ln, one } = w
  f.get(eq.a).get(one).simd(Simd.v128_and).get(eq.b).get(one).simd(Simd.v128_and).simd(ln.add)
  f.get(eq.c).get(one).simd(Simd.v128_and).simd(ln.add)
  f.get(eq.d).get(one).simd(Simd.v128_and).simd(ln.add)
}

/** select_<dt>(x, t, out, planes, h, w) */
const buildSelect = (mod: ModuleBuilder, name: string, ln: Lanes): void => {
  const { f } = mod.func(name, [i32, i32, i32, i32, i32, i32], [])
  const [X, T, OUT, PLANES, H, W] = [0, 1, 2, 3, 4, 5]
  const tDelta = f.local(i32)
  f.get(T).get(X).sub().set(tDelta)
  walk(f, ln, X, PLANES, H, W, [OUT], (w, tail) => {
    const win = w.load(undefined, tail)
    const t = w.load(tDelta, tail)
    const { m, nanMask } = max4(w, win)
    const eq = ties(w, win, m)
    const count = f.local(v128)
    countTies(w, eq)
    f.set(count)
    const masked = [binary(f, Simd.v128_and, eq.a, t.a), binary(f, Simd.v128_and, eq.b, t.b), binary(f, Simd.v128_and, eq.c, t.c), binary(f, Simd.v128_and, eq.d, t.d)]
    const mean = f.local(v128)
    if (ln.lanes === 2) {
      f.v128Zero()
      for (const v of masked) f.get(v).simd(Simd.f64x2_add)
      f.get(count).simd(Simd.f64x2_div).set(mean)
    } else {
      // float32: the sum and the quotient in float64, two lanes at a time
      const half = (v: number, high: boolean) => {
        f.get(v)
        if (high) f.get(v).shuffle(pick(4, [2, 3, 0, 1]))
        f.simd(Simd.f64x2_promote_low_f32x4)
      }
      const halves = [false, true].map((high) => {
        const q = f.local(v128)
        f.v128Zero()
        for (const v of masked) {
          half(v, high)
          f.simd(Simd.f64x2_add)
        }
        half(count, high)
        f.simd(Simd.f64x2_div).simd(Simd.f32x4_demote_f64x2_zero).set(q)
        return q
      })
      f.get(halves[0]).get(halves[1]).shuffle(pick(4, [0, 1, 4, 5])).set(mean)
    }
    f.get(OUT)
    orNaN(w, mean, nanMask)
    if (tail) storeLane0(w, 0)
    else f.v128Store(0, ln.elt)
  })
}

/** scatter_<dt>(x, ct, out, planes, h, w) */
const buildScatter = (mod: ModuleBuilder, name: string, ln: Lanes): void => {
  const { f } = mod.func(name, [i32, i32, i32, i32, i32, i32], [])
  const [X, CT, OUT, PLANES, H, W] = [0, 1, 2, 3, 4, 5]
  const oDelta = f.local(i32)
  const k = f.local(i32)
  const at = f.local(i32)
  f.get(OUT).get(X).sub().set(oDelta)
  const step = (w: Walk, tail: boolean) => {
    const win = w.load(undefined, tail)
    const { m, nanMask } = max4(w, win)
    const eq = ties(w, win, m)
    const share = f.local(v128)
    f.get(CT)
    if (tail) ln.splat(f)
    else f.v128Load(0, ln.elt)
    countTies(w, eq)
    f.simd(ln.div).set(share)
    // a NaN window: NaN at all four elements
    orNaN(w, share, nanMask)
    f.set(share)
    const out = (mask: number): number => {
      const v = f.local(v128)
      f.get(mask).get(nanMask).simd(Simd.v128_or).get(share).simd(Simd.v128_and).set(v)
      return v
    }
    const [a, b, c, d] = [out(eq.a), out(eq.b), out(eq.c), out(eq.d)]
    for (const [left, right, bottom] of [[a, b, false], [c, d, true]] as const) {
      f.get(w.xi).get(oDelta).add()
      if (bottom) f.get(w.rowBytes).add()
      f.tee(at)
      if (tail) {
        f.get(left)
        storeLane0(w, 0)
        f.get(at).get(right)
        storeLane0(w, ln.elt)
      } else {
        f.get(left).get(right).shuffle(ln.zipLo).v128Store(0, ln.elt)
        f.get(at).get(left).get(right).shuffle(ln.zipHi).v128Store(16, ln.elt)
      }
    }
  }
  // an odd last column or row is in no window: its cotangent is 0
  const rowEnd = (w: Walk) => {
    f.get(W).i32(1).and()
    f.if(() => {
      f.get(w.xi).get(oDelta).add().tee(at)
      ln.zero(f)
      ln.store(f, 0)
      f.get(at).get(w.rowBytes).add()
      ln.zero(f)
      ln.store(f, 0)
    })
  }
  const planeEnd = (w: Walk, xRow: number) => {
    f.get(H).i32(1).and()
    f.if(() => {
      f.get(xRow).get(oDelta).add().set(at)
      f.i32(0).set(k)
      forUp(f, k, w.rowBytes, ln.elt, () => {
        f.get(at).get(k).add()
        ln.zero(f)
        ln.store(f, 0)
      })
    })
  }
  walk(f, ln, X, PLANES, H, W, [CT], step, rowEnd, planeEnd)
}

type Kernel = (...args: Array<number>) => void

interface PoolExports {
  readonly maxPool_f32: Kernel
  readonly maxPool_f64: Kernel
  readonly select_f32: Kernel
  readonly select_f64: Kernel
  readonly scatter_f32: Kernel
  readonly scatter_f64: Kernel
}

const build = (mod: ModuleBuilder): void => {
  for (const [dt, ln] of [["f32", f32Lanes], ["f64", f64Lanes]] as const) {
    buildMaxPool(mod, `maxPool_${dt}`, ln)
    buildSelect(mod, `select_${dt}`, ln)
    buildScatter(mod, `scatter_${dt}`, ln)
  }
}

/** 2×2 windows at stride 2, no padding, no dilation. */
const twoByTwo = (p: ConvParams): boolean =>
  p.kh === 2 && p.kw === 2 && p.strideH === 2 && p.strideW === 2 && p.dilationH === 1 && p.dilationW === 1 && p.padTop === 0 && p.padBottom === 0 && p.padLeft === 0 && p.padRight === 0

/** The elements of a contiguous view in order (a subarray, no copy), or undefined for any other layout. */
const flat = (v: View): Buffer | undefined => (isContiguous(v) ? v.buffer.subarray(v.offset, v.offset + sizeOf(v.shape)) : undefined)

/**
 * Stages `inputs` (all of `dtype`) one after another in the engine's
 * memory, runs `kernel(…their addresses, out address)` and returns the
 * `outSize` elements it wrote (in a pooled buffer when one is free);
 * undefined without WebAssembly.
 */
const run = (dtype: "float32" | "float64", name: "maxPool" | "select" | "scatter", inputs: ReadonlyArray<Buffer>, outSize: number, args: ReadonlyArray<number>): Buffer | undefined => {
  const kernels = kernelExports<PoolExports>("pool2x2", build)
  if (kernels === undefined) return undefined
  const elt = dtype === "float32" ? 4 : 8
  // inputs resident in the engine's memory (a compiled program's intermediates) are read in place
  const rel: Array<number> = []
  let at = 0
  for (const b of inputs) {
    rel.push(at)
    if (!isResident(b)) at += alignUp(b.length * elt)
  }
  const views = scratch(at + outSize * elt)
  if (views === undefined) return undefined
  const mem = dtype === "float32" ? views.f32 : views.f64
  const ptrs = inputs.map((b, i) => {
    if (isResident(b)) return b.byteOffset
    mem.set(b, (views.base + rel[i]) / elt)
    return views.base + rel[i]
  })
  at += views.base
  kernels[`${name}_${dtype === "float32" ? "f32" : "f64"}`](...ptrs, at, ...args)
  const result = mem.subarray(at / elt, at / elt + outSize)
  const pooled = takePooled(dtype, outSize)
  if (pooled !== undefined) {
    pooled.set(result)
    return pooled
  }
  const out = result.slice()
  adopt(out)
  return out
}

/** The float dtype shared by `x` and every other operand, or undefined. */
const floatDtype = (x: View, ...others: ReadonlyArray<DType>): "float32" | "float64" | undefined =>
  (x.dtype === "float32" || x.dtype === "float64") && others.every((d) => d === x.dtype) ? x.dtype : undefined

/** The WebAssembly pooling kernels (installed by the backend selection); each declines with undefined. */
export const poolWasm: PoolImplementation = {
  maxPool: (x, p) => {
    const dtype = floatDtype(x)
    const xs = flat(x)
    if (dtype === undefined || xs === undefined || !twoByTwo(p)) return undefined
    const [N, C, H, W] = x.shape
    return run(dtype, "maxPool", [xs], N * C * (H >> 1) * (W >> 1), [N * C, H, W])
  },
  poolSelect: (x, t, p, outDtype) => {
    const dtype = floatDtype(x, t.dtype, outDtype)
    const xs = flat(x)
    const ts = flat(t)
    if (dtype === undefined || xs === undefined || ts === undefined || !twoByTwo(p)) return undefined
    const [N, C, H, W] = x.shape
    return run(dtype, "select", [xs, ts], N * C * (H >> 1) * (W >> 1), [N * C, H, W])
  },
  poolScatter: (x, ct, p, outDtype) => {
    const dtype = floatDtype(x, ct.dtype, outDtype)
    const xs = flat(x)
    const cts = flat(ct)
    if (dtype === undefined || xs === undefined || cts === undefined || !twoByTwo(p)) return undefined
    const [N, C, H, W] = x.shape
    return run(dtype, "scatter", [xs, cts], N * C * H * W, [N * C, H, W])
  }
}
