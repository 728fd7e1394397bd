// The array properties that depend on the kernel backend, run against both the
// plain TypeScript kernels (the reference) and the WebAssembly ones.
import * as fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { backendName, grad, NdArray as N, type NdArray, setBackend } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { wasmAvailable } from "../src/backend/wasm/index.js"

const naiveMatmul = (a: NdArray, b: NdArray): Array<number> => {
  const [m, k] = a.shape
  const n = b.shape[1]
  const x = a.data()
  const y = b.data()
  const out = new Array<number>(m * n).fill(0)
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += x[i * k + p] * y[p * n + j]
  return out
}

const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) => {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i])))
}

const backends = wasmAvailable() ? (["js", "wasm"] as const) : (["js"] as const)

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))

describe.each(backends)("backend %s", (name) => {
  it("is selected", () => {
    setBackend(name)
    expect(backendName()).toBe(name)
  })

  it("matmul matches a naive triple loop (sizes past the wasm threshold, both dtypes, transposed operands)", () => {
    setBackend(name)
    const dims = fc.integer({ min: 1, max: 70 })
    fc.assert(
      fc.property(dims, dims, dims, fc.constantFrom("float32" as const, "float64" as const), fc.boolean(), fc.boolean(), (m, k, n, dtype, ta, tb) => {
        const a = N.astype(N.reshape(N.sin(N.arange(m * k, undefined, 1, { dtype: "float64" })), ta ? [k, m] : [m, k]), dtype)
        const b = N.astype(N.reshape(N.cos(N.arange(k * n, undefined, 1, { dtype: "float64" })), tb ? [n, k] : [k, n]), dtype)
        const A = ta ? N.transpose(a) : a
        const B = tb ? N.transpose(b) : b
        expectClose(N.matmul(A, B).data(), naiveMatmul(N.astype(A, "float64"), N.astype(B, "float64")), dtype === "float32" ? 1e-4 * Math.sqrt(k) : 1e-12 * k)
      }),
      { numRuns: 40 }
    )
  })

  it("a large product and conv2d gradients agree with the JS reference", () => {
    setBackend("js")
    const a = N.reshape(N.sin(N.arange(300 * 200, undefined, 1, { dtype: "float32" })), [300, 200])
    const b = N.reshape(N.cos(N.arange(200 * 150, undefined, 1, { dtype: "float32" })), [200, 150])
    const reference = N.matmul(a, b).data()
    const x = N.reshape(N.sin(N.arange(8 * 3 * 12 * 12, undefined, 1, { dtype: "float32" })), [8, 3, 12, 12])
    const w = N.reshape(N.cos(N.arange(16 * 3 * 5 * 5, undefined, 1, { dtype: "float32" })), [16, 3, 5, 5])
    const loss = (wt: NdArray) => N.sum(N.square(N.conv2d(x, wt, { padding: "same" })))
    const gRef = grad(loss)(w).data()
    setBackend(name)
    expectClose(N.matmul(a, b).data(), reference, 1e-4)
    expectClose(grad(loss)(w).data(), gRef, 1e-4)
  })

  it("elementwise and reductions are backend independent", () => {
    setBackend(name)
    fc.assert(
      fc.property(Arb.ndarray({ shape: [5, 7], dtype: "float32" }), (x) => {
        const y = N.sum(N.mul(N.tanh(x), x), { axis: 1 }).data()
        const ref = (x.toArray() as Array<Array<number>>).map((r) => r.reduce((s, v) => s + Math.fround(Math.tanh(v)) * v, 0))
        expectClose(y, ref, 1e-5)
      }),
      { numRuns: 20 }
    )
  })
})
