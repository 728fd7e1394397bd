/**
 * The building blocks: gradient transformations that each do one thing
 * (Optax's `scale_by_*`, `add_decayed_weights`, `clip_by_global_norm`, …).
 * Named optimisers (`alias.ts`) are `chain`s of these.
 *
 * Conventions: "updates" enter as gradients; the `scaleBy*` transforms
 * precondition them (no learning rate, no sign); `scaleByLearningRate`
 * multiplies by −lr at the end. Each state is a record of arrays; step
 * counters are int32 scalars.
 *
 * @since 0.1.0
 */
import { isTraced, NdArray, Tree } from "@gradfx/core"
import {
  asArray,
  atStep,
  checkRange,
  checkRate,
  counter,
  float64,
  globalNorm,
  type GradientTransformation,
  increment,
  mapLeaves,
  OptimizerError,
  type Rate,
  rateAt,
  requireParams,
  scaleLeaf,
  stepOf,
  zerosLike
} from "./base.js"

/**
 * Leaves the updates unchanged.
 *
 * @category optimizers
 * @since 0.1.0
 */
export const identity = (): GradientTransformation<null> => ({
  init: () => null,
  update: (updates, state) => [updates, state]
})

/**
 * Multiplies the updates by a constant.
 *
 * @example
 * const ascend = Optim.chain(Optim.scaleByAdam(), Optim.scale(1e-3)) // gradient ascent
 * @category optimizers
 * @since 0.1.0
 */
export const scale = (factor: number): GradientTransformation<null> => ({
  init: () => null,
  update: (updates, state) => [mapLeaves(updates, (u) => NdArray.mul(u, factor)), state]
})

/**
 * State of a transformation that only counts steps.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface CountState {
  readonly count: NdArray
}

/**
 * Multiplies the updates by −lr (by +lr with `flipSign: false`); the rate
 * may be a schedule of the step count. The last link of every named
 * optimiser: updates then carry their sign and `applyUpdates` adds them.
 *
 * @example
 * const opt = Optim.chain(Optim.clipByGlobalNorm(1), Optim.scaleByAdam(), Optim.scaleByLearningRate(1e-3))
 * @category optimizers
 * @since 0.1.0
 */
export const scaleByLearningRate = (rate: Rate, options: { readonly flipSign?: boolean } = {}): GradientTransformation<CountState> => {
  checkRate("scaleByLearningRate", rate)
  const sign = (options.flipSign ?? true) ? -1 : 1
  return {
    init: () => ({ count: counter() }),
    update: (updates, state) => {
      const lr = atStep(state.count, (step) => sign * rateAt(rate, step))
      return [mapLeaves(updates, (u) => scaleLeaf(u, lr)), { count: increment(state.count) }]
    }
  }
}

/**
 * Multiplies the updates by a schedule's value (no sign flip).
 *
 * @category optimizers
 * @since 0.1.0
 */
export const scaleBySchedule = (schedule: (step: number) => number): GradientTransformation<CountState> => scaleByLearningRate(schedule, { flipSign: false })

/**
 * State of `scaleByAdam`: step count, first moment μ, second moment ν (and
 * the running maximum of ν with `amsgrad`, else null).
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface ScaleByAdamState {
  readonly count: NdArray
  readonly mu: unknown
  readonly nu: unknown
  readonly nuMax: unknown
}

/** Options of the Adam family. */
export interface AdamOptions {
  /** Default 0.9. */
  readonly b1?: number
  /** Default 0.999. */
  readonly b2?: number
  /** Added to √ν̂ (default 1e-8). */
  readonly eps?: number
  /** Added to ν̂ inside the square root (default 0; Optax's `eps_root`). */
  readonly epsRoot?: number
  /** Use the maximum of past ν (Reddi et al. 2018, PyTorch's `amsgrad`). Default false. */
  readonly amsgrad?: boolean
}

/**
 * Adam's preconditioning (Kingma & Ba 2015, Algorithm 1, as PyTorch's
 * `Adam`): μ ← β₁μ + (1 − β₁)g, ν ← β₂ν + (1 − β₂)g², output
 * μ̂/(√(ν̂ + ε_root) + ε) with μ̂ = μ/(1 − β₁ᵗ), ν̂ = ν/(1 − β₂ᵗ). With
 * `amsgrad`, ν̂ uses the running maximum of ν.
 *
 * @example
 * const opt = Optim.chain(Optim.scaleByAdam({ b2: 0.99 }), Optim.scaleByLearningRate(3e-4))
 * @category optimizers
 * @since 0.1.0
 */
export const scaleByAdam = (options: AdamOptions = {}): GradientTransformation<ScaleByAdamState> => {
  const b1 = options.b1 ?? 0.9
  const b2 = options.b2 ?? 0.999
  const eps = options.eps ?? 1e-8
  const epsRoot = options.epsRoot ?? 0
  checkRange("scaleByAdam", "b1", b1, 0, 1, false, true)
  checkRange("scaleByAdam", "b2", b2, 0, 1, false, true)
  checkRange("scaleByAdam", "eps", eps, 0, Infinity)
  return {
    init: (params) => ({ count: counter(), mu: zerosLike(params), nu: zerosLike(params), nuMax: options.amsgrad ? zerosLike(params) : null }),
    update: (updates, state) => {
      const mu = mapLeaves(updates, (g, m) => NdArray.add(NdArray.mul(m, b1), NdArray.mul(g, 1 - b1)), state.mu)
      const nu = mapLeaves(updates, (g, v) => NdArray.add(NdArray.mul(v, b2), NdArray.mul(NdArray.square(g), 1 - b2)), state.nu)
      const nuMax = options.amsgrad ? mapLeaves(nu, (v, vMax) => NdArray.maximum(v, vMax), state.nuMax) : null
      const c1 = atStep(state.count, (step) => 1 / (1 - Math.pow(b1, step + 1)))
      const c2 = atStep(state.count, (step) => 1 / (1 - Math.pow(b2, step + 1)))
      const out = mapLeaves(mu, (m, v) => NdArray.div(scaleLeaf(m, c1), NdArray.add(NdArray.sqrt(NdArray.add(scaleLeaf(v, c2), epsRoot)), eps)), nuMax ?? nu)
      return [out as typeof updates, { count: increment(state.count), mu, nu, nuMax }]
    }
  }
}

/**
 * State of `scaleByAdamax`: step count, first moment μ, infinity norm u.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface ScaleByAdamaxState {
  readonly count: NdArray
  readonly mu: unknown
  readonly infNorm: unknown
}

/**
 * Adamax's preconditioning (Kingma & Ba 2015, §7.1, as PyTorch's `Adamax`):
 * μ ← β₁μ + (1 − β₁)g, u ← max(β₂u, |g| + ε), output μ/((1 − β₁ᵗ)·u).
 *
 * @category optimizers
 * @since 0.1.0
 */
export const scaleByAdamax = (options: { readonly b1?: number; readonly b2?: number; readonly eps?: number } = {}): GradientTransformation<ScaleByAdamaxState> => {
  const b1 = options.b1 ?? 0.9
  const b2 = options.b2 ?? 0.999
  const eps = options.eps ?? 1e-8
  checkRange("scaleByAdamax", "b1", b1, 0, 1, false, true)
  checkRange("scaleByAdamax", "b2", b2, 0, 1, false, true)
  return {
    init: (params) => ({ count: counter(), mu: zerosLike(params), infNorm: zerosLike(params) }),
    update: (updates, state) => {
      const mu = mapLeaves(updates, (g, m) => NdArray.add(NdArray.mul(m, b1), NdArray.mul(g, 1 - b1)), state.mu)
      const infNorm = mapLeaves(updates, (g, u) => NdArray.maximum(NdArray.mul(u, b2), NdArray.add(NdArray.abs(g), eps)), state.infNorm)
      const c1 = atStep(state.count, (step) => 1 / (1 - Math.pow(b1, step + 1)))
      const out = mapLeaves(mu, (m, u) => NdArray.div(scaleLeaf(m, c1), u), infNorm)
      return [out as typeof updates, { count: increment(state.count), mu, infNorm }]
    }
  }
}

/**
 * State of `scaleByNadam`: step count, the product of the momentum
 * coefficients μ₁⋯μₜ (float64), and the moments.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface ScaleByNadamState {
  readonly count: NdArray
  readonly muProduct: NdArray
  readonly mu: unknown
  readonly nu: unknown
}

/**
 * NAdam's preconditioning (Dozat 2016, as PyTorch's `NAdam` with its
 * momentum-decay schedule μₜ = β₁(1 − ½·0.96^(tψ)), ψ = `momentumDecay`
 * 0.004): m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
 * output (1 − μₜ)/(1 − Πᵢ≤ₜ μᵢ)·g/d + μₜ₊₁/(1 − Πᵢ≤ₜ₊₁ μᵢ)·m/d with
 * d = √(v/(1 − β₂ᵗ)) + ε.
 *
 * @category optimizers
 * @since 0.1.0
 */
export const scaleByNadam = (
  options: { readonly b1?: number; readonly b2?: number; readonly eps?: number; readonly momentumDecay?: number } = {}
): GradientTransformation<ScaleByNadamState> => {
  const b1 = options.b1 ?? 0.9
  const b2 = options.b2 ?? 0.999
  const eps = options.eps ?? 1e-8
  const psi = options.momentumDecay ?? 4e-3
  checkRange("scaleByNadam", "b1", b1, 0, 1, false, true)
  checkRange("scaleByNadam", "b2", b2, 0, 1, false, true)
  checkRange("scaleByNadam", "momentumDecay", psi, 0, Infinity)
  return {
    init: (params) => ({ count: counter(), muProduct: float64(1), mu: zerosLike(params), nu: zerosLike(params) }),
    update: (updates, state) => {
      const t = stepOf(state.count, "nadam") + 1
      const muT = b1 * (1 - 0.5 * Math.pow(0.96, t * psi))
      const muNext = b1 * (1 - 0.5 * Math.pow(0.96, (t + 1) * psi))
      const product = state.muProduct.item() * muT
      const productNext = product * muNext
      const c2 = 1 / (1 - Math.pow(b2, t))
      const gradCoefficient = (1 - muT) / (1 - product)
      const momentumCoefficient = muNext / (1 - productNext)
      const mu = mapLeaves(updates, (g, m) => NdArray.add(NdArray.mul(m, b1), NdArray.mul(g, 1 - b1)), state.mu)
      const nu = mapLeaves(updates, (g, v) => NdArray.add(NdArray.mul(v, b2), NdArray.mul(NdArray.square(g), 1 - b2)), state.nu)
      const out = mapLeaves(
        updates,
        (g, m, v) => NdArray.div(NdArray.add(NdArray.mul(g, gradCoefficient), NdArray.mul(m, momentumCoefficient)), NdArray.add(NdArray.sqrt(NdArray.mul(v, c2)), eps)),
        mu,
        nu
      )
      return [out, { count: increment(state.count), muProduct: float64(product), mu, nu }]
    }
  }
}

/**
 * State of `scaleByRms`: the mean square ν (and the mean gradient with
 * `centered`, else null).
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface ScaleByRmsState {
  readonly nu: unknown
  readonly mean: unknown
}

/**
 * RMSProp's preconditioning (Hinton's lecture 6e, as PyTorch's `RMSprop`):
 * ν ← αν + (1 − α)g², output g/(√ν + ε); `centered` (Graves 2013) also
 * tracks ḡ ← αḡ + (1 − α)g and divides by √(ν − ḡ²) + ε.
 *
 * @category optimizers
 * @since 0.1.0
 */
export const scaleByRms = (options: { readonly decay?: number; readonly eps?: number; readonly centered?: boolean } = {}): GradientTransformation<ScaleByRmsState> => {
  const decay = options.decay ?? 0.99
  const eps = options.eps ?? 1e-8
  checkRange("scaleByRms", "decay", decay, 0, 1)
  return {
    init: (params) => ({ nu: zerosLike(params), mean: options.centered ? zerosLike(params) : null }),
    update: (updates, state) => {
      const nu = mapLeaves(updates, (g, v) => NdArray.add(NdArray.mul(v, decay), NdArray.mul(NdArray.square(g), 1 - decay)), state.nu)
      if (!options.centered) {
        return [mapLeaves(updates, (g, v) => NdArray.div(g, NdArray.add(NdArray.sqrt(v), eps)), nu), { nu, mean: null }]
      }
      const mean = mapLeaves(updates, (g, a) => NdArray.add(NdArray.mul(a, decay), NdArray.mul(g, 1 - decay)), state.mean)
      const out = mapLeaves(updates, (g, v, a) => NdArray.div(g, NdArray.add(NdArray.sqrt(NdArray.sub(v, NdArray.square(a))), eps)), nu, mean)
      return [out, { nu, mean }]
    }
  }
}

/**
 * State of `scaleByRss`: the running sum of squared gradients.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface ScaleByRssState {
  readonly sumOfSquares: unknown
}

/**
 * Adagrad's preconditioning (Duchi et al. 2011, as PyTorch's `Adagrad`):
 * s ← s + g², output g/(√s + ε). `initialAccumulator` (default 0) is s₀.
 *
 * @category optimizers
 * @since 0.1.0
 */
export const scaleByRss = (options: { readonly initialAccumulator?: number; readonly eps?: number } = {}): GradientTransformation<ScaleByRssState> => {
  const s0 = options.initialAccumulator ?? 0
  const eps = options.eps ?? 1e-10
  checkRange("scaleByRss", "initialAccumulator", s0, 0, Infinity)
  return {
    init: (params) => ({ sumOfSquares: mapLeaves(params, (p) => NdArray.fullLike(p, s0)) }),
    update: (updates, state) => {
      const sumOfSquares = mapLeaves(updates, (g, s) => NdArray.add(s, NdArray.square(g)), state.sumOfSquares)
      return [mapLeaves(updates, (g, s) => NdArray.div(g, NdArray.add(NdArray.sqrt(s), eps)), sumOfSquares), { sumOfSquares }]
    }
  }
}

/**
 * State of `trace`: step count and the momentum buffer.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface TraceState {
  readonly count: NdArray
  readonly momentum: unknown
}

/**
 * Momentum, as PyTorch's `SGD`: b ← g on the first step, then
 * b ← μb + (1 − dampening)g; output b, or g + μb with `nesterov`
 * (Sutskever et al. 2013's formulation).
 *
 * @category optimizers
 * @since 0.1.0
 */
export const trace = (options: { readonly decay: number; readonly nesterov?: boolean; readonly dampening?: number }): GradientTransformation<TraceState> => {
  const mu = options.decay
  const dampening = options.dampening ?? 0
  checkRange("trace", "decay", mu, 0, Infinity)
  if (options.nesterov && (mu <= 0 || dampening !== 0)) throw new OptimizerError({ optimizer: "trace", hint: "Nesterov momentum needs a positive momentum and zero dampening (as PyTorch)" })
  return {
    init: (params) => ({ count: counter(), momentum: zerosLike(params) }),
    update: (updates, state) => {
      const next = (): typeof updates => mapLeaves(updates, (g, b) => NdArray.add(NdArray.mul(b, mu), NdArray.mul(g, 1 - dampening)), state.momentum)
      // the first step's momentum is the gradient itself (PyTorch); under jit the choice is a select on the counter
      const momentum = isTraced(state.count)
        ? mapLeaves(updates, (g, b) => NdArray.where(NdArray.equal(state.count, 0), g, b), next())
        : stepOf(state.count) === 0
        ? updates
        : next()
      const out = options.nesterov ? mapLeaves(updates, (g, b) => NdArray.add(g, NdArray.mul(b, mu)), momentum) : momentum
      return [out, { count: increment(state.count), momentum }]
    }
  }
}

/**
 * Adds λ·params to the updates: weight decay. Before a preconditioner
 * (`chain(addDecayedWeights(λ), scaleByAdam(), …)`) it is the L2 penalty of
 * PyTorch's `weight_decay` argument; after it (`adamw`) it is decoupled
 * weight decay (Loshchilov & Hutter 2019). `mask(path)` chooses the leaves
 * (default all), e.g. `(path) => path.endsWith("w")` to spare biases.
 *
 * @example
 * const opt = Optim.chain(Optim.scaleByAdam(), Optim.addDecayedWeights(1e-2), Optim.scaleByLearningRate(1e-3)) // = adamw
 * @category optimizers
 * @since 0.1.0
 */
export const addDecayedWeights = (weightDecay: number, options: { readonly mask?: (path: string) => boolean } = {}): GradientTransformation<null> => {
  checkRange("addDecayedWeights", "weightDecay", weightDecay, 0, Infinity)
  return {
    init: () => null,
    update: (updates, state, params) => {
      if (weightDecay === 0) return [updates, state]
      const p = requireParams("addDecayedWeights", params)
      const paths = options.mask ? Tree.paths(updates) : null
      let i = 0
      const out = mapLeaves(updates, (u, w) => {
        const keep = paths === null || options.mask!(paths[i])
        i++
        return keep ? NdArray.add(u, NdArray.mul(w, weightDecay)) : u
      }, p)
      return [out, state]
    }
  }
}

/**
 * Rescales the updates so their global L2 norm is at most `maxNorm`:
 * u·min(1, maxNorm/‖u‖) (Pascanu et al. 2013).
 *
 * @example
 * const opt = Optim.chain(Optim.clipByGlobalNorm(1.0), Optim.adam(1e-3))
 * @category optimizers
 * @since 0.1.0
 */
export const clipByGlobalNorm = (maxNorm: number): GradientTransformation<null> => {
  checkRange("clipByGlobalNorm", "maxNorm", maxNorm, 0, Infinity, true)
  return {
    init: () => null,
    update: (updates, state) => {
      const leaves = Tree.leaves(updates).map(asArray)
      if (leaves.some(isTraced)) {
        // under jit: the same float64 arithmetic on arrays, and a select instead of the branch
        const total = leaves.reduce<NdArray>((t, x) => NdArray.add(t, NdArray.astype(NdArray.sum(NdArray.square(x)), "float64")), NdArray.scalar(0, { dtype: "float64" }))
        const norm = NdArray.sqrt(total)
        const clipped = NdArray.greater(norm, maxNorm)
        const factor = NdArray.div(maxNorm, norm)
        return [mapLeaves(updates, (u) => NdArray.where(clipped, NdArray.mul(u, NdArray.astype(factor, u.dtype)), u)), state]
      }
      const norm = globalNorm(updates)
      if (!(norm > maxNorm)) return [updates, state]
      const factor = maxNorm / norm
      return [mapLeaves(updates, (u) => NdArray.mul(u, factor)), state]
    }
  }
}

/**
 * Clips every update element to [−maxDelta, maxDelta].
 *
 * @category optimizers
 * @since 0.1.0
 */
export const clip = (maxDelta: number): GradientTransformation<null> => {
  checkRange("clip", "maxDelta", maxDelta, 0, Infinity)
  return {
    init: () => null,
    update: (updates, state) => [mapLeaves(updates, (u) => NdArray.clip(u, -maxDelta, maxDelta)), state]
  }
}

/**
 * State of `scaleByRprop`: the previous (masked) gradients and the per-element step sizes.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface ScaleByRpropState {
  readonly previous: unknown
  readonly stepSizes: unknown
}

/** Options of Rprop. */
export interface RpropOptions {
  /** Step-size factors on a sign change / no change (default 0.5, 1.2). */
  readonly etaMinus?: number
  readonly etaPlus?: number
  /** Step-size bounds (default 1e-6, 50). */
  readonly minStep?: number
  readonly maxStep?: number
}

/**
 * Rprop (Riedmiller & Braun 1993, as PyTorch's `Rprop`): per element, the
 * step grows by η₊ while the gradient keeps its sign and shrinks by η₋ when
 * it flips (that step is skipped and the gradient forgotten); the update is
 * −step·sign(g). Produces final (signed) updates: use it as the last link.
 *
 * @category optimizers
 * @since 0.1.0
 */
export const scaleByRprop = (initialStep: number, options: RpropOptions = {}): GradientTransformation<ScaleByRpropState> => {
  const etaMinus = options.etaMinus ?? 0.5
  const etaPlus = options.etaPlus ?? 1.2
  const minStep = options.minStep ?? 1e-6
  const maxStep = options.maxStep ?? 50
  checkRange("rprop", "etaMinus", etaMinus, 0, 1, true, true)
  checkRange("rprop", "etaPlus", etaPlus, 1, Infinity, true)
  checkRange("rprop", "initial step", initialStep, 0, Infinity, true)
  return {
    init: (params) => ({ previous: zerosLike(params), stepSizes: mapLeaves(params, (p) => NdArray.fullLike(p, initialStep)) }),
    update: (updates, state) => {
      const signs = mapLeaves(updates, (g, prev) => NdArray.sign(NdArray.mul(g, prev)), state.previous)
      const stepSizes = mapLeaves(
        signs,
        (s, step) =>
          NdArray.clip(
            NdArray.mul(step, NdArray.where(NdArray.greater(s, 0), NdArray.fullLike(step, etaPlus), NdArray.where(NdArray.less(s, 0), NdArray.fullLike(step, etaMinus), NdArray.onesLike(step)))),
            minStep,
            maxStep
          ),
        state.stepSizes
      )
      const previous = mapLeaves(updates, (g, s) => NdArray.where(NdArray.less(s, 0), NdArray.zerosLike(g), g), signs)
      const out = mapLeaves(previous, (g, step) => NdArray.neg(NdArray.mul(NdArray.sign(g), step)), stepSizes)
      return [out as typeof updates, { previous, stepSizes }]
    }
  }
}
