import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { binary, contiguous, select, unary } from "../../../src/backend/cpu/elementwise"
import type { BinaryOp, UnaryOp } from "../../../src/backend/cpu/elementwise"
import { erf } from "../../../src/backend/cpu/special"
import type { DType } from "../../../src/backend/cpu/types"
import {
  arbLayoutOrContiguous,
  arbShape,
  contiguousLayout,
  DTYPES,
  fromValues,
  makeView,
  mismatch,
  read,
  store,
  values
} from "./helpers"
import type { ValueKind } from "./helpers"

const runs = { numRuns: 60 }

/** Reference cast of one value to a dtype, written independently of typed-array stores. */
const castRef = (v: number, dtype: DType): number => {
  switch (dtype) {
    case "bool":
      return v !== 0 ? 1 : 0
    case "int32": {
      if (!Number.isFinite(v)) return 0
      const t = Math.trunc(v)
      return ((t % 2 ** 32) + 2 ** 32) % 2 ** 32 >= 2 ** 31 ? (((t % 2 ** 32) + 2 ** 32) % 2 ** 32) - 2 ** 32 : ((t % 2 ** 32) + 2 ** 32) % 2 ** 32
    }
    case "float32":
      return Math.fround(v)
    case "float64":
      return v
  }
}

describe("contiguous", () => {
  it("copies and casts any view", () => {
    fc.assert(
      fc.property(
        arbShape(0, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            layout: arbLayoutOrContiguous(shape.length, true),
            from: fc.constantFrom(...DTYPES),
            to: fc.constantFrom(...DTYPES),
            seed: fc.integer()
          })
        ),
        ({ shape, layout, from, to, seed }) => {
          const x = makeView(shape, from, layout, values(from, seed, "special"))
          const before = Array.from(x.buffer)
          const out = contiguous(x, to)
          const expected = store(to, read(x).map((v) => castRef(v, to)))
          expect(mismatch(out, expected)).toBeNull()
          expect(Array.from(x.buffer)).toEqual(before) // inputs untouched
          if (from === to) expect(out.buffer).not.toBe(x.buffer.buffer) // fresh buffer
        }
      ),
      runs
    )
  })

  it("truncates toward zero and maps NaN to true", () => {
    const x = fromValues([6], "float64", [1.7, -1.7, 2.5, -0.5, NaN, 0])
    expect(Array.from(contiguous(x, "int32"))).toEqual([1, -1, 2, 0, 0, 0])
    expect(Array.from(contiguous(x, "bool"))).toEqual([1, 1, 1, 1, 1, 0])
    expect(Array.from(contiguous(fromValues([2], "bool", [1, 0]), "float32"))).toEqual([1, 0])
    expect(contiguous(x).length).toBe(6)
  })
})

const roundHalfEven = (x: number): number => {
  if (!Number.isFinite(x)) return x
  const f = Math.floor(x)
  const d = x - f
  if (d < 0.5) return f
  if (d > 0.5) return f + 1
  return f % 2 === 0 ? f : f + 1
}

const unaryRef: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  tanh: Math.tanh,
  abs: Math.abs,
  sign: Math.sign,
  erf: (x) => erf(x),
  logistic: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  not: (x) => (x === 0 ? 1 : 0),
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  square: (x) => x ** 2,
  reciprocal: (x) => 1 / x,
  rsqrt: (x) => 1 / Math.sqrt(x),
  atan: Math.atan,
  asin: Math.asin,
  acos: Math.acos,
  sinh: Math.sinh,
  cosh: Math.cosh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  log2: Math.log2,
  log10: Math.log10,
  exp2: (x) => 2 ** x,
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
  isfinite: (x) => (Number.isFinite(x) ? 1 : 0)
}
const boolOut = new Set<UnaryOp>(["not", "isnan", "isfinite"])

describe("unary", () => {
  const ops = Object.keys(unaryRef) as Array<UnaryOp>
  it("matches the reference on random views", () => {
    fc.assert(
      fc.property(
        arbShape(0, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            layout: arbLayoutOrContiguous(shape.length, true),
            op: fc.constantFrom(...ops),
            inDtype: fc.constantFrom<DType>("float32", "float64", "float64", "int32", "bool"),
            outDtype: fc.constantFrom<DType>("float32", "float64"),
            seed: fc.integer()
          })
        ),
        ({ shape, layout, op, inDtype, outDtype, seed }) => {
          const out = boolOut.has(op) ? "bool" : outDtype
          const x = makeView(shape, inDtype, layout, values(inDtype, seed, "special"))
          const result = unary(op, x, out)
          const expected = store(out, read(x).map(unaryRef[op]))
          expect(mismatch(result, expected), op).toBeNull()
        }
      ),
      { numRuns: 300 }
    )
  })

  it("handles int32 outputs", () => {
    const x = fromValues([5], "int32", [-3, 0, 7, 46341, -2147483648])
    expect(Array.from(unary("neg", x, "int32"))).toEqual([3, 0, -7, -46341, -2147483648])
    expect(Array.from(unary("abs", x, "int32"))).toEqual([3, 0, 7, 46341, -2147483648])
    expect(Array.from(unary("square", x, "int32"))).toEqual([9, 0, 49, Math.imul(46341, 46341), 0])
    expect(Array.from(unary("sign", x, "int32"))).toEqual([-1, 0, 1, 1, -1])
  })

  it("has the documented special cases", () => {
    const x = fromValues([7], "float64", [0, -0, NaN, 2.5, -2.5, 0.5, 1.5])
    expect(Array.from(unary("sign", x, "float64")).map((v) => (Object.is(v, -0) ? 0 : v))).toEqual([0, 0, NaN, 1, -1, 1, 1])
    expect(Array.from(unary("round", x, "float64"))).toEqual([0, -0, NaN, 2, -2, 0, 2])
    const big = fromValues([4], "float64", [1e4, -1e4, 800, -800])
    expect(Array.from(unary("logistic", big, "float64"))).toEqual([1, 0, 1, 0])
    expect(Array.from(unary("logistic", big, "float32"))).toEqual([1, 0, 1, 0])
    expect(unary("logistic", fromValues([1], "float64", [-30]), "float64")[0]).toBeCloseTo(9.357622968840175e-14, 25)
    expect(Array.from(unary("not", fromValues([4], "float32", [0, 1, -2, NaN]), "bool"))).toEqual([1, 0, 0, 0])
    expect(Array.from(unary("isfinite", fromValues([4], "float64", [0, Infinity, -Infinity, NaN]), "bool"))).toEqual([1, 0, 0, 0])
    expect(Array.from(unary("isnan", fromValues([3], "float32", [0, Infinity, NaN]), "bool"))).toEqual([0, 0, 1])
  })

  it("rounds float32 outputs of float64 math once", () => {
    const x = fromValues([3], "float32", [0.1, 1.3, -2.7])
    const r = unary("exp", x, "float32")
    for (let i = 0; i < 3; i++) expect(r[i]).toBe(Math.fround(Math.exp(x.buffer[i])))
  })
})

const floorModRef = (x: number, y: number): number => x - y * Math.floor(x / y)

const truthy = (x: number): boolean => Number.isNaN(x) || Boolean(x)

const binaryRef: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: (x, y) => x ** y,
  max: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
  min: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
  eq: (x, y) => (x === y ? 1 : 0),
  ne: (x, y) => (x !== y ? 1 : 0),
  lt: (x, y) => (x < y ? 1 : 0),
  le: (x, y) => (x <= y ? 1 : 0),
  gt: (x, y) => (x > y ? 1 : 0),
  ge: (x, y) => (x >= y ? 1 : 0),
  // NaN is truthy, as in NumPy.
  and: (x, y) => (truthy(x) && truthy(y) ? 1 : 0),
  or: (x, y) => (truthy(x) || truthy(y) ? 1 : 0),
  xor: (x, y) => (truthy(x) !== truthy(y) ? 1 : 0),
  atan2: Math.atan2,
  mod: (x, y) => (y === 0 ? NaN : Number.isFinite(y) ? floorModRef(x, y) : x % y === 0 ? 0 : (x < 0) === (y < 0) ? x : y),
  floorDiv: (x, y) => Math.floor(x / y)
}

/** NaN-free values for which mod and floorDiv references are exact. */
const modValueKind: ValueKind = "quarter"

describe("binary", () => {
  const ops = Object.keys(binaryRef) as Array<BinaryOp>
  const boolOps = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"])
  it("matches the reference with broadcasting and arbitrary strides", () => {
    fc.assert(
      fc.property(
        arbShape(0, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            lx: arbLayoutOrContiguous(shape.length, true),
            ly: arbLayoutOrContiguous(shape.length, true),
            op: fc.constantFrom(...ops),
            dtype: fc.constantFrom<DType>("float32", "float64", "int32", "bool"),
            outFloat: fc.constantFrom<DType>("float32", "float64"),
            seed: fc.integer()
          })
        ),
        ({ shape, lx, ly, op, dtype, outFloat, seed }) => {
          const kind: ValueKind = op === "mod" || op === "floorDiv" ? modValueKind : "special"
          const x = makeView(shape, dtype, lx, values(dtype, seed, kind))
          const y = makeView(shape, dtype, ly, values(dtype, seed + 1, kind))
          const outDtype: DType = boolOps.has(op) ? "bool" : dtype === "float32" || dtype === "float64" ? outFloat : dtype
          const result = binary(op, x, y, shape, outDtype)
          const xs = read(x)
          const ys = read(y)
          const intOut = outDtype === "int32"
          const ref = (a: number, b: number): number => {
            if (intOut && op === "mul") return Number(BigInt.asIntN(32, BigInt(a) * BigInt(b)))
            if (intOut && (op === "div" || op === "mod" || op === "floorDiv") && b === 0) return 0
            return binaryRef[op](a, b)
          }
          const expected = store(outDtype, xs.map((a, i) => ref(a, ys[i])))
          expect(mismatch(result, expected), `${op} ${dtype}->${outDtype}`).toBeNull()
        }
      ),
      { numRuns: 400 }
    )
  })

  it("broadcasts a scalar and a row", () => {
    const x = makeView([3, 4], "float32", contiguousLayout(2), values("float32", 1))
    const s = { buffer: new Float32Array([2]), dtype: "float32" as const, shape: [3, 4], strides: [0, 0], offset: 0 }
    const row = { buffer: new Float32Array([1, 2, 3, 4]), dtype: "float32" as const, shape: [3, 4], strides: [0, 1], offset: 0 }
    const col = { buffer: new Float32Array([1, 2, 3]), dtype: "float32" as const, shape: [3, 4], strides: [1, 0], offset: 0 }
    const xs = read(x)
    expect(Array.from(binary("mul", x, s, [3, 4], "float32"))).toEqual(Array.from(store("float32", xs.map((v) => v * 2))))
    expect(Array.from(binary("add", s, row, [3, 4], "float32"))).toEqual([3, 4, 5, 6, 3, 4, 5, 6, 3, 4, 5, 6])
    expect(Array.from(binary("sub", row, col, [3, 4], "float64"))).toEqual([0, 1, 2, 3, -1, 0, 1, 2, -2, -1, 0, 1])
  })

  it("has NumPy semantics for mod, max and integer division", () => {
    const f = (data: Array<number>) => fromValues([data.length], "float64", data)
    expect(Array.from(binary("mod", f([-7, 7, -7.5, 7, 0]), f([3, -3, 2, 3, -2]), [5], "float64"))).toEqual([2, -2, 0.5, 1, 0])
    expect(Array.from(binary("max", f([NaN, 1, 2]), f([1, NaN, 1]), [3], "float64"))).toEqual([NaN, NaN, 2])
    expect(Array.from(binary("min", f([NaN, 1, 2]), f([1, NaN, 1]), [3], "float64"))).toEqual([NaN, NaN, 1])
    const i = (data: Array<number>) => fromValues([data.length], "int32", data)
    expect(Array.from(binary("div", i([7, -7, 1, 5]), i([2, 2, 0, 5]), [4], "int32"))).toEqual([3, -3, 0, 1])
    expect(Array.from(binary("floorDiv", i([7, -7, 1]), i([2, 2, 0]), [3], "int32"))).toEqual([3, -4, 0])
    expect(Array.from(binary("mod", i([-7, 7, 3]), i([3, -3, 0]), [3], "int32"))).toEqual([2, -2, 0])
    expect(Array.from(binary("pow", i([2, 3, -2]), i([10, 2, 3]), [3], "int32"))).toEqual([1024, 9, -8])
    expect(Array.from(binary("mul", i([65536, 3]), i([65536, -4]), [2], "int32"))).toEqual([0, -12])
    expect(Array.from(binary("add", i([2147483647]), i([1]), [1], "int32"))).toEqual([-2147483648])
  })
})

describe("select", () => {
  it("matches where(cond, x, y)", () => {
    fc.assert(
      fc.property(
        arbShape(0, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            lc: arbLayoutOrContiguous(shape.length, true),
            lx: arbLayoutOrContiguous(shape.length, true),
            ly: arbLayoutOrContiguous(shape.length, true),
            condDtype: fc.constantFrom<DType>("bool", "float32"),
            dtype: fc.constantFrom(...DTYPES),
            seed: fc.integer()
          })
        ),
        ({ shape, lc, lx, ly, condDtype, dtype, seed }) => {
          const c = makeView(shape, condDtype, lc, values(condDtype, seed, "special"))
          const x = makeView(shape, dtype, lx, values(dtype, seed + 1, "special"))
          const y = makeView(shape, dtype, ly, values(dtype, seed + 2, "special"))
          const cs = read(c)
          const xs = read(x)
          const ys = read(y)
          const expected = store(dtype, cs.map((cv, i) => (cv !== 0 ? xs[i] : ys[i])))
          expect(mismatch(select(c, x, y, shape, dtype), expected)).toBeNull()
        }
      ),
      runs
    )
  })
})

// Small contiguous maps take a shortcut (a kernel table by op and dtypes); the same values in a strided
// layout take the general path. Both must give the same bits, for every op and every (input, output)
// dtype pair, including bool outputs, whose kernels differ (`+(v !== 0)`).
describe("small contiguous maps: the shortcut gives the general path's bits", () => {
  const UNARY: ReadonlyArray<UnaryOp> = ["neg", "exp", "log", "sqrt", "sin", "tanh", "abs", "sign", "square", "not", "isnan", "isfinite"]
  const BINARY: ReadonlyArray<BinaryOp> = ["add", "sub", "mul", "div", "max", "min", "lt", "eq", "and"]
  /** The same values as a strided view (every other element of a larger buffer). */
  const strided = (v: ReturnType<typeof fromValues>): ReturnType<typeof fromValues> => {
    const n = v.shape.reduce((a, b) => a * b, 1)
    const wide = fromValues([2 * n], v.dtype, Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? v.buffer[i / 2] : 7)))
    return { ...wide, shape: v.shape, strides: [2 * v.shape[1], 2], offset: 0 }
  }
  it("unary and binary, every dtype pair", () => {
    let checked = 0
    for (const inDtype of DTYPES) {
      const x = fromValues([3, 4], inDtype, Array.from({ length: 12 }, (_, i) => [0, 1.5, -2, 3, 0.25, -0, 5, 1, 2, -1, 0, 4][i]))
      const y = fromValues([3, 4], inDtype, Array.from({ length: 12 }, (_, i) => [1, 0, 2, 3, -1, 1, 5, 0, 2, 4, 0, -4][i]))
      for (const outDtype of DTYPES) {
        for (const op of UNARY) {
          expect(mismatch(unary(op, x, outDtype), unary(op, strided(x), outDtype)), `${op} ${inDtype}→${outDtype}`).toBeNull()
          checked++
        }
        for (const op of BINARY) {
          const shape = [3, 4]
          expect(mismatch(binary(op, x, y, shape, outDtype), binary(op, strided(x), strided(y), shape, outDtype)), `${op} ${inDtype}→${outDtype}`).toBeNull()
          // one operand a broadcast value (all strides 0), either side
          const one = { ...y, shape, strides: [0, 0], offset: 5 }
          expect(mismatch(binary(op, x, one, shape, outDtype), binary(op, strided(x), one, shape, outDtype)), `${op} ${inDtype}→${outDtype}, value on the right`).toBeNull()
          expect(mismatch(binary(op, one, y, shape, outDtype), binary(op, one, strided(y), shape, outDtype)), `${op} ${inDtype}→${outDtype}, value on the left`).toBeNull()
          checked++
        }
      }
    }
    expect(checked).toBe(4 * 4 * (UNARY.length + BINARY.length))
  })
})
