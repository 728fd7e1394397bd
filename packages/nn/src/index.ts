/**
 * @gradfx/nn: neural-network building blocks on @gradfx/core. Layers are
 * pairs of pure functions over parameter pytrees (`init`, `apply`);
 * activations, losses and metrics are functions of arrays; optimisers are
 * gradient transformations (`init`, `update`) in the Optax style.
 *
 * @example
 * import { Random, grad } from "@gradfx/core"
 * import { Layers, Loss, Optim } from "@gradfx/nn"
 * const model = Layers.sequential(Layers.flatten(), Layers.linear({ outDim: 100 }), Layers.relu(), Layers.linear({ outDim: 10 }))
 * let { params } = model.init(Random.key(0), [28, 28])
 * const opt = Optim.adam(1e-3)
 * let state = opt.init(params)
 * const loss = (p: typeof params, x: NdArray, y: NdArray) => Loss.softmaxCrossEntropy(model.apply(p, x), y)
 * const [updates, next] = opt.update(grad(loss)(params, images, labels), state, params)
 * params = Optim.applyUpdates(params, updates); state = next
 * @since 0.1.0
 */
export * as Init from "./Init.js"
export * as Activation from "./Activation.js"
export * as Loss from "./Loss.js"
export * as Metrics from "./Metrics.js"
export * as Layers from "./Layers/index.js"
export * as Optim from "./Optim/index.js"
export * as Schedule from "./Optim/schedule.js"
export { LayerError, LayerShapeError } from "./Layers/errors.js"
export type { Layer, ApplyOptions, Initialized } from "./Layers/layer.js"
export { OptimizerError, type GradientTransformation } from "./Optim/base.js"
// Train & checkpoints (owned by the pipeline engineer)
export * as Train from "./Train.js"
export * as Checkpoint from "./Checkpoint.js"
export { CheckpointError, CheckpointMismatch } from "./Checkpoint.js"
export { InvalidConfig, NonFiniteLoss, StepFailed } from "./Train.js"
export type { EpochRecord, TrainResult, TrainConfig } from "./Train.js"
export type { Metadata as CheckpointMetadata } from "./Checkpoint.js"
