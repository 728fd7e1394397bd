/**
 * Conversions between the file formats' neutral {@link RawTensor} and
 * `@gradfx/core`'s `NdArray`, and the file readers/writers of `Npy`, `Csv`
 * and `Idx` lifted to arrays.
 *
 * The file-format modules stay independent of the array library (they speak
 * `RawTensor`: a dtype, a shape and a typed array); this module is the one
 * bridge. `uint8` has no `NdArray` dtype: it becomes `int32` by default, or
 * any dtype asked for (`float32` for pixels, say).
 *
 * @since 0.1.0
 */
import { NdArray } from "@gradfx/core"
import { Effect } from "effect"
import { type CsvData, type CsvOptions, formatCsv, readCsv } from "./Csv.js"
import { type CorruptData, type DatasetNotFound, type SchemaMismatch, type WriteFailed, writeFileBytes } from "./Errors.js"
import { readIdx, writeIdx } from "./Idx.js"
import { readNpy, readNpz, writeNpy, writeNpz } from "./Npy.js"
import type { RawTensor } from "./Raw.js"

/**
 * An `NdArray` dtype (`float32`, `float64`, `int32`, `bool`).
 *
 * @since 0.1.0
 */
export type DType = NdArray["dtype"]

/**
 * The `NdArray` dtype a raw dtype maps to by default: `uint8` → `int32`, the
 * others to themselves.
 *
 * @example
 * Convert.defaultDType("uint8") // "int32"
 * @category conversions
 * @since 0.1.0
 */
export const defaultDType = (dtype: RawTensor["dtype"]): DType => (dtype === "uint8" ? "int32" : dtype)

/**
 * A raw tensor as an `NdArray` (one copy of the data). `uint8` data becomes
 * `int32` unless `dtype` says otherwise; a given `dtype` converts the values
 * (`bool`: non-zero → true).
 *
 * @example
 * const raw = { dtype: "uint8", shape: [2], data: Uint8Array.of(0, 255) } as const
 * Convert.toNdArray(raw).toArray()                       // [0, 255] (int32)
 * Convert.toNdArray(raw, { dtype: "float32" }).dtype     // "float32"
 * @category conversions
 * @since 0.1.0
 */
export const toNdArray = (raw: RawTensor, options: { readonly dtype?: DType } = {}): NdArray => {
  const dtype = options.dtype ?? defaultDType(raw.dtype)
  return NdArray.array(raw.data, { dtype, shape: raw.shape })
}

/**
 * An `NdArray`'s values as a raw tensor (a contiguous copy; `bool` is a
 * `Uint8Array` of 0/1).
 *
 * @example
 * Convert.fromNdArray(NdArray.array([[1, 2], [3, 4]])) // { dtype: "float32", shape: [2, 2], data: Float32Array [1, 2, 3, 4] }
 * @category conversions
 * @since 0.1.0
 */
export const fromNdArray = (x: NdArray): RawTensor => ({ dtype: x.dtype, shape: [...x.shape], data: x.data() })

/**
 * Reads a NumPy `.npy` file as an `NdArray`. Errors: `DatasetNotFound`,
 * `CorruptData` (file, byte offset, expected vs. found), `SchemaMismatch`
 * (unsupported dtype).
 *
 * @example
 * const x = yield* Convert.loadNpy("weights.npy")
 * @category files
 * @since 0.1.0
 */
export const loadNpy = (
  path: string,
  options: { readonly dtype?: DType } = {}
): Effect.Effect<NdArray, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.map(readNpy(path), (raw) => toNdArray(raw, options))

/**
 * Writes an `NdArray` as a NumPy `.npy` file (readable by `np.load`).
 *
 * @example
 * yield* Convert.saveNpy("x.npy", NdArray.arange(6))
 * @category files
 * @since 0.1.0
 */
export const saveNpy = (path: string, x: NdArray): Effect.Effect<void, WriteFailed> =>
  Effect.suspend(() => writeNpy(path, fromNdArray(x)))

/**
 * Reads a NumPy `.npz` archive as a record of `NdArray`s keyed by entry name
 * (without `.npy`).
 *
 * @example
 * const { w, b } = yield* Convert.loadNpz("params.npz")
 * @category files
 * @since 0.1.0
 */
export const loadNpz = (
  path: string
): Effect.Effect<Record<string, NdArray>, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.map(readNpz(path), (record) => Object.fromEntries(Object.entries(record).map(([k, raw]) => [k, toNdArray(raw)])))

/**
 * Writes a record of `NdArray`s as an `.npz` archive (like `np.savez`).
 *
 * @example
 * yield* Convert.saveNpz("params.npz", { w, b })
 * @category files
 * @since 0.1.0
 */
export const saveNpz = (path: string, arrays: Readonly<Record<string, NdArray>>): Effect.Effect<void, WriteFailed> =>
  Effect.suspend(() =>
    writeNpz(path, Object.fromEntries(Object.entries(arrays).map(([k, x]) => [k, fromNdArray(x)])))
  )

/**
 * A numeric CSV file as arrays: `features` float64 `[rows, columns]`, and
 * `labels` `[rows]` (int32 when every label is an integer) when
 * `labelColumn` is given.
 *
 * @example
 * const { features, labels } = yield* Convert.loadCsv("iris.csv", { labelColumn: "species" })
 * @category files
 * @since 0.1.0
 */
export const loadCsv = (
  path: string,
  options: CsvOptions = {}
): Effect.Effect<
  { readonly columns: ReadonlyArray<string>; readonly features: NdArray; readonly labels?: NdArray },
  DatasetNotFound | CorruptData | SchemaMismatch
> =>
  Effect.map(readCsv(path, options), (csv: CsvData) => ({
    columns: csv.columns,
    features: toNdArray(csv.features),
    ...(csv.labels === undefined ? {} : { labels: toNdArray(csv.labels) })
  }))

/**
 * Writes an `NdArray` as CSV text, one row per line (a 1-d array is one
 * column; dimensions after the second are flattened), with an
 * optional header. Values round-trip exactly through {@link loadCsv}
 * (float32 values are written as their exact float64 value).
 *
 * @example
 * yield* Convert.saveCsv("out.csv", NdArray.array([[1, 2], [3, 4]]), { columns: ["a", "b"] })
 * @category files
 * @since 0.1.0
 */
export const saveCsv = (
  path: string,
  x: NdArray,
  options: { readonly columns?: ReadonlyArray<string>; readonly delimiter?: string } = {}
): Effect.Effect<void, WriteFailed> =>
  Effect.suspend(() => {
    const data = x.data()
    const count = x.ndim === 0 ? 1 : x.shape[0]
    const cols = x.ndim >= 2 ? x.size / count : 1 // more than 2 dimensions: trailing ones flattened
    const rows: Array<Array<number>> = []
    for (let r = 0; r < count; r++) {
      rows.push(Array.from(data.subarray(r * cols, (r + 1) * cols), Number))
    }
    return writeFileBytes(path, formatCsv(options.columns ?? [], rows, options.delimiter))
  })

/**
 * Reads an IDX file (the MNIST format, plain or gzipped) as an `NdArray`.
 *
 * @example
 * const labels = yield* Convert.loadIdx("t10k-labels-idx1-ubyte")
 * @category files
 * @since 0.1.0
 */
export const loadIdx = (
  path: string,
  options: { readonly dtype?: DType } = {}
): Effect.Effect<NdArray, DatasetNotFound | CorruptData> => Effect.map(readIdx(path), (raw) => toNdArray(raw, options))

/**
 * Writes an `NdArray` as an (uncompressed) IDX file.
 *
 * @example
 * yield* Convert.saveIdx("labels-idx1-ubyte", labels)
 * @category files
 * @since 0.1.0
 */
export const saveIdx = (path: string, x: NdArray): Effect.Effect<void, WriteFailed> =>
  Effect.suspend(() => writeIdx(path, fromNdArray(x)))
