/**
 * One table of optimisers, several properties: `update` never mutates its
 * inputs, the state keeps its structure (and leaf shapes/dtypes) from step
 * to step, updates and params keep the params' dtype, errors are typed.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type DType, NdArray, Random, Tree } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { Optim, OptimizerError, Schedule } from "@gradfx/nn"

const table: ReadonlyArray<[string, () => Optim.GradientTransformation<any>]> = [
  ["sgd", () => Optim.sgd(0.1)],
  ["sgd (nesterov, weight decay)", () => Optim.sgd(0.1, { momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ["adagrad", () => Optim.adagrad(0.1, { lrDecay: 0.01 })],
  ["rmsprop (centred)", () => Optim.rmsprop(0.01, { centered: true, momentum: 0.9 })],
  ["adam (amsgrad)", () => Optim.adam(1e-3, { amsgrad: true, weightDecay: 1e-2 })],
  ["adamw", () => Optim.adamw(Schedule.cosineDecay({ initValue: 1e-3, decaySteps: 10 }))],
  ["adamax", () => Optim.adamax()],
  ["nadam", () => Optim.nadam()],
  ["rprop", () => Optim.rprop()],
  ["asgd", () => Optim.asgd(0.01, { t0: 1 })],
  ["lbfgs", () => Optim.lbfgs({ lineSearch: "none", learningRate: 0.1, memorySize: 2 })],
  ["chain(clipByGlobalNorm, clip, scaleByAdam, addDecayedWeights, scaleByLearningRate)", () =>
    Optim.chain(Optim.clipByGlobalNorm(1), Optim.clip(0.5), Optim.scaleByAdam(), Optim.addDecayedWeights(0.1), Optim.scaleByLearningRate(0.01))]
]

/** Copies of every leaf's values (to detect mutation). */
const snapshot = (tree: unknown): Array<Array<number>> => Tree.leaves(tree).map((l) => (typeof l === "number" ? [l] : Array.from(l.data() as ArrayLike<number>)))
/** Shape and dtype of every leaf, with the structure. */
const signature = (tree: unknown) => ({
  structure: Tree.paths(tree),
  leaves: Tree.leaves(tree).map((l) => (typeof l === "number" ? "number" : `${l.dtype}[${l.shape.join(",")}]`))
})

/** A params pytree and a gradient tree of the same structure, float64. */
const problem = Arb.pytree({ min: -2, max: 2 }).chain((params) =>
  fc.tuple(fc.constant(params), fc.constant(Tree.map(params, (x: NdArray) => NdArray.sin(NdArray.add(NdArray.mul(x, 3), 1)))))
)

describe("optimiser properties", () => {
  for (const [name, make] of table) {
    it(`${name}: update never mutates its inputs; the state keeps its structure`, () => {
      fc.assert(
        fc.property(problem, ([params, grads]) => {
          const opt = make()
          const state0 = opt.init(params)
          const before = { params: snapshot(params), grads: snapshot(grads), state: snapshot(state0) }
          const [updates, state1] = opt.update(grads, state0, params)
          expect(snapshot(params)).toEqual(before.params)
          expect(snapshot(grads)).toEqual(before.grads)
          expect(snapshot(state0)).toEqual(before.state)
          expect(signature(updates)).toEqual(signature(params))
          const p1 = Optim.applyUpdates(params, updates)
          const state1Snapshot = snapshot(state1)
          const [, state2] = opt.update(grads, state1, p1)
          expect(snapshot(state1)).toEqual(state1Snapshot)
          expect(signature(state1)).toEqual(signature(state0))
          expect(signature(state2)).toEqual(signature(state0))
        }),
        { numRuns: 15 }
      )
    })
  }

  for (const dtype of ["float32", "float64"] as Array<DType>) {
    it(`updates, params and moment states keep the params' dtype (${dtype})`, () => {
      const params = { w: Random.normal(Random.key(0), [3, 2], { dtype }), b: NdArray.zeros([2], { dtype }) }
      const grads = { w: NdArray.onesLike(params.w), b: NdArray.onesLike(params.b) }
      for (const [name, make] of table) {
        const opt = make()
        let p = params
        let s = opt.init(p)
        for (let i = 0; i < 3; i++) {
          const [u, next] = opt.update(grads, s, p)
          for (const leaf of Tree.leaves(u)) expect([name, (leaf as NdArray).dtype]).toEqual([name, dtype])
          p = Optim.applyUpdates(p, u)
          s = next
        }
        for (const leaf of Tree.leaves(p)) expect([name, (leaf as NdArray).dtype]).toEqual([name, dtype])
        // per-parameter state (moments, buffers) has the params' shapes and dtype; scalars are counters
        for (const leaf of Tree.leaves(s) as Array<NdArray>) {
          if (leaf.ndim > 0 && leaf.size === 6) expect([name, leaf.dtype]).toEqual([name, dtype])
        }
      }
    })
  }

  it("applyUpdates adds the updates leaf by leaf", () => {
    const p = { a: NdArray.array([1, 2]), b: [NdArray.scalar(3)] }
    const u = { a: NdArray.array([0.5, -1]), b: [NdArray.scalar(-3)] }
    expect(Optim.applyUpdates(p, u)).toMatchObject({ a: expect.anything(), b: [expect.anything()] })
    const r = Optim.applyUpdates(p, u)
    expect(r.a.toArray()).toEqual([1.5, 1])
    expect(r.b[0].item()).toBe(0)
  })

  it("chain threads updates through its parts and keeps one state per part", () => {
    const opt = Optim.chain(Optim.scale(2), Optim.scaleByLearningRate(0.1))
    const p = { w: NdArray.array([1, 2]) }
    const s = opt.init(p)
    expect(s.length).toBe(2)
    const [u] = opt.update({ w: NdArray.array([1, -1]) }, s, p)
    expect(Array.from(u.w.data())).toEqual([Math.fround(-0.2), Math.fround(0.2)])
  })

  it("globalNorm is the L2 norm over every leaf", () => {
    expect(Optim.globalNorm({ a: NdArray.array([3]), b: [NdArray.array([[4]])] })).toBeCloseTo(5, 12)
  })

  it("update is fast on an MNIST-sized MLP (~80k params): whole-array operations per leaf", () => {
    const params = {
      w1: Random.normal(Random.key(0), [784, 100]),
      b1: NdArray.zeros([100]),
      w2: Random.normal(Random.key(1), [100, 10]),
      b2: NdArray.zeros([10])
    }
    const grads = Tree.map(params, (x: NdArray) => NdArray.mul(x, 0.01))
    const opt = Optim.adam(1e-3)
    let s = opt.init(params)
    let p = params
    const start = performance.now()
    for (let i = 0; i < 10; i++) {
      const [u, next] = opt.update(grads, s, p)
      p = Optim.applyUpdates(p, u)
      s = next
    }
    const perStep = (performance.now() - start) / 10
    // a few passes over 80k floats; generous bound for a loaded 2-core CI machine
    expect(perStep).toBeLessThan(250)
  })

  it("errors are typed: missing params, bad hyperparameters, missing objective", () => {
    const p = { w: NdArray.array([1, 2]) }
    const g = { w: NdArray.array([1, 1]) }
    expect(() => Optim.adamw(0.1).update(g, Optim.adamw(0.1).init(p))).toThrow(OptimizerError)
    expect(() => Optim.asgd().update(g, Optim.asgd().init(p))).toThrow(/needs the current params/)
    expect(() => Optim.adam(0.1, { b1: 1 })).toThrow(OptimizerError)
    expect(() => Optim.sgd(-1)).toThrow(OptimizerError)
    expect(() => Optim.sgd(0.1, { nesterov: true })).toThrow(/Nesterov/)
    expect(() => Optim.clipByGlobalNorm(0)).toThrow(OptimizerError)
    const lbfgs = Optim.lbfgs()
    expect(() => lbfgs.update(g, lbfgs.init(p), p)).toThrow(/valueFn/)
  })
})
