/**
 * The dense layer y = x·W + b, and the embedding lookup.
 */
import { NdArray, Random } from "@gradfx/core"
import * as Init from "../Init.js"
import { LayerError, LayerShapeError } from "./errors.js"
import { type Layer, stateless } from "./layer.js"

/**
 * Parameters of `linear`: W `[in, out]` and b `[out]` (`b` is absent without bias).
 *
 * @category layers
 * @since 0.1.0
 */
export interface LinearParams {
  readonly w: NdArray
  readonly b?: NdArray
}

/** Configuration of `linear`. */
export interface LinearConfig {
  /** Output features. */
  readonly outDim: number
  /** Input features; default: the last axis of the input shape given to `init`. */
  readonly inDim?: number
  /** Default true. */
  readonly useBias?: boolean
  /** Default `Init.heNormal`. */
  readonly weightInit?: Init.Initializer
  /** Default `Init.zeros`. */
  readonly biasInit?: Init.Initializer
}

const positiveInteger = (layer: string, what: string, v: number | undefined): void => {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new LayerError({ layer, hint: `${what} must be a positive integer, got ${v}` })
}

/**
 * A dense (fully connected) layer, y = x·W + b, on `[..., in]` inputs
 * (one example `[in]` or any leading batch axes). The input size comes from
 * `inDim` or from the input shape given to `init`.
 *
 * @example
 * const layer = Layers.linear({ outDim: 10 })
 * const { params } = layer.init(Random.key(0), [784]) // params.w: [784, 10], params.b: [10]
 * const logits = layer.apply(params, images)           // [N, 784] → [N, 10]
 * @category layers
 * @since 0.1.0
 */
export const linear = (config: LinearConfig): Layer<LinearParams, null> => {
  const name = "linear"
  positiveInteger(name, "outDim", config.outDim)
  positiveInteger(name, "inDim", config.inDim)
  const useBias = config.useBias ?? true
  return stateless(
    name,
    (key, inputShape, options) => {
      let inDim = config.inDim
      if (inputShape !== undefined) {
        if (inputShape.length === 0) throw new LayerShapeError({ layer: name, expected: "[..., in]", actual: inputShape, hint: "a scalar input has no feature axis" })
        const last = inputShape[inputShape.length - 1]
        if (inDim !== undefined && inDim !== last) throw new LayerShapeError({ layer: name, expected: `[..., ${inDim}]`, actual: inputShape })
        inDim = last
      }
      if (inDim === undefined) throw new LayerError({ layer: name, hint: "give inDim in the configuration or the input shape to init" })
      const [kw, kb] = Random.split(key, 2)
      const w = (config.weightInit ?? Init.heNormal)(kw, [inDim, config.outDim], options.dtype)
      const params: LinearParams = useBias ? { w, b: (config.biasInit ?? Init.zeros)(kb, [config.outDim], options.dtype) } : { w }
      return { params, outputShape: [...(inputShape ?? [inDim]).slice(0, -1), config.outDim] }
    },
    (params, x) => {
      const inDim = params.w.shape[0]
      if (x.ndim === 0 || x.shape[x.ndim - 1] !== inDim) throw new LayerShapeError({ layer: name, expected: `[..., ${inDim}]`, actual: x.shape })
      const y = NdArray.matmul(x, params.w)
      return params.b === undefined ? y : NdArray.add(y, params.b)
    }
  )
}

/**
 * Parameters of `embedding`: the table `[numEmbeddings, features]`.
 *
 * @category layers
 * @since 0.1.0
 */
export interface EmbeddingParams {
  readonly embeddings: NdArray
}

/**
 * An embedding lookup: integer indices of any shape `[...]` → vectors
 * `[..., features]`, row i of the table for index i. The gradient
 * scatter-adds into the rows that were looked up. Indices must be int32 in
 * [0, numEmbeddings); the input shape given to `init` is the index shape of
 * one example (`[]` for one token, `[L]` for a sequence).
 *
 * @example
 * const emb = Layers.embedding({ numEmbeddings: 1000, features: 16 })
 * const { params } = emb.init(Random.key(0), [12])
 * const vectors = emb.apply(params, tokens) // [N, 12] int32 → [N, 12, 16]
 * @category layers
 * @since 0.1.0
 */
export const embedding = (config: { readonly numEmbeddings: number; readonly features: number; readonly init?: Init.Initializer }): Layer<EmbeddingParams, null> => {
  const name = "embedding"
  positiveInteger(name, "numEmbeddings", config.numEmbeddings)
  positiveInteger(name, "features", config.features)
  return stateless(
    name,
    (key, inputShape, options) => ({
      // PyTorch's nn.Embedding draws N(0, 1)
      params: { embeddings: (config.init ?? Init.normal(1))(key, [config.numEmbeddings, config.features], options.dtype) },
      outputShape: [...(inputShape ?? []), config.features]
    }),
    (params, x) => {
      if (x.dtype !== "int32") throw new LayerError({ layer: name, hint: `indices must be int32, got ${x.dtype} (use NdArray.astype(x, "int32"))` })
      return NdArray.take(params.embeddings, x, { axis: 0 })
    }
  )
}
