import { describe, expect, it } from "vitest"
import { NdArray, Tree, valueAndGrad } from "@gradfx/core"
import { Optim } from "@gradfx/nn"

const f64 = { dtype: "float64" } as const

/** The n-dimensional Rosenbrock function Σ 100(x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at (1, …, 1). */
const rosenbrock = (x: NdArray): NdArray => {
  const n = x.shape[0]
  const head = NdArray.slice(x, [[0, n - 1]])
  const tail = NdArray.slice(x, [[1, n]])
  return NdArray.sum(NdArray.add(NdArray.mul(NdArray.square(NdArray.sub(tail, NdArray.square(head))), 100), NdArray.square(NdArray.sub(1, head))))
}

describe("lbfgs", () => {
  for (const lineSearch of ["zoom", "backtracking"] as const) {
    it(`solves the Rosenbrock function from (−1.2, 1) (${lineSearch} line search)`, () => {
      const result = Optim.minimize(rosenbrock, NdArray.array([-1.2, 1], f64), { optimizer: Optim.lbfgs({ lineSearch }), maxIterations: 200, tolerance: 1e-8 })
      expect(result.converged).toBe(true)
      expect(result.iterations).toBeLessThan(100)
      for (const v of Array.from(result.params.data() as Float64Array)) expect(Math.abs(v - 1)).toBeLessThan(1e-6)
      expect(result.value).toBeLessThan(1e-12)
      expect(result.gradNorm).toBeLessThanOrEqual(1e-8)
    })
  }

  it("solves a 6-dimensional Rosenbrock function given as a pytree", () => {
    const f = (p: { a: NdArray; b: NdArray }) => rosenbrock(NdArray.concatenate([p.a, p.b]))
    const start = { a: NdArray.array([-1, 0.5, -0.5], f64), b: NdArray.array([1.2, -1, 0], f64) }
    const result = Optim.minimize(f, start, { optimizer: Optim.lbfgs({ memorySize: 5 }), maxIterations: 300, tolerance: 1e-7 })
    expect(result.converged).toBe(true)
    for (const leaf of Tree.leaves(result.params)) for (const v of Array.from((leaf as NdArray).data() as Float64Array)) expect(Math.abs(v - 1)).toBeLessThan(1e-5)
  })

  it("the zoom search takes steps satisfying the strong Wolfe conditions", () => {
    const opt = Optim.lbfgs({ c1: 1e-4, c2: 0.9 })
    let x = NdArray.array([-1.2, 1], f64)
    let state = opt.init(x)
    const vg = valueAndGrad(rosenbrock)
    for (let i = 0; i < 10; i++) {
      const [f0, g0] = vg(x)
      const [u, next] = opt.update(g0, state, x, { value: f0, valueFn: rosenbrock })
      const x1 = Optim.applyUpdates(x, u)
      const [f1, g1] = vg(x1)
      const d = Array.from(u.data() as Float64Array)
      const slope0 = Array.from(g0.data() as Float64Array).reduce((s, v, j) => s + v * d[j], 0)
      const slope1 = Array.from(g1.data() as Float64Array).reduce((s, v, j) => s + v * d[j], 0)
      expect(slope0).toBeLessThan(0) // a descent direction
      expect(f1.item()).toBeLessThanOrEqual(f0.item() + 1e-4 * slope0) // sufficient decrease (t folded into u)
      expect(Math.abs(slope1)).toBeLessThanOrEqual(0.9 * Math.abs(slope0) + 1e-12) // curvature
      x = x1
      state = next
    }
  })

  it("keeps a fixed-size memory: the state's structure never changes", () => {
    const opt = Optim.lbfgs({ memorySize: 3 })
    let x = NdArray.array([-1.2, 1], f64)
    let state = opt.init(x)
    const signature = (t: unknown) => [Tree.paths(t), Tree.leaves(t).map((l) => (l as NdArray).shape.join("x"))]
    const initial = signature(state)
    expect(state.rho.shape).toEqual([3])
    const vg = valueAndGrad(rosenbrock)
    for (let i = 0; i < 8; i++) {
      const [f, g] = vg(x)
      const [u, next] = opt.update(g, state, x, { value: f, valueFn: rosenbrock })
      x = Optim.applyUpdates(x, u)
      state = next
      expect(signature(state)).toEqual(initial)
    }
    expect(Array.from(state.rho.data() as Float64Array).every((r) => r > 0)).toBe(true) // the memory is full
  })
})
