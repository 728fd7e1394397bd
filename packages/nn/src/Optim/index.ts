/**
 * Optimisers as gradient transformations (the Optax model): building blocks,
 * `chain`, named optimisers, L-BFGS, and the `minimize` loop. Schedules live
 * in the `Schedule` namespace.
 *
 * @since 0.1.0
 */
export {
  applyUpdates,
  globalNorm,
  type GradientTransformation,
  OptimizerError,
  type Rate,
  type StateOf,
  type UpdateExtra
} from "./base.js"
export type { Schedule } from "./schedule.js"
export { chain } from "./combine.js"
export {
  type AdamOptions,
  addDecayedWeights,
  clip,
  clipByGlobalNorm,
  type CountState,
  identity,
  type RpropOptions,
  scale,
  scaleByAdam,
  type ScaleByAdamState,
  scaleByAdamax,
  type ScaleByAdamaxState,
  scaleByLearningRate,
  scaleByNadam,
  type ScaleByNadamState,
  scaleByRms,
  type ScaleByRmsState,
  scaleByRprop,
  type ScaleByRpropState,
  scaleByRss,
  type ScaleByRssState,
  scaleBySchedule,
  trace,
  type TraceState
} from "./transforms.js"
export { adagrad, adam, type AdamAliasOptions, adamax, adamw, asgd, type AsgdState, nadam, rmsprop, rprop, sgd } from "./alias.js"
export { lbfgs, type LbfgsOptions, type LbfgsState, minimize, type MinimizeResult } from "./lbfgs.js"
