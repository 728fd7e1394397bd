/**
 * y = 2x with one weight (note 002, "梯度下降法" … "用 pytorch 实现线性回归"):
 * x = [1, 2, 3], y = [2, 4, 6], ŷ = x·w from w = 1, learning rate 0.01,
 * 100 epochs, four ways:
 *  1. batch gradient descent on cost(w) = (1/N)Σ(xₙw − yₙ)² with the
 *     hand-derived gradient (1/N)Σ 2xₙ(xₙw − yₙ), checked against `grad`
 *     at every epoch;
 *  2. stochastic gradient descent, one sample per update, gradient 2x(xw − y);
 *  3. the same with `grad` of the per-sample loss (the lesson's autograd
 *     version, `l.backward()`);
 *  4. `Layers.linear` (1 → 1, with a bias) + `Loss.mse` (summed, as
 *     `MSELoss(size_average=False)`) + `Optim.sgd(0.01)` from @gradfx/nn.
 * The prediction for x = 4 approaches 8. Also the lesson's first plot: the
 * MSE as a function of w on [0, 4] in steps of 0.1.
 *
 * @since 0.1.0
 */
import { grad, NdArray, Random } from "@gradfx/core"
import { Init, Layers, Loss, Optim } from "@gradfx/nn"
import { Effect } from "effect"
import { lineChart, panels } from "../plot.js"
import { numbers } from "../runtime.js"

export const xData = [1, 2, 3] as const
export const yData = [2, 4, 6] as const

const f64 = { dtype: "float64" } as const
const xs = NdArray.array([...xData], f64)
const ys = NdArray.array([...yData], f64)

/** `forward(x)`: x·w (float64 when both are numbers, like Python's floats). */
export const forward = (w: NdArray | number, x: NdArray | number): NdArray =>
  typeof w === "number" && typeof x === "number" ? NdArray.scalar(x * w, f64) : NdArray.mul(x, w)

/** `cost(xs, ys)`: the mean squared error over the data set, as a function of w. */
export const cost = (w: NdArray): NdArray => NdArray.mean(NdArray.square(NdArray.sub(forward(w, xs), ys)))

/** The hand-derived gradient of `cost`: (1/N)Σ 2xₙ(xₙw − yₙ). */
export const handGradient = (w: number): number => xData.reduce((g, x, n) => g + 2 * x * (x * w - yData[n]), 0) / xData.length

/** `loss(x, y)` of one sample: (xw − y)². */
export const sampleLoss = (w: NdArray, x: number, y: number): NdArray => NdArray.square(NdArray.sub(forward(w, x), y))

export interface SingleWeightConfig {
  readonly epochs: number
  readonly learningRate: number
  /** Seed of the linear layer's initialisation (PyTorch draws its own). */
  readonly seed: number
  /** Log every this many epochs. */
  readonly logEvery: number
}

export const fullConfig: SingleWeightConfig = { epochs: 100, learningRate: 0.01, seed: 0, logEvery: 10 }

/**
 * Run the four trainings and the w sweep.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("single-weight/run")(function* (config: SingleWeightConfig = fullConfig) {
  const lr = config.learningRate
  // The sweep: MSE for w in [0, 4], step 0.1
  const sweep = numbers(NdArray.arange(0, 4.1, 0.1, f64)).map((w) => [w, cost(NdArray.scalar(w, f64)).item()] as const)
  yield* Effect.log(`MSE(w) sweep: ${sweep.length} points, minimum ${Math.min(...sweep.map((p) => p[1])).toFixed(4)} at w = ${sweep.reduce((a, b) => (b[1] < a[1] ? b : a))[0].toFixed(1)}`)

  // 1. batch gradient descent, hand gradient checked against grad
  const costGrad = grad(cost)
  let w = 1
  let maxGradientDifference = 0
  const batchLosses: Array<number> = []
  yield* Effect.log(`batch GD: predict (before training) 4 ${forward(w, 4).item()}`)
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const costValue = cost(NdArray.scalar(w, f64)).item()
    const gradValue = handGradient(w)
    maxGradientDifference = Math.max(maxGradientDifference, Math.abs(gradValue - costGrad(NdArray.scalar(w, f64)).item()))
    w -= lr * gradValue
    batchLosses.push(costValue)
    if (epoch % config.logEvery === 0 || epoch === config.epochs - 1) yield* Effect.log(`Epoch: ${epoch} w= ${w} loss= ${costValue}`)
  }
  const batchW = w
  yield* Effect.log(`batch GD: predict (after training) 4 ${forward(batchW, 4).item()}; max |hand − grad| over all epochs = ${maxGradientDifference.toExponential(2)}`)

  // 2. SGD with the hand gradient 2x(xw − y)
  w = 1
  const sgdLosses: Array<number> = []
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    let l = 0
    for (let n = 0; n < xData.length; n++) {
      const gradient = 2 * xData[n] * (xData[n] * w - yData[n]) // same operation order as the lesson's Python
      w -= lr * gradient
      l = (xData[n] * w - yData[n]) ** 2
    }
    sgdLosses.push(l)
    if (epoch % config.logEvery === 0 || epoch === config.epochs - 1) yield* Effect.log(`progress: ${epoch} w= ${w} loss= ${l}`)
  }
  const sgdW = w
  yield* Effect.log(`SGD: predict (after training) 4 ${forward(sgdW, 4).item()}`)

  // 3. SGD with grad of the sample loss
  const sampleGrad = grad(sampleLoss)
  let wArray = NdArray.scalar(1, f64)
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    for (let n = 0; n < xData.length; n++) wArray = NdArray.sub(wArray, NdArray.mul(lr, sampleGrad(wArray, xData[n], yData[n])))
  }
  const autogradW = wArray.item()
  yield* Effect.log(`SGD with grad: w = ${autogradW}, predict 4 ${forward(autogradW, 4).item()}`)

  // 4. nn: linear layer (PyTorch's Linear(1, 1) initialisation, U(−1, 1)) + summed MSE + sgd
  const layer = Layers.linear({ inDim: 1, outDim: 1, weightInit: Init.uniform(1), biasInit: Init.uniform(1) })
  let params = layer.init(Random.key(config.seed), [1], f64).params
  const optimizer = Optim.sgd(lr)
  let optState = optimizer.init(params)
  const xColumn = NdArray.reshape(xs, [3, 1])
  const yColumn = NdArray.reshape(ys, [3, 1])
  const layerLoss = (p: typeof params) => Loss.mse(layer.apply(p, xColumn), yColumn, { reduction: "sum" })
  const layerGrad = grad(layerLoss)
  const layerLosses: Array<number> = []
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    layerLosses.push(layerLoss(params).item())
    const [updates, nextState] = optimizer.update(layerGrad(params), optState, params)
    params = Optim.applyUpdates(params, updates)
    optState = nextState
  }
  const layerPrediction = layer.apply(params, NdArray.array([[4]], f64)).item()
  const layerW = params.w.item()
  const layerB = params.b!.item()
  yield* Effect.log(`linear + MSE(sum) + sgd: loss ${layerLosses[0].toFixed(4)} → ${layerLosses[layerLosses.length - 1].toFixed(6)}, w = ${layerW.toFixed(6)}, b = ${layerB.toFixed(6)}, y_pred(4) = ${layerPrediction}`)

  return {
    sweep,
    batchW,
    batchLosses,
    maxGradientDifference,
    sgdW,
    sgdLosses,
    autogradW,
    layerLosses,
    layerW,
    layerB,
    layerPrediction,
    figures: {
      "loss-vs-w": lineChart({ title: "MSE as a function of w", series: { MSE: sweep }, xTitle: "w", yTitle: "MSE" }),
      training: panels("Training y = 2x", [
        lineChart({ title: "batch GD: cost per epoch", series: { cost: batchLosses }, xTitle: "epoch", yTitle: "cost", yScale: "log" }),
        lineChart({ title: "SGD: last sample loss per epoch", series: { loss: sgdLosses }, xTitle: "epoch", yTitle: "loss", yScale: "log" }),
        lineChart({ title: "linear + MSE(sum) + sgd", series: { loss: layerLosses }, xTitle: "epoch", yTitle: "summed MSE", yScale: "log" })
      ])
    }
  }
})
