/**
 * MNIST for the examples: loading through `@gradfx/data` (Nielsen's split —
 * 50,000 training, 10,000 validation, 10,000 test images; pixels in [0, 1],
 * int32 labels), optional truncation for the reduced runs of the tests, and
 * the evaluation Nielsen prints: the number of correctly classified images.
 *
 * @since 0.1.0
 */
import { jit, NdArray, type Random } from "@gradfx/core"
import { Optim } from "@gradfx/nn"
import { Batches, Dataset, type Supervised } from "@gradfx/data"
import { Effect, Stream } from "effect"

/** How many images of each split to use (default: all). */
export interface MnistSizes {
  readonly train?: number
  readonly validation?: number
  readonly test?: number
}

/**
 * MNIST, images flattened to `[784]` (or `[1, 28, 28]` with `image: true`),
 * each split truncated to the given size.
 *
 * @since 0.1.0
 */
export const loadMnist = Effect.fn("mnist/load")(function* (sizes: MnistSizes = {}, options: { readonly image?: boolean } = {}) {
  const { train, validation, test } = yield* Dataset.mnist()
  const cut = (d: Supervised, n: number | undefined): Supervised => (n === undefined ? d : Dataset.take(d, Math.min(n, d.length)))
  const shape = (d: Supervised): Supervised => (options.image ? Dataset.reshape(d, "x", [1, 28, 28]) : d)
  return {
    train: shape(cut(train, sizes.train)),
    validation: shape(cut(validation, sizes.validation)),
    test: shape(cut(test, sizes.test))
  }
})

/**
 * The number of examples whose argmax over `predict`'s outputs equals the label
 * (Nielsen's `evaluate`), in batches of `batchSize`.
 *
 * @since 0.1.0
 */
export const countCorrect = (dataset: Supervised, predict: (x: NdArray) => NdArray, batchSize = 1000): Effect.Effect<number> =>
  Batches.sequential(dataset, { batchSize }).pipe(
    Stream.runFold(
      () => 0,
      (correct, { x, y }) => correct + NdArray.sum(NdArray.equal(NdArray.argmax(predict(x), { axis: 1 }), y)).item()
    )
  )

/** Parameters and optimiser state, carried from step to step. */
export interface TrainState<P, S> {
  readonly params: P
  readonly opt: S
}

/**
 * One epoch of Nielsen's mini-batch loop (`network.py`'s `SGD`): the training
 * set shuffled by `key`, and for each mini-batch one optimiser update from
 * `costGrad(params, x, y)` — the gradient and the update compiled together
 * with `jit` (bit-identical to running them eagerly).
 *
 * @since 0.1.0
 */
export const sgdEpoch = <P, S>(
  train: Supervised,
  state: TrainState<P, S>,
  costGrad: (params: P, x: NdArray, y: NdArray) => unknown,
  optimizer: Optim.GradientTransformation<S>,
  options: { readonly batchSize: number; readonly key: Random.Key }
): Effect.Effect<TrainState<P, S>> => {
  // traced on the epoch's first batch (a few ms), then replayed for every batch
  const update = jit((params: P, opt: S, x: NdArray, y: NdArray): TrainState<P, S> => {
    const [u, next] = optimizer.update(costGrad(params, x, y), opt, params)
    return { params: Optim.applyUpdates(params, u) as P, opt: next }
  })
  return Batches.shuffled(train, { batchSize: options.batchSize, key: options.key }).pipe(
    Stream.runFold(
      () => state,
      (s, { x, y }) => update(s.params, s.opt, x, y)
    )
  )
}
