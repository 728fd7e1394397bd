/**
 * Immutability: one property over a table of every public op (and the
 * transforms): applying it leaves its inputs' values and underlying buffers
 * unchanged, including when the inputs are views sharing a buffer. And
 * `array(typedArray)` copies, so later writes to the caller's buffer never
 * show through.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import * as Random from "../src/Random.js"
import { grad, jvp, vjp, vmap } from "../src/transforms/api.js"
import { jit } from "../src/transforms/jit.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

/** Every op of the public API, applied to inputs `x` [2, 3, 4] float (values in (0.1, 2)) and `y` of the same shape. */
const ops: Record<string, (x: NdArray, y: NdArray) => unknown> = {
  add: (x, y) => NdArray.add(x, y),
  sub: (x, y) => NdArray.sub(x, y),
  mul: (x, y) => NdArray.mul(x, y),
  div: (x, y) => NdArray.div(x, y),
  pow: (x, y) => NdArray.pow(x, y),
  maximum: (x, y) => NdArray.maximum(x, y),
  minimum: (x, y) => NdArray.minimum(x, y),
  mod: (x, y) => NdArray.mod(x, y),
  atan2: (x, y) => NdArray.atan2(x, y),
  neg: (x) => NdArray.neg(x),
  abs: (x) => NdArray.abs(x),
  sign: (x) => NdArray.sign(x),
  square: (x) => NdArray.square(x),
  exp: (x) => NdArray.exp(x),
  log: (x) => NdArray.log(x),
  log1p: (x) => NdArray.log1p(x),
  expm1: (x) => NdArray.expm1(x),
  sqrt: (x) => NdArray.sqrt(x),
  reciprocal: (x) => NdArray.reciprocal(x),
  sin: (x) => NdArray.sin(x),
  cos: (x) => NdArray.cos(x),
  tan: (x) => NdArray.tan(x),
  atan: (x) => NdArray.atan(x),
  tanh: (x) => NdArray.tanh(x),
  sigmoid: (x) => NdArray.sigmoid(x),
  erf: (x) => NdArray.erf(x),
  floor: (x) => NdArray.floor(x),
  ceil: (x) => NdArray.ceil(x),
  round: (x) => NdArray.round(x),
  clip: (x, y) => NdArray.clip(x, 0.5, y),
  where: (x, y) => NdArray.where(NdArray.greater(x, y), x, y),
  equal: (x, y) => NdArray.equal(x, y),
  notEqual: (x, y) => NdArray.notEqual(x, y),
  less: (x, y) => NdArray.less(x, y),
  lessEqual: (x, y) => NdArray.lessEqual(x, y),
  greater: (x, y) => NdArray.greater(x, y),
  greaterEqual: (x, y) => NdArray.greaterEqual(x, y),
  logicalAnd: (x, y) => NdArray.logicalAnd(x, y),
  logicalOr: (x, y) => NdArray.logicalOr(x, y),
  logicalXor: (x, y) => NdArray.logicalXor(x, y),
  logicalNot: (x) => NdArray.logicalNot(x),
  isNan: (x) => NdArray.isNan(x),
  isFinite: (x) => NdArray.isFinite(x),
  astype: (x) => NdArray.astype(x, "int32"),
  stopGradient: (x) => NdArray.stopGradient(x),
  sum: (x) => NdArray.sum(x, { axis: 1 }),
  mean: (x) => NdArray.mean(x, { axis: [0, 2], keepDims: true }),
  prod: (x) => NdArray.prod(x),
  max: (x) => NdArray.max(x, { axis: -1 }),
  min: (x) => NdArray.min(x),
  argmax: (x) => NdArray.argmax(x, { axis: 1 }),
  argmin: (x) => NdArray.argmin(x),
  logsumexp: (x) => NdArray.logsumexp(x, { axis: 2 }),
  variance: (x) => NdArray.variance(x, { ddof: 1 }),
  std: (x) => NdArray.std(x, { axis: 0 }),
  any: (x) => NdArray.any(x),
  all: (x) => NdArray.all(x, { axis: 0 }),
  reshape: (x) => NdArray.reshape(x, [6, 4]),
  ravel: (x) => NdArray.ravel(x),
  transpose: (x) => NdArray.transpose(x),
  swapAxes: (x) => NdArray.swapAxes(x, 0, 2),
  moveAxis: (x) => NdArray.moveAxis(x, 0, -1),
  expandDims: (x) => NdArray.expandDims(x, 1),
  squeeze: (x) => NdArray.squeeze(NdArray.expandDims(x, 0)),
  broadcastTo: (x) => NdArray.broadcastTo(x, [2, 2, 3, 4]),
  concatenate: (x, y) => NdArray.concatenate([x, y], 1),
  stack: (x, y) => NdArray.stack([x, y], -1),
  split: (x) => NdArray.split(x, 2, 2),
  slice: (x) => NdArray.slice(x, [1, [null, null, -1]]),
  take: (x) => NdArray.take(x, [2, 0], { axis: 1 }),
  takeAlongAxis: (x) => NdArray.takeAlongAxis(x, NdArray.argmax(x, { axis: 2, keepDims: true }), 2),
  pad: (x) => NdArray.pad(x, 1, { value: 3 }),
  flip: (x) => NdArray.flip(x, [0, 2]),
  oneHot: (x) => NdArray.oneHot(NdArray.astype(x, "int32"), 3),
  matmul: (x, y) => NdArray.matmul(x, NdArray.transpose(y, [0, 2, 1])),
  dot: (x, y) => NdArray.dot(NdArray.ravel(x), NdArray.ravel(y)),
  outer: (x, y) => NdArray.outer(x, y),
  conv2d: (x, y) => NdArray.conv2d(NdArray.expandDims(x, 0), NdArray.reshape(NdArray.slice(y, [null, [0, 2], [0, 2]]), [2, 2, 2, 1]), { padding: "same" }),
  maxPool2d: (x) => NdArray.maxPool2d(x, { kernelSize: 2 }),
  avgPool2d: (x) => NdArray.avgPool2d(x, { kernelSize: 2, stride: 1, padding: 1 }),
  softmax: (x) => NdArray.softmax(x),
  logSoftmax: (x) => NdArray.logSoftmax(x, { axis: 0 }),
  grad: (x, y) => grad((a: NdArray, b: NdArray) => NdArray.sum(NdArray.mul(NdArray.sin(a), b)))(x, y),
  vjp: (x, y) => vjp((a: NdArray) => NdArray.tanh(a), x)[1](y),
  jvp: (x, y) => jvp((a: NdArray) => NdArray.exp(a), [x], [y]),
  vmap: (x, y) => vmap((a: NdArray, b: NdArray) => NdArray.matmul(a, NdArray.transpose(b)))(x, y)
}

/** Everything observable about an array and its storage. */
const snapshot = (x: NdArray) => ({
  values: x.toArray(),
  buffer: Array.from((x as unknown as { buffer: ArrayLike<number> }).buffer),
  shape: [...x.shape],
  dtype: x.dtype
})

const inputArb = fc
  .tuple(
    fc.array(fc.double({ min: 0.1, max: 2, noNaN: true }), { minLength: 24, maxLength: 24 }),
    fc.array(fc.double({ min: 0.1, max: 2, noNaN: true }), { minLength: 24, maxLength: 24 }),
    fc.constantFrom("float32", "float64") as fc.Arbitrary<"float32" | "float64">,
    fc.boolean()
  )
  .map(([a, b, dtype, asViews]) => {
    if (!asViews) return [NdArray.array(a, { shape: [2, 3, 4], dtype }), NdArray.array(b, { shape: [2, 3, 4], dtype })] as const
    // two views into one buffer: a transposed one and a reversed one
    const base = NdArray.array([...a, ...b], { shape: [2, 4, 3, 2], dtype })
    const x = NdArray.transpose(NdArray.slice(base, [null, null, null, 0]), [0, 2, 1])
    const y = NdArray.flip(NdArray.transpose(NdArray.slice(base, [null, null, null, 1]), [0, 2, 1]), 1)
    return [x, y] as const
  })

describe("immutability", () => {
  it("the table covers the elementwise, reduction, shape, product and transform APIs", () => {
    expect(Object.keys(ops).length).toBeGreaterThanOrEqual(80)
    expect(sizeOf([2, 3, 4])).toBe(24)
  })

  it("every op leaves its inputs (values and buffers) unchanged", () =>
    fc.assert(
      fc.property(inputArb, ([x, y]) => {
        const before = [snapshot(x), snapshot(y)]
        for (const [name, op] of Object.entries(ops)) {
          op(x, y)
          const after = [snapshot(x), snapshot(y)]
          if (JSON.stringify(after) !== JSON.stringify(before)) expect.fail(`${name} changed its input`)
        }
      }),
      { numRuns: 8 }
    ))

  it("arrays are frozen objects; their shapes are readonly", () => {
    const x = NdArray.array([1, 2, 3])
    expect(Object.isFrozen(x)).toBe(true)
    expect(() => {
      ;(x as any).buffer = new Float32Array(3)
    }).toThrow()
    // shapes are ReadonlyArray (not frozen: V8 reads frozen arrays' elements several times slower); tsc rejects a write
    const typeCheckOnly = () => {
      // @ts-expect-error a shape is readonly
      x.shape[0] = 5
    }
    expect(typeof typeCheckOnly).toBe("function")
  })

  it("an array never shares the shape list it was made with: changing that list later changes nothing", () => {
    const x = NdArray.arange(6, { dtype: "float32" })
    const key = Random.key(0)
    const makers: Record<string, (shape: Array<number>) => NdArray> = {
      reshape: (s) => NdArray.reshape(x, s),
      "reshape of a transposed view": (s) => NdArray.reshape(NdArray.transpose(NdArray.reshape(x, [3, 2])), s),
      broadcastTo: (s) => NdArray.broadcastTo(NdArray.reshape(x, [1, 6]), s),
      zeros: (s) => NdArray.zeros(s),
      full: (s) => NdArray.full(s, 7),
      "array with a shape": (s) => NdArray.array([0, 1, 2, 3, 4, 5], { shape: s }),
      "Random.normal": (s) => Random.normal(key, s),
      "jit(reshape)": (s) => jit((y: NdArray) => NdArray.reshape(y, s))(x)
    }
    for (const [name, make] of Object.entries(makers)) {
      const shape = name === "broadcastTo" ? [2, 6] : [2, 3]
      const y = make(shape)
      const before = { shape: [...y.shape], values: JSON.stringify(y.toArray()) }
      shape[0] = 1
      shape.push(99)
      expect([...y.shape], name).toEqual(before.shape)
      expect(JSON.stringify(y.toArray()), name).toBe(before.values)
      if (name === "jit(reshape)") {
        // the compiled program keeps the shape it was traced with
        expect([...make([2, 3]).shape], name).toEqual([2, 3])
      }
    }
  })

  it("a jitted function keeps the shape lists it was traced with (as JAX bakes in trace-time values)", () => {
    const x = NdArray.arange(6, { dtype: "float32" })
    const key = Random.key(1)
    // the key is an argument, so the draws are staged, not drawn while tracing
    const cases: Record<string, (s: Array<number>) => (y: NdArray, k: NdArray) => NdArray> = {
      reshape: (s) => (y) => NdArray.sum(NdArray.reshape(y, s), { axis: 0 }),
      broadcastTo: (s) => (y) => NdArray.sum(NdArray.broadcastTo(NdArray.reshape(y, [1, 6]), s)),
      "Random.normal": (s) => (y, k) => NdArray.add(NdArray.sum(Random.normal(k, s)), NdArray.sum(y)),
      "Random.uniform": (s) => (y, k) => NdArray.add(NdArray.sum(Random.uniform(k, s)), NdArray.sum(y)),
      "Random.bernoulli": (s) => (y, k) => NdArray.add(NdArray.sum(NdArray.astype(Random.bernoulli(k, 0.5, s), "float32")), NdArray.sum(y))
    }
    for (const [name, body] of Object.entries(cases)) {
      const shape = name === "broadcastTo" ? [2, 6] : [2, 3]
      const f = jit(body(shape))
      const first = JSON.stringify(f(x, key).toArray())
      shape[0] += 1 // a different size: a program that read the list again would compute something else
      let again: string
      try {
        again = JSON.stringify(f(x, key).toArray())
      } catch (e) {
        again = String(e)
      }
      expect(again, name).toBe(first)
    }
  })

  it("array(typedArray) copies: writing to the caller's buffer later does not change the array", () =>
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom("f32", "f64", "i32", "u8"),
        (values, kind) => {
          const typed =
            kind === "f32" ? new Float32Array(values) : kind === "f64" ? new Float64Array(values) : kind === "i32" ? new Int32Array(values) : new Uint8Array(values.map((v) => (v > 0 ? 1 : 0)))
          const x = NdArray.array(typed, kind === "u8" ? { dtype: "bool" } : {})
          const before = x.toArray()
          typed.fill(77)
          expect(x.toArray()).toEqual(before)
        }
      ),
      { numRuns: 25 }
    ))

  it("array(nested) copies too: later changes to the nested JS arrays do not show through", () => {
    const nested = [
      [1, 2],
      [3, 4]
    ]
    const x = NdArray.array(nested)
    nested[0][0] = 100
    expect(x.toArray()).toEqual([
      [1, 2],
      [3, 4]
    ])
  })

  it("data() and toArray() of a view are copies", () => {
    const base = NdArray.array([1, 2, 3, 4], { shape: [2, 2] })
    const view = NdArray.transpose(base)
    const d = view.data()
    d.fill(0)
    ;(view.toArray() as Array<Array<number>>)[0][0] = 9
    expect(view.toArray()).toEqual([
      [1, 3],
      [2, 4]
    ])
    expect(base.toArray()).toEqual([
      [1, 2],
      [3, 4]
    ])
  })
})
