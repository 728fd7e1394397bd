import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, grad, NdArray, type NdArray as Array_ } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { pipe } from "effect/Function"
import { Activation } from "@gradfx/nn"

const f64 = (x: ReadonlyArray<number>) => NdArray.array(x, { dtype: "float64" })
const values = (x: Array_): Array<number> => Array.from(x.data() as ArrayLike<number>)

// Φ(x), the standard normal CDF, at a few points (reference values)
const PHI: ReadonlyArray<[number, number]> = [
  [-2, 0.022750131948179195],
  [-0.5, 0.3085375387259869],
  [1, 0.8413447460685429],
  [2, 0.9772498680518208]
]

const alpha = 1.6732632423543772848170429916717
const lambda = 1.0507009873554804934193349852946

/** Each activation with its scalar definition (computed naively in JS on moderate inputs). */
const table: ReadonlyArray<{ name: string; f: (x: Array_) => Array_; ref: (x: number) => number; kinks: ReadonlyArray<number> }> = [
  { name: "sigmoid", f: Activation.sigmoid, ref: (x) => 1 / (1 + Math.exp(-x)), kinks: [] },
  { name: "tanh", f: Activation.tanh, ref: Math.tanh, kinks: [] },
  { name: "relu", f: Activation.relu, ref: (x) => Math.max(x, 0), kinks: [0] },
  { name: "leakyRelu", f: (x) => Activation.leakyRelu(x, 0.2), ref: (x) => (x > 0 ? x : 0.2 * x), kinks: [0] },
  { name: "elu", f: (x) => Activation.elu(x, 1.5), ref: (x) => (x > 0 ? x : 1.5 * (Math.exp(x) - 1)), kinks: [0] },
  { name: "selu", f: Activation.selu, ref: (x) => lambda * (x > 0 ? x : alpha * (Math.exp(x) - 1)), kinks: [0] },
  {
    name: "gelu (tanh)",
    f: (x) => Activation.gelu(x, { approximate: true }),
    ref: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    kinks: []
  },
  { name: "silu", f: Activation.silu, ref: (x) => x / (1 + Math.exp(-x)), kinks: [] },
  { name: "softplus", f: Activation.softplus, ref: (x) => Math.log(1 + Math.exp(x)), kinks: [] },
  { name: "logSigmoid", f: Activation.logSigmoid, ref: (x) => Math.log(1 / (1 + Math.exp(-x))), kinks: [] },
  { name: "softsign", f: Activation.softsign, ref: (x) => x / (1 + Math.abs(x)), kinks: [0] },
  { name: "hardTanh", f: (x) => Activation.hardTanh(x, { min: -1, max: 2 }), ref: (x) => Math.min(Math.max(x, -1), 2), kinks: [-1, 2] }
]

const all: ReadonlyArray<[string, (x: Array_) => Array_]> = [
  ...table.map((t) => [t.name, t.f] as [string, (x: Array_) => Array_]),
  ["gelu (exact)", (x) => Activation.gelu(x)],
  ["softmax", (x) => Activation.softmax(x)],
  ["logSoftmax", (x) => Activation.logSoftmax(x)]
]

/** Inputs kept away from the kinks so central differences are valid. */
const awayFrom = (kinks: ReadonlyArray<number>) =>
  Arb.ndarray({ shape: Arb.shape({ minRank: 1, maxRank: 2, maxDim: 4 }), min: -4, max: 4 }).map((x) =>
    NdArray.array(
      Float64Array.from(values(x).map((v) => (kinks.some((k) => Math.abs(v - k) < 0.05) ? v + 0.1 : v))),
      { shape: x.shape }
    )
  )

describe("Activation: values", () => {
  const xs = [-3.5, -1, -0.25, 0.3, 1, 2.75]
  for (const { name, f, ref } of table) {
    it(`${name} matches its definition within 1e-9 (float64)`, () => {
      const got = values(f(f64(xs)))
      xs.forEach((x, i) => expect(Math.abs(got[i] - ref(x))).toBeLessThan(1e-9))
    })
  }

  it("gelu (exact) is x·Φ(x) (reference values of the normal CDF)", () => {
    const got = values(Activation.gelu(f64(PHI.map(([x]) => x))))
    PHI.forEach(([x, phi], i) => expect(Math.abs(got[i] - x * phi)).toBeLessThan(1e-9))
  })

  it("the approximate gelu is within 1e-3 of the exact one", () => {
    const x = NdArray.linspace(-5, 5, 41, { dtype: "float64" })
    const d = NdArray.max(NdArray.abs(NdArray.sub(Activation.gelu(x), Activation.gelu(x, { approximate: true })))).item()
    expect(d).toBeLessThan(1e-3)
  })

  it("relu is +0 at and below 0 (−∞ included) and NaN at NaN, as in JAX and PyTorch", () => {
    const y = values(Activation.relu(f64([-Infinity, -2, -0, 0, 3, Infinity, NaN])))
    expect(y.slice(0, 6)).toEqual([0, 0, 0, 0, 3, Infinity])
    expect(y.slice(0, 4).every((v) => Object.is(v, 0))).toBe(true)
    expect(Number.isNaN(y[6])).toBe(true)
  })

  it("relu has derivative 0 at 0 (as PyTorch and JAX) and leaks with slope", () => {
    expect(values(grad((x: Array_) => NdArray.sum(Activation.relu(x)))(f64([-1, 0, 2])))).toEqual([0, 0, 1])
    expect(values(grad((x: Array_) => NdArray.sum(Activation.leakyRelu(x, 0.1)))(f64([-1, 2])))).toEqual([0.1, 1])
  })

  it("selu uses the paper's constants", () => {
    expect(Activation.SELU_ALPHA).toBeCloseTo(1.6732632423543772, 15)
    expect(Activation.SELU_SCALE).toBeCloseTo(1.0507009873554805, 15)
    expect(Activation.selu(f64([-1000])).item()).toBeCloseTo(-lambda * alpha, 12)
  })

  it("options are dual: data-first or piped", () => {
    const x = f64([-2, 0.5, 3])
    expect(values(pipe(x, Activation.leakyRelu(0.3)))).toEqual(values(Activation.leakyRelu(x, 0.3)))
    expect(values(pipe(x, Activation.elu(2)))).toEqual(values(Activation.elu(x, 2)))
    expect(values(pipe(x, Activation.gelu({ approximate: true })))).toEqual(values(Activation.gelu(x, { approximate: true })))
    expect(values(pipe(x, Activation.hardTanh({ max: 0.7 })))).toEqual([-1, 0.5, 0.7])
    expect(values(pipe(x, Activation.softmax()))).toEqual(values(Activation.softmax(x)))
  })
})

describe("Activation: numerical stability at ±1000", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [name, f] of all) {
      it(`${name} (${dtype}): finite values and finite gradients`, () => {
        const x = NdArray.array([-1000, -100, -30, 0, 30, 100, 1000], { dtype })
        const y = f(x)
        expect(values(y).every(Number.isFinite)).toBe(true)
        const g = grad((v: Array_) => NdArray.sum(NdArray.mul(f(v), NdArray.arange(7, undefined, 1, { dtype }))))(x)
        expect(values(g).every(Number.isFinite)).toBe(true)
      })
    }
  }

  it("saturating activations take their limits exactly", () => {
    const x = f64([-1000, 1000])
    expect(values(Activation.sigmoid(x))).toEqual([0, 1])
    expect(values(Activation.softplus(x))).toEqual([0, 1000])
    expect(values(Activation.logSigmoid(x))).toEqual([-1000, -0])
    expect(values(Activation.elu(x))).toEqual([-1, 1000])
    expect(values(Activation.gelu(x))).toEqual([-0, 1000])
    expect(values(Activation.silu(x))).toEqual([-0, 1000])
    expect(values(Activation.logSoftmax(x))).toEqual([-2000, 0])
  })
})

describe("Activation: gradients (checkGrads, float64)", () => {
  for (const { name, f, kinks } of table) {
    it(`${name}: first and second derivatives`, () => {
      fc.assert(
        fc.property(awayFrom(kinks), (x) => checkGrads((v: Array_) => f(v), [x], { order: 2 })),
        { numRuns: 15 }
      )
    })
  }
  it("gelu (exact), softmax and logSoftmax: first and second derivatives", () => {
    fc.assert(
      fc.property(awayFrom([]), (x) => {
        checkGrads((v: Array_) => Activation.gelu(v), [x], { order: 2 })
        checkGrads((v: Array_) => Activation.softmax(v), [x], { order: 2 })
        checkGrads((v: Array_) => Activation.logSoftmax(v, { axis: 0 }), [x], { order: 2 })
      }),
      { numRuns: 15 }
    )
  })
})

describe("Activation: softmax properties", () => {
  const logits = Arb.ndarray({ shape: Arb.shape({ minRank: 1, maxRank: 3, maxDim: 5 }), min: -1000, max: 1000 })

  it("rows sum to 1, for logits up to ±1000", () => {
    fc.assert(
      fc.property(logits, (x) => {
        const s = Activation.softmax(x)
        expect(values(s).every((v) => v >= 0 && v <= 1)).toBe(true)
        for (const r of values(NdArray.sum(s, { axis: -1 }))) expect(Math.abs(r - 1)).toBeLessThan(1e-12)
      }),
      { numRuns: 40 }
    )
  })

  it("sums to 1 along any axis that is asked for", () => {
    fc.assert(
      fc.property(Arb.ndarray({ shape: [3, 4, 2], min: -50, max: 50 }), fc.integer({ min: -3, max: 2 }), (x, axis) => {
        for (const r of values(NdArray.sum(Activation.softmax(x, { axis }), { axis }))) expect(Math.abs(r - 1)).toBeLessThan(1e-12)
      }),
      { numRuns: 20 }
    )
  })

  it("logSoftmax = log(softmax) where both are finite", () => {
    fc.assert(
      fc.property(logits, (x) => {
        const a = values(Activation.logSoftmax(x))
        const b = values(NdArray.log(Activation.softmax(x)))
        a.forEach((v, i) => {
          expect(Number.isFinite(v)).toBe(true)
          if (Number.isFinite(b[i]) && b[i] > -700) expect(Math.abs(v - b[i])).toBeLessThan(1e-9 * Math.max(1, Math.abs(v)))
        })
      }),
      { numRuns: 40 }
    )
  })

  it("is invariant to adding a constant to every logit", () => {
    fc.assert(
      fc.property(Arb.ndarray({ shape: [2, 5], min: -20, max: 20 }), fc.double({ min: -500, max: 500, noNaN: true }), (x, c) => {
        const a = values(Activation.softmax(x))
        const b = values(Activation.softmax(NdArray.add(x, c)))
        a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-9))
      }),
      { numRuns: 30 }
    )
  })
})
