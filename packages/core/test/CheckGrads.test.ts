import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, customJvp, GradCheckError, NdArray as N, type NdArray } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"

const f64 = (x: Parameters<typeof N.array>[0]) => N.array(x, { dtype: "float64" })

describe("checkGrads", () => {
  it("accepts correct first and second derivatives of composites", () => {
    fc.assert(
      fc.property(Arb.ndarray({ shape: Arb.shape({ minRank: 1, maxRank: 2, maxDim: 3 }), min: -2, max: 2 }), (x) => {
        checkGrads((v: NdArray) => N.sum(N.mul(N.tanh(v), N.exp(N.mul(v, 0.5)))), [x], { order: 2 })
        checkGrads((v: NdArray) => N.logsumexp(v), [x], { order: 2 })
      }),
      { numRuns: 15 }
    )
  })

  it("checks several pytree arguments at once", () => {
    const params = { w: f64([[0.1, -0.3], [0.5, 0.2]]), b: f64([0.05, -0.1]) }
    const loss = (p: { w: NdArray; b: NdArray }, x: NdArray) => N.mean(N.square(N.sigmoid(N.add(N.matmul(x, p.w), p.b))))
    checkGrads(loss, [params, f64([[1, 2], [-1, 0.5]])], { order: 2 })
  })

  it("detects a wrong custom JVP rule in forward mode and names the argument", () => {
    const wrong = customJvp(
      (x: NdArray) => N.sin(x),
      ([x], [t]) => [[N.sin(x)], [N.mul(t, N.sin(x))]] // should be cos
    )
    let error: unknown
    try {
      checkGrads((x: NdArray) => N.sum(wrong(x)), [f64([0.3, 1.2])], { modes: ["fwd"] })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GradCheckError)
    const e = error as GradCheckError
    expect(e.mode).toBe("fwd")
    expect(e.argument).toBe(0)
    expect(e.message).toContain("argument 0")
    expect(e.message).toContain("expected (numerical)")
  })

  it("detects a wrong rule in reverse mode", () => {
    const wrong = customJvp(
      (x: NdArray) => N.square(x),
      ([x], [t]) => [[N.square(x)], [N.mul(t, x)]] // should be 2x
    )
    expect(() => checkGrads((x: NdArray) => N.sum(wrong(x)), [f64([0.3, 1.2])], { modes: ["rev"] })).toThrow(GradCheckError)
  })

  it("detects a wrong second derivative only at order 2", () => {
    // first derivative right, its derivative wrong: the rule's tangent uses stopGradient
    const f = customJvp(
      (x: NdArray) => N.mul(N.mul(x, x), x),
      ([x], [t]) => [[N.mul(N.mul(x, x), x)], [N.mul(t, N.stopGradient(N.mul(N.mul(x, x), 3)))]]
    )
    const g = (x: NdArray) => N.sum(f(x))
    expect(() => checkGrads(g, [f64([0.7, -1.1])], { order: 1 })).not.toThrow()
    expect(() => checkGrads(g, [f64([0.7, -1.1])], { order: 2 })).toThrow(GradCheckError)
  })

  it("catches stopGradient where a gradient was expected", () => {
    expect(() => checkGrads((x: NdArray) => N.sum(N.stopGradient(N.mul(x, x))), [f64([1, 2])])).toThrow(/disagrees with central differences/)
  })
})
