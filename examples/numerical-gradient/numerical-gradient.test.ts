import { assert, describe, it } from "@effect/vitest"
import { checkGrads, GradCheckError, NdArray } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { numbers } from "../runtime.js"
import { function2, numericalGradient, run } from "./numerical-gradient.js"

const close = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>, tol: number) =>
  expected.forEach((e, i) => assert.isAtMost(Math.abs(actual[i] - e), tol, `element ${i}: ${actual[i]} vs ${e}`))

describe("numerical-gradient", () => {
  it.effect("reproduces the lesson's figures and agrees with grad", () =>
    Effect.gen(function* () {
      const r = yield* run({ gridStep: 1 })
      close(numbers(r.numericalAtPoint), [10, 12], 1e-8)
      close(numbers(r.exactAtPoint), [10, 12], 0)
      // simpleNet with the lesson's (printed, 8-decimal) W
      close(numbers(r.p), [0.08743891, 0.34277403, -1.05934874], 5e-8)
      assert.strictEqual(r.label, 1)
      assert.approximately(r.loss, 2.105581228438146, 5e-9) // the printed W is rounded, hence ~1e-9
      const lessonDW = [0.23001268, 0.29692202, -0.5269347, 0.34501902, 0.44538303, -0.79040205]
      close(numbers(r.dWNumerical), lessonDW, 2e-8)
      close(numbers(r.dWGrad), lessonDW, 2e-8)
      assert.isBelow(r.simpleNetDifference, 1e-9)
      // 5 × 5 grid from arange(-2, 2.5, 1): −∇f = −2x everywhere
      assert.strictEqual(r.fieldGrad.length, 50)
      assert.isBelow(r.fieldDifference, 1e-8)
      assert.include(yield* Effect.promise(() => renderSvg(r.figures["gradient-field"])), "<svg")
    }))

  it("central differences have O(h²) error on a cubic", () => {
    const cube = (x: NdArray) => NdArray.sum(NdArray.mul(x, NdArray.square(x)))
    const x = NdArray.array([2], { dtype: "float64" })
    // d/dx x³ = 3x² = 12; the central difference gives 3x² + h² exactly
    assert.approximately(numericalGradient(cube, x, 1e-2).item(), 12 + 1e-4, 1e-9)
  })

  it("checkGrads rejects a wrong gradient", () => {
    // sum(x²) with a gradient that is deliberately halved through stopGradient
    const wrong = (x: NdArray) => NdArray.sum(NdArray.mul(x, NdArray.stopGradient(x)))
    assert.throws(() => checkGrads(wrong, [NdArray.array([5, 6], { dtype: "float64" })]), GradCheckError)
    checkGrads(function2, [NdArray.array([5, 6], { dtype: "float64" })])
  })
})
