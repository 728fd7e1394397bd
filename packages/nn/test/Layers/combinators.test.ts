import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkGrads, grad, NdArray, Random, Tree, vmap } from "@gradfx/core"
import { Arb } from "@gradfx/core/testing"
import { Init, LayerError, Layers, LayerShapeError, Loss } from "@gradfx/nn"

const f64 = { dtype: "float64" } as const
const values = (x: NdArray): Array<number> => Array.from(x.data() as ArrayLike<number>)

describe("Layers.sequential", () => {
  it("equals applying the layers in turn, with one params entry per layer (null for parameterless)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 5 }), Arb.key(), (widths, inDim, key) => {
        const parts = widths.flatMap((w) => [Layers.linear({ outDim: w, biasInit: Init.normal(1) }), Layers.tanh()])
        const model = Layers.sequential(...parts)
        const { params, state, outputShape } = model.init(key, [inDim], f64)
        expect(outputShape).toEqual([widths[widths.length - 1]])
        expect(params.length).toBe(parts.length)
        expect(state).toEqual(parts.map(() => null))
        params.forEach((p, i) => (i % 2 === 1 ? expect(p).toBeNull() : expect(Object.keys(p as object)).toEqual(["w", "b"])))
        const x = Random.normal(Random.foldIn(key, 9), [3, inDim], f64)
        let y = x
        parts.forEach((layer, i) => (y = layer.apply(params[i] as never, y)))
        expect(values(model.apply(params, x))).toEqual(values(y))
        const [z, s] = model.applyWithState(params, x)
        expect(values(z)).toEqual(values(y))
        expect(s).toEqual(parts.map(() => null))
      }),
      { numRuns: 25 }
    )
  })

  it("infers a CNN's flatten size at init, and grad of a loss through it has the params' structure", () => {
    const model = Layers.sequential(
      Layers.conv2d({ outChannels: 3, kernelSize: 3, padding: "same" }),
      Layers.relu(),
      Layers.maxPool2d({ kernelSize: 2 }),
      Layers.conv2d({ outChannels: 4, kernelSize: 3 }),
      Layers.flatten(),
      Layers.linear({ outDim: 5 })
    )
    const { params, outputShape } = model.init(Random.key(0), [1, 10, 10])
    expect(params[5].w.shape).toEqual([4 * 3 * 3, 5]) // 10 → 10 → 5 → 3
    expect(outputShape).toEqual([5])
    const x = Random.normal(Random.key(1), [2, 1, 10, 10])
    const labels = NdArray.array([1, 3], { dtype: "int32" })
    const g = grad((p: typeof params) => Loss.softmaxCrossEntropy(model.apply(p, x), labels))(params)
    expect(Tree.paths(g)).toEqual(Tree.paths(params))
    expect(g[1]).toBeNull()
    Tree.leaves(g).forEach((leaf, i) => expect((leaf as NdArray).shape).toEqual((Tree.leaves(params)[i] as NdArray).shape))
  })

  it("a per-example model under vmap: per-example gradients average to the batch gradient", () => {
    const model = Layers.sequential(Layers.conv2d({ outChannels: 2, kernelSize: 3 }), Layers.relu(), Layers.flatten({ batchDims: 0 }), Layers.linear({ outDim: 3 }))
    const { params } = model.init(Random.key(0), [1, 6, 6], f64)
    const x = Random.normal(Random.key(1), [4, 1, 6, 6], f64)
    const y = NdArray.array([0, 1, 2, 1], { dtype: "int32" })
    const loss = (p: typeof params, xi: NdArray, yi: NdArray) => Loss.softmaxCrossEntropy(model.apply(p, xi), yi)
    const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, x, y)
    expect(Tree.leaves(perExample).map((l) => (l as NdArray).shape[0])).toEqual([4, 4, 4, 4])
    const batch = grad((p: typeof params) => NdArray.mean(vmap((xi: NdArray, yi: NdArray) => loss(p, xi, yi))(x, y)))(params)
    const averaged = Tree.leaves(perExample).map((l) => values(NdArray.mean(l as NdArray, { axis: 0 })))
    Tree.leaves(batch).forEach((l, i) => values(l as NdArray).forEach((v, j) => expect(Math.abs(v - averaged[i][j])).toBeLessThan(1e-12)))
  })

  it("names the failing part in errors", () => {
    const model = Layers.sequential(Layers.linear({ outDim: 4 }), Layers.relu(), Layers.sequential(Layers.linear({ outDim: 2 })))
    const { params } = model.init(Random.key(0), [3])
    let error: unknown
    try {
      model.apply(params, NdArray.zeros([2, 5]))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(LayerShapeError)
    expect(error).toMatchObject({ layer: "sequential[0].linear", expected: "[..., 3]", actual: [2, 5] })
    const bad = [params[0], null, [{ w: NdArray.zeros([5, 2]), b: NdArray.zeros([2]) }]] as unknown as typeof params
    expect(() => model.apply(bad, NdArray.zeros([2, 3]))).toThrow(/sequential\[2\]\.sequential\[0\]\.linear: expected an input of shape \[\.\.\., 5\], got \[2, 4\]/)
    expect(() => model.apply([params[0]] as unknown as typeof params, NdArray.zeros([2, 3]))).toThrow(LayerError)
    expect(() => Layers.sequential(Layers.relu as never)).toThrow(/not a layer/)
    expect(() => Layers.sequential(Layers.conv2d({ outChannels: 1, kernelSize: 3 })).init(Random.key(0), [5])).toThrow(/sequential\[0\]\.conv2d/)
  })

  it("splits the key among its parts and threads batch-norm state", () => {
    const model = Layers.sequential(Layers.linear({ outDim: 4 }), Layers.batchNorm(), Layers.dropout({ rate: 0.5 }), Layers.linear({ outDim: 2 }))
    const { params, state } = model.init(Random.key(0), [3])
    expect(state[0]).toBeNull()
    expect(Object.keys(state[1]!)).toEqual(["mean", "variance"])
    const x = Random.normal(Random.key(1), [8, 3])
    const key = Random.key(5)
    const [y1, s1] = model.applyWithState(params, x, { training: true, key, state })
    const [y2] = model.applyWithState(params, x, { training: true, key, state })
    expect(values(y1)).toEqual(values(y2))
    const [y3] = model.applyWithState(params, x, { training: true, key: Random.key(6), state })
    expect(values(y3)).not.toEqual(values(y1))
    expect(values(s1[1]!.mean)).not.toEqual(values(state[1]!.mean))
    // the batch-norm part sees the same key-independent input: its state update matches running it alone
    const h = Layers.linear({ outDim: 4 }).apply(params[0], x)
    const [, alone] = Layers.batchNorm().applyWithState(params[1], h, { training: true, state: state[1] })
    expect(values(s1[1]!.variance)).toEqual(values(alone.variance))
    // evaluation mode: deterministic, uses the state
    expect(values(model.apply(params, x, { state: s1 }))).toEqual(values(model.apply(params, x, { state: s1, key })))
  })

  it("gradients of a small network (checkGrads, float64)", () => {
    fc.assert(
      fc.property(Arb.key(), (key) => {
        const model = Layers.sequential(Layers.linear({ outDim: 3 }), Layers.tanh(), Layers.linear({ outDim: 2 }), Layers.logSoftmax())
        const { params } = model.init(key, [2], f64)
        checkGrads((p: typeof params, x: NdArray) => model.apply(p, x), [params, Random.normal(key, [2, 2], f64)], { order: 2 })
      }),
      { numRuns: 5 }
    )
  })
})

describe("Layers.residual", () => {
  it("adds the body's output to its input", () => {
    const body = Layers.sequential(Layers.linear({ outDim: 4 }), Layers.relu(), Layers.linear({ outDim: 4 }))
    const block = Layers.residual(body)
    const { params, outputShape } = block.init(Random.key(0), [4], f64)
    expect(outputShape).toEqual([4])
    expect(params.shortcut).toBeNull()
    const x = Random.normal(Random.key(1), [3, 4], f64)
    expect(values(block.apply(params, x))).toEqual(values(NdArray.add(body.apply(params.body, x), x)))
  })

  it("takes a projection shortcut when the body changes the shape, and says so when it is missing", () => {
    const body = Layers.sequential(Layers.conv2d({ outChannels: 4, kernelSize: 3, padding: 1, stride: 2 }), Layers.relu())
    expect(() => Layers.residual(body).init(Random.key(0), [2, 6, 6])).toThrow(/projection shortcut/)
    const block = Layers.residual(body, { shortcut: Layers.conv2d({ outChannels: 4, kernelSize: 1, stride: 2 }) })
    const { params, outputShape } = block.init(Random.key(0), [2, 6, 6], f64)
    expect(outputShape).toEqual([4, 3, 3])
    const x = Random.normal(Random.key(1), [2, 2, 6, 6], f64)
    const expected = NdArray.add(body.apply(params.body, x), Layers.conv2d({ outChannels: 4, kernelSize: 1, stride: 2 }).apply(params.shortcut, x))
    expect(values(block.apply(params, x))).toEqual(values(expected))
    checkGrads((p: typeof params, v: NdArray) => block.apply(p, v), [params, x], { order: 1 })
  })

  it("threads state through the body", () => {
    const block = Layers.residual(Layers.sequential(Layers.linear({ outDim: 3 }), Layers.batchNorm()))
    const { params, state } = block.init(Random.key(0), [3])
    const [, next] = block.applyWithState(params, Random.normal(Random.key(1), [5, 3]), { training: true, state })
    expect(values(next.body[1]!.mean)).not.toEqual(values(state.body[1]!.mean))
    expect(next.shortcut).toBeNull()
  })

  it("gradients (checkGrads, float64)", () => {
    const block = Layers.residual(Layers.sequential(Layers.linear({ outDim: 3 }), Layers.gelu(), Layers.linear({ outDim: 3 })))
    const { params } = block.init(Random.key(2), [3], f64)
    checkGrads((p: typeof params, v: NdArray) => block.apply(p, v), [params, Random.normal(Random.key(3), [2, 3], f64)], { order: 2 })
  })
})
