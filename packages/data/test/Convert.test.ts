import { assert, describe, it } from "@effect/vitest"
import { NdArray } from "@gradfx/core"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as Convert from "../src/Convert.js"

const tmpDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "gradfx-convert-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

describe("Convert", () => {
  it("RawTensor ↔ NdArray keeps dtype, shape and values; uint8 becomes int32", () => {
    const x = NdArray.array([[1.5, -2], [3, 4]], { dtype: "float64" })
    const raw = Convert.fromNdArray(x)
    assert.strictEqual(raw.dtype, "float64")
    assert.deepStrictEqual(raw.shape, [2, 2])
    assert.deepStrictEqual(Array.from(raw.data), [1.5, -2, 3, 4])
    assert.deepStrictEqual(Convert.toNdArray(raw).toArray(), [[1.5, -2], [3, 4]])
    const bytes = Convert.toNdArray({ dtype: "uint8", shape: [3], data: Uint8Array.of(0, 128, 255) })
    assert.strictEqual(bytes.dtype, "int32")
    assert.deepStrictEqual(bytes.toArray(), [0, 128, 255])
    const asFloat = Convert.toNdArray({ dtype: "uint8", shape: [1], data: Uint8Array.of(7) }, { dtype: "float32" })
    assert.strictEqual(asFloat.dtype, "float32")
    const mask = Convert.fromNdArray(NdArray.array([true, false]))
    assert.strictEqual(mask.dtype, "bool")
    assert.deepStrictEqual(Array.from(mask.data), [1, 0])
  })

  it.effect("npy, npz, csv and idx round trips through files", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tmpDir
      const x = NdArray.array([[1, 2, 3], [4, 5, 6]], { dtype: "int32" })
      const w = NdArray.array([0.25, -1e-3], { dtype: "float32" })

      yield* Convert.saveNpy(path.join(dir, "x.npy"), x)
      const xBack = yield* Convert.loadNpy(path.join(dir, "x.npy"))
      assert.strictEqual(xBack.dtype, "int32")
      assert.deepStrictEqual(xBack.toArray(), x.toArray())

      yield* Convert.saveNpz(path.join(dir, "p.npz"), { x, w })
      const record = yield* Convert.loadNpz(path.join(dir, "p.npz"))
      assert.deepStrictEqual(Object.keys(record).sort(), ["w", "x"])
      assert.deepStrictEqual(record.w.toArray(), w.toArray())
      assert.strictEqual(record.w.dtype, "float32")

      yield* Convert.saveCsv(path.join(dir, "t.csv"), NdArray.array([[1, 0.5], [2, -3]], { dtype: "float64" }), {
        columns: ["a", "label"]
      })
      const csv = yield* Convert.loadCsv(path.join(dir, "t.csv"), { labelColumn: "label" })
      assert.deepStrictEqual(csv.columns, ["a"])
      assert.deepStrictEqual(csv.features.toArray(), [[1], [2]])
      assert.deepStrictEqual(csv.labels?.toArray(), [0.5, -3])

      yield* Convert.saveIdx(path.join(dir, "l-idx1-ubyte"), NdArray.array([3, 1, 4], { dtype: "int32" }))
      assert.deepStrictEqual((yield* Convert.loadIdx(path.join(dir, "l-idx1-ubyte"))).toArray(), [3, 1, 4])
    })))

  it.effect("a missing file fails with DatasetNotFound, a damaged one with CorruptData", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tmpDir
      const missing = yield* Effect.flip(Convert.loadNpy(path.join(dir, "nope.npy")))
      assert.strictEqual(missing._tag, "DatasetNotFound")
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "bad.npy"), "not numpy"))
      const corrupt = yield* Effect.flip(Convert.loadNpy(path.join(dir, "bad.npy")))
      assert.strictEqual(corrupt._tag, "CorruptData")
      if (corrupt._tag === "CorruptData") {
        assert.strictEqual(corrupt.file, path.join(dir, "bad.npy"))
        assert.strictEqual(corrupt.offset, 0)
      }
    })))
})
