/**
 * Batching rule shapes shared by many primitives. They are function
 * declarations (hoisted) because primitive modules reference them while the
 * modules that import each other are still being initialised.
 */
import { ShapeError } from "../Errors.js"
import type { NdArray } from "../interpreter/ndarray.js"
import type { BatchDim, Primitive } from "../interpreter/primitive.js"
import { bind } from "../interpreter/trace.js"
import { broadcastTo, transpose } from "./shape.js"

/** Move the batch dimension of `x` from `from` to `to` (a view, no copy). */
export function moveAxis(x: NdArray, from: number, to: number): NdArray {
  if (from === to) return x
  const perm = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== from)
  perm.splice(to, 0, from)
  return transpose(x, perm)
}

/** Bring every batched argument's batch dim to the front; broadcast unbatched ones (a view). */
export function batchToFront(args: ReadonlyArray<NdArray>, dims: ReadonlyArray<BatchDim>): Array<NdArray> {
  let size = -1
  args.forEach((a, i) => {
    const d = dims[i]
    if (d !== null) {
      if (size >= 0 && a.shape[d] !== size) {
        throw new ShapeError({ op: "vmap", shapes: args.map((x) => x.shape), hint: `batch sizes disagree: ${size} and ${a.shape[d]}` })
      }
      size = a.shape[d]
    }
  })
  return args.map((a, i) => {
    const d = dims[i]
    return d === null ? broadcastTo(a, [size, ...a.shape]) : moveAxis(a, d, 0)
  })
}

/** Unary elementwise primitives: apply to the batched array as it is. */
export function elementwiseBatch<P>(args: ReadonlyArray<NdArray>, dims: ReadonlyArray<BatchDim>, params: P, prim: Primitive<P>): [Array<NdArray>, Array<BatchDim>] {
  return [bind(prim, args, params), [dims[0]]]
}

/** N-ary primitives on equal shapes: line the batch dims up (at the front, unless they already agree). */
export function broadcastingBatch<P>(args: ReadonlyArray<NdArray>, dims: ReadonlyArray<BatchDim>, params: P, prim: Primitive<P>): [Array<NdArray>, Array<BatchDim>] {
  const d0 = dims[0]
  if (d0 !== null && dims.every((d) => d === d0)) return [bind(prim, args, params), [d0]]
  const moved = batchToFront(args, dims)
  return [bind(prim, moved, params), [0]]
}

