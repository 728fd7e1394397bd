/** Adds `ct` to the cotangent of `v` (unless `v` is known: a constant of the linear program). (A module function: under tsx a closure per call costs a __name call.) */
const accumulate = (cts: Array<NdArray | undefined>, known: ReadonlyArray<NdArray | undefined>, v: Var, ct: Tangent, source: string): void => {
  if (ct === null || known[v.index] !== undefined) return
  if (!sameShape(ct.shape, v.aval.shape)) {
    throw new TransformError({
      transform: "transpose",
      hint: `the ${source} rule produced a cotangent of shape [${ct.shape.join(", ")}] for a value of shape [${v.aval.shape.join(", ")}]`
    })
  }
  const prev = cts[v.index]
  cts[v.index] = prev === undefined ? ct : add(prev, ct)
}

/**
 * Transposition: run a linear Jaxpr backwards. Each equation's cotangent
 * outputs are handed to its primitive's `transpose` rule, which returns the
 * cotangents of its linear inputs; fan-out is summed. Equations whose inputs
 * are all known (none in a Jaxpr made by `linearize`, but possible in one
 * made by hand) are evaluated forward first.
 */
import { TransformError } from "../Errors.js"
import { sameShape } from "../interpreter/aval.js"
import type { Jaxpr, Var } from "../interpreter/jaxpr.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { type Tangent, UndefPrimal } from "../interpreter/primitive.js"
import { bind } from "../interpreter/trace.js"
import { add } from "../primitives/elementwise.js"

export const backwardPass = (jaxpr: Jaxpr, consts: ReadonlyArray<NdArray>, cts: ReadonlyArray<Tangent>): Array<Tangent> => {
  // values and cotangents by variable index (plain arrays and loops, not maps or closures: this runs once per `grad`)
  const known: Array<NdArray | undefined> = new Array(jaxpr.numVars)
  for (let i = 0; i < jaxpr.constvars.length; i++) known[jaxpr.constvars[i].index] = consts[i]
  const eqns = jaxpr.eqns
  // which equations run forward (all inputs known)
  const forward: Array<boolean> = new Array(eqns.length)
  for (let e = 0; e < eqns.length; e++) {
    const eqn = eqns[e]
    let allKnown = true
    for (const v of eqn.inputs) if (known[v.index] === undefined) allKnown = false
    forward[e] = allKnown
    if (allKnown) {
      const outs = bind(
        eqn.prim,
        eqn.inputs.map((v) => known[v.index]!),
        eqn.params
      )
      for (let i = 0; i < eqn.outs.length; i++) known[eqn.outs[i].index] = outs[i]
    }
  }
  const ctEnv: Array<NdArray | undefined> = new Array(jaxpr.numVars)
  for (let i = 0; i < jaxpr.outs.length; i++) accumulate(ctEnv, known, jaxpr.outs[i], cts[i], "output")
  for (let e = eqns.length - 1; e >= 0; e--) {
    if (forward[e]) continue
    const eqn = eqns[e]
    const ctsOut: Array<Tangent> = []
    let any = false
    for (const v of eqn.outs) {
      const ct = ctEnv[v.index] ?? null
      ctEnv[v.index] = undefined
      ctsOut.push(ct)
      if (ct !== null) any = true
    }
    if (!any) continue
    const rule = eqn.prim.transpose
    if (!rule) {
      throw new TransformError({ transform: "transpose", hint: `primitive ${eqn.prim.name} is not linear in its traced inputs, so it cannot be transposed` })
    }
    const args: Array<NdArray | UndefPrimal> = []
    for (const v of eqn.inputs) args.push(known[v.index] ?? new UndefPrimal(v.aval))
    const ctsIn = rule(ctsOut, args, eqn.params)
    for (let i = 0; i < eqn.inputs.length; i++) accumulate(ctEnv, known, eqn.inputs[i], ctsIn[i] ?? null, eqn.prim.name)
  }
  const result: Array<Tangent> = []
  for (const v of jaxpr.inBinders) result.push(ctEnv[v.index] ?? null)
  return result
}
