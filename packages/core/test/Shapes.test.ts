/**
 * Shape manipulation against references written on row-major values and
 * multi-indices: reshape/transpose round trips, slice (Python slice
 * semantics), take, takeAlongAxis, pad, flip, concatenate, stack, split,
 * oneHot, expandDims, squeeze, swapAxes, moveAxis. Inputs are sometimes
 * non-contiguous views (transposed, reversed) to exercise strided kernels.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import { grad, vmap } from "../src/transforms/api.js"
import { jit } from "../src/transforms/jit.js"
import type { SliceSpec } from "../src/NdArray.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const numRuns = 40
const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

const unravel = (flat: number, shape: ReadonlyArray<number>): Array<number> => {
  const idx = new Array<number>(shape.length)
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i]
    flat = Math.floor(flat / shape[i])
  }
  return idx
}
const ravel = (idx: ReadonlyArray<number>, shape: ReadonlyArray<number>): number => idx.reduce((f, v, i) => f * shape[i] + v, 0)

/** Row-major values of an array of `shape` defined elementwise by its multi-index. */
const tabulate = (shape: ReadonlyArray<number>, f: (idx: Array<number>) => number): Array<number> =>
  Array.from({ length: sizeOf(shape) }, (_, i) => f(unravel(i, shape)))

const expectArray = (x: NdArray, shape: ReadonlyArray<number>, values: ReadonlyArray<number>) => {
  expect(x.shape).toEqual(shape)
  expect(Array.from(x.data(), Number)).toEqual(values)
}

/** An array with distinct values 0..n−1 (as float64, logical row-major order), maybe a non-contiguous view. */
const distinct = (shape: ReadonlyArray<number>, layout: "contiguous" | "transposed" | "reversed"): NdArray => {
  const n = sizeOf(shape)
  const base = new Float64Array(n).map((_, i) => i)
  if (layout === "contiguous" || shape.length < 2) return NdArray.array(base, { shape })
  if (layout === "transposed") {
    // build the transpose's data, then transpose it back: a strided view with the same logical values
    const t = [...shape].reverse()
    const data = tabulate(t, (idx) => ravel([...idx].reverse(), shape))
    return NdArray.transpose(NdArray.array(new Float64Array(data), { shape: t }))
  }
  const data = tabulate(shape, (idx) => ravel(idx.map((v, i) => (i === 0 ? shape[0] - 1 - v : v)), shape))
  return NdArray.flip(NdArray.array(new Float64Array(data), { shape }), 0)
}

const shapeArb = (minRank = 0, maxRank = 4, minDim = 0) => fc.array(fc.integer({ min: minDim, max: 4 }), { minLength: minRank, maxLength: maxRank })
const layoutArb = fc.constantFrom("contiguous", "transposed", "reversed") as fc.Arbitrary<"contiguous" | "transposed" | "reversed">
const arrayArb = (minRank = 0, maxRank = 4, minDim = 0) => fc.tuple(shapeArb(minRank, maxRank, minDim), layoutArb).map(([s, l]) => distinct(s, l))

describe("distinct() fixture", () => {
  it("has logical values 0..n-1 in every layout", () => {
    for (const layout of ["contiguous", "transposed", "reversed"] as const) {
      expectArray(distinct([2, 3, 2], layout), [2, 3, 2], tabulate([2, 3, 2], (idx) => ravel(idx, [2, 3, 2])))
    }
  })
})

// ---------------------------------------------------------------------------
describe("reshape and transpose", () => {
  it("reshape keeps row-major order, infers -1, and round trips", () =>
    fc.assert(
      fc.property(arrayArb(), fc.integer({ min: 0, max: 100 }), (x, seed) => {
        // a random factorisation of the size
        const n = x.size
        const divisors = Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0)
        const d = n === 0 ? 0 : divisors[seed % divisors.length]
        const target = n === 0 ? [0, 3] : [d, n / d]
        const y = NdArray.reshape(x, target)
        expectArray(y, target, Array.from(x.data()))
        expect(NdArray.reshape(y, x.shape).toArray()).toEqual(x.toArray())
        if (n > 0) expect(NdArray.reshape(x, [-1, n / d]).shape).toEqual(target)
        expect(NdArray.ravel(x).shape).toEqual([n])
      }),
      { numRuns }
    ))

  it("reshape of strided views (transposed, reversed, stepped, broadcast) into any shape keeps row-major order; views where the layout allows", () =>
    fc.assert(
      fc.property(arrayArb(1, 3, 1), fc.integer({ min: 0, max: 1000 }), fc.constantFrom("as is", "stepped", "broadcast", "swapped"), (x0, seed, kind) => {
        let x = x0
        if (kind === "stepped") x = NdArray.slice(x0, [[0, null, 2]])
        if (kind === "broadcast") x = NdArray.broadcastTo(NdArray.expandDims(x0, 1), [x0.shape[0], 3, ...x0.shape.slice(1)])
        if (kind === "swapped" && x0.ndim >= 2) x = NdArray.transpose(x0, x0.shape.map((_, i) => (i === 0 ? x0.ndim - 1 : i === x0.ndim - 1 ? 0 : i)))
        // a random shape of the same size: its prime factors dealt into up to 4 dims, with some 1s
        const n = x.size
        const factors: Array<number> = []
        for (let m = n, p = 2; m > 1; ) if (m % p === 0) { factors.push(p); m /= p } else p++
        const dims = [1, 1, 1, 1]
        factors.forEach((f, i) => (dims[(seed + i * 7) % 4] *= f))
        const target = dims.slice(0, 1 + (seed % 4))
        target[target.length - 1] *= dims.slice(target.length).reduce((a, b) => a * b, 1)
        const expected = Array.from(x.data(), Number)
        expectArray(NdArray.reshape(x, target), target, expected)
      }),
      { numRuns: numRuns * 2 }
    ))

  it("reshape of a broadcast or a transpose that allows it is a view (no copy)", () => {
    type WithBuffer = { readonly buffer: ArrayLike<number> }
    const ones = NdArray.broadcastTo(NdArray.array(1), [32, 20, 24, 24])
    const r = NdArray.reshape(NdArray.transpose(ones, [1, 0, 2, 3]), [20, 32 * 576]) as unknown as WithBuffer
    expect(r.buffer.length).toBe(1) // still the one element
    const base = NdArray.reshape(NdArray.arange(24), [2, 3, 4])
    const t = NdArray.transpose(base, [1, 0, 2]) // [3, 2, 4], strides [4, 12, 1]
    const split = NdArray.reshape(t, [3, 2, 2, 2]) // splits the contiguous last axis: a view
    expect((split as unknown as WithBuffer).buffer).toBe((base as unknown as WithBuffer).buffer)
    const merged = NdArray.reshape(t, [6, 4]) // merging axes 0 and 1 (strides 4, 12) needs a copy
    expect((merged as unknown as WithBuffer).buffer).not.toBe((base as unknown as WithBuffer).buffer)
    expect(merged.toArray()).toEqual([[0, 1, 2, 3], [12, 13, 14, 15], [4, 5, 6, 7], [16, 17, 18, 19], [8, 9, 10, 11], [20, 21, 22, 23]])
  })

  it("transpose by a permutation moves index i to perm⁻¹(i); the inverse permutation round trips; the default reverses", () =>
    fc.assert(
      fc.property(arrayArb(1), fc.integer({ min: 0, max: 1000 }), (x, seed) => {
        const perm = x.shape.map((_, i) => i)
        for (let i = perm.length - 1; i > 0; i--) {
          const j = (seed * (i + 7)) % (i + 1)
          ;[perm[i], perm[j]] = [perm[j], perm[i]]
        }
        const y = NdArray.transpose(x, perm)
        const outShape = perm.map((p) => x.shape[p])
        const xv = x.data()
        expectArray(
          y,
          outShape,
          tabulate(outShape, (idx) => {
            const src = new Array<number>(x.ndim)
            perm.forEach((p, i) => (src[p] = idx[i]))
            return xv[ravel(src, x.shape)]
          })
        )
        const inverse = new Array<number>(perm.length)
        perm.forEach((p, i) => (inverse[p] = i))
        expect(NdArray.transpose(y, inverse).toArray()).toEqual(x.toArray())
        // negative axes mean the same
        expect(NdArray.transpose(x, perm.map((p) => p - x.ndim)).toArray()).toEqual(y.toArray())
        expect(NdArray.transpose(NdArray.transpose(x)).toArray()).toEqual(x.toArray())
      }),
      { numRuns }
    ))

  it("swapAxes and moveAxis are the corresponding transposes", () =>
    fc.assert(
      fc.property(arrayArb(1), fc.nat(), fc.nat(), (x, a0, b0) => {
        const a = a0 % x.ndim
        const b = b0 % x.ndim
        const swap = x.shape.map((_, i) => (i === a ? b : i === b ? a : i))
        expect(NdArray.swapAxes(x, a, b - x.ndim).toArray()).toEqual(NdArray.transpose(x, swap).toArray())
        const rest = x.shape.map((_, i) => i).filter((i) => i !== a)
        rest.splice(b, 0, a)
        expect(NdArray.moveAxis(x, a, b).toArray()).toEqual(NdArray.transpose(x, rest).toArray())
        expect(NdArray.moveAxis(NdArray.moveAxis(x, a, b), b, a).toArray()).toEqual(x.toArray())
      }),
      { numRuns }
    ))

  it("expandDims inserts a 1 (negative counts from the end of the result); squeeze removes it", () =>
    fc.assert(
      fc.property(arrayArb(0, 3), fc.nat(), (x, a0) => {
        const a = a0 % (x.ndim + 1)
        const y = NdArray.expandDims(x, a)
        expect(y.shape).toEqual([...x.shape.slice(0, a), 1, ...x.shape.slice(a)])
        expect(NdArray.expandDims(x, a - x.ndim - 1).shape).toEqual(y.shape)
        expect(NdArray.squeeze(y, a).toArray()).toEqual(x.toArray())
        expect(NdArray.squeeze(y).shape).toEqual(x.shape.filter((d) => d !== 1))
      }),
      { numRuns }
    ))

  it("squeeze of an axis whose size is not 1 is an AxisError", () => {
    expect(() => NdArray.squeeze(NdArray.zeros([2, 1]), 0)).toThrow(expect.objectContaining({ _tag: "AxisError" }))
  })
})

// ---------------------------------------------------------------------------
/** Python's `slice(start, stop, step).indices(n)` and the selected positions. */
const sliceIndices = (n: number, spec: readonly [number | null, number | null, number | null]): Array<number> => {
  const step = spec[2] ?? 1
  const [lower, upper] = step > 0 ? [0, n] : [-1, n - 1]
  const clamp = (v: number | null, dflt: number) => {
    if (v === null) return dflt
    if (v < 0) return Math.max(v + n, lower)
    return Math.min(v, upper)
  }
  const start = clamp(spec[0], step > 0 ? lower : upper)
  const stop = clamp(spec[1], step > 0 ? upper : lower)
  const out: Array<number> = []
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i)
  return out
}

describe("slice", () => {
  it("Python slice semantics for ranges, negative steps and indices (which drop the axis)", () => {
    expect(sliceIndices(10, [8, 2, -2])).toEqual([8, 6, 4]) // the reference itself
    fc.assert(
      fc.property(
        arrayArb(1, 3),
        fc.array(
          fc.oneof(
            fc.constant(null),
            fc.integer({ min: -6, max: 5 }),
            fc.tuple(
              fc.option(fc.integer({ min: -7, max: 7 })),
              fc.option(fc.integer({ min: -7, max: 7 })),
              fc.option(fc.constantFrom(1, 2, 3, -1, -2, -3))
            )
          ),
          { maxLength: 3 }
        ),
        (x, rawSpecs) => {
          const specs: Array<SliceSpec> = rawSpecs.slice(0, x.ndim).map((s, i) => {
            if (typeof s === "number") {
              const n = x.shape[i]
              return n === 0 ? null : ((s % n) + n) % n - (s < 0 ? n : 0) // a valid index, negative when s is
            }
            return s
          })
          const perAxis: Array<Array<number>> = []
          const kept: Array<number> = []
          x.shape.forEach((n, i) => {
            const s = specs[i]
            if (s === undefined || s === null) {
              perAxis.push(Array.from({ length: n }, (_, k) => k))
              kept.push(i)
            } else if (typeof s === "number") perAxis.push([s < 0 ? s + n : s])
            else {
              perAxis.push(sliceIndices(n, [s[0] ?? null, s[1] ?? null, s[2] ?? null]))
              kept.push(i)
            }
          })
          const y = NdArray.slice(x, specs)
          const fullShape = perAxis.map((p) => p.length)
          const xv = x.data()
          expectArray(
            y,
            kept.map((i) => fullShape[i]),
            tabulate(fullShape, (idx) => xv[ravel(idx.map((k, i) => perAxis[i][k]), x.shape)])
          )
        }
      ),
      { numRuns: 80 }
    )
  })

  it("pinned NumPy results", () => {
    const x = NdArray.arange(10)
    expect(NdArray.slice(x, [[8, 2, -2]]).toArray()).toEqual([8, 6, 4])
    expect(NdArray.slice(x, [[null, null, -3]]).toArray()).toEqual([9, 6, 3, 0])
    expect(NdArray.slice(x, [[-3, null]]).toArray()).toEqual([7, 8, 9])
    expect(NdArray.slice(x, [[2, 100, 3]]).toArray()).toEqual([2, 5, 8])
    expect(NdArray.slice(x, [[5, 2]]).toArray()).toEqual([])
    const m = NdArray.reshape(NdArray.arange(6), [2, 3])
    expect(NdArray.slice(m, [1, [null, null, -1]]).toArray()).toEqual([5, 4, 3])
    expect(NdArray.slice(m, [-1]).toArray()).toEqual([3, 4, 5])
    expect(NdArray.slice(m, [null, 0]).toArray()).toEqual([0, 3])
  })

  it("an out-of-range index or a zero step is a ValueError; too many indices an AxisError", () => {
    const x = NdArray.zeros([3])
    expect(() => NdArray.slice(x, [3])).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => NdArray.slice(x, [[0, 2, 0]])).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => NdArray.slice(x, [0, 0])).toThrow(expect.objectContaining({ _tag: "AxisError" }))
  })
})

// ---------------------------------------------------------------------------
describe("take and takeAlongAxis", () => {
  it("take along an axis with (negative) indices of any shape", () =>
    fc.assert(
      fc.property(arrayArb(1, 3, 1), shapeArb(0, 2), fc.nat(), fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 16, maxLength: 16 }), (x, idxShape, a0, u) => {
        const axis = a0 % x.ndim
        const n = x.shape[axis]
        const idxValues = tabulate(idxShape, (_, ) => 0).map((_, i) => Math.floor(u[i % 16] * 2 * n) - n) // in [-n, n)
        const idx = NdArray.array(new Int32Array(idxValues), { shape: idxShape })
        const y = NdArray.take(x, idx, { axis: axis - (a0 % 2 === 0 ? 0 : x.ndim) })
        const outShape = [...x.shape.slice(0, axis), ...idxShape, ...x.shape.slice(axis + 1)]
        const xv = x.data()
        expectArray(
          y,
          outShape,
          tabulate(outShape, (o) => {
            const k = idxValues[ravel(o.slice(axis, axis + idxShape.length), idxShape)]
            const src = [...o.slice(0, axis), k < 0 ? k + n : k, ...o.slice(axis + idxShape.length)]
            return xv[ravel(src, x.shape)]
          })
        )
      }),
      { numRuns }
    ))

  it("under vmap with batched indices, an index out of its own example's range is a ValueError (not an element of another example)", () => {
    const x = NdArray.array([[0, 1, 2], [10, 11, 12]])
    const pick = (row: NdArray, i: NdArray) => NdArray.take(row, i)
    const both = vmap(pick)
    expect(both(x, NdArray.array(new Int32Array([2, -1]))).toArray()).toEqual([2, 12])
    for (const bad of [[3, 0], [0, -4]]) {
      const idx = NdArray.array(new Int32Array(bad))
      expect(() => both(x, idx)).toThrow(expect.objectContaining({ _tag: "ValueError", message: expect.stringContaining("axis of size 3") }))
      expect(() => jit(both)(x, idx)).toThrow(expect.objectContaining({ _tag: "ValueError" }))
      // the adjoint (scatter-add) too, and nested vmap
      expect(() => grad((x: NdArray) => NdArray.sum(both(x, idx)))(x)).toThrow(expect.objectContaining({ _tag: "ValueError" }))
      expect(() => vmap(both)(NdArray.stack([x, x]), NdArray.stack([idx, idx]))).toThrow(expect.objectContaining({ _tag: "ValueError", message: expect.stringContaining("axis of size 3") }))
    }
    expect(grad((x: NdArray) => NdArray.sum(both(x, NdArray.array(new Int32Array([2, -1])))))(x).toArray()).toEqual([[0, 0, 1], [0, 0, 1]])
  })

  it("take without an axis indexes the flattened array; a JS list of indices works", () => {
    const x = NdArray.reshape(NdArray.arange(6), [2, 3])
    expect(NdArray.take(x, [5, -6, 2]).toArray()).toEqual([5, 0, 2])
    expect(() => NdArray.take(x, [6])).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => NdArray.take(x, NdArray.array([true]))).toThrow(expect.objectContaining({ _tag: "DTypeError" }))
  })

  it("takeAlongAxis picks x[..., idx[..., j, ...], ...] along the axis", () =>
    fc.assert(
      fc.property(arrayArb(1, 3, 1), fc.nat(), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 10000 }), (x, a0, k, seed) => {
        const axis = a0 % x.ndim
        const n = x.shape[axis]
        const idxShape = x.shape.map((d, i) => (i === axis ? k : d))
        const idxValues = tabulate(idxShape, (idx) => ((ravel(idx, idxShape) * 7919 + seed) % (2 * n)) - n)
        const idx = NdArray.array(new Int32Array(idxValues), { shape: idxShape })
        const y = NdArray.takeAlongAxis(x, idx, axis)
        const xv = x.data()
        expectArray(
          y,
          idxShape,
          tabulate(idxShape, (o) => {
            const v = idxValues[ravel(o, idxShape)]
            return xv[ravel(o.map((c, i) => (i === axis ? (v < 0 ? v + n : v) : c)), x.shape)]
          })
        )
      }),
      { numRuns }
    ))

  it("takeAlongAxis with a shape mismatch is a ShapeError", () => {
    expect(() => NdArray.takeAlongAxis(NdArray.zeros([2, 3]), NdArray.zeros([3, 1], { dtype: "int32" }), 1)).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
  })

  it("oneHot matches the definition, for any label shape", () =>
    fc.assert(
      fc.property(shapeArb(0, 2), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1000 }), (shape, classes, seed) => {
        const labels = tabulate(shape, (idx) => (ravel(idx, shape) * 31 + seed) % classes)
        const y = NdArray.oneHot(NdArray.array(new Int32Array(labels), { shape }), classes)
        expect(y.dtype).toBe("float32")
        expectArray(
          y,
          [...shape, classes],
          tabulate([...shape, classes], (idx) => (labels[ravel(idx.slice(0, -1), shape)] === idx[idx.length - 1] ? 1 : 0))
        )
      }),
      { numRuns }
    ))

  it("oneHot of a JS list, with a dtype", () => {
    const y = NdArray.oneHot([2, 0], 3, { dtype: "int32" })
    expect(y.dtype).toBe("int32")
    expect(y.toArray()).toEqual([
      [0, 0, 1],
      [1, 0, 0]
    ])
  })
})

// ---------------------------------------------------------------------------
describe("pad and flip", () => {
  it("pad with a constant: per-axis (before, after) pairs", () =>
    fc.assert(
      fc.property(
        arrayArb(1, 3),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: 3, maxLength: 3 }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (x, widths, v) => {
          const value = v + 0 // −0 pads as 0
          const pairs = widths.slice(0, x.ndim) as Array<[number, number]>
          const y = NdArray.pad(x, pairs, { value })
          const outShape = x.shape.map((d, i) => d + pairs[i][0] + pairs[i][1])
          const xv = x.data()
          expectArray(
            y,
            outShape,
            tabulate(outShape, (o) => {
              const src = o.map((c, i) => c - pairs[i][0])
              return src.every((c, i) => c >= 0 && c < x.shape[i]) ? xv[ravel(src, x.shape)] : value
            })
          )
        }
      ),
      { numRuns }
    ))

  it("pad widths as one number or one pair for every axis", () => {
    const x = NdArray.ones([1, 2])
    expect(NdArray.pad(x, 1).shape).toEqual([3, 4])
    expect(NdArray.pad(x, [0, 2]).shape).toEqual([3, 4])
    expect(NdArray.pad(x, [0, 2]).toArray()).toEqual([
      [1, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0]
    ])
    expect(() => NdArray.pad(x, [[1, 1]])).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => NdArray.pad(x, -1)).toThrow(expect.objectContaining({ _tag: "ValueError" }))
  })

  it("flip reverses the given axes (default all) and is an involution", () =>
    fc.assert(
      fc.property(arrayArb(0, 4), fc.nat(), (x, mask) => {
        const axes = x.shape.map((_, i) => i).filter((i) => (mask >> i) & 1)
        const y = NdArray.flip(x, axes.map((a) => (a % 2 ? a - x.ndim : a)))
        const xv = x.data()
        expectArray(
          y,
          x.shape,
          tabulate(x.shape, (o) => xv[ravel(o.map((c, i) => (axes.includes(i) ? x.shape[i] - 1 - c : c)), x.shape)])
        )
        expect(NdArray.flip(y, axes).toArray()).toEqual(x.toArray())
        expectArray(NdArray.flip(x), x.shape, tabulate(x.shape, (o) => xv[ravel(o.map((c, i) => x.shape[i] - 1 - c), x.shape)]))
      }),
      { numRuns }
    ))
})

// ---------------------------------------------------------------------------
describe("concatenate, stack, split", () => {
  it("concatenate along an axis places the pieces one after another", () =>
    fc.assert(
      fc.property(shapeArb(1, 3), fc.nat(), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }), layoutArb, (shape, a0, sizes, layout) => {
        const axis = a0 % shape.length
        const pieces = sizes.map((s, k) => NdArray.add(distinct(shape.map((d, i) => (i === axis ? s : d)), layout), 100 * k))
        const y = NdArray.concatenate(pieces, axis - (a0 % 2) * shape.length)
        const outShape = shape.map((d, i) => (i === axis ? sizes.reduce((a, b) => a + b, 0) : d))
        expectArray(
          y,
          outShape,
          tabulate(outShape, (o) => {
            let c = o[axis]
            let k = 0
            while (c >= sizes[k]) c -= sizes[k++]
            const pieceShape = shape.map((d, i) => (i === axis ? sizes[k] : d))
            return ravel(o.map((v, i) => (i === axis ? c : v)), pieceShape) + 100 * k
          })
        )
      }),
      { numRuns }
    ))

  it("stack adds a new axis; split undoes concatenate", () =>
    fc.assert(
      fc.property(shapeArb(0, 3), fc.nat(), fc.integer({ min: 1, max: 3 }), (shape, a0, count) => {
        const axis = a0 % (shape.length + 1)
        const pieces = Array.from({ length: count }, (_, k) => NdArray.add(distinct(shape, "contiguous"), 100 * k))
        const y = NdArray.stack(pieces, axis)
        const outShape = [...shape.slice(0, axis), count, ...shape.slice(axis)]
        expectArray(
          y,
          outShape,
          tabulate(outShape, (o) => ravel([...o.slice(0, axis), ...o.slice(axis + 1)], shape) + 100 * o[axis])
        )
        const parts = NdArray.split(y, count, axis)
        expect(parts.length).toBe(count)
        parts.forEach((p, k) => expect(NdArray.squeeze(p, axis).toArray()).toEqual(pieces[k].toArray()))
      }),
      { numRuns }
    ))

  it("split at indices (clamped, as NumPy)", () => {
    const parts = NdArray.split(NdArray.arange(10), [3, 7, 20])
    expect(parts.map((p) => p.toArray())).toEqual([[0, 1, 2], [3, 4, 5, 6], [7, 8, 9], []])
    expect(() => NdArray.split(NdArray.arange(10), 3)).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
  })

  it("concatenate promotes dtypes; 0-d arrays must be stacked", () => {
    expect(NdArray.concatenate([NdArray.arange(2), NdArray.array([0.5])]).dtype).toBe("float32")
    expect(() => NdArray.concatenate([NdArray.scalar(1), NdArray.scalar(2)])).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(NdArray.stack([NdArray.scalar(1), NdArray.scalar(2)]).toArray()).toEqual([1, 2])
    expect(() => NdArray.stack([NdArray.zeros([2]), NdArray.zeros([3])])).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => NdArray.concatenate([NdArray.zeros([2, 2]), NdArray.zeros([2, 3])], 0)).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
  })
})
