/** Softmax and log-softmax, composed from primitives with the max-shift for stability. */
import { axisOptions, normalizeAxis } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { div, exp, expandReduced, isFinite, log, reduceMax, reduceSum, select, stopGradient, sub } from "../primitives/index.js"
import { promote } from "./coerce.js"

const shifted = (x: NdArray, axis: number): NdArray => {
  const m = stopGradient(reduceMax(x, [axis]))
  const safe = select(isFinite(m), m, 0) // m·0 would be NaN for m = ±∞
  return sub(x, expandReduced(safe, x.shape, [axis]))
}

/**
 * softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along `axis` (default −1). Stable for inputs of any magnitude.
 * @category activations
 * @since 0.1.0
 */
export const softmax = (x: NdArray, opts?: { readonly axis?: number }): NdArray => {
  const options = axisOptions("softmax", opts)
  const [xf] = promote("softmax", [x], "float")
  const axis = normalizeAxis("softmax", options.axis ?? -1, xf.ndim)
  const e = exp(shifted(xf, axis))
  return div(e, expandReduced(reduceSum(e, [axis]), xf.shape, [axis]))
}

/**
 * log softmax(x) = x − logsumexp(x) along `axis` (default −1), without overflow.
 * @category activations
 * @since 0.1.0
 */
export const logSoftmax = (x: NdArray, opts?: { readonly axis?: number }): NdArray => {
  const options = axisOptions("logSoftmax", opts)
  const [xf] = promote("logSoftmax", [x], "float")
  const axis = normalizeAxis("logSoftmax", options.axis ?? -1, xf.ndim)
  const s = shifted(xf, axis)
  return sub(s, expandReduced(log(reduceSum(exp(s), [axis])), xf.shape, [axis]))
}
