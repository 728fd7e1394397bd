/**
 * NdArray: constructors, properties, printing, structural equality, and every
 * elementwise operation of `NdArray.ts` against a scalar reference loop over
 * `.data()` (float64 to 1e-12, float32 to its rounding, int32 exactly).
 */
import { describe, expect, it } from "@effect/vitest"
import { Equal, Hash } from "effect"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import type { DType } from "../src/NdArray.js"

type NdArray = ReturnType<typeof NdArray.zeros>

// ---------------------------------------------------------------------------
// Reference helpers

const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

const close = (actual: number, expected: number, rtol: number, atol: number): boolean =>
  actual === expected || (Number.isNaN(actual) && Number.isNaN(expected)) || Math.abs(actual - expected) <= atol + rtol * Math.abs(expected)

const expectValues = (x: NdArray, expected: ReadonlyArray<number>, rtol = 0, atol = 0) => {
  const got = Array.from(x.data(), Number)
  expect(got.length).toBe(expected.length)
  got.forEach((g, i) => {
    if (!close(g, expected[i], rtol, atol)) expect.fail(`element ${i}: got ${g}, expected ${expected[i]} (all: ${got.join(", ")})`)
  })
}

/** erf by its Maclaurin series (|x| ≤ 3) — independent of the kernel's rational approximation. */
const erfSeries = (x: number): number => {
  let term = x
  let sum = x
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n
    sum += term / (2 * n + 1)
  }
  return (2 / Math.sqrt(Math.PI)) * sum
}

/** Round half to even, written from the definition. */
const roundHalfEven = (x: number): number => {
  const f = Math.floor(x)
  const d = x - f
  if (d < 0.5) return f
  if (d > 0.5) return f + 1
  return f % 2 === 0 ? f : f + 1
}

/** Floored remainder with the sign of the divisor (Python's %), as NumPy computes it: fmod, then shift into the divisor's sign. */
const floorMod = (x: number, y: number): number => {
  const r = x % y
  return r !== 0 && r < 0 !== y < 0 ? r + y : r
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })

const arrayArb = (dtype: "float32" | "float64", min: number, max: number, shape: fc.Arbitrary<Array<number>> = shapeArb) =>
  shape.chain((s) =>
    fc
      .array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: sizeOf(s), maxLength: sizeOf(s) })
      .map((v) => NdArray.array(dtype === "float32" ? new Float32Array(v) : new Float64Array(v), { shape: s }))
  )

const intArrayArb = (min: number, max: number, shape: fc.Arbitrary<Array<number>> = shapeArb) =>
  shape.chain((s) =>
    fc.array(fc.integer({ min, max }), { minLength: sizeOf(s), maxLength: sizeOf(s) }).map((v) => NdArray.array(new Int32Array(v), { shape: s }))
  )

const numRuns = 30

// ---------------------------------------------------------------------------
describe("constructors", () => {
  it("array from nested numbers: float32, shape inferred, row-major values", () => {
    const x = NdArray.array([
      [1, 2, 3],
      [4, 5, 6]
    ])
    expect(x.shape).toEqual([2, 3])
    expect(x.dtype).toBe("float32")
    expect(x.size).toBe(6)
    expect(x.ndim).toBe(2)
    expect(x.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6]
    ])
    expect(Array.from(x.data())).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("booleans give bool; mixed booleans and numbers give float32; typed arrays keep their dtype", () => {
    expect(NdArray.array([true, false]).dtype).toBe("bool")
    expect(NdArray.array([true, false]).toArray()).toEqual([true, false])
    expect(NdArray.array([true, 2]).dtype).toBe("float32")
    expect(NdArray.array(new Float64Array([1, 2])).dtype).toBe("float64")
    expect(NdArray.array(new Int32Array([1, 2])).dtype).toBe("int32")
    expect(NdArray.array(new Uint8Array([0, 3]), { dtype: "bool" }).toArray()).toEqual([false, true])
    expect(NdArray.array([1.7, -1.7], { dtype: "int32" }).toArray()).toEqual([1, -1])
  })

  it("array(typed, { shape }) reshapes; array(NdArray, { dtype }) converts", () => {
    const x = NdArray.array(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] })
    expect(x.toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6]
    ])
    const y = NdArray.array(x, { dtype: "int32" })
    expect(y.dtype).toBe("int32")
    expect(y.shape).toEqual([3, 2])
    const z = NdArray.array([1, 2, 3, 4], { shape: [2, 2] })
    expect(z.shape).toEqual([2, 2])
  })

  it("float32 storage rounds values", () => {
    expect(NdArray.array([0.1]).item()).toBe(Math.fround(0.1))
    expect(NdArray.array([0.1], { dtype: "float64" }).item()).toBe(0.1)
  })

  it("zeros, ones, full, *Like", () => {
    expect(NdArray.zeros([2, 2]).toArray()).toEqual([
      [0, 0],
      [0, 0]
    ])
    expect(NdArray.ones([3], { dtype: "int32" }).dtype).toBe("int32")
    expect(NdArray.full([2], 7.5).toArray()).toEqual([7.5, 7.5])
    expect(NdArray.full([2], true).dtype).toBe("bool")
    const x = NdArray.array([[1, 2]], { dtype: "float64" })
    expect(NdArray.zerosLike(x).dtype).toBe("float64")
    expect(NdArray.onesLike(x).toArray()).toEqual([[1, 1]])
    expect(NdArray.fullLike(x, 3).toArray()).toEqual([[3, 3]])
  })

  it("arange: integer arguments give int32, fractional float32; empty when stop <= start", () => {
    expect(NdArray.arange(4).toArray()).toEqual([0, 1, 2, 3])
    expect(NdArray.arange(4).dtype).toBe("int32")
    expect(NdArray.arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75])
    expect(NdArray.arange(1, 2, 0.25).dtype).toBe("float32")
    expect(NdArray.arange(5, 0, -2).toArray()).toEqual([5, 3, 1])
    expect(NdArray.arange(3, 3).shape).toEqual([0])
  })

  it("linspace includes both ends; eye with offset", () => {
    expect(NdArray.linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1])
    expect(NdArray.linspace(0, 1, 4, { endpoint: false }).toArray()).toEqual([0, 0.25, 0.5, 0.75])
    expect(NdArray.linspace(2, 3, 1).toArray()).toEqual([2])
    expect(NdArray.eye(3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1]
    ])
    expect(NdArray.eye(2, { m: 3, k: 1 }).toArray()).toEqual([
      [0, 1, 0],
      [0, 0, 1]
    ])
  })

  it("scalar and 0-d arrays", () => {
    const s = NdArray.scalar(2.5)
    expect(s.shape).toEqual([])
    expect(s.ndim).toBe(0)
    expect(s.size).toBe(1)
    expect(s.item()).toBe(2.5)
    expect(s.toArray()).toBe(2.5)
    expect(NdArray.array(3).shape).toEqual([])
    expect(NdArray.scalar(true).dtype).toBe("bool")
  })

  it("empty arrays and size-1 dims", () => {
    const e = NdArray.zeros([0, 3])
    expect(e.size).toBe(0)
    expect(e.toArray()).toEqual([])
    expect(NdArray.array([]).shape).toEqual([0])
    expect(NdArray.add(e, 1).shape).toEqual([0, 3])
    expect(NdArray.add(NdArray.zeros([1, 3]), NdArray.zeros([4, 1])).shape).toEqual([4, 3])
    expect(NdArray.ones([1, 1, 1]).item()).toBe(1)
  })

  it("data() is a copy: writing to it never changes the array", () => {
    const x = NdArray.array([1, 2, 3])
    const d = x.data()
    d[0] = 100
    expect(x.toArray()).toEqual([1, 2, 3])
  })

  it("item() of a non-size-1 array is a typed error naming the shape", () => {
    expect(() => NdArray.zeros([2]).item()).toThrow(expect.objectContaining({ _tag: "TransformError", message: expect.stringContaining("[2]") }))
  })
})

// ---------------------------------------------------------------------------
describe("toString", () => {
  it("prints like NumPy", () => {
    expect(
      String(
        NdArray.array([
          [1, 2],
          [3, 4]
        ])
      )
    ).toBe("array([[1., 2.],\n       [3., 4.]], dtype=float32)")
    expect(String(NdArray.array([1.5, 2.25], { dtype: "float64" }))).toBe("array([ 1.5, 2.25])")
    expect(String(NdArray.array([true, false]))).toBe("array([ True, False])")
    expect(String(NdArray.arange(3))).toBe("array([0, 1, 2], dtype=int32)")
    expect(String(NdArray.scalar(3))).toBe("array(3., dtype=float32)")
    expect(String(NdArray.zeros([0]))).toBe("array([], dtype=float32)")
    expect(String(NdArray.array([NaN, Infinity, -Infinity], { dtype: "float64" }))).toBe("array([ nan,  inf, -inf])")
  })

  it("uses scientific notation for very small or large magnitudes", () => {
    expect(String(NdArray.array([1e-5, 1], { dtype: "float64" }))).toBe("array([1.0000e-05, 1.0000e+00])")
  })

  it("a 3-d array separates blocks with a blank line", () => {
    expect(String(NdArray.reshape(NdArray.arange(8), [2, 2, 2]))).toBe("array([[[0, 1],\n        [2, 3]],\n\n       [[4, 5],\n        [6, 7]]], dtype=int32)")
  })
})

// ---------------------------------------------------------------------------
describe("Equal and Hash", () => {
  it("equal values, shape and dtype are Equal with the same hash, whatever the layout", () => {
    const a = NdArray.array([
      [1, 2],
      [3, 4]
    ])
    const b = NdArray.transpose(
      NdArray.array([
        [1, 3],
        [2, 4]
      ])
    )
    expect(Equal.equals(a, b)).toBe(true)
    expect(Hash.hash(a)).toBe(Hash.hash(b))
  })

  it("different values, shapes or dtypes are not Equal", () => {
    const a = NdArray.array([1, 2, 3, 4])
    expect(Equal.equals(a, NdArray.array([1, 2, 3, 5]))).toBe(false)
    expect(Equal.equals(a, NdArray.reshape(a, [2, 2]))).toBe(false)
    expect(Equal.equals(a, NdArray.array([1, 2, 3, 4], { dtype: "float64" }))).toBe(false)
    expect(Equal.equals(a, NdArray.array([1, 2, 3, 4], { dtype: "int32" }))).toBe(false)
  })

  it("NaN equals NaN structurally", () => {
    expect(Equal.equals(NdArray.array([NaN, 1]), NdArray.array([NaN, 1]))).toBe(true)
  })

  it("property: an array equals a copy of itself (data round trip)", () =>
    fc.assert(
      fc.property(arrayArb("float32", -10, 10), (x) => {
        const copy = NdArray.array(x.data() as Float32Array, { shape: x.shape })
        expect(Equal.equals(x, copy)).toBe(true)
        expect(Hash.hash(x)).toBe(Hash.hash(copy))
      }),
      { numRuns }
    ))
})

// ---------------------------------------------------------------------------
// Elementwise operations against a scalar reference

interface UnaryCase {
  readonly name: string
  readonly op: (x: NdArray) => NdArray
  readonly ref: (x: number) => number
  readonly min: number
  readonly max: number
  /** Values snapped to a grid, to reach ties (round half to even). */
  readonly quarter?: boolean
  /** Output dtype for float64 input when not float64. */
  readonly out?: DType
}

const unaryCases: ReadonlyArray<UnaryCase> = [
  { name: "neg", op: NdArray.neg, ref: (x) => -x, min: -10, max: 10 },
  { name: "abs", op: NdArray.abs, ref: Math.abs, min: -10, max: 10 },
  { name: "sign", op: NdArray.sign, ref: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), min: -3, max: 3, quarter: true },
  { name: "square", op: NdArray.square, ref: (x) => x * x, min: -10, max: 10 },
  { name: "exp", op: NdArray.exp, ref: Math.exp, min: -20, max: 20 },
  { name: "log", op: NdArray.log, ref: Math.log, min: 1e-3, max: 100 },
  { name: "log1p", op: NdArray.log1p, ref: (x) => Math.log(1 + x), min: -0.9, max: 100 },
  { name: "expm1", op: NdArray.expm1, ref: (x) => Math.exp(x) - 1, min: -5, max: 5 },
  { name: "sqrt", op: NdArray.sqrt, ref: Math.sqrt, min: 0, max: 100 },
  { name: "reciprocal", op: NdArray.reciprocal, ref: (x) => 1 / x, min: 0.1, max: 10 },
  { name: "sin", op: NdArray.sin, ref: Math.sin, min: -10, max: 10 },
  { name: "cos", op: NdArray.cos, ref: Math.cos, min: -10, max: 10 },
  { name: "tan", op: NdArray.tan, ref: (x) => Math.sin(x) / Math.cos(x), min: -1.4, max: 1.4 },
  { name: "atan", op: NdArray.atan, ref: Math.atan, min: -10, max: 10 },
  { name: "tanh", op: NdArray.tanh, ref: (x) => (Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1), min: -5, max: 5 },
  { name: "sigmoid", op: NdArray.sigmoid, ref: (x) => 1 / (1 + Math.exp(-x)), min: -20, max: 20 },
  { name: "erf", op: NdArray.erf, ref: erfSeries, min: -3, max: 3 },
  { name: "floor", op: NdArray.floor, ref: Math.floor, min: -5, max: 5, quarter: true },
  { name: "ceil", op: NdArray.ceil, ref: Math.ceil, min: -5, max: 5, quarter: true },
  { name: "round", op: NdArray.round, ref: roundHalfEven, min: -5, max: 5, quarter: true },
  { name: "stopGradient", op: NdArray.stopGradient, ref: (x) => x, min: -5, max: 5 },
  { name: "isNan", op: NdArray.isNan, ref: () => 0, min: -5, max: 5, out: "bool" },
  { name: "isFinite", op: NdArray.isFinite, ref: () => 1, min: -5, max: 5, out: "bool" },
  { name: "logicalNot", op: NdArray.logicalNot, ref: (x) => (x === 0 ? 1 : 0), min: -2, max: 2, quarter: true, out: "bool" },
  { name: "astype(int32)", op: (x) => NdArray.astype(x, "int32"), ref: Math.trunc, min: -100, max: 100, out: "int32" },
  { name: "astype(bool)", op: (x) => NdArray.astype(x, "bool"), ref: (x) => (x !== 0 ? 1 : 0), min: -2, max: 2, quarter: true, out: "bool" }
]

const snap = (quarter: boolean | undefined) => (x: NdArray) => (quarter ? NdArray.div(NdArray.round(NdArray.mul(x, 4)), 4) : x)

describe("unary elementwise ops match a scalar reference loop", () => {
  for (const c of unaryCases) {
    const rtol64 = c.name === "erf" ? 1e-13 : 1e-14
    it(`${c.name}: float64`, () =>
      fc.assert(
        fc.property(arrayArb("float64", c.min, c.max).map(snap(c.quarter)), (x) => {
          const y = c.op(x)
          expect(y.shape).toEqual(x.shape)
          expect(y.dtype).toBe(c.out ?? "float64")
          expectValues(y, Array.from(x.data(), c.ref), rtol64, rtol64)
        }),
        { numRuns }
      ))
    it(`${c.name}: float32`, () =>
      fc.assert(
        fc.property(arrayArb("float32", c.min, c.max).map(snap(c.quarter)), (x) => {
          const y = c.op(x)
          expect(y.dtype).toBe(c.out ?? "float32")
          // the kernel computes in double and rounds once
          expectValues(
            y,
            Array.from(x.data(), (v) => (c.out === undefined ? Math.fround(c.ref(v)) : c.ref(v))),
            3e-7,
            1e-7
          )
        }),
        { numRuns }
      ))
  }

  it("unary float ops promote int32 and bool to float32", () => {
    const x = NdArray.array([1, 4], { dtype: "int32" })
    expect(NdArray.sqrt(x).dtype).toBe("float32")
    expect(NdArray.sqrt(x).toArray()).toEqual([1, 2])
    expect(NdArray.exp(NdArray.array([true, false])).toArray()).toEqual([Math.fround(Math.E), 1])
  })

  it("integer ops stay int32: neg, abs, sign, square, floor/ceil/round are identities", () =>
    fc.assert(
      fc.property(intArrayArb(-1000, 1000), (x) => {
        const v = Array.from(x.data())
        for (const [op, ref] of [
          [NdArray.neg, (a: number) => -a],
          [NdArray.abs, Math.abs],
          [NdArray.sign, Math.sign],
          [NdArray.square, (a: number) => a * a],
          [NdArray.floor, (a: number) => a],
          [NdArray.ceil, (a: number) => a],
          [NdArray.round, (a: number) => a]
        ] as const) {
          const y = op(x)
          expect(y.dtype).toBe("int32")
          expectValues(y, v.map(ref))
        }
      }),
      { numRuns }
    ))

  it("edge values: log(0) = -inf, log(-1) = NaN, sqrt(-1) = NaN, sigmoid(±1000) = 1/0, sign keeps NaN", () => {
    expectValues(NdArray.log(NdArray.array([0, -1], { dtype: "float64" })), [-Infinity, NaN])
    expectValues(NdArray.sqrt(NdArray.array([-1])), [NaN])
    expectValues(NdArray.sigmoid(NdArray.array([1000, -1000])), [1, 0])
    expectValues(NdArray.sign(NdArray.array([NaN, 0, -2])), [NaN, 0, -1])
    expectValues(NdArray.isNan(NdArray.array([NaN, 1, Infinity])), [1, 0, 0])
    expectValues(NdArray.isFinite(NdArray.array([NaN, 1, Infinity, -Infinity])), [0, 1, 0, 0])
    expectValues(NdArray.round(NdArray.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5])), [0, 2, 2, -0, -2, -2])
    expectValues(NdArray.erf(NdArray.array([Infinity, -Infinity, 0], { dtype: "float64" })), [1, -1, 0])
  })
})

interface BinaryCase {
  readonly name: string
  readonly op: (x: NdArray, y: NdArray) => NdArray
  readonly ref: (x: number, y: number) => number
  readonly x: [number, number]
  readonly y: [number, number]
  readonly quarter?: boolean
  readonly out?: DType
}

const binaryCases: ReadonlyArray<BinaryCase> = [
  { name: "add", op: NdArray.add, ref: (a, b) => a + b, x: [-10, 10], y: [-10, 10] },
  { name: "sub", op: NdArray.sub, ref: (a, b) => a - b, x: [-10, 10], y: [-10, 10] },
  { name: "mul", op: NdArray.mul, ref: (a, b) => a * b, x: [-10, 10], y: [-10, 10] },
  { name: "div", op: NdArray.div, ref: (a, b) => a / b, x: [-10, 10], y: [0.5, 10] },
  { name: "pow", op: NdArray.pow, ref: (a, b) => Math.exp(b * Math.log(a)), x: [0.1, 5], y: [-3, 3] },
  { name: "maximum", op: NdArray.maximum, ref: (a, b) => (a > b ? a : b), x: [-3, 3], y: [-3, 3], quarter: true },
  { name: "minimum", op: NdArray.minimum, ref: (a, b) => (a < b ? a : b), x: [-3, 3], y: [-3, 3], quarter: true },
  { name: "mod", op: NdArray.mod, ref: floorMod, x: [-10, 10], y: [0.5, 4] },
  { name: "mod (negative divisor)", op: NdArray.mod, ref: floorMod, x: [-10, 10], y: [-4, -0.5] },
  { name: "atan2", op: NdArray.atan2, ref: Math.atan2, x: [-3, 3], y: [-3, 3] },
  { name: "equal", op: NdArray.equal, ref: (a, b) => (a === b ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "notEqual", op: NdArray.notEqual, ref: (a, b) => (a !== b ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "less", op: NdArray.less, ref: (a, b) => (a < b ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "lessEqual", op: NdArray.lessEqual, ref: (a, b) => (a <= b ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "greater", op: NdArray.greater, ref: (a, b) => (a > b ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "greaterEqual", op: NdArray.greaterEqual, ref: (a, b) => (a >= b ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "logicalAnd", op: NdArray.logicalAnd, ref: (a, b) => (a !== 0 && b !== 0 ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "logicalOr", op: NdArray.logicalOr, ref: (a, b) => (a !== 0 || b !== 0 ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "logicalXor", op: NdArray.logicalXor, ref: (a, b) => ((a !== 0) !== (b !== 0) ? 1 : 0), x: [-1, 1], y: [-1, 1], quarter: true, out: "bool" },
  { name: "where(x > 0, x, y)", op: (x, y) => NdArray.where(NdArray.greater(x, 0), x, y), ref: (a, b) => (a > 0 ? a : b), x: [-2, 2], y: [-2, 2] },
  { name: "clip(x, -1, y)", op: (x, y) => NdArray.clip(x, -1, y), ref: (a, b) => Math.min(Math.max(a, -1), b), x: [-3, 3], y: [-3, 3] }
]

/** Two same-shape arrays. */
const pairArb = (dtype: "float32" | "float64", c: BinaryCase) =>
  shapeArb.chain((s) =>
    fc.tuple(arrayArb(dtype, c.x[0], c.x[1], fc.constant(s)), arrayArb(dtype, c.y[0], c.y[1], fc.constant(s))).map(([x, y]) => [snap(c.quarter)(x), snap(c.quarter)(y)] as const)
  )

describe("binary elementwise ops match a scalar reference loop", () => {
  for (const c of binaryCases) {
    it(`${c.name}: float64`, () =>
      fc.assert(
        fc.property(pairArb("float64", c), ([x, y]) => {
          const z = c.op(x, y)
          expect(z.shape).toEqual(x.shape)
          expect(z.dtype).toBe(c.out ?? "float64")
          const xv = x.data()
          const yv = y.data()
          expectValues(
            z,
            Array.from(xv, (a, i) => c.ref(a, yv[i])),
            1e-13,
            1e-13
          )
        }),
        { numRuns }
      ))
    it(`${c.name}: float32`, () =>
      fc.assert(
        fc.property(pairArb("float32", c), ([x, y]) => {
          const z = c.op(x, y)
          expect(z.dtype).toBe(c.out ?? "float32")
          const xv = x.data()
          const yv = y.data()
          expectValues(
            z,
            Array.from(xv, (a, i) => c.ref(a, yv[i])),
            c.name === "pow" ? 2e-6 : 3e-7,
            // a float32 remainder may differ by one rounding of the quotient
            c.name.startsWith("mod") ? 2e-6 : 1e-6
          )
        }),
        { numRuns }
      ))
  }

  it("int32 arithmetic is exact and stays int32; mod is floored", () =>
    fc.assert(
      fc.property(
        intArrayArb(-1000, 1000, fc.constant([5])),
        intArrayArb(1, 50, fc.constant([5])),
        fc.boolean(),
        (x, y0, negate) => {
          const y = negate ? NdArray.neg(y0) : y0
          const xv = Array.from(x.data())
          const yv = Array.from(y.data())
          for (const [op, ref] of [
            [NdArray.add, (a: number, b: number) => a + b],
            [NdArray.sub, (a: number, b: number) => a - b],
            [NdArray.mul, (a: number, b: number) => a * b],
            [NdArray.maximum, Math.max],
            [NdArray.minimum, Math.min],
            [NdArray.mod, floorMod]
          ] as const) {
            const z = op(x, y)
            expect(z.dtype).toBe("int32")
            expectValues(
              z,
              xv.map((a, i) => ref(a, yv[i]))
            )
          }
        }
      ),
      { numRuns }
    ))

  it("mod pinned values (Python's %)", () => {
    expectValues(NdArray.mod(NdArray.array([-7, 7, -7, 7, 5.5, -0.5], { dtype: "float64" }), NdArray.array([3, -3, -3, 3, 2, 2], { dtype: "float64" })), [2, -2, -1, 1, 1.5, 1.5])
  })

  it("int32 multiplication wraps like a 32-bit machine integer", () => {
    const x = NdArray.array([65536, 2147483647], { dtype: "int32" })
    expectValues(NdArray.mul(x, x), [0, 1])
  })

  it("maximum/minimum propagate NaN", () => {
    expectValues(NdArray.maximum(NdArray.array([NaN, 1]), NdArray.array([1, NaN])), [NaN, NaN])
    expectValues(NdArray.minimum(NdArray.array([NaN, 1]), NdArray.array([1, NaN])), [NaN, NaN])
  })

  it("binary ops accept JavaScript numbers on either side, and are pipeable", () => {
    const x = NdArray.array([1, 2, 3])
    expect(NdArray.sub(10, x).toArray()).toEqual([9, 8, 7])
    expect(NdArray.sub(x, 10).toArray()).toEqual([-9, -8, -7])
    expect(x.pipe(NdArray.mul(2), NdArray.add(1)).toArray()).toEqual([3, 5, 7])
    expect(NdArray.clip(x, undefined, 2).toArray()).toEqual([1, 2, 2])
    expect(x.pipe(NdArray.clip(2, undefined)).toArray()).toEqual([2, 2, 3])
  })

  it("where broadcasts the condition and takes a non-bool condition as x != 0", () => {
    const r = NdArray.where(NdArray.array([[1], [0]]), NdArray.array([1, 2, 3]), -1)
    expect(r.toArray()).toEqual([
      [1, 2, 3],
      [-1, -1, -1]
    ])
  })

  it("astype between float dtypes, int32 → bool, bool → float", () => {
    expect(NdArray.astype(NdArray.array([0.1]), "float64").item()).toBe(Math.fround(0.1))
    expect(NdArray.astype(NdArray.array([0, 3, -1], { dtype: "int32" }), "bool").toArray()).toEqual([false, true, true])
    expect(NdArray.astype(NdArray.array([true, false]), "float32").toArray()).toEqual([1, 0])
  })
})
