/**
 * Optimisers as gradient transformations, the Optax model. A transformation
 * is a pair of pure functions:
 *
 * - `init(params) → state`
 * - `update(updates, state, params?) → [updates', state']`
 *
 * `updates` start as the gradients; each transformation rewrites them
 * (scales by Adam's moments, clips, adds weight decay, multiplies by −lr)
 * and `chain` runs several in turn. The final updates carry their sign:
 * `applyUpdates(params, updates)` adds them. Nothing is mutated; states are
 * pytrees of arrays (plus an int32 step counter), so they can be
 * checkpointed like params.
 *
 * Scalars (learning rates, bias corrections) are computed as JavaScript
 * numbers from the step counter, and every per-leaf operation is a handful
 * of whole-array operations, so an update costs a few passes over the
 * parameters. The arrays keep the parameters' dtype (JavaScript numbers are
 * weakly typed). `update` reads the step counter, so it runs outside
 * transforms (it is never differentiated).
 *
 * @since 0.1.0
 */
import { isTraced, NdArray, pureCallback, Tree } from "@gradfx/core"
import { Data } from "effect"
import type { Schedule } from "./schedule.js"

/**
 * A learning rate: a constant, or a schedule of the step count (0 for the first update).
 *
 * @category optimizers
 * @since 0.1.0
 */
export type Rate = number | Schedule

/**
 * Extra arguments of `update` for transformations that evaluate the
 * objective (L-BFGS's line search): the current value and the objective as
 * a function of the params.
 *
 * @category optimizers
 * @since 0.1.0
 */
export interface UpdateExtra {
  readonly value?: NdArray | number
  readonly valueFn?: (params: any) => NdArray | number
}

/**
 * A gradient transformation: `{ init, update }` (see the module docs).
 *
 * @example
 * const opt = Optim.adam(1e-3)
 * let state = opt.init(params)
 * const [updates, next] = opt.update(grads, state, params)
 * params = Optim.applyUpdates(params, updates)
 * state = next
 * @category optimizers
 * @since 0.1.0
 */
export interface GradientTransformation<S = unknown> {
  init(params: unknown): S
  update<U>(updates: U, state: S, params?: unknown, extra?: UpdateExtra): readonly [U, S]
}

/** The state type of a transformation. */
export type StateOf<T> = T extends GradientTransformation<infer S> ? S : never

/**
 * An optimiser was misused: a transformation that needs the params got
 * none, a bad hyperparameter, a missing objective for a line search.
 *
 * @category errors
 * @since 0.1.0
 */
export class OptimizerError extends Data.TaggedError("OptimizerError")<{
  readonly optimizer: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.optimizer}: ${this.hint}`
  }
}

/**
 * params + updates, leaf by leaf (each result keeps the param's dtype).
 *
 * @example
 * const [updates, state1] = opt.update(grads, state0, params)
 * const next = Optim.applyUpdates(params, updates)
 * @category optimizers
 * @since 0.1.0
 */
export const applyUpdates = <P>(params: P, updates: unknown): P =>
  Tree.map(params, (p: NdArray | number, u: NdArray | number) => {
    if (typeof p === "number") return NdArray.scalar(p + (typeof u === "number" ? u : u.item()))
    const sum = NdArray.add(p, u)
    return sum.dtype === p.dtype ? sum : NdArray.astype(sum, p.dtype)
  }, updates) as P

// ---------------------------------------------------------------------------
// Helpers for the transformations

/** A leaf as an array (pytrees may hold JavaScript numbers). */
export const asArray = (leaf: NdArray | number): NdArray => (typeof leaf === "number" ? NdArray.scalar(leaf) : leaf)

/** Apply `f` to every leaf of `tree` (and the matching leaves of `rest`). */
export const mapLeaves = <U>(tree: U, f: (x: NdArray, ...rest: Array<NdArray>) => NdArray, ...rest: ReadonlyArray<unknown>): U =>
  Tree.map(tree, (x: NdArray | number, ...r: Array<NdArray | number>) => f(asArray(x), ...r.map(asArray)), ...rest) as U

/** Zeros shaped like every leaf. */
export const zerosLike = <U>(tree: U): U => mapLeaves(tree, (x) => NdArray.zerosLike(x))

/** An int32 step counter. */
export const counter = (n = 0): NdArray => NdArray.scalar(n, { dtype: "int32" })

/** The value of a step counter (concrete counters only; see `atStep` for code that also runs under `jit`). */
export const stepOf = (count: NdArray, optimizer = "optimizer"): number => {
  if (isTraced(count)) {
    throw new OptimizerError({ optimizer, hint: "this optimiser reads its step count as a JavaScript number, so its update cannot be traced by jit; jit the gradient computation and run the update outside" })
  }
  return count.item()
}

/**
 * A scalar computed in JavaScript from the step count: a number for a
 * concrete counter, and under `jit` a float64 scalar computed from the
 * counter's value each time the program runs (`pureCallback`).
 */
export const atStep = (count: NdArray, f: (step: number) => number): number | NdArray =>
  isTraced(count)
    ? pureCallback((c) => NdArray.scalar(f(c.item()), { dtype: "float64" }), { shape: [], dtype: "float64" }, count)
    : f(count.item())

/** `x · s` for a number or a scalar array `s` (cast to x's dtype, as a number is). */
export const scaleLeaf = (x: NdArray, s: number | NdArray): NdArray => NdArray.mul(x, typeof s === "number" ? s : NdArray.astype(s, x.dtype))

/** The counter after one more step. */
export const increment = (count: NdArray): NdArray => (isTraced(count) ? NdArray.add(count, 1) : counter(count.item() + 1))

/** A float64 scalar kept in a state (JavaScript-number precision). */
export const float64 = (v: number): NdArray => NdArray.scalar(v, { dtype: "float64" })

/** The learning rate at a step. */
export const rateAt = (rate: Rate, step: number): number => (typeof rate === "number" ? rate : rate(step))

/** Σ over leaves of Σ aᵢbᵢ, as a JavaScript number. */
export const treeDot = (a: unknown, b: unknown): number => {
  const xs = Tree.leaves(a).map(asArray)
  const ys = Tree.leaves(b).map(asArray)
  let total = 0
  xs.forEach((x, i) => (total += NdArray.sum(NdArray.mul(x, ys[i])).item()))
  return total
}

/**
 * The global L2 norm of a pytree, √(Σ over every leaf of Σ x²), as a JavaScript number.
 *
 * @example
 * const norm = Optim.globalNorm(grads)
 * @category optimizers
 * @since 0.1.0
 */
export const globalNorm = (tree: unknown): number => {
  let total = 0
  for (const leaf of Tree.leaves(tree)) total += NdArray.sum(NdArray.square(asArray(leaf))).item()
  return Math.sqrt(total)
}

/** Check that `params` were passed to an update that needs them. */
export const requireParams = (optimizer: string, params: unknown): unknown => {
  if (params === undefined) throw new OptimizerError({ optimizer, hint: "update needs the current params: opt.update(grads, state, params)" })
  return params
}

/** Validate a hyperparameter. */
export const checkRange = (optimizer: string, what: string, v: number, lo: number, hi: number, loOpen = false, hiOpen = false): void => {
  const ok = (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi)
  if (!ok || Number.isNaN(v)) {
    throw new OptimizerError({ optimizer, hint: `${what} must be in ${loOpen ? "(" : "["}${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${v}` })
  }
}

/** Validate a rate (a number ≥ 0 or a function). */
export const checkRate = (optimizer: string, rate: Rate): void => {
  if (typeof rate === "function") return
  if (typeof rate !== "number" || !(rate >= 0) || !Number.isFinite(rate)) throw new OptimizerError({ optimizer, hint: `the learning rate must be a finite number ≥ 0 or a schedule, got ${String(rate)}` })
}
