/**
 * The primitive table. Every primitive in `allPrimitives` must have an entry
 * here that builds random float64 inputs in its domain (and random params
 * for the structural ones); each entry is checked for:
 *
 * (a) JVP against central differences in float64 (eps 1e-6, along a random
 *     tangent) — or, for a piecewise-constant or integer/bool-valued
 *     primitive, that its tangent is exactly zero;
 * (b) adjointness: ⟨ct, J t⟩ from `jvp` equals ⟨Jᵀ ct, t⟩ from `vjp`, and
 *     for linear primitives the `transpose` rule itself, called directly:
 *     ⟨ct, L t⟩ = ⟨Lᵀ ct, t⟩ with L t = f(t) − f(0);
 * (c) `vmap` against a loop (stack of per-example results) with inAxes 0,
 *     with non-zero (and negative) axes, and with some arguments unbatched;
 * (d) `abstractEval` agrees with what `impl` returns (shape, dtype, buffer).
 *
 * A primitive added to `allPrimitives` without an entry fails loudly.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import * as Random from "../src/Random.js"
import { isFloat, ShapedArray } from "../src/interpreter/aval.js"
import { type ArrayValue, definePrimitive, type Primitive, UndefPrimal } from "../src/interpreter/primitive.js"
import { bind1 } from "../src/interpreter/trace.js"
import { elementwiseBatch } from "../src/primitives/batching.js"
import * as P from "../src/primitives/index.js"
import { allPrimitives } from "../src/primitives/index.js"
import { jvp, vjp, vmap } from "../src/transforms/api.js"

type NdArray = ReturnType<typeof NdArray.zeros>
type DType = NdArray.DType

// ---------------------------------------------------------------------------
// Random inputs

type Rng = () => number

const mulberry32 = (seed: number): Rng => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))
const pick = <A>(r: Rng, xs: ReadonlyArray<A>): A => xs[Math.floor(r() * xs.length)]
const randShape = (r: Rng, minRank: number, maxRank: number, maxDim = 3) => Array.from({ length: int(r, minRank, maxRank) }, () => int(r, 1, maxDim))
const subset = (r: Rng, n: number, nonEmpty = false): Array<number> => {
  const s = Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.5)
  return nonEmpty && s.length === 0 && n > 0 ? [int(r, 0, n - 1)] : s
}

const fromValues = (shape: ReadonlyArray<number>, f: (i: number) => number, dtype: DType = "float64"): NdArray => {
  const n = sizeOf(shape)
  const data = dtype === "int32" ? new Int32Array(n) : dtype === "bool" ? new Uint8Array(n) : dtype === "float32" ? new Float32Array(n) : new Float64Array(n)
  for (let i = 0; i < n; i++) data[i] = f(i)
  return NdArray.array(data, { shape, dtype })
}
const uniform = (r: Rng, shape: ReadonlyArray<number>, lo = -2, hi = 2, dtype: DType = "float64") => fromValues(shape, () => lo + (hi - lo) * r(), dtype)
/** Magnitudes in [lo, hi], random signs: away from a kink or pole at 0. */
const away = (r: Rng, shape: ReadonlyArray<number>, lo = 0.3, hi = 2) => fromValues(shape, () => (r() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r()))
const ints = (r: Rng, shape: ReadonlyArray<number>, lo: number, hi: number) => fromValues(shape, () => int(r, lo, hi), "int32")
const bools = (r: Rng, shape: ReadonlyArray<number>) => fromValues(shape, () => (r() < 0.5 ? 1 : 0), "bool")
/** Values on a coarse grid, so comparisons meet ties. */
const grid = (r: Rng, shape: ReadonlyArray<number>) => fromValues(shape, () => int(r, -2, 2) / 2)
const withSpecials = (r: Rng, shape: ReadonlyArray<number>) => fromValues(shape, () => (r() < 0.3 ? pick(r, [NaN, Infinity, -Infinity]) : 4 * r() - 2))
/** Well-conditioned square matrices: nI + noise. */
const wellConditioned = (r: Rng, shape: ReadonlyArray<number>) => {
  const n = shape[shape.length - 1]
  return fromValues(shape, (i) => (Math.floor(i / n) % n === i % n ? n + 1 : 0) + r() - 0.5)
}

// ---------------------------------------------------------------------------
// The table

interface Setup {
  readonly params: unknown
  /** One example's arguments (fresh values, same shapes/dtypes each call). */
  readonly make: (r: Rng) => Array<NdArray>
  /** Overrides the entry's `diff`. */
  readonly diff?: ReadonlyArray<number>
  /** Finite-difference step and tolerance (default 1e-6, 1e-6). */
  readonly eps?: number
  readonly tol?: number
}

interface Entry {
  readonly setup: (r: Rng) => Setup
  /** Arguments in which the primitive is differentiable on the sampled domain; absent: its tangent is zero. */
  readonly diff?: ReadonlyArray<number>
  /** Arguments in which a linear primitive is linear (default `diff`). */
  readonly linearIn?: ReadonlyArray<number>
}

const none = {}

const unary = (gen: (r: Rng, shape: Array<number>) => NdArray, differentiable = true): Entry => ({
  setup: (r) => {
    const shape = randShape(r, 0, 3)
    return { params: none, make: (q) => [gen(q, shape)] }
  },
  ...(differentiable ? { diff: [0] } : {})
})

const binary = (gen: (r: Rng, shape: Array<number>) => [NdArray, NdArray], diff?: ReadonlyArray<number>, linearIn?: ReadonlyArray<number>): Entry => ({
  setup: (r) => {
    const shape = randShape(r, 0, 3)
    return { params: none, make: (q) => gen(q, shape) }
  },
  ...(diff ? { diff } : {}),
  ...(linearIn ? { linearIn } : {})
})

const reduction = (gen: (r: Rng, shape: Array<number>) => NdArray): Entry => ({
  setup: (r) => {
    const shape = randShape(r, 1, 3)
    return { params: { axes: subset(r, shape.length, true) }, make: (q) => [gen(q, shape)] }
  },
  diff: [0]
})

/** [N, C, H, W] image size and im2col params whose output is non-empty. */
const patchSetup = (r: Rng) => {
  for (;;) {
    const [n, c, h, w] = [int(r, 1, 2), int(r, 1, 2), int(r, 1, 5), int(r, 1, 5)]
    const p = {
      kh: int(r, 1, 3),
      kw: int(r, 1, 3),
      strideH: int(r, 1, 2),
      strideW: int(r, 1, 2),
      dilationH: int(r, 1, 2),
      dilationW: int(r, 1, 2),
      padTop: int(r, 0, 1),
      padBottom: int(r, 0, 1),
      padLeft: int(r, 0, 1),
      padRight: int(r, 0, 1)
    }
    const oh = Math.floor((h + p.padTop + p.padBottom - p.dilationH * (p.kh - 1) - 1) / p.strideH) + 1
    const ow = Math.floor((w + p.padLeft + p.padRight - p.dilationW * (p.kw - 1) - 1) / p.strideW) + 1
    if (oh > 0 && ow > 0) return { n, c, h, w, oh, ow, p }
  }
}

const table: Record<string, Entry> = {
  neg: unary((r, s) => uniform(r, s)),
  exp: unary((r, s) => uniform(r, s)),
  log: unary((r, s) => uniform(r, s, 0.2, 3)),
  log1p: unary((r, s) => uniform(r, s, -0.5, 3)),
  expm1: unary((r, s) => uniform(r, s)),
  sqrt: unary((r, s) => uniform(r, s, 0.2, 3)),
  sin: unary((r, s) => uniform(r, s, -3, 3)),
  cos: unary((r, s) => uniform(r, s, -3, 3)),
  tan: unary((r, s) => uniform(r, s, -1.2, 1.2)),
  atan: unary((r, s) => uniform(r, s, -3, 3)),
  tanh: unary((r, s) => uniform(r, s)),
  logistic: unary((r, s) => uniform(r, s, -4, 4)),
  erf: unary((r, s) => uniform(r, s)),
  abs: unary((r, s) => away(r, s)),
  sign: unary((r, s) => uniform(r, s), false),
  floor: unary((r, s) => uniform(r, s, -3, 3), false),
  ceil: unary((r, s) => uniform(r, s, -3, 3), false),
  round: unary((r, s) => uniform(r, s, -3, 3), false),
  not: unary((r, s) => bools(r, s), false),
  isnan: unary((r, s) => withSpecials(r, s), false),
  isfinite: unary((r, s) => withSpecials(r, s), false),

  add: binary((r, s) => [uniform(r, s), uniform(r, s)], [0, 1]),
  sub: binary((r, s) => [uniform(r, s), uniform(r, s)], [0, 1]),
  mul: binary((r, s) => [uniform(r, s), uniform(r, s)], [0, 1]),
  div: binary((r, s) => [uniform(r, s), away(r, s, 0.5, 2)], [0, 1], [0]),
  pow: binary((r, s) => [uniform(r, s, 0.5, 2), uniform(r, s)], [0, 1]),
  max: binary((r, s) => {
    const x = uniform(r, s)
    return [x, NdArray.add(x, away(r, s, 0.1, 1))]
  }, [0, 1]),
  min: binary((r, s) => {
    const x = uniform(r, s)
    return [x, NdArray.add(x, away(r, s, 0.1, 1))]
  }, [0, 1]),
  atan2: binary((r, s) => [away(r, s), away(r, s)], [0, 1]),
  mod: binary((r, s) => {
    // x / y stays away from integers, where mod jumps
    const y = away(r, s, 0.5, 2)
    const q = fromValues(s, () => int(r, -3, 3) + 0.1 + 0.8 * r())
    return [NdArray.mul(y, q), y]
  }, [0, 1]),
  eq: binary((r, s) => [grid(r, s), grid(r, s)]),
  ne: binary((r, s) => [grid(r, s), grid(r, s)]),
  lt: binary((r, s) => [grid(r, s), grid(r, s)]),
  le: binary((r, s) => [grid(r, s), grid(r, s)]),
  gt: binary((r, s) => [grid(r, s), grid(r, s)]),
  ge: binary((r, s) => [grid(r, s), grid(r, s)]),
  and: binary((r, s) => [bools(r, s), bools(r, s)]),
  or: binary((r, s) => [bools(r, s), bools(r, s)]),
  xor: binary((r, s) => [bools(r, s), bools(r, s)]),

  select: {
    setup: (r) => {
      const s = randShape(r, 0, 3)
      return { params: none, make: (q) => [bools(q, s), uniform(q, s), uniform(q, s)] }
    },
    diff: [1, 2]
  },
  convert: {
    setup: (r) => {
      const s = randShape(r, 0, 3)
      const [from, to] = pick(r, [
        ["float64", "float32"],
        ["float32", "float64"],
        ["float64", "int32"],
        ["float64", "bool"],
        ["int32", "float64"],
        ["bool", "float64"]
      ] as const)
      const make = (q: Rng) => [from === "int32" ? ints(q, s, -5, 5) : from === "bool" ? bools(q, s) : uniform(q, s, -3, 3, from)]
      // float32 at either end: finite differences need a larger step (exact for a linear map up to rounding)
      return { params: { dtype: to }, make, diff: isFloat(from) && isFloat(to) ? [0] : [], eps: 1e-2, tol: 1e-4 }
    }
  },
  stop_gradient: unary((r, s) => uniform(r, s), false),

  reduce_sum: reduction((r, s) => uniform(r, s)),
  reduce_max: reduction((r, s) => uniform(r, s)),
  reduce_min: reduction((r, s) => uniform(r, s)),
  reduce_prod: reduction((r, s) => away(r, s, 0.5, 1.5)),
  arg_reduce: {
    setup: (r) => {
      const s = randShape(r, 1, 3)
      return { params: { axis: int(r, 0, s.length - 1), op: pick(r, ["argmax", "argmin"] as const) }, make: (q) => [grid(q, s)] }
    }
  },

  reshape: {
    setup: (r) => {
      const s = randShape(r, 0, 3)
      const n = sizeOf(s)
      const divisors = Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0)
      const d = pick(r, divisors)
      return { params: { shape: pick(r, [[n], [d, n / d], [n / d, 1, d]]) }, make: (q) => [uniform(q, s)] }
    },
    diff: [0]
  },
  broadcast_to: {
    setup: (r) => {
      const target = randShape(r, 1, 3)
      const s = target.slice(int(r, 0, target.length)).map((d) => (r() < 0.4 ? 1 : d))
      return { params: { shape: target }, make: (q) => [uniform(q, s)] }
    },
    diff: [0]
  },
  transpose: {
    setup: (r) => {
      const s = randShape(r, 0, 4)
      const perm = s.map((_, i) => i).sort(() => r() - 0.5)
      return { params: { perm }, make: (q) => [uniform(q, s)] }
    },
    diff: [0]
  },
  slice: {
    setup: (r) => {
      const s = randShape(r, 1, 3, 5)
      const starts = s.map((d) => int(r, 0, d - 1))
      const limits = s.map((d, i) => int(r, starts[i], d))
      const steps = s.map(() => int(r, 1, 3))
      return { params: { starts, limits, steps }, make: (q) => [uniform(q, s)] }
    },
    diff: [0]
  },
  pad: {
    setup: (r) => {
      const s = randShape(r, 0, 3)
      const params = { low: s.map(() => int(r, 0, 2)), high: s.map(() => int(r, 0, 2)), interior: s.map(() => int(r, 0, 2)), value: pick(r, [0, 1.5]) }
      return { params, make: (q) => [uniform(q, s)] }
    },
    diff: [0]
  },
  concatenate: {
    setup: (r) => {
      const s = randShape(r, 1, 3)
      const axis = int(r, 0, s.length - 1)
      const sizes = Array.from({ length: int(r, 1, 3) }, () => int(r, 0, 3))
      return {
        params: { axis },
        make: (q) => sizes.map((n) => uniform(q, s.map((d, i) => (i === axis ? n : d)))),
        diff: sizes.map((_, i) => i)
      }
    }
  },
  rev: {
    setup: (r) => {
      const s = randShape(r, 0, 3)
      return { params: { axes: subset(r, s.length) }, make: (q) => [uniform(q, s)] }
    },
    diff: [0]
  },
  random: {
    setup: (r) => {
      const s = randShape(r, 0, 2)
      const [name, draw] = pick(r, [
        ["uniform", (k: NdArray) => Random.uniform(k, s, { dtype: "float64" })],
        ["normal", (k: NdArray) => Random.normal(k, s, { dtype: "float64" })],
        ["bernoulli", (k: NdArray) => Random.bernoulli(k, 0.3, s)],
        ["randint", (k: NdArray) => Random.randint(k, s, -3, 9)]
      ] as const)
      const out = draw(Random.key(0)).aval
      return { params: { name, out, draw }, make: (q) => [ints(q, [2], -(2 ** 31), 2 ** 31 - 1)] }
    }
  },
  gather: {
    setup: (r) => {
      const s = randShape(r, 1, 3)
      const axis = int(r, 0, s.length - 1)
      const n = s[axis]
      const idxShape = randShape(r, 0, 2)
      return { params: { axis }, make: (q) => [uniform(q, s), ints(q, idxShape, -n, n - 1)] }
    },
    diff: [0]
  },
  scatter_add: {
    setup: (r) => {
      const s = randShape(r, 1, 3)
      const axis = int(r, 0, s.length - 1)
      const n = s[axis]
      const idxShape = randShape(r, 0, 2)
      const uShape = [...s.slice(0, axis), ...idxShape, ...s.slice(axis + 1)]
      return { params: { axis, axisSize: n }, make: (q) => [uniform(q, uShape), ints(q, idxShape, -n, n - 1)] }
    },
    diff: [0]
  },
  matmul: {
    setup: (r) => {
      const batch = randShape(r, 0, 2)
      const [m, k, n] = [int(r, 1, 3), int(r, 1, 3), int(r, 1, 3)]
      return { params: none, make: (q) => [uniform(q, [...batch, m, k]), uniform(q, [...batch, k, n])] }
    },
    diff: [0, 1]
  },
  im2col: {
    setup: (r) => {
      const { n, c, h, w, p } = patchSetup(r)
      return { params: { ...p, padValue: pick(r, [0, -1.5]) }, make: (q) => [uniform(q, [n, c, h, w])] }
    },
    diff: [0]
  },
  col2im: {
    setup: (r) => {
      const { n, c, h, w, oh, ow, p } = patchSetup(r)
      return { params: { ...p, padValue: 0, h, w }, make: (q) => [uniform(q, [n, c, p.kh, p.kw, oh, ow])] }
    },
    diff: [0]
  },
  max_pool: {
    setup: (r) => {
      const { n, c, h, w, p } = patchSetup(r)
      return { params: { ...p, padValue: -1.5 }, make: (q) => [uniform(q, [n, c, h, w])] } // a finite pad value: a window of padding only would make the central difference inf − inf
    },
    diff: [0]
  },
  pool_select: {
    setup: (r) => {
      const { n, c, h, w, p } = patchSetup(r)
      // x on a coarse grid: windows with tied maxima share the tangent
      return { params: { ...p, padValue: pick(r, [-Infinity, 0]) }, make: (q) => [grid(q, [n, c, h, w]), uniform(q, [n, c, h, w])] }
    },
    diff: [1]
  },
  pool_scatter: {
    setup: (r) => {
      const { n, c, h, w, oh, ow, p } = patchSetup(r)
      return { params: { ...p, padValue: pick(r, [-Infinity, 0]) }, make: (q) => [grid(q, [n, c, h, w]), uniform(q, [n, c, oh, ow])] }
    },
    diff: [1]
  },
  solve: {
    setup: (r) => {
      const batch = randShape(r, 0, 1)
      const [n, k] = [int(r, 1, 3), int(r, 1, 3)]
      return { params: none, make: (q) => [wellConditioned(q, [...batch, n, n]), uniform(q, [...batch, n, k])] }
    },
    diff: [0, 1],
    linearIn: [1]
  },
  det: {
    setup: (r) => {
      const batch = randShape(r, 0, 1)
      const n = int(r, 1, 3)
      return { params: none, make: (q) => [wellConditioned(q, [...batch, n, n])] }
    },
    diff: [0]
  }
}

// ---------------------------------------------------------------------------
// Checks

const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const numRuns = 25

const flat = (x: NdArray) => Array.from(x.data(), Number)
const inner = (a: NdArray, b: NdArray) => {
  const av = flat(a)
  const bv = flat(b)
  expect(av.length).toBe(bv.length)
  return av.reduce((s, v, i) => s + v * bv[i], 0)
}
const magnitude = (a: NdArray, b: NdArray) => {
  const av = flat(a)
  const bv = flat(b)
  return av.reduce((s, v, i) => s + Math.abs(v * bv[i]), 0)
}

const expectAllClose = (got: NdArray, want: NdArray, tol: number, what: string) => {
  expect(got.shape).toEqual(want.shape)
  const g = flat(got)
  const w = flat(want)
  g.forEach((v, i) => {
    const ok = v === w[i] || (Number.isNaN(v) && Number.isNaN(w[i])) || Math.abs(v - w[i]) <= tol * (1 + Math.abs(w[i]))
    if (!ok) expect.fail(`${what}: element ${i} is ${v}, expected ${w[i]}`)
  })
}

/** A random tangent/cotangent like `x` (float64 values in the dtype of x). */
const randomLike = (r: Rng, x: { shape: ReadonlyArray<number>; dtype: DType }) => uniform(r, x.shape, -1, 1, x.dtype)

interface Instance {
  readonly prim: Primitive<any>
  readonly entry: Entry
  readonly setup: Setup
  readonly args: Array<NdArray>
  readonly diff: ReadonlyArray<number>
  readonly r: Rng
}

const instance = (prim: Primitive<any>, entry: Entry, seed: number): Instance => {
  const r = mulberry32(seed)
  const setup = entry.setup(r)
  const args = setup.make(r)
  return { prim, entry, setup, args, diff: setup.diff ?? entry.diff ?? [], r }
}

const apply = (prim: Primitive<any>, params: unknown) => (...xs: Array<NdArray>): NdArray => bind1(prim, xs, params)

/** The primitive as a function of the arguments in `which`, the others fixed. */
const partial = (inst: Instance, which: ReadonlyArray<number>) => (...xs: Array<NdArray>): NdArray => {
  const full = inst.args.slice()
  which.forEach((k, j) => (full[k] = xs[j]))
  return apply(inst.prim, inst.setup.params)(...full)
}

/** (a) JVP against central differences along a random tangent. */
const checkJvp = (inst: Instance) => {
  const { args, diff, r } = inst
  const xs = diff.map((k) => args[k])
  const ts = xs.map((x) => randomLike(r, x))
  const f = partial(inst, diff)
  const [y, yDot] = jvp(f, xs, ts) as unknown as [NdArray, NdArray]
  expectAllClose(y, f(...xs), 0, "primal output of jvp")
  const eps = inst.setup.eps ?? 1e-6
  const plus = f(...xs.map((x, i) => NdArray.add(x, NdArray.mul(ts[i], eps))))
  const minus = f(...xs.map((x, i) => NdArray.sub(x, NdArray.mul(ts[i], eps))))
  const fd = NdArray.div(NdArray.sub(NdArray.astype(plus, "float64"), NdArray.astype(minus, "float64")), 2 * eps)
  expectAllClose(NdArray.astype(yDot, "float64"), fd, inst.setup.tol ?? 1e-6, `${inst.prim.name}: JVP vs central differences`)
}

/** Non-differentiable: the tangent is exactly zero for any input tangent. */
const checkZeroTangent = (inst: Instance) => {
  const floats = inst.args.flatMap((a, i) => (isFloat(a.dtype) ? [i] : []))
  if (floats.length === 0) return
  const xs = floats.map((k) => inst.args[k])
  const [, yDot] = jvp(partial(inst, floats), xs, xs.map((x) => randomLike(inst.r, x))) as unknown as [NdArray, NdArray]
  expect(flat(yDot).every((v) => v === 0)).toBe(true)
}

/** (b) ⟨ct, J t⟩ (forward mode) = ⟨Jᵀ ct, t⟩ (reverse mode). */
const checkJvpVjpAdjoint = (inst: Instance) => {
  const { args, diff, r } = inst
  const xs = diff.map((k) => args[k])
  const ts = xs.map((x) => randomLike(r, x))
  const f = partial(inst, diff)
  const [, yDot] = jvp(f, xs, ts) as unknown as [NdArray, NdArray]
  const [y, back] = vjp(f, ...xs)
  const ct = randomLike(r, y as NdArray)
  const cts = back(ct) as Array<NdArray>
  cts.forEach((c, i) => {
    expect(c.shape).toEqual(xs[i].shape)
    expect(c.dtype).toBe(xs[i].dtype)
  })
  const lhs = inner(ct, yDot)
  const rhs = cts.reduce((s, c, i) => s + inner(c, ts[i]), 0)
  const scale = magnitude(ct, yDot) + cts.reduce((s, c, i) => s + magnitude(c, ts[i]), 0)
  const tol = inst.setup.tol !== undefined ? inst.setup.tol : 1e-10
  if (Math.abs(lhs - rhs) > tol * (1 + scale)) expect.fail(`${inst.prim.name}: ⟨ct, J t⟩ = ${lhs} but ⟨Jᵀ ct, t⟩ = ${rhs}`)
}

/** (b) The linear primitive's own transpose rule: ⟨ct, L t⟩ = ⟨Lᵀ ct, t⟩ with L t = f(t) − f(0) (the other arguments fixed). */
const checkTransposeRule = (inst: Instance) => {
  const { prim, args, r } = inst
  const linearIn = inst.entry.linearIn ?? inst.diff
  for (const k of linearIn) {
    const t = randomLike(r, args[k])
    const f = partial(inst, [k])
    const lt = NdArray.sub(f(t), f(NdArray.zerosLike(t)))
    const ct = randomLike(r, lt)
    const withUndef = args.map((a, i) => (i === k ? new UndefPrimal(a.aval) : a))
    const cts = prim.transpose!([ct], withUndef, inst.setup.params)
    const xBar = cts[k]
    expect(xBar).not.toBeNull()
    expect(xBar!.shape).toEqual(args[k].shape)
    const lhs = inner(ct, lt)
    const rhs = inner(xBar!, t)
    const tol = inst.setup.tol !== undefined ? inst.setup.tol : 1e-10
    if (Math.abs(lhs - rhs) > tol * (1 + magnitude(ct, lt) + magnitude(xBar!, t))) {
      expect.fail(`${prim.name}: transpose in argument ${k}: ⟨ct, L t⟩ = ${lhs} but ⟨Lᵀ ct, t⟩ = ${rhs}`)
    }
  }
}

const B = 3

/** (c) vmap against a loop, for one choice of in-axes per argument (null: shared, unbatched). */
const checkVmap = (inst: Instance, axesFor: (x: NdArray, i: number) => number | null) => {
  const { args, r, prim, setup } = inst
  const f = apply(prim, setup.params)
  const axes: Array<number | null> = args.map(axesFor)
  if (axes.filter((a) => a !== null).length === 0) axes[0] = 0
  const examples = Array.from({ length: B }, () => setup.make(r))
  // unbatched arguments are shared by every example
  examples.forEach((ex) => axes.forEach((a, i) => a === null && (ex[i] = args[i])))
  const batched = args.map((_, i) => (axes[i] === null ? args[i] : NdArray.stack(examples.map((ex) => ex[i]), axes[i]!)))
  const expected = NdArray.stack(examples.map((ex) => f(...ex)))
  const got = vmap(f, { inAxes: axes })(...batched)
  expect(got.dtype).toBe(expected.dtype)
  expectAllClose(got, expected, 1e-12, `${prim.name}: vmap with inAxes ${JSON.stringify(axes)}`)
}

/** (d) abstractEval agrees with impl. */
const checkAbstractEval = (inst: Instance) => {
  const { prim, args, setup } = inst
  const [aval] = prim.abstractEval(
    args.map((a) => a.aval),
    setup.params
  )
  const [out] = prim.impl(args as any, setup.params)
  expect(out.shape).toEqual(aval.shape)
  expect(out.dtype).toBe(aval.dtype)
  const data = out.data()
  expect(data.length).toBe(sizeOf(aval.shape))
  const expectedBuffer = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array }[aval.dtype]
  expect(data).toBeInstanceOf(expectedBuffer)
  if (aval.dtype === "bool") expect(Array.from(data).every((v) => v === 0 || v === 1)).toBe(true)
}

// ---------------------------------------------------------------------------

describe("the primitive table", () => {
  it("has an entry for every primitive in allPrimitives, and no stale ones", () => {
    const names = allPrimitives.map((p) => p.name)
    const missing = names.filter((n) => !(n in table))
    expect(missing, `add entries to the table in Primitives.test.ts for: ${missing.join(", ")}`).toEqual([])
    expect(Object.keys(table).filter((n) => !names.includes(n))).toEqual([])
    expect(new Set(names).size).toBe(names.length)
  })

  it("n-ary elementwise primitives reject operands of different shapes (the public ops broadcast first)", () => {
    const byName = (name: string) => allPrimitives.find((p) => p.name === name)!
    const x = NdArray.ones([1])
    const y = NdArray.ones([3])
    expect(() => bind1(byName("add"), [x, y], {})).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => bind1(byName("lt"), [y, x], {})).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => bind1(byName("select"), [NdArray.ones([3], { dtype: "bool" }), x, y], {})).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(NdArray.add(x, y).shape).toEqual([3])
  })

  it("every linear primitive has a transpose rule", () => {
    for (const p of allPrimitives) if (p.linear) expect(p.transpose, p.name).toBeTypeOf("function")
  })
})

for (const prim of allPrimitives) {
  const entry = table[prim.name]
  describe(`primitive ${prim.name}`, () => {
    if (entry === undefined) {
      it("has a table entry", () => expect.fail(`no entry for primitive ${prim.name} in Primitives.test.ts`))
      return
    }
    const prop = (check: (inst: Instance) => void) => () =>
      fc.assert(
        fc.property(seedArb, (seed) => check(instance(prim, entry, seed))),
        { numRuns }
      )

    it("(a) JVP matches central differences, or the tangent is zero", prop((inst) => (inst.diff.length > 0 ? checkJvp(inst) : checkZeroTangent(inst))))

    it("(b) ⟨ct, J t⟩ from jvp equals ⟨Jᵀ ct, t⟩ from vjp", prop((inst) => {
      if (inst.diff.length > 0) checkJvpVjpAdjoint(inst)
    }))

    if (prim.linear) {
      it("(b) its transpose rule is the adjoint of the linear map", prop((inst) => {
        if ((inst.entry.linearIn ?? inst.diff).length > 0) checkTransposeRule(inst)
      }))
    }

    it("(c) vmap with inAxes 0 equals a loop", prop((inst) => checkVmap(inst, () => 0)))

    it("(c) vmap with non-zero and negative inAxes equals a loop", prop((inst) =>
        // even arguments: the batch axis last; odd ones: −1 or −2 (counted on the batched array)
        checkVmap(inst, (x, i) => (i % 2 === 0 ? x.ndim : -1 - int(inst.r, 0, Math.min(1, x.ndim))))
      ))

    it("(c) vmap with some arguments unbatched (inAxes null) equals a loop", prop((inst) => checkVmap(inst, (x) => (inst.r() < 0.5 ? null : int(inst.r, 0, x.ndim)))))

    it("(d) abstractEval agrees with impl", prop(checkAbstractEval))
  })
}

// ---------------------------------------------------------------------------
// The checks themselves must catch wrong rules: deliberately broken primitives.

describe("the checks catch broken rules", () => {
  const run = (prim: Primitive<any>, entry: Entry, check: (inst: Instance) => void) => check(instance(prim, entry, 7))
  const vector: Entry = { setup: () => ({ params: {}, make: (q) => [uniform(q, [2, 3])] }), diff: [0] }

  it("a wrong JVP rule fails (a)", () => {
    const BadSin: Primitive<{}> = definePrimitive<{}>({
      name: "bad_sin",
      abstractEval: ([x]) => [x],
      impl: ([x]) => [P.sin(x) as ArrayValue],
      jvp: ([x], [t]) => [[bind1(BadSin, [x], {})], [P.mul(t!, P.sin(x))]], // should be cos
      batch: elementwiseBatch
    })
    expect(() => run(BadSin, vector, checkJvp)).toThrow(/central differences/)
  })

  it("a wrong transpose rule fails (b)", () => {
    const Double: Primitive<{}> = definePrimitive<{}>({
      name: "double",
      abstractEval: ([x]) => [x],
      impl: ([x]) => [P.mul(x, 2) as ArrayValue],
      jvp: ([x], [t]) => [[bind1(Double, [x], {})], [bind1(Double, [t!], {})]],
      linear: true,
      transpose: ([ct]) => [P.mul(ct!, 3)], // should be 2
      batch: elementwiseBatch
    })
    expect(() => run(Double, vector, checkTransposeRule)).toThrow(/transpose/)
    expect(() => run(Double, vector, checkJvpVjpAdjoint)).toThrow(/Jᵀ ct/)
  })

  it("a wrong batching rule fails (c)", () => {
    const SumFirst: Primitive<{}> = definePrimitive<{}>({
      name: "sum_first",
      abstractEval: ([x]) => [new ShapedArray(x.shape.slice(1), x.dtype)],
      impl: ([x]) => [P.reduceSum(x, [0]) as ArrayValue],
      jvp: ([x], [t]) => [[bind1(SumFirst, [x], {})], [bind1(SumFirst, [t!], {})]],
      batch: ([x], [d]) => [[P.reduceSum(x, [0])], [d]] // forgets to skip the batch dim
    })
    expect(() => run(SumFirst, vector, (inst) => checkVmap(inst, () => 0))).toThrow()
  })

  it("an abstractEval that disagrees with impl fails (d)", () => {
    const Lying: Primitive<{}> = definePrimitive<{}>({
      name: "lying",
      abstractEval: ([x]) => [new ShapedArray(x.shape, "float32")],
      impl: ([x]) => [P.neg(x) as ArrayValue], // keeps float64
      jvp: ([x], [t]) => [[bind1(Lying, [x], {})], [P.neg(t!)]],
      batch: elementwiseBatch
    })
    expect(() => run(Lying, vector, checkAbstractEval)).toThrow()
  })
})
