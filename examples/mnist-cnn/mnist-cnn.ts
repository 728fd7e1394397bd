/**
 * A LeNet-style convolutional network on MNIST (Nielsen chapter 6; note 001,
 * "卷积神经网络"): conv 5×5×20 → max-pool 2 → conv 5×5×40 → max-pool 2 →
 * dense 100 → softmax, with ReLU activations (Nielsen's best single
 * network used ReLU: 99.23%) and dropout before the output layer, trained
 * with Adam (or SGD) on the softmax cross-entropy.
 *
 * Shapes: [1, 28, 28] → conv → [20, 24, 24] → pool → [20, 12, 12] → conv →
 * [40, 8, 8] → pool → [40, 4, 4] → flatten 640 → 100 → 10.
 *
 * Deviation from Nielsen: he trains 60 epochs with SGD (η = 0.03, λ = 0.1,
 * mini-batch 10); on CPU in JavaScript an epoch is expensive, so this runs a
 * few epochs of Adam (learning rate 1e-3 with a cosine decay to 0) on
 * mini-batches of 32, which reaches that accuracy much sooner.
 *
 * @since 0.1.0
 */
import { grad, jit, NdArray, Random, Tree } from "@gradfx/core"
import { Batches, type Supervised } from "@gradfx/data"
import { Layers, Loss, Optim, Schedule } from "@gradfx/nn"
import { Effect, Stream } from "effect"
import { countCorrect, loadMnist, type MnistSizes } from "../mnist.js"
import { lineChart } from "../plot.js"

/** The network; `width` scales the channel and unit counts (1: 20, 40, 100). */
export const network = (options: { readonly dropout?: number; readonly width?: number } = {}) => {
  const w = options.width ?? 1
  return Layers.sequential(
    Layers.conv2d({ outChannels: Math.round(20 * w), kernelSize: 5 }),
    Layers.relu(),
    Layers.maxPool2d({ kernelSize: 2 }),
    Layers.conv2d({ outChannels: Math.round(40 * w), kernelSize: 5 }),
    Layers.relu(),
    Layers.maxPool2d({ kernelSize: 2 }),
    Layers.flatten(),
    Layers.linear({ outDim: Math.round(100 * w) }),
    Layers.relu(),
    Layers.dropout({ rate: options.dropout ?? 0.5 }),
    Layers.linear({ outDim: 10 })
  )
}

export interface CnnConfig {
  readonly epochs: number
  readonly batchSize: number
  readonly optimizer: "adam" | "sgd"
  readonly learningRate: number
  /** "cosine": decay the learning rate to 0 over the run (cosine schedule); "constant": keep it. */
  readonly schedule: "constant" | "cosine"
  readonly dropout: number
  readonly width: number
  readonly seed: number
  /** Log the running loss every this many steps. */
  readonly logEvery: number
  readonly sizes?: MnistSizes
}

export const fullConfig: CnnConfig = { epochs: 5, batchSize: 32, optimizer: "adam", learningRate: 1e-3, schedule: "cosine", dropout: 0.5, width: 1, seed: 0, logEvery: 200 }

/**
 * Train, evaluating on the validation set after each epoch and on the test
 * set at the end.
 *
 * @since 0.1.0
 */
export const train = Effect.fn("mnist-cnn/train")(function* (
  config: CnnConfig,
  data: { readonly train: Supervised; readonly validation: Supervised; readonly test: Supervised }
) {
  const net = network({ dropout: config.dropout, width: config.width })
  const [initKey, shuffleKey, dropoutKey] = Random.split(Random.key(config.seed), 3)
  type Params = ReturnType<typeof net.init>["params"]
  const { params: params0, outputShape } = net.init(initKey, [1, 28, 28])
  const parameterCount = Tree.leaves(params0).reduce((n: number, leaf) => n + (typeof leaf === "number" ? 1 : leaf.size), 0)
  yield* Effect.log(`CNN: ${parameterCount} parameters, output ${JSON.stringify(outputShape)}; ${config.optimizer} lr ${config.learningRate} (${config.schedule}), mini-batch ${config.batchSize}, dropout ${config.dropout}`)
  const loss = (p: Params, x: NdArray, y: NdArray, key: Random.Key): NdArray => Loss.softmaxCrossEntropy(net.apply(p, x, { training: true, key }), y)
  const lossGrad = grad(loss)
  const totalSteps = config.epochs * Math.ceil(data.train.length / config.batchSize)
  const rate = config.schedule === "cosine" ? Schedule.cosineDecay({ initValue: config.learningRate, decaySteps: totalSteps }) : config.learningRate
  const optimizer = config.optimizer === "adam" ? Optim.adam(rate) : Optim.sgd(rate, { momentum: 0.9 })
  const predict = (p: Params) => (x: NdArray) => net.apply(p, x)
  // forward, backward and the optimiser update as one compiled program (traced on the first batch)
  const update = jit((params: Params, opt: ReturnType<typeof optimizer.init>, x: NdArray, y: NdArray, key: Random.Key) => {
    const [updates, next] = optimizer.update(lossGrad(params, x, y, key), opt, params)
    return { params: Optim.applyUpdates(params, updates), opt: next }
  })

  let state = { params: params0, opt: optimizer.init(params0), step: 0, runningLoss: 0 }
  const validationAccuracies: Array<number> = []
  const epochSeconds: Array<number> = []
  const losses: Array<number> = []
  const started = performance.now()
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const epochStart = performance.now()
    state = yield* Batches.shuffled(data.train, { batchSize: config.batchSize, key: Batches.epochKey(shuffleKey, epoch) }).pipe(
      Stream.runFoldEffect(
        () => state,
        (s, { x, y }) => {
          const key = Random.foldIn(dropoutKey, s.step)
          const { params, opt } = update(s.params, s.opt, x, y, key)
          const next = { params, opt, step: s.step + 1, runningLoss: s.runningLoss }
          if (next.step % config.logEvery !== 0) return Effect.succeed(next)
          const l = loss(next.params, x, y, key).item()
          losses.push(l)
          return Effect.as(Effect.log(`epoch ${epoch} step ${next.step}: batch loss ${l.toFixed(4)} (${((performance.now() - epochStart) / 1000).toFixed(0)} s into the epoch)`), next)
        }
      )
    )
    epochSeconds.push((performance.now() - epochStart) / 1000)
    const correct = yield* countCorrect(data.validation, predict(state.params), 500)
    validationAccuracies.push(correct / data.validation.length)
    yield* Effect.log(`Epoch ${epoch}: ${correct} / ${data.validation.length} on validation   (${epochSeconds[epoch].toFixed(0)} s)`)
  }
  const trainSeconds = (performance.now() - started) / 1000
  const testCorrect = yield* countCorrect(data.test, predict(state.params), 500)
  const testAccuracy = testCorrect / data.test.length
  yield* Effect.log(`test accuracy after ${config.epochs} epoch(s): ${testCorrect} / ${data.test.length} = ${(100 * testAccuracy).toFixed(2)}%; training wall time ${trainSeconds.toFixed(0)} s`)
  return { params: state.params, parameterCount, validationAccuracies, testAccuracy, epochSeconds, trainSeconds, losses }
})

/**
 * Load MNIST as images and train.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("mnist-cnn/run")(function* (config: CnnConfig = fullConfig) {
  const data = yield* loadMnist(config.sizes ?? {}, { image: true })
  yield* Effect.log(`MNIST: ${data.train.length} / ${data.validation.length} / ${data.test.length} images`)
  const result = yield* train(config, data)
  return {
    ...result,
    figures: {
      training: lineChart({
        title: "CNN: batch loss",
        series: { loss: result.losses.map((l, i) => [(i + 1) * config.logEvery, l] as const) },
        xTitle: "step",
        yTitle: "softmax cross-entropy",
        yScale: "log"
      })
    }
  }
})
