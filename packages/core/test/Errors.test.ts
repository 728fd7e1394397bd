/**
 * Typed errors: every way an array op can be misused throws the right tagged
 * error class, carrying structured fields, with a message that names the op
 * and the offending shapes / axes / dtypes; `arrayEffect` fails (does not
 * throw) with the same errors, so Effect code can catch them by tag.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NdArray from "../src/NdArray.js"
import { AxisError, DTypeError, ShapeError, TransformError, ValueError } from "../src/Errors.js"

const thrown = (f: () => unknown): any => {
  try {
    f()
  } catch (e) {
    return e
  }
  return expect.fail("expected the call to throw")
}

describe("shape errors", () => {
  it("mismatched shapes in a binary op: ShapeError naming the op and both shapes", () => {
    const e = thrown(() => NdArray.mul(NdArray.zeros([2, 3]), NdArray.zeros([4, 3])))
    expect(e).toBeInstanceOf(ShapeError)
    expect(e._tag).toBe("ShapeError")
    expect(e.op).toBe("mul")
    expect(e.shapes).toEqual([
      [2, 3],
      [4, 3]
    ])
    expect(e.message).toMatch(/^mul: /)
    expect(e.message).toContain("[2, 3]")
    expect(e.message).toContain("[4, 3]")
  })

  it("reshape to an incompatible size: ShapeError naming both shapes and the size", () => {
    const e = thrown(() => NdArray.reshape(NdArray.zeros([2, 3]), [4, 2]))
    expect(e._tag).toBe("ShapeError")
    expect(e.message).toContain("reshape")
    expect(e.message).toContain("[2, 3]")
    expect(e.message).toContain("[4, 2]")
    expect(e.message).toContain("6")
    expect(thrown(() => NdArray.reshape(NdArray.zeros([5]), [-1, 2]))._tag).toBe("ShapeError")
    expect(thrown(() => NdArray.reshape(NdArray.zeros([4]), [-1, -1]))._tag).toBe("ShapeError")
  })

  it("matmul inner-dimension mismatch: ShapeError naming both shapes and the two dimensions", () => {
    for (const [a, b] of [
      [
        [2, 3],
        [4, 5]
      ],
      [
        [7, 2, 3],
        [4, 5]
      ],
      [[3], [4]],
      [
        [2, 3],
        [2, 2, 5]
      ]
    ]) {
      const e = thrown(() => NdArray.matmul(NdArray.zeros(a), NdArray.zeros(b)))
      expect(e._tag).toBe("ShapeError")
      expect(e.message).toContain("matmul")
      expect(e.message).toMatch(new RegExp(`${a[a.length - 1]}.*${b.length === 1 ? b[0] : b[b.length - 2]}`))
    }
    expect(thrown(() => NdArray.matmul(NdArray.scalar(2), NdArray.zeros([2])))._tag).toBe("ShapeError")
  })

  it("ragged nested arrays: ShapeError naming the element", () => {
    const e = thrown(() => NdArray.array([[1, 2], [3]]))
    expect(e._tag).toBe("ShapeError")
    expect(e.message).toContain("array")
    expect(e.message).toContain("ragged")
    expect(e.message).toContain("[1]")
    expect(thrown(() => NdArray.array([[1, 2], 3] as any))._tag).toBe("ShapeError")
    expect(thrown(() => NdArray.array([1, [2]] as any))._tag).toBe("ShapeError")
    expect(thrown(() => NdArray.array([[[1], [2]], [[3], [4, 5]]]))._tag).toBe("ShapeError")
  })

  it("a typed array that does not fill the shape; a bad shape", () => {
    expect(thrown(() => NdArray.array(new Float32Array(5), { shape: [2, 3] }))._tag).toBe("ShapeError")
    expect(thrown(() => NdArray.zeros([2, -1]))._tag).toBe("ShapeError")
    expect(thrown(() => NdArray.full([1.5], 0))._tag).toBe("ShapeError")
  })
})

describe("axis errors", () => {
  it("an axis out of range: AxisError naming the op, the axis, the ndim and the valid range", () => {
    const e = thrown(() => NdArray.sum(NdArray.zeros([2, 3]), { axis: 2 }))
    expect(e).toBeInstanceOf(AxisError)
    expect(e._tag).toBe("AxisError")
    expect(e.op).toBe("sum")
    expect(e.axis).toBe(2)
    expect(e.ndim).toBe(2)
    expect(e.message).toContain("sum")
    expect(e.message).toContain("axis 2")
    expect(e.message).toContain("ndim 2")
    expect(e.message).toContain("-2..1")
  })

  it("every axis-taking op checks its axis (negative too)", () => {
    const x = NdArray.zeros([2, 3])
    for (const [op, f] of [
      ["max", () => NdArray.max(x, { axis: -3 })],
      ["argmax", () => NdArray.argmax(x, { axis: 2 })],
      ["transpose", () => NdArray.transpose(x, [0, 2])],
      ["expandDims", () => NdArray.expandDims(x, 3)],
      ["concatenate", () => NdArray.concatenate([x, x], 2)],
      ["stack", () => NdArray.stack([x, x], -4)],
      ["flip", () => NdArray.flip(x, 5)],
      ["swapAxes", () => NdArray.swapAxes(x, 0, 2)],
      ["moveAxis", () => NdArray.moveAxis(x, -3, 0)],
      ["take", () => NdArray.take(x, [0], { axis: 2 })],
      ["softmax", () => NdArray.softmax(x, { axis: 2 })],
      ["split", () => NdArray.split(x, 1, 2)],
      ["var", () => NdArray.variance(x, { axis: 9 })]
    ] as const) {
      const e = thrown(f)
      expect(e._tag, op).toBe("AxisError")
      expect(e.message, op).toContain(op)
    }
  })

  it("a repeated axis is an AxisError saying so", () => {
    const e = thrown(() => NdArray.mean(NdArray.zeros([2, 3]), { axis: [1, -1] }))
    expect(e._tag).toBe("AxisError")
    expect(e.message).toContain("repeated")
  })
})

describe("dtype errors", () => {
  it("an unknown dtype: DTypeError naming the op, the dtype, and the valid ones", () => {
    for (const f of [
      () => NdArray.array([1, 2], { dtype: "int64" as any }),
      () => NdArray.zeros([2], { dtype: "float16" as any }),
      () => NdArray.astype(NdArray.zeros([2]), "uint8" as any),
      () => NdArray.full([2], 1, { dtype: "complex64" as any })
    ]) {
      const e = thrown(f)
      expect(e).toBeInstanceOf(DTypeError)
      expect(e._tag).toBe("DTypeError")
      expect(e.message).toContain("unknown dtype")
      expect(e.message).toContain("float32, float64, int32, bool")
    }
    expect(thrown(() => NdArray.astype(NdArray.zeros([2]), "uint8" as any)).message).toMatch(/^astype: .*uint8/)
  })

  it("non-numeric elements, boolean indices, bool arithmetic", () => {
    const e = thrown(() => NdArray.array([1, "a" as any]))
    expect(e._tag).toBe("DTypeError")
    expect(e.message).toContain("string")
    expect(thrown(() => NdArray.take(NdArray.zeros([3]), NdArray.array([true, false])))._tag).toBe("DTypeError")
    expect(thrown(() => NdArray.array(new Uint8Array(2)))._tag).toBe("DTypeError")
  })
})

describe("value errors", () => {
  it("bad arguments: arange step 0, linspace count, slice index, pad width, empty concatenate", () => {
    for (const f of [
      () => NdArray.arange(0, 5, 0),
      () => NdArray.linspace(0, 1, -1),
      () => NdArray.slice(NdArray.zeros([3]), [5]),
      () => NdArray.pad(NdArray.zeros([3]), -1),
      () => NdArray.concatenate([]),
      () => NdArray.take(NdArray.zeros([3]), [3])
    ]) {
      const e = thrown(f)
      expect(e).toBeInstanceOf(ValueError)
      expect(e._tag).toBe("ValueError")
    }
    expect(thrown(() => NdArray.take(NdArray.zeros([3]), [3])).message).toContain("index 3 is out of bounds")
  })

  it("errors are raised before any kernel runs: a transform sees them while tracing", () => {
    expect(thrown(() => NdArray.sum(NdArray.zeros([2]), { axis: 1 }))).toBeInstanceOf(AxisError)
    expect(new TransformError({ transform: "grad", hint: "x" }).message).toBe("grad: x")
  })
})

describe("arrayEffect fails (does not throw)", () => {
  it.effect("ragged input fails with a ShapeError", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(NdArray.arrayEffect([[1, 2], [3]]))
      assert.strictEqual(e._tag, "ShapeError")
      assert.include(e.message, "ragged")
    })
  )

  it.effect("an unknown dtype fails with a DTypeError", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(NdArray.arrayEffect([1, 2], { dtype: "int64" as any }))
      assert.strictEqual(e._tag, "DTypeError")
      assert.include(e.message, "int64")
    })
  )

  it.effect("non-numeric data and a non-array value fail with a DTypeError", () =>
    Effect.gen(function* () {
      const e1 = yield* Effect.flip(NdArray.arrayEffect(JSON.parse('[1, "2"]')))
      assert.strictEqual(e1._tag, "DTypeError")
      const e2 = yield* Effect.flip(NdArray.arrayEffect({ not: "an array" }))
      assert.strictEqual(e2._tag, "DTypeError")
    })
  )

  it.effect("an incompatible shape option fails with a ShapeError; errors are caught by tag", () =>
    Effect.gen(function* () {
      const recovered = yield* NdArray.arrayEffect([1, 2, 3], { shape: [2, 2] }).pipe(Effect.catchTag("ShapeError", () => Effect.succeed(NdArray.zeros([2, 2]))))
      assert.deepStrictEqual(recovered.shape, [2, 2])
    })
  )

  it.effect("valid data succeeds", () =>
    Effect.gen(function* () {
      const x = yield* NdArray.arrayEffect(JSON.parse("[[1, 2], [3, 4]]"), { dtype: "float64" })
      assert.deepStrictEqual(x.toArray(), [
        [1, 2],
        [3, 4]
      ])
      assert.strictEqual(x.dtype, "float64")
    })
  )
})

// JAX and NumPy take dtype, argnums and axis positionally (`jnp.ones((2,), jnp.float64)`, `jax.grad(f, 1)`,
// `jax.vmap(f, 0)`); here they go in an options object. Anything else in its place is a ValueError that
// shows the right call, never options with nothing set (float32 instead of float64, the gradient with
// respect to the wrong argument).
describe("an options argument that is not an object", () => {
  it("is a ValueError naming the right call, for constructors, ops, Random, Linalg, the transforms and checkGrads", async () => {
    const { grad, valueAndGrad, vmap, jacfwd, jacrev, hessian, jit, checkGrads, Random, Linalg } = await import("../src/index.js")
    const x = NdArray.reshape(NdArray.arange(6, { dtype: "float32" }), [2, 3])
    const w = NdArray.ones([1, 2, 1, 1])
    const f = (a: any) => NdArray.sum(a)
    const key = Random.key(0)
    const bad: any = "float64"
    const cases: ReadonlyArray<[string, () => unknown, string]> = [
      ["array", () => NdArray.array([1, 2], bad), "array(data, { dtype"],
      ["full", () => NdArray.full([2], 1, bad), "full([2, 3], 7, { dtype"],
      ["zeros", () => NdArray.zeros([2], bad), "zeros([2, 3], { dtype"],
      ["ones", () => NdArray.ones([2], bad), "ones([2, 3], { dtype"],
      ["zerosLike", () => NdArray.zerosLike(x, bad), "zerosLike(x, { dtype"],
      ["onesLike", () => NdArray.onesLike(x, bad), "onesLike(x, { dtype"],
      ["fullLike", () => NdArray.fullLike(x, 1, bad), "fullLike(x, 7, { dtype"],
      ["arange", () => NdArray.arange(0, 3, 1, bad), "arange(0, 1, 0.1, { dtype"],
      ["linspace", () => NdArray.linspace(0, 1, 5, bad), "linspace(0, 1, 11, { dtype"],
      ["eye", () => NdArray.eye(3, bad), "eye(3, { dtype"],
      ["scalar", () => NdArray.scalar(2, bad), "scalar(2, { dtype"],
      ["pad", () => NdArray.pad(x, 1, 5 as any), "pad(x, 1, { value"],
      ["oneHot", () => NdArray.oneHot([0, 1], 3, bad), "oneHot(labels, 10, { dtype"],
      ["conv2d", () => NdArray.conv2d(NdArray.ones([1, 2, 4, 4]), w, 2 as any), "conv2d(x, w, { stride"],
      ["Random.uniform", () => Random.uniform(key, [2], bad), "Random.uniform(key, [2, 3], { min"],
      ["Random.normal", () => Random.normal(key, [2], bad), "Random.normal(key, [2, 3], { std"],
      ["Random.truncatedNormal", () => Random.truncatedNormal(key, [2], bad), "Random.truncatedNormal(key, [2, 3], { lower"],
      ["norm", () => Linalg.norm(x, 1 as any), "norm(x, { axis: -1 })"],
      ["grad", () => grad(f, 1 as any), "grad(f, { argnums: 1 })"],
      ["valueAndGrad", () => valueAndGrad(f, 1 as any), "valueAndGrad(f, { argnums: 1 })"],
      ["vmap", () => vmap(f, [0] as any), "vmap(f, { inAxes: [0, null] })"],
      ["jacfwd", () => jacfwd(f, 1 as any), "jacfwd(f, { argnums: 1 })"],
      ["jacrev", () => jacrev(f, 1 as any), "jacrev(f, { argnums: 1 })"],
      ["hessian", () => hessian(f, 1 as any), "hessian(f, { argnums: 1 })"],
      ["jit", () => jit(f, 1 as any), "jit(f, { staticArgnums"],
      ["checkGrads", () => checkGrads(f, [x], 1e-3 as any), "checkGrads(f, [x], { modes"]
    ]
    for (const [op, call, example] of cases) {
      expect(call, op).toThrow(ValueError)
      expect(call, op).toThrow(`${op}: takes its`)
      expect(call, op).toThrow(example)
    }
    // a shape or a permutation spread over several arguments
    expect(() => (NdArray.reshape as any)(x, 3, 2)).toThrow(expect.objectContaining({ _tag: "ShapeError", message: expect.stringContaining("reshape(x, [3, 2])") }))
    expect(() => (NdArray.transpose as any)(x, 1, 0)).toThrow(expect.objectContaining({ _tag: "ValueError", message: expect.stringContaining("transpose(x, [1, 0])") }))
    // the same calls with options objects work
    expect(NdArray.ones([2], { dtype: "float64" }).dtype).toBe("float64")
    expect(NdArray.scalar(2, { dtype: "int32" }).dtype).toBe("int32")
    expect(NdArray.arange(3, { dtype: "float64" }).dtype).toBe("float64")
    expect(grad((a: any, b: any) => NdArray.sum(NdArray.mul(a, b)), { argnums: 1 })(x, NdArray.onesLike(x)).toArray()).toEqual(x.toArray())
  })
})
