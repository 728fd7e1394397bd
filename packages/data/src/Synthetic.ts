/**
 * Pure generators of the small classic example datasets.
 *
 * Randomness comes from {@link mulberry32}, a tiny self-contained seeded
 * PRNG defined here. It is NOT the library's PRNG (`@gradfx/core` has its own
 * splittable key-based generator); the two produce different streams, and
 * these generators may be switched to the core PRNG later, which would change
 * the generated values (but not their distributions).
 *
 * @since 0.1.0
 */
import type { RawTensor } from "./Raw.js"

/**
 * A supervised dataset: inputs `x` and targets `y` with the same first
 * dimension.
 *
 * @since 0.1.0
 */
export interface Dataset {
  readonly x: RawTensor
  readonly y: RawTensor
}

/**
 * Mulberry32: a 32-bit-state seeded PRNG returning uniform floats in
 * `[0, 1)`. Deterministic for a given (integer) seed. Fast and good enough
 * for toy datasets; not cryptographic, and not the library's PRNG.
 *
 * @since 0.1.0
 */
export const mulberry32 = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A standard normal sample from two uniforms of `rng` (Box–Muller; the
 * second variate of the pair is discarded).
 *
 * @since 0.1.0
 */
export const standardNormal = (rng: () => number): number => {
  const u1 = 1 - rng() // (0, 1]: log is finite
  const u2 = rng()
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/**
 * Linear regression data: `x` float64 `[n, 2]` with x₁, x₂ ~ U(0, 10) and
 * `y` float64 `[n]` with y = 1.5 + 2·x₁ + 5·x₂ + ε, ε ~ N(0, noise²).
 * Defaults: `n = 100`, `noise = 0.5`.
 *
 * @since 0.1.0
 */
export const linearRegression = (
  options: { readonly n?: number; readonly seed: number; readonly noise?: number }
): Dataset => {
  const { n = 100, noise = 0.5, seed } = options
  const rng = mulberry32(seed)
  const x = new Float64Array(n * 2)
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const x1 = rng() * 10
    const x2 = rng() * 10
    x[2 * i] = x1
    x[2 * i + 1] = x2
    y[i] = 1.5 + 2 * x1 + 5 * x2 + noise * standardNormal(rng)
  }
  return { x: { dtype: "float64", shape: [n, 2], data: x }, y: { dtype: "float64", shape: [n], data: y } }
}

/**
 * The "diamond" classification problem: `x` float64 `[n, 2]` uniform in
 * [−1, 1]², `y` float64 `[n]` equal to `1` inside the diamond |x₁| + |x₂| < 1
 * and `0` outside (about half the points). Default `n = 500`.
 *
 * @since 0.1.0
 */
export const diamond = (options: { readonly n?: number; readonly seed: number }): Dataset => {
  const { n = 500, seed } = options
  const rng = mulberry32(seed)
  const x = new Float64Array(n * 2)
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const x1 = rng() * 2 - 1
    const x2 = rng() * 2 - 1
    x[2 * i] = x1
    x[2 * i + 1] = x2
    y[i] = Math.abs(x1) + Math.abs(x2) < 1 ? 1 : 0
  }
  return { x: { dtype: "float64", shape: [n, 2], data: x }, y: { dtype: "float64", shape: [n], data: y } }
}

/**
 * Names of the two-input logic gates of {@link logicGate}.
 *
 * @since 0.1.0
 */
export type LogicGate = "and" | "or" | "nand" | "nor" | "xor"

const GATES: Record<LogicGate, (a: boolean, b: boolean) => boolean> = {
  and: (a, b) => a && b,
  or: (a, b) => a || b,
  nand: (a, b) => !(a && b),
  nor: (a, b) => !(a || b),
  xor: (a, b) => a !== b
}

/**
 * The truth table of a two-input logic gate: `x` float64 `[4, 2]` with rows
 * (0,0), (0,1), (1,0), (1,1) and `y` float64 `[4]` of 0/1 outputs.
 *
 * @since 0.1.0
 */
export const logicGate = (name: LogicGate): Dataset => {
  const gate = GATES[name]
  if (gate === undefined) throw new RangeError(`logicGate: unknown gate ${JSON.stringify(name)}`)
  const x = new Float64Array([0, 0, 0, 1, 1, 0, 1, 1])
  const y = new Float64Array(4)
  for (let i = 0; i < 4; i++) y[i] = gate(x[2 * i] === 1, x[2 * i + 1] === 1) ? 1 : 0
  return { x: { dtype: "float64", shape: [4, 2], data: x }, y: { dtype: "float64", shape: [4], data: y } }
}

/**
 * The smallest regression example, y = 2x: `x` float64 `[3]` = [1, 2, 3],
 * `y` float64 `[3]` = [2, 4, 6].
 *
 * @since 0.1.0
 */
export const doubling = (): Dataset => ({
  x: { dtype: "float64", shape: [3], data: new Float64Array([1, 2, 3]) },
  y: { dtype: "float64", shape: [3], data: new Float64Array([2, 4, 6]) }
})
