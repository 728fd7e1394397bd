/**
 * L-BFGS (Liu & Nocedal 1989) as a gradient transformation, with a line
 * search along its direction. The direction comes from the two-loop
 * recursion over the last m pairs sₖ = xₖ₊₁ − xₖ, yₖ = ∇fₖ₊₁ − ∇fₖ
 * (Nocedal & Wright, Numerical Optimization, Algorithm 7.4), scaled by
 * γ = sᵀy/yᵀy of the newest pair. Pairs failing the curvature condition
 * sᵀy > 0 are skipped, so the implicit Hessian stays positive definite.
 *
 * The step length comes from a line search that evaluates the objective,
 * so `update` takes it as an extra argument:
 * `update(grads, state, params, { value, valueFn })`.
 * - `"zoom"` (default): the strong Wolfe line search of Nocedal & Wright
 *   (Algorithms 3.5 and 3.6) with safeguarded cubic interpolation, as
 *   PyTorch's `strong_wolfe`; needs `valueFn` differentiable (it is
 *   differentiated with `valueAndGrad`).
 * - `"backtracking"`: Armijo backtracking, halving from the initial step
 *   until f(x + t·d) ≤ f(x) + c₁·t·∇fᵀd.
 * - `"none"`: a fixed step, the learning rate.
 *
 * The first step is scaled as PyTorch's: min(1, 1/‖g‖₁)·lr; later steps
 * start from lr (default 1, the natural quasi-Newton step).
 *
 * The memory is a fixed number of slots (zeros until filled), so the state
 * keeps one structure from the first step to the last.
 *
 * @since 0.1.0
 */
import { NdArray, valueAndGrad } from "@gradfx/core"
import {
  applyUpdates,
  checkRange,
  checkRate,
  counter,
  globalNorm,
  type GradientTransformation,
  increment,
  mapLeaves,
  OptimizerError,
  type Rate,
  rateAt,
  requireParams,
  stepOf,
  treeDot,
  type UpdateExtra,
  zerosLike
} from "./base.js"

/** Options of `lbfgs`. */
export interface LbfgsOptions {
  /** Number of (s, y) pairs kept (default 10). */
  readonly memorySize?: number
  /** Default "zoom" (strong Wolfe). */
  readonly lineSearch?: "zoom" | "backtracking" | "none"
  /** The initial (or, with lineSearch "none", fixed) step (default 1). */
  readonly learningRate?: Rate
  /** Maximum function evaluations per line search (default 25). */
  readonly maxLineSearchSteps?: number
  /** Sufficient-decrease constant (default 1e-4). */
  readonly c1?: number
  /** Curvature constant of the strong Wolfe conditions (default 0.9). */
  readonly c2?: number
}

/**
 * State of `lbfgs`: step count, the memory (oldest first; empty slots are
 * zeros with ρ = 0), ρₖ = 1/sₖᵀyₖ, and the previous gradient and update.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface LbfgsState {
  readonly count: NdArray
  readonly s: ReadonlyArray<unknown>
  readonly y: ReadonlyArray<unknown>
  readonly rho: NdArray
  readonly previousGrad: unknown
  readonly previousUpdate: unknown
}

const axpy = (a: number, x: unknown, y: unknown): unknown => mapLeaves(y, (yi, xi) => NdArray.add(yi, NdArray.mul(xi, a)), x)
const scaleTree = (a: number, x: unknown): unknown => mapLeaves(x, (xi) => NdArray.mul(xi, a))
const l1Norm = (tree: unknown): number => {
  let total = 0
  mapLeaves(tree, (x) => {
    total += NdArray.sum(NdArray.abs(x)).item()
    return x
  })
  return total
}

/** The minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clamped to bounds (PyTorch's `_cubic_interpolate`). */
const cubicMinimum = (x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, lo: number, hi: number): number => {
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2)
  const d2Square = d1 * d1 - g1 * g2
  if (d2Square >= 0 && x1 !== x2) {
    const d2 = Math.sqrt(d2Square)
    const m = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    if (Number.isFinite(m)) return Math.min(Math.max(m, lo), hi)
  }
  return (lo + hi) / 2
}

interface Probe {
  readonly t: number
  readonly f: number
  readonly g: number
}

/** Strong Wolfe line search (Nocedal & Wright Algorithms 3.5, 3.6). Returns the step. */
const zoomSearch = (phi: (t: number) => Probe, f0: number, g0: number, t1: number, c1: number, c2: number, maxSteps: number): number => {
  let evaluations = 0
  const probe = (t: number) => {
    evaluations++
    return phi(t)
  }
  const zoom = (lo: Probe, hi: Probe): number => {
    let best = lo
    while (evaluations < maxSteps) {
      const a = Math.min(lo.t, hi.t)
      const b = Math.max(lo.t, hi.t)
      const width = b - a
      if (width < 1e-12 * Math.max(1, b)) break
      const t = cubicMinimum(lo.t, lo.f, lo.g, hi.t, hi.f, hi.g, a + 0.1 * width, b - 0.1 * width)
      const p = probe(t)
      if (p.f > f0 + c1 * t * g0 || p.f >= lo.f) {
        hi = p
      } else {
        if (Math.abs(p.g) <= -c2 * g0) return t
        if (p.g * (hi.t - lo.t) >= 0) hi = lo
        lo = p
        best = p
      }
    }
    return best.t
  }
  let previous: Probe = { t: 0, f: f0, g: g0 }
  let t = t1
  for (let i = 0; evaluations < maxSteps; i++) {
    const p = probe(t)
    if (!Number.isFinite(p.f) || p.f > f0 + c1 * t * g0 || (i > 0 && p.f >= previous.f)) return zoom(previous, Number.isFinite(p.f) ? p : { t, f: Infinity, g: Infinity })
    if (Math.abs(p.g) <= -c2 * g0) return t
    if (p.g >= 0) return zoom(p, previous)
    previous = p
    t = 2 * t
  }
  return previous.t
}

/**
 * L-BFGS with a line search (see the module docs). `update` needs the
 * params and `{ valueFn }` (and optionally `{ value }`, f at the params);
 * `Optim.minimize` runs the loop for you.
 *
 * @example
 * const rosenbrock = (p: NdArray) => { const [x, y] = [NdArray.slice(p, [0]), NdArray.slice(p, [1])]
 *   return NdArray.add(NdArray.square(NdArray.sub(1, x)), NdArray.mul(100, NdArray.square(NdArray.sub(y, NdArray.square(x))))) }
 * const result = Optim.minimize(rosenbrock, NdArray.array([-1.2, 1], { dtype: "float64" }), { optimizer: Optim.lbfgs() })
 * // result.params ≈ [1, 1]
 * @category optimizers
 * @since 0.1.0
 */
export const lbfgs = (options: LbfgsOptions = {}): GradientTransformation<LbfgsState> => {
  const m = options.memorySize ?? 10
  const search = options.lineSearch ?? "zoom"
  const rate = options.learningRate ?? 1
  const maxSteps = options.maxLineSearchSteps ?? 25
  const c1 = options.c1 ?? 1e-4
  const c2 = options.c2 ?? 0.9
  if (!Number.isInteger(m) || m < 1) throw new OptimizerError({ optimizer: "lbfgs", hint: `memorySize must be a positive integer, got ${m}` })
  checkRate("lbfgs", rate)
  checkRange("lbfgs", "c1", c1, 0, 1, true, true)
  checkRange("lbfgs", "c2", c2, c1, 1, true, true)
  return {
    init: (params) => {
      const zeros = zerosLike(params)
      return {
        count: counter(),
        s: Array.from({ length: m }, () => zeros),
        y: Array.from({ length: m }, () => zeros),
        rho: NdArray.zeros([m], { dtype: "float64" }),
        previousGrad: zeros,
        previousUpdate: zeros
      }
    },
    update: <U>(grads: U, state: LbfgsState, params?: unknown, extra: UpdateExtra = {}): readonly [U, LbfgsState] => {
      const p = requireParams("lbfgs", params)
      const step = stepOf(state.count, "lbfgs")
      let s = state.s
      let y = state.y
      let rho = Array.from(state.rho.data() as Float64Array)
      if (step > 0) {
        const yk = mapLeaves(grads, (g, prev) => NdArray.sub(g, prev), state.previousGrad)
        const sy = treeDot(state.previousUpdate, yk)
        if (sy > 1e-10 * Math.max(treeDot(yk, yk), Number.MIN_VALUE)) {
          s = [...s.slice(1), state.previousUpdate]
          y = [...y.slice(1), yk]
          rho = [...rho.slice(1), 1 / sy]
        }
      }
      // two-loop recursion: r = H·g
      let q: unknown = grads
      const alphas = new Array<number>(m).fill(0)
      for (let i = m - 1; i >= 0; i--) {
        if (rho[i] === 0) continue
        alphas[i] = rho[i] * treeDot(s[i], q)
        q = axpy(-alphas[i], y[i], q)
      }
      const newest = rho[m - 1]
      const hasMemory = newest !== 0
      const gamma = hasMemory ? 1 / (newest * treeDot(y[m - 1], y[m - 1])) : 1
      let r = scaleTree(gamma, q)
      for (let i = 0; i < m; i++) {
        if (rho[i] === 0) continue
        const beta = rho[i] * treeDot(y[i], r)
        r = axpy(alphas[i] - beta, s[i], r)
      }
      let direction = scaleTree(-1, r)
      let slope = treeDot(grads, direction)
      if (!(slope < 0)) {
        // not a descent direction (numerical trouble): fall back to steepest descent
        direction = scaleTree(-1, grads)
        slope = -treeDot(grads, grads)
      }
      const lr = rateAt(rate, step)
      const t0 = step === 0 ? Math.min(1, 1 / Math.max(l1Norm(grads), Number.MIN_VALUE)) * lr : lr
      let t = t0
      if (search !== "none" && slope < 0) {
        const valueFn = extra.valueFn
        if (valueFn === undefined) {
          throw new OptimizerError({ optimizer: "lbfgs", hint: `the ${search} line search evaluates the objective: update(grads, state, params, { valueFn })` })
        }
        const at = (tt: number) => applyUpdates(p, scaleTree(tt, direction))
        const scalar = (v: NdArray | number) => (typeof v === "number" ? v : v.item())
        const f0 = extra.value === undefined ? scalar(valueFn(p)) : scalar(extra.value)
        if (search === "backtracking") {
          for (let i = 0; i < maxSteps; i++) {
            const f = scalar(valueFn(at(t)))
            if (f <= f0 + c1 * t * slope) break
            t *= 0.5
          }
        } else {
          const vg = valueAndGrad((q: unknown) => {
            const v = valueFn(q)
            return typeof v === "number" ? NdArray.scalar(v, { dtype: "float64" }) : v
          })
          t = zoomSearch(
            (tt) => {
              const [f, g] = vg(at(tt))
              return { t: tt, f: f.item(), g: treeDot(g, direction) }
            },
            f0,
            slope,
            t0,
            c1,
            c2,
            maxSteps
          )
        }
      }
      const update = scaleTree(t, direction) as U
      return [update, { count: increment(state.count), s, y, rho: NdArray.array(Float64Array.from(rho)), previousGrad: grads, previousUpdate: update }]
    }
  }
}

/**
 * The result of `minimize`.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface MinimizeResult<P> {
  readonly params: P
  readonly value: number
  readonly gradNorm: number
  readonly iterations: number
  /** True when the gradient norm fell below the tolerance. */
  readonly converged: boolean
}

/**
 * Minimise a scalar function of a params pytree with a gradient
 * transformation (default `lbfgs()`): iterate `valueAndGrad`, `update`
 * (given `{ value, valueFn }` for line searches) and `applyUpdates` until
 * the gradient's global norm is at most `tolerance` (default 1e-6), the
 * update vanishes, or `maxIterations` (default 500) pass.
 *
 * @example
 * const { params, value, converged } = Optim.minimize(loss, params0, { optimizer: Optim.lbfgs({ lineSearch: "zoom" }) })
 * @category optimizers
 * @since 0.1.0
 */
export const minimize = <P>(
  f: (params: P) => NdArray,
  params: P,
  options: { readonly optimizer?: GradientTransformation<any>; readonly maxIterations?: number; readonly tolerance?: number } = {}
): MinimizeResult<P> => {
  const optimizer = options.optimizer ?? lbfgs()
  const maxIterations = options.maxIterations ?? 500
  const tolerance = options.tolerance ?? 1e-6
  const vg = valueAndGrad(f as (p: unknown) => NdArray)
  let state = optimizer.init(params)
  let current = params
  let value = Infinity
  let gradNorm = Infinity
  for (let i = 0; i < maxIterations; i++) {
    const [v, g] = vg(current)
    value = v.item()
    gradNorm = globalNorm(g)
    if (gradNorm <= tolerance) return { params: current, value, gradNorm, iterations: i, converged: true }
    const [updates, next] = optimizer.update(g, state, current, { value: v, valueFn: f })
    state = next
    if (globalNorm(updates) === 0) return { params: current, value, gradNorm, iterations: i, converged: false }
    current = applyUpdates(current, updates)
  }
  const [v, g] = vg(current)
  value = v.item()
  gradNorm = globalNorm(g)
  return { params: current, value, gradNorm, iterations: maxIterations, converged: gradNorm <= tolerance }
}
