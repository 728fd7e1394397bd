/** Test helpers: random strided views and naive element access. */
import fc from "fast-check"
import { allocate, sizeOf } from "../../../src/backend/cpu/types"
import type { Buffer, DType, View } from "../../../src/backend/cpu/types"
import type { ConvParams } from "../../../src/backend/cpu/conv"

/** A small deterministic PRNG (mulberry32) returning floats in [0, 1). */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type ValueKind = "float" | "special" | "quarter" | "int" | "positive"

/** A random value generator for a dtype. */
export const values = (dtype: DType, seed: number, kind: ValueKind = "float"): (() => number) => {
  const r = prng(seed)
  const specials = [0, -0, NaN, Infinity, -Infinity, 0.5, -0.5, 1.5, 2.5, -2.5, 1, -1, 3]
  return () => {
    if (dtype === "bool") return r() < 0.5 ? 0 : 1
    if (dtype === "int32") return Math.floor(r() * 21) - 10
    switch (kind) {
      case "special":
        return r() < 0.3 ? specials[Math.floor(r() * specials.length)] : (r() - 0.5) * 8
      case "quarter":
        return Math.round((r() - 0.5) * 80) / 4
      case "int":
        return Math.floor(r() * 21) - 10
      case "positive":
        return 0.1 + r() * 3
      default:
        return (r() - 0.5) * 6
    }
  }
}

/** How a logical array is laid out in memory. */
export interface Layout {
  /** Memory order of the logical dims, outermost first. */
  readonly perm: ReadonlyArray<number>
  /** Step (1 or 2) per dim: every other element of a larger buffer. */
  readonly step: ReadonlyArray<number>
  /** Reversed dims (negative strides). */
  readonly flip: ReadonlyArray<boolean>
  /** Broadcast dims (stride 0). */
  readonly broadcast: ReadonlyArray<boolean>
  /** Unused elements before the data. */
  readonly offset: number
}

export const contiguousLayout = (ndim: number): Layout => ({
  perm: Array.from({ length: ndim }, (_, i) => i),
  step: new Array<number>(ndim).fill(1),
  flip: new Array<boolean>(ndim).fill(false),
  broadcast: new Array<boolean>(ndim).fill(false),
  offset: 0
})

/** A random layout for `ndim` dims; broadcasting only if `allowBroadcast`. */
export const arbLayout = (ndim: number, allowBroadcast = false): fc.Arbitrary<Layout> =>
  fc.record({
    perm: fc.shuffledSubarray(
      Array.from({ length: ndim }, (_, i) => i),
      { minLength: ndim, maxLength: ndim }
    ),
    step: fc.array(fc.constantFrom(1, 1, 2), { minLength: ndim, maxLength: ndim }),
    flip: fc.array(fc.boolean(), { minLength: ndim, maxLength: ndim }),
    broadcast: fc.array(allowBroadcast ? fc.boolean() : fc.constant(false), { minLength: ndim, maxLength: ndim }),
    offset: fc.integer({ min: 0, max: 3 })
  })

/** Layout that is plain contiguous half of the time. */
export const arbLayoutOrContiguous = (ndim: number, allowBroadcast = false): fc.Arbitrary<Layout> =>
  fc.oneof(fc.constant(contiguousLayout(ndim)), arbLayout(ndim, allowBroadcast))

/** A shape with `ndim` dims in [min, max]. */
export const arbShape = (minNdim: number, maxNdim: number, maxDim = 4, minDim = 0): fc.Arbitrary<Array<number>> =>
  fc.array(fc.oneof(fc.integer({ min: minDim, max: maxDim }), fc.constant(1)), { minLength: minNdim, maxLength: maxNdim })

/** Builds a view of logical `shape` with `layout`, filling the whole buffer with `gen()`. */
export const makeView = (shape: ReadonlyArray<number>, dtype: DType, layout: Layout, gen: () => number): View => {
  const ndim = shape.length
  const extents = shape.map((s, d) => (layout.broadcast[d] ? 1 : s * layout.step[d]))
  const memStrides = new Array<number>(ndim).fill(0)
  let acc = 1
  for (let i = ndim - 1; i >= 0; i--) {
    const d = layout.perm[i]
    memStrides[d] = acc
    acc *= extents[d]
  }
  let offset = layout.offset
  const strides = shape.map((s, d) => {
    if (layout.broadcast[d]) return 0
    const st = memStrides[d] * layout.step[d]
    if (layout.flip[d] && s > 0) {
      offset += (s - 1) * st
      return -st
    }
    return st
  })
  const buffer = allocate(dtype, layout.offset + acc + 2)
  for (let i = 0; i < buffer.length; i++) buffer[i] = gen()
  return { buffer, dtype, shape: [...shape], strides, offset }
}

/** Convenience: a contiguous view of the given values. */
export const fromValues = (shape: ReadonlyArray<number>, dtype: DType, data: ArrayLike<number>): View => {
  const buffer = allocate(dtype, data.length)
  for (let i = 0; i < data.length; i++) buffer[i] = data[i]
  return makeViewOf(buffer, dtype, shape)
}

export const makeViewOf = (buffer: Buffer, dtype: DType, shape: ReadonlyArray<number>): View => {
  const strides: Array<number> = []
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides.unshift(s)
    s *= shape[i]
  }
  return { buffer, dtype, shape: [...shape], strides, offset: 0 }
}

/** All multi-indices of `shape` in row-major order. */
export const indices = (shape: ReadonlyArray<number>): Array<Array<number>> => {
  const result: Array<Array<number>> = []
  const n = sizeOf(shape)
  for (let flat = 0; flat < n; flat++) {
    const idx = new Array<number>(shape.length)
    let r = flat
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = r % shape[d]
      r = Math.floor(r / shape[d])
    }
    result.push(idx)
  }
  return result
}

/** The element of `v` at a multi-index. */
export const at = (v: View, idx: ReadonlyArray<number>): number => {
  let p = v.offset
  for (let d = 0; d < idx.length; d++) p += idx[d] * v.strides[d]
  return v.buffer[p]
}

/** The logical elements of `v` in row-major order. */
export const read = (v: View): Array<number> => indices(v.shape).map((idx) => at(v, idx))

/** Stores `xs` into a fresh buffer of `dtype` (typed-array conversion, bool as `!== 0`). */
export const store = (dtype: DType, xs: ReadonlyArray<number>): Buffer => {
  const out = allocate(dtype, xs.length)
  for (let i = 0; i < xs.length; i++) out[i] = dtype === "bool" ? (xs[i] !== 0 ? 1 : 0) : xs[i]
  return out
}

const same = (a: number, b: number): boolean => a === b || (a !== a && b !== b)

/** Exact comparison of buffers (NaN equals NaN, 0 equals -0); returns a description of the first mismatch. */
export const mismatch = (actual: Buffer, expected: Buffer): string | null => {
  if (actual.constructor !== expected.constructor) return `type ${actual.constructor.name} != ${expected.constructor.name}`
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`
  for (let i = 0; i < actual.length; i++) {
    if (!same(actual[i], expected[i])) return `at ${i}: ${actual[i]} != ${expected[i]}`
  }
  return null
}

/** Comparison with a relative tolerance (scaled by max(1, |expected|) unless `scale` is given). */
export const mismatchClose = (
  actual: Buffer,
  expected: ArrayLike<number>,
  tol: number,
  scale?: ArrayLike<number>
): string | null => {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]
    const e = expected[i]
    if (same(a, e)) continue
    const s = scale === undefined ? Math.max(1, Math.abs(e)) : scale[i]
    if (!(Math.abs(a - e) <= tol * s)) return `at ${i}: ${a} != ${e}`
  }
  return null
}

export const FLOATS: ReadonlyArray<DType> = ["float32", "float64"]
export const DTYPES: ReadonlyArray<DType> = ["float32", "float64", "int32", "bool"]

/** Convolution geometry: windows up to maxK × maxK, strides 1–3, dilations 1–2, padding 0–2 on each side. */
export const arbConvParams = (maxK: number): fc.Arbitrary<ConvParams> =>
  fc.record({
    kh: fc.integer({ min: 1, max: maxK }),
    kw: fc.integer({ min: 1, max: maxK }),
    strideH: fc.integer({ min: 1, max: 3 }),
    strideW: fc.integer({ min: 1, max: 3 }),
    dilationH: fc.integer({ min: 1, max: 2 }),
    dilationW: fc.integer({ min: 1, max: 2 }),
    padTop: fc.integer({ min: 0, max: 2 }),
    padBottom: fc.integer({ min: 0, max: 2 }),
    padLeft: fc.integer({ min: 0, max: 2 }),
    padRight: fc.integer({ min: 0, max: 2 })
  })
