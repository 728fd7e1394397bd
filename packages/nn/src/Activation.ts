/**
 * Activation functions, composed from core operations so that they run under
 * every transform (`grad`, `vmap`, second derivatives). Each one is written
 * so that neither its value nor its derivative overflows: inputs of ±1000
 * give finite values and finite gradients in float32 and float64. The trick
 * in each case is to evaluate an exponential only where its argument is ≤ 0
 * (`elu` evaluates expm1 on the non-positive part of x, `softplus` splits at 0), because a `where`
 * sends a zero cotangent into its unused branch and 0 · ∞ would be NaN.
 *
 * Functions with options are `dual`: `Activation.leakyRelu(x, 0.2)` or
 * `pipe(x, Activation.leakyRelu(0.2))`.
 *
 * @since 0.1.0
 */
import { NdArray } from "@gradfx/core"
import { dual } from "effect/Function"

type Unary = (x: NdArray) => NdArray

const isArray = (args: IArguments): boolean => NdArray.isNdArray(args[0])

/**
 * x where x > 0, else 0 (and its complement): the safe arguments of the two
 * branches of a `where`, so neither branch overflows and x = 0 belongs
 * wholly to one branch (min/max would split its derivative in halves).
 */
const positivePart = (x: NdArray, positive: NdArray): NdArray => NdArray.where(positive, x, NdArray.zerosLike(x))
const nonPositivePart = (x: NdArray, positive: NdArray): NdArray => NdArray.where(positive, NdArray.zerosLike(x), x)

/**
 * The logistic sigmoid σ(x) = 1/(1 + e⁻ˣ); exactly 0/1 in the far tails, never NaN.
 *
 * @example
 * Activation.sigmoid(NdArray.array([-1000, 0, 1000])) // [0, 0.5, 1]
 * @category activations
 * @since 0.1.0
 */
export const sigmoid: Unary = (x) => NdArray.sigmoid(x)

/**
 * Hyperbolic tangent; d tanh = 1 − tanh², finite everywhere.
 *
 * @category activations
 * @since 0.1.0
 */
export const tanh: Unary = (x) => NdArray.tanh(x)

/**
 * Rectified linear unit max(x, 0), as JAX and PyTorch define it: +0 for
 * x ≤ 0 (−∞ included), NaN for NaN, derivative 0 at 0. Computed as
 * `where(x > 0 or x is NaN, x, 0)` — a select, so the backward pass passes
 * the cotangent through the same mask (no `maximum`, whose tangent would be
 * shared at the tie x = 0).
 *
 * @example
 * Activation.relu(NdArray.array([-2, 0, 3])) // [0, 0, 3]
 * @category activations
 * @since 0.1.0
 */
export const relu: Unary = (x) => NdArray.where(NdArray.logicalOr(NdArray.greater(x, 0), NdArray.isNan(x)), x, 0)

/**
 * Leaky ReLU: x for x > 0, `slope`·x otherwise (default slope 0.01, PyTorch's).
 *
 * @example
 * Activation.leakyRelu(NdArray.array([-10, 5]), 0.1) // [-1, 5]
 * @category activations
 * @since 0.1.0
 */
export const leakyRelu: {
  (slope?: number): (x: NdArray) => NdArray
  (x: NdArray, slope?: number): NdArray
} = dual(isArray, (x: NdArray, slope = 0.01): NdArray => NdArray.where(NdArray.greater(x, 0), x, NdArray.mul(x, slope)))

/**
 * Exponential linear unit (Clevert et al. 2015): x for x > 0,
 * α(eˣ − 1) otherwise (default α = 1). The exponential only sees min(x, 0).
 *
 * @example
 * Activation.elu(NdArray.array([-1000, 2])) // [-1, 2]
 * @category activations
 * @since 0.1.0
 */
export const elu: {
  (alpha?: number): (x: NdArray) => NdArray
  (x: NdArray, alpha?: number): NdArray
} = dual(isArray, (x: NdArray, alpha = 1): NdArray => {
  const positive = NdArray.greater(x, 0)
  return NdArray.where(positive, x, NdArray.mul(NdArray.expm1(nonPositivePart(x, positive)), alpha))
})

/** SELU's α, from Klambauer et al. 2017 (self-normalising networks). */
export const SELU_ALPHA = 1.6732632423543772848170429916717
/** SELU's λ (scale), from Klambauer et al. 2017. */
export const SELU_SCALE = 1.0507009873554804934193349852946

/**
 * Scaled ELU (Klambauer et al. 2017): λ·elu(x, α) with the paper's
 * α ≈ 1.6733 and λ ≈ 1.0507. Pair it with `Init.lecunNormal`.
 *
 * @category activations
 * @since 0.1.0
 */
export const selu: Unary = (x) => NdArray.mul(elu(x, SELU_ALPHA), SELU_SCALE)

/**
 * Gaussian error linear unit (Hendrycks & Gimpel 2016): x·Φ(x) =
 * ½x(1 + erf(x/√2)) (exact, the default, as PyTorch), or with
 * `{ approximate: true }` the tanh form ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 *
 * @example
 * Activation.gelu(x)                           // exact
 * Activation.gelu(x, { approximate: true })    // tanh approximation
 * @category activations
 * @since 0.1.0
 */
export const gelu: {
  (options?: { readonly approximate?: boolean }): (x: NdArray) => NdArray
  (x: NdArray, options?: { readonly approximate?: boolean }): NdArray
} = dual(isArray, (x: NdArray, options: { readonly approximate?: boolean } = {}): NdArray => {
  if (options.approximate) {
    const inner = NdArray.mul(NdArray.add(x, NdArray.mul(NdArray.mul(NdArray.square(x), x), 0.044715)), Math.sqrt(2 / Math.PI))
    return NdArray.mul(NdArray.mul(x, 0.5), NdArray.add(NdArray.tanh(inner), 1))
  }
  return NdArray.mul(NdArray.mul(x, 0.5), NdArray.add(NdArray.erf(NdArray.mul(x, Math.SQRT1_2)), 1))
})

/**
 * Sigmoid linear unit (swish): x·σ(x).
 *
 * @category activations
 * @since 0.1.0
 */
export const silu: Unary = (x) => NdArray.mul(x, NdArray.sigmoid(x))

/**
 * softplus(x) = log(1 + eˣ), computed as x + log1p(e⁻ˣ) for x > 0 and
 * log1p(eˣ) otherwise: exact for large |x| (softplus(1000) = 1000,
 * softplus(−1000) = 0), no overflow. (The one-line form
 * max(x, 0) + log1p(e^(−|x|)) has the right value but a wrong second
 * derivative at 0, where max and |x| have kinks.)
 *
 * @example
 * Activation.softplus(NdArray.array([-1000, 0, 1000])) // [0, 0.6931, 1000]
 * @category activations
 * @since 0.1.0
 */
export const softplus: Unary = (x) => {
  const positive = NdArray.greater(x, 0)
  const xPos = positivePart(x, positive)
  return NdArray.where(positive, NdArray.add(xPos, NdArray.log1p(NdArray.exp(NdArray.neg(xPos)))), NdArray.log1p(NdArray.exp(nonPositivePart(x, positive))))
}

/**
 * log σ(x) = −softplus(−x), stable in both tails.
 *
 * @category activations
 * @since 0.1.0
 */
export const logSigmoid: Unary = (x) => NdArray.neg(softplus(NdArray.neg(x)))

/**
 * softsign(x) = x/(1 + |x|).
 *
 * @category activations
 * @since 0.1.0
 */
export const softsign: Unary = (x) => NdArray.div(x, NdArray.add(NdArray.abs(x), 1))

/**
 * Hard tanh: x clipped to [min, max] (default [−1, 1]); derivative 1 inside, 0 outside.
 *
 * @example
 * Activation.hardTanh(NdArray.array([-3, 0.5, 3])) // [-1, 0.5, 1]
 * @category activations
 * @since 0.1.0
 */
export const hardTanh: {
  (options?: { readonly min?: number; readonly max?: number }): (x: NdArray) => NdArray
  (x: NdArray, options?: { readonly min?: number; readonly max?: number }): NdArray
} = dual(isArray, (x: NdArray, options: { readonly min?: number; readonly max?: number } = {}): NdArray => NdArray.clip(x, options.min ?? -1, options.max ?? 1))

/**
 * softmax(x)ᵢ = e^(xᵢ)/Σⱼ e^(xⱼ) along `axis` (default −1), with the
 * maximum subtracted first: rows sum to 1 for any finite input.
 *
 * @example
 * Activation.softmax(NdArray.array([[1000, 0], [0, 0]])) // [[1, 0], [0.5, 0.5]]
 * @category activations
 * @since 0.1.0
 */
export const softmax: {
  (options?: { readonly axis?: number }): (x: NdArray) => NdArray
  (x: NdArray, options?: { readonly axis?: number }): NdArray
} = dual(isArray, (x: NdArray, options: { readonly axis?: number } = {}): NdArray => NdArray.softmax(x, options))

/**
 * log softmax(x) = x − logsumexp(x) along `axis` (default −1); finite for
 * finite inputs (−2000 rather than log 0 = −∞).
 *
 * @example
 * Activation.logSoftmax(NdArray.array([1000, -1000])) // [0, -2000]
 * @category activations
 * @since 0.1.0
 */
export const logSoftmax: {
  (options?: { readonly axis?: number }): (x: NdArray) => NdArray
  (x: NdArray, options?: { readonly axis?: number }): NdArray
} = dual(isArray, (x: NdArray, options: { readonly axis?: number } = {}): NdArray => NdArray.logSoftmax(x, options))
