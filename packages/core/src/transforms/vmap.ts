/**
 * Batching. A `BatchTracer` is a per-example value whose underlying array has
 * one extra axis, `bdim` (or none: `null`, the same for every example).
 * Applying a primitive to batch tracers applies its `batch` rule, which
 * rewrites the per-example operation as one operation on the whole batch.
 */
import { TransformError } from "../Errors.js"
import { ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { type BatchDim, type Primitive } from "../interpreter/primitive.js"
import { moveAxis } from "../primitives/batching.js"
import { bind, fullLower, fullRaise, type MainTrace, Trace, Tracer, withMain } from "../interpreter/trace.js"
import { broadcastTo, reshape } from "../primitives/shape.js"

export class BatchTracer extends Tracer {
  readonly aval: ShapedArray
  constructor(
    readonly trace: BatchTrace,
    readonly val: NdArray,
    readonly bdim: BatchDim
  ) {
    super()
    this.aval = bdim === null ? val.aval : new ShapedArray(val.shape.filter((_, i) => i !== bdim), val.dtype)
  }
  override fullLower(): NdArray {
    return this.bdim === null ? fullLower(this.val) : this
  }
}

export class BatchTrace extends Trace {
  pure(x: NdArray): Tracer {
    return new BatchTracer(this, x, null)
  }
  processPrimitive(prim: Primitive<any>, tracers: ReadonlyArray<Tracer>, params: any): Array<NdArray> {
    const ts = tracers as ReadonlyArray<BatchTracer>
    const vals = ts.map((t) => t.val)
    const dims = ts.map((t) => t.bdim)
    if (dims.every((d) => d === null)) return bind(prim, vals, params).map((v) => new BatchTracer(this, v, null))
    const [outs, outDims] = prim.batch(vals, dims, params, prim)
    return outs.map((v, i) => new BatchTracer(this, v, outDims[i]))
  }
}

/** Put the batch axis of `x` (at `from`, or absent) at `to`, or check it is absent when `to` is null. */
export const moveBatchAxis = (axisSize: number, from: BatchDim, to: BatchDim, x: NdArray): NdArray => {
  if (to === null) {
    if (from !== null) {
      throw new TransformError({ transform: "vmap", hint: "an output with outAxes null must not depend on the batched inputs" })
    }
    return x
  }
  if (from === null) {
    const shape = [...x.shape.slice(0, to), axisSize, ...x.shape.slice(to)]
    return broadcastTo(reshape(x, [...x.shape.slice(0, to), 1, ...x.shape.slice(to)]), shape)
  }
  return moveAxis(x, from, to)
}

/** Map `f` over axis `inDims[i]` of each argument (null: not mapped); outputs get their batch axis at `outDims[i]`. */
export const vmapFlat = (
  f: (...xs: Array<NdArray>) => ReadonlyArray<NdArray>,
  axisSize: number,
  inDims: ReadonlyArray<BatchDim>,
  args: ReadonlyArray<NdArray>,
  outDims: (count: number) => ReadonlyArray<BatchDim>
): Array<NdArray> =>
  withMain("vmap", BatchTrace, axisSize, (main: MainTrace) => {
    const trace = new BatchTrace(main)
    const ins = args.map((a, i) => (inDims[i] === null ? a : new BatchTracer(trace, a, inDims[i])))
    const outs = f(...ins).map((o) => fullRaise(trace, o) as BatchTracer)
    const dims = outDims(outs.length)
    return outs.map((o, i) => {
      const d = dims[i]
      const to = d !== null && d < 0 ? d + o.aval.ndim + 1 : d
      if (to !== null && (to < 0 || to > o.aval.ndim)) {
        throw new TransformError({ transform: "vmap", hint: `outAxes ${d} is out of range for an output of rank ${o.aval.ndim}` })
      }
      return moveBatchAxis(axisSize, o.bdim, to, o.val)
    })
  })
