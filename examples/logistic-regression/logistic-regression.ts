/**
 * Logistic regression (note 002, "逻辑斯特回归"): x = [1, 2, 3] hours,
 * y = [0, 0, 1] pass/fail, the model σ(x·w + b) as a `Layers.linear`
 * (1 → 1) followed by a sigmoid, binary cross-entropy summed over the data
 * (`BCELoss(size_average=False)`), `Optim.sgd(0.01)`, 1000 epochs; then the
 * probability of passing over x ∈ [0, 10], with the 0.5 line.
 *
 * The layer is initialised like PyTorch's `nn.Linear(1, 1)`: w and b from
 * U(−1/√in, 1/√in) = U(−1, 1).
 *
 * @since 0.1.0
 */
import { grad, NdArray, Random } from "@gradfx/core"
import { Init, Layers, Loss, Optim } from "@gradfx/nn"
import { Effect } from "effect"
import { lineChart, panels } from "../plot.js"
import { numbers } from "../runtime.js"

const f64 = { dtype: "float64" } as const
export const xData = NdArray.array([[1], [2], [3]], f64)
export const yData = NdArray.array([[0], [0], [1]], f64)

/** `torch.nn.Linear(1, 1)`'s initialisation: U(−1, 1) for the weight and the bias. */
export const layer = Layers.linear({ inDim: 1, outDim: 1, weightInit: Init.uniform(1), biasInit: Init.uniform(1) })
export type Params = ReturnType<typeof layer.init>["params"]

/** σ(x·w + b) on a batch `[n, 1]`. */
export const model = (p: Params, x: NdArray): NdArray => NdArray.sigmoid(layer.apply(p, x))

/** BCELoss(size_average=False): Σ −[y log ŷ + (1 − y) log(1 − ŷ)]. */
export const loss = (p: Params, x: NdArray = xData, y: NdArray = yData): NdArray => Loss.binaryCrossEntropy(model(p, x), y, { reduction: "sum" })

export interface LogisticRegressionConfig {
  readonly epochs: number
  readonly learningRate: number
  readonly seed: number
  readonly logEvery: number
  /** Points of the probability curve on [0, 10]. */
  readonly curvePoints: number
}

export const fullConfig: LogisticRegressionConfig = { epochs: 1000, learningRate: 0.01, seed: 0, logEvery: 100, curvePoints: 200 }

/**
 * Train, then tabulate the probability curve.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("logistic-regression/run")(function* (config: LogisticRegressionConfig = fullConfig) {
  let params: Params = layer.init(Random.key(config.seed), [1], f64).params
  const optimizer = Optim.sgd(config.learningRate)
  let optState = optimizer.init(params)
  const lossGrad = grad((p: Params) => loss(p))
  const losses: Array<number> = []
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    losses.push(loss(params).item())
    const [updates, next] = optimizer.update(lossGrad(params), optState, params)
    params = Optim.applyUpdates(params, updates)
    optState = next
    if (epoch % config.logEvery === 0 || epoch === config.epochs - 1) yield* Effect.log(`${epoch} ${losses[epoch]}`)
  }
  const w = params.w.item()
  const b = params.b!.item()
  const x = NdArray.linspace(0, 10, config.curvePoints, f64)
  const probabilities = numbers(model(params, NdArray.reshape(x, [-1, 1])))
  const xs = numbers(x)
  const boundary = -b / w
  yield* Effect.log(`w = ${w.toFixed(6)}, b = ${b.toFixed(6)}; P(pass) = 0.5 at x = ${boundary.toFixed(4)}`)
  const atHours = numbers(model(params, NdArray.array([[1], [2], [3], [4]], f64)))
  yield* Effect.log(`P(pass | x = 1, 2, 3, 4) = ${atHours.map((p) => p.toFixed(4)).join(", ")}`)
  return {
    params,
    losses,
    w,
    b,
    boundary,
    curve: xs.map((v, i) => [v, probabilities[i]] as const),
    atHours,
    figures: {
      "probability-curve": lineChart({
        title: "Probability of pass",
        series: { "P(pass)": xs.map((v, i) => [v, probabilities[i]] as const), "0.5": [[0, 0.5], [10, 0.5]] },
        xTitle: "Hours",
        yTitle: "Probability of Pass"
      }),
      loss: panels("Training", [lineChart({ title: "BCE (sum) per epoch", series: { loss: losses }, xTitle: "epoch", yTitle: "loss" })])
    }
  }
})
