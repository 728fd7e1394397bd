import { assert, describe, it } from "@effect/vitest"
import { grad, NdArray } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { cost, handGradient, run } from "./single-weight.js"

describe("single-weight", () => {
  it("the hand-derived gradient (1/N)Σ 2x(xw − y) equals grad(cost)", () => {
    for (const w of [-1, 0, 1, 2, 3.5]) assert.approximately(grad(cost)(NdArray.scalar(w, { dtype: "float64" })).item(), handGradient(w), 1e-12)
    assert.strictEqual(handGradient(2), 0)
  })

  it.effect("w → 2 and the prediction for x = 4 → 8, with the closed-form rates", () =>
    Effect.gen(function* () {
      const r = yield* run({ epochs: 100, learningRate: 0.01, seed: 0, logEvery: 50 })
      // batch GD: w − 2 shrinks by 1 − 0.01·(2/3)·Σx² = 1 − 0.28/3 per epoch
      assert.approximately(r.batchW, 2 - (1 - 0.28 / 3) ** 100, 1e-12)
      assert.isBelow(r.maxGradientDifference, 1e-12)
      // SGD: by (1 − 0.02)(1 − 0.08)(1 − 0.18) per epoch
      assert.approximately(r.sgdW, 2 - (0.98 * 0.92 * 0.82) ** 100, 1e-12)
      assert.approximately(r.autogradW, r.sgdW, 1e-12)
      // the same float64 operations, in the same order, as the lesson's Python: the same printed predictions
      assert.strictEqual(4 * r.batchW, 7.999777758621207)
      assert.strictEqual(4 * r.sgdW, 7.9999999999996945)
      // the sweep: 41 points on [0, 4], MSE(w) = (14/3)(w − 2)², minimum 0 at w = 2
      assert.strictEqual(r.sweep.length, 41)
      for (const [w, mse] of r.sweep) assert.approximately(mse, (14 / 3) * (w - 2) ** 2, 1e-9)
      // linear + MSE(sum) + sgd (with a bias, from PyTorch's U(−1, 1) init): heading to 8
      for (let i = 1; i < r.layerLosses.length; i++) assert.isAtMost(r.layerLosses[i], r.layerLosses[i - 1])
      assert.isBelow(Math.abs(r.layerPrediction - 8), 0.5)
      assert.approximately(r.layerPrediction, 4 * r.layerW + r.layerB, 1e-12)
      for (const figure of Object.values(r.figures)) assert.include(yield* Effect.promise(() => renderSvg(figure)), "<svg")
    }))
})
