/**
 * `jit`: the compiled program computes what the function computes (with
 * transforms inside it and around it), traces once per signature, keeps
 * JAX's semantics for closed-over arrays and static arguments, and fails
 * with a clear error when the function reads a traced value.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import * as Random from "../src/Random.js"
import { TransformError } from "../src/Errors.js"
import * as Tree from "../src/Tree.js"
import { grad, jvp, makeJaxpr, valueAndGrad, vmap } from "../src/transforms/api.js"
import { pureCallback } from "../src/transforms/callback.js"
import { compileJaxpr, jit } from "../src/transforms/jit.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const flat = (x: NdArray) => Array.from(x.data(), Number)
const f64 = (x: NdArray.NestedArray) => NdArray.array(x, { dtype: "float64" })

const valuesArb = (n: number) => fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n })

interface Params {
  readonly w: NdArray
  readonly b: NdArray
}

const loss = (p: Params, x: NdArray, y: NdArray): NdArray => {
  const h = NdArray.tanh(NdArray.add(NdArray.matmul(x, p.w), p.b))
  const d = NdArray.sub(NdArray.logSoftmax(h, { axis: -1 }), y)
  return NdArray.mean(NdArray.mul(d, d))
}

const setup = (v: ReadonlyArray<number>) => {
  const w = NdArray.reshape(f64(v.slice(0, 12) as Array<number>), [4, 3])
  const b = f64(v.slice(12, 15) as Array<number>)
  const x = NdArray.reshape(f64(v.slice(15, 23) as Array<number>), [2, 4])
  const y = NdArray.reshape(f64(v.slice(23, 29) as Array<number>), [2, 3])
  return { p: { w, b }, x, y }
}

const expectSame = (got: unknown, want: unknown) => {
  const [g, gd] = Tree.flatten(got)
  const [w, wd] = Tree.flatten(want)
  expect(Tree.sameStructure(gd, wd)).toBe(true)
  g.forEach((leaf, i) => {
    const a = leaf as NdArray
    const b = w[i] as NdArray
    expect(a.shape).toEqual(b.shape)
    expect(a.dtype).toBe(b.dtype)
    expect(flat(a)).toEqual(flat(b)) // same kernels in the same order: bit-identical
  })
}

describe("jit", () => {
  it("a jitted valueAndGrad equals the eager one on random inputs (bit for bit)", () => {
    const eager = valueAndGrad(loss)
    const compiled = jit(valueAndGrad(loss))
    fc.assert(
      fc.property(valuesArb(29), (v) => {
        const { p, x, y } = setup(v)
        expectSame(compiled(p, x, y), eager(p, x, y))
      }),
      { numRuns: 30 }
    )
  })

  it("traces once per signature: same shapes replay, a new shape or dtype retraces", () => {
    let traces = 0
    const f = jit((x: NdArray, y: NdArray) => {
      traces++
      return NdArray.add(NdArray.mul(x, y), 1)
    })
    const a = NdArray.array([1, 2, 3])
    const b = NdArray.array([4, 5, 6])
    expect(flat(f(a, b))).toEqual([5, 11, 19])
    expect(flat(f(b, a))).toEqual([5, 11, 19])
    expect(flat(f(NdArray.array([0, 1, 2]), b))).toEqual([1, 6, 13])
    expect(traces).toBe(1)
    expect(flat(f(NdArray.array([1, 2]), NdArray.array([3, 4])))).toEqual([4, 9])
    expect(traces).toBe(2)
    expect(f(f64([1, 2, 3]), f64([1, 1, 1])).dtype).toBe("float64")
    expect(traces).toBe(3)
    f(a, b)
    expect(traces).toBe(3)
  })

  it("pytrees in and out keep their structure; number arguments are traced scalars", () => {
    const f = jit((p: { a: NdArray; b: [NdArray, NdArray] }, s: number) => ({ sum: NdArray.add(p.a, p.b[0]), scaled: [NdArray.mul(p.b[1], s)] }))
    const out = f({ a: NdArray.array([1, 2]), b: [NdArray.array([3, 4]), NdArray.array([5, 6])] }, 2)
    expect(flat(out.sum)).toEqual([4, 6])
    expect(flat(out.scaled[0])).toEqual([10, 12])
    const again = f({ a: NdArray.array([1, 2]), b: [NdArray.array([3, 4]), NdArray.array([5, 6])] }, 3)
    expect(flat(again.scaled[0])).toEqual([15, 18])
  })

  it("static arguments select the program and may be branched on", () => {
    let traces = 0
    const f = jit(
      (x: NdArray, mode: { readonly square: boolean }) => {
        traces++
        return mode.square ? NdArray.mul(x, x) : NdArray.neg(x)
      },
      { staticArgnums: [1] }
    )
    const x = NdArray.array([2, -3])
    expect(flat(f(x, { square: true }))).toEqual([4, 9])
    expect(flat(f(x, { square: false }))).toEqual([-2, 3])
    expect(flat(f(x, { square: true }))).toEqual([4, 9])
    expect(traces).toBe(2)
  })

  it("reading a traced value fails with a hint about staticArgnums", () => {
    const f = jit((x: NdArray) => (x.item() > 0 ? x : NdArray.neg(x)))
    expect(() => f(NdArray.array(1))).toThrow(TransformError)
    expect(() => f(NdArray.array(1))).toThrow(/staticArgnums/)
  })

  it("closed-over arrays are read when the function is traced (JAX's semantics)", () => {
    let scale = NdArray.array([2])
    const f = jit((x: NdArray) => NdArray.mul(x, scale))
    expect(flat(f(NdArray.array([3])))).toEqual([6])
    scale = NdArray.array([10])
    expect(flat(f(NdArray.array([3])))).toEqual([6])
  })

  it("constant and pass-through outputs, and inputs left untouched", () => {
    const f = jit((x: NdArray) => [x, NdArray.ones([2]), NdArray.reshape(x, [3, 1])])
    const x = NdArray.array([1, 2, 3])
    const before = flat(x)
    const [same, one, col] = f(x)
    expect(flat(same)).toEqual(before)
    expect(flat(one)).toEqual([1, 1])
    expect(col.shape).toEqual([3, 1])
    expect(flat(x)).toEqual(before)
  })

  it("composes: grad, jvp and vmap of a jitted function equal those of the function", () => {
    const f = (x: NdArray) => NdArray.sum(NdArray.mul(NdArray.sin(x), NdArray.exp(NdArray.mul(x, 0.3))))
    const jf = jit(f)
    fc.assert(
      fc.property(valuesArb(5), (v) => {
        const x = f64(v)
        expectSame(grad(jf)(x), grad(f)(x))
        expectSame(jvp(jf, [x], [NdArray.onesLike(x)]), jvp(f, [x], [NdArray.onesLike(x)]))
        const xs = NdArray.reshape(f64([...v, ...v.map((a) => a / 2)]), [2, 5])
        expectSame(vmap(jf)(xs), vmap(f)(xs))
        expectSame(jit(grad(jf))(x), grad(f)(x))
        expectSame(jit(vmap(grad(f)))(xs), vmap(grad(f))(xs))
      }),
      { numRuns: 20 }
    )
  })

  it("the compiled program of grad contains only the primitives the transforms emitted", () => {
    const f = (x: NdArray) => NdArray.sum(NdArray.mul(NdArray.sin(x), x))
    const text = makeJaxpr(grad(f))(NdArray.array([1, 2, 3])).toString()
    expect(text).toContain("cos")
    expect(text).not.toContain("reduce_sum") // the forward sum is dead code for grad; only its transpose remains
    expect(flat(jit(grad(f))(NdArray.array([1, 2, 3])))).toEqual(flat(grad(f)(NdArray.array([1, 2, 3]))))
  })

  it("a typed error from a kernel's shape check surfaces at trace time", () => {
    const f = jit((a: NdArray, b: NdArray) => NdArray.matmul(a, b))
    expect(() => f(NdArray.zeros([2, 3]), NdArray.zeros([4, 5]))).toThrow(/\[2, 3\]|2,3|shape/)
  })

  describe("fusion of elementwise chains", () => {
    const chain = (x: NdArray, y: NdArray) => {
      const a = NdArray.sub(NdArray.mul(NdArray.sigmoid(x), y), NdArray.exp(NdArray.div(x, 3)))
      const i = NdArray.add(NdArray.astype(NdArray.mul(a, 1000), "int32"), 2147483000) // wraps around in int32
      const b = NdArray.where(NdArray.greater(a, 0), NdArray.sqrt(NdArray.abs(a)), NdArray.square(a))
      return [b, NdArray.mul(i, i), NdArray.logicalAnd(NdArray.greater(x, 0), NdArray.less(y, 0.5))]
    }

    it("a fused loop gives bit-identical float32, int32 and bool results", () => {
      const compiled = jit(chain)
      fc.assert(
        fc.property(valuesArb(12), valuesArb(12), (u, v) => {
          const x = NdArray.reshape(NdArray.array(u), [3, 4])
          const y = NdArray.array(v.slice(0, 4)) // broadcast over rows
          expectSame(compiled(x, y), chain(x, y))
        }),
        { numRuns: 50 }
      )
    })

    it("chains become single loops, values read twice or returned stay in buffers", () => {
      const x = NdArray.zeros([3, 4])
      const y = NdArray.zeros([4])
      const { jaxpr, consts } = makeJaxpr(chain)(x, y)
      const fused = compileJaxpr(jaxpr, consts)
      const plain = compileJaxpr(jaxpr, consts, { fuse: false })
      expect(plain.steps.every((s) => s.kind === "kernel")).toBe(true)
      expect(fused.steps.length).toBeLessThan(plain.steps.length - 5)
      const loops = fused.steps.filter((s) => s.kind === "fused")
      expect(loops.length).toBeGreaterThan(0)
      expect(Math.max(...loops.map((s) => (s.kind === "fused" ? s.size : 0)))).toBeGreaterThanOrEqual(4) // sigmoid·y − exp(x/3) in one loop
      // each step frees what it read last; the outputs are never freed
      const freed = fused.steps.flatMap((s) => s.release)
      for (const o of fused.outSlots) expect(freed).not.toContain(o)
      expect(new Set(freed).size).toBe(freed.length)
    })
  })

  describe("random numbers inside jit and vmap", () => {
    const noisy = (k: NdArray, x: NdArray) => {
      const [k1, k2] = Random.split(k)
      const keep = Random.bernoulli(Random.foldIn(k1, 3), 0.5, x.shape)
      return NdArray.add(NdArray.where(keep, x, 0), Random.normal(k2, x.shape, { std: 0.1 }))
    }

    it("a jitted function draws exactly what the eager one draws from the same key", () => {
      const compiled = jit(noisy)
      const x = NdArray.reshape(NdArray.arange(12, { dtype: "float32" }), [3, 4])
      for (const seed of [0, 1, 42]) expectSame(compiled(Random.key(seed), x), noisy(Random.key(seed), x))
      // a different key gives different numbers (the key is an argument, not a baked-in constant)
      expect(flat(compiled(Random.key(0), x))).not.toEqual(flat(compiled(Random.key(1), x)))
    })

    it("vmap over a batch of keys equals a loop over the keys", () => {
      const keys = NdArray.stack(Random.split(Random.key(7), 4))
      const batched = vmap((k: NdArray) => Random.uniform(k, [3]))(keys)
      expect(batched.shape).toEqual([4, 3])
      const rows = Random.split(Random.key(7), 4).map((k) => flat(Random.uniform(k, [3])))
      expect(flat(batched)).toEqual(rows.flat())
      expectSame(jit(vmap((k: NdArray) => Random.split(k)[1]))(keys), NdArray.stack(Random.split(Random.key(7), 4).map((k) => Random.split(k)[1])))
    })

    it("gradients flow through the values a random mask selects, not through the key", () => {
      const f = (x: NdArray, k: NdArray) => NdArray.sum(NdArray.where(Random.bernoulli(k, 0.5, x.shape), NdArray.mul(x, x), 0))
      const x = f64([1, 2, 3, 4, 5, 6])
      const mask = flat(Random.bernoulli(Random.key(3), 0.5, [6]))
      expect(flat(jit(grad(f))(x, Random.key(3)))).toEqual(flat(x).map((v, i) => (mask[i] ? 2 * v : 0)))
    })
  })

  describe("pureCallback", () => {
    const square = (x: NdArray) => pureCallback((v) => NdArray.array(flat(v).map((a) => a * a), { dtype: "float64" }), { shape: x.shape, dtype: "float64" }, x)

    it("runs on concrete values, is called on every run of a jitted program, and once per example under vmap", () => {
      let calls = 0
      const counted = (x: NdArray) =>
        pureCallback((v) => {
          calls++
          return NdArray.scalar(v.item() * 10, { dtype: "float64" })
        }, { shape: [], dtype: "float64" }, x)
      expect(counted(f64(2)).item()).toBe(20)
      const f = jit((x: NdArray) => NdArray.add(counted(x), 1))
      expect(f(f64(1)).item()).toBe(11)
      expect(f(f64(3)).item()).toBe(31)
      expect(calls).toBe(3)
      expect(flat(vmap(counted)(f64([1, 2, 3])))).toEqual([10, 20, 30])
      expect(calls).toBe(6)
      expect(flat(jit(square)(f64([1, 2, 3])))).toEqual([1, 4, 9])
    })

    it("a result of the wrong shape is a ShapeError; differentiating it is a TransformError", () => {
      const wrong = (x: NdArray) => pureCallback(() => NdArray.zeros([3], { dtype: "float64" }), { shape: [2], dtype: "float64" }, x)
      expect(() => wrong(f64([1, 2]))).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
      expect(() => grad((x: NdArray) => NdArray.sum(square(x)))(f64([1, 2]))).toThrow(/not differentiable/)
    })
  })

  describe("buffer reuse between and within runs", () => {
    it("never touches what the caller holds: earlier outputs, inputs, views of intermediates, callback results", () => {
      const memo = NdArray.ones([64, 100]) // a user's array a callback hands back
      const f = jit((x: NdArray) => {
        const a = NdArray.mul(NdArray.exp(x), 2) // an intermediate (recyclable)
        const b = NdArray.matmul(NdArray.transpose(a), a) // another one
        const c = pureCallback(() => memo, { shape: [64, 100], dtype: "float32" }, x)
        return [NdArray.add(NdArray.sum(b, { axis: 0 }), 1), NdArray.reshape(NdArray.add(a, c), [100, 64]), NdArray.transpose(b)]
      })
      const eager = (x: NdArray) => {
        const a = NdArray.mul(NdArray.exp(x), 2)
        const b = NdArray.matmul(NdArray.transpose(a), a)
        return [NdArray.add(NdArray.sum(b, { axis: 0 }), 1), NdArray.reshape(NdArray.add(a, memo), [100, 64]), NdArray.transpose(b)]
      }
      const inputs = [0, 1, 2, 3, 4, 5].map((k) => NdArray.reshape(NdArray.mul(NdArray.sin(NdArray.arange(6400, { dtype: "float32" })), 0.1 * k), [64, 100]))
      const before = inputs.map(flat)
      const outputs = inputs.map((x) => f(x))
      outputs.forEach((out, k) => expectSame(out, eager(inputs[k])))
      inputs.forEach((x, k) => expect(flat(x)).toEqual(before[k]))
      expect(flat(memo).every((v) => v === 1)).toBe(true)
    })
  })
})
