/**
 * The "diamond" two-layer network of note 000 ("反向传播"): 500 points
 * uniform in [−1, 1]², label 1 inside the diamond |x₁| + |x₂| < 1, inputs
 * with a bias column (3 features), a 3-4-1 sigmoid network without biases
 * (the bias column plays that role), trained by plain gradient descent on
 * the summed gradient, learning rate 0.001, 20,000 iterations, printing the
 * lesson's "log loss" log Σ(y − ŷ)² and the accuracy every 2,000.
 *
 * The gradient the lesson back-propagates by hand, J_z₃ = ŷ − y, is the
 * gradient of the summed binary cross-entropy (not of the printed squared
 * error), so training uses `valueAndGrad` of that cross-entropy; the hand
 * backprop is here too (`handBackprop`), and the two agree to rounding.
 *
 * @since 0.1.0
 */
import { NdArray, Random, valueAndGrad } from "@gradfx/core"
import { Effect } from "effect"
import { lineChart, panels, scatter } from "../plot.js"
import { numbers } from "../runtime.js"

const f64 = { dtype: "float64" } as const

export interface Weights {
  /** [3, 4]: inputs (x₁, x₂, 1) → hidden. */
  readonly w1: NdArray
  /** [4]: hidden → output. */
  readonly w2: NdArray
}

export interface DiamondData {
  /** [n, 3]: x₁, x₂ and the bias column of ones. */
  readonly x: NdArray
  /** [n]: 1 inside the diamond, 0 outside (float64). */
  readonly y: NdArray
}

/** `num_obs` points uniform in [−1, 1]², with a bias column, labelled by |x₁| + |x₂| < 1. */
export const makeData = (key: Random.Key, numObs: number): DiamondData => {
  const points = Random.uniform(key, [numObs, 2], { min: -1, max: 1, dtype: "float64" })
  const x = NdArray.concatenate([points, NdArray.ones([numObs, 1], f64)], 1)
  const y = NdArray.astype(NdArray.less(NdArray.sum(NdArray.abs(points), { axis: 1 }), 1), "float64")
  return { x, y }
}

/** W₁, W₂ uniform in [−1, 1] as in the lesson. */
export const initWeights = (key: Random.Key): Weights => {
  const [k1, k2] = Random.split(key, 2)
  return { w1: Random.uniform(k1, [3, 4], { min: -1, max: 1, dtype: "float64" }), w2: Random.uniform(k2, [4], { min: -1, max: 1, dtype: "float64" }) }
}

/** The forward pass: z₂ = X·W₁, a₂ = σ(z₂), z₃ = a₂·W₂ (logits) and ŷ = σ(z₃). */
export const forward = (w: Weights, x: NdArray) => {
  const z2 = NdArray.matmul(x, w.w1)
  const a2 = NdArray.sigmoid(z2)
  const z3 = NdArray.matmul(a2, w.w2)
  return { z2, a2, z3, yPred: NdArray.sigmoid(z3) }
}

/** softplus(z) = log(1 + eᶻ), computed without overflow. */
const softplus = (z: NdArray): NdArray => NdArray.add(NdArray.log1p(NdArray.exp(NdArray.neg(NdArray.abs(z)))), NdArray.where(NdArray.greater(z, 0), z, 0))

/**
 * Summed binary cross-entropy −Σ[y log ŷ + (1 − y) log(1 − ŷ)], from the
 * logits (−log σ(z) = softplus(−z) = softplus(z) − z), with ŷ as auxiliary output.
 */
export const crossEntropy = (w: Weights, data: DiamondData): readonly [NdArray, NdArray] => {
  const { z3, yPred } = forward(w, data.x)
  return [NdArray.sum(NdArray.sub(softplus(z3), NdArray.mul(data.y, z3))), yPred] as const
}

/** The lesson's `forward_pass` backward half, transcribed: the gradient of `crossEntropy` by hand. */
export const handBackprop = (w: Weights, data: DiamondData): Weights => {
  const { z2, a2, yPred } = forward(w, data.x)
  const jZ3 = NdArray.sub(yPred, data.y) // −y + ŷ
  const jW2 = NdArray.matmul(jZ3, a2) // [n]·[n, 4]
  const sigmoidPrime = NdArray.mul(NdArray.sigmoid(z2), NdArray.sub(1, NdArray.sigmoid(z2)))
  const delta = NdArray.mul(NdArray.outer(jZ3, w.w2), sigmoidPrime) // [n, 4]
  const jW1 = NdArray.transpose(NdArray.matmul(NdArray.transpose(delta), data.x)) // (δᵀ·X)ᵀ = Xᵀ·δ, [3, 4]
  return { w1: jW1, w2: jW2 }
}

/** The lesson's printed loss: log Σ(y − ŷ)². */
export const logLoss = (y: NdArray, yPred: NdArray): number => Math.log(NdArray.sum(NdArray.square(NdArray.sub(y, yPred))).item())

/** Fraction of (ŷ ≥ 0.5) == y. */
export const accuracy = (y: NdArray, yPred: NdArray): number =>
  NdArray.mean(NdArray.astype(NdArray.equal(NdArray.astype(NdArray.greaterEqual(yPred, 0.5), "float64"), y), "float64")).item()

export interface DiamondConfig {
  readonly numObs: number
  readonly iterations: number
  readonly learningRate: number
  readonly seed: number
  readonly logEvery: number
}

export const fullConfig: DiamondConfig = { numObs: 500, iterations: 20_000, learningRate: 0.001, seed: 0, logEvery: 2000 }

/**
 * Generate the data, train, and report.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("diamond/run")(function* (config: DiamondConfig = fullConfig) {
  const [dataKey, weightKey] = Random.split(Random.key(config.seed), 2)
  const data = makeData(dataKey, config.numObs)
  const inside = NdArray.sum(data.y).item()
  yield* Effect.log(`${config.numObs} points, ${inside} inside the diamond`)
  let w = initWeights(weightKey)

  const step = valueAndGrad(crossEntropy, { hasAux: true })
  const check = (label: string, weights: Weights) => {
    const [, g] = step(weights, data)
    const hand = handBackprop(weights, data)
    const difference = Math.max(
      NdArray.max(NdArray.abs(NdArray.sub(g.w1, hand.w1))).item(),
      NdArray.max(NdArray.abs(NdArray.sub(g.w2, hand.w2))).item()
    )
    const scale = Math.max(NdArray.max(NdArray.abs(hand.w1)).item(), NdArray.max(NdArray.abs(hand.w2)).item())
    return Effect.as(Effect.log(`${label}: max |grad − hand backprop| = ${difference.toExponential(2)} (gradient entries up to ${scale.toFixed(2)})`), difference / scale)
  }
  const initialGradientError = yield* check("at initialisation", w)

  const losses: Array<number> = []
  const accuracies: Array<number> = []
  let yPred = forward(w, data.x).yPred
  for (let i = 0; i < config.iterations; i++) {
    const [[, pred], g] = step(w, data)
    yPred = pred
    // the lesson records the loss and accuracy of the prediction made before this update
    losses.push(logLoss(data.y, yPred))
    accuracies.push(accuracy(data.y, yPred))
    w = { w1: NdArray.sub(w.w1, NdArray.mul(config.learningRate, g.w1)), w2: NdArray.sub(w.w2, NdArray.mul(config.learningRate, g.w2)) }
    if (i % config.logEvery === 0) {
      yield* Effect.log(`iteration ${i}, log loss is ${losses[i].toFixed(4)}, accuracy is ${accuracies[i]}`)
      yield* Effect.yieldNow
    }
  }
  const finalPred = forward(w, data.x).yPred
  const finalLoss = logLoss(data.y, finalPred)
  const finalAccuracy = accuracy(data.y, finalPred)
  yield* Effect.log(`after ${config.iterations} iterations: log loss ${finalLoss.toFixed(4)}, training accuracy ${finalAccuracy}`)
  const finalGradientError = yield* check("after training", w)

  const xs = numbers(data.x)
  const ys = numbers(data.y)
  const ps = numbers(finalPred)
  const at = (i: number) => ({ x: xs[3 * i], y: xs[3 * i + 1] })
  const outcome = (i: number) => {
    const p = ps[i] >= 0.5
    const t = ys[i] === 1
    return p && t ? "true positives" : !p && !t ? "true negatives" : p ? "false positives" : "false negatives"
  }
  const every = Math.max(1, Math.floor(config.iterations / 1000))
  const sampled = (v: ReadonlyArray<number>) => v.flatMap((l, i) => (i % every === 0 ? [[i, l] as const] : []))
  return {
    data,
    weights: w,
    losses,
    accuracies,
    finalLoss,
    finalAccuracy,
    initialGradientError,
    finalGradientError,
    figures: {
      data: scatter({ title: "Diamond data", points: ys.map((t, i) => ({ ...at(i), label: t === 1 ? "class 1" : "class 0" })), domain: [-1.1, 1.1] }),
      "loss-accuracy": panels("Accuracies and Loss", [
        lineChart({ title: "Accuracies", series: { accuracy: sampled(accuracies) }, xTitle: "iteration", yTitle: "accuracy" }),
        lineChart({ title: "Loss", series: { "log Σ(y − ŷ)²": sampled(losses) }, xTitle: "iteration", yTitle: "log loss" })
      ]),
      "truth-vs-prediction": scatter({ title: "Truth vs Prediction", points: ps.map((_, i) => ({ ...at(i), label: outcome(i) })), domain: [-1.1, 1.1] })
    }
  }
})
