/** Adds `ct` to the cotangent of `v` (unless `v` is known: a constant of the linear program). (A module function: under tsx a closure per call costs a __name call.) */
const accumulate = (ctEnv: Map<Var, NdArray>, known: Map<Var, NdArray>, v: Var, ct: Tangent, source: string): void => {
  if (ct === null || known.has(v)) return
  if (!sameShape(ct.shape, v.aval.shape)) {
    throw new TransformError({
      transform: "transpose",
      hint: `the ${source} rule produced a cotangent of shape [${ct.shape.join(", ")}] for a value of shape [${v.aval.shape.join(", ")}]`
    })
  }
  const prev = ctEnv.get(v)
  ctEnv.set(v, prev === undefined ? ct : add(prev, ct))
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
  const known = new Map<Var, NdArray>()
  for (let i = 0; i < jaxpr.constvars.length; i++) known.set(jaxpr.constvars[i], consts[i])
  const eqns = jaxpr.eqns
  // which equations run forward (all inputs known); plain loops, not closures: this runs once per `grad`
  const forward: Array<boolean> = new Array(eqns.length)
  for (let e = 0; e < eqns.length; e++) {
    const eqn = eqns[e]
    let allKnown = true
    for (const v of eqn.inputs) if (!known.has(v)) allKnown = false
    forward[e] = allKnown
    if (allKnown) {
      const outs = bind(
        eqn.prim,
        eqn.inputs.map((v) => known.get(v)!),
        eqn.params
      )
      for (let i = 0; i < eqn.outs.length; i++) known.set(eqn.outs[i], outs[i])
    }
  }
  const ctEnv = new Map<Var, NdArray>()
  for (let i = 0; i < jaxpr.outs.length; i++) accumulate(ctEnv, known, jaxpr.outs[i], cts[i], "output")
  for (let e = eqns.length - 1; e >= 0; e--) {
    if (forward[e]) continue
    const eqn = eqns[e]
    const ctsOut: Array<Tangent> = []
    let any = false
    for (const v of eqn.outs) {
      const ct = ctEnv.get(v) ?? null
      ctEnv.delete(v)
      ctsOut.push(ct)
      if (ct !== null) any = true
    }
    if (!any) continue
    const rule = eqn.prim.transpose
    if (!rule) {
      throw new TransformError({ transform: "transpose", hint: `primitive ${eqn.prim.name} is not linear in its traced inputs, so it cannot be transposed` })
    }
    const args: Array<NdArray | UndefPrimal> = []
    for (const v of eqn.inputs) args.push(known.get(v) ?? new UndefPrimal(v.aval))
    const ctsIn = rule(ctsOut, args, eqn.params)
    for (let i = 0; i < eqn.inputs.length; i++) accumulate(ctEnv, known, eqn.inputs[i], ctsIn[i] ?? null, eqn.prim.name)
  }
  const result: Array<Tangent> = []
  for (const v of jaxpr.inBinders) result.push(ctEnv.get(v) ?? null)
  return result
}
