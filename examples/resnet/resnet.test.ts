import { assert, describe, it } from "@effect/vitest"
import { NdArray, Random, Tree } from "@gradfx/core"
import { Effect } from "effect"
import { loadMnist } from "../mnist.js"
import { countParameters, resnet34, resnet34ParameterCount, residualBlock, trainSmall } from "./resnet.js"

describe("resnet", () => {
  it("ResNet-34 as in the lesson: 21,801,896 parameters (torchvision's 21,797,672 + layer1's projection) and 1000 outputs", () => {
    assert.strictEqual(resnet34ParameterCount(), 21_797_672 + 64 * 64 + 2 * 64)
    const { params, outputShape } = resnet34().init(Random.key(0), [3, 224, 224])
    assert.deepStrictEqual(outputShape, [1000])
    assert.strictEqual(countParameters(params), 21_801_896)
  })

  it("a reduced-width ResNet-34 runs forward on a 3×224×224 image to 1000 logits", () => {
    const model = resnet34({ width: 1 / 16 })
    const { params, state } = model.init(Random.key(0), [3, 224, 224])
    assert.strictEqual(countParameters(params), resnet34ParameterCount({ width: 1 / 16 }))
    const logits = model.apply(params, Random.normal(Random.key(1), [1, 3, 224, 224]), { state })
    assert.deepStrictEqual(logits.shape, [1, 1000])
    assert.strictEqual(NdArray.all(NdArray.isFinite(logits)).item(), 1)
  })

  it("a residual block with the identity shortcut adds its input: zero convolutions give relu(x)", () => {
    const block = residualBlock(4, 1, false)
    const { params, state } = block.init(Random.key(0), [4, 5, 5])
    const zeros = (p: unknown): unknown =>
      NdArray.isNdArray(p) ? NdArray.zerosLike(p) : Array.isArray(p) ? p.map(zeros) : p !== null && typeof p === "object" ? Object.fromEntries(Object.entries(p).map(([k, v]) => [k, zeros(v)])) : p
    const x = Random.normal(Random.key(2), [2, 4, 5, 5])
    const y = block.apply(zeros(params), x, { state })
    assert.isBelow(NdArray.max(NdArray.abs(NdArray.sub(y, NdArray.maximum(x, 0)))).item(), 1e-6)
  })

  it.effect("the small ResNet trains on MNIST with batch-norm state threaded through grad (reduced)", () =>
    Effect.gen(function* () {
      const data = yield* loadMnist({ train: 3200, test: 500 }, { image: true })
      const r = yield* trainSmall({ channels: 8, epochs: 1, batchSize: 32, learningRate: 3e-3, seed: 0, logEvery: 10 }, data)
      assert.isBelow(r.losses[r.losses.length - 1], r.losses[0] - 0.1)
      assert.isAbove(r.testAccuracy, 0.3) // well above chance after 100 steps; the full epoch is in the README
      // the running statistics were updated through grad's auxiliary output (they start at mean 0, variance 1)
      const [initialMean] = Tree.leaves(r.initialState) as Array<NdArray>
      const [trainedMean] = Tree.leaves(r.state) as Array<NdArray>
      assert.strictEqual(NdArray.max(NdArray.abs(initialMean)).item(), 0)
      assert.isAbove(NdArray.max(NdArray.abs(trainedMean)).item(), 1e-3)
    }))
})
