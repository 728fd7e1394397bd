/**
 * Forward mode. A `JVPTracer` carries a primal and its tangent (`null` is a
 * symbolic zero, so inputs that are not being differentiated cost nothing).
 * Applying a primitive to JVP tracers applies the primitive's `jvp` rule;
 * when every tangent is zero the primitive is simply applied to the primals.
 */
import { isFloat, type ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import type { Primitive, Tangent } from "../interpreter/primitive.js"
import { bind, fullRaise, type MainTrace, Trace, Tracer, withMain } from "../interpreter/trace.js"

export class JVPTracer extends Tracer {
  readonly aval: ShapedArray
  constructor(
    readonly trace: JVPTrace,
    readonly primal: NdArray,
    readonly tangent: Tangent
  ) {
    super()
    this.aval = primal.aval
  }
}

export class JVPTrace extends Trace {
  pure(x: NdArray): Tracer {
    return new JVPTracer(this, x, null)
  }
  processPrimitive(prim: Primitive<any>, tracers: ReadonlyArray<Tracer>, params: any): Array<NdArray> {
    const ts = tracers as ReadonlyArray<JVPTracer>
    const n = ts.length
    const primals: Array<NdArray> = new Array(n)
    const tangents: Array<Tangent> = new Array(n)
    let zero = true
    for (let i = 0; i < n; i++) {
      primals[i] = ts[i].primal
      tangents[i] = ts[i].tangent
      if (tangents[i] !== null) zero = false
    }
    if (zero) {
      const outs = bind(prim, primals, params)
      const result: Array<NdArray> = new Array(outs.length)
      for (let i = 0; i < outs.length; i++) result[i] = new JVPTracer(this, outs[i], null)
      return result
    }
    const [outs, outTangents] = prim.jvp(primals, tangents, params)
    const result: Array<NdArray> = new Array(outs.length)
    for (let i = 0; i < outs.length; i++) result[i] = new JVPTracer(this, outs[i], isFloat(outs[i].dtype) ? outTangents[i] : null)
    return result
  }
}

/** Push `tangents` forward through `f` at `primals`; returns primal outputs and tangent outputs (`null` = zero). */
export const jvpFlat = (
  f: (...xs: Array<NdArray>) => ReadonlyArray<NdArray>,
  primals: ReadonlyArray<NdArray>,
  tangents: ReadonlyArray<Tangent>
): [Array<NdArray>, Array<Tangent>] =>
  withMain("jvp", JVPTrace, null, (main: MainTrace) => {
    const trace = new JVPTrace(main)
    const ins = primals.map((p, i) => new JVPTracer(trace, p, tangents[i]))
    const outs = f(...ins).map((o) => fullRaise(trace, o) as JVPTracer)
    return [outs.map((o) => o.primal), outs.map((o) => o.tangent)]
  })
