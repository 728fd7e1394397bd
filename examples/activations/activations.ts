/**
 * Activation functions and their derivatives (notes 002 "激活函数" and 004):
 * sigmoid, tanh, ReLU, leaky ReLU, ELU and the S-shaped family of the
 * lesson's chart — softsign x/(1+|x|), x/√(1+x²), (2/π)·arctan(πx/2),
 * erf(√π·x/2) and the Gudermannian (2/π)·gd(πx/2) — each written once as a
 * scalar function; the derivative curves come from `vmap(grad(f))`, never by
 * hand. Note 004's Jacobians follow: `jacfwd` of an elementwise activation
 * is diagonal, and softmax's is diag(s) − s sᵀ.
 *
 * @since 0.1.0
 */
import { grad, jacfwd, NdArray, vmap } from "@gradfx/core"
import { Effect } from "effect"
import { lineChart, panels } from "../plot.js"
import { numbers } from "../runtime.js"

type Activation = (x: NdArray) => NdArray

const halfPi = Math.PI / 2

/** The activations, by the name used in the plots. Each maps an array elementwise. */
export const activations: Readonly<Record<string, Activation>> = {
  sigmoid: (x) => NdArray.sigmoid(x),
  tanh: (x) => NdArray.tanh(x),
  // relu′(0) = 0 as in PyTorch and jax.nn.relu (`maximum(x, 0)` would split the tie: 0.5)
  relu: (x) => NdArray.where(NdArray.greater(x, 0), x, 0),
  "leaky relu (α = 0.01)": (x) => NdArray.where(NdArray.greater(x, 0), x, NdArray.mul(0.01, x)),
  // the inner `where` keeps expm1 away from large x (no inf·0 in the gradient) without a tie at 0
  "elu (α = 1)": (x) => {
    const positive = NdArray.greater(x, 0)
    return NdArray.where(positive, x, NdArray.expm1(NdArray.where(positive, 0, x)))
  },
  "softsign x/(1+|x|)": (x) => NdArray.div(x, NdArray.add(1, NdArray.abs(x))),
  "x/√(1+x²)": (x) => NdArray.div(x, NdArray.sqrt(NdArray.add(1, NdArray.square(x)))),
  "(2/π)·arctan(πx/2)": (x) => NdArray.mul(1 / halfPi, NdArray.atan(NdArray.mul(halfPi, x))),
  "erf(√π·x/2)": (x) => NdArray.erf(NdArray.mul(Math.sqrt(Math.PI) / 2, x)),
  // gd(u) = 2·arctan(tanh(u/2))
  "(2/π)·gd(πx/2)": (x) => NdArray.mul(2 / halfPi, NdArray.atan(NdArray.tanh(NdArray.mul(halfPi / 2, x))))
}

/** The derivative of a scalar activation at every point of `x`: `vmap(grad(f))`. */
export const derivative = (f: Activation) => vmap(grad((x: NdArray) => f(x)))

/** The analytic derivatives, for checking `grad` (not used to draw anything). */
export const analyticDerivatives: Readonly<Record<string, (x: number) => number>> = {
  sigmoid: (x) => {
    const s = 1 / (1 + Math.exp(-x))
    return s * (1 - s)
  },
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  relu: (x) => (x > 0 ? 1 : 0),
  "leaky relu (α = 0.01)": (x) => (x > 0 ? 1 : 0.01),
  "elu (α = 1)": (x) => (x > 0 ? 1 : Math.exp(x)),
  "softsign x/(1+|x|)": (x) => 1 / (1 + Math.abs(x)) ** 2,
  "x/√(1+x²)": (x) => (1 + x * x) ** -1.5,
  "(2/π)·arctan(πx/2)": (x) => 1 / (1 + (halfPi * x) ** 2),
  "erf(√π·x/2)": (x) => Math.exp((-Math.PI * x * x) / 4),
  "(2/π)·gd(πx/2)": (x) => 1 / Math.cosh(halfPi * x)
}

export interface ActivationsConfig {
  /** Number of points on [−range, range]. */
  readonly points: number
  readonly range: number
}

export const fullConfig: ActivationsConfig = { points: 201, range: 5 }

/**
 * Evaluate every activation and its `vmap(grad)` derivative on a grid, log
 * the values at 0 and the largest deviation from the analytic derivative,
 * and check note 004's Jacobians.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("activations/run")(function* (config: ActivationsConfig = fullConfig) {
  const x = NdArray.linspace(-config.range, config.range, config.points, { dtype: "float64" })
  const xs = numbers(x)
  const values: Record<string, Array<number>> = {}
  const derivatives: Record<string, Array<number>> = {}
  const maxError: Record<string, number> = {}
  for (const [name, f] of Object.entries(activations)) {
    values[name] = numbers(f(x))
    derivatives[name] = numbers(derivative(f)(x))
    maxError[name] = Math.max(...xs.map((v, i) => Math.abs(derivatives[name][i] - analyticDerivatives[name](v))))
    const at0 = grad((v: NdArray) => f(v))(NdArray.scalar(0, { dtype: "float64" })).item()
    yield* Effect.log(`${name.padEnd(22)} f(1) = ${f(NdArray.scalar(1, { dtype: "float64" })).item().toFixed(6)}  f'(0) = ${at0.toFixed(6)}  max |grad − analytic| = ${maxError[name].toExponential(1)}`)
  }

  // Note 004: the Jacobian of an elementwise activation is diagonal; softmax's is diag(s) − s sᵀ.
  const z = NdArray.array([0.3, -1.2, 2.0, 0.7], { dtype: "float64" })
  const jSigmoid = jacfwd(activations.sigmoid)(z) as NdArray
  const diagonal = numbers(NdArray.mul(jSigmoid, NdArray.eye(4, { dtype: "float64" })))
  const offDiagonal = Math.max(...numbers(NdArray.abs(NdArray.sub(jSigmoid, NdArray.mul(jSigmoid, NdArray.eye(4, { dtype: "float64" }))))))
  const s = NdArray.softmax(z)
  const jSoftmax = jacfwd((v: NdArray) => NdArray.softmax(v))(z) as NdArray
  const softmaxFormula = NdArray.sub(NdArray.mul(NdArray.eye(4, { dtype: "float64" }), s), NdArray.outer(s, s))
  const softmaxJacobianError = NdArray.max(NdArray.abs(NdArray.sub(jSoftmax, softmaxFormula))).item()
  yield* Effect.log(`jacfwd(sigmoid) is diagonal: max |off-diagonal| = ${offDiagonal}; diag = σ(1−σ): ${diagonal.filter((_, i) => i % 5 === 0).map((v) => v.toFixed(6)).join(", ")}`)
  yield* Effect.log(`jacfwd(softmax) vs diag(s) − s sᵀ: max |difference| = ${softmaxJacobianError.toExponential(1)}`)

  const curves = (table: Record<string, Array<number>>, names: ReadonlyArray<string>) =>
    Object.fromEntries(names.map((n) => [n, xs.map((v, i) => [v, table[n][i]] as const)]))
  const rectifiers = ["relu", "leaky relu (α = 0.01)", "elu (α = 1)"]
  const sShaped = Object.keys(activations).filter((n) => !rectifiers.includes(n))
  return {
    x: xs,
    values,
    derivatives,
    maxError,
    offDiagonal,
    softmaxJacobianError,
    figures: {
      "s-shaped": panels("S-shaped activations and their derivatives (vmap(grad))", [
        lineChart({ title: "f(x)", series: curves(values, sShaped) }),
        lineChart({ title: "f′(x)", series: curves(derivatives, sShaped) })
      ]),
      rectifiers: panels("Rectifiers and their derivatives (vmap(grad))", [
        lineChart({ title: "f(x)", series: curves(values, rectifiers) }),
        lineChart({ title: "f′(x)", series: curves(derivatives, rectifiers) })
      ])
    }
  }
})
