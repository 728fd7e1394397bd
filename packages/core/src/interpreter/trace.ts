/**
 * The interpreter stack, after JAX's Autodidax.
 *
 * A transform is an interpreter: a `Trace` that decides what applying a
 * primitive to its `Tracer`s means (evaluate it, push tangents forward, add a
 * batch dimension, stage it into a Jaxpr). Transforms nest by levels: each
 * `withMain` pushes a `MainTrace` one level up, and `bind` hands a primitive
 * application to the highest-level trace among its arguments, which may in
 * turn `bind` on the values one level down. Keeping levels apart is what
 * makes `grad(x => x * grad(y => x * y)(c))` right (no perturbation
 * confusion).
 *
 * The stack is the only global mutable state of the library, changed only by
 * `withMain` (try/finally). When a transform returns, its main trace is
 * marked dead, so a tracer that escaped fails loudly when used.
 */
import { Equal, Hash } from "effect"
import type { Buffer } from "../backend/cpu/types.js"
import { TransformError } from "../Errors.js"
import type { ShapedArray } from "./aval.js"
import { type ArrayValue, checkLive, concretizationError, NdArray } from "./ndarray.js"
import type { Primitive } from "./primitive.js"

export interface MainTrace {
  readonly level: number
  readonly name: string
  readonly traceType: new (main: MainTrace) => Trace
  readonly globalData: unknown
  alive: boolean
  /** The trace `bind` hands primitives to (traces hold no state of their own, so one per level serves). */
  trace?: Trace
}

/** A trace interprets primitives applied to its tracers. */
export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Embed a concrete array (or a lower-level value) as a tracer of this trace. */
  abstract pure(x: NdArray): Tracer
  /** Embed a tracer of a lower level. */
  lift(x: NdArray): Tracer {
    return this.pure(x)
  }
  abstract processPrimitive(prim: Primitive<any>, tracers: ReadonlyArray<Tracer>, params: any): Array<NdArray>
}

/** A value being traced by a transform. Reading its numbers is an error. */
export abstract class Tracer extends NdArray {
  abstract readonly trace: Trace
  /** The simplest equivalent value (a lower-level value when this tracer adds nothing). */
  fullLower(): NdArray {
    return this
  }
  toArray(): unknown {
    throw concretizationError(`toArray (under ${this.trace.main.name})`)
  }
  item(): number {
    throw concretizationError(`item (under ${this.trace.main.name})`)
  }
  data(): Buffer {
    throw concretizationError(`data (under ${this.trace.main.name})`)
  }
  toString(): string {
    return `Traced<${this.aval.toString()}> (${this.trace.main.name} level ${this.trace.main.level})`
  }
  [Equal.symbol](that: Equal.Equal): boolean {
    return this === that
  }
  [Hash.symbol](): number {
    return Hash.random(this)
  }
}

// `traced` (declared on NdArray) is a prototype flag: false on NdArray's prototype, true here
Object.defineProperty(Tracer.prototype, "traced", { value: true })

/** Whether `x` is a tracer (a prototype flag: every primitive application asks, and `instanceof` walks the chain). */
export const isTracer = (x: NdArray): x is Tracer => x.traced

class EvalTrace extends Trace {
  pure(x: NdArray): Tracer {
    return x as unknown as Tracer
  }
  processPrimitive(prim: Primitive<any>, values: ReadonlyArray<Tracer>, params: any): Array<NdArray> {
    return prim.impl(values as unknown as ReadonlyArray<ArrayValue>, params)
  }
}

const stack: Array<MainTrace> = [{ level: 0, name: "eval", traceType: EvalTrace, globalData: null, alive: true }]

/** Run `f` with a new main trace of `traceType` pushed on the stack. */
export const withMain = <A>(name: string, traceType: new (main: MainTrace) => Trace, globalData: unknown, f: (main: MainTrace) => A): A => {
  const main: MainTrace = { level: stack.length, name, traceType, globalData, alive: true }
  stack.push(main)
  try {
    return f(main)
  } finally {
    stack.pop()
    main.alive = false
  }
}

/** The number of transforms currently running (0 outside any transform). */
export const depth = (): number => stack.length - 1

const escaped = (t: Tracer): TransformError =>
  new TransformError({
    transform: t.trace.main.name,
    hint: `a traced value (${t.aval.toString()}) escaped the ${t.trace.main.name} transform that created it and was used after it returned; return values out of the transformed function instead of storing them outside`
  })

const findTopMain = (args: ReadonlyArray<NdArray>): MainTrace | null => {
  let top: MainTrace | null = null
  for (const a of args) {
    if (isTracer(a)) {
      const main = a.trace.main
      if (!main.alive) throw escaped(a)
      if (top === null || main.level > top.level) top = main
    }
  }
  return top
}

export const fullRaise = (trace: Trace, x: NdArray): Tracer => {
  if (!isTracer(x)) return trace.pure(x)
  const level = x.trace.main.level
  if (x.trace.main === trace.main) return x
  if (level < trace.main.level) return trace.lift(x)
  throw new TransformError({ transform: trace.main.name, hint: `a tracer of level ${level} met a trace of lower level ${trace.main.level}` })
}

export const fullLower = (x: NdArray): NdArray => (isTracer(x) ? x.fullLower() : x)

/** Apply a primitive: hand it to the highest-level trace among the arguments. */
export const bind = <P>(prim: Primitive<P>, args: ReadonlyArray<NdArray>, params: P): Array<NdArray> => {
  const main = findTopMain(args)
  if (main === null) {
    checkLive(prim.name, args)
    return prim.impl(args as ReadonlyArray<ArrayValue>, params)
  }
  const trace = (main.trace ??= new main.traceType(main))
  const tracers: Array<Tracer> = new Array(args.length)
  for (let i = 0; i < args.length; i++) tracers[i] = fullRaise(trace, args[i])
  const outs = trace.processPrimitive(prim, tracers, params)
  const lowered: Array<NdArray> = new Array(outs.length)
  for (let i = 0; i < outs.length; i++) lowered[i] = fullLower(outs[i])
  return lowered
}

export const bind1 = <P>(prim: Primitive<P>, args: ReadonlyArray<NdArray>, params: P): NdArray => bind(prim, args, params)[0]

/** The aval of any array. */
export const avalOf = (x: NdArray): ShapedArray => x.aval
