import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { CorruptData, DatasetNotFound } from "../src/Errors.js"
import { decodeIdx, encodeIdx, readIdx, writeIdx } from "../src/Idx.js"
import type { RawTensor } from "../src/Raw.js"

const decode = (bytes: Uint8Array, file = "test.idx") => Effect.runSync(decodeIdx(bytes, file))
const decodeError = (bytes: Uint8Array, file = "test.idx") => Effect.runSync(Effect.flip(decodeIdx(bytes, file)))

const arbShape = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 })
const size = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
const arbRaw: fc.Arbitrary<RawTensor> = arbShape.chain((shape) => {
  const n = size(shape)
  return fc.oneof(
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n }).map((xs): RawTensor => ({
      dtype: "uint8",
      shape,
      data: Uint8Array.from(xs)
    })),
    fc.array(fc.integer(), { minLength: n, maxLength: n }).map((xs): RawTensor => ({
      dtype: "int32",
      shape,
      data: Int32Array.from(xs)
    })),
    fc.array(fc.float({ noNaN: true }), { minLength: n, maxLength: n }).map((xs): RawTensor => ({
      dtype: "float32",
      shape,
      data: Float32Array.from(xs)
    })),
    fc.array(fc.double({ noNaN: true }), { minLength: n, maxLength: n }).map((xs): RawTensor => ({
      dtype: "float64",
      shape,
      data: Float64Array.from(xs)
    }))
  )
})

describe("IDX", () => {
  it("decodes a hand-built uint8 matrix", () => {
    const bytes = new Uint8Array([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 255])
    const raw = decode(bytes)
    expect(raw.dtype).toBe("uint8")
    expect(raw.shape).toEqual([2, 3])
    expect(Array.from(raw.data)).toEqual([1, 2, 3, 4, 5, 255])
  })

  it("decodes big-endian int8, int16, int32, float32 and float64", () => {
    const int8 = decode(new Uint8Array([0, 0, 0x09, 1, 0, 0, 0, 3, 0xff, 0x7f, 0x80]))
    expect(int8.dtype).toBe("int32")
    expect(Array.from(int8.data)).toEqual([-1, 127, -128])
    const int16 = decode(new Uint8Array([0, 0, 0x0b, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x01, 0x00]))
    expect(int16.dtype).toBe("int32")
    expect(Array.from(int16.data)).toEqual([-2, 256])
    const int32 = decode(new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 1, 0x80, 0, 0, 1]))
    expect(Array.from(int32.data)).toEqual([-2147483647])
    const f32 = decode(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0]))
    expect(f32.dtype).toBe("float32")
    expect(Array.from(f32.data)).toEqual([1, -2.5])
    const f64 = decode(new Uint8Array([0, 0, 0x0e, 1, 0, 0, 0, 1, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]))
    expect(f64.dtype).toBe("float64")
    expect(Array.from(f64.data)).toEqual([1.5])
  })

  it("encodes big-endian with the right magic", () => {
    const bytes = encodeIdx({ dtype: "int32", shape: [2], data: new Int32Array([1, -1]) })
    expect(Array.from(bytes)).toEqual([0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])
    const bools = encodeIdx({ dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) })
    expect(Array.from(bools)).toEqual([0, 0, 0x08, 1, 0, 0, 0, 3, 1, 0, 1])
  })

  it("round-trips arbitrary tensors, plain and gzipped", () => {
    fc.assert(
      fc.property(arbRaw, (raw) => {
        const bytes = encodeIdx(raw)
        for (const input of [bytes, new Uint8Array(zlib.gzipSync(bytes))]) {
          const back = decode(input)
          expect(back.dtype).toBe(raw.dtype)
          expect(back.shape).toEqual(raw.shape)
          expect(Array.from(back.data)).toEqual(Array.from(raw.data))
        }
      }),
      { numRuns: 150 }
    )
  })

  describe("corrupt files", () => {
    const good = encodeIdx({ dtype: "uint8", shape: [2, 3], data: new Uint8Array([1, 2, 3, 4, 5, 6]) })

    it("truncated data", () => {
      const err = decodeError(good.subarray(0, good.length - 2), "imgs")
      expect(err).toBeInstanceOf(CorruptData)
      expect(err._tag).toBe("CorruptData")
      const e = err as CorruptData
      expect(e.file).toBe("imgs")
      expect(e.offset).toBe(16)
      expect(e.expected).toContain("18 bytes")
      expect(e.actual).toContain("16 bytes")
      expect(e.message).toMatch(/^corrupt data in imgs at byte 16: expected a file of 18 bytes .*shape \[2, 3\].*, found 16 bytes \(truncated, 2 bytes missing\)$/)
    })

    it("over-long data", () => {
      const longer = new Uint8Array([...good, 0, 0, 0])
      const e = decodeError(longer) as CorruptData
      expect(e._tag).toBe("CorruptData")
      expect(e.offset).toBe(18)
      expect(e.message).toContain("3 unexpected trailing bytes")
    })

    it("bad magic number", () => {
      const e = decodeError(new Uint8Array([0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0])) as CorruptData
      expect(e._tag).toBe("CorruptData")
      expect(e.offset).toBe(0)
      expect(e.message).toContain("found 0x12345678")
      const badType = decodeError(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 0])) as CorruptData
      expect(badType.message).toContain("found 0x00000a01")
    })

    it("header cut short", () => {
      const e = decodeError(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1])) as CorruptData
      expect(e._tag).toBe("CorruptData")
      expect(e.expected).toContain("16 header bytes for 3 dimensions")
      expect(decodeError(new Uint8Array([0, 0]))._tag).toBe("CorruptData")
    })

    it("damaged gzip stream", () => {
      const gz = new Uint8Array(zlib.gzipSync(good))
      const e = decodeError(gz.subarray(0, gz.length - 6)) as CorruptData
      expect(e._tag).toBe("CorruptData")
      expect(e.expected).toContain("gzip")
    })
  })

  it.effect("readIdx reports a missing file as DatasetNotFound", () =>
    Effect.gen(function*() {
      const missing = path.join(os.tmpdir(), "gradfx-no-such-dir", "nothing-idx1-ubyte")
      const err = yield* Effect.flip(readIdx(missing))
      expect(err).toBeInstanceOf(DatasetNotFound)
      expect(err._tag).toBe("DatasetNotFound")
      expect((err as DatasetNotFound).path).toBe(missing)
      expect(err.message).toContain(missing)
    }))

  it.effect("writeIdx then readIdx round-trips through a file", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "gradfx-idx-")))
      const file = path.join(dir, "x-idx2-float")
      const raw: RawTensor = { dtype: "float64", shape: [2, 2], data: new Float64Array([0.1, -2, 3e100, 4]) }
      yield* writeIdx(file, raw)
      const back = yield* readIdx(file)
      expect(back).toEqual(raw)
      yield* Effect.promise(() => fs.rm(dir, { recursive: true }))
    }))
})
