// The WebAssembly 2×2 / stride-2 pooling kernels against the JavaScript loops,
// bit for bit: `poolWasm` called directly (every size) against the cpu kernels
// with no implementation installed, on random shapes (odd H and W, size-1 and
// empty dims), images full of ties (small integers, ±0) and NaNs, and
// tangents / cotangents whose means round (thirds, subnormals, huge values),
// in both float dtypes. Then the dispatch: the cpu kernels take the wasm path
// for the CNN's shape and decline what it does not handle.
import * as fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { grad, NdArray as N, type NdArray, setBackend } from "@gradfx/core"
import type { ConvParams } from "../../../src/backend/cpu/conv.js"
import { maxPool, poolScatter, poolSelect, setPoolImplementation, type PoolImplementation } from "../../../src/backend/cpu/pool.js"
import type { Buffer, DType, View } from "../../../src/backend/cpu/types.js"
import { wasmAvailable } from "../../../src/backend/wasm/index.js"
import { poolWasm } from "../../../src/backend/wasm/poolKernels.js"
import { arbLayout, contiguousLayout, makeView, prng } from "../cpu/helpers.js"

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))

const pool2: ConvParams = { kh: 2, kw: 2, strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }

/** `f` with `impl` installed (null: the JavaScript loops). */
const withKernels = <A>(impl: PoolImplementation | null, f: () => A): A => {
  setPoolImplementation(impl)
  try {
    return f()
  } finally {
    setPoolImplementation(null)
  }
}

const js = {
  maxPool: (x: View) => withKernels(null, () => maxPool(x, pool2, -Infinity, outSize(x))),
  poolSelect: (x: View, t: View) => withKernels(null, () => poolSelect(x, t, pool2, -Infinity, outSize(x), t.dtype)),
  poolScatter: (x: View, ct: View) => withKernels(null, () => poolScatter(x, ct, pool2, -Infinity, ct.dtype))
}

const pooledShape = (x: View): Array<number> => [x.shape[0], x.shape[1], x.shape[2] >> 1, x.shape[3] >> 1]
const outSize = (x: View): number => pooledShape(x).reduce((a, b) => a * b, 1)

/** Null when `a` and `b` agree element by element under Object.is (±0 and NaN included). */
const difference = (a: Buffer | undefined, b: Buffer): string | null => {
  if (a === undefined) return "the wasm kernel declined"
  if (a.constructor !== b.constructor) return `type ${a.constructor.name} != ${b.constructor.name}`
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `at ${i}: ${a[i]} != ${b[i]}`
  return null
}

/** Images: mostly small integers and ±0 (ties everywhere), some NaN and ±∞. */
const image = (seed: number, nanRate: number): (() => number) => {
  const r = prng(seed)
  const specials = [0, -0, Infinity, -Infinity, 0.5]
  return () => {
    const u = r()
    if (u < nanRate) return NaN
    if (u < nanRate + 0.15) return specials[Math.floor(r() * specials.length)]
    return Math.floor(r() * 4) - 2
  }
}

/** Tangents and cotangents: values whose sums and shares round, and the specials. */
const tangent = (seed: number): (() => number) => {
  const r = prng(seed)
  const specials = [0, -0, NaN, Infinity, -Infinity, 1 / 3, 1e-45, -3e-39, 1e-310, 3.4e38, 1e300, 1e8, 1]
  return () => (r() < 0.3 ? specials[Math.floor(r() * specials.length)] : (r() - 0.5) * 10 ** Math.floor(r() * 10 - 5))
}

const dim = (max: number) => fc.oneof(fc.integer({ min: 0, max }), fc.constant(1))

const arbCase = fc.record({
  shape: fc.tuple(dim(3), dim(3), dim(9), dim(21)),
  dtype: fc.constantFrom<DType>("float32", "float64"),
  nanRate: fc.constantFrom(0, 0.02, 0.3),
  seed: fc.integer()
})

const contiguous = (shape: ReadonlyArray<number>, dtype: DType, gen: () => number): View => makeView(shape, dtype, contiguousLayout(shape.length), gen)

describe.runIf(wasmAvailable())("WebAssembly 2×2 max pooling", () => {
  it("max_pool matches the JavaScript loop bit for bit", () => {
    fc.assert(
      fc.property(arbCase, ({ shape, dtype, nanRate, seed }) => {
        const x = contiguous(shape, dtype, image(seed, nanRate))
        const got = poolWasm.maxPool(x, pool2)
        expect(difference(got, js.maxPool(x))).toBeNull()
        // the NaNs too: both store the literal NaN
        const bytes = (b: Buffer) => Array.from(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))
        expect(bytes(got!)).toEqual(bytes(js.maxPool(x)))
      }),
      { numRuns: 300 }
    )
  })

  it("pool_select matches the JavaScript loop bit for bit", () => {
    fc.assert(
      fc.property(arbCase, ({ shape, dtype, nanRate, seed }) => {
        const x = contiguous(shape, dtype, image(seed, nanRate))
        const t = contiguous(shape, dtype, tangent(seed + 1))
        expect(difference(poolWasm.poolSelect(x, t, pool2, dtype), js.poolSelect(x, t))).toBeNull()
      }),
      { numRuns: 300 }
    )
  })

  it("pool_scatter matches the JavaScript loop bit for bit", () => {
    fc.assert(
      fc.property(arbCase, ({ shape, dtype, nanRate, seed }) => {
        const x = contiguous(shape, dtype, image(seed, nanRate))
        const ct = contiguous(pooledShape(x), dtype, tangent(seed + 1))
        expect(difference(poolWasm.poolScatter(x, ct, pool2, dtype), js.poolScatter(x, ct))).toBeNull()
      }),
      { numRuns: 300 }
    )
  })

  it("ties and zeros: the first maximum's value, shares g / count, NaN windows everywhere NaN", () => {
    // one window per row of this table: [a, b, c, d]
    const windows = [
      [-0, 0, -0, 0],
      [0, -0, 0, -0],
      [-1, -0, -2, 0],
      [1, 1, 1, 1],
      [2, 1, 2, 1],
      [3, 3, 3, -1],
      [NaN, 5, 5, 5],
      [1, 2, 3, NaN],
      [-Infinity, -Infinity, -Infinity, -Infinity]
    ]
    for (const dtype of ["float32", "float64"] as const) {
      // W = 2 · windows, H = 2, N = C = 1: window k holds columns 2k, 2k + 1
      const W = 2 * windows.length
      const data = [...windows.flatMap(([a, b]) => [a, b]), ...windows.flatMap(([, , c, d]) => [c, d])]
      const x = contiguous([1, 1, 2, W], dtype, (() => {
        let i = 0
        return () => data[i++] ?? 0
      })())
      const ct = contiguous([1, 1, 1, windows.length], dtype, () => 1)
      const t = contiguous([1, 1, 2, W], dtype, () => -0)
      expect(difference(poolWasm.maxPool(x, pool2), js.maxPool(x))).toBeNull()
      expect(difference(poolWasm.poolScatter(x, ct, pool2, dtype), js.poolScatter(x, ct))).toBeNull()
      expect(difference(poolWasm.poolSelect(x, t, pool2, dtype), js.poolSelect(x, t))).toBeNull()
      expect(Array.from(poolWasm.maxPool(x, pool2)!)).toEqual([-0, 0, -0, 1, 2, 3, NaN, NaN, -Infinity])
    }
  })

  it("declines what it does not handle, and the JavaScript loop then runs", () => {
    const x = contiguous([1, 2, 6, 6], "float32", image(1, 0))
    const strided = makeView([1, 2, 6, 6], "float32", { ...contiguousLayout(4), step: [1, 1, 1, 2] }, image(2, 0))
    expect(poolWasm.maxPool(strided, pool2)).toBeUndefined()
    expect(poolWasm.maxPool(x, { ...pool2, kh: 3, kw: 3 })).toBeUndefined()
    expect(poolWasm.maxPool(x, { ...pool2, padTop: 1 })).toBeUndefined()
    expect(poolWasm.maxPool(contiguous([1, 2, 6, 6], "int32", () => 1), pool2)).toBeUndefined()
    const ct64 = contiguous([1, 2, 3, 3], "float64", () => 1)
    expect(poolWasm.poolScatter(x, ct64, pool2, "float64")).toBeUndefined()
  })

  it("strided views fall back to the JavaScript loop with the same results", () => {
    fc.assert(
      fc.property(arbCase, arbLayout(4), ({ shape, dtype, seed }, layout) => {
        const x = makeView(shape, dtype, layout, image(seed, 0.05))
        const ct = contiguous(pooledShape(x), dtype, tangent(seed))
        const viaWasm = withKernels(poolWasm, () => [maxPool(x, pool2, -Infinity, outSize(x)), poolScatter(x, ct, pool2, -Infinity, dtype)])
        expect(difference(viaWasm[0], js.maxPool(x))).toBeNull()
        expect(difference(viaWasm[1], js.poolScatter(x, ct))).toBeNull()
      }),
      { numRuns: 100 }
    )
  })

  it("the cpu kernels take the wasm path for the CNN's pooling layer", () => {
    const calls = { maxPool: 0, poolSelect: 0, poolScatter: 0 }
    const counting: PoolImplementation = {
      maxPool: (...a) => (calls.maxPool++, poolWasm.maxPool(...a)),
      poolSelect: (...a) => (calls.poolSelect++, poolWasm.poolSelect(...a)),
      poolScatter: (...a) => (calls.poolScatter++, poolWasm.poolScatter(...a))
    }
    for (const dtype of ["float32", "float64"] as const) {
      const x = contiguous([32, 20, 24, 24], dtype, image(7, 0.001))
      const t = contiguous(x.shape, dtype, tangent(8))
      const ct = contiguous(pooledShape(x), dtype, tangent(9))
      expect(poolWasm.maxPool(x, pool2)).toBeDefined()
      expect(poolWasm.poolSelect(x, t, pool2, dtype)).toBeDefined()
      expect(poolWasm.poolScatter(x, ct, pool2, dtype)).toBeDefined()
      const got = withKernels(counting, () => [maxPool(x, pool2, -Infinity, outSize(x)), poolSelect(x, t, pool2, -Infinity, outSize(x), dtype), poolScatter(x, ct, pool2, -Infinity, dtype)])
      expect(difference(got[0], js.maxPool(x))).toBeNull()
      expect(difference(got[1], js.poolSelect(x, t))).toBeNull()
      expect(difference(got[2], js.poolScatter(x, ct))).toBeNull()
    }
    expect(calls).toEqual({ maxPool: 2, poolSelect: 2, poolScatter: 2 })
  })

  it("maxPool2d and its gradient agree between the wasm and js backends", () => {
    const r = prng(3)
    const x = N.array(Array.from({ length: 4 * 3 * 9 * 10 }, () => Math.floor(r() * 5) - 2), { shape: [4, 3, 9, 10] })
    const w = N.array(Array.from({ length: 4 * 3 * 4 * 5 }, () => r() - 0.5), { shape: [4, 3, 4, 5] })
    const f = (x: NdArray) => N.sum(N.mul(N.maxPool2d(x, { kernelSize: 2 }), w))
    const run = (backend: "wasm" | "js") => {
      setBackend(backend)
      return [N.maxPool2d(x, { kernelSize: 2 }).toArray(), grad(f)(x).toArray()]
    }
    expect(run("wasm")).toEqual(run("js"))
  })
})
