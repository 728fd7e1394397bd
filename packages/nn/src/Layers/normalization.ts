/**
 * Normalisation layers. `batchNorm` is the library's stateful layer: its
 * running statistics are a separate state tree, passed in through
 * `apply`'s options and returned, updated, by `applyWithState`.
 */
import { type DType, NdArray } from "@gradfx/core"
import { LayerError, LayerShapeError } from "./errors.js"
import { type ApplyOptions, type Layer, requireShape, type Shape, checkShapeValue } from "./layer.js"

/**
 * Learnable affine parameters of a normalisation layer: y = x̂·scale + offset
 * (absent with `affine: false`).
 *
 * @category layers
 * @since 0.1.0
 */
export interface NormParams {
  readonly scale?: NdArray
  readonly offset?: NdArray
}

/**
 * Running statistics of `batchNorm`, one value per feature.
 *
 * @category layers
 * @since 0.1.0
 */
export interface BatchNormState {
  readonly mean: NdArray
  readonly variance: NdArray
}

/** Configuration of `batchNorm`. */
export interface BatchNormConfig {
  /** The feature (channel) axis of the batched input; default 1 (`[N, C, ...]`, PyTorch's layout). */
  readonly axis?: number
  /** Weight of the new batch in the running averages; default 0.1 (PyTorch's convention). */
  readonly momentum?: number
  /** Default 1e-5. */
  readonly eps?: number
  /** Learn scale and offset (default true). */
  readonly affine?: boolean
}

const inRange = (layer: string, what: string, v: number, min: number, max: number): void => {
  if (!(v >= min && v <= max)) throw new LayerError({ layer, hint: `${what} must be in [${min}, ${max}], got ${v}` })
}

/** Shape [1, …, C, …, 1] that broadcasts a per-feature vector along `axis` of an ndim-array. */
const alongAxis = (v: NdArray, axis: number, ndim: number): NdArray => NdArray.reshape(v, Array.from({ length: ndim }, (_, i) => (i === axis ? v.size : 1)))

const affine = (params: NormParams, xHat: NdArray, shape: (v: NdArray) => NdArray): NdArray => {
  let y = xHat
  if (params.scale !== undefined) y = NdArray.mul(y, shape(params.scale))
  if (params.offset !== undefined) y = NdArray.add(y, shape(params.offset))
  return y
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015), as PyTorch's `BatchNorm1d/2d`:
 * per feature (axis 1 of `[N, C]` or `[N, C, H, W]`),
 * y = (x − μ)/√(σ² + ε)·scale + offset. In training mode μ, σ² are the
 * batch statistics over every other axis (σ² biased) and `applyWithState`
 * returns running averages updated as r ← (1 − m)·r + m·batch (the variance
 * with the unbiased estimate); in evaluation mode (the default) the running
 * statistics from `state` are used. The input shape given to `init` is one
 * example's (`[C]` or `[C, H, W]`); the state starts at mean 0, variance 1.
 *
 * @example
 * const bn = Layers.batchNorm()
 * const { params, state } = bn.init(key, [16, 14, 14])
 * const [y, newState] = bn.applyWithState(params, x, { training: true, state }) // training step
 * const yEval = bn.apply(params, x, { state: newState })                        // evaluation
 * @category layers
 * @since 0.1.0
 */
export const batchNorm = (config: BatchNormConfig = {}): Layer<NormParams, BatchNormState> => {
  const name = "batchNorm"
  const axisOption = config.axis ?? 1
  const momentum = config.momentum ?? 0.1
  const eps = config.eps ?? 1e-5
  inRange(name, "momentum", momentum, 0, 1)
  inRange(name, "eps", eps, 0, Infinity)
  if (!Number.isInteger(axisOption) || axisOption === 0) throw new LayerError({ layer: name, hint: `axis is the feature axis of the batched input (not 0, the batch axis), got ${axisOption}` })
  const useAffine = config.affine ?? true
  const expected = (features: number | string, ndim?: number) =>
    axisOption === 1 ? `[N, ${features}, ...]` : `[N, ...] with ${features} features on axis ${axisOption}${ndim === undefined ? "" : ` (of ${ndim})`}`
  const featureAxis = (x: NdArray, features: number): number => {
    const axis = axisOption < 0 ? axisOption + x.ndim : axisOption
    if (x.ndim < 2 || axis < 1 || axis >= x.ndim || x.shape[axis] !== features) {
      throw new LayerShapeError({ layer: name, expected: expected(features), actual: x.shape, hint: x.ndim < 2 ? "batch norm needs a batch axis first" : undefined })
    }
    return axis
  }
  /** The output, and the updated state when `withState` (null otherwise). */
  const run = (params: NormParams, x: NdArray, options: ApplyOptions<BatchNormState>, withState: boolean): readonly [NdArray, BatchNormState | null] => {
    const state = options.state
    const features = params.scale?.size ?? state?.mean.size
    if (features === undefined) throw new LayerError({ layer: name, hint: "without affine parameters, pass the state (from init) so the layer knows its features" })
    const axis = featureAxis(x, features)
    const shape = (v: NdArray) => alongAxis(v, axis, x.ndim)
    if (!options.training) {
      if (state === undefined) throw new LayerError({ layer: name, hint: "evaluation mode uses the running statistics: pass { state } (or { training: true })" })
      const xHat = NdArray.div(NdArray.sub(x, shape(state.mean)), NdArray.sqrt(NdArray.add(shape(state.variance), eps)))
      return [affine(params, xHat, shape), state]
    }
    const others = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== axis)
    const count = others.reduce((n, i) => n * x.shape[i], 1)
    const mean = NdArray.mean(x, { axis: others, keepDims: true })
    const centred = NdArray.sub(x, mean)
    const variance = NdArray.mean(NdArray.square(centred), { axis: others, keepDims: true })
    const xHat = NdArray.div(centred, NdArray.sqrt(NdArray.add(variance, eps)))
    const y = affine(params, xHat, shape)
    if (!withState) return [y, null]
    if (state === undefined) throw new LayerError({ layer: name, hint: "applyWithState in training mode updates the running statistics: pass { state } (from init)" })
    const batchMean = NdArray.stopGradient(NdArray.reshape(mean, [features]))
    const unbiased = NdArray.stopGradient(NdArray.mul(NdArray.reshape(variance, [features]), count > 1 ? count / (count - 1) : 1))
    const next: BatchNormState = {
      mean: NdArray.astype(NdArray.add(NdArray.mul(state.mean, 1 - momentum), NdArray.mul(batchMean, momentum)), state.mean.dtype),
      variance: NdArray.astype(NdArray.add(NdArray.mul(state.variance, 1 - momentum), NdArray.mul(unbiased, momentum)), state.variance.dtype)
    }
    return [y, next]
  }
  return {
    name,
    init: (_key, inputShape, options = {}) => {
      const shape = requireShape(name, inputShape, "the number of features")
      checkShapeValue(name, shape)
      const batched = [0, ...shape]
      const axis = axisOption < 0 ? axisOption + batched.length : axisOption
      if (axis < 1 || axis >= batched.length) throw new LayerShapeError({ layer: name, expected: expected("C", batched.length), actual: shape, hint: "init takes the shape of one example (no batch axis)" })
      const features = batched[axis]
      const dtype: DType = options.dtype ?? "float32"
      const params: NormParams = useAffine ? { scale: NdArray.ones([features], { dtype }), offset: NdArray.zeros([features], { dtype }) } : {}
      return { params, state: { mean: NdArray.zeros([features], { dtype }), variance: NdArray.ones([features], { dtype }) }, outputShape: shape }
    },
    apply: (params, x, options = {}) => run(params, x, options, false)[0],
    applyWithState: (params, x, options = {}) => run(params, x, options, true) as readonly [NdArray, BatchNormState]
  }
}

/**
 * Layer normalisation (Ba et al. 2016): each example is normalised over its
 * last `axes` axes (default 1, the features),
 * y = (x − mean)/√(var + ε)·scale + offset, with scale and offset shaped like
 * those axes. No state; the same in training and evaluation.
 *
 * @example
 * const ln = Layers.layerNorm()
 * const { params } = ln.init(key, [64]) // scale, offset: [64]
 * const y = ln.apply(params, x)          // [N, 64] → [N, 64]
 * @category layers
 * @since 0.1.0
 */
export const layerNorm = (config: { readonly axes?: number; readonly eps?: number; readonly affine?: boolean } = {}): Layer<NormParams, null> => {
  const name = "layerNorm"
  const k = config.axes ?? 1
  const eps = config.eps ?? 1e-5
  inRange(name, "eps", eps, 0, Infinity)
  if (!Number.isInteger(k) || k < 1) throw new LayerError({ layer: name, hint: `axes (how many trailing axes to normalise) must be a positive integer, got ${k}` })
  const useAffine = config.affine ?? true
  const apply = (params: NormParams, x: NdArray, normalized?: Shape): NdArray => {
    const tail = normalized ?? params.scale?.shape
    if (x.ndim < k || (tail !== undefined && x.shape.slice(-k).some((d, i) => d !== tail[i]))) {
      throw new LayerShapeError({ layer: name, expected: tail === undefined ? `at least ${k} axes` : `[..., ${tail.join(", ")}]`, actual: x.shape })
    }
    const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i)
    const mean = NdArray.mean(x, { axis: axes, keepDims: true })
    const centred = NdArray.sub(x, mean)
    const variance = NdArray.mean(NdArray.square(centred), { axis: axes, keepDims: true })
    return affine(params, NdArray.div(centred, NdArray.sqrt(NdArray.add(variance, eps))), (v) => v)
  }
  return {
    name,
    init: (_key, inputShape, options = {}) => {
      const shape = requireShape(name, inputShape, "the normalised shape")
      checkShapeValue(name, shape)
      if (shape.length < k) throw new LayerShapeError({ layer: name, expected: `at least ${k} axes`, actual: shape })
      const tail = shape.slice(-k)
      const dtype: DType = options.dtype ?? "float32"
      return { params: useAffine ? { scale: NdArray.ones(tail, { dtype }), offset: NdArray.zeros(tail, { dtype }) } : {}, state: null, outputShape: shape }
    },
    apply: (params, x) => apply(params, x),
    applyWithState: (params, x) => [apply(params, x), null]
  }
}
