/**
 * Elementwise kernels (casts, unary and binary ops, select) and the strided
 * loop generator they share with the copy-like kernels.
 *
 * Each kernel is a loop generated with `new Function` and specialised per
 * expression, dtype and inner-loop layout, so that the hot loop contains the
 * op inline instead of a callback. Operand dimensions are first collapsed
 * (size-1 dims dropped, adjacent dims merged when every operand is
 * contiguous across them), so a same-shape contiguous op is a single flat
 * loop, and broadcasts and transposes become an inner loop plus an outer
 * odometer over the remaining dims.
 */
import type { SimdNode, SimdPlan } from "../wasm/fused"
import { erf } from "./special"
import { allocate, allocateUninit, contiguousStrides, isContiguous, sizeOf } from "./types"
import type { Buffer, DType, View } from "./types"

// ---------------------------------------------------------------------------
// WebAssembly SIMD loops (installed by the backend selection)
// ---------------------------------------------------------------------------

/** What the WebAssembly backend provides for elementwise maps (see wasm/fused.ts). */
export interface SimdImplementation {
  readonly plan: (root: SimdNode, leafDtypes: ReadonlyArray<DType>) => SimdPlan | undefined
  /** writes the result into `out`; false when WebAssembly is unavailable (nothing written) */
  readonly run: (plan: SimdPlan, inputs: ReadonlyArray<View>, kinds: string, n: number, out: Float32Array | Float64Array | Uint8Array) => boolean
}

let simd: SimdImplementation | null = null

/** Installs (or with null removes) the SIMD loops; the JavaScript loops stay the reference and the fallback. */
export const setSimdImplementation = (impl: SimdImplementation | null): void => {
  simd = impl
  eagerPlans.clear()
}

/** Below this many elements no SIMD loop is worth it (each plan has its own threshold, `minSize`, at least this). */
const SIMD_MIN_SIZE = 64

/** Plans of single ops for eager calls, by op, then by a number coding the dtypes (null: no SIMD form). */
const eagerPlans = new Map<string, Map<number, SimdPlan | null>>()

const dtypeNumber: Record<DType, number> = { float32: 0, float64: 1, int32: 2, bool: 3 }

/** The SIMD plan of one op on `size` elements, when the SIMD loops are installed and the size is worth it. */
const eagerPlan = (op: string, inDtypes: ReadonlyArray<DType>, outDtype: DType, size: number): SimdPlan | undefined => {
  if (simd === null || size < SIMD_MIN_SIZE) return undefined
  let byDtypes = eagerPlans.get(op)
  if (byDtypes === undefined) {
    byDtypes = new Map()
    eagerPlans.set(op, byDtypes)
  }
  let code = dtypeNumber[outDtype]
  for (let j = 0; j < inDtypes.length; j++) code = code * 4 + dtypeNumber[inDtypes[j]]
  let plan = byDtypes.get(code)
  if (plan === undefined) {
    plan = simd.plan({ op, dtype: outDtype, args: inDtypes.map((_, leaf) => ({ leaf })) }, inDtypes) ?? null
    byDtypes.set(code, plan)
  }
  return plan ?? undefined
}

// ---------------------------------------------------------------------------
// Scalar helpers used inside generated code
// ---------------------------------------------------------------------------

/**
 * `1 / (1 + exp(-x))` without overflow for large |x|: with e = exp(−|x|),
 * 1 / (1 + e) for x ≥ 0 and e / (1 + e) below. The numerator is chosen
 * arithmetically (no branch to mispredict on data of mixed signs); it is
 * exactly 1 or e, so the value is that of the two-branch formula.
 */
export const logistic = (x: number): number => {
  const e = Math.exp(-Math.abs(x))
  const s = +(x >= 0)
  return (s + (1 - s) * e) / (1 + e)
}

/** Round half to even, like NumPy's `round`. */
export const roundEven = (x: number): number => {
  const r = Math.round(x) // rounds half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/** Floored modulo: the result has the sign of the divisor (Python / NumPy `%`). */
export const floorMod = (x: number, y: number): number => {
  const r = x % y
  return r !== 0 && r < 0 !== y < 0 ? r + y : r
}

const helperNames = ["erf", "logistic", "roundEven", "floorMod"]
const helpers = [erf, logistic, roundEven, floorMod]

/** Compiles generated source (which may use the helpers above) and returns the function it returns. */
export const compile = <F>(source: string): F =>
  new Function(...helperNames, `"use strict";\n${source}`)(...helpers) as F

// ---------------------------------------------------------------------------
// Shape utilities
// ---------------------------------------------------------------------------

export const dtypeOfBuffer = (b: Buffer): DType =>
  b instanceof Float32Array ? "float32" : b instanceof Float64Array ? "float64" : b instanceof Int32Array ? "int32" : "bool"

/**
 * Drops size-1 dims and merges adjacent dims along which every operand is
 * contiguous. Always returns at least one dim. `shape` must have no 0 dims.
 */
export const collapseDims = (
  shape: ReadonlyArray<number>,
  strides: ReadonlyArray<ReadonlyArray<number>>
): { shape: Array<number>; strides: Array<Array<number>> } => {
  const outShape: Array<number> = []
  const outStrides: Array<Array<number>> = strides.map(() => [])
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]
    if (size === 1) continue
    const k = outShape.length - 1
    if (k >= 0 && strides.every((s, j) => outStrides[j][k] === s[d] * size)) {
      outShape[k] *= size
      for (let j = 0; j < strides.length; j++) outStrides[j][k] = strides[j][d]
    } else {
      outShape.push(size)
      for (let j = 0; j < strides.length; j++) outStrides[j].push(strides[j][d])
    }
  }
  if (outShape.length === 0) {
    outShape.push(1)
    for (const s of outStrides) s.push(0)
  }
  return { shape: outShape, strides: outStrides }
}

/** Inner-loop access pattern of an operand: contiguous, scalar (stride 0) or general stride. */
type Kind = "c" | "s" | "g"
export const kindOf = (stride: number): Kind => (stride === 1 ? "c" : stride === 0 ? "s" : "g")

/**
 * Source of the odometer step that advances the pointers `ptrs` (with stride
 * arrays `strides`) to the next row. Expects `shape`, `last` and `idx` in scope.
 */
export const odometerSource = (ptrs: ReadonlyArray<string>, strides: ReadonlyArray<string>): string => `
    for (let d = last - 1; d >= 0; d--) {
      const sd = shape[d];
      if (++idx[d] < sd) { ${ptrs.map((p, j) => `${p} += ${strides[j]}[d];`).join(" ")} break; }
      idx[d] = 0; ${ptrs.map((p, j) => `${p} -= ${strides[j]}[d] * (sd - 1);`).join(" ")}
    }`

// ---------------------------------------------------------------------------
// The generic strided map
// ---------------------------------------------------------------------------

type MapKernel = (
  out: Buffer,
  po: number,
  so: ReadonlyArray<number>,
  ins: ReadonlyArray<Buffer>,
  pis: ReadonlyArray<number>,
  sis: ReadonlyArray<ReadonlyArray<number>>,
  shape: ReadonlyArray<number>
) => void

/** Kernels by expression, then by a short key of the store mode, layouts and dtypes. */
const mapCache = new Map<string, Map<string, MapKernel>>()

/** How a map kernel stores its value: overwrite, add, or logical-or (adding into a bool buffer). */
type StoreMode = "set" | "add" | "or"

/**
 * Generates `out[...] = value` (or `+=`, or a logical or) where `value` reads
 * the inputs as `$0`, `$1`, …; `outKind` and `inKinds` specialise the inner loop.
 */
const buildMapKernel = (expr: string, mode: StoreMode, outKind: Kind, inKinds: ReadonlyArray<Kind>): MapKernel => {
  const ids = inKinds.map((_, j) => j)
  const value = expr.replace(/\$(\d+)/g, "x$1")
  const q = outKind === "c" ? "po + i" : "po + i * to"
  const store =
    mode === "set"
      ? `out[${q}] = ${value};`
      : mode === "add"
        ? `out[${q}] += ${value};`
        : `out[${q}] = out[${q}] !== 0 || (${value}) !== 0 ? 1 : 0;`
  const load = (j: number): string => (inKinds[j] === "c" ? `a${j}[p${j} + i]` : `a${j}[p${j} + i * t${j}]`)
  const src = `
  return function mapKernel(out, po, so, ins, pis, sis, shape) {
    const last = shape.length - 1, n = shape[last], to = so[last];
    ${ids.map((j) => `const a${j} = ins[${j}], s${j} = sis[${j}], t${j} = s${j}[last]; let p${j} = pis[${j}];`).join("\n    ")}
    let rows = 1;
    for (let d = 0; d < last; d++) rows *= shape[d];
    const idx = new Int32Array(last + 1);
    for (let r = 0; r < rows; r++) {
      ${ids.filter((j) => inKinds[j] === "s").map((j) => `const x${j} = a${j}[p${j}];`).join(" ")}
      for (let i = 0; i < n; i++) {
        ${ids.filter((j) => inKinds[j] !== "s").map((j) => `const x${j} = ${load(j)};`).join(" ")}
        ${store}
      }
      ${odometerSource(["po", ...ids.map((j) => `p${j}`)], ["so", ...ids.map((j) => `s${j}`)])}
    }
  };`
  return compile<MapKernel>(src)
}

/**
 * Runs the elementwise expression `expr` (inputs `$0`, `$1`, …, already
 * broadcast to `shape`) into the strided destination `out`. For a `bool`
 * destination the value is normalised to 0/1 unless `boolResult` says it
 * already is. With `accumulate`, adds into the destination instead (a
 * logical or for a bool destination).
 */
export const mapInto = (
  expr: string,
  boolResult: boolean,
  accumulate: boolean,
  out: Buffer,
  outOffset: number,
  outStrides: ReadonlyArray<number>,
  inputs: ReadonlyArray<View>,
  shape: ReadonlyArray<number>
): void => {
  if (sizeOf(shape) === 0) return
  const outDtype = dtypeOfBuffer(out)
  const isBool = outDtype === "bool"
  const mode: StoreMode = !accumulate ? "set" : isBool ? "or" : "add"
  const value = isBool && mode === "set" && !boolResult ? `+((${expr}) !== 0)` : expr
  const c = collapseDims(shape, [outStrides, ...inputs.map((v) => v.strides)])
  const last = c.shape.length - 1
  const outKind = c.strides[0][last] === 1 ? "c" : "g"
  const inKinds = inputs.map((_, j) => kindOf(c.strides[j + 1][last]))
  const inTypes = inputs.map((v, j) => dtypeOfBuffer(v.buffer) + inKinds[j]).join(",")
  let byExpr = mapCache.get(value)
  if (byExpr === undefined) {
    byExpr = new Map()
    mapCache.set(value, byExpr)
  }
  const key = `${mode}|${outDtype}${outKind}|${inTypes}`
  let kernel = byExpr.get(key)
  if (kernel === undefined) {
    kernel = buildMapKernel(value, mode, outKind, inKinds)
    byExpr.set(key, kernel)
  }
  kernel(
    out,
    outOffset,
    c.strides[0],
    inputs.map((v) => v.buffer),
    inputs.map((v) => v.offset),
    c.strides.slice(1),
    c.shape
  )
}

/** Copies (and casts) `src` into the strided destination `dst` of the same logical shape. */
export const copyInto = (dst: Buffer, dstOffset: number, dstStrides: ReadonlyArray<number>, src: View): void =>
  mapInto("$0", false, false, dst, dstOffset, dstStrides, [src], src.shape)

/** Adds `src` into the strided destination `dst` of the same logical shape. */
export const addInto = (dst: Buffer, dstOffset: number, dstStrides: ReadonlyArray<number>, src: View): void =>
  mapInto("$0", false, true, dst, dstOffset, dstStrides, [src], src.shape)

/**
 * Runs `expr` (inputs `$0`, `$1`, …, already broadcast to `outShape`) into a
 * fresh contiguous buffer of `outShape` — as a WebAssembly SIMD loop when
 * `plan` (the same expression for the SIMD emitter) is given, the SIMD loops
 * are installed and the operands are flat.
 */
export const mapNew = (
  expr: string,
  boolResult: boolean,
  inputs: ReadonlyArray<View>,
  outShape: ReadonlyArray<number>,
  outDtype: DType,
  plan?: SimdPlan
): Buffer => {
  const size = sizeOf(outShape)
  if (size === 0) return allocate(outDtype, size)
  // Fast path: every operand is either contiguous with the output's shape or one value broadcast
  // everywhere (all strides 0) — one flat loop, no dim bookkeeping.
  // The SIMD loops also take rows broadcast down leading dims ("b": a bias), staged by repeating the row.
  const simdOk = plan !== undefined && simd !== null && size >= plan.minSize
  let kinds = ""
  for (let j = 0; j < inputs.length; j++) {
    let kind = flatKind(inputs[j], outShape)
    if (kind === "" && simdOk && broadcastRows(inputs[j], outShape)) kind = "b"
    if (kind === "") {
      const out = allocateUninit(outDtype, size)
      mapInto(expr, boolResult, false, out, 0, contiguousStrides(outShape), inputs, outShape)
      return out
    }
    kinds += kind
  }
  // Every loop writes every element: the output needs no zeroing.
  const out = allocateUninit(outDtype, size)
  if (simdOk && simd!.run(plan!, inputs, kinds, size, out as Float32Array | Float64Array | Uint8Array)) return out
  if (kinds.includes("b")) mapInto(expr, boolResult, false, out, 0, contiguousStrides(outShape), inputs, outShape)
  else flatKernel(expr, boolResult, outDtype, inputs, kinds)(out, inputs, size)
  return out
}

/**
 * Whether `v` is one contiguous row repeated down its leading dims (strides
 * 0 there, row-major over the trailing dims) — e.g. a bias broadcast to
 * [batch, features].
 */
export const broadcastRows = (v: View, shape: ReadonlyArray<number>): boolean => {
  const n = shape.length
  if (v.shape.length !== n) return false
  let d = n
  let stride = 1
  while (d > 0 && (shape[d - 1] === 1 || v.strides[d - 1] === stride)) {
    stride *= shape[d - 1]
    d--
  }
  for (let i = 0; i < d; i++) if (v.strides[i] !== 0 && shape[i] !== 1) return false
  return true
}

/** "c": contiguous with shape `shape`; "s": one value everywhere; "": neither. */
export const flatKind = (v: View, shape: ReadonlyArray<number>): string => {
  const n = shape.length
  if (v.shape.length !== n) return ""
  let contiguous = true
  let scalar = true
  let stride = 1
  for (let i = n - 1; i >= 0 && (contiguous || scalar); i--) {
    if (v.strides[i] !== 0) scalar = false
    if (contiguous && v.shape[i] !== shape[i]) contiguous = false
    else if (contiguous && shape[i] !== 1 && v.strides[i] !== stride) contiguous = false
    stride *= shape[i]
  }
  return contiguous ? "c" : scalar ? "s" : ""
}

type FlatKernel = (out: Buffer, inputs: ReadonlyArray<View>, n: number) => void
/** Kernels by expression, then by a short key of the output dtype, the operand kinds and dtypes (no long string is built per call). */
const flatCache = new Map<string, Map<string, FlatKernel>>()

const dtypeCode: Record<DType, string> = { float32: "f", float64: "d", int32: "i", bool: "b" }

const flatKernel = (expr: string, boolResult: boolean, outDtype: DType, inputs: ReadonlyArray<View>, kinds: string): FlatKernel => {
  let byExpr = flatCache.get(expr)
  if (byExpr === undefined) {
    byExpr = new Map()
    flatCache.set(expr, byExpr)
  }
  let key = (boolResult ? "b" : "n") + dtypeCode[outDtype] + kinds
  for (let j = 0; j < inputs.length; j++) key += dtypeCode[inputs[j].dtype]
  let kernel = byExpr.get(key)
  if (kernel === undefined) {
    const value = outDtype === "bool" && !boolResult ? `+((${expr}) !== 0)` : expr
    const ids = inputs.map((_, j) => j)
    const scalar = (j: number) => kinds[j] === "s"
    const src = `
  return function flatKernel(out, ins, n) {
    ${ids.map((j) => (scalar(j) ? `const x${j} = ins[${j}].buffer[ins[${j}].offset];` : `const a${j} = ins[${j}].buffer, p${j} = ins[${j}].offset;`)).join(" ")}
    for (let i = 0; i < n; i++) {
      ${ids.filter((j) => !scalar(j)).map((j) => `const x${j} = a${j}[p${j} + i];`).join(" ")}
      out[i] = ${value.replace(/\$(\d+)/g, "x$1")};
    }
  };`
    kernel = compile<FlatKernel>(src)
    byExpr.set(key, kernel)
  }
  return kernel
}

// ---------------------------------------------------------------------------
// Public kernels
// ---------------------------------------------------------------------------

/**
 * A contiguous row-major copy of `x`, cast to `dtype`. Float to int32
 * truncates toward zero; anything to bool is `x !== 0` (NaN is true).
 */
export const contiguous = (x: View, dtype: DType = x.dtype): Buffer => {
  const size = sizeOf(x.shape)
  if (dtype === x.dtype && isContiguous(x)) {
    const out = allocate(dtype, size)
    out.set(x.buffer.subarray(x.offset, x.offset + size))
    return out
  }
  return mapNew("$0", false, [x], x.shape, dtype)
}

export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sqrt"
  | "sin"
  | "cos"
  | "tan"
  | "tanh"
  | "abs"
  | "sign"
  | "erf"
  | "logistic"
  | "not"
  | "floor"
  | "ceil"
  | "round"
  | "square"
  | "reciprocal"
  | "rsqrt"
  | "atan"
  | "asin"
  | "acos"
  | "sinh"
  | "cosh"
  | "asinh"
  | "acosh"
  | "atanh"
  | "log2"
  | "log10"
  | "exp2"
  | "isnan"
  | "isfinite"

const unaryExpr: Record<UnaryOp, string> = {
  neg: "-$0",
  exp: "Math.exp($0)",
  log: "Math.log($0)",
  log1p: "Math.log1p($0)",
  expm1: "Math.expm1($0)",
  sqrt: "Math.sqrt($0)",
  sin: "Math.sin($0)",
  cos: "Math.cos($0)",
  tan: "Math.tan($0)",
  tanh: "Math.tanh($0)",
  abs: "Math.abs($0)",
  sign: "($0 > 0 ? 1 : $0 < 0 ? -1 : $0)", // keeps 0, -0 and NaN
  erf: "erf($0)",
  logistic: "logistic($0)",
  not: "+($0 === 0)",
  floor: "Math.floor($0)",
  ceil: "Math.ceil($0)",
  round: "roundEven($0)",
  square: "$0 * $0",
  reciprocal: "1 / $0",
  rsqrt: "1 / Math.sqrt($0)",
  atan: "Math.atan($0)",
  asin: "Math.asin($0)",
  acos: "Math.acos($0)",
  sinh: "Math.sinh($0)",
  cosh: "Math.cosh($0)",
  asinh: "Math.asinh($0)",
  acosh: "Math.acosh($0)",
  atanh: "Math.atanh($0)",
  log2: "Math.log2($0)",
  log10: "Math.log10($0)",
  exp2: "Math.pow(2, $0)",
  isnan: "+($0 !== $0)",
  isfinite: "+($0 - $0 === 0)"
}

const boolUnary = new Set<UnaryOp>(["not", "isnan", "isfinite"])

const isIntegral = (d: DType): boolean => d === "int32" || d === "bool"

/**
 * The per-element expression of a unary op (over `$0`), and whether its
 * value is already 0/1 — what a fused kernel inlines.
 */
export const unaryExpression = (op: UnaryOp, inDtype: DType, outDtype: DType): { readonly expr: string; readonly bool: boolean } => ({
  // An exact int32 product (a double product of two int32 may exceed 2^53 before wrapping).
  expr: op === "square" && outDtype === "int32" && isIntegral(inDtype) ? "Math.imul($0, $0)" : unaryExpr[op],
  bool: boolUnary.has(op)
})

export const unary = (op: UnaryOp, x: View, outDtype: DType): Buffer => {
  const size = sizeOf(x.shape)
  if (size < SIMD_MIN_SIZE && size > 0 && isContiguous(x)) {
    return smallMap(smallUnary, op, dtypeNumber[x.dtype] * 4 + dtypeNumber[outDtype], unaryExpression, [x], "c", outDtype, size)
  }
  const { expr, bool } = unaryExpression(op, x.dtype, outDtype)
  return mapNew(expr, bool, [x], x.shape, outDtype, eagerPlan(op, [x.dtype], outDtype, size))
}

/** The flat kernels of small unary and binary maps, by op, then by a number coding the operand kinds and dtypes. */
const smallUnary = new Map<string, Array<FlatKernel | undefined>>()
const smallBinary = new Map<string, Array<FlatKernel | undefined>>()

/**
 * A small map (below the SIMD size; most eager ops in a small model) whose
 * operands are flat (`kinds`): the kernel mapNew would choose, taken from
 * `tables` by op and `code`, with no expression object or string key built
 * per call.
 */
const smallMap = <Op extends string>(
  tables: Map<string, Array<FlatKernel | undefined>>,
  op: Op,
  code: number,
  expression: (op: Op, inDtype: DType, outDtype: DType) => { readonly expr: string; readonly bool: boolean },
  inputs: ReadonlyArray<View>,
  kinds: string,
  outDtype: DType,
  size: number
): Buffer => {
  let table = tables.get(op)
  if (table === undefined) {
    table = []
    tables.set(op, table)
  }
  let kernel = table[code]
  if (kernel === undefined) {
    const { expr, bool } = expression(op, inputs[0].dtype, outDtype)
    kernel = table[code] = flatKernel(expr, bool, outDtype, inputs, kinds)
  }
  const out = allocateUninit(outDtype, size)
  kernel(out, inputs, size)
  return out
}

export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "max"
  | "min"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "and"
  | "or"
  | "xor"
  | "atan2"
  | "mod"
  | "floorDiv"

const binaryExpr: Record<BinaryOp, string> = {
  add: "$0 + $1",
  sub: "$0 - $1",
  mul: "$0 * $1",
  div: "$0 / $1",
  pow: "Math.pow($0, $1)",
  max: "($0 > $1 || $0 !== $0 ? $0 : $1)", // NaN-propagating
  min: "($0 < $1 || $0 !== $0 ? $0 : $1)",
  eq: "+($0 === $1)",
  ne: "+($0 !== $1)",
  lt: "+($0 < $1)",
  le: "+($0 <= $1)",
  gt: "+($0 > $1)",
  ge: "+($0 >= $1)",
  and: "(($0 !== 0) & ($1 !== 0))", // bitwise on the two booleans: 0/1 with no branch to mispredict
  or: "(($0 !== 0) | ($1 !== 0))",
  xor: "+(($0 !== 0) !== ($1 !== 0))",
  atan2: "Math.atan2($0, $1)",
  mod: "floorMod($0, $1)",
  floorDiv: "Math.floor($0 / $1)"
}

const boolBinary = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"])

/** `op(x, y)` where x and y are already broadcast to `outShape`. */
export const binary = (op: BinaryOp, x: View, y: View, outShape: ReadonlyArray<number>, outDtype: DType): Buffer => {
  const size = sizeOf(outShape)
  const kx = size < SIMD_MIN_SIZE && size > 0 ? flatKind(x, outShape) : ""
  const ky = kx === "" ? "" : flatKind(y, outShape)
  if (ky !== "") {
    // each operand contiguous with the output's shape ("c") or one broadcast value ("s")
    const code = ((((kx === "c" ? 0 : 2) + (ky === "c" ? 0 : 1)) * 4 + dtypeNumber[x.dtype]) * 4 + dtypeNumber[y.dtype]) * 4 + dtypeNumber[outDtype]
    return smallMap(smallBinary, op, code, binaryExpression, [x, y], kx + ky, outDtype, size)
  }
  const { expr, bool } = binaryExpression(op, x.dtype, outDtype)
  return mapNew(expr, bool, [x, y], outShape, outDtype, eagerPlan(op, [x.dtype, y.dtype], outDtype, size))
}

/** The per-element expression of a binary op (over `$0`, `$1`), and whether its value is already 0/1. */
export const binaryExpression = (op: BinaryOp, inDtype: DType, outDtype: DType): { readonly expr: string; readonly bool: boolean } => ({
  expr: op === "mul" && outDtype === "int32" && isIntegral(inDtype) ? "Math.imul($0, $1)" : binaryExpr[op],
  bool: boolBinary.has(op)
})

/** The per-element expression of `where(cond, x, y)`. */
export const selectExpression = { expr: "($0 !== 0 ? $1 : $2)", bool: false } as const

/** `where(cond, x, y)`, all three already broadcast to `outShape`. */
export const select = (cond: View, x: View, y: View, outShape: ReadonlyArray<number>, outDtype: DType): Buffer =>
  mapNew(selectExpression.expr, false, [cond, x, y], outShape, outDtype, eagerPlan("select", [cond.dtype, x.dtype, y.dtype], outDtype, sizeOf(outShape)))
