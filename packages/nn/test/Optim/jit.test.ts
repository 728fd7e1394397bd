/**
 * Optimisers under `jit`: a whole training update (gradient, optimiser,
 * applyUpdates) traced once and replayed gives bit-identical params and
 * state to the eager update, step after step — schedules, bias
 * corrections, first-step momentum and global-norm clipping included. The
 * optimisers that read their state as JavaScript numbers (lbfgs, nadam,
 * asgd) say so with a typed error.
 */
import { describe, expect, it } from "vitest"
import { type DType, grad, jit, NdArray, Random, Tree } from "@gradfx/core"
import { Optim, Schedule } from "@gradfx/nn"

const jittable: ReadonlyArray<[string, () => Optim.GradientTransformation<any>]> = [
  ["sgd", () => Optim.sgd(0.1)],
  ["sgd (momentum, dampening)", () => Optim.sgd(0.1, { momentum: 0.9, dampening: 0.1 })],
  ["sgd (nesterov, weight decay)", () => Optim.sgd(0.1, { momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ["adagrad", () => Optim.adagrad(0.1, { lrDecay: 0.01 })],
  ["rmsprop (centred)", () => Optim.rmsprop(0.01, { centered: true, momentum: 0.9 })],
  ["adam (amsgrad)", () => Optim.adam(1e-3, { amsgrad: true, weightDecay: 1e-2 })],
  ["adamw with a cosine schedule", () => Optim.adamw(Schedule.cosineDecay({ initValue: 1e-2, decaySteps: 4 }))],
  ["adamax", () => Optim.adamax()],
  ["rprop", () => Optim.rprop()],
  ["chain(clipByGlobalNorm, clip, scaleByAdam, addDecayedWeights, scaleByLearningRate)", () =>
    Optim.chain(Optim.clipByGlobalNorm(0.5), Optim.clip(0.5), Optim.scaleByAdam(), Optim.addDecayedWeights(0.1), Optim.scaleByLearningRate(0.01))]
]

interface Params {
  readonly w: NdArray
  readonly b: NdArray
}

const loss = (p: Params, x: NdArray, y: NdArray) => NdArray.mean(NdArray.square(NdArray.sub(NdArray.tanh(NdArray.add(NdArray.matmul(x, p.w), p.b)), y)))

const bits = (tree: unknown) => Tree.leaves(tree).map((l) => Array.from((l as NdArray).data() as ArrayLike<number>))

describe("optimisers under jit", () => {
  for (const dtype of ["float32", "float64"] as Array<DType>) {
    for (const [name, make] of jittable) {
      it(`${name} (${dtype}): a jitted step equals the eager step for 6 steps, bit for bit`, () => {
        const opt = make()
        const step = (p: Params, s: unknown, x: NdArray, y: NdArray) => {
          const [updates, next] = opt.update(grad(loss)(p, x, y), s, p)
          return [Optim.applyUpdates(p, updates), next] as const
        }
        const compiled = jit(step)
        const [k1, k2, k3] = Random.split(Random.key(5), 3)
        const x = Random.normal(k1, [8, 3], { dtype })
        const y = Random.normal(k2, [8, 2], { dtype })
        let eager: readonly [Params, unknown] = [{ w: Random.normal(k3, [3, 2], { dtype }), b: NdArray.zeros([2], { dtype }) }, undefined]
        eager = [eager[0], opt.init(eager[0])]
        let jitted = eager
        for (let i = 0; i < 6; i++) {
          eager = step(eager[0], eager[1], x, y)
          jitted = compiled(jitted[0], jitted[1], x, y)
          expect(bits(jitted)).toEqual(bits(eager))
        }
        // the params moved
        expect(bits(eager[0])).not.toEqual(bits({ w: Random.normal(k3, [3, 2], { dtype }), b: NdArray.zeros([2], { dtype }) }))
      })
    }
  }

  it("clipByGlobalNorm under jit clips exactly when the norm exceeds the bound", () => {
    const clip = Optim.clipByGlobalNorm(1)
    const f = jit((g: { a: NdArray }) => clip.update(g, null)[0])
    const small = { a: NdArray.array([0.3, 0.4]) }
    const big = { a: NdArray.array([3, 4]) }
    expect(bits(f(small))).toEqual(bits(small))
    expect(Array.from(f(big).a.data())).toEqual([Math.fround(0.6), Math.fround(0.8)])
  })

  for (const [name, make] of [
    ["lbfgs", () => Optim.lbfgs({ lineSearch: "none", learningRate: 0.1 })],
    ["nadam", () => Optim.nadam()],
    ["asgd", () => Optim.asgd(0.01)]
  ] as const) {
    it(`${name} reads its state in JavaScript: under jit it fails with a typed error`, () => {
      const opt = (make as () => Optim.GradientTransformation<any>)()
      const p = { w: NdArray.ones([2]) }
      const f = jit((g: { w: NdArray }, s: unknown) => opt.update(g, s, p))
      expect(() => f({ w: NdArray.ones([2]) }, opt.init(p))).toThrow()
    })
  }
})
