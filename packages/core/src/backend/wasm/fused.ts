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
 * ±0 they return). `exp` (and `logistic`, built on it) is fdlibm's
 * `__ieee754_exp` — the algorithm behind V8's `Math.exp` — evaluated two
 * lanes at a time in float64 with every branch turned into a lane select,
 * so it returns `Math.exp`'s bits (float32 lanes are widened to float64 and
 * rounded back, as `Math.fround(Math.exp(x))` does). Other transcendentals
 * (log, tanh, …) have no SIMD form here and their trees stay in JavaScript.
 *
 * Operands are contiguous arrays or one value broadcast everywhere; the
 * contiguous ones are copied into the engine's memory (a memcpy), the loop
 * writes the result there and it is copied out.
 */
import { FunctionBuilder, ValType, Simd, type ModuleBuilder } from "./emitter.js"
import { alignUp, isResident, kernelExports, scratch } from "./kernels.js"

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
  /** which leaves are bool arrays (one byte per element, read as masks) */
  readonly masks: ReadonlyArray<boolean>
  /** the result is a mask, stored as a bool array (0/1 bytes) */
  readonly boolResult: boolean
  /**
   * Below this many elements the JavaScript loop is as fast (the SIMD call
   * costs ≈ 2 µs of staging and dispatch; an `exp` costs ≈ 12 ns in
   * JavaScript, plain arithmetic ≈ 1 ns).
   */
  readonly minSize: number
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
  exp: { args: ["num"], out: "num" },
  logistic: { args: ["num"], out: "num" },
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
  if ("leaf" in root) return undefined
  // the lanes: the float dtype of the result, or for a bool result (a mask, stored as bytes) that of the float leaves
  const floats = leafDtypes.filter(isFloatDType)
  const dtype = isFloatDType(root.dtype) ? root.dtype : root.dtype === "bool" && floats.length > 0 ? floats[0] : undefined
  if (dtype === undefined || leafDtypes.some((d) => d !== dtype && d !== "bool")) return undefined
  const check = (node: SimdNode, want: Cls): string | undefined => {
    // a leaf of the lanes' dtype where a number is wanted, a bool array (0/1 bytes, read as a mask) where a mask is
    if ("leaf" in node) return leafDtypes[node.leaf] === (want === "num" ? dtype : "bool") ? `${want === "num" ? "$" : "?"}${node.leaf}` : undefined
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
  const boolResult = root.dtype === "bool"
  const transcendental = (node: SimdNode): boolean => !("leaf" in node) && (node.op === "exp" || node.op === "logistic" || node.args.some(transcendental))
  const key = check(root, boolResult ? "mask" : "num")
  return key === undefined
    ? undefined
    : {
        root,
        dtype,
        boolResult,
        minSize: transcendental(root) ? 64 : 1024,
        leaves: leafDtypes.length,
        masks: leafDtypes.map((d) => d === "bool"),
        key: `${dtype}${boolResult ? "→bool" : ""}:${key}`
      }
}

interface Lanes {
  readonly elt: number
  readonly splatLoad: (f: FunctionBuilder) => void
  readonly splat: (f: FunctionBuilder, v: number) => void
  readonly name: string
  readonly op: (name: "add" | "sub" | "mul" | "div" | "neg" | "abs" | "sqrt" | "floor" | "ceil" | "nearest" | "eq" | "ne" | "lt" | "le" | "gt" | "ge") => number
}

const f32Lanes: Lanes = {
  elt: 4,
  splatLoad: (f) => void f.v128Load32Splat(0),
  splat: (f, v) => void f.f32Const(v).simd(Simd.f32x4_splat),
  name: "f32",
  op: (name) => Simd[`f32x4_${name}`]
}

const f64Lanes: Lanes = {
  elt: 8,
  splatLoad: (f) => void f.v128Load64Splat(0),
  splat: (f, v) => void f.f64Const(v).simd(Simd.f64x2_splat),
  name: "f64",
  op: (name) => Simd[`f64x2_${name}`]
}

const fromBits = (hi: number, lo = 0): number => {
  const u = new Uint32Array([lo, hi])
  return new Float64Array(u.buffer)[0]
}

/**
 * Pushes fdlibm's `__ieee754_exp` of the f64x2 local `X`, every branch a
 * lane select, and V8's one addition (exp(1) is exactly Math.E). The
 * thresholds on the high word become comparisons of |x|
 * with the doubles whose high word they are; k = ±1 for 0.5·ln2 < |x| <
 * 1.5·ln2 is what the general reduction computes there too.
 */
const emitExp = (f: FunctionBuilder, X: number, K: (v: number) => number, nonPositive = false): void => {
  const { v128 } = ValType
  const L = () => f.local(v128)
  const c = (v: number) => void f.get(K(v))
  const [ax, neg, mid, tiny, kd, hi, lo, xr, t, cc, y, res] = Array.from({ length: 12 }, L)
  const sel = (a: () => void, b: () => void, mask: number) => {
    a()
    b()
    f.get(mask).simd(Simd.v128_bitselect)
  }
  f.get(X).simd(Simd.f64x2_abs).set(ax)
  if (!nonPositive) f.get(X).get(K(0)).simd(Simd.f64x2_lt).set(neg)
  f.get(ax).get(K(fromBits(0x3fd62e43))).simd(Simd.f64x2_ge).set(mid) // hx > 0x3fd62e42
  f.get(ax).get(K(fromBits(0x3e300000))).simd(Simd.f64x2_lt).set(tiny) // hx < 0x3e300000
  // k = (int)(invln2·x ± 0.5) where |x| > 0.5·ln2, else 0
  f.get(X)
  c(1.4426950408889634) // invln2
  f.simd(Simd.f64x2_mul)
  // (x ≤ 0 known: the reduced branch has x < 0)
  if (nonPositive) c(-0.5)
  else {
    sel(
      () => c(-0.5),
      () => c(0.5),
      neg
    )
  }
  f.simd(Simd.f64x2_add).simd(Simd.f64x2_trunc) // |k| ≥ 1 here, never −0
  f.get(K(0)).get(mid).simd(Simd.v128_bitselect).set(kd)
  // hi = x − k·ln2HI, lo = k·ln2LO (t·ln2HI is exact), x' = hi − lo where reduced
  f.get(X).get(kd)
  c(6.9314718036912382e-1)
  f.simd(Simd.f64x2_mul).simd(Simd.f64x2_sub).set(hi)
  f.get(kd)
  c(1.9082149292705877e-10)
  f.simd(Simd.f64x2_mul).set(lo)
  // (k = 0 gives hi = x, lo = +0, so hi − lo = x: no select needed)
  f.get(hi).get(lo).simd(Simd.f64x2_sub).set(xr)
  // c = x − t·(P1 + t·(P2 + t·(P3 + t·(P4 + t·P5)))), t = x²
  f.get(xr).get(xr).simd(Simd.f64x2_mul).set(t)
  f.get(xr).get(t)
  c(1.66666666666666019037e-1)
  f.get(t)
  c(-2.77777777770155933842e-3)
  f.get(t)
  c(6.61375632143793436117e-5)
  f.get(t)
  c(-1.65339022054652515390e-6)
  f.get(t)
  c(4.13813679705723846039e-8)
  for (let i = 0; i < 4; i++) f.simd(Simd.f64x2_mul).simd(Simd.f64x2_add)
  f.simd(Simd.f64x2_mul).simd(Simd.f64x2_sub).set(cc)
  // y = 1 − ((lo − (x·c)/(2 − c)) − hi), scaled by 2^k through its exponent bits. fdlibm's
  // k = 0 branch, 1 − ((x·c)/(c − 2) − x), is the same number: a/(−b) = −(a/b), and with
  // hi = x, lo = +0 the two differ only in the sign of a zero that x ≠ 0 then absorbs
  // (x = 0 is the tiny case below)
  c(1)
  f.get(lo).get(xr).get(cc).simd(Simd.f64x2_mul)
  c(2)
  f.get(cc).simd(Simd.f64x2_sub).simd(Simd.f64x2_div).simd(Simd.f64x2_sub).get(hi).simd(Simd.f64x2_sub).simd(Simd.f64x2_sub).set(y)
  // 2^k·y: k + bias added to y's exponent bits. k + bias + 1.5·2^52 holds k + bias in its low
  // mantissa bits (two's complement mod 2^52), so shifting its bits left by 52 gives (k + bias)·2^52
  // mod 2^64, what an int64 k shifted would
  const scaled = (bias: number) => {
    f.get(y)
    f.get(kd).get(K(bias + 6755399441055744)).simd(Simd.f64x2_add)
    f.i32(52).simd(Simd.i64x2_shl).simd(Simd.i64x2_add)
  }
  sel(
    () => scaled(0),
    () => {
      scaled(1000)
      c(9.33263618503218878990e-302) // 2^-1000
      f.simd(Simd.f64x2_mul)
    },
    (() => {
      const m = L()
      f.get(kd).get(K(-1021)).simd(Simd.f64x2_ge).set(m)
      return m
    })()
  )
  f.set(res)
  // |x| < 2^-28: 1 + x; overflow → +∞ (huge·huge), underflow → 0, NaN → x + x
  const override = (value: () => void, mask: () => void) => {
    value()
    f.get(res)
    mask()
    f.simd(Simd.v128_bitselect).set(res)
  }
  override(
    () => {
      c(1)
      f.get(X).simd(Simd.f64x2_add)
    },
    () => f.get(tiny)
  )
  // overflow (never for x ≤ 0)
  if (!nonPositive) {
    override(
      () => c(Infinity),
      () => {
        f.get(X)
        c(7.09782712893383973096e2)
        f.simd(Simd.f64x2_gt)
      }
    )
  }
  override(
    () => c(0),
    () => {
      f.get(X)
      c(-7.45133219101941108420e2)
      f.simd(Simd.f64x2_lt)
    }
  )
  override(
    () => f.get(X).get(X).simd(Simd.f64x2_add),
    () => f.get(X).get(X).simd(Simd.f64x2_ne)
  )
  // V8 returns Math.E for exp(1) (fdlibm's reduction gets its last bit wrong; not a case for x ≤ 0)
  if (!nonPositive) {
    override(
      () => c(Math.E),
      () => {
        f.get(X)
        c(1)
        f.simd(Simd.f64x2_eq)
      }
    )
  }
  f.get(res)
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
  /** Pushes op(v) for the f64x2 value in local `v` (exp and logistic compute in float64). */
  const wide = (op: string, v: number): void => {
    if (op === "exp") {
      emitExp(f, v, K64)
      return
    }
    // logistic(x) = (x ≥ 0 ? 1 : e) / (1 + e), e = exp(−|x|): the JS helper's numbers
    const e = f.local(v128)
    const m = f.local(v128)
    f.get(v).simd(Simd.f64x2_abs).simd(Simd.f64x2_neg).set(m)
    emitExp(f, m, K64, true) // m = −|x| ≤ 0 (or NaN)
    f.set(e)
    f.get(K64(1)).get(e)
    f.get(v).get(K64(0)).simd(Simd.f64x2_ge)
    f.simd(Simd.v128_bitselect)
    f.get(K64(1)).get(e).simd(Simd.f64x2_add)
    f.simd(Simd.f64x2_div)
  }
  const scalars: Array<number> = []
  for (let j = 0; j < L; j++) {
    if (kinds[j] !== "s") continue
    scalars[j] = f.local(v128)
    f.get(j)
    lanes.splatLoad(f)
    f.set(scalars[j])
  }
  // Constant vectors live in locals set up here, before the loop (splats inside the loop are not hoisted).
  let prologueEnd = f.code.length
  const constants = new Map<string, number>()
  const hoisted = (kind: Lanes, v: number): number => {
    const key = `${kind.name}:${Object.is(v, -0) ? "-0" : v}`
    let local = constants.get(key)
    if (local === undefined) {
      local = f.local(v128)
      constants.set(key, local)
      const init = new FunctionBuilder([], [])
      kind.splat(init, v)
      init.set(local)
      f.code.splice(prologueEnd, 0, ...init.code)
      prologueEnd += init.code.length
    }
    return local
  }
  const K64 = (v: number) => hoisted(f64Lanes, v)
  const K = (v: number) => hoisted(lanes, v)
  const eval_ = (node: SimdNode): number => {
    const t = f.local(v128)
    if ("leaf" in node) {
      if (kinds[node.leaf] === "s") return scalars[node.leaf]
      if (!plan.masks[node.leaf]) {
        f.get(node.leaf).get(i).add().v128Load(0, 1).set(t)
        return t
      }
      // a bool array: the lanes' bytes, widened to 32-bit lanes, ≠ 0 (for f64x2 each mask doubled to 64 bits)
      f.get(node.leaf).get(i).i32(plan.dtype === "float32" ? 2 : 3).shrU().add().v128Load32Zero(0, 1)
      f.simd(Simd.i16x8_extend_low_i8x16_u).simd(Simd.i32x4_extend_low_i16x8_u).v128Zero().simd(Simd.i32x4_ne)
      if (plan.dtype === "float64") f.v128Zero().shuffle([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7])
      f.set(t)
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
        f.get(K(1))
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
        f.get(K(0))
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
        get(a[0], K(1))
        f.simd(Simd.v128_and)
        break
      case "toBool":
        get(a[0], K(0))
        f.simd(lanes.op("ne"))
        break
      case "exp":
      case "logistic":
        if (plan.dtype === "float64") wide(node.op, a[0])
        else {
          // widen each half of the f32x4 to f64x2, compute, round back and rejoin
          const lo = f.local(v128)
          const hi = f.local(v128)
          get(a[0])
          f.simd(Simd.f64x2_promote_low_f32x4).set(lo)
          get(a[0], a[0])
          f.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).simd(Simd.f64x2_promote_low_f32x4).set(hi)
          wide(node.op, lo)
          f.simd(Simd.f32x4_demote_f64x2_zero)
          wide(node.op, hi)
          f.simd(Simd.f32x4_demote_f64x2_zero)
          f.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23])
        }
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
      if (!plan.boolResult) f.get(OUT).get(i).add().get(r).v128Store(0, 1)
      else {
        // the mask's lanes narrowed to bytes (all ones → 1) and stored, 4 (f32x4) or 2 (f64x2) per step
        f.get(OUT).get(i).i32(plan.dtype === "float32" ? 2 : 3).shrU().add()
        const m32 = f.local(v128)
        if (plan.dtype === "float64") f.get(r).get(r).shuffle([0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]).set(m32)
        else f.get(r).set(m32)
        const m16 = f.local(v128)
        f.get(m32).get(m32).simd(Simd.i16x8_narrow_i32x4_s).set(m16)
        f.get(m16).get(m16).simd(Simd.i8x16_narrow_i16x8_s)
        f.i32(1).simd(Simd.i8x16_splat).simd(Simd.v128_and)
        f.v128StoreLane(plan.dtype === "float32" ? 32 : 16, 0)
      }
      f.addConst(i, 16)
      f.get(i).get(BYTES).ltS().brIf(0)
    })
  })
}

type Run = (...ptrs: Array<number>) => void

const stats = { calls: 0 }

/** How many maps ran as SIMD loops (tests and diagnostics). */
export const simdStats = (): { readonly calls: number } => ({ ...stats })

/** Compiled loops by plan key, then operand kinds (null: the module did not build). */
const loops = new Map<string, Map<string, Run | null>>()

const loopFor = (plan: SimdPlan, kinds: string): Run | undefined => {
  let byKinds = loops.get(plan.key)
  if (byKinds === undefined) {
    byKinds = new Map()
    loops.set(plan.key, byKinds)
  }
  let run = byKinds.get(kinds)
  if (run === undefined) {
    run = kernelExports<{ run: Run }>(`fused:${plan.key}|${kinds}`, (mod) => buildLoop(mod, plan, kinds))?.run ?? null
    byKinds.set(kinds, run)
  }
  return run ?? undefined
}

interface Operand {
  readonly buffer: Float32Array | Float64Array | Int32Array | Uint8Array
  readonly offset: number
  readonly shape: ReadonlyArray<number>
  readonly strides: ReadonlyArray<number>
}

/** Elements of the repeated row of a row-broadcast operand (its trailing non-zero-stride dims). */
const rowLength = (x: Operand): number => {
  let row = 1
  for (let d = x.shape.length - 1; d >= 0 && (x.strides[d] !== 0 || x.shape[d] === 1); d--) row *= x.shape[d]
  return row
}

/** Whether operand `j` is read where it lives (a contiguous operand resident in the engine's memory). */
const readsInPlace = (kinds: string, inputs: ReadonlyArray<Operand>, j: number): boolean => kinds[j] === "c" && isResident(inputs[j].buffer)

/**
 * Runs `plan` over `n` elements: `kinds[j]` is "c" for a contiguous operand,
 * "s" for one value broadcast everywhere, "b" for a row repeated down the
 * leading dims. Operands resident in the engine's memory are read in place,
 * the others staged. The result goes into `out` (in place when resident);
 * false when WebAssembly is unavailable (nothing written).
 */
export const runSimd = (
  plan: SimdPlan,
  inputs: ReadonlyArray<Operand>,
  kinds: string,
  n: number,
  out: Float32Array | Float64Array | Uint8Array
): boolean => {
  const run = loopFor(plan, kinds.includes("b") ? kinds.replaceAll("b", "c") : kinds)
  if (run === undefined) return false
  const elt = plan.dtype === "float32" ? 4 : 8
  const region = alignUp(n * elt)
  // scratch layout: one 64-byte slot per broadcast value, one region per staged operand, then the output
  let at = 0
  const rel: Array<number> = []
  for (let j = 0; j < inputs.length; j++) {
    rel.push(at)
    at += kinds[j] === "s" ? 64 : readsInPlace(kinds, inputs, j) ? 0 : plan.masks[j] ? alignUp(n) : region
  }
  const outElt = plan.boolResult ? 1 : elt
  const outInPlace = isResident(out)
  const views = scratch(at + (outInPlace ? 0 : alignUp(n * outElt)))
  if (views === undefined) return false
  const view = plan.dtype === "float32" ? views.f32 : views.f64
  const ptrs: Array<number> = []
  for (let j = 0; j < inputs.length; j++) {
    const x = inputs[j]
    const ptr = views.base + rel[j]
    if (readsInPlace(kinds, inputs, j)) {
      ptrs.push(x.buffer.byteOffset + x.offset * (plan.masks[j] ? 1 : elt))
      continue
    }
    ptrs.push(ptr)
    const mask = plan.masks[j]
    // a bool array is staged as bytes; a broadcast bool as a lane of all ones or all zeros
    const target: Float32Array | Float64Array | Uint8Array = mask ? views.u8 : view
    const unit = mask ? 1 : elt
    if (kinds[j] === "s") {
      if (mask) new Int32Array(view.buffer, ptr, elt / 4).fill(x.buffer[x.offset] !== 0 ? -1 : 0)
      else view[ptr / elt] = x.buffer[x.offset]
    } else if (kinds[j] === "c") target.set(x.buffer.subarray(x.offset, x.offset + n), ptr / unit)
    else {
      // a row repeated down the leading dims: copy it once per repetition
      const row = rowLength(x)
      const src = x.buffer.subarray(x.offset, x.offset + row)
      for (let i = ptr / unit, end = i + n; i < end; i += row) target.set(src, i)
    }
  }
  const outAt = outInPlace ? out.byteOffset : views.base + at
  run(...ptrs, outAt, n * elt)
  stats.calls++
  if (!outInPlace) out.set((plan.boolResult ? views.u8 : view).subarray(outAt / outElt, outAt / outElt + n))
  return true
}
