import { assert, describe, it } from "@effect/vitest"
import { checkGrads, NdArray, Random } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { layer, loss, run } from "./logistic-regression.js"

describe("logistic-regression", () => {
  it("the summed BCE of the linear-sigmoid model has correct gradients", () => {
    const p = layer.init(Random.key(3), [1], { dtype: "float64" }).params
    checkGrads((q: typeof p) => loss(q), [p])
  })

  it.effect("SGD learns a rising probability curve that crosses 0.5 between 2 and 3 hours", () =>
    Effect.gen(function* () {
      const r = yield* run({ epochs: 1000, learningRate: 0.01, seed: 0, logEvery: 500, curvePoints: 41 })
      for (let i = 1; i < r.losses.length; i++) assert.isAtMost(r.losses[i], r.losses[i - 1] + 1e-12)
      assert.isBelow(r.losses[r.losses.length - 1], 1.2)
      assert.isAbove(r.w, 0)
      assert.isAbove(r.boundary, 2)
      assert.isBelow(r.boundary, 3)
      const probabilities = r.curve.map(([, p]) => p)
      for (let i = 1; i < probabilities.length; i++) assert.isAbove(probabilities[i], probabilities[i - 1])
      assert.isBelow(r.atHours[1], 0.5)
      assert.isAbove(r.atHours[2], 0.5)
      // the curve is σ(w·x + b)
      const [x, p] = r.curve[10]
      assert.approximately(p, 1 / (1 + Math.exp(-(r.w * x + r.b))), 1e-12)
      assert.strictEqual(NdArray.array(probabilities).shape[0], 41)
      for (const figure of Object.values(r.figures)) assert.include(yield* Effect.promise(() => renderSvg(figure)), "<svg")
    }))
})
