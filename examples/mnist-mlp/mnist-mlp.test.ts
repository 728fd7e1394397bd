import { assert, describe, it } from "@effect/vitest"
import { NdArray, Random } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { network, run } from "./mnist-mlp.js"

describe("mnist-mlp", () => {
  it("Nielsen's network: [784, 30, 10], N(0, 1) weights and biases, outputs in (0, 1)", () => {
    const net = network(30)
    const { params, outputShape } = net.init(Random.key(0), [784])
    assert.deepStrictEqual(outputShape, [10])
    assert.deepStrictEqual(params[0].w.shape, [784, 30])
    assert.deepStrictEqual(params[2].w.shape, [30, 10])
    const std = NdArray.std(params[0].w).item()
    assert.approximately(std, 1, 0.02)
    assert.approximately(NdArray.std(params[0].b!).item(), 1, 0.5) // 30 draws
    const out = net.apply(params, NdArray.zeros([2, 784]))
    for (const v of Array.from(out.data())) assert.isTrue(v > 0 && v < 1)
  })

  it.effect("SGD on the quadratic cost learns (reduced: 6,000 images, 4 epochs)", () =>
    Effect.gen(function* () {
      const r = yield* run({ hidden: 30, epochs: 4, batchSize: 10, eta: 3.0, seed: 0, sizes: { train: 6000, test: 1000 } })
      assert.strictEqual(r.accuracies.length, 4)
      assert.isAbove(r.accuracies[3], 0.8)
      assert.isAbove(r.accuracies[3], r.accuracies[0] - 0.02)
      assert.include(yield* Effect.promise(() => renderSvg(r.figures["accuracy-30-hidden"])), "<svg")
    }))
})
