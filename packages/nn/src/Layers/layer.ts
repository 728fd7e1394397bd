/**
 * What a layer is. A layer is built from its configuration (hyperparameters
 * only, no arrays) and is a pair of pure functions:
 *
 * - `init(key, inputShape)` draws the parameters. `inputShape` is the shape
 *   of ONE example (`[784]`, `[1, 28, 28]`), so a layer infers what it needs
 *   from its input (a `linear` after a `flatten` learns its input size here)
 *   and reports its `outputShape`, which `sequential` hands to the next
 *   layer. It also returns the layer's `state` (running statistics) or
 *   `null`.
 * - `apply(params, x, { key, training, state })` computes the output. It
 *   works on one example or on a batch with leading batch axes: `linear`
 *   takes `[..., in]`, `conv2d` and the pools take `[C, H, W]` or
 *   `[N, C, H, W]`. `flatten` and `batchNorm` need to know where the batch
 *   axis is and assume PyTorch's layout (batch first).
 * - `applyWithState` is `apply` that also returns the updated state. A
 *   stateless layer returns `null`; `batchNorm` returns new running
 *   statistics in training mode.
 *
 * Params are plain records (`{ w, b }`) and tuples, a pytree, so `grad`,
 * optimisers and checkpoints treat them as data; a layer without
 * parameters has `null` params (an empty subtree).
 *
 * The design is Equinox's and Flax's: hyperparameters in the layer, arrays
 * in the params, mutable-looking state threaded explicitly.
 */
import type { DType, NdArray, Random } from "@gradfx/core"
import { LayerError, LayerShapeError, showShape } from "./errors.js"

/** A shape. */
export type Shape = ReadonlyArray<number>

/**
 * Options of `apply`: a PRNG key for stochastic layers, the training flag
 * (default false: evaluation mode, dropout off, batch norm uses its running
 * statistics), and the layer's state.
 *
 * @category layers
 * @since 0.1.0
 */
export interface ApplyOptions<S = unknown> {
  readonly key?: Random.Key
  readonly training?: boolean
  readonly state?: S
}

/** Options of `init`. */
export interface InitOptions {
  /** dtype of the parameters and state (default float32). */
  readonly dtype?: DType
}

/**
 * What `init` returns: parameters, state (or `null`), and the per-example output shape.
 *
 * @category layers
 * @since 0.1.0
 */
export interface Initialized<P, S> {
  readonly params: P
  readonly state: S
  readonly outputShape: Shape
}

/**
 * A layer: `init` and `apply` (see the module docs).
 *
 * @example
 * const layer = Layers.linear({ outDim: 10 })
 * const { params, outputShape } = layer.init(Random.key(0), [784]) // outputShape [10]
 * const y = layer.apply(params, x)                                  // x: [N, 784] → [N, 10]
 * @category layers
 * @since 0.1.0
 */
export interface Layer<P = unknown, S = null> {
  /** The layer's kind ("linear", "conv2d", …), used in error messages. */
  readonly name: string
  readonly init: (key: Random.Key, inputShape?: Shape, options?: InitOptions) => Initialized<P, S>
  readonly apply: (params: P, x: NdArray, options?: ApplyOptions<S>) => NdArray
  readonly applyWithState: (params: P, x: NdArray, options?: ApplyOptions<S>) => readonly [NdArray, S]
}

/** Any layer. */
export type AnyLayer = Layer<any, any>
/** The params type of a layer. */
export type ParamsOf<L> = L extends Layer<infer P, any> ? P : never
/** The state type of a layer. */
export type StateOf<L> = L extends Layer<any, infer S> ? S : never

/** A stateless layer from its init and apply. */
export const stateless = <P>(
  name: string,
  init: (key: Random.Key, inputShape: Shape | undefined, options: InitOptions) => { readonly params: P; readonly outputShape: Shape },
  apply: (params: P, x: NdArray, options: ApplyOptions<null>) => NdArray
): Layer<P, null> => ({
  name,
  init: (key, inputShape, options = {}) => {
    if (inputShape !== undefined) checkShapeValue(name, inputShape)
    const { params, outputShape } = init(key, inputShape, options)
    return { params, state: null, outputShape }
  },
  apply: (params, x, options = {}) => apply(params, x, options),
  applyWithState: (params, x, options = {}) => [apply(params, x, options), null]
})

/** A layer without parameters computing `f(x)`, with `outputShape` for its shape map (default: unchanged). */
export const parameterless = (name: string, f: (x: NdArray, options: ApplyOptions<null>) => NdArray, outputShape: (inputShape: Shape) => Shape = (s) => s): Layer<null, null> =>
  stateless(
    name,
    (_key, inputShape) => {
      if (inputShape === undefined) throw new LayerError({ layer: name, hint: "init needs the input shape (of one example), e.g. layer.init(key, [784])" })
      return { params: null, outputShape: outputShape(inputShape) }
    },
    (_params, x, options) => f(x, options)
  )

/** The input shape must be a list of non-negative integers. */
export const checkShapeValue = (layer: string, shape: Shape): void => {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new LayerShapeError({ layer, expected: "a list of non-negative integers", actual: Array.isArray(shape) ? shape : [], hint: `init got ${JSON.stringify(shape)}` })
  }
}

/** The input shape given to init, or an error naming what the layer needed. */
export const requireShape = (layer: string, inputShape: Shape | undefined, what: string): Shape => {
  if (inputShape === undefined) throw new LayerError({ layer, hint: `init needs the per-example input shape to infer ${what}, e.g. layer.init(key, [1, 28, 28])` })
  return inputShape
}

export { showShape }
