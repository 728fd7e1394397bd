/**
 * Transforms composed: per-example gradients (vmap of grad) and grad of a
 * vmap; Hessians four ways (jacfwd∘jacrev = hessian = jacrev∘jacfwd, symmetric,
 * equal to the analytic one); Hessian-vector products by forward-over-reverse
 * and reverse-over-reverse; third derivatives; perturbation confusion; and a
 * 2-layer sigmoid MLP whose `grad` equals the hand-written backpropagation
 * of the classic texts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import * as Tree from "../src/Tree.js"
import { grad, hessian, jacfwd, jacrev, jvp, linearize, valueAndGrad, vjp, vmap } from "../src/transforms/api.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
const flat = (x: NdArray) => Array.from(x.data(), Number)
const f64 = (x: NdArray.NestedArray) => NdArray.array(x, { dtype: "float64" })
const numRuns = 15

const expectClose = (got: NdArray, want: NdArray | ReadonlyArray<number>, tol = 1e-10) => {
  const w = Array.isArray(want) ? want : flat(want as NdArray)
  if (!Array.isArray(want)) expect(got.shape).toEqual((want as NdArray).shape)
  const g = flat(got)
  expect(g.length).toBe(w.length)
  g.forEach((v, i) => {
    if (!(Math.abs(v - w[i]) <= tol * (1 + Math.abs(w[i])))) expect.fail(`element ${i}: got ${v}, expected ${w[i]}`)
  })
}
const expectTreeClose = (got: unknown, want: unknown, tol = 1e-10) => {
  expect(Tree.sameStructure(Tree.structure(got), Tree.structure(want))).toBe(true)
  const w = Tree.leaves(want)
  Tree.leaves(got).forEach((g, i) => expectClose(g as NdArray, w[i] as NdArray, tol))
}

/** Float64 arrays with values on a 1e-4 grid in [min, max] (no denormals, whose products underflow in any implementation). */
const arrayArb = (shape: ReadonlyArray<number>, min = -2, max = 2) =>
  fc
    .array(fc.integer({ min: min * 1e4, max: max * 1e4 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((v) => NdArray.array(new Float64Array(v.map((k) => k / 1e4)), { shape }))

// ---------------------------------------------------------------------------
// A small model for per-example gradients

type Params = { readonly w: NdArray; readonly b: NdArray; readonly v: readonly [NdArray] }
const paramsArb = fc.tuple(arrayArb([3, 4]), arrayArb([4]), arrayArb([4])).map(([w, b, v]): Params => ({ w, b, v: [v] }))

/** One example: x [3], y scalar. */
const exampleLoss = (p: Params, x: NdArray, y: NdArray): NdArray => {
  const h = NdArray.tanh(NdArray.add(NdArray.matmul(x, p.w), p.b))
  const out = NdArray.sum(NdArray.mul(h, p.v[0]))
  return NdArray.square(NdArray.sub(out, y))
}

describe("vmap and grad", () => {
  it("vmap(grad(f)) gives per-example gradients equal to a loop of grads", () =>
    fc.assert(
      fc.property(paramsArb, arrayArb([5, 3]), arrayArb([5]), (p, xs, ys) => {
        const perExample = vmap(grad(exampleLoss), { inAxes: [null, 0, 0] })(p, xs, ys)
        expect(perExample.w.shape).toEqual([5, 3, 4])
        expect(perExample.v[0].shape).toEqual([5, 4])
        const loop = Array.from({ length: 5 }, (_, i) => grad(exampleLoss)(p, NdArray.slice(xs, [i]), NdArray.slice(ys, [i])))
        expectTreeClose(perExample, Tree.map(loop[0], (_: NdArray, ...rest: Array<NdArray>) => NdArray.stack(rest), ...loop), 1e-12)
      }),
      { numRuns }
    ))

  it("grad of a vmapped (batched) loss equals the sum of per-example gradients", () =>
    fc.assert(
      fc.property(paramsArb, arrayArb([5, 3]), arrayArb([5]), (p, xs, ys) => {
        const batchLoss = (q: Params) => NdArray.sum(vmap(exampleLoss, { inAxes: [null, 0, 0] })(q, xs, ys))
        const g = grad(batchLoss)(p)
        const loop = Array.from({ length: 5 }, (_, i) => grad(exampleLoss)(p, NdArray.slice(xs, [i]), NdArray.slice(ys, [i])))
        expectTreeClose(g, Tree.map(loop[0], (_: NdArray, ...rest: Array<NdArray>) => rest.reduce((a, b) => NdArray.add(a, b)), ...loop), 1e-12)
      }),
      { numRuns }
    ))

  it("vmap over the inputs of valueAndGrad with hasAux (per-example losses and aux)", () => {
    const f = (x: NdArray) => [NdArray.sum(NdArray.square(x)), NdArray.max(x)] as const
    const xs = f64([[1, 2], [3, -4]])
    const [[losses, maxes], gs] = vmap(valueAndGrad(f, { hasAux: true }))(xs)
    expect(losses.toArray()).toEqual([5, 25])
    expect(maxes.toArray()).toEqual([2, 3])
    expect(gs.toArray()).toEqual([
      [2, 4],
      [6, -8]
    ])
  })

  it("vmap(jacrev(f)) gives per-example Jacobians; vmap(hessian(f)) per-example Hessians", () => {
    const f = (x: NdArray) => NdArray.mul(NdArray.sin(x), NdArray.sum(x))
    const xs = f64([[0.1, 0.2, 0.3], [1, -1, 2]])
    const jacs = vmap(jacrev(f))(xs)
    expect(jacs.shape).toEqual([2, 3, 3])
    for (let i = 0; i < 2; i++) expectClose(NdArray.slice(jacs, [i]), jacfwd(f)(NdArray.slice(xs, [i])), 1e-12)
    const g = (x: NdArray) => NdArray.sum(NdArray.mul(NdArray.exp(x), NdArray.prod(x)))
    const hs = vmap(hessian(g))(xs)
    for (let i = 0; i < 2; i++) expectClose(NdArray.slice(hs, [i]), hessian(g)(NdArray.slice(xs, [i])), 1e-12)
  })
})

// ---------------------------------------------------------------------------
// Hessians

/** f(x) = Σᵢ sin(xᵢ)·xᵢ₊₁ + ½ (a·x)², with its Hessian written by hand. */
const A = [0.5, -1, 2, 0.25]
const fHess = (x: NdArray): NdArray => {
  const n = x.shape[0]
  const head = NdArray.slice(x, [[0, n - 1]])
  const tail = NdArray.slice(x, [[1, n]])
  const ax = NdArray.sum(NdArray.mul(x, f64(A)))
  return NdArray.add(NdArray.sum(NdArray.mul(NdArray.sin(head), tail)), NdArray.mul(NdArray.square(ax), 0.5))
}
const analyticHessian = (x: ReadonlyArray<number>): Array<number> => {
  const n = x.length
  const h = Array.from({ length: n * n }, (_, k) => A[Math.floor(k / n)] * A[k % n])
  for (let i = 0; i < n - 1; i++) {
    h[i * n + i] += -Math.sin(x[i]) * x[i + 1]
    h[i * n + i + 1] += Math.cos(x[i])
    h[(i + 1) * n + i] += Math.cos(x[i])
  }
  return h
}

describe("Hessians", () => {
  it("jacfwd(jacrev(f)) = hessian(f) = jacrev(jacfwd(f)) = jacrev(jacrev(f)) = jacfwd(jacfwd(f)) = the analytic Hessian, symmetric", () =>
    fc.assert(
      fc.property(arrayArb([4]), (x) => {
        const h: NdArray = hessian(fHess)(x)
        expect(h.shape).toEqual([4, 4])
        expectClose(h, analyticHessian(flat(x)), 1e-12)
        expectClose(h, NdArray.transpose(h), 1e-12)
        for (const other of [jacfwd(jacrev(fHess)), jacrev(jacfwd(fHess)), jacrev(jacrev(fHess)), jacfwd(jacfwd(fHess))]) expectClose(other(x), h, 1e-12)
      }),
      { numRuns }
    ))

  it("the Hessian of a matrix argument has shape [...S, ...S] and is symmetric as a matrix", () => {
    const f = (w: NdArray) => NdArray.sum(NdArray.tanh(NdArray.matmul(w, f64([[1, -1], [0.5, 2]]))))
    const w = f64([[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]])
    const h = hessian(f)(w)
    expect(h.shape).toEqual([3, 2, 3, 2])
    const m = NdArray.reshape(h, [6, 6])
    expectClose(m, NdArray.transpose(m), 1e-12)
  })

  it("Hessian-vector products: forward-over-reverse jvp(grad f) and reverse-over-reverse grad⟨grad f, v⟩ equal H·v", () =>
    fc.assert(
      fc.property(arrayArb([4]), arrayArb([4]), (x, v) => {
        const hv = NdArray.matmul(hessian(fHess)(x), v)
        const [g, fwdOverRev] = jvp(grad(fHess), [x], [v])
        expectClose(g, grad(fHess)(x), 0)
        expectClose(fwdOverRev, hv, 1e-12)
        const revOverRev = grad((y: NdArray) => NdArray.sum(NdArray.mul(grad(fHess)(y), v)))(x)
        expectClose(revOverRev, hv, 1e-12)
        const [, lin] = linearize(grad(fHess), x)
        expectClose(lin(v), hv, 1e-12)
        const [, back] = vjp(grad(fHess), x)
        expectClose(back(v)[0], hv, 1e-12) // H is symmetric
      }),
      { numRuns }
    ))

  it("Jacobians of a vector function: jacfwd = jacrev = central differences", () =>
    fc.assert(
      fc.property(arrayArb([3]), (x) => {
        const f = (v: NdArray) => NdArray.concatenate([NdArray.mul(NdArray.exp(v), NdArray.sum(v)), NdArray.reshape(NdArray.prod(NdArray.sin(v)), [1])])
        const jf = jacfwd(f)(x)
        const jr = jacrev(f)(x)
        expect(jf.shape).toEqual([4, 3])
        expectClose(jr, jf, 1e-12)
        const eps = 1e-6
        const xv = flat(x)
        const fd: Array<number> = new Array(12)
        for (let j = 0; j < 3; j++) {
          const plus = flat(f(f64(xv.map((v, k) => (k === j ? v + eps : v)))))
          const minus = flat(f(f64(xv.map((v, k) => (k === j ? v - eps : v)))))
          for (let i = 0; i < 4; i++) fd[i * 3 + j] = (plus[i] - minus[i]) / (2 * eps)
        }
        expectClose(jf, fd, 1e-6)
      }),
      { numRuns }
    ))

  it("jacrev of a pytree function gives nested blocks", () => {
    const f = (p: { a: NdArray; b: NdArray }) => NdArray.mul(p.a, NdArray.sum(p.b))
    const j = jacrev(f)({ a: f64([1, 2]), b: f64([3, 4, 5]) }) as { a: NdArray; b: NdArray }
    expect(j.a.toArray()).toEqual([
      [12, 0],
      [0, 12]
    ])
    expect(j.b.toArray()).toEqual([
      [1, 1, 1],
      [2, 2, 2]
    ])
  })
})

// ---------------------------------------------------------------------------
describe("higher derivatives and nesting", () => {
  it("grad three (and four) deep: d³/dx³ x⁴ = 24x, d⁴/dx⁴ x⁴ = 24, d³/dx³ sin x = −cos x", () =>
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), (v) => {
        const x = NdArray.scalar(v, { dtype: "float64" })
        const quartic = (y: NdArray) => NdArray.pow(y, 4)
        expect(grad(grad(grad(quartic)))(x).item()).toBeCloseTo(24 * v, 9)
        expect(grad(grad(grad(grad((y: NdArray) => NdArray.mul(NdArray.square(y), NdArray.square(y))))))(x).item()).toBeCloseTo(24, 9)
        expect(grad(grad(grad((y: NdArray) => NdArray.sin(y))))(x).item()).toBeCloseTo(-Math.cos(v), 12)
      }),
      { numRuns }
    ))

  it("third derivatives mixing forward and reverse mode agree", () => {
    const x = NdArray.scalar(0.7, { dtype: "float64" })
    const f = (y: NdArray) => NdArray.mul(NdArray.exp(y), NdArray.sin(y))
    const d1 = (y: NdArray) => jvp(f, [y], [NdArray.onesLike(y)])[1]
    const d2 = (y: NdArray) => grad(d1)(y)
    const d3 = (y: NdArray) => jvp(d2, [y], [NdArray.onesLike(y)])[1]
    // (eˣ sin x)''' = 2eˣ(cos x − sin x)
    expect(d3(x).item()).toBeCloseTo(2 * Math.exp(0.7) * (Math.cos(0.7) - Math.sin(0.7)), 12)
    expect(grad(grad(grad(f)))(x).item()).toBeCloseTo(d3(x).item(), 12)
  })

  it("perturbation confusion: grad(x ↦ x · grad(y ↦ x · y)(c)) = 2x", () =>
    fc.assert(
      fc.property(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), (v, c) => {
        const x = NdArray.scalar(v, { dtype: "float64" })
        const cc = NdArray.scalar(c, { dtype: "float64" })
        // the inner derivative d(x·y)/dy = x, so the function is x², whose derivative is 2x (a confused system gives x + ... )
        const f = (y: NdArray) => NdArray.mul(y, grad((z: NdArray) => NdArray.mul(y, z))(cc))
        expect(grad(f)(x).item()).toBeCloseTo(2 * v, 12)
        // Siskind & Pearlmutter: d/dx [x · d/dy (x + y)|_{y=1}] = 1 (confusion gives 2)
        const g = (y: NdArray) => NdArray.mul(y, grad((z: NdArray) => NdArray.add(y, z))(NdArray.scalar(1, { dtype: "float64" })))
        expect(grad(g)(x).item()).toBeCloseTo(1, 12)
        const [, t] = jvp(g, [x], [NdArray.onesLike(x)])
        expect(t.item()).toBeCloseTo(1, 12)
      }),
      { numRuns }
    ))

  it("a closed-over tracer of an outer transform is a constant to an inner one", () => {
    // d/dx Σ vmap(y ↦ x·y)(ys) = Σ ys
    const ys = f64([1, 2, 3])
    const g = grad((x: NdArray) => NdArray.sum(vmap((y: NdArray) => NdArray.mul(x, y))(ys)))(NdArray.scalar(2, { dtype: "float64" }))
    expect(g.item()).toBe(6)
    // vmap over x of grad over y of x·y² = 2xy
    const h = vmap((x: NdArray) => grad((y: NdArray) => NdArray.mul(x, NdArray.square(y)))(NdArray.scalar(3, { dtype: "float64" })))(ys)
    expect(h.toArray()).toEqual([6, 12, 18])
  })
})

// ---------------------------------------------------------------------------
// A 2-layer sigmoid MLP against hand-written backpropagation

type Mlp = { w1: NdArray; b1: NdArray; w2: NdArray; b2: NdArray }

/** zˡ = wˡ aˡ⁻¹ + bˡ, aˡ = σ(zˡ), C = Σₓ ½‖aᴸ − y‖² (weights [out, in], as in the classic texts). */
const mlpCost = (p: Mlp, xs: NdArray, ys: NdArray): NdArray => {
  const a1 = NdArray.sigmoid(NdArray.add(NdArray.matmul(xs, NdArray.transpose(p.w1)), p.b1))
  const a2 = NdArray.sigmoid(NdArray.add(NdArray.matmul(a1, NdArray.transpose(p.w2)), p.b2))
  return NdArray.mul(NdArray.sum(NdArray.square(NdArray.sub(a2, ys))), 0.5)
}

const toMatrix = (x: NdArray) => x.toArray() as Array<Array<number>>
const sigma = (z: number) => 1 / (1 + Math.exp(-z))
const sigmaPrime = (z: number) => sigma(z) * (1 - sigma(z))

/** Backpropagation with plain loops: δᴸ = ∇ₐC ⊙ σ′(zᴸ), δˡ = (wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ σ′(zˡ), ∂C/∂bˡ = δˡ, ∂C/∂wˡ = δˡ (aˡ⁻¹)ᵀ, summed over examples. */
const backprop = (p: Mlp, xs: NdArray, ys: NdArray) => {
  const w1 = toMatrix(p.w1)
  const w2 = toMatrix(p.w2)
  const b1 = p.b1.toArray() as Array<number>
  const b2 = p.b2.toArray() as Array<number>
  const gw1 = w1.map((r) => r.map(() => 0))
  const gw2 = w2.map((r) => r.map(() => 0))
  const gb1 = b1.map(() => 0)
  const gb2 = b2.map(() => 0)
  toMatrix(xs).forEach((x, e) => {
    const y = toMatrix(ys)[e]
    const z1 = w1.map((row, j) => row.reduce((s, w, k) => s + w * x[k], b1[j]))
    const a1 = z1.map(sigma)
    const z2 = w2.map((row, j) => row.reduce((s, w, k) => s + w * a1[k], b2[j]))
    const a2 = z2.map(sigma)
    const d2 = a2.map((a, j) => (a - y[j]) * sigmaPrime(z2[j]))
    const d1 = a1.map((_, k) => w2.reduce((s, row, j) => s + row[k] * d2[j], 0) * sigmaPrime(z1[k]))
    d2.forEach((d, j) => {
      gb2[j] += d
      a1.forEach((a, k) => (gw2[j][k] += d * a))
    })
    d1.forEach((d, j) => {
      gb1[j] += d
      x.forEach((v, k) => (gw1[j][k] += d * v))
    })
  })
  return { w1: gw1.flat(), b1: gb1, w2: gw2.flat(), b2: gb2 }
}

describe("a 2-layer sigmoid MLP", () => {
  const mlpArb = fc.tuple(arrayArb([4, 3]), arrayArb([4]), arrayArb([2, 4]), arrayArb([2])).map(([w1, b1, w2, b2]): Mlp => ({ w1, b1, w2, b2 }))

  it("grad equals hand-written backpropagation (quadratic cost, random data)", () =>
    fc.assert(
      fc.property(mlpArb, arrayArb([5, 3]), arrayArb([5, 2], 0, 1), (p, xs, ys) => {
        const g = grad(mlpCost)(p, xs, ys)
        const ref = backprop(p, xs, ys)
        expect(g.w1.shape).toEqual([4, 3])
        expectClose(g.w1, ref.w1, 1e-12)
        expectClose(g.b1, ref.b1, 1e-12)
        expectClose(g.w2, ref.w2, 1e-12)
        expectClose(g.b2, ref.b2, 1e-12)
      }),
      { numRuns }
    ))

  it("per-example gradients by vmap sum to the batch gradient", () =>
    fc.assert(
      fc.property(mlpArb, arrayArb([5, 3]), arrayArb([5, 2], 0, 1), (p, xs, ys) => {
        const one = (q: Mlp, x: NdArray, y: NdArray) => mlpCost(q, NdArray.expandDims(x, 0), NdArray.expandDims(y, 0))
        const per = vmap(grad(one), { inAxes: [null, 0, 0] })(p, xs, ys)
        expectTreeClose(
          Tree.map(per, (l: NdArray) => NdArray.sum(l, { axis: 0 })),
          grad(mlpCost)(p, xs, ys),
          1e-12
        )
      }),
      { numRuns: 8 }
    ))
})
