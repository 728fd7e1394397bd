/**
 * `conv2d` against a direct 7-loop convolution (cross-correlation, NCHW,
 * weights [O, C, kh, kw]) over strides, dilations and padding valid / same /
 * explicit; `maxPool2d` / `avgPool2d` against direct window loops.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import type { Padding } from "../src/NdArray.js"
import { im2col } from "../src/primitives/conv.js"
import { reduceMax } from "../src/primitives/reduce.js"
import { grad } from "../src/transforms/api.js"

type Arr = ReturnType<typeof NdArray.zeros>

type NdArray = ReturnType<typeof NdArray.zeros>

const numRuns = 30
const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

const fill = (shape: ReadonlyArray<number>, seed: number, dtype: "float32" | "float64" = "float64"): NdArray => {
  const v = Array.from({ length: sizeOf(shape) }, (_, i) => {
    const r = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453
    return (r - Math.floor(r)) * 4 - 2
  })
  return NdArray.array(v, { shape, dtype })
}

/** [top, bottom, left, right], computed from the definitions (TensorFlow/JAX "same": extra padding at the end). */
const resolvePadding = (padding: Padding | undefined, h: number, w: number, kh: number, kw: number, s: [number, number], d: [number, number]): [number, number, number, number] => {
  if (padding === undefined || padding === "valid") return [0, 0, 0, 0]
  if (padding === "same") {
    const total = (n: number, k: number, st: number, di: number) => {
      const out = Math.ceil(n / st)
      return Math.max(0, (out - 1) * st + (k - 1) * di + 1 - n)
    }
    const th = total(h, kh, s[0], d[0])
    const tw = total(w, kw, s[1], d[1])
    return [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)]
  }
  if (typeof padding === "number") return [padding, padding, padding, padding]
  if (typeof padding[0] === "number") return [padding[0], padding[0], padding[1] as number, padding[1] as number]
  const [[t, b], [l, r]] = padding as readonly [readonly [number, number], readonly [number, number]]
  return [t, b, l, r]
}

const outSize = (n: number, k: number, s: number, d: number, lo: number, hi: number) => Math.floor((n + lo + hi - d * (k - 1) - 1) / s) + 1

/** The direct convolution: seven nested loops. */
const conv2dReference = (x: NdArray, w: NdArray, stride: [number, number], dilation: [number, number], pad: [number, number, number, number]) => {
  const [N, C, H, W] = x.shape
  const [O, , KH, KW] = w.shape
  const OH = outSize(H, KH, stride[0], dilation[0], pad[0], pad[1])
  const OW = outSize(W, KW, stride[1], dilation[1], pad[2], pad[3])
  const xv = x.data()
  const wv = w.data()
  const out = new Array<number>(N * O * OH * OW).fill(0)
  const magnitudes = new Array<number>(N * O * OH * OW).fill(0)
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let s = 0
          let m = 0
          for (let c = 0; c < C; c++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const ih = oh * stride[0] - pad[0] + i * dilation[0]
                const iw = ow * stride[1] - pad[2] + j * dilation[1]
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue
                const t = xv[((n * C + c) * H + ih) * W + iw] * wv[((o * C + c) * KH + i) * KW + j]
                s += t
                m += Math.abs(t)
              }
          out[((n * O + o) * OH + oh) * OW + ow] = s
          magnitudes[((n * O + o) * OH + oh) * OW + ow] = m
        }
  return { shape: [N, O, OH, OW], values: out, magnitudes }
}

const poolReference = (x: NdArray, k: [number, number], stride: [number, number], pad: [number, number, number, number], kind: "max" | "avg") => {
  const [N, C, H, W] = x.shape
  const OH = outSize(H, k[0], stride[0], 1, pad[0], pad[1])
  const OW = outSize(W, k[1], stride[1], 1, pad[2], pad[3])
  const xv = x.data()
  const out: Array<number> = []
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let acc = kind === "max" ? -Infinity : 0
          for (let i = 0; i < k[0]; i++)
            for (let j = 0; j < k[1]; j++) {
              const ih = oh * stride[0] - pad[0] + i
              const iw = ow * stride[1] - pad[2] + j
              const v = ih < 0 || ih >= H || iw < 0 || iw >= W ? (kind === "max" ? -Infinity : 0) : xv[((n * C + c) * H + ih) * W + iw]
              acc = kind === "max" ? Math.max(acc, v) : acc + v
            }
          out.push(kind === "max" ? acc : acc / (k[0] * k[1]))
        }
  return { shape: [N, C, OH, OW], values: out }
}

/** Compare within `tol` relative to the sum of |terms| (rounding scales with it, not with the possibly cancelled result). */
const expectClose = (y: NdArray, ref: { shape: Array<number>; values: Array<number>; magnitudes?: Array<number> }, tol: number) => {
  expect(y.shape).toEqual(ref.shape)
  const got = y.data()
  ref.values.forEach((v, i) => {
    const scale = 1 + (ref.magnitudes?.[i] ?? Math.abs(v))
    if (!(Math.abs(got[i] - v) <= tol * scale)) expect.fail(`element ${i}: got ${got[i]}, expected ${v}`)
  })
}

const pairArb = (min: number, max: number) => fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }))

const paddingArb: fc.Arbitrary<Padding> = fc.oneof(
  fc.constant("valid" as const),
  fc.constant("same" as const),
  fc.integer({ min: 0, max: 2 }),
  pairArb(0, 2),
  fc.tuple(pairArb(0, 2), pairArb(0, 2))
)

const convCaseArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    o: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    k: pairArb(1, 3),
    stride: pairArb(1, 3),
    dilation: pairArb(1, 2),
    padding: paddingArb,
    seed: fc.integer({ min: 0, max: 1000 })
  })
  .filter(({ h, w, k, stride, dilation, padding }) => {
    const p = resolvePadding(padding, h, w, k[0], k[1], stride, dilation)
    return outSize(h, k[0], stride[0], dilation[0], p[0], p[1]) > 0 && outSize(w, k[1], stride[1], dilation[1], p[2], p[3]) > 0
  })

describe("conv2d against a direct 7-loop convolution", () => {
  it("float64: stride, dilation, padding valid / same / explicit", () =>
    fc.assert(
      fc.property(convCaseArb, (c) => {
        const x = fill([c.n, c.c, c.h, c.w], c.seed)
        const w = fill([c.o, c.c, c.k[0], c.k[1]], c.seed + 1)
        const y = NdArray.conv2d(x, w, { stride: c.stride, dilation: c.dilation, padding: c.padding })
        expect(y.dtype).toBe("float64")
        expectClose(y, conv2dReference(x, w, c.stride, c.dilation, resolvePadding(c.padding, c.h, c.w, c.k[0], c.k[1], c.stride, c.dilation)), 1e-12)
      }),
      { numRuns }
    ))

  it("float32 within float32 tolerance", () =>
    fc.assert(
      fc.property(convCaseArb, (c) => {
        const x = fill([c.n, c.c, c.h, c.w], c.seed, "float32")
        const w = fill([c.o, c.c, c.k[0], c.k[1]], c.seed + 1, "float32")
        const y = NdArray.conv2d(x, w, { stride: c.stride, dilation: c.dilation, padding: c.padding })
        expect(y.dtype).toBe("float32")
        expectClose(y, conv2dReference(x, w, c.stride, c.dilation, resolvePadding(c.padding, c.h, c.w, c.k[0], c.k[1], c.stride, c.dilation)), 1e-5)
      }),
      { numRuns: 15 }
    ))

  it("'same' with stride 1 keeps the spatial size, with stride s gives ceil(n / s)", () => {
    const x = fill([1, 2, 7, 6], 1)
    const w = fill([3, 2, 3, 2], 2)
    expect(NdArray.conv2d(x, w, { padding: "same" }).shape).toEqual([1, 3, 7, 6])
    expect(NdArray.conv2d(x, w, { padding: "same", stride: 2 }).shape).toEqual([1, 3, 4, 3])
  })

  it("a single [C, H, W] image gives [O, OH, OW], equal to the batched result", () => {
    const x = fill([2, 5, 5], 3)
    const w = fill([4, 2, 3, 3], 4)
    const single = NdArray.conv2d(x, w, { padding: 1 })
    expect(single.shape).toEqual([4, 5, 5])
    expect(single.toArray()).toEqual((NdArray.conv2d(NdArray.expandDims(x, 0), w, { padding: 1 }).toArray() as Array<unknown>)[0])
  })

  it("a known small case: a 2×2 box filter", () => {
    const x = NdArray.reshape(NdArray.arange(9, undefined, 1, { dtype: "float32" }), [1, 1, 3, 3])
    const y = NdArray.conv2d(x, NdArray.ones([1, 1, 2, 2]))
    expect(y.toArray()).toEqual([
      [
        [
          [8, 12],
          [20, 24]
        ]
      ]
    ])
  })

  it("channel mismatch, wrong rank, a window larger than the input, and bad strides are typed errors", () => {
    expect(() => NdArray.conv2d(NdArray.zeros([1, 2, 4, 4]), NdArray.zeros([1, 3, 2, 2]))).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => NdArray.conv2d(NdArray.zeros([4, 4]), NdArray.zeros([1, 1, 2, 2]))).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => NdArray.conv2d(NdArray.zeros([1, 1, 2, 2]), NdArray.zeros([1, 1, 3, 3]))).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => NdArray.conv2d(NdArray.zeros([1, 1, 4, 4]), NdArray.zeros([1, 1, 2, 2]), { stride: 0 })).toThrow(expect.objectContaining({ _tag: "ValueError" }))
  })
})

const poolCaseArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    k: pairArb(1, 3),
    stride: fc.option(pairArb(1, 3)),
    padding: fc.oneof(fc.constant("valid" as const), fc.constant("same" as const), fc.integer({ min: 0, max: 1 })),
    seed: fc.integer({ min: 0, max: 1000 })
  })
  .filter(({ h, w, k, stride, padding }) => {
    const s = stride ?? k
    const p = resolvePadding(padding, h, w, k[0], k[1], s, [1, 1])
    // every window must overlap the image (a window of only padding is -inf / 0 by convention, not worth pinning)
    return outSize(h, k[0], s[0], 1, p[0], p[1]) > 0 && outSize(w, k[1], s[1], 1, p[2], p[3]) > 0 && p.every((v, i) => v < k[i < 2 ? 0 : 1])
  })

describe("pooling against direct window loops", () => {
  for (const kind of ["max", "avg"] as const) {
    it(`${kind}Pool2d: kernel, stride (default: the kernel), padding`, () =>
      fc.assert(
        fc.property(poolCaseArb, (c) => {
          const x = fill([c.n, c.c, c.h, c.w], c.seed)
          const options = { kernelSize: c.k, padding: c.padding, ...(c.stride ? { stride: c.stride } : {}) }
          const y = kind === "max" ? NdArray.maxPool2d(x, options) : NdArray.avgPool2d(x, options)
          const s = c.stride ?? c.k
          expectClose(y, poolReference(x, c.k, s, resolvePadding(c.padding, c.h, c.w, c.k[0], c.k[1], s, [1, 1]), kind), 1e-12)
        }),
        { numRuns }
      ))
  }

  it("2×2 max and average pooling of a known image", () => {
    const x = NdArray.reshape(NdArray.arange(16, undefined, 1, { dtype: "float32" }), [1, 1, 4, 4])
    expect(NdArray.maxPool2d(x, { kernelSize: 2 }).toArray()).toEqual([
      [
        [
          [5, 7],
          [13, 15]
        ]
      ]
    ])
    expect(NdArray.avgPool2d(x, { kernelSize: 2 }).toArray()).toEqual([
      [
        [
          [2.5, 4.5],
          [10.5, 12.5]
        ]
      ]
    ])
  })

  it("pooling without a kernelSize (a bare number from JavaScript, or {}) is a ValueError, not a 1×1 window", () => {
    const x = NdArray.zeros([1, 1, 4, 4])
    for (const pool of [NdArray.maxPool2d, NdArray.avgPool2d]) {
      expect(() => pool(x, 2 as unknown as { kernelSize: number })).toThrow(/kernelSize/)
      expect(() => pool(x, {} as { kernelSize: number })).toThrow(/kernelSize/)
    }
  })

  it("maxPool2d padding never wins: int32 and bool images pad with the dtype's lowest value", () => {
    const ints = NdArray.maxPool2d(NdArray.full([1, 1, 2, 2], -5, { dtype: "int32" }), { kernelSize: 2, stride: 1, padding: 1 })
    expect(ints.dtype).toBe("int32")
    expect(ints.toArray()).toEqual([
      [
        [
          [-5, -5, -5],
          [-5, -5, -5],
          [-5, -5, -5]
        ]
      ]
    ])
    const floats = NdArray.maxPool2d(NdArray.full([1, 1, 2, 2], -5), { kernelSize: 2, stride: 1, padding: "same" })
    expect(floats.toArray()).toEqual([
      [
        [
          [-5, -5],
          [-5, -5]
        ]
      ]
    ])
    const bools = NdArray.maxPool2d(NdArray.array([[[[false, true], [false, false]]]]), { kernelSize: 2, stride: 1, padding: 1 })
    expect(bools.toArray()).toEqual([
      [
        [
          [false, true, true],
          [false, true, true],
          [false, false, false]
        ]
      ]
    ])
  })

  it("avgPool2d of an int32 image is float32; a [C, H, W] image works", () => {
    const x = NdArray.reshape(NdArray.arange(8), [2, 2, 2])
    const y = NdArray.avgPool2d(x, { kernelSize: 2 })
    expect(y.dtype).toBe("float32")
    expect(y.toArray()).toEqual([[[1.5]], [[5.5]]])
  })

  it("max pooling's kernels (the unrolled 2×2 one included) equal reduce_max over patches, value and gradient, with ties, NaN and strided input", () => {
    const viaPatches = (x: Arr, k: number, stride: number) => {
      const p = { kh: k, kw: k, strideH: stride, strideW: stride, dilationH: 1, dilationW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, padValue: -Infinity }
      return reduceMax(im2col(x, p), [2, 3])
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 7 }),
        fc.integer({ min: 2, max: 7 }),
        fc.constantFrom([2, 2], [2, 1], [3, 2], [3, 3]),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (h, w, [k, stride], transposed, seed) => {
          if (h < k || w < k) return
          let r = seed
          const rnd = () => ((r = (r * 1103515245 + 12345) % 2147483648) / 2147483648)
          const values = Array.from({ length: 2 * 3 * h * w }, () => (rnd() < 0.03 ? NaN : Math.floor(rnd() * 4) / 2))
          let x = NdArray.reshape(NdArray.array(values, { dtype: "float64" }), transposed ? [2, 3, w, h] : [2, 3, h, w])
          if (transposed) x = NdArray.transpose(x, [0, 1, 3, 2]) // a strided view
          const got = NdArray.maxPool2d(x, { kernelSize: k, stride })
          const want = viaPatches(x, k, stride)
          expect(Array.from(got.data())).toEqual(Array.from(want.data()))
          const weights = NdArray.reshape(NdArray.arange(got.size, { dtype: "float64" }), got.shape)
          const g1 = grad((x: Arr) => NdArray.sum(NdArray.mul(NdArray.maxPool2d(x, { kernelSize: k, stride }), weights)))(x)
          const g2 = grad((x: Arr) => NdArray.sum(NdArray.mul(viaPatches(x, k, stride), weights)))(x)
          const a1 = Array.from(g1.data()), a2 = Array.from(g2.data())
          // overlapping windows add their shares in another order: equal to rounding, NaN exactly where NaN
          const bad = a1.findIndex((v, i) => !(Number.isNaN(v) ? Number.isNaN(a2[i]) : Math.abs(v - a2[i]) <= 1e-12 * (1 + Math.abs(a2[i]))))
          if (bad >= 0) expect.fail(`k=${k} s=${stride} h=${h} w=${w} T=${transposed}: element ${bad}: ${a1[bad]} vs ${a2[bad]}; ${JSON.stringify(a1.slice(Math.max(0, bad - 3), bad + 4))} vs ${JSON.stringify(a2.slice(Math.max(0, bad - 3), bad + 4))}`)
        }
      ),
      { numRuns: 150 }
    )
  })
})
