import { describe, expect, it } from "vitest"
import { NdArray, Random } from "@gradfx/core"
import { Init } from "@gradfx/nn"

const key = Random.key(42)

const stats = (x: NdArray) => {
  const v = Array.from(x.data() as ArrayLike<number>)
  const mean = v.reduce((a, b) => a + b, 0) / v.length
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length
  return { mean, std: Math.sqrt(variance), min: Math.min(...v), max: Math.max(...v) }
}

describe("Init.fans", () => {
  it("reads dense [in, out] and convolution [out, in, kh, kw] layouts", () => {
    expect(Init.fans([784, 100])).toEqual({ fanIn: 784, fanOut: 100 })
    expect(Init.fans([16, 8, 3, 3])).toEqual({ fanIn: 72, fanOut: 144 })
    expect(Init.fans([5])).toEqual({ fanIn: 5, fanOut: 5 })
    expect(Init.fans([])).toEqual({ fanIn: 1, fanOut: 1 })
  })
})

describe("Init: distributions", () => {
  // [shape, initialiser, expected std, uniform limit or null]
  const dense = [300, 200] as const
  const conv = [32, 16, 5, 5] as const
  const cases: ReadonlyArray<[string, ReadonlyArray<number>, Init.Initializer, number, number | null]> = [
    ["glorotNormal", dense, Init.glorotNormal, Math.sqrt(2 / 500), null],
    ["glorotUniform", dense, Init.glorotUniform, Math.sqrt(2 / 500), Math.sqrt(6 / 500)],
    ["heNormal", dense, Init.heNormal, Math.sqrt(2 / 300), null],
    ["heNormal (conv)", conv, Init.heNormal, Math.sqrt(2 / 400), null],
    ["heUniform", conv, Init.heUniform, Math.sqrt(2 / 400), Math.sqrt(6 / 400)],
    ["lecunNormal", dense, Init.lecunNormal, Math.sqrt(1 / 300), null],
    ["lecunUniform", dense, Init.lecunUniform, Math.sqrt(1 / 300), Math.sqrt(3 / 300)],
    ["scaledNormal (Nielsen)", dense, Init.scaledNormal, 1 / Math.sqrt(300), null],
    ["normal(0.02)", dense, Init.normal(0.02), 0.02, null],
    ["uniform(0.1)", dense, Init.uniform(0.1), 0.1 / Math.sqrt(3), 0.1]
  ]
  for (const [name, shape, init, std, limit] of cases) {
    it(`${name}: shape, dtype, zero mean and std ${std.toFixed(4)}`, () => {
      const x = init(key, shape)
      expect(x.shape).toEqual(shape)
      expect(x.dtype).toBe("float32")
      const s = stats(x)
      expect(Math.abs(s.mean)).toBeLessThan(0.02 * std * 5)
      expect(Math.abs(s.std / std - 1)).toBeLessThan(0.02)
      if (limit !== null) {
        expect(s.min).toBeGreaterThanOrEqual(-limit)
        expect(s.max).toBeLessThanOrEqual(limit)
        expect(s.max).toBeGreaterThan(0.95 * limit)
      }
    })
  }

  it("uniform({ min, max }) draws from [min, max)", () => {
    const s = stats(Init.uniform({ min: 2, max: 3 })(key, [5000]))
    expect(s.min).toBeGreaterThanOrEqual(2)
    expect(s.max).toBeLessThan(3)
    expect(s.mean).toBeCloseTo(2.5, 1)
  })

  it("honours the dtype and is deterministic in the key", () => {
    const a = Init.heNormal(key, [10, 10], "float64")
    expect(a.dtype).toBe("float64")
    expect(Array.from(a.data())).toEqual(Array.from(Init.heNormal(key, [10, 10], "float64").data()))
    expect(Array.from(a.data())).not.toEqual(Array.from(Init.heNormal(Random.key(43), [10, 10], "float64").data()))
  })

  it("zeros, ones and constant", () => {
    expect(Init.zeros(key, [2, 2]).toArray()).toEqual([[0, 0], [0, 0]])
    expect(Init.ones(key, [3], "float64").toArray()).toEqual([1, 1, 1])
    expect(Init.ones(key, [3], "float64").dtype).toBe("float64")
    expect(Init.constant(0.5)(key, [2]).toArray()).toEqual([0.5, 0.5])
  })

  it("varianceScaling with fanOut", () => {
    const s = stats(Init.varianceScaling({ scale: 1, mode: "fanOut", distribution: "normal" })(key, [100, 400]))
    expect(Math.abs(s.std / Math.sqrt(1 / 400) - 1)).toBeLessThan(0.02)
  })
})
