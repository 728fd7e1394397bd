/**
 * `pureCallback`: call a JavaScript function on the values of arrays from
 * inside a traced program (JAX's `jax.pure_callback`). Under `jit` the call
 * is staged and made each time the program runs; under `vmap` it is made
 * once per example; outside any transform it is just a call. The function
 * must be pure (same values in, same values out) and its result is not
 * differentiable: a JVP with a non-zero tangent input is a `TransformError`
 * (wrap it in `customJvp` to give it a derivative).
 */
import { DTypeError, ShapeError, TransformError } from "../Errors.js"
import { type DType, ShapedArray } from "../interpreter/aval.js"
import * as cpu from "../backend/cpu/index.js"
import { type ArrayValue, type NdArray, toHeap } from "../interpreter/ndarray.js"
import { definePrimitive, type Primitive } from "../interpreter/primitive.js"
import { bind, isTracer } from "../interpreter/trace.js"
import { batchToFront } from "../primitives/batching.js"
import { concatenate, reshape, slice } from "../primitives/shape.js"

interface CallbackParams {
  readonly callback: (...args: Array<ArrayValue>) => NdArray
  readonly out: ShapedArray
}

const checkResult = (r: NdArray, out: ShapedArray): ArrayValue => {
  if (r.dtype !== out.dtype || r.ndim !== out.ndim || r.shape.some((d, i) => d !== out.shape[i])) {
    throw new ShapeError({ op: "pureCallback", shapes: [r.shape, out.shape], hint: `the callback returned ${r.dtype}[${r.shape.join(", ")}] but declared ${out.toString()}` })
  }
  return r as ArrayValue
}

export const PureCallback: Primitive<CallbackParams> = definePrimitive<CallbackParams>({
  name: "pure_callback",
  abstractEval: (_avals, p) => [p.out],
  // the callback is user code: it gets arrays on the JavaScript heap (a compiled program's intermediates may live in
  // the engine's memory only for the run) and allocates plainly (it may keep what it makes)
  impl: (args, p) => [checkResult(cpu.withoutBufferReuse(() => p.callback(...toHeap(args))), p.out)],
  jvp: (primals, tangents, p) => {
    if (tangents.some((t) => t !== null)) {
      throw new TransformError({ transform: "jvp", hint: "pureCallback is not differentiable (its function runs outside the tracer); give it a derivative with customJvp, or stopGradient its inputs" })
    }
    return [bind(PureCallback, primals, p), [null]]
  },
  batch: (args, dims, p) => {
    // one call per example, the results stacked along a new leading axis
    const front = batchToFront(args, dims)
    const n = front[0].shape[0]
    const rows = Array.from({ length: n }, (_, i) =>
      bind(
        PureCallback,
        front.map((a) => reshape(slice(a, { starts: a.shape.map((_, d) => (d === 0 ? i : 0)), limits: a.shape.map((s, d) => (d === 0 ? i + 1 : s)), steps: a.shape.map(() => 1) }), a.shape.slice(1))),
        p
      )[0]
    )
    return [[concatenate(rows.map((r) => reshape(r, [1, ...r.shape])), 0)], [0]]
  },
  showParams: (p) => p.out.toString()
})

/**
 * Call `callback` on the values of `args` (concrete `NdArray`s, even when
 * the caller is being traced), declaring the shape and dtype it returns.
 *
 * @example
 * // a learning rate computed in JavaScript from a traced step counter
 * const lr = pureCallback((t) => NdArray.scalar(schedule(t.item()), { dtype: "float64" }), { shape: [], dtype: "float64" }, count)
 * @category transforms
 * @since 0.1.0
 */
export const pureCallback = (
  callback: (...args: Array<NdArray>) => NdArray,
  result: { readonly shape: ReadonlyArray<number>; readonly dtype: DType },
  ...args: ReadonlyArray<NdArray>
): NdArray => {
  if (!["float32", "float64", "int32", "bool"].includes(result.dtype)) throw new DTypeError({ op: "pureCallback", dtypes: [String(result.dtype)], hint: "unknown result dtype" })
  const out = new ShapedArray(result.shape.slice(), result.dtype)
  if (!args.some((a) => isTracer(a))) return checkResult(callback(...args), out)
  return bind(PureCallback, args, { callback: callback as CallbackParams["callback"], out })[0]
}

/** Whether `x` is being traced by a transform (its values cannot be read). */
export const isTraced = (x: NdArray): boolean => isTracer(x)
