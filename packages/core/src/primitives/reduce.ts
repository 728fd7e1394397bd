/**
 * Reductions over a set of axes (the axes are removed; `keepDims` is a
 * reshape done by the public wrappers): sum, max, min, prod, and the index
 * reductions argmax/argmin.
 */
import * as cpu from "../backend/cpu/index.js"
import { ValueError } from "../Errors.js"
import { normalizeAxes, ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, type Primitive } from "../interpreter/primitive.js"
import { bind1 } from "../interpreter/trace.js"
import { add, convert, div, equal, logicalAnd, mul, select } from "./elementwise.js"
import { broadcastTo, pad, reshape, slice, transpose, zerosOf } from "./shape.js"

interface AxesParams {
  readonly axes: ReadonlyArray<number>
}

const reducedShape = (shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): Array<number> => shape.filter((_, i) => !axes.includes(i))

const keptShape = (shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): Array<number> => shape.map((d, i) => (axes.includes(i) ? 1 : d))

/** Whether `axes` (sorted) are the leading axes 0, 1, …: then broadcasting the reduced shape needs no reshape first. */
const leadingAxes = (axes: ReadonlyArray<number>): boolean => {
  for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return false
  return true
}

/** Broadcast a reduced result back over the reduced axes of `shape`. */
export const expandReduced = (y: NdArray, shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): NdArray =>
  broadcastTo(leadingAxes(axes) ? y : reshape(y, keptShape(shape, axes)), shape)

const shiftAxes = (axes: ReadonlyArray<number>, d: number): Array<number> => axes.map((a) => (a >= d ? a + 1 : a))

/** Where the batch dim `d` ends up once `axes` (per-example) are reduced away. */
const batchDimAfter = (axes: ReadonlyArray<number>, d: number): number => d - axes.filter((a) => a < d).length

const reduceAbstract =
  (op: string, nonEmpty: boolean) =>
  ([x]: ReadonlyArray<ShapedArray>, { axes }: AxesParams): Array<ShapedArray> => {
    normalizeAxes(op, axes, x.ndim)
    // max/min of bools are any/all, whose identities (False/True) make an empty reduction valid
    if (nonEmpty && x.dtype !== "bool" && axes.some((a) => x.shape[a] === 0)) {
      throw new ValueError({ op, hint: `zero-size reduction along an empty axis of shape [${x.shape.join(", ")}] has no identity` })
    }
    if (x.dtype === "bool" && op !== "reduce_max" && op !== "reduce_min") {
      throw new ValueError({ op, hint: "reduce a bool array after converting it to int32 or a float dtype" })
    }
    return [new ShapedArray(reducedShape(x.shape, axes), x.dtype)]
  }

const reduceBatch =
  (f: (x: NdArray, axes: ReadonlyArray<number>) => NdArray) =>
  ([x]: ReadonlyArray<NdArray>, [d]: ReadonlyArray<number | null>, { axes }: AxesParams): [Array<NdArray>, Array<number | null>] => [
    [f(x, shiftAxes(axes, d!))],
    [batchDimAfter(axes, d!)]
  ]

const showAxes = ({ axes }: AxesParams) => `axes=[${axes.join(",")}]`

// ---------------------------------------------------------------------------
/** `reduce_sum`. Reason: cannot be composed; linear. */
export const ReduceSum: Primitive<AxesParams> = definePrimitive({
  name: "reduce_sum",
  abstractEval: reduceAbstract("reduce_sum", false),
  impl: ([x], { axes }, [out]) => [ArrayValue.fromBuffer(cpu.reduce("sum", x, axes, out.dtype), out.dtype, out.shape)],
  jvp: ([x], [xDot], { axes }) => [[reduceSum(x, axes)], [reduceSum(xDot!, axes)]], // linear
  linear: true,
  transpose: ([ct], [x], { axes }) => [expandReduced(ct!, x.aval.shape, axes)], // adjoint: broadcast back
  batch: reduceBatch((x, axes) => reduceSum(x, axes)),
  showParams: showAxes
})

export const reduceSum = (x: NdArray, axes: ReadonlyArray<number>): NdArray => (axes.length === 0 ? x : bind1(ReduceSum, [x], { axes }))

// ---------------------------------------------------------------------------
/**
 * The JVP of max/min: the tangent at the extreme element. Ties share it
 * equally (the JAX convention): d max(x) = Σ dxᵢ·[xᵢ = max] / #{i : xᵢ = max}.
 */
const chooserJvp = (x: NdArray, y: NdArray, xDot: NdArray, axes: ReadonlyArray<number>): NdArray => {
  const mask = convert(equal(x, expandReduced(y, x.shape, axes)), xDot.dtype)
  return div(reduceSum(mul(xDot, mask), axes), reduceSum(mask, axes))
}

/** `reduce_max`. Reason: cannot be composed. NaN propagates. */
export const ReduceMax: Primitive<AxesParams> = definePrimitive({
  name: "reduce_max",
  abstractEval: reduceAbstract("reduce_max", true),
  impl: ([x], { axes }, [out]) => [ArrayValue.fromBuffer(cpu.reduce(x.dtype === "bool" ? "any" : "max", x, axes, out.dtype), out.dtype, out.shape)],
  jvp: ([x], [xDot], { axes }) => {
    const y = reduceMax(x, axes)
    return [[y], [chooserJvp(x, y, xDot!, axes)]] // tangent of the maximal element(s)
  },
  batch: reduceBatch((x, axes) => reduceMax(x, axes)),
  showParams: showAxes
})

export const reduceMax = (x: NdArray, axes: ReadonlyArray<number>): NdArray => (axes.length === 0 ? x : bind1(ReduceMax, [x], { axes }))

/** `reduce_min`. Reason: cannot be composed. NaN propagates. */
export const ReduceMin: Primitive<AxesParams> = definePrimitive({
  name: "reduce_min",
  abstractEval: reduceAbstract("reduce_min", true),
  impl: ([x], { axes }, [out]) => [ArrayValue.fromBuffer(cpu.reduce(x.dtype === "bool" ? "all" : "min", x, axes, out.dtype), out.dtype, out.shape)],
  jvp: ([x], [xDot], { axes }) => {
    const y = reduceMin(x, axes)
    return [[y], [chooserJvp(x, y, xDot!, axes)]] // tangent of the minimal element(s)
  },
  batch: reduceBatch((x, axes) => reduceMin(x, axes)),
  showParams: showAxes
})

export const reduceMin = (x: NdArray, axes: ReadonlyArray<number>): NdArray => (axes.length === 0 ? x : bind1(ReduceMin, [x], { axes }))

// ---------------------------------------------------------------------------
/**
 * `reduce_prod`. Reason: cannot be composed. Its JVP is Σ dxᵢ·Πⱼ≠ᵢ xⱼ,
 * computed as JAX does, by the product rule over a tree of pairwise
 * products (the reduced axes moved to the front and flattened, halved until
 * one row is left): no division, so zeros and a full product that
 * underflows while the products of the others do not both come out right.
 */
export const ReduceProd: Primitive<AxesParams> = definePrimitive({
  name: "reduce_prod",
  abstractEval: reduceAbstract("reduce_prod", false),
  impl: ([x], { axes }, [out]) => [ArrayValue.fromBuffer(cpu.reduce("prod", x, axes, out.dtype), out.dtype, out.shape)],
  jvp: ([x], [xDot], { axes }) => {
    const rest = x.shape.map((_, i) => i).filter((i) => !axes.includes(i))
    const restShape = rest.map((i) => x.shape[i])
    const n = axes.reduce((k, a) => k * x.shape[a], 1)
    const y = reduceProd(x, axes)
    if (n === 0) return [[y], [zerosOf(new ShapedArray(restShape, xDot!.dtype))]]
    const rows = (v: NdArray) => reshape(transpose(v, [...axes, ...rest]), [n, ...restShape])
    const zeros = restShape.map(() => 0)
    const half = (v: NdArray, from: number, to: number) => slice(v, { starts: [from, ...zeros], limits: [to, ...restShape], steps: [1, ...restShape.map(() => 1)] })
    let p = rows(x)
    let t = rows(xDot!)
    while (p.shape[0] > 1) {
      const m = p.shape[0]
      const h = Math.ceil(m / 2)
      const p1 = half(p, 0, h)
      const t1 = half(t, 0, h)
      let p2 = half(p, h, m)
      let t2 = half(t, h, m)
      if (m - h < h) {
        // an odd count: the second half gets a row of ones (tangent zeros)
        const edge = { low: [0, ...zeros], high: [1, ...zeros], interior: [0, ...zeros] }
        p2 = pad(p2, { ...edge, value: 1 })
        t2 = pad(t2, { ...edge, value: 0 })
      }
      t = add(mul(t1, p2), mul(p1, t2))
      p = mul(p1, p2)
    }
    return [[y], [reshape(t, restShape)]] // d Πx = Σ dxᵢ Πⱼ≠ᵢ xⱼ
  },
  batch: reduceBatch((x, axes) => reduceProd(x, axes)),
  showParams: showAxes
})

export const reduceProd = (x: NdArray, axes: ReadonlyArray<number>): NdArray => (axes.length === 0 ? x : bind1(ReduceProd, [x], { axes }))


// ---------------------------------------------------------------------------
interface AxisParams {
  readonly axis: number
  readonly op: "argmax" | "argmin"
}

/** `argmax`/`argmin` along one axis (first index on ties). Reason: cannot be composed. Integer output: no tangent. */
export const ArgReduce: Primitive<AxisParams> = definePrimitive({
  name: "arg_reduce",
  abstractEval: ([x], { axis, op }) => {
    if (x.shape[axis] === 0) throw new ValueError({ op, hint: `attempt to get ${op} of an empty axis ${axis} of shape [${x.shape.join(", ")}]` })
    return [new ShapedArray(reducedShape(x.shape, [axis]), "int32")]
  },
  impl: ([x], { axis, op }, [out]) => [ArrayValue.fromBuffer(cpu.argReduce(op, x, axis), "int32", out.shape)],
  jvp: ([x], _, p) => [[argReduce(x, p.axis, p.op)], [null]], // piecewise constant
  batch: ([x], [d], { axis, op }) => [[argReduce(x, axis >= d! ? axis + 1 : axis, op)], [axis < d! ? d! - 1 : d]],
  showParams: ({ axis, op }) => `${op} axis=${axis}`
})

export const argReduce = (x: NdArray, axis: number, op: "argmax" | "argmin"): NdArray => bind1(ArgReduce, [x], { axis, op })

