/**
 * Each optimiser drives small convex problems to their known optimum: an
 * ill-conditioned quadratic (optimum known in closed form) and L2-regularised
 * logistic regression (optimum computed here by Newton's method in plain JS).
 */
import { describe, expect, it } from "vitest"
import { NdArray, Random, valueAndGrad } from "@gradfx/core"
import { Loss, Optim, Schedule } from "@gradfx/nn"

type Params = { w: NdArray; b: NdArray }
const f64 = { dtype: "float64" } as const
const flat = (p: Params): Array<number> => [...Array.from(p.w.data() as Float64Array), p.b.item()]

const run = (opt: Optim.GradientTransformation<any>, loss: (p: Params) => NdArray, p0: Params, steps: number): Params => {
  const vg = valueAndGrad(loss)
  let p = p0
  let state = opt.init(p)
  for (let i = 0; i < steps; i++) {
    const [value, g] = vg(p)
    const [u, next] = opt.update(g, state, p, { value, valueFn: loss })
    p = Optim.applyUpdates(p, u)
    state = next
  }
  return p
}

const decaying = (initValue: number) => Schedule.exponentialDecay({ initValue, transitionSteps: 40, decayRate: 0.5 })

/** [name, optimiser, steps] */
const table: ReadonlyArray<[string, () => Optim.GradientTransformation<any>, number]> = [
  ["sgd", () => Optim.sgd(0.4), 120],
  ["sgd + momentum", () => Optim.sgd(0.1, { momentum: 0.7 }), 120],
  ["sgd + nesterov", () => Optim.sgd(0.1, { momentum: 0.7, nesterov: true }), 120],
  ["adagrad", () => Optim.adagrad(1), 120],
  ["rmsprop", () => Optim.rmsprop(decaying(0.1)), 200],
  ["rmsprop (centred, momentum)", () => Optim.rmsprop(decaying(0.05), { centered: true, momentum: 0.5 }), 200],
  ["adam", () => Optim.adam(decaying(0.2)), 250],
  ["adamw", () => Optim.adamw(decaying(0.2), { weightDecay: 0 }), 250],
  ["adamax", () => Optim.adamax(decaying(0.3), { b2: 0.99 }), 220],
  ["nadam", () => Optim.nadam(decaying(0.2)), 220],
  ["rprop", () => Optim.rprop(0.05), 120],
  ["asgd", () => Optim.asgd(0.4), 150],
  ["lbfgs (zoom)", () => Optim.lbfgs(), 15],
  ["lbfgs (backtracking)", () => Optim.lbfgs({ lineSearch: "backtracking" }), 25],
  ["chain(clipByGlobalNorm, adam)", () => Optim.chain(Optim.clipByGlobalNorm(1), Optim.adam(decaying(0.2))), 250]
]

describe("convergence: ill-conditioned quadratic ½Σaᵢ(θᵢ − cᵢ)²", () => {
  const a = NdArray.array([1, 4, 0.25], f64)
  const c = NdArray.array([1, -2, 0.5], f64)
  const loss = (p: Params) =>
    NdArray.add(NdArray.mul(NdArray.sum(NdArray.mul(a, NdArray.square(NdArray.sub(p.w, c)))), 0.5), NdArray.mul(NdArray.square(NdArray.sub(p.b, 3)), 1))
  const optimum = [1, -2, 0.5, 3]
  for (const [name, make, steps] of table) {
    it(`${name} reaches the minimum`, () => {
      const p = run(make(), loss, { w: NdArray.array([-2, 1, 3], f64), b: NdArray.scalar(0, f64) }, steps)
      flat(p).forEach((v, i) => expect(Math.abs(v - optimum[i])).toBeLessThan(1e-3))
    })
  }
})

describe("convergence: L2-regularised logistic regression", () => {
  const n = 40
  const d = 3
  const [kx, ky] = Random.split(Random.key(7), 2)
  const X = Random.normal(kx, [n, d], f64)
  const trueW = [1.5, -2, 0.5]
  const xs = X.toArray() as Array<Array<number>>
  const u = Array.from(Random.uniform(ky, [n], f64).data() as Float64Array)
  const ys = xs.map((row, i) => (u[i] < 1 / (1 + Math.exp(-(row.reduce((s, v, j) => s + v * trueW[j], 0) + 0.3))) ? 1 : 0))
  const Y = NdArray.array(ys, f64)
  const lambda = 0.1
  const loss = (p: Params) =>
    NdArray.add(Loss.binaryCrossEntropyWithLogits(NdArray.add(NdArray.matmul(X, p.w), p.b), Y), NdArray.mul(NdArray.sum(NdArray.square(p.w)), lambda / 2))

  /** Newton's method on (w, b) with gradients and Hessian in plain JS. */
  const newton = (): Array<number> => {
    let theta = new Array(d + 1).fill(0)
    for (let it = 0; it < 50; it++) {
      const g = new Array(d + 1).fill(0)
      const H = Array.from({ length: d + 1 }, () => new Array(d + 1).fill(0))
      xs.forEach((row, i) => {
        const z = [...row, 1]
        const s = 1 / (1 + Math.exp(-z.reduce((acc, v, j) => acc + v * theta[j], 0)))
        z.forEach((zj, j) => {
          g[j] += ((s - ys[i]) * zj) / n
          z.forEach((zk, k) => (H[j][k] += (s * (1 - s) * zj * zk) / n))
        })
      })
      for (let j = 0; j < d; j++) {
        g[j] += lambda * theta[j]
        H[j][j] += lambda
      }
      // solve H·step = g by Gaussian elimination
      const M = H.map((r, i) => [...r, g[i]])
      for (let col = 0; col <= d; col++) {
        const pivot = M.reduce((best, r, i) => (i >= col && Math.abs(r[col]) > Math.abs(M[best][col]) ? i : best), col)
        ;[M[col], M[pivot]] = [M[pivot], M[col]]
        for (let r = 0; r <= d; r++) {
          if (r === col) continue
          const f = M[r][col] / M[col][col]
          for (let k = col; k <= d + 1; k++) M[r][k] -= f * M[col][k]
        }
      }
      theta = theta.map((v, j) => v - M[j][d + 1] / M[j][j])
    }
    return theta
  }
  const optimum = newton()

  it("Newton's optimum has zero gradient (checked with our autodiff)", () => {
    const [, g] = valueAndGrad(loss)({ w: NdArray.array(optimum.slice(0, d), f64), b: NdArray.scalar(optimum[d], f64) })
    for (const v of flat(g)) expect(Math.abs(v)).toBeLessThan(1e-10)
  })

  for (const [name, make, steps] of table) {
    it(`${name} reaches the optimum`, () => {
      const p = run(make(), loss, { w: NdArray.zeros([d], f64), b: NdArray.scalar(0, f64) }, steps)
      flat(p).forEach((v, i) => expect(Math.abs(v - optimum[i])).toBeLessThan(2e-3))
    })
  }
})
