import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { col2im, convOutputSize, im2col } from "../../../src/backend/cpu/conv"
import type { ConvParams } from "../../../src/backend/cpu/conv"
import type { DType, View } from "../../../src/backend/cpu/types"
import { arbConvParams, arbLayoutOrContiguous, at, contiguousLayout, indices, makeView, makeViewOf, mismatch, mismatchClose, read, store, values } from "./helpers"

const arbParams = arbConvParams(3)

const outSizes = (H: number, W: number, p: ConvParams): [number, number] => [
  convOutputSize(H, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom),
  convOutputSize(W, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
]

/** Naive im2col straight from the definition. */
const im2colRef = (x: View, p: ConvParams, padValue: number): Array<number> => {
  const [N, C, H, W] = x.shape
  const [OH, OW] = outSizes(H, W, p)
  return indices([N, C, p.kh, p.kw, OH, OW]).map(([n, c, ki, kj, oh, ow]) => {
    const ih = oh * p.strideH - p.padTop + ki * p.dilationH
    const iw = ow * p.strideW - p.padLeft + kj * p.dilationW
    return ih >= 0 && ih < H && iw >= 0 && iw < W ? at(x, [n, c, ih, iw]) : padValue
  })
}

const arbCase = fc.record({
  shape: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })),
  p: arbParams,
  dtype: fc.constantFrom<DType>("float32", "float64"),
  seed: fc.integer(),
  layout: arbLayoutOrContiguous(4, true)
})

describe("convOutputSize", () => {
  it("follows the formula", () => {
    expect(convOutputSize(28, 3, 1, 1, 1, 1)).toBe(28)
    expect(convOutputSize(28, 3, 2, 1, 0, 0)).toBe(13)
    expect(convOutputSize(7, 3, 1, 2, 0, 0)).toBe(3)
    expect(convOutputSize(5, 2, 2, 1, 0, 1)).toBe(3)
    expect(convOutputSize(2, 5, 1, 1, 0, 0)).toBe(0)
  })
})

describe("im2col", () => {
  it("matches the definition (strides, dilation, asymmetric padding, views)", () => {
    fc.assert(
      fc.property(arbCase, fc.constantFrom(0, -Infinity, 2.5), ({ shape, p, dtype, seed, layout }, padValue) => {
        const x = makeView(shape, dtype, layout, values(dtype, seed))
        const out = im2col(x, p, padValue)
        expect(mismatch(out, store(dtype, im2colRef(x, p, padValue)))).toBeNull()
      }),
      { numRuns: 200 }
    )
  })

  it("defaults padValue to 0", () => {
    const x = makeViewOf(new Float32Array([1, 2, 3, 4]), "float32", [1, 1, 2, 2])
    const p: ConvParams = { kh: 2, kw: 2, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padBottom: 0, padLeft: 1, padRight: 0 }
    // Output 2x2 per kernel offset; offset (0,0) reads x[oh-1, ow-1].
    expect(Array.from(im2col(x, p)).slice(0, 4)).toEqual([0, 0, 0, 1])
    expect(Array.from(im2col(x, p, -Infinity)).slice(0, 4)).toEqual([-Infinity, -Infinity, -Infinity, 1])
  })
})

describe("col2im", () => {
  it("is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>", () => {
    fc.assert(
      fc.property(arbCase, ({ shape, p, dtype, seed, layout }) => {
        const [N, C, H, W] = shape
        const [OH, OW] = outSizes(H, W, p)
        const x = makeView(shape, "float64", contiguousLayout(4), values("float64", seed))
        const colShape = [N, C, p.kh, p.kw, OH, OW]
        // Columns as a strided view with reversed dims.
        const cLayout = { ...contiguousLayout(6), offset: layout.offset, flip: [false, false, true, false, true, false] }
        const c = makeView(colShape, dtype, cLayout, values(dtype, seed + 1))
        const lhs = im2col(x, p)
        const cs = read(c)
        let dot1 = 0
        for (let i = 0; i < cs.length; i++) dot1 += lhs[i] * cs[i]
        const back = col2im(c, N, C, H, W, p, "float64")
        const xs = read(x)
        let dot2 = 0
        for (let i = 0; i < xs.length; i++) dot2 += xs[i] * back[i]
        expect(Math.abs(dot1 - dot2)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(dot1)))
        // And against the naive scatter.
        const ref = new Array<number>(N * C * H * W).fill(0)
        indices(colShape).forEach(([n, ch, ki, kj, oh, ow], i) => {
          const ih = oh * p.strideH - p.padTop + ki * p.dilationH
          const iw = ow * p.strideW - p.padLeft + kj * p.dilationW
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) ref[((n * C + ch) * H + ih) * W + iw] += cs[i]
        })
        expect(mismatchClose(col2im(c, N, C, H, W, p, dtype), store(dtype, ref), dtype === "float32" ? 1e-6 : 1e-12)).toBeNull()
      }),
      { numRuns: 150 }
    )
  })
})
