import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, NdArray, Random, vmap } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { Init, LayerError, Layers, LayerShapeError } from "@gradfx/nn"

const f64 = { dtype: "float64" } as const
const values = (x: NdArray): Array<number> => Array.from(x.data() as ArrayLike<number>)

/** Direct cross-correlation of one [C, H, W] image, padding (top, left) with zeros, in plain JS. */
const referenceConv = (x: NdArray, w: NdArray, b: NdArray, stride: number, pad: number, oh: number, ow: number): Array<number> => {
  const [c, h, wd] = x.shape
  const [o, , kh, kw] = w.shape
  const xv = values(x)
  const wv = values(w)
  const bv = values(b)
  const out: Array<number> = []
  for (let oc = 0; oc < o; oc++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let s = bv[oc]
        for (let ic = 0; ic < c; ic++)
          for (let a = 0; a < kh; a++)
            for (let bb = 0; bb < kw; bb++) {
              const r = i * stride + a - pad
              const q = j * stride + bb - pad
              if (r >= 0 && r < h && q >= 0 && q < wd) s += xv[(ic * h + r) * wd + q] * wv[((oc * c + ic) * kh + a) * kw + bb]
            }
        out.push(s)
      }
  return out
}

const convConfig = fc.record({
  c: fc.integer({ min: 1, max: 3 }),
  o: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 3, max: 7 }),
  w: fc.integer({ min: 3, max: 7 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  padding: fc.constantFrom<"valid" | "same" | 1>("valid", "same", 1),
  dilation: fc.integer({ min: 1, max: 2 })
})

describe("Layers.conv2d", () => {
  it("matches a direct convolution written in plain JS", () => {
    fc.assert(
      fc.property(convConfig, Arb.key(), ({ c, o, h, w, k, stride }, key) => {
        const pad = k > 1 ? 1 : 0
        const layer = Layers.conv2d({ outChannels: o, kernelSize: k, stride, padding: pad, biasInit: Init.normal(1) })
        const { params, outputShape } = layer.init(key, [c, h, w], f64)
        expect(params.w.shape).toEqual([o, c, k, k])
        const x = Random.normal(Random.foldIn(key, 3), [c, h, w], f64)
        const y = layer.apply(params, x)
        expect(y.shape).toEqual(outputShape)
        const expected = referenceConv(x, params.w, params.b!, stride, pad, outputShape[1], outputShape[2])
        values(y).forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-12))
      }),
      { numRuns: 25 }
    )
  })

  it("init's output shape is the shape apply produces (any stride, padding, dilation), for one image and for a batch", () => {
    fc.assert(
      fc.property(convConfig, ({ c, o, h, w, k, stride, padding, dilation }) => {
        const layer = Layers.conv2d({ outChannels: o, kernelSize: [k, Math.max(1, k - 1)], stride, padding, dilation })
        let init
        try {
          init = layer.init(Random.key(0), [c, h, w])
        } catch (e) {
          expect(e).toBeInstanceOf(LayerShapeError) // the window does not fit
          return
        }
        const single = layer.apply(init.params, NdArray.ones([c, h, w]))
        expect(single.shape).toEqual(init.outputShape)
        const batch = layer.apply(init.params, NdArray.ones([2, c, h, w]))
        expect(batch.shape).toEqual([2, ...init.outputShape])
      }),
      { numRuns: 60 }
    )
  })

  it("a batch gives the per-image results, and vmap of the per-image apply agrees", () => {
    const layer = Layers.conv2d({ outChannels: 2, kernelSize: 3, padding: "same" })
    const { params } = layer.init(Random.key(2), [3, 5, 5], f64)
    const x = Random.normal(Random.key(3), [4, 3, 5, 5], f64)
    const batch = values(layer.apply(params, x))
    const perImage = [0, 1, 2, 3].flatMap((i) => values(layer.apply(params, NdArray.slice(x, [i]))))
    perImage.forEach((v, i) => expect(Math.abs(v - batch[i])).toBeLessThan(1e-12))
    values(vmap((xi: NdArray) => layer.apply(params, xi))(x)).forEach((v, i) => expect(Math.abs(v - batch[i])).toBeLessThan(1e-12))
  })

  it("rejects wrong inputs with typed errors", () => {
    const layer = Layers.conv2d({ outChannels: 2, kernelSize: 3 })
    const { params } = layer.init(Random.key(0), [3, 8, 8])
    expect(() => layer.apply(params, NdArray.zeros([2, 4, 8, 8]))).toThrow(LayerShapeError)
    expect(() => layer.apply(params, NdArray.zeros([3, 8]))).toThrow(/conv2d: expected an input of shape \[N, 3, H, W\] or \[3, H, W\], got \[3, 8\]/)
    expect(() => layer.apply(params, NdArray.zeros([3, 2, 8]))).toThrow(/does not fit/)
    expect(() => layer.init(Random.key(0), [8, 8])).toThrow(LayerShapeError)
    expect(() => layer.init(Random.key(0))).toThrow(LayerError)
    expect(() => Layers.conv2d({ outChannels: 2, kernelSize: 0 })).toThrow(LayerError)
  })

  it("gradients (checkGrads, float64) in kernels, bias and input", () => {
    fc.assert(
      fc.property(convConfig, Arb.key(), ({ c, o, k, stride, padding }, key) => {
        const layer = Layers.conv2d({ outChannels: o, kernelSize: k, stride, padding, biasInit: Init.normal(1) })
        const { params } = layer.init(key, [c, 4, 4], f64)
        const x = Random.normal(Random.foldIn(key, 5), [2, c, 4, 4], f64)
        checkGrads((p: typeof params, xx: NdArray) => layer.apply(p, xx), [params, x], { order: 1 })
      }),
      { numRuns: 10 }
    )
  })
})

describe("Layers.maxPool2d and avgPool2d", () => {
  it("pool 2×2 windows, and init infers the output shape", () => {
    const x = NdArray.array([[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]], f64)
    const max = Layers.maxPool2d({ kernelSize: 2 })
    const avg = Layers.avgPool2d({ kernelSize: 2 })
    expect(max.init(Random.key(0), [1, 4, 4])).toMatchObject({ params: null, state: null, outputShape: [1, 2, 2] })
    expect(max.apply(null, x).toArray()).toEqual([[[6, 8], [14, 16]]])
    expect(avg.apply(null, x).toArray()).toEqual([[[3.5, 5.5], [11.5, 13.5]]])
    expect(max.apply(null, NdArray.stack([x, NdArray.neg(x)])).shape).toEqual([2, 1, 2, 2])
  })

  it("init's output shape is the shape apply produces", () => {
    fc.assert(
      fc.property(convConfig, ({ c, h, w, k, stride, padding }) => {
        for (const layer of [Layers.maxPool2d({ kernelSize: k, stride, padding }), Layers.avgPool2d({ kernelSize: [k, 1], padding })]) {
          const init = layer.init(Random.key(0), [c, h, w])
          expect(layer.apply(null, NdArray.ones([c, h, w])).shape).toEqual(init.outputShape)
          expect(layer.apply(null, NdArray.ones([3, c, h, w])).shape).toEqual([3, ...init.outputShape])
        }
      }),
      { numRuns: 40 }
    )
  })

  it("gradients (checkGrads, float64)", () => {
    fc.assert(
      fc.property(Arb.key(), fc.integer({ min: 1, max: 3 }), (key, k) => {
        // distinct values, so the maximum of each window is unique
        const xf = NdArray.astype(NdArray.reshape(NdArray.mul(Random.permutation(key, 2 * 36), 0.1), [2, 1, 6, 6]), "float64")
        checkGrads((v: NdArray) => Layers.maxPool2d({ kernelSize: k }).apply(null, v), [xf], { order: 2 })
        checkGrads((v: NdArray) => Layers.avgPool2d({ kernelSize: k, stride: 1, padding: "same" }).apply(null, v), [xf], { order: 2 })
      }),
      { numRuns: 10 }
    )
  })

  it("rejects inputs that are not images", () => {
    expect(() => Layers.maxPool2d({ kernelSize: 2 }).apply(null, NdArray.zeros([4, 4]))).toThrow(LayerShapeError)
    expect(() => Layers.avgPool2d({ kernelSize: 5 }).init(Random.key(0), [1, 4, 4])).toThrow(/does not fit/)
  })
})
