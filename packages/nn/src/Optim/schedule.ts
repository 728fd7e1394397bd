/**
 * Learning-rate schedules: functions from the step count (the number of
 * updates already applied, 0 for the first) to a rate. Every optimiser
 * takes a schedule wherever it takes a learning rate.
 *
 * @since 0.1.0
 */
import { OptimizerError } from "./base.js"

/**
 * A schedule: step count → value.
 *
 * @category schedules
 * @since 0.1.0
 */
export type Schedule = (step: number) => number

const finite = (schedule: string, what: string, v: number): void => {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new OptimizerError({ optimizer: `Schedule.${schedule}`, hint: `${what} must be a finite number, got ${String(v)}` })
}
const positiveInteger = (schedule: string, what: string, v: number): void => {
  if (!Number.isInteger(v) || v < 1) throw new OptimizerError({ optimizer: `Schedule.${schedule}`, hint: `${what} must be a positive integer, got ${v}` })
}

/**
 * The same value at every step.
 *
 * @example
 * const opt = Optim.sgd(Schedule.constant(0.1))
 * @category schedules
 * @since 0.1.0
 */
export const constant = (value: number): Schedule => {
  finite("constant", "value", value)
  return () => value
}

/**
 * Exponential decay (Optax's `exponential_decay`):
 * v(t) = init · rate^((t − begin)/transitionSteps) for t ≥ begin (init
 * before), with the exponent floored when `staircase`, and clipped at
 * `endValue` when given.
 *
 * @example
 * const lr = Schedule.exponentialDecay({ initValue: 0.1, transitionSteps: 1000, decayRate: 0.5 }) // halves every 1000 steps
 * @category schedules
 * @since 0.1.0
 */
export const exponentialDecay = (options: {
  readonly initValue: number
  readonly transitionSteps: number
  readonly decayRate: number
  readonly transitionBegin?: number
  readonly staircase?: boolean
  readonly endValue?: number
}): Schedule => {
  finite("exponentialDecay", "initValue", options.initValue)
  positiveInteger("exponentialDecay", "transitionSteps", options.transitionSteps)
  if (!(options.decayRate > 0)) throw new OptimizerError({ optimizer: "Schedule.exponentialDecay", hint: `decayRate must be positive, got ${options.decayRate}` })
  const begin = options.transitionBegin ?? 0
  return (step) => {
    const t = Math.max(step - begin, 0)
    const p = t / options.transitionSteps
    const v = options.initValue * Math.pow(options.decayRate, options.staircase ? Math.floor(p) : p)
    if (options.endValue === undefined) return v
    return options.decayRate < 1 ? Math.max(v, options.endValue) : Math.min(v, options.endValue)
  }
}

/**
 * Cosine decay (Loshchilov & Hutter 2017, without restarts; Optax's
 * `cosine_decay_schedule`): v(t) = init·((1 − α)·½(1 + cos(π·min(t, T)/T)) + α),
 * from `initValue` to α·`initValue` over `decaySteps` T, then constant.
 *
 * @example
 * const lr = Schedule.cosineDecay({ initValue: 1e-3, decaySteps: 10_000 })
 * @category schedules
 * @since 0.1.0
 */
export const cosineDecay = (options: { readonly initValue: number; readonly decaySteps: number; readonly alpha?: number }): Schedule => {
  finite("cosineDecay", "initValue", options.initValue)
  positiveInteger("cosineDecay", "decaySteps", options.decaySteps)
  const alpha = options.alpha ?? 0
  return (step) => {
    const t = Math.min(Math.max(step, 0), options.decaySteps)
    return options.initValue * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * t) / options.decaySteps)) + alpha)
  }
}

/**
 * Linear interpolation from `initValue` to `endValue` over `transitionSteps`, then constant.
 *
 * @example
 * const lr = Schedule.linear({ initValue: 0.1, endValue: 0.001, transitionSteps: 500 })
 * @category schedules
 * @since 0.1.0
 */
export const linear = (options: { readonly initValue: number; readonly endValue: number; readonly transitionSteps: number }): Schedule => {
  finite("linear", "initValue", options.initValue)
  finite("linear", "endValue", options.endValue)
  positiveInteger("linear", "transitionSteps", options.transitionSteps)
  return (step) => {
    const frac = Math.min(Math.max(step, 0), options.transitionSteps) / options.transitionSteps
    return options.initValue + (options.endValue - options.initValue) * frac
  }
}

/**
 * Linear warm-up: from `initValue` (default 0) to `peakValue` over
 * `warmupSteps`, then `after` (a schedule started afresh at step 0 when the
 * warm-up ends; default constant `peakValue`).
 *
 * @example
 * const lr = Schedule.linearWarmup({ peakValue: 1e-3, warmupSteps: 100,
 *   after: Schedule.cosineDecay({ initValue: 1e-3, decaySteps: 900 }) })
 * @category schedules
 * @since 0.1.0
 */
export const linearWarmup = (options: { readonly peakValue: number; readonly warmupSteps: number; readonly initValue?: number; readonly after?: Schedule }): Schedule => {
  finite("linearWarmup", "peakValue", options.peakValue)
  positiveInteger("linearWarmup", "warmupSteps", options.warmupSteps)
  const init = options.initValue ?? 0
  const after = options.after ?? (() => options.peakValue)
  return (step) => (step < options.warmupSteps ? init + ((options.peakValue - init) * Math.max(step, 0)) / options.warmupSteps : after(step - options.warmupSteps))
}

/**
 * Piecewise constant: `values[0]` before `boundaries[0]`, `values[i]` from
 * `boundaries[i − 1]` (inclusive) to `boundaries[i]`, the last value after
 * the last boundary. `values` has one more entry than `boundaries`, which
 * increase.
 *
 * @example
 * const lr = Schedule.piecewiseConstant({ boundaries: [1000, 2000], values: [0.1, 0.01, 0.001] })
 * lr(999)  // 0.1
 * lr(1000) // 0.01
 * @category schedules
 * @since 0.1.0
 */
export const piecewiseConstant = (options: { readonly boundaries: ReadonlyArray<number>; readonly values: ReadonlyArray<number> }): Schedule => {
  const { boundaries, values } = options
  if (values.length !== boundaries.length + 1) {
    throw new OptimizerError({ optimizer: "Schedule.piecewiseConstant", hint: `values needs one more entry than boundaries: got ${values.length} values for ${boundaries.length} boundaries` })
  }
  boundaries.forEach((b, i) => {
    if (!Number.isFinite(b) || (i > 0 && b <= boundaries[i - 1])) throw new OptimizerError({ optimizer: "Schedule.piecewiseConstant", hint: "boundaries must be finite and increasing" })
  })
  values.forEach((v) => finite("piecewiseConstant", "each value", v))
  return (step) => {
    let i = 0
    while (i < boundaries.length && step >= boundaries[i]) i++
    return values[i]
  }
}
