// The WebAssembly im2col / col2im against the JavaScript loops, bit for bit:
// the cpu kernels run with the wasm implementation installed (at every size,
// in chunks from a few bytes to everything at once) and without it, on random
// shapes (empty and size-1 dims), windows (strides, dilations, asymmetric
// padding), pad values, strided, reversed and broadcast views, both layouts
// and both float dtypes.
import * as fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { grad, NdArray as N, type NdArray, setBackend } from "@gradfx/core"
import { channelsMajorStrides, col2im, convOutputSize, im2col, setConvImplementation, type ConvImplementation, type ConvParams } from "../../../src/backend/cpu/conv.js"
import type { Buffer, DType, View } from "../../../src/backend/cpu/types.js"
import { convKernels, convStats } from "../../../src/backend/wasm/convKernels.js"
import { wasmAvailable } from "../../../src/backend/wasm/index.js"
import { arbConvParams, arbLayoutOrContiguous, contiguousLayout, makeView, values } from "../cpu/helpers.js"

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))

/** Every size in WebAssembly; `chunkBytes` from one window per chunk to everything at once. */
const arbKernels = fc.constantFrom(16, 256, 4096, 1 << 30).map((chunkBytes) => convKernels({ minWork: 0, chunkBytes }))

/** `f` with `impl` installed (null: the JavaScript loops). */
const withKernels = <A>(impl: ConvImplementation | null, f: () => A): A => {
  setConvImplementation(impl)
  try {
    return f()
  } finally {
    setConvImplementation(null)
  }
}

/** Null when `a` and `b` agree element by element under Object.is (±0 and NaN included). */
const difference = (a: Buffer, b: Buffer): string | null => {
  if (a.constructor !== b.constructor) return `type ${a.constructor.name} != ${b.constructor.name}`
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `at ${i}: ${a[i]} != ${b[i]}`
  return null
}

const arbParams = arbConvParams(4)

const dim = (max: number) => fc.oneof(fc.integer({ min: 0, max }), fc.constant(1))

const arbCase = fc.record({
  // widths past 36 give rows longer than the unrolled cases (8 v128)
  shape: fc.tuple(dim(3), dim(3), dim(11), fc.oneof(dim(11), fc.integer({ min: 30, max: 45 }))),
  p: arbParams,
  dtype: fc.constantFrom<DType>("float32", "float64"),
  kind: fc.constantFrom("float" as const, "special" as const),
  seed: fc.integer(),
  channelsMajor: fc.boolean()
})

const outSizes = (H: number, W: number, p: ConvParams): [number, number] => [
  convOutputSize(H, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom),
  convOutputSize(W, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
]

describe.runIf(wasmAvailable())("WebAssembly im2col / col2im", () => {
  it("im2col matches the JavaScript loop bit for bit", () => {
    let ran = 0
    fc.assert(
      fc.property(arbCase, arbLayoutOrContiguous(4, true), fc.constantFrom(0, -0, 2.5, -Infinity, NaN), arbKernels, ({ shape, p, dtype, kind, seed, channelsMajor }, layout, padValue, kernels) => {
        const x = makeView(shape, dtype, layout, values(dtype, seed, kind))
        const expected = withKernels(null, () => im2col(x, p, padValue, channelsMajor))
        const before = convStats().im2col
        const actual = withKernels(kernels, () => im2col(x, p, padValue, channelsMajor))
        ran += convStats().im2col - before
        expect(difference(actual, expected)).toBeNull()
      }),
      { numRuns: 400 }
    )
    expect(ran).toBeGreaterThan(100)
  })

  it("col2im matches the JavaScript loop bit for bit (same summation order and rounding)", () => {
    let ran = 0
    fc.assert(
      fc.property(arbCase, arbLayoutOrContiguous(6, true), arbKernels, ({ shape, p, dtype, kind, seed, channelsMajor }, layout, kernels) => {
        const [N, C, H, W] = shape
        const [OH, OW] = outSizes(H, W, p)
        const colShape = [N, C, p.kh, p.kw, OH, OW]
        const base = makeView(colShape, dtype, channelsMajor ? contiguousLayout(6) : layout, values(dtype, seed, kind))
        // the conv2d layout: a channels-major buffer viewed as [N, C, kh, kw, OH, OW]
        const cols: View = channelsMajor ? { ...base, strides: channelsMajorStrides(N, C, p.kh, p.kw, OH, OW) } : base
        const expected = withKernels(null, () => col2im(cols, N, C, H, W, p, dtype))
        const before = convStats().col2im
        const actual = withKernels(kernels, () => col2im(cols, N, C, H, W, p, dtype))
        ran += convStats().col2im - before
        expect(difference(actual, expected)).toBeNull()
      }),
      { numRuns: 400 }
    )
    expect(ran).toBeGreaterThan(100)
  })

  it("col2im into another dtype stays in JavaScript", () => {
    const p: ConvParams = { kh: 2, kw: 2, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }
    const cols = makeView([1, 1, 2, 2, 3, 3], "float32", contiguousLayout(6), values("float32", 1))
    const before = convStats().col2im
    const out = withKernels(convKernels({ minWork: 0, chunkBytes: 4096 }), () => col2im(cols, 1, 1, 4, 4, p, "float64"))
    expect(convStats().col2im).toBe(before)
    expect(difference(out, withKernels(null, () => col2im(cols, 1, 1, 4, 4, p, "float64")))).toBeNull()
  })

  it("runs the MNIST CNN's patches (both convolutions and the input gradient) in WebAssembly", () => {
    const fill = (shape: ReadonlyArray<number>, seed: number): NdArray => N.array(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, values("float32", seed)), { shape })
    const x = fill([32, 1, 28, 28], 1)
    // conv 5×5×20 → max-pool 2 → conv 5×5×40, and the gradient with respect to the pooled activations [32, 20, 12, 12]
    const loss = (w1: NdArray, w2: NdArray, h: NdArray) => N.add(N.sum(N.conv2d(N.maxPool2d(N.conv2d(x, w1), { kernelSize: 2 }), w2)), N.sum(N.conv2d(h, w2)))
    const args = [fill([20, 1, 5, 5], 2), fill([40, 20, 5, 5], 3), fill([32, 20, 12, 12], 4)] as const
    const grads = () => grad(loss, { argnums: [0, 1, 2] })(...args) as ReadonlyArray<NdArray>
    setBackend("wasm")
    const before = convStats()
    const actual = grads()
    const after = convStats()
    expect(after.im2col - before.im2col).toBe(3) // [32, 1, 28, 28] and [32, 20, 12, 12] twice
    expect(after.col2im - before.col2im).toBe(2) // [32, 20, 5, 5, 8, 8] → [32, 20, 12, 12]: into h and into the pooled first activations
    // the same program with only the patch kernels in JavaScript
    const expected = withKernels(null, grads)
    setBackend("wasm")
    for (let i = 0; i < 3; i++) expect(difference(actual[i].data(), expected[i].data())).toBeNull()
  })
})
