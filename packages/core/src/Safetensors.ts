/**
 * A pure (no I/O) codec for the safetensors format.
 *
 * Layout: an 8-byte little-endian unsigned header length `N`, then `N` bytes
 * of UTF-8 JSON
 * `{"__metadata__":{...},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[begin,end]},...}`
 * (padded with trailing spaces so `N` is a multiple of 8), then the byte
 * buffer. Offsets are relative to the start of the buffer; all data is
 * little-endian and row-major.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * The dtypes this codec reads and writes, with their safetensors names:
 * `float32` ↔ `F32`, `float64` ↔ `F64`, `int32` ↔ `I32`, `bool` ↔ `BOOL`
 * (one 0/1 byte per element), `uint8` ↔ `U8`.
 *
 * @since 0.1.0
 */
export type SafetensorsDType = "float32" | "float64" | "int32" | "bool" | "uint8"

/**
 * A dense row-major tensor as stored in a safetensors file. `data` is a
 * `Float32Array` / `Float64Array` / `Int32Array` for the matching dtype and a
 * `Uint8Array` for `bool` and `uint8`.
 *
 * @since 0.1.0
 */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDType
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array | Float64Array | Int32Array | Uint8Array
}

/**
 * The decoded content of a safetensors file.
 *
 * @since 0.1.0
 */
export interface SafetensorsFile {
  readonly tensors: Record<string, SafetensorsTensor>
  readonly metadata: Record<string, string>
}

/**
 * Thrown by {@link encodeSafetensors} / {@link decodeSafetensors} when the
 * input is invalid; `reason` says what is wrong (and with which tensor).
 *
 * @since 0.1.0
 */
export class SafetensorsError extends Data.TaggedError("SafetensorsError")<{
  readonly reason: string
}> {
  /** `"invalid safetensors data: <reason>"`. */
  override get message(): string {
    return `invalid safetensors data: ${this.reason}`
  }
}

interface DTypeInfo {
  readonly name: string
  readonly size: number
  readonly ctor: Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor
}

const DTYPES: Record<SafetensorsDType, DTypeInfo> = {
  float32: { name: "F32", size: 4, ctor: Float32Array },
  float64: { name: "F64", size: 8, ctor: Float64Array },
  int32: { name: "I32", size: 4, ctor: Int32Array },
  bool: { name: "BOOL", size: 1, ctor: Uint8Array },
  uint8: { name: "U8", size: 1, ctor: Uint8Array }
}

const FROM_NAME: Record<string, SafetensorsDType> = {
  F32: "float32",
  F64: "float64",
  I32: "int32",
  BOOL: "bool",
  U8: "uint8"
}

const METADATA_KEY = "__metadata__"

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const fail = (reason: string): never => {
  throw new SafetensorsError({ reason })
}

const numel = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

const shapeText = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** Little-endian bytes of a typed array (a view on little-endian hosts). */
const littleEndianBytes = (t: SafetensorsTensor): Uint8Array => {
  const { data } = t
  if (HOST_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  }
  const out = new Uint8Array(data.byteLength)
  const view = new DataView(out.buffer)
  for (let i = 0; i < data.length; i++) {
    if (t.dtype === "float32") view.setFloat32(4 * i, data[i], true)
    else if (t.dtype === "float64") view.setFloat64(8 * i, data[i], true)
    else view.setInt32(4 * i, data[i], true)
  }
  return out
}

/**
 * Encodes tensors (and optional string metadata) as a safetensors file.
 *
 * Tensors are laid out contiguously in the order of their sorted names; the
 * JSON header lists `__metadata__` first (only when `metadata` is given),
 * then the tensors in the same sorted order, and is padded with spaces to a
 * multiple of 8 bytes like the reference implementation.
 *
 * Throws {@link SafetensorsError} if a tensor's typed array does not match its
 * dtype, its length does not match its shape, its shape is not a list of
 * non-negative integers, or a tensor is named `__metadata__`.
 *
 * @since 0.1.0
 */
export const encodeSafetensors = (
  tensors: Readonly<Record<string, SafetensorsTensor>>,
  metadata?: Readonly<Record<string, string>>
): Uint8Array => {
  const names = Object.keys(tensors).sort()
  // The JSON is assembled by hand so the key order is exactly the documented one
  // (a JS object would move integer-like names such as "0" to the front).
  const parts: Array<string> = []
  if (metadata !== undefined) {
    const meta = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== "string") fail(`metadata value of ${JSON.stringify(k)} must be a string, got ${typeof v}`)
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`
    })
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${meta.join(",")}}`)
  }
  const chunks: Array<Uint8Array> = []
  let offset = 0
  for (const name of names) {
    if (name === METADATA_KEY) fail(`a tensor cannot be named ${METADATA_KEY}`)
    const t = tensors[name]
    const info = DTYPES[t.dtype]
    if (info === undefined) fail(`tensor ${JSON.stringify(name)}: unsupported dtype ${JSON.stringify(t.dtype)}`)
    if (!(t.data instanceof info.ctor)) {
      fail(`tensor ${JSON.stringify(name)}: dtype ${t.dtype} needs a ${info.ctor.name}, got ${t.data.constructor.name}`)
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${JSON.stringify(name)}: invalid shape ${shapeText(t.shape)}`)
    }
    const n = numel(t.shape)
    if (t.data.length !== n) {
      fail(`tensor ${JSON.stringify(name)}: shape ${shapeText(t.shape)} needs ${n} elements, got ${t.data.length}`)
    }
    const bytes = littleEndianBytes(t)
    const entry = { dtype: info.name, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] }
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`)
    chunks.push(bytes)
    offset += bytes.length
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`)
  const n = Math.ceil(json.length / 8) * 8
  const out = new Uint8Array(8 + n + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + n)
  let pos = 8 + n
  for (const c of chunks) {
    out.set(c, pos)
    pos += c.length
  }
  return out
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Decodes a safetensors file. Every returned typed array is a fresh, aligned
 * copy (never a view into `bytes`); `metadata` is `{}` when the file has none.
 *
 * Throws {@link SafetensorsError} on: a file shorter than 8 bytes; a header
 * length past the end of the file; a header that is not valid UTF-8 JSON
 * object; metadata values that are not strings; a tensor entry with an unknown
 * dtype, a malformed shape or malformed `data_offsets`; offsets outside the
 * buffer or overlapping another tensor's; a byte range whose size differs
 * from dtype size × product(shape). The reason names the tensor.
 *
 * @since 0.1.0
 */
export const decodeSafetensors = (bytes: Uint8Array): SafetensorsFile => {
  if (bytes.length < 8) {
    fail(`truncated file: ${bytes.length} bytes, but the 8-byte header length alone needs 8`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = view.getBigUint64(0, true)
  if (n > BigInt(bytes.length - 8)) {
    fail(`header length ${n} runs past the end of the file (${bytes.length} bytes, at most ${bytes.length - 8} available)`)
  }
  const headerEnd = 8 + Number(n)
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, headerEnd)))
  } catch (e) {
    fail(`header is not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!isRecord(header)) return fail("header must be a JSON object")
  const bufferStart = headerEnd
  const bufferLen = bytes.length - bufferStart

  const metadata: Record<string, string> = {}
  const rawMeta = header[METADATA_KEY]
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isRecord(rawMeta)) fail(`${METADATA_KEY} must be an object of strings`)
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== "string") fail(`${METADATA_KEY} value of ${JSON.stringify(k)} must be a string, got ${JSON.stringify(v)}`)
      Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true })
    }
  }

  interface Entry {
    readonly name: string
    readonly dtype: SafetensorsDType
    readonly shape: ReadonlyArray<number>
    readonly begin: number
    readonly end: number
  }
  const entries: Array<Entry> = []
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue
    const q = JSON.stringify(name)
    if (!isRecord(info)) return fail(`tensor ${q}: entry must be an object`)
    const dtype = typeof info.dtype === "string" ? FROM_NAME[info.dtype] : undefined
    if (dtype === undefined) {
      return fail(
        `tensor ${q}: unknown or unsupported dtype ${JSON.stringify(info.dtype)} (supported: ${
          Object.keys(FROM_NAME).join(", ")
        })`
      )
    }
    const shape = info.shape
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return fail(`tensor ${q}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`)
    }
    const offsets = info.data_offsets
    if (
      !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      return fail(`tensor ${q}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`)
    }
    const [begin, end] = offsets as [number, number]
    if (begin > end) return fail(`tensor ${q}: data_offsets [${begin}, ${end}] has begin after end`)
    if (end > bufferLen) {
      return fail(`tensor ${q}: data_offsets [${begin}, ${end}] out of range for a ${bufferLen}-byte data buffer`)
    }
    const expected = numel(shape) * DTYPES[dtype].size
    if (end - begin !== expected) {
      return fail(
        `tensor ${q}: data size ${end - begin} bytes does not match ${DTYPES[dtype].name} × shape ${
          shapeText(shape)
        } = ${expected} bytes`
      )
    }
    entries.push({ name, dtype, shape: [...shape] as Array<number>, begin, end })
  }

  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]
    const cur = byOffset[i]
    if (cur.begin < prev.end) {
      fail(
        `tensor ${JSON.stringify(cur.name)}: data_offsets [${cur.begin}, ${cur.end}] overlap those of ${
          JSON.stringify(prev.name)
        } [${prev.begin}, ${prev.end}]`
      )
    }
  }

  const tensors: Record<string, SafetensorsTensor> = {}
  for (const e of entries) {
    const info = DTYPES[e.dtype]
    const count = (e.end - e.begin) / info.size
    const data = new info.ctor(count)
    const src = bytes.subarray(bufferStart + e.begin, bufferStart + e.end)
    if (e.dtype === "bool") {
      for (let i = 0; i < count; i++) data[i] = src[i] !== 0 ? 1 : 0
    } else if (HOST_LITTLE_ENDIAN || info.size === 1) {
      new Uint8Array(data.buffer).set(src)
    } else {
      const v = new DataView(src.buffer, src.byteOffset, src.byteLength)
      for (let i = 0; i < count; i++) {
        data[i] = e.dtype === "float32"
          ? v.getFloat32(4 * i, true)
          : e.dtype === "float64"
          ? v.getFloat64(8 * i, true)
          : v.getInt32(4 * i, true)
      }
    }
    Object.defineProperty(tensors, e.name, {
      value: { dtype: e.dtype, shape: e.shape, data },
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return { tensors, metadata }
}
