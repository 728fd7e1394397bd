import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { NdArray } from "@gradfx/core"
import { Dataset } from "@gradfx/data"
import { Train } from "@gradfx/nn"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Mnist from "../src/Mnist.js"

const layer = Layer.merge(NodeServices.layer, Train.Reporter.silent)

const config = (overrides: Partial<Mnist.MnistConfig>): Mnist.MnistConfig => ({
  ...Mnist.defaults,
  epochs: 1,
  limit: 256,
  ...overrides
})

describe("Mnist", () => {
  it("the CNN maps [N, 1, 28, 28] images to [N, 10] logits; the MLP [N, 784]", () => {
    const cnn = Mnist.initialState(config({ model: "cnn" }))
    assert.deepStrictEqual(cnn.model.apply(cnn.params, NdArray.zeros([2, 1, 28, 28])).shape, [2, 10])
    const mlp = Mnist.initialState(config({ model: "mlp", hidden: 30 }))
    assert.deepStrictEqual(mlp.model.apply(mlp.params, NdArray.zeros([3, 784])).shape, [3, 10])
  })

  it.effect("a CNN run on a small subset trains, evaluates and checkpoints; the checkpoint reloads with the same test accuracy", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gradfx-cnn-"))
      const c = config({ model: "cnn", limit: 192, batchSize: 64, checkpointDir: dir })
      const summary = yield* Mnist.run(c)
      assert.strictEqual(summary.result.step, 3)
      assert.strictEqual(summary.test.total, 192)
      assert.isTrue(Number.isFinite(summary.result.history[0].train.loss))
      assert.deepStrictEqual(summary.plots.map((p) => path.basename(p)).sort(), ["accuracy.svg", "loss.svg"])
      const evaluated = yield* Mnist.evaluateCheckpoint(dir, { limit: 192 })
      assert.strictEqual(evaluated.accuracy, summary.test.accuracy)
      assert.strictEqual(evaluated.config.model, "cnn")
    }).pipe(Effect.provide(layer)))

  it.effect("the data follow the model: flat for the MLP, [1, 28, 28] for the CNN, cut to the limit", () =>
    Effect.gen(function*() {
      const flat = yield* Mnist.loadData({ model: "mlp", limit: 100 })
      assert.deepStrictEqual([flat.train.length, flat.validation.length, flat.test.length], [100, 100, 100])
      assert.deepStrictEqual(flat.train.columns.x.shape, [784])
      const images = yield* Mnist.loadData({ model: "cnn" })
      assert.deepStrictEqual(images.test.columns.x.shape, [1, 28, 28])
      assert.strictEqual(images.train.length, 50_000)
      assert.strictEqual(Dataset.get(images.test, 0).y.item(), 7)
    }))

  it("draws a digit as text", () => {
    const pixels = new Float32Array(784)
    for (let r = 4; r < 24; r++) pixels[r * 28 + 14] = 1
    const text = Mnist.asciiDigit(pixels)
    assert.strictEqual(text.split("\n").length, 14)
    assert.strictEqual(text.split("\n")[5], " ".repeat(14) + "@")
  })
})
