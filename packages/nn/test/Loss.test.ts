import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, grad, NdArray, type NdArray as Array_, ShapeError, Tree, ValueError } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { Activation, Loss } from "@gradfx/nn"

const f64 = (x: Parameters<typeof NdArray.array>[0]) => NdArray.array(x, { dtype: "float64" })
const int = (x: ReadonlyArray<number>) => NdArray.array(x, { dtype: "int32" })
const values = (x: Array_): Array<number> => Array.from(x.data() as ArrayLike<number>)
const close = (a: number, b: number, tol = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)))

/** A [n, k] logits matrix and integer labels for it. */
const classification = (min = -5, max = 5) =>
  fc
    .record({ n: fc.integer({ min: 1, max: 5 }), k: fc.integer({ min: 2, max: 5 }) })
    .chain(({ n, k }) =>
      fc.tuple(Arb.ndarray({ shape: [n, k], min, max }), fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: n, maxLength: n }))
    )

/** Naive −log(e^{z_y} / Σ e^{z_j}) per row. */
const naiveCrossEntropy = (logits: Array_, labels: ReadonlyArray<number>): Array<number> => {
  const rows = logits.toArray() as Array<Array<number>>
  return rows.map((r, i) => -Math.log(Math.exp(r[labels[i]]) / r.reduce((s, v) => s + Math.exp(v), 0)))
}

const pair = (shape: ReadonlyArray<number>, min = -3, max = 3) => fc.tuple(Arb.ndarray({ shape, min, max }), Arb.ndarray({ shape, min, max }))
const shapes = Arb.shape({ minRank: 1, maxRank: 3, maxDim: 4 })

describe("Loss: regression", () => {
  it("mse is the mean of squared differences; half halves it; reductions", () => {
    const p = f64([[1, 2], [3, 4]])
    const t = f64([[1, 0], [5, 4]])
    close(Loss.mse(p, t).item(), (0 + 4 + 4 + 0) / 4)
    close(Loss.mse(p, t, { half: true }).item(), 1)
    close(Loss.mse(p, t, { reduction: "sum" }).item(), 8)
    expect(Loss.mse(p, t, { reduction: "none" }).toArray()).toEqual([[0, 4], [4, 0]])
    // Nielsen's quadratic cost C = 1/2n Σ‖y − a‖² for n = 2 examples
    close(Loss.mse(p, t, { half: true, reduction: "sum" }).item() / 2, (4 + 4) / (2 * 2))
  })

  it("the derivative of mse with half is (ŷ − y)/N", () => {
    const p = f64([0.5, -1, 2])
    const t = f64([0, 1, 1])
    expect(values(grad((q: Array_) => Loss.mse(q, t, { half: true }))(p)).map((v) => v * 3)).toEqual([0.5, -2, 1])
  })

  it("meanAbsoluteError and huber match their piecewise definitions", () => {
    fc.assert(
      fc.property(shapes.chain((s) => pair(s)), fc.double({ min: 0.1, max: 2, noNaN: true }), ([p, t], delta) => {
        const d = values(NdArray.sub(p, t))
        close(Loss.meanAbsoluteError(p, t).item(), d.reduce((s, v) => s + Math.abs(v), 0) / d.length)
        const h = values(Loss.huber(p, t, { delta, reduction: "none" }))
        d.forEach((v, i) => close(h[i], Math.abs(v) <= delta ? 0.5 * v * v : delta * (Math.abs(v) - 0.5 * delta)))
        close(Loss.huber(p, t, { delta, reduction: "sum" }).item(), h.reduce((s, v) => s + v, 0))
      }),
      { numRuns: 30 }
    )
  })

  it("never broadcasts predictions against targets", () => {
    expect(() => Loss.mse(f64([[1], [2]]), f64([1, 2]))).toThrow(ShapeError)
    expect(() => Loss.huber(f64([1, 2, 3]), f64([1, 2]))).toThrow(/Loss.huber/)
    expect(() => Loss.mse(f64([1]), f64([1]), { reduction: "avg" as any })).toThrow(ValueError)
  })
})

describe("Loss: binary cross-entropy", () => {
  it("on probabilities equals −[y log p + (1 − y) log(1 − p)]", () => {
    fc.assert(
      fc.property(shapes.chain((s) => fc.tuple(Arb.ndarray({ shape: s, min: 0.01, max: 0.99 }), Arb.ndarray({ shape: s, min: 0, max: 1 }))), ([p, y]) => {
        const pv = values(p)
        const yv = values(y)
        const naive = pv.map((q, i) => -(yv[i] * Math.log(q) + (1 - yv[i]) * Math.log(1 - q)))
        close(Loss.binaryCrossEntropy(p, y).item(), naive.reduce((a, b) => a + b, 0) / naive.length)
      }),
      { numRuns: 30 }
    )
  })

  it("on probabilities of exactly 0 or 1: finite values and finite gradients", () => {
    const p = f64([0, 1, 0, 1])
    const y = f64([1, 0, 0, 1])
    const v = values(Loss.binaryCrossEntropy(p, y, { reduction: "none" }))
    expect(v.every(Number.isFinite)).toBe(true)
    close(v[0], -Math.log(1e-7), 1e-6)
    expect(v[2]).toBeLessThan(1e-6)
    expect(values(grad((q: Array_) => Loss.binaryCrossEntropy(q, y))(p)).every(Number.isFinite)).toBe(true)
  })

  it("from logits equals BCE(sigmoid(z)) on moderate logits", () => {
    fc.assert(
      fc.property(shapes.chain((s) => fc.tuple(Arb.ndarray({ shape: s, min: -8, max: 8 }), Arb.ndarray({ shape: s, min: 0, max: 1 }))), ([z, y]) => {
        close(Loss.binaryCrossEntropyWithLogits(z, y).item(), Loss.binaryCrossEntropy(NdArray.sigmoid(z), y, { eps: 0 }).item(), 1e-9)
      }),
      { numRuns: 30 }
    )
  })

  it("from logits is exact and finite at ±1000 (float32 and float64)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const z = NdArray.array([1000, -1000, 1000, -1000], { dtype })
      const y = NdArray.array([1, 0, 0, 1], { dtype })
      expect(values(Loss.binaryCrossEntropyWithLogits(z, y, { reduction: "none" }))).toEqual([0, 0, 1000, 1000])
      const g = values(grad((v: Array_) => Loss.binaryCrossEntropyWithLogits(v, y, { reduction: "sum" }))(z))
      expect(g).toEqual([0, 0, 1, -1]) // σ(z) − y
    }
  })
})

describe("Loss: softmax cross-entropy and nll", () => {
  it("equals the naive formula on moderate logits", () => {
    fc.assert(
      fc.property(classification(), ([logits, labels]) => {
        const naive = naiveCrossEntropy(logits, labels)
        const got = values(Loss.softmaxCrossEntropy(logits, int(labels), { reduction: "none" }))
        got.forEach((v, i) => close(v, naive[i]))
        close(Loss.softmaxCrossEntropy(logits, int(labels)).item(), naive.reduce((a, b) => a + b, 0) / naive.length)
        close(Loss.softmaxCrossEntropy(logits, int(labels), { reduction: "sum" }).item(), naive.reduce((a, b) => a + b, 0))
      }),
      { numRuns: 40 }
    )
  })

  it("integer labels, one-hot targets and nll of logSoftmax agree", () => {
    fc.assert(
      fc.property(classification(), ([logits, labels]) => {
        const k = logits.shape[1]
        const a = Loss.softmaxCrossEntropy(logits, int(labels)).item()
        close(Loss.softmaxCrossEntropy(logits, NdArray.oneHot(labels, k, { dtype: "float64" })).item(), a)
        close(Loss.nll(Activation.logSoftmax(logits), int(labels)).item(), a)
        close(Loss.nll(Activation.logSoftmax(logits), NdArray.oneHot(labels, k, { dtype: "float64" })).item(), a)
      }),
      { numRuns: 30 }
    )
  })

  it("stays finite and exact on extreme logits", () => {
    fc.assert(
      fc.property(classification(-1000, 1000), ([logits, labels]) => {
        const got = values(Loss.softmaxCrossEntropy(logits, int(labels), { reduction: "none" }))
        expect(got.every((v) => Number.isFinite(v) && v >= 0)).toBe(true)
        const rows = logits.toArray() as Array<Array<number>>
        rows.forEach((r, i) => {
          // −log softmax = max − z_y + log Σ e^{z_j − max}, evaluated stably here
          const m = Math.max(...r)
          close(got[i], m - r[labels[i]] + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0)), 1e-9)
        })
        const g = grad((z: Array_) => Loss.softmaxCrossEntropy(z, int(labels)))(logits)
        expect(values(g).every(Number.isFinite)).toBe(true)
      }),
      { numRuns: 30 }
    )
    expect(values(Loss.softmaxCrossEntropy(NdArray.array([[1000, 0, -1000]]), int([2]), { reduction: "none" }))).toEqual([2000])
  })

  it("has gradient (softmax − onehot)/N", () => {
    fc.assert(
      fc.property(classification(), ([logits, labels]) => {
        const [n, k] = logits.shape
        const g = values(grad((z: Array_) => Loss.softmaxCrossEntropy(z, int(labels)))(logits))
        const expected = values(NdArray.div(NdArray.sub(Activation.softmax(logits), NdArray.oneHot(labels, k, { dtype: "float64" })), n))
        g.forEach((v, i) => close(v, expected[i], 1e-12))
      }),
      { numRuns: 20 }
    )
  })

  it("takes the class axis from options", () => {
    const logits = f64([[1, 5], [2, 0], [0, 1]]) // classes on axis 0
    const a = Loss.softmaxCrossEntropy(logits, int([1, 0]), { axis: 0, reduction: "none" })
    const b = Loss.softmaxCrossEntropy(NdArray.transpose(logits), int([1, 0]), { reduction: "none" })
    values(a).forEach((v, i) => close(v, values(b)[i]))
  })

  it("rejects labels out of range and targets of the wrong shape", () => {
    const logits = f64([[1, 2, 3]])
    expect(() => Loss.softmaxCrossEntropy(logits, int([3]))).toThrow(ValueError)
    expect(() => Loss.softmaxCrossEntropy(logits, int([-1]))).toThrow(/out of range/)
    expect(() => Loss.softmaxCrossEntropy(logits, int([0, 1]))).toThrow(ShapeError)
    expect(() => Loss.nll(logits, f64([[1, 0]]))).toThrow(ShapeError)
  })
})

describe("Loss: penalties", () => {
  const params = { layers: [{ w: f64([[1, -2], [3, 0]]), b: f64([0.5, -0.5]) }, null, { w: f64([4]), b: f64([1]) }] }

  it("l2 is λ/2n Σw² over every leaf; l1 is λ/n Σ|w|", () => {
    const sumSq = 1 + 4 + 9 + 0 + 0.25 + 0.25 + 16 + 1
    const sumAbs = 1 + 2 + 3 + 0 + 0.5 + 0.5 + 4 + 1
    close(Loss.l2(params).item(), sumSq / 2)
    close(Loss.l2(params, { lambda: 5, n: 10 }).item(), (5 / (2 * 10)) * sumSq)
    close(Loss.l1(params, { lambda: 0.1, n: 4 }).item(), (0.1 / 4) * sumAbs)
  })

  it("a filter spares the biases (Nielsen penalises weights only)", () => {
    const weightsOnly = (path: string) => path.endsWith("w")
    close(Loss.l2(params, { filter: weightsOnly }).item(), (1 + 4 + 9 + 16) / 2)
    const g = grad((p: typeof params) => Loss.l2(p, { lambda: 2, n: 4, filter: weightsOnly }))(params)
    expect(g.layers[0]!.w.toArray()).toEqual([[0.5, -1], [1.5, 0]]) // (λ/n)·w
    expect(g.layers[0]!.b.toArray()).toEqual([0, 0])
  })

  it("gradient of l2 is (λ/n)·w for every leaf", () => {
    fc.assert(
      fc.property(Arb.pytree({ min: -3, max: 3 }), fc.double({ min: 0.1, max: 10, noNaN: true }), (tree, lambda) => {
        const g = grad((p: unknown) => Loss.l2(p, { lambda, n: 3 }))(tree)
        const gl = Tree.leaves(g).map((l) => values(l as Array_))
        Tree.leaves(tree).forEach((leaf, i) => values(leaf as Array_).forEach((w, j) => close(gl[i][j], (lambda / 3) * w, 1e-12)))
      }),
      { numRuns: 20 }
    )
  })
})

describe("Loss: gradients (checkGrads, float64, random shapes)", () => {
  const away = (x: Array_, from: number) => NdArray.where(NdArray.less(NdArray.abs(NdArray.sub(x, from)), 0.05), NdArray.add(x, 0.1), x)

  it("mse, meanAbsoluteError, huber", () => {
    fc.assert(
      fc.property(shapes.chain((s) => pair(s)), ([p, t]) => {
        checkGrads((a: Array_, b: Array_) => Loss.mse(a, b), [p, t], { order: 2 })
        checkGrads((a: Array_, b: Array_) => Loss.mse(a, b, { half: true, reduction: "sum" }), [p, t], { order: 2 })
        const pa = NdArray.add(t, away(NdArray.sub(p, t), 0)) // |d| away from the kink at 0
        checkGrads((a: Array_) => Loss.meanAbsoluteError(a, t), [pa], { order: 2 })
        const ph = NdArray.add(t, away(away(NdArray.sub(p, t), 1), -1)) // away from |d| = δ
        checkGrads((a: Array_) => Loss.huber(a, t, { reduction: "none" }), [ph], { order: 2 })
      }),
      { numRuns: 20 }
    )
  })

  it("binaryCrossEntropy and binaryCrossEntropyWithLogits", () => {
    fc.assert(
      fc.property(shapes.chain((s) => fc.tuple(Arb.ndarray({ shape: s, min: 0.05, max: 0.95 }), Arb.ndarray({ shape: s, min: 0, max: 1 }), Arb.ndarray({ shape: s, min: -6, max: 6 }))), ([p, y, z]) => {
        checkGrads((a: Array_) => Loss.binaryCrossEntropy(a, y), [p], { order: 2 })
        checkGrads((a: Array_, b: Array_) => Loss.binaryCrossEntropyWithLogits(a, b, { reduction: "none" }), [z, y], { order: 2 })
      }),
      { numRuns: 20 }
    )
  })

  it("softmaxCrossEntropy (labels and one-hot) and nll", () => {
    fc.assert(
      fc.property(classification(), ([logits, labels]) => {
        const k = logits.shape[1]
        checkGrads((z: Array_) => Loss.softmaxCrossEntropy(z, int(labels)), [logits], { order: 2 })
        checkGrads((z: Array_, t: Array_) => Loss.softmaxCrossEntropy(z, t, { reduction: "sum" }), [logits, NdArray.oneHot(labels, k, { dtype: "float64" })], { order: 2 })
        checkGrads((z: Array_) => Loss.nll(z, int(labels), { reduction: "none" }), [logits], { order: 2 })
      }),
      { numRuns: 20 }
    )
  })

  it("l1 and l2 penalties over pytrees", () => {
    fc.assert(
      fc.property(Arb.pytree({ min: -3, max: 3 }), (tree) => {
        checkGrads((p: unknown) => Loss.l2(p, { lambda: 0.3, n: 2 }), [tree], { order: 2 })
        checkGrads((p: unknown) => Loss.l1(p, { lambda: 0.3 }), [Tree.map(tree, (x: Array_) => away(x, 0))], { order: 2 })
      }),
      { numRuns: 20 }
    )
  })
})

describe("an options argument that is not an object", () => {
  it("is a ValueError naming the right call (losses, penalties, optimisers)", async () => {
    const { NdArray, ValueError } = await import("@gradfx/core")
    const { Loss, Optim } = await import("../src/index.js")
    const p = NdArray.array([0.2, 0.7])
    const t = NdArray.array([0, 1])
    const bad: any = "sum"
    const cases: ReadonlyArray<[string, () => unknown]> = [
      ["Loss.mse", () => Loss.mse(p, t, bad)],
      ["Loss.meanAbsoluteError", () => Loss.meanAbsoluteError(p, t, bad)],
      ["Loss.huber", () => Loss.huber(p, t, 0.5 as any)],
      ["Loss.binaryCrossEntropy", () => Loss.binaryCrossEntropy(p, t, bad)],
      ["Loss.binaryCrossEntropyWithLogits", () => Loss.binaryCrossEntropyWithLogits(p, t, bad)],
      ["Loss.softmaxCrossEntropy", () => Loss.softmaxCrossEntropy(NdArray.reshape(p, [1, 2]), NdArray.array([1], { dtype: "int32" }), bad)],
      ["Loss.nll", () => Loss.nll(NdArray.reshape(p, [1, 2]), NdArray.array([1], { dtype: "int32" }), bad)],
      ["Loss.l2", () => Loss.l2({ w: p }, 5 as any)],
      ["Loss.l1", () => Loss.l1({ w: p }, 5 as any)],
      ["Optim.sgd", () => Optim.sgd(0.1, 0.9 as any)],
      ["Optim.adagrad", () => Optim.adagrad(0.1, 0.9 as any)],
      ["Optim.rmsprop", () => Optim.rmsprop(0.1, 0.9 as any)],
      ["Optim.adam", () => Optim.adam(1e-3, 0.9 as any)],
      ["Optim.adamw", () => Optim.adamw(1e-3, 0.01 as any)],
      ["Optim.adamax", () => Optim.adamax(1e-3, 0.9 as any)],
      ["Optim.nadam", () => Optim.nadam(1e-3, 0.9 as any)],
      ["Optim.rprop", () => Optim.rprop(1e-2, 0.5 as any)],
      ["Optim.asgd", () => Optim.asgd(1e-2, 1e-4 as any)]
    ]
    for (const [op, call] of cases) {
      expect(call, op).toThrow(ValueError)
      expect(call, op).toThrow(`${op}: takes its options as an object, e.g. ${op}(`)
    }
    expect(Loss.mse(p, t, { reduction: "sum" }).item()).toBeCloseTo(0.04 + 0.09, 6)
  })
})
