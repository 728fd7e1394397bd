/**
 * The PRNG: determinism (same key, same numbers), independence of split and
 * folded keys, JAX's split values for key 0, moments of uniform/normal on 20k
 * samples, ranges of bernoulli/randint/truncatedNormal, permutations, and
 * the typed errors for bad keys and arguments.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import * as Random from "../src/Random.js"
import { grad, vmap } from "../src/transforms/api.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const words = (k: NdArray) => Array.from(k.data(), (v) => v >>> 0)
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })

const moments = (x: NdArray): [number, number] => {
  const v = Array.from(x.data(), Number)
  const m = v.reduce((a, b) => a + b, 0) / v.length
  return [m, v.reduce((a, b) => a + (b - m) * (b - m), 0) / v.length]
}

describe("keys", () => {
  it("a key is an int32 [2] array; split gives JAX's keys for seed 0", () => {
    const k = Random.key(0)
    expect(k.dtype).toBe("int32")
    expect(k.shape).toEqual([2])
    expect(Random.split(k).map(words)).toEqual([
      [4146024105, 967050713],
      [2718843009, 1272950319]
    ])
  })

  it("same key, same numbers; different seeds, different numbers", () =>
    fc.assert(
      fc.property(seedArb, (seed) => {
        const a = Random.uniform(Random.key(seed), [8])
        const b = Random.uniform(Random.key(seed), [8])
        expect(a.toArray()).toEqual(b.toArray())
        expect(Random.normal(Random.key(seed), [5]).toArray()).toEqual(Random.normal(Random.key(seed), [5]).toArray())
        expect(Random.uniform(Random.key(seed + 1), [8]).toArray()).not.toEqual(a.toArray())
      }),
      { numRuns: 25 }
    ))

  it("split keys are distinct from each other and from the parent, and deterministic", () =>
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 2, max: 8 }), (seed, n) => {
        const k = Random.key(seed)
        const ks = Random.split(k, n)
        expect(ks.length).toBe(n)
        const all = [k, ...ks].map((x) => words(x).join(","))
        expect(new Set(all).size).toBe(n + 1)
        expect(Random.split(k, n).map(words)).toEqual(ks.map(words))
        // streams from split keys differ
        expect(Random.uniform(ks[0], [4]).toArray()).not.toEqual(Random.uniform(ks[1], [4]).toArray())
      }),
      { numRuns: 25 }
    ))

  it("foldIn is deterministic, differs per data value and from the parent", () =>
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 1000 }), (seed, data) => {
        const k = Random.key(seed)
        const a = Random.foldIn(k, data)
        expect(words(a)).toEqual(words(Random.foldIn(k, data)))
        expect(words(a)).not.toEqual(words(Random.foldIn(k, data + 1)))
        expect(words(a)).not.toEqual(words(k))
      }),
      { numRuns: 25 }
    ))

  it("large and negative seeds give valid keys", () => {
    expect(words(Random.key(2 ** 40 + 3))).toEqual([256, 3])
    expect(Random.key(-1).shape).toEqual([2])
    expect(() => Random.key(0.5)).toThrow(expect.objectContaining({ _tag: "ValueError" }))
  })
})

describe("distributions", () => {
  const k = Random.key(42)

  it("uniform: in [min, max), mean (a+b)/2, variance (b−a)²/12 on 20k samples", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = Random.uniform(k, [20000], { min: -1, max: 3, dtype })
      expect(x.dtype).toBe(dtype)
      const v = x.data()
      expect(v.every((a) => a >= -1 && a < 3)).toBe(true)
      const [m, s2] = moments(x)
      // standard error of the mean: sqrt(16/12 / 20000) ≈ 0.008
      expect(Math.abs(m - 1)).toBeLessThan(0.04)
      expect(Math.abs(s2 - 16 / 12)).toBeLessThan(0.05)
    }
  })

  it("normal: mean and std as asked on 20k samples; roughly 68% within one std", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = Random.normal(k, [100, 200], { mean: 2, std: 3, dtype })
      expect(x.shape).toEqual([100, 200])
      const [m, s2] = moments(x)
      expect(Math.abs(m - 2)).toBeLessThan(0.1) // SE ≈ 0.021
      expect(Math.abs(Math.sqrt(s2) - 3)).toBeLessThan(0.1)
      const within = Array.from(x.data()).filter((v) => Math.abs(v - 2) < 3).length / 20000
      expect(Math.abs(within - 0.6827)).toBeLessThan(0.02)
    }
  })

  it("normal of an odd count uses every sample (no repeated pair)", () => {
    const x = Random.normal(k, [7], { dtype: "float64" })
    expect(new Set(Array.from(x.data())).size).toBe(7)
  })

  it("truncatedNormal stays within [lower, upper] and is symmetric", () => {
    const x = Random.truncatedNormal(k, [20000], { lower: -1, upper: 1.5 })
    const v = Array.from(x.data())
    expect(v.every((a) => a >= -1 && a <= 1.5)).toBe(true)
    const y = Random.truncatedNormal(k, [20000])
    expect(Math.abs(moments(y)[0])).toBeLessThan(0.03)
    expect(Array.from(y.data()).every((a) => Math.abs(a) <= 2)).toBe(true)
  })

  it("bernoulli: bool with frequency p", () => {
    const b = Random.bernoulli(k, 0.3, [20000])
    expect(b.dtype).toBe("bool")
    const freq = NdArray.mean(b).item()
    expect(Math.abs(freq - 0.3)).toBeLessThan(0.02)
    expect(NdArray.any(Random.bernoulli(k, 0, [100])).toArray()).toBe(false)
    expect(NdArray.all(Random.bernoulli(k, 1, [100])).toArray()).toBe(true)
  })

  it("randint: int32 in [min, max), every value hit, roughly uniform", () => {
    const x = Random.randint(k, [20000], -3, 4)
    expect(x.dtype).toBe("int32")
    const counts = new Map<number, number>()
    for (const v of x.data()) counts.set(v, (counts.get(v) ?? 0) + 1)
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3])
    for (const c of counts.values()) expect(Math.abs(c / 20000 - 1 / 7)).toBeLessThan(0.015)
  })

  it("permutation is a permutation of 0..n−1, deterministic per key", () =>
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 50 }), (seed, n) => {
        const p = Random.permutation(Random.key(seed), n)
        expect(p.dtype).toBe("int32")
        expect(Array.from(p.data()).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
        expect(Random.permutation(Random.key(seed), n).toArray()).toEqual(p.toArray())
      }),
      { numRuns: 25 }
    ))

  it("permutations are not all the identity and different keys shuffle differently", () => {
    const a = Random.permutation(Random.key(1), 20).toArray()
    const b = Random.permutation(Random.key(2), 20).toArray()
    expect(a).not.toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(a).not.toEqual(b)
  })

  it("empty and 0-d shapes", () => {
    expect(Random.uniform(k, []).shape).toEqual([])
    expect(Random.normal(k, [0, 3]).shape).toEqual([0, 3])
  })
})

describe("errors", () => {
  it("a key that is not int32 [2] is a ValueError", () => {
    expect(() => Random.uniform(NdArray.zeros([2]), [3])).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => Random.split(NdArray.zeros([3], { dtype: "int32" }))).toThrow(expect.objectContaining({ _tag: "ValueError" }))
  })

  it("bad arguments are ValueErrors", () => {
    const k = Random.key(0)
    expect(() => Random.split(k, 0)).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => Random.bernoulli(k, 1.5, [2])).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => Random.randint(k, [2], 3, 3)).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => Random.uniform(k, [-1])).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => Random.uniform(k, [2], { dtype: "int32" })).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(() => Random.permutation(k, -1)).toThrow(expect.objectContaining({ _tag: "ValueError" }))
  })

  it("a traced key draws through the random primitive: vmap over keys equals a loop; a bad key shape is a typed error", () => {
    const keys = Random.split(Random.key(0), 3)
    const batched = vmap((key: NdArray) => Random.uniform(key, [2]))(NdArray.stack(keys))
    expect(batched.toArray()).toEqual(keys.map((k) => Random.uniform(k, [2]).toArray()))
    expect(() => vmap((key: NdArray) => Random.uniform(key, [2]))(NdArray.zeros([3, 3], { dtype: "int32" }))).toThrow(
      expect.objectContaining({ _tag: "ShapeError" })
    )
    // a concrete key closed over inside grad is fine
    const g = grad((x: NdArray) => NdArray.sum(NdArray.mul(x, Random.normal(Random.key(1), [3]))))(NdArray.ones([3]))
    expect(g.toArray()).toEqual(Random.normal(Random.key(1), [3]).toArray())
  })
})
