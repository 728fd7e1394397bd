/**
 * `matmul` (NumPy semantics: broadcast batch dims, 1-d operands as vectors),
 * `dot` and `outer` against a naive triple loop over `.data()`; operands are
 * sometimes transposed views, and float32, float64 and int32 are covered.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"

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

/** Index of a batch position into an operand's (broadcast) batch dims. */
const batchFlat = (outBatch: ReadonlyArray<number>, shape: ReadonlyArray<number>): number => {
  const lead = outBatch.length - shape.length
  return shape.reduce((f, d, i) => f * d + (d === 1 ? 0 : outBatch[lead + i]), 0)
}

/** The naive reference: returns [shape, values, sum of |products| per output (for float32 tolerances)]. */
const reference = (a: NdArray, b: NdArray): [Array<number>, Array<number>, Array<number>] => {
  const av = a.data()
  const bv = b.data()
  const aShape = a.ndim === 1 ? [1, a.shape[0]] : [...a.shape]
  const bShape = b.ndim === 1 ? [b.shape[0], 1] : [...b.shape]
  const [m, k] = aShape.slice(-2)
  const n = bShape[bShape.length - 1]
  const aBatch = aShape.slice(0, -2)
  const bBatch = bShape.slice(0, -2)
  const nb = Math.max(aBatch.length, bBatch.length)
  const pa = [...new Array(nb - aBatch.length).fill(1), ...aBatch]
  const pb = [...new Array(nb - bBatch.length).fill(1), ...bBatch]
  const batch = pa.map((d, i) => (d === 1 ? pb[i] : d))
  const values: Array<number> = []
  const mags: Array<number> = []
  for (let bi = 0; bi < sizeOf(batch); bi++) {
    const idx = unravel(bi, batch)
    const ao = batchFlat(idx, aBatch) * m * k
    const bo = batchFlat(idx, bBatch) * k * n
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0
        let mag = 0
        for (let p = 0; p < k; p++) {
          const t = av[ao + i * k + p] * bv[bo + p * n + j]
          s += t
          mag += Math.abs(t)
        }
        values.push(s)
        mags.push(mag)
      }
  }
  const shape = [...batch, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])]
  return [shape, values, mags]
}

const fill = (shape: ReadonlyArray<number>, seed: number, dtype: "float32" | "float64" | "int32", transposed: boolean): NdArray => {
  const n = sizeOf(shape)
  const v = Array.from({ length: n }, (_, i) => {
    const r = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453
    const u = r - Math.floor(r)
    return dtype === "int32" ? Math.floor(u * 11) - 5 : u * 4 - 2
  })
  if (!transposed || shape.length < 2) return NdArray.array(v, { shape, dtype })
  // store the transpose of the last two axes, then swap back: a strided view with the same values
  const t = [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]]
  const data = Array.from({ length: n }, (_, f) => {
    const idx = unravel(f, t)
    const src = [...idx.slice(0, -2), idx[idx.length - 1], idx[idx.length - 2]]
    return v[ravel(src, shape)]
  })
  return NdArray.swapAxes(NdArray.array(data, { shape: t, dtype }), -1, -2)
}

/** Shapes for matmul: batch dims that broadcast, and 1-d operands. */
const shapesArb = fc
  .record({
    m: fc.integer({ min: 1, max: 5 }),
    k: fc.integer({ min: 0, max: 5 }),
    n: fc.integer({ min: 1, max: 5 }),
    batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    dropA: fc.nat(),
    dropB: fc.nat(),
    onesA: fc.nat(),
    onesB: fc.nat(),
    vecA: fc.boolean(),
    vecB: fc.boolean()
  })
  .map(({ m, k, n, batch, dropA, dropB, onesA, onesB, vecA, vecB }) => {
    const ba = batch.map((d, i) => ((onesA >> i) & 1 ? 1 : d)).slice(dropA % (batch.length + 1))
    const bb = batch.map((d, i) => ((onesB >> i) & 1 ? 1 : d)).slice(dropB % (batch.length + 1))
    const a = vecA ? [k] : [...ba, m, k]
    const b = vecB ? [k] : [...bb, k, n]
    return [a, b] as const
  })

describe("matmul against a naive triple loop", () => {
  for (const dtype of ["float64", "float32", "int32"] as const) {
    it(`${dtype}: batch dims broadcast, 1-d operands are vectors, transposed views read correctly`, () =>
      fc.assert(
        fc.property(shapesArb, fc.integer({ min: 0, max: 1000 }), fc.boolean(), fc.boolean(), ([sa, sb], seed, ta, tb) => {
          const a = fill(sa, seed, dtype, ta)
          const b = fill(sb, seed + 1, dtype, tb)
          const y = NdArray.matmul(a, b)
          const [shape, values, mags] = reference(a, b)
          expect(y.shape).toEqual(shape)
          expect(y.dtype).toBe(dtype)
          const got = y.data()
          values.forEach((v, i) => {
            const tol = dtype === "float64" ? 1e-12 * (mags[i] + 1) : dtype === "float32" ? 1e-6 * (mags[i] + 1) : 0
            if (Math.abs(got[i] - v) > tol) expect.fail(`element ${i}: got ${got[i]}, expected ${v}`)
          })
        }),
        { numRuns }
      ))
  }

  it("a larger product (blocked kernel) matches too", () => {
    const a = fill([37, 70], 3, "float64", false)
    const b = fill([70, 45], 4, "float64", true)
    const [, values, mags] = reference(a, b)
    const got = NdArray.matmul(a, b).data()
    values.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(1e-12 * (mags[i] + 1)))
  })

  it("pinned shapes from NumPy", () => {
    expect(NdArray.matmul(NdArray.ones([3]), NdArray.ones([3])).shape).toEqual([])
    expect(NdArray.matmul(NdArray.ones([2, 3, 4]), NdArray.ones([4])).shape).toEqual([2, 3])
    expect(NdArray.matmul(NdArray.ones([4]), NdArray.ones([2, 4, 3])).shape).toEqual([2, 3])
    expect(NdArray.matmul(NdArray.ones([2, 1, 3, 4]), NdArray.ones([5, 4, 2])).shape).toEqual([2, 5, 3, 2])
    expect(NdArray.matmul(NdArray.ones([2, 0]), NdArray.ones([0, 3])).toArray()).toEqual([
      [0, 0, 0],
      [0, 0, 0]
    ])
  })

  it("dtypes promote: int32 @ float32 is float32; bool @ bool counts as int32", () => {
    expect(NdArray.matmul(NdArray.ones([2, 2], { dtype: "int32" }), NdArray.ones([2, 2])).dtype).toBe("float32")
    const b = NdArray.matmul(NdArray.array([[true, true]]), NdArray.array([[true], [true]]))
    expect(b.dtype).toBe("int32")
    expect(b.toArray()).toEqual([[2]])
  })
})

describe("dot and outer", () => {
  it("dot of vectors is the inner product; of matrices, matmul; with a scalar, mul", () => {
    const u = NdArray.array([1, 2, 3], { dtype: "float64" })
    const v = NdArray.array([4, -5, 6], { dtype: "float64" })
    expect(NdArray.dot(u, v).item()).toBe(4 - 10 + 18)
    expect(NdArray.dot(u, v).shape).toEqual([])
    const m = NdArray.array([
      [1, 2],
      [3, 4]
    ])
    expect(NdArray.dot(m, m).toArray()).toEqual([
      [7, 10],
      [15, 22]
    ])
    expect(NdArray.dot(2, u).toArray()).toEqual([2, 4, 6])
    expect(() => NdArray.dot(NdArray.ones([2, 2, 2]), NdArray.ones([2]))).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
  })

  it("outer(u, v)[i, j] = u[i] v[j] (flattening its inputs)", () =>
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -9, max: 9 }), { maxLength: 5 }), fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 1, maxLength: 6 }), (u, v) => {
        const y = NdArray.outer(NdArray.array(u), NdArray.reshape(NdArray.array(v), [v.length, 1]))
        expect(y.shape).toEqual([u.length, v.length])
        expect(y.toArray()).toEqual(u.map((a) => v.map((b) => a * b)))
      }),
      { numRuns: 20 }
    ))
})
