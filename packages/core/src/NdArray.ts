/**
 * The array API, in NumPy's and JAX's names (camelCase): constructors,
 * elementwise operations with broadcasting and dtype promotion, reductions,
 * shape manipulation, products and convolution. Every function is pure, works
 * on concrete arrays and on tracers alike (so it runs under every transform),
 * and validates its input, throwing a typed error that names the operation,
 * the shapes/axes/dtypes and what would be valid.
 *
 * Functions with an array first argument are `dual`: `NdArray.add(x, y)` or
 * `pipe(x, NdArray.add(y))`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { dual } from "effect/Function"
import * as cpu from "./backend/cpu/index.js"
import { AxisError, DTypeError, ShapeError, ValueError } from "./Errors.js"
import { axisOptions, checkDType, optionsObject, type DType, isFloat, normalizeAxes, normalizeAxis } from "./interpreter/aval.js"
import { ArrayValue, checkLive, isNdArray, type NdArray } from "./interpreter/ndarray.js"
import { asArray, type ArrayLike, promote, scalarArray } from "./ops/coerce.js"
import * as P from "./primitives/index.js"

export type { ArrayLike } from "./ops/coerce.js"
export type { DType } from "./interpreter/aval.js"
export { isNdArray } from "./interpreter/ndarray.js"

// ---------------------------------------------------------------------------
// Constructors

/** Nested JavaScript arrays of numbers or booleans. */
export type NestedArray = number | boolean | ReadonlyArray<NestedArray>

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array

const typedDType = (t: Typed): DType | null =>
  t instanceof Float32Array ? "float32" : t instanceof Float64Array ? "float64" : t instanceof Int32Array ? "int32" : null

const fromTyped = (values: globalThis.ArrayLike<number>, dtype: DType, shape: ReadonlyArray<number>): NdArray => {
  const buffer = cpu.allocateForCopy(dtype, values.length) // every element is written below
  if (dtype === "bool") for (let i = 0; i < values.length; i++) buffer[i] = values[i] ? 1 : 0
  else buffer.set(values as globalThis.ArrayLike<number>)
  return ArrayValue.fromBuffer(buffer, dtype, shape)
}

const inferShape = (data: NestedArray): Array<number> => {
  const shape: Array<number> = []
  let d: NestedArray = data
  while (Array.isArray(d)) {
    shape.push(d.length)
    if (d.length === 0) break
    d = d[0]
  }
  return shape
}

/**
 * Build an array from nested JavaScript arrays (validated: ragged input is a
 * `ShapeError`) or from a typed array plus a shape. The data is copied, so
 * later changes to the caller's buffer never change the array. The dtype
 * defaults to float32 for numbers (and to the typed array's type), bool for
 * booleans.
 *
 * @example
 * const x = NdArray.array([[1, 2], [3, 4]])                  // float32 [2, 2]
 * const y = NdArray.array(new Float64Array([1, 2, 3]), { shape: [3] })
 * @category constructors
 * @since 0.1.0
 */
export const array = (data: NestedArray | Typed | NdArray, opts?: { readonly dtype?: DType; readonly shape?: ReadonlyArray<number> }): NdArray => {
  const options = optionsObject("array", opts, `array(data, { dtype: "float64" })`)
  const dtype = options.dtype === undefined ? undefined : checkDType("array", options.dtype)
  if (isNdArray(data)) {
    const x = dtype ? asArray(data, dtype) : data
    return options.shape ? reshape(x, options.shape) : x
  }
  if (ArrayBuffer.isView(data)) {
    const t = data as Typed
    const shape = options.shape ?? [t.length]
    const size = shape.reduce((a, b) => a * b, 1)
    if (shape.some((d) => !Number.isInteger(d) || d < 0) || size !== t.length) {
      throw new ShapeError({ op: "array", shapes: [shape], hint: `a typed array of length ${t.length} does not fill shape [${shape.join(", ")}]` })
    }
    const dt = dtype ?? typedDType(t)
    if (dt === null) throw new DTypeError({ op: "array", dtypes: [t.constructor.name], hint: "give the dtype of a Uint8Array explicitly (bool)" })
    return fromTyped(t, dt, shape)
  }
  const shape = inferShape(data)
  const flat: Array<number | boolean> = []
  let sawBool = false
  let sawNumber = false
  const walk = (d: NestedArray, dim: number, path: string) => {
    if (dim === shape.length) {
      if (Array.isArray(d)) throw new ShapeError({ op: "array", shapes: [shape], hint: `ragged nested array: element ${path} has more dimensions than the first element` })
      if (typeof d === "boolean") sawBool = true
      else if (typeof d === "number") sawNumber = true
      else throw new DTypeError({ op: "array", dtypes: [typeof d], hint: `element ${path} is not a number or boolean` })
      flat.push(d as number | boolean)
      return
    }
    if (!Array.isArray(d) || d.length !== shape[dim]) {
      throw new ShapeError({
        op: "array",
        shapes: [shape],
        hint: `ragged nested array: element ${path} has ${Array.isArray(d) ? `length ${d.length}` : "no dimension"} where length ${shape[dim]} was expected`
      })
    }
    d.forEach((c, i) => walk(c, dim + 1, `${path}[${i}]`))
  }
  walk(data, 0, "")
  const dt = dtype ?? (sawBool && !sawNumber ? "bool" : "float32")
  if (options.shape) return reshape(fromTyped(flat.map(Number), dt, shape), options.shape)
  return fromTyped(flat.map(Number), dt, shape)
}

/**
 * `array` for untrusted data (parsed JSON, user files): an `Effect` failing
 * with `ShapeError` or `DTypeError` instead of throwing.
 *
 * @category constructors
 * @since 0.1.0
 */
export const arrayEffect = (data: unknown, options: { readonly dtype?: DType; readonly shape?: ReadonlyArray<number> } = {}): Effect.Effect<NdArray, ShapeError | DTypeError> =>
  Effect.try({
    try: () => array(data as NestedArray, options),
    catch: (e) =>
      e instanceof ShapeError || e instanceof DTypeError ? e : new DTypeError({ op: "array", dtypes: [typeof data], hint: `not an array of numbers: ${String(e)}` })
  })

const checkShape = (op: string, shape: ReadonlyArray<number>): ReadonlyArray<number> => {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError({ op, shapes: [Array.isArray(shape) ? shape : []], hint: "a shape is a list of non-negative integers" })
  }
  // a copy: an op staged by jit keeps its shape, so a later change to the caller's list cannot reach it
  return shape.slice()
}

/**
 * An array of `shape` filled with `value`.
 * @category constructors
 * @since 0.1.0
 */
export const full = (shape: ReadonlyArray<number>, value: number | boolean, opts?: { readonly dtype?: DType }): NdArray => {
  const options = optionsObject("full", opts, `full([2, 3], 7, { dtype: "int32" })`)
  checkShape("full", shape)
  const dtype = checkDType("full", options.dtype ?? (typeof value === "boolean" ? "bool" : "float32"))
  const buffer = cpu.allocate(dtype, shape.reduce((a, b) => a * b, 1))
  const v = typeof value === "boolean" ? (value ? 1 : 0) : value
  if (v !== 0) buffer.fill(v)
  return ArrayValue.fromBuffer(buffer, dtype, shape)
}

/** Zeros. @category constructors @since 0.1.0 */
export const zeros = (shape: ReadonlyArray<number>, options?: { readonly dtype?: DType }): NdArray =>
  full(shape, 0, { dtype: optionsObject("zeros", options, `zeros([2, 3], { dtype: "float64" })`).dtype ?? "float32" })
/** Ones. @category constructors @since 0.1.0 */
export const ones = (shape: ReadonlyArray<number>, options?: { readonly dtype?: DType }): NdArray =>
  full(shape, 1, { dtype: optionsObject("ones", options, `ones([2, 3], { dtype: "float64" })`).dtype ?? "float32" })
/** Zeros with the shape and dtype of `x`. @category constructors @since 0.1.0 */
export const zerosLike = (x: NdArray, options?: { readonly dtype?: DType }): NdArray =>
  zeros(x.shape, { dtype: optionsObject("zerosLike", options, `zerosLike(x, { dtype: "float64" })`).dtype ?? x.dtype })
/** Ones with the shape and dtype of `x`. @category constructors @since 0.1.0 */
export const onesLike = (x: NdArray, options?: { readonly dtype?: DType }): NdArray =>
  ones(x.shape, { dtype: optionsObject("onesLike", options, `onesLike(x, { dtype: "float64" })`).dtype ?? x.dtype })
/** `value` with the shape and dtype of `x`. @category constructors @since 0.1.0 */
export const fullLike = (x: NdArray, value: number, options?: { readonly dtype?: DType }): NdArray =>
  full(x.shape, value, { dtype: optionsObject("fullLike", options, `fullLike(x, 7, { dtype: "float64" })`).dtype ?? x.dtype })

/**
 * Evenly spaced values in `[start, stop)`: `arange(n)`, `arange(n, { dtype })` or
 * `arange(start, stop, step, { dtype })`. Integer arguments give int32 unless a dtype is given.
 * @category constructors
 * @since 0.1.0
 */
export function arange(stop: number, options?: { readonly dtype?: DType }): NdArray
export function arange(start: number, stop?: number, step?: number, options?: { readonly dtype?: DType }): NdArray
export function arange(start: number, stopOrOptions?: number | { readonly dtype?: DType }, step = 1, options: { readonly dtype?: DType } = {}): NdArray {
  let stop: number
  if (stopOrOptions === undefined || (typeof stopOrOptions === "object" && stopOrOptions !== null)) {
    options = stopOrOptions ?? options
    stop = start
    start = 0
  } else stop = stopOrOptions
  options = optionsObject("arange", options, `arange(0, 1, 0.1, { dtype: "float64" })`)
  if (![start, stop].every(Number.isFinite)) throw new ValueError({ op: "arange", hint: `start and stop must be finite numbers, got ${start} and ${stop}` })
  if (step === 0 || !Number.isFinite(step)) throw new ValueError({ op: "arange", hint: `step must be a non-zero finite number, got ${step}` })
  const n = Math.max(0, Math.ceil((stop - start) / step))
  const dtype = checkDType("arange", options.dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32"))
  const buffer = cpu.allocate(dtype, n)
  for (let i = 0; i < n; i++) buffer[i] = start + i * step
  return ArrayValue.fromBuffer(buffer, dtype, [n])
}

/** `num` evenly spaced values from `start` to `stop` inclusive. @category constructors @since 0.1.0 */
export const linspace = (start: number, stop: number, num = 50, opts?: { readonly dtype?: DType; readonly endpoint?: boolean }): NdArray => {
  const options = optionsObject("linspace", opts, `linspace(0, 1, 11, { dtype: "float64" })`)
  if (!Number.isInteger(num) || num < 0) throw new ValueError({ op: "linspace", hint: `num must be a non-negative integer, got ${num}` })
  const dtype = checkDType("linspace", options.dtype ?? "float32")
  const buffer = cpu.allocate(dtype, num)
  const div = (options.endpoint ?? true) ? num - 1 : num
  const step = div > 0 ? (stop - start) / div : 0
  for (let i = 0; i < num; i++) buffer[i] = start + i * step
  if ((options.endpoint ?? true) && num > 1) buffer[num - 1] = stop
  return ArrayValue.fromBuffer(buffer, dtype, [num])
}

/** The identity matrix (`m` columns, default `n`; diagonal offset `k`). @category constructors @since 0.1.0 */
export const eye = (n: number, opts?: { readonly m?: number; readonly k?: number; readonly dtype?: DType }): NdArray => {
  const options = optionsObject("eye", opts, `eye(3, { dtype: "float64" })`)
  const m = options.m ?? n
  const k = options.k ?? 0
  const dtype = checkDType("eye", options.dtype ?? "float32")
  checkShape("eye", [n, m])
  const buffer = cpu.allocate(dtype, n * m)
  for (let i = 0; i < n; i++) if (i + k >= 0 && i + k < m) buffer[i * m + i + k] = 1
  return ArrayValue.fromBuffer(buffer, dtype, [n, m])
}

/** A 0-d array. @category constructors @since 0.1.0 */
export const scalar = (value: number | boolean, options?: { readonly dtype?: DType }): NdArray =>
  scalarArray(value, checkDType("scalar", optionsObject("scalar", options, `scalar(2, { dtype: "float64" })`).dtype ?? (typeof value === "boolean" ? "bool" : "float32")))

// ---------------------------------------------------------------------------
// Elementwise

type Binary = {
  (y: ArrayLike): (x: ArrayLike) => NdArray
  (x: ArrayLike, y: ArrayLike): NdArray
}

/**
 * A promoting binary op. Two bool operands stay bool where NumPy and JAX
 * define it (`add`/`maximum` are logical or, `mul`/`minimum` logical and);
 * elsewhere bool arithmetic is a DTypeError.
 */
const binary = (op: string, f: (x: NdArray, y: NdArray) => NdArray, minimum?: "float", onBool?: (x: NdArray, y: NdArray) => NdArray): Binary =>
  dual(2, (x: ArrayLike, y: ArrayLike) => {
    // two arrays of one dtype need no promotion (the common case, without the lists promote builds)
    if (isNdArray(x) && isNdArray(y) && x.dtype === y.dtype && x.dtype !== "bool" && (minimum === undefined || isFloat(x.dtype))) return f(x, y)
    const [a, b] = promote(op, [x, y], minimum)
    if (a.dtype === "bool" && onBool) return onBool(a, b)
    return f(a, b)
  })

const unaryFloat =
  (f: (x: NdArray) => NdArray, op: string) =>
  (x: ArrayLike): NdArray =>
    f(isNdArray(x) && isFloat(x.dtype) ? x : promote(op, [x], "float")[0])

const unaryNumber =
  (f: (x: NdArray) => NdArray) =>
  (x: ArrayLike): NdArray => {
    const a = asArray(x)
    return f(a.dtype === "bool" ? P.convert(a, "int32") : a)
  }

/** x + y, with broadcasting. @category elementwise @since 0.1.0 */
export const add = binary("add", P.add, undefined, P.logicalOr)
/** x − y. @category elementwise @since 0.1.0 */
export const sub = binary("sub", P.sub)
/** x · y (elementwise). @category elementwise @since 0.1.0 */
export const mul = binary("mul", P.mul, undefined, P.logicalAnd)
/** True division x / y; integer inputs give float32. @category elementwise @since 0.1.0 */
export const div = binary("div", P.div, "float")
/** xʸ; computed in floating point. @category elementwise @since 0.1.0 */
export const pow = binary("pow", P.pow, "float")
/** Elementwise maximum (NaN propagates). @category elementwise @since 0.1.0 */
export const maximum = binary("maximum", P.maximum, undefined, P.logicalOr)
/** Elementwise minimum (NaN propagates). @category elementwise @since 0.1.0 */
export const minimum = binary("minimum", P.minimum, undefined, P.logicalAnd)
/** Floored remainder, with the sign of the divisor (NumPy's `mod`). @category elementwise @since 0.1.0 */
export const mod = binary("mod", P.mod)
/** atan2(y, x). @category elementwise @since 0.1.0 */
export const atan2 = binary("atan2", P.atan2, "float")

/** −x. @category elementwise @since 0.1.0 */
export const neg = unaryNumber(P.neg)
/** |x|. @category elementwise @since 0.1.0 */
export const abs = unaryNumber(P.abs)
/** −1, 0 or 1. @category elementwise @since 0.1.0 */
export const sign = unaryNumber(P.sign)
/** x². @category elementwise @since 0.1.0 */
export const square = (x: ArrayLike): NdArray => {
  const a = unaryNumber((v) => v)(x)
  return P.mul(a, a)
}
/** eˣ. @category elementwise @since 0.1.0 */
export const exp = unaryFloat(P.exp, "exp")
/** Natural log; log(0) = −∞, negative → NaN. @category elementwise @since 0.1.0 */
export const log = unaryFloat(P.log, "log")
/** log(1 + x), accurate near 0. @category elementwise @since 0.1.0 */
export const log1p = unaryFloat(P.log1p, "log1p")
/** eˣ − 1, accurate near 0. @category elementwise @since 0.1.0 */
export const expm1 = unaryFloat(P.expm1, "expm1")
/** √x. @category elementwise @since 0.1.0 */
export const sqrt = unaryFloat(P.sqrt, "sqrt")
/** 1/x. @category elementwise @since 0.1.0 */
export const reciprocal = (x: ArrayLike): NdArray => div(1, x)
/** sin. @category elementwise @since 0.1.0 */
export const sin = unaryFloat(P.sin, "sin")
/** cos. @category elementwise @since 0.1.0 */
export const cos = unaryFloat(P.cos, "cos")
/** tan. @category elementwise @since 0.1.0 */
export const tan = unaryFloat(P.tan, "tan")
/** arctan. @category elementwise @since 0.1.0 */
export const atan = unaryFloat(P.atan, "atan")
/** tanh. @category elementwise @since 0.1.0 */
export const tanh = unaryFloat(P.tanh, "tanh")
/** The logistic sigmoid 1/(1 + e⁻ˣ), exact 0/1 in the tails (no overflow). @category elementwise @since 0.1.0 */
export const sigmoid = unaryFloat(P.logistic, "sigmoid")
/** The error function. @category elementwise @since 0.1.0 */
export const erf = unaryFloat(P.erf, "erf")
/** Round down. @category elementwise @since 0.1.0 */
export const floor = (x: ArrayLike): NdArray => {
  const a = asArray(x)
  return isFloat(a.dtype) ? P.floor(a) : a
}
/** Round up. @category elementwise @since 0.1.0 */
export const ceil = (x: ArrayLike): NdArray => {
  const a = asArray(x)
  return isFloat(a.dtype) ? P.ceil(a) : a
}
/** Round half to even. @category elementwise @since 0.1.0 */
export const round = (x: ArrayLike): NdArray => {
  const a = asArray(x)
  return isFloat(a.dtype) ? P.round(a) : a
}

/**
 * Clip to `[min, max]` (either may be omitted). The gradient is 1 inside and 0 outside.
 * @category elementwise
 * @since 0.1.0
 */
export const clip: {
  (min: ArrayLike | undefined, max?: ArrayLike): (x: ArrayLike) => NdArray
  (x: ArrayLike, min: ArrayLike | undefined, max?: ArrayLike): NdArray
} = dual(
  (args) => args.length === 3 || isNdArray(args[0]),
  (x: ArrayLike, min: ArrayLike | undefined, max?: ArrayLike): NdArray => {
    let y = asArray(x)
    if (min !== undefined) y = maximum(y, min)
    if (max !== undefined) y = minimum(y, max)
    return y
  }
)

/** `x` where `cond` is true, else `y`, with broadcasting. @category elementwise @since 0.1.0 */
export const where = (cond: ArrayLike, x: ArrayLike, y: ArrayLike): NdArray => {
  const c = asArray(cond)
  const [a, b] = promote("where", [x, y])
  return P.select(c.dtype === "bool" ? c : P.notEqual(c, 0), a, b)
}

const compare = (op: string, f: (x: NdArray, y: NdArray) => NdArray): Binary => binary(op, f)

/** x == y. @category elementwise @since 0.1.0 */
export const equal = compare("equal", P.equal)
/** x != y. @category elementwise @since 0.1.0 */
export const notEqual = compare("notEqual", P.notEqual)
/** x < y. @category elementwise @since 0.1.0 */
export const less = compare("less", P.less)
/** x <= y. @category elementwise @since 0.1.0 */
export const lessEqual = compare("lessEqual", P.lessEqual)
/** x > y. @category elementwise @since 0.1.0 */
export const greater = compare("greater", P.greater)
/** x >= y. @category elementwise @since 0.1.0 */
export const greaterEqual = compare("greaterEqual", P.greaterEqual)

const toBool = (x: ArrayLike): NdArray => {
  const a = asArray(x)
  return a.dtype === "bool" ? a : P.notEqual(a, 0)
}
/** Logical and (non-zero is true). @category elementwise @since 0.1.0 */
export const logicalAnd: Binary = dual(2, (x: ArrayLike, y: ArrayLike) => P.logicalAnd(toBool(x), toBool(y)))
/** Logical or. @category elementwise @since 0.1.0 */
export const logicalOr: Binary = dual(2, (x: ArrayLike, y: ArrayLike) => P.logicalOr(toBool(x), toBool(y)))
/** Logical xor. @category elementwise @since 0.1.0 */
export const logicalXor: Binary = dual(2, (x: ArrayLike, y: ArrayLike) => P.logicalXor(toBool(x), toBool(y)))
/** Logical not. @category elementwise @since 0.1.0 */
export const logicalNot = (x: ArrayLike): NdArray => P.logicalNot(toBool(x))
/** NaN test. @category elementwise @since 0.1.0 */
export const isNan = (x: ArrayLike): NdArray => P.isNan(asArray(x))
/** Finite test. @category elementwise @since 0.1.0 */
export const isFinite = (x: ArrayLike): NdArray => P.isFinite(asArray(x))

/**
 * Cast to `dtype` (float → int truncates toward zero; anything → bool is `x ≠ 0`).
 * @category elementwise
 * @since 0.1.0
 */
export const astype: {
  (dtype: DType): (x: NdArray) => NdArray
  (x: NdArray, dtype: DType): NdArray
} = dual(2, (x: NdArray, dtype: DType) => P.convert(x, checkDType("astype", dtype)))

/**
 * A copy of `x` with a buffer of its own (contiguous), like `np.copy`: what
 * to keep of an array that is about to be donated to a jitted call
 * (`donateArgnums`). Inside a transform it is the identity (traced values
 * are never written, so there is nothing to protect).
 * @category shapes
 * @since 0.1.0
 */
export const copy = (x: NdArray): NdArray => {
  if (!(x instanceof ArrayValue)) return x
  checkLive("copy", [x])
  return ArrayValue.fromBuffer(cpu.contiguous(x, x.dtype), x.dtype, x.shape)
}

/** The identity, but gradients do not flow through it. @category elementwise @since 0.1.0 */
export const stopGradient = (x: NdArray): NdArray => P.stopGradient(x)

// ---------------------------------------------------------------------------
// Reductions

/** Options of a reduction: `axis` (a number, a list, negative allowed; default all) and `keepDims`. */
export interface ReduceOptions {
  readonly axis?: number | ReadonlyArray<number> | null
  readonly keepDims?: boolean
}

type Reduction = {
  (options?: ReduceOptions): (x: NdArray) => NdArray
  (x: ArrayLike, options?: ReduceOptions): NdArray
}

const keep = (y: NdArray, shape: ReadonlyArray<number>, axes: ReadonlyArray<number>, keepDims: boolean | undefined): NdArray =>
  keepDims ? P.reshape(y, shape.map((d, i) => (axes.includes(i) ? 1 : d))) : y

const reduction = (op: string, f: (x: NdArray, axes: Array<number>) => NdArray, prepare: (x: NdArray) => NdArray = (x) => x): Reduction =>
  dual(
    (args) => isNdArray(args[0]) || typeof args[0] === "number" || typeof args[0] === "boolean",
    (x: ArrayLike, opts?: ReduceOptions) => {
      const options = axisOptions(op, opts)
      const a = prepare(asArray(x))
      const axes = normalizeAxes(op, options.axis, a.ndim)
      return keep(f(a, axes), a.shape, axes, options.keepDims)
    }
  )

const boolToInt = (x: NdArray) => (x.dtype === "bool" ? P.convert(x, "int32") : x)
const toFloat = (x: NdArray) => (isFloat(x.dtype) ? x : P.convert(x, "float32"))

/** Sum over axes (bool counts as int32). @category reductions @since 0.1.0 */
export const sum = reduction("sum", P.reduceSum, boolToInt)
/** Product over axes. @category reductions @since 0.1.0 */
export const prod = reduction("prod", P.reduceProd, boolToInt)
/** Maximum over axes (NaN propagates; the gradient is shared equally among ties). @category reductions @since 0.1.0 */
export const max = reduction("max", P.reduceMax)
/** Minimum over axes (NaN propagates; ties share the gradient). @category reductions @since 0.1.0 */
export const min = reduction("min", P.reduceMin)
/** True if any element is true. @category reductions @since 0.1.0 */
export const any = reduction("any", P.reduceMax, toBool)
/** True if every element is true. @category reductions @since 0.1.0 */
export const all = reduction("all", P.reduceMin, toBool)

const countOf = (shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): number => axes.reduce((n, a) => n * shape[a], 1)

/** Arithmetic mean over axes (integers give float32). @category reductions @since 0.1.0 */
export const mean = reduction("mean", (x, axes) => P.div(P.reduceSum(x, axes), countOf(x.shape, axes)), toFloat)

/** Options of `variance`/`std`: `ddof` is subtracted from the count (0: population, 1: sample). */
export interface VarOptions extends ReduceOptions {
  readonly ddof?: number
}

const varianceImpl = (op: "variance" | "std", x: NdArray, opts: VarOptions | undefined): NdArray => {
  const options = axisOptions(op, opts)
  const axes = normalizeAxes("var", options.axis, x.ndim)
  const m = P.reduceSum(x, axes)
  const n = countOf(x.shape, axes)
  const centred = P.sub(x, P.expandReduced(P.div(m, n), x.shape, axes))
  const v = P.div(P.reduceSum(P.mul(centred, centred), axes), Math.max(n - (options.ddof ?? 0), 0))
  return keep(v, x.shape, axes, options.keepDims)
}

/** Variance, Σ(x − mean)² / (n − ddof). @category reductions @since 0.1.0 */
export const variance: {
  (options?: VarOptions): (x: NdArray) => NdArray
  (x: ArrayLike, options?: VarOptions): NdArray
} = dual(
  (args) => isNdArray(args[0]) || typeof args[0] === "number",
  (x: ArrayLike, options?: VarOptions) => varianceImpl("variance", toFloat(asArray(x)), options)
)
/** Alias of `variance` (NumPy's name). @category reductions @since 0.1.0 */
export const var_ = variance

/** Standard deviation, √variance. @category reductions @since 0.1.0 */
export const std: {
  (options?: VarOptions): (x: NdArray) => NdArray
  (x: ArrayLike, options?: VarOptions): NdArray
} = dual(
  (args) => isNdArray(args[0]) || typeof args[0] === "number",
  (x: ArrayLike, options?: VarOptions) => P.sqrt(varianceImpl("std", toFloat(asArray(x)), options))
)

/**
 * log Σ exp(x) over axes, computed stably (the maximum is subtracted first,
 * with no gradient through the shift). −∞ inputs are fine; the result is
 * finite unless every input is −∞ or one is +∞/NaN.
 * @category reductions
 * @since 0.1.0
 */
export const logsumexp = reduction(
  "logsumexp",
  (x, axes) => {
    const m = P.stopGradient(P.reduceMax(x, axes))
    const shift = P.select(P.isFinite(m), m, 0) // m·0 would be NaN for m = ±∞
    const shifted = P.sub(x, P.expandReduced(shift, x.shape, axes))
    return P.add(P.log(P.reduceSum(P.exp(shifted), axes)), shift)
  },
  toFloat
)

/** Options of `argmax`/`argmin`: one axis (default: the flattened array). */
export interface ArgOptions {
  readonly axis?: number
  readonly keepDims?: boolean
}

const argReduction = (op: "argmax" | "argmin") =>
  dual(
    (args: IArguments) => isNdArray(args[0]),
    (x: NdArray, opts?: ArgOptions): NdArray => {
      const options = axisOptions(op, opts)
      if (options.axis === undefined) return keep(P.argReduce(P.reshape(x, [x.size]), 0, op), x.shape, x.shape.map((_, i) => i), options.keepDims)
      const axis = normalizeAxis(op, options.axis, x.ndim)
      return keep(P.argReduce(x, axis, op), x.shape, [axis], options.keepDims)
    }
  ) as { (options?: ArgOptions): (x: NdArray) => NdArray; (x: NdArray, options?: ArgOptions): NdArray }

/** Index of the maximum along an axis (first on ties); int32. @category reductions @since 0.1.0 */
export const argmax = argReduction("argmax")
/** Index of the minimum along an axis (first on ties); int32. @category reductions @since 0.1.0 */
export const argmin = argReduction("argmin")

// ---------------------------------------------------------------------------
// Shapes

/**
 * Same elements, new shape; one dimension may be −1 (inferred). A view when
 * the array is contiguous.
 * @category shapes
 * @since 0.1.0
 */
export const reshape: {
  (shape: ReadonlyArray<number>): (x: NdArray) => NdArray
  (x: NdArray, shape: ReadonlyArray<number>): NdArray
} = dual(2, (x: NdArray, shape: ReadonlyArray<number>): NdArray => {
  if (!Array.isArray(shape)) {
    throw new ShapeError({ op: "reshape", shapes: [x.shape], hint: `the new shape is one list, e.g. reshape(x, [3, 2]); got ${JSON.stringify(shape) ?? String(shape)}` })
  }
  const unknown = shape.filter((d) => d === -1).length
  if (unknown > 1) throw new ShapeError({ op: "reshape", shapes: [x.shape, shape], hint: "only one dimension may be -1" })
  if (unknown === 1) {
    const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1)
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError({ op: "reshape", shapes: [x.shape, shape], hint: `cannot infer -1: size ${x.size} is not divisible by ${known}` })
    }
    return P.reshape(x, shape.map((d) => (d === -1 ? x.size / known : d)))
  }
  // a copy: an op staged by jit keeps its shape, so a later change to the caller's list cannot reach it
  return P.reshape(x, shape.slice())
})

/** Flatten to 1-d. @category shapes @since 0.1.0 */
export const ravel = (x: NdArray): NdArray => P.reshape(x, [x.size])

/**
 * Permute axes (default: reverse them). A view.
 * @category shapes
 * @since 0.1.0
 */
export const transpose: {
  (axes?: ReadonlyArray<number>): (x: NdArray) => NdArray
  (x: NdArray, axes?: ReadonlyArray<number>): NdArray
} = dual(
  (args) => isNdArray(args[0]),
  (x: NdArray, axes?: ReadonlyArray<number>): NdArray => {
    if (axes !== undefined && !Array.isArray(axes)) {
      throw new ValueError({ op: "transpose", hint: `the permutation is one list, e.g. transpose(x, [1, 0]); got ${JSON.stringify(axes) ?? String(axes)}` })
    }
    const perm = axes ? axes.map((a) => normalizeAxis("transpose", a, x.ndim)) : Array.from({ length: x.ndim }, (_, i) => x.ndim - 1 - i)
    return P.transpose(x, perm)
  }
)

/** Swap two axes. @category shapes @since 0.1.0 */
export const swapAxes = (x: NdArray, a: number, b: number): NdArray => {
  const i = normalizeAxis("swapAxes", a, x.ndim)
  const j = normalizeAxis("swapAxes", b, x.ndim)
  const perm = Array.from({ length: x.ndim }, (_, k) => (k === i ? j : k === j ? i : k))
  return P.transpose(x, perm)
}

/** Move an axis to a new position. @category shapes @since 0.1.0 */
export const moveAxis = (x: NdArray, source: number, destination: number): NdArray => {
  const s = normalizeAxis("moveAxis", source, x.ndim)
  const d = normalizeAxis("moveAxis", destination, x.ndim)
  const perm = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== s)
  perm.splice(d, 0, s)
  return P.transpose(x, perm)
}

/** Insert a size-1 axis at `axis` (negative counts from the end of the result). @category shapes @since 0.1.0 */
export const expandDims: {
  (axis: number): (x: NdArray) => NdArray
  (x: NdArray, axis: number): NdArray
} = dual(2, (x: NdArray, axis: number): NdArray => {
  const a = normalizeAxis("expandDims", axis, x.ndim + 1)
  return P.reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)])
})

/** Remove size-1 axes (all of them, or those given; a given axis of size ≠ 1 is an error). @category shapes @since 0.1.0 */
export const squeeze: {
  (axis?: number | ReadonlyArray<number>): (x: NdArray) => NdArray
  (x: NdArray, axis?: number | ReadonlyArray<number>): NdArray
} = dual(
  (args) => isNdArray(args[0]),
  (x: NdArray, axis?: number | ReadonlyArray<number>): NdArray => {
    const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes("squeeze", axis, x.ndim)
    for (const a of axes) if (x.shape[a] !== 1) throw new AxisError({ op: "squeeze", axis: a, ndim: x.ndim, hint: `axis ${a} has size ${x.shape[a]}, not 1` })
    return P.reshape(
      x,
      x.shape.filter((_, i) => !axes.includes(i))
    )
  }
)

/** Broadcast to a shape (NumPy rules); a view. @category shapes @since 0.1.0 */
export const broadcastTo: {
  (shape: ReadonlyArray<number>): (x: NdArray) => NdArray
  (x: ArrayLike, shape: ReadonlyArray<number>): NdArray
} = dual(2, (x: ArrayLike, shape: ReadonlyArray<number>): NdArray => P.broadcastTo(asArray(x), checkShape("broadcastTo", shape)))

/** Join arrays along an existing axis (dtypes promoted). @category shapes @since 0.1.0 */
export const concatenate = (xs: ReadonlyArray<ArrayLike>, axis = 0): NdArray => {
  if (xs.length === 0) throw new ValueError({ op: "concatenate", hint: "need at least one array" })
  const arrays = promote("concatenate", xs)
  if (arrays.some((a) => a.ndim === 0)) throw new ShapeError({ op: "concatenate", shapes: arrays.map((a) => a.shape), hint: "zero-dimensional arrays cannot be concatenated; use stack" })
  return P.concatenate(arrays, normalizeAxis("concatenate", axis, arrays[0].ndim))
}

/** Join arrays along a new axis. @category shapes @since 0.1.0 */
export const stack = (xs: ReadonlyArray<ArrayLike>, axis = 0): NdArray => {
  if (xs.length === 0) throw new ValueError({ op: "stack", hint: "need at least one array" })
  const arrays = promote("stack", xs)
  const shape = arrays[0].shape
  for (const a of arrays) {
    if (a.ndim !== shape.length || a.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError({ op: "stack", shapes: arrays.map((b) => b.shape), hint: "all arrays must have the same shape" })
    }
  }
  const a = normalizeAxis("stack", axis, shape.length + 1)
  return P.concatenate(
    arrays.map((x) => P.reshape(x, [...shape.slice(0, a), 1, ...shape.slice(a)])),
    a
  )
}

/** One step of basic indexing: an index (removes the axis), `null` (the whole axis), or a [start, stop, step] range (negative values count from the end; a negative step reverses). */
export type SliceSpec = number | null | readonly [start?: number | null, stop?: number | null, step?: number | null]

/**
 * Basic slicing, one spec per leading axis (NumPy's `x[1, :, ::-1]` is
 * `slice(x, [1, null, [null, null, -1]])`). A view: no copy.
 * @category shapes
 * @since 0.1.0
 */
export const slice: {
  (specs: ReadonlyArray<SliceSpec>): (x: NdArray) => NdArray
  (x: NdArray, specs: ReadonlyArray<SliceSpec>): NdArray
} = dual(2, (x: NdArray, specs: ReadonlyArray<SliceSpec>): NdArray => {
  if (specs.length > x.ndim) throw new AxisError({ op: "slice", axis: specs.length - 1, ndim: x.ndim, hint: `${specs.length} indices for an array of ndim ${x.ndim}` })
  const starts: Array<number> = []
  const limits: Array<number> = []
  const steps: Array<number> = []
  const flips: Array<number> = []
  const drop: Array<number> = []
  x.shape.forEach((dim, i) => {
    const s = specs[i]
    if (s === undefined || s === null) {
      starts.push(0)
      limits.push(dim)
      steps.push(1)
    } else if (typeof s === "number") {
      if (!Number.isInteger(s) || s < -dim || s >= dim) throw new ValueError({ op: "slice", hint: `index ${s} is out of bounds for axis ${i} with size ${dim}` })
      const k = s < 0 ? s + dim : s
      starts.push(k)
      limits.push(k + 1)
      steps.push(1)
      drop.push(i)
    } else {
      const step = s[2] ?? 1
      if (!Number.isInteger(step) || step === 0) throw new ValueError({ op: "slice", hint: `step must be a non-zero integer, got ${step}` })
      const norm = (v: number | null | undefined, dflt: number, lo: number, hi: number) =>
        v === null || v === undefined ? dflt : Math.min(Math.max(v < 0 ? v + dim : v, lo), hi)
      if (step > 0) {
        const start = norm(s[0], 0, 0, dim)
        const stop = Math.max(start, norm(s[1], dim, 0, dim))
        starts.push(start)
        limits.push(stop)
        steps.push(step)
      } else {
        // x[a:b:-k] reads a, a−k, … down to (not including) b: reverse, then take forward
        const start = norm(s[0], dim - 1, -1, dim - 1)
        const stop = norm(s[1], -1, -1, dim - 1)
        const first = dim - 1 - start
        const last = Math.max(first, dim - 1 - stop)
        starts.push(first)
        limits.push(last)
        steps.push(-step)
        flips.push(i)
      }
    }
  })
  const y = P.slice(P.rev(x, flips), { starts, limits, steps })
  return drop.length ? P.reshape(y, y.shape.filter((_, i) => !drop.includes(i))) : y
})

/**
 * Split along an axis into `sections` equal parts, or at the given indices.
 * @category shapes
 * @since 0.1.0
 */
export const split = (x: NdArray, sections: number | ReadonlyArray<number>, axis = 0): Array<NdArray> => {
  const a = normalizeAxis("split", axis, x.ndim)
  const n = x.shape[a]
  let cuts: Array<number>
  if (typeof sections === "number") {
    if (!Number.isInteger(sections) || sections <= 0 || n % sections !== 0) {
      throw new ShapeError({ op: "split", shapes: [x.shape], hint: `axis ${a} of size ${n} does not split into ${sections} equal sections` })
    }
    cuts = Array.from({ length: sections - 1 }, (_, i) => ((i + 1) * n) / sections)
  } else cuts = [...sections]
  const bounds = [0, ...cuts.map((c) => Math.min(Math.max(c, 0), n)), n]
  return bounds.slice(0, -1).map((start, i) =>
    P.slice(x, {
      starts: x.shape.map((_, j) => (j === a ? start : 0)),
      limits: x.shape.map((d, j) => (j === a ? Math.max(start, bounds[i + 1]) : d)),
      steps: x.shape.map(() => 1)
    })
  )
}

/** Reverse the order of elements along axes (default all). A view. @category shapes @since 0.1.0 */
export const flip: {
  (axis?: number | ReadonlyArray<number>): (x: NdArray) => NdArray
  (x: NdArray, axis?: number | ReadonlyArray<number>): NdArray
} = dual(
  (args) => isNdArray(args[0]),
  (x: NdArray, axis?: number | ReadonlyArray<number>): NdArray => P.rev(x, normalizeAxes("flip", axis, x.ndim))
)

/**
 * Pad with a constant: `width` is one number for every edge, `[before, after]`
 * for every axis, or one pair per axis.
 * @category shapes
 * @since 0.1.0
 */
export const pad = (x: NdArray, width: number | readonly [number, number] | ReadonlyArray<readonly [number, number]>, opts?: { readonly value?: number }): NdArray => {
  const options = optionsObject("pad", opts, "pad(x, 1, { value: -1 })")
  const pairs: ReadonlyArray<readonly [number, number]> =
    typeof width === "number"
      ? x.shape.map(() => [width, width] as const)
      : typeof width[0] === "number"
        ? x.shape.map(() => width as readonly [number, number])
        : (width as ReadonlyArray<readonly [number, number]>)
  if (pairs.length !== x.ndim) throw new ShapeError({ op: "pad", shapes: [x.shape], hint: `expected ${x.ndim} (before, after) pairs, got ${pairs.length}` })
  return P.pad(x, { low: pairs.map((p) => p[0]), high: pairs.map((p) => p[1]), interior: pairs.map(() => 0), value: options.value ?? 0 })
}

const indexArray = (indices: ArrayLike | ReadonlyArray<number>): NdArray => {
  const notInteger = (what: string) => new DTypeError({ op: "take", dtypes: [what], hint: "indices must be integers (an int32 array or whole numbers)" })
  if (typeof indices === "number") {
    if (!Number.isInteger(indices)) throw notInteger("float")
    return scalarArray(indices, "int32")
  }
  if (Array.isArray(indices)) {
    if (!(indices as ReadonlyArray<unknown>).every((i) => typeof i === "number" && Number.isInteger(i))) throw notInteger("float")
    return array(indices as ReadonlyArray<number>, { dtype: "int32" })
  }
  const a = asArray(indices as ArrayLike)
  if (a.dtype === "int32") return a
  if (a.dtype === "bool") throw new DTypeError({ op: "take", dtypes: [a.dtype], hint: "boolean masks are not indices; use where" })
  throw notInteger(a.dtype) // as NumPy and JAX: float index arrays are rejected, not truncated
}

/**
 * Take elements along an axis by integer indices (NumPy's `take`; default:
 * the flattened array). Negative indices count from the end; out-of-range
 * ones are an error. Differentiable in `x` (the adjoint scatter-adds).
 * @category shapes
 * @since 0.1.0
 */
export const take = (x: NdArray, indices: ArrayLike | ReadonlyArray<number>, opts?: { readonly axis?: number }): NdArray => {
  const options = axisOptions("take", opts)
  const idx = indexArray(indices)
  if (options.axis === undefined) return P.gather(P.reshape(x, [x.size]), idx, 0)
  return P.gather(x, idx, normalizeAxis("take", options.axis, x.ndim))
}

/**
 * Pick one element per position along `axis` (NumPy's `take_along_axis`):
 * `indices` has the shape of `x` except along `axis`.
 * @category shapes
 * @since 0.1.0
 */
export const takeAlongAxis = (x: NdArray, indices: NdArray, axis: number): NdArray => {
  const a = normalizeAxis("takeAlongAxis", axis, x.ndim)
  const idx = indexArray(indices)
  if (idx.ndim !== x.ndim || x.shape.some((d, i) => i !== a && idx.shape[i] !== d)) {
    throw new ShapeError({ op: "takeAlongAxis", shapes: [x.shape, idx.shape], hint: `indices must match the array's shape except along axis ${a}` })
  }
  // move the axis last, flatten, offset each row's indices
  const xm = moveAxis(x, a, -1)
  const im = moveAxis(idx, a, -1)
  const n = xm.shape[xm.ndim - 1]
  const rows = xm.size / Math.max(n, 1)
  const k = im.shape[im.ndim - 1]
  const offsets = P.reshape(P.mul(arange(rows), n), [rows, 1])
  const flatIdx = P.add(P.reshape(im, [rows, k]), offsets)
  const normalized = P.select(P.less(flatIdx, offsets), P.add(flatIdx, n), flatIdx)
  const picked = P.gather(P.reshape(xm, [rows * n]), normalized, 0)
  return moveAxis(P.reshape(picked, im.shape), -1, a)
}

/**
 * One-hot encoding: `[...labels.shape, numClasses]` with 1 at each label (float32 by default).
 * @category shapes
 * @since 0.1.0
 */
export const oneHot = (labels: NdArray | ReadonlyArray<number>, numClasses: number, opts?: { readonly dtype?: DType }): NdArray => {
  const options = optionsObject("oneHot", opts, `oneHot(labels, 10, { dtype: "float64" })`)
  const l = indexArray(labels as ArrayLike)
  const classes = arange(numClasses)
  return P.convert(P.equal(P.reshape(l, [...l.shape, 1]), P.broadcastTo(classes, [...l.shape, numClasses])), options.dtype ?? "float32")
}

// ---------------------------------------------------------------------------
// Products

/**
 * Matrix product with NumPy semantics: batch dimensions broadcast; a 1-d
 * operand is a vector (its axis is removed from the result).
 * @category linear algebra
 * @since 0.1.0
 */
export const matmul: Binary = dual(2, (x: ArrayLike, y: ArrayLike): NdArray => {
  let [a, b] = promote("matmul", [x, y])
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError({ op: "matmul", shapes: [a.shape, b.shape], hint: "matmul needs at least 1-d operands; use mul for scalars" })
  const vecA = a.ndim === 1
  const vecB = b.ndim === 1
  if (a.dtype === "bool") {
    a = P.convert(a, "int32")
    b = P.convert(b, "int32")
  }
  if (vecA) a = P.reshape(a, [1, a.shape[0]])
  if (vecB) b = P.reshape(b, [b.shape[0], 1])
  let out = P.matmul(a, b)
  if (vecA) out = P.reshape(out, [...out.shape.slice(0, -2), out.shape[out.ndim - 1]])
  if (vecB) out = P.reshape(out, out.shape.slice(0, -1))
  return out
})

/** Dot product: inner product of vectors, or `matmul` of matrices. @category linear algebra @since 0.1.0 */
export const dot: Binary = dual(2, (x: ArrayLike, y: ArrayLike): NdArray => {
  const [a, b] = promote("dot", [x, y])
  if (a.ndim === 0 || b.ndim === 0) return P.mul(a, b)
  if (a.ndim > 2 || b.ndim > 2) throw new ShapeError({ op: "dot", shapes: [a.shape, b.shape], hint: "dot takes vectors or matrices; use matmul for batched products" })
  return matmul(a, b)
})

/** Outer product of two vectors (flattened first). @category linear algebra @since 0.1.0 */
export const outer: Binary = dual(2, (x: ArrayLike, y: ArrayLike): NdArray => {
  const [a, b] = promote("outer", [x, y])
  return P.mul(P.reshape(a, [a.size, 1]), P.reshape(b, [1, b.size]))
})

export { conv2d, maxPool2d, avgPool2d, type Conv2dOptions, type PoolOptions, type Padding } from "./ops/conv.js"
export { softmax, logSoftmax } from "./ops/softmax.js"
