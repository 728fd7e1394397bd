/**
 * Layers: configuration in, a pair of pure functions out (`init`, `apply`).
 * See `layer.ts` for the contract.
 *
 * @since 0.1.0
 */
export type { AnyLayer, ApplyOptions, Initialized, InitOptions, Layer, ParamsOf, Shape, StateOf } from "./layer.js"
export { LayerError, LayerShapeError } from "./errors.js"
export { embedding, type EmbeddingParams, linear, type LinearConfig, type LinearParams } from "./linear.js"
export { avgPool2d, conv2d, type Conv2dConfig, type Conv2dParams, maxPool2d, type Padding, type PoolConfig } from "./conv.js"
export {
  dropout,
  elu,
  flatten,
  fn,
  gelu,
  hardTanh,
  identity,
  leakyRelu,
  logSoftmax,
  relu,
  selu,
  sigmoid,
  silu,
  softmax,
  softplus,
  softsign,
  tanh
} from "./elementwise.js"
export { batchNorm, type BatchNormConfig, type BatchNormState, layerNorm, type NormParams } from "./normalization.js"
export { residual, type ResidualParams, sequential, type SequentialParams, type SequentialState } from "./combinators.js"
