import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
  type SafetensorsTensor
} from "../src/Safetensors.js"

const ascii = (s: string) => new TextEncoder().encode(s)

/** Builds a safetensors file from a raw header string and raw buffer bytes. */
const build = (header: string, buffer: ArrayLike<number> = []): Uint8Array => {
  const h = ascii(header)
  const out = new Uint8Array(8 + h.length + buffer.length)
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true)
  out.set(h, 8)
  out.set(Array.from(buffer), 8 + h.length)
  return out
}

const expectError = (f: () => unknown, ...fragments: Array<string>) => {
  let caught: unknown
  try {
    f()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(SafetensorsError)
  const err = caught as SafetensorsError
  expect(err._tag).toBe("SafetensorsError")
  for (const fragment of fragments) expect(err.reason).toContain(fragment)
  expect(err.message).toContain(err.reason)
}

const arbShape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })
const size = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

const arbTensor: fc.Arbitrary<SafetensorsTensor> = fc.oneof(
  arbShape.chain((shape) =>
    fc.array(fc.float({ noNaN: true }), { minLength: size(shape), maxLength: size(shape) }).map((xs) => ({
      dtype: "float32" as const,
      shape,
      data: Float32Array.from(xs)
    }))
  ),
  arbShape.chain((shape) =>
    fc.array(fc.double(), { minLength: size(shape), maxLength: size(shape) }).map((xs) => ({
      dtype: "float64" as const,
      shape,
      data: Float64Array.from(xs)
    }))
  ),
  arbShape.chain((shape) =>
    fc.array(fc.integer(), { minLength: size(shape), maxLength: size(shape) }).map((xs) => ({
      dtype: "int32" as const,
      shape,
      data: Int32Array.from(xs)
    }))
  ),
  arbShape.chain((shape) =>
    fc.array(fc.boolean(), { minLength: size(shape), maxLength: size(shape) }).map((xs) => ({
      dtype: "bool" as const,
      shape,
      data: Uint8Array.from(xs, (b) => (b ? 1 : 0))
    }))
  ),
  arbShape.chain((shape) =>
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: size(shape), maxLength: size(shape) }).map((xs) => ({
      dtype: "uint8" as const,
      shape,
      data: Uint8Array.from(xs)
    }))
  )
)

describe("Safetensors", () => {
  it("round-trips arbitrary tensors and metadata", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== "__metadata__"), arbTensor, {
          maxKeys: 5
        }),
        fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { nil: undefined }),
        (tensors, metadata) => {
          const bytes = encodeSafetensors(tensors, metadata)
          const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true))
          expect(headerLen % 8).toBe(0)
          const decoded = decodeSafetensors(bytes)
          expect(decoded.metadata).toEqual(metadata ?? {})
          expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort())
          for (const [name, t] of Object.entries(tensors)) {
            const d = decoded.tensors[name]
            expect(d.dtype).toBe(t.dtype)
            expect(d.shape).toEqual(t.shape)
            expect(d.data.constructor).toBe(t.data.constructor)
            expect(Array.from(d.data)).toEqual(Array.from(t.data))
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it("encodes one small tensor byte for byte", () => {
    const bytes = encodeSafetensors({ a: { dtype: "float32", shape: [2], data: new Float32Array([1, -2]) } })
    const header = `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}` // 54 bytes, padded to 56
    const expected = new Uint8Array([
      56, 0, 0, 0, 0, 0, 0, 0,
      ...ascii(header),
      0x20, 0x20,
      0x00, 0x00, 0x80, 0x3f, // 1.0f little-endian
      0x00, 0x00, 0x00, 0xc0 // -2.0f little-endian
    ])
    expect(Array.from(bytes)).toEqual(Array.from(expected))
    const decoded = decodeSafetensors(expected)
    expect(decoded.tensors.a.dtype).toBe("float32")
    expect(decoded.tensors.a.shape).toEqual([2])
    expect(Array.from(decoded.tensors.a.data)).toEqual([1, -2])
    expect(decoded.metadata).toEqual({})
  })

  it("lays tensors out in sorted-name order and writes metadata first", () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: "int32", shape: [1], data: new Int32Array([7]) },
        a: { dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) },
        "10": { dtype: "uint8", shape: [], data: new Uint8Array([9]) },
        "2": { dtype: "float64", shape: [1], data: new Float64Array([0.5]) }
      },
      { format: "pt" }
    )
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + n)).trimEnd()
    expect(json).toBe(
      `{"__metadata__":{"format":"pt"},` +
        `"10":{"dtype":"U8","shape":[],"data_offsets":[0,1]},` +
        `"2":{"dtype":"F64","shape":[1],"data_offsets":[1,9]},` +
        `"a":{"dtype":"BOOL","shape":[3],"data_offsets":[9,12]},` +
        `"b":{"dtype":"I32","shape":[1],"data_offsets":[12,16]}}`
    )
    const decoded = decodeSafetensors(bytes)
    expect(decoded.metadata).toEqual({ format: "pt" })
    expect(Array.from(decoded.tensors.a.data)).toEqual([1, 0, 1])
    expect(decoded.tensors["2"].data[0]).toBe(0.5)
  })

  it("returns aligned copies, not views into the input", () => {
    // The F64 tensor starts at an odd byte position of the file: a view would be impossible.
    const header = `{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y":{"dtype":"F64","shape":[1],"data_offsets":[1,9]}}`
    const file = build(header, [5, ...new Uint8Array(new Float64Array([3.25]).buffer)])
    expect((8 + header.length + 1) % 8).not.toBe(0)
    const { tensors } = decodeSafetensors(file)
    expect(tensors.y.data).toBeInstanceOf(Float64Array)
    expect(tensors.y.data[0]).toBe(3.25)
    expect(tensors.y.data.buffer).not.toBe(file.buffer)
    expect(tensors.x.data.buffer).not.toBe(file.buffer)
    expect(file[8 + header.length]).toBe(5)
    file[8 + header.length] = 99 // not reflected in the decoded data
    expect(tensors.x.data[0]).toBe(5)
  })

  describe("corrupt input", () => {
    const good = encodeSafetensors({ w: { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } })

    it("truncated before the header length", () => {
      expectError(() => decodeSafetensors(new Uint8Array([1, 2, 3])), "truncated", "3 bytes")
      expectError(() => decodeSafetensors(new Uint8Array(0)), "truncated")
    })

    it("header length past the end", () => {
      expectError(() => decodeSafetensors(good.subarray(0, 40)), "header length", "past the end", "40 bytes")
      const huge = new Uint8Array(16)
      new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true)
      expectError(() => decodeSafetensors(huge), "past the end")
    })

    it("truncated data buffer gives out-of-range offsets", () => {
      expectError(() => decodeSafetensors(good.subarray(0, good.length - 1)), "\"w\"", "out of range", "15-byte")
    })

    it("invalid JSON header", () => {
      expectError(() => decodeSafetensors(build(`{"w": {`)), "not valid UTF-8 JSON")
      expectError(() => decodeSafetensors(build(`[1, 2]`)), "JSON object")
    })

    it("out-of-range offsets", () => {
      expectError(
        () => decodeSafetensors(build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, [0, 0, 0, 0])),
        "\"w\"",
        "out of range"
      )
      expectError(
        () => decodeSafetensors(build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, new Array(8).fill(0))),
        "\"w\"",
        "begin after end"
      )
      expectError(
        () => decodeSafetensors(build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, new Array(8).fill(0))),
        "\"w\"",
        "data_offsets"
      )
    })

    it("overlapping offsets", () => {
      const header = `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}`
      expectError(() => decodeSafetensors(build(header, new Array(8).fill(0))), "\"b\"", "overlap", "\"a\"")
    })

    it("data size not matching dtype × shape", () => {
      const header = `{"m":{"dtype":"F64","shape":[2,3],"data_offsets":[0,24]}}`
      expectError(() => decodeSafetensors(build(header, new Array(24).fill(0))), "\"m\"", "24 bytes", "48 bytes")
    })

    it("unknown dtype names the tensor", () => {
      const header = `{"ok":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"half":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}`
      expectError(() => decodeSafetensors(build(header, new Array(6).fill(0))), "\"half\"", "BF16")
    })

    it("malformed shape and metadata", () => {
      expectError(
        () => decodeSafetensors(build(`{"s":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, [0])),
        "\"s\"",
        "shape"
      )
      expectError(() => decodeSafetensors(build(`{"__metadata__":{"k":1}}`)), "__metadata__", "\"k\"")
    })

    it("encode rejects inconsistent tensors", () => {
      expectError(
        () => encodeSafetensors({ t: { dtype: "float32", shape: [3], data: new Float32Array(2) } }),
        "\"t\"",
        "3 elements"
      )
      expectError(
        () => encodeSafetensors({ t: { dtype: "float32", shape: [2], data: new Float64Array(2) } }),
        "\"t\"",
        "Float32Array"
      )
      expectError(
        () => encodeSafetensors({ __metadata__: { dtype: "uint8", shape: [], data: new Uint8Array(1) } }),
        "__metadata__"
      )
    })
  })
})
