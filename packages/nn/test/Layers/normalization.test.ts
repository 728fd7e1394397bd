import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, grad, NdArray, Random, Tree } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { LayerError, Layers, LayerShapeError } from "@gradfx/nn"

const f64 = { dtype: "float64" } as const
const values = (x: NdArray): Array<number> => Array.from(x.data() as ArrayLike<number>)

/** Per-channel statistics of [N, C, ...] data computed in plain JS. */
const channelStats = (x: NdArray) => {
  const [n, c] = x.shape
  const inner = x.size / (n * c)
  const v = values(x)
  return Array.from({ length: c }, (_, ch) => {
    const xs: Array<number> = []
    for (let i = 0; i < n; i++) for (let j = 0; j < inner; j++) xs.push(v[(i * c + ch) * inner + j])
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const biased = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length
    return { mean, biased, unbiased: (biased * xs.length) / (xs.length - 1) }
  })
}

describe("Layers.batchNorm", () => {
  it("normalises each channel over the batch in training mode and updates the running statistics (PyTorch's rule)", () => {
    fc.assert(
      fc.property(Arb.key(), fc.constantFrom<ReadonlyArray<number>>([3], [2, 3, 3]), (key, example) => {
        const bn = Layers.batchNorm({ momentum: 0.2, eps: 0 })
        const { params, state, outputShape } = bn.init(key, example, f64)
        expect(outputShape).toEqual(example)
        expect(values(state.mean)).toEqual(new Array(example[0]).fill(0))
        expect(values(state.variance)).toEqual(new Array(example[0]).fill(1))
        const x = NdArray.add(NdArray.mul(Random.normal(key, [5, ...example], f64), 3), 2)
        const [y, next] = bn.applyWithState(params, x, { training: true, state })
        for (const s of channelStats(y)) {
          expect(Math.abs(s.mean)).toBeLessThan(1e-12)
          expect(Math.abs(s.biased - 1)).toBeLessThan(1e-9) // ε = 0
        }
        const stats = channelStats(x)
        values(next.mean).forEach((m, c) => expect(m).toBeCloseTo(0.8 * 0 + 0.2 * stats[c].mean, 12))
        values(next.variance).forEach((v, c) => expect(v).toBeCloseTo(0.8 * 1 + 0.2 * stats[c].unbiased, 12))
        // the inputs are not changed (nothing is mutated)
        expect(values(state.mean).every((v) => v === 0)).toBe(true)
      }),
      { numRuns: 10 }
    )
  })

  it("uses the running statistics in evaluation mode, with scale and offset", () => {
    const bn = Layers.batchNorm({ eps: 0 })
    const { params } = bn.init(Random.key(0), [2], f64)
    const p = { scale: NdArray.array([2, 3], f64), offset: NdArray.array([1, -1], f64) }
    const state = { mean: NdArray.array([1, 2], f64), variance: NdArray.array([4, 9], f64) }
    const y = bn.apply(p, NdArray.array([[3, 5], [1, -1]], f64), { state })
    expect(y.toArray()).toEqual([[2 * 1 + 1, 3 * 1 - 1], [2 * 0 + 1, 3 * -1 - 1]])
    const [, unchanged] = bn.applyWithState(p, NdArray.array([[3, 5]], f64), { state })
    expect(unchanged).toBe(state)
    expect(Tree.paths(params)).toEqual(["scale", "offset"])
  })

  it("evaluation needs the state; applyWithState in training needs it too; apply in training does not", () => {
    const bn = Layers.batchNorm()
    const { params } = bn.init(Random.key(0), [3])
    const x = Random.normal(Random.key(1), [4, 3])
    expect(() => bn.apply(params, x)).toThrow(LayerError)
    expect(() => bn.applyWithState(params, x, { training: true })).toThrow(/pass \{ state \}/)
    expect(bn.apply(params, x, { training: true }).shape).toEqual([4, 3])
  })

  it("checks the channel axis", () => {
    const bn = Layers.batchNorm()
    const { params, state } = bn.init(Random.key(0), [3, 4, 4])
    expect(() => bn.apply(params, NdArray.zeros([2, 4, 4, 4]), { state })).toThrow(LayerShapeError)
    expect(() => bn.apply(params, NdArray.zeros([3]), { state })).toThrow(/needs a batch axis/)
    expect(() => Layers.batchNorm({ axis: 0 })).toThrow(LayerError)
    // a channels-last layout via axis −1
    const last = Layers.batchNorm({ axis: -1 })
    const init = last.init(Random.key(0), [4, 4, 3])
    expect(init.params.scale!.shape).toEqual([3])
    expect(last.apply(init.params, NdArray.ones([2, 4, 4, 3]), { state: init.state }).shape).toEqual([2, 4, 4, 3])
  })

  it("gradients (checkGrads, float64) in training and evaluation mode", () => {
    fc.assert(
      fc.property(Arb.key(), (key) => {
        const bn = Layers.batchNorm()
        const { params, state } = bn.init(key, [2, 2, 2], f64)
        const p = { scale: Random.normal(key, [2], f64), offset: Random.normal(Random.foldIn(key, 1), [2], f64) }
        const x = Random.normal(Random.foldIn(key, 2), [3, 2, 2, 2], f64)
        checkGrads((q: typeof params, v: NdArray) => bn.apply(q, v, { training: true }), [p, x], { order: 2 })
        checkGrads((q: typeof params, v: NdArray) => bn.apply(q, v, { state }), [p, x], { order: 2 })
      }),
      { numRuns: 5 }
    )
  })

  it("no gradient flows into the returned state", () => {
    const bn = Layers.batchNorm()
    const { params, state } = bn.init(Random.key(0), [2], f64)
    const x = Random.normal(Random.key(1), [4, 2], f64)
    const g = grad((v: NdArray) => NdArray.sum(bn.applyWithState(params, v, { training: true, state })[1].mean))(x)
    expect(values(g).every((v) => v === 0)).toBe(true)
  })
})

describe("Layers.layerNorm", () => {
  it("normalises each example over its trailing axes", () => {
    fc.assert(
      fc.property(Arb.key(), fc.integer({ min: 1, max: 2 }), (key, axes) => {
        const ln = Layers.layerNorm({ axes, eps: 0 })
        const { params, state, outputShape } = ln.init(key, [3, 4], f64)
        expect(state).toBeNull()
        expect(outputShape).toEqual([3, 4])
        expect(params.scale!.shape).toEqual(axes === 1 ? [4] : [3, 4])
        const x = NdArray.add(NdArray.mul(Random.normal(key, [2, 3, 4], f64), 5), 1)
        const y = ln.apply(params, x)
        const size = axes === 1 ? 4 : 12
        const v = values(y)
        for (let r = 0; r < v.length / size; r++) {
          const row = v.slice(r * size, (r + 1) * size)
          const mean = row.reduce((a, b) => a + b, 0) / size
          const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / size
          expect(Math.abs(mean)).toBeLessThan(1e-12)
          expect(Math.abs(variance - 1)).toBeLessThan(1e-9)
        }
      }),
      { numRuns: 10 }
    )
  })

  it("gradients (checkGrads, float64)", () => {
    fc.assert(
      fc.property(Arb.key(), (key) => {
        const ln = Layers.layerNorm()
        const { params } = ln.init(key, [4], f64)
        const p = { scale: Random.normal(key, [4], f64), offset: Random.normal(Random.foldIn(key, 1), [4], f64) }
        checkGrads((q: typeof params, v: NdArray) => ln.apply(q, v), [p, Random.normal(Random.foldIn(key, 2), [3, 4], f64)], { order: 2 })
      }),
      { numRuns: 5 }
    )
  })

  it("checks the trailing shape", () => {
    const ln = Layers.layerNorm()
    const { params } = ln.init(Random.key(0), [4])
    expect(() => ln.apply(params, NdArray.zeros([2, 5]))).toThrow(LayerShapeError)
    expect(() => ln.apply(params, NdArray.zeros([2, 5]))).toThrow(/layerNorm: expected an input of shape \[\.\.\., 4\], got \[2, 5\]/)
  })
})
