import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { NdArray, ShapeError, ValueError } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { Metrics } from "@gradfx/nn"

const int = (x: ReadonlyArray<number>) => NdArray.array(x, { dtype: "int32" })

/** Scores [n, k] and labels, with the argmax computed in plain JS. */
const scored = fc
  .record({ n: fc.integer({ min: 1, max: 12 }), k: fc.integer({ min: 2, max: 5 }) })
  .chain(({ n, k }) => fc.tuple(Arb.ndarray({ shape: [n, k], min: -5, max: 5 }), fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: n, maxLength: n })))

const argmaxRows = (x: NdArray): Array<number> =>
  (x.toArray() as Array<Array<number>>).map((r) => r.reduce((best, v, i) => (v > r[best] ? i : best), 0))

describe("Metrics.accuracy", () => {
  it("is the fraction of rows whose argmax is the label", () => {
    fc.assert(
      fc.property(scored, ([scores, labels]) => {
        const predicted = argmaxRows(scores)
        const expected = predicted.filter((p, i) => p === labels[i]).length / labels.length
        expect(Metrics.accuracy(scores, int(labels)).item()).toBeCloseTo(expected, 6)
        // one-hot labels and predicted class indices give the same
        expect(Metrics.accuracy(scores, NdArray.oneHot(labels, scores.shape[1])).item()).toBeCloseTo(expected, 6)
        expect(Metrics.accuracy(int(predicted), int(labels)).item()).toBeCloseTo(expected, 6)
      }),
      { numRuns: 40 }
    )
  })

  it("handles binary probabilities ([N] or [N, 1]) with a threshold", () => {
    const p = NdArray.array([0.9, 0.2, 0.6, 0.4])
    const y = NdArray.array([1, 0, 0, 0])
    expect(Metrics.accuracy(p, y).item()).toBeCloseTo(0.75, 6)
    expect(Metrics.accuracy(NdArray.reshape(p, [4, 1]), NdArray.reshape(y, [4, 1])).item()).toBeCloseTo(0.75, 6)
    expect(Metrics.accuracy(p, y, { threshold: 0.65 }).item()).toBeCloseTo(1, 6)
    expect(Metrics.accuracy(NdArray.array([2, -1]), NdArray.array([1, 1]), { threshold: 0 }).item()).toBeCloseTo(0.5, 6)
  })

  it("rejects labels that do not fit the predictions", () => {
    expect(() => Metrics.accuracy(NdArray.zeros([4, 3]), int([0, 1]))).toThrow(ShapeError)
  })
})

describe("Metrics.confusionMatrix", () => {
  it("counts (true, predicted) pairs, rows being the truth", () => {
    fc.assert(
      fc.property(scored, ([scores, labels]) => {
        const k = scores.shape[1]
        const predicted = argmaxRows(scores)
        const expected = Array.from({ length: k }, () => new Array<number>(k).fill(0))
        labels.forEach((l, i) => expected[l][predicted[i]]++)
        const c = Metrics.confusionMatrix(scores, int(labels), k)
        expect(c.dtype).toBe("int32")
        expect(c.toArray()).toEqual(expected)
        // its trace over N is the accuracy
        const trace = expected.reduce((s, r, i) => s + r[i], 0)
        expect(trace / labels.length).toBeCloseTo(Metrics.accuracy(scores, int(labels)).item(), 6)
        expect(Metrics.confusionMatrix(int(predicted), NdArray.oneHot(labels, k), k).toArray()).toEqual(expected)
      }),
      { numRuns: 40 }
    )
  })

  it("a concrete case", () => {
    const c = Metrics.confusionMatrix(int([0, 1, 1, 2, 2, 2]), int([0, 1, 2, 2, 2, 0]), 3)
    expect(c.toArray()).toEqual([
      [1, 0, 1],
      [0, 1, 0],
      [0, 1, 2]
    ])
  })

  it("validates its arguments", () => {
    expect(() => Metrics.confusionMatrix(int([0]), int([0]), 0)).toThrow(ValueError)
    expect(() => Metrics.confusionMatrix(int([0, 1]), int([0]), 2)).toThrow(ShapeError)
  })
})
