/** Gather along one axis and its adjoint, scatter-add. */
import { contiguous } from "./elementwise"
import { allocate, isContiguous, sizeOf } from "./types"
import type { Buffer, DType, View } from "./types"

/** Copies `count` elements from `src[s..]` to `dst[d..]` (same element type). */
const copyChunk = (dst: Buffer, d: number, src: Buffer, s: number, count: number): void => {
  if (count >= 64) {
    dst.set(src.subarray(s, s + count), d)
  } else {
    for (let t = 0; t < count; t++) dst[d + t] = src[s + t]
  }
}

/**
 * `x` indexed by `indices` along `axis`. Output shape:
 * `x.shape[:axis] ++ indicesShape ++ x.shape[axis+1:]`. Indices must be in
 * range and non-negative.
 */
export const gather = (
  x: View,
  indices: Int32Array,
  indicesShape: ReadonlyArray<number>,
  axis: number
): Buffer => {
  const outer = sizeOf(x.shape.slice(0, axis))
  const len = x.shape[axis]
  const inner = sizeOf(x.shape.slice(axis + 1))
  const count = sizeOf(indicesShape)
  const out = allocate(x.dtype, outer * count * inner)
  if (out.length === 0) return out
  const contig = isContiguous(x)
  const src = contig ? x.buffer : contiguous(x)
  const base = contig ? x.offset : 0
  let d = 0
  for (let o = 0; o < outer; o++) {
    const row = base + o * len * inner
    for (let j = 0; j < count; j++, d += inner) copyChunk(out, d, src, row + indices[j] * inner, inner)
  }
  return out
}

/**
 * The adjoint of `gather`: `updates` has shape
 * `pre ++ indicesShape ++ post` (with `pre` the first `axis` dims); the
 * output has shape `pre ++ [axisSize] ++ post`, and each update is added at
 * its index (duplicates accumulate).
 */
export const scatterAdd = (
  updates: View,
  indices: Int32Array,
  indicesShape: ReadonlyArray<number>,
  axis: number,
  axisSize: number,
  outDtype: DType
): Buffer => {
  const outer = sizeOf(updates.shape.slice(0, axis))
  const inner = sizeOf(updates.shape.slice(axis + indicesShape.length))
  const count = sizeOf(indicesShape)
  // Accumulate in the output type (float64 for bool, then cast), reading contiguous updates.
  const accDtype: DType = outDtype === "bool" ? "float64" : outDtype
  const out = allocate(accDtype, outer * axisSize * inner)
  if (out.length === 0 || count * inner === 0) return outDtype === "bool" ? allocate("bool", out.length) : out
  const direct = updates.dtype === accDtype && isContiguous(updates)
  const u = direct ? updates.buffer : contiguous(updates, accDtype)
  let s = direct ? updates.offset : 0
  for (let o = 0; o < outer; o++) {
    const row = o * axisSize * inner
    for (let j = 0; j < count; j++) {
      const d = row + indices[j] * inner
      for (let t = 0; t < inner; t++) out[d + t] += u[s + t]
      s += inner
    }
  }
  if (outDtype !== "bool") return out
  const result = allocate("bool", out.length)
  for (let i = 0; i < out.length; i++) result[i] = out[i] !== 0 ? 1 : 0
  return result
}
