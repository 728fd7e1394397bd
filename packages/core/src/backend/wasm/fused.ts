/**
 * Elementwise expressions as WebAssembly SIMD loops.
 *
 * An expression is a tree of elementwise ops over leaves `$0`, `$1`, … — one
 * op of the CPU backend (`jit` fuses chains of them into one tree, eager ops
 * are one-node trees). When every op of the tree has an exact SIMD form and
 * every value is of one float dtype (or a comparison mask), the tree compiles
 * to one loop over f32x4 / f64x2 vectors; otherwise `simdPlan` declines and
 * the JavaScript loop runs.
 *
 * Only ops whose SIMD result is bit-identical to the JavaScript kernels'
 * are here: IEEE add, sub, mul, div and sqrt round once to the lane type,
 * exactly like `Math.fround` of the double result for float32; compares,
 * selects and NaN-propagating max/min are built from compare masks and
 * `bitselect` to reproduce the JavaScript ternaries (including which of
 * ±0 they return). Transcendentals (exp, log, tanh, …) are not: a SIMD
 * polynomial would not give `Math.exp`'s numbers, so those trees stay in
 * JavaScript.
 *
 * Operands are contiguous arrays or one value broadcast everywhere; the
 * contiguous ones are copied into the engine's memory (a memcpy), the loop
 * writes the result there and it is copied out.
 */
import { ValType, Simd, type FunctionBuilder, type ModuleBuilder } from "./emitter.js"
import { alignUp, kernelExports, scratch } from "./kernels.js"

type DType = "float32" | "float64" | "int32" | "bool"
type FloatDType = "float32" | "float64"

/** An elementwise expression: a leaf `$index`, or an op (a CPU backend op name) of its arguments with its output dtype. */
export type SimdNode =
  | { readonly leaf: number }
  | { readonly op: string; readonly dtype: DType; readonly args: ReadonlyArray<SimdNode> }

/** A tree the SIMD emitter accepts, with the float dtype of its lanes and a cache key. */
export interface SimdPlan {
  readonly root: SimdNode
  readonly dtype: FloatDType
  readonly leaves: number
  readonly key: string
}

/** Value classes: lanes of the plan's float dtype, or a comparison mask. */
type Cls = "num" | "mask"

/** Ops by name: argument classes and result class. */
const signatures: Record<string, { readonly args: ReadonlyArray<Cls>; readonly out: Cls }> = {
  add: { args: ["num", "num"], out: "num" },
  sub: { args: ["num", "num"], out: "num" },
  mul: { args: ["num", "num"], out: "num" },
  div: { args: ["num", "num"], out: "num" },
  max: { args: ["num", "num"], out: "num" },
  min: { args: ["num", "num"], out: "num" },
  neg: { args: ["num"], out: "num" },
  abs: { args: ["num"], out: "num" },
  sqrt: { args: ["num"], out: "num" },
  floor: { args: ["num"], out: "num" },
  ceil: { args: ["num"], out: "num" },
  round: { args: ["num"], out: "num" },
  square: { args: ["num"], out: "num" },
  reciprocal: { args: ["num"], out: "num" },
  eq: { args: ["num", "num"], out: "mask" },
  ne: { args: ["num", "num"], out: "mask" },
  lt: { args: ["num", "num"], out: "mask" },
  le: { args: ["num", "num"], out: "mask" },
  gt: { args: ["num", "num"], out: "mask" },
  ge: { args: ["num", "num"], out: "mask" },
  isnan: { args: ["num"], out: "mask" },
  isfinite: { args: ["num"], out: "mask" },
  not: { args: ["mask"], out: "mask" },
  and: { args: ["mask", "mask"], out: "mask" },
  or: { args: ["mask", "mask"], out: "mask" },
  xor: { args: ["mask", "mask"], out: "mask" },
  select: { args: ["mask", "num", "num"], out: "num" },
  /** a bool → float cast: 1 where the mask is set */
  fromBool: { args: ["mask"], out: "num" },
  /** a float → bool cast: x !== 0 (NaN is true) */
  toBool: { args: ["num"], out: "mask" },
  id: { args: ["num"], out: "num" },
  idMask: { args: ["mask"], out: "mask" }
}

const isFloatDType = (d: DType): d is FloatDType => d === "float32" || d === "float64"

/**
 * The plan for `root` over leaves of `leafDtypes`, or undefined when some op
 * has no exact SIMD form or the values are not all of one float dtype.
 */
export const simdPlan = (root: SimdNode, leafDtypes: ReadonlyArray<DType>): SimdPlan | undefined => {
  if ("leaf" in root || !isFloatDType(root.dtype)) return undefined
  const dtype = root.dtype
  if (leafDtypes.some((d) => d !== dtype)) return undefined
  const check = (node: SimdNode, want: Cls): string | undefined => {
    if ("leaf" in node) return want === "num" ? `$${node.leaf}` : undefined
    const sig = signatures[node.op]
    if (sig === undefined || sig.out !== want || sig.args.length !== node.args.length) return undefined
    if (node.dtype !== (sig.out === "num" ? dtype : "bool")) return undefined
    const parts: Array<string> = []
    for (let i = 0; i < node.args.length; i++) {
      const part = check(node.args[i], sig.args[i])
      if (part === undefined) return undefined
      parts.push(part)
    }
    return `${node.op}(${parts.join(",")})`
  }
  const key = check(root, "num")
  return key === undefined ? undefined : { root, dtype, leaves: leafDtypes.length, key: `${dtype}:${key}` }
}

interface Lanes {
  readonly elt: number
  readonly splatLoad: (f: FunctionBuilder) => void
  readonly splat: (f: FunctionBuilder, v: number) => void
  readonly op: (name: "add" | "sub" | "mul" | "div" | "neg" | "abs" | "sqrt" | "floor" | "ceil" | "nearest" | "eq" | "ne" | "lt" | "le" | "gt" | "ge") => number
}

const f32Lanes: Lanes = {
  elt: 4,
  splatLoad: (f) => void f.v128Load32Splat(0),
  splat: (f, v) => void f.f32Const(v).simd(Simd.f32x4_splat),
  op: (name) => Simd[`f32x4_${name}`]
}

const f64Lanes: Lanes = {
  elt: 8,
  splatLoad: (f) => void f.v128Load64Splat(0),
  splat: (f, v) => void f.f64Const(v).simd(Simd.f64x2_splat),
  op: (name) => Simd[`f64x2_${name}`]
}

/**
 * Emits one loop: `run(p0, …, pL-1, out, bytes)` where a contiguous leaf's
 * pointer walks with the output and a broadcast leaf's points at its value.
 */
const buildLoop = (mod: ModuleBuilder, plan: SimdPlan, kinds: string): void => {
  const { i32, v128 } = ValType
  const L = plan.leaves
  const { f } = mod.func("run", [...Array.from({ length: L }, () => i32), i32, i32], [])
  const OUT = L
  const BYTES = L + 1
  const lanes = plan.dtype === "float32" ? f32Lanes : f64Lanes
  const i = f.local(i32)
  const scalars: Array<number> = []
  for (let j = 0; j < L; j++) {
    if (kinds[j] !== "s") continue
    scalars[j] = f.local(v128)
    f.get(j)
    lanes.splatLoad(f)
    f.set(scalars[j])
  }
  const eval_ = (node: SimdNode): number => {
    const t = f.local(v128)
    if ("leaf" in node) {
      if (kinds[node.leaf] === "s") return scalars[node.leaf]
      f.get(node.leaf).get(i).add().v128Load(0, 1).set(t)
      return t
    }
    const a = node.args.map(eval_)
    const get = (...ls: Array<number>) => ls.forEach((l) => f.get(l))
    const bin = (name: Parameters<Lanes["op"]>[0], x: number, y: number) => {
      get(x, y)
      f.simd(lanes.op(name))
    }
    switch (node.op) {
      case "add":
      case "sub":
      case "mul":
      case "div":
      case "eq":
      case "ne":
      case "lt":
      case "le":
      case "gt":
      case "ge":
        bin(node.op, a[0], a[1])
        break
      case "neg":
      case "abs":
      case "sqrt":
      case "floor":
      case "ceil":
        get(a[0])
        f.simd(lanes.op(node.op))
        break
      case "round": // roundEven = ties to even
        get(a[0])
        f.simd(lanes.op("nearest"))
        break
      case "square":
        bin("mul", a[0], a[0])
        break
      case "reciprocal":
        lanes.splat(f, 1)
        get(a[0])
        f.simd(lanes.op("div"))
        break
      case "max":
      case "min":
        // ($0 > $1 || $0 !== $0 ? $0 : $1): NaN-propagating, $1 on ties
        get(a[0], a[1])
        bin(node.op === "max" ? "gt" : "lt", a[0], a[1])
        bin("ne", a[0], a[0])
        f.simd(Simd.v128_or).simd(Simd.v128_bitselect)
        break
      case "isnan":
        bin("ne", a[0], a[0])
        break
      case "isfinite": // x − x === 0
        bin("sub", a[0], a[0])
        lanes.splat(f, 0)
        f.simd(lanes.op("eq"))
        break
      case "not":
        get(a[0])
        f.simd(Simd.v128_not)
        break
      case "and":
      case "or":
      case "xor":
        get(a[0], a[1])
        f.simd(node.op === "and" ? Simd.v128_and : node.op === "or" ? Simd.v128_or : Simd.v128_xor)
        break
      case "select":
        get(a[1], a[2], a[0])
        f.simd(Simd.v128_bitselect)
        break
      case "fromBool":
        get(a[0])
        lanes.splat(f, 1)
        f.simd(Simd.v128_and)
        break
      case "toBool":
        get(a[0])
        lanes.splat(f, 0)
        f.simd(lanes.op("ne"))
        break
      case "id":
      case "idMask":
        return a[0]
      default:
        throw new Error(`simd: no rule for ${node.op}`)
    }
    f.set(t)
    return t
  }
  f.i32(0).set(i)
  f.block(() => {
    f.get(i).get(BYTES).geS().brIf(0)
    f.loop(() => {
      const r = eval_(plan.root)
      f.get(OUT).get(i).add().get(r).v128Store(0, 1)
      f.addConst(i, 16)
      f.get(i).get(BYTES).ltS().brIf(0)
    })
  })
}

type Run = (...ptrs: Array<number>) => void

const stats = { calls: 0 }

/** How many maps ran as SIMD loops (tests and diagnostics). */
export const simdStats = (): { readonly calls: number } => ({ ...stats })

const loops = new Map<string, Run | undefined>()

const loopFor = (plan: SimdPlan, kinds: string): Run | undefined => {
  const key = `${plan.key}|${kinds}`
  let run = loops.get(key)
  if (run === undefined && !loops.has(key)) {
    run = kernelExports<{ run: Run }>(`fused:${key}`, (mod) => buildLoop(mod, plan, kinds))?.run
    loops.set(key, run)
  }
  return run
}

interface Operand {
  readonly buffer: Float32Array | Float64Array | Int32Array | Uint8Array
  readonly offset: number
}

/**
 * Runs `plan` over `n` elements: `kinds[j]` is "c" for a contiguous operand,
 * "s" for one value broadcast everywhere. The result goes into `out` when
 * given, else into a new array (`slice`: no zero-filling); undefined when
 * WebAssembly is unavailable.
 */
export const runSimd = (
  plan: SimdPlan,
  inputs: ReadonlyArray<Operand>,
  kinds: string,
  n: number,
  out: Float32Array | Float64Array | undefined
): Float32Array | Float64Array | undefined => {
  const run = loopFor(plan, kinds)
  if (run === undefined) return undefined
  const elt = plan.dtype === "float32" ? 4 : 8
  const region = alignUp(n * elt)
  // layout: one 64-byte slot per broadcast value, then one region per contiguous operand, then the output
  let at = 64
  const ptrs: Array<number> = []
  for (let j = 0; j < inputs.length; j++) {
    ptrs.push(at)
    at += kinds[j] === "s" ? 64 : region
  }
  const outAt = at
  const views = scratch(outAt + region)
  if (views === undefined) return undefined
  const view = plan.dtype === "float32" ? views.f32 : views.f64
  for (let j = 0; j < inputs.length; j++) {
    const x = inputs[j]
    if (kinds[j] === "s") view[ptrs[j] / elt] = x.buffer[x.offset]
    else view.set(x.buffer.subarray(x.offset, x.offset + n), ptrs[j] / elt)
  }
  run(...ptrs, outAt, n * elt)
  stats.calls++
  if (out === undefined) return view.slice(outAt / elt, outAt / elt + n)
  out.set(view.subarray(outAt / elt, outAt / elt + n))
  return out
}
