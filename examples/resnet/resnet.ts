/**
 * ResNet-34 as built in the PyTorch book's lesson (note 001, "小试牛刀：搭建
 * ResNet"), with @gradfx/nn layers: a residual block is
 * conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus the shortcut (the
 * identity, or a 1×1 conv + BN projection), then ReLU; `makeLayer` stacks
 * blocks, the first one with the projection shortcut (as the lesson's
 * `_make_layer` does — even for layer1, where torchvision's ResNet-34 uses
 * the identity, so this model has 4,224 more parameters than torchvision's
 * 21,797,672); the stem is conv7×7/2 → BN → ReLU → max-pool 3/2, the layers
 * have 3, 4, 6, 3 blocks of 64, 128, 256, 512 channels, and the head is a
 * 7×7 average pool and a 512 → 1000 linear layer.
 *
 * `width` scales every channel count (a reduced-width variant for cheap
 * shape checks); `smallResNet` is a small residual network for MNIST.
 *
 * @since 0.1.0
 */
import { grad, jit, NdArray, Random, Tree } from "@gradfx/core"
import { Batches, type Supervised } from "@gradfx/data"
import { Layers, Loss, Optim } from "@gradfx/nn"
import { Effect, Stream } from "effect"
import { countCorrect, loadMnist, type MnistSizes } from "../mnist.js"
import { lineChart } from "../plot.js"

type AnyLayer = Layers.AnyLayer

const conv = (outChannels: number, kernelSize: number, stride: number, padding: number) =>
  Layers.conv2d({ outChannels, kernelSize, stride, padding, useBias: false })

/**
 * `ResidualBlock(inchannel, outchannel, stride, shortcut)`: the left branch
 * conv-BN-ReLU-conv-BN, added to the shortcut, then ReLU.
 *
 * @since 0.1.0
 */
export const residualBlock = (outChannels: number, stride: number, projection: boolean): AnyLayer =>
  Layers.sequential(
    Layers.residual(
      Layers.sequential(conv(outChannels, 3, stride, 1), Layers.batchNorm(), Layers.relu(), conv(outChannels, 3, 1, 1), Layers.batchNorm()),
      projection ? { shortcut: Layers.sequential(conv(outChannels, 1, stride, 0), Layers.batchNorm()) } : {}
    ),
    Layers.relu()
  )

/** `_make_layer`: `blocks` residual blocks, the first with the projection shortcut and the stride. */
export const makeLayer = (outChannels: number, blocks: number, stride = 1): AnyLayer =>
  Layers.sequential(residualBlock(outChannels, stride, true), ...Array.from({ length: blocks - 1 }, () => residualBlock(outChannels, 1, false)))

/**
 * ResNet-34 (`width` 1) for `[3, 224, 224]` images.
 *
 * @since 0.1.0
 */
export const resnet34 = (options: { readonly numClasses?: number; readonly width?: number } = {}): AnyLayer => {
  const c = (n: number) => Math.max(1, Math.round(n * (options.width ?? 1)))
  return Layers.sequential(
    // pre
    conv(c(64), 7, 2, 3),
    Layers.batchNorm(),
    Layers.relu(),
    Layers.maxPool2d({ kernelSize: 3, stride: 2, padding: 1 }),
    // layer1 … layer4
    makeLayer(c(64), 3),
    makeLayer(c(128), 4, 2),
    makeLayer(c(256), 6, 2),
    makeLayer(c(512), 3, 2),
    // F.avg_pool2d(x, 7), view, fc
    Layers.avgPool2d({ kernelSize: 7 }),
    Layers.flatten(),
    Layers.linear({ outDim: options.numClasses ?? 1000 })
  )
}

/**
 * The parameter count of the lesson's ResNet-34, from its architecture
 * (no arrays needed): convolutions k²·in·out (no bias), batch norms 2·out,
 * the linear layer 512·classes + classes.
 *
 * @since 0.1.0
 */
export const resnet34ParameterCount = (options: { readonly numClasses?: number; readonly width?: number; readonly inChannels?: number } = {}): number => {
  const c = (n: number) => Math.max(1, Math.round(n * (options.width ?? 1)))
  const classes = options.numClasses ?? 1000
  let total = 49 * (options.inChannels ?? 3) * c(64) + 2 * c(64)
  let channels = c(64)
  for (const [out, blocks] of [[c(64), 3], [c(128), 4], [c(256), 6], [c(512), 3]] as const) {
    for (let b = 0; b < blocks; b++) {
      const inC = b === 0 ? channels : out
      total += 9 * inC * out + 2 * out + 9 * out * out + 2 * out
      if (b === 0) total += inC * out + 2 * out // projection shortcut
    }
    channels = out
  }
  return total + channels * classes + classes
}

/** The number of array elements in a pytree. */
export const countParameters = (tree: unknown): number => Tree.leaves(tree).reduce((n: number, leaf) => n + (typeof leaf === "number" ? 1 : leaf.size), 0)

/**
 * A small residual network for 28×28 digits: a stride-2 stem (`channels`,
 * default 16, at 14×14), an identity block, a projection block to twice the
 * channels at 7×7, a global average pool and a linear layer.
 *
 * @since 0.1.0
 */
export const smallResNet = (channels = 16): AnyLayer =>
  Layers.sequential(
    conv(channels, 3, 2, 1),
    Layers.batchNorm(),
    Layers.relu(),
    residualBlock(channels, 1, false),
    residualBlock(2 * channels, 2, true),
    Layers.avgPool2d({ kernelSize: 7 }),
    Layers.flatten(),
    Layers.linear({ outDim: 10 })
  )

export interface SmokeConfig {
  /** Width of the small ResNet (default 16). */
  readonly channels?: number
  readonly epochs: number
  readonly batchSize: number
  readonly learningRate: number
  readonly seed: number
  readonly logEvery: number
  readonly sizes?: MnistSizes
}

/**
 * Train `smallResNet` on MNIST with Adam, threading the batch-norm running
 * statistics through training (`applyWithState`, returned as `grad`'s
 * auxiliary output) and evaluating with them.
 *
 * @since 0.1.0
 */
export const trainSmall = Effect.fn("resnet/train-small")(function* (config: SmokeConfig, data: { readonly train: Supervised; readonly test: Supervised }) {
  const net = smallResNet(config.channels)
  const [initKey, shuffleKey] = Random.split(Random.key(config.seed), 2)
  const init = net.init(initKey, [1, 28, 28])
  const loss = (p: unknown, x: NdArray, y: NdArray, state: unknown): readonly [NdArray, unknown] => {
    const [logits, next] = net.applyWithState(p, x, { training: true, state })
    return [Loss.softmaxCrossEntropy(logits, y), next] as const
  }
  const lossGrad = grad(loss, { hasAux: true })
  const optimizer = Optim.adam(config.learningRate)
  // gradient (with the batch-norm statistics as aux) and Adam update, compiled together
  const update = jit((params: unknown, state: unknown, opt: ReturnType<typeof optimizer.init>, x: NdArray, y: NdArray) => {
    const [g, nextState] = lossGrad(params, x, y, state)
    const [updates, nextOpt] = optimizer.update(g, opt, params)
    return { params: Optim.applyUpdates(params, updates), state: nextState, opt: nextOpt }
  })
  let s = { params: init.params as unknown, state: init.state as unknown, opt: optimizer.init(init.params), step: 0 }
  const losses: Array<number> = []
  const started = performance.now()
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    s = yield* Batches.shuffled(data.train, { batchSize: config.batchSize, key: Batches.epochKey(shuffleKey, epoch) }).pipe(
      Stream.runFoldEffect(
        () => s,
        (acc, { x, y }) => {
          const { params, state, opt } = update(acc.params, acc.state, acc.opt, x, y)
          const next = { params, state, opt, step: acc.step + 1 }
          if (next.step % config.logEvery !== 0) return Effect.succeed(next)
          const l = loss(next.params, x, y, next.state)[0].item()
          losses.push(l)
          return Effect.as(Effect.log(`step ${next.step}: batch loss ${l.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`), next)
        }
      )
    )
  }
  const trainSeconds = (performance.now() - started) / 1000
  const correct = yield* countCorrect(data.test, (x) => net.apply(s.params, x, { state: s.state }), 500)
  const testAccuracy = correct / data.test.length
  yield* Effect.log(`small ResNet: ${countParameters(s.params)} parameters; after ${config.epochs} epoch(s) (${trainSeconds.toFixed(0)} s): test ${correct} / ${data.test.length} = ${(100 * testAccuracy).toFixed(2)}%`)
  return { testAccuracy, trainSeconds, losses, parameterCount: countParameters(s.params), params: s.params, state: s.state, initialState: init.state as unknown }
})

export interface ResNetConfig {
  /** Channel scale of the ResNet-34 built and run on one 3×224×224 image (1: the real one). */
  readonly width: number
  readonly smoke: SmokeConfig
}

export const fullConfig: ResNetConfig = { width: 1, smoke: { epochs: 1, batchSize: 32, learningRate: 1e-3, seed: 0, logEvery: 200 } }

/**
 * Build ResNet-34, count its parameters, run one image through it, then the
 * MNIST smoke test.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("resnet/run")(function* (config: ResNetConfig = fullConfig) {
  const model = resnet34({ width: config.width })
  let t0 = performance.now()
  const { params, state, outputShape } = model.init(Random.key(0), [3, 224, 224])
  const initSeconds = (performance.now() - t0) / 1000
  const parameterCount = countParameters(params)
  const expectedCount = resnet34ParameterCount({ width: config.width })
  yield* Effect.log(`ResNet-34 (width ${config.width}): ${parameterCount.toLocaleString("en")} parameters (architecture formula ${expectedCount.toLocaleString("en")}), ${Tree.leaves(params).length} arrays, init ${initSeconds.toFixed(1)} s, output shape from init ${JSON.stringify(outputShape)}`)
  const image = Random.normal(Random.key(1), [1, 3, 224, 224])
  t0 = performance.now()
  const logits = model.apply(params, image, { state })
  const forwardSeconds = (performance.now() - t0) / 1000
  yield* Effect.log(`forward pass on [1, 3, 224, 224] (evaluation mode): logits ${JSON.stringify(logits.shape)} in ${forwardSeconds.toFixed(1)} s; finite: ${NdArray.all(NdArray.isFinite(logits)).item() === 1}`)

  const data = yield* loadMnist(config.smoke.sizes ?? {}, { image: true })
  yield* Effect.log(`smoke test: small ResNet on MNIST, ${data.train.length} training images, ${config.smoke.epochs} epoch(s)`)
  const smoke = yield* trainSmall(config.smoke, data)
  return {
    parameterCount,
    expectedCount,
    outputShape,
    logitsShape: logits.shape,
    initSeconds,
    forwardSeconds,
    smoke,
    figures: {
      "small-resnet-loss": lineChart({
        title: "Small ResNet on MNIST: batch loss",
        series: { loss: smoke.losses.map((l, i) => [(i + 1) * config.smoke.logEvery, l] as const) },
        xTitle: "step",
        yTitle: "softmax cross-entropy"
      })
    }
  }
})
