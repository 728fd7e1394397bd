/**
 * Every optimiser against its published update equations (PyTorch's
 * documented algorithms), re-implemented here with plain JavaScript numbers
 * on a fixed 3-parameter quadratic f(θ) = Σ ½aᵢθᵢ² + cᵢθᵢ (gradient
 * aᵢθᵢ + cᵢ, also in plain JS). Our optimisers see the parameters as a
 * pytree { w: [θ₀, θ₁], b: θ₂ } in float64 and must agree to ~1e-12.
 */
import { describe, expect, it } from "vitest"
import { NdArray } from "@gradfx/core"
import { Optim, Schedule } from "@gradfx/nn"

const A = [1, 10, 0.5]
const C = [-1, 2, 0.3]
const THETA0 = [1.5, -0.7, 2.0]
const STEPS = 6

type Vec = Array<number>
const gradient = (t: Vec): Vec => t.map((v, i) => A[i] * v + C[i])
const objective = (t: Vec): number => t.reduce((s, v, i) => s + 0.5 * A[i] * v * v + C[i] * v, 0)

type Params = { w: NdArray; b: NdArray }
const toTree = (t: Vec): Params => ({ w: NdArray.array([t[0], t[1]], { dtype: "float64" }), b: NdArray.scalar(t[2], { dtype: "float64" }) })
const fromTree = (p: Params): Vec => [...Array.from(p.w.data() as Float64Array), p.b.item()]
const objectiveTree = (p: Params): NdArray => {
  const t = NdArray.concatenate([p.w, NdArray.reshape(p.b, [1])])
  const a = NdArray.array(A, { dtype: "float64" })
  const c = NdArray.array(C, { dtype: "float64" })
  return NdArray.sum(NdArray.add(NdArray.mul(NdArray.mul(NdArray.square(t), a), 0.5), NdArray.mul(t, c)))
}

/** Our optimiser's trajectory (params after each step). */
const ours = (opt: Optim.GradientTransformation<any>, steps = STEPS, withValue = false): Array<Vec> => {
  let p = toTree(THETA0)
  let state = opt.init(p)
  const out: Array<Vec> = []
  for (let t = 0; t < steps; t++) {
    const g = toTree(gradient(fromTree(p)))
    const [u, next] = opt.update(g, state, p, withValue ? { valueFn: objectiveTree } : undefined)
    p = Optim.applyUpdates(p, u)
    state = next
    out.push(fromTree(p))
  }
  return out
}

/** The reference trajectory from a step function (θ, g, t = 1, 2, …) → θ'. */
const reference = (step: (theta: Vec, g: Vec, t: number) => Vec, steps = STEPS): Array<Vec> => {
  let theta = THETA0.slice()
  const out: Array<Vec> = []
  for (let t = 1; t <= steps; t++) {
    theta = step(theta, gradient(theta), t)
    out.push(theta.slice())
  }
  return out
}

const expectSame = (got: Array<Vec>, want: Array<Vec>, tol = 1e-12) => {
  expect(got.length).toBe(want.length)
  want.forEach((w, t) =>
    w.forEach((v, i) => {
      const err = Math.abs(got[t][i] - v)
      if (!(err <= tol * Math.max(1, Math.abs(v)))) throw new Error(`step ${t + 1}, θ${i}: got ${got[t][i]}, reference ${v}`)
    })
  )
  // the trajectory actually moves (a no-op optimiser would fail)
  expect(want[want.length - 1].some((v, i) => Math.abs(v - THETA0[i]) > 1e-3)).toBe(true)
}

const zeros = () => THETA0.map(() => 0)

describe("optimisers follow their published update equations (PyTorch's algorithms)", () => {
  it("sgd: θ ← θ − γg", () => {
    expectSame(ours(Optim.sgd(0.05)), reference((th, g) => th.map((v, i) => v - 0.05 * g[i])))
  })

  it("sgd with momentum, dampening and weight decay", () => {
    const [lr, mu, tau, wd] = [0.03, 0.9, 0.1, 0.01]
    const b = zeros()
    expectSame(
      ours(Optim.sgd(lr, { momentum: mu, dampening: tau, weightDecay: wd })),
      reference((th, g0, t) =>
        th.map((v, i) => {
          const g = g0[i] + wd * v
          b[i] = t > 1 ? mu * b[i] + (1 - tau) * g : g
          return v - lr * b[i]
        })
      )
    )
  })

  it("sgd with Nesterov momentum", () => {
    const [lr, mu] = [0.03, 0.8]
    const b = zeros()
    expectSame(
      ours(Optim.sgd(lr, { momentum: mu, nesterov: true })),
      reference((th, g, t) =>
        th.map((v, i) => {
          b[i] = t > 1 ? mu * b[i] + g[i] : g[i]
          return v - lr * (g[i] + mu * b[i])
        })
      )
    )
  })

  it("adagrad with learning-rate decay and weight decay", () => {
    const [lr, decay, wd, eps] = [0.5, 0.1, 0.02, 1e-10]
    const sum = zeros()
    expectSame(
      ours(Optim.adagrad(lr, { lrDecay: decay, weightDecay: wd })),
      reference((th, g0, t) => {
        const clr = lr / (1 + (t - 1) * decay)
        return th.map((v, i) => {
          const g = g0[i] + wd * v
          sum[i] += g * g
          return v - (clr * g) / (Math.sqrt(sum[i]) + eps)
        })
      })
    )
  })

  it("rmsprop", () => {
    const [lr, alpha, eps] = [0.01, 0.99, 1e-8]
    const sq = zeros()
    expectSame(
      ours(Optim.rmsprop(lr)),
      reference((th, g) =>
        th.map((v, i) => {
          sq[i] = alpha * sq[i] + (1 - alpha) * g[i] * g[i]
          return v - (lr * g[i]) / (Math.sqrt(sq[i]) + eps)
        })
      )
    )
  })

  it("rmsprop, centred, with momentum and weight decay", () => {
    const [lr, alpha, eps, mu, wd] = [0.01, 0.9, 1e-8, 0.5, 0.05]
    const sq = zeros()
    const avg = zeros()
    const buf = zeros()
    expectSame(
      ours(Optim.rmsprop(lr, { alpha, centered: true, momentum: mu, weightDecay: wd })),
      reference((th, g0) =>
        th.map((v, i) => {
          const g = g0[i] + wd * v
          sq[i] = alpha * sq[i] + (1 - alpha) * g * g
          avg[i] = alpha * avg[i] + (1 - alpha) * g
          buf[i] = mu * buf[i] + g / (Math.sqrt(sq[i] - avg[i] * avg[i]) + eps)
          return v - lr * buf[i]
        })
      )
    )
  })

  const adamReference = (lr: (t: number) => number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean, amsgrad = false) => {
    const m = zeros()
    const v = zeros()
    const vMax = zeros()
    return reference((th, g0, t) =>
      th.map((x, i) => {
        let theta = x
        let g = g0[i]
        if (decoupled) theta = theta - lr(t) * wd * theta
        else g = g + wd * theta
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        vMax[i] = Math.max(vMax[i], v[i])
        const mHat = m[i] / (1 - b1 ** t)
        const vHat = (amsgrad ? vMax[i] : v[i]) / (1 - b2 ** t)
        return theta - (lr(t) * mHat) / (Math.sqrt(vHat) + eps)
      })
    )
  }

  it("adam (Kingma & Ba, Algorithm 1)", () => {
    expectSame(ours(Optim.adam(0.1)), adamReference(() => 0.1, 0.9, 0.999, 1e-8, 0, false))
  })

  it("adam with coupled weight decay and amsgrad", () => {
    expectSame(ours(Optim.adam(0.1, { b1: 0.8, b2: 0.9, weightDecay: 0.1, amsgrad: true })), adamReference(() => 0.1, 0.8, 0.9, 1e-8, 0.1, false, true))
  })

  it("adam with a learning-rate schedule (the rate at step t is schedule(t − 1))", () => {
    const schedule = Schedule.exponentialDecay({ initValue: 0.2, transitionSteps: 1, decayRate: 0.5 })
    expectSame(ours(Optim.adam(schedule)), adamReference((t) => 0.2 * 0.5 ** (t - 1), 0.9, 0.999, 1e-8, 0, false))
  })

  it("adamw (decoupled weight decay, Loshchilov & Hutter)", () => {
    expectSame(ours(Optim.adamw(0.1, { weightDecay: 0.3 })), adamReference(() => 0.1, 0.9, 0.999, 1e-8, 0.3, true))
  })

  it("adamax", () => {
    const [lr, b1, b2, eps, wd] = [0.1, 0.9, 0.999, 1e-8, 0.01]
    const m = zeros()
    const u = zeros()
    expectSame(
      ours(Optim.adamax(lr, { weightDecay: wd })),
      reference((th, g0, t) =>
        th.map((v, i) => {
          const g = g0[i] + wd * v
          m[i] = b1 * m[i] + (1 - b1) * g
          u[i] = Math.max(b2 * u[i], Math.abs(g) + eps)
          return v - (lr / (1 - b1 ** t)) * (m[i] / u[i])
        })
      )
    )
  })

  it("nadam (with PyTorch's momentum decay ψ)", () => {
    const [lr, b1, b2, eps, psi] = [0.1, 0.9, 0.999, 1e-8, 0.004]
    const m = zeros()
    const v = zeros()
    const mus: Array<number> = []
    const mu = (t: number) => b1 * (1 - 0.5 * 0.96 ** (t * psi))
    const prod = (t: number) => {
      let p = 1
      for (let i = 1; i <= t; i++) p *= mu(i)
      return p
    }
    expectSame(
      ours(Optim.nadam(lr)),
      reference((th, g, t) => {
        mus.push(mu(t))
        return th.map((x, i) => {
          m[i] = b1 * m[i] + (1 - b1) * g[i]
          v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
          const mHat = (mu(t + 1) * m[i]) / (1 - prod(t + 1)) + ((1 - mu(t)) * g[i]) / (1 - prod(t))
          const vHat = v[i] / (1 - b2 ** t)
          return x - (lr * mHat) / (Math.sqrt(vHat) + eps)
        })
      })
    )
  })

  it("rprop (Riedmiller & Braun)", () => {
    const [lr, etaMinus, etaPlus, minStep, maxStep] = [0.4, 0.5, 1.2, 1e-6, 50]
    const step = THETA0.map(() => lr)
    const prev = zeros()
    let flips = 0
    expectSame(
      ours(Optim.rprop(lr), 10),
      reference((th, g0) =>
        th.map((v, i) => {
          let g = g0[i]
          const s = g * prev[i]
          if (s > 0) step[i] = Math.min(step[i] * etaPlus, maxStep)
          else if (s < 0) {
            step[i] = Math.max(step[i] * etaMinus, minStep)
            g = 0
            flips++
          }
          prev[i] = g
          return v - step[i] * Math.sign(g)
        }), 10)
    )
    expect(flips).toBeGreaterThan(0) // the sign-change branch was exercised
  })

  it("asgd (averaging starts after t0; state.ax is the average)", () => {
    const [lr, lambd, alpha, t0, wd] = [0.05, 1e-2, 0.75, 2, 0.01]
    const ax = zeros()
    let eta = lr
    let mu = 1
    const expected = reference((th, g0, t) => {
      const next = th.map((v, i) => {
        const g = g0[i] + wd * v
        const decayed = v * (1 - lambd * eta)
        return decayed - eta * g
      })
      next.forEach((v, i) => (ax[i] = mu !== 1 ? ax[i] + (v - ax[i]) * mu : v))
      eta = lr / (1 + lambd * lr * t) ** alpha
      mu = 1 / Math.max(1, t - t0)
      return next
    })
    const opt = Optim.asgd(lr, { lambd, alpha, t0, weightDecay: wd })
    expectSame(ours(opt), expected)
    // the average, after the same steps
    let p = toTree(THETA0)
    let state = opt.init(p)
    for (let t = 0; t < STEPS; t++) {
      const [u, next] = opt.update(toTree(gradient(fromTree(p))), state, p)
      p = Optim.applyUpdates(p, u)
      state = next
    }
    fromTree(state.ax as Params).forEach((v, i) => expect(v).toBeCloseTo(ax[i], 12))
    expect(fromTree(state.ax as Params)).not.toEqual(fromTree(p)) // averaging happened
  })

  it("lbfgs with backtracking (Nocedal & Wright Algorithm 7.4, Armijo search)", () => {
    const m = 3
    const c1 = 1e-4
    const sMem: Array<Vec> = []
    const yMem: Array<Vec> = []
    const dot = (a: Vec, b: Vec) => a.reduce((s, v, i) => s + v * b[i], 0)
    let prevG: Vec | null = null
    let prevStep: Vec | null = null
    const expected = reference((th, g, t) => {
      if (prevG !== null && prevStep !== null) {
        const y = g.map((v, i) => v - prevG![i])
        if (dot(prevStep, y) > 1e-10 * dot(y, y)) {
          sMem.push(prevStep)
          yMem.push(y)
          if (sMem.length > m) {
            sMem.shift()
            yMem.shift()
          }
        }
      }
      // two-loop recursion
      let q = g.slice()
      const alphas: Array<number> = []
      for (let i = sMem.length - 1; i >= 0; i--) {
        alphas[i] = dot(sMem[i], q) / dot(sMem[i], yMem[i])
        q = q.map((v, j) => v - alphas[i] * yMem[i][j])
      }
      const k = sMem.length - 1
      const gamma = k >= 0 ? dot(sMem[k], yMem[k]) / dot(yMem[k], yMem[k]) : 1
      let r = q.map((v) => gamma * v)
      for (let i = 0; i < sMem.length; i++) {
        const beta = dot(yMem[i], r) / dot(sMem[i], yMem[i])
        r = r.map((v, j) => v + sMem[i][j] * (alphas[i] - beta))
      }
      const d = r.map((v) => -v)
      let step = t === 1 ? Math.min(1, 1 / g.reduce((s, v) => s + Math.abs(v), 0)) : 1
      const f0 = objective(th)
      const slope = dot(g, d)
      for (let i = 0; i < 25; i++) {
        if (objective(th.map((v, j) => v + step * d[j])) <= f0 + c1 * step * slope) break
        step *= 0.5
      }
      prevG = g
      prevStep = d.map((v) => step * v)
      return th.map((v, j) => v + step * d[j])
    })
    expectSame(ours(Optim.lbfgs({ memorySize: m, lineSearch: "backtracking" }), STEPS, true), expected, 1e-10)
  })

  it("chain(clipByGlobalNorm, scaleByLearningRate) = g·min(1, c/‖g‖), then −γ", () => {
    const [lr, c] = [0.1, 2]
    expectSame(
      ours(Optim.chain(Optim.clipByGlobalNorm(c), Optim.scaleByLearningRate(lr))),
      reference((th, g) => {
        const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0))
        const f = Math.min(1, c / norm)
        return th.map((v, i) => v - lr * f * g[i])
      })
    )
  })

  it("chain(clip, scaleByLearningRate) clips each element", () => {
    expectSame(
      ours(Optim.chain(Optim.clip(0.5), Optim.scaleByLearningRate(0.2))),
      reference((th, g) => th.map((v, i) => v - 0.2 * Math.min(Math.max(g[i], -0.5), 0.5)))
    )
  })
})
