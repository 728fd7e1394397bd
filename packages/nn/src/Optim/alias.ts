/**
 * Named optimisers, each a `chain` of building blocks whose first steps
 * reproduce PyTorch's documented algorithm (defaults are PyTorch's).
 * `weightDecay` is PyTorch's coupled L2 term (λθ added to the gradient
 * before the preconditioner) except in `adamw`, where it is decoupled.
 *
 * @since 0.1.0
 */
import { NdArray, optionsObject } from "@gradfx/core"
import {
  checkRange,
  checkRate,
  counter,
  type GradientTransformation,
  increment,
  mapLeaves,
  type Rate,
  rateAt,
  requireParams,
  stepOf,
  zerosLike
} from "./base.js"
import { chain } from "./combine.js"
import {
  type AdamOptions,
  addDecayedWeights,
  type RpropOptions,
  scaleByAdam,
  scaleByAdamax,
  scaleByLearningRate,
  scaleByNadam,
  scaleByRms,
  scaleByRprop,
  scaleByRss,
  trace
} from "./transforms.js"

/** L2 weight decay in front of a chain when λ > 0. */
const withDecay = (weightDecay: number | undefined, ...rest: ReadonlyArray<GradientTransformation<any>>): GradientTransformation<unknown> =>
  (weightDecay ?? 0) > 0 ? chain(addDecayedWeights(weightDecay!), ...rest) : chain(...rest)

/**
 * Stochastic gradient descent, PyTorch's `SGD`: θ ← θ − lr·b with
 * momentum b ← μb + (1 − dampening)g (b = g on the first step), or
 * g + μb with `nesterov`; plain θ ← θ − lr·g without momentum.
 *
 * @example
 * const opt = Optim.sgd(0.1, { momentum: 0.9, nesterov: true })
 * @category optimizers
 * @since 0.1.0
 */
export const sgd = (
  learningRate: Rate,
  opts?: { readonly momentum?: number; readonly nesterov?: boolean; readonly dampening?: number; readonly weightDecay?: number }
): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.sgd", opts, "Optim.sgd(0.1, { momentum: 0.9 })")
  checkRate("sgd", learningRate)
  const momentum = options.momentum ?? 0
  const parts: Array<GradientTransformation<any>> = []
  if (momentum > 0 || options.nesterov) parts.push(trace({ decay: momentum, nesterov: options.nesterov, dampening: options.dampening }))
  return withDecay(options.weightDecay, ...parts, scaleByLearningRate(learningRate))
}

/**
 * Adagrad (Duchi et al. 2011), PyTorch's `Adagrad`: s ← s + g²,
 * θ ← θ − lrₜ·g/(√s + ε) with lrₜ = lr/(1 + (t − 1)·lrDecay).
 *
 * @example
 * const opt = Optim.adagrad(0.01)
 * @category optimizers
 * @since 0.1.0
 */
export const adagrad = (
  learningRate: Rate = 1e-2,
  opts?: { readonly lrDecay?: number; readonly weightDecay?: number; readonly initialAccumulator?: number; readonly eps?: number }
): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.adagrad", opts, "Optim.adagrad(0.01, { eps: 1e-10 })")
  checkRate("adagrad", learningRate)
  const decay = options.lrDecay ?? 0
  const rate: Rate = decay === 0 ? learningRate : (step) => rateAt(learningRate, step) / (1 + step * decay)
  return withDecay(options.weightDecay, scaleByRss({ initialAccumulator: options.initialAccumulator, eps: options.eps }), scaleByLearningRate(rate))
}

/**
 * RMSprop (Hinton, lecture 6e), PyTorch's `RMSprop`: ν ← αν + (1 − α)g²,
 * θ ← θ − lr·g/(√ν + ε); `centered` divides by √(ν − ḡ²) + ε; `momentum` μ
 * keeps b ← μb + g/(…) and steps by lr·b.
 *
 * @example
 * const opt = Optim.rmsprop(1e-3, { centered: true, momentum: 0.9 })
 * @category optimizers
 * @since 0.1.0
 */
export const rmsprop = (
  learningRate: Rate = 1e-2,
  opts?: { readonly alpha?: number; readonly eps?: number; readonly momentum?: number; readonly centered?: boolean; readonly weightDecay?: number }
): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.rmsprop", opts, "Optim.rmsprop(0.01, { momentum: 0.9 })")
  checkRate("rmsprop", learningRate)
  const momentum = options.momentum ?? 0
  const parts: Array<GradientTransformation<any>> = [scaleByRms({ decay: options.alpha, eps: options.eps, centered: options.centered })]
  if (momentum > 0) parts.push(trace({ decay: momentum }))
  return withDecay(options.weightDecay, ...parts, scaleByLearningRate(learningRate))
}

/** Options of `adam`/`adamw`. */
export interface AdamAliasOptions extends AdamOptions {
  readonly weightDecay?: number
}

/**
 * Adam (Kingma & Ba 2015), PyTorch's `Adam`: θ ← θ − lr·m̂/(√v̂ + ε) with
 * bias-corrected moments; `weightDecay` is the coupled L2 term.
 *
 * @example
 * const opt = Optim.adam(1e-3)
 * const opt2 = Optim.adam(Schedule.cosineDecay({ initValue: 1e-3, decaySteps: 5000 }))
 * @category optimizers
 * @since 0.1.0
 */
export const adam = (learningRate: Rate = 1e-3, opts?: AdamAliasOptions): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.adam", opts, "Optim.adam(1e-3, { b1: 0.9 })")
  checkRate("adam", learningRate)
  return withDecay(options.weightDecay, scaleByAdam(options), scaleByLearningRate(learningRate))
}

/**
 * AdamW (Loshchilov & Hutter 2019), PyTorch's `AdamW`: Adam with decoupled
 * weight decay, θ ← θ − lr·(m̂/(√v̂ + ε) + λθ); default λ = 0.01.
 *
 * @example
 * const opt = Optim.adamw(1e-3, { weightDecay: 0.05 })
 * @category optimizers
 * @since 0.1.0
 */
export const adamw = (learningRate: Rate = 1e-3, opts?: AdamAliasOptions & { readonly mask?: (path: string) => boolean }): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.adamw", opts, "Optim.adamw(1e-3, { weightDecay: 0.01 })")
  checkRate("adamw", learningRate)
  return chain(scaleByAdam(options), addDecayedWeights(options.weightDecay ?? 1e-2, { mask: options.mask }), scaleByLearningRate(learningRate))
}

/**
 * Adamax (Kingma & Ba 2015, §7.1), PyTorch's `Adamax`: the infinity-norm
 * variant, u ← max(β₂u, |g| + ε), θ ← θ − lr/(1 − β₁ᵗ)·m/u.
 *
 * @category optimizers
 * @since 0.1.0
 */
export const adamax = (
  learningRate: Rate = 2e-3,
  opts?: { readonly b1?: number; readonly b2?: number; readonly eps?: number; readonly weightDecay?: number }
): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.adamax", opts, "Optim.adamax(2e-3, { b1: 0.9 })")
  checkRate("adamax", learningRate)
  return withDecay(options.weightDecay, scaleByAdamax(options), scaleByLearningRate(learningRate))
}

/**
 * NAdam (Dozat 2016), PyTorch's `NAdam`: Adam with Nesterov momentum and
 * the momentum-decay schedule μₜ = β₁(1 − ½·0.96^(0.004·t)).
 *
 * @category optimizers
 * @since 0.1.0
 */
export const nadam = (
  learningRate: Rate = 2e-3,
  opts?: { readonly b1?: number; readonly b2?: number; readonly eps?: number; readonly momentumDecay?: number; readonly weightDecay?: number }
): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.nadam", opts, "Optim.nadam(2e-3, { b1: 0.9 })")
  checkRate("nadam", learningRate)
  return withDecay(options.weightDecay, scaleByNadam(options), scaleByLearningRate(learningRate))
}

/**
 * Rprop (Riedmiller & Braun 1993), PyTorch's `Rprop`: sign-based steps with
 * per-element step sizes that start at `learningRate`, grow ×1.2 and shrink
 * ×0.5, within [1e-6, 50]. Meant for full-batch training.
 *
 * @category optimizers
 * @since 0.1.0
 */
export const rprop = (learningRate = 1e-2, opts?: RpropOptions): GradientTransformation<unknown> => {
  const options = optionsObject("Optim.rprop", opts, "Optim.rprop(0.01, { etaMinus: 0.5 })")
  return chain(scaleByRprop(learningRate, options))
}

/**
 * State of `asgd`: the step count and the averaged parameters ax (the
 * quantity averaged SGD returns; read it from `state.ax`).
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface AsgdState {
  readonly count: NdArray
  readonly ax: unknown
}

/**
 * Averaged SGD (Polyak & Juditsky 1992), PyTorch's `ASGD`: with
 * ηₜ = lr/(1 + λ·lr·(t − 1))^α and μₜ = 1/max(1, t − 1 − t₀), each step is
 * θ ← θ(1 − λη) − η·g, and the average ax ← θ while μ = 1, else
 * ax ← ax + μ(θ − ax). The params follow SGD; `state.ax` holds the average.
 * Defaults λ = 1e-4, α = 0.75, t₀ = 1e6.
 *
 * @example
 * const opt = Optim.asgd(0.01, { t0: 100 })
 * // …after training: const averaged = state.ax
 * @category optimizers
 * @since 0.1.0
 */
export const asgd = (
  learningRate = 1e-2,
  opts?: { readonly lambd?: number; readonly alpha?: number; readonly t0?: number; readonly weightDecay?: number }
): GradientTransformation<AsgdState> => {
  const options = optionsObject("Optim.asgd", opts, "Optim.asgd(0.01, { t0: 1e6 })")
  const lambd = options.lambd ?? 1e-4
  const alpha = options.alpha ?? 0.75
  const t0 = options.t0 ?? 1e6
  const wd = options.weightDecay ?? 0
  checkRate("asgd", learningRate)
  checkRange("asgd", "lambd", lambd, 0, Infinity)
  return {
    init: (params) => ({ count: counter(), ax: zerosLike(params) }),
    update: (updates, state, params) => {
      const p = requireParams("asgd", params)
      const step = stepOf(state.count, "asgd") // t − 1
      const eta = learningRate / Math.pow(1 + lambd * learningRate * step, alpha)
      const mu = 1 / Math.max(1, step - t0)
      const grads = wd > 0 ? mapLeaves(updates, (g, w) => NdArray.add(g, NdArray.mul(w, wd)), p) : updates
      const out = mapLeaves(grads, (g, w) => NdArray.neg(NdArray.add(NdArray.mul(w, lambd * eta), NdArray.mul(g, eta))), p)
      const ax = mapLeaves(
        out,
        (u, w, a) => {
          const next = NdArray.add(w, u)
          return mu === 1 ? next : NdArray.add(a, NdArray.mul(NdArray.sub(next, a), mu))
        },
        p,
        state.ax
      )
      return [out, { count: increment(state.count), ax }]
    }
  }
}
