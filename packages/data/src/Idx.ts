/**
 * The IDX file format used by MNIST and its relatives.
 *
 * Layout: a 4-byte magic `0x00 0x00 <type> <ndim>`, then `ndim` big-endian
 * `uint32` dimension sizes, then the elements in row-major order, big-endian.
 * Element types: `0x08` uint8, `0x09` int8, `0x0B` int16, `0x0C` int32,
 * `0x0D` float32, `0x0E` float64. Files may be gzip-compressed.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as zlib from "node:zlib"
import { CorruptData, type DatasetNotFound, readFileBytes, type WriteFailed, writeFileBytes } from "./Errors.js"
import { numel, type RawTensor } from "./Raw.js"

interface IdxType {
  readonly code: number
  readonly name: string
  readonly size: number
}

const IDX_TYPES: ReadonlyArray<IdxType> = [
  { code: 0x08, name: "uint8", size: 1 },
  { code: 0x09, name: "int8", size: 1 },
  { code: 0x0b, name: "int16", size: 2 },
  { code: 0x0c, name: "int32", size: 4 },
  { code: 0x0d, name: "float32", size: 4 },
  { code: 0x0e, name: "float64", size: 8 }
]

const hex32 = (n: number): string => "0x" + (n >>> 0).toString(16).padStart(8, "0")

/**
 * `true` when `bytes` start with the gzip magic `0x1f 0x8b`.
 *
 * @since 0.1.0
 */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

/**
 * Gunzips `bytes` if they start with the gzip magic, otherwise returns them
 * unchanged. A damaged gzip stream is a {@link CorruptData}.
 *
 * @since 0.1.0
 */
export const maybeGunzip = (bytes: Uint8Array, file: string): Effect.Effect<Uint8Array, CorruptData> =>
  isGzip(bytes)
    ? Effect.try({
      try: () => {
        const out = zlib.gunzipSync(bytes)
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
      },
      catch: (e) =>
        new CorruptData({
          file,
          offset: 0,
          expected: "a valid gzip stream",
          actual: `a damaged one (${e instanceof Error ? e.message : String(e)})`
        })
    })
    : Effect.succeed(bytes)

const decodePlain = (bytes: Uint8Array, file: string): Effect.Effect<RawTensor, CorruptData> => {
  const fail = (offset: number, expected: string, actual: string) =>
    Effect.fail(new CorruptData({ file, offset, expected, actual }))
  if (bytes.length < 4) {
    return fail(0, "an IDX header of at least 4 bytes", `a file of ${bytes.length} bytes`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const magic = view.getUint32(0, false)
  const type = IDX_TYPES.find((t) => t.code === bytes[2])
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined) {
    return fail(
      0,
      `an IDX magic number 0x000008NN..0x00000eNN (00 00 <type> <ndim>, type one of ${
        IDX_TYPES.map((t) => "0x" + t.code.toString(16).padStart(2, "0")).join(", ")
      })`,
      hex32(magic)
    )
  }
  const ndim = bytes[3]
  const headerLen = 4 + 4 * ndim
  if (bytes.length < headerLen) {
    return fail(
      bytes.length,
      `${headerLen} header bytes for ${ndim} dimensions (magic ${hex32(magic)})`,
      `end of file after ${bytes.length} bytes`
    )
  }
  const shape: Array<number> = []
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false))
  const n = numel(shape)
  const expectedLen = headerLen + n * type.size
  if (bytes.length !== expectedLen) {
    const offset = Math.min(bytes.length, expectedLen)
    return fail(
      offset,
      `a file of ${expectedLen} bytes (${headerLen}-byte header + ${n} ${type.name} elements for shape [${
        shape.join(", ")
      }])`,
      bytes.length < expectedLen
        ? `${bytes.length} bytes (truncated, ${expectedLen - bytes.length} bytes missing)`
        : `${bytes.length} bytes (${bytes.length - expectedLen} unexpected trailing bytes)`
    )
  }
  const off = headerLen
  switch (type.code) {
    case 0x08:
      return Effect.succeed({ dtype: "uint8", shape, data: bytes.slice(off, off + n) })
    case 0x09: {
      const data = new Int32Array(n)
      for (let i = 0; i < n; i++) data[i] = view.getInt8(off + i)
      return Effect.succeed({ dtype: "int32", shape, data })
    }
    case 0x0b: {
      const data = new Int32Array(n)
      for (let i = 0; i < n; i++) data[i] = view.getInt16(off + 2 * i, false)
      return Effect.succeed({ dtype: "int32", shape, data })
    }
    case 0x0c: {
      const data = new Int32Array(n)
      for (let i = 0; i < n; i++) data[i] = view.getInt32(off + 4 * i, false)
      return Effect.succeed({ dtype: "int32", shape, data })
    }
    case 0x0d: {
      const data = new Float32Array(n)
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(off + 4 * i, false)
      return Effect.succeed({ dtype: "float32", shape, data })
    }
    default: {
      const data = new Float64Array(n)
      for (let i = 0; i < n; i++) data[i] = view.getFloat64(off + 8 * i, false)
      return Effect.succeed({ dtype: "float64", shape, data })
    }
  }
}

/**
 * Decodes an IDX file (gunzipping it first if it starts with the gzip magic).
 *
 * Element types map to dtypes as: uint8 → `"uint8"`, int8/int16/int32 →
 * `"int32"`, float32 → `"float32"`, float64 → `"float64"`. Fails with
 * {@link CorruptData} (naming `file`, the byte offset and expected vs. found)
 * on a bad magic number, a header cut short, or a file whose length is not
 * exactly header + product(dims) × itemsize (truncated or over-long).
 *
 * @since 0.1.0
 */
export const decodeIdx = (bytes: Uint8Array, file: string): Effect.Effect<RawTensor, CorruptData> =>
  Effect.flatMap(maybeGunzip(bytes, file), (plain) => decodePlain(plain, file))

/**
 * Encodes a tensor as an (uncompressed) IDX file: `uint8`/`bool` → type
 * `0x08`, `int32` → `0x0C`, `float32` → `0x0D`, `float64` → `0x0E`. Throws a
 * `RangeError` for more than 255 dimensions.
 *
 * @since 0.1.0
 */
export const encodeIdx = (raw: RawTensor): Uint8Array => {
  const ndim = raw.shape.length
  if (ndim > 255) throw new RangeError(`encodeIdx: IDX supports at most 255 dimensions, got ${ndim}`)
  const n = numel(raw.shape)
  const code = raw.dtype === "int32" ? 0x0c : raw.dtype === "float32" ? 0x0d : raw.dtype === "float64" ? 0x0e : 0x08
  const size = IDX_TYPES.find((t) => t.code === code)!.size
  const header = 4 + 4 * ndim
  const out = new Uint8Array(header + n * size)
  const view = new DataView(out.buffer)
  out[2] = code
  out[3] = ndim
  raw.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
  const src = raw.data
  switch (code) {
    case 0x08:
      out.set(src as Uint8Array, header)
      break
    case 0x0c:
      for (let i = 0; i < n; i++) view.setInt32(header + 4 * i, src[i], false)
      break
    case 0x0d:
      for (let i = 0; i < n; i++) view.setFloat32(header + 4 * i, src[i], false)
      break
    default:
      for (let i = 0; i < n; i++) view.setFloat64(header + 8 * i, src[i], false)
  }
  return out
}

/**
 * Reads and decodes an IDX file (plain or gzipped) from disk. A missing or
 * unreadable file is a {@link DatasetNotFound}.
 *
 * @since 0.1.0
 */
export const readIdx = (path: string): Effect.Effect<RawTensor, DatasetNotFound | CorruptData> =>
  Effect.flatMap(readFileBytes(path, "expected an IDX file (optionally gzipped)"), (bytes) => decodeIdx(bytes, path))

/**
 * Encodes a tensor with {@link encodeIdx} and writes it to disk (uncompressed).
 *
 * @since 0.1.0
 */
export const writeIdx = (path: string, raw: RawTensor): Effect.Effect<void, WriteFailed> =>
  Effect.flatMap(Effect.sync(() => encodeIdx(raw)), (bytes) => writeFileBytes(path, bytes))
