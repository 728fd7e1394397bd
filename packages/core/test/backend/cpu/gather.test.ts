import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { gather, scatterAdd } from "../../../src/backend/cpu/gather"
import type { DType } from "../../../src/backend/cpu/types"
import { sizeOf } from "../../../src/backend/cpu/types"
import { arbLayoutOrContiguous, arbShape, at, contiguousLayout, indices, makeView, mismatch, mismatchClose, prng, read, store, values } from "./helpers"

const arbGather = arbShape(1, 3, 4, 1).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    layout: arbLayoutOrContiguous(shape.length, true),
    axis: fc.integer({ min: 0, max: shape.length - 1 }),
    indicesShape: arbShape(0, 2, 4),
    dtype: fc.constantFrom<DType>("float32", "float64", "int32", "bool"),
    seed: fc.integer()
  })
)

const randomIndices = (count: number, size: number, seed: number): Int32Array => {
  const r = prng(seed)
  return Int32Array.from({ length: count }, () => Math.floor(r() * size))
}

describe("gather", () => {
  it("matches x[..., idx, ...]", () => {
    fc.assert(
      fc.property(arbGather, ({ shape, layout, axis, indicesShape, dtype, seed }) => {
        const x = makeView(shape, dtype, layout, values(dtype, seed))
        const idx = randomIndices(sizeOf(indicesShape), shape[axis], seed)
        const outShape = [...shape.slice(0, axis), ...indicesShape, ...shape.slice(axis + 1)]
        const k = indicesShape.length
        const expected = indices(outShape).map((o) => {
          const flat = indices(indicesShape).findIndex((ii) => ii.every((v, d) => v === o[axis + d]))
          return at(x, [...o.slice(0, axis), idx[flat], ...o.slice(axis + k)])
        })
        expect(mismatch(gather(x, idx, indicesShape, axis), store(dtype, expected))).toBeNull()
      }),
      { numRuns: 200 }
    )
  })

  it("copies long rows (embedding lookup)", () => {
    const x = makeView([10, 100], "float32", { ...contiguousLayout(2), offset: 3 }, values("float32", 1))
    const idx = Int32Array.from([3, 3, 9, 0])
    const out = gather(x, idx, [2, 2], 0)
    expect(Array.from(out.subarray(0, 100))).toEqual(read(x).slice(300, 400))
    expect(Array.from(out.subarray(200, 300))).toEqual(read(x).slice(900, 1000))
  })
})

describe("scatterAdd", () => {
  it("is the adjoint of gather and accumulates duplicates", () => {
    fc.assert(
      fc.property(arbGather, ({ shape, axis, indicesShape, seed, layout }) => {
        const dtype: DType = seed % 2 === 0 ? "float64" : "float32"
        const x = makeView(shape, "float64", { ...layout, broadcast: layout.broadcast.map(() => false) }, values("float64", seed))
        const idx = randomIndices(sizeOf(indicesShape), shape[axis], seed + 1)
        const uShape = [...shape.slice(0, axis), ...indicesShape, ...shape.slice(axis + 1)]
        // Updates with reversed odd dims.
        const uLayout = { ...contiguousLayout(uShape.length), flip: uShape.map((_, d) => d % 2 === 1) }
        const u = makeView(uShape, dtype, uLayout, values(dtype, seed + 2))
        const g = gather(x, idx, indicesShape, axis)
        const us = read(u)
        let dot1 = 0
        for (let i = 0; i < us.length; i++) dot1 += g[i] * us[i]
        const s = scatterAdd(u, idx, indicesShape, axis, shape[axis], "float64")
        const xs = read(x)
        let dot2 = 0
        for (let i = 0; i < xs.length; i++) dot2 += xs[i] * s[i]
        expect(Math.abs(dot1 - dot2)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(dot1)))
        // Naive scatter in the update dtype.
        const k = indicesShape.length
        const ref = new Array<number>(sizeOf(shape)).fill(0)
        const outStrides = shape.map((_, d) => sizeOf(shape.slice(d + 1)))
        indices(uShape).forEach((o, i) => {
          const flat = indices(indicesShape).findIndex((ii) => ii.every((v, d) => v === o[axis + d]))
          const target = [...o.slice(0, axis), idx[flat], ...o.slice(axis + k)]
          ref[target.reduce((acc, v, d) => acc + v * outStrides[d], 0)] += us[i]
        })
        expect(mismatchClose(scatterAdd(u, idx, indicesShape, axis, shape[axis], dtype), store(dtype, ref), dtype === "float32" ? 1e-6 : 1e-12)).toBeNull()
      }),
      { numRuns: 200 }
    )
  })

  it("accumulates duplicate indices", () => {
    const u = makeView([4, 2], "float32", contiguousLayout(2), () => 1)
    expect(Array.from(scatterAdd(u, Int32Array.from([2, 0, 2, 2]), [4], 0, 3, "float32"))).toEqual([1, 1, 0, 0, 3, 3])
    expect(Array.from(scatterAdd(u, Int32Array.from([2, 0, 2, 2]), [4], 0, 3, "bool"))).toEqual([1, 1, 0, 0, 1, 1])
    expect(Array.from(scatterAdd(u, Int32Array.from([1, 1]), [2], 1, 3, "int32"))).toEqual([0, 2, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0])
  })
})
