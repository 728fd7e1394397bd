import { assert, describe, it } from "@effect/vitest"
import { NdArray, Random } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { network, run } from "./mnist-cnn.js"

describe("mnist-cnn", () => {
  it("the LeNet-style architecture: shapes and parameter count", () => {
    const net = network()
    const { params, outputShape } = net.init(Random.key(0), [1, 28, 28])
    assert.deepStrictEqual(outputShape, [10])
    // conv 20·1·5·5 + 20, conv 40·20·5·5 + 40, dense 640·100 + 100, dense 100·10 + 10
    const sizes = (params as ReadonlyArray<unknown>).flatMap((p) => (p === null ? [] : Object.values(p as Record<string, NdArray>).map((a) => a.size)))
    assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 520 + 20_040 + 64_100 + 1010)
    const logits = net.apply(params, NdArray.zeros([2, 1, 28, 28]))
    assert.deepStrictEqual(logits.shape, [2, 10])
    // dropout is active only in training mode, and then depends on the key
    const x = Random.normal(Random.key(1), [2, 1, 28, 28])
    const a = net.apply(params, x, { training: true, key: Random.key(2) })
    const b = net.apply(params, x, { training: true, key: Random.key(3) })
    assert.isAbove(NdArray.max(NdArray.abs(NdArray.sub(a, b))).item(), 0)
    assert.strictEqual(NdArray.max(NdArray.abs(NdArray.sub(net.apply(params, x), net.apply(params, x)))).item(), 0)
  })

  it.effect("Adam trains it (reduced: 1,600 images, one epoch)", () =>
    Effect.gen(function* () {
      const r = yield* run({ epochs: 1, batchSize: 32, optimizer: "adam", learningRate: 1e-3, schedule: "constant", dropout: 0.5, width: 1, seed: 0, logEvery: 10, sizes: { train: 1600, validation: 200, test: 500 } })
      assert.isBelow(r.losses[r.losses.length - 1], r.losses[0])
      assert.isAbove(r.testAccuracy, 0.75)
      assert.include(yield* Effect.promise(() => renderSvg(r.figures.training)), "<svg")
    }))
})
