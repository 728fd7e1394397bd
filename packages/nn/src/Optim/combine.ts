/**
 * Composing gradient transformations.
 *
 * @since 0.1.0
 */
import type { GradientTransformation, StateOf } from "./base.js"

/**
 * Run transformations in turn, each on the previous one's output (Optax's
 * `chain`). The state is the tuple of the parts' states.
 *
 * @example
 * const opt = Optim.chain(Optim.clipByGlobalNorm(1), Optim.scaleByAdam(), Optim.scaleByLearningRate(1e-3))
 * let state = opt.init(params)
 * const [updates, next] = opt.update(grads, state, params)
 * @category optimizers
 * @since 0.1.0
 */
export const chain = <const Ts extends ReadonlyArray<GradientTransformation<any>>>(...transforms: Ts): GradientTransformation<{ -readonly [K in keyof Ts]: StateOf<Ts[K]> }> => ({
  init: (params) => transforms.map((t) => t.init(params)) as any,
  update: (updates, state, params, extra) => {
    let u = updates
    const next = transforms.map((t, i) => {
      const [v, s] = t.update(u, (state as ReadonlyArray<unknown>)[i], params, extra)
      u = v
      return s
    })
    return [u, next as any]
  }
})
