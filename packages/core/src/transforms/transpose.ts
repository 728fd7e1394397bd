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
  jaxpr.constvars.forEach((v, i) => known.set(v, consts[i]))
  for (const eqn of jaxpr.eqns) {
    if (eqn.inputs.every((v) => known.has(v))) {
      const outs = bind(
        eqn.prim,
        eqn.inputs.map((v) => known.get(v)!),
        eqn.params
      )
      eqn.outs.forEach((v, i) => known.set(v, outs[i]))
    }
  }
  const ctEnv = new Map<Var, NdArray>()
  jaxpr.outs.forEach((v, i) => accumulate(ctEnv, known, v, cts[i], "output"))
  for (let e = jaxpr.eqns.length - 1; e >= 0; e--) {
    const eqn = jaxpr.eqns[e]
    if (eqn.inputs.every((v) => known.has(v))) continue
    const ctsOut = eqn.outs.map((v) => {
      const ct = ctEnv.get(v) ?? null
      ctEnv.delete(v)
      return ct
    })
    if (ctsOut.every((c) => c === null)) continue
    const rule = eqn.prim.transpose
    if (!rule) {
      throw new TransformError({ transform: "transpose", hint: `primitive ${eqn.prim.name} is not linear in its traced inputs, so it cannot be transposed` })
    }
    const args = eqn.inputs.map((v) => known.get(v) ?? new UndefPrimal(v.aval))
    const ctsIn = rule(ctsOut, args, eqn.params)
    eqn.inputs.forEach((v, i) => accumulate(ctEnv, known, v, ctsIn[i] ?? null, eqn.prim.name))
  }
  return jaxpr.inBinders.map((v) => ctEnv.get(v) ?? null)
}
