/**
 * `matmul`: batched matrix product [...B, m, k] × [...B, k, n] → [...B, m, n]
 * with identical batch shapes (the wrapper broadcasts them, as views).
 * Reason: speed — the hot path of training, a cache-blocked kernel that reads
 * transposed operands without copying them.
 */
import * as cpu from "../backend/cpu/index.js"
import { ensureBackend } from "../backend/index.js"
import { DTypeError, ShapeError } from "../Errors.js"
import { broadcastShapes, sameShape, ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, isUndef, type Primitive } from "../interpreter/primitive.js"
import { batchToFront, moveAxis } from "./batching.js"
import { bind1 } from "../interpreter/trace.js"
import { addTangents } from "./elementwise.js"
import { broadcastTo, reshape, transpose } from "./shape.js"

type NoParams = Record<string, never>

/** Swap the last two axes (a view). */
export const swapLast = (x: NdArray): NdArray => {
  const perm = Array.from({ length: x.ndim }, (_, i) => i)
  perm[x.ndim - 2] = x.ndim - 1
  perm[x.ndim - 1] = x.ndim - 2
  return transpose(x, perm)
}

export const Matmul: Primitive<NoParams> = definePrimitive<NoParams>({
  name: "matmul",
  abstractEval: ([x, y]) => {
    if (x.ndim < 2 || x.ndim !== y.ndim || !sameShape(x.shape.slice(0, -2), y.shape.slice(0, -2)) || x.shape[x.ndim - 1] !== y.shape[y.ndim - 2]) {
      throw new ShapeError({
        op: "matmul",
        shapes: [x.shape, y.shape],
        hint: `the inner dimensions must agree (x's last dimension ${x.shape[x.ndim - 1]} vs y's second-to-last ${y.shape[y.ndim - 2]})`
      })
    }
    if (x.dtype !== y.dtype || x.dtype === "bool") throw new DTypeError({ op: "matmul", dtypes: [x.dtype, y.dtype], hint: "expects two numeric arrays of one dtype" })
    return [new ShapedArray([...x.shape.slice(0, -1), y.shape[y.ndim - 1]], x.dtype)]
  },
  impl: ([x, y], _, [out]) => {
    ensureBackend()
    return [ArrayValue.fromBuffer(cpu.matmul(x, y, out.dtype), out.dtype, out.shape)]
  },
  jvp: ([x, y], [xDot, yDot]) => [[matmul(x, y)], [addTangents(xDot && matmul(xDot, y), yDot && matmul(x, yDot))]], // d(xy) = dx·y + x·dy
  linear: true,
  transpose: ([ct], [x, y]) => {
    if (ct === null) return [null, null]
    // x̄ = ct·yᵀ, ȳ = xᵀ·ct
    return isUndef(x) ? [matmul(ct, swapLast(y as NdArray)), null] : [null, matmul(swapLast(x as NdArray), ct)]
  },
  batch: ([x, y], [dx, dy]) => {
    if (dy === null && y.ndim === 2) return [[matmul(moveAxis(x, dx!, 0), y)], [0]] // folds the batch into the rows
    const [xb, yb] = batchToFront([x, y], [dx, dy])
    return [[matmul(xb, yb)], [0]]
  }
})

/**
 * Matrix product of arrays with at least two dimensions: batch dims broadcast;
 * a 2-d right operand folds the left operand's batch dims into its rows
 * (one large product instead of many small ones).
 */
export const matmul = (x: NdArray, y: NdArray): NdArray => {
  if (x.ndim < 2 || y.ndim < 2) throw new ShapeError({ op: "matmul", shapes: [x.shape, y.shape], hint: "lax-level matmul needs arrays of rank ≥ 2" })
  if (y.ndim === 2 && x.ndim > 2) {
    const lead = x.shape.slice(0, -1)
    const k = x.shape[x.ndim - 1]
    if (k !== y.shape[0]) {
      throw new ShapeError({ op: "matmul", shapes: [x.shape, y.shape], hint: `the inner dimensions must agree (${k} vs ${y.shape[0]})` })
    }
    const rows = lead.reduce((a, b) => a * b, 1)
    return reshape(bind1(Matmul, [reshape(x, [rows, k]), y], {}), [...lead, y.shape[1]])
  }
  const batch = broadcastShapes("matmul", x.shape.slice(0, -2), y.shape.slice(0, -2))
  const xb = broadcastTo(x, [...batch, ...x.shape.slice(-2)])
  const yb = broadcastTo(y, [...batch, ...y.shape.slice(-2)])
  return bind1(Matmul, [xb, yb], {})
}
