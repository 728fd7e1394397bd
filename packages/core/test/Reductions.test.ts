/**
 * Reductions (sum mean prod max min argmax argmin logsumexp variance std any
 * all) against a naive reference: group the row-major values of `.data()` by
 * their index with the reduced axes removed, then fold each group. Random
 * shapes and axes given as a number, a list, negative, or absent, with and
 * without keepDims.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
const numRuns = 30

const close = (actual: number, expected: number, rtol: number, atol: number): boolean =>
  actual === expected || (Number.isNaN(actual) && Number.isNaN(expected)) || Math.abs(actual - expected) <= atol + rtol * Math.abs(expected)

/** Groups of the flat values: one per output element, in row-major output order. */
const groups = (shape: ReadonlyArray<number>, values: ArrayLike<number>, axes: ReadonlyArray<number>): Array<Array<number>> => {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i))
  const outShape = kept.map((i) => shape[i])
  const out: Array<Array<number>> = Array.from({ length: sizeOf(outShape) }, () => [])
  const idx = new Array<number>(shape.length).fill(0)
  for (let flat = 0; flat < values.length; flat++) {
    let rem = flat
    for (let i = shape.length - 1; i >= 0; i--) {
      idx[i] = rem % shape[i]
      rem = Math.floor(rem / shape[i])
    }
    let o = 0
    for (const k of kept) o = o * shape[k] + idx[k]
    out[o].push(values[flat])
  }
  return out
}

interface Case {
  readonly shape: Array<number>
  readonly values: Float64Array
  /** The axis option as given to the op. */
  readonly axis: number | Array<number> | undefined
  /** The same axes, normalised and sorted. */
  readonly axes: Array<number>
  readonly keepDims: boolean
}

/** A shape (dims ≥ 1 when `nonEmpty`), values, and an axis spec in one of its forms. */
const caseArb = (nonEmpty: boolean, min = -5, max = 5) =>
  fc.array(fc.integer({ min: nonEmpty ? 1 : 0, max: 4 }), { maxLength: 4 }).chain((shape) =>
    fc
      .tuple(
        fc.array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) }),
        fc.subarray(shape.map((_, i) => i)),
        fc.constantFrom("list", "negative-list", "number", "negative-number", "all"),
        fc.boolean(),
        fc.boolean()
      )
      .map(([v, subset, form, keepDims, shuffle]): Case => {
        let axis: Case["axis"]
        let axes: Array<number>
        if (form === "all") {
          axis = undefined
          axes = shape.map((_, i) => i)
        } else if ((form === "number" || form === "negative-number") && shape.length > 0) {
          const a = subset[0] ?? 0
          axis = form === "number" ? a : a - shape.length
          axes = [a]
        } else {
          axes = subset
          const list = form === "negative-list" ? subset.map((a) => a - shape.length) : subset.slice()
          axis = shuffle ? list.reverse() : list
        }
        return { shape, values: new Float64Array(v), axis, axes, keepDims }
      })
  )

const outShape = (c: Case) => (c.keepDims ? c.shape.map((d, i) => (c.axes.includes(i) ? 1 : d)) : c.shape.filter((_, i) => !c.axes.includes(i)))

const check = (y: NdArray, c: Case, fold: (g: Array<number>) => number, rtol: number, atol = rtol) => {
  expect(y.shape).toEqual(outShape(c))
  const expected = groups(c.shape, c.values, c.axes).map(fold)
  const got = Array.from(y.data(), Number)
  expect(got.length).toBe(expected.length)
  got.forEach((g, i) => {
    if (!close(g, expected[i], rtol, atol)) expect.fail(`output ${i}: got ${g}, expected ${expected[i]}`)
  })
}

const sum = (g: Array<number>) => g.reduce((a, b) => a + b, 0)
const mean = (g: Array<number>) => sum(g) / g.length
const variance = (ddof: number) => (g: Array<number>) => {
  const m = mean(g)
  return g.reduce((s, v) => s + (v - m) * (v - m), 0) / (g.length - ddof)
}

const reductions: ReadonlyArray<{
  readonly name: string
  readonly op: (x: NdArray, o: { axis?: number | Array<number>; keepDims?: boolean }) => NdArray
  readonly fold: (g: Array<number>) => number
  readonly nonEmpty?: boolean
  readonly range?: [number, number]
}> = [
  { name: "sum", op: NdArray.sum, fold: sum },
  { name: "mean", op: NdArray.mean, fold: mean, nonEmpty: true },
  { name: "prod", op: NdArray.prod, fold: (g) => g.reduce((a, b) => a * b, 1), range: [-2, 2] },
  { name: "max", op: NdArray.max, fold: (g) => g.reduce((a, b) => (b > a ? b : a), -Infinity), nonEmpty: true },
  { name: "min", op: NdArray.min, fold: (g) => g.reduce((a, b) => (b < a ? b : a), Infinity), nonEmpty: true },
  { name: "logsumexp", op: NdArray.logsumexp, fold: (g) => Math.log(g.reduce((s, v) => s + Math.exp(v), 0)), nonEmpty: true },
  { name: "variance", op: NdArray.variance, fold: variance(0), nonEmpty: true },
  { name: "variance ddof=1", op: (x, o) => NdArray.variance(x, { ...o, ddof: 1 }), fold: variance(1), nonEmpty: true },
  { name: "std", op: NdArray.std, fold: (g) => Math.sqrt(variance(0)(g)), nonEmpty: true }
]

describe("float reductions match a naive reference (float64)", () => {
  for (const r of reductions) {
    it(r.name, () =>
      fc.assert(
        fc.property(caseArb(r.nonEmpty ?? false, ...(r.range ?? [-5, 5])), (c) => {
          const x = NdArray.array(c.values, { shape: c.shape })
          const y = r.op(x, { axis: c.axis, keepDims: c.keepDims })
          expect(y.dtype).toBe("float64")
          // variance of a group of one with ddof = 1 is 0/0 = NaN in both
          check(y, c, r.fold, 1e-12, 1e-12)
        }),
        { numRuns }
      ))
  }

  it("float32 sums are accurate to float32 precision", () =>
    fc.assert(
      fc.property(caseArb(false), (c) => {
        const x = NdArray.array(new Float32Array(c.values), { shape: c.shape })
        const ref = new Float32Array(c.values)
        check(NdArray.sum(x, { axis: c.axis, keepDims: c.keepDims }), { ...c, values: new Float64Array(ref) }, sum, 1e-5, 1e-5)
        expect(NdArray.sum(x, { axis: c.axis }).dtype).toBe("float32")
      }),
      { numRuns }
    ))

  it("var_ is NumPy's name for variance", () => expect(NdArray.var_).toBe(NdArray.variance))

  it("reductions are pipeable and accept no options (all axes)", () => {
    const x = NdArray.array([
      [1, 2],
      [3, 4]
    ])
    expect(x.pipe(NdArray.sum()).item()).toBe(10)
    expect(x.pipe(NdArray.mean({ axis: 0 })).toArray()).toEqual([2, 3])
    expect(NdArray.max(x).shape).toEqual([])
  })
})

describe("argmax / argmin", () => {
  /** Values from a small set, so ties happen (the first index wins). */
  const argCase = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.array(fc.integer({ min: -3, max: 3 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) }),
      fc.integer({ min: -shape.length, max: shape.length - 1 }),
      fc.boolean()
    )
  )
  const firstIndex = (g: Array<number>, better: (a: number, b: number) => boolean) => {
    let best = 0
    for (let i = 1; i < g.length; i++) if (better(g[i], g[best])) best = i
    return best
  }
  for (const [name, op, better] of [
    ["argmax", NdArray.argmax, (a: number, b: number) => a > b],
    ["argmin", NdArray.argmin, (a: number, b: number) => a < b]
  ] as const) {
    it(`${name} along an axis (negative too, keepDims) picks the first extreme index`, () =>
      fc.assert(
        fc.property(argCase, fc.constantFrom("float32", "int32", "float64") as fc.Arbitrary<"float32" | "int32" | "float64">, ([shape, values, axis, keepDims], dtype) => {
          const x = NdArray.array(values, { shape, dtype })
          const a = axis < 0 ? axis + shape.length : axis
          const y = op(x, { axis, keepDims })
          expect(y.dtype).toBe("int32")
          check(y, { shape, values: new Float64Array(values), axis, axes: [a], keepDims }, (g) => firstIndex(g, better), 0)
        }),
        { numRuns }
      ))
    it(`${name} with no axis indexes the flattened array (keepDims: all axes size 1)`, () =>
      fc.assert(
        fc.property(argCase, ([shape, values]) => {
          const y = op(NdArray.array(values, { shape }))
          expect(y.shape).toEqual([])
          expect(y.item()).toBe(firstIndex(values, better))
          // keepDims keeps every axis as size 1 (NumPy)
          const k = op(NdArray.array(values, { shape }), { keepDims: true })
          expect(k.shape).toEqual(shape.map(() => 1))
          expect(k.item()).toBe(firstIndex(values, better))
        }),
        { numRuns }
      ))
  }
})

describe("any / all", () => {
  it("match a reference on bool and numeric arrays", () =>
    fc.assert(
      fc.property(
        caseArb(false).map((c) => ({ ...c, values: c.values.map((v) => (v > 2 ? 1 : v < -2 ? -1 : 0)) })),
        fc.boolean(),
        (c, asBool) => {
          const x = asBool ? NdArray.astype(NdArray.array(c.values, { shape: c.shape }), "bool") : NdArray.array(c.values, { shape: c.shape })
          const anyY = NdArray.any(x, { axis: c.axis, keepDims: c.keepDims })
          const allY = NdArray.all(x, { axis: c.axis, keepDims: c.keepDims })
          expect(anyY.dtype).toBe("bool")
          expect(allY.dtype).toBe("bool")
          check(anyY, c, (g) => (g.some((v) => v !== 0) ? 1 : 0), 0)
          check(allY, c, (g) => (g.every((v) => v !== 0) ? 1 : 0), 0)
        }
      ),
      { numRuns }
    ))
})

describe("dtypes and edge cases", () => {
  it("sum of int32 stays int32; sum of bool counts as int32; mean of int32 is float32", () => {
    expect(NdArray.sum(NdArray.array([1, 2, 3], { dtype: "int32" })).dtype).toBe("int32")
    const b = NdArray.sum(NdArray.array([true, true, false]))
    expect(b.dtype).toBe("int32")
    expect(b.item()).toBe(2)
    const m = NdArray.mean(NdArray.array([1, 2], { dtype: "int32" }))
    expect(m.dtype).toBe("float32")
    expect(m.item()).toBe(1.5)
  })

  it("empty reductions: sum is 0, prod is 1, mean is NaN; max of an empty axis is a ValueError", () => {
    const e = NdArray.zeros([0, 3])
    expect(NdArray.sum(e, { axis: 0 }).toArray()).toEqual([0, 0, 0])
    expect(NdArray.prod(e, { axis: 0 }).toArray()).toEqual([1, 1, 1])
    expect(Number.isNaN(NdArray.mean(e).item())).toBe(true)
    expect(NdArray.max(e, { axis: 1 }).shape).toEqual([0])
    expect(() => NdArray.max(e, { axis: 0 })).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => NdArray.argmax(e, { axis: 0 })).toThrow(expect.objectContaining({ _tag: "ValueError" }))
  })

  it("any of nothing is False and all of nothing is True (NumPy)", () => {
    expect(NdArray.any(NdArray.zeros([0])).toArray()).toBe(false)
    expect(NdArray.all(NdArray.zeros([0])).toArray()).toBe(true)
    expect(NdArray.any(NdArray.zeros([2, 0], { dtype: "bool" }), { axis: 1 }).toArray()).toEqual([false, false])
    expect(NdArray.all(NdArray.zeros([2, 0], { dtype: "bool" }), { axis: 1 }).toArray()).toEqual([true, true])
  })

  it("reducing a 0-d array over all axes returns it; an empty axis list is the identity", () => {
    expect(NdArray.sum(NdArray.scalar(4)).item()).toBe(4)
    const x = NdArray.array([1, 2])
    expect(NdArray.sum(x, { axis: [] }).toArray()).toEqual([1, 2])
  })

  it("max/min propagate NaN", () => {
    expect(Number.isNaN(NdArray.max(NdArray.array([1, NaN, 3])).item())).toBe(true)
    expect(Number.isNaN(NdArray.min(NdArray.array([1, NaN, 3])).item())).toBe(true)
  })

  it("logsumexp is stable at large magnitudes and handles -inf like NumPy", () => {
    expect(NdArray.logsumexp(NdArray.array([1000, 1000], { dtype: "float64" })).item()).toBeCloseTo(1000 + Math.LN2, 10)
    expect(NdArray.logsumexp(NdArray.array([-1000, -1000], { dtype: "float64" })).item()).toBeCloseTo(-1000 + Math.LN2, 10)
    expect(NdArray.logsumexp(NdArray.array([-Infinity, 0], { dtype: "float64" })).item()).toBe(0)
    // every input −∞: log Σ e^−∞ = log 0 = −∞ (NumPy/JAX), not NaN
    expect(NdArray.logsumexp(NdArray.array([-Infinity, -Infinity], { dtype: "float64" })).item()).toBe(-Infinity)
    expect(NdArray.logsumexp(NdArray.array([Infinity, 0], { dtype: "float64" })).item()).toBe(Infinity)
  })

  it("a repeated or out-of-range axis is an AxisError", () => {
    expect(() => NdArray.sum(NdArray.zeros([2, 3]), { axis: [0, -2] })).toThrow(expect.objectContaining({ _tag: "AxisError" }))
    expect(() => NdArray.mean(NdArray.zeros([2, 3]), { axis: 2 })).toThrow(expect.objectContaining({ _tag: "AxisError" }))
    expect(() => NdArray.argmax(NdArray.zeros([2, 3]), { axis: -3 })).toThrow(expect.objectContaining({ _tag: "AxisError" }))
  })
})

/**
 * The order of a sum: each contiguous run of n values is summed in float64 by
 * eight interleaved partial sums (the first n mod 8 values to the first, then
 * value r + 8q + j to partial j), combined pairwise, and added to the running
 * total.
 * Every path (a whole array, a permuted view of one, rows, the general
 * kernel) keeps this order, so they agree bit for bit.
 */
describe("sum: one summation order in every path", () => {
  const runSum = (xs: ArrayLike<number>): number => {
    const s = new Float64Array(8)
    const r = xs.length % 8
    for (let i = 0; i < r; i++) s[0] += xs[i]
    for (let i = r; i < xs.length; i++) s[(i - r) % 8] += xs[i]
    return 0 + (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])))
  }
  // values whose float64 sum depends on the order (magnitudes from 1e-8 to 1e8)
  const values = (n: number, seed: number): Float64Array =>
    Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 10 ** ((((i * 7 + seed) % 17) - 8)))

  it("a whole array, and a transposed view of it (summed in memory order)", () => {
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 63, 1000, 4099]) {
      const xs = values(n, n)
      const x = NdArray.array(xs, { dtype: "float64" })
      expect(Object.is(NdArray.sum(x).item(), runSum(xs)), `n = ${n}`).toBe(true)
      if (n % 4 === 0 && n > 0) {
        const t = NdArray.transpose(NdArray.reshape(x, [4, n / 4]))
        expect(Object.is(NdArray.sum(t).item(), runSum(xs)), `n = ${n}, transposed`).toBe(true)
      }
    }
    // float32 values accumulate in float64, rounded once at the end
    const xs32 = Float32Array.from(values(1001, 3))
    expect(NdArray.sum(NdArray.array(xs32, { dtype: "float32" })).item()).toBe(Math.fround(runSum(xs32)))
  })

  it("rows (the last axis) and the general kernel (a run per row, added to the running total)", () => {
    const [a, b, c] = [3, 5, 37]
    const xs = values(a * b * c, 11)
    const x = NdArray.reshape(NdArray.array(xs, { dtype: "float64" }), [a, b, c])
    const rows = NdArray.sum(x, { axis: -1 }).data()
    for (let r = 0; r < a * b; r++) expect(Object.is(rows[r], runSum(xs.subarray(r * c, (r + 1) * c)))).toBe(true)
    // over axes 0 and 2: for each j, the runs x[0, j, :], x[1, j, :], … in turn
    const outer = NdArray.sum(x, { axis: [0, 2] }).data()
    for (let j = 0; j < b; j++) {
      let total = 0
      for (let i = 0; i < a; i++) total = total + runSum(xs.subarray((i * b + j) * c, (i * b + j + 1) * c))
      expect(Object.is(outer[j], total), `j = ${j}`).toBe(true)
    }
  })
})

describe("axes go in an options object", () => {
  it("a bare number or array where the options go is a ValueError, not a reduction over every axis", () => {
    const x = NdArray.reshape(NdArray.arange(6), [2, 3])
    const bad: any = -1
    for (const [name, call] of [
      ["sum", () => NdArray.sum(x, bad)],
      ["mean", () => NdArray.mean(x, [0] as any)],
      ["max", () => NdArray.max(x, bad)],
      ["variance", () => NdArray.variance(x, bad)],
      ["std", () => NdArray.std(x, bad)],
      ["argmax", () => NdArray.argmax(x, bad)],
      ["take", () => NdArray.take(x, [0], bad)],
      ["softmax", () => NdArray.softmax(x, bad)],
      ["logSoftmax", () => NdArray.logSoftmax(x, bad)]
    ] as const) {
      expect(call, name).toThrow(expect.objectContaining({ _tag: "ValueError", message: expect.stringContaining(`${name}(x, { axis: -1 })`) }))
    }
    expect(NdArray.sum(x, { axis: -1 }).shape).toEqual([2])
    expect(NdArray.sum(x).shape).toEqual([])
  })
})
