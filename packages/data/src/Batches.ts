/**
 * Batching as an Effect `Stream`.
 *
 * A stream of batches is lazy: one batch is copied out of the dataset's
 * contiguous buffers (`Dataset.gather`) when the consumer pulls it, so memory
 * stays bounded by the batch (plus `prefetch` batches) however long the
 * epoch. A shuffled epoch draws its order from a PRNG key with
 * `Random.permutation`: the same key gives the same order, a different key a
 * different one. For multi-epoch training derive each epoch's key as
 * `epochKey(key, epoch)` (`Random.foldIn`), so epoch `e` can be replayed on
 * its own (resuming from a checkpoint) without replaying the epochs before it.
 *
 * @since 0.1.0
 */
import { type NdArray, Random } from "@gradfx/core"
import { Effect, Stream } from "effect"
import { type Batch, type Dataset, gather } from "./Dataset.js"

/**
 * Options of {@link sequential} and {@link shuffled}.
 *
 * - `batchSize`: examples per batch (a positive integer).
 * - `dropLast`: drop a final batch smaller than `batchSize` (default `false`).
 * - `prefetch`: build up to this many batches ahead of the consumer
 *   (default 0: each batch is built when pulled).
 * - `startBatch`: skip the first batches of the epoch without building them
 *   (default 0), to resume in the middle of an epoch.
 *
 * @since 0.1.0
 */
export interface BatchOptions {
  readonly batchSize: number
  readonly dropLast?: boolean
  readonly prefetch?: number
  readonly startBatch?: number
}

const check = (options: BatchOptions): void => {
  if (!(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
    throw new RangeError(`Batches: batchSize must be a positive integer, got ${options.batchSize}`)
  }
  if (options.prefetch !== undefined && !(Number.isInteger(options.prefetch) && options.prefetch >= 0)) {
    throw new RangeError(`Batches: prefetch must be a non-negative integer, got ${options.prefetch}`)
  }
  if (options.startBatch !== undefined && !(Number.isInteger(options.startBatch) && options.startBatch >= 0)) {
    throw new RangeError(`Batches: startBatch must be a non-negative integer, got ${options.startBatch}`)
  }
}

/**
 * The number of batches an epoch of `length` examples yields:
 * ⌊length / batchSize⌋ with `dropLast`, ⌈length / batchSize⌉ without.
 *
 * @example
 * Batches.count(50_000, 64)                     // 782
 * Batches.count(50_000, 64, { dropLast: true }) // 781
 * @category batching
 * @since 0.1.0
 */
export const count = (length: number, batchSize: number, options: { readonly dropLast?: boolean } = {}): number =>
  options.dropLast ? Math.floor(length / batchSize) : Math.ceil(length / batchSize)

/**
 * The key of epoch `epoch`: `Random.foldIn(key, epoch)`.
 *
 * @example
 * const order = Batches.order(ds.length, Batches.epochKey(Random.key(0), 3))
 * @category keys
 * @since 0.1.0
 */
export const epochKey = (key: Random.Key, epoch: number): Random.Key => Random.foldIn(key, epoch)

/**
 * The example order of an epoch: a permutation of `0..length−1` drawn from
 * `key` (the identity without a key).
 *
 * @example
 * Batches.order(5, Random.key(0)) // e.g. Int32Array [3, 0, 4, 1, 2]
 * @category keys
 * @since 0.1.0
 */
export const order = (length: number, key?: Random.Key): Int32Array => {
  if (key === undefined) {
    const out = new Int32Array(length)
    for (let i = 0; i < length; i++) out[i] = i
    return out
  }
  return (Random.permutation(key, length) as NdArray).data() as Int32Array
}

const fromOrder = <K extends string>(
  dataset: Dataset<K>,
  indices: () => Int32Array,
  options: BatchOptions
): Stream.Stream<Batch<K>> => {
  check(options)
  const { batchSize, dropLast = false, prefetch = 0, startBatch = 0 } = options
  const total = count(dataset.length, batchSize, { dropLast })
  const stream = Stream.suspend(() => {
    const perm = indices()
    return Stream.unfold(startBatch, (b) =>
      Effect.sync(() => {
        if (b >= total) return undefined
        const start = b * batchSize
        const batch = gather(dataset, perm.subarray(start, Math.min(start + batchSize, perm.length)))
        return [batch, b + 1] as const
      }))
  })
  return prefetch > 0 ? Stream.buffer(stream, { capacity: prefetch }) : stream
}

/**
 * The dataset's batches in order (no shuffling). Each batch holds an
 * `NdArray` per column with the batch as the first dimension. Throws a
 * `RangeError` for a non-positive `batchSize`.
 *
 * @example
 * const predictions = yield* Batches.sequential(test, { batchSize: 1000 }).pipe(
 *   Stream.map(({ x }) => predict(params, x)), Stream.runCollect)
 * @category batching
 * @since 0.1.0
 */
export const sequential = <K extends string>(dataset: Dataset<K>, options: BatchOptions): Stream.Stream<Batch<K>> =>
  fromOrder(dataset, () => order(dataset.length), options)

/**
 * One epoch of the dataset's batches in an order shuffled by `key`: every
 * example appears exactly once (with `dropLast`, the last
 * `length mod batchSize` of the shuffled order are left out). The same key
 * gives the same order. The permutation is drawn when the stream starts, so
 * running the stream twice gives the same batches.
 *
 * @example
 * const epoch = (e: number) => Batches.shuffled(train, { batchSize: 64, key: Batches.epochKey(key, e) })
 * @category batching
 * @since 0.1.0
 */
export const shuffled = <K extends string>(
  dataset: Dataset<K>,
  options: BatchOptions & { readonly key: Random.Key }
): Stream.Stream<Batch<K>> => fromOrder(dataset, () => order(dataset.length, options.key), options)

/**
 * `epochs` shuffled epochs back to back, epoch `e` shuffled with
 * `epochKey(key, e)`; each element carries its epoch and its index in the
 * epoch.
 *
 * @example
 * yield* Batches.epochs(train, { batchSize: 64, key, epochs: 3 }).pipe(
 *   Stream.runForEach(({ epoch, index, batch }) => Effect.log(epoch, index)))
 * @category batching
 * @since 0.1.0
 */
export const epochs = <K extends string>(
  dataset: Dataset<K>,
  options: BatchOptions & { readonly key: Random.Key; readonly epochs: number; readonly startEpoch?: number }
): Stream.Stream<{ readonly epoch: number; readonly index: number; readonly batch: Batch<K> }> => {
  const first = options.startEpoch ?? 0
  const epochNumbers = Array.from({ length: Math.max(0, options.epochs - first) }, (_, i) => first + i)
  return Stream.fromIterable(epochNumbers).pipe(
    Stream.flatMap((epoch) =>
      shuffled(dataset, {
        ...options,
        key: epochKey(options.key, epoch),
        startBatch: epoch === first ? options.startBatch ?? 0 : 0
      }).pipe(Stream.map((batch, i) => ({ epoch, index: i + (epoch === first ? options.startBatch ?? 0 : 0), batch })))
    )
  )
}

/**
 * What a training loop needs from the data: the batches of any epoch,
 * shuffled by that epoch's key and starting at any batch. `Train.train`
 * (in `@gradfx/nn`) accepts it structurally.
 *
 * @since 0.1.0
 */
export interface Source<B> {
  readonly examples: number
  readonly stepsPerEpoch: number
  readonly epoch: (key: Random.Key, startBatch: number) => Stream.Stream<B>
}

/**
 * A training {@link Source} over `dataset`: given the batching options
 * (from the training config), epoch `e`'s batches are
 * `shuffled(dataset, { key, startBatch, ... })`.
 *
 * @example
 * yield* Train.train({ config, init, step, data: Batches.source(mnist.train) })
 * @category training
 * @since 0.1.0
 */
export const source = <K extends string>(dataset: Dataset<K>) =>
(
  options: { readonly batchSize: number; readonly dropLast?: boolean; readonly prefetch?: number }
): Source<Batch<K>> => {
  check(options)
  return {
    examples: options.dropLast ? count(dataset.length, options.batchSize, options) * options.batchSize : dataset.length,
    stepsPerEpoch: count(dataset.length, options.batchSize, options),
    epoch: (key, startBatch) => shuffled(dataset, { ...options, key, startBatch })
  }
}

/**
 * Evaluates `metrics` on every batch of `dataset` (in order) and averages
 * each metric over the examples: a batch of n examples weighs n. `metrics`
 * returns per-batch means (a mean loss, an accuracy), as `NdArray` scalars
 * or numbers. An empty dataset gives `{}`.
 *
 * @example
 * const { accuracy } = yield* Batches.mean(mnist.test, { batchSize: 1000 }, ({ x, y }) => ({
 *   accuracy: NdArray.mean(NdArray.equal(NdArray.argmax(predict(params, x), { axis: 1 }), y))
 * }))
 * @category evaluation
 * @since 0.1.0
 */
export const mean = <K extends string>(
  dataset: Dataset<K>,
  options: { readonly batchSize: number },
  metrics: (batch: Batch<K>) => Readonly<Record<string, NdArray | number>>
): Effect.Effect<Record<string, number>> =>
  sequential(dataset, options).pipe(
    Stream.runFold(
      () => ({ sums: {} as Record<string, number>, n: 0 }),
      (acc, batch) => {
        const n = (Object.values(batch)[0] as NdArray).shape[0]
        for (const [name, value] of Object.entries(metrics(batch))) {
          acc.sums[name] = (acc.sums[name] ?? 0) + n * (typeof value === "number" ? value : value.item())
        }
        acc.n += n
        return acc
      }
    ),
    Effect.map(({ n, sums }) => Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / n])))
  )
