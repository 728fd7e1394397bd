/**
 * Nielsen's `network2.py` (chapter 3, "Improving the way neural networks
 * learn"; note 001): the cross-entropy cost C = −Σ[y ln a + (1 − y) ln(1 − a)]
 * on sigmoid outputs, L2 regularisation C + (λ/2n)Σw² with λ = 5.0 over
 * n = 50,000 (weights only, not biases), weights drawn N(0, 1/n_in) (biases
 * N(0, 1)), η = 0.5, mini-batch 10, 100 hidden neurons, 30 epochs, and early
 * stopping on the 10,000 validation images: the parameters of the epoch
 * with the best validation accuracy are kept (and training stops after
 * `patience` epochs without improvement, Nielsen's "no-improvement-in-n").
 *
 * The output layer returns logits z; the cost is computed from them
 * (`binaryCrossEntropyWithLogits`, the same function, finite for any z) and
 * predictions take the argmax, which σ does not change.
 *
 * @since 0.1.0
 */
import { grad, NdArray, Random } from "@gradfx/core"
import { Batches, type Supervised } from "@gradfx/data"
import { Init, Layers, Loss, Optim } from "@gradfx/nn"
import { Effect } from "effect"
import { countCorrect, loadMnist, type MnistSizes, sgdEpoch } from "../mnist.js"
import { lineChart } from "../plot.js"

/** N(0, 1/n_in) weights: `network2.py`'s `default_weight_initializer`. */
const scaledByFanIn: Init.Initializer = (key, shape, dtype) => Init.normal(1 / Math.sqrt(shape[0]))(key, shape, dtype)

/** [784, hidden, 10]: a sigmoid hidden layer and a logit output layer. */
export const network = (hidden: number) =>
  Layers.sequential(
    Layers.linear({ outDim: hidden, weightInit: scaledByFanIn, biasInit: Init.normal(1) }),
    Layers.sigmoid(),
    Layers.linear({ outDim: 10, weightInit: scaledByFanIn, biasInit: Init.normal(1) })
  )

export interface ImprovedConfig {
  readonly hidden: number
  readonly epochs: number
  readonly batchSize: number
  readonly eta: number
  readonly lambda: number
  /** Stop after this many epochs without a better validation accuracy. */
  readonly patience: number
  readonly seed: number
  readonly sizes?: MnistSizes
}

export const fullConfig: ImprovedConfig = { hidden: 100, epochs: 30, batchSize: 10, eta: 0.5, lambda: 5.0, patience: 10, seed: 0 }

/**
 * Train with cross-entropy + L2, evaluating on the validation set every
 * epoch, and report the test accuracy of the best-validation parameters.
 *
 * @since 0.1.0
 */
export const train = Effect.fn("mnist-improved/train")(function* (
  config: ImprovedConfig,
  data: { readonly train: Supervised; readonly validation: Supervised; readonly test: Supervised }
) {
  const net = network(config.hidden)
  const [initKey, shuffleKey] = Random.split(Random.key(config.seed), 2)
  type Params = ReturnType<typeof net.init>["params"]
  const { params: params0 } = net.init(initKey, [784])
  const n = data.train.length
  // the batch mean of the per-example cross-entropy, plus (λ/2n) Σ w² over the weights ("0.w", "2.w")
  const cost = (p: Params, x: NdArray, y: NdArray): NdArray =>
    NdArray.add(
      NdArray.div(Loss.binaryCrossEntropyWithLogits(net.apply(p, x), NdArray.oneHot(y, 10), { reduction: "sum" }), x.shape[0]),
      Loss.l2(p, { lambda: config.lambda, n, filter: (path) => path.endsWith("w") })
    )
  const costGrad = grad(cost)
  const optimizer = Optim.sgd(config.eta)
  const predict = (p: Params) => (x: NdArray) => net.apply(p, x)

  let state = { params: params0, opt: optimizer.init(params0) }
  const validationAccuracies: Array<number> = []
  const epochSeconds: Array<number> = []
  let best = { accuracy: -1, epoch: -1, params: params0 }
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const started = performance.now()
    state = yield* sgdEpoch(data.train, state, costGrad, optimizer, { batchSize: config.batchSize, key: Batches.epochKey(shuffleKey, epoch) })
    epochSeconds.push((performance.now() - started) / 1000)
    const correct = yield* countCorrect(data.validation, predict(state.params))
    const accuracy = correct / data.validation.length
    validationAccuracies.push(accuracy)
    const improved = accuracy > best.accuracy
    if (improved) best = { accuracy, epoch, params: state.params }
    yield* Effect.log(`Epoch ${epoch}: ${correct} / ${data.validation.length} on validation${improved ? " (best so far)" : ""}   (${epochSeconds[epoch].toFixed(1)} s)`)
    if (epoch - best.epoch >= config.patience) {
      yield* Effect.log(`early stopping: no improvement in ${config.patience} epochs`)
      break
    }
  }
  const testCorrect = yield* countCorrect(data.test, predict(best.params))
  const testAccuracy = testCorrect / data.test.length
  yield* Effect.log(`best validation accuracy ${(100 * best.accuracy).toFixed(2)}% at epoch ${best.epoch}; test accuracy with those parameters: ${testCorrect} / ${data.test.length} = ${(100 * testAccuracy).toFixed(2)}%`)
  return { params: best.params, bestEpoch: best.epoch, bestValidationAccuracy: best.accuracy, validationAccuracies, testAccuracy, epochSeconds }
})

/**
 * Load MNIST (50,000 / 10,000 / 10,000) and train.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("mnist-improved/run")(function* (config: ImprovedConfig = fullConfig) {
  const data = yield* loadMnist(config.sizes ?? {})
  yield* Effect.log(
    `MNIST: ${data.train.length} / ${data.validation.length} / ${data.test.length}; [784, ${config.hidden}, 10], cross-entropy, λ = ${config.lambda}, η = ${config.eta}, mini-batch ${config.batchSize}`
  )
  const result = yield* train(config, data)
  return {
    ...result,
    figures: {
      "validation-accuracy": lineChart({
        title: `Validation accuracy, [784, ${config.hidden}, 10], cross-entropy + L2 (λ = ${config.lambda})`,
        series: { validation: result.validationAccuracies.map((a, i) => [i, a] as const) },
        xTitle: "epoch",
        yTitle: "accuracy"
      })
    }
  }
})
