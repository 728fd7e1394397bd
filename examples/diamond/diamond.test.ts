import { assert, describe, it } from "@effect/vitest"
import { checkGrads, NdArray, Random } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { crossEntropy, handBackprop, initWeights, makeData, run } from "./diamond.js"

describe("diamond", () => {
  it("the data: bias column of ones, labels = |x₁| + |x₂| < 1", () => {
    const data = makeData(Random.key(7), 50)
    assert.deepStrictEqual(data.x.shape, [50, 3])
    const x = Array.from(data.x.data())
    const y = Array.from(data.y.data())
    for (let i = 0; i < 50; i++) {
      assert.strictEqual(x[3 * i + 2], 1)
      assert.isAtMost(Math.abs(x[3 * i]), 1)
      assert.strictEqual(y[i], Math.abs(x[3 * i]) + Math.abs(x[3 * i + 1]) < 1 ? 1 : 0)
    }
  })

  it("the summed cross-entropy has correct gradients, and the hand backprop is one of them", () => {
    const data = makeData(Random.key(1), 20)
    const w = initWeights(Random.key(2))
    checkGrads((v: typeof w) => crossEntropy(v, data)[0], [w], { order: 1 })
    const hand = handBackprop(w, data)
    const perturbed = { w1: NdArray.add(w.w1, 1e-3), w2: w.w2 }
    // the hand gradient is not trivially equal to anything: it changes with the weights
    assert.isAbove(NdArray.max(NdArray.abs(NdArray.sub(handBackprop(perturbed, data).w1, hand.w1))).item(), 1e-6)
  })

  it.effect("gradient descent separates the diamond (reduced: 4,000 iterations)", () =>
    Effect.gen(function* () {
      const r = yield* run({ numObs: 500, iterations: 4000, learningRate: 0.001, seed: 0, logEvery: 1000 })
      assert.isBelow(r.initialGradientError, 1e-12)
      assert.isBelow(r.finalGradientError, 1e-12)
      assert.isBelow(r.losses[3999], r.losses[0] - 1)
      assert.isAbove(r.finalAccuracy, 0.88)
      assert.isAbove(r.finalAccuracy, r.accuracies[0] + 0.3)
      for (const figure of Object.values(r.figures)) assert.include(yield* Effect.promise(() => renderSvg(figure)), "<svg")
    }))
})
