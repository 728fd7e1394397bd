/**
 * Dtype promotion, pinned against the table in interpreter/aval.ts (JAX's
 * lattice without 64-bit integers) and known NumPy/JAX results: array–array
 * pairs, weakly typed JavaScript numbers, true division, float-only ops,
 * reductions and comparisons.
 */
import { describe, expect, it } from "@effect/vitest"
import * as NdArray from "../src/NdArray.js"
import type { DType } from "../src/NdArray.js"
import { DTypeError } from "../src/Errors.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const of = (dtype: DType) => NdArray.ones([2], { dtype })

const table: ReadonlyArray<readonly [DType, DType, DType]> = [
  ["bool", "bool", "bool"],
  ["bool", "int32", "int32"],
  ["bool", "float32", "float32"],
  ["bool", "float64", "float64"],
  ["int32", "int32", "int32"],
  ["int32", "float32", "float32"], // JAX; NumPy would give float64
  ["int32", "float64", "float64"],
  ["float32", "float32", "float32"],
  ["float32", "float64", "float64"],
  ["float64", "float64", "float64"]
]

describe("array–array promotion (the table in aval.ts)", () => {
  for (const [a, b, out] of table) {
    it(`${a} with ${b} → ${out}, both ways`, () => {
      expect(NdArray.concatenate([of(a), of(b)]).dtype).toBe(out)
      expect(NdArray.concatenate([of(b), of(a)]).dtype).toBe(out)
      expect(NdArray.where(true, of(a), of(b)).dtype).toBe(out)
      if (!(a === "bool" && b === "bool")) {
        expect(NdArray.add(of(a), of(b)).dtype).toBe(out)
        expect(NdArray.mul(of(b), of(a)).dtype).toBe(out)
        expect(NdArray.maximum(of(a), of(b)).dtype).toBe(out)
      }
    })
  }

  it("values survive promotion: int32 3 + float32 0.5 = 3.5; bool True + int32 2 = 3", () => {
    expect(NdArray.add(NdArray.array([3], { dtype: "int32" }), NdArray.array([0.5])).toArray()).toEqual([3.5])
    expect(NdArray.add(NdArray.array([true]), NdArray.array([2], { dtype: "int32" })).toArray()).toEqual([3])
    expect(NdArray.add(NdArray.array([0.1], { dtype: "float64" }), NdArray.array([0.1])).item()).toBe(0.1 + Math.fround(0.1))
  })
})

describe("weakly typed JavaScript numbers", () => {
  const cases: ReadonlyArray<readonly [string, () => NdArray.ArrayLike, DType]> = [
    ["int32 + 2 → int32", () => NdArray.add(of("int32"), 2), "int32"],
    ["int32 + 2.5 → float32", () => NdArray.add(of("int32"), 2.5), "float32"],
    ["2.5 * int32 → float32", () => NdArray.mul(2.5, of("int32")), "float32"],
    ["float32 + 2 → float32", () => NdArray.add(of("float32"), 2), "float32"],
    ["float64 + 2.5 → float64 (a number never widens an array)", () => NdArray.add(of("float64"), 2.5), "float64"],
    ["bool + 1 → int32", () => NdArray.add(of("bool"), 1), "int32"],
    ["bool + 1.5 → float32", () => NdArray.add(of("bool"), 1.5), "float32"],
    ["int32 + true → int32", () => NdArray.add(of("int32"), true), "int32"],
    ["number + number → float32 0-d", () => NdArray.add(1, 2), "float32"],
    ["maximum(int32, 0) → int32", () => NdArray.maximum(of("int32"), 0), "int32"]
  ]
  for (const [name, f, dtype] of cases) {
    it(name, () => expect((f() as NdArray).dtype).toBe(dtype))
  }

  it("values: int32 [1, 2] + 2.5 = [3.5, 4.5]; number + number is 0-d", () => {
    expect(NdArray.add(NdArray.array([1, 2], { dtype: "int32" }), 2.5).toArray()).toEqual([3.5, 4.5])
    const s = NdArray.add(1, 2)
    expect(s.shape).toEqual([])
    expect(s.item()).toBe(3)
  })
})

describe("operations with a fixed result kind", () => {
  it("int32 / int32 is true division in float32 (NumPy's /)", () => {
    const q = NdArray.div(NdArray.array([7, -7, 1], { dtype: "int32" }), NdArray.array([2, 2, 3], { dtype: "int32" }))
    expect(q.dtype).toBe("float32")
    expect(q.toArray()).toEqual([3.5, -3.5, Math.fround(1 / 3)])
    expect(NdArray.div(NdArray.array([1], { dtype: "int32" }), 0).toArray()).toEqual([Infinity])
  })

  it("pow and atan2 of integers are float32; float64 stays float64", () => {
    expect(NdArray.pow(NdArray.array([2], { dtype: "int32" }), 3).dtype).toBe("float32")
    expect(NdArray.pow(NdArray.array([2], { dtype: "int32" }), 3).item()).toBe(8)
    expect(NdArray.atan2(of("int32"), of("int32")).dtype).toBe("float32")
    expect(NdArray.pow(of("float64"), 2).dtype).toBe("float64")
  })

  it("transcendental functions of int32/bool give float32", () => {
    for (const f of [NdArray.exp, NdArray.log, NdArray.sqrt, NdArray.sin, NdArray.tanh, NdArray.sigmoid, NdArray.erf]) {
      expect(f(of("int32")).dtype).toBe("float32")
      expect(f(of("bool")).dtype).toBe("float32")
      expect(f(of("float64")).dtype).toBe("float64")
    }
  })

  it("neg/abs/sign/square of bool work in int32; mod of int32 is int32", () => {
    expect(NdArray.neg(NdArray.array([true, false])).toArray()).toEqual([-1, 0])
    expect(NdArray.neg(NdArray.array([true, false])).dtype).toBe("int32")
    expect(NdArray.square(of("bool")).dtype).toBe("int32")
    expect(NdArray.mod(NdArray.array([-7], { dtype: "int32" }), 3).toArray()).toEqual([2])
    expect(NdArray.mod(NdArray.array([-7], { dtype: "int32" }), 3).dtype).toBe("int32")
  })

  it("comparisons and logical ops give bool for every input dtype", () => {
    for (const d of ["bool", "int32", "float32", "float64"] as const) {
      expect(NdArray.less(of(d), of(d)).dtype).toBe("bool")
      expect(NdArray.equal(of(d), 1).dtype).toBe("bool")
      expect(NdArray.logicalAnd(of(d), of(d)).dtype).toBe("bool")
      expect(NdArray.isNan(of(d)).dtype).toBe("bool")
    }
    expect(NdArray.less(NdArray.array([1], { dtype: "int32" }), 1.5).toArray()).toEqual([true])
    // bools are ordered False < True
    expect(NdArray.less(NdArray.array([false, true, false]), NdArray.array([true, false, false])).toArray()).toEqual([true, false, false])
    expect(NdArray.greaterEqual(NdArray.array([true, false]), false).toArray()).toEqual([true, true])
  })

  it("reductions: sum keeps int32, counts bools as int32; mean/variance/std/logsumexp of integers are float32", () => {
    expect(NdArray.sum(of("int32")).dtype).toBe("int32")
    expect(NdArray.sum(of("bool")).dtype).toBe("int32")
    expect(NdArray.prod(of("bool")).dtype).toBe("int32")
    expect(NdArray.max(of("int32")).dtype).toBe("int32")
    expect(NdArray.any(of("float32")).dtype).toBe("bool")
    for (const f of [NdArray.mean, NdArray.variance, NdArray.std, NdArray.logsumexp]) {
      expect(f(of("int32")).dtype).toBe("float32")
      expect(f(of("float64")).dtype).toBe("float64")
    }
    expect(NdArray.argmax(of("float64")).dtype).toBe("int32")
  })

  it("astype: float → int32 truncates toward zero (C cast); anything → bool is x ≠ 0; bool → int32 is 0/1", () => {
    expect(NdArray.astype(NdArray.array([2.7, -2.7, 0.5, -0.5]), "int32").toArray()).toEqual([2, -2, 0, 0])
    expect(NdArray.astype(NdArray.array([0, 0.1, -3, NaN]), "bool").toArray()).toEqual([false, true, true, true])
    expect(NdArray.astype(NdArray.array([true, false]), "int32").toArray()).toEqual([1, 0])
    expect(NdArray.astype(NdArray.array([16777217], { dtype: "int32" }), "float32").item()).toBe(16777216)
  })
})

describe("bool arithmetic and integer indices (NumPy semantics)", () => {
  it("bool + bool is logical or, bool · bool logical and", () => {
    const a = NdArray.array([true, true, false, false])
    const b = NdArray.array([true, false, true, false])
    expect(NdArray.add(a, b).dtype).toBe("bool")
    expect(NdArray.add(a, b).toArray()).toEqual([true, true, true, false])
    expect(NdArray.mul(a, b).toArray()).toEqual([true, false, false, false])
    expect(NdArray.maximum(a, b).toArray()).toEqual([true, true, true, false])
    expect(NdArray.minimum(a, b).toArray()).toEqual([true, false, false, false])
    expect(() => NdArray.sub(a, b)).toThrow(DTypeError)
  })

  it("take rejects float indices instead of truncating them", () => {
    const x = NdArray.array([10, 20, 30])
    expect(NdArray.take(x, [2, 0]).toArray()).toEqual([30, 10])
    expect(NdArray.take(x, 1).toArray()).toEqual(20)
    expect(() => NdArray.take(x, [1.5])).toThrow(DTypeError)
    expect(() => NdArray.take(x, NdArray.array([1]))).toThrow(DTypeError)
  })
})
