/**
 * `jit`: trace a function once per argument signature into a Jaxpr and run
 * that program directly on the kernels afterwards.
 *
 * Tracing is partial evaluation with every argument unknown (what
 * `makeJaxpr` shows), so transforms inside the function — `grad`, `vmap`,
 * `jvp` — are interpreted once, at trace time, and the program contains only
 * the primitives they emitted: calling a jitted `valueAndGrad` runs its
 * forward and backward kernels with none of the interpreters' bookkeeping.
 * Each equation calls its primitive's kernel with the output shapes fixed at
 * trace time; chains of elementwise equations are fused into one generated
 * loop (`compileJaxpr`); values are dropped as soon as their last reader has
 * run, and the buffers the run allocated for them go back to a pool that
 * later allocations of the same size draw from (`runProgram`).
 *
 * The semantics are JAX's: arrays the function closes over are read once,
 * when it is traced, and become constants of the program; reading the values
 * of an argument (`item`, `data`, a branch on a value) fails during tracing
 * unless that argument is listed in `staticArgnums`, whose values (compared as
 * JSON when plain data, by identity otherwise) select the cached program. A
 * jitted function called inside another transform (under `grad`, `vmap`, …)
 * simply runs the function, so it composes like any other.
 */
import { TransformError } from "../Errors.js"
import { ensureBackend } from "../backend/index.js"
import * as cpu from "../backend/cpu/index.js"
import { simdPlan, type SimdNode, type SimdPlan } from "../backend/wasm/fused.js"
import { type DType, optionsObject, sameShape, ShapedArray } from "../interpreter/aval.js"
import type { Eqn, Jaxpr, Var } from "../interpreter/jaxpr.js"
import { ArrayValue, checkLive, markDeleted, type NdArray } from "../interpreter/ndarray.js"
import type { Primitive } from "../interpreter/primitive.js"
import { depth, isTracer } from "../interpreter/trace.js"
import * as Tree from "../Tree.js"
import { flattenArrays, normalizeArgnums } from "./args.js"
import { partialEvalFlat } from "./partialEval.js"

export interface JitOptions {
  /**
   * Positions of arguments that are not traced: their values are part of the
   * cache key (numbers, strings, options records, functions), and the
   * function may branch on them.
   */
  readonly staticArgnums?: ReadonlyArray<number>
  /** How many traced programs to keep (least recently used dropped first; default 32). */
  readonly cacheSize?: number
  /**
   * Positions of arguments whose arrays are given to the call (JAX's
   * `donate_argnums`): the call may reuse their memory, and afterwards they
   * are deleted — reading one, or any view of the same buffer, is a
   * ValueError — even when the call fails. The outputs of such a call stay in
   * the WebAssembly engine's memory, so a training step
   * `params = step(params, batch)` with the parameters donated reads them in
   * place and frees the old ones at once: no copies, no allocation. Views
   * share memory, so donating an array deletes the arrays that are views of
   * the same whole buffer too (a `reshape` or `transpose` of it, or what it is
   * a reshape of); an array that is only a part of its buffer (a slice, a
   * broadcast) is never donated, nor one also passed undonated or returned.
   */
  readonly donateArgnums?: ReadonlyArray<number>
}

/**
 * One step of a compiled program: a primitive's kernel, or a fused loop
 * computing one elementwise expression over its leaves, on slots of the
 * environment.
 */
type Step =
  | {
      readonly kind: "kernel"
      readonly prim: Primitive<any>
      readonly params: unknown
      readonly inputs: ReadonlyArray<number>
      readonly outputs: ReadonlyArray<number>
      readonly outAvals: ReadonlyArray<ShapedArray>
      /** Slots whose last reader is this step (freed after it). */
      release: ReadonlyArray<number>
      /** Whether it makes an output of the program (allocated on the JavaScript heap). */
      escapes: boolean
    }
  | {
      readonly kind: "fused"
      /** The expression over `$0`, `$1`, … = the leaves, in order. */
      readonly expr: string
      readonly bool: boolean
      /** The expression as a WebAssembly SIMD loop, when every op has an exact SIMD form. */
      readonly simd: SimdPlan | undefined
      readonly inputs: ReadonlyArray<number>
      readonly outputs: ReadonlyArray<number>
      readonly outAvals: ReadonlyArray<ShapedArray>
      /** How many equations the loop replaces. */
      readonly size: number
      release: ReadonlyArray<number>
      escapes: boolean
    }

/** A Jaxpr laid out for execution: slots instead of variables, fused elementwise chains, and when each slot dies. */
export interface Program {
  readonly jaxpr: Jaxpr
  readonly consts: ReadonlyArray<NdArray>
  readonly slotCount: number
  readonly steps: ReadonlyArray<Step>
  readonly inSlots: ReadonlyArray<number>
  readonly outSlots: ReadonlyArray<number>
  /** Inputs worth copying into the engine's memory once per run (large floats read by several steps, each of which would stage them). */
  readonly stageInputs: ReadonlyArray<boolean>
}

/** The value of an inlined intermediate as its dtype would have stored it (a 0/1 value is exact in every dtype). */
const rounded = (expr: string, dtype: DType, bool: boolean): string =>
  bool ? `(${expr})` : dtype === "float32" ? `Math.fround(${expr})` : dtype === "int32" ? `((${expr}) | 0)` : dtype === "bool" ? `+((${expr}) !== 0)` : `(${expr})`

/**
 * Number the variables, fuse elementwise chains and work out, for each step,
 * which values die after it.
 *
 * Fusion inlines an elementwise equation into its consumer when that
 * consumer is elementwise too and is the value's only reader (and the value
 * is not an output of the program): the consumer's loop computes it in a
 * register instead of a buffer. Intermediate values are rounded to their
 * dtype, so a fused loop gives exactly the numbers of the separate kernels.
 */
export const compileJaxpr = (jaxpr: Jaxpr, consts: ReadonlyArray<NdArray>, options: { readonly fuse?: boolean } = {}): Program => {
  const slot = new Map<Var, number>()
  const number = (v: Var): number => {
    let s = slot.get(v)
    if (s === undefined) {
      s = slot.size
      slot.set(v, s)
    }
    return s
  }
  jaxpr.constvars.forEach(number)
  const inSlots = jaxpr.inBinders.map(number)
  jaxpr.eqns.forEach((eqn) => eqn.outs.forEach(number))
  const outSlots = jaxpr.outs.map(number)

  // who reads each variable
  const readers = new Map<Var, number>()
  for (const eqn of jaxpr.eqns) for (const v of eqn.inputs) readers.set(v, (readers.get(v) ?? 0) + 1)
  for (const v of jaxpr.outs) readers.set(v, (readers.get(v) ?? 0) + 2)
  const producer = new Map<Var, Eqn>()
  for (const eqn of jaxpr.eqns) for (const v of eqn.outs) producer.set(v, eqn)
  const fusible = (eqn: Eqn | undefined): boolean => eqn !== undefined && eqn.prim.fusion !== undefined && eqn.outs.length === 1
  // a value is inlined when an elementwise equation makes it and one elementwise equation (of the same shape) reads it once
  const inlined = new Set<Var>()
  if (options.fuse !== false) {
    for (const eqn of jaxpr.eqns) {
      if (!fusible(eqn)) continue
      for (const v of eqn.inputs) {
        if (readers.get(v) === 1 && fusible(producer.get(v)) && sameShape(v.aval.shape, eqn.outs[0].aval.shape)) inlined.add(v)
      }
    }
  }

  const steps: Array<Step> = []
  for (const eqn of jaxpr.eqns) {
    if (eqn.outs.length === 1 && inlined.has(eqn.outs[0])) continue // computed inside its reader's loop
    if (!fusible(eqn) || !eqn.inputs.some((v) => inlined.has(v))) {
      steps.push({ kind: "kernel", prim: eqn.prim, params: eqn.params, inputs: eqn.inputs.map(number), outputs: eqn.outs.map(number), outAvals: eqn.outs.map((v) => v.aval), release: [], escapes: false })
      continue
    }
    const leaves: Array<Var> = []
    let size = 0
    const leaf = (v: Var): number => {
      let i = leaves.indexOf(v)
      if (i < 0) {
        i = leaves.length
        leaves.push(v)
      }
      return i
    }
    // the JavaScript expression, and the same tree for the SIMD emitter (undefined if some op has no SIMD form)
    const build = (e: Eqn): { expr: string; bool: boolean; node: SimdNode | undefined } => {
      size++
      const inDtypes = e.inputs.map((v) => v.aval.dtype)
      const outDtype = e.outs[0].aval.dtype
      const spec = e.prim.fusion!(inDtypes, outDtype, e.params)
      const op = e.prim.simd?.(inDtypes, outDtype, e.params)
      let simdOk = op !== undefined
      const argNodes: Array<SimdNode> = []
      const args = e.inputs.map((v) => {
        if (!inlined.has(v)) {
          const i = leaf(v)
          argNodes.push({ leaf: i })
          return `$${i}`
        }
        const inner = build(producer.get(v)!)
        if (inner.node === undefined) simdOk = false
        else argNodes.push(inner.node)
        return rounded(inner.expr, v.aval.dtype, inner.bool)
      })
      return {
        expr: spec.expr.replace(/\$(\d+)/g, (_, k: string) => args[Number(k)]),
        bool: spec.bool,
        node: simdOk ? { op: op!, dtype: outDtype, args: argNodes } : undefined
      }
    }
    const { expr, bool, node } = build(eqn)
    const simd = node === undefined ? undefined : simdPlan(node, leaves.map((v) => v.aval.dtype))
    steps.push({ kind: "fused", expr, bool, simd, inputs: leaves.map(number), outputs: [number(eqn.outs[0])], outAvals: [eqn.outs[0].aval], size, release: [], escapes: false })
  }

  // liveness over the steps as they will run
  const lastUse = new Map<number, number>()
  steps.forEach((step, i) => {
    for (const s of step.inputs) lastUse.set(s, i)
  })
  for (const s of outSlots) lastUse.delete(s)
  const release: Array<Array<number>> = steps.map(() => [])
  for (const [s, i] of lastUse) release[i].push(s)
  steps.forEach((step, i) => (step.release = release[i]))
  const outputs = new Set(outSlots)
  for (const step of steps) step.escapes = step.outputs.some((s) => outputs.has(s))
  const slotReaders = new Map<number, number>()
  for (const step of steps) for (const s of new Set(step.inputs)) slotReaders.set(s, (slotReaders.get(s) ?? 0) + 1)
  const stageInputs = jaxpr.inBinders.map((v, i) => {
    const { dtype } = v.aval
    return (dtype === "float32" || dtype === "float64") && v.aval.size >= STAGE_MIN && (slotReaders.get(inSlots[i]) ?? 0) >= 2
  })
  return { jaxpr, consts, slotCount: slot.size, steps, inSlots, outSlots, stageInputs }
}

/** Inputs smaller than this are not copied into the engine's memory (the resident minimum). */
const STAGE_MIN = 1024

/**
 * The arguments as the run reads them: a heap input that several steps read
 * (a batch read by the forward and the backward product) is copied into the
 * engine's memory once, instead of being staged by each kernel.
 */
const stagedArgs = (program: Program, args: ReadonlyArray<NdArray>): ReadonlyArray<NdArray> => {
  let out: Array<NdArray> | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (!program.stageInputs[i] || !(a instanceof ArrayValue) || cpu.isResidentBuffer(a.buffer) || !a.isContiguous) continue
    const copy = cpu.takePooled(a.dtype, a.aval.size) // resident inside a run (contents unspecified)
    if (copy === undefined || !cpu.isResidentBuffer(copy)) {
      if (copy !== undefined) cpu.recycle(a.dtype, copy)
      continue
    }
    copy.set(a.buffer.subarray(a.offset, a.offset + a.aval.size))
    out ??= args.slice()
    out[i] = ArrayValue.fromBuffer(copy, a.dtype, a.shape)
  }
  return out ?? args
}

/** Primitives whose outputs may be arrays the caller's own code holds (never recycled). */
const foreignOutputs = new Set(["pure_callback"])

/**
 * Run a compiled program on concrete arrays. Values are dropped after their
 * last reader; a dropped value whose buffer this run allocated, and which no
 * live value or output shares (views share buffers), goes back to the buffer
 * pool for the next allocation of its size. Large intermediate values (and
 * large inputs several steps read, copied in once) live in the WebAssembly
 * engine's memory when it is shared, so its kernels read and write them
 * without staging copies. Outputs in that memory are copied to the
 * JavaScript heap, or, when the call has donated arguments, kept there for
 * the caller; every other such buffer is given back before the run returns,
 * and the donated arguments are then deleted (`retire`).
 */
export const runProgram = (program: Program, args: ReadonlyArray<NdArray>, donated?: ReadonlyArray<boolean>): Array<NdArray> => {
  ensureBackend()
  checkLive("jit", args)
  checkLive("jit", program.consts)
  const keep = donated !== undefined
  let outs: Array<ArrayValue> | undefined
  try {
    return cpu.withBufferReuse((allocated: Set<cpu.Buffer>) => {
      try {
        outs = settle(execute(program, stagedArgs(program, args), allocated, keep), allocated, keep)
        return outs
      } finally {
        // no other buffer in the engine's memory outlives the run
        for (const b of allocated) {
          if (cpu.isResidentBuffer(b)) {
            cpu.freeResident(b)
            allocated.delete(b)
          }
        }
      }
    }, true)
  } finally {
    if (donated !== undefined) retire(args as ReadonlyArray<ArrayValue>, donated, outs ?? [])
  }
}

/**
 * The outputs as the caller gets them: those in engine memory this run
 * allocated are kept there (a call with donations) or copied to the
 * JavaScript heap — once per buffer, views keeping their layout.
 */
const settle = (values: ReadonlyArray<ArrayValue>, allocated: Set<cpu.Buffer>, keep: boolean): Array<ArrayValue> => {
  const copies = new Map<cpu.Buffer, cpu.Buffer | null>()
  return values.map((v) => {
    if (!allocated.has(v.buffer) || !cpu.isResidentBuffer(v.buffer)) return v
    let copy = copies.get(v.buffer)
    if (copy === undefined) {
      if (keep && cpu.keepResident(v.buffer)) {
        allocated.delete(v.buffer)
        copy = null
      } else copy = v.buffer.slice()
      copies.set(v.buffer, copy)
    }
    return copy === null ? v : new ArrayValue(copy, v.dtype, v.shape, v.strides, v.offset)
  })
}

/** Whether `a` is its whole buffer, each element once: row-major up to a permutation of its axes (a reshape or transpose of it). */
const coversBuffer = (a: ArrayValue): boolean => {
  if (a.offset !== 0 || a.aval.size !== a.buffer.length) return false
  const dims = a.shape.map((d, i) => [d, a.strides[i]] as const).filter(([d]) => d > 1).sort((p, q) => p[1] - q[1])
  let expected = 1
  for (const [d, stride] of dims) {
    if (stride !== expected) return false
    expected *= d
  }
  return true
}

/**
 * Deletes the donated arguments and gives their memory back: a kept buffer
 * to the engine's memory, a heap buffer to the buffer pool (where the next
 * `NdArray.array` of its size or a later run's allocation finds it). Every
 * array over a donated buffer is deleted with it (views of the whole
 * buffer: the same data). Spared: buffers also passed undonated or
 * returned, and arrays that are a part of their buffer (a slice, a
 * broadcast), which donating would take from under the arrays over the rest.
 */
const retire = (args: ReadonlyArray<ArrayValue>, donated: ReadonlyArray<boolean>, outs: ReadonlyArray<ArrayValue>): void => {
  const spared = new Set<cpu.Buffer>()
  for (const o of outs) spared.add(o.buffer)
  for (let i = 0; i < args.length; i++) if (!donated[i]) spared.add(args[i].buffer)
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const b = a.buffer
    if (!donated[i] || spared.has(b) || !coversBuffer(a)) continue
    spared.add(b) // once per buffer
    markDeleted(b)
    // (pooled as a new view of the same memory: the deleted arrays keep the old view, which stays deleted)
    if (!cpu.releaseKept(b) && !cpu.isResidentBuffer(b)) cpu.recycle(a.dtype, new (b.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => cpu.Buffer)(b.buffer, b.byteOffset, b.length))
  }
}

/** One step's outputs (no closure per step: a compiled program runs many steps per call). */
const runStep = (step: Step, ins: ReadonlyArray<ArrayValue>): ReadonlyArray<ArrayValue> => {
  if (step.kind === "fused") {
    const out = step.outAvals[0]
    return [ArrayValue.fromBuffer(cpu.mapNew(step.expr, step.bool, ins, out.shape, out.dtype, step.simd), out.dtype, out.shape)]
  }
  return step.prim.kernel ? step.prim.kernel(ins, step.params, step.outAvals) : step.prim.impl(ins, step.params)
}

const execute = (program: Program, args: ReadonlyArray<NdArray>, allocated: Set<cpu.Buffer>, keepOutputs: boolean): Array<ArrayValue> => {
  const env: Array<ArrayValue | undefined> = new Array(program.slotCount)
  const { consts, inSlots, steps, outSlots } = program
  const live = new Map<cpu.Buffer, number>()
  for (let i = 0; i < consts.length; i++) env[i] = consts[i] as ArrayValue
  for (let i = 0; i < inSlots.length; i++) {
    const v = args[i] as ArrayValue
    env[inSlots[i]] = v
    // an input this run copied into the engine's memory (stagedArgs) is freed when it and every view of it are dead
    if (allocated.has(v.buffer)) live.set(v.buffer, (live.get(v.buffer) ?? 0) + 1)
  }
  for (let k = 0; k < steps.length; k++) {
    const step = steps[k]
    const ins: Array<ArrayValue> = new Array(step.inputs.length)
    for (let j = 0; j < ins.length; j++) ins[j] = env[step.inputs[j]]!
    // a step that makes a program output allocates on the JavaScript heap, unless outputs are kept
    const heap = step.escapes && !keepOutputs
    const outer = heap ? cpu.heapBuffersOn() : false
    let outs: ReadonlyArray<ArrayValue>
    try {
      outs = runStep(step, ins)
    } finally {
      if (heap) cpu.heapBuffersOff(outer)
    }
    const foreign = step.kind === "kernel" && foreignOutputs.has(step.prim.name)
    for (let j = 0; j < outs.length; j++) {
      const v = outs[j]
      env[step.outputs[j]] = v
      if (foreign) allocated.delete(v.buffer) // may be an array the callback's code keeps
      live.set(v.buffer, (live.get(v.buffer) ?? 0) + 1)
    }
    for (const s of step.release) {
      const v = env[s]!
      env[s] = undefined
      const n = live.get(v.buffer)
      if (n === undefined) continue // an input or constant
      if (n > 1) live.set(v.buffer, n - 1)
      else {
        live.delete(v.buffer)
        if (allocated.has(v.buffer)) cpu.recycle(v.dtype, v.buffer)
      }
    }
  }
  return outSlots.map((s) => env[s]!)
}

// ---------------------------------------------------------------------------
// Cache keys

const ids = new WeakMap<object, number>()
let nextId = 0
const identity = (o: object): number => {
  let id = ids.get(o)
  if (id === undefined) {
    id = nextId++
    ids.set(o, id)
  }
  return id
}

/** A key for the structure of a tree (static leaves by JSON when plain, else by identity). */
const defKey = (def: Tree.TreeDef): string => {
  switch (def.kind) {
    case "leaf":
      return "*"
    case "array":
      return `[${def.children.map(defKey).join(",")}]`
    case "object":
      return `{${def.keys.map((k, i) => `${JSON.stringify(k)}:${defKey(def.children[i])}`).join(",")}}`
    default:
      return `s(${staticKey((def as { readonly value: unknown }).value)})`
  }
}

const staticKey = (value: unknown): string => {
  if (value === null || value === undefined || typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return `${typeof value}:${String(value)}`
  }
  if (typeof value === "function" || typeof value === "symbol") return `#${typeof value === "symbol" ? String(value) : identity(value)}`
  try {
    return `j:${JSON.stringify(value)}`
  } catch {
    return `#${identity(value as object)}`
  }
}

const avalKey = (x: NdArray): string => `${x.dtype}[${x.shape.join(",")}]`

interface Entry {
  readonly program: Program
  readonly outDef: Tree.TreeDef
}

/**
 * Compile `f`: the first call with a new signature (argument structure,
 * shapes, dtypes, static arguments) traces it into a program; later calls
 * with that signature run the program. Same results as `f`, faster when `f`
 * is made of many small operations or contains `grad`/`vmap`.
 *
 * @example
 * const step = jit((p: Params, x: NdArray, y: NdArray) => {
 *   const g = grad(loss)(p, x, y)
 *   return Tree.map(p, (w: NdArray, gw: NdArray) => NdArray.sub(w, NdArray.mul(gw, 0.1)), g)
 * })
 * params = step(params, x, y) // traced once, then replayed
 * @category transforms
 * @since 0.1.0
 */
export const jit = <Args extends Array<any>, R>(f: (...args: Args) => R, opts?: JitOptions): ((...args: Args) => R) => {
  const options = optionsObject("jit", opts, "jit(f, { staticArgnums: [1] })")
  const cache = new Map<string, Entry>()
  const limit = Math.max(1, options.cacheSize ?? 32)
  const jitted = (...args: Args): R => {
    const statics = options.staticArgnums === undefined ? [] : normalizeArgnums("jit", options.staticArgnums, args.length)
    const donate = options.donateArgnums === undefined ? [] : normalizeArgnums("jit", options.donateArgnums, args.length)
    if (donate.some((i) => statics.includes(i))) {
      throw new TransformError({ transform: "jit", hint: `argument ${donate.find((i) => statics.includes(i))} is both static and donated; a static argument has no arrays to donate` })
    }
    const dynamic = args.filter((_, i) => !statics.includes(i))
    const [xs, inDef] = flattenArrays(dynamic)
    // Inside another transform, or with traced arguments: just run f (the enclosing transform interprets it).
    if (depth() > 0 || xs.some((x) => isTracer(x))) return f(...args)
    const key = `${defKey(inDef)}|${xs.map(avalKey).join(";")}|${statics.map((i) => staticKey(args[i])).join(";")}`
    let entry = cache.get(key)
    if (entry === undefined) {
      entry = trace(f, args, statics, inDef, xs)
      if (cache.size >= limit) cache.delete(cache.keys().next().value!)
    } else {
      cache.delete(key) // most recently used last
    }
    cache.set(key, entry)
    let donated: Array<boolean> | undefined
    if (donate.length > 0) {
      // one flag per array leaf, in the order flattenArrays gave them
      donated = []
      for (let i = 0; i < args.length; i++) {
        if (statics.includes(i)) continue
        const n = flattenArrays(args[i])[0].length
        for (let k = 0; k < n; k++) donated.push(donate.includes(i))
      }
    }
    return Tree.unflatten(entry.outDef, runProgram(entry.program, xs, donated)) as R
  }
  return jitted
}

const trace = (f: (...args: Array<any>) => unknown, args: ReadonlyArray<unknown>, statics: ReadonlyArray<number>, inDef: Tree.TreeDef, xs: ReadonlyArray<NdArray>): Entry => {
  let outDef: Tree.TreeDef | undefined
  const flat = (...leaves: Array<NdArray>): Array<NdArray> => {
    const dynamic = Tree.unflatten<Array<unknown>>(inDef, leaves)
    const full: Array<unknown> = []
    let d = 0
    for (let i = 0; i < args.length; i++) full.push(statics.includes(i) ? args[i] : dynamic[d++])
    const [outs, def] = flattenArrays(f(...full))
    outDef = def
    return outs
  }
  let staged: ReturnType<typeof partialEvalFlat>
  try {
    staged = partialEvalFlat(
      flat,
      xs.map((x) => ({ unknown: x.aval })),
      true,
      "jit"
    )
  } catch (e) {
    if (e instanceof TransformError && /^(item|data|toArray) \(under jit\)/.test(e.transform)) {
      throw new TransformError({
        transform: "jit",
        hint: `the function read the values of a traced argument (${e.transform.split(" ")[0]}) while jit traced it with shapes only; pass that argument in staticArgnums, move the read outside the jitted function, or do not jit it`
      })
    }
    throw e
  }
  return { program: compileJaxpr(staged.jaxpr, staged.consts), outDef: outDef! }
}
