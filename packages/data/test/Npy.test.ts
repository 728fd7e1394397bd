import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { CorruptData, DatasetNotFound, SchemaMismatch } from "../src/Errors.js"
import {
  crc32,
  decodeNpy,
  decodeNpz,
  encodeNpy,
  encodeNpz,
  readNpy,
  readNpz,
  writeNpy,
  writeNpz
} from "../src/Npy.js"
import type { RawTensor } from "../src/Raw.js"

const run = <A, E>(eff: Effect.Effect<A, E>) => Effect.runSync(eff)
const failure = <A, E>(eff: Effect.Effect<A, E>) => Effect.runSync(Effect.flip(eff))
const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"))
const ascii = (s: string) => new TextEncoder().encode(s)

/** Builds a v1.0 .npy file from a header dict string (padded like numpy) and raw data bytes. */
const npy = (dict: string, data: ArrayLike<number>): Uint8Array => {
  const pad = 64 - ((10 + dict.length + 1) % 64)
  const header = dict + " ".repeat(pad) + "\n"
  return new Uint8Array([0x93, ...ascii("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8, ...ascii(header), ...Array.from(data)])
}

const size = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
const arbShape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 })
const arbRaw: fc.Arbitrary<RawTensor> = arbShape.chain((shape) => {
  const n = size(shape)
  const arr = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: n, maxLength: n })
  return fc.oneof(
    arr(fc.float({ noNaN: true })).map((xs): RawTensor => ({ dtype: "float32", shape, data: Float32Array.from(xs) })),
    arr(fc.double({ noNaN: true })).map((xs): RawTensor => ({ dtype: "float64", shape, data: Float64Array.from(xs) })),
    arr(fc.integer()).map((xs): RawTensor => ({ dtype: "int32", shape, data: Int32Array.from(xs) })),
    arr(fc.boolean()).map((xs): RawTensor => ({ dtype: "bool", shape, data: Uint8Array.from(xs, Number) })),
    arr(fc.integer({ min: 0, max: 255 })).map((xs): RawTensor => ({ dtype: "uint8", shape, data: Uint8Array.from(xs) }))
  )
})

const expectSame = (a: RawTensor, b: RawTensor) => {
  expect(a.dtype).toBe(b.dtype)
  expect(a.shape).toEqual(b.shape)
  expect(a.data.constructor).toBe(b.data.constructor)
  expect(Array.from(a.data)).toEqual(Array.from(b.data))
}

// Produced by numpy 2.4: np.save of np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3))
const NUMPY_FORTRAN =
  "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAwAAAAEAAAAEAAAAAgAAAAUAAAA="
// np.save(np.array([1.5, -2], dtype='>f8'))
const NUMPY_BIG_ENDIAN =
  "k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/+AAAAAAAAMAAAAAAAAAA"
// np.save(np.array([[1, -2], [3, 2**31 - 1]], dtype='<i8'))
const NUMPY_I8 =
  "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAP7/////////AwAAAAAAAAD///9/AAAAAA=="
// np.lib.format.write_array(np.array([1, 2, 3], dtype='<f4'), version=(3, 0))
const NUMPY_V3 =
  "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEA="
// np.lib.format.write_array(np.array([1, 2, 3], dtype='|u1'), version=(2, 0))
const NUMPY_V2 =
  "k05VTVBZAgB0AAAAeydkZXNjcic6ICd8dTEnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAgM="
// np.savez_compressed(a=np.arange(4, dtype='<i8'), b=np.array([[True, False, True]]))  (deflated, zip64 local headers)
const NUMPY_NPZ_COMPRESSED =
  "UEsDBC0AAAAIAAAAIQDDw9rR//////////8FABQAYS5ucHkBABAAoAAAAAAAAABPAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaGuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GiY6mjoKtQoUAC4GKGCE0kxQmhlKAwBQSwMELQAAAAgAAAAhAD4R6jX//////////wUAFABiLm5weQEAEACDAAAAAAAAAEkAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgXpNkqK6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkahjoKxpo6CrUKZAMuRgZGAFBLAQItAy0AAAAIAAAAIQDDw9rRTwAAAKAAAAAFAAAAAAAAAAAAAACAAQAAAABhLm5weVBLAQItAy0AAAAIAAAAIQA+Eeo1SQAAAIMAAAAFAAAAAAAAAAAAAACAAYYAAABiLm5weVBLBQYAAAAAAgACAGYAAAAGAQAAAAA="
// np.savez(np.array([0.25], dtype='<f4'), w=np.zeros((2, 2)))  (stored)
const NUMPY_NPZ =
  "UEsDBC0AAAAAAAAAIQCnAmx8//////////8FABQAdy5ucHkBABAAoAAAAAAAAACgAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAyKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABQSwMELQAAAAAAAAAhAMcGUAT//////////wkAFABhcnJfMC5ucHkBABAAhAAAAAAAAACEAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgxLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAACAPlBLAQItAy0AAAAAAAAAIQCnAmx8oAAAAKAAAAAFAAAAAAAAAAAAAACAAQAAAAB3Lm5weVBLAQItAy0AAAAAAAAAIQDHBlAEhAAAAIQAAAAJAAAAAAAAAAAAAACAAdcAAABhcnJfMC5ucHlQSwUGAAAAAAIAAgBqAAAAlgEAAAAA"

describe("crc32", () => {
  it("matches the standard check value and zlib", () => {
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(0))).toBe(0)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc32(bytes)).toBe(zlib.crc32(bytes))
      })
    )
  })
})

describe(".npy", () => {
  it("writes np.save's exact bytes for np.arange(6, dtype='<f4').reshape(2, 3)", () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    const headerBlock = header + " ".repeat(128 - 10 - header.length - 1) + "\n"
    const expected = new Uint8Array([
      0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, // \x93NUMPY
      0x01, 0x00, // version 1.0
      0x76, 0x00, // header length 118, little-endian
      ...ascii(headerBlock),
      ...new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer)
    ])
    expect(expected.length).toBe(128 + 24)
    const raw: RawTensor = { dtype: "float32", shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }
    expect(Array.from(encodeNpy(raw))).toEqual(Array.from(expected))
    expectSame(run(decodeNpy(expected, "arange.npy")), raw)
  })

  it("pads every header to a multiple of 64 bytes ending in a newline", () => {
    for (const shape of [[], [7], [123456, 0], new Array<number>(40).fill(1)]) {
      const bytes = encodeNpy({ dtype: "uint8", shape, data: new Uint8Array(size(shape)) })
      const headerLen = bytes[8] | (bytes[9] << 8)
      expect((10 + headerLen) % 64).toBe(0)
      expect(bytes[10 + headerLen - 1]).toBe(0x0a)
    }
    const scalar = encodeNpy({ dtype: "float64", shape: [], data: new Float64Array([2]) })
    expect(new TextDecoder().decode(scalar.subarray(10, 10 + 60))).toContain("'shape': (), }")
    const vec = encodeNpy({ dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) })
    expect(new TextDecoder().decode(vec.subarray(10, 10 + 60))).toContain("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }")
  })

  it("round-trips arbitrary tensors", () => {
    fc.assert(
      fc.property(arbRaw, (raw) => {
        expectSame(run(decodeNpy(encodeNpy(raw), "x.npy")), raw)
      }),
      { numRuns: 300 }
    )
  })

  it("reads Fortran-ordered arrays in C order", () => {
    const raw = run(decodeNpy(b64(NUMPY_FORTRAN), "f.npy"))
    expectSame(raw, { dtype: "int32", shape: [2, 3], data: new Int32Array([0, 1, 2, 3, 4, 5]) })
    // 3-d: element [i, j, k] = 100i + 10j + k, stored column-major.
    const shape = [2, 3, 4]
    const fdata = new Float64Array(24)
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) fdata[i + 2 * j + 6 * k] = 100 * i + 10 * j + k
    }
    const bytes = npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }", new Uint8Array(fdata.buffer))
    const c = run(decodeNpy(bytes, "f3.npy"))
    expect(c.shape).toEqual(shape)
    const expected: Array<number> = []
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expected.push(100 * i + 10 * j + k)
    expect(Array.from(c.data)).toEqual(expected)
  })

  it("byte-swaps big-endian data", () => {
    expectSame(run(decodeNpy(b64(NUMPY_BIG_ENDIAN), "be.npy")), {
      dtype: "float64",
      shape: [2],
      data: new Float64Array([1.5, -2])
    })
    const be32 = npy("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", [0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe])
    expect(Array.from(run(decodeNpy(be32, "be.npy")).data)).toEqual([256, -2])
  })

  it("converts <i8 to int32 when in range, SchemaMismatch otherwise", () => {
    expectSame(run(decodeNpy(b64(NUMPY_I8), "i8.npy")), {
      dtype: "int32",
      shape: [2, 2],
      data: new Int32Array([1, -2, 3, 2147483647])
    })
    const big = new BigInt64Array([5n, 2n ** 31n])
    const err = failure(decodeNpy(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(big.buffer)), "big.npy"))
    expect(err).toBeInstanceOf(SchemaMismatch)
    expect(err._tag).toBe("SchemaMismatch")
    expect(err.message).toContain("2147483648")
    expect(err.message).toContain("int32")
  })

  it("reads format versions 2.0 and 3.0", () => {
    expectSame(run(decodeNpy(b64(NUMPY_V2), "v2.npy")), { dtype: "uint8", shape: [3], data: new Uint8Array([1, 2, 3]) })
    expectSame(run(decodeNpy(b64(NUMPY_V3), "v3.npy")), {
      dtype: "float32",
      shape: [3],
      data: new Float32Array([1, 2, 3])
    })
  })

  describe("errors", () => {
    const good = encodeNpy({ dtype: "int32", shape: [2, 2], data: new Int32Array([1, 2, 3, 4]) })

    it("bad magic", () => {
      const bad = good.slice()
      bad[1] = 0x58
      const err = failure(decodeNpy(bad, "m.npy"))
      expect(err._tag).toBe("CorruptData")
      expect((err as CorruptData).offset).toBe(0)
      expect(err.message).toContain("corrupt data in m.npy at byte 0: expected the .npy magic string")
      expect(err.message).toContain("found 93 58 55 4d 50 59")
    })

    it("unknown version", () => {
      const bad = good.slice()
      bad[6] = 9
      const err = failure(decodeNpy(bad, "v.npy"))
      expect(err._tag).toBe("CorruptData")
      expect(err.message).toContain("version 9.0")
    })

    it("truncated data and header", () => {
      const err = failure(decodeNpy(good.subarray(0, good.length - 4), "t.npy")) as CorruptData
      expect(err._tag).toBe("CorruptData")
      expect(err.offset).toBe(good.length - 4)
      expect(err.message).toContain(`expected a file of ${good.length} bytes`)
      expect(err.message).toContain("4 bytes missing")
      const head = failure(decodeNpy(good.subarray(0, 40), "t.npy"))
      expect(head._tag).toBe("CorruptData")
      expect(head.message).toContain("a file of only 40 bytes")
      const over = failure(decodeNpy(new Uint8Array([...good, 0]), "o.npy"))
      expect(over.message).toContain("1 unexpected trailing bytes")
    })

    it("malformed header dict", () => {
      const err = failure(decodeNpy(npy("{'descr': '<f4', 'fortran_order': False 'shape': (1,), }", [0, 0, 0, 0]), "h.npy"))
      expect(err._tag).toBe("CorruptData")
      expect((err as CorruptData).offset).toBe(10 + "{'descr': '<f4', 'fortran_order': False ".length)
      const missing = failure(decodeNpy(npy("{'descr': '<f4', 'shape': (1,), }", [0, 0, 0, 0]), "h.npy"))
      expect(missing.message).toContain("'fortran_order'")
    })

    it("unsupported dtypes are SchemaMismatch", () => {
      const c8 = failure(decodeNpy(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Array(8).fill(0)), "c.npy"))
      expect(c8._tag).toBe("SchemaMismatch")
      expect(c8.message).toContain("'<c8'")
      const structured = failure(
        decodeNpy(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]), "s.npy")
      )
      expect(structured._tag).toBe("SchemaMismatch")
      expect(structured.message).toContain("structured")
    })
  })

  it.effect("writeNpy / readNpy through a file; missing file is DatasetNotFound", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "gradfx-npy-")))
      const file = path.join(dir, "a.npy")
      const raw: RawTensor = { dtype: "float64", shape: [3], data: new Float64Array([1, 2.5, -3]) }
      yield* writeNpy(file, raw)
      expectSame(yield* readNpy(file), raw)
      const err = yield* Effect.flip(readNpy(path.join(dir, "missing.npy")))
      expect(err).toBeInstanceOf(DatasetNotFound)
      expect(err.message).toContain("missing.npy")
      yield* Effect.promise(() => fs.rm(dir, { recursive: true }))
    }))
})

describe(".npz", () => {
  it("round-trips records of arbitrary tensors", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), arbRaw, { maxKeys: 4 }), (record) => {
        const back = run(decodeNpz(encodeNpz(record), "r.npz"))
        expect(Object.keys(back).sort()).toEqual(Object.keys(record).sort())
        for (const [k, v] of Object.entries(record)) expectSame(back[k], v)
      }),
      { numRuns: 100 }
    )
  })

  it("writes stored zip entries with correct CRC-32s", () => {
    const a: RawTensor = { dtype: "int32", shape: [2], data: new Int32Array([1, 2]) }
    const bytes = encodeNpz({ a })
    const view = new DataView(bytes.buffer)
    expect(view.getUint32(0, true)).toBe(0x04034b50)
    expect(view.getUint16(8, true)).toBe(0) // stored
    const entry = encodeNpy(a)
    expect(view.getUint32(14, true)).toBe(zlib.crc32(entry))
    expect(view.getUint32(18, true)).toBe(entry.length)
    expect(new TextDecoder().decode(bytes.subarray(30, 35))).toBe("a.npy")
    expect(Array.from(bytes.subarray(35, 35 + entry.length))).toEqual(Array.from(entry))
    expect(view.getUint32(bytes.length - 22, true)).toBe(0x06054b50)
  })

  it("reads np.savez (stored) and np.savez_compressed (deflated) archives", () => {
    const plain = run(decodeNpz(b64(NUMPY_NPZ), "p.npz"))
    expect(Object.keys(plain).sort()).toEqual(["arr_0", "w"])
    expectSame(plain.arr_0, { dtype: "float32", shape: [1], data: new Float32Array([0.25]) })
    expectSame(plain.w, { dtype: "float64", shape: [2, 2], data: new Float64Array(4) })
    const packed = run(decodeNpz(b64(NUMPY_NPZ_COMPRESSED), "c.npz"))
    expectSame(packed.a, { dtype: "int32", shape: [4], data: new Int32Array([0, 1, 2, 3]) })
    expectSame(packed.b, { dtype: "bool", shape: [1, 3], data: new Uint8Array([1, 0, 1]) })
  })

  it("detects corruption", () => {
    const bytes = encodeNpz({ a: { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) } })
    const flipped = bytes.slice()
    flipped[35 + 128] ^= 0xff // first data byte of a.npy
    const crc = failure(decodeNpz(flipped, "x.npz"))
    expect(crc._tag).toBe("CorruptData")
    expect(crc.message).toContain("CRC-32")
    expect(crc.message).toContain("'a.npy'")
    const cut = failure(decodeNpz(bytes.subarray(0, bytes.length - 30), "x.npz"))
    expect(cut._tag).toBe("CorruptData")
    expect(cut.message).toContain("end-of-central-directory")
    const deflated = b64(NUMPY_NPZ_COMPRESSED).slice()
    deflated[60] ^= 0x55 // inside a.npy's deflate stream
    expect(failure(decodeNpz(deflated, "c.npz"))._tag).toBe("CorruptData")
  })

  it.effect("writeNpz / readNpz through a file", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "gradfx-npz-")))
      const file = path.join(dir, "w.npz")
      const record = {
        x: { dtype: "float32", shape: [2, 1], data: new Float32Array([1, 2]) },
        y: { dtype: "uint8", shape: [], data: new Uint8Array([7]) }
      } satisfies Record<string, RawTensor>
      yield* writeNpz(file, record)
      const back = yield* readNpz(file)
      expectSame(back.x, record.x)
      expectSame(back.y, record.y)
      yield* Effect.promise(() => fs.rm(dir, { recursive: true }))
    }))
})
