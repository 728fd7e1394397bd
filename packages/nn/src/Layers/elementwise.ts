/**
 * Layers without parameters: activations, dropout, flatten, and `fn` for a
 * custom function.
 */
import { NdArray, Random } from "@gradfx/core"
import * as Activation from "../Activation.js"
import { LayerError, LayerShapeError } from "./errors.js"
import { type ApplyOptions, type Layer, parameterless, type Shape } from "./layer.js"

/**
 * A layer computing `f(x)` (no parameters), for anything the library does
 * not name. `outputShape` maps the per-example input shape (default: unchanged).
 *
 * @example
 * const square = Layers.fn("square", NdArray.square)
 * const halve = Layers.fn("halve", (x) => NdArray.mul(x, 0.5))
 * @category layers
 * @since 0.1.0
 */
export const fn = (name: string, f: (x: NdArray, options: ApplyOptions<null>) => NdArray, outputShape?: (inputShape: Shape) => Shape): Layer<null, null> =>
  parameterless(name, f, outputShape)

/**
 * The identity layer (a residual shortcut, a placeholder).
 *
 * @category layers
 * @since 0.1.0
 */
export const identity = (): Layer<null, null> => parameterless("identity", (x) => x)

/** Sigmoid layer (`Activation.sigmoid`). @category layers @since 0.1.0 */
export const sigmoid = (): Layer<null, null> => parameterless("sigmoid", Activation.sigmoid)
/** Tanh layer. @category layers @since 0.1.0 */
export const tanh = (): Layer<null, null> => parameterless("tanh", Activation.tanh)
/**
 * ReLU layer.
 * @example
 * const mlp = Layers.sequential(Layers.linear({ outDim: 100 }), Layers.relu(), Layers.linear({ outDim: 10 }))
 * @category layers
 * @since 0.1.0
 */
export const relu = (): Layer<null, null> => parameterless("relu", Activation.relu)
/** Leaky ReLU layer (default slope 0.01). @category layers @since 0.1.0 */
export const leakyRelu = (config: { readonly slope?: number } = {}): Layer<null, null> => parameterless("leakyRelu", (x) => Activation.leakyRelu(x, config.slope))
/** ELU layer (default α = 1). @category layers @since 0.1.0 */
export const elu = (config: { readonly alpha?: number } = {}): Layer<null, null> => parameterless("elu", (x) => Activation.elu(x, config.alpha))
/** SELU layer. @category layers @since 0.1.0 */
export const selu = (): Layer<null, null> => parameterless("selu", Activation.selu)
/** GELU layer (exact; `approximate: true` for the tanh form). @category layers @since 0.1.0 */
export const gelu = (config: { readonly approximate?: boolean } = {}): Layer<null, null> => parameterless("gelu", (x) => Activation.gelu(x, config))
/** SiLU (swish) layer. @category layers @since 0.1.0 */
export const silu = (): Layer<null, null> => parameterless("silu", Activation.silu)
/** Softplus layer. @category layers @since 0.1.0 */
export const softplus = (): Layer<null, null> => parameterless("softplus", Activation.softplus)
/** Softsign layer. @category layers @since 0.1.0 */
export const softsign = (): Layer<null, null> => parameterless("softsign", Activation.softsign)
/** Hard tanh layer (default range [−1, 1]). @category layers @since 0.1.0 */
export const hardTanh = (config: { readonly min?: number; readonly max?: number } = {}): Layer<null, null> => parameterless("hardTanh", (x) => Activation.hardTanh(x, config))
/** Softmax layer over `axis` (default −1). @category layers @since 0.1.0 */
export const softmax = (config: { readonly axis?: number } = {}): Layer<null, null> => parameterless("softmax", (x) => Activation.softmax(x, config))
/** Log-softmax layer over `axis` (default −1). @category layers @since 0.1.0 */
export const logSoftmax = (config: { readonly axis?: number } = {}): Layer<null, null> => parameterless("logSoftmax", (x) => Activation.logSoftmax(x, config))

/**
 * Flatten every axis after the first `batchDims` (default 1, PyTorch's
 * `nn.Flatten`): `[N, C, H, W]` → `[N, C·H·W]`. The per-example output shape
 * reported by `init` is `[C·H·W]`, which is what the next `linear` reads.
 * For a per-example apply under `vmap` (no batch axis), use
 * `flatten({ batchDims: 0 })`.
 *
 * @example
 * const cnn = Layers.sequential(
 *   Layers.conv2d({ outChannels: 8, kernelSize: 3 }), Layers.relu(), Layers.maxPool2d({ kernelSize: 2 }),
 *   Layers.flatten(), Layers.linear({ outDim: 10 }))
 * cnn.init(key, [1, 28, 28]) // the linear layer gets in = 8·13·13 = 1352
 * @category layers
 * @since 0.1.0
 */
export const flatten = (config: { readonly batchDims?: number } = {}): Layer<null, null> => {
  const batchDims = config.batchDims ?? 1
  if (!Number.isInteger(batchDims) || batchDims < 0) throw new LayerError({ layer: "flatten", hint: `batchDims must be a non-negative integer, got ${batchDims}` })
  return parameterless(
    "flatten",
    (x) => {
      if (x.ndim < batchDims) {
        throw new LayerShapeError({ layer: "flatten", expected: `at least ${batchDims} batch ${batchDims === 1 ? "axis" : "axes"}`, actual: x.shape, hint: "for one example without a batch axis use flatten({ batchDims: 0 })" })
      }
      return NdArray.reshape(x, [...x.shape.slice(0, batchDims), x.shape.slice(batchDims).reduce((a, b) => a * b, 1)])
    },
    (inputShape) => [inputShape.reduce((a, b) => a * b, 1)]
  )
}

/**
 * Dropout (Srivastava et al. 2014, "inverted" as PyTorch): in training mode
 * each element is zeroed with probability `rate` and the survivors are
 * scaled by 1/(1 − rate), so evaluation needs no rescaling; in evaluation
 * mode (the default, `training: false`) it is the identity. Training mode
 * needs a PRNG key: `apply(params, x, { training: true, key })`. The mask
 * is drawn for the whole array it sees, so call it on the batch (under
 * `vmap` every example would share one mask).
 *
 * @example
 * const drop = Layers.dropout({ rate: 0.5 })
 * const y = drop.apply(null, x, { training: true, key: Random.key(1) })
 * @category layers
 * @since 0.1.0
 */
export const dropout = (config: { readonly rate: number }): Layer<null, null> => {
  const rate = config.rate
  if (!(rate >= 0 && rate <= 1)) throw new LayerError({ layer: "dropout", hint: `rate must be in [0, 1], got ${rate}` })
  return parameterless("dropout", (x, options) => {
    if (!options.training || rate === 0) return x
    if (options.key === undefined) throw new LayerError({ layer: "dropout", hint: "training mode needs a PRNG key: apply(params, x, { training: true, key })" })
    if (rate === 1) return NdArray.zerosLike(x)
    const keep = Random.bernoulli(options.key, 1 - rate, x.shape)
    return NdArray.where(keep, NdArray.div(x, 1 - rate), NdArray.zerosLike(x))
  })
}
