/**
 * Elementwise primitives. Each definition below carries the kernel (a named
 * op of the CPU backend), the JVP rule with its one-line derivative and, for
 * the linear ones, the transpose. Operands of the n-ary primitives have equal
 * shapes and dtypes: the lax-level wrappers below lift JavaScript numbers and
 * broadcast shapes (views), the public API in `ops/` also promotes dtypes.
 */
import { ensureBackend } from "../backend/index.js"
import * as cpu from "../backend/cpu/index.js"
import { DTypeError, ShapeError } from "../Errors.js"
import { broadcastShapes, type DType, isFloat, sameShape, ShapedArray } from "../interpreter/aval.js"
import { isNdArray, type NdArray, SCALAR_SHAPE } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, isUndef, type Primitive, type Tangent } from "../interpreter/primitive.js"
import { broadcastingBatch, elementwiseBatch } from "./batching.js"
import { bind1 } from "../interpreter/trace.js"
import { broadcastTo } from "./shape.js"

type NoParams = Record<string, never>
const none: NoParams = {}

// ---------------------------------------------------------------------------
// Unary

type Domain = "float" | "number" | "bool" | "any"

interface UnarySpec {
  readonly name: string
  readonly kernel: cpu.UnaryOp
  readonly domain: Domain
  /** Output dtype when not the input's. */
  readonly out?: DType
  /** dy from x, y = f(x) and dx; absent for piecewise-constant ops (zero tangent). */
  readonly jvp?: (x: NdArray, y: NdArray, xDot: NdArray) => NdArray
  readonly transpose?: (ct: NdArray) => NdArray
}

const domainOk = (domain: Domain, dtype: DType): boolean =>
  domain === "any" || (domain === "float" ? isFloat(dtype) : domain === "bool" ? dtype === "bool" : dtype !== "bool")

const defineUnary = (spec: UnarySpec): [Primitive<NoParams>, (x: NdArray) => NdArray] => {
  const prim: Primitive<NoParams> = definePrimitive<NoParams>({
    name: spec.name,
    abstractEval: ([x]) => {
      if (!domainOk(spec.domain, x.dtype)) {
        throw new DTypeError({ op: spec.name, dtypes: [x.dtype], hint: `expects a ${spec.domain === "number" ? "numeric" : spec.domain} array` })
      }
      return [new ShapedArray(x.shape, spec.out ?? x.dtype)]
    },
    impl: ([x], _, [out]) => {
      ensureBackend()
      return [ArrayValue.fromBuffer(cpu.unary(spec.kernel, x, out.dtype), out.dtype, out.shape)]
    },
    fusion: ([x], out) => cpu.unaryExpression(spec.kernel, x, out),
    simd: () => spec.kernel,
    jvp: ([x], [xDot]) => {
      const y = apply(x)
      return [[y], [spec.jvp ? spec.jvp(x, y, xDot!) : null]]
    },
    linear: spec.transpose !== undefined,
    ...(spec.transpose ? { transpose: ([ct]: ReadonlyArray<Tangent>) => [spec.transpose!(ct!)] } : {}),
    batch: elementwiseBatch
  })
  const apply = (x: NdArray): NdArray => bind1(prim, [x], none)
  return [prim, apply]
}

/** d(−x) = −dx */
export const [Neg, neg] = defineUnary({ name: "neg", kernel: "neg", domain: "number", jvp: (_x, _y, t) => neg(t), transpose: (ct) => neg(ct) })
/** d eˣ = eˣ dx */
export const [Exp, exp] = defineUnary({ name: "exp", kernel: "exp", domain: "float", jvp: (_x, y, t) => mul(t, y) })
/** d log x = dx / x. Reason: accuracy of log(0) = −∞, x < 0 → NaN. */
export const [Log, log] = defineUnary({ name: "log", kernel: "log", domain: "float", jvp: (x, _y, t) => div(t, x) })
/** d log(1+x) = dx / (1+x). Reason: accuracy near 0. */
export const [Log1p, log1p] = defineUnary({ name: "log1p", kernel: "log1p", domain: "float", jvp: (x, _y, t) => div(t, add(x, 1)) })
/** d (eˣ−1) = eˣ dx. Reason: accuracy near 0. */
export const [Expm1, expm1] = defineUnary({ name: "expm1", kernel: "expm1", domain: "float", jvp: (_x, y, t) => mul(t, add(y, 1)) })
/** d √x = dx / (2√x) */
export const [Sqrt, sqrt] = defineUnary({ name: "sqrt", kernel: "sqrt", domain: "float", jvp: (_x, y, t) => div(t, mul(y, 2)) })
/** d sin x = cos x dx */
export const [Sin, sin] = defineUnary({ name: "sin", kernel: "sin", domain: "float", jvp: (x, _y, t) => mul(t, cos(x)) })
/** d cos x = −sin x dx */
export const [Cos, cos] = defineUnary({ name: "cos", kernel: "cos", domain: "float", jvp: (x, _y, t) => mul(t, neg(sin(x))) })
/** d tan x = (1 + tan² x) dx */
export const [Tan, tan] = defineUnary({ name: "tan", kernel: "tan", domain: "float", jvp: (_x, y, t) => mul(t, add(mul(y, y), 1)) })
/** d atan x = dx / (1 + x²) */
export const [Atan, atan] = defineUnary({ name: "atan", kernel: "atan", domain: "float", jvp: (x, _y, t) => div(t, add(mul(x, x), 1)) })
/** d tanh x = (1 − tanh² x) dx */
export const [Tanh, tanh] = defineUnary({ name: "tanh", kernel: "tanh", domain: "float", jvp: (_x, y, t) => mul(t, sub(1, mul(y, y))) })
/** d σ(x) = σ(x)(1 − σ(x)) dx. Reason: speed and stability (σ(±1000) is exact 1/0, never NaN). */
export const [Logistic, logistic] = defineUnary({
  name: "logistic",
  kernel: "logistic",
  domain: "float",
  jvp: (_x, y, t) => mul(t, mul(y, sub(1, y)))
})
/** d erf x = (2/√π) e^(−x²) dx */
export const [Erf, erf] = defineUnary({
  name: "erf",
  kernel: "erf",
  domain: "float",
  jvp: (x, _y, t) => mul(t, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))
})
/** d |x| = sign(x) dx (0 at x = 0, as in JAX) */
export const [Abs, abs] = defineUnary({ name: "abs", kernel: "abs", domain: "number", jvp: (x, _y, t) => mul(t, sign(x)) })
/** sign: piecewise constant, zero tangent */
export const [Sign, sign] = defineUnary({ name: "sign", kernel: "sign", domain: "number" })
/** floor: piecewise constant, zero tangent */
export const [Floor, floor] = defineUnary({ name: "floor", kernel: "floor", domain: "float" })
/** ceil: piecewise constant, zero tangent */
export const [Ceil, ceil] = defineUnary({ name: "ceil", kernel: "ceil", domain: "float" })
/** round half to even: piecewise constant, zero tangent */
export const [Round, round] = defineUnary({ name: "round", kernel: "round", domain: "float" })
/** logical not */
export const [Not, logicalNot] = defineUnary({ name: "not", kernel: "not", domain: "bool", out: "bool" })
/** isnan: bool output */
export const [IsNan, isNan] = defineUnary({ name: "isnan", kernel: "isnan", domain: "any", out: "bool" })
/** isfinite: bool output */
export const [IsFinite, isFinite] = defineUnary({ name: "isfinite", kernel: "isfinite", domain: "any", out: "bool" })

// ---------------------------------------------------------------------------
// Binary

export type Operand = NdArray | number

const scalar = (v: number, dtype: DType): NdArray => {
  const b = cpu.allocate(dtype, 1)
  b[0] = v
  return ArrayValue.fromBuffer(b, dtype, SCALAR_SHAPE)
}

/**
 * Lift numbers to the other operand's dtype and broadcast shapes (views).
 * Dtypes of two arrays must already agree (the public API promotes them).
 */
export const operands = (op: string, ...xs: ReadonlyArray<Operand>): Array<NdArray> => {
  if (xs.length === 2) return operandPair(op, xs[0], xs[1])
  const first = xs.find(isNdArray) as NdArray | undefined
  const dtype: DType = first?.dtype ?? "float32"
  const arrays = xs.map((x) => (isNdArray(x) ? x : scalar(x, dtype)))
  for (const a of arrays) {
    if (a.dtype !== dtype) throw new DTypeError({ op, dtypes: arrays.map((b) => b.dtype), hint: "operands must have the same dtype" })
  }
  if (arrays.every((a) => sameShape(a.shape, arrays[0].shape))) return arrays
  const shape = broadcastShapes(op, ...arrays.map((a) => a.shape))
  return arrays.map((a) => broadcastTo(a, shape))
}

/** `operands` for two operands (every binary op), without intermediate closures. */
const operandPair = (op: string, x: Operand, y: Operand): Array<NdArray> => {
  const dtype: DType = isNdArray(x) ? x.dtype : isNdArray(y) ? y.dtype : "float32"
  const a = isNdArray(x) ? x : scalar(x, dtype)
  const b = isNdArray(y) ? y : scalar(y, dtype)
  if (a.dtype !== b.dtype) throw new DTypeError({ op, dtypes: [a.dtype, b.dtype], hint: "operands must have the same dtype" })
  if (sameShape(a.shape, b.shape)) return [a, b]
  const shape = broadcastShapes(op, a.shape, b.shape)
  return [broadcastTo(a, shape), broadcastTo(b, shape)]
}

/** The n-ary primitives take operands of one shape; their wrappers broadcast (as views) before binding. */
const unequalShapes = (op: string, shapes: ReadonlyArray<ReadonlyArray<number>>): ShapeError =>
  new ShapeError({ op, shapes, hint: "the operands of the primitive must have equal shapes; broadcast them first (the public ops do)" })

interface BinarySpec {
  readonly name: string
  readonly kernel: cpu.BinaryOp
  readonly domain: Domain
  readonly out?: DType
  readonly jvp?: (x: NdArray, y: NdArray, out: NdArray, xDot: Tangent, yDot: Tangent) => Tangent
  readonly linear?: boolean
  readonly transpose?: (ct: NdArray, x: NdArray | null, y: NdArray | null) => [Tangent, Tangent]
}

const defineBinary = (spec: BinarySpec): [Primitive<NoParams>, (x: Operand, y: Operand) => NdArray] => {
  const prim: Primitive<NoParams> = definePrimitive<NoParams>({
    name: spec.name,
    abstractEval: ([x, y]) => {
      if (x.dtype !== y.dtype || !domainOk(spec.domain, x.dtype)) {
        throw new DTypeError({ op: spec.name, dtypes: [x.dtype, y.dtype], hint: `expects two ${spec.domain === "number" ? "numeric" : spec.domain} arrays of one dtype` })
      }
      if (!sameShape(x.shape, y.shape)) throw unequalShapes(spec.name, [x.shape, y.shape])
      return [new ShapedArray(x.shape, spec.out ?? x.dtype)]
    },
    impl: ([x, y], _, [out]) => {
      ensureBackend()
      return [ArrayValue.fromBuffer(cpu.binary(spec.kernel, x, y, out.shape, out.dtype), out.dtype, out.shape)]
    },
    fusion: ([x], out) => cpu.binaryExpression(spec.kernel, x, out),
    simd: () => spec.kernel,
    jvp: ([x, y], [xDot, yDot]) => {
      const out = apply(x, y)
      return [[out], [spec.jvp ? spec.jvp(x, y, out, xDot, yDot) : null]]
    },
    linear: spec.linear ?? false,
    ...(spec.transpose
      ? {
          transpose: ([ct], [x, y]) => (ct === null ? [null, null] : spec.transpose!(ct, isUndef(x) ? null : x, isUndef(y) ? null : y))
        }
      : {}),
    batch: broadcastingBatch
  })
  const apply = (x: Operand, y: Operand): NdArray => bind1(prim, operands(spec.name, x, y), none)
  return [prim, apply]
}

/** The sum of two possibly-zero tangents. */
export const addTangents = (a: Tangent, b: Tangent): Tangent => (a === null ? b : b === null ? a : add(a, b))

/** d(x + y) = dx + dy */
export const [Add, add] = defineBinary({
  name: "add",
  kernel: "add",
  domain: "number",
  jvp: (_x, _y, _o, tx, ty) => addTangents(tx, ty),
  linear: true,
  transpose: (ct) => [ct, ct]
})
/** d(x − y) = dx − dy */
export const [Sub, sub] = defineBinary({
  name: "sub",
  kernel: "sub",
  domain: "number",
  jvp: (_x, _y, _o, tx, ty) => (ty === null ? tx : tx === null ? neg(ty) : sub(tx, ty)),
  linear: true,
  transpose: (ct) => [ct, neg(ct)]
})
/** d(xy) = dx·y + x·dy; linear in each argument separately */
export const [Mul, mul] = defineBinary({
  name: "mul",
  kernel: "mul",
  domain: "number",
  jvp: (x, y, _o, tx, ty) => addTangents(tx && mul(tx, y), ty && mul(x, ty)),
  linear: true,
  transpose: (ct, x, y) => (x === null ? [mul(ct, y!), null] : [null, mul(x, ct)])
})
/** d(x / y) = dx / y − (x / y²) dy = (dx − out·dy) / y; linear in x */
export const [Div, div] = defineBinary({
  name: "div",
  kernel: "div",
  domain: "number",
  jvp: (_x, y, out, tx, ty) => addTangents(tx && div(tx, y), ty && neg(div(mul(out, ty), y))),
  linear: true,
  transpose: (ct, x, y) => (x === null ? [div(ct, y!), null] : [null, null])
})
/**
 * d xʸ = y·xʸ⁻¹ dx + log(x)·xʸ dy, with JAX's conventions at the edges:
 * the first term is 0 where y = 0, and log is taken of 1 where x = 0.
 */
export const [Pow, pow] = defineBinary({
  name: "pow",
  kernel: "pow",
  domain: "float",
  jvp: (x, y, out, tx, ty) => {
    const dx = tx && mul(tx, select(equal(y, 0), 0, mul(y, pow(x, sub(y, 1)))))
    const dy = ty && mul(ty, mul(out, log(select(equal(x, 0), 1, x))))
    return addTangents(dx, dy)
  }
})

/**
 * max/min: the tangent of the chosen operand; ties share the tangents
 * equally (d max(x, x) = (dx + dy)/2, the JAX convention).
 */
const chooserJvp = (pick: (x: NdArray, y: NdArray) => NdArray) => (x: NdArray, y: NdArray, _o: NdArray, tx: Tangent, ty: Tangent): Tangent => {
  const half = mul(convert(equal(x, y), x.dtype), 0.5)
  const wx = add(convert(pick(x, y), x.dtype), half)
  return addTangents(tx && mul(tx, wx), ty && mul(ty, sub(1, wx)))
}
export const [Max, maximum] = defineBinary({ name: "max", kernel: "max", domain: "number", jvp: chooserJvp((x, y) => greater(x, y)) })
export const [Min, minimum] = defineBinary({ name: "min", kernel: "min", domain: "number", jvp: chooserJvp((x, y) => less(x, y)) })
/** d atan2(y, x) = (x dy − y dx)/(x² + y²); arguments (y, x) as in NumPy */
export const [Atan2, atan2] = defineBinary({
  name: "atan2",
  kernel: "atan2",
  domain: "float",
  jvp: (a, b, _o, ta, tb) => {
    const r2 = add(mul(a, a), mul(b, b))
    return addTangents(ta && div(mul(ta, b), r2), tb && neg(div(mul(tb, a), r2)))
  }
})
/** floored remainder (sign of the divisor); d mod(x, y) = dx − floor(x/y) dy */
export const [Mod, mod] = defineBinary({
  name: "mod",
  kernel: "mod",
  domain: "number",
  jvp: (x, y, _o, tx, ty) => addTangents(tx, ty && neg(mul(ty, isFloat(x.dtype) ? floor(div(x, y)) : div(x, y))))
})

// comparisons and logic: boolean output, zero tangent; bools are ordered False < True (NumPy, JAX)
export const [Equal, equal] = defineBinary({ name: "eq", kernel: "eq", domain: "any", out: "bool" })
export const [NotEqual, notEqual] = defineBinary({ name: "ne", kernel: "ne", domain: "any", out: "bool" })
export const [Less, less] = defineBinary({ name: "lt", kernel: "lt", domain: "any", out: "bool" })
export const [LessEqual, lessEqual] = defineBinary({ name: "le", kernel: "le", domain: "any", out: "bool" })
export const [Greater, greater] = defineBinary({ name: "gt", kernel: "gt", domain: "any", out: "bool" })
export const [GreaterEqual, greaterEqual] = defineBinary({ name: "ge", kernel: "ge", domain: "any", out: "bool" })
export const [And, logicalAnd] = defineBinary({ name: "and", kernel: "and", domain: "bool", out: "bool" })
export const [Or, logicalOr] = defineBinary({ name: "or", kernel: "or", domain: "bool", out: "bool" })
export const [Xor, logicalXor] = defineBinary({ name: "xor", kernel: "xor", domain: "bool", out: "bool" })

// ---------------------------------------------------------------------------
/** `select(cond, x, y)`: x where cond else y. Linear in x and y: d select(c, x, y) = select(c, dx, dy). */
export const Select: Primitive<NoParams> = definePrimitive<NoParams>({
  name: "select",
  abstractEval: ([c, x, y]) => {
    if (c.dtype !== "bool" || x.dtype !== y.dtype) {
      throw new DTypeError({ op: "where", dtypes: [c.dtype, x.dtype, y.dtype], hint: "expects a bool condition and two arrays of one dtype" })
    }
    if (!sameShape(c.shape, x.shape) || !sameShape(x.shape, y.shape)) throw unequalShapes("where", [c.shape, x.shape, y.shape])
    return [new ShapedArray(x.shape, x.dtype)]
  },
  impl: ([c, x, y], _, [out]) => {
    ensureBackend()
    return [ArrayValue.fromBuffer(cpu.select(c, x, y, out.shape, out.dtype), out.dtype, out.shape)]
  },
  fusion: () => cpu.selectExpression,
  simd: () => "select",
  jvp: ([c, x, y], [, tx, ty]) => [
    [select(c, x, y)],
    [tx === null && ty === null ? null : select(c, tx ?? 0, ty ?? 0)]
  ],
  linear: true,
  transpose: ([ct], [c, x, y]) => {
    if (ct === null) return [null, null, null]
    return [null, isUndef(x) ? select(c as NdArray, ct, 0) : null, isUndef(y) ? select(c as NdArray, 0, ct) : null]
  },
  batch: broadcastingBatch
})

export const select = (c: NdArray, x: Operand, y: Operand): NdArray => {
  const [xa, ya] = operands("where", x, y)
  return bind1(Select, broadcastTriple(c, xa, ya), none)
}

const broadcastTriple = (c: NdArray, x: NdArray, y: NdArray): [NdArray, NdArray, NdArray] => {
  if (sameShape(c.shape, x.shape) && sameShape(x.shape, y.shape)) return [c, x, y]
  const shape = broadcastShapes("where", c.shape, x.shape, y.shape)
  return [broadcastTo(c, shape), broadcastTo(x, shape), broadcastTo(y, shape)]
}

// ---------------------------------------------------------------------------
/** `convert_element_type`: cast. Linear between float dtypes; casts to int/bool have no tangent. */
export const Convert: Primitive<{ readonly dtype: DType }> = definePrimitive({
  name: "convert",
  abstractEval: ([x], { dtype }) => [new ShapedArray(x.shape, dtype)],
  impl: ([x], { dtype }, [out]) => [ArrayValue.fromBuffer(cpu.contiguous(x, dtype), dtype, out.shape)],
  fusion: ([x]) => ({ expr: "$0", bool: x === "bool" }), // a cast of a bool is 0/1 in any dtype
  simd: ([x], out) => (x === "bool" && isFloat(out) ? "fromBool" : out === "bool" && isFloat(x) ? "toBool" : undefined),
  jvp: ([x], [xDot], { dtype }) => [[convert(x, dtype)], [isFloat(dtype) && isFloat(x.dtype) ? convert(xDot!, dtype) : null]], // d cast(x) = cast(dx)
  linear: true,
  transpose: ([ct], [x]) => [convert(ct!, x.aval.dtype)], // adjoint: cast back
  batch: elementwiseBatch,
  showParams: ({ dtype }) => `dtype=${dtype}`
})

export const convert = (x: NdArray, dtype: DType): NdArray => (x.dtype === dtype ? x : bind1(Convert, [x], { dtype }))

// ---------------------------------------------------------------------------
/** `stop_gradient`: the identity whose tangent is zero. Reason: cannot be composed. */
export const StopGradient: Primitive<NoParams> = definePrimitive<NoParams>({
  name: "stop_gradient",
  abstractEval: ([x]) => [x],
  impl: ([x]) => [x],
  fusion: () => ({ expr: "$0", bool: false }),
  simd: ([x]) => (x === "bool" ? "idMask" : "id"),
  jvp: ([x]) => [[stopGradient(x)], [null]], // treated as a constant
  batch: elementwiseBatch
})

export const stopGradient = (x: NdArray): NdArray => bind1(StopGradient, [x], none)
