/**
 * Reductions, arg-reductions and cumulative scans.
 *
 * A reduction walks the input once, in memory order as far as possible, and
 * combines each element into an accumulator array (float64, one slot per
 * output element) whose strides are 0 along the reduced axes. After
 * collapsing dims, a reduction over trailing contiguous axes becomes a
 * scalar accumulation over each contiguous row, and one over leading axes
 * becomes a vector accumulation `acc[j] op= row[j]` over successive rows.
 */
import { collapseDims, compile, contiguous, kindOf, odometerSource } from "./elementwise"
import { allocate, contiguousStrides, isContiguous, sizeOf } from "./types"
import type { Buffer, DType, View } from "./types"

export type ReduceOp = "sum" | "max" | "min" | "prod" | "any" | "all"

/** `s` combined with `v`; max/min propagate NaN. */
const combineExpr: Record<ReduceOp, string> = {
  sum: "s + v",
  prod: "s * v",
  max: "(v > s || v !== v ? v : s)",
  min: "(v < s || v !== v ? v : s)",
  any: "(v !== 0 ? 1 : s)",
  all: "(v === 0 ? 0 : s)"
}

const identity: Record<ReduceOp, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity, any: 0, all: 1 }

type ReduceKernel = (
  acc: Float64Array,
  pa: number,
  sa: ReadonlyArray<number>,
  x: Buffer,
  px: number,
  sx: ReadonlyArray<number>,
  shape: ReadonlyArray<number>
) => void

const reduceCache = new Map<string, ReduceKernel>()

/**
 * Source that adds the float64 sum of a run of `n` values (`load(i)` is the
 * i-th) to the variable `target`: with r = n mod 8, the first r values go to
 * the first of eight partial sums, then value r + 8q + j to partial j; the
 * partials are combined pairwise. One running sum is bound by the latency of
 * an addition (four cycles per value); eight are not. Every sum of a run, in
 * every path below, uses this order, so they all give the same bits. (The
 * remainder comes first so that both loops' tests run on every call: a loop
 * first reached after the function was optimised would deoptimise it.)
 */
const sumRunSource = (load: (i: string) => string, n: string, target: string): string => `{
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0, i = 0;
      for (const r = ${n} % 8; i < r; i++) s0 += ${load("i")};
      for (; i < ${n}; i += 8) {
        s0 += ${load("i")}; s1 += ${load("i + 1")}; s2 += ${load("i + 2")}; s3 += ${load("i + 3")};
        s4 += ${load("i + 4")}; s5 += ${load("i + 5")}; s6 += ${load("i + 6")}; s7 += ${load("i + 7")};
      }
      ${target} = ${target} + (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
    }`

const buildReduceKernel = (op: ReduceOp, accKind: "s" | "c" | "g", xKind: "s" | "c" | "g"): ReduceKernel => {
  const combine = combineExpr[op]
  const loadAt = (i: string): string => (xKind === "c" ? `x[px + ${i}]` : xKind === "g" ? `x[px + (${i}) * tx]` : "xv")
  const load = loadAt("i")
  const a = accKind === "c" ? "acc[pa + i]" : "acc[pa + i * ta]"
  const inner =
    accKind === "s" && op === "sum" && xKind !== "s"
      ? `let s = acc[pa];
      ${sumRunSource(loadAt, "n", "s")}
      acc[pa] = s;`
      : accKind === "s"
      ? `let s = acc[pa];
      for (let i = 0; i < n; i++) { const v = ${load}; s = ${combine}; }
      acc[pa] = s;`
      : `for (let i = 0; i < n; i++) { const v = ${load}, s = ${a}; ${a} = ${combine}; }`
  return compile<ReduceKernel>(`
  return function reduceKernel(acc, pa, sa, x, px, sx, shape) {
    const last = shape.length - 1, n = shape[last], ta = sa[last], tx = sx[last];
    let rows = 1;
    for (let d = 0; d < last; d++) rows *= shape[d];
    const idx = new Int32Array(last + 1);
    for (let r = 0; r < rows; r++) {
      ${xKind === "s" ? "const xv = x[px];" : ""}
      ${inner}
      ${odometerSource(["pa", "px"], ["sa", "sx"])}
    }
  };`)
}

type WholeKernel = (x: Buffer, offset: number, n: number) => number

/** A kernel per op, compiled from `source(op)` on first use. */
const perOp = <K, Op extends ReduceOp = ReduceOp>(source: (op: Op) => string): ((op: Op) => K) => {
  const cache = new Map<Op, K>()
  return (op) => {
    let kernel = cache.get(op)
    if (kernel === undefined) {
      kernel = compile<K>(source(op))
      cache.set(op, kernel)
    }
    return kernel
  }
}

/** `op` over `x[offset .. offset + n)`, from the identity, in float64. */
const wholeKernel = perOp<WholeKernel>((op) =>
  op === "sum"
    ? `
  return function wholeKernel(x, offset, n) {
    let s = 0;
    ${sumRunSource((i) => `x[offset + ${i}]`, "n", "s")}
    return s;
  };`
    : `
  return function wholeKernel(x, offset, n) {
    let s = ${identity[op]};
    for (let i = offset, end = offset + n; i < end; i++) { const v = x[i]; s = ${combineExpr[op]}; }
    return s;
  };`)

/**
 * A faster sum over leading axes (the WebAssembly SIMD loop, installed by the
 * backend selection): the float64 column sums of `rows` rows of `n` elements
 * from `offset`, bit-identical to the JavaScript loop, or undefined to
 * decline.
 */
export type LeadingSumImplementation = (x: Float32Array | Float64Array, offset: number, rows: number, n: number) => Float64Array | undefined

let leadingSum: LeadingSumImplementation | null = null

/** Installs (or with null removes) the fast leading-axis sum. */
export const setLeadingSumImplementation = (impl: LeadingSumImplementation | null): void => {
  leadingSum = impl
}

type LeadingKernel = (acc: Float64Array, x: Buffer, offset: number, rows: number, n: number) => void

/** acc[j] = op(acc[j], x[r·n + j]) for every row r in order (what the general kernel does for leading axes). */
const leadingKernel = perOp<LeadingKernel>((op) => `
  return function leadingKernel(acc, x, offset, rows, n) {
    for (let r = 0, at = offset; r < rows; r++, at += n) {
      for (let j = 0; j < n; j++) { const v = x[at + j], s = acc[j]; acc[j] = ${combineExpr[op]}; }
    }
  };`)

/** Converts a float64 accumulator to a fresh buffer of `dtype` (bool: `!== 0`). */
const fromFloat64 = (acc: Float64Array, shape: ReadonlyArray<number>, dtype: DType): Buffer => {
  if (dtype === "float64") return acc
  if (dtype === "float32") {
    const out = allocate("float32", acc.length)
    out.set(acc) // rounds each element to float32
    return out
  }
  return contiguous({ buffer: acc, dtype: "float64", shape, strides: contiguousStrides(shape), offset: 0 }, dtype)
}

/**
 * Reduces `x` over `axes` (sorted, unique, non-negative). The output shape is
 * `x.shape` without those axes. Accumulates in float64; an empty reduction
 * gives the identity.
 */
export const reduce = (op: ReduceOp, x: View, axes: ReadonlyArray<number>, outDtype: DType): Buffer => {
  // A float reduction of a whole contiguous array (a loss): one loop, no bookkeeping; the same
  // float64 accumulation in the same order as the general kernel below.
  if ((outDtype === "float32" || outDtype === "float64") && isContiguous(x)) {
    const last = x.shape.length - 1
    if (axes.length === x.shape.length) {
      const out = allocate(outDtype, 1)
      out[0] = wholeKernel(op)(x.buffer, x.offset, sizeOf(x.shape))
      return out
    }
    // the last axis of rows (a softmax's sums and maxima)
    if (axes.length === 1 && axes[0] === last && x.shape[last] > 0) {
      const n = x.shape[last]
      const rows = sizeOf(x.shape) / n
      const out = allocate(outDtype, rows)
      const whole = wholeKernel(op)
      for (let r = 0, at = x.offset; r < rows; r++, at += n) out[r] = whole(x.buffer, at, n)
      return out
    }
    // leading axes (a bias gradient: the sum over the batch): rows combined into one float64 row
    if (axes.every((a, i) => a === i) && axes.length < x.shape.length) {
      const rows = sizeOf(x.shape.slice(0, axes.length))
      const n = sizeOf(x.shape.slice(axes.length))
      const fast = op === "sum" && leadingSum !== null && n > 0 && (x.buffer instanceof Float32Array || x.buffer instanceof Float64Array)
        ? leadingSum(x.buffer, x.offset, rows, n)
        : undefined
      const acc = fast ?? new Float64Array(n).fill(identity[op])
      if (fast === undefined && n > 0) leadingKernel(op)(acc, x.buffer, x.offset, rows, n)
      return fromFloat64(acc, x.shape.slice(axes.length), outDtype)
    }
  }
  const reduced = new Set(axes)
  const outShape = x.shape.filter((_, d) => !reduced.has(d))
  const acc = new Float64Array(sizeOf(outShape)).fill(identity[op])
  if (sizeOf(x.shape) > 0) {
    // Accumulator strides over x's dims: 0 along reduced axes.
    const outStrides = contiguousStrides(outShape)
    const accStrides: Array<number> = []
    let k = 0
    for (let d = 0; d < x.shape.length; d++) accStrides.push(reduced.has(d) ? 0 : outStrides[k++])
    // Visit x in memory order: sort dims by decreasing |stride| (stable).
    const order = x.shape.map((_, d) => d).sort((p, q) => Math.abs(x.strides[q]) - Math.abs(x.strides[p]))
    const c = collapseDims(
      order.map((d) => x.shape[d]),
      [order.map((d) => accStrides[d]), order.map((d) => x.strides[d])]
    )
    const last = c.shape.length - 1
    const accKind = kindOf(c.strides[0][last])
    const xKind = kindOf(c.strides[1][last])
    const key = `${op}|${accKind}|${x.dtype}${xKind}`
    let kernel = reduceCache.get(key)
    if (kernel === undefined) {
      kernel = buildReduceKernel(op, accKind, xKind)
      reduceCache.set(key, kernel)
    }
    kernel(acc, 0, c.strides[0], x.buffer, x.offset, c.strides[1], c.shape)
  }
  return fromFloat64(acc, outShape, outDtype)
}

/**
 * Index of the maximum (minimum) along `axis`; the output shape is
 * `x.shape` without `axis`. Ties and NaNs resolve to the first occurrence
 * (a NaN counts as the extreme, as in NumPy).
 */
export const argReduce = (op: "argmax" | "argmin", x: View, axis: number): Int32Array => {
  const outShape = x.shape.filter((_, d) => d !== axis)
  const out = new Int32Array(sizeOf(outShape))
  const len = x.shape[axis]
  if (out.length === 0 || len === 0) return out
  const step = x.strides[axis]
  const buf = x.buffer
  const isMax = op === "argmax"
  const outStrides = x.strides.filter((_, d) => d !== axis)
  const idx = new Array<number>(outShape.length).fill(0)
  let base = x.offset
  for (let o = 0; o < out.length; o++) {
    let best = 0
    let bestValue = buf[base]
    if (bestValue === bestValue) {
      for (let i = 1, p = base + step; i < len; i++, p += step) {
        const v = buf[p]
        if (v !== v) {
          best = i
          break
        }
        if (isMax ? v > bestValue : v < bestValue) {
          best = i
          bestValue = v
        }
      }
    }
    out[o] = best
    // Advance the odometer over the output dims.
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) {
        base += outStrides[d]
        break
      }
      idx[d] = 0
      base -= outStrides[d] * (outShape[d] - 1)
    }
  }
  return out
}

type ScanKernel = (a: Float64Array, outer: number, len: number, inner: number, reverse: boolean) => void

const scanKernel = perOp<ScanKernel, "sum" | "prod" | "max" | "min">((op) => `
  return function scanKernel(a, outer, len, inner, reverse) {
    const step = reverse ? -inner : inner;
    for (let o = 0; o < outer; o++) {
      let prev = o * len * inner + (reverse ? (len - 1) * inner : 0);
      for (let k = 1; k < len; k++) {
        const cur = prev + step;
        for (let i = 0; i < inner; i++) { const s = a[prev + i], v = a[cur + i]; a[cur + i] = ${combineExpr[op]}; }
        prev = cur;
      }
    }
  };`)

/** Inclusive scan of `op` along `axis` (from the end when `reverse`). */
export const cumulative = (
  op: "sum" | "prod" | "max" | "min",
  x: View,
  axis: number,
  reverse: boolean,
  outDtype: DType
): Buffer => {
  const a = contiguous(x, "float64") as Float64Array
  const outer = sizeOf(x.shape.slice(0, axis))
  const inner = sizeOf(x.shape.slice(axis + 1))
  if (a.length > 0) scanKernel(op)(a, outer, x.shape[axis], inner, reverse)
  return fromFloat64(a, x.shape, outDtype)
}
