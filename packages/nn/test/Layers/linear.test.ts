import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, grad, NdArray, Random, vmap } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { Init, LayerError, Layers, LayerShapeError } from "@gradfx/nn"

const f64 = { dtype: "float64" } as const
const values = (x: NdArray): Array<number> => Array.from(x.data() as ArrayLike<number>)

const caught = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error("expected an error")
}

describe("Layers.linear", () => {
  it("infers its input size at init and reports the output shape", () => {
    const layer = Layers.linear({ outDim: 3 })
    const { params, state, outputShape } = layer.init(Random.key(0), [5])
    expect(params.w.shape).toEqual([5, 3])
    expect(params.b!.shape).toEqual([3])
    expect(values(params.b!)).toEqual([0, 0, 0])
    expect(state).toBeNull()
    expect(outputShape).toEqual([3])
    expect(layer.init(Random.key(0), [7, 5]).outputShape).toEqual([7, 3])
    expect(Layers.linear({ inDim: 4, outDim: 2 }).init(Random.key(0)).params.w.shape).toEqual([4, 2])
    expect(Layers.linear({ outDim: 2, useBias: false }).init(Random.key(0), [4]).params.b).toBeUndefined()
  })

  it("computes x·W + b on one example and on leading batch axes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), Arb.key(), (inDim, outDim, batch, key) => {
        const layer = Layers.linear({ outDim, biasInit: Init.normal(1) })
        const { params } = layer.init(key, [inDim], f64)
        const x = Random.normal(Random.foldIn(key, 1), [...batch, inDim], f64)
        const y = layer.apply(params, x)
        expect(y.shape).toEqual([...batch, outDim])
        const w = params.w.toArray() as Array<Array<number>>
        const b = values(params.b!)
        const xs = values(x)
        const ys = values(y)
        for (let r = 0; r < xs.length / inDim; r++) {
          for (let j = 0; j < outDim; j++) {
            let s = b[j]
            for (let i = 0; i < inDim; i++) s += xs[r * inDim + i] * w[i][j]
            expect(Math.abs(ys[r * outDim + j] - s)).toBeLessThan(1e-12)
          }
        }
        // per-example apply under vmap equals the batched apply
        if (batch.length === 1) values(vmap((xi: NdArray) => layer.apply(params, xi))(x)).forEach((v, i) => expect(Math.abs(v - ys[i])).toBeLessThan(1e-12))
      }),
      { numRuns: 25 }
    )
  })

  it("rejects a wrong input with a typed error naming the layer and both shapes", () => {
    const layer = Layers.linear({ outDim: 3 })
    const { params } = layer.init(Random.key(0), [5])
    const e = caught(() => layer.apply(params, NdArray.zeros([2, 4])))
    expect(e).toBeInstanceOf(LayerShapeError)
    expect(e).toMatchObject({ _tag: "LayerShapeError", layer: "linear", expected: "[..., 5]", actual: [2, 4] })
    expect(String((e as Error).message)).toContain("linear: expected an input of shape [..., 5], got [2, 4]")
    expect(() => Layers.linear({ outDim: 3, inDim: 4 }).init(Random.key(0), [5])).toThrow(LayerShapeError)
    expect(() => Layers.linear({ outDim: 0 })).toThrow(LayerError)
    expect(() => Layers.linear({ outDim: 2 }).init(Random.key(0))).toThrow(LayerError)
  })

  it("gradients (checkGrads, float64) in the params and the input", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), Arb.key(), (inDim, outDim, n, key) => {
        const layer = Layers.linear({ outDim, biasInit: Init.normal(1) })
        const { params } = layer.init(key, [inDim], f64)
        const x = Random.normal(Random.foldIn(key, 7), [n, inDim], f64)
        checkGrads((p: typeof params, xx: NdArray) => layer.apply(p, xx), [params, x], { order: 2 })
      }),
      { numRuns: 15 }
    )
  })
})

describe("Layers.embedding", () => {
  const emb = Layers.embedding({ numEmbeddings: 6, features: 3 })

  it("looks rows up for indices of any shape", () => {
    const { params, outputShape } = emb.init(Random.key(1), [4], f64)
    expect(params.embeddings.shape).toEqual([6, 3])
    expect(outputShape).toEqual([4, 3])
    const idx = NdArray.array([[0, 5], [2, 2]], { dtype: "int32" })
    const y = emb.apply(params, idx)
    expect(y.shape).toEqual([2, 2, 3])
    const table = params.embeddings.toArray() as Array<Array<number>>
    expect(y.toArray()).toEqual([[table[0], table[5]], [table[2], table[2]]])
  })

  it("scatter-adds gradients into the rows looked up (repeats add)", () => {
    const { params } = emb.init(Random.key(1), [], f64)
    const idx = NdArray.array([1, 4, 1], { dtype: "int32" })
    const g = grad((p: typeof params) => NdArray.sum(emb.apply(p, idx)))(params)
    expect(g.embeddings.toArray()).toEqual([[0, 0, 0], [2, 2, 2], [0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]])
    checkGrads((p: typeof params) => NdArray.sum(NdArray.square(emb.apply(p, idx))), [params], { order: 2 })
  })

  it("wants int32 indices", () => {
    const { params } = emb.init(Random.key(1), [])
    expect(() => emb.apply(params, NdArray.array([1.0]))).toThrow(LayerError)
  })
})
