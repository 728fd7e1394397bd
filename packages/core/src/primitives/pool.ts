/**
 * Max pooling as three primitives, so that a pooling layer costs one pass
 * over its input forward and one backward (instead of building every
 * window's patch and reducing it):
 *
 * - `max_pool`: x [N, C, H, W] → the maximum of each window [N, C, OH, OW];
 * - `pool_select(x, t)`: linear in t — the tangent of each window's maximum
 *   (ties share it equally, like `reduce_max`), the JVP of `max_pool`;
 * - `pool_scatter(x, ct)`: linear in ct — its transpose, each window's
 *   cotangent added to the inputs holding the maximum.
 *
 * Reason: speed (pooling in a CNN step must not go through patches); it
 * cannot be composed from the other primitives without them. `pool_select`
 * and `pool_scatter` are each other's transpose.
 */
import * as cpu from "../backend/cpu/index.js"
import { DTypeError, ShapeError } from "../Errors.js"
import { isFloat, sameShape, ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, isUndef, type Primitive } from "../interpreter/primitive.js"
import { bind1 } from "../interpreter/trace.js"
import { batchToFront } from "./batching.js"
import { type PatchParams, patchesShape } from "./conv.js"
import { reshape } from "./shape.js"

const pooledShape = (op: string, x: ShapedArray, p: PatchParams): Array<number> => {
  if (x.ndim !== 4) throw new ShapeError({ op, shapes: [x.shape], hint: "expects an [N, C, H, W] array" })
  const [n, c, , , oh, ow] = patchesShape(op, x.shape, p)
  return [n, c, oh, ow]
}

/** Fold the batch dims of (batched) arguments into N, run `f`, unfold: the batching rule of all three. */
const foldBatch = (args: ReadonlyArray<NdArray>, dims: ReadonlyArray<number | null>, f: (...xs: Array<NdArray>) => NdArray): [Array<NdArray>, Array<number>] => {
  const front = batchToFront(args, dims)
  const [b, n] = front[0].shape
  const y = f(...front.map((a) => reshape(a, [b * n, ...a.shape.slice(2)])))
  return [[reshape(y, [b, n, ...y.shape.slice(1)])], [0]]
}

export const MaxPool: Primitive<PatchParams> = definePrimitive<PatchParams>({
  name: "max_pool",
  abstractEval: ([x], p) => [new ShapedArray(pooledShape("max_pool", x, p), x.dtype)],
  impl: ([x], p, [out]) => [ArrayValue.fromBuffer(cpu.maxPool(x, p, p.padValue, out.size), out.dtype, out.shape)],
  jvp: ([x], [t], p) => [[maxPool(x, p)], [t === null || !isFloat(x.dtype) ? null : poolSelect(x, t, p)]],
  batch: (args, dims, p) => foldBatch(args, dims, (x) => maxPool(x, p)),
  showParams: (p) => `k=${p.kh}x${p.kw} s=${p.strideH}x${p.strideW}`
})

const checkPair = (op: string, x: ShapedArray, t: ShapedArray) => {
  if (!sameShape(x.shape, t.shape) && op === "pool_select") throw new ShapeError({ op, shapes: [x.shape, t.shape], hint: "the tangent must have the input's shape" })
  if (!isFloat(t.dtype)) throw new DTypeError({ op, dtypes: [x.dtype, t.dtype], hint: "the tangent must be a float array" })
}

export const PoolSelect: Primitive<PatchParams> = definePrimitive<PatchParams>({
  name: "pool_select",
  abstractEval: ([x, t], p) => {
    checkPair("pool_select", x, t)
    return [new ShapedArray(pooledShape("pool_select", x, p), t.dtype)]
  },
  impl: ([x, t], p, [out]) => [ArrayValue.fromBuffer(cpu.poolSelect(x, t, p, p.padValue, out.size, out.dtype), out.dtype, out.shape)],
  // linear in t; piecewise constant in x
  jvp: ([x, t], [, tDot], p) => [[poolSelect(x, t, p)], [tDot === null ? null : poolSelect(x, tDot, p)]],
  linear: true,
  transpose: ([ct], [x], p) => [null, ct === null ? null : poolScatter(x as NdArray, ct, p)],
  batch: (args, dims, p) => foldBatch(args, dims, (x, t) => poolSelect(x, t, p)),
  showParams: (p) => `k=${p.kh}x${p.kw} s=${p.strideH}x${p.strideW}`
})

export const PoolScatter: Primitive<PatchParams> = definePrimitive<PatchParams>({
  name: "pool_scatter",
  abstractEval: ([x, ct], p) => {
    checkPair("pool_scatter", x, ct)
    const pooled = pooledShape("pool_scatter", x, p)
    if (!sameShape(pooled, ct.shape)) throw new ShapeError({ op: "pool_scatter", shapes: [x.shape, ct.shape], hint: `the cotangent must have the pooled shape [${pooled.join(", ")}]` })
    return [new ShapedArray(x.shape, ct.dtype)]
  },
  impl: ([x, ct], p, [out]) => [ArrayValue.fromBuffer(cpu.poolScatter(x, ct, p, p.padValue, out.dtype), out.dtype, out.shape)],
  jvp: ([x, ct], [, ctDot], p) => [[poolScatter(x, ct, p)], [ctDot === null ? null : poolScatter(x, ctDot, p)]],
  linear: true,
  transpose: ([ct], [x, c], p) => [null, ct === null || !isUndef(c) ? null : poolSelect(x as NdArray, ct, p)],
  batch: (args, dims, p) => foldBatch(args, dims, (x, ct) => poolScatter(x, ct, p)),
  showParams: (p) => `k=${p.kh}x${p.kw} s=${p.strideH}x${p.strideW}`
})

export const maxPool = (x: NdArray, p: PatchParams): NdArray => bind1(MaxPool, [x], p)
export const poolSelect = (x: NdArray, t: NdArray, p: PatchParams): NdArray => bind1(PoolSelect, [x, t], p)
export const poolScatter = (x: NdArray, ct: NdArray, p: PatchParams): NdArray => bind1(PoolScatter, [x, ct], p)
