import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { matmul, setMatmulImplementation } from "../../../src/backend/cpu/matmul"
import type { FloatBuffer, MatmulImpl } from "../../../src/backend/cpu/matmul"
import type { DType, View } from "../../../src/backend/cpu/types"
import { arbLayout, at, contiguousLayout, indices, makeView, mismatch, mismatchClose, store, values } from "./helpers"
import type { Layout } from "./helpers"

/** Naive batched product in float64, plus Σ|a||b| per entry for the tolerance. */
const matmulRef = (a: View, b: View): { value: Array<number>; scale: Array<number> } => {
  const r = a.shape.length
  const k = a.shape[r - 1]
  const outShape = [...a.shape.slice(0, r - 1), b.shape[r - 1]]
  const value: Array<number> = []
  const scale: Array<number> = []
  for (const idx of indices(outShape)) {
    const batch = idx.slice(0, r - 2)
    const [i, j] = idx.slice(r - 2)
    let s = 0
    let m = 0
    for (let p = 0; p < k; p++) {
      const prod = at(a, [...batch, i, p]) * at(b, [...batch, p, j])
      s += prod
      m += Math.abs(prod)
    }
    value.push(s)
    scale.push(Math.max(m, 1e-30))
  }
  return { value, scale }
}

/** A layout with a shared batch part: broadcast batch dims get stride 0 in both operands independently. */
const arbMatLayout = (ndim: number): fc.Arbitrary<Layout> =>
  fc.oneof(
    fc.constant(contiguousLayout(ndim)),
    // transposed trailing block (column-major)
    fc.constant({ ...contiguousLayout(ndim), perm: [...contiguousLayout(ndim).perm.slice(0, ndim - 2), ndim - 1, ndim - 2] }),
    arbLayout(ndim, false).map((l) => ({ ...l, broadcast: l.broadcast.map((_, d) => d < ndim - 2 && l.flip[d] && l.step[d] === 2) }))
  )

const check = (a: View, b: View, outDtype: DType): void => {
  const result = matmul(a, b, outDtype)
  const ref = matmulRef(a, b)
  if (outDtype === "int32") {
    expect(mismatch(result, store("int32", ref.value))).toBeNull()
  } else {
    expect(result).toBeInstanceOf(outDtype === "float32" ? Float32Array : Float64Array)
    expect(mismatchClose(result, ref.value, outDtype === "float32" ? 1e-5 : 1e-13, ref.scale)).toBeNull()
  }
}

describe("matmul", () => {
  afterEach(() => setMatmulImplementation(null))

  it("matches the naive product on random shapes and layouts", () => {
    fc.assert(
      fc.property(
        fc
          .record({
            batch: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
            m: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 40 })),
            k: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 40 })),
            n: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 40 }))
          })
          .chain(({ batch, m, k, n }) =>
            fc.record({
              batch: fc.constant(batch),
              m: fc.constant(m),
              k: fc.constant(k),
              n: fc.constant(n),
              la: arbMatLayout(batch.length + 2),
              lb: arbMatLayout(batch.length + 2),
              dtype: fc.constantFrom<DType>("float32", "float64"),
              outDtype: fc.constantFrom<DType>("float32", "float64"),
              seed: fc.integer()
            })
          ),
        ({ batch, m, k, n, la, lb, dtype, outDtype, seed }) => {
          const a = makeView([...batch, m, k], dtype, la, values(dtype, seed))
          const b = makeView([...batch, k, n], dtype, lb, values(dtype, seed + 1))
          check(a, b, outDtype)
        }
      ),
      { numRuns: 150 }
    )
  })

  it("crosses the block boundaries with every layout", () => {
    const cases: Array<[number, number, number]> = [
      [37, 300, 21], // k > KC
      [70, 9, 13], // m > MC
      [9, 5, 530], // n > NC
      [4, 4, 4],
      [1, 200, 50], // vector-matrix
      [50, 200, 1], // matrix-vector
      [66, 1, 67] // outer product
    ]
    for (const [m, k, n] of cases) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const dtype of ["float32", "float64"] as const) {
            const layout = (t: boolean): Layout => ({ ...contiguousLayout(2), perm: t ? [1, 0] : [0, 1] })
            const a = makeView([m, k], dtype, layout(ta), values(dtype, m + k))
            const b = makeView([k, n], dtype, layout(tb), values(dtype, k + n))
            check(a, b, dtype)
          }
        }
      }
    }
  })

  it("supports broadcast batches, negative strides and int outputs", () => {
    const a = makeView([3, 2, 10, 12], "float64", { perm: [0, 1, 2, 3], step: [1, 1, 2, 1], flip: [false, false, true, true], broadcast: [true, false, false, false], offset: 1 }, values("float64", 5))
    const b = makeView([3, 2, 12, 9], "float64", { perm: [1, 0, 3, 2], step: [1, 2, 1, 1], flip: [true, false, false, true], broadcast: [false, true, false, false], offset: 2 }, values("float64", 6))
    check(a, b, "float64")
    check(a, b, "float32")
    const ai = makeView([2, 8, 9], "int32", contiguousLayout(3), values("int32", 1))
    const bi = makeView([2, 9, 7], "int32", contiguousLayout(3), values("int32", 2))
    check(ai, bi, "int32")
    check(ai, bi, "float32")
  })

  it("returns zeros when k is 0 and an empty buffer for empty outputs", () => {
    const a = makeView([3, 0], "float32", contiguousLayout(2), values("float32", 1))
    const b = makeView([0, 4], "float32", contiguousLayout(2), values("float32", 2))
    expect(Array.from(matmul(a, b, "float32"))).toEqual(new Array(12).fill(0))
    expect(matmul(b, makeView([4, 5], "float32", contiguousLayout(2), values("float32", 3)), "float32").length).toBe(0)
  })

  it("calls the installed implementation with the operands' own strides and falls back when it declines", () => {
    const calls: Array<{ strides: Array<number>; m: number; k: number; n: number; f32: boolean }> = []
    let accept = true
    const impl: MatmulImpl = (a, ao, ars, acs, b, bo, brs, bcs, c, co, m, k, n) => {
      calls.push({ strides: [ars, acs, brs, bcs], m, k, n, f32: a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array })
      if (!accept) return false
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0
          for (let p = 0; p < k; p++) s += a[ao + i * ars + p * acs] * b[bo + p * brs + j * bcs]
          ;(c as FloatBuffer)[co + i * n + j] = s
        }
      return true
    }
    setMatmulImplementation(impl)
    // a transposed (column-major), b strided (passed as it is, not copied), batch of 2 with a broadcast.
    const a = makeView([2, 5, 6], "float32", { perm: [0, 2, 1], step: [1, 1, 1], flip: [false, false, false], broadcast: [true, false, false], offset: 0 }, values("float32", 1))
    const b = makeView([2, 6, 7], "float32", { perm: [0, 1, 2], step: [1, 2, 1], flip: [false, false, false], broadcast: [false, false, false], offset: 0 }, values("float32", 2))
    check(a, b, "float32")
    expect(calls.length).toBe(2)
    expect(calls[0]).toEqual({ strides: [1, 5, 14, 1], m: 5, k: 6, n: 7, f32: true })
    accept = false
    check(a, b, "float32")
    expect(calls.length).toBe(4)
    // float64 output: operands are cast for the implementation.
    calls.length = 0
    accept = true
    check(a, b, "float64")
    expect(calls.every((c) => !c.f32)).toBe(true)
    setMatmulImplementation(null)
    calls.length = 0
    check(a, b, "float32")
    expect(calls.length).toBe(0)
  })
})
