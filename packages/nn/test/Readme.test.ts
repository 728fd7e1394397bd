// The README's examples, in substance: if this breaks, the README is wrong.
import { describe, expect, it } from "vitest"
import { grad, NdArray, Random, Tree } from "@gradfx/core"
import { pipe } from "effect/Function"
import { Activation, Init, Layers, LayerShapeError, Loss, Metrics, Optim, Schedule } from "@gradfx/nn"

describe("README examples", () => {
  it("Layers: a CNN with an inferred flatten size, its gradient and a typed shape error", () => {
    const model = Layers.sequential(
      Layers.conv2d({ outChannels: 8, kernelSize: 3, padding: "same" }),
      Layers.relu(),
      Layers.maxPool2d({ kernelSize: 2 }),
      Layers.flatten(),
      Layers.linear({ outDim: 10 })
    )
    const { params } = model.init(Random.key(0), [1, 28, 28])
    expect(params[0].w.shape).toEqual([8, 1, 3, 3])
    expect(params[1]).toBeNull()
    expect(params[4].w.shape).toEqual([1568, 10])
    const images = Random.normal(Random.key(1), [2, 1, 28, 28])
    const labels = NdArray.array([3, 7], { dtype: "int32" })
    expect(model.apply(params, images).shape).toEqual([2, 10])
    const loss = (p: typeof params) => Loss.softmaxCrossEntropy(model.apply(p, images), labels)
    expect(Tree.paths(grad(loss)(params))).toEqual(Tree.paths(params))
    expect(() => model.apply(params, NdArray.zeros([4, 3, 28, 28]))).toThrow(LayerShapeError)
    expect(() => model.apply(params, NdArray.zeros([4, 3, 28, 28]))).toThrow(
      "sequential[0].conv2d: expected an input of shape [N, 1, H, W] or [1, H, W], got [4, 3, 28, 28] (3 input channels where the weights have 1)"
    )
  })

  it("Layers: explicit state and randomness", () => {
    const net = Layers.sequential(Layers.linear({ outDim: 32 }), Layers.batchNorm(), Layers.relu(), Layers.dropout({ rate: 0.2 }), Layers.linear({ outDim: 2 }))
    const { params: p, state } = net.init(Random.key(0), [4])
    const x = Random.normal(Random.key(2), [16, 4])
    const [y, nextState] = net.applyWithState(p, x, { training: true, key: Random.key(1), state })
    const yEval = net.apply(p, x, { state: nextState })
    expect(y.shape).toEqual([16, 2])
    expect(yEval.shape).toEqual([16, 2])
  })

  it("Activations, losses, metrics, initialisers", () => {
    const x = NdArray.array([-1000, 0, 1000])
    expect(Array.from(Activation.softplus(x).data()).map((v) => Number(v.toFixed(4)))).toEqual([0, 0.6931, 1000])
    expect(pipe(x, Activation.leakyRelu(0.2)).toArray()).toEqual([-200, 0, 1000])
    const logits = NdArray.array([[2, 0, -1], [0, 3, 0]])
    const labels = NdArray.array([0, 1], { dtype: "int32" })
    expect(Loss.nll(Activation.logSoftmax(logits), labels).item()).toBeCloseTo(Loss.softmaxCrossEntropy(logits, labels).item(), 6)
    expect(Metrics.accuracy(logits, labels).item()).toBe(1)
    expect(Metrics.confusionMatrix(logits, labels, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    const params = [{ w: NdArray.array([[1, 2]]), b: NdArray.array([3]) }]
    expect(Loss.l2(params, { lambda: 5, n: 10, filter: (path) => path.endsWith("w") }).item()).toBeCloseTo((5 / 20) * 5, 6)
    const layer = Layers.linear({ outDim: 30, weightInit: Init.scaledNormal, biasInit: Init.normal(1) })
    expect(layer.init(Random.key(0), [784]).params.w.shape).toEqual([784, 30])
  })

  it("Optimisers: the update loop and a custom chain", () => {
    const target = NdArray.array([1, -1])
    const loss = (p: { w: NdArray }) => Loss.mse(p.w, target)
    let params = { w: NdArray.zeros([2]) }
    const opt = Optim.chain(
      Optim.clipByGlobalNorm(1.0),
      Optim.scaleByAdam({ b1: 0.9, b2: 0.99 }),
      Optim.addDecayedWeights(1e-2, { mask: (path) => path.endsWith("w") }),
      Optim.scaleByLearningRate(Schedule.linearWarmup({ peakValue: 1e-1, warmupSteps: 10, after: Schedule.cosineDecay({ initValue: 1e-1, decaySteps: 200 }) }))
    )
    let optState = opt.init(params)
    for (let i = 0; i < 200; i++) {
      const [updates, next] = opt.update(grad(loss)(params), optState, params)
      params = Optim.applyUpdates(params, updates)
      optState = next
    }
    expect(loss(params).item()).toBeLessThan(1e-3)
  })

  it("Optimisers: L-BFGS on the Rosenbrock function", () => {
    const rosenbrock = (p: NdArray) => {
      const x = NdArray.slice(p, [0])
      const y = NdArray.slice(p, [1])
      return NdArray.add(NdArray.square(NdArray.sub(1, x)), NdArray.mul(NdArray.square(NdArray.sub(y, NdArray.square(x))), 100))
    }
    const result = Optim.minimize(rosenbrock, NdArray.array([-1.2, 1], { dtype: "float64" }), { optimizer: Optim.lbfgs() })
    expect(result.converged).toBe(true)
    for (const v of Array.from(result.params.data())) expect(v).toBeCloseTo(1, 6)
  })
})
