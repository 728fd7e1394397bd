import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, grad, NdArray, Random, vmap } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { Activation, LayerError, Layers, LayerShapeError } from "@gradfx/nn"

const values = (x: NdArray): Array<number> => Array.from(x.data() as ArrayLike<number>)

const activationLayers: ReadonlyArray<[string, Layers.Layer<null, null>, (x: NdArray) => NdArray]> = [
  ["sigmoid", Layers.sigmoid(), Activation.sigmoid],
  ["tanh", Layers.tanh(), Activation.tanh],
  ["relu", Layers.relu(), Activation.relu],
  ["leakyRelu", Layers.leakyRelu({ slope: 0.1 }), (x) => Activation.leakyRelu(x, 0.1)],
  ["elu", Layers.elu({ alpha: 0.5 }), (x) => Activation.elu(x, 0.5)],
  ["selu", Layers.selu(), Activation.selu],
  ["gelu", Layers.gelu(), (x) => Activation.gelu(x)],
  ["gelu (tanh)", Layers.gelu({ approximate: true }), (x) => Activation.gelu(x, { approximate: true })],
  ["silu", Layers.silu(), Activation.silu],
  ["softplus", Layers.softplus(), Activation.softplus],
  ["softsign", Layers.softsign(), Activation.softsign],
  ["hardTanh", Layers.hardTanh({ min: -2, max: 2 }), (x) => Activation.hardTanh(x, { min: -2, max: 2 })],
  ["softmax", Layers.softmax(), (x) => Activation.softmax(x)],
  ["logSoftmax", Layers.logSoftmax({ axis: 0 }), (x) => Activation.logSoftmax(x, { axis: 0 })],
  ["fn", Layers.fn("cube", (x) => NdArray.mul(NdArray.square(x), x)), (x) => NdArray.mul(NdArray.square(x), x)],
  ["identity", Layers.identity(), (x) => x]
]

/** Inputs away from the kinks of relu-like activations (0, ±2). */
const smoothInputs = Arb.ndarray({ shape: Arb.shape({ minRank: 1, maxRank: 3, maxDim: 3 }), min: -3, max: 3 }).map((x) =>
  NdArray.array(Float64Array.from(values(x).map((v) => ([0, 2, -2].some((k) => Math.abs(v - k) < 0.05) ? v + 0.1 : v))), { shape: x.shape })
)

describe("activation layers", () => {
  for (const [name, layer, f] of activationLayers) {
    it(`${name}: no params, shape kept, equals the function; gradients check`, () => {
      expect(layer.init(Random.key(0), [2, 3])).toEqual({ params: null, state: null, outputShape: [2, 3] })
      fc.assert(
        fc.property(smoothInputs, (x) => {
          expect(values(layer.apply(null, x))).toEqual(values(f(x)))
          const [y, s] = layer.applyWithState(null, x)
          expect(values(y)).toEqual(values(f(x)))
          expect(s).toBeNull()
          checkGrads((v: NdArray) => layer.apply(null, v), [x], { order: 2 })
        }),
        { numRuns: 10 }
      )
    })
  }

  it("a parameterless layer needs the input shape at init", () => {
    expect(() => Layers.relu().init(Random.key(0))).toThrow(LayerError)
    expect(() => Layers.relu().init(Random.key(0), [2.5])).toThrow(LayerShapeError)
  })
})

describe("Layers.flatten", () => {
  it("keeps the batch axis and reports the per-example size", () => {
    const layer = Layers.flatten()
    expect(layer.init(Random.key(0), [8, 5, 5]).outputShape).toEqual([200])
    expect(layer.apply(null, NdArray.zeros([3, 8, 5, 5])).shape).toEqual([3, 200])
    expect(layer.apply(null, NdArray.zeros([3, 7])).shape).toEqual([3, 7])
    expect(Layers.flatten({ batchDims: 2 }).apply(null, NdArray.zeros([2, 3, 4, 5])).shape).toEqual([2, 3, 20])
  })

  it("with batchDims 0 flattens one example, so vmap of the per-example apply equals the batch apply", () => {
    const x = Random.normal(Random.key(0), [4, 2, 3, 3])
    const batched = Layers.flatten().apply(null, x)
    const perExample = vmap((xi: NdArray) => Layers.flatten({ batchDims: 0 }).apply(null, xi))(x)
    expect(values(perExample)).toEqual(values(batched))
    expect(batched.toArray()).toEqual((x.toArray() as Array<unknown>).map((xi) => (xi as Array<unknown>).flat(2)))
  })

  it("gradients (checkGrads, float64)", () => {
    fc.assert(
      fc.property(Arb.ndarray({ shape: Arb.shape({ minRank: 1, maxRank: 4, maxDim: 3 }) }), (x) => {
        checkGrads((v: NdArray) => Layers.flatten().apply(null, v), [x], { order: 2 })
        checkGrads((v: NdArray) => Layers.flatten({ batchDims: 0 }).apply(null, v), [x], { order: 1 })
      }),
      { numRuns: 10 }
    )
  })

  it("needs its batch axes", () => {
    expect(() => Layers.flatten({ batchDims: 2 }).apply(null, NdArray.zeros([3]))).toThrow(LayerShapeError)
    expect(() => Layers.flatten({ batchDims: -1 })).toThrow(LayerError)
  })
})

describe("Layers.dropout", () => {
  const drop = Layers.dropout({ rate: 0.3 })
  const x = NdArray.ones([100, 100])

  it("is the identity in evaluation mode (the default) and with rate 0", () => {
    expect(drop.apply(null, x)).toBe(x)
    expect(drop.apply(null, x, { training: false, key: Random.key(0) })).toBe(x)
    expect(Layers.dropout({ rate: 0 }).apply(null, x, { training: true, key: Random.key(0) })).toBe(x)
    expect(values(Layers.dropout({ rate: 1 }).apply(null, x, { training: true, key: Random.key(0) })).every((v) => v === 0)).toBe(true)
  })

  it("in training zeroes about `rate` of the elements and scales the rest by 1/(1 − rate)", () => {
    const y = values(drop.apply(null, x, { training: true, key: Random.key(1) }))
    const zeros = y.filter((v) => v === 0).length / y.length
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.02)
    expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true)
    // the expectation is preserved
    expect(Math.abs(y.reduce((a, b) => a + b, 0) / y.length - 1)).toBeLessThan(0.03)
  })

  it("is a function of the key, and its gradient is the mask over (1 − rate)", () => {
    const k = Random.key(2)
    const a = values(drop.apply(null, x, { training: true, key: k }))
    expect(values(drop.apply(null, x, { training: true, key: k }))).toEqual(a)
    expect(values(drop.apply(null, x, { training: true, key: Random.key(3) }))).not.toEqual(a)
    const small = Random.normal(Random.key(4), [3, 4], { dtype: "float64" })
    const g = values(grad((v: NdArray) => NdArray.sum(drop.apply(null, v, { training: true, key: k })))(small))
    const kept = values(drop.apply(null, NdArray.onesLike(small), { training: true, key: k }))
    g.forEach((v, i) => expect(v).toBeCloseTo(kept[i], 12))
    checkGrads((v: NdArray) => drop.apply(null, v, { training: true, key: k }), [small], { order: 2 })
  })

  it("training needs a key; the rate must be a probability", () => {
    expect(() => drop.apply(null, x, { training: true })).toThrow(LayerError)
    expect(() => drop.apply(null, x, { training: true })).toThrow(/needs a PRNG key/)
    expect(() => Layers.dropout({ rate: 1.5 })).toThrow(LayerError)
  })
})
