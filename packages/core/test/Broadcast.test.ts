/**
 * Broadcasting laws: the result shape follows NumPy's rule (align trailing
 * dims; each pair equal or 1), is symmetric, and a broadcasting op agrees
 * with the same op on operands explicitly expanded by `broadcastTo` — and
 * with a reference that indexes the operands by the broadcast rule.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
const numRuns = 40

/** NumPy's rule, written independently: pad with leading 1s, then each pair is equal or contains a 1. */
const broadcastRule = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): Array<number> | null => {
  const n = Math.max(a.length, b.length)
  const pa = [...new Array(n - a.length).fill(1), ...a]
  const pb = [...new Array(n - b.length).fill(1), ...b]
  const out: Array<number> = []
  for (let i = 0; i < n; i++) {
    if (pa[i] === pb[i] || pb[i] === 1) out.push(pa[i])
    else if (pa[i] === 1) out.push(pb[i])
    else return null
  }
  return out
}

/** Element of a (row-major) array at a multi-index of the broadcast result. */
const broadcastIndex = (shape: ReadonlyArray<number>, outIndex: ReadonlyArray<number>): number => {
  const lead = outIndex.length - shape.length
  let flat = 0
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + (shape[i] === 1 ? 0 : outIndex[lead + i])
  return flat
}

const unravel = (flat: number, shape: ReadonlyArray<number>): Array<number> => {
  const idx = new Array<number>(shape.length)
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i]
    flat = Math.floor(flat / shape[i])
  }
  return idx
}

/** A compatible pair of shapes: a common shape, then each operand drops leading dims and sets some dims to 1. */
const compatiblePair = fc
  .array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 })
  .chain((full) =>
    fc
      .tuple(
        fc.integer({ min: 0, max: full.length }),
        fc.integer({ min: 0, max: full.length }),
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length })
      )
      .map(([da, db, oa, ob]) => {
        const a = full.map((d, i) => (oa[i] ? 1 : d)).slice(da)
        const b = full.map((d, i) => (ob[i] ? 1 : d)).slice(db)
        return [a, b] as const
      })
  )

const valuesFor = (shape: ReadonlyArray<number>, seed: number): NdArray => {
  const n = sizeOf(shape)
  const v = new Float64Array(n)
  for (let i = 0; i < n; i++) v[i] = Math.round(Math.sin(seed * 7.3 + i * 1.7) * 1000) / 100
  return NdArray.array(v, { shape })
}

describe("broadcasting", () => {
  it("the result shape follows NumPy's rule and is symmetric", () =>
    fc.assert(
      fc.property(compatiblePair, ([a, b]) => {
        const expected = broadcastRule(a, b)!
        expect(NdArray.add(NdArray.zeros(a), NdArray.zeros(b)).shape).toEqual(expected)
        expect(NdArray.add(NdArray.zeros(b), NdArray.zeros(a)).shape).toEqual(expected)
      }),
      { numRuns }
    ))

  it("an op on broadcast operands equals the op on operands expanded by broadcastTo, and a reference indexing by the rule", () =>
    fc.assert(
      fc.property(compatiblePair, fc.integer({ min: 0, max: 1000 }), ([a, b], seed) => {
        const x = valuesFor(a, seed)
        const y = valuesFor(b, seed + 1)
        const out = broadcastRule(a, b)!
        for (const op of [NdArray.sub, NdArray.mul, NdArray.maximum, NdArray.atan2]) {
          const z = op(x, y)
          const explicit = op(NdArray.broadcastTo(x, out), NdArray.broadcastTo(y, out))
          expect(z.toArray()).toEqual(explicit.toArray())
        }
        const xv = x.data()
        const yv = y.data()
        const z = NdArray.sub(x, y).data()
        for (let i = 0; i < sizeOf(out); i++) {
          const idx = unravel(i, out)
          expect(z[i]).toBe(xv[broadcastIndex(a, idx)] - yv[broadcastIndex(b, idx)])
        }
      }),
      { numRuns }
    ))

  it("broadcastTo repeats values as the rule says and is a no-op for the same shape", () =>
    fc.assert(
      fc.property(compatiblePair, fc.integer({ min: 0, max: 1000 }), ([a, b], seed) => {
        const out = broadcastRule(a, b)!
        const x = valuesFor(a, seed)
        const bx = NdArray.broadcastTo(x, out)
        expect(bx.shape).toEqual(out)
        const xv = x.data()
        const bv = bx.data()
        for (let i = 0; i < bv.length; i++) expect(bv[i]).toBe(xv[broadcastIndex(a, unravel(i, out))])
        expect(NdArray.broadcastTo(x, a).toArray()).toEqual(x.toArray())
      }),
      { numRuns }
    ))

  it("where broadcasts all three operands", () =>
    fc.assert(
      fc.property(compatiblePair, fc.integer({ min: 0, max: 1000 }), ([a, b], seed) => {
        const out = broadcastRule(a, b)!
        const c = NdArray.greater(valuesFor(a, seed), 0)
        const y = valuesFor(b, seed + 3)
        const r = NdArray.where(c, 1, y)
        expect(r.shape).toEqual(out)
        expect(r.toArray()).toEqual(NdArray.where(NdArray.broadcastTo(c, out), NdArray.ones(out, { dtype: "float64" }), NdArray.broadcastTo(y, out)).toArray())
      }),
      { numRuns }
    ))

  it("incompatible shapes are a ShapeError naming the op and both shapes", () =>
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (rest, d, delta) => {
          const a = [d, ...rest]
          const b = [d + delta, ...rest]
          let error: any
          try {
            NdArray.add(NdArray.zeros(a), NdArray.zeros(b))
          } catch (e) {
            error = e
          }
          expect(error?._tag).toBe("ShapeError")
          expect(error.message).toContain("add")
          expect(error.message).toContain(`[${a.join(", ")}]`)
          expect(error.message).toContain(`[${b.join(", ")}]`)
        }
      ),
      { numRuns: 20 }
    ))

  it("broadcastTo a shape that does not fit is a ShapeError", () => {
    expect(() => NdArray.broadcastTo(NdArray.zeros([3]), [4])).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => NdArray.broadcastTo(NdArray.zeros([2, 3]), [3])).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
  })

  it("a JavaScript number broadcasts as a 0-d array; size-0 dims broadcast with 1", () => {
    expect(NdArray.mul(NdArray.ones([2, 3]), 2).shape).toEqual([2, 3])
    expect(NdArray.add(NdArray.zeros([0, 1]), NdArray.zeros([1, 5])).shape).toEqual([0, 5])
  })
})
