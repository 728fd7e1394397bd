/**
 * A Jaxpr is a staged program: typed variables and equations applying
 * primitives to them. Reverse mode stages the tangent part of a JVP into one
 * (it is linear in the tangent inputs) and then runs it backwards.
 */
import type { ShapedArray } from "./aval.js"
import type { NdArray } from "./ndarray.js"
import type { Primitive } from "./primitive.js"
import { bind } from "./trace.js"

/** A variable of one Jaxpr; `index` numbers its variables densely from 0 (so evaluators keep them in arrays, not maps). */
export class Var {
  constructor(
    readonly aval: ShapedArray,
    readonly index: number
  ) {}
}

export interface Eqn {
  readonly prim: Primitive<any>
  readonly inputs: ReadonlyArray<Var>
  readonly params: any
  readonly outs: ReadonlyArray<Var>
}

export interface Jaxpr {
  readonly constvars: ReadonlyArray<Var>
  readonly inBinders: ReadonlyArray<Var>
  readonly eqns: ReadonlyArray<Eqn>
  readonly outs: ReadonlyArray<Var>
  /** Every variable's `index` is below this. */
  readonly numVars: number
}

/** Evaluate a Jaxpr on values (which may be tracers of enclosing transforms). */
export const evalJaxpr = (jaxpr: Jaxpr, consts: ReadonlyArray<NdArray>, args: ReadonlyArray<NdArray>): Array<NdArray> => {
  const env: Array<NdArray> = new Array(jaxpr.numVars)
  jaxpr.constvars.forEach((v, i) => (env[v.index] = consts[i]))
  jaxpr.inBinders.forEach((v, i) => (env[v.index] = args[i]))
  for (const eqn of jaxpr.eqns) {
    const outs = bind(
      eqn.prim,
      eqn.inputs.map((v) => env[v.index]),
      eqn.params
    )
    eqn.outs.forEach((v, i) => (env[v.index] = outs[i]))
  }
  return jaxpr.outs.map((v) => env[v.index])
}

/** A readable listing, for tests and debugging. Variable names are assigned in order of appearance. */
export const printJaxpr = (jaxpr: Jaxpr): string => {
  const names = new Map<Var, string>()
  const name = (v: Var): string => {
    let n = names.get(v)
    if (n === undefined) {
      const i = names.size
      n = i < 26 ? String.fromCharCode(97 + i) : `v${i}`
      names.set(v, n)
    }
    return n
  }
  const typed = (v: Var) => `${name(v)}:${v.aval.dtype === "float32" ? "f32" : v.aval.dtype === "float64" ? "f64" : v.aval.dtype === "int32" ? "i32" : "bool"}[${v.aval.shape.join(",")}]`
  const head = `{ lambda ${jaxpr.constvars.map(typed).join(" ")}${jaxpr.constvars.length ? " ; " : ""}${jaxpr.inBinders.map(typed).join(" ")}. let`
  const lines = jaxpr.eqns.map((e) => {
    const params = e.prim.showParams ? `[${e.prim.showParams(e.params)}]` : ""
    return `    ${e.outs.map(typed).join(" ")} = ${e.prim.name}${params} ${e.inputs.map(name).join(" ")}`
  })
  return [head, ...lines, `  in ( ${jaxpr.outs.map(name).join(" ")} ) }`].join("\n")
}
