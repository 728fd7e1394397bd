// The WebAssembly SIMD elementwise loops against the JavaScript loops, bit for
// bit: random expression trees over every op with a SIMD form, run under `jit`
// (fused into one loop) and eagerly (one op per loop) on the wasm backend,
// compared with the same function on the "js" backend.
import * as fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { jit, NdArray as N, type NdArray, setBackend } from "@gradfx/core"
import { simdStats, simdPlan } from "../../../src/backend/wasm/fused.js"
import { wasmAvailable } from "../../../src/backend/wasm/index.js"

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))

/** Values that exercise every rule: ties, ±0, NaN, ±∞, subnormals, halves (rounding), negatives. */
const specials = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3, NaN, Infinity, -Infinity, 1e-40, -1e-45, 1e-310, 7.25, -7.75, 1e30]

type Tree = (xs: ReadonlyArray<NdArray>) => NdArray

/** A random expression over the leaves, from a seed (deterministic). */
const randomTree = (seed: number, leaves: number): { f: Tree; text: string } => {
  let s = seed >>> 0 || 1
  const rand = (n: number) => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) % n
  }
  const num = (depth: number): { f: Tree; text: string } => {
    if (depth === 0 || (depth < 4 && rand(4) === 0)) {
      const i = rand(leaves)
      return { f: (xs) => xs[i], text: `$${i}` }
    }
    const a = num(depth - 1)
    const b = num(depth - 1)
    const ops: Array<[string, (x: NdArray, y: NdArray) => NdArray]> = [
      ["add", N.add],
      ["sub", N.sub],
      ["mul", N.mul],
      ["div", N.div],
      ["max", N.maximum],
      ["min", N.minimum]
    ]
    const un: Array<[string, (x: NdArray) => NdArray]> = [
      ["neg", N.neg],
      ["abs", N.abs],
      ["sqrt", N.sqrt],
      ["floor", N.floor],
      ["ceil", N.ceil],
      ["round", N.round],
      ["square", N.square],
      ["reciprocal", N.reciprocal],
      ["exp", N.exp],
      ["sigmoid", N.sigmoid]
    ]
    switch (rand(4)) {
      case 0: {
        const [name, op] = un[rand(un.length)]
        return { f: (xs) => op(a.f(xs)), text: `${name}(${a.text})` }
      }
      case 1: {
        const c = mask(depth - 1)
        return { f: (xs) => N.where(c.f(xs), a.f(xs), b.f(xs)), text: `where(${c.text},${a.text},${b.text})` }
      }
      case 2: {
        const c = mask(depth - 1)
        return { f: (xs) => N.astype(c.f(xs), a.f(xs).dtype), text: `cast(${c.text})` }
      }
      default: {
        const [name, op] = ops[rand(ops.length)]
        return { f: (xs) => op(a.f(xs), b.f(xs)), text: `${name}(${a.text},${b.text})` }
      }
    }
  }
  const mask = (depth: number): { f: Tree; text: string } => {
    const a = num(Math.max(0, depth - 1))
    const b = num(Math.max(0, depth - 1))
    const cmps: Array<[string, (x: NdArray, y: NdArray) => NdArray]> = [
      ["eq", N.equal],
      ["ne", N.notEqual],
      ["lt", N.less],
      ["le", N.lessEqual],
      ["gt", N.greater],
      ["ge", N.greaterEqual]
    ]
    switch (rand(5)) {
      case 0:
        return { f: (xs) => N.isNan(a.f(xs)), text: `isnan(${a.text})` }
      case 1:
        return { f: (xs) => N.isFinite(a.f(xs)), text: `isfinite(${a.text})` }
      case 2: {
        const c = mask(depth - 1)
        return { f: (xs) => N.logicalNot(c.f(xs)), text: `not(${c.text})` }
      }
      case 3: {
        const [name, op] = cmps[rand(cmps.length)]
        const c = { f: (xs: ReadonlyArray<NdArray>) => op(a.f(xs), b.f(xs)) }
        const d = mask(depth - 1)
        const logic: Array<[string, (x: NdArray, y: NdArray) => NdArray]> = [
          ["and", N.logicalAnd],
          ["or", N.logicalOr],
          ["xor", N.logicalXor]
        ]
        const [lname, lop] = logic[rand(3)]
        return { f: (xs) => lop(c.f(xs), d.f(xs)), text: `${lname}(${name}(${a.text},${b.text}),…)` }
      }
      default: {
        const [name, op] = cmps[rand(cmps.length)]
        return { f: (xs) => op(a.f(xs), b.f(xs)), text: `${name}(${a.text},${b.text})` }
      }
    }
  }
  return num(4)
}

const bits = (x: NdArray): Array<number> => Array.from(x.data())
const sameBits = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

describe.runIf(wasmAvailable())("WebAssembly SIMD elementwise loops", () => {
  it("random fused expressions give the JavaScript loops' bits (both dtypes, broadcast scalars, odd sizes)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom("float32" as const, "float64" as const),
        fc.integer({ min: 1024, max: 1500 }),
        fc.boolean(),
        (seed, dtype, n, withScalar) => {
          const { f, text } = randomTree(seed, 3)
          const leaf = (k: number) => N.array(Array.from({ length: n }, (_, i) => specials[(i * (k + 3) + seed) % specials.length] * (1 + ((i * 7 + k) % 5))), { dtype })
          const xs = [leaf(0), leaf(1), withScalar ? N.broadcastTo(N.array(2.5, { dtype }), [n]) : leaf(2)]
          setBackend("js")
          const expected = bits(f(xs))
          setBackend("wasm")
          const before = simdStats().calls
          const fused = bits(jit((a: NdArray, b: NdArray, c: NdArray) => f([a, b, c]))(xs[0], xs[1], xs[2]))
          const eager = bits(f(xs))
          if (!sameBits(fused, expected) || !sameBits(eager, expected)) {
            throw new Error(`${text} (${dtype}, n=${n}): simd differs from js`)
          }
          if (simdStats().calls === before) throw new Error(`${text} (${dtype}): no SIMD loop ran`)
          return true
        }
      ),
      { numRuns: 150 }
    )
  })

  it("exp and sigmoid return Math.exp's bits (fdlibm in float64 lanes): every float32 exponent, the reduction and overflow boundaries, random doubles", () => {
    const values: Array<number> = [0, -0, NaN, Infinity, -Infinity, 709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412, -708.4, -708.39, -720, -740]
    const boundary = (hi: number) => {
      const u = new Uint32Array([0, hi])
      const x = new Float64Array(u.buffer)[0]
      for (const d of [-2, -1, 0, 1, 2]) values.push(x + d * x * 2 ** -52, -(x + d * x * 2 ** -52))
    }
    ;[0x3fd62e42, 0x3fd62e43, 0x3ff0a2b2, 0x3e300000, 0x40862e42].forEach(boundary)
    const f32 = new Float32Array(1)
    const u32 = new Uint32Array(f32.buffer)
    for (let e = 0; e < 256; e++) for (let m = 0; m < 40; m++) for (const s of [0, 1]) {
      u32[0] = (s << 31) | (e << 23) | ((m * 209715) & 0x7fffff)
      values.push(f32[0])
    }
    let r = 12345
    for (let i = 0; i < 20000; i++) {
      r = (r * 1103515245 + 12345) % 2 ** 31
      values.push(((r / 2 ** 31) - 0.5) * (i % 2 === 0 ? 1500 : 30))
    }
    for (const dtype of ["float64", "float32"] as const) {
      const x = N.array(values, { dtype })
      setBackend("js")
      const expected = [bits(N.exp(x)), bits(N.sigmoid(x))]
      setBackend("wasm")
      const before = simdStats().calls
      const actual = [bits(N.exp(x)), bits(N.sigmoid(x))]
      expect(simdStats().calls - before).toBe(2)
      for (let k = 0; k < 2; k++) {
        const bad = expected[k].findIndex((v, i) => !Object.is(v, actual[k][i]))
        expect(bad === -1 ? "" : `${k === 0 ? "exp" : "sigmoid"}(${x.data()[bad]}) ${dtype}: ${actual[k][bad]} ≠ ${expected[k][bad]}`).toBe("")
      }
      // and the JS sigmoid is the two-branch formula
      const js = bits(N.sigmoid(x))
      values.forEach((v, i) => {
        const w = dtype === "float32" ? Math.fround(v) : v
        const ref = w >= 0 ? 1 / (1 + Math.exp(-w)) : Math.exp(w) / (1 + Math.exp(w))
        if (!Object.is(dtype === "float32" ? Math.fround(ref) : ref, js[i])) throw new Error(`sigmoid(${w}) = ${js[i]}, two-branch formula ${ref}`)
      })
    }
  })

  it("the MLP update and the sigmoid derivative run as one SIMD loop each under jit", () => {
    setBackend("wasm")
    const w = N.reshape(N.sin(N.arange(784 * 100, undefined, 1, { dtype: "float32" })), [784, 100])
    const g = N.reshape(N.cos(N.arange(784 * 100, undefined, 1, { dtype: "float32" })), [784, 100])
    const step = jit((w: NdArray, g: NdArray) => N.sub(w, N.mul(g, 0.1)))
    const before = simdStats().calls
    const out = step(w, g)
    expect(simdStats().calls - before).toBe(1)
    setBackend("js")
    expect(sameBits(bits(out), bits(N.sub(w, N.mul(g, 0.1))))).toBe(true)
  })

  it("bool arrays are read as masks and masks stored as bool arrays (where, comparisons, logical ops), contiguous, broadcast and as rows, both dtypes", () => {
    for (const dtype of ["float32", "float64"] as const) {
      for (const n of [1025, 1500, 4096]) {
        const a = N.array(Array.from({ length: n }, (_, i) => specials[i % specials.length] * ((i % 7) - 3)), { dtype })
        const b = N.array(Array.from({ length: n }, (_, i) => specials[(i * 5) % specials.length]), { dtype })
        const m = N.array(Array.from({ length: n }, (_, i) => (i * 2654435761) % 7 < 3))
        const rows = N.broadcastTo(N.array(Array.from({ length: 8 }, (_, i) => i % 3 === 0)), [Math.floor(n / 8), 8])
        const f = (m: NdArray, a: NdArray, b: NdArray) => N.where(m, N.mul(a, b), N.sub(a, b))
        const g = (m: NdArray, a: NdArray) => N.where(N.logicalAnd(m, N.greater(a, 0)), a, 0)
        const h = (r: NdArray, a: NdArray) => N.where(r, a, N.neg(a))
        const a2 = N.reshape(N.slice(a, [[0, Math.floor(n / 8) * 8]]), [Math.floor(n / 8), 8])
        const cases: Array<[string, () => NdArray]> = [
          ["where(m, a·b, a−b)", () => f(m, a, b)],
          ["where(m ∧ a > 0, a, 0)", () => g(m, a)],
          ["where(true, a·b, a−b)", () => f(N.broadcastTo(N.array(true), [n]), a, b)],
          ["where(rows, a, −a)", () => h(rows, a2)],
          ["a > 0 ∨ isnan(a) (a bool result)", () => N.logicalOr(N.greater(a, 0), N.isNan(a))],
          ["a < b (a bool result)", () => N.less(a, b)],
          ["¬m ∧ a ≥ b (a bool result)", () => N.logicalAnd(N.logicalNot(m), N.greaterEqual(a, b))]
        ]
        for (const [name, run] of cases) {
          setBackend("js")
          const expected = bits(run())
          setBackend("wasm")
          const before = simdStats().calls
          const eager = bits(run())
          const fused = bits(jit(run)())
          expect(simdStats().calls - before, `${name} ${dtype} n=${n}: SIMD loops`).toBeGreaterThanOrEqual(1)
          expect(sameBits(eager, expected) && sameBits(fused, expected), `${name} ${dtype} n=${n}`).toBe(true)
        }
      }
    }
  })

  it("a row broadcast down the leading dims (a bias) is staged by repeating it", () => {
    const x = N.reshape(N.sin(N.arange(3 * 64 * 37, undefined, 1, { dtype: "float32" })), [3, 64, 37])
    const b = N.reshape(N.cos(N.arange(64 * 37, undefined, 1, { dtype: "float32" })), [64, 37])
    const c = N.reshape(N.cos(N.arange(37, undefined, 1, { dtype: "float32" })), [1, 37])
    const f = (x: NdArray, b: NdArray, c: NdArray) => N.sigmoid(N.add(N.mul(x, b), c))
    setBackend("js")
    const expected = bits(f(x, b, c))
    setBackend("wasm")
    const before = simdStats().calls
    expect(sameBits(bits(jit(f)(x, b, c)), expected)).toBe(true)
    expect(simdStats().calls - before).toBe(1)
  })

  it("declines what has no exact SIMD form: transcendentals, integers, mixed dtypes", () => {
    const leaf = { leaf: 0 }
    expect(simdPlan({ op: "log", dtype: "float32", args: [leaf] }, ["float32"])).toBeUndefined()
    expect(simdPlan({ op: "tanh", dtype: "float64", args: [leaf] }, ["float64"])).toBeUndefined()
    expect(simdPlan({ op: "add", dtype: "int32", args: [leaf, { leaf: 1 }] }, ["int32", "int32"])).toBeUndefined()
    expect(simdPlan({ op: "add", dtype: "float32", args: [leaf, { leaf: 1 }] }, ["float32", "float64"])).toBeUndefined()
    expect(simdPlan({ op: "gt", dtype: "bool", args: [leaf, { leaf: 1 }] }, ["float32", "float32"])?.boolResult).toBe(true) // a mask, stored as bytes
    expect(simdPlan({ op: "not", dtype: "bool", args: [leaf] }, ["bool"])).toBeUndefined() // no float lanes to work in
    expect(simdPlan({ op: "add", dtype: "float64", args: [leaf, { leaf: 1 }] }, ["float64", "float64"])?.dtype).toBe("float64")
  })
})
