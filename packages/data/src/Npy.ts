/**
 * NumPy `.npy` (format versions 1.0, 2.0 and 3.0) and `.npz` (a zip archive
 * of `.npy` files) readers and writers.
 *
 * Supported dtypes on read: `f4`, `f8`, `i4`, `u1`, `b1` (mapped to the
 * matching {@link RawDType}), plus `i1`, `i2`, `u2` (widened to int32) and
 * `i8`, `u4`, `u8` (narrowed to int32 when every value fits, otherwise
 * {@link SchemaMismatch}), in little-, big- (byte-swapped) or native-endian
 * byte order, C or Fortran order (Fortran is transposed to C order).
 *
 * Writes produce exactly what `np.save` produces for a C-contiguous
 * little-endian array (format 1.0, header padded with spaces to a multiple of
 * 64 bytes, including numpy's spare "growth" space).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as zlib from "node:zlib"
import {
  CorruptData,
  type DatasetNotFound,
  readFileBytes,
  SchemaMismatch,
  type WriteFailed,
  writeFileBytes
} from "./Errors.js"
import { allocData, numel, type RawDType, type RawTensor } from "./Raw.js"

// ---------------------------------------------------------------------------
// CRC-32
// ---------------------------------------------------------------------------

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/**
 * The CRC-32 (IEEE 802.3, as used by zip and gzip) of `bytes`, as an unsigned
 * 32-bit number. `crc32(new TextEncoder().encode("123456789")) === 0xcbf43926`.
 *
 * @since 0.1.0
 */
export const crc32 = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

// ---------------------------------------------------------------------------
// Python literal parser for the .npy header
// ---------------------------------------------------------------------------

type PyValue = string | number | boolean | null | ReadonlyArray<PyValue> | PyDict
interface PyDict {
  readonly [key: string]: PyValue
}

class PyParseError {
  constructor(readonly pos: number, readonly expected: string) {}
}

const parsePyLiteral = (text: string): PyValue => {
  let pos = 0
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++
  }
  const expectChar = (c: string) => {
    ws()
    if (text[pos] !== c) throw new PyParseError(pos, `'${c}'`)
    pos++
  }
  const value = (): PyValue => {
    ws()
    const c = text[pos]
    if (c === "{") {
      pos++
      const out: Record<string, PyValue> = {}
      for (;;) {
        ws()
        if (text[pos] === "}") {
          pos++
          return out
        }
        const keyPos = pos
        const key = value()
        if (typeof key !== "string") throw new PyParseError(keyPos, "a string dict key")
        expectChar(":")
        Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true })
        ws()
        if (text[pos] === ",") pos++
        else if (text[pos] !== "}") throw new PyParseError(pos, "',' or '}'")
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]"
      pos++
      const out: Array<PyValue> = []
      for (;;) {
        ws()
        if (text[pos] === close) {
          pos++
          return out
        }
        out.push(value())
        ws()
        if (text[pos] === ",") pos++
        else if (text[pos] !== close) throw new PyParseError(pos, `',' or '${close}'`)
      }
    }
    if (c === "'" || c === "\"") {
      const start = pos++
      let s = ""
      while (pos < text.length && text[pos] !== c) {
        if (text[pos] === "\\") {
          pos++
          const e = text[pos]
          s += e === "n" ? "\n" : e === "t" ? "\t" : e === "r" ? "\r" : e === "0" ? "\0" : e
        } else s += text[pos]
        pos++
      }
      if (pos >= text.length) throw new PyParseError(start, "a terminated string")
      pos++
      return s
    }
    const m = /^(?:[+-]?\d+L?|True|False|None)/.exec(text.slice(pos, pos + 64))
    if (m === null) throw new PyParseError(pos, "a Python literal")
    pos += m[0].length
    if (m[0] === "True") return true
    if (m[0] === "False") return false
    if (m[0] === "None") return null
    return Number(m[0].replace("L", ""))
  }
  const v = value()
  ws()
  if (pos !== text.length) throw new PyParseError(pos, "end of header")
  return v
}

// ---------------------------------------------------------------------------
// dtype descriptors
// ---------------------------------------------------------------------------

interface NpyType {
  readonly kind: "f" | "i" | "u" | "b"
  readonly size: number
  readonly out: RawDType
  /** Values may not fit the output dtype: range-check. */
  readonly narrowing: boolean
}

const NPY_TYPES: Record<string, NpyType> = {
  f4: { kind: "f", size: 4, out: "float32", narrowing: false },
  f8: { kind: "f", size: 8, out: "float64", narrowing: false },
  i1: { kind: "i", size: 1, out: "int32", narrowing: false },
  i2: { kind: "i", size: 2, out: "int32", narrowing: false },
  i4: { kind: "i", size: 4, out: "int32", narrowing: false },
  i8: { kind: "i", size: 8, out: "int32", narrowing: true },
  u1: { kind: "u", size: 1, out: "uint8", narrowing: false },
  u2: { kind: "u", size: 2, out: "int32", narrowing: false },
  u4: { kind: "u", size: 4, out: "int32", narrowing: true },
  u8: { kind: "u", size: 8, out: "int32", narrowing: true },
  b1: { kind: "b", size: 1, out: "bool", narrowing: false }
}

const DESCR_OF: Record<RawDType, string> = {
  float32: "<f4",
  float64: "<f8",
  int32: "<i4",
  bool: "|b1",
  uint8: "|u1"
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const readElement = (view: DataView, t: NpyType, off: number, le: boolean): number | bigint => {
  switch (t.kind) {
    case "f":
      return t.size === 4 ? view.getFloat32(off, le) : view.getFloat64(off, le)
    case "b":
      return view.getUint8(off) !== 0 ? 1 : 0
    case "i":
      return t.size === 1
        ? view.getInt8(off)
        : t.size === 2
        ? view.getInt16(off, le)
        : t.size === 4
        ? view.getInt32(off, le)
        : view.getBigInt64(off, le)
    case "u":
      return t.size === 1
        ? view.getUint8(off)
        : t.size === 2
        ? view.getUint16(off, le)
        : t.size === 4
        ? view.getUint32(off, le)
        : view.getBigUint64(off, le)
  }
}

/** Reorders Fortran-ordered (column-major) flat data into C order. */
const fortranToC = <T extends Float32Array | Float64Array | Int32Array | Uint8Array>(
  src: T,
  shape: ReadonlyArray<number>
): T => {
  const n = src.length
  const nd = shape.length
  if (nd < 2 || n === 0) return src
  const out = new (src.constructor as new(n: number) => T)(n)
  const fstride: Array<number> = []
  let s = 1
  for (let k = 0; k < nd; k++) {
    fstride.push(s)
    s *= shape[k]
  }
  const idx = new Array<number>(nd).fill(0)
  let f = 0
  for (let i = 0; i < n; i++) {
    out[i] = src[f]
    let k = nd - 1
    idx[k]++
    f += fstride[k]
    while (k > 0 && idx[k] === shape[k]) {
      f -= shape[k] * fstride[k]
      idx[k] = 0
      k--
      idx[k]++
      f += fstride[k]
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// .npy
// ---------------------------------------------------------------------------

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
const ARRAY_ALIGN = 64
const GROWTH_AXIS_MAX_DIGITS = 21

const latin1 = (bytes: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i])
  return s
}

const hexBytes = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ")

const pyRepr = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

const shapeRepr = (shape: ReadonlyArray<number>): string =>
  shape.length === 0 ? "()" : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`

/**
 * Encodes a tensor as a `.npy` file, byte for byte as `np.save` writes a
 * C-contiguous little-endian array: format 1.0 (2.0 if the header exceeds
 * 65535 bytes), header `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
 * padded with spaces and a final `\n` so the data starts at a multiple of 64.
 *
 * @since 0.1.0
 */
export const encodeNpy = (raw: RawTensor): Uint8Array => {
  const n = numel(raw.shape)
  if (raw.data.length !== n) {
    throw new RangeError(`encodeNpy: shape [${raw.shape.join(", ")}] needs ${n} elements, got ${raw.data.length}`)
  }
  let dict = `{'descr': ${pyRepr(DESCR_OF[raw.dtype])}, 'fortran_order': False, 'shape': ${shapeRepr(raw.shape)}, }`
  // numpy >= 1.24 leaves room for the first axis to grow in place.
  if (raw.shape.length > 0) dict += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(raw.shape[0]).length)
  let version = 1
  let lenBytes = 2
  let padded = dict + " ".repeat(ARRAY_ALIGN - ((MAGIC.length + 2 + lenBytes + dict.length + 1) % ARRAY_ALIGN)) + "\n"
  if (padded.length > 0xffff) {
    version = 2
    lenBytes = 4
    padded = dict + " ".repeat(ARRAY_ALIGN - ((MAGIC.length + 2 + lenBytes + dict.length + 1) % ARRAY_ALIGN)) + "\n"
  }
  const headerEnd = MAGIC.length + 2 + lenBytes + padded.length
  const itemsize = raw.data.BYTES_PER_ELEMENT
  const out = new Uint8Array(headerEnd + n * itemsize)
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  out[6] = version
  out[7] = 0
  if (lenBytes === 2) view.setUint16(8, padded.length, true)
  else view.setUint32(8, padded.length, true)
  for (let i = 0; i < padded.length; i++) out[MAGIC.length + 2 + lenBytes + i] = padded.charCodeAt(i)
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(raw.data.buffer, raw.data.byteOffset, n * itemsize), headerEnd)
  } else {
    const src = raw.data
    for (let i = 0; i < n; i++) {
      const off = headerEnd + i * itemsize
      switch (raw.dtype) {
        case "float32":
          view.setFloat32(off, src[i], true)
          break
        case "float64":
          view.setFloat64(off, src[i], true)
          break
        case "int32":
          view.setInt32(off, src[i], true)
          break
        default:
          out[off] = src[i]
      }
    }
  }
  return out
}

/**
 * Decodes a `.npy` file (format 1.0, 2.0 or 3.0). `file` names the source in
 * errors.
 *
 * Fails with {@link CorruptData} on a bad magic string or version, a header
 * that is cut short or is not a valid Python dict literal with `descr`,
 * `fortran_order` and `shape`, or a data section whose length differs from
 * product(shape) × itemsize; with {@link SchemaMismatch} on an unsupported
 * dtype (structured, complex, float16, strings, objects, ...) or 64-bit /
 * uint32 integers outside the int32 range.
 *
 * @since 0.1.0
 */
export const decodeNpy = (bytes: Uint8Array, file: string): Effect.Effect<RawTensor, CorruptData | SchemaMismatch> =>
  Effect.suspend((): Effect.Effect<RawTensor, CorruptData | SchemaMismatch> => {
    const corrupt = (offset: number, expected: string, actual: string) =>
      Effect.fail(new CorruptData({ file, offset, expected, actual }))
    const mismatch = (message: string) => Effect.fail(new SchemaMismatch({ file, message }))
    if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
      return corrupt(0, "the .npy magic string 93 4e 55 4d 50 59 (\\x93NUMPY)", hexBytes(bytes.subarray(0, 6)))
    }
    const major = bytes[6]
    const minor = bytes[7]
    if (major < 1 || major > 3 || minor !== 0) {
      return corrupt(6, "format version 1.0, 2.0 or 3.0", `version ${major}.${minor}`)
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const lenBytes = major === 1 ? 2 : 4
    if (bytes.length < 8 + lenBytes) {
      return corrupt(8, `a ${lenBytes}-byte header length`, `end of file after ${bytes.length} bytes`)
    }
    const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
    const headerStart = 8 + lenBytes
    const dataStart = headerStart + headerLen
    if (dataStart > bytes.length) {
      return corrupt(
        8,
        `a header of ${headerLen} bytes (ending at byte ${dataStart})`,
        `a file of only ${bytes.length} bytes`
      )
    }
    const headerBytes = bytes.subarray(headerStart, dataStart)
    const headerText = major === 3 ? new TextDecoder().decode(headerBytes) : latin1(headerBytes)
    let header: PyValue
    try {
      header = parsePyLiteral(headerText)
    } catch (e) {
      if (!(e instanceof PyParseError)) throw e
      return corrupt(
        headerStart + e.pos,
        `${e.expected} in the header dict`,
        JSON.stringify(headerText.slice(e.pos, e.pos + 20))
      )
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      return corrupt(headerStart, "a header dict", JSON.stringify(headerText.trim().slice(0, 40)))
    }
    const dict = header as PyDict
    const descr = dict["descr"]
    const fortran = dict["fortran_order"]
    const shapeV = dict["shape"]
    if (descr === undefined || fortran === undefined || shapeV === undefined) {
      return corrupt(
        headerStart,
        "a header with keys 'descr', 'fortran_order' and 'shape'",
        JSON.stringify(headerText.trim())
      )
    }
    if (typeof fortran !== "boolean") {
      return corrupt(headerStart, "'fortran_order' to be True or False", JSON.stringify(fortran))
    }
    if (
      !Array.isArray(shapeV) || !shapeV.every((d): d is number => typeof d === "number" && Number.isInteger(d) && d >= 0)
    ) {
      return corrupt(headerStart, "'shape' to be a tuple of non-negative integers", JSON.stringify(shapeV))
    }
    const shape: ReadonlyArray<number> = shapeV
    if (typeof descr !== "string") {
      return mismatch(`structured dtype ${JSON.stringify(descr)} is not supported; expected one of <f4 <f8 <i4 <i8 |b1 |u1`)
    }
    const order = descr[0]
    const t = NPY_TYPES[descr.slice(1)]
    if (!"<>|=".includes(order) || t === undefined) {
      return mismatch(`unsupported dtype '${descr}'; expected one of <f4 <f8 <i4 <i8 |b1 |u1 (or big-endian >f4 ...)`)
    }
    const le = order === ">" ? false : order === "<" || order === "|" ? true : HOST_LITTLE_ENDIAN
    const n = numel(shape)
    const expectedEnd = dataStart + n * t.size
    if (bytes.length !== expectedEnd) {
      return corrupt(
        Math.min(bytes.length, expectedEnd),
        `a file of ${expectedEnd} bytes (${dataStart}-byte header + ${n} × ${t.size}-byte '${descr}' elements for shape ${
          shapeRepr(shape)
        })`,
        bytes.length < expectedEnd
          ? `${bytes.length} bytes (truncated, ${expectedEnd - bytes.length} bytes missing)`
          : `${bytes.length} bytes (${bytes.length - expectedEnd} unexpected trailing bytes)`
      )
    }
    let data = allocData(t.out, n)
    if (le === HOST_LITTLE_ENDIAN && data.BYTES_PER_ELEMENT === t.size && t.kind !== "b") {
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart, expectedEnd))
    } else {
      for (let i = 0; i < n; i++) {
        const v = readElement(view, t, dataStart + i * t.size, le)
        if (t.narrowing) {
          const big = typeof v === "bigint" ? v : BigInt(v)
          if (big < -2147483648n || big > 2147483647n) {
            return mismatch(
              `'${descr}' value ${big} at flat index ${i} does not fit in int32 (only int32-range values are supported)`
            )
          }
          data[i] = Number(big)
        } else data[i] = v as number
      }
    }
    if (fortran) data = fortranToC(data, shape)
    return Effect.succeed({ dtype: t.out, shape: [...shape], data })
  })

// ---------------------------------------------------------------------------
// .npz (zip)
// ---------------------------------------------------------------------------

const SIG_LOCAL = 0x04034b50
const SIG_CENTRAL = 0x02014b50
const SIG_EOCD = 0x06054b50
const SIG_ZIP64_LOCATOR = 0x07064b50
const SIG_ZIP64_EOCD = 0x06064b50
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1

/**
 * Encodes a record of tensors as an `.npz` archive (like `np.savez`): a zip
 * file with one stored (uncompressed) entry `<name>.npy` per tensor, with
 * correct CRC-32s. Entry timestamps are fixed (1980-01-01) so the output is
 * deterministic.
 *
 * @since 0.1.0
 */
export const encodeNpz = (record: Readonly<Record<string, RawTensor>>): Uint8Array => {
  const enc = new TextEncoder()
  const entries = Object.entries(record).map(([key, raw]) => {
    const name = enc.encode(key + ".npy")
    const data = encodeNpy(raw)
    // eslint-disable-next-line no-control-regex
    return { name, data, crc: crc32(data), utf8: /[^\x00-\x7f]/.test(key) }
  })
  if (entries.length > 0xffff) throw new RangeError("encodeNpz: at most 65535 arrays are supported")
  const localSize = entries.reduce((s, e) => s + 30 + e.name.length + e.data.length, 0)
  const centralSize = entries.reduce((s, e) => s + 46 + e.name.length, 0)
  if (localSize + centralSize > 0xffffffff) throw new RangeError("encodeNpz: archives over 4 GiB are not supported")
  const out = new Uint8Array(localSize + centralSize + 22)
  const view = new DataView(out.buffer)
  let pos = 0
  const offsets: Array<number> = []
  for (const e of entries) {
    offsets.push(pos)
    view.setUint32(pos, SIG_LOCAL, true)
    view.setUint16(pos + 4, 20, true) // version needed: 2.0
    view.setUint16(pos + 6, e.utf8 ? 0x0800 : 0, true)
    view.setUint16(pos + 8, 0, true) // stored
    view.setUint16(pos + 10, 0, true) // time 00:00:00
    view.setUint16(pos + 12, DOS_DATE_1980_01_01, true)
    view.setUint32(pos + 14, e.crc, true)
    view.setUint32(pos + 18, e.data.length, true)
    view.setUint32(pos + 22, e.data.length, true)
    view.setUint16(pos + 26, e.name.length, true)
    view.setUint16(pos + 28, 0, true)
    out.set(e.name, pos + 30)
    out.set(e.data, pos + 30 + e.name.length)
    pos += 30 + e.name.length + e.data.length
  }
  const cdStart = pos
  entries.forEach((e, i) => {
    view.setUint32(pos, SIG_CENTRAL, true)
    view.setUint16(pos + 4, 20, true) // version made by
    view.setUint16(pos + 6, 20, true) // version needed
    view.setUint16(pos + 8, e.utf8 ? 0x0800 : 0, true)
    view.setUint16(pos + 10, 0, true)
    view.setUint16(pos + 12, 0, true)
    view.setUint16(pos + 14, DOS_DATE_1980_01_01, true)
    view.setUint32(pos + 16, e.crc, true)
    view.setUint32(pos + 20, e.data.length, true)
    view.setUint32(pos + 24, e.data.length, true)
    view.setUint16(pos + 28, e.name.length, true)
    // extra length, comment length, disk number, internal attrs, external attrs: 0
    view.setUint32(pos + 42, offsets[i], true)
    out.set(e.name, pos + 46)
    pos += 46 + e.name.length
  })
  view.setUint32(pos, SIG_EOCD, true)
  view.setUint16(pos + 8, entries.length, true)
  view.setUint16(pos + 10, entries.length, true)
  view.setUint32(pos + 12, pos - cdStart, true)
  view.setUint32(pos + 16, cdStart, true)
  return out
}

/**
 * Decodes an `.npz` archive (as written by `np.savez` or
 * `np.savez_compressed`) into a record keyed by array name (the entry name
 * without its `.npy` suffix; entries not ending in `.npy` are skipped).
 *
 * Reads stored and deflated entries, ZIP64 archives included, and checks
 * each entry's CRC-32 and size. Fails with {@link CorruptData} for a damaged
 * archive or entry (naming `file` and the entry), {@link SchemaMismatch} for
 * encrypted entries or unsupported compression methods, and the
 * {@link decodeNpy} errors for an entry's content.
 *
 * @since 0.1.0
 */
export const decodeNpz = (
  bytes: Uint8Array,
  file: string
): Effect.Effect<Record<string, RawTensor>, CorruptData | SchemaMismatch> =>
  Effect.suspend((): Effect.Effect<Record<string, RawTensor>, CorruptData | SchemaMismatch> => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const corrupt = (offset: number, expected: string, actual: string) =>
      Effect.fail(new CorruptData({ file, offset, expected, actual }))
    const u16 = (o: number) => view.getUint16(o, true)
    const u32 = (o: number) => view.getUint32(o, true)
    const u64 = (o: number) => Number(view.getBigUint64(o, true))

    let eocd = -1
    for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
      if (u32(p) === SIG_EOCD) {
        eocd = p
        break
      }
    }
    if (eocd < 0) {
      return corrupt(
        Math.max(0, bytes.length - 22),
        "a zip end-of-central-directory record (50 4b 05 06)",
        `none in the last ${Math.min(bytes.length, 22 + 0xffff)} bytes`
      )
    }
    let count = u16(eocd + 10)
    let cdSize = u32(eocd + 12)
    let cdOffset = u32(eocd + 16)
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20
      if (loc < 0 || u32(loc) !== SIG_ZIP64_LOCATOR) {
        return corrupt(Math.max(0, loc), "a ZIP64 end-of-central-directory locator (50 4b 06 07)", "none")
      }
      const z = u64(loc + 8)
      if (z + 56 > bytes.length || u32(z) !== SIG_ZIP64_EOCD) {
        return corrupt(z, "a ZIP64 end-of-central-directory record (50 4b 06 06)", "none")
      }
      count = u64(z + 32)
      cdSize = u64(z + 40)
      cdOffset = u64(z + 48)
    }
    if (cdOffset + cdSize > bytes.length) {
      return corrupt(
        eocd + 16,
        `a central directory within the file (bytes ${cdOffset}..${cdOffset + cdSize})`,
        `a file of ${bytes.length} bytes`
      )
    }
    const decoder = new TextDecoder()
    const pending: Array<{ readonly key: string; readonly content: Uint8Array; readonly entry: string }> = []
    let p = cdOffset
    for (let i = 0; i < count; i++) {
      if (p + 46 > bytes.length || u32(p) !== SIG_CENTRAL) {
        return corrupt(p, `central directory entry ${i + 1} of ${count} (50 4b 01 02)`, hexBytes(bytes.subarray(p, p + 4)))
      }
      const flags = u16(p + 8)
      const method = u16(p + 10)
      const crc = u32(p + 16)
      let compSize = u32(p + 20)
      let size = u32(p + 24)
      const nameLen = u16(p + 28)
      const extraLen = u16(p + 30)
      const commentLen = u16(p + 32)
      let localOffset = u32(p + 42)
      if (p + 46 + nameLen + extraLen + commentLen > bytes.length) {
        return corrupt(p, `central directory entry ${i + 1} of ${count} within the file`, "an entry running past the end")
      }
      const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen))
      // ZIP64 extended information: only the fields saturated in the fixed record are present, in this order.
      let x = p + 46 + nameLen
      const xEnd = x + extraLen
      while (x + 4 <= xEnd) {
        const id = u16(x)
        const len = u16(x + 2)
        if (id === 0x0001) {
          let q = x + 4
          if (size === 0xffffffff) (size = u64(q)), (q += 8)
          if (compSize === 0xffffffff) (compSize = u64(q)), (q += 8)
          if (localOffset === 0xffffffff) localOffset = u64(q)
        }
        x += 4 + len
      }
      p = xEnd + commentLen
      if (name.endsWith("/") || !name.endsWith(".npy")) continue
      const entry = `${file}:${name}`
      if (flags & 1) return Effect.fail(new SchemaMismatch({ file: entry, message: "encrypted zip entries are not supported" }))
      if (localOffset + 30 > bytes.length || u32(localOffset) !== SIG_LOCAL) {
        return corrupt(
          localOffset,
          `the local header of '${name}' (50 4b 03 04)`,
          hexBytes(bytes.subarray(localOffset, localOffset + 4))
        )
      }
      const dataStart = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
      if (dataStart + compSize > bytes.length) {
        return corrupt(
          bytes.length,
          `${compSize} bytes of data for '${name}' (ending at byte ${dataStart + compSize})`,
          `end of file after ${bytes.length} bytes`
        )
      }
      const packed = bytes.subarray(dataStart, dataStart + compSize)
      let content: Uint8Array
      if (method === 0) content = packed
      else if (method === 8) {
        try {
          const b = zlib.inflateRawSync(packed)
          content = new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
        } catch (e) {
          return corrupt(
            dataStart,
            `a valid deflate stream for '${name}'`,
            `a damaged one (${e instanceof Error ? e.message : String(e)})`
          )
        }
      } else {
        return Effect.fail(
          new SchemaMismatch({
            file: entry,
            message: `zip compression method ${method} is not supported (only stored and deflated)`
          })
        )
      }
      if (content.length !== size) {
        return corrupt(dataStart, `${size} uncompressed bytes for '${name}'`, `${content.length} bytes`)
      }
      const actualCrc = crc32(content)
      if (actualCrc !== crc) {
        return corrupt(
          dataStart,
          `CRC-32 0x${crc.toString(16).padStart(8, "0")} for '${name}'`,
          `0x${actualCrc.toString(16).padStart(8, "0")}`
        )
      }
      pending.push({ key: name.slice(0, -4), content, entry })
    }
    return Effect.map(
      Effect.forEach(pending, ({ content, entry, key }) => Effect.map(decodeNpy(content, entry), (raw) => [key, raw] as const)),
      (pairs) => Object.fromEntries(pairs)
    )
  })

// ---------------------------------------------------------------------------
// files
// ---------------------------------------------------------------------------

/**
 * Reads and decodes a `.npy` file. A missing file is a {@link DatasetNotFound}.
 *
 * @since 0.1.0
 */
export const readNpy = (path: string): Effect.Effect<RawTensor, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.flatMap(readFileBytes(path, "expected a NumPy .npy file"), (bytes) => decodeNpy(bytes, path))

/**
 * Encodes a tensor with {@link encodeNpy} and writes it to `path`.
 *
 * @since 0.1.0
 */
export const writeNpy = (path: string, raw: RawTensor): Effect.Effect<void, WriteFailed> =>
  Effect.flatMap(Effect.sync(() => encodeNpy(raw)), (bytes) => writeFileBytes(path, bytes))

/**
 * Reads and decodes an `.npz` archive. A missing file is a {@link DatasetNotFound}.
 *
 * @since 0.1.0
 */
export const readNpz = (
  path: string
): Effect.Effect<Record<string, RawTensor>, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.flatMap(readFileBytes(path, "expected a NumPy .npz archive"), (bytes) => decodeNpz(bytes, path))

/**
 * Encodes a record of tensors with {@link encodeNpz} and writes it to `path`.
 *
 * @since 0.1.0
 */
export const writeNpz = (path: string, record: Readonly<Record<string, RawTensor>>): Effect.Effect<void, WriteFailed> =>
  Effect.flatMap(Effect.sync(() => encodeNpz(record)), (bytes) => writeFileBytes(path, bytes))
