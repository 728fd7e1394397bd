/**
 * Multiple linear regression by gradient descent (note 000, "多元函数回归与
 * 梯度下降法"): 100 observations, x₁, x₂ ~ U(0, 10),
 * y = 1.5 + 2x₁ + 5x₂ + N(0, 0.5²), design matrix X = [1, x₁, x₂].
 *  - batch gradient descent from θ = (3, 3, 3), learning rate 1e-3, 2000
 *    iterations, recording Σ(y − ŷ)² and the θ path (the lesson's
 *    `gradient_descent`); its step θ += α (y − ŷ)·X / n is −α times the
 *    gradient of ½·mean((Xθ − y)²), which is what `grad` differentiates;
 *  - the stochastic variant: one sample per update, in order;
 *  - the closed form θ = X⁺y through the pseudo-inverse (`Linalg.pinv`) and
 *    `Linalg.lstsq`.
 *
 * @since 0.1.0
 */
import { grad, Linalg, NdArray, Random } from "@gradfx/core"
import { Effect } from "effect"
import { lineChart, panels } from "../plot.js"
import { numbers, show } from "../runtime.js"

const f64 = { dtype: "float64" } as const

/** The true coefficients (b, θ₁, θ₂). */
export const trueTheta = [1.5, 2, 5] as const

export interface RegressionData {
  /** [n, 3]: the constant column, x₁, x₂. */
  readonly x: NdArray
  /** [n]. */
  readonly y: NdArray
}

export const makeData = (key: Random.Key, numObs: number, noise = 0.5): RegressionData => {
  const [k1, k2, k3] = Random.split(key, 3)
  const x1 = Random.uniform(k1, [numObs], { min: 0, max: 10, dtype: "float64" })
  const x2 = Random.uniform(k2, [numObs], { min: 0, max: 10, dtype: "float64" })
  const eps = Random.normal(k3, [numObs], { mean: 0, std: noise, dtype: "float64" })
  const y = NdArray.add(NdArray.add(NdArray.add(trueTheta[0], NdArray.mul(trueTheta[1], x1)), NdArray.mul(trueTheta[2], x2)), eps)
  return { x: NdArray.stack([NdArray.ones([numObs], f64), x1, x2], 1), y }
}

/** ½·mean((Xθ − y)²): the objective whose negative gradient is the lesson's step direction. */
export const halfMse = (theta: NdArray, x: NdArray, y: NdArray): NdArray => NdArray.mul(0.5, NdArray.mean(NdArray.square(NdArray.sub(NdArray.matmul(x, theta), y))))

/** The lesson's recorded loss, Σ(y − ŷ)². */
export const sumSquaredError = (theta: NdArray, data: RegressionData): number =>
  NdArray.sum(NdArray.square(NdArray.sub(data.y, NdArray.matmul(data.x, theta)))).item()

/** The lesson's hand-written `grad_vec`: (y − ŷ)·X / n (an ascent direction of −½·MSE). */
export const handGradVec = (theta: NdArray, data: RegressionData): NdArray =>
  NdArray.div(NdArray.matmul(NdArray.sub(data.y, NdArray.matmul(data.x, theta)), data.x), data.x.shape[0])

export interface Trajectory {
  /** [iterations + 1] rows of θ (the lesson's `theta_path`). */
  readonly thetaPath: Array<Array<number>>
  /** Σ(y − ŷ)² before each iteration (the lesson's `loss_vec`). */
  readonly losses: Array<number>
}

/** Batch gradient descent: θ ← θ − α ∇θ ½·mean((Xθ − y)²). */
export const gradientDescent = (data: RegressionData, theta0: NdArray, learningRate: number, iterations: number): Trajectory => {
  const g = grad(halfMse)
  let theta = theta0
  const thetaPath = [numbers(theta)]
  const losses: Array<number> = []
  for (let i = 0; i < iterations; i++) {
    losses.push(sumSquaredError(theta, data))
    theta = NdArray.sub(theta, NdArray.mul(learningRate, g(theta, data.x, data.y)))
    thetaPath.push(numbers(theta))
  }
  return { thetaPath, losses }
}

/**
 * Stochastic gradient descent, one sample per update (in order), `epochs`
 * passes; θ and the loss are recorded once per pass. The lesson's commented
 * variant keeps ŷ from the start of the pass; here each update uses the
 * current θ (true SGD).
 */
export const stochasticGradientDescent = (data: RegressionData, theta0: NdArray, learningRate: number, epochs: number): Trajectory => {
  const n = data.x.shape[0]
  const rows = Array.from({ length: n }, (_, j) => NdArray.slice(data.x, [[j, j + 1]]))
  const targets = Array.from({ length: n }, (_, j) => NdArray.slice(data.y, [[j, j + 1]]))
  const g = grad(halfMse)
  let theta = theta0
  const thetaPath = [numbers(theta)]
  const losses: Array<number> = []
  for (let epoch = 0; epoch < epochs; epoch++) {
    losses.push(sumSquaredError(theta, data))
    for (let j = 0; j < n; j++) theta = NdArray.sub(theta, NdArray.mul(learningRate, g(theta, rows[j], targets[j])))
    thetaPath.push(numbers(theta))
  }
  return { thetaPath, losses }
}

export interface LinearRegressionConfig {
  readonly numObs: number
  readonly iterations: number
  readonly sgdEpochs: number
  readonly learningRate: number
  readonly seed: number
}

export const fullConfig: LinearRegressionConfig = { numObs: 100, iterations: 2000, sgdEpochs: 2000, learningRate: 1e-3, seed: 0 }

const distance = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => Math.hypot(...a.map((v, i) => v - b[i]))

/**
 * Fit the data three ways and compare.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("linear-regression/run")(function* (config: LinearRegressionConfig = fullConfig) {
  const data = makeData(Random.key(config.seed), config.numObs)
  const theta0 = NdArray.array([3, 3, 3], f64)

  // grad of ½·MSE is minus the lesson's grad_vec
  const gradientError = NdArray.max(NdArray.abs(NdArray.add(grad(halfMse)(theta0, data.x, data.y), handGradVec(theta0, data)))).item()
  yield* Effect.log(`grad(½·MSE) + grad_vec at θ = (3, 3, 3): max |·| = ${gradientError.toExponential(2)}`)

  const thetaPinv = numbers(NdArray.matmul(Linalg.pinv(data.x), data.y))
  const thetaLstsq = numbers(Linalg.lstsq(data.x, data.y))
  const leastSquaresLoss = sumSquaredError(NdArray.array(thetaPinv, f64), data)
  yield* Effect.log(`least squares, pinv(X)·y = ${show(thetaPinv, 4)}, lstsq = ${show(thetaLstsq, 4)} (true ${show([...trueTheta], 1)}), Σ(y − ŷ)² = ${leastSquaresLoss.toFixed(3)}`)

  const batch = gradientDescent(data, theta0, config.learningRate, config.iterations)
  const batchTheta = batch.thetaPath[batch.thetaPath.length - 1]
  const batchLoss = sumSquaredError(NdArray.array(batchTheta, f64), data)
  yield* Effect.log(`batch GD, ${config.iterations} iterations: loss ${batch.losses[0].toFixed(1)} → ${batchLoss.toFixed(3)}, θ = ${show(batchTheta, 4)}`)
  yield* Effect.yieldNow

  const sgd = stochasticGradientDescent(data, theta0, config.learningRate, config.sgdEpochs)
  const sgdTheta = sgd.thetaPath[sgd.thetaPath.length - 1]
  const sgdLoss = sumSquaredError(NdArray.array(sgdTheta, f64), data)
  yield* Effect.log(`SGD, ${config.sgdEpochs} passes × ${config.numObs} updates: loss ${sgd.losses[0].toFixed(1)} → ${sgdLoss.toFixed(3)}, θ = ${show(sgdTheta, 4)}`)
  yield* Effect.log(`distance to the least-squares θ: batch ${distance(batchTheta, thetaPinv).toFixed(4)}, SGD ${distance(sgdTheta, thetaPinv).toFixed(4)}`)

  const path = (t: Trajectory, k: number) => t.thetaPath.map((row, i) => [i, row[k]] as const)
  const names = ["θ₀ (b)", "θ₁", "θ₂"]
  const thetaChart = (title: string, t: Trajectory, xTitle: string) =>
    lineChart({
      title,
      series: Object.fromEntries(names.flatMap((n, k) => [[n, path(t, k)], [`${n} least squares`, [[0, thetaPinv[k]], [t.thetaPath.length - 1, thetaPinv[k]]] as const]])),
      xTitle,
      yTitle: "θ"
    })
  return {
    data,
    gradientError,
    thetaPinv,
    thetaLstsq,
    leastSquaresLoss,
    batch,
    batchTheta,
    batchLoss,
    sgd,
    sgdTheta,
    sgdLoss,
    figures: {
      loss: panels("Σ(y − ŷ)² per iteration", [
        lineChart({ title: "batch gradient descent", series: { loss: batch.losses }, xTitle: "iteration", yTitle: "Σ(y − ŷ)²", yScale: "log" }),
        lineChart({ title: "SGD (per pass)", series: { loss: sgd.losses }, xTitle: "pass", yTitle: "Σ(y − ŷ)²", yScale: "log" })
      ]),
      "theta-path": panels("θ paths", [thetaChart("batch gradient descent", batch, "iteration"), thetaChart("SGD (per pass)", sgd, "pass")])
    }
  }
})
