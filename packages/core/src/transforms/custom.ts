/**
 * User-defined derivative rules.
 *
 * `customJvp(f, rule)` calls `f` normally; under forward or reverse mode
 * the tangent comes from `rule` instead of from differentiating `f`'s
 * operations (for stability or speed: `log1p(exp(x))`, a clipped gradient).
 * Under `vmap` both `f` and the rule are batched, so the rule survives
 * `vmap` at any nesting.
 *
 * `customVjp(f, fwd, bwd)` calls `f` normally; under reverse mode `fwd`
 * computes the output and residuals and `bwd(residuals, ct)` the input
 * cotangents. As in JAX, forward-mode (`jvp`) of such a function is an
 * error. The backward rule enters reverse mode as a linear primitive,
 * `custom_lin`, whose transpose is `bwd`. Under `vmap` f, fwd and bwd are
 * batched, so `grad(vmap(f))` uses the rule as `vmap(grad(f))` does.
 *
 * These dispatch on the kind of the highest-level trace among the arguments;
 * the primitives themselves never do.
 */
import { TransformError } from "../Errors.js"
import { ShapedArray } from "../interpreter/aval.js"
import { isNdArray, type NdArray } from "../interpreter/ndarray.js"
import { type BatchDim, definePrimitive, type Primitive, type Tangent } from "../interpreter/primitive.js"
import { bind, isTracer, type Tracer } from "../interpreter/trace.js"
import { reduceSum } from "../primitives/reduce.js"
import { zerosOf } from "../primitives/shape.js"
import * as Tree from "../Tree.js"
import { flattenArrays } from "./args.js"
import { JVPTrace, JVPTracer } from "./jvp.js"
import { BatchTrace, BatchTracer, vmapFlat } from "./vmap.js"

type Flat = (...xs: Array<NdArray>) => Array<NdArray>

const topTracer = (xs: ReadonlyArray<NdArray>): Tracer | null => {
  let top: Tracer | null = null
  for (const x of xs) if (isTracer(x) && (top === null || x.trace.main.level > top.trace.main.level)) top = x
  return top
}

/** Values of `level`'s tracers, other values as they are (they are constants at that level). */
const atLevel = <T extends Tracer>(xs: ReadonlyArray<NdArray>, main: T["trace"]["main"], pick: (t: T) => NdArray, other: (x: NdArray) => NdArray): Array<NdArray> =>
  xs.map((x) => (isTracer(x) && x.trace.main === main ? pick(x as T) : other(x)))

/** Every output at batch dim 0. */
const atZero = (n: number): Array<BatchDim> => new Array<BatchDim>(n).fill(0)

/** vmap of a function returning two lists of arrays (a rule's outputs and tangents, or fwd's outputs and residuals), every one at batch dim 0. */
const vmapPair = (
  g: (...xs: Array<NdArray>) => readonly [ReadonlyArray<NdArray>, ReadonlyArray<NdArray>],
  size: number,
  dims: ReadonlyArray<BatchDim>,
  args: ReadonlyArray<NdArray>
): [Array<NdArray>, Array<NdArray>] => {
  let count = 0
  const both = vmapFlat(
    (...xs) => {
      const [a, b] = g(...xs)
      count = a.length
      return [...a, ...b]
    },
    size,
    dims,
    args,
    atZero
  )
  return [both.slice(0, count), both.slice(count)]
}

const callCustomJvp = (fun: Flat, rule: (primals: Array<NdArray>, tangents: Array<NdArray>) => [Array<NdArray>, Array<NdArray>], xs: ReadonlyArray<NdArray>): Array<NdArray> => {
  const top = topTracer(xs)
  if (top === null) return fun(...xs)
  const main = top.trace.main
  if (top instanceof JVPTracer) {
    const trace = new JVPTrace(main)
    const primals = atLevel<JVPTracer>(xs, main, (t) => t.primal, (x) => x)
    const tangents = xs.map((x, i) => (x instanceof JVPTracer && x.trace.main === main && x.tangent !== null ? x.tangent : zerosOf(primals[i].aval)))
    // The primal output goes through the custom call one level down, so enclosing
    // transforms keep using the rule; the tangent comes from the rule.
    const outs = callCustomJvp(fun, rule, primals)
    const live = xs.some((x) => x instanceof JVPTracer && x.trace.main === main && x.tangent !== null)
    const outTangents = live ? rule(primals, tangents)[1] : outs.map(() => null)
    return outs.map((p, i) => new JVPTracer(trace, p, outTangents[i]))
  }
  if (top instanceof BatchTracer) {
    const vals = atLevel<BatchTracer>(xs, main, (t) => t.val, (x) => x)
    const dims = xs.map((x) => (x instanceof BatchTracer && x.trace.main === main ? x.bdim : null))
    const size = (main.globalData as number)
    const trace = new BatchTrace(main)
    const batchedFun: Flat = (...vs) => vmapFlat(fun, size, dims, vs, atZero)
    const batchedRule = (ps: Array<NdArray>, ts: Array<NdArray>): [Array<NdArray>, Array<NdArray>] =>
      vmapPair((...args) => rule(args.slice(0, ps.length), args.slice(ps.length)), size, [...dims, ...dims], [...ps, ...ts])
    return callCustomJvp(batchedFun, batchedRule, vals).map((v) => new BatchTracer(trace, v, 0))
  }
  return fun(...xs) // other interpreters (staging): the function's own operations
}

/**
 * Give `f` a custom JVP rule: `rule(primals, tangents) → [outputs, outputTangents]`
 * (both arrays of arrays, in argument/output order). `f` takes and returns arrays
 * (a single array or a tuple of them).
 *
 * @example
 * const softplus = customJvp(
 *   (x: NdArray) => NdArray.log1p(NdArray.exp(x)),
 *   ([x], [t]) => [[NdArray.log1p(NdArray.exp(x))], [NdArray.mul(t, NdArray.sigmoid(x))]]
 * )
 * @category transforms
 * @since 0.1.0
 */
export const customJvp = <Args extends Array<NdArray>, R extends NdArray | ReadonlyArray<NdArray>>(
  f: (...args: Args) => R,
  rule: (primals: Args, tangents: Args) => [ReadonlyArray<NdArray>, ReadonlyArray<NdArray>]
): ((...args: Args) => R) => {
  let single = false
  const fun: Flat = (...xs) => {
    const out = f(...(xs as Args))
    single = !Array.isArray(out)
    return flattenArrays(out)[0]
  }
  const r = (p: Array<NdArray>, t: Array<NdArray>): [Array<NdArray>, Array<NdArray>] => {
    const [o, ot] = rule(p as Args, t as Args)
    return [flattenArrays(o)[0], flattenArrays(ot)[0]]
  }
  return (...args: Args): R => {
    const outs = callCustomJvp(fun, r, flattenArrays(args)[0])
    return (single ? outs[0] : outs) as R
  }
}

// ---------------------------------------------------------------------------

interface CustomLinParams {
  readonly bwd: (cts: Array<NdArray>) => Array<NdArray>
  readonly outAvals: ReadonlyArray<ShapedArray>
  readonly inAvals: ReadonlyArray<ShapedArray>
}

/** The tangent map of a `customVjp` function: known only through its transpose, `bwd`. */
export const CustomLin: Primitive<CustomLinParams> = definePrimitive({
  name: "custom_lin",
  abstractEval: (_, { outAvals }) => outAvals.slice(),
  impl: () => {
    throw new TransformError({ transform: "jvp", hint: "forward-mode differentiation (jvp, jacfwd) of a customVjp function is not supported; use reverse mode (grad, vjp, jacrev)" })
  },
  jvp: () => {
    throw new TransformError({ transform: "jvp", hint: "forward-mode differentiation of a customVjp function is not supported" })
  },
  linear: true,
  transpose: (cts, _args, { bwd, outAvals }) => bwd(cts.map((c, i) => c ?? zerosOf(outAvals[i]))),
  batch: () => {
    throw new TransformError({ transform: "vmap", hint: "vmap of the forward tangent map of a customVjp function is not supported" })
  }
})

/**
 * Give `f` a custom reverse-mode rule: `fwd(...args) → [output, residuals]` and
 * `bwd(residuals, outputCotangent) → inputCotangents` (one per argument).
 *
 * @example
 * const clipGradient = customVjp(
 *   (x: NdArray) => x,
 *   (x) => [x, null],
 *   (_, ct) => [NdArray.clip(ct, -1, 1)]
 * )
 * @category transforms
 * @since 0.1.0
 */
export const customVjp = <Args extends Array<NdArray>, R extends NdArray | ReadonlyArray<NdArray>, Res>(
  f: (...args: Args) => R,
  fwd: (...args: Args) => readonly [R, Res],
  bwd: (residuals: Res, ct: R) => ReadonlyArray<NdArray | null>
): ((...args: Args) => R) => {
  return (...args: Args): R => {
    // flat views of f, fwd and bwd for this call (the output and residual structures are recorded by the calls)
    let outDef: Tree.TreeDef | undefined
    let rebuild: (arrays: ReadonlyArray<NdArray>) => unknown = () => undefined
    const fun: Flat = (...xs) => {
      const [outs, def] = flattenArrays(f(...(xs as Args)))
      outDef = def
      return outs
    }
    const fwdFlat: FwdFlat = (...xs) => {
      const [out, residuals] = fwd(...(xs as Args))
      const [outs, def] = flattenArrays(out)
      outDef = def
      const [arrays, back] = splitResiduals(residuals)
      rebuild = back
      return [outs, arrays]
    }
    const bwdFlat: BwdFlat = (residuals, cts) => bwd(rebuild(residuals) as Res, Tree.unflatten<R>(outDef!, cts)).map((g) => g ?? null)
    const outs = callCustomVjp(fun, fwdFlat, bwdFlat, args)
    return Tree.unflatten<R>(outDef!, outs)
  }
}

type FwdFlat = (...xs: Array<NdArray>) => [Array<NdArray>, Array<NdArray>]
type BwdFlat = (residuals: Array<NdArray>, cts: Array<NdArray>) => Array<NdArray | null>

/** A residual tree's arrays (what vmap can batch), and the way back to the tree (numbers and other leaves kept). */
const splitResiduals = (residuals: unknown): [Array<NdArray>, (arrays: ReadonlyArray<NdArray>) => unknown] => {
  const [leaves, def] = Tree.flatten(residuals)
  const at = leaves.flatMap((l, i) => (isNdArray(l) ? [i] : []))
  return [
    at.map((i) => leaves[i] as NdArray),
    (arrays) => {
      const ls = leaves.slice()
      at.forEach((i, k) => (ls[i] = arrays[k]))
      return Tree.unflatten(def, ls)
    }
  ]
}

/**
 * A customVjp call on flat arrays. Under reverse mode (a JVP trace on top),
 * `fwd` gives the outputs and residuals and the tangent map is `custom_lin`
 * with `bwd` as its transpose. Under `vmap` on top, f, fwd and bwd are all
 * batched (as JAX does), so the rule survives `grad(vmap(f))` too; a
 * cotangent for an input that is not batched is summed over the batch.
 */
const callCustomVjp = (fun: Flat, fwd: FwdFlat, bwd: BwdFlat, xs: ReadonlyArray<NdArray>): Array<NdArray> => {
  const top = topTracer(xs)
  if (top instanceof JVPTracer) {
    const main = top.trace.main
    const trace = new JVPTrace(main)
    const primals = atLevel<JVPTracer>(xs, main, (t) => t.primal, (x) => x)
    const tangents = xs.map((x) => (x instanceof JVPTracer && x.trace.main === main ? x.tangent : null))
    const [outs, residuals] = fwd(...primals)
    const live = tangents.flatMap((t, i) => (t === null ? [] : [i]))
    if (live.length === 0) return outs.map((o) => new JVPTracer(trace, o, null))
    const params: CustomLinParams = {
      outAvals: outs.map((o) => o.aval),
      inAvals: live.map((i) => primals[i].aval),
      bwd: (cts) => {
        const grads = bwd(residuals, cts)
        return live.map((i) => grads[i] as NdArray)
      }
    }
    const outTangents: Array<Tangent> = bind(CustomLin, live.map((i) => tangents[i]!), params)
    return outs.map((o, i) => new JVPTracer(trace, o, outTangents[i]))
  }
  if (top instanceof BatchTracer) {
    const main = top.trace.main
    const vals = atLevel<BatchTracer>(xs, main, (t) => t.val, (x) => x)
    const dims = xs.map((x) => (x instanceof BatchTracer && x.trace.main === main ? x.bdim : null))
    const size = main.globalData as number
    const trace = new BatchTrace(main)
    // one example's shape of each input (for the zero cotangents of a bwd that returns null)
    const exampleAvals = vals.map((v, i) => {
      const d = dims[i]
      return d === null ? v.aval : new ShapedArray(v.shape.filter((_, j) => j !== d), v.dtype)
    })
    const batchedFun: Flat = (...vs) => vmapFlat(fun, size, dims, vs, atZero)
    const batchedFwd: FwdFlat = (...vs) => vmapPair(fwd, size, dims, vs)
    const batchedBwd: BwdFlat = (residuals, cts) => {
      const grads = vmapFlat(
        (...a) => bwd(a.slice(0, residuals.length), a.slice(residuals.length)).map((g, i) => g ?? zerosOf(exampleAvals[i])),
        size,
        [...residuals.map(() => 0), ...cts.map(() => 0)],
        [...residuals, ...cts],
        () => dims.map((d) => d ?? 0)
      )
      return grads.map((g, i) => (dims[i] === null ? reduceSum(g, [0]) : g))
    }
    return callCustomVjp(batchedFun, batchedFwd, batchedBwd, vals).map((v) => new BatchTracer(trace, v, 0))
  }
  return fun(...xs) // eval, staging: the plain function
}
