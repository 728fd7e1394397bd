import { assert, describe, it } from "@effect/vitest"
import { grad, NdArray, Random, Tree } from "@gradfx/core"
import { Loss } from "@gradfx/nn"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { network, run } from "./mnist-improved.js"

describe("mnist-improved", () => {
  it("N(0, 1/n_in) weights, and the L2 term (λ/2n)Σw² touches weights only", () => {
    const net = network(100)
    const { params } = net.init(Random.key(0), [784])
    assert.approximately(NdArray.std(params[0].w).item(), 1 / Math.sqrt(784), 0.002)
    assert.approximately(NdArray.std(params[2].w).item(), 1 / Math.sqrt(100), 0.01)
    const penalty = (p: typeof params) => Loss.l2(p, { lambda: 5, n: 50_000, filter: (path) => path.endsWith("w") })
    const g = grad(penalty)(params)
    // ∂/∂w = (λ/n) w, ∂/∂b = 0
    assert.isBelow(NdArray.max(NdArray.abs(NdArray.sub(g[0].w, NdArray.mul(params[0].w, 5 / 50_000)))).item(), 1e-9)
    for (const leaf of Tree.leaves(g[0].b)) assert.strictEqual(NdArray.max(NdArray.abs(leaf as NdArray)).item(), 0)
  })

  it.effect("cross-entropy + L2 learns, keeping the best-validation parameters (reduced: 5,000 images, 3 epochs)", () =>
    Effect.gen(function* () {
      const r = yield* run({ hidden: 30, epochs: 3, batchSize: 10, eta: 0.5, lambda: 5.0, patience: 10, seed: 0, sizes: { train: 5000, validation: 1000, test: 1000 } })
      assert.strictEqual(r.validationAccuracies.length, 3)
      assert.strictEqual(r.bestValidationAccuracy, Math.max(...r.validationAccuracies))
      assert.strictEqual(r.validationAccuracies[r.bestEpoch], r.bestValidationAccuracy)
      assert.isAbove(r.bestValidationAccuracy, 0.85)
      assert.isAbove(r.testAccuracy, 0.85)
      assert.include(yield* Effect.promise(() => renderSvg(r.figures["validation-accuracy"])), "<svg")
    }))

  it.effect("early stopping ends training after `patience` epochs without improvement", () =>
    Effect.gen(function* () {
      // η = 0: the parameters never change, so epoch 0 stays the best and training stops after epoch 1
      const r = yield* run({ hidden: 10, epochs: 5, batchSize: 50, eta: 0, lambda: 0, patience: 1, seed: 0, sizes: { train: 500, validation: 200, test: 200 } })
      assert.strictEqual(r.validationAccuracies.length, 2)
      assert.strictEqual(r.bestEpoch, 0)
    }))
})
