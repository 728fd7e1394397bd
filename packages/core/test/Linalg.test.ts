import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, Linalg, NdArray as N, type NdArray, ValueError, vmap } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"

const f64 = (x: Parameters<typeof N.array>[0]) => N.array(x, { dtype: "float64" })

/** A well-conditioned random matrix: random + n·I. */
const wellConditioned = (n: number) => Arb.ndarray({ shape: [n, n], min: -1, max: 1 }).map((a) => N.add(a, N.mul(N.eye(n, { dtype: "float64" }), n + 1)))

const close = (a: NdArray, b: NdArray, tol = 1e-9) => {
  const x = a.data()
  const y = b.data()
  expect(x.length).toBe(y.length)
  x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(tol * (1 + Math.abs(y[i]))))
}

describe("Linalg", () => {
  it("solve: known system", () => {
    expect(Linalg.solve(f64([[3, 1], [1, 2]]), f64([9, 8])).toArray()).toEqual([2, 3])
  })

  it("solve: A·solve(A, b) = b, batched, with matrix right-hand sides", () => {
    fc.assert(
      fc.property(wellConditioned(4), Arb.ndarray({ shape: [4, 3] }), (a, b) => {
        close(N.matmul(a, Linalg.solve(a, b)), b, 1e-9)
        const batch = N.stack([a, N.mul(a, 2)])
        const xs = Linalg.solve(batch, b)
        close(N.matmul(batch, xs), N.stack([b, b]), 1e-9)
      }),
      { numRuns: 20 }
    )
  })

  it("inv and det agree with their definitions", () => {
    fc.assert(
      fc.property(wellConditioned(3), (a) => {
        close(N.matmul(a, Linalg.inv(a)), N.eye(3, { dtype: "float64" }), 1e-9)
        const [[p, q, r], [s, t, u], [v, w, x]] = a.toArray() as Array<Array<number>>
        const expected = p * (t * x - u * w) - q * (s * x - u * v) + r * (s * w - t * v)
        expect(Math.abs(Linalg.det(a).item() - expected)).toBeLessThan(1e-9 * (1 + Math.abs(expected)))
      }),
      { numRuns: 20 }
    )
  })

  it("a singular matrix is a ValueError", () => {
    expect(() => Linalg.solve(f64([[1, 2], [2, 4]]), f64([1, 1]))).toThrow(ValueError)
  })

  it("pinv of a full-rank tall matrix is a left inverse; lstsq recovers exact coefficients", () => {
    const X = f64([[1, 0, 1], [1, 1, 2], [1, 2, 1], [1, 3, 5], [1, 4, 3]])
    close(N.matmul(Linalg.pinv(X), X), N.eye(3, { dtype: "float64" }), 1e-9)
    const theta = f64([1.5, 2, 5])
    close(Linalg.lstsq(X, N.matmul(X, theta)), theta, 1e-9)
    const wide = N.transpose(X)
    close(N.matmul(wide, Linalg.pinv(wide)), N.eye(3, { dtype: "float64" }), 1e-9)
  })

  it("gradients of solve, inv, det and pinv match finite differences (order 2)", () => {
    const a = f64([[2, 0.5, 0.1], [0.3, 3, -0.2], [0.1, 0.4, 1.5]])
    const b = f64([1, -2, 0.5])
    checkGrads((m: NdArray, v: NdArray) => N.sum(N.sin(Linalg.solve(m, v))), [a, b], { order: 2 })
    checkGrads((m: NdArray) => N.sum(Linalg.inv(m)), [a], { order: 2 })
    checkGrads((m: NdArray) => Linalg.det(m), [a], { order: 2 })
    checkGrads((m: NdArray) => N.sum(N.square(Linalg.pinv(m))), [f64([[1, 2], [3, 4], [5, 7]])])
  })

  it("vmap of solve equals the loop", () => {
    const as = N.stack([f64([[2, 1], [1, 3]]), f64([[4, 1], [0, 2]])])
    const bs = f64([[1, 2], [3, 4]])
    const batched = vmap((m: NdArray, v: NdArray) => Linalg.solve(m, v))(as, bs)
    close(batched, N.stack([Linalg.solve(N.slice(as, [0]), N.slice(bs, [0])), Linalg.solve(N.slice(as, [1]), N.slice(bs, [1]))]))
  })
})
