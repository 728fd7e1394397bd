import { assert, describe, expect, it } from "@effect/vitest"
import { NdArray } from "@gradfx/core"
import { Effect, Exit } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as Dataset from "../src/Dataset.js"
import { SchemaMismatch } from "../src/Errors.js"
import { encodeNpz } from "../src/Npy.js"

const small = () =>
  Dataset.make({
    x: NdArray.array(Float32Array.from({ length: 10 * 3 }, (_, i) => i), { shape: [10, 3] }),
    y: NdArray.array(Int32Array.from({ length: 10 }, (_, i) => i % 4), { shape: [10] })
  })

describe("Dataset", () => {
  it("knows its length and copies the gathered rows in order", () => {
    const ds = small()
    expect(ds.length).toBe(10)
    expect(Dataset.columnNames(ds)).toEqual(["x", "y"])
    const b = Dataset.gather(ds, [7, 2, 7])
    expect(b.x.shape).toEqual([3, 3])
    expect(b.x.dtype).toBe("float32")
    expect(b.x.toArray()).toEqual([[21, 22, 23], [6, 7, 8], [21, 22, 23]])
    expect(b.y.dtype).toBe("int32")
    expect(b.y.toArray()).toEqual([3, 2, 3])
    expect(() => Dataset.gather(ds, [10])).toThrow(RangeError)
  })

  it("slices are views; get, range and toArrays agree", () => {
    const ds = small()
    const [a, b] = Dataset.splitAt(ds, 6)
    expect([a.length, b.length]).toEqual([6, 4])
    expect(Dataset.get(b, 0).x.toArray()).toEqual([18, 19, 20])
    expect(Dataset.range(ds, 6, 8).x.toArray()).toEqual((Dataset.toArrays(b).x.toArray() as Array<unknown>).slice(0, 2))
    expect(b.columns.x.data.buffer).toBe(ds.columns.x.data.buffer) // no copy
    expect(Dataset.take(ds, 100).length).toBe(10)
    expect(Dataset.select(ds, [9, 0]).columns.y.data).toEqual(Int32Array.of(1, 0))
  })

  it("rejects columns of different lengths with SchemaMismatch", () => {
    expect(() => Dataset.make({ x: NdArray.zeros([3, 2]), y: NdArray.zeros([4]) })).toThrow(SchemaMismatch)
    expect(() => Dataset.make({ x: NdArray.scalar(1) })).toThrow(/scalar/)
  })

  it("reshape, astype and oneHot", () => {
    const ds = small()
    expect(Dataset.reshape(ds, "x", [3, 1]).columns.x.shape).toEqual([3, 1])
    expect(() => Dataset.reshape(ds, "x", [2])).toThrow(SchemaMismatch)
    expect(Dataset.astype(ds, "y", "float64").columns.y.data).toBeInstanceOf(Float64Array)
    const hot = Dataset.oneHot(ds, "y", 4)
    expect(Dataset.gather(hot, [1, 3]).y.toArray()).toEqual([[0, 1, 0, 0], [0, 0, 0, 1]])
    expect(() => Dataset.oneHot(ds, "y", 3)).toThrow(/not a class index/)
  })

  it("synthetic sets are seeded datasets of NdArrays", () => {
    const a = Dataset.diamond({ seed: 3, n: 50 })
    const b = Dataset.diamond({ seed: 3, n: 50 })
    const c = Dataset.diamond({ seed: 4, n: 50 })
    expect(a.length).toBe(50)
    expect(Dataset.toArrays(a).x.toArray()).toEqual(Dataset.toArrays(b).x.toArray())
    expect(Dataset.toArrays(a).x.toArray()).not.toEqual(Dataset.toArrays(c).x.toArray())
    const xor = Dataset.toArrays(Dataset.logicGate("xor"))
    expect(xor.y.toArray()).toEqual([0, 1, 1, 0])
    expect(Dataset.toArrays(Dataset.doubling()).y.toArray()).toEqual([2, 4, 6])
    const lin = Dataset.linearRegression({ seed: 0, n: 20 })
    expect(lin.columns.x.shape).toEqual([2])
    expect(lin.columns.y.shape).toEqual([])
  })

  it.effect("loads a .npz archive as a dataset, and fails on a missing entry", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "gradfx-ds-")))
      const file = path.join(dir, "d.npz")
      yield* Effect.promise(() =>
        fs.writeFile(
          file,
          encodeNpz({
            x: { dtype: "float64", shape: [3, 2], data: Float64Array.of(1, 2, 3, 4, 5, 6) },
            y: { dtype: "uint8", shape: [3], data: Uint8Array.of(0, 1, 0) }
          })
        )
      )
      const ds = yield* Dataset.fromNpz(file, ["x", "y"])
      assert.strictEqual(ds.length, 3)
      assert.deepStrictEqual(Dataset.get(ds, 2).x.toArray(), [5, 6])
      assert.strictEqual(ds.columns.y.dtype, "int32")
      const missing = yield* Effect.exit(Dataset.fromNpz(file, ["x", "z"]))
      assert.isTrue(Exit.isFailure(missing))
      const error = yield* Effect.flip(Dataset.fromNpz(file, ["z"]))
      assert.strictEqual(error._tag, "SchemaMismatch")
      yield* Effect.promise(() => fs.rm(dir, { recursive: true }))
    }))

  it.effect("MNIST: 50,000/10,000/10,000, pixels in [0, 1], flattening and one-hot labels", () =>
    Effect.gen(function*() {
      const { train, validation, test } = yield* Dataset.mnist({ oneHot: true })
      assert.deepStrictEqual([train.length, validation.length, test.length], [50_000, 10_000, 10_000])
      assert.deepStrictEqual(train.columns.x.shape, [784])
      assert.deepStrictEqual(train.columns.y.shape, [10])
      let lo = Infinity
      let hi = -Infinity
      for (const v of test.columns.x.data) {
        lo = Math.min(lo, v)
        hi = Math.max(hi, v)
      }
      assert.deepStrictEqual([lo, hi], [0, 1])
      const b = Dataset.gather(test, [0])
      // The first MNIST test digit is a 7.
      assert.deepStrictEqual(NdArray.argmax(b.y, { axis: 1 }).toArray(), [7])
      const images = yield* Dataset.mnist({ flatten: false, validation: 0 })
      assert.strictEqual(images.train.length, 60_000)
      assert.strictEqual(images.validation.length, 0)
      assert.deepStrictEqual(images.test.columns.x.shape, [28, 28])
      assert.strictEqual(Dataset.get(images.test, 0).y.item(), 7)
      // The validation set is the end of the training file.
      assert.deepStrictEqual(
        Dataset.get(validation, 0).x.toArray(),
        NdArray.reshape(Dataset.get(images.train, 50_000).x, [784]).toArray()
      )
    }))

  it.effect("MNIST: a missing directory is DatasetNotFound, a bad split size SchemaMismatch", () =>
    Effect.gen(function*() {
      const notFound = yield* Effect.flip(Dataset.mnist({ dir: "/nonexistent/mnist" }))
      assert.strictEqual(notFound._tag, "DatasetNotFound")
      const bad = yield* Effect.flip(Dataset.mnist({ validation: 60_000 }))
      assert.strictEqual(bad._tag, "SchemaMismatch")
    }))
})
