import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { argReduce, cumulative, reduce } from "../../../src/backend/cpu/reduce"
import type { ReduceOp } from "../../../src/backend/cpu/reduce"
import type { DType, View } from "../../../src/backend/cpu/types"
import {
  arbLayoutOrContiguous,
  arbShape,
  at,
  contiguousLayout,
  fromValues,
  indices,
  makeView,
  mismatch,
  mismatchClose,
  store,
  values
} from "./helpers"

const identity: Record<ReduceOp, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity, any: 0, all: 1 }

const combine: Record<ReduceOp, (s: number, v: number) => number> = {
  sum: (s, v) => s + v,
  prod: (s, v) => s * v,
  max: (s, v) => (Number.isNaN(s) || Number.isNaN(v) ? NaN : Math.max(s, v)),
  min: (s, v) => (Number.isNaN(s) || Number.isNaN(v) ? NaN : Math.min(s, v)),
  any: (s, v) => (s !== 0 || v !== 0 ? 1 : 0),
  all: (s, v) => (s !== 0 && v !== 0 ? 1 : 0)
}

/** Naive reduction: for each output index, loop over all reduced index combinations. */
const reduceRef = (op: ReduceOp, x: View, axes: ReadonlyArray<number>): Array<number> => {
  const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d))
  const outShape = kept.map((d) => x.shape[d])
  const redShape = axes.map((d) => x.shape[d])
  return indices(outShape).map((o) => {
    let s = identity[op]
    for (const r of indices(redShape)) {
      const idx = new Array<number>(x.shape.length)
      kept.forEach((d, i) => (idx[d] = o[i]))
      axes.forEach((d, i) => (idx[d] = r[i]))
      s = combine[op](s, at(x, idx))
    }
    return s
  })
}

const arbAxes = (ndim: number): fc.Arbitrary<Array<number>> =>
  fc.subarray(Array.from({ length: ndim }, (_, i) => i))

describe("reduce", () => {
  it("matches the naive reference on random views and axes", () => {
    fc.assert(
      fc.property(
        arbShape(0, 4, 5).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            layout: arbLayoutOrContiguous(shape.length, true),
            axes: arbAxes(shape.length),
            op: fc.constantFrom<ReduceOp>("sum", "max", "min", "prod", "any", "all"),
            dtype: fc.constantFrom<DType>("float32", "float64", "int32", "bool"),
            outFloat: fc.constantFrom<DType>("float32", "float64"),
            specials: fc.boolean(),
            seed: fc.integer()
          })
        ),
        ({ shape, layout, axes, op, dtype, outFloat, specials, seed }) => {
          const x = makeView(shape, dtype, layout, values(dtype, seed, specials ? "special" : "float"))
          const outDtype: DType = op === "any" || op === "all" ? "bool" : dtype === "bool" ? "int32" : dtype === "int32" ? "int32" : outFloat
          const result = reduce(op, x, axes, outDtype)
          const ref = reduceRef(op, x, axes)
          const expected = store(outDtype, ref)
          if (op === "sum" || op === "prod") {
            // Summation order may differ: compare the float64 result with a tolerance.
            const r64 = reduce(op, x, axes, "float64")
            expect(mismatchClose(r64, ref, 1e-12)).toBeNull()
            expect(mismatchClose(result, expected, outDtype === "float32" ? 1e-6 : 1e-12)).toBeNull()
          } else {
            expect(mismatch(result, expected), `${op}`).toBeNull()
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it("gives the identity over empty axes", () => {
    const x = makeView([2, 0, 3], "float32", contiguousLayout(3), values("float32", 3))
    expect(Array.from(reduce("sum", x, [1], "float32"))).toEqual([0, 0, 0, 0, 0, 0])
    expect(Array.from(reduce("prod", x, [1], "float64"))).toEqual([1, 1, 1, 1, 1, 1])
    expect(Array.from(reduce("max", x, [0, 1], "float64"))).toEqual([-Infinity, -Infinity, -Infinity])
    expect(Array.from(reduce("min", x, [1, 2], "float64"))).toEqual([Infinity, Infinity])
    expect(Array.from(reduce("all", x, [1], "bool"))).toEqual([1, 1, 1, 1, 1, 1])
    expect(Array.from(reduce("any", x, [1], "bool"))).toEqual([0, 0, 0, 0, 0, 0])
    expect(reduce("sum", x, [0], "float32").length).toBe(0)
    expect(Array.from(reduce("sum", fromValues([], "float64", [5]), [], "float64"))).toEqual([5])
  })

  it("handles large row and column sums (fast paths)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = makeView([300, 257], dtype, contiguousLayout(2), values(dtype, 7))
      const rows = reduce("sum", x, [1], "float64")
      const cols = reduce("sum", x, [0], "float64")
      expect(mismatchClose(rows, reduceRef("sum", x, [1]), 1e-12)).toBeNull()
      expect(mismatchClose(cols, reduceRef("sum", x, [0]), 1e-12)).toBeNull()
      expect(mismatchClose(reduce("max", x, [0], "float64"), reduceRef("max", x, [0]), 0)).toBeNull()
      // Transposed view: the kernel still walks memory in order.
      const t: View = { ...x, shape: [257, 300], strides: [1, 257] }
      expect(mismatchClose(reduce("sum", t, [0], "float64"), reduceRef("sum", t, [0]), 1e-12)).toBeNull()
      const x3 = makeView([6, 50, 40], dtype, contiguousLayout(3), values(dtype, 8))
      expect(mismatchClose(reduce("sum", x3, [0, 2], "float64"), reduceRef("sum", x3, [0, 2]), 1e-12)).toBeNull()
      expect(mismatchClose(reduce("sum", x3, [1], "float64"), reduceRef("sum", x3, [1]), 1e-12)).toBeNull()
    }
  })

  it("propagates NaN in max and min", () => {
    const x = fromValues([2, 3], "float64", [1, NaN, 3, 4, 5, 6])
    expect(Array.from(reduce("max", x, [1], "float64"))).toEqual([NaN, 6])
    expect(Array.from(reduce("min", x, [0], "float64"))).toEqual([1, NaN, 3])
    expect(Array.from(reduce("any", fromValues([2], "float64", [0, NaN]), [0], "bool"))).toEqual([1])
  })
})

/** Naive argmax/argmin: first occurrence, first NaN wins. */
const argRef = (op: "argmax" | "argmin", x: View, axis: number): Array<number> => {
  const outShape = x.shape.filter((_, d) => d !== axis)
  return indices(outShape).map((o) => {
    let best = -1
    let bestValue = 0
    for (let i = 0; i < x.shape[axis]; i++) {
      const idx = [...o.slice(0, axis), i, ...o.slice(axis)]
      const v = at(x, idx)
      if (Number.isNaN(v)) return i
      if (best < 0 || (op === "argmax" ? v > bestValue : v < bestValue)) {
        best = i
        bestValue = v
      }
    }
    return Math.max(best, 0)
  })
}

describe("argReduce", () => {
  it("matches the reference (ties and NaN resolve to the first)", () => {
    fc.assert(
      fc.property(
        arbShape(1, 4, 5, 1).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            layout: arbLayoutOrContiguous(shape.length, true),
            axis: fc.integer({ min: 0, max: shape.length - 1 }),
            op: fc.constantFrom<"argmax" | "argmin">("argmax", "argmin"),
            dtype: fc.constantFrom<DType>("float32", "float64", "int32"),
            seed: fc.integer()
          })
        ),
        ({ shape, layout, axis, op, dtype, seed }) => {
          const r = values(dtype, seed, "special")
          // Few distinct values so that ties are common.
          const x = makeView(shape, dtype, layout, () => Math.round(r() / 2))
          const result = argReduce(op, x, axis)
          expect(result).toBeInstanceOf(Int32Array)
          expect(Array.from(result)).toEqual(argRef(op, x, axis))
        }
      ),
      { numRuns: 200 }
    )
  })

  it("handles simple cases", () => {
    const x = fromValues([2, 4], "float64", [1, 3, 3, 2, 5, NaN, 7, NaN])
    expect(Array.from(argReduce("argmax", x, 1))).toEqual([1, 1])
    expect(Array.from(argReduce("argmin", x, 1))).toEqual([0, 1])
    expect(Array.from(argReduce("argmax", x, 0))).toEqual([1, 1, 1, 1])
    expect(Array.from(argReduce("argmin", x, 0))).toEqual([0, 1, 0, 1])
  })
})

const cumRef = (op: "sum" | "prod" | "max" | "min", x: View, axis: number, reverse: boolean): Array<number> =>
  indices(x.shape).map((idx) => {
    const n = x.shape[axis]
    let s = identity[op]
    const from = reverse ? idx[axis] : 0
    const to = reverse ? n - 1 : idx[axis]
    for (let i = reverse ? to : from; reverse ? i >= from : i <= to; reverse ? i-- : i++) {
      const j = [...idx]
      j[axis] = i
      s = combine[op](s, at(x, j))
    }
    return s
  })

describe("cumulative", () => {
  it("matches an inclusive scan along the axis", () => {
    fc.assert(
      fc.property(
        arbShape(1, 4, 5).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            layout: arbLayoutOrContiguous(shape.length, true),
            axis: fc.integer({ min: 0, max: shape.length - 1 }),
            op: fc.constantFrom<"sum" | "prod" | "max" | "min">("sum", "prod", "max", "min"),
            reverse: fc.boolean(),
            dtype: fc.constantFrom<DType>("float32", "float64", "int32", "bool"),
            seed: fc.integer()
          })
        ),
        ({ shape, layout, axis, op, reverse, dtype, seed }) => {
          const x = makeView(shape, dtype, layout, values(dtype, seed, "special"))
          const outDtype: DType = dtype === "bool" ? "int32" : dtype
          const result = cumulative(op, x, axis, reverse, outDtype)
          const ref = cumRef(op, x, axis, reverse)
          expect(mismatchClose(cumulative(op, x, axis, reverse, "float64"), ref, 1e-12)).toBeNull()
          expect(mismatchClose(result, store(outDtype, ref), outDtype === "float32" ? 1e-6 : 1e-12)).toBeNull()
        }
      ),
      { numRuns: 200 }
    )
  })

  it("scans forward and backward", () => {
    const x = fromValues([2, 3], "int32", [1, 2, 3, 4, 5, 6])
    expect(Array.from(cumulative("sum", x, 1, false, "int32"))).toEqual([1, 3, 6, 4, 9, 15])
    expect(Array.from(cumulative("sum", x, 1, true, "int32"))).toEqual([6, 5, 3, 15, 11, 6])
    expect(Array.from(cumulative("prod", x, 0, false, "float32"))).toEqual([1, 2, 3, 4, 10, 18])
    expect(Array.from(cumulative("max", fromValues([4], "float64", [1, 3, 2, 5]), 0, true, "float64"))).toEqual([5, 5, 5, 5])
  })
})
