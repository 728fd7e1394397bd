import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { run, trueTheta } from "./linear-regression.js"

describe("linear-regression", () => {
  it.effect("GD and SGD descend towards the least-squares θ, which lies within noise of (1.5, 2, 5)", () =>
    Effect.gen(function* () {
      const r = yield* run({ numObs: 100, iterations: 400, sgdEpochs: 15, learningRate: 1e-3, seed: 0 })
      assert.isBelow(r.gradientError, 1e-10)
      // closed form: standard errors are ≈ 0.15 (intercept) and ≈ 0.02 (slopes) at n = 100, σ = 0.5
      assert.isBelow(Math.abs(r.thetaPinv[0] - trueTheta[0]), 0.45)
      assert.isBelow(Math.abs(r.thetaPinv[1] - trueTheta[1]), 0.06)
      assert.isBelow(Math.abs(r.thetaPinv[2] - trueTheta[2]), 0.06)
      r.thetaLstsq.forEach((v, i) => assert.approximately(v, r.thetaPinv[i], 1e-9))
      // batch GD: the recorded loss decreases every iteration and the path starts at (3, 3, 3)
      assert.deepStrictEqual(r.batch.thetaPath[0], [3, 3, 3])
      assert.strictEqual(r.batch.thetaPath.length, 401)
      for (let i = 1; i < r.batch.losses.length; i++) assert.isBelow(r.batch.losses[i], r.batch.losses[i - 1])
      assert.isBelow(r.batchLoss, r.batch.losses[0] / 50)
      // the least-squares loss is the minimum; SGD's 15 passes (1500 updates) already get close to it
      assert.isAtMost(r.leastSquaresLoss, r.batchLoss)
      assert.isAtMost(r.leastSquaresLoss, r.sgdLoss)
      assert.isBelow(r.sgdLoss, r.batchLoss)
      for (const figure of Object.values(r.figures)) assert.include(yield* Effect.promise(() => renderSvg(figure)), "<svg")
    }))
})
