/**
 * `gather` (take along an axis with an int32 index array) and its adjoint
 * `scatter_add`. Reason: cannot be composed (data-dependent indexing).
 * Indices are checked against the axis size when the kernel runs; negative
 * indices count from the end, as in NumPy.
 */
import * as cpu from "../backend/cpu/index.js"
import { DTypeError, ValueError } from "../Errors.js"
import { ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, isUndef, type Primitive } from "../interpreter/primitive.js"
import { batchToFront, moveAxis } from "./batching.js"
import { bind1 } from "../interpreter/trace.js"
import { add, greaterEqual, less, logicalAnd, select } from "./elementwise.js"
import { reshape, transpose } from "./shape.js"

interface GatherParams {
  readonly axis: number
  /** set when the axis is a vmap batch flattened with the user's axis of this size (for the error message) */
  readonly exampleSize?: number
}

/** Marks an index that was out of range in its own example once a vmap batch is flattened into the indexed axis. */
const OUT_OF_RANGE = -2147483648

const checkedIndices = (op: string, idx: ArrayValue, size: number, exampleSize: number | undefined): Int32Array => {
  const flat = cpu.contiguous(idx, "int32") as Int32Array
  let out: Int32Array | null = null
  for (let i = 0; i < flat.length; i++) {
    let v = flat[i]
    if (v < -size || v >= size) {
      throw new ValueError({
        op,
        hint: exampleSize === undefined ? `index ${v} is out of bounds for an axis of size ${size}` : `an index is out of bounds for an axis of size ${exampleSize} (in an example of a vmap batch)`
      })
    }
    if (v < 0) {
      out ??= flat.slice()
      v += size
      out[i] = v
    }
  }
  return out ?? flat
}

const checkIndexDType = (op: string, dtype: string) => {
  if (dtype !== "int32") throw new DTypeError({ op, dtypes: [dtype], hint: "indices must be an int32 array" })
}

/** An iota along the batch axis, shaped to broadcast against `[B, ...rest]`. */
const batchOffsets = (size: number, ndim: number, scale: number): NdArray => {
  const b = new Int32Array(size)
  for (let i = 0; i < size; i++) b[i] = i * scale
  return ArrayValue.fromBuffer(b, "int32", [size, ...new Array(ndim - 1).fill(1)])
}

/**
 * Batched indices `[B, ...I]` into an axis of size `n` as indices into the
 * flattened `[B·n]` axis. Negative indices count from the end of their own
 * example's axis, so they are made non-negative before the offset is added;
 * an index out of its example's range becomes OUT_OF_RANGE (never a valid
 * index into another example), which the kernel reports.
 */
const flatBatchIndices = (idx: NdArray, n: number): NdArray => {
  const inRange = logicalAnd(greaterEqual(idx, -n), less(idx, n))
  return select(inRange, add(select(less(idx, 0), add(idx, n), idx), batchOffsets(idx.shape[0], idx.ndim, n)), OUT_OF_RANGE)
}

export const Gather: Primitive<GatherParams> = definePrimitive({
  name: "gather",
  abstractEval: ([x, idx], { axis }) => {
    checkIndexDType("take", idx.dtype)
    return [new ShapedArray([...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], x.dtype)]
  },
  impl: ([x, idx], { axis, exampleSize }, [out]) => [
    ArrayValue.fromBuffer(cpu.gather(x, checkedIndices("take", idx, x.shape[axis], exampleSize), idx.shape, axis), out.dtype, out.shape)
  ],
  jvp: ([x, idx], [xDot], p) => [[gather(x, idx, p.axis)], [xDot && gather(xDot, idx, p.axis)]], // linear in x
  linear: true,
  transpose: ([ct], [x, idx], { axis, exampleSize }) => [isUndef(x) && ct ? scatterAdd(ct, idx as NdArray, axis, x.aval.shape[axis], exampleSize) : null, null], // adjoint: scatter-add
  batch: ([x, idx], [dx, di], { axis, exampleSize }) => {
    if (di === null) return [[gather(moveAxis(x, dx!, 0), idx, axis + 1, exampleSize)], [0]]
    // batched indices: flatten (batch, axis) into one axis and offset each example's indices
    const [xb, ib] = batchToFront([x, idx], [dx, di])
    const size = xb.shape[0]
    const n = xb.shape[axis + 1]
    const pre = xb.shape.slice(1, axis + 1)
    const post = xb.shape.slice(axis + 2)
    const xFlat = reshape(transpose(xb, [0, axis + 1, ...pre.map((_, i) => i + 1), ...post.map((_, i) => i + axis + 2)]), [size * n, ...pre, ...post])
    const g = gather(xFlat, flatBatchIndices(ib, n), 0, exampleSize ?? n) // [B, ...I, ...pre, ...post]
    const iRank = ib.ndim - 1
    const perm = [0, ...pre.map((_, i) => 1 + iRank + i), ...Array.from({ length: iRank }, (_, i) => 1 + i), ...post.map((_, i) => 1 + iRank + pre.length + i)]
    return [[transpose(g, perm)], [0]]
  },
  showParams: ({ axis }) => `axis=${axis}`
})

export const gather = (x: NdArray, idx: NdArray, axis: number, exampleSize?: number): NdArray =>
  bind1(Gather, [x, idx], exampleSize === undefined ? { axis } : { axis, exampleSize })

interface ScatterParams {
  readonly axis: number
  readonly axisSize: number
  /** as in gather */
  readonly exampleSize?: number
}

export const ScatterAdd: Primitive<ScatterParams> = definePrimitive({
  name: "scatter_add",
  abstractEval: ([u, idx], { axis, axisSize }) => {
    checkIndexDType("scatterAdd", idx.dtype)
    return [new ShapedArray([...u.shape.slice(0, axis), axisSize, ...u.shape.slice(axis + idx.ndim)], u.dtype)]
  },
  impl: ([u, idx], { axis, axisSize, exampleSize }, [out]) => [
    ArrayValue.fromBuffer(cpu.scatterAdd(u, checkedIndices("scatterAdd", idx, axisSize, exampleSize), idx.shape, axis, axisSize, out.dtype), out.dtype, out.shape)
  ],
  jvp: ([u, idx], [uDot], p) => [[scatterAdd(u, idx, p.axis, p.axisSize, p.exampleSize)], [uDot && scatterAdd(uDot, idx, p.axis, p.axisSize, p.exampleSize)]], // linear in u
  linear: true,
  transpose: ([ct], [u, idx], { axis, exampleSize }) => [isUndef(u) && ct ? gather(ct, idx as NdArray, axis, exampleSize) : null, null], // adjoint: gather
  batch: ([u, idx], [du, di], { axis, axisSize, exampleSize }) => {
    if (di === null) return [[scatterAdd(moveAxis(u, du!, 0), idx, axis + 1, axisSize, exampleSize)], [0]]
    const [ub, ib] = batchToFront([u, idx], [du, di])
    const size = ub.shape[0]
    const iRank = ib.ndim - 1
    const pre = ub.shape.slice(1, axis + 1)
    const post = ub.shape.slice(axis + 1 + iRank)
    // [B, ...pre, ...I, ...post] → [B, ...I, ...pre, ...post]
    const perm = [0, ...Array.from({ length: iRank }, (_, i) => 1 + pre.length + i), ...pre.map((_, i) => 1 + i), ...post.map((_, i) => 1 + pre.length + iRank + i)]
    const s = scatterAdd(transpose(ub, perm), flatBatchIndices(ib, axisSize), 0, size * axisSize, exampleSize ?? axisSize) // [B·N, ...pre, ...post]
    const back = reshape(s, [size, axisSize, ...pre, ...post])
    return [[transpose(back, [0, ...pre.map((_, i) => 2 + i), 1, ...post.map((_, i) => 2 + pre.length + i)])], [0]]
  },
  showParams: ({ axis, axisSize }) => `axis=${axis} size=${axisSize}`
})

export const scatterAdd = (u: NdArray, idx: NdArray, axis: number, axisSize: number, exampleSize?: number): NdArray =>
  bind1(ScatterAdd, [u, idx], exampleSize === undefined ? { axis, axisSize } : { axis, axisSize, exampleSize })

