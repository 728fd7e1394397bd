/**
 * Explicit, splittable, counter-based random numbers in JAX's style: a key
 * is a pair of 32-bit words (an int32 array of shape [2]) and every function
 * that draws numbers takes one. The generator is Threefry-2x32 (20 rounds,
 * Random123), so the same key gives the same numbers on every machine, and
 * there is no hidden global state. `split` and `foldIn` follow JAX's
 * threefry algorithms; the mapping of bits to floats follows JAX for
 * float32 (the top 23 bits as the mantissa).
 *
 * @since 0.1.0
 */
import * as cpu from "./backend/cpu/index.js"
import { ValueError } from "./Errors.js"
import { type DType, optionsObject, ShapedArray } from "./interpreter/aval.js"
import { ArrayValue, type NdArray } from "./interpreter/ndarray.js"
import { isTracer } from "./interpreter/trace.js"
import { randomDraw } from "./primitives/random.js"
import { reshape, slice } from "./primitives/shape.js"

/** A PRNG key: an int32 array of shape [2] holding the two uint32 words. */
export type Key = NdArray

const words = (key: Key, op: string): [number, number] => {
  if (key.dtype !== "int32" || key.ndim !== 1 || key.shape[0] !== 2) {
    throw new ValueError({ op, hint: `a key is an int32 array of shape [2] (from Random.key), got ${key.dtype}[${key.shape.join(", ")}]` })
  }
  const a = key as ArrayValue
  return [a.at(0) >>> 0, a.at(1) >>> 0]
}

/**
 * Draw with `draw` from a concrete key directly; a traced key (inside `jit`
 * or `vmap`) goes through the `random` primitive, which applies the same
 * `draw` once the key's value is known.
 */
const drawing = (k: Key, name: string, out: ShapedArray, draw: (k: Key) => NdArray): NdArray =>
  isTracer(k) ? randomDraw(k, { name, out, draw }) : draw(k)

const makeKey = (k0: number, k1: number): Key => ArrayValue.fromBuffer(Int32Array.of(k0 | 0, k1 | 0), "int32", [2])

/**
 * A key from an integer seed (up to 2⁵³), as `jax.random.key(seed)`.
 *
 * @example
 * const k = Random.key(0)
 * const [k1, k2] = Random.split(k)
 * const w = Random.normal(k1, [784, 100])
 * @category random
 * @since 0.1.0
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new ValueError({ op: "Random.key", hint: `the seed must be a safe integer, got ${seed}` })
  const hi = Math.floor(seed / 2 ** 32) >>> 0
  const lo = seed >>> 0
  return makeKey(seed < 0 ? 0xffffffff : hi, lo)
}

/** Threefry over counters 0..n−1, n rounded up to even: the n uint32 words JAX's `random_bits` produces. */
const bits = (k: [number, number], n: number): Uint32Array => {
  const half = Math.ceil(n / 2)
  const x0 = new Uint32Array(half)
  const x1 = new Uint32Array(half)
  for (let i = 0; i < half; i++) {
    x0[i] = i
    x1[i] = half + i
  }
  const [y0, y1] = cpu.threefry2x32(k[0], k[1], x0, x1)
  const out = new Uint32Array(2 * half)
  out.set(y0, 0)
  out.set(y1, half)
  return n === 2 * half ? out : out.subarray(0, n)
}

/**
 * `n` new independent keys (default 2), as a JavaScript array.
 * @category random
 * @since 0.1.0
 */
export const split = (k: Key, n = 2): Array<Key> => {
  if (!Number.isInteger(n) || n < 1) throw new ValueError({ op: "Random.split", hint: `n must be a positive integer, got ${n}` })
  if (isTracer(k)) {
    const keys = randomDraw(k, { name: "split", out: new ShapedArray([n, 2], "int32"), draw: (c) => ArrayValue.fromBuffer(Int32Array.from(bits(words(c, "Random.split"), 2 * n)), "int32", [n, 2]) })
    return Array.from({ length: n }, (_, i) => reshape(slice(keys, { starts: [i, 0], limits: [i + 1, 2], steps: [1, 1] }), [2]))
  }
  const b = bits(words(k, "Random.split"), 2 * n)
  return Array.from({ length: n }, (_, i) => makeKey(b[2 * i], b[2 * i + 1]))
}

/**
 * A new key derived from `k` and an integer (e.g. a step number).
 * @category random
 * @since 0.1.0
 */
export const foldIn = (k: Key, data: number): Key =>
  drawing(k, "foldIn", new ShapedArray([2], "int32"), (c) => {
    const [k0, k1] = words(c, "Random.foldIn")
    const [y0, y1] = cpu.threefry2x32(k0, k1, Uint32Array.of(0), Uint32Array.of(data >>> 0))
    return makeKey(y0[0], y1[0])
  })

const size = (op: string, shape: ReadonlyArray<number>): number => {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ValueError({ op, hint: `bad shape [${shape.join(", ")}]` })
  return shape.reduce((a, b) => a * b, 1)
}

/** Uniform floats in [0, 1) from the key: float32 from one word, float64 from two. */
const unit = (k: Key, op: string, n: number, dtype: DType): Float64Array => {
  const w = words(k, op)
  const out = new Float64Array(n)
  if (dtype === "float64") {
    const b = bits(w, 2 * n)
    for (let i = 0; i < n; i++) out[i] = cpu.bitsToUniform01Float64(b[2 * i], b[2 * i + 1])
  } else {
    const b = bits(w, n)
    for (let i = 0; i < n; i++) out[i] = cpu.bitsToUniform01(b[i])
  }
  return out
}

/** A checked copy of `shape`: a draw staged by jit keeps it, so a later change to the caller's list cannot reach it. */
const checkShape = (op: string, shape: ReadonlyArray<number>): ReadonlyArray<number> => {
  size(op, shape)
  return shape.slice()
}

const floatDType = (op: string, dtype: DType | undefined): DType => {
  const d = dtype ?? "float32"
  if (d !== "float32" && d !== "float64") throw new ValueError({ op, hint: `dtype must be float32 or float64, got ${d}` })
  return d
}

const uniformDraw = (k: Key, shape: ReadonlyArray<number>, options: { readonly min?: number; readonly max?: number; readonly dtype?: DType } = {}): NdArray => {
  const dtype = floatDType("Random.uniform", options.dtype)
  const lo = options.min ?? 0
  const hi = options.max ?? 1
  const u = unit(k, "Random.uniform", size("Random.uniform", shape), dtype)
  const buffer = cpu.allocate(dtype, u.length)
  for (let i = 0; i < u.length; i++) buffer[i] = Math.min(lo + (hi - lo) * u[i], Math.max(lo, hi - (hi - lo) * Number.EPSILON))
  return ArrayValue.fromBuffer(buffer, dtype, shape)
}

/**
 * Uniform samples in [min, max) (default [0, 1)).
 * @category random
 * @since 0.1.0
 */
export const uniform = (k: Key, shape: ReadonlyArray<number>, opts?: { readonly min?: number; readonly max?: number; readonly dtype?: DType }): NdArray => {
  const options = optionsObject("Random.uniform", opts, "Random.uniform(key, [2, 3], { min: -1, max: 1 })")
  const s = checkShape("Random.uniform", shape)
  return drawing(k, "uniform", new ShapedArray(s, floatDType("Random.uniform", options.dtype)), (c) => uniformDraw(c, s, options))
}

const normalDraw = (k: Key, shape: ReadonlyArray<number>, options: { readonly mean?: number; readonly std?: number; readonly dtype?: DType } = {}): NdArray => {
  const dtype = floatDType("Random.normal", options.dtype)
  const n = size("Random.normal", shape)
  const pairs = Math.ceil(n / 2)
  const u = unit(k, "Random.normal", 2 * pairs, "float64")
  const buffer = cpu.allocate(dtype, n)
  const mean = options.mean ?? 0
  const std = options.std ?? 1
  for (let i = 0; i < pairs; i++) {
    const r = Math.sqrt(-2 * Math.log(1 - u[2 * i])) // 1 − u ∈ (0, 1]
    const t = 2 * Math.PI * u[2 * i + 1]
    buffer[2 * i] = mean + std * r * Math.cos(t)
    if (2 * i + 1 < n) buffer[2 * i + 1] = mean + std * r * Math.sin(t)
  }
  return ArrayValue.fromBuffer(buffer, dtype, shape)
}

/**
 * Normal samples N(mean, std²) (default standard normal), by the Box–Muller transform.
 * @category random
 * @since 0.1.0
 */
export const normal = (k: Key, shape: ReadonlyArray<number>, opts?: { readonly mean?: number; readonly std?: number; readonly dtype?: DType }): NdArray => {
  const options = optionsObject("Random.normal", opts, "Random.normal(key, [2, 3], { std: 0.1 })")
  const s = checkShape("Random.normal", shape)
  return drawing(k, "normal", new ShapedArray(s, floatDType("Random.normal", options.dtype)), (c) => normalDraw(c, s, options))
}

const truncatedNormalDraw = (k: Key, shape: ReadonlyArray<number>, options: { readonly lower?: number; readonly upper?: number; readonly dtype?: DType } = {}): NdArray => {
  const dtype = floatDType("Random.truncatedNormal", options.dtype)
  const lower = options.lower ?? -2
  const upper = options.upper ?? 2
  const n = size("Random.truncatedNormal", shape)
  const out = cpu.allocate(dtype, n)
  let filled = 0
  let round = 0
  while (filled < n) {
    const draw = normal(foldIn(k, round++), [Math.max(2 * (n - filled), 16)], { dtype: "float64" }).data()
    for (let i = 0; i < draw.length && filled < n; i++) if (draw[i] >= lower && draw[i] <= upper) out[filled++] = draw[i]
  }
  return ArrayValue.fromBuffer(out, dtype, shape)
}

/**
 * Normal samples truncated to [lower, upper] standard deviations (by rejection), as used by some initialisers.
 * @category random
 * @since 0.1.0
 */
export const truncatedNormal = (k: Key, shape: ReadonlyArray<number>, opts?: { readonly lower?: number; readonly upper?: number; readonly dtype?: DType }): NdArray => {
  const options = optionsObject("Random.truncatedNormal", opts, "Random.truncatedNormal(key, [2, 3], { lower: -2, upper: 2 })")
  const s = checkShape("Random.truncatedNormal", shape)
  return drawing(k, "truncatedNormal", new ShapedArray(s, floatDType("Random.truncatedNormal", options.dtype)), (c) => truncatedNormalDraw(c, s, options))
}

const bernoulliDraw = (k: Key, p: number, shape: ReadonlyArray<number>): NdArray => {
  if (!(p >= 0 && p <= 1)) throw new ValueError({ op: "Random.bernoulli", hint: `p must be in [0, 1], got ${p}` })
  const u = unit(k, "Random.bernoulli", size("Random.bernoulli", shape), "float32")
  const b = new Uint8Array(u.length)
  for (let i = 0; i < u.length; i++) b[i] = u[i] < p ? 1 : 0
  return ArrayValue.fromBuffer(b, "bool", shape)
}

/**
 * True with probability `p`.
 * @category random
 * @since 0.1.0
 */
export const bernoulli = (k: Key, p: number, shape: ReadonlyArray<number>): NdArray => {
  if (!(p >= 0 && p <= 1)) throw new ValueError({ op: "Random.bernoulli", hint: `p must be in [0, 1], got ${p}` })
  const s = checkShape("Random.bernoulli", shape)
  return drawing(k, "bernoulli", new ShapedArray(s, "bool"), (c) => bernoulliDraw(c, p, s))
}

const randintDraw = (k: Key, shape: ReadonlyArray<number>, min: number, max: number): NdArray => {
  if (!Number.isInteger(min) || !Number.isInteger(max) || max <= min) throw new ValueError({ op: "Random.randint", hint: `need integers min < max, got ${min}, ${max}` })
  const u = unit(k, "Random.randint", size("Random.randint", shape), "float64")
  const b = new Int32Array(u.length)
  for (let i = 0; i < u.length; i++) b[i] = min + Math.floor(u[i] * (max - min))
  return ArrayValue.fromBuffer(b, "int32", shape)
}

/**
 * Integers uniform in [min, max) (int32).
 * @category random
 * @since 0.1.0
 */
export const randint = (k: Key, shape: ReadonlyArray<number>, min: number, max: number): NdArray => {
  if (!Number.isInteger(min) || !Number.isInteger(max) || max <= min) throw new ValueError({ op: "Random.randint", hint: `need integers min < max, got ${min}, ${max}` })
  const s = checkShape("Random.randint", shape)
  return drawing(k, "randint", new ShapedArray(s, "int32"), (c) => randintDraw(c, s, min, max))
}

const permutationDraw = (k: Key, n: number): NdArray => {
  if (!Number.isInteger(n) || n < 0) throw new ValueError({ op: "Random.permutation", hint: `n must be a non-negative integer, got ${n}` })
  const u = unit(k, "Random.permutation", n, "float64")
  const p = new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1))
    const t = p[i]
    p[i] = p[j]
    p[j] = t
  }
  return ArrayValue.fromBuffer(p, "int32", [n])
}

/**
 * A random permutation of 0..n−1 (int32), or of the first axis of an array.
 * @category random
 * @since 0.1.0
 */
export const permutation = (k: Key, n: number): NdArray => {
  if (!Number.isInteger(n) || n < 0) throw new ValueError({ op: "Random.permutation", hint: `n must be a non-negative integer, got ${n}` })
  return drawing(k, "permutation", new ShapedArray(checkShape("Random.permutation", [n]), "int32"), (c) => permutationDraw(c, n))
}
