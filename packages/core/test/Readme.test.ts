// The README's quick start, verbatim in substance: if this breaks, the README is wrong.
import { describe, expect, it } from "vitest"
import { checkGrads, grad, jit, NdArray, Random, Tree, vmap } from "@gradfx/core"

type Params = { w: NdArray; b: NdArray }

describe("README quick start", () => {
  it("learns OR with grad and gives per-example gradients with vmap", () => {
    const predict = (p: Params, x: NdArray) => NdArray.sigmoid(NdArray.add(NdArray.matmul(x, p.w), p.b))
    const loss = (p: Params, x: NdArray, y: NdArray) => NdArray.mean(NdArray.square(NdArray.sub(predict(p, x), y)))
    const [k1] = Random.split(Random.key(0))
    let params: Params = { w: Random.normal(k1, [2, 1]), b: NdArray.zeros([1]) }
    const x = NdArray.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    const y = NdArray.array([[0], [1], [1], [1]])
    for (let step = 0; step < 500; step++) {
      const g = grad(loss)(params, x, y)
      params = { w: NdArray.sub(params.w, NdArray.mul(g.w, 2)), b: NdArray.sub(params.b, NdArray.mul(g.b, 2)) }
    }
    const out = (predict(params, x).toArray() as Array<Array<number>>).map((r) => r[0])
    expect(out[0]).toBeLessThan(0.25)
    for (const v of out.slice(1)) expect(v).toBeGreaterThan(0.75)
    const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, x, y)
    expect(perExample.w.shape).toEqual([4, 2, 1])
    expect(perExample.b.shape).toEqual([4, 1])
  })

  it("the jit example: the compiled step trains to the same parameters as the plain one", () => {
    const predict = (p: Params, x: NdArray) => NdArray.sigmoid(NdArray.add(NdArray.matmul(x, p.w), p.b))
    const loss = (p: Params, x: NdArray, y: NdArray) => NdArray.mean(NdArray.square(NdArray.sub(predict(p, x), y)))
    const x = NdArray.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    const y = NdArray.array([[0], [1], [1], [1]])
    const plain = (p: Params, x: NdArray, y: NdArray): Params => {
      const g = grad(loss)(p, x, y)
      return Tree.map(p, (w: NdArray, gw: NdArray) => NdArray.sub(w, NdArray.mul(gw, 2)), g) as Params
    }
    const step = jit(plain)
    const [k1] = Random.split(Random.key(0))
    let a: Params = { w: Random.normal(k1, [2, 1]), b: NdArray.zeros([1]) }
    let b = a
    for (let i = 0; i < 500; i++) {
      a = step(a, x, y)
      b = plain(b, x, y)
    }
    expect(a.w.toArray()).toEqual(b.w.toArray())
    expect(a.b.toArray()).toEqual(b.b.toArray())
    expect((predict(a, x).toArray() as Array<Array<number>>)[3][0]).toBeGreaterThan(0.75)
  })

  it("donateArgnums: the donating step trains to the same parameters; a donated array is deleted", () => {
    const loss = (p: Params, x: NdArray, y: NdArray) =>
      NdArray.mean(NdArray.square(NdArray.sub(NdArray.sigmoid(NdArray.add(NdArray.matmul(x, p.w), p.b)), y)))
    const plain = (p: Params, x: NdArray, y: NdArray): Params =>
      Tree.map(p, (w: NdArray, gw: NdArray) => NdArray.sub(w, NdArray.mul(gw, 2)), grad(loss)(p, x, y)) as Params
    const step = jit(plain, { donateArgnums: [0] })
    const x = NdArray.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    const y = NdArray.array([[0], [1], [1], [1]])
    const first: Params = { w: NdArray.array([[0.5], [-0.5]]), b: NdArray.zeros([1]) }
    const kept = NdArray.copy(first.w)
    let a = step(first, x, y)
    let b = plain({ w: kept, b: NdArray.zeros([1]) }, x, y)
    for (let i = 0; i < 100; i++) {
      a = step(a, x, y)
      b = plain(b, x, y)
    }
    expect(a.w.toArray()).toEqual(b.w.toArray())
    expect(() => first.w.toArray()).toThrow(expect.objectContaining({ _tag: "ValueError" }))
    expect(kept.toArray()).toEqual([[0.5], [-0.5]])
  })

  it("checkGrads example", () => {
    const f = (x: NdArray) => NdArray.sum(NdArray.tanh(NdArray.mul(x, x)))
    expect(() => checkGrads(f, [NdArray.array([0.1, -2, 3], { dtype: "float64" })], { order: 2, modes: ["fwd", "rev"] })).not.toThrow()
  })
})
