/**
 * Partial evaluation. A `PartialEvalTracer` is either known (it holds a
 * value) or unknown (only its shape and dtype, and the recipe that will
 * compute it). Primitives on known values run at once; a primitive with any
 * unknown input is staged as an equation. `linearize` runs a JVP on top of
 * this trace with known primals and unknown tangents: the primal computation
 * happens eagerly and the tangent computation, linear in the tangent inputs,
 * is staged into a Jaxpr — which `transpose` then runs backwards.
 */
import { TransformError } from "../Errors.js"
import type { ShapedArray } from "../interpreter/aval.js"
import { type Eqn, type Jaxpr, Var } from "../interpreter/jaxpr.js"
import type { NdArray } from "../interpreter/ndarray.js"
import type { Primitive } from "../interpreter/primitive.js"
import { bind, fullLower, fullRaise, type MainTrace, Trace, Tracer, withMain } from "../interpreter/trace.js"

/**
 * `stamp` and the variables are scratch of `tracersToJaxpr`: set by the call
 * whose stamp they carry (a fresh object per call), ignored by any other.
 */
interface Converted {
  stamp?: object
}

interface EqnRecipe extends Converted {
  readonly prim: Primitive<any>
  readonly inputs: ReadonlyArray<PartialEvalTracer>
  readonly params: any
  readonly outAvals: ReadonlyArray<ShapedArray>
  outVars?: Array<Var>
}

type Recipe =
  | ({ readonly kind: "lambda"; v?: Var } & Converted)
  | ({ readonly kind: "const"; readonly value: NdArray; v?: Var } & Converted)
  | { readonly kind: "eqn"; readonly eqn: EqnRecipe; readonly index: number }
  | { readonly kind: "known" }

export class PartialEvalTracer extends Tracer {
  readonly aval: ShapedArray
  /** The staged stand-in of a known value, made once. */
  private staged: PartialEvalTracer | null = null
  constructor(
    readonly trace: PartialEvalTrace,
    readonly known: NdArray | null,
    aval: ShapedArray,
    readonly recipe: Recipe
  ) {
    super()
    this.aval = aval
  }
  override fullLower(): NdArray {
    return this.known !== null ? fullLower(this.known) : this
  }
  /** An unknown tracer that reads this value as a constant of the Jaxpr. */
  instantiate(): PartialEvalTracer {
    if (this.known === null) return this
    this.staged ??= new PartialEvalTracer(this.trace, null, this.aval, { kind: "const", value: this.known })
    return this.staged
  }
}

export class PartialEvalTrace extends Trace {
  pure(x: NdArray): Tracer {
    return new PartialEvalTracer(this, x, x.aval, { kind: "known" })
  }
  processPrimitive(prim: Primitive<any>, tracers: ReadonlyArray<Tracer>, params: any): Array<NdArray> {
    const ts = tracers as ReadonlyArray<PartialEvalTracer>
    const n = ts.length
    let allKnown = true
    for (let i = 0; i < n; i++) if (ts[i].known === null) allKnown = false
    if (allKnown) {
      const values: Array<NdArray> = new Array(n)
      for (let i = 0; i < n; i++) values[i] = ts[i].known!
      const outs = bind(prim, values, params)
      const result: Array<NdArray> = new Array(outs.length)
      for (let i = 0; i < outs.length; i++) result[i] = this.pure(outs[i])
      return result
    }
    const inputs: Array<PartialEvalTracer> = new Array(n)
    const avals: Array<ShapedArray> = new Array(n)
    for (let i = 0; i < n; i++) {
      inputs[i] = ts[i].instantiate()
      avals[i] = inputs[i].aval
    }
    const outAvals = prim.abstractEval(avals, params)
    const eqn: EqnRecipe = { prim, inputs, params, outAvals }
    const outs: Array<NdArray> = new Array(outAvals.length)
    for (let i = 0; i < outAvals.length; i++) outs[i] = new PartialEvalTracer(this, null, outAvals[i], { kind: "eqn", eqn, index: i })
    return outs
  }
  /** A new unknown input of the staged program. */
  newArg(aval: ShapedArray): PartialEvalTracer {
    return new PartialEvalTracer(this, null, aval, { kind: "lambda" })
  }
}

/** The variable a tracer is bound to in the conversion with this stamp, if any (a module function: under tsx a closure per call costs a __name call). */
const varOf = (stamp: object, t: PartialEvalTracer): Var | undefined => {
  const r = t.recipe
  switch (r.kind) {
    case "eqn":
      return r.eqn.stamp === stamp ? r.eqn.outVars![r.index] : undefined
    case "lambda":
    case "const":
      return r.stamp === stamp ? r.v : undefined
    case "known":
      return undefined
  }
}

/**
 * Build the Jaxpr that computes `outs` from `ins` (unknown tracers), with the
 * known values it reads as constants. Variables are recorded on the recipes
 * under a stamp of this call (not in maps: this runs once per `grad`).
 */
export const tracersToJaxpr = (
  ins: ReadonlyArray<PartialEvalTracer>,
  outs: ReadonlyArray<PartialEvalTracer>
): { jaxpr: Jaxpr; consts: Array<NdArray> } => {
  const stamp = {}
  let numVars = 0
  const constvars: Array<Var> = []
  const consts: Array<NdArray> = []
  const eqns: Array<Eqn> = []
  const inBinders: Array<Var> = []
  for (const t of ins) {
    const r = t.recipe
    if (r.kind !== "lambda") throw new TransformError({ transform: "linearize", hint: "an input of the staged program is not an unknown argument" })
    r.stamp = stamp
    r.v = new Var(t.aval, numVars++)
    inBinders.push(r.v)
  }
  // Iterative post-order walk: a long chain of operations must not overflow the call stack.
  // (`expanded` runs beside `stack`: whether that tracer's inputs were pushed already.)
  const stack: Array<PartialEvalTracer> = []
  const expanded: Array<boolean> = []
  for (let i = outs.length - 1; i >= 0; i--) {
    stack.push(outs[i])
    expanded.push(false)
  }
  while (stack.length > 0) {
    const top = stack.length - 1
    const t = stack[top]
    if (varOf(stamp, t) !== undefined) {
      stack.pop()
      expanded.pop()
      continue
    }
    const recipe = t.recipe
    if (recipe.kind === "const") {
      recipe.stamp = stamp
      recipe.v = new Var(t.aval, numVars++)
      constvars.push(recipe.v)
      consts.push(recipe.value)
      stack.pop()
      expanded.pop()
    } else if (recipe.kind === "eqn") {
      const e = recipe.eqn
      if (!expanded[top]) {
        expanded[top] = true
        for (let i = e.inputs.length - 1; i >= 0; i--) {
          stack.push(e.inputs[i])
          expanded.push(false)
        }
      } else {
        stack.pop()
        expanded.pop()
        const outVars: Array<Var> = []
        for (const a of e.outAvals) outVars.push(new Var(a, numVars++))
        const inputs: Array<Var> = []
        for (const x of e.inputs) inputs.push(varOf(stamp, x)!)
        e.stamp = stamp
        e.outVars = outVars
        eqns.push({ prim: e.prim, inputs, params: e.params, outs: outVars })
      }
    } else {
      throw new TransformError({ transform: "linearize", hint: "a staged value depends on an input of another transform (a tracer leaked between transforms)" })
    }
  }
  const outVars: Array<Var> = []
  for (const t of outs) outVars.push(varOf(stamp, t)!)
  return { jaxpr: { constvars, inBinders, eqns, outs: outVars, numVars }, consts }
}

/**
 * Run `f` with some inputs known (values) and some unknown (avals). Returns
 * the known outputs (null where unknown) and a Jaxpr computing the unknown
 * ones from the unknown inputs. With `instantiate`, every output is staged
 * (a known one as a constant of the Jaxpr), so the Jaxpr computes all of
 * `f`'s outputs — what `makeJaxpr` shows.
 */
export const partialEvalFlat = (
  f: (...xs: Array<NdArray>) => ReadonlyArray<NdArray>,
  inputs: ReadonlyArray<{ readonly known: NdArray } | { readonly unknown: ShapedArray }>,
  instantiate = false,
  name = "linearize"
): { knownOuts: Array<NdArray | null>; jaxpr: Jaxpr; consts: Array<NdArray>; unknownIndices: Array<number> } =>
  withMain(name, PartialEvalTrace, null, (main: MainTrace) => {
    const trace = new PartialEvalTrace(main)
    const ins = inputs.map((p) => ("known" in p ? (trace.pure(p.known) as PartialEvalTracer) : trace.newArg(p.unknown)))
    const raised = f(...ins).map((o) => fullRaise(trace, o) as PartialEvalTracer)
    const outs = instantiate ? raised.map((o) => o.instantiate()) : raised
    const unknownIndices = outs.flatMap((o, i) => (o.known === null ? [i] : []))
    const { jaxpr, consts } = tracersToJaxpr(
      ins.filter((t) => t.known === null),
      unknownIndices.map((i) => outs[i])
    )
    return { knownOuts: outs.map((o) => (o.known === null ? null : fullLower(o.known))), jaxpr, consts, unknownIndices }
  })
