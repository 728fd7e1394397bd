/**
 * `linearize`: a JVP over partial evaluation (Autodidax). The primals are
 * known and the tangent inputs unknown, so the forward computation runs
 * eagerly while the tangent computation — linear in the tangents — is staged
 * into a Jaxpr. Reverse mode (`vjp`, `grad`) transposes that Jaxpr.
 */
import type { ShapedArray } from "../interpreter/aval.js"
import type { Jaxpr } from "../interpreter/jaxpr.js"
import { fullLower, withMain, type MainTrace } from "../interpreter/trace.js"
import type { NdArray } from "../interpreter/ndarray.js"
import type { Tangent } from "../interpreter/primitive.js"
import { jvpFlat } from "./jvp.js"
import { PartialEvalTrace, PartialEvalTracer, tracersToJaxpr } from "./partialEval.js"

export interface Linearized {
  readonly primalsOut: Array<NdArray>
  /** Maps the tangents of the inputs to the tangents of the outputs that are not symbolically zero. */
  readonly jaxpr: Jaxpr
  readonly consts: Array<NdArray>
  /** For each output: its index among the Jaxpr's outputs, or null when its tangent is always zero. */
  readonly outIndex: Array<number | null>
  readonly outAvals: Array<ShapedArray>
}

export const linearizeFlat = (f: (...xs: Array<NdArray>) => ReadonlyArray<NdArray>, primals: ReadonlyArray<NdArray>): Linearized =>
  withMain("linearize", PartialEvalTrace, null, (main: MainTrace) => {
    const trace = new PartialEvalTrace(main)
    const tangentsIn = primals.map((p) => trace.newArg(p.aval))
    const [primalsOut, tangentsOut] = jvpFlat(f, primals, tangentsIn)
    const outIndex: Array<number | null> = []
    const staged: Array<PartialEvalTracer> = []
    tangentsOut.forEach((t: Tangent) => {
      if (t === null) outIndex.push(null)
      else {
        outIndex.push(staged.length)
        staged.push((t instanceof PartialEvalTracer && t.trace.main === main ? t : (trace.pure(t) as PartialEvalTracer)).instantiate())
      }
    })
    const { jaxpr, consts } = tracersToJaxpr(tangentsIn, staged)
    return { primalsOut: primalsOut.map(fullLower), jaxpr, consts, outIndex, outAvals: primalsOut.map((p) => p.aval) }
  })
