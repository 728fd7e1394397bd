import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { NdArray as N, type NdArray, Tree } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"

describe("@gradfx/core/testing arbitraries", () => {
  it("shape respects its bounds", () => {
    fc.assert(
      fc.property(Arb.shape({ minRank: 1, maxRank: 3, minDim: 2, maxDim: 5 }), (s) => {
        expect(s.length).toBeGreaterThanOrEqual(1)
        expect(s.length).toBeLessThanOrEqual(3)
        for (const d of s) expect(d >= 2 && d <= 5).toBe(true)
      }),
      { numRuns: 50 }
    )
  })

  it("ndarray has the requested shape, dtype and range", () => {
    fc.assert(
      fc.property(Arb.ndarray({ shape: [2, 3], dtype: "float32", min: -1, max: 1 }), (x) => {
        expect(x.shape).toEqual([2, 3])
        expect(x.dtype).toBe("float32")
        for (const v of x.data()) expect(v >= -1 && v <= 1).toBe(true)
      }),
      { numRuns: 30 }
    )
    fc.assert(
      fc.property(Arb.ndarray({ dtype: "int32", min: 0, max: 3 }), (x) => {
        expect(x.dtype).toBe("int32")
        for (const v of x.data()) expect(Number.isInteger(v) && v >= 0 && v <= 3).toBe(true)
      }),
      { numRuns: 30 }
    )
  })

  it("broadcastPair always broadcasts", () => {
    fc.assert(
      fc.property(Arb.broadcastPair({ maxRank: 3 }), ([a, b]) => {
        const c = N.add(a, b)
        expect(c.ndim).toBe(Math.max(a.ndim, b.ndim))
      }),
      { numRuns: 50 }
    )
  })

  it("pytree leaves are arrays and map preserves structure", () => {
    fc.assert(
      fc.property(Arb.pytree({ depth: 2 }), (t) => {
        const leaves = Tree.leaves(t)
        expect(leaves.length).toBeGreaterThan(0)
        const doubled = Tree.map(t, (x: NdArray) => N.mul(x, 2))
        expect(Tree.structure(doubled)).toEqual(Tree.structure(t))
      }),
      { numRuns: 30 }
    )
  })

  it("oneHot rows have a single 1", () => {
    fc.assert(
      fc.property(Arb.oneHot(5, 4), (y) => {
        expect(N.sum(y, { axis: 1 }).toArray()).toEqual([1, 1, 1, 1, 1])
      }),
      { numRuns: 20 }
    )
  })
})
