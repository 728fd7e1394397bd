/**
 * @gradfx/data: datasets as values, batching streams, and file formats
 * (MNIST/IDX, NumPy `.npy`/`.npz`, CSV) with typed loading errors.
 *
 * @since 0.1.0
 */
export * as Batches from "./Batches.js"
export * as Convert from "./Convert.js"
export * as Csv from "./Csv.js"
export * as Dataset from "./Dataset.js"
export type { Batch, Column, Supervised } from "./Dataset.js"
export { CorruptData, DatasetNotFound, SchemaMismatch, WriteFailed } from "./Errors.js"
export * as Idx from "./Idx.js"
export * as Mnist from "./Mnist.js"
export * as Npy from "./Npy.js"
export * as Raw from "./Raw.js"
export type { RawDType, RawTensor } from "./Raw.js"
export * as Synthetic from "./Synthetic.js"
