/**
 * Nielsen's `network.py` (Neural Networks and Deep Learning, chapter 1; note
 * 001): a 784-30-10 sigmoid network with the quadratic cost, stochastic
 * gradient descent on mini-batches of 10 with η = 3.0, 30 epochs over the
 * 50,000 training images, printing after each epoch "Epoch j: n / 10000" on
 * the test set. Weights and biases start N(0, 1) as in `network.py`.
 *
 * Nielsen's update w ← w − (η/m)·Σₓ∇Cₓ with Cₓ = ½‖a − y‖² is `Optim.sgd(η)`
 * on the batch mean of ½‖a − y‖², which is what `cost` computes.
 *
 * @since 0.1.0
 */
import { grad, NdArray, Random } from "@gradfx/core"
import { Batches, type Supervised } from "@gradfx/data"
import { Init, Layers, Loss, Optim } from "@gradfx/nn"
import { Effect } from "effect"
import { countCorrect, loadMnist, type MnistSizes, sgdEpoch } from "../mnist.js"
import { lineChart } from "../plot.js"

/** The network [784, hidden, 10] with sigmoid neurons and N(0, 1) weights and biases. */
export const network = (hidden: number) =>
  Layers.sequential(
    Layers.linear({ outDim: hidden, weightInit: Init.normal(1), biasInit: Init.normal(1) }),
    Layers.sigmoid(),
    Layers.linear({ outDim: 10, weightInit: Init.normal(1), biasInit: Init.normal(1) }),
    Layers.sigmoid()
  )

export interface MlpConfig {
  readonly hidden: number
  readonly epochs: number
  readonly batchSize: number
  readonly eta: number
  readonly seed: number
  /** dtype of the parameters (default float32; NumPy's network.py computes in float64). */
  readonly dtype?: "float32" | "float64"
  /** Truncate the splits (the tests); default all of Nielsen's 50,000 / 10,000. */
  readonly sizes?: MnistSizes
}

export const fullConfig: MlpConfig = { hidden: 30, epochs: 30, batchSize: 10, eta: 3.0, seed: 0 }

/**
 * Train Nielsen's network with SGD, evaluating on the test set after each epoch.
 *
 * @since 0.1.0
 */
export const train = Effect.fn("mnist-mlp/train")(function* (config: MlpConfig, data: { readonly train: Supervised; readonly test: Supervised }) {
  const net = network(config.hidden)
  const [initKey, shuffleKey] = Random.split(Random.key(config.seed), 2)
  type Params = ReturnType<typeof net.init>["params"]
  const { params: params0 } = net.init(initKey, [784], { dtype: config.dtype ?? "float32" })
  // the batch mean of Nielsen's Cₓ = ½‖a − y‖²
  const cost = (p: Params, x: NdArray, y: NdArray): NdArray => NdArray.div(Loss.mse(net.apply(p, x), NdArray.oneHot(y, 10), { half: true, reduction: "sum" }), x.shape[0])
  const costGrad = grad(cost)
  const optimizer = Optim.sgd(config.eta)
  const predict = (p: Params) => (x: NdArray) => net.apply(p, x)

  let state = { params: params0, opt: optimizer.init(params0) }
  const accuracies: Array<number> = []
  const epochSeconds: Array<number> = []
  const nTest = data.test.length
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const started = performance.now()
    state = yield* sgdEpoch(data.train, state, costGrad, optimizer, { batchSize: config.batchSize, key: Batches.epochKey(shuffleKey, epoch) })
    epochSeconds.push((performance.now() - started) / 1000)
    const correct = yield* countCorrect(data.test, predict(state.params))
    accuracies.push(correct / nTest)
    yield* Effect.log(`Epoch ${epoch}: ${correct} / ${nTest}   (${epochSeconds[epoch].toFixed(1)} s)`)
  }
  return { params: state.params, accuracies, epochSeconds }
})

/**
 * Load MNIST and train; the figure is the test accuracy per epoch.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("mnist-mlp/run")(function* (config: MlpConfig = fullConfig) {
  const data = yield* loadMnist(config.sizes ?? {})
  yield* Effect.log(`MNIST: ${data.train.length} training, ${data.test.length} test images; network [784, ${config.hidden}, 10], η = ${config.eta}, mini-batch ${config.batchSize}`)
  const result = yield* train(config, data)
  const best = Math.max(...result.accuracies)
  yield* Effect.log(`final test accuracy ${(100 * result.accuracies[result.accuracies.length - 1]).toFixed(2)}%, best ${(100 * best).toFixed(2)}%`)
  return {
    ...result,
    figures: {
      [`accuracy-${config.hidden}-hidden`]: lineChart({
        title: `Test accuracy, [784, ${config.hidden}, 10], η = ${config.eta}`,
        series: { accuracy: result.accuracies.map((a, i) => [i, a] as const) },
        xTitle: "epoch",
        yTitle: "test accuracy"
      })
    }
  }
})
