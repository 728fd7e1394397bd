/**
 * Numerical gradients by central differences (note 003, "梯度的计算"):
 * ∂f/∂xᵢ ≈ (f(x + h eᵢ) − f(x − h eᵢ)) / 2h with h = 1e-4, side by side with
 * `grad` (exact, reverse mode) and `checkGrads` (JVPs and VJPs against
 * central differences along random directions), on
 *  - f(x) = x₀² + x₁² at (5, 6), whose gradient is (10, 12);
 *  - the lesson's `simpleNet`: z = x·W (W 2×3), softmax, cross-entropy with
 *    the lesson's 1e-7 guard, for x = (0.6, 0.9), t = (0, 0, 1);
 * and the field −∇f on a grid over [−2, 2]² as a quiver plot.
 *
 * @since 0.1.0
 */
import { checkGrads, grad, NdArray, vmap } from "@gradfx/core"
import { Effect } from "effect"
import { quiver } from "../plot.js"
import { numbers, show, showMatrix } from "../runtime.js"

const f64 = { dtype: "float64" } as const

/**
 * The lesson's `numerical_gradient`: central differences, one element at a
 * time, for a scalar function of an array of any shape.
 *
 * @since 0.1.0
 */
export const numericalGradient = (f: (x: NdArray) => NdArray, x: NdArray, h = 1e-4): NdArray => {
  const values = Float64Array.from(x.data() as ArrayLike<number>)
  const out = new Float64Array(values.length)
  const at = (v: Float64Array) => f(NdArray.array(v, { shape: x.shape, dtype: "float64" })).item()
  for (let i = 0; i < values.length; i++) {
    const saved = values[i]
    values[i] = saved + h
    const fPlus = at(values)
    values[i] = saved - h
    const fMinus = at(values)
    values[i] = saved
    out[i] = (fPlus - fMinus) / (2 * h)
  }
  return NdArray.array(out, { shape: x.shape, dtype: "float64" })
}

/** `function_2`: x₀² + x₁² (the sum of squares of any array). */
export const function2 = (x: NdArray): NdArray => NdArray.sum(NdArray.square(x))

/** The lesson's W (printed after `np.random.randn(2, 3)`), fixed here so the figures reproduce. */
export const simpleNetW = NdArray.array([[-0.05811371, 0.41911804, 1.63684316], [0.13589681, 0.10144801, -2.26828293]], f64)
export const simpleNetX = NdArray.array([0.6, 0.9], f64)
export const simpleNetT = NdArray.array([0, 0, 1], f64)

/** `simpleNet.predict`: x·W. */
export const predict = (w: NdArray, x: NdArray): NdArray => NdArray.matmul(x, w)

/** `cross_entropy_error`: −Σ t log(y + 1e-7) (the 1e-7 guards log 0, as in the lesson). */
export const crossEntropyError = (y: NdArray, t: NdArray): NdArray => NdArray.neg(NdArray.sum(NdArray.mul(t, NdArray.log(NdArray.add(y, 1e-7)))))

/** `simpleNet.loss`: cross-entropy of softmax(x·W) against t. */
export const simpleNetLoss = (w: NdArray, x: NdArray = simpleNetX, t: NdArray = simpleNetT): NdArray =>
  crossEntropyError(NdArray.softmax(predict(w, x)), t)

/** The grid of the quiver plot: `np.arange(-2, 2.5, step)` in both axes, flattened as by meshgrid. */
export const grid = (step: number): { readonly x0: Array<number>; readonly x1: Array<number> } => {
  const axis = numbers(NdArray.arange(-2, 2.5, step, f64))
  return { x0: axis.flatMap(() => axis), x1: axis.flatMap((b) => axis.map(() => b)) }
}

export interface NumericalGradientConfig {
  /** Spacing of the quiver grid (the lesson's 0.25: 18 × 18 arrows). */
  readonly gridStep: number
}

export const fullConfig: NumericalGradientConfig = { gridStep: 0.25 }

/**
 * Compute everything the lesson prints, plus `grad` and `checkGrads`.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("numerical-gradient/run")(function* (config: NumericalGradientConfig = fullConfig) {
  // f(x) = x₀² + x₁² at (5, 6)
  const point = NdArray.array([5, 6], f64)
  const numericalAtPoint = numericalGradient(function2, point)
  const exactAtPoint = grad(function2)(point)
  yield* Effect.log(`numerical_gradient(function_2, [5, 6]) = ${show(numbers(numericalAtPoint))}`)
  yield* Effect.log(`grad(function_2)([5, 6])              = ${show(numbers(exactAtPoint))}`)
  checkGrads(function2, [point], { order: 2 })
  yield* Effect.log("checkGrads(function_2, [[5, 6]], { order: 2 }): ok")

  // simpleNet
  const p = predict(simpleNetW, simpleNetX)
  const label = NdArray.argmax(p).item()
  const loss = simpleNetLoss(simpleNetW).item()
  yield* Effect.log(`simpleNet W =\n${showMatrix(simpleNetW)}`)
  yield* Effect.log(`p = x·W = ${show(numbers(p))}, argmax = ${label}, loss = ${loss}`)
  const dWNumerical = numericalGradient((w) => simpleNetLoss(w), simpleNetW)
  const dWGrad = grad((w: NdArray) => simpleNetLoss(w))(simpleNetW)
  yield* Effect.log(`numerical dW =\n${showMatrix(dWNumerical)}`)
  yield* Effect.log(`grad dW =\n${showMatrix(dWGrad)}`)
  const simpleNetDifference = NdArray.max(NdArray.abs(NdArray.sub(dWNumerical, dWGrad))).item()
  yield* Effect.log(`max |numerical − grad| = ${simpleNetDifference.toExponential(2)}`)
  checkGrads((w: NdArray) => simpleNetLoss(w), [simpleNetW], { order: 2 })
  yield* Effect.log("checkGrads(simpleNet.loss, [W], { order: 2 }): ok")

  // the field −∇f on the grid, numerically (as the lesson) and with vmap(grad)
  const { x0, x1 } = grid(config.gridStep)
  const points = NdArray.array(new Float64Array(x0.flatMap((a, i) => [a, x1[i]])), { shape: [x0.length, 2], dtype: "float64" })
  const fieldGrad = numbers(vmap(grad(function2))(points))
  const fieldNumerical = x0.flatMap((a, i) => numbers(numericalGradient(function2, NdArray.array([a, x1[i]], f64))))
  const fieldDifference = Math.max(...fieldGrad.map((g, i) => Math.abs(g - fieldNumerical[i])))
  yield* Effect.log(`gradient field on ${x0.length} grid points: max |numerical − vmap(grad)| = ${fieldDifference.toExponential(2)}`)
  const arrows = x0.map((x, i) => ({ x, y: x1[i], u: -fieldNumerical[2 * i], v: -fieldNumerical[2 * i + 1] }))

  return {
    numericalAtPoint,
    exactAtPoint,
    p,
    label,
    loss,
    dWNumerical,
    dWGrad,
    simpleNetDifference,
    fieldGrad,
    fieldNumerical,
    fieldDifference,
    figures: {
      "gradient-field": quiver({ title: "−∇(x0² + x1²)", arrows, maxLength: config.gridStep * 0.9, domain: [-2.25, 2.25] })
    }
  }
})
