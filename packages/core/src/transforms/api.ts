/**
 * The public transforms over pytrees: `jvp`, `linearize`, `vjp`, `grad`,
 * `valueAndGrad`, `vmap`, `jacfwd`, `jacrev`, `hessian`, `makeJaxpr`. Each
 * flattens its arguments into arrays, runs the flat interpreter and rebuilds
 * the caller's structures.
 */
import { AxisError, TransformError } from "../Errors.js"
import { evalJaxpr, type Jaxpr, printJaxpr } from "../interpreter/jaxpr.js"
import { ArrayValue, isNdArray, type NdArray } from "../interpreter/ndarray.js"
import type { Tangent } from "../interpreter/primitive.js"
import { convert } from "../primitives/elementwise.js"
import { reshape, transpose as transposeView, zerosOf } from "../primitives/shape.js"
import * as Tree from "../Tree.js"
import { optionsObject } from "../interpreter/aval.js"
import { checkFloat, checkMatching, flattenArrays, leafToArray, normalizeArgnums } from "./args.js"
import { jvpFlat } from "./jvp.js"
import { linearizeFlat } from "./linearize.js"
import { partialEvalFlat } from "./partialEval.js"
import { backwardPass } from "./transpose.js"
import { vmapFlat } from "./vmap.js"

type AnyFunction = (...args: Array<any>) => any

/** Run `f` on flat arrays: unflatten into the argument structure, flatten the result. */
const flatFunction = (f: AnyFunction, inDef: Tree.TreeDef, outDefBox: { def?: Tree.TreeDef }) => (...xs: Array<NdArray>): Array<NdArray> => {
  const args = Tree.unflatten<Array<unknown>>(inDef, xs)
  const [outs, outDef] = flattenArrays(f(...args))
  outDefBox.def = outDef
  return outs
}

const zeroIfNull = (t: Tangent, like: NdArray): NdArray => t ?? zerosOf(like.aval)

// ---------------------------------------------------------------------------
/**
 * Forward-mode Jacobian-vector product: `[f(...primals), J·tangents]`.
 *
 * @example
 * const [y, dy] = jvp((x: NdArray) => NdArray.sin(x), [NdArray.array([0, 1])], [NdArray.array([1, 1])])
 * // dy = cos(x)
 * @category transforms
 * @since 0.1.0
 */
export const jvp = <Args extends ReadonlyArray<unknown>, R>(
  f: (...args: Args) => R,
  primals: Args,
  tangents: { readonly [K in keyof Args]: unknown }
): [R, Tree.Grads<R>] => {
  const [xs, inDef] = flattenArrays(primals)
  const ts = checkMatching("jvp", "tangent", xs, inDef, tangents).map((t, i) => (t.dtype === xs[i].dtype ? t : convert(t, xs[i].dtype)))
  const box: { def?: Tree.TreeDef } = {}
  const [outs, outTangents] = jvpFlat(flatFunction(f, inDef, box), xs, ts)
  return [Tree.unflatten(box.def!, outs), Tree.unflatten(box.def!, outTangents.map((t, i) => zeroIfNull(t, outs[i])))]
}

/**
 * Linearize `f` at `primals`: `[f(...primals), fLin]` where `fLin(...tangents)`
 * evaluates the JVP without recomputing the forward pass.
 *
 * @category transforms
 * @since 0.1.0
 */
export const linearize = <Args extends ReadonlyArray<unknown>, R>(
  f: (...args: Args) => R,
  ...primals: Args
): [R, (...tangents: { readonly [K in keyof Args]: unknown }) => Tree.Grads<R>] => {
  const [xs, inDef] = flattenArrays(primals)
  checkFloat("linearize", xs)
  const box: { def?: Tree.TreeDef } = {}
  const lin = linearizeFlat(flatFunction(f, inDef, box), xs)
  const outDef = box.def!
  const fLin = (...tangents: ReadonlyArray<unknown>) => {
    const ts = checkMatching("linearize", "tangent", xs, inDef, tangents)
    const staged = evalJaxpr(lin.jaxpr, lin.consts, ts)
    return Tree.unflatten(
      outDef,
      lin.outIndex.map((j, i) => (j === null ? zerosOf(lin.outAvals[i]) : staged[j]))
    )
  }
  return [Tree.unflatten(outDef, lin.primalsOut), fLin as any]
}

/** Reverse mode on flat arrays: the outputs, and what `pullBack` needs. */
const vjpFlat = (f: (...xs: Array<NdArray>) => Array<NdArray>, xs: ReadonlyArray<NdArray>) => ({ lin: linearizeFlat(f, xs), xs })

/** Input cotangents from output cotangents (null = zero). (A module function, not a closure per call: under tsx each costs a __name call.) */
const pullBack = ({ lin, xs }: ReturnType<typeof vjpFlat>, cts: ReadonlyArray<Tangent>): Array<NdArray> => {
  const staged: Array<Tangent> = []
  lin.outIndex.forEach((j, i) => {
    if (j !== null) staged[j] = cts[i]
  })
  const inCts = lin.jaxpr.outs.length === 0 ? xs.map(() => null) : backwardPass(lin.jaxpr, lin.consts, staged)
  return inCts.map((ct, i) => zeroIfNull(ct, xs[i]))
}

/**
 * Reverse mode: `[f(...primals), vjpFn]` where `vjpFn(ct)` returns the
 * cotangent of every primal (a tuple shaped like `primals`).
 *
 * @example
 * const [y, back] = vjp((x: NdArray) => NdArray.mul(x, x), NdArray.array([3]))
 * const [dx] = back(NdArray.array([1])) // [6]
 * @category transforms
 * @since 0.1.0
 */
export const vjp = <Args extends ReadonlyArray<unknown>, R>(
  f: (...args: Args) => R,
  ...primals: Args
): [R, (ct: unknown) => { -readonly [K in keyof Args]: Tree.Grads<Args[K]> }] => {
  const [xs, inDef] = flattenArrays(primals)
  checkFloat("vjp", xs)
  const box: { def?: Tree.TreeDef } = {}
  const pulled = vjpFlat(flatFunction(f, inDef, box), xs)
  const primalsOut = pulled.lin.primalsOut
  const outDef = box.def!
  const back = (ct: unknown) => {
    const cts = checkMatching("vjp", "cotangent", primalsOut, outDef, ct).map((c, i) => (c.dtype === primalsOut[i].dtype ? c : convert(c, primalsOut[i].dtype)))
    return Tree.unflatten(inDef, pullBack(pulled, cts))
  }
  return [Tree.unflatten(outDef, primalsOut), back as any]
}

export interface GradOptions {
  /** Which positional argument(s) to differentiate (default 0). */
  readonly argnums?: number | ReadonlyArray<number>
  /** `f` returns `[loss, aux]`; aux is passed through undifferentiated. */
  readonly hasAux?: boolean
}

const valueAndGradImpl = (f: AnyFunction, options: GradOptions, name: string) => (...args: Array<unknown>) => {
  const argnums = normalizeArgnums(name, options.argnums ?? 0, args.length)
  const diffArgs = argnums.map((i) => args[i])
  const [xs, inDef] = flattenArrays(diffArgs)
  checkFloat(name, xs)
  let auxDef: Tree.TreeDef | null = null
  let auxCount = 0
  // (the function passed inline: a named closure costs a __name call per call under tsx)
  const pulled = vjpFlat((...leaves: Array<NdArray>): Array<NdArray> => {
    const parts = Tree.unflatten<Array<unknown>>(inDef, leaves)
    const full = args.slice()
    argnums.forEach((a, i) => (full[a] = parts[i]))
    const result = f(...full)
    let out: unknown = result
    let auxLeaves: Array<NdArray> = []
    if (options.hasAux) {
      if (!Array.isArray(result) || result.length !== 2) {
        throw new TransformError({ transform: name, hint: "with hasAux the function must return a pair [output, aux]" })
      }
      out = result[0]
      const [al, ad] = Tree.flatten(result[1])
      auxDef = ad
      auxLeaves = al.map(leafToArray)
      auxCount = auxLeaves.length
    }
    const y = isNdArray(out) || typeof out === "number" ? leafToArray(out) : null
    if (y === null || y.ndim !== 0) {
      throw new TransformError({
        transform: name,
        hint: `the function must return a scalar (shape []) to be differentiated, got ${y === null ? "a non-array value" : `shape [${y.shape.join(", ")}]`}; use vjp or jacrev for non-scalar outputs, or reduce it (e.g. sum or mean)`
      })
    }
    checkFloat(name, [y], "output")
    return [y, ...auxLeaves]
  }, xs)
  const primalsOut = pulled.lin.primalsOut
  const y = primalsOut[0]
  const seed = leafToArray(1)
  const grads = Tree.unflatten<Array<unknown>>(inDef, pullBack(pulled, [convert(seed, y.dtype), ...new Array(auxCount).fill(null)]))
  const g = typeof options.argnums === "number" || options.argnums === undefined ? grads[0] : grads
  const value = options.hasAux ? [y, Tree.unflatten(auxDef!, primalsOut.slice(1))] : y
  return [value, g]
}

/**
 * The gradient of a scalar function with respect to argument `argnums`
 * (default 0), shaped like that argument: a record in, a record out.
 *
 * @example
 * const loss = (p: { w: NdArray; b: NdArray }, x: NdArray) => NdArray.sum(NdArray.add(NdArray.matmul(x, p.w), p.b))
 * const g = grad(loss)(params, x) // { w: NdArray; b: NdArray }
 * @category transforms
 * @since 0.1.0
 */
export function grad<Args extends Array<any>, R>(f: (...args: Args) => R, options?: { readonly argnums?: 0; readonly hasAux?: false }): (...args: Args) => Tree.Grads<Args[0]>
export function grad<Args extends Array<any>, R>(f: (...args: Args) => R, options: { readonly argnums?: number; readonly hasAux?: false }): (...args: Args) => Tree.Grads<Args[number]>
export function grad<Args extends Array<any>, R>(f: (...args: Args) => R, options: { readonly argnums: ReadonlyArray<number>; readonly hasAux?: false }): (...args: Args) => Array<Tree.Grads<Args[number]>>
export function grad<Args extends Array<any>, A>(f: (...args: Args) => readonly [NdArray, A], options: { readonly argnums?: number; readonly hasAux: true }): (...args: Args) => [Tree.Grads<Args[0]>, A]
export function grad<Args extends Array<any>, A>(f: (...args: Args) => readonly [NdArray, A], options: { readonly argnums: ReadonlyArray<number>; readonly hasAux: true }): (...args: Args) => [Array<Tree.Grads<Args[number]>>, A]
export function grad(f: AnyFunction, opts?: GradOptions): AnyFunction {
  const options = optionsObject("grad", opts, "grad(f, { argnums: 1 })")
  const vg = valueAndGradImpl(f, options, "grad")
  return (...args: Array<unknown>) => {
    const [value, g] = vg(...args)
    return options.hasAux ? [g, (value as Array<unknown>)[1]] : g
  }
}

/**
 * `[f(...args), grad(f)(...args)]` in one pass (`[[value, aux], grads]` with `hasAux`).
 *
 * @category transforms
 * @since 0.1.0
 */
export function valueAndGrad<Args extends Array<any>, R>(f: (...args: Args) => R, options?: { readonly argnums?: 0; readonly hasAux?: false }): (...args: Args) => [NdArray, Tree.Grads<Args[0]>]
export function valueAndGrad<Args extends Array<any>, R>(f: (...args: Args) => R, options: { readonly argnums?: number; readonly hasAux?: false }): (...args: Args) => [NdArray, Tree.Grads<Args[number]>]
export function valueAndGrad<Args extends Array<any>, R>(f: (...args: Args) => R, options: { readonly argnums: ReadonlyArray<number>; readonly hasAux?: false }): (...args: Args) => [NdArray, Array<Tree.Grads<Args[number]>>]
export function valueAndGrad<Args extends Array<any>, A>(f: (...args: Args) => readonly [NdArray, A], options: { readonly argnums?: number; readonly hasAux: true }): (...args: Args) => [[NdArray, A], Tree.Grads<Args[0]>]
export function valueAndGrad<Args extends Array<any>, A>(f: (...args: Args) => readonly [NdArray, A], options: { readonly argnums: ReadonlyArray<number>; readonly hasAux: true }): (...args: Args) => [[NdArray, A], Array<Tree.Grads<Args[number]>>]
export function valueAndGrad(f: AnyFunction, options?: GradOptions): AnyFunction {
  return valueAndGradImpl(f, optionsObject("valueAndGrad", options, "valueAndGrad(f, { argnums: 1 })"), "valueAndGrad")
}

// ---------------------------------------------------------------------------
/** An axis spec: a number, null (not mapped), or a pytree prefix of the argument holding those. */
export type AxisSpec = number | null | ReadonlyArray<AxisSpec> | { readonly [k: string]: AxisSpec }

export interface VmapOptions {
  /** Mapped axis of each argument (default 0 for all); a single number/null applies to all. */
  readonly inAxes?: AxisSpec
  /** Where the batch axis goes in each output (default 0). */
  readonly outAxes?: AxisSpec
}

/** Expand an axis spec (a prefix of `tree`) into one axis per leaf. */
const axesForLeaves = (transform: string, spec: AxisSpec | undefined, tree: unknown): Array<number | null> => {
  const out: Array<number | null> = []
  const go = (s: AxisSpec | undefined, t: unknown) => {
    if (s === undefined) s = 0
    if (s === null || typeof s === "number") {
      const [leaves] = Tree.flatten(t)
      for (const _ of leaves) out.push(s)
      return
    }
    if (Array.isArray(s)) {
      if (!Array.isArray(t) || t.length !== s.length) {
        throw new TransformError({ transform, hint: `axis spec ${JSON.stringify(s)} does not match the structure of the value (${Array.isArray(t) ? `an array of ${t.length}` : typeof t})` })
      }
      s.forEach((si, i) => go(si, t[i]))
      return
    }
    if (typeof t !== "object" || t === null || Array.isArray(t) || isNdArray(t)) {
      throw new TransformError({ transform, hint: `axis spec ${JSON.stringify(s)} is a record but the value is not` })
    }
    const rec = s as { readonly [k: string]: AxisSpec }
    for (const k of Object.keys(t)) go(rec[k] === undefined ? 0 : rec[k], (t as Record<string, unknown>)[k])
  }
  go(spec, tree)
  return out
}

/**
 * Vectorise `f` over a batch axis of its arguments, like `jax.vmap`.
 *
 * @example
 * const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys)
 * @category transforms
 * @since 0.1.0
 */
export const vmap = <Args extends Array<any>, R>(f: (...args: Args) => R, opts?: VmapOptions): ((...args: Args) => R) => {
  const options = optionsObject("vmap", opts, "vmap(f, { inAxes: [0, null] })")
  return (...args: Args): R => vmapCall(f, options, args)
}

const vmapCall = <Args extends Array<any>, R>(f: (...args: Args) => R, options: VmapOptions, args: Args): R => {
  const inSpec: AxisSpec = options.inAxes === undefined ? 0 : options.inAxes
  const perArg: ReadonlyArray<AxisSpec> = Array.isArray(inSpec) ? (inSpec as ReadonlyArray<AxisSpec>) : args.map(() => inSpec)
  if (perArg.length !== args.length) {
    throw new TransformError({ transform: "vmap", hint: `inAxes has ${perArg.length} entries but the function was called with ${args.length} arguments` })
  }
  const [xs, inDef] = flattenArrays(args)
  const dims = args.flatMap((a, i) => axesForLeaves("vmap", perArg[i], a))
  let size: number | null = null
  const normalized = dims.map((d, i) => {
    if (d === null) return null
    const x = xs[i]
    if (!Number.isInteger(d) || d < -x.ndim || d >= x.ndim) throw new AxisError({ op: "vmap", axis: d, ndim: x.ndim, hint: `in_axes for an argument of shape [${x.shape.join(", ")}]` })
    const n = d < 0 ? d + x.ndim : d
    if (size !== null && x.shape[n] !== size) {
      throw new TransformError({ transform: "vmap", hint: `batch sizes disagree: got ${size} and ${x.shape[n]} (argument leaf ${i} of shape [${x.shape.join(", ")}], axis ${n})` })
    }
    size = x.shape[n]
    return n
  })
  if (size === null) throw new TransformError({ transform: "vmap", hint: "no argument is mapped: at least one inAxes entry must be a number" })
  const box: { def?: Tree.TreeDef } = {}
  const outs = vmapFlat(flatFunction(f, inDef, box), size, normalized, xs, (count) => {
    const outTree = Tree.unflatten(box.def!, new Array(count).fill(0))
    return axesForLeaves("vmap", options.outAxes === undefined ? 0 : options.outAxes, outTree)
  })
  return Tree.unflatten(box.def!, outs)
}

// ---------------------------------------------------------------------------
/** The identity basis for a leaf: [size, ...shape], one-hot rows. */
const basis = (x: NdArray): NdArray => {
  const n = x.size
  const data = x.dtype === "float64" ? new Float64Array(n * n) : new Float32Array(n * n)
  for (let i = 0; i < n; i++) data[i * n + i] = 1
  return reshape(ArrayValue.fromBuffer(data, x.dtype, [n, n]), [n, ...x.shape])
}

/** Move the leading basis axis of `j` ([n, ...outShape]) behind the out shape and split it into the in shape. */
const basisLast = (j: NdArray, outShape: ReadonlyArray<number>, inShape: ReadonlyArray<number>): NdArray => {
  const perm = [...Array.from({ length: j.ndim - 1 }, (_, i) => i + 1), 0]
  return reshape(transposeView(j, perm), [...outShape, ...inShape])
}

export interface JacobianOptions {
  readonly argnums?: number
}

/** Assemble per-(output leaf, input leaf) blocks into the nested result (a plain array when both are single arrays). */
const assemble = (blocks: Array<Array<NdArray>>, outDef: Tree.TreeDef, inDef: Tree.TreeDef): unknown =>
  Tree.unflatten(
    outDef,
    blocks.map((row) => Tree.unflatten(inDef, row))
  )

/**
 * The Jacobian by forward mode (one JVP per input element, batched with `vmap`):
 * for array in and out, shape `[...outShape, ...inShape]`.
 *
 * @category transforms
 * @since 0.1.0
 */
export const jacfwd = <Args extends Array<any>>(f: (...args: Args) => unknown, opts?: JacobianOptions) => {
  const options = optionsObject("jacfwd", opts, "jacfwd(f, { argnums: 1 })")
  return (...args: Args): any => jacfwdCall(f, options, args)
}

const jacfwdCall = <Args extends Array<any>>(f: (...args: Args) => unknown, options: JacobianOptions, args: Args): any => {
  const [argnum] = normalizeArgnums("jacfwd", options.argnums ?? 0, args.length)
  const [xs, inDef] = flattenArrays(args[argnum])
  checkFloat("jacfwd", xs)
  const call = (...leaves: Array<NdArray>) => {
    const full = args.slice() as Args
    full[argnum] = Tree.unflatten(inDef, leaves)
    return f(...full)
  }
  const [outs0, outDef] = flattenArrays(call(...xs))
  const blocks: Array<Array<NdArray>> = outs0.map(() => [])
  xs.forEach((x, li) => {
    const pushed = vmap((t: NdArray) => {
      const ts = xs.map((y, k) => (k === li ? t : zerosOf(y.aval)))
      const [, tOut] = jvpFlat((...ls) => flattenArrays(call(...ls))[0], xs, ts)
      return tOut.map((tt, i) => tt ?? zerosOf(outs0[i].aval))
    })(basis(x))
    pushed.forEach((j, oi) => blocks[oi].push(basisLast(j, outs0[oi].shape, x.shape)))
  })
  return assemble(blocks, outDef, inDef)
}

/**
 * The Jacobian by reverse mode (one VJP per output element, batched with `vmap`).
 *
 * @category transforms
 * @since 0.1.0
 */
export const jacrev = <Args extends Array<any>>(f: (...args: Args) => unknown, opts?: JacobianOptions) => {
  const options = optionsObject("jacrev", opts, "jacrev(f, { argnums: 1 })")
  return (...args: Args): any => jacrevCall(f, options, args)
}

const jacrevCall = <Args extends Array<any>>(f: (...args: Args) => unknown, options: JacobianOptions, args: Args): any => {
  const [argnum] = normalizeArgnums("jacrev", options.argnums ?? 0, args.length)
  const [xs, inDef] = flattenArrays(args[argnum])
  checkFloat("jacrev", xs)
  const box: { def?: Tree.TreeDef } = {}
  const flat = (...leaves: Array<NdArray>) => {
    const full = args.slice() as Args
    full[argnum] = Tree.unflatten(inDef, leaves)
    const [o, d] = flattenArrays(f(...full))
    box.def = d
    return o
  }
  const pb = vjpFlat(flat, xs)
  const primalsOut = pb.lin.primalsOut
  const blocks = primalsOut.map((y, oi) => {
    const pulled = vmap((ct: NdArray) => pullBack(pb, primalsOut.map((_, k) => (k === oi ? ct : null))))(basis(y))
    return pulled.map((j, li) => reshape(j, [...y.shape, ...xs[li].shape]))
  })
  return assemble(blocks, box.def!, inDef)
}

/**
 * The Hessian, `jacfwd(jacrev(f))`: for an array input of shape S, shape [...S, ...S].
 *
 * @category transforms
 * @since 0.1.0
 */
export const hessian = <Args extends Array<any>>(f: (...args: Args) => unknown, options?: JacobianOptions) => {
  const o = optionsObject("hessian", options, "hessian(f, { argnums: 1 })")
  return jacfwd(jacrev(f, o), o)
}

// ---------------------------------------------------------------------------
/**
 * Stage `f` into a Jaxpr (for inspection and tests): every argument leaf is
 * an input; values `f` closes over become constants.
 *
 * @category transforms
 * @since 0.1.0
 */
export const makeJaxpr = <Args extends Array<any>>(f: (...args: Args) => unknown) => (...args: Args): { jaxpr: Jaxpr; consts: Array<NdArray>; toString(): string } => {
  const [xs, inDef] = flattenArrays(args)
  const box: { def?: Tree.TreeDef } = {}
  const { jaxpr, consts } = partialEvalFlat(
    flatFunction(f, inDef, box),
    xs.map((x) => ({ unknown: x.aval })),
    true
  )
  return { jaxpr, consts, toString: () => printJaxpr(jaxpr) }
}
